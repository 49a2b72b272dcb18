namespace Dl.Generators.Lowering;

/// <summary>Stage 4: fuses element-wise chains. A map whose result feeds only the next map of the same loop nest, and
/// that no backward step reads, is computed inside that map's loop instead of through memory
/// (the bias add and activation after a matmul become one pass: y = relu(xWᵀ + b)).</summary>
internal static class Fusion
{
    /// <summary>Applies the pair rewrites ops declare: a node whose first input comes from the op it names in
    /// <c>FuseAfter</c> reads that op's input instead and becomes the fused op (sigmoid + binary cross-entropy
    /// becomes binary cross-entropy with logits, whose gradient σ(z) - t neither saturates nor divides by zero).
    /// The producer stays when something else reads it (it is often the model's output).</summary>
    public static ModelSpec RewritePairs(ModelSpec model)
    {
        var nodes = model.Nodes.ToArray();
        bool changed = false;
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            if (n.Fused is not { } f || n.Inputs.Count == 0) continue;
            var producer = nodes[n.Inputs[0]];
            if (producer.Op != f.After || producer.Inputs.Count != 1) continue;
            var inputs = n.Inputs.ToArray();
            inputs[0] = producer.Inputs[0];
            nodes[i] = n with { Op = f.Name, Impl = f.Impl, Saves = f.Saves, Inputs = inputs, Fused = null,
                Label = n.Label.StartsWith(n.Op, System.StringComparison.Ordinal) ? f.Name + n.Id : n.Label };
            changed = true;
        }
        changed |= FuseReluIntoMaxPool(model, nodes);
        return changed ? model with { Nodes = nodes } : model;
    }

    /// <summary>ReLU followed by max pooling, with the ReLU's output used by nothing else, becomes one max pool with the
    /// ReLU applied on the pooled side (<c>Scalar = 1</c>): max is monotone, so maxpool(relu(x)) = relu(maxpool(x)) and
    /// the gradient reaches the same first maximum (only where the pooled value is positive). The full-resolution
    /// ReLU output and its gradient are never written.</summary>
    private static bool FuseReluIntoMaxPool(ModelSpec model, NodeSpec[] nodes)
    {
        var uses = new int[nodes.Length];
        foreach (var n in nodes) foreach (int i in n.Inputs) uses[i]++;
        bool changed = false;
        for (int i = 0; i < nodes.Length; i++)
        {
            var n = nodes[i];
            if (n.Attributes is not PoolAttributes { Mean: false, Relu: false } pool) continue;
            var relu = nodes[n.Inputs[0]];
            if (relu.Kind != NodeKind.Unary || relu.Op != "relu" || uses[relu.Id] != 1 || relu.Id == model.OutputNode || relu.Id == model.LossNode)
                continue;
            nodes[i] = n with { Inputs = new[] { relu.Inputs[0] }, Attributes = pool with { Relu = true }, Op = n.Op + "(relu)" };
            changed = true;
        }
        return changed;
    }

    /// <summary>Most parentheses a fused map's expression may hold before another op is fused into it.</summary>
    private const int MaxFusedDepth = 64;

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
            if (steps[i] is not MapStep producer || steps[i + 1] is not MapStep next) continue;
            var consumer = next;
            if (producer.Accumulate || consumer.Accumulate || keep.Contains(producer.Target)) continue;
            // A fused chain is one nested expression: past a few dozen ops the compiler's expression depth suffers (CS8078).
            if (producer.ScalarExpression.Count(c => c == '(') > MaxFusedDepth) continue;
            if (!producer.Dims.SequenceEqual(consumer.Dims)) consumer = Reshaped(consumer, producer)!;
            if (consumer is null) continue;
            if (!producer.TargetStrides.SequenceEqual(consumer.TargetStrides)) continue;
            var uses = consumer.Operands.Select((o, k) => (o, k)).Where(x => x.o.Buffer == producer.Target).ToList();
            if (uses.Count != 1 || !uses[0].o.Strides.SequenceEqual(producer.TargetStrides)) continue;
            if (ReadElsewhere(producer.Target, plan, next)) continue;

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

    /// <summary>A flat, contiguous map (one dim, unit strides) re-expressed on the producer's loop nest, when the
    /// producer writes its whole target contiguously; null otherwise.</summary>
    private static MapStep? Reshaped(MapStep consumer, MapStep producer)
    {
        if (consumer.Dims.Length != 1 || consumer.TargetStrides[0] != 1) return null;
        if (consumer.Operands.Any(o => o.Buffer is not null && o.Strides[0] != 1)) return null;
        var total = producer.Dims.Aggregate((Literal: 1, Batched: false), (a, d) => (a.Literal * d.Literal, a.Batched || d.Batched));
        if (total.Literal != consumer.Dims[0].Literal || total.Batched != consumer.Dims[0].Batched) return null;
        int stride = 1;
        for (int d = producer.Dims.Length - 1; d >= 0; d--)
        {
            if (producer.TargetStrides[d] != stride) return null;
            stride *= producer.Dims[d].Literal;
        }
        var strides = producer.TargetStrides;
        return consumer with
        {
            Dims = producer.Dims,
            TargetStrides = strides,
            Operands = consumer.Operands.Select(o => o with { Strides = o.Buffer is null ? new int[strides.Length] : strides }).ToArray(),
        };
    }

    private static bool ReadElsewhere(Buffer b, ProgramPlan plan, Step except) =>
        plan.Forward.Concat(plan.Loss).Concat(plan.Backward).Any(s => !ReferenceEquals(s, except) && s.Reads.Contains(b));

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
