// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md). The
// generator picks a convolution's kernels with it at build time, the dynamic tape at run time, so both engines run the
// same float kernels for a shape.
namespace Dl.Kernels;

/// <summary>Which convolution kernels a shape runs: the direct kernels (a padded copy of each sample, 8 output channels
/// x 3 vectors of columns in registers) beat im2col + GEMM at stride 1 on rows of at least 8 outputs with a real spatial
/// kernel and up to 320 multiply-adds per output (measured on this repository's shapes:
/// benchmarks/results/2026-11-21-conv-kernels.md); 1x1, strided, narrow and very deep convolutions go through im2col
/// and the packed GEMM.</summary>
public static class ConvAlgorithm
{
    /// <summary>Most multiply-adds per output (Channels·KernelH·KernelW) for which the direct kernels win.</summary>
    public const int DirectMaxColRows = 320;

    /// <summary>Whether the forward pass and the weight gradient use the direct kernels.</summary>
    public static bool Direct(int strideH, int strideW, int outW, int kernelH, int kernelW, int colRows) =>
        strideH == 1 && strideW == 1 && outW >= 8 && kernelH * kernelW > 1 && colRows <= DirectMaxColRows;

    /// <summary>Whether the data gradient uses the direct kernel (on dy, with the flipped weights): with fewer than 3
    /// input channels or rows narrower than 8 it wastes most vector lanes, and im2col's GEMM + fold wins.</summary>
    public static bool DirectData(int strideH, int strideW, int outW, int kernelH, int kernelW, int colRows, int channels, int width) =>
        Direct(strideH, strideW, outW, kernelH, kernelW, colRows) && channels >= 3 && width >= 8;
}
