namespace Dl.Cli.Report;

/// <summary>The page's inline style sheet: a light theme, cards on a grey background, system fonts.</summary>
internal static class ReportStyle
{
    public const string Css = """

        :root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --bg: #f3f5f8; --card: #ffffff; --accent: #2563eb; }
        * { box-sizing: border-box; }
        body { margin: 0; background: var(--bg); color: var(--ink);
               font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; }
        main { max-width: 1240px; margin: 0 auto; padding: 20px 20px 28px; }
        header { background: linear-gradient(135deg, #1e293b, #334155); color: #f8fafc; border-radius: 12px;
                 padding: 20px 24px 18px; margin-bottom: 18px; }
        header .kicker { text-transform: uppercase; letter-spacing: .08em; font-size: 11px; color: #94a3b8; }
        header h1 { margin: 2px 0 4px; font-size: 26px; font-weight: 650; overflow-wrap: anywhere; }
        header .meta { color: #cbd5e1; font-size: 13px; overflow-wrap: anywhere; }
        header .dot { margin: 0 8px; color: #64748b; }
        .tiles { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
        .tile { background: rgba(255,255,255,.08); border: 1px solid rgba(255,255,255,.12); border-radius: 10px;
                padding: 10px 14px; min-width: 150px; }
        .tile .label { font-size: 11px; text-transform: uppercase; letter-spacing: .06em; color: #94a3b8; }
        .tile .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
        .tile.good .value { color: #86efac; }
        .tile.bad .value { color: #fca5a5; }
        .tile .detail { font-size: 12px; color: #cbd5e1; }
        section { margin-bottom: 18px; }
        .grid { display: grid; gap: 18px; }
        .grid.two { grid-template-columns: repeat(2, minmax(0, 1fr)); }
        .grid.pair { grid-template-columns: auto minmax(0, 1fr); align-items: start; }
        @media (max-width: 980px) { .grid.two, .grid.pair { grid-template-columns: minmax(0, 1fr); } }
        .stack { display: grid; gap: 18px; min-width: 0; }
        .card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 14px 16px 12px;
                box-shadow: 0 1px 2px rgba(16,24,40,.05); min-width: 0; }
        .card h2 { font-size: 15px; font-weight: 650; margin: 0 0 8px; }
        .sub { color: var(--muted); font-size: 12.5px; margin: -4px 0 10px; max-width: 60em; }
        .note { color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
        .note.warn { color: #b45309; }
        .note.warn::before { content: "⚠ "; }
        svg { display: block; max-width: 100%; height: auto; }
        svg.chart { width: 100%; font-family: inherit; }
        svg.chart text { fill: #4b5563; font-size: 11px; }
        .heatmap text { fill: #374151; }
        svg .gridlines line { stroke: #e6e9ef; stroke-width: 1; }
        .axis { stroke: #9ca3af; stroke-width: 1; }
        .ticks text { fill: #6b7280; font-variant-numeric: tabular-nums; }
        text.label { fill: #374151; font-size: 12px; }
        .legend line { stroke-width: 2.5; }
        .legend text { fill: #374151; font-size: 12px; }
        .line { fill: none; stroke-width: 2.2; stroke-linejoin: round; stroke-linecap: round; }
        .points circle { stroke: #ffffff; stroke-width: 1.2; }
        .points circle.best { stroke: #111827; stroke-width: 2; }
        .mark { stroke: #64748b; stroke-width: 1.2; stroke-dasharray: 4 4; }
        .mark-label { fill: #475569; font-size: 11px; font-weight: 600; }
        .empty { fill: #9ca3af; font-size: 14px; }
        .heatmap text.cls { fill: #374151; }
        .heatmap text.on-dark { fill: #ffffff; }
        .heatmap text.on-light { fill: #1f2937; }
        .heatmap .stat-head, .heatmap .axis-title { fill: #374151; font-size: 12px; font-weight: 600; }
        .heatmap rect:hover { stroke: #111827; stroke-width: 1.5; }
        .scroll { max-height: 300px; overflow: auto; }
        .scroll-x { overflow-x: auto; }
        table { border-collapse: collapse; width: 100%; font-size: 13px; }
        th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; }
        thead th { position: sticky; top: 0; background: #f9fafb; color: var(--muted); font-weight: 600; font-size: 12px; }
        table.num td, table.num th { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        table.num td:first-child, table.num th:first-child { text-align: left; }
        tr.best td { background: #fff7ed; font-weight: 600; }
        td.bad { color: #b91c1c; }
        table.settings th { width: 38%; color: var(--muted); font-weight: 500; overflow-wrap: anywhere; }
        table.settings td { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12.5px; overflow-wrap: anywhere; }
        pre { margin: 0; padding: 12px; background: #0f172a; color: #e2e8f0; border-radius: 8px; overflow-x: auto;
              font: 12px/1.5 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
        .gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(108px, 1fr)); gap: 10px; }
        figure { margin: 0; padding: 8px 6px 6px; border: 1px solid var(--line); border-radius: 8px; background: #fafafa; text-align: center; }
        figure img { image-rendering: pixelated; border-radius: 4px; background: #000; display: block; margin: 0 auto 6px; }
        figcaption { font-size: 11.5px; line-height: 1.3; overflow-wrap: anywhere; }
        figcaption .truth { color: #15803d; font-weight: 600; }
        figcaption .pred { color: #b91c1c; font-weight: 600; }
        figcaption .conf { color: var(--muted); }
        footer { color: var(--muted); font-size: 12px; text-align: center; margin-top: 8px; }
        code { font-family: ui-monospace, Menlo, Consolas, monospace; }

        """;
}
