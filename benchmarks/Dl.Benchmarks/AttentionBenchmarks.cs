using BenchmarkDotNet.Attributes;
using Dl.Models;

namespace Dl.Benchmarks;

/// <summary><c>attn_s64_d64_h4</c> (<see cref="AttnS64"/>: one post-norm transformer encoder layer over 64 positions of 64
/// features, 4 heads, feed-forward 256 with ReLU → mean over the sequence → linear 64-10, softmax cross-entropy), one
/// training step on [Batch, 64, 64] inputs (batch-first) at batch 1 and 32, in the generated engine, the dynamic engine
/// and PyTorch (a persistent <see cref="TorchWorker"/> running <c>nn.TransformerEncoderLayer(64, 4, 256, dropout=0.0,
/// batch_first=True)</c> + mean + <c>nn.Linear(64, 10)</c>, one thread).</summary>
public class AttentionTrainStep : WorkloadBenchmark
{
    internal const string Workload = "attn_s64_d64_h4";
    /// <summary>Floats per sample: 64 positions of 64 features.</summary>
    internal const int InputSize = 64 * 64;

    private ITrainableModel<int> _generated = null!, _dynamic = null!;
    private TorchWorker? _torch;
    private float[] _x = null!;
    private int[] _y = null!;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup(Targets = [nameof(Generated), nameof(Dynamic)])]
    public void Setup()
    {
        _generated = new AttnS64(new ModelOptions { Seed = 1, MaxBatch = Batch, Threads = 1 });
        _dynamic = Dl.Dynamic.Dynamic.Create<AttnS64>(1);
        (_x, _y) = Data(Batch);
    }

    [GlobalSetup(Target = nameof(PyTorch))]
    public void SetupPyTorch()
    {
        Setup();
        _torch = StartTorch(Workload, _generated, _x, _y, Batch);
    }

    [GlobalCleanup(Target = nameof(PyTorch))]
    public void CleanupPyTorch()
    {
        _torch?.Dispose();
        _torch = null;
    }

    [Benchmark(Baseline = true)]
    public float Generated() => _generated.TrainStep(_x, _y, Batch, GeneratedSgd);

    [Benchmark]
    public float Dynamic() => _dynamic.TrainStep(_x, _y, Batch, DynamicSgd);

    /// <summary><see cref="WorkloadBenchmark.TorchSteps"/> PyTorch training steps per invocation; reported per step.</summary>
    [Benchmark(OperationsPerInvoke = TorchSteps)]
    public void PyTorch() => _torch!.Run(TorchSteps);

    /// <summary>The fixed batch: standard-normal inputs [batch, 64, 64] and uniform labels 0..9 from
    /// <c>DlRandom.ForStream(1, "bench.data")</c>, as the other workloads.</summary>
    internal static (float[] X, int[] Y) Data(int batch)
    {
        var random = DlRandom.ForStream(1, "bench.data");
        float[] x = Normal(batch * InputSize, random);
        int[] y = Labels(batch, 10, random);
        return (x, y);
    }
}

/// <summary><c>attn_s64_d64_h4</c> inference: one forward pass (evaluation mode, <see cref="IModel.Predict"/> into the
/// [Batch, 10] logits) on the batch of <see cref="AttentionTrainStep"/>, at batch 1 and 32, in the generated engine, the
/// dynamic engine and PyTorch (the worker's <c>infer N</c>: forward passes in eval mode under
/// <c>torch.inference_mode</c>, which is PyTorch's fused inference path, <c>torch._transformer_encoder_layer_fwd</c>; the
/// worker checks that it is taken and says <c>fast_path=yes</c> in the banner the setup prints).</summary>
public class AttentionInferStep : WorkloadBenchmark
{
    private ITrainableModel<int> _generated = null!, _dynamic = null!;
    private TorchWorker? _torch;
    private float[] _x = null!, _output = null!;
    private int[] _y = null!;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup(Targets = [nameof(Generated), nameof(Dynamic)])]
    public void Setup()
    {
        _generated = new AttnS64(new ModelOptions { Seed = 1, MaxBatch = Batch, Threads = 1 });
        _dynamic = Dl.Dynamic.Dynamic.Create<AttnS64>(1);
        (_x, _y) = AttentionTrainStep.Data(Batch);
        _output = new float[Batch * 10];
        _generated.Training = false;
        _dynamic.Training = false;
    }

    [GlobalSetup(Target = nameof(PyTorch))]
    public void SetupPyTorch()
    {
        Setup();
        _torch = StartTorch(AttentionTrainStep.Workload, _generated, _x, _y, Batch);
    }

    [GlobalCleanup(Target = nameof(PyTorch))]
    public void CleanupPyTorch()
    {
        _torch?.Dispose();
        _torch = null;
    }

    [Benchmark(Baseline = true)]
    public void Generated() => _generated.Predict(_x, _output, Batch);

    [Benchmark]
    public void Dynamic() => _dynamic.Predict(_x, _output, Batch);

    /// <summary><see cref="WorkloadBenchmark.TorchSteps"/> PyTorch forward passes per invocation; reported per pass.</summary>
    [Benchmark(OperationsPerInvoke = TorchSteps)]
    public void PyTorch() => _torch!.Infer(TorchSteps);
}
