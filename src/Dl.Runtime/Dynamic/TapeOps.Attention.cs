using System.Numerics;
using System.Runtime.CompilerServices;
using Dl.Kernels;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    // ================================================================================================================
    // Attention: one "attention" node per call runs every head (Attention.Forward in float, AttentionReference.Forward
    // in double) and keeps P for the backward, which writes dq, dk and dv at once. The node's three inputs are the
    // tensors q, k and v are read from, possibly one tensor: multi-head self-attention projects x to [q k v] in one
    // product and the node reads it in place (layout Packed: column offsets 0, D, 2D); cross-attention projects the
    // memory to [k v] (layout KeyValue: offsets 0, D). A key mask is read by the forward only (P keeps its zeros) and
    // gets no gradient, so it is not an input of the node.
    // Node fields: Arg0 heads, Arg1 d_k, Arg2 layout, Flag0 causal, Flag1 scaled, Aux0 P [batch, h, Tq, Tk].
    // ================================================================================================================

    private const int SeparateLayout = 0, PackedLayout = 1, KeyValueLayout = 2;

    public static Tensor Attention(Tensor query, Tensor key, Tensor value, int heads, bool causal, Tensor? keyMask, AttentionScore score)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(value);
        const string op = "attention";
        if (!Enum.IsDefined(score)) throw new ArgumentOutOfRangeException(nameof(score), score, $"{op}: unknown score {(int)score}.");
        if (heads < 1) throw new ArgumentOutOfRangeException(nameof(heads), heads, $"{op}: heads must be >= 1, got {heads}.");
        if (!ReferenceEquals(query.Tape, key.Tape) || !ReferenceEquals(query.Tape, value.Tape))
            throw new ArgumentException($"{op}: query, key and value belong to different models' tapes.");
        CheckSequence(op, null, "query", query, "[Tq, h·d_k] or one query [h·d_k]", allowVector: true);
        CheckSequence(op, null, "key", key, "[Tk, h·d_k]", allowVector: false);
        CheckSequence(op, null, "value", value, "[Tk, h·d_v]", allowVector: false);
        int width = query.ShapeArray[^1], tk = key.ShapeArray[0];
        if (key.ShapeArray[1] != width)
            throw new ArgumentException($"{op}: key {key.ShapeText} has {key.ShapeArray[1]} features per row but query {query.ShapeText} has " +
                $"{width}; queries and keys need the same width h·d_k.", nameof(key));
        if (value.ShapeArray[0] != tk)
            throw new ArgumentException($"{op}: value {value.ShapeText} has {value.ShapeArray[0]} rows but key {key.ShapeText} has {tk}; " +
                "each key needs one value row.", nameof(value));
        if (AttentionContract.Heads(heads, width, value.ShapeArray[1]) is { } why) throw new ArgumentException($"{op}: {why}.", nameof(heads));
        CheckKeyMask(op, null, "keyMask", keyMask, query, tk);
        return AttentionNode(query, key, value, heads, width / heads, SeparateLayout, causal, score == AttentionScore.ScaledDot, keyMask);
    }

    public static Tensor MultiHeadAttention(Tensor query, Tensor? memory, int heads, string name, bool causal, Tensor? keyMask)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentException.ThrowIfNullOrEmpty(name);
        string op = memory is null ? "self_attention" : "cross_attention";
        if (heads < 1) throw new ArgumentOutOfRangeException(nameof(heads), heads, $"{op} '{name}': heads must be >= 1, got {heads}.");
        CheckSequence(op, name, memory is null ? "x" : "query", query, "[T, D] or one position [D]", allowVector: true);
        int d = query.ShapeArray[^1];
        if (AttentionContract.ModelHeads(heads, d) is { } why)
            throw new ArgumentException($"{op} '{name}': {why} of {query.ShapeText}.", nameof(heads));
        int tk = query.Rank == 1 ? 1 : query.ShapeArray[0];
        if (memory is not null)
        {
            if (!ReferenceEquals(memory.Tape, query.Tape)) throw new ArgumentException($"{op} '{name}': query and memory belong to different models' tapes.");
            CheckSequence(op, name, "memory", memory, "[Tk, D]", allowVector: false);
            if (memory.ShapeArray[1] != d)
                throw new ArgumentException($"{op} '{name}': memory {memory.ShapeText} has {memory.ShapeArray[1]} features per row, expected " +
                    $"the query's width D = {d}.", nameof(memory));
            tk = memory.ShapeArray[0];
        }
        CheckKeyMask(op, name, memory is null ? "keyMask" : "memoryMask", keyMask, query, tk);

        DynamicContext context = DynamicContext.Current;
        string[] names = AttentionParameterNames(name);
        Tensor wIn = context.Parameter(names[0]), bIn = context.Parameter(names[1]);
        Tensor wOut = context.Parameter(names[2]), bOut = context.Parameter(names[3]);
        CheckAttentionParameter(op, name, wIn, 3 * d, d);
        CheckAttentionParameter(op, name, bIn, 3 * d, 0);
        CheckAttentionParameter(op, name, wOut, d, d);
        CheckAttentionParameter(op, name, bOut, d, 0);
        bool dbl = query.Tape.IsDouble;
        Tensor attended;
        if (memory is null)
        {
            // [q k v] = x·W_inᵀ + b_in, one [T, 3D] product read in place by the attention node.
            Tensor qkv = dbl ? LinearCore<double>(query, wIn, bIn, 3 * d) : LinearCore<float>(query, wIn, bIn, 3 * d);
            attended = AttentionNode(qkv, qkv, qkv, heads, d / heads, PackedLayout, causal, scaled: true, keyMask);
        }
        else
        {
            // q = query·W_in[0:D]ᵀ + b_in[0:D]; [k v] = memory·W_in[D:3D]ᵀ + b_in[D:3D].
            Tensor wq = Slice(wIn, 0, 0, d, keepAxis: true), bq = Slice(bIn, 0, 0, d, keepAxis: true);
            Tensor wkv = Slice(wIn, 0, d, 2 * d, keepAxis: true), bkv = Slice(bIn, 0, d, 2 * d, keepAxis: true);
            Tensor q = dbl ? LinearCore<double>(query, wq, bq, d) : LinearCore<float>(query, wq, bq, d);
            Tensor kv = dbl ? LinearCore<double>(memory, wkv, bkv, 2 * d) : LinearCore<float>(memory, wkv, bkv, 2 * d);
            attended = AttentionNode(q, kv, kv, heads, d / heads, KeyValueLayout, causal, scaled: true, keyMask);
        }
        return dbl ? LinearCore<double>(attended, wOut, bOut, d) : LinearCore<float>(attended, wOut, bOut, d);
    }

    // The messages name the op and, for a layer, its name: "attention: ..." or "self_attention 'attn': ...". They are
    // formatted only when thrown, so that a steady-state step builds no strings.
    private static string Prefix(string op, string? name) => name is null ? op : $"{op} '{name}'";

    private static void CheckSequence(string op, string? name, string what, Tensor x, string expected, bool allowVector)
    {
        if (!x.Batched || !(x.Rank == 2 || allowVector && x.Rank == 1))
            throw new ArgumentException($"{Prefix(op, name)}: {what} must be a batched {expected} per sample, got {(x.Batched ? "" : "the unbatched ")}" +
                $"{x.ShapeText} (rank {x.Rank}).", what);
        if (x.ShapeArray[^1] < 1 || x.Rank == 2 && x.ShapeArray[0] < 1)
            throw new ArgumentException($"{Prefix(op, name)}: {what} {x.ShapeText} is empty.", what);
    }

    private static void CheckKeyMask(string op, string? name, string what, Tensor? mask, Tensor query, int keys)
    {
        if (mask is null) return;
        if (!ReferenceEquals(mask.Tape, query.Tape)) throw new ArgumentException($"{Prefix(op, name)}: {what} belongs to another model's tape.", what);
        if (!mask.Batched || mask.Rank != 1 || mask.ShapeArray[0] != keys)
            throw new ArgumentException($"{Prefix(op, name)}: {what} must be a batched [Tk] = [{keys}] per sample (0 marks a padding key), got " +
                $"{(mask.Batched ? "" : "the unbatched ")}{mask.ShapeText}.", what);
    }

    private static void CheckAttentionParameter(string op, string name, Tensor p, int rows, int cols)
    {
        bool ok = cols == 0 ? p.Rank == 1 && p.ShapeArray[0] == rows : p.Rank == 2 && p.ShapeArray[0] == rows && p.ShapeArray[1] == cols;
        if (!ok)
            throw new ArgumentException($"{op} '{name}': parameter '{p.Name}' has shape {p.ShapeText}, expected " +
                (cols == 0 ? $"[{rows}]" : $"[{rows}, {cols}]") + " (PyTorch's nn.MultiheadAttention layout).");
    }

    // {name}.in_proj_weight, in_proj_bias, out_proj.weight, out_proj.bias, built once per layer name so that a
    // steady-state step builds no strings.
    private static readonly ConditionalWeakTable<string, string[]> s_attentionNames = new();

    private static string[] AttentionParameterNames(string name)
    {
        if (s_attentionNames.TryGetValue(name, out string[]? names)) return names;
        // No lambda: a captured parameter would allocate its closure on every call, cached or not.
        names = new string[4];
        for (int i = 0; i < names.Length; i++) names[i] = AttentionContract.ParameterName(name, i);
        s_attentionNames.AddOrUpdate(name, names);
        return names;
    }

    private static Tensor AttentionNode(Tensor q, Tensor k, Tensor v, int heads, int headSize, int layout, bool causal, bool scaled, Tensor? keyMask)
        => q.Tape.IsDouble
            ? AttentionCore<double>(q, k, v, heads, headSize, layout, causal, scaled, keyMask)
            : AttentionCore<float>(q, k, v, heads, headSize, layout, causal, scaled, keyMask);

    private static Tensor AttentionCore<T>(Tensor q, Tensor k, Tensor v, int heads, int headSize, int layout, bool causal, bool scaled,
        Tensor? keyMask) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = q.Tape;
        int valueWidth = layout == SeparateLayout ? v.ShapeArray[1] : heads * headSize;
        Span<int> shape = stackalloc int[q.Rank];
        q.ShapeArray.CopyTo(shape);
        shape[^1] = valueWidth;
        Tensor y = tape.Node<T>("attention", tape.Intern(shape), batched: true, q, k, v);
        y.Arg0 = heads;
        y.Arg1 = headSize;
        y.Arg2 = layout;
        y.Flag0 = causal;
        y.Flag1 = scaled;
        y.Side = keyMask;
        AttentionShape s = NodeShape(y);
        int batch = y.Samples;
        T[] probs = tape.Rent<T>(batch * s.ProbsPerSample);
        y.Aux0 = probs;
        Span<T> scratch = tape.Rent<T>(s.ScratchLength);
        ReadOnlySpan<T> mask = keyMask is null ? default : keyMask.Values<T>();
        if (typeof(T) == typeof(double))
            AttentionReference.Forward<double>(s, batch, q.Values<double>(), k.Values<double>(), v.Values<double>(), Cast<T, double>(mask),
                y.Values<double>(), (double[])(object)probs, Cast<T, double>(scratch));
        else
            Kernels.Attention.Forward(s, batch, q.Values<float>(), k.Values<float>(), v.Values<float>(), Cast<T, float>(mask),
                y.Values<float>(), (float[])(object)probs, Cast<T, float>(scratch), tape.Gemm);
        if (y.RequiresGrad) y.BackwardRule = AttentionRules<T>.Backward;
        return y;
    }

    /// <summary>The kernel shape of an attention node, from its fields and its inputs' shapes.</summary>
    private static AttentionShape NodeShape(Tensor y)
    {
        Tensor q = y.In0!, k = y.In1!, v = y.In2!;
        int heads = y.Arg0, dk = y.Arg1, layout = y.Arg2;
        int tq = y.Rank == 1 ? 1 : y.ShapeArray[0];
        int tk = layout == PackedLayout ? tq : k.ShapeArray[0];
        var shape = new AttentionShape(heads, tq, tk, dk, y.ShapeArray[^1] / heads, y.Flag0, y.Flag1);
        if (layout == SeparateLayout) return shape with { QueryStride = q.ShapeArray[^1], KeyStride = k.ShapeArray[^1], ValueStride = v.ShapeArray[^1] };
        var p = AttentionContract.ProjectionLayout(heads * dk, self: layout == PackedLayout);
        return shape with
        {
            QueryStride = p.QStride, QueryOffset = p.QOffset, KeyStride = p.KStride, KeyOffset = p.KOffset, ValueStride = p.VStride, ValueOffset = p.VOffset,
        };
    }

    private static class AttentionRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor q = y.In0!, k = y.In1!, v = y.In2!;
            AttentionShape s = NodeShape(y);
            int batch = y.Samples;
            Tape tape = y.Tape;

            // One target per distinct tensor (q, k and v may be one tensor read at several column offsets).
            bool aq = false, ak = false, av = false;
            Span<T> dq = q.RequiresGrad ? q.GradTarget<T>(out aq) : default;
            Span<T> dk = !k.RequiresGrad ? default : ReferenceEquals(k, q) ? dq : k.GradTarget<T>(out ak);
            if (ReferenceEquals(k, q)) ak = aq;
            Span<T> dv = !v.RequiresGrad ? default : ReferenceEquals(v, q) ? dq : ReferenceEquals(v, k) ? dk : v.GradTarget<T>(out av);
            if (ReferenceEquals(v, q)) av = aq;
            else if (ReferenceEquals(v, k)) av = ak;
            if (dq.IsEmpty && dk.IsEmpty && dv.IsEmpty) return;

            // The kernel takes one accumulate flag. It adds when any target already holds a gradient, and when one tensor is
            // read twice over the same columns (attention(x, x, x)): overwriting would keep only the last of the two.
            // Targets seen for the first time are then zeroed (whole: the heads' columns cover every column anyway).
            bool shared = Overlap(q, k, s.QueryOffset, s.KeyOffset, s.Heads * s.HeadSize, s.Heads * s.HeadSize)
                || Overlap(q, v, s.QueryOffset, s.ValueOffset, s.Heads * s.HeadSize, s.Heads * s.ValueHeadSize)
                || Overlap(k, v, s.KeyOffset, s.ValueOffset, s.Heads * s.HeadSize, s.Heads * s.ValueHeadSize);
            bool any = (!dq.IsEmpty && aq) || (!dk.IsEmpty && ak) || (!dv.IsEmpty && av);
            bool all = (dq.IsEmpty || aq) && (dk.IsEmpty || ak) && (dv.IsEmpty || av);
            bool accumulate = any || shared;
            if (accumulate && !all)
            {
                if (!dq.IsEmpty && !aq) dq.Clear();
                if (!dk.IsEmpty && !ak && !ReferenceEquals(k, q)) dk.Clear();
                if (!dv.IsEmpty && !av && !ReferenceEquals(v, q) && !ReferenceEquals(v, k)) dv.Clear();
            }

            ReadOnlySpan<T> probs = ((T[])y.Aux0!).AsSpan(0, batch * s.ProbsPerSample);
            Span<T> scratch = tape.Rent<T>(s.ScratchLength);
            if (typeof(T) == typeof(double))
                AttentionReference.Backward<double>(s, batch, q.Values<double>(), k.Values<double>(), v.Values<double>(), default,
                    y.Values<double>(), Cast<T, double>(probs), Cast<T, double>(y.Upstream<T>()),
                    Cast<T, double>(dq), Cast<T, double>(dk), Cast<T, double>(dv), accumulate, Cast<T, double>(scratch));
            else
                Kernels.Attention.Backward(s, batch, q.Values<float>(), k.Values<float>(), v.Values<float>(), default,
                    y.Values<float>(), Cast<T, float>(probs), Cast<T, float>(y.Upstream<T>()),
                    Cast<T, float>(dq), Cast<T, float>(dk), Cast<T, float>(dv), accumulate, Cast<T, float>(scratch), tape.Gemm);
        };

        /// <summary>Whether two inputs are one tensor read over intersecting column ranges (both wanting a gradient).</summary>
        private static bool Overlap(Tensor a, Tensor b, int offsetA, int offsetB, int widthA, int widthB)
            => ReferenceEquals(a, b) && a.RequiresGrad && offsetA < offsetB + widthB && offsetB < offsetA + widthA;
    }
}
