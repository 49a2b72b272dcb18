using static Dl.Generators.Emit.Literals;

namespace Dl.Generators.Emit;

/// <summary>
/// Training steps (and Predict) in cache-sized chunks of the batch (Dl.Kernels.BatchChunking): each chunk's forward,
/// loss and backward run back to back while its activations are in L2, its weight gradients are summed into one
/// buffer, and the optimizer steps once. The generated RunForward / RunLoss / RunBackward already take any batch: a chunk is a
/// batch of its own whose input starts further on, whose activations reuse the arena's first samples, and whose loss
/// gradient is seeded with 1/(whole batch).
/// </summary>
internal static class ChunkedTraining
{
    /// <summary>The array the backward writes its gradients into: <c>_grads</c>, or a chunk's sum or buffer.</summary>
    public const string BackwardGrads = "_backwardGrads";

    /// <summary>Whether samples are independent, so that a batch may be split: one input, a per-sample loss, and no op
    /// that mixes samples (batch norm's statistics, a reduction over the batch) or draws per step (dropout, whose masks
    /// are keyed by the step and the sample's index in the batch).</summary>
    public static bool Applies(ModelSpec model, ProgramPlan plan)
    {
        if (model.Inputs.Count != 1 || model.Target is null || model.LossNode < 0) return false;
        if (model.HasDropout || model.States.Count > 0) return false;
        if (plan.Values[model.LossNode] is not { Batched: true }) return false;
        var nodes = model.Nodes;
        foreach (var n in nodes)
        {
            if (n.Kind == NodeKind.Norm) return false;
            // An unbatched value computed from a batched one: a reduction over the batch.
            if (!n.Shape.Batched && n.Inputs.Any(i => nodes[i].Shape.Batched)) return false;
        }
        return true;
    }

    /// <summary>Samples per chunk for a batch (0: the batch is one chunk).</summary>
    public static string ChunkOf(string batch) => $"global::Dl.Kernels.BatchChunking.ChunkSize({batch}, _chunkLimit)";

    public static void Fields(SourceWriter w)
    {
        w.Line("private readonly int _chunkLimit;   // most samples per chunk of a training step (0: never split), Dl.Kernels.BatchChunking");
        w.Line("private readonly float[] _gradSum = null!, _chunkGrads = null!;   // a chunked step's gradient sum and one chunk's");
        w.Line($"private float[] {BackwardGrads} = null!;   // where RunBackward writes: _grads, or a chunked step's buffers");
    }

    public static void Construct(SourceWriter w)
    {
        w.Line("_chunkLimit = global::Dl.Kernels.BatchChunking.Samples(BatchedArenaPerSample, ParameterTotal, options.ChunkSamples, options.Threads);");
        w.Line($"{BackwardGrads} = _grads;");
        using (w.Block("if (_chunkLimit > 0 && _chunkLimit < options.MaxBatch)"))
        {
            w.Line("_gradSum = new float[ParameterTotal];");
            w.Line("_chunkGrads = new float[ParameterTotal];");
        }
    }

    /// <summary>Predict's chunked path (returns when taken): each chunk's forward, then its outputs copied out.</summary>
    public static void PredictInChunks(SourceWriter w, string outputSpan)
    {
        w.Line($"int chunk = {ChunkOf("batch")};");
        using (w.Block("if (chunk > 0)"))
        {
            w.Line("long dropoutStep = DropoutStep;");
            using (w.Block("for (int s0 = 0; s0 < batch; s0 += chunk)"))
            {
                w.Line("int n = global::System.Math.Min(chunk, batch - s0);");
                w.Line($"RunForward(ref {Unsafe}.Add(ref {Marshal}.GetReference(input), s0 * InputSize), n);");
                w.Line($"{outputSpan}.CopyTo(output.Slice(s0 * OutputSize));");
            }
            w.Line("DropoutStep = Training ? dropoutStep + 1 : dropoutStep;   // one pass, however many chunks");
            w.Line("return;");
        }
    }

    /// <summary>ComputeGradientsInChunks: validates the whole batch first (a bad label anywhere changes nothing), then
    /// runs the chunks; _grads is written only once every chunk's loss and the batch's mean loss are finite (chunk sums
    /// can each be finite while their total overflows). DropoutStep advances once, on success; on an exception the
    /// caller's RestoreState puts back what the chunks' forward passes advanced.</summary>
    public static void ComputeInChunks(SourceWriter w, ModelSpec model, ProgramPlan plan, string sig)
    {
        var t = model.Target!;
        var loss = plan.Values[model.LossNode]!;
        using (w.Block($"private float ComputeGradientsInChunks({sig}, int chunk)"))
        {
            w.Line("Stage(input, target, batch);");
            w.Line("long dropoutStep = DropoutStep;");
            w.Line("float total = 0f;");
            using (w.Block("try"))
            {
                using (w.Block("for (int s0 = 0; s0 < batch; s0 += chunk)"))
                {
                    w.Line("int n = global::System.Math.Min(chunk, batch - s0);");
                    w.Line($"ref float inputRef = ref {Unsafe}.Add(ref {Marshal}.GetReference(input), s0 * InputSize);");
                    string targetRef;
                    if (t.IsLabels)
                    {
                        // The chunk's labels (validated by Stage) at the start of the labels buffer, where its loss reads them.
                        string count = t.Size == 1 ? "n" : $"n * {t.Size}";
                        w.Line($"var labels = {ModelEmitter.BufferSpanOf(plan.LabelsBuffer!, count)};");
                        w.Line($"for (int i = 0; i < {count}; i++) labels[i] = target[{(t.Size == 1 ? "s0" : $"s0 * {t.Size}")} + i];");
                        targetRef = $"ref {Unsafe}.NullRef<float>()";
                    }
                    else
                    {
                        w.Line($"ref float targetRef = ref {Unsafe}.Add(ref {Marshal}.GetReference(target), {(t.Size == 1 ? "s0" : $"s0 * {t.Size}")});");
                        targetRef = "ref targetRef";
                    }
                    w.Line("RunForward(ref inputRef, n);");
                    w.Line($"RunLoss(ref inputRef, {targetRef}, n);");
                    w.Line($"float part = {Storage}.Sum({ModelEmitter.BufferSpanOf(loss, "n")});");
                    w.Line($"if (!float.IsFinite(part)) {Checks}.ThrowNonFiniteChunkLoss(part, s0, n);");
                    w.Line("total += part;");
                    w.Line($"{BackwardGrads} = s0 == 0 ? _gradSum : _chunkGrads;");
                    w.Line($"RunBackward(ref inputRef, {targetRef}, n, 1f / batch, 0f, {SgdFusion.Flag}: false);");
                    w.Line("if (s0 > 0) global::Dl.Kernels.BatchChunking.Add(_gradSum, _chunkGrads);");
                }
            }
            w.Line($"finally {{ {BackwardGrads} = _grads; }}");
            w.Line("float loss = total / batch;");
            w.Line($"if (!float.IsFinite(loss)) {Checks}.ThrowNonFiniteLoss(loss);");
            w.Line("DropoutStep = Training ? dropoutStep + 1 : dropoutStep;   // one step, however many chunks");
            w.Line("global::System.MemoryExtensions.CopyTo(_gradSum, _grads);");
            w.Line("return loss;");
        }
    }
}
