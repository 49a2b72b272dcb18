using BenchmarkDotNet.Attributes;

namespace Dl.Benchmarks;

/// <summary>A 10-class workload measured in the three engines at batch 1 and 32: the generated model, its dynamic twin
/// (same source, same initial weights) and PyTorch (a persistent <see cref="TorchWorker"/> given the same weights, one
/// thread). The batch is fixed: standard-normal inputs and uniform labels 0..9 from <c>DlRandom.ForStream(1,
/// "bench.data")</c>, as the other workloads. A workload supplies its name, its input size and its models.</summary>
public abstract class ClassifierWorkload : WorkloadBenchmark
{
    /// <summary>The workload's name in WORKLOADS.md, compare.sh and the PyTorch worker.</summary>
    protected abstract string Workload { get; }
    /// <summary>Floats per sample.</summary>
    protected abstract int InputSize { get; }
    protected abstract ITrainableModel<int> CreateGenerated(ModelOptions options);
    protected abstract ITrainableModel<int> CreateDynamic();

    protected ITrainableModel<int> GeneratedModel = null!, DynamicModel = null!;
    protected TorchWorker? Torch;
    protected float[] X = null!;
    protected int[] Y = null!;

    [Params(1, 32)]
    public int Batch { get; set; }

    [GlobalSetup(Targets = ["Generated", "Dynamic"])]
    public virtual void Setup()
    {
        GeneratedModel = CreateGenerated(new ModelOptions { Seed = 1, MaxBatch = Batch, Threads = 1 });
        DynamicModel = CreateDynamic();
        var random = DlRandom.ForStream(1, "bench.data");
        X = Normal(Batch * InputSize, random);
        Y = Labels(Batch, 10, random);
    }

    [GlobalSetup(Target = "PyTorch")]
    public void SetupPyTorch()
    {
        Setup();
        Torch = StartTorch(Workload, GeneratedModel, X, Y, Batch);
    }

    [GlobalCleanup(Target = "PyTorch")]
    public void CleanupPyTorch()
    {
        Torch?.Dispose();
        Torch = null;
    }
}

/// <summary>One training step (forward, loss, backward, SGD update) of a <see cref="ClassifierWorkload"/>.</summary>
public abstract class ClassifierTrainStep : ClassifierWorkload
{
    [Benchmark(Baseline = true)]
    public float Generated() => GeneratedModel.TrainStep(X, Y, Batch, GeneratedSgd);

    [Benchmark]
    public float Dynamic() => DynamicModel.TrainStep(X, Y, Batch, DynamicSgd);

    /// <summary><see cref="WorkloadBenchmark.TorchSteps"/> PyTorch training steps per invocation; reported per step.</summary>
    [Benchmark(OperationsPerInvoke = TorchSteps)]
    public void PyTorch() => Torch!.Run(TorchSteps);
}

/// <summary>One forward pass in evaluation mode (<see cref="IModel.Predict"/> into the [Batch, 10] logits) of a
/// <see cref="ClassifierWorkload"/>; PyTorch's worker runs <c>infer N</c>: forward passes in eval mode under
/// <c>torch.inference_mode</c>.</summary>
public abstract class ClassifierInferStep : ClassifierWorkload
{
    private float[] _output = null!;

    public override void Setup()
    {
        base.Setup();
        _output = new float[Batch * 10];
        GeneratedModel.Training = false;
        DynamicModel.Training = false;
    }

    [Benchmark(Baseline = true)]
    public void Generated() => GeneratedModel.Predict(X, _output, Batch);

    [Benchmark]
    public void Dynamic() => DynamicModel.Predict(X, _output, Batch);

    /// <summary><see cref="WorkloadBenchmark.TorchSteps"/> PyTorch forward passes per invocation; reported per pass.</summary>
    [Benchmark(OperationsPerInvoke = TorchSteps)]
    public void PyTorch() => Torch!.Infer(TorchSteps);
}
