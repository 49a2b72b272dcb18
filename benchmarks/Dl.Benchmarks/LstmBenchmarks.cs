using BenchmarkDotNet.Attributes;
using Dl.Models;

namespace Dl.Benchmarks;

/// <summary><c>lstm_32_128_t35</c> (<see cref="LstmT35"/>: LSTM input 32, hidden 128 over 35 steps → last hidden state →
/// linear 128-10, softmax cross-entropy), one training step on [Batch, 35, 32] inputs (batch-first) at batch 1 and 32, in
/// the generated engine, the dynamic engine and PyTorch (a persistent <see cref="TorchWorker"/> running
/// <c>nn.LSTM(32, 128, batch_first=True)</c> + <c>nn.Linear(128, 10)</c>, one thread).</summary>
public class LstmTrainStep : WorkloadBenchmark
{
    internal const string Workload = "lstm_32_128_t35";
    /// <summary>Floats per sample: 35 steps of 32.</summary>
    internal const int InputSize = 35 * 32;

    private ITrainableModel<int> _generated = null!, _dynamic = null!;
    private TorchWorker? _torch;
    private float[] _x = null!;
    private int[] _y = null!;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup(Targets = [nameof(Generated), nameof(Dynamic)])]
    public void Setup()
    {
        _generated = new LstmT35(new ModelOptions { Seed = 1, MaxBatch = Batch, Threads = 1 });
        _dynamic = Dl.Dynamic.Dynamic.Create<LstmT35>(1);
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

    /// <summary>The fixed batch: standard-normal inputs [batch, 35, 32] and uniform labels 0..9 from
    /// <c>DlRandom.ForStream(1, "bench.data")</c>, as the other workloads.</summary>
    internal static (float[] X, int[] Y) Data(int batch)
    {
        var random = DlRandom.ForStream(1, "bench.data");
        float[] x = Normal(batch * InputSize, random);
        int[] y = Labels(batch, 10, random);
        return (x, y);
    }
}

/// <summary><c>lstm_32_128_t35</c> inference: one forward pass (evaluation mode, <see cref="IModel.Predict"/> into the
/// [Batch, 10] logits) on the batch of <see cref="LstmTrainStep"/>, at batch 1 and 32, in the generated engine, the dynamic
/// engine and PyTorch (the worker's <c>infer N</c>: forward passes under <c>torch.inference_mode</c>).</summary>
public class LstmInferStep : WorkloadBenchmark
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
        _generated = new LstmT35(new ModelOptions { Seed = 1, MaxBatch = Batch, Threads = 1 });
        _dynamic = Dl.Dynamic.Dynamic.Create<LstmT35>(1);
        (_x, _y) = LstmTrainStep.Data(Batch);
        _output = new float[Batch * 10];
        _generated.Training = false;
        _dynamic.Training = false;
    }

    [GlobalSetup(Target = nameof(PyTorch))]
    public void SetupPyTorch()
    {
        Setup();
        _torch = StartTorch(LstmTrainStep.Workload, _generated, _x, _y, Batch);
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
