namespace Dl.Generators.Lowering;

/// <summary>The fused training step for plain SGD (p ← p - lr·g, no momentum or decay): a parameter whose gradient
/// comes from a single step that no later step depends on is updated by that step directly, so its gradient is never
/// written and re-read: a weight gradient GEMM accumulates -lr·dYᵀ·X into the weights (the GEMM's alpha), a bias reduction adds
/// -lr·Σ dY into the bias. Other parameters get their gradient as usual and one update loop at the end.
/// The result is one backward pass: the steps both variants share, and an <see cref="SgdVariantStep"/> where they
/// differ, which the emitter prints as <c>if (fusedSgd) … else …</c> in the one <c>RunBackward</c> (its parameters
/// <c>float lrNeg</c> = -lr and <c>bool fusedSgd</c>).</summary>
internal static class SgdFusion
{
    public const string LearningRate = "lrNeg";
    public const string Flag = "fusedSgd";

    public static List<Step> Build(ProgramPlan plan)
    {
        var backward = plan.Backward;
        var paramOf = plan.Buffers.Where(b => b.Space == Space.Params).GroupBy(b => b.Offset).ToDictionary(g => g.Key, g => g.First());
        var writers = backward.SelectMany((s, i) => s.Writes.Where(b => b.Space == Space.Grads).Select(b => (b, i)))
            .GroupBy(x => x.b).ToDictionary(g => g.Key, g => g.Select(x => x.i).ToList());

        var result = new List<Step>();
        var pending = new List<(Buffer Grad, Buffer Param)>();
        for (int i = 0; i < backward.Count; i++)
        {
            var step = backward[i];
            var grads = step.Writes.Where(b => b.Space == Space.Grads).ToList();
            if (grads.Count == 0) { result.Add(step); continue; }
            if (grads.Count > 1)
            {
                // One call writes several gradients (batch norm's dgamma and dbeta): the generic update applies to each.
                result.Add(step);
                foreach (var g in grads) if (!pending.Any(p => p.Grad == g)) pending.Add((g, paramOf[g.Offset]));
                continue;
            }
            var grad = grads[0];
            var param = paramOf[grad.Offset];
            bool single = writers[grad].Count == 1 && !ReadAfter(backward, i, param);
            Step? fused = step switch
            {
                FillStep => null,   // a zero gradient leaves the parameter as it is
                GemmStep g when single && !g.Accumulate && g.PerSample is null && g.Alpha is null =>
                    g with { Comment = "fused SGD update: " + param.Name + " += -lr * " + grad.Name, C = param, Accumulate = true, Alpha = LearningRate },
                MapStep m when single && (!m.Accumulate || m.ZeroTargetFirst) => m with
                {
                    Comment = "fused SGD update: " + param.Name + " += -lr * " + grad.Name,
                    Target = param, Accumulate = true, ZeroTargetFirst = false,
                    ScalarExpression = $"{LearningRate} * ({m.ScalarExpression})",
                    VectorExpression = $"{Literals.V256}.Create({LearningRate}) * ({m.VectorExpression})",
                },
                _ => step,
            };
            if (ReferenceEquals(fused, step))
            {
                result.Add(step);
                if (!pending.Any(p => p.Grad == grad)) pending.Add((grad, param));
            }
            else result.Add(new SgdVariantStep(step.Comment, new[] { step }, fused is null ? new Step[0] : new[] { fused }));
        }
        var updates = new List<Step>();
        foreach (var (grad, param) in pending)
        {
            var dims = new[] { new Extent(param.PerSample, false) };
            updates.Add(new MapStep($"{param.Name} += -lr * d{param.Name}", dims, new[] { new Operand(grad, 0, new[] { 1 }) }, param, new[] { 1 }, true,
                $"{LearningRate} * $0", $"{Literals.V256}.Create({LearningRate}) * $0", false));
        }
        if (updates.Count > 0) result.Add(new SgdVariantStep("the SGD update of the parameters whose gradients were stored", new Step[0], updates.ToArray()));
        return result;
    }

    private static bool ReadAfter(List<Step> steps, int at, Buffer b)
    {
        for (int j = at + 1; j < steps.Count; j++) if (steps[j].Reads.Contains(b)) return true;
        return false;
    }
}
