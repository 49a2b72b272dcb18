using System.Numerics;

namespace Dl.Kernels;

/// <summary>
/// Multi-head attention written out element by element, generic over the precision: the oracle the float kernel
/// <see cref="Attention"/> is tested against (in double) and the double path of the dynamic tape. The same arguments and
/// layout as <see cref="Attention"/>, no <see cref="GemmContext"/>.
/// </summary>
/// <remarks>
/// Per sample, head h and query i, over the keys j the query may see (not masked; j ≤ i when causal):
/// s_ij = scale·(q_i · k_j) with scale = 1/√d_k or 1; P_ij = e^(s_ij − m_i) / Σ_j' e^(s_ij' − m_i) with m_i = max_j s_ij
/// (P_ij = 0 for the other keys; a query that sees no key gets P_i = 0); y_i = Σ_j P_ij v_j.
/// Backward: dP_ij = dy_i · v_j, dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij'), dq_i = scale·Σ_j dS_ij k_j,
/// dk_j = scale·Σ_i dS_ij q_i, dv_j = Σ_i P_ij dy_i. Unlike the float kernel, the row sum Σ_j P_ij dP_ij is taken as
/// written, not as dy_i · y_i, so the two are independent derivations.
/// </remarks>
public static class AttentionReference
{
    /// <summary>Forward (see <see cref="Attention.Forward"/> for the arguments). <paramref name="scratch"/> is checked but
    /// not used.</summary>
    /// <exception cref="ArgumentException">A span's length does not match the shape (the message names it).</exception>
    public static void Forward<T>(in AttentionShape s, int batch, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v,
        ReadOnlySpan<T> keyMask, Span<T> y, Span<T> probs, Span<T> scratch) where T : IFloatingPointIeee754<T>
    {
        s.CheckForward("AttentionReference.Forward", batch, q.Length, k.Length, v.Length, keyMask.Length, y.Length, probs.Length, scratch.Length);
        int heads = s.Heads, tq = s.QueryLength, tk = s.KeyLength, dk = s.HeadSize, dv = s.ValueHeadSize;
        T scale = Scale<T>(s);
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < tq; i++)
                {
                    Span<T> p = probs.Slice(((b * heads + h) * tq + i) * tk, tk);
                    int qi = b * s.QueryPerSample + i * s.QueryStride + s.QueryOffset + h * dk;
                    T max = T.NegativeInfinity;
                    for (int j = 0; j < tk; j++)
                    {
                        if (!Sees(s, keyMask, b, i, j)) continue;
                        int kj = b * s.KeyPerSample + j * s.KeyStride + s.KeyOffset + h * dk;
                        T dot = T.Zero;
                        for (int c = 0; c < dk; c++) dot += q[qi + c] * k[kj + c];
                        p[j] = scale * dot;
                        max = T.Max(max, p[j]);
                    }
                    T sum = T.Zero;
                    for (int j = 0; j < tk; j++)
                    {
                        p[j] = Sees(s, keyMask, b, i, j) ? T.Exp(p[j] - max) : T.Zero;
                        sum += p[j];
                    }
                    // No key left: sum = 0 and P stays 0, so y_i = 0.
                    if (sum > T.Zero)
                        for (int j = 0; j < tk; j++) p[j] /= sum;
                    for (int c = 0; c < dv; c++)
                    {
                        T acc = T.Zero;
                        for (int j = 0; j < tk; j++) acc += p[j] * v[b * s.ValuePerSample + j * s.ValueStride + s.ValueOffset + h * dv + c];
                        y[OutputIndex(s, b, i, h) + c] = acc;
                    }
                }
    }

    /// <summary>Backward (see <see cref="Attention.Backward"/> for the arguments and the flags). Needs only P from
    /// <paramref name="probs"/>; <paramref name="y"/>, <paramref name="keyMask"/> and <paramref name="scratch"/> are
    /// checked but not used. Because this oracle clears its columns first and then adds every contribution, dq, dk and dv
    /// may even overlap (the same columns: their sum is written).</summary>
    /// <exception cref="ArgumentException">A span's length does not match the shape (the message names it).</exception>
    public static void Backward<T>(in AttentionShape s, int batch, ReadOnlySpan<T> q, ReadOnlySpan<T> k, ReadOnlySpan<T> v,
        ReadOnlySpan<T> keyMask, ReadOnlySpan<T> y, ReadOnlySpan<T> probs, ReadOnlySpan<T> dy,
        Span<T> dq, Span<T> dk, Span<T> dv, bool accumulate, Span<T> scratch) where T : IFloatingPointIeee754<T>
    {
        s.CheckBackward("AttentionReference.Backward", batch, q.Length, k.Length, v.Length, keyMask.Length, y.Length, probs.Length,
            dy.Length, dq.Length, dk.Length, dv.Length, scratch.Length);
        int heads = s.Heads, tq = s.QueryLength, tk = s.KeyLength, hk = s.HeadSize, hv = s.ValueHeadSize;
        T scale = Scale<T>(s);
        if (!accumulate)
            for (int b = 0; b < batch; b++)
            {
                // Only this layout's own columns: the three may share one buffer.
                if (!dq.IsEmpty) ClearColumns(dq, b * s.QueryPerSample, tq, s.QueryStride, s.QueryOffset, heads * hk);
                if (!dk.IsEmpty) ClearColumns(dk, b * s.KeyPerSample, tk, s.KeyStride, s.KeyOffset, heads * hk);
                if (!dv.IsEmpty) ClearColumns(dv, b * s.ValuePerSample, tk, s.ValueStride, s.ValueOffset, heads * hv);
            }
        for (int b = 0; b < batch; b++)
            for (int h = 0; h < heads; h++)
                for (int i = 0; i < tq; i++)
                {
                    ReadOnlySpan<T> p = probs.Slice(((b * heads + h) * tq + i) * tk, tk);
                    ReadOnlySpan<T> dyi = dy.Slice(OutputIndex(s, b, i, h), hv);
                    int qi = b * s.QueryPerSample + i * s.QueryStride + s.QueryOffset + h * hk;
                    T rowSum = T.Zero;
                    for (int j = 0; j < tk; j++) rowSum += p[j] * DyDotV(s, v, dyi, b, h, j);
                    for (int j = 0; j < tk; j++)
                    {
                        if (p[j] == T.Zero) continue;   // masked, causal or underflowed: no contribution
                        int kj = b * s.KeyPerSample + j * s.KeyStride + s.KeyOffset + h * hk;
                        int vj = b * s.ValuePerSample + j * s.ValueStride + s.ValueOffset + h * hv;
                        T ds = p[j] * (DyDotV(s, v, dyi, b, h, j) - rowSum) * scale;
                        if (!dq.IsEmpty) for (int c = 0; c < hk; c++) dq[qi + c] += ds * k[kj + c];
                        if (!dk.IsEmpty) for (int c = 0; c < hk; c++) dk[kj + c] += ds * q[qi + c];
                        if (!dv.IsEmpty) for (int c = 0; c < hv; c++) dv[vj + c] += p[j] * dyi[c];
                    }
                }
    }

    private static T Scale<T>(in AttentionShape s) where T : IFloatingPointIeee754<T>
        => s.Scaled ? T.One / T.Sqrt(T.CreateChecked(s.HeadSize)) : T.One;

    /// <summary>Whether query i of sample b may attend to key j: not excluded by the mask, and j ≤ i when causal.</summary>
    private static bool Sees<T>(in AttentionShape s, ReadOnlySpan<T> keyMask, int b, int i, int j) where T : IFloatingPointIeee754<T>
        => (!s.Causal || j <= i) && (keyMask.IsEmpty || keyMask[b * s.KeyLength + j] != T.Zero);

    private static int OutputIndex(in AttentionShape s, int b, int i, int h)
        => b * s.OutputPerSample + i * s.Heads * s.ValueHeadSize + h * s.ValueHeadSize;

    private static T DyDotV<T>(in AttentionShape s, ReadOnlySpan<T> v, ReadOnlySpan<T> dyi, int b, int h, int j) where T : IFloatingPointIeee754<T>
    {
        int vj = b * s.ValuePerSample + j * s.ValueStride + s.ValueOffset + h * s.ValueHeadSize;
        T dot = T.Zero;
        for (int c = 0; c < dyi.Length; c++) dot += dyi[c] * v[vj + c];
        return dot;
    }

    private static void ClearColumns<T>(Span<T> span, int start, int rows, int stride, int offset, int width) where T : IFloatingPointIeee754<T>
    {
        for (int r = 0; r < rows; r++) span.Slice(start + r * stride + offset, width).Clear();
    }
}
