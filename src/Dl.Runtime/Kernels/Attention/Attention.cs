using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

/// <summary>
/// Multi-head (scaled) dot-product attention in single precision: forward and backward over a batch, per head
/// P = softmax(scale·Q·Kᵀ) with masked and causal keys excluded, Y = P·V. The equations and derivatives are those of
/// <see cref="AttentionReference"/>; the layout is <see cref="AttentionShape"/>'s (strided rows and column offsets, so a
/// fused [q k v] projection is read in place).
/// </summary>
/// <remarks>
/// <para>How the work is organised, per sample and head (the products are small, Tq·Tk·d with d ≈ 8 … 64, so they are
/// register-tiled loops rather than GEMM calls, whose packing costs as much as the product: measured on contiguous
/// operands, <see cref="Gemm"/> takes 3.8 µs for a 64×64×16 Q·Kᵀ and 1.6 µs for a 64×16×64 P·V, these loops 1.3 and
/// 1.2 µs, reading the strided layout in place):</para>
/// <list type="bullet">
/// <item>Scores: K_h is copied transposed into the scratch ([d_k, Tk], 8×8 register transposes), so a block of 4 query
/// rows is a sum of broadcast multiply-adds over contiguous key rows, 4 rows × 2 vectors of keys in registers. The scale
/// is applied when the block is stored into the probs row.</item>
/// <item>When a row of keys fits in 4 vectors and the attention is not causal (the benchmark's Tk = 64 in Vector512),
/// scores and softmax are one pass: a block of 4 query rows × all keys stays in registers, the four rows' maxima and
/// sums are reduced together (one Vector128 of four), and only P is stored (forward at the benchmark shape 17.8 →
/// 15.8 µs per sample; the gain comes from reducing four rows at once, whose dependency chains then overlap: fusing
/// alone, which saves storing and reloading the scores, measured no faster).</item>
/// <item>Otherwise softmax, one pass per row and step: the mask's bias (0 or −∞) and the maximum; e^(s − max) (Cephes' expf as in
/// <see cref="VectorMath"/>, ~1.2e-7 relative, specialised for s − max ≤ 0; a causal row's last partial vector
/// included, its lanes past the row's keys zeroed) and the sum; the normalisation and the zeros of causal keys. Masked
/// keys get exactly 0; a row with no key left is all zeros.</item>
/// <item>Y = P·V reads V in place: 4 query rows × up to 2 vectors of d_v in registers (with one vector, two sets of
/// accumulators over even and odd keys), the keys of a causal block limited to those the block's last row sees.</item>
/// <item>Backward: dV = Pᵀ·dY with the same tiles (4 keys × d_v, over the queries); dS_ij = P_ij (dy_i · v_j − δ_i) with
/// δ_i = dy_i · y_i, computed like the scores on a transposed copy of V_h; dQ = scale·dS·K and dK = scale·dSᵀ·Q like
/// Y and dV.</item>
/// </list>
/// <para>Vector widths: loops along the keys use Vector512 when it is accelerated and Tk ≥ 16, else Vector256 when
/// Tk ≥ 8; loops along d use Vector512 when d is a multiple of 16, else Vector256 with the last d mod 8 columns done
/// one by one. Everything else (and any machine without Vector256) runs the same loops with one float per "vector".</para>
/// <para>Scratch use (of <see cref="AttentionShape.ScratchLength"/>): Forward d_k·Tk + Tk (Kᵀ, mask bias), Backward
/// d_v·Tk + Tq·Tk + Tq (Vᵀ, dS, δ), each from a cache line when there is room. Nothing is allocated; sums run in another
/// order than the reference's, so results agree with it to float rounding.</para>
/// <para>Measured (Zen 4, one thread, Tq = Tk = 64, 4 heads of 16, packed [q k v]): batch 1 18 µs forward and 22 µs
/// backward, batch 32 600 and 780 µs; about half the multiply-add peak (a Vector512 FMA per cycle): the products run at
/// ~85% of it, the softmax takes a third of the forward. Causal, batch 1: ~13.5 µs each. Aligning q, k, v, y and probs
/// on 64 bytes (the caller's buffers) gains another 7% (forward) and 13% (backward).</para>
/// </remarks>
public static unsafe partial class Attention
{
    /// <summary>Forward: y and the attention weights P of every sample and head.</summary>
    /// <param name="s">Heads, lengths, head sizes, causal, scaled and the row layout of q, k and v.</param>
    /// <param name="batch">Samples (≥ 1).</param>
    /// <param name="q">Queries, at least batch·<see cref="AttentionShape.QueryPerSample"/> floats.</param>
    /// <param name="k">Keys, at least batch·<see cref="AttentionShape.KeyPerSample"/>; may be the same span as q.</param>
    /// <param name="v">Values, at least batch·<see cref="AttentionShape.ValuePerSample"/>; may be the same span as q.</param>
    /// <param name="keyMask">Empty (no mask) or batch·KeyLength floats: 0 excludes the key.</param>
    /// <param name="y">batch·<see cref="AttentionShape.OutputPerSample"/> floats, [Tq, Heads·d_v] per sample (overwritten).</param>
    /// <param name="probs">At least batch·<see cref="AttentionShape.ProbsPerSample"/> floats: receives P [Heads, Tq, Tk]
    /// per sample, which <see cref="Backward"/> reads.</param>
    /// <param name="scratch">At least <see cref="AttentionShape.ScratchLength"/> floats; contents not kept.</param>
    /// <param name="context">Reserved for GEMM-based products; these loops do not use it.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape, or the shape is invalid.</exception>
    public static void Forward(in AttentionShape s, int batch, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> keyMask, Span<float> y, Span<float> probs, Span<float> scratch, GemmContext context)
    {
        s.CheckForward("Attention.Forward", batch, q.Length, k.Length, v.Length, keyMask.Length, y.Length, probs.Length, scratch.Length);
        _ = context;
        int heads = s.Heads, tq = s.QueryLength, tk = s.KeyLength, dk = s.HeadSize, dv = s.ValueHeadSize, yw = heads * dv;
        SimdWidth keys = KeyWidth(tk), values = ColumnWidth(dv);
        float scale = s.Scale;
        // A row of scores fits in registers (Tk ≤ 4 vectors, not causal): scores and softmax in one pass.
        int fused = s.Causal ? 0 : FusedVectors(keys, tk);
        int ldt = fused == 0 ? tk : fused * Lanes(keys);
        fixed (float* pq = q, pk = k, pv = v, pm = keyMask, py = y, pp = probs, ps = scratch)
        {
            // Kᵀ (rows of ldt ≥ Tk floats), then the mask's bias row (0 or −∞ per key, −∞ on the fused path's padding
            // lanes), each on a cache line when the scratch has room (it has, but for tiny shapes).
            bool align = scratch.Length >= dk * ldt + ldt + 32;
            bool biased = pm != null || ldt > tk;
            float* cursor = ps, kt = Take(ref cursor, dk * ldt, align), bias = biased ? Take(ref cursor, ldt, align) : null;
            for (int j = tk; j < ldt; j++) bias[j] = float.NegativeInfinity;
            if (pm == null && biased) new Span<float>(bias, tk).Clear();
            // The padding lanes of Kᵀ meet a −∞ bias: zeros keep their products finite (the transposes never write them).
            for (int c = 0; c < dk && ldt > tk; c++) new Span<float>(kt + (nint)c * ldt + tk, ldt - tk).Clear();
            for (int b = 0; b < batch; b++)
            {
                if (pm != null)
                    for (int j = 0; j < tk; j++) bias[j] = pm[(nint)b * tk + j] == 0f ? float.NegativeInfinity : 0f;
                for (int h = 0; h < heads; h++)
                {
                    float* qh = pq + (nint)b * s.QueryPerSample + s.QueryOffset + h * dk;
                    float* kh = pk + (nint)b * s.KeyPerSample + s.KeyOffset + h * dk;
                    float* vh = pv + (nint)b * s.ValuePerSample + s.ValueOffset + h * dv;
                    float* ph = pp + ((nint)b * heads + h) * tq * tk;
                    float* yh = py + (nint)b * s.OutputPerSample + h * dv;
                    Transpose(kh, s.KeyStride, tk, dk, kt, ldt);
                    bool last = b == batch - 1 && h == heads - 1;
                    switch (keys)
                    {
                        case SimdWidth.V512 when fused > 0:
                            ScoresSoftmax<V512, Vector512<float>>(fused, qh, s.QueryStride, tq, kt, ldt, tk, dk, ph, scale, bias, last);
                            break;
                        case SimdWidth.V256 when fused > 0:
                            ScoresSoftmax<V256, Vector256<float>>(fused, qh, s.QueryStride, tq, kt, ldt, tk, dk, ph, scale, bias, last);
                            break;
                        case SimdWidth.V512:
                            Scores<V512, Vector512<float>>(qh, s.QueryStride, tq, kt, tk, dk, s.Causal, ph, scale, null, null);
                            Softmax<V512, Vector512<float>>(ph, tq, tk, s.Causal, bias);
                            break;
                        case SimdWidth.V256:
                            Scores<V256, Vector256<float>>(qh, s.QueryStride, tq, kt, tk, dk, s.Causal, ph, scale, null, null);
                            Softmax<V256, Vector256<float>>(ph, tq, tk, s.Causal, bias);
                            break;
                        default:
                            Scores<VScalar, float>(qh, s.QueryStride, tq, kt, tk, dk, s.Causal, ph, scale, null, null);
                            Softmax<VScalar, float>(ph, tq, tk, s.Causal, bias);
                            break;
                    }
                    // y_i = Σ_j P_ij v_j: rows are queries, the sum runs over keys.
                    Combine(values, ph, tk, 1, tq, tk, s.Causal ? Band.Prefix : Band.None, vh, s.ValueStride, dv, yh, yw, 1f, false);
                }
            }
        }
    }

