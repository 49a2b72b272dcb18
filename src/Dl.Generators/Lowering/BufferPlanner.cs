namespace Dl.Generators.Lowering;

/// <summary>Stage 5: liveness decides arena offsets. Each arena buffer lives from its first write to its last read in
/// the step sequence forward, loss, backward (both variants of the SGD-fused steps) (what backward reads is what each op declared it saves); buffers whose
/// lives do not overlap share memory. Batched buffers are planned in per-sample units (times MaxBatch at run time),
/// unbatched ones in a small fixed arena. Offsets are rounded to 16 floats (64 bytes).</summary>
internal static class BufferPlanner
{
    private const int Align = 16;

    public static void Plan(ProgramPlan plan, ModelSpec model)
    {
        // BackwardSgd is the backward pass that runs (Backward is its input): a variant step reads and writes what
        // either of its sides does, so both variants are planned at once, conservatively and correctly for each.
        var steps = plan.Forward.Concat(plan.Loss).Concat(plan.BackwardSgd).ToList();
        var first = new Dictionary<Buffer, int>();
        var last = new Dictionary<Buffer, int>();
        for (int t = 0; t < steps.Count; t++)
        {
            foreach (var b in steps[t].Writes.Concat(steps[t].Reads))
            {
                if (!first.ContainsKey(b)) first[b] = t;
                last[b] = t;
            }
        }
        // The output is read after the forward steps (Predict copies it); the loss after the loss steps; labels are
        // written before the first step.
        int endForward = plan.Forward.Count - 1, endLoss = plan.Forward.Count + plan.Loss.Count - 1;
        Extend(plan.Values[model.OutputNode], endForward, first, last);
        if (model.LossNode >= 0) Extend(plan.Values[model.LossNode], endLoss, first, last);
        if (plan.LabelsBuffer is { } labels) { first[labels] = -1; if (!last.ContainsKey(labels)) last[labels] = 0; }

        plan.BatchedSize = Assign(plan.Buffers.Where(b => b.Space == Space.Batched), first, last);
        plan.FixedSize = Assign(plan.Buffers.Where(b => b.Space == Space.Fixed), first, last);
    }

    private static void Extend(Buffer? b, int until, Dictionary<Buffer, int> first, Dictionary<Buffer, int> last)
    {
        if (b is null || b.Space is not (Space.Batched or Space.Fixed)) return;
        if (!first.ContainsKey(b)) first[b] = until;
        if (!last.TryGetValue(b, out int l) || l < until) last[b] = until;
    }

    /// <summary>First-fit over buffers ordered by first use; returns the arena size.</summary>
    private static int Assign(IEnumerable<Buffer> buffers, Dictionary<Buffer, int> first, Dictionary<Buffer, int> last)
    {
        var live = new List<(int Offset, int Size, int End)>();
        int size = 0;
        foreach (var b in buffers.Where(first.ContainsKey).OrderBy(b => first[b]).ThenBy(b => b.Id))
        {
            int start = first[b];
            live.RemoveAll(x => x.End < start);
            int need = (b.PerSample + Align - 1) / Align * Align;
            int offset = 0;
            foreach (var x in live.OrderBy(x => x.Offset))
            {
                if (offset + need <= x.Offset) break;
                offset = System.Math.Max(offset, x.Offset + x.Size);
            }
            // Per-sample offsets are ints in generated code: an arena past one array's length is DL0015, not an overflow.
            if ((long)offset + need > Parsing.DeclarationChecks.MaxElements)
                throw new Diagnostics.ModelErrorException(Diagnostics.DiagnosticInfo.Create(Diagnostics.DiagnosticDescriptors.BufferTooLarge, null,
                    "the activation arena", "(per sample, after reuse)", ((long)offset + need).ToString("N0", System.Globalization.CultureInfo.InvariantCulture) + " elements or more",
                    Parsing.DeclarationChecks.MaxElements.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)));
            b.Offset = offset;
            live.Add((offset, need, last[b]));
            size = System.Math.Max(size, offset + need);
        }
        return size;
    }
}
