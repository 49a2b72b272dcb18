using System.Globalization;
using System.Text;

namespace Dl.Dynamic;

/// <summary>One node of a <see cref="DynamicTrace"/>: the forward value and the backward quantities of the course
/// notes' tables. For a node y = f(x₁, x₂), <see cref="LocalGradients"/>[i] is ∂y/∂xᵢ element-wise and
/// <see cref="Gradient"/> is the upstream gradient dL/dy; the chain rule gives dL/dxᵢ += ∂y/∂xᵢ · dL/dy.</summary>
/// <param name="Id">Position on the tape (inputs precede their users).</param>
/// <param name="Op">The op, or for a leaf its kind and name (<c>param w</c>, <c>input x</c>, <c>const 1</c>).</param>
/// <param name="Inputs">Ids of the input nodes.</param>
/// <param name="Shape">Per-sample shape; a batched node's <see cref="Value"/> holds every sample, one after the other.</param>
/// <param name="Value">The forward value.</param>
/// <param name="Gradient">dL/dnode; empty where no gradient reached the node (labels, a loss's target, nodes L does not depend on).</param>
/// <param name="LocalGradients">Per input, ∂node/∂input element-wise (at the node's size) for element-wise ops
/// (computed through the op's backward with dy = 1); empty where the local derivative is a full Jacobian
/// (matmul, linear, reductions, row-wise ops, losses, structural ops).</param>
public sealed record TraceNode(int Id, string Op, int[] Inputs, int[] Shape, double[] Value, double[] Gradient, double[][] LocalGradients)
{
    /// <summary>The local variable of the model's <c>[Forward]</c> or <c>[Loss]</c> method this node was first assigned to
    /// (<c>var h = Relu(z)</c> → <c>h</c>), or null.</summary>
    public string? Local { get; init; }

    /// <summary>The input's or parameter's name for a leaf (<c>x</c>, <c>fc1.weight</c>), else null.</summary>
    public string? Leaf { get; init; }
}

/// <summary>
/// The forward and backward pass of one run, node by node, in double precision: what the course notes tabulate when
/// they backpropagate by hand. L is the batch-mean loss (without a loss, the batch mean of the sum of the output's
/// elements), so dL/dnode is the gradient every parameter update would use.
/// </summary>
public sealed class DynamicTrace
{
    private readonly bool[] _batched;

    internal DynamicTrace(IReadOnlyList<TraceNode> nodes, bool[] batched, int batch, double value, int root, bool gradients = true)
    {
        HasGradients = gradients;
        Nodes = nodes;
        _batched = batched;
        Batch = batch;
        Value = value;
        Root = root;
    }

    /// <summary>Every node of the run, in tape order.</summary>
    public IReadOnlyList<TraceNode> Nodes { get; }

    /// <summary>Samples in the traced batch.</summary>
    public int Batch { get; }

    /// <summary>L, the traced scalar (the batch-mean loss).</summary>
    public double Value { get; }

    /// <summary>Id of the node L was computed from (the loss, or the output without a loss).</summary>
    public int Root { get; }

    /// <summary>Whether the trace holds gradients (false for a values-only trace: <see cref="TraceNode.Gradient"/> and
    /// <see cref="TraceNode.LocalGradients"/> are empty, and <see cref="Value"/> is still L).</summary>
    public bool HasGradients { get; }

    /// <summary>A node by name: the last node assigned to the local variable <paramref name="name"/> of the model's code
    /// (the value the variable ends with; <see cref="FindAll"/> lists every assignment), else the input or parameter of
    /// that name (<c>x</c>, <c>fc1.weight</c>), else the first node whose <see cref="TraceNode.Op"/> is
    /// <paramref name="name"/> (<c>sigmoid</c>, <c>input x</c>).</summary>
    /// <exception cref="KeyNotFoundException">Nothing has that name or op (the message lists the names and ops).</exception>
    public TraceNode Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        for (int i = Nodes.Count - 1; i >= 0; i--)
            if (Nodes[i].Local == name) return Nodes[i];
        foreach (TraceNode n in Nodes)
            if (n.Leaf == name) return n;
        foreach (TraceNode n in Nodes)
            if (n.Op == name) return n;
        var names = Nodes.Select(n => n.Local ?? n.Leaf).OfType<string>().Distinct();
        throw new KeyNotFoundException($"No node '{name}' in the trace; its names are: {string.Join(", ", names)}; its ops: " +
            $"{string.Join(", ", Nodes.Select(n => n.Op).Distinct())}.");
    }

    /// <summary>Every node assigned to the local variable <paramref name="name"/>, in the order of the assignments (a
    /// variable reassigned in a loop: one node per step); empty when there is none.</summary>
    public IReadOnlyList<TraceNode> FindAll(string name) => Nodes.Where(n => n.Local == name).ToList();

    /// <summary>An aligned text table: node | op | inputs | shape | value | local gradient(s) | upstream gradient dL/dnode.</summary>
    public override string ToString()
    {
        string[] header = ["node", "op", "inputs", "shape", "value", "local gradient(s)", "upstream gradient dL/dnode"];
        var rows = new List<string[]> { header };
        foreach (TraceNode n in Nodes)
        {
            string local = n.LocalGradients.Length == 0
                ? "-"
                : string.Join("; ", n.LocalGradients.Select((g, i) => $"d/d%{n.Inputs[i]} = {Format(g)}"));
            rows.Add([
                "%" + n.Id.ToString(CultureInfo.InvariantCulture),
                n.Local is null ? n.Op : n.Local + " = " + n.Op,
                n.Inputs.Length == 0 ? "-" : string.Join(", ", n.Inputs.Select(i => "%" + i.ToString(CultureInfo.InvariantCulture))),
                Tensor.FormatShape(n.Shape) + (_batched[n.Id] ? " x" + Batch.ToString(CultureInfo.InvariantCulture) : ""),
                Format(n.Value),
                local,
                n.Gradient.Length == 0 ? "-" : Format(n.Gradient),
            ]);
        }
        var widths = new int[header.Length];
        foreach (string[] row in rows)
            for (int c = 0; c < row.Length; c++) widths[c] = Math.Max(widths[c], row[c].Length);
        var text = new StringBuilder();
        text.Append("L = ").Append(Format([Value])).Append(" (node %").Append(Root).Append(", batch ").Append(Batch).AppendLine(")");
        for (int r = 0; r < rows.Count; r++)
        {
            for (int c = 0; c < header.Length; c++)
            {
                if (c > 0) text.Append(" | ");
                text.Append(c == header.Length - 1 ? rows[r][c] : rows[r][c].PadRight(widths[c]));
            }
            text.AppendLine();
            if (r == 0)
            {
                for (int c = 0; c < header.Length; c++)
                {
                    if (c > 0) text.Append("-+-");
                    text.Append('-', c == header.Length - 1 ? header[c].Length : widths[c]);
                }
                text.AppendLine();
            }
        }
        return text.ToString();
    }

    /// <summary>One number as itself, several as a bracketed list (at most 8 shown).</summary>
    internal static string Format(double[] values)
    {
        static string One(double v) => Math.Round(v, 4).ToString("0.####", CultureInfo.InvariantCulture);
        if (values.Length == 1) return One(values[0]);
        const int Shown = 8;
        string body = string.Join(", ", values.Take(Shown).Select(One));
        return "[" + body + (values.Length > Shown ? $", ... ({values.Length} values)" : "") + "]";
    }
}

