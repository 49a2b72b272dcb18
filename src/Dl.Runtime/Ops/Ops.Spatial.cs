using Dl.Dynamic;

namespace Dl;

/// <summary>A per-dimension size (kernel or stride) of a 2-D window: <c>3</c> means 3x3, <c>(3, 2)</c> means height 3,
/// width 2. <c>default</c> means "not given" (a stride then defaults to 1, a pooling stride to the kernel).</summary>
public readonly record struct Size2(int H, int W)
{
    public static implicit operator Size2(int size) => new(size, size);
    public static implicit operator Size2((int H, int W) size) => new(size.H, size.W);
    public bool IsDefault => H == 0 && W == 0;
    public override string ToString() => H == W ? H.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"({H}, {W})";
}

/// <summary>Zero padding of a 2-D window op, per side. <c>1</c> pads one cell on every side (PyTorch's <c>padding=1</c>;
/// the slides' formula counts the total, 2); <c>(1, 2)</c> pads 1 above and below and 2 left and right;
/// <c>(top, bottom, left, right)</c> is asymmetric; <see cref="Same"/>, <see cref="Valid"/> and <see cref="Full"/> follow the kernel.</summary>
/// <remarks>Convolution pads with zeros; max pooling treats padding cells as -infinity (never selected); average pooling
/// counts them (PyTorch's <c>count_include_pad=True</c>).</remarks>
public readonly record struct Pad(int Top, int Bottom, int Left, int Right)
{
    public PadMode Mode { get; init; }

    /// <summary>No padding.</summary>
    public static Pad Valid => default;
    /// <summary>Output size = input size at stride 1: total k - 1 per dimension, floor half before (PyTorch's 'same').</summary>
    public static Pad Same => new(0, 0, 0, 0) { Mode = PadMode.Same };
    /// <summary>k - 1 cells on every side.</summary>
    public static Pad Full => new(0, 0, 0, 0) { Mode = PadMode.Full };

    public static implicit operator Pad(int all) => new(all, all, all, all);
    public static implicit operator Pad((int H, int W) symmetric) => new(symmetric.H, symmetric.H, symmetric.W, symmetric.W);
    public static implicit operator Pad((int Top, int Bottom, int Left, int Right) sides) => new(sides.Top, sides.Bottom, sides.Left, sides.Right);

    /// <summary>The cells per side for a kernel of <paramref name="kernelH"/> x <paramref name="kernelW"/>.</summary>
    public (int Top, int Bottom, int Left, int Right) Resolve(int kernelH, int kernelW) =>
        Kernels.WindowGeometry.Resolve(Mode, kernelH, kernelW, Top, Bottom, Left, Right);

    public override string ToString() => Mode switch
    {
        PadMode.Same => "same",
        PadMode.Full => "full",
        _ => Top == Bottom && Left == Right ? (Top == Left ? Top.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"({Top}, {Left})") : $"({Top}, {Bottom}, {Left}, {Right})",
    };
}

public static partial class Ops
{
    /// <summary>2-D convolution (cross-correlation, the kernel is not flipped) of a sample [C, H, W] with
    /// <paramref name="outChannels"/> filters: parameters <c>{name}.weight</c> [out, C, kh, kw] and <c>{name}.bias</c> [out]
    /// (PyTorch's layout). Each filter sums over all input channels and produces one output channel of
    /// floor((n + padBefore + padAfter - k) / s) + 1 per dimension.</summary>
    /// <param name="x">A batched sample [C, H, W].</param>
    /// <param name="outChannels">Number of filters (output channels).</param>
    /// <param name="kernel">Kernel height and width: <c>3</c> or <c>(3, 5)</c>.</param>
    /// <param name="name">Layer name: the parameters are <c>{name}.weight</c> and <c>{name}.bias</c>.</param>
    /// <param name="stride">Per dimension; <c>default</c> = 1.</param>
    /// <param name="padding">Zero padding per side (see <see cref="Pad"/>).</param>
    /// <param name="bias">Whether each filter has a bias (omit it before a batch norm).</param>
    /// <param name="init">The weight initializer (default Glorot uniform with fan-in C·kh·kw and fan-out out·kh·kw).</param>
    [Op(OpKind.Conv)]
    public static Tensor Conv2d(Tensor x, int outChannels, Size2 kernel, string name, Size2 stride = default, Pad padding = default,
        bool bias = true, Init init = Init.Default)
        => TapeOps.Conv2d(x, outChannels, kernel, name, stride, padding, bias, one: false);

    /// <summary>1-D convolution (cross-correlation) of a sample [C, L]: parameters <c>{name}.weight</c> [out, C, k] and
    /// <c>{name}.bias</c> [out]. <paramref name="padding"/>: an int (both ends), <see cref="Pad.Valid"/>, <see cref="Pad.Same"/>,
    /// <see cref="Pad.Full"/> (k - 1 at both ends: every partial overlap) or <c>(0, 0, left, right)</c>.</summary>
    [Op(OpKind.Conv)]
    public static Tensor Conv1d(Tensor x, int outChannels, int kernel, string name, int stride = 1, Pad padding = default,
        bool bias = true, Init init = Init.Default)
        => TapeOps.Conv2d(x, outChannels, new Size2(1, kernel), name, new Size2(1, stride), padding, bias, one: true);