    /// <summary>Backward: dq, dk and dv from dy, the forward's inputs and its P.</summary>
    /// <param name="s">The forward's shape.</param>
    /// <param name="batch">Samples (≥ 1).</param>
    /// <param name="q">The forward's queries.</param>
    /// <param name="k">The forward's keys.</param>
    /// <param name="v">The forward's values.</param>
    /// <param name="keyMask">The forward's mask (checked only: P already holds its zeros).</param>
    /// <param name="y">The forward's output (δ_i = dy_i · y_i per head).</param>
    /// <param name="probs">P as the forward wrote it.</param>
    /// <param name="dy">dLoss/dy, the length of y.</param>
    /// <param name="dq">Receives dLoss/dq in q's layout (only the heads' columns are written), or empty (not wanted).</param>
    /// <param name="dk">Receives dLoss/dk in k's layout, or empty. May be the same span as dq (disjoint columns).</param>
    /// <param name="dv">Receives dLoss/dv in v's layout, or empty. May be the same span as dq (disjoint columns).</param>
    /// <param name="accumulate">false overwrites the heads' columns of dq, dk and dv, true adds to them. When true, each
    /// of the three is added in its own pass, so they may even share columns (the gradient of q = k = v is then the
    /// sum).</param>
    /// <param name="scratch">At least <see cref="AttentionShape.ScratchLength"/> floats; contents not kept.</param>
    /// <param name="context">Reserved for GEMM-based products; these loops do not use it.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape, or the shape is invalid.</exception>
    public static void Backward(in AttentionShape s, int batch, ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v,
        ReadOnlySpan<float> keyMask, ReadOnlySpan<float> y, ReadOnlySpan<float> probs, ReadOnlySpan<float> dy,
        Span<float> dq, Span<float> dk, Span<float> dv, bool accumulate, Span<float> scratch, GemmContext context)
    {
        s.CheckBackward("Attention.Backward", batch, q.Length, k.Length, v.Length, keyMask.Length, y.Length, probs.Length,
            dy.Length, dq.Length, dk.Length, dv.Length, scratch.Length);
        _ = context;
        if (dq.IsEmpty && dk.IsEmpty && dv.IsEmpty) return;
        int heads = s.Heads, tq = s.QueryLength, tk = s.KeyLength, hk = s.HeadSize, hv = s.ValueHeadSize, yw = heads * hv;
        SimdWidth keys = KeyWidth(tk), keyColumns = ColumnWidth(hk), valueColumns = ColumnWidth(hv);
        float scale = s.Scale;
        Band prefix = s.Causal ? Band.Prefix : Band.None, suffix = s.Causal ? Band.Suffix : Band.None;
        fixed (float* pq = q, pk = k, pv = v, py = y, pp = probs, pdy = dy, pdq = dq, pdk = dk, pdv = dv, ps = scratch)
        {
            bool align = scratch.Length >= hv * tk + tq * tk + tq + 48;
            float* cursor = ps, vt = Take(ref cursor, hv * tk, align), ds = Take(ref cursor, tq * tk, align), delta = Take(ref cursor, tq, align);
            for (int b = 0; b < batch; b++)
                for (int h = 0; h < heads; h++)
                {
                    nint qo = (nint)b * s.QueryPerSample + s.QueryOffset + h * hk;
                    nint ko = (nint)b * s.KeyPerSample + s.KeyOffset + h * hk;
                    nint vo = (nint)b * s.ValuePerSample + s.ValueOffset + h * hv;
                    nint yo = (nint)b * s.OutputPerSample + h * hv;
                    float* ph = pp + ((nint)b * heads + h) * tq * tk;
                    // dv_j = Σ_i P_ij dy_i: rows are keys, the sum runs over queries (P read down its columns).
                    if (pdv != null)
                        Combine(valueColumns, ph, 1, tk, tk, tq, suffix, pdy + yo, yw, hv, pdv + vo, s.ValueStride, 1f, accumulate);
                    if (pdq == null && pdk == null) continue;

                    Transpose(pv + vo, s.ValueStride, tk, hv, vt, tk);
                    for (int i = 0; i < tq; i++) delta[i] = Dot(valueColumns, pdy + yo + (nint)i * yw, py + yo + (nint)i * yw, hv);
                    switch (keys)
                    {
                        case SimdWidth.V512: Scores<V512, Vector512<float>>(pdy + yo, yw, tq, vt, tk, hv, s.Causal, ds, 1f, ph, delta); break;
                        case SimdWidth.V256: Scores<V256, Vector256<float>>(pdy + yo, yw, tq, vt, tk, hv, s.Causal, ds, 1f, ph, delta); break;
                        default: Scores<VScalar, float>(pdy + yo, yw, tq, vt, tk, hv, s.Causal, ds, 1f, ph, delta); break;
                    }
                    // dq_i = scale·Σ_j dS_ij k_j; dk_j = scale·Σ_i dS_ij q_i.
                    if (pdq != null)
                        Combine(keyColumns, ds, tk, 1, tq, tk, prefix, pk + ko, s.KeyStride, hk, pdq + qo, s.QueryStride, scale, accumulate);
                    if (pdk != null)
                        Combine(keyColumns, ds, 1, tk, tk, tq, suffix, pq + qo, s.QueryStride, hk, pdk + ko, s.KeyStride, scale, accumulate);
                }
        }
    }

