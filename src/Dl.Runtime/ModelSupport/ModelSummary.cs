using System.Globalization;
using System.Text;

namespace Dl;

/// <summary>Text forms of a model description: the summary table and the graph.</summary>
public static class ModelSummary
{
    /// <summary>A table of layers (name, op, per-sample output shape, parameters) with the total,
    /// e.g. an MLP 2-1024-512-3 totals 529,411 parameters.</summary>
    public static string Format(ModelDescription d)
    {
        var culture = CultureInfo.InvariantCulture;
        var rows = d.Layers.Select(l => (l.Name, l.Op, Shape: "[" + string.Join(", ", l.OutputShape) + "]", Params: l.Parameters.ToString("N0", culture))).ToList();
        rows.Insert(0, ("input", "input", "[" + string.Join(" | ", d.Inputs.Select(i => string.Join(", ", i.Shape))) + "]", "0"));
        int w1 = Math.Max(5, rows.Max(r => r.Name.Length)), w2 = Math.Max(2, rows.Max(r => r.Op.Length)), w3 = Math.Max(12, rows.Max(r => r.Shape.Length));
        int w4 = Math.Max(10, rows.Max(r => r.Params.Length));
        var text = new StringBuilder();
        text.AppendLine($"Model {d.Name}");
        text.AppendLine($"{"Layer".PadRight(w1)}  {"Op".PadRight(w2)}  {"Output shape".PadRight(w3)}  {"Parameters".PadLeft(w4)}");
        text.AppendLine(new string('-', w1 + w2 + w3 + w4 + 6));
        foreach (var r in rows) text.AppendLine($"{r.Name.PadRight(w1)}  {r.Op.PadRight(w2)}  {r.Shape.PadRight(w3)}  {r.Params.PadLeft(w4)}");
        text.AppendLine(new string('-', w1 + w2 + w3 + w4 + 6));
        text.AppendLine($"Total parameters: {d.ParameterCount.ToString("N0", culture)}");
        return text.ToString();
    }

    /// <summary>The graph as text, Graphviz DOT, or a Mermaid flowchart.</summary>
    public static string Graph(ModelDescription d, GraphFormat format) => format switch
    {
        GraphFormat.Dot => d.GraphDot,
        GraphFormat.Mermaid => Mermaid(d.GraphDot),
        _ => d.GraphText,
    };

    private static string Mermaid(string dot)
    {
        var text = new StringBuilder("flowchart LR\n");
        foreach (var raw in dot.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Contains("->")) text.Append("  ").Append(line.TrimEnd(';').Replace("->", "-->")).Append('\n');
            else if (line.StartsWith('n') && line.Contains("[label=\""))
            {
                string id = line[..line.IndexOf(' ')];
                int start = line.IndexOf("label=\"", StringComparison.Ordinal) + 7;
                string label = line[start..line.IndexOf('"', start)].Replace("\\n", " ");
                text.Append("  ").Append(id).Append("[\"").Append(label.Replace("\"", "'")).Append("\"]\n");
            }
        }
        return text.ToString();
    }
}
