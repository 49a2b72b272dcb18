using static Dl.Ops;

namespace Dl.Tests;

// Models written only for tests: together they exercise every op kind the generator lowers, with shapes whose
// lengths are not multiples of the vector width (tails), broadcasting, fan-out and block inlining.

[Model]
public sealed partial class Mlp2_1024_512_3
{
    [Forward] Tensor Forward([Shape(2)] Tensor x) => Linear(Relu(Linear(Relu(Linear(x, 1024, "fc1")), 512, "fc2")), 3, "fc3");
    [Loss] Tensor Loss(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);
}

[Model]
public sealed partial class ElementwiseZoo
{
    [Param(13)] Tensor scale;
    [Param(3, 13)] Tensor mix;

    [Forward]
    Tensor Forward([Shape(13)] Tensor x, [Shape(13)] Tensor z)
    {
        var a = Tanh(x * scale) + Sigmoid(z) * 0.5f;             // broadcast parameter, scalar constant
        var b = Maximum(a, z) - Minimum(a, 0.25f * x) / (1f + Square(z));
        var c = LeakyRelu(b, 0.1f) + Abs(a) * Exp(-Square(x)) + Sqrt(Square(z) + 1f) + Log(1f + Square(b));
        var d = Pow(Square(c) + 1f, 1.5f) * 0.01f + a * a;      // fan-out: a used three times
        return MatMul(mix, d[..]) + Sum(d) * 0.001f;             // unbatched matrix times per-sample vector
    }

    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t) + 0.001f * L2Penalty(mix);
}

[Model]
public sealed partial class StructuralZoo
{
    [Forward]
    Tensor Forward([Shape(4, 6)] Tensor x)
    {
        var t = Transpose(x);                                    // [6, 4]
        var r = Reshape(t, 3, 8);                                // [3, 8]
        var s = Slice(r, 1, 2, 5);                               // [3, 5]
        var c = Concat(s, Relu(Linear(s, 2, "proj")), axis: 1);  // [3, 7]
        var m = Mean(c, 0) + Sum(c, 1)[1];                       // [7]
        var h = Block(m, 9, "blk");
        return LogSoftmax(h);
    }

    [Block]
    Tensor Block(Tensor x, int width, string name) => Tanh(Linear(x, width, name + ".fc"));

    [Loss] Tensor Loss(Tensor y, [Shape(9)] Tensor t) => -Sum(y * t);
}

[Model]
public sealed partial class BinaryClassifier
{
    [Forward] Tensor Forward([Shape(5)] Tensor x) => Linear(Tanh(Linear(x, 7, "h")), 1, "out");
    [Loss] Tensor Loss(Tensor logit, [Shape(1)] Tensor y) => BinaryCrossEntropyWithLogits(logit, y);
}

[Model]
public sealed partial class ProbabilityTargets
{
    [Forward] Tensor Forward([Shape(6)] Tensor x) => Linear(Sigmoid(Linear(x, 11, "h")), 4, "out");
    [Loss] Tensor Loss(Tensor y, [Shape(4)] Tensor p) => SoftmaxCrossEntropy(y, p) + 0.5f * HalfSquaredError(Softmax(y), p);
}

[Model]
public sealed partial class SigmoidBceClassifier
{
    [Forward] Tensor Forward([Shape(5)] Tensor x) => Sigmoid(Linear(Tanh(Linear(x, 7, "h")), 1, "out"));
    [Loss] Tensor Loss(Tensor p, [Shape(1)] Tensor y) => BinaryCrossEntropy(p, y);
}

/// <summary>Weight sharing, per-sample matrix products, transposed parameters, rank-3 reductions, ranges from the end,
/// nested blocks: shapes and wiring that the other models do not reach.</summary>
[Model]
public sealed partial class GeneralityZoo
{
    [Param(4, 3)] Tensor shared;
    [Param(3)] Tensor gain;

    [Forward]
    Tensor Forward([Shape(2, 4)] Tensor a, [Shape(4, 5)] Tensor b)
    {
        var p = MatMul(a, b);                                   // [2, 5], both operands per sample
        var q = MatMul(Transpose(p), MatMul(a, shared));        // [5, 2]·[2, 3] = [5, 3]
        var r = MatMul(q, Transpose(shared));                   // the same parameter used twice
        var s = Softmax(r) * Mean(r, 1)[..^1][0];               // row-wise softmax on a matrix; ranges from the end
        var t = Reshape(Concat(s, r, axis: 0), 2, 5, 4);        // [10, 4] -> [2, 5, 4]
        var u = Sum(t, 1) / (2f + Abs(Sum(t, 2)[1][..4]));      // rank-3 reductions on two axes, broadcast divide
        var v = Twice(Linear(u, 3, "head")) * gain;             // Linear on a per-sample matrix [2, 4] -> [2, 3]
        return Sum(LogSoftmax(v), 0) + Maximum(v[0], v[1]) - Minimum(v[1], v[0] * (1f / 3f));
    }