    /// <summary>The next <paramref name="length"/> floats of the scratch, from a 64-byte boundary when
    /// <paramref name="align"/>, so that Vector512 loads of Kᵀ, Vᵀ and dS rows do not split cache lines.</summary>
    private static float* Take(ref float* cursor, int length, bool align)
    {
        float* start = align ? (float*)(((nint)cursor + 63) & ~(nint)63) : cursor;
        cursor = start + length;
        return start;
    }

    // ---- vector widths -----------------------------------------------------------------------------------------

    /// <summary>Which keys a row of a product may sum over.</summary>
    private enum Band : byte
    {
        /// <summary>All.</summary>
        None,
        /// <summary>Rows are queries i, the sum runs over keys j ≤ i (causal P·V, dS·K).</summary>
        Prefix,
        /// <summary>Rows are keys j, the sum runs over queries i ≥ j (causal Pᵀ·dY, dSᵀ·Q).</summary>
        Suffix,
    }

    // Loops along the keys overlap their last vector with the one before (a recomputed pure store) or finish one by
    // one, so a vector must fit in Tk.
    private static SimdWidth KeyWidth(int tk)
        => Vector512.IsHardwareAccelerated && tk >= 16 ? SimdWidth.V512 : Vector256.IsHardwareAccelerated && tk >= 8 ? SimdWidth.V256 : SimdWidth.Scalar;

    private static int Lanes(SimdWidth w) => w switch { SimdWidth.V512 => 16, SimdWidth.V256 => 8, _ => 1 };

    /// <summary>Vectors per row of scores when a block of 4 rows fits in registers (1 … 4), else 0.</summary>
    private static int FusedVectors(SimdWidth keys, int tk)
    {
        if (keys == SimdWidth.Scalar) return 0;
        int lanes = Lanes(keys), vectors = (tk + lanes - 1) / lanes;
        return vectors <= 4 ? vectors : 0;
    }

    // Loops along d accumulate into the outputs, so they cannot overlap: Vector512 only for whole vectors.
    private static SimdWidth ColumnWidth(int d)
        => Vector512.IsHardwareAccelerated && d % 16 == 0 ? SimdWidth.V512 : Vector256.IsHardwareAccelerated && d >= 8 ? SimdWidth.V256 : SimdWidth.Scalar;

