using System.Collections.Generic;
using Dl.Generators.Emit;
using Dl.Generators.Model;
using Dl.Kernels;
using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Lowering;

// Transformer nodes lower to kernel calls with literal geometry: Attention.Forward computes every head's scores, softmax and
// weighted sum (saving the attention weights), Attention.Backward writes dq, dk and dv at once (one buffer, disjoint
// columns, when they were read in place from a fused projection); LayerNorm.Forward/Backward per row; the sinusoidal
// encoding adds a cached table, and its gradient passes through.
internal sealed partial class Lowering
{
    private readonly Dictionary<int, Buffer> _attentionProbs = new();
    private readonly Dictionary<int, Buffer> _layerNormStats = new();

    /// <summary>Floats of the attention kernel's fixed scratch: the shared AttentionContract's, which
    /// Dl.Kernels.AttentionShape checks the span against.</summary>
    internal static int AttentionScratch(NodeSpec n) => (int)AttentionContract.ScratchLength(n.Int(1), n.Int(2), n.Int(3), n.Int(4));

    private static string AttentionShapeLiteral(NodeSpec n)
    {
        string Bool(int i) => n.Int(i) != 0 ? "true" : "false";
        return $"new global::Dl.Kernels.AttentionShape({n.Int(0)}, {n.Int(1)}, {n.Int(2)}, {n.Int(3)}, {n.Int(4)}, {Bool(5)}, {Bool(6)}) " +
            $"{{ QueryStride = {n.Int(7)}, QueryOffset = {n.Int(8)}, KeyStride = {n.Int(9)}, KeyOffset = {n.Int(10)}, ValueStride = {n.Int(11)}, ValueOffset = {n.Int(12)} }}";
    }

    /// <summary>True when two of q, k and v are the same node read in overlapping columns.</summary>
    private static bool SharedColumns(NodeSpec n)
    {
        int heads = n.Int(0), dk = n.Int(3), dv = n.Int(4);
        var columns = new[] { (Start: n.Int(8), End: n.Int(8) + heads * dk), (Start: n.Int(10), End: n.Int(10) + heads * dk), (Start: n.Int(12), End: n.Int(12) + heads * dv) };
        for (int i = 0; i < 3; i++)
            for (int j = i + 1; j < 3; j++)
                if (n.Inputs[i] == n.Inputs[j] && columns[i].Start < columns[j].End && columns[j].Start < columns[i].End) return true;
        return false;
    }

    private CallArg Mask(NodeSpec n) => n.Int(13) != 0 ? In(V(n.Inputs[3])) : Lit("default");

    /// <summary>The rows a layer norm normalizes: per sample times the batch.</summary>
    private static string NormRows(NodeSpec n) => !n.Shape.Batched ? n.Int(0).ToString() : n.Int(0) == 1 ? "batch" : $"batch * {n.Int(0)}";

    private IEnumerable<Step> TransformerForward(NodeSpec n, Buffer y, string comment)
    {
        switch (n.Kind)
        {
            case NodeKind.Attention:
            {
                var probs = _attentionProbs[n.Id] = _plan.AddBuffer(n.Label + ".probs", (int)AttentionContract.ProbsPerSample(n.Int(0), n.Int(1), n.Int(2)), true, Space.Batched);
                var scratch = _plan.AddBuffer(n.Label + ".scratch", AttentionScratch(n), false, Space.Fixed);
                yield return new CallStep(comment + $" [{n.Int(0)} heads, {n.Int(1)} x {n.Int(2)} scores in the kernel]", Kernels + "Attention.Forward",
                    new[] { Lit(AttentionShapeLiteral(n)), Lit("batch"), In(V(n.Inputs[0])), In(V(n.Inputs[1])), In(V(n.Inputs[2])), Mask(n),
                        Out(y), Out(probs), Out(scratch), Lit("_gemm") });
                break;
            }
            case NodeKind.LayerNorm:
            {
                var stats = _layerNormStats[n.Id] = _plan.AddBuffer(n.Label + ".stats", 2 * n.Int(0), n.Shape.Batched, n.Shape.Batched ? Space.Batched : Space.Fixed);
                yield return new CallStep(comment, Kernels + "LayerNorm.Forward<float>",
                    new[] { Lit(NormRows(n)), Lit(n.Int(1)), Lit(Literals.Float(n.Scalar)), In(V(n.Inputs[0])), In(V(n.Inputs[1])), In(V(n.Inputs[2])),
                        Out(y), Out(stats) });
                break;
            }
            default:
                yield return new CallStep(comment, Kernels + "PositionalEncoding.Add<float>",
                    new[] { Lit("batch"), Lit(n.Int(0)), Lit(n.Int(1)), Lit(Literals.Float(n.Scalar)), In(V(n.Inputs[0])), Out(y) });
                break;
        }
    }

    /// <summary>The backward call of an attention or layer-norm node: one call writes the gradients of every input (and
    /// of γ and β) that needs one.</summary>
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
        else
        {
            var dx = Grad(0);
            var parameters = new[] { Grad(1), Grad(2) };
            bool accumulate = AccumulateFlag(steps, new[] { dx }, n.Label), accumulateParameters = AccumulateFlag(steps, parameters, n.Label);
            steps.Add(new CallStep($"d{n.Label}'s input, γ and β  [layer_norm]", Kernels + "LayerNorm.Backward<float>",
                new[] { Lit(NormRows(n)), Lit(n.Int(1)), In(V(n.Inputs[0])), In(V(n.Inputs[1])), In(_layerNormStats[n.Id]), In(dy),
                    G(dx, accumulate), Lit(accumulate), G(parameters[0], accumulateParameters), G(parameters[1], accumulateParameters),
                    Lit(accumulateParameters) }));
        }
        return steps;
    }
}
