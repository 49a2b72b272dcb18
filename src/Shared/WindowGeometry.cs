// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md). The
// generator checks a convolution's or pooling's constant geometry with it at build time (DL0013 at the call) and sizes
// its buffers with its output-size formula; Dl.Kernels.Window2d (the kernels' geometry) and the tape use the same rules
// at run time, so a model that builds never fails the run-time check, and both engines agree on every output shape.
namespace Dl.Kernels;

/// <summary>The geometry rules of a 2-D window op (convolution or pooling) on one sample [Channels, Height, Width]:
/// PyTorch's output size, the padding modes, and what a valid window is.</summary>
public static class WindowGeometry
{
    /// <summary>Outputs along one axis: floor((size + padBefore + padAfter - kernel) / stride) + 1 (PyTorch; floor, not
    /// truncation, so a kernel larger than the padded input gives 0 or less).</summary>
    public static int OutSize(int size, int padBefore, int padAfter, int kernel, int stride)
    {
        int span = size + padBefore + padAfter - kernel;
        return (span >= 0 ? span / stride : -((-span + stride - 1) / stride)) + 1;
    }

    /// <summary>The cells per side of a padding <paramref name="mode"/> for a kernel of <paramref name="kernelH"/> x
    /// <paramref name="kernelW"/>: 'same' k - 1 per dimension, the smaller half before; 'full' k - 1 on every side;
    /// explicit the given cells.</summary>
    public static (int Top, int Bottom, int Left, int Right) Resolve(PadMode mode, int kernelH, int kernelW, int top, int bottom, int left, int right) =>
        mode switch
        {
            PadMode.Same => ((kernelH - 1) / 2, kernelH - 1 - (kernelH - 1) / 2, (kernelW - 1) / 2, kernelW - 1 - (kernelW - 1) / 2),
            PadMode.Full => (kernelH - 1, kernelH - 1, kernelW - 1, kernelW - 1),
            _ => (top, bottom, left, right),
        };

    /// <summary>'same' padding keeps the size only at stride 1: null when the mode fits the stride, else why not.</summary>
    public static string? ModeFitsStride(PadMode mode, int strideH, int strideW) =>
        mode == PadMode.Same && (strideH != 1 || strideW != 1) ? $"'same' padding needs stride 1, got ({strideH}, {strideW})" : null;

    /// <summary>Checks a resolved window, in this order: every input size, kernel and stride at least 1, padding
    /// non-negative, (pooling) padding at most half the kernel, padding smaller than the kernel on each side, an output of
    /// at least 1 x 1, and per-sample buffers (the input, the im2col matrix) within int.MaxValue elements. Returns null when
    /// the window is valid, else what is wrong with the formula's values (one clause, no final period).</summary>
    public static string? Check(int channels, int height, int width, int kernelH, int kernelW, int strideH, int strideW,
        int top, int bottom, int left, int right, bool pooling)
    {
        if (channels < 1 || height < 1 || width < 1)
            return $"the input [C, H, W] = [{channels}, {height}, {width}] must have every size at least 1";
        if (kernelH < 1 || kernelW < 1) return $"the kernel must be at least 1 x 1, got {kernelH} x {kernelW}";
        if (strideH < 1 || strideW < 1) return $"the stride must be at least 1 per dimension, got ({strideH}, {strideW})";
        if (top < 0 || bottom < 0 || left < 0 || right < 0) return $"padding must not be negative, got ({top}, {bottom}, {left}, {right})";
        if (pooling && (2L * System.Math.Max(top, bottom) > kernelH || 2L * System.Math.Max(left, right) > kernelW))
            return $"pooling padding ({top}, {bottom}, {left}, {right}) must be at most half the kernel {kernelH} x {kernelW} (a window would see only padding)";
        // A window lying entirely in the padding would read no input (and the direct kernels rely on every padded row and
        // column being reachable from some window).
        if (top >= kernelH || bottom >= kernelH || left >= kernelW || right >= kernelW)
            return $"padding ({top}, {bottom}, {left}, {right}) must be smaller than the kernel {kernelH} x {kernelW} on each side";
        long outH = (height + (long)top + bottom - kernelH) / strideH + 1, outW = (width + (long)left + right - kernelW) / strideW + 1;
        if (height + (long)top + bottom < kernelH)
            return $"output height = floor((H + top + bottom - k) / s) + 1 = floor(({height} + {top} + {bottom} - {kernelH}) / {strideH}) + 1 = " +
                $"{OutSize(height, top, bottom, kernelH, strideH)}; the kernel does not fit the padded input (it must be at least 1)";
        if (width + (long)left + right < kernelW)
            return $"output width = floor((W + left + right - k) / s) + 1 = floor(({width} + {left} + {right} - {kernelW}) / {strideW}) + 1 = " +
                $"{OutSize(width, left, right, kernelW, strideW)}; the kernel does not fit the padded input (it must be at least 1)";
        if ((long)channels * height * width > int.MaxValue || (long)channels * kernelH * kernelW * outH * outW > int.MaxValue
            || height + (long)top + bottom > int.MaxValue || width + (long)left + right > int.MaxValue)
            return $"the window (input [{channels}, {height}, {width}], kernel {kernelH} x {kernelW}, output {outH} x {outW}) is too large: " +
                "a per-sample buffer would exceed int.MaxValue elements";
        return null;
    }

