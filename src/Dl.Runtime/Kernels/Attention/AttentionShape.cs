namespace Dl.Kernels;

/// <summary>
/// The geometry of one attention call, per sample: <see cref="Heads"/> heads, <see cref="QueryLength"/> queries of
/// <see cref="HeadSize"/> d_k per head, <see cref="KeyLength"/> keys (d_k) and values (<see cref="ValueHeadSize"/> d_v).
/// Head h of a query row reads its columns <c>h·d_k .. (h + 1)·d_k</c> after the row's <see cref="QueryOffset"/>; rows are
/// <see cref="QueryStride"/> apart, and a sample's queries QueryLength·QueryStride apart. Keys and values likewise. So
/// the fused projection [q k v] of self-attention, one row of 3D per position, is read in place: all three spans are the
/// same buffer, with offsets 0, D, 2D and strides 3D.
/// </summary>
/// <remarks>
/// The output y is [QueryLength, Heads·d_v] per sample, contiguous. The <c>probs</c> workspace holds the attention
/// weights P [Heads, QueryLength, KeyLength] per sample (written by Forward, read by Backward). A key mask is
/// [KeyLength] per sample: 0 excludes the key, any other value keeps it. <see cref="Causal"/> excludes keys j &gt; i for
/// query i. A query with no key left gets a zero output and zero gradients.
/// </remarks>
/// <param name="Heads">h ≥ 1.</param>
/// <param name="QueryLength">Tq ≥ 1.</param>
/// <param name="KeyLength">Tk ≥ 1.</param>
/// <param name="HeadSize">d_k ≥ 1, the query and key width of one head.</param>
/// <param name="ValueHeadSize">d_v ≥ 1, the value width of one head.</param>
/// <param name="Causal">Query i attends to keys j ≤ i only.</param>
/// <param name="Scaled">Scores are divided by √d_k.</param>
public readonly record struct AttentionShape(int Heads, int QueryLength, int KeyLength, int HeadSize, int ValueHeadSize, bool Causal, bool Scaled)
{
    /// <summary>Elements from one query row to the next (default h·d_k).</summary>
    public int QueryStride { get; init; } = Heads * HeadSize;
    /// <summary>Elements before head 0's first query column in each row (default 0).</summary>
    public int QueryOffset { get; init; }
    /// <summary>Elements from one key row to the next (default h·d_k).</summary>
    public int KeyStride { get; init; } = Heads * HeadSize;
    public int KeyOffset { get; init; }
    /// <summary>Elements from one value row to the next (default h·d_v).</summary>
    public int ValueStride { get; init; } = Heads * ValueHeadSize;
    public int ValueOffset { get; init; }

    /// <summary>1/√d_k when <see cref="Scaled"/>, else 1.</summary>
    public float Scale => Scaled ? 1f / MathF.Sqrt(HeadSize) : 1f;

    /// <summary>Floats per sample of the query, key and value spans (they may be the same span).</summary>
    public int QueryPerSample => QueryLength * QueryStride;
    public int KeyPerSample => KeyLength * KeyStride;
    public int ValuePerSample => KeyLength * ValueStride;
    /// <summary>Floats per sample of the output, QueryLength·Heads·d_v.</summary>
    public int OutputPerSample => QueryLength * Heads * ValueHeadSize;
    /// <summary>Floats per sample of the probs workspace, Heads·QueryLength·KeyLength.</summary>
    public int ProbsPerSample => (int)AttentionContract.ProbsPerSample(Heads, QueryLength, KeyLength);

    /// <summary>Floats of the <c>scratch</c> workspace Forward and Backward take (once, not per sample):
    /// (QueryLength + 2·KeyLength)·(HeadSize + ValueHeadSize) + 2·QueryLength·KeyLength. The kernels use part of it
    /// (see <see cref="Attention"/>); the formula is the shared one the generator allocates
    /// (<see cref="AttentionContract.ScratchLength"/>).</summary>
    public int ScratchLength => checked((int)AttentionContract.ScratchLength(QueryLength, KeyLength, HeadSize, ValueHeadSize));

    /// <summary>Checks that every size is positive, that each head's columns fit in a row (offset + h·d ≤ stride) and
    /// that the per-sample sizes and the scratch fit in an int.</summary>
    internal void Validate(string method)
    {
        CheckPositive(method, nameof(Heads), Heads);
        CheckPositive(method, nameof(QueryLength), QueryLength);
        CheckPositive(method, nameof(KeyLength), KeyLength);
        CheckPositive(method, nameof(HeadSize), HeadSize);
        CheckPositive(method, nameof(ValueHeadSize), ValueHeadSize);
        CheckLayout(method, "query", QueryOffset, QueryStride, HeadSize);
        CheckLayout(method, "key", KeyOffset, KeyStride, HeadSize);
        CheckLayout(method, "value", ValueOffset, ValueStride, ValueHeadSize);
        long tq = QueryLength, tk = KeyLength;
        if (tq * QueryStride > int.MaxValue || tk * KeyStride > int.MaxValue || tk * ValueStride > int.MaxValue
            || tq * Heads * ValueHeadSize > int.MaxValue || AttentionContract.ProbsPerSample(Heads, QueryLength, KeyLength) > int.MaxValue
            || AttentionContract.ScratchLength(QueryLength, KeyLength, HeadSize, ValueHeadSize) > int.MaxValue)
            throw new ArgumentException($"{method}: attention ({Describe()}) is too large: a per-sample size or the scratch would exceed int.MaxValue floats.");
    }

    // Not the record's ToString: that evaluates every property, and ScratchLength throws for a shape too large.
    private string Describe() => $"heads {Heads}, Tq {QueryLength}, Tk {KeyLength}, d_k {HeadSize}, d_v {ValueHeadSize}, " +
        $"strides q {QueryStride} k {KeyStride} v {ValueStride}, offsets q {QueryOffset} k {KeyOffset} v {ValueOffset}";

    private static void CheckPositive(string method, string name, int value)
    {
        if (value < 1) throw new ArgumentException($"{method}: AttentionShape.{name} = {value} must be >= 1.", name);
    }

    private void CheckLayout(string method, string what, int offset, int stride, int size)
    {
        if (offset < 0 || (long)offset + (long)Heads * size > stride)
            throw new ArgumentException($"{method}: the {what} layout (offset {offset}, stride {stride}) does not hold {Heads} heads of " +
                $"{size} columns per row: expected 0 <= offset and offset + {Heads}·{size} <= stride.", what + "Stride");
    }

    /// <summary>The argument checks of Forward (both precisions): q, k, v and probs at least their batch sizes, y exactly,
    /// the key mask empty or exactly batch·KeyLength, the scratch at least <see cref="ScratchLength"/>.</summary>
    internal void CheckForward(string method, int batch, int q, int k, int v, int keyMask, int y, int probs, int scratch)
    {
        Validate(method);
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"{method}: batch must be >= 1.");
        long b = batch;
        CheckAtLeast(method, "q", q, b * QueryPerSample, "batch·QueryLength·QueryStride", batch);
        CheckAtLeast(method, "k", k, b * KeyPerSample, "batch·KeyLength·KeyStride", batch);
        CheckAtLeast(method, "v", v, b * ValuePerSample, "batch·KeyLength·ValueStride", batch);
        if (keyMask != 0 && keyMask != b * KeyLength)
            throw new ArgumentException($"{method}: keyMask has {keyMask} floats, expected batch·KeyLength = {b * KeyLength} " +
                $"(batch {batch}, KeyLength {KeyLength}) or none (an empty span).", nameof(keyMask));
        CheckExact(method, "y", y, b * OutputPerSample, "batch·QueryLength·Heads·ValueHeadSize", batch);
        CheckAtLeast(method, "probs", probs, b * ProbsPerSample, "batch·Heads·QueryLength·KeyLength", batch);
        CheckAtLeast(method, "scratch", scratch, ScratchLength, "ScratchLength", batch);
    }

    /// <summary>The argument checks of Backward: those of Forward, dy exactly y's length, and dq, dk, dv empty (not
    /// wanted) or at least the length their input needs.</summary>
    internal void CheckBackward(string method, int batch, int q, int k, int v, int keyMask, int y, int probs, int dy,
        int dq, int dk, int dv, int scratch)
    {
        CheckForward(method, batch, q, k, v, keyMask, y, probs, scratch);
        long b = batch;
        CheckExact(method, "dy", dy, b * OutputPerSample, "batch·QueryLength·Heads·ValueHeadSize", batch);
        if (dq != 0) CheckAtLeast(method, "dq", dq, b * QueryPerSample, "batch·QueryLength·QueryStride (or empty)", batch);
        if (dk != 0) CheckAtLeast(method, "dk", dk, b * KeyPerSample, "batch·KeyLength·KeyStride (or empty)", batch);
        if (dv != 0) CheckAtLeast(method, "dv", dv, b * ValuePerSample, "batch·KeyLength·ValueStride (or empty)", batch);
    }

    private void CheckAtLeast(string method, string name, int length, long expected, string formula, int batch)
    {
        if (length < expected)
            throw new ArgumentException($"{method}: {name} has {length} floats, expected at least {formula} = {expected} " +
                $"(batch {batch}, {Describe()}).", name);
    }

    private void CheckExact(string method, string name, int length, long expected, string formula, int batch)
    {
        if (length != expected)
            throw new ArgumentException($"{method}: {name} has {length} floats, expected {formula} = {expected} " +
                $"(batch {batch}, {Describe()}).", name);
    }
}