    [Block] Tensor Twice(Tensor x) => Inner(x) + Inner(x * 0.5f);
    [Block] Tensor Inner(Tensor x) => LeakyRelu(x, 0.2f) + Pow(Square(x) + 1f, -0.5f);

    [Loss] Tensor Loss(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t) + 0.01f * L2Penalty(shared);
}

/// <summary>Locals reassigned and updated with compound operators, as people write residual code.</summary>
[Model]
public sealed partial class ReassignNet
{
    [Forward]
    Tensor Forward([Shape(6)] Tensor x)
    {
        var h = Linear(x, 9, "a");
        h = Relu(h);
        h += Linear(x, 9, "b");
        h *= 0.5f;
        h -= Sigmoid(h) / 4f;
        return Linear(h, 3, "c");
    }

    [Loss] Tensor Loss(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);
}


/// <summary>Element-wise loops of every length 1..24 (unrolled, vector body and scalar tail, forward and backward,
/// including bias reductions of each length): 24 slices of a 300-wide input, each through its own layer.</summary>
[Model]
public sealed partial class TailSweep
{
    [Forward]
    Tensor Forward([Shape(300)] Tensor x)
    {
        var h = Piece(x, 0, 1, "p1");
        h = Concat(h, Piece(x, 1, 2, "p2"));
        h = Concat(h, Piece(x, 3, 3, "p3"));
        h = Concat(h, Piece(x, 6, 4, "p4"));
        h = Concat(h, Piece(x, 10, 5, "p5"));
        h = Concat(h, Piece(x, 15, 6, "p6"));
        h = Concat(h, Piece(x, 21, 7, "p7"));
        h = Concat(h, Piece(x, 28, 8, "p8"));
        h = Concat(h, Piece(x, 36, 9, "p9"));
        h = Concat(h, Piece(x, 45, 10, "p10"));
        h = Concat(h, Piece(x, 55, 11, "p11"));
        h = Concat(h, Piece(x, 66, 12, "p12"));
        h = Concat(h, Piece(x, 78, 13, "p13"));
        h = Concat(h, Piece(x, 91, 14, "p14"));
        h = Concat(h, Piece(x, 105, 15, "p15"));
        h = Concat(h, Piece(x, 120, 16, "p16"));
        h = Concat(h, Piece(x, 136, 17, "p17"));
        h = Concat(h, Piece(x, 153, 18, "p18"));
        h = Concat(h, Piece(x, 171, 19, "p19"));
        h = Concat(h, Piece(x, 190, 20, "p20"));
        h = Concat(h, Piece(x, 210, 21, "p21"));
        h = Concat(h, Piece(x, 231, 22, "p22"));
        h = Concat(h, Piece(x, 253, 23, "p23"));
        h = Concat(h, Piece(x, 276, 24, "p24"));
        return Linear(h, 3, "out");
    }

    [Block]
    Tensor Piece(Tensor x, int start, int length, string name) =>
        Sigmoid(Linear(Slice(x, 0, start, length), length, name)) * Tanh(Slice(x, 0, start, length));

    [Loss] Tensor Loss(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);
}

/// <summary>Degenerate graphs: the output is the input itself, or a parameter shared by every sample.</summary>
[Model] public sealed partial class IdentityModel { [Forward] Tensor Forward([Shape(3)] Tensor x) => x; }

[Model]
public sealed partial class ConstantModel
{
    [Param(2, Init = Init.Constant, Scale = 0.5f)] Tensor w;
    [Forward] Tensor Forward([Shape(3)] Tensor x) => w;
}

/// <summary>Layers stacked by a for loop over constant bounds (unrolled by the generator), with residual updates.</summary>
[Model]
public sealed partial class LoopNet
{
    const int Depth = 4;

    [Forward]
    Tensor Forward([Shape(5)] Tensor x)
    {
        var h = Tanh(Linear(x, 12, "in"));
        for (int i = 0; i < Depth; i++)
        {
            var r = Relu(Linear(h, 12, $"block{i}"));
            h += 0.5f * r;
        }
        for (int j = 3; j > 0; j -= 2) h = h * (1f / j);
        return Linear(h, 3, "out");
    }

    [Loss] Tensor Loss(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);
}

