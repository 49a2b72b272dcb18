namespace Dl.Generators.Lowering;

// The typed lowered program: buffers and steps. PlanBuilder (stage 3) builds it from a ModelSpec; BufferPlanner gives buffers
// offsets; the emitter only prints it. Steps name the buffers they read and write, so liveness needs no op knowledge.

/// <summary>Where a buffer lives. Batched arena buffers are sized per sample and scaled by MaxBatch.</summary>
internal enum Space { Batched, Fixed, Params, Grads, Input, Target, State }

internal sealed class Buffer(int id, string name, int perSample, bool batched, Space space)
{
    public int Id { get; } = id;
    public string Name { get; } = name;
    public int PerSample { get; } = perSample;
    public bool Batched { get; } = batched;
    public Space Space { get; } = space;
    /// <summary>Per-sample units for Batched (times MaxBatch at run time), floats otherwise.</summary>
    public int Offset { get; set; }
    /// <summary>The buffer's identifier in generated code (assigned by <c>Emit.BufferNames</c> from <see cref="Name"/>).</summary>
    public string Ref { get; set; } = "b" + id;
    public Extent Length => new(PerSample, Batched);
}

/// <summary>An element count: a literal, times the run-time batch when <see cref="Batched"/>.</summary>
internal readonly record struct Extent(int Literal, bool Batched)
{
    public override string ToString() => Batched ? (Literal == 1 ? "batch" : "batch * " + Literal) : Literal.ToString();
    public bool IsSmallLiteral(int max) => !Batched && Literal <= max;
}

/// <summary>An element-wise operand: a buffer or a literal constant, with its stride per loop dimension.</summary>
internal sealed record Operand(Buffer? Buffer, float Constant, int[] Strides);

internal abstract record Step(string Comment)
{
    public abstract IEnumerable<Buffer> Reads { get; }
    public abstract IEnumerable<Buffer> Writes { get; }
}

/// <summary>y = f(operands...) over a loop nest (dims collapsed where contiguous). <see cref="Accumulate"/> adds into the
/// target; a target with stride 0 in a dim receives a sum over it (the broadcast reduction of a gradient).</summary>
internal sealed record MapStep(string Comment, Extent[] Dims, Operand[] Operands, Buffer Target, int[] TargetStrides, bool Accumulate,
    string ScalarExpression, string VectorExpression, bool ZeroTargetFirst) : Step(Comment)
{
    public override IEnumerable<Buffer> Reads => Operands.Where(o => o.Buffer is not null).Select(o => o.Buffer!)
        .Concat(Accumulate && !ZeroTargetFirst ? new[] { Target } : new Buffer[0]);
    public override IEnumerable<Buffer> Writes => new[] { Target };
}

/// <summary>C (+)= Alpha·op(A)·op(B); <see cref="PerSample"/> loops the product over the batch (both operands per sample);
/// <see cref="Alpha"/> is an expression of the emitted method (null: 1).</summary>
internal sealed record GemmStep(string Comment, Buffer A, Buffer B, Buffer C, Extent M, Extent N, Extent K, bool TransA, bool TransB,
    bool Accumulate, PerSampleStrides? PerSample, string? Alpha = null) : Step(Comment)
{
    public override IEnumerable<Buffer> Reads => Accumulate ? new[] { A, B, C } : new[] { A, B };
    public override IEnumerable<Buffer> Writes => new[] { C };
}

/// <summary>Per-sample element strides of a GEMM looped over the batch (0 for an operand shared by all samples).
/// <see cref="AccumulateAcrossSamples"/>: C is shared, so samples after the first accumulate.</summary>
internal sealed record PerSampleStrides(int A, int B, int C, bool AccumulateAcrossSamples);

/// <summary>A row-wise op or loss call per row: <c>Impl.Forward/Backward</c> on spans of literal length.</summary>
internal sealed record RowCallStep(string Comment, string Call, Extent Rows, Buffer[] In, int[] InRowLengths, Buffer[] Out, int[] OutRowLengths,
    bool ZeroOutFirst) : Step(Comment)
{
    public override IEnumerable<Buffer> Reads => In.Concat(ZeroOutFirst ? new Buffer[0] : Out.Where(_ => Call.Contains("Backward")));
    public override IEnumerable<Buffer> Writes => Out;
}

/// <summary>A strided copy (slice, concat, transpose, reshape) of blocks: Y[dst] (+)= X[src].</summary>
internal sealed record CopyStep(string Comment, Buffer X, Buffer Y, Extent Outer, int XOuterStride, int YOuterStride, int Rows, int XRowStride, int YRowStride,
    int RowLength, int XOffset, int YOffset, bool Transpose, bool Accumulate, bool ZeroTargetFirst) : Step(Comment)
{
    public override IEnumerable<Buffer> Reads => Accumulate && !ZeroTargetFirst ? new[] { X, Y } : new[] { X };
    public override IEnumerable<Buffer> Writes => new[] { Y };
}

