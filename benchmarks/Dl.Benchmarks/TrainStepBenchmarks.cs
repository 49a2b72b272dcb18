using BenchmarkDotNet.Attributes;
using Dl.Models;

namespace Dl.Benchmarks;

/// <summary>The workloads of WORKLOADS.md as BenchmarkDotNet benchmarks: one training step (forward, loss, backward,
/// plain SGD lr 0.01) on one fixed batch of standard-normal inputs and uniform labels (standard-normal targets),
/// in the generated and the dynamic engine and, for the classification workloads, PyTorch (a persistent
/// <see cref="TorchWorker"/>: one invocation runs <see cref="TorchSteps"/> steps in the worker).</summary>
public abstract class WorkloadBenchmark
{
    /// <summary>Training steps per PyTorch invocation (one pipe round trip), so that even the fastest workload's
    /// invocation takes several ms and the round trip (tens of µs) is a small share of it.</summary>
    public const int TorchSteps = 64;

    // Optimizers keep per-block state: one per model.
    protected readonly Sgd GeneratedSgd = new(0.01f), DynamicSgd = new(0.01f);

    /// <summary>Starts a PyTorch worker for <paramref name="workload"/> from <paramref name="model"/>'s initial weights
    /// and the batch, and checks that PyTorch computes the same initial loss as <paramref name="model"/> (so both run
    /// the same model on the same data).</summary>
    protected static TorchWorker StartTorch(string workload, ITrainableModel<int> model, float[] x, int[] y, int batch)
    {
        var worker = TorchWorker.Start(workload, model, x, y, batch);
        float expected = model.Loss(x, y, batch);
        if (!(Math.Abs(worker.InitialLoss - expected) <= 1e-3f * Math.Max(1f, Math.Abs(expected))))
        {
            worker.Dispose();
            throw new InvalidOperationException(
                $"PyTorch worker of {workload} (batch {batch}): initial loss {worker.InitialLoss} differs from the generated engine's {expected}.");
        }
        Console.WriteLine($"// TorchWorker {workload} batch {batch}: initial loss {worker.InitialLoss} (generated {expected}), {worker.Banner}");
        return worker;
    }

    protected static float[] Normal(int count, DlRandom random)
    {
        var values = new float[count];
        random.FillNormal(values);
        return values;
    }

    protected static int[] Labels(int count, int classes, DlRandom random)
    {
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = random.NextInt(classes);
        return labels;
    }
}

/// <summary>Classification MLPs 784-128-10 and 784-1024-512-10 (softmax cross-entropy) at batch 1, 32 and 256.</summary>
public class MlpTrainStep : WorkloadBenchmark
{
    private ITrainableModel<int> _generated = null!, _dynamic = null!;
    private TorchWorker? _torch;
    private float[] _x = null!;
    private int[] _y = null!;

    [Params("mlp_784_128_10", "mlp_784_1024_512_10")]
    public string Workload { get; set; } = "mlp_784_128_10";

    [Params(1, 32, 256)]
    public int Batch { get; set; }

    [GlobalSetup(Targets = [nameof(Generated), nameof(Dynamic)])]
    public void Setup()
    {
        var options = new ModelOptions { Seed = 1, MaxBatch = Batch, Threads = 1 };
        if (Workload == "mlp_784_128_10")
        {
            _generated = new FashionMlp(options);
            _dynamic = Dl.Dynamic.Dynamic.Create<FashionMlp>(1);
        }
        else
        {
            _generated = new WideMlp(options);
            _dynamic = Dl.Dynamic.Dynamic.Create<WideMlp>(1);
        }
        var random = DlRandom.ForStream(1, "bench.data");
        _x = Normal(Batch * 784, random);
        _y = Labels(Batch, 10, random);
    }

    [Benchmark(Baseline = true)]
    public float Generated() => _generated.TrainStep(_x, _y, Batch, GeneratedSgd);

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

    [Benchmark]
    public float Dynamic() => _dynamic.TrainStep(_x, _y, Batch, DynamicSgd);

    /// <summary><see cref="TorchSteps"/> PyTorch training steps (one thread) per invocation; reported per step.</summary>
    [Benchmark(OperationsPerInvoke = TorchSteps)]
    public void PyTorch() => _torch!.Run(TorchSteps);
}

/// <summary>XOR 2-2-1 (sigmoid, MSE) at its batch of 4.</summary>
public class XorTrainStep : WorkloadBenchmark
{
    private readonly XorNet _generated = new(new ModelOptions { Seed = 1, MaxBatch = 4 });
    private readonly Dl.Dynamic.DynamicModel _dynamic = Dl.Dynamic.Dynamic.Create<XorNet>(1);
    private readonly float[] _x, _y;

    public XorTrainStep()
    {
        var random = DlRandom.ForStream(1, "bench.data");
        _x = Normal(8, random);
        _y = Normal(4, random);
    }

    [Benchmark(Baseline = true)]
    public float Generated() => _generated.TrainStep(_x, _y, 4, GeneratedSgd);

    [Benchmark]
    public float Dynamic() => _dynamic.TrainStep(_x, (ReadOnlySpan<float>)_y, 4, DynamicSgd);
}

/// <summary>D-GEX 943-3000-3000-9520 (tanh, MSE) at batch 200, generated engine only (one step takes about a second).</summary>
public class DgexTrainStep : WorkloadBenchmark
{
    private Dgex _generated = null!;
    private float[] _x = null!, _y = null!;

    [GlobalSetup]
    public void Setup()
    {
        _generated = new Dgex(new ModelOptions { Seed = 1, MaxBatch = 200, Threads = 1 });
        var random = DlRandom.ForStream(1, "bench.data");
        _x = Normal(200 * 943, random);
        _y = Normal(200 * 9520, random);
    }

    [Benchmark]
    public float Generated() => _generated.TrainStep(_x, _y, 200, GeneratedSgd);
}
