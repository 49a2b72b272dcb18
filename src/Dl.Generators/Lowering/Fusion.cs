using System.Collections.Generic;
using System.Linq;
using Dl.Generators.Model;

namespace Dl.Generators.Lowering;

/// <summary>Stage 4: fuses element-wise chains. A map whose result feeds only the next map of the same loop nest, and
/// that no backward step reads, is computed inside that map's loop instead of through memory
/// (the bias add and activation after a matmul become one pass: y = relu(xWᵀ + b)).</summary>
internal static class Fusion
{
    public static void FuseElementwise(ProgramPlan plan, ModelSpec model)
    {
        var protectedBuffers = new HashSet<Buffer>();
        if (plan.Values[model.OutputNode] is { } output) protectedBuffers.Add(output);
        if (model.LossNode >= 0 && plan.Values[model.LossNode] is { } loss) protectedBuffers.Add(loss);
        Fuse(plan.Forward, plan, protectedBuffers);
        Fuse(plan.Loss, plan, protectedBuffers);
    }

    private static void Fuse(List<Step> steps, ProgramPlan plan, HashSet<Buffer> keep)
    {
        for (int i = 0; i + 1 < steps.Count; i++)
        {
            if (steps[i] is not MapStep producer || steps[i + 1] is not MapStep consumer) continue;
            if (producer.Accumulate || consumer.Accumulate || keep.Contains(producer.Target)) continue;
            if (!Same(producer.Dims, consumer.Dims) || !producer.TargetStrides.SequenceEqual(consumer.TargetStrides)) continue;
            var uses = consumer.Operands.Select((o, k) => (o, k)).Where(x => x.o.Buffer == producer.Target).ToList();
            if (uses.Count != 1 || !uses[0].o.Strides.SequenceEqual(producer.TargetStrides)) continue;
            if (ReadElsewhere(producer.Target, plan, consumer)) continue;

            // Operands: the producer's, then the consumer's others, renumbered; the fused value replaces $k.
            var operands = producer.Operands.ToList();
            var map = new Dictionary<int, string>();
            for (int k = 0; k < consumer.Operands.Length; k++)
            {
                if (k == uses[0].k) continue;
                map[k] = "$" + operands.Count;
                operands.Add(consumer.Operands[k]);
            }
            string scalar = Substitute(consumer.ScalarExpression, map, uses[0].k, "(" + producer.ScalarExpression + ")");
            string vector = Substitute(consumer.VectorExpression, map, uses[0].k, "(" + producer.VectorExpression + ")");
            steps[i] = consumer with
            {
                Comment = producer.Comment + "\n" + consumer.Comment + "  (fused)",
                Operands = operands.ToArray(),
                ScalarExpression = scalar,
                VectorExpression = vector,
            };
            steps.RemoveAt(i + 1);
            i--;
        }
    }

    private static bool ReadElsewhere(Buffer b, ProgramPlan plan, Step except) =>
        plan.Forward.Concat(plan.Loss).Concat(plan.Backward).Any(s => !ReferenceEquals(s, except) && s.Reads.Contains(b));

    private static bool Same(Extent[] a, Extent[] b) => a.SequenceEqual(b);

    private static string Substitute(string expression, Dictionary<int, string> map, int fused, string fusedExpression)
    {
        var text = new System.Text.StringBuilder();
        for (int i = 0; i < expression.Length; i++)
        {
            if (expression[i] == '$' && i + 1 < expression.Length && char.IsDigit(expression[i + 1]))
            {
                int j = i + 1;
                while (j < expression.Length && char.IsDigit(expression[j])) j++;
                int k = int.Parse(expression.Substring(i + 1, j - i - 1));
                text.Append(k == fused ? fusedExpression : map[k]);
                i = j - 1;
            }
            else text.Append(expression[i]);
        }
        return text.ToString();
    }
}
