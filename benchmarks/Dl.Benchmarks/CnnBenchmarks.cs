using BenchmarkDotNet.Attributes;
using Dl.Models;

namespace Dl.Benchmarks;

/// <summary><c>cnn_lenetish</c> (<see cref="LenetCnn"/>: conv 3x3x8 → ReLU → max pool → conv 3x3x16 → ReLU → max pool →
/// linear 784-10, softmax cross-entropy) on [Batch, 1, 28, 28] inputs at batch 1, 32 and 256, in the generated engine,
/// the dynamic engine and PyTorch (a persistent <see cref="TorchWorker"/>, one thread).</summary>
public class CnnTrainStep : WorkloadBenchmark
{
    private const string Workload = "cnn_lenetish";

    private ITrainableModel<int> _generated = null!, _dynamic = null!;
    private TorchWorker? _torch;
    private float[] _x = null!;
    private int[] _y = null!;

    [Params(1, 32, 256)]
    public int Batch { get; set; }

    [GlobalSetup(Targets = [nameof(Generated), nameof(Dynamic)])]
    public void Setup()
    {
        _generated = new LenetCnn(new ModelOptions { Seed = 1, MaxBatch = Batch, Threads = 1 });
        _dynamic = Dl.Dynamic.Dynamic.Create<LenetCnn>(1);
        var random = DlRandom.ForStream(1, "bench.data");
        _x = Normal(Batch * 784, random);   // [Batch, 1, 28, 28]
        _y = Labels(Batch, 10, random);
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
}
