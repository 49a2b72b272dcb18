using System.Globalization;
using System.Text;

namespace Dl.Dynamic;

public sealed partial class DynamicModel
{
    /// <summary>The nodes of the last recorded run (op, inputs, per-sample shape) and the parameter table. Before any
    /// run, records one by predicting a single all-zero sample.</summary>
    public string Summary()
    {
        EnsureRecorded();
        ReadOnlySpan<Tensor> nodes = _tape.Nodes;
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture,
            $"{Description.Name} on the dynamic tape ({(Precision == Precision.Double ? "double" : "single")} precision): " +
            $"{nodes.Length} nodes in the last run (batch {_tape.Batch}), {Description.ParameterCount:N0} parameters");
        text.AppendLine();
        var rows = new List<string[]> { new[] { "node", "op", "inputs", "shape", "batched" } };
        foreach (Tensor t in nodes)
            rows.Add(["%" + t.Id.ToString(CultureInfo.InvariantCulture), Describe(t), InputList(t), t.ShapeText, t.Batched ? "yes" : "no"]);
        AppendTable(text, rows);
        text.AppendLine();
        var parameters = new List<string[]> { new[] { "parameter", "shape", "count", "offset" } };
        foreach (ParameterInfo p in Description.Parameters)
            parameters.Add([p.Name, p.ShapeText, p.Length.ToString("N0", CultureInfo.InvariantCulture), p.Offset.ToString(CultureInfo.InvariantCulture)]);
        AppendTable(text, parameters);
        return text.ToString();
    }

    /// <summary>The graph of the last recorded run: one line per node (<see cref="GraphFormat.Text"/>), Graphviz DOT, or
    /// a Mermaid flowchart.</summary>
    public string Graph(GraphFormat format = GraphFormat.Text)
    {
        EnsureRecorded();
        ReadOnlySpan<Tensor> nodes = _tape.Nodes;
        var text = new StringBuilder();
        switch (format)
        {
            case GraphFormat.Text:
                text.Append("// ").Append(Description.Name).Append(" (dynamic tape, last run, batch ").Append(_tape.Batch).AppendLine(")");
                foreach (Tensor t in nodes)
                {
                    text.Append('%').Append(t.Id).Append(" = ").Append(Describe(t));
                    if (t.In0 is not null) text.Append('(').Append(InputList(t)).Append(')');
                    text.Append(' ').Append(t.ShapeText);
                    if (t.Batched) text.Append(" x").Append(t.Samples);
                    text.AppendLine();
                }
                break;
            case GraphFormat.Dot:
                text.Append("digraph \"").Append(Escape(Description.Name)).AppendLine("\" {");
                text.AppendLine("  rankdir=TB;");
                text.AppendLine("  node [shape=box, fontname=\"monospace\"];");
                foreach (Tensor t in nodes)
                {
                    string shape = t.Kind == Tensor.NodeKind.Op ? "box" : t.Kind == Tensor.NodeKind.Parameter ? "ellipse" : "oval";
                    text.Append("  n").Append(t.Id).Append(" [label=\"%").Append(t.Id).Append(' ').Append(Escape(Describe(t)))
                        .Append("\\n").Append(t.ShapeText).Append("\", shape=").Append(shape).AppendLine("];");
                }
                foreach (Tensor t in nodes)
                    for (int i = 0; i < t.InputCount; i++) text.Append("  n").Append(t.Input(i).Id).Append(" -> n").Append(t.Id).AppendLine(";");
                text.AppendLine("}");
                break;
            case GraphFormat.Mermaid:
                text.AppendLine("graph TD");
                foreach (Tensor t in nodes)
                    text.Append("  n").Append(t.Id).Append("[\"%").Append(t.Id).Append(' ').Append(Describe(t).Replace("\"", "'", StringComparison.Ordinal))
                        .Append(' ').Append(t.ShapeText).AppendLine("\"]");
                foreach (Tensor t in nodes)
                    for (int i = 0; i < t.InputCount; i++) text.Append("  n").Append(t.Input(i).Id).Append(" --> n").Append(t.Id).AppendLine();
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(format), format, "Expected GraphFormat.Text, Dot or Mermaid.");
        }
        return text.ToString();
    }

    private void EnsureRecorded()
    {
        if (_recorded) return;
        // One all-zero sample (class 0 for label inputs) is valid input for any model.
        Predict(new float[Description.InputSize], new float[Description.OutputSize], 1);
    }

    /// <summary>A node's label: the op with its constants, or a leaf's kind and name.</summary>
    internal static string Describe(Tensor t)
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        switch (t.Kind)
        {
            case Tensor.NodeKind.Input: return $"{t.OpName} {t.NameValue}";
            case Tensor.NodeKind.Parameter: return $"param {t.NameValue}";
            case Tensor.NodeKind.Constant: return "const " + t.ScalarA.ToString("R", c);
        }
        string axis = t.Arg0 == 0 ? "" : string.Create(c, $" (axis {t.Arg0})");
        return t.OpName switch
        {
            "index" => string.Create(c, $"index {t.Arg1}{axis}"),
            "slice" => string.Create(c, $"slice {t.Arg1}..{t.Arg1 + t.Arg2}{axis}"),
            _ when t.In1 is null && t.ScalarB != 0 => string.Create(c, $"{t.OpName} {t.ScalarA:R} {t.ScalarB:R}"),
            _ when t.In1 is null && t.ScalarA != 0 => string.Create(c, $"{t.OpName} {t.ScalarA:R}"),
            _ => t.OpName,
        };
    }

    private static string InputList(Tensor t)
    {
        if (t.InputCount == 0) return "";
        var text = new StringBuilder().Append('%').Append(t.Input(0).Id);
        for (int i = 1; i < t.InputCount; i++) text.Append(", %").Append(t.Input(i).Id);
        return text.ToString();
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);

    private static void AppendTable(StringBuilder text, List<string[]> rows)
    {
        var widths = new int[rows[0].Length];
        foreach (string[] row in rows)
            for (int i = 0; i < row.Length; i++) widths[i] = Math.Max(widths[i], row[i].Length);
        for (int r = 0; r < rows.Count; r++)
        {
            for (int i = 0; i < widths.Length; i++)
            {
                if (i > 0) text.Append("  ");
                text.Append(i == widths.Length - 1 ? rows[r][i] : rows[r][i].PadRight(widths[i]));
            }
            text.AppendLine();
            if (r == 0) text.Append('-', widths.Sum() + 2 * (widths.Length - 1)).AppendLine();
        }
    }
}