    private static void Combine(SimdWidth w, float* a, nint aRow, nint aK, int rows, int kLen, Band band, float* b, nint ldb, int d,
        float* o, nint ldo, float alpha, bool accumulate)
    {
        switch (w)
        {
            case SimdWidth.V512: Combine<V512, Vector512<float>>(a, aRow, aK, rows, kLen, band, b, ldb, d, o, ldo, alpha, accumulate); break;
            case SimdWidth.V256: Combine<V256, Vector256<float>>(a, aRow, aK, rows, kLen, band, b, ldb, d, o, ldo, alpha, accumulate); break;
            default: Combine<VScalar, float>(a, aRow, aK, rows, kLen, band, b, ldb, d, o, ldo, alpha, accumulate); break;
        }
    }

    private static float Dot(SimdWidth w, float* a, float* b, int n) => w switch
    {
        SimdWidth.V512 => Dot<V512, Vector512<float>>(a, b, n),
        SimdWidth.V256 => Dot<V256, Vector256<float>>(a, b, n),
        _ => Dot<VScalar, float>(a, b, n),
    };

    // ---- the loops, generic over the vector type ---------------------------------------------------------------

    /// <summary>
    /// o[i, j] = scale·Σ_c x[i, c]·t[c, j] for the rows i &lt; <paramref name="rows"/> and the keys j a row block needs
    /// (all, or j &lt; the block's end when causal); t is [d, Tk] and o [rows, Tk], both contiguous. With
    /// <paramref name="p"/> (backward) o[i, j] = p[i, j]·(Σ_c x[i, c]·t[c, j] − δ_i) instead, and keys past the block's
    /// end are zeroed. Requires Tk ≥ the vector width.
    /// </summary>
    private static void Scores<TS, TV>(float* x, nint ldx, int rows, float* t, int tk, int d, bool causal, float* o, float scale,
        float* p, float* delta) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        int w = TS.Count;
        TV vs = TS.Splat(scale);
        bool backward = p != null;
        for (int i0 = 0; i0 < rows; i0 += 4)
        {
            int rb = Math.Min(4, rows - i0);
            int n = Math.Max(w, causal ? Math.Min(tk, i0 + rb) : tk);
            // Rows past the end of the block repeat its last row (computed, not stored).
            nint x1 = (rb > 1 ? 1 : 0) * ldx, x2 = (rb > 2 ? 2 : rb - 1) * ldx, x3 = (rb - 1) * ldx;
            float* x0 = x + i0 * ldx, o0 = o + (nint)i0 * tk, p0 = backward ? p + (nint)i0 * tk : null;
            TV d0 = default, d1 = default, d2 = default, d3 = default;
            if (backward)
            {
                d0 = TS.Splat(delta[i0]);
                d1 = TS.Splat(delta[i0 + Math.Min(1, rb - 1)]);
                d2 = TS.Splat(delta[i0 + Math.Min(2, rb - 1)]);
                d3 = TS.Splat(delta[i0 + rb - 1]);
            }
            int j = 0;
            for (; j + 2 * w <= n; j += 2 * w)
            {
                TV a00 = TS.Zero, a01 = TS.Zero, a10 = TS.Zero, a11 = TS.Zero, a20 = TS.Zero, a21 = TS.Zero, a30 = TS.Zero, a31 = TS.Zero;
                float* tc = t + j;
                for (int c = 0; c < d; c++, tc += tk)
                {
                    TV t0 = TS.Load(tc), t1 = TS.Load(tc + w);
                    TV b = TS.Splat(x0[c]);
                    a00 = TS.Fma(b, t0, a00); a01 = TS.Fma(b, t1, a01);
                    b = TS.Splat(x0[x1 + c]);
                    a10 = TS.Fma(b, t0, a10); a11 = TS.Fma(b, t1, a11);
                    b = TS.Splat(x0[x2 + c]);
                    a20 = TS.Fma(b, t0, a20); a21 = TS.Fma(b, t1, a21);
                    b = TS.Splat(x0[x3 + c]);
                    a30 = TS.Fma(b, t0, a30); a31 = TS.Fma(b, t1, a31);
                }
                PutScore<TS, TV>(o0, p0, j, a00, vs, d0, backward);
                PutScore<TS, TV>(o0, p0, j + w, a01, vs, d0, backward);
                if (rb > 1) { PutScore<TS, TV>(o0 + tk, p0 + tk, j, a10, vs, d1, backward); PutScore<TS, TV>(o0 + tk, p0 + tk, j + w, a11, vs, d1, backward); }
                if (rb > 2) { PutScore<TS, TV>(o0 + 2 * tk, p0 + 2 * tk, j, a20, vs, d2, backward); PutScore<TS, TV>(o0 + 2 * tk, p0 + 2 * tk, j + w, a21, vs, d2, backward); }
                if (rb > 3) { PutScore<TS, TV>(o0 + 3 * tk, p0 + 3 * tk, j, a30, vs, d3, backward); PutScore<TS, TV>(o0 + 3 * tk, p0 + 3 * tk, j + w, a31, vs, d3, backward); }
            }
            for (; j < n; j += w)
            {
                // The last vector may overlap the previous one: it stores the same values again.
                int jj = Math.Min(j, n - w);
                TV a0 = TS.Zero, a1 = TS.Zero, a2 = TS.Zero, a3 = TS.Zero;
                float* tc = t + jj;
                for (int c = 0; c < d; c++, tc += tk)
                {
                    TV t0 = TS.Load(tc);
                    a0 = TS.Fma(TS.Splat(x0[c]), t0, a0);
                    a1 = TS.Fma(TS.Splat(x0[x1 + c]), t0, a1);
                    a2 = TS.Fma(TS.Splat(x0[x2 + c]), t0, a2);
                    a3 = TS.Fma(TS.Splat(x0[x3 + c]), t0, a3);
                }
                PutScore<TS, TV>(o0, p0, jj, a0, vs, d0, backward);
                if (rb > 1) PutScore<TS, TV>(o0 + tk, p0 + tk, jj, a1, vs, d1, backward);
                if (rb > 2) PutScore<TS, TV>(o0 + 2 * tk, p0 + 2 * tk, jj, a2, vs, d2, backward);
                if (rb > 3) PutScore<TS, TV>(o0 + 3 * tk, p0 + 3 * tk, jj, a3, vs, d3, backward);
            }
            if (backward && n < tk)
                for (int r = 0; r < rb; r++)
                {
                    // dS of keys past the block's last row: zeros (a short loop; Span.Clear's call costs more).
                    float* row = o0 + (nint)r * tk;
                    int jz = n;
                    for (; jz + w <= tk; jz += w) TS.Store(row + jz, TS.Zero);
                    for (; jz < tk; jz++) row[jz] = 0f;
                }
        }
    }

    private static void ScoresSoftmax<TS, TV>(int vectors, float* x, nint ldx, int rows, float* t, int ldt, int tk, int d, float* o,
        float scale, float* bias, bool last) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        switch (vectors)
        {
            case 1: ScoresSoftmax<TS, TV, GemmC1>(x, ldx, rows, t, ldt, tk, d, o, scale, bias, last); break;
            case 2: ScoresSoftmax<TS, TV, GemmC2>(x, ldx, rows, t, ldt, tk, d, o, scale, bias, last); break;
            case 3: ScoresSoftmax<TS, TV, GemmC3>(x, ldx, rows, t, ldt, tk, d, o, scale, bias, last); break;
            default: ScoresSoftmax<TS, TV, GemmC4>(x, ldx, rows, t, ldt, tk, d, o, scale, bias, last); break;
        }
    }

    /// <summary>
    /// The forward's P for keys that fit in <typeparamref name="TN"/> vectors: o[i, :Tk] = softmax_j(scale·x_i·t[:, j] +
    /// bias_j), 4 query rows × all keys in registers, so the scores are never stored. t is Kᵀ [d, ldt] with zeros past
    /// Tk; bias (0 or −∞; −∞ past Tk) is null when there is neither a mask nor padding. The same operations as
    /// <see cref="Scores{TS, TV}"/> then <see cref="Softmax{TS, TV}"/>, but for the order of the horizontal sums. A row's last vector may
    /// spill past Tk into the next row, which is stored after it; only the last row of the output (<paramref name="last"/>:
    /// this head is the call's last) is stored exactly.
    /// </summary>
    private static void ScoresSoftmax<TS, TV, TN>(float* x, nint ldx, int rows, float* t, int ldt, int tk, int d, float* o,
        float scale, float* bias, bool last) where TS : struct, ISimd<TV> where TV : unmanaged where TN : struct, IGemmConst
    {
        int w = TS.Count, nv = TN.Value;
        bool biased = bias != null;
        TV vs = TS.Splat(scale);
        TV g0 = biased ? TS.Load(bias) : TS.Zero, g1 = biased && nv > 1 ? TS.Load(bias + w) : TS.Zero;
        TV g2 = biased && nv > 2 ? TS.Load(bias + 2 * w) : TS.Zero, g3 = biased && nv > 3 ? TS.Load(bias + 3 * w) : TS.Zero;
        for (int i0 = 0; i0 < rows; i0 += 4)
        {
            int rb = Math.Min(4, rows - i0);
            // Rows past the end of the block repeat its last row (computed, not stored).
            nint x1 = (rb > 1 ? 1 : 0) * ldx, x2 = (rb > 2 ? 2 : rb - 1) * ldx, x3 = (rb - 1) * ldx;
            float* x0 = x + i0 * ldx, tc = t;
            TV a00 = TS.Zero, a01 = TS.Zero, a02 = TS.Zero, a03 = TS.Zero, a10 = TS.Zero, a11 = TS.Zero, a12 = TS.Zero, a13 = TS.Zero;
            TV a20 = TS.Zero, a21 = TS.Zero, a22 = TS.Zero, a23 = TS.Zero, a30 = TS.Zero, a31 = TS.Zero, a32 = TS.Zero, a33 = TS.Zero;
            for (int c = 0; c < d; c++, tc += ldt)
            {
                TV t0 = TS.Load(tc);
                TV t1 = nv > 1 ? TS.Load(tc + w) : TS.Zero, t2 = nv > 2 ? TS.Load(tc + 2 * w) : TS.Zero, t3 = nv > 3 ? TS.Load(tc + 3 * w) : TS.Zero;
                TV b = TS.Splat(x0[c]);
                a00 = TS.Fma(b, t0, a00);
                if (nv > 1) a01 = TS.Fma(b, t1, a01);
                if (nv > 2) a02 = TS.Fma(b, t2, a02);
                if (nv > 3) a03 = TS.Fma(b, t3, a03);
                b = TS.Splat(x0[x1 + c]);
                a10 = TS.Fma(b, t0, a10);
                if (nv > 1) a11 = TS.Fma(b, t1, a11);
                if (nv > 2) a12 = TS.Fma(b, t2, a12);
                if (nv > 3) a13 = TS.Fma(b, t3, a13);
                b = TS.Splat(x0[x2 + c]);
                a20 = TS.Fma(b, t0, a20);
                if (nv > 1) a21 = TS.Fma(b, t1, a21);
                if (nv > 2) a22 = TS.Fma(b, t2, a22);
                if (nv > 3) a23 = TS.Fma(b, t3, a23);
                b = TS.Splat(x0[x3 + c]);
                a30 = TS.Fma(b, t0, a30);
                if (nv > 1) a31 = TS.Fma(b, t1, a31);
                if (nv > 2) a32 = TS.Fma(b, t2, a32);
                if (nv > 3) a33 = TS.Fma(b, t3, a33);
            }
            float* o0 = o + (nint)i0 * tk;
            bool end = last && i0 + rb == rows;
            // The block's softmax, its four rows side by side: their maxima and sums reduced together (one vector of
            // four), so that the rows' dependency chains (reduce, exp, reduce, divide) overlap.
            TV s00 = Biased<TS, TV>(a00, vs, g0, biased), s01 = Biased<TS, TV>(a01, vs, g1, biased), s02 = Biased<TS, TV>(a02, vs, g2, biased), s03 = Biased<TS, TV>(a03, vs, g3, biased);
            TV s10 = Biased<TS, TV>(a10, vs, g0, biased), s11 = Biased<TS, TV>(a11, vs, g1, biased), s12 = Biased<TS, TV>(a12, vs, g2, biased), s13 = Biased<TS, TV>(a13, vs, g3, biased);
            TV s20 = Biased<TS, TV>(a20, vs, g0, biased), s21 = Biased<TS, TV>(a21, vs, g1, biased), s22 = Biased<TS, TV>(a22, vs, g2, biased), s23 = Biased<TS, TV>(a23, vs, g3, biased);
            TV s30 = Biased<TS, TV>(a30, vs, g0, biased), s31 = Biased<TS, TV>(a31, vs, g1, biased), s32 = Biased<TS, TV>(a32, vs, g2, biased), s33 = Biased<TS, TV>(a33, vs, g3, biased);
            Vector128<float> max = TS.Max4(RowMax<TS, TV, TN>(s00, s01, s02, s03), RowMax<TS, TV, TN>(s10, s11, s12, s13),
                RowMax<TS, TV, TN>(s20, s21, s22, s23), RowMax<TS, TV, TN>(s30, s31, s32, s33));
            // A row with no key left (all −∞): shift by 0 instead (its e are cleared below) and scale by 0.
            Vector128<float> empty = Vector128.Equals(max, Vector128.Create(float.NegativeInfinity));
            max = Vector128.AndNot(max, empty);
            TV e00 = Exp<TS, TV>(s00, max.GetElement(0), biased), e01 = nv > 1 ? Exp<TS, TV>(s01, max.GetElement(0), biased) : TS.Zero;
            TV e02 = nv > 2 ? Exp<TS, TV>(s02, max.GetElement(0), biased) : TS.Zero, e03 = nv > 3 ? Exp<TS, TV>(s03, max.GetElement(0), biased) : TS.Zero;
            TV e10 = Exp<TS, TV>(s10, max.GetElement(1), biased), e11 = nv > 1 ? Exp<TS, TV>(s11, max.GetElement(1), biased) : TS.Zero;
            TV e12 = nv > 2 ? Exp<TS, TV>(s12, max.GetElement(1), biased) : TS.Zero, e13 = nv > 3 ? Exp<TS, TV>(s13, max.GetElement(1), biased) : TS.Zero;
            TV e20 = Exp<TS, TV>(s20, max.GetElement(2), biased), e21 = nv > 1 ? Exp<TS, TV>(s21, max.GetElement(2), biased) : TS.Zero;
            TV e22 = nv > 2 ? Exp<TS, TV>(s22, max.GetElement(2), biased) : TS.Zero, e23 = nv > 3 ? Exp<TS, TV>(s23, max.GetElement(2), biased) : TS.Zero;
            TV e30 = Exp<TS, TV>(s30, max.GetElement(3), biased), e31 = nv > 1 ? Exp<TS, TV>(s31, max.GetElement(3), biased) : TS.Zero;
            TV e32 = nv > 2 ? Exp<TS, TV>(s32, max.GetElement(3), biased) : TS.Zero, e33 = nv > 3 ? Exp<TS, TV>(s33, max.GetElement(3), biased) : TS.Zero;
            Vector128<float> sum = TS.Sum4(RowSum<TS, TV, TN>(e00, e01, e02, e03), RowSum<TS, TV, TN>(e10, e11, e12, e13),
                RowSum<TS, TV, TN>(e20, e21, e22, e23), RowSum<TS, TV, TN>(e30, e31, e32, e33));
            Vector128<float> inv = Vector128.AndNot(Vector128<float>.One / sum, empty);
            StoreRow<TS, TV, TN>(o0, tk, inv.GetElement(0), e00, e01, e02, e03, end && rb == 1);
            if (rb > 1) StoreRow<TS, TV, TN>(o0 + tk, tk, inv.GetElement(1), e10, e11, e12, e13, end && rb == 2);
            if (rb > 2) StoreRow<TS, TV, TN>(o0 + 2 * tk, tk, inv.GetElement(2), e20, e21, e22, e23, end && rb == 3);
            if (rb > 3) StoreRow<TS, TV, TN>(o0 + 3 * tk, tk, inv.GetElement(3), e30, e31, e32, e33, end);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Biased<TS, TV>(TV acc, TV scale, TV bias, bool biased) where TS : struct, ISimd<TV> where TV : unmanaged
        => biased ? TS.Add(TS.Mul(acc, scale), bias) : TS.Mul(acc, scale);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV RowMax<TS, TV, TN>(TV s0, TV s1, TV s2, TV s3) where TS : struct, ISimd<TV> where TV : unmanaged where TN : struct, IGemmConst
    {
        TV m = s0;
        if (TN.Value > 1) m = TS.Max(m, s1);
        if (TN.Value > 2) m = TS.Max(m, s2);
        if (TN.Value > 3) m = TS.Max(m, s3);
        return m;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV RowSum<TS, TV, TN>(TV e0, TV e1, TV e2, TV e3) where TS : struct, ISimd<TV> where TV : unmanaged where TN : struct, IGemmConst
    {
        TV sum = e0;
        if (TN.Value > 1) sum = TS.Add(sum, e1);
        if (TN.Value > 2) sum = TS.Add(sum, e2);
        if (TN.Value > 3) sum = TS.Add(sum, e3);
        return sum;
    }

    /// <summary>e^(s − max), exactly 0 where s is −∞ (a masked key or padding) when <paramref name="biased"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Exp<TS, TV>(TV s, float max, bool biased) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        TV e = VectorMath.ExpNonPositive<TS, TV>(TS.Sub(s, TS.Splat(max)));
        return biased ? TS.ClearWhereNegativeInfinity(e, s) : e;
    }

    /// <summary>Stores a row's e·inv; its last vector only up to Tk when <paramref name="exact"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRow<TS, TV, TN>(float* o, int tk, float inv, TV e0, TV e1, TV e2, TV e3, bool exact)
        where TS : struct, ISimd<TV> where TV : unmanaged where TN : struct, IGemmConst
    {
        int w = TS.Count, nv = TN.Value;
        TV vi = TS.Splat(inv);
        if (nv > 1) TS.Store(o, TS.Mul(e0, vi));
        if (nv > 2) TS.Store(o + w, TS.Mul(e1, vi));
        if (nv > 3) TS.Store(o + 2 * w, TS.Mul(e2, vi));
        TV lastVector = TS.Mul(nv == 1 ? e0 : nv == 2 ? e1 : nv == 3 ? e2 : e3, vi);
        float* at = o + (nv - 1) * w;
        if (!exact || nv * w == tk) TS.Store(at, lastVector);
        else
            for (int j = 0; j < tk - (nv - 1) * w; j++) at[j] = TS.Lane(lastVector, j);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutScore<TS, TV>(float* o, float* p, int j, TV acc, TV scale, TV delta, bool backward)
        where TS : struct, ISimd<TV> where TV : unmanaged
    {
        if (!backward) TS.Store(o + j, TS.Mul(acc, scale));
        else TS.Store(o + j, TS.Mul(TS.Load(p + j), TS.Sub(acc, delta)));
    }

    /// <summary>Each row of p [rows, Tk] (scores of query i) becomes softmax over the keys it sees: the bias (0 or −∞
    /// per key) added, keys j &gt; i zeroed when causal, and a row with no key left all zeros.</summary>
    private static void Softmax<TS, TV>(float* p, int rows, int tk, bool causal, float* bias) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        int w = TS.Count;
        TV zero = TS.Zero;
        for (int i = 0; i < rows; i++, p += tk)
        {
            int len = causal ? Math.Min(i + 1, tk) : tk, j = 0;
            TV vmax = TS.Splat(float.NegativeInfinity);
            if (bias != null)
                for (; j + w <= len; j += w)
                {
                    TV t = TS.Add(TS.Load(p + j), TS.Load(bias + j));
                    TS.Store(p + j, t);
                    vmax = TS.Max(vmax, t);
                }
            else
                for (; j + w <= len; j += w) vmax = TS.Max(vmax, TS.Load(p + j));
            float max = TS.MaxAcross(vmax);
            for (; j < len; j++)
            {
                if (bias != null) p[j] += bias[j];
                max = MathF.Max(max, p[j]);
            }
            if (max == float.NegativeInfinity)
            {
                for (j = 0; j + w <= tk; j += w) TS.Store(p + j, zero);
                for (; j < tk; j++) p[j] = 0f;
                continue;
            }

            TV vm = TS.Splat(max), vsum = zero;
            for (j = 0; j + w <= len; j += w)
            {
                TV t = TS.Load(p + j), e = VectorMath.ExpNonPositive<TS, TV>(TS.Sub(t, vm));
                // A masked key (−∞) must give exactly 0, below the vector exp's clamp.
                if (bias != null) e = TS.ClearWhereNegativeInfinity(e, t);
                TS.Store(p + j, e);
                vsum = TS.Add(vsum, e);
            }
            // The row's last len mod w keys: one more vector when it fits in the row, its lanes past len (keys the row
            // does not see, causal) set to 0, else one by one (MathF.Exp costs as much as a vector).
            int end = j;
            if (j < len && j + w <= tk)
            {
                TV t = TS.Load(p + j), e = TS.ZeroFrom(VectorMath.ExpNonPositive<TS, TV>(TS.Sub(t, vm)), len - j);
                if (bias != null) e = TS.ClearWhereNegativeInfinity(e, t);
                TS.Store(p + j, e);
                vsum = TS.Add(vsum, e);
                end = j += w;
            }
            float sum = TS.SumAcross(vsum);
            for (; j < len; j++)
            {
                float e = MathF.Exp(p[j] - max);
                p[j] = e;
                sum += e;
            }

            float inv = 1f / sum;
            TV vinv = TS.Splat(inv);
            for (j = 0; j < end; j += w) TS.Store(p + j, TS.Mul(TS.Load(p + j), vinv));
            for (; j < len; j++) p[j] *= inv;
            // Zeros for the keys past len (causal).
            for (; j + w <= tk; j += w) TS.Store(p + j, zero);
            for (; j < tk; j++) p[j] = 0f;
        }
    }

    /// <summary>
    /// o[r, :d] (+)= alpha·Σ_k a[r·aRow + k·aK]·b[k·ldb + :d] for r &lt; <paramref name="rows"/>, k &lt; <paramref name="kLen"/>
    /// (restricted by <paramref name="band"/>). Tiles of 4 rows × 2 vectors of columns, or 4 rows × 1 vector with the
    /// keys split in even and odd (8 independent sums either way); the last d mod width columns one by one.
    /// </summary>
    private static void Combine<TS, TV>(float* a, nint aRow, nint aK, int rows, int kLen, Band band, float* b, nint ldb, int d,
        float* o, nint ldo, float alpha, bool accumulate) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        int w = TS.Count, whole = d - d % w;
        TV va = TS.Splat(alpha);
        for (int r0 = 0; r0 < rows; r0 += 4)
        {
            int rb = Math.Min(4, rows - r0);
            int k0 = band == Band.Suffix ? Math.Min(r0, kLen) : 0;
            int k1 = band == Band.Prefix ? Math.Min(kLen, r0 + rb) : kLen;
            nint a1 = (rb > 1 ? 1 : 0) * aRow, a2 = (rb > 2 ? 2 : rb - 1) * aRow, a3 = (rb - 1) * aRow;
            float* ar = a + r0 * aRow + k0 * aK, br = b + k0 * ldb, o0 = o + r0 * ldo;
            int c = 0;
            for (; c + 2 * w <= whole; c += 2 * w)
            {
                TV s00 = TS.Zero, s01 = TS.Zero, s10 = TS.Zero, s11 = TS.Zero, s20 = TS.Zero, s21 = TS.Zero, s30 = TS.Zero, s31 = TS.Zero;
                float* ak = ar, bk = br + c;
                for (int kk = k0; kk < k1; kk++, ak += aK, bk += ldb)
                {
                    TV b0 = TS.Load(bk), b1 = TS.Load(bk + w);
                    TV x = TS.Splat(ak[0]);
                    s00 = TS.Fma(x, b0, s00); s01 = TS.Fma(x, b1, s01);
                    x = TS.Splat(ak[a1]);
                    s10 = TS.Fma(x, b0, s10); s11 = TS.Fma(x, b1, s11);
                    x = TS.Splat(ak[a2]);
                    s20 = TS.Fma(x, b0, s20); s21 = TS.Fma(x, b1, s21);
                    x = TS.Splat(ak[a3]);
                    s30 = TS.Fma(x, b0, s30); s31 = TS.Fma(x, b1, s31);
                }
                Put<TS, TV>(o0 + c, s00, va, accumulate); Put<TS, TV>(o0 + c + w, s01, va, accumulate);
                if (rb > 1) { Put<TS, TV>(o0 + ldo + c, s10, va, accumulate); Put<TS, TV>(o0 + ldo + c + w, s11, va, accumulate); }
                if (rb > 2) { Put<TS, TV>(o0 + 2 * ldo + c, s20, va, accumulate); Put<TS, TV>(o0 + 2 * ldo + c + w, s21, va, accumulate); }
                if (rb > 3) { Put<TS, TV>(o0 + 3 * ldo + c, s30, va, accumulate); Put<TS, TV>(o0 + 3 * ldo + c + w, s31, va, accumulate); }
            }
            for (; c < whole; c += w)
            {
                TV s0 = TS.Zero, s1 = TS.Zero, s2 = TS.Zero, s3 = TS.Zero, e0 = TS.Zero, e1 = TS.Zero, e2 = TS.Zero, e3 = TS.Zero;
                float* ak = ar, bk = br + c;
                int kk = k0;
                for (; kk + 1 < k1; kk += 2, ak += 2 * aK, bk += 2 * ldb)
                {
                    TV b0 = TS.Load(bk), b1 = TS.Load(bk + ldb);
                    s0 = TS.Fma(TS.Splat(ak[0]), b0, s0);
                    s1 = TS.Fma(TS.Splat(ak[a1]), b0, s1);
                    s2 = TS.Fma(TS.Splat(ak[a2]), b0, s2);
                    s3 = TS.Fma(TS.Splat(ak[a3]), b0, s3);
                    e0 = TS.Fma(TS.Splat(ak[aK]), b1, e0);
                    e1 = TS.Fma(TS.Splat(ak[aK + a1]), b1, e1);
                    e2 = TS.Fma(TS.Splat(ak[aK + a2]), b1, e2);
                    e3 = TS.Fma(TS.Splat(ak[aK + a3]), b1, e3);
                }
                if (kk < k1)
                {
                    TV b0 = TS.Load(bk);
                    s0 = TS.Fma(TS.Splat(ak[0]), b0, s0);
                    s1 = TS.Fma(TS.Splat(ak[a1]), b0, s1);
                    s2 = TS.Fma(TS.Splat(ak[a2]), b0, s2);
                    s3 = TS.Fma(TS.Splat(ak[a3]), b0, s3);
                }
                Put<TS, TV>(o0 + c, TS.Add(s0, e0), va, accumulate);
                if (rb > 1) Put<TS, TV>(o0 + ldo + c, TS.Add(s1, e1), va, accumulate);
                if (rb > 2) Put<TS, TV>(o0 + 2 * ldo + c, TS.Add(s2, e2), va, accumulate);
                if (rb > 3) Put<TS, TV>(o0 + 3 * ldo + c, TS.Add(s3, e3), va, accumulate);
            }
            for (; c < d; c++)
                for (int r = 0; r < rb; r++)
                {
                    float sum = 0f;
                    float* ak = ar + r * aRow, bk = br + c;
                    for (int kk = k0; kk < k1; kk++, ak += aK, bk += ldb) sum += *ak * *bk;
                    float* at = o0 + r * ldo + c;
                    *at = accumulate ? *at + alpha * sum : alpha * sum;
                }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put<TS, TV>(float* o, TV acc, TV alpha, bool accumulate) where TS : struct, ISimd<TV> where TV : unmanaged
        => TS.Store(o, accumulate ? TS.Fma(acc, alpha, TS.Load(o)) : TS.Mul(acc, alpha));

    private static float Dot<TS, TV>(float* a, float* b, int n) where TS : struct, ISimd<TV> where TV : unmanaged
    {
        int w = TS.Count, i = 0;
        TV acc = TS.Zero;
        for (; i + w <= n; i += w) acc = TS.Fma(TS.Load(a + i), TS.Load(b + i), acc);
        float sum = TS.SumAcross(acc);
        for (; i < n; i++) sum += a[i] * b[i];
        return sum;
    }

    /// <summary>dst[c·ldd + r] = src[r·lds + c] for r &lt; rows, c &lt; cols: dst is [cols, rows] with rows ldd ≥ rows apart.</summary>
    private static void Transpose(float* src, nint lds, int rows, int cols, float* dst, int ldd)
    {
        int r = 0, whole = cols - cols % 8;
        if (Avx.IsSupported && whole > 0)
            for (; r + 8 <= rows; r += 8)
                for (int c = 0; c < whole; c += 8)
                    GemmPacking.Transpose8x8(src + r * lds + c, lds, dst + (nint)c * ldd + r, ldd);
        // What the 8×8 tiles left: the last rows mod 8 (all columns), and the last columns mod 8 of the other rows.
        for (int rr = 0; rr < rows; rr++)
            for (int c = rr < r ? whole : 0; c < cols; c++) dst[(nint)c * ldd + rr] = src[rr * lds + c];
    }
}