    /// <summary>Output size of a transposed convolution along one axis: (size - 1)·stride - 2·padding + kernel +
    /// outputPadding (PyTorch's nn.ConvTranspose2d without dilation), in 64 bits.</summary>
    public static long TransposedOutSize(int size, int kernel, int stride, int padding, int outputPadding) =>
        (size - 1L) * stride - 2L * padding + kernel + outputPadding;

    /// <summary>Checks a transposed convolution of an input [channels, height, width] to <paramref name="outChannels"/>
    /// channels, in this order: every size, kernel and stride at least 1, padding non-negative and smaller than the kernel,
    /// output padding non-negative and smaller than the stride (PyTorch's rule), an output of at least 1 x 1, and the
    /// adjoint convolution (input [outChannels, OutH, OutW], the window run by the Conv2d kernels) valid by
    /// <see cref="Check"/>. Returns null when valid, else what is wrong (one clause, no final period).</summary>
    public static string? CheckTransposed(int channels, int height, int width, int outChannels, int kernelH, int kernelW, int strideH, int strideW,
        int padH, int padW, int outPadH, int outPadW)
    {
        if (channels < 1 || height < 1 || width < 1)
            return $"the input [C, H, W] = [{channels}, {height}, {width}] must have every size at least 1";
        if (kernelH < 1 || kernelW < 1) return $"the kernel must be at least 1 x 1, got {kernelH} x {kernelW}";
        if (strideH < 1 || strideW < 1) return $"the stride must be at least 1 per dimension, got ({strideH}, {strideW})";
        if (padH < 0 || padW < 0) return $"padding must not be negative, got ({padH}, {padW})";
        if (padH >= kernelH || padW >= kernelW) return $"padding ({padH}, {padW}) must be smaller than the kernel {kernelH} x {kernelW}";
        if (outPadH < 0 || outPadW < 0 || outPadH >= strideH || outPadW >= strideW)
            return $"output padding ({outPadH}, {outPadW}) must be non-negative and smaller than the stride ({strideH}, {strideW})";
        long outH = TransposedOutSize(height, kernelH, strideH, padH, outPadH), outW = TransposedOutSize(width, kernelW, strideW, padW, outPadW);
        if (outH < 1)
            return $"output height = (H - 1)·s - 2·p + k + output_padding = ({height} - 1)·{strideH} - 2·{padH} + {kernelH} + {outPadH} = {outH}; it must be at least 1";
        if (outW < 1)
            return $"output width = (W - 1)·s - 2·p + k + output_padding = ({width} - 1)·{strideW} - 2·{padW} + {kernelW} + {outPadW} = {outW}; it must be at least 1";
        if (outH > int.MaxValue || outW > int.MaxValue || (long)channels * height * width > int.MaxValue)
            return $"the output {outH} x {outW} is too large: a per-sample buffer would exceed int.MaxValue elements";
        return Check(outChannels, (int)outH, (int)outW, kernelH, kernelW, strideH, strideW, padH, padH, padW, padW, pooling: false);
    }
}
