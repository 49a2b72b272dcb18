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
    public int OutH => WindowGeometry.OutSize(Height, PadTop, PadBottom, KernelH, StrideH);

    /// <summary>Output width: floor((Width + PadLeft + PadRight - KernelW) / StrideW) + 1.</summary>
    public int OutW => WindowGeometry.OutSize(Width, PadLeft, PadRight, KernelW, StrideW);

    /// <summary>Input floats per sample: Channels·Height·Width.</summary>
    public int InSize => Channels * Height * Width;

    /// <summary>Rows of the im2col matrix: Channels·KernelH·KernelW.</summary>
    public int ColRows => Channels * KernelH * KernelW;

    /// <summary>Output positions per channel: OutH·OutW.</summary>
    public int OutPlane => OutH * OutW;

    /// <summary>A square window with the same stride and padding on both axes.</summary>
    public static Window2d Square(int channels, int height, int width, int kernel, int stride = 1, int pad = 0)
        => new(channels, height, width, kernel, kernel, stride, stride, pad, pad, pad, pad);

    /// <summary>Checks the window with <see cref="WindowGeometry.Check"/> (the rule the generator's DL0013 applies): every
    /// size positive, every padding in [0, kernel), an output of at least 1×1, per-sample buffers within int.MaxValue.</summary>
    /// <exception cref="ArgumentException">A field is out of range; the message names the values.</exception>
    public void Validate()
    {
        if (WindowGeometry.Check(Channels, Height, Width, KernelH, KernelW, StrideH, StrideW, PadTop, PadBottom, PadLeft, PadRight, pooling: false)
            is { } why)
            throw new ArgumentException($"Window2d: {why}.");
    }
}
