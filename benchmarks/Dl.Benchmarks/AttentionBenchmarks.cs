using Dl.Models;

namespace Dl.Benchmarks;

/// <summary><c>attn_s64_d64_h4</c> (<see cref="AttnS64"/>: one post-norm transformer encoder layer over 64 positions of 64
/// features, 4 heads, feed-forward 256 with ReLU → mean over the sequence → linear 64-10, softmax cross-entropy), one
/// training step on [Batch, 64, 64] inputs (batch-first); PyTorch runs <c>nn.TransformerEncoderLayer(64, 4, 256,
/// dropout=0.0, batch_first=True)</c> + mean + <c>nn.Linear(64, 10)</c>.</summary>
public class AttentionTrainStep : ClassifierTrainStep
{
    protected override string Workload => "attn_s64_d64_h4";
    protected override int InputSize => 64 * 64;
    protected override ITrainableModel<int> CreateGenerated(ModelOptions options) => new AttnS64(options);
    protected override ITrainableModel<int> CreateDynamic() => Dl.Dynamic.Dynamic.Create<AttnS64>(1);
}

/// <summary><c>attn_s64_d64_h4</c> inference on the batch of <see cref="AttentionTrainStep"/>. PyTorch's forward passes in
/// eval mode under <c>torch.inference_mode</c> take its fused inference path (<c>torch._transformer_encoder_layer_fwd</c>;
/// the worker checks that it is taken and says <c>fast_path=yes</c> in the banner the setup prints).</summary>
public class AttentionInferStep : ClassifierInferStep
{
    protected override string Workload => "attn_s64_d64_h4";
    protected override int InputSize => 64 * 64;
    protected override ITrainableModel<int> CreateGenerated(ModelOptions options) => new AttnS64(options);
    protected override ITrainableModel<int> CreateDynamic() => Dl.Dynamic.Dynamic.Create<AttnS64>(1);
}
