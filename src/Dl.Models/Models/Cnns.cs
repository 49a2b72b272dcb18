using static Dl.Ops;

namespace Dl.Models;

/// <summary>The <c>cnn_lenetish</c> workload: 1x28x28 → conv 3x3x8 (padding 1) → ReLU → max pool 2 → conv 3x3x16
/// (padding 1) → ReLU → max pool 2 → flatten 784 → linear 10, softmax cross-entropy.</summary>
[Model]
public sealed partial class LenetCnn
{
    [Forward]
    Tensor Forward([Shape(1, 28, 28)] Tensor x)
    {
        var h = MaxPool2d(Relu(Conv2d(x, 8, kernel: 3, name: "conv1", padding: 1)), kernel: 2);
        h = MaxPool2d(Relu(Conv2d(h, 16, kernel: 3, name: "conv2", padding: 1)), kernel: 2);
        return Linear(Flatten(h), 10, name: "fc");
    }

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>Fashion-MNIST CNN: two blocks of conv 3x3 ('same') → batch norm → ReLU → max pool 2 (32 and 64 channels),
/// a third conv 3x3 → batch norm → ReLU at 7x7 (64 channels), dropout 0.25, dense 3136 → 128 → ReLU → dropout 0.5 → 10.
/// Batch norm sits before the activation, as in the notes; the convolutions before it have no bias (β replaces it).</summary>
/// <remarks>Without the third conv the same recipe peaked at 91.8 % (13 epochs); see benchmarks/results/2026-11-21-fashion-cnn.md.</remarks>
/// <example><code>
/// var net = new FashionCnn(new ModelOptions { Seed = 1, MaxBatch = 64 });
/// net.TrainStep(images, labels, 64, new Adam(0.001f));   // training mode: batch statistics, dropout on
/// net.Training = false;                                    // evaluation: running statistics, no dropout
/// net.Predict(images, logits, 64);
/// </code></example>
[Model]
public sealed partial class FashionCnn
{
    [Forward]
    Tensor Forward([Shape(1, 28, 28)] Tensor x)
    {
        var h = ConvBlock(x, 32, "conv1", "bn1");                                                       // [32, 14, 14]
        h = ConvBlock(h, 64, "conv2", "bn2");                                                            // [64, 7, 7]
        h = Relu(BatchNorm(Conv2d(h, 64, kernel: 3, name: "conv3", padding: Pad.Same, bias: false), "bn3")); // [64, 7, 7]
        h = Dropout(Flatten(h), 0.25f);
        h = Dropout(Relu(Linear(h, 128, name: "fc1")), 0.5f);
        return Linear(h, 10, name: "fc2");
    }

    [Block]
    static Tensor ConvBlock(Tensor x, int channels, string conv, string norm) =>
        MaxPool2d(Relu(BatchNorm(Conv2d(x, channels, kernel: 3, name: conv, padding: Pad.Same, bias: false), norm)), kernel: 2);

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>A small residual network (the notes' a[l+2] = ReLU(z[l+2] + a[l])): a stem conv, two residual blocks
/// (the second halves the resolution and projects the shortcut with a 1x1 convolution of stride 2, the notes' "W · a"
/// when dimensions differ), global average pooling and a linear classifier.</summary>
[Model]
public sealed partial class ResidualCnn
{
    [Forward]
    Tensor Forward([Shape(1, 28, 28)] Tensor x)
    {
        var h = Relu(BatchNorm(Conv2d(x, 16, kernel: 3, name: "stem", padding: 1, stride: 2, bias: false), "stem_bn"));   // 16x14x14
        h = Residual(h, 16, 1, "block1");                                                                                  // 16x14x14
        h = Residual(h, 32, 2, "block2");                                                                                  // 32x7x7
        return Linear(GlobalAvgPool2d(h), 10, name: "fc");
    }

    /// <summary>ReLU(BN(conv(ReLU(BN(conv(a))))) + shortcut(a)); the shortcut is the identity when the shape is kept.</summary>
    [Block]
    static Tensor Residual(Tensor a, int channels, int stride, string name)
    {
        var z = Relu(BatchNorm(Conv2d(a, channels, kernel: 3, name: name + ".conv1", stride: stride, padding: 1, bias: false), name + ".bn1"));
        z = BatchNorm(Conv2d(z, channels, kernel: 3, name: name + ".conv2", padding: 1, bias: false), name + ".bn2");
        var shortcut = stride == 1 ? a : BatchNorm(Conv2d(a, channels, kernel: 1, name: name + ".proj", stride: stride, bias: false), name + ".proj_bn");
        return Relu(z + shortcut);
    }

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>An inception-style network: a stem conv, then a module of four parallel branches (1x1; 1x1 bottleneck → 3x3;
/// 1x1 bottleneck → 5x5; 3x3 max pool → 1x1) concatenated along the channels, max pooling, a second module, global
/// average pooling and a linear classifier (the notes' "just put all filters and let the machine learn").</summary>
[Model]
public sealed partial class InceptionCnn
{
    [Forward]
    Tensor Forward([Shape(1, 28, 28)] Tensor x)
    {
        var h = MaxPool2d(Relu(Conv2d(x, 16, kernel: 3, name: "stem", padding: 1)), kernel: 2);  // 16x14x14
        h = Inception(h, 8, 8, 4, 4, "inc1");                                                    // 24x14x14
        h = MaxPool2d(h, kernel: 2);                                                              // 24x7x7
        h = Inception(h, 16, 16, 8, 8, "inc2");                                                  // 48x7x7
        return Linear(GlobalAvgPool2d(h), 10, name: "fc");
    }

    [Block]
    static Tensor Inception(Tensor x, int c1, int c3, int c5, int cp, string name)
    {
        var b1 = Relu(Conv2d(x, c1, kernel: 1, name: name + ".b1"));
        var b3 = Relu(Conv2d(Relu(Conv2d(x, c3 / 2, kernel: 1, name: name + ".b3_reduce")), c3, kernel: 3, name: name + ".b3", padding: Pad.Same));
        var b5 = Relu(Conv2d(Relu(Conv2d(x, c5 / 2, kernel: 1, name: name + ".b5_reduce")), c5, kernel: 5, name: name + ".b5", padding: Pad.Same));
        var bp = Relu(Conv2d(MaxPool2d(x, kernel: 3, stride: 1, padding: 1), cp, kernel: 1, name: name + ".pool_proj"));
        return Concat(Concat(b1, b3, axis: 0), Concat(b5, bp, axis: 0), axis: 0);
    }

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}