    /// <summary>Max pooling of a sample [C, H, W] over windows of <paramref name="kernel"/> (stride: default = kernel).
    /// The gradient goes to the first maximum of each window in row-major order (PyTorch's rule for ties).</summary>
    [Op(OpKind.Pool)]
    public static Tensor MaxPool2d(Tensor x, Size2 kernel, Size2 stride = default, Pad padding = default)
        => TapeOps.Pool2d(x, kernel, stride, padding, average: false);

    /// <summary>Average pooling of a sample [C, H, W] (stride: default = kernel); padding cells count as zeros in the
    /// mean (PyTorch's count_include_pad=True).</summary>
    [Op(OpKind.Pool, Mean = true)]
    public static Tensor AvgPool2d(Tensor x, Size2 kernel, Size2 stride = default, Pad padding = default)
        => TapeOps.Pool2d(x, kernel, stride, padding, average: true);

    /// <summary>Max pooling of a sequence sample [C, L] over windows of <paramref name="kernel"/> positions (PyTorch's
    /// nn.MaxPool1d): output length floor((L + 2·padding - kernel) / stride) + 1; padding never wins and is at most half the
    /// kernel. The gradient goes to the first maximum of each window. The 2-D kernels run it as a window of height 1.</summary>
    /// <param name="x">A batched sample [C, L].</param>
    /// <param name="kernel">Window length.</param>
    /// <param name="stride">Step between windows; null (PyTorch's None) = <paramref name="kernel"/>.</param>
    /// <param name="padding">Implicit cells at both ends.</param>
    [Op(OpKind.Pool)]
    public static Tensor MaxPool1d(Tensor x, int kernel, int? stride = null, int padding = 0)
        => TapeOps.Pool1d(x, kernel, stride, padding, average: false);

    /// <summary>Average pooling of a sequence sample [C, L] (PyTorch's nn.AvgPool1d with count_include_pad=True: padding
    /// cells count as zeros in the mean of kernel cells). Stride: null = <paramref name="kernel"/>.</summary>
    /// <param name="x">A batched sample [C, L].</param>
    /// <param name="kernel">Window length.</param>
    /// <param name="stride">Step between windows; null (PyTorch's None) = <paramref name="kernel"/>.</param>
    /// <param name="padding">Implicit zero cells at both ends, at most half the kernel.</param>
    [Op(OpKind.Pool, Mean = true)]
    public static Tensor AvgPool1d(Tensor x, int kernel, int? stride = null, int padding = 0)
        => TapeOps.Pool1d(x, kernel, stride, padding, average: true);

    /// <summary>Global average pooling: the mean of each channel's plane, [C, H, W] → [C].</summary>
    [Op(OpKind.Pool, Mean = true)]
    public static Tensor GlobalAvgPool2d(Tensor x) => TapeOps.GlobalAvgPool2d(x);

    /// <summary>All per-sample axes as one, [C, H, W] → [C·H·W] (row-major, PyTorch's flatten order).</summary>
    [Op(OpKind.Reshape)]
    public static Tensor Flatten(Tensor x) => TapeOps.Reshape(x, s_flat);

    private static readonly int[] s_flat = [-1];

    /// <summary>Batch normalization per channel ([C, H, W] or [C, L]: statistics over the batch and the plane) or per
    /// feature ([F]: over the batch). Training mode normalizes with the batch mean and biased variance and updates the
    /// running statistics (running = (1 - momentum)·running + momentum·batch, unbiased variance, as PyTorch); evaluation
    /// mode uses the running statistics. y = gamma·(x - mean)/sqrt(var + eps) + beta with parameters <c>{name}.weight</c>
    /// (gamma, starts at 1) and <c>{name}.bias</c> (beta, starts at 0), and state <c>{name}.running_mean</c>,
    /// <c>{name}.running_var</c>.</summary>
    [Op(OpKind.Norm)]
    public static Tensor BatchNorm(Tensor x, string name, float momentum = 0.1f, float eps = 1e-5f)
        => TapeOps.BatchNorm(x, name, momentum, eps);

    /// <summary>Inverted dropout: in training mode each element is zeroed with probability <paramref name="p"/> and the
    /// rest scaled by 1/(1 - p); identity in evaluation mode. Masks come from a counter-based generator keyed by the
    /// model seed, the dropout's index in the model and the training-step counter, so the compiled model and the
    /// dynamic tape drop the same elements.</summary>
    [Op(OpKind.Dropout)]
    public static Tensor Dropout(Tensor x, float p) => TapeOps.Dropout(x, p);
}
