using static Dl.Ops;

namespace Dl.Models;

/// <summary>The <c>attn_s64_d64_h4</c> workload: one post-norm transformer encoder layer over a sequence of 64 positions of
/// 64 features (4 heads, feed-forward 256 with ReLU; PyTorch's nn.TransformerEncoderLayer(64, 4, 256) without dropout),
/// the mean over the sequence, linear 64 → 10, softmax cross-entropy.</summary>
[Model]
public sealed partial class AttnS64
{
    [Forward]
    Tensor Forward([Shape(64, 64)] Tensor x) => Linear(Mean(Transformer.EncoderLayer(x, heads: 4, feedForward: 256, name: "layer"), 0), 10, name: "fc");

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}
