using Dl.Kernels;
using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Lowering;

// Transformer nodes lower to kernel calls with literal geometry: Attention.Forward computes every head's scores, softmax and
// weighted sum (saving the attention weights), Attention.Backward writes dq, dk and dv at once (one buffer, disjoint
// columns, when they were read in place from a fused projection). Layer norm and position encodings: Layers/.
internal sealed partial class PlanBuilder
{
    private readonly Dictionary<int, Buffer> _attentionProbs = new();

    /// <summary>Floats of the attention kernel's fixed scratch: the shared AttentionContract's, which
    /// Dl.Kernels.AttentionShape checks the span against.</summary>
    internal static int AttentionScratch(NodeSpec n)
    {
        var a = n.Attr<AttentionAttributes>();
        return (int)AttentionContract.ScratchLength(a.Tq, a.Tk, a.Dk, a.Dv);
    }

    private static string AttentionShapeLiteral(NodeSpec n)
    {
        var a = n.Attr<AttentionAttributes>();
        static string Bool(bool b) => b ? "true" : "false";
        return $"new global::Dl.Kernels.AttentionShape({a.Heads}, {a.Tq}, {a.Tk}, {a.Dk}, {a.Dv}, {Bool(a.Causal)}, {Bool(a.Scaled)}) " +
            $"{{ QueryStride = {a.QueryStride}, QueryOffset = {a.QueryOffset}, KeyStride = {a.KeyStride}, KeyOffset = {a.KeyOffset}, ValueStride = {a.ValueStride}, ValueOffset = {a.ValueOffset} }}";
    }

    /// <summary>True when two of q, k and v are the same node read in overlapping columns.</summary>
    private static bool SharedColumns(NodeSpec n)
    {
        var a = n.Attr<AttentionAttributes>();
        int heads = a.Heads, dk = a.Dk, dv = a.Dv;
        var columns = new[] { (Start: a.QueryOffset, End: a.QueryOffset + heads * dk), (Start: a.KeyOffset, End: a.KeyOffset + heads * dk),
            (Start: a.ValueOffset, End: a.ValueOffset + heads * dv) };
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (n.Inputs[i] == n.Inputs[j] && columns[i].Start < columns[j].End && columns[j].Start < columns[i].End) return true;
        return false;
    }

    private CallArg Mask(NodeSpec n) => n.Attr<AttentionAttributes>().HasMask ? In(V(n.Inputs[3])) : Lit("default");

    private IEnumerable<Step> TransformerForward(NodeSpec n, Buffer y, string comment)
    {
        switch (n.Kind)
        {
            case NodeKind.Attention:
            {
                var a = n.Attr<AttentionAttributes>();
                var probs = _attentionProbs[n.Id] = _plan.AddBuffer(n.Label + ".probs", (int)AttentionContract.ProbsPerSample(a.Heads, a.Tq, a.Tk), true, Space.Batched);
                var scratch = _plan.AddBuffer(n.Label + ".scratch", AttentionScratch(n), false, Space.Fixed);
                yield return new CallStep(comment + $" [{a.Heads} heads, {a.Tq} x {a.Tk} scores in the kernel]", Kernels + "Attention.Forward",
                    new[] { Lit(AttentionShapeLiteral(n)), Lit("batch"), In(V(n.Inputs[0])), In(V(n.Inputs[1])), In(V(n.Inputs[2])), Mask(n),
                        Out(y), Out(probs), Out(scratch), Lit("_gemm") });
                break;
            }
        }
    }

    /// <summary>The backward call of an attention node: one call writes the gradients of q, k and v that need one.</summary>
    private IEnumerable<Step> TransformerBackward(NodeSpec n, Buffer dy, bool[] needs)
    {
        Buffer? Grad(int slot) => slot < n.Inputs.Count && needs[n.Inputs[slot]] ? _plan.Gradients[n.Inputs[slot]] : null;
        CallArg G(Buffer? b, bool accumulate) => b is null ? Lit("default") : Out(b, accumulate);
        var steps = new List<Step>();
        if (n.Kind == NodeKind.Attention)
        {
            // q, k and v may be one node: read in place from a fused projection, their gradients go to disjoint columns of one
            // buffer and may be written; read from the same columns (Attention(h, h, h)), they must be summed.
            var data = new[] { Grad(0), Grad(1), Grad(2) };
            bool accumulate = AccumulateFlag(steps, data, n.Label, force: SharedColumns(n));
            var scratch = _plan.AddBuffer(n.Label + ".scratch_backward", AttentionScratch(n), false, Space.Fixed);
            steps.Add(new CallStep($"d{n.Label}'s queries, keys and values  [{n.Op}]", Kernels + "Attention.Backward",
                new[] { Lit(AttentionShapeLiteral(n)), Lit("batch"), In(V(n.Inputs[0])), In(V(n.Inputs[1])), In(V(n.Inputs[2])), Mask(n),
                    In(V(n.Id)), In(_attentionProbs[n.Id]), In(dy), G(data[0], accumulate), G(data[1], accumulate), G(data[2], accumulate),
                    Lit(accumulate), Out(scratch), Lit("_gemm") }));
        }
        return steps;
    }
}
