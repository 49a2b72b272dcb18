namespace Dl.Kernels;

/// <summary>Geometry of a 2-D window op (convolution or pooling) on one sample [Channels, Height, Width].</summary>
/// <remarks>
/// Output size per axis is floor((n + padBefore + padAfter - k) / s) + 1 (PyTorch). A convolution reads
/// <see cref="ColRows"/> = Channels·KernelH·KernelW inputs per output position, which is also the row count of its
/// im2col matrix [ColRows, OutPlane]. A 1-D op is the 2-D op with Height = 1, KernelH = 1 and no vertical padding.
/// </remarks>
/// <param name="Channels">Input channels (C of the [C, H, W] sample).</param>
/// <param name="Height">Input height.</param>
/// <param name="Width">Input width.</param>
/// <param name="KernelH">Window height.</param>
/// <param name="KernelW">Window width.</param>
/// <param name="StrideH">Vertical step between windows.</param>
/// <param name="StrideW">Horizontal step between windows.</param>
/// <param name="PadTop">Implicit rows before the first input row.</param>
/// <param name="PadBottom">Implicit rows after the last input row.</param>
/// <param name="PadLeft">Implicit columns before the first input column.</param>
/// <param name="PadRight">Implicit columns after the last input column.</param>
public readonly record struct Window2d(int Channels, int Height, int Width, int KernelH, int KernelW,
    int StrideH, int StrideW, int PadTop, int PadBottom, int PadLeft, int PadRight)
{
    /// <summary>Output height: floor((Height + PadTop + PadBottom - KernelH) / StrideH) + 1.</summary>
    public int OutH => (Height + PadTop + PadBottom - KernelH) / StrideH + 1;

    /// <summary>Output width: floor((Width + PadLeft + PadRight - KernelW) / StrideW) + 1.</summary>
    public int OutW => (Width + PadLeft + PadRight - KernelW) / StrideW + 1;

    /// <summary>Input floats per sample: Channels·Height·Width.</summary>
    public int InSize => Channels * Height * Width;

    /// <summary>Rows of the im2col matrix: Channels·KernelH·KernelW.</summary>
    public int ColRows => Channels * KernelH * KernelW;

    /// <summary>Output positions per channel: OutH·OutW.</summary>
    public int OutPlane => OutH * OutW;

    /// <summary>A square window with the same stride and padding on both axes.</summary>
    public static Window2d Square(int channels, int height, int width, int kernel, int stride = 1, int pad = 0)
        => new(channels, height, width, kernel, kernel, stride, stride, pad, pad, pad, pad);

    /// <summary>Checks that every size is positive, every padding is in [0, kernel) and the output is at least 1×1.</summary>
    /// <exception cref="ArgumentException">A field is out of range; the message names the values.</exception>
    public void Validate()
    {
        if (Channels < 1 || Height < 1 || Width < 1)
            throw new ArgumentException($"Window2d input [C, H, W] = [{Channels}, {Height}, {Width}] must have every size >= 1.");
        if (KernelH < 1 || KernelW < 1)
            throw new ArgumentException($"Window2d kernel {KernelH}x{KernelW} must be at least 1x1.");
        if (StrideH < 1 || StrideW < 1)
            throw new ArgumentException($"Window2d stride {StrideH}x{StrideW} must be at least 1x1.");
        if (PadTop < 0 || PadBottom < 0 || PadLeft < 0 || PadRight < 0)
            throw new ArgumentException(
                $"Window2d padding (top {PadTop}, bottom {PadBottom}, left {PadLeft}, right {PadRight}) must be non-negative.");
        // Why pad < kernel: a window lying entirely in the padding reads no input at all (and the direct kernels
        // rely on every padded row and column being reachable from some window).
        if (PadTop >= KernelH || PadBottom >= KernelH || PadLeft >= KernelW || PadRight >= KernelW)
            throw new ArgumentException(
                $"Window2d padding (top {PadTop}, bottom {PadBottom}, left {PadLeft}, right {PadRight}) must be smaller than the kernel {KernelH}x{KernelW}.");
        if (Height + PadTop + PadBottom < KernelH)
            throw new ArgumentException(
                $"Window2d output height floor(({Height} + {PadTop} + {PadBottom} - {KernelH}) / {StrideH}) + 1 is < 1: the padded height is smaller than the kernel.");
        if (Width + PadLeft + PadRight < KernelW)
            throw new ArgumentException(
                $"Window2d output width floor(({Width} + {PadLeft} + {PadRight} - {KernelW}) / {StrideW}) + 1 is < 1: the padded width is smaller than the kernel.");
        if ((long)Channels * Height * Width > int.MaxValue || (long)Channels * KernelH * KernelW * OutH * OutW > int.MaxValue)
            throw new ArgumentException($"Window2d {this} is too large: a per-sample buffer would exceed int.MaxValue elements.");
    }
}
