// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md). The
// generator checks an attention call's heads and sizes its workspaces with these rules at build time (a DL0012 at the
// call); the tape checks the same heads rule and the kernels (Dl.Kernels.AttentionShape) the same sizes at run time.
namespace Dl.Kernels;

/// <summary>The rules of attention: how many heads a width splits into, and the per-sample and fixed workspaces of the
/// kernels (the attention weights P, the scratch).</summary>
public static class AttentionContract
{
    /// <summary>Scaled dot-product attention over queries and keys of width h·d_k and values of width h·d_v: null when
    /// <paramref name="heads"/> is at least 1 and divides both widths, else why not.</summary>
    public static string? Heads(int heads, int width, int valueWidth) =>
        heads < 1 ? $"heads must be >= 1, got {heads}"
        : width % heads != 0 ? $"{heads} heads do not divide the query and key width {width} (= h·d_k)"
        : valueWidth % heads != 0 ? $"{heads} heads do not divide the value width {valueWidth} (= h·d_v)"
        : null;

    /// <summary>Multi-head attention (nn.MultiheadAttention) of model width D: null when <paramref name="heads"/> is at
    /// least 1 and divides D, else why not.</summary>
    public static string? ModelHeads(int heads, int d) =>
        heads < 1 ? $"heads must be >= 1, got {heads}"
        : d % heads != 0 ? $"{heads} heads do not divide the model width D = {d}"
        : null;

    /// <summary>The name of multi-head attention's parameter <paramref name="index"/>, as nn.MultiheadAttention's state
    /// dict: 0 {layer}.in_proj_weight [3D, D], 1 in_proj_bias [3D], 2 out_proj.weight [D, D], 3 out_proj.bias [D].</summary>
    public static string ParameterName(string layer, int index) =>
        layer + (index == 0 ? ".in_proj_weight" : index == 1 ? ".in_proj_bias" : index == 2 ? ".out_proj.weight" : ".out_proj.bias");

    /// <summary>Where multi-head attention of width D reads q, k and v in its fused input projections (row strides and
    /// column offsets): self-attention all three in one [T, 3D] product (columns 0, D, 2D); cross-attention q in its own
    /// [Tq, D] product, k and v in one [Tk, 2D] product of the memory (columns 0 and D).</summary>
    public static (int QStride, int QOffset, int KStride, int KOffset, int VStride, int VOffset) ProjectionLayout(int d, bool self) =>
        self ? (3 * d, 0, 3 * d, d, 3 * d, 2 * d) : (d, 0, 2 * d, 0, 2 * d, d);

    /// <summary>Floats per sample of the attention weights P [heads, Tq, Tk] that Forward saves for Backward.</summary>
    public static long ProbsPerSample(int heads, int queryLength, int keyLength) => (long)heads * queryLength * keyLength;

    /// <summary>Floats of the fixed scratch (once, not per sample) Forward and Backward take:
    /// (Tq + 2·Tk)·(d_k + d_v) + 2·Tq·Tk.</summary>
    public static long ScratchLength(int queryLength, int keyLength, int headSize, int valueHeadSize)
    {
        long tq = queryLength, tk = keyLength;
        return (tq + 2 * tk) * ((long)headSize + valueHeadSize) + 2 * tq * tk;
    }
}