/// <summary>Fill a buffer with a value expression (zeros, or the loss seed 1/batch).</summary>
internal sealed record FillStep(string Comment, Buffer Target, string Value) : Step(Comment)
{
    public override IEnumerable<Buffer> Reads => new Buffer[0];
    public override IEnumerable<Buffer> Writes => new[] { Target };
}

/// <summary>An argument of a <see cref="CallStep"/>: a buffer passed as a span of its whole length (read, written, or
/// read and written), or a literal C# expression (a geometry, a size, <c>batch</c>, a flag).</summary>
internal sealed record CallArg(Buffer? Buffer, bool Read, bool Write, string Text)
{
    public static CallArg In(Buffer b) => new(b, true, false, "");
    /// <summary>A written buffer; <paramref name="accumulate"/> means the call adds to what is there (so it reads it).</summary>
    public static CallArg Out(Buffer b, bool accumulate = false) => new(b, accumulate, true, "");
    public static CallArg InOut(Buffer b) => new(b, true, true, "");
    public static CallArg Lit(string text) => new(null, false, false, text);
    public static CallArg Lit(bool value) => new(null, false, false, value ? "true" : "false");
    public static CallArg Lit(int value) => new(null, false, false, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
}

/// <summary>One call of a runtime kernel with literal geometry (convolution, pooling, batch norm, dropout):
/// <c>Method(args...)</c>. The kernel variant was chosen for the shape at generation time.</summary>
internal sealed record CallStep(string Comment, string Method, CallArg[] Args) : Step(Comment)
{
    public override IEnumerable<Buffer> Reads => Args.Where(a => a.Buffer is not null && a.Read).Select(a => a.Buffer!);
    public override IEnumerable<Buffer> Writes => Args.Where(a => a.Buffer is not null && a.Write).Select(a => a.Buffer!);
}

/// <summary>Steps that differ between training and evaluation mode (batch norm, dropout): <c>if (Training) … else …</c>.</summary>
internal sealed record ModeStep(string Comment, Step[] Training, Step[] Evaluation) : Step(Comment)
{
    public override IEnumerable<Buffer> Reads => Training.Concat(Evaluation).SelectMany(s => s.Reads).Distinct();
    public override IEnumerable<Buffer> Writes => Training.Concat(Evaluation).SelectMany(s => s.Writes).Distinct();
}

/// <summary>Steps of the backward pass that differ when the plain-SGD update is fused in (see <see cref="SgdFusion"/>):
/// <c>if (fusedSgd) … else …</c>. Either side may be empty.</summary>
internal sealed record SgdVariantStep(string Comment, Step[] Plain, Step[] Fused) : Step(Comment)
{
    public override IEnumerable<Buffer> Reads => Plain.Concat(Fused).SelectMany(s => s.Reads).Distinct();
    public override IEnumerable<Buffer> Writes => Plain.Concat(Fused).SelectMany(s => s.Writes).Distinct();
}

/// <summary>The whole lowered program of a model.</summary>
internal sealed class ProgramPlan
{
    public List<Buffer> Buffers { get; } = new();
    public List<Step> Forward { get; } = new();
    /// <summary>The loss method's steps, run after <see cref="Forward"/> when a target is given.</summary>
    public List<Step> Loss { get; } = new();
    /// <summary>The backward steps as lowering made them (gradients only): <see cref="SgdFusion"/>'s input.</summary>
    public List<Step> Backward { get; } = new();
    /// <summary>The backward pass the emitter prints (one <c>RunBackward</c>): <see cref="Backward"/> with the steps that
    /// the fused plain-SGD update changes as <see cref="SgdVariantStep"/>s (see <see cref="SgdFusion"/>).</summary>
    public List<Step> BackwardSgd { get; set; } = new();
    /// <summary>Buffer holding each forward node's value (null for constants).</summary>
    public Buffer?[] Values { get; set; } = new Buffer?[0];
    public Buffer?[] Gradients { get; set; } = new Buffer?[0];
    public Buffer? LabelsBuffer { get; set; }
    public int BatchedSize { get; set; }
    public int FixedSize { get; set; }

    public Buffer AddBuffer(string name, int perSample, bool batched, Space space)
    {
        var b = new Buffer(Buffers.Count, name, perSample, batched, space);
        Buffers.Add(b);
        return b;
    }
}