/// <summary>Every spatial op in awkward geometry: odd sizes, per-dimension strides 3 and 2, asymmetric padding, 'same'
/// with an even kernel, 'full' 1-D convolution, channel counts 3, 5 and 13, 1x1 convolution, both conv kernel variants
/// (direct for stride-1 rows of 8 or more, im2col + GEMM for strided, 1x1 and narrow ones), batch norm per channel and
/// per feature, dropout.</summary>
[Model]
public sealed partial class SpatialZoo
{
    [Forward]
    Tensor Forward([Shape(3, 9, 11)] Tensor x)
    {
        var c1 = Conv2d(x, 5, kernel: (3, 2), name: "c1", stride: (3, 2), padding: (0, 1, 1, 0));       // [5, 3, 6] im2col (strided)
        var p1 = AvgPool2d(Relu(BatchNorm(c1, "bn1")), kernel: 2, stride: 1, padding: (0, 1, 0, 1));    // [5, 3, 6]
        var m1 = MaxPool2d(p1, kernel: (2, 3), stride: (1, 3));                                         // [5, 2, 2]
        var g2 = GlobalAvgPool2d(Tanh(Conv2d(x, 13, kernel: 3, name: "c2", stride: 2)));                // [13]
        var m3 = MaxPool2d(Conv2d(x, 4, kernel: 1, name: "c3"), kernel: 3, stride: 3, padding: 1);      // [4, 3, 4] im2col (1x1)
        var c4 = Conv1d(Reshape(x, 3, 99), 2, kernel: 5, name: "c4", stride: 3, padding: Pad.Full);     // [2, 35] im2col (strided)
        var c5 = AvgPool2d(Conv2d(x, 3, kernel: (2, 4), name: "c5", padding: Pad.Same), kernel: 3);     // [3, 3, 3] direct, direct data
        var c6 = Conv1d(Reshape(x, 3, 99), 2, kernel: 4, name: "c6", padding: 1);                       // [2, 98] direct (1-D rows)
        var all = Concat(Concat(Flatten(m1), g2, axis: 0), Concat(Flatten(m3), Concat(Flatten(c4), Flatten(c5), axis: 0), axis: 0), axis: 0);
        all = Concat(all, Flatten(Tanh(c6)), axis: 0);
        var h = Relu(BatchNorm(Linear(Dropout(all, 0.3f), 7, "fc1"), "bn2"));
        return Linear(h, 4, "fc2");
    }

    [Loss] Tensor Loss(Tensor logits, [Labels(4)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>The notes' 1-D example: a full convolution of a = [2, -1, 1] with b = [1, 1, 2] (length 3 + 3 - 1 = 5).</summary>
[Model]
public sealed partial class FullConv1d
{
    [Forward] Tensor Forward([Shape(1, 3)] Tensor a) => Conv1d(a, 1, kernel: 3, name: "b", padding: Pad.Full, bias: false);
}

/// <summary>The slides' 2-D layer Y = X ⋆ W + b on a 3x3 input with a 2x2 kernel, and 2x2 pooling with stride 1.</summary>
[Model]
public sealed partial class NotesConv2d
{
    [Forward] Tensor Forward([Shape(1, 3, 3)] Tensor x) => Conv2d(x, 1, kernel: 2, name: "k");
}

[Model]
public sealed partial class NotesPooling
{
    [Forward] Tensor Forward([Shape(1, 3, 3)] Tensor x) => Concat(Flatten(MaxPool2d(x, kernel: 2, stride: 1)), Flatten(AvgPool2d(x, kernel: 2, stride: 1)), axis: 0);
}

/// <summary>Batch norm over one feature (the notes' z = [4, 8, 6, 10] is a batch of four).</summary>
[Model]
public sealed partial class NotesBatchNorm
{
    [Forward] Tensor Forward([Shape(1)] Tensor z) => BatchNorm(z, "bn");
}

/// <summary>An output that does not depend on the input: one unbatched value that Predict, the loss and the backward
/// pass must broadcast to every sample (its gradient is the sum over the batch). Generated code once stepped through the
/// [3] buffer with a per-sample stride: a wrong loss at batch 4 and writes past the array at batch 4096.</summary>
[Model]
public sealed partial class ConstantOutput
{
    [Param(3)] Tensor w;
    [Forward] Tensor Forward([Shape(2)] Tensor x) => w * 1f;
    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

/// <summary>A loss operand that is one unbatched value (a penalty pulling the parameter towards every target):
/// broadcast to the samples like an unbatched output.</summary>
[Model]
public sealed partial class UnbatchedLossOperand
{
    [Param(3)] Tensor w;
    [Forward] Tensor Forward([Shape(3)] Tensor x) => x * w;
    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t) + 0.5f * MseLoss(w * 1f, t);
}

/// <summary>A small regression network for the trainer's CSV test: 3 standardized features → 1 value, mean squared error.</summary>
[Model]
public sealed partial class TableRegressor
{
    [Forward] Tensor Forward([Shape(3)] Tensor x) => Linear(Tanh(Linear(x, 8, "h")), 1, "out");
    [Loss] Tensor Loss(Tensor y, [Shape(1)] Tensor t) => MseLoss(y, t);
}