public sealed partial class DynamicModel
{
    /// <summary>Runs forward and backward in double precision (whatever <see cref="Precision"/> is, on a widened copy of
    /// the parameters, leaving the model's gradients untouched) and returns every node's value, local gradients and
    /// upstream gradient. Pass an empty <paramref name="target"/> (or use a model without a loss) to trace the output
    /// itself: L is then the batch mean of the sum of the output's elements.</summary>
    public DynamicTrace Trace(ReadOnlySpan<double> input, ReadOnlySpan<double> target, int batch) => Trace(input, target, batch, gradients: true);

    /// <summary>The forward values of every node, without a backward pass: for a model without a loss, or one whose
    /// output passes through ops that have no gradient (<c>Step</c>, <c>ArgMax</c>). <see cref="DynamicTrace.Value"/> is
    /// still L (the loss with a <paramref name="target"/>, else the batch mean of the output's sum).</summary>
    public DynamicTrace TraceValues(ReadOnlySpan<double> input, ReadOnlySpan<double> target, int batch) => Trace(input, target, batch, gradients: false);

    private DynamicTrace Trace(ReadOnlySpan<double> input, ReadOnlySpan<double> target, int batch, bool gradients)
    {
        using var busy = ModelGuard.Enter(ref _owner, Description.Name, nameof(Trace));
        CheckBatch(batch);
        InputInfo? info = target.IsEmpty ? null : Description.Target ?? throw new ArgumentException(
            $"Model {Description.Name} declares no [Loss]; trace it with an empty target.", nameof(target));
        if (info is not null) CheckTarget(info, target, batch);
        BindArrays(trace: true);
        Begin(batch, gradients: true, traceAll: true);
        Tensor root;
        using (_context.Enter())
        {
            Tensor output = Forward<double, double>(input, batch);
            root = info is null ? output : _source.DynamicLoss(output, LoadTarget<double, double>(info, target))
                ?? throw new InvalidOperationException($"{Description.Name}.DynamicLoss returned null.");
        }
        if (info is not null && root.SizeValue != 1)
            throw new InvalidOperationException($"The [Loss] of {Description.Name} must return one value per sample (shape []), but returned {root}.");
        double total = 0;
        foreach (double v in root.Values<double>()) total += v;
        double value = root.Batched ? total / batch : total;
        if (gradients) Backward<double>(root, batch);

        ReadOnlySpan<Tensor> nodes = _tape.Nodes;
        var result = new TraceNode[nodes.Length];
        var batched = new bool[nodes.Length];
        for (int i = 0; i < nodes.Length; i++)
        {
            Tensor t = nodes[i];
            int[] ids = new int[t.InputCount];
            for (int k = 0; k < ids.Length; k++) ids[k] = t.Input(k).Id;
            double[] gradient = gradients && t.GradReady ? t.Upstream<double>().ToArray() : [];
            result[i] = new TraceNode(t.Id, Describe(t), ids, t.ShapeArray.ToArray(), t.Values<double>().ToArray(), gradient,
                gradients && t.LocalRule is { } rule ? rule(t) : [])
            {
                Local = t.Local,
                Leaf = t.Kind is Tensor.NodeKind.Input or Tensor.NodeKind.Parameter ? t.NameValue : null,
            };
            batched[i] = t.Batched;
        }
        return new DynamicTrace(result, batched, batch, value, root.Id, gradients);
    }
}
