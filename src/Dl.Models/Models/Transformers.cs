using static Dl.Ops;

namespace Dl.Models;

/// <summary>A vision transformer (ViT) for Fashion-MNIST: the image [1, 28, 28] cut into 7 × 7 = 49 patches of 4 × 4 pixels,
/// each projected to D = 64 features by one strided convolution (the ViT patch embedding: conv 4x4 stride 4 → [D, 7, 7] →
/// reshape [D, 49] → transpose [49, D]), plus learned position embeddings; then 4 pre-norm encoder layers (4 heads,
/// feed-forward 128 with GELU, no dropout), a final layer norm, the mean over the 49 tokens and a linear classifier.
/// Trained against probability targets, so the loop can smooth its labels.</summary>
/// <remarks>PyTorch twin: nn.Conv2d(1, 64, 4, stride=4) as <c>patch</c>, a parameter <c>pos.weight</c> [49, 64],
/// 4 × nn.TransformerEncoderLayer(64, 4, 128, 0.0, "gelu", batch_first=True, norm_first=True) as <c>block{i}</c>,
/// nn.LayerNorm(64) as <c>norm</c>, mean over tokens, nn.Linear(64, 10) as <c>head</c>; the state_dict keys equal our
/// parameter names.</remarks>
/// <example><code>
/// var net = new PatchTransformer(new ModelOptions { Seed = 1, MaxBatch = 128, Threads = 2 });
/// net.TrainStep(images, smoothedTargets, 128, new AdamW(1e-3f, weightDecay: 0.05f));   // targets: 10 probabilities per image
/// </code></example>
[Model]
public sealed partial class PatchTransformer
{
    /// <summary>Model width D (features per token).</summary>
    public const int Width = 64;
    /// <summary>Tokens: 7 × 7 patches of 4 × 4 pixels.</summary>
    public const int Tokens = 49;

    [Forward]
    Tensor Forward([Shape(1, 28, 28)] Tensor image)
    {
        var h = Transpose(Reshape(Conv2d(image, 64, kernel: 4, name: "patch", stride: 4), 64, 49));   // [49, 64]
        h = LearnedPositions(h, "pos");
        for (int i = 0; i < 4; i++)
            h = Transformer.EncoderLayer(h, heads: 4, feedForward: 128, name: $"block{i}", normFirst: true, gelu: true);
        return Linear(Mean(LayerNorm(h, "norm"), 0), 10, name: "head");
    }

    [Loss]
    Tensor Loss(Tensor logits, [Shape(10)] Tensor target) => SoftmaxCrossEntropy(logits, target);
}

/// <summary>A small encoder-decoder transformer that reverses digit sequences (Dl.Data.DigitSequences: tokens 0–9, PAD = 10,
/// BOS = 11, sequences of 3–12 digits right-padded to T = 12). The encoder reads the source (embedding 64 + sinusoidal
/// positions, 2 pre-norm layers, 4 heads, feed-forward 256) with the padding masked out of every attention; the decoder
/// reads [BOS, y1 … y11] (teacher forcing) through 2 pre-norm decoder layers (causal self-attention, cross-attention over
/// the encoder's output with the same padding mask) and predicts y1 … y12, the reversed digits followed by PAD.</summary>
/// <remarks>Inputs, per sample: <c>source</c> [12] token ids, <c>sourceMask</c> [12] (1 for a digit, 0 for padding) and
/// <c>decoderInput</c> [12] token ids; in the input block of a batch each input's batch rows come in turn (all sources, then
/// all masks, then all decoder inputs). The decoder's causal mask makes position t depend on decoder inputs ≤ t only, so
/// greedy decoding writes the argmax at t into position t + 1 and runs the model again.</remarks>
[Model]
public sealed partial class ReverseTransformer
{
    /// <summary>Padded sequence length T.</summary>
    public const int Steps = 12;
    /// <summary>Vocabulary: 10 digits, PAD, BOS.</summary>
    public const int Vocabulary = 12;

    [Forward]
    Tensor Forward([Shape(12)] Tensor source, [Shape(12)] Tensor sourceMask, [Shape(12)] Tensor decoderInput)
    {
        var memory = SinusoidalPositions(Embedding(source, 12, 64, name: "src_embed"));
        for (int i = 0; i < 2; i++)
            memory = Transformer.EncoderLayer(memory, heads: 4, feedForward: 256, name: $"encoder{i}", normFirst: true, keyMask: sourceMask);
        memory = LayerNorm(memory, "encoder_norm");
        var h = SinusoidalPositions(Embedding(decoderInput, 12, 64, name: "tgt_embed"));
        for (int i = 0; i < 2; i++)
            h = Transformer.DecoderLayer(h, memory, heads: 4, feedForward: 256, name: $"decoder{i}", normFirst: true, memoryMask: sourceMask);
        return Linear(LayerNorm(h, "decoder_norm"), 12, name: "head");
    }

    [Loss]
    Tensor Loss(Tensor logits, [Labels(12), Shape(12)] Tensor next) => SoftmaxCrossEntropy(logits, next);
}
