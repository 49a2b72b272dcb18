using System.Diagnostics;
using Dl.Checkpoints;
using Dl.Data;
using Dl.Models;
using Dl.Training;

namespace Dl.Tests;

/// <summary>The runtime's trainer on generated models: the same weights as a hand-written loop, no allocation per step,
/// and a run resumed from a checkpoint in a new process that ends bit for bit where an uninterrupted run ends.</summary>
public sealed class TrainerModelTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dl-trainer-models-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static int[] Bits(ReadOnlySpan<float> values) => values.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    /// <summary>n images [3, 9, 11] for SpatialZoo with 4 classes: the label is which quarter of the image is brightest.</summary>
    internal static Dataset ZooImages(int n, ulong seed)
    {
        var random = new DlRandom(seed);
        var x = new float[n * 297];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            y[i] = random.NextInt(4);
            for (int c = 0; c < 3; c++)
                for (int r = 0; r < 9; r++)
                    for (int q = 0; q < 11; q++)
                        x[i * 297 + (c * 9 + r) * 11 + q] = random.NextFloat() + ((r < 5) == (y[i] < 2) && (q < 6) == (y[i] % 2 == 0) ? 0.5f : 0f);
        }
        return new Dataset(x, y, 4, [3, 9, 11]);
    }

    /// <summary>The resume check's run: SpatialZoo (batch norm's running statistics, dropout keyed by DropoutStep), Adam
    /// with a warm-up + cosine schedule per step, clipping, a validation set, augmentation (random shifts and flips)
    /// and 4 epochs of 6 batches. Built the same way in this process and in the child.</summary>
    internal static Trainer<int> ResumeRun(out SpatialZoo model)
    {
        model = new SpatialZoo(new ModelOptions { Seed = 3, MaxBatch = 8 });
        Dataset train = ZooImages(45, 1), validation = ZooImages(10, 2);
        var loader = new DataLoader(train, 8, seed: 5, augmentation: new ImageAugmentation(7).RandomShift(1).RandomHorizontalFlip());
        return new Trainer<int>(model, new Adam(0.005f), loader, validation, new TrainerOptions
        {
            Epochs = 4,
            Schedule = new WarmupCosine(0.005f, 3, 4 * 6),
            ClipNorm = 2f,
            Patience = 10,
            CheckpointMetadata = new Dictionary<string, string> { ["seed"] = "3" },
        });
    }

    /// <summary>What the child process runs (<c>dotnet Dl.Models.Tests.dll resume-trainer IN OUT</c>, see Program.cs):
    /// builds the run from scratch, resumes from IN, trains the remaining epochs and saves the end of the run to OUT.</summary>
    internal static void ResumeInChild(string checkpoint, string output)
    {
        Trainer<int> trainer = ResumeRun(out _);
        trainer.LoadCheckpoint(checkpoint);
        TrainingHistory history = trainer.Fit();
        if (history.Epochs.Count != 2) throw new InvalidOperationException($"the resumed run trained {history.Epochs.Count} epochs, not 2");
        trainer.SaveCheckpoint(output);
    }

    /// <summary>The check: on one thread, training 4 epochs equals training 2, saving, loading in a new process
    /// and training 2 more, bit for bit: every tensor of the final checkpoints (parameters, running statistics, Adam's
    /// moments) and every metadata entry (step counts, DropoutStep, the loader's place, the best validation loss).</summary>
    [Fact]
    public void FourEpochs_EqualTwo_SavedAndResumedInANewProcess_ForTwoMore()
    {
        Trainer<int> whole = ResumeRun(out _);
        Assert.Equal(4, whole.Fit().Epochs.Count);
        string expected = Path.Combine(_folder, "whole.safetensors");
        whole.SaveCheckpoint(expected);

        Trainer<int> half = ResumeRun(out SpatialZoo halfModel);
        half.TrainEpoch();
        half.TrainEpoch();
        string middle = Path.Combine(_folder, "after-2.safetensors");
        half.SaveCheckpoint(middle);
        Assert.NotEqual(0, halfModel.DropoutStep);

        string resumed = Path.Combine(_folder, "resumed.safetensors");
        string dll = typeof(TrainerModelTests).Assembly.Location;
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host
            : Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var start = new ProcessStartInfo(dotnet) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string arg in new[] { dll, "resume-trainer", middle, resumed }) start.ArgumentList.Add(arg);
        using (Process child = Process.Start(start)!)
        {
            string output = child.StandardOutput.ReadToEnd(), errors = child.StandardError.ReadToEnd();
            child.WaitForExit();
            Assert.True(child.ExitCode == 0, $"the child process failed ({child.ExitCode}): {output}{errors}");
            Assert.NotEqual(Environment.ProcessId, child.Id);
        }

        IReadOnlyDictionary<string, SafetensorsTensor> a = Safetensors.ReadAll(expected), b = Safetensors.ReadAll(resumed);
        Assert.Equal(a.Keys, b.Keys);
        Assert.Contains(a.Keys, k => k.StartsWith("optimizer/exp_avg_sq/", StringComparison.Ordinal));
        Assert.Contains(a.Keys, k => k.EndsWith("running_mean", StringComparison.Ordinal) || k.EndsWith("running_var", StringComparison.Ordinal));
        foreach (string name in a.Keys) Assert.True(Bits(a[name].Data).SequenceEqual(Bits(b[name].Data)), $"tensor '{name}' differs");
        IReadOnlyDictionary<string, string> ma = Safetensors.ReadMetadata(expected), mb = Safetensors.ReadMetadata(resumed);
        Assert.Equal(ma.OrderBy(kv => kv.Key), mb.OrderBy(kv => kv.Key));
        Assert.Equal("SpatialZoo", ma[Safetensors.ModelKey]);
        Assert.Equal("24", ma["dl.trainer.global_step"]);
        Assert.Equal("3", ma["seed"]);
    }

    /// <summary>The trainer's loop is the loop the CLI wrote by hand: same loader, schedule per step, clipping; on a
    /// generated model with batch norm, dropout and augmentation it trains the same weights and running statistics.</summary>
    [Fact]
    public void Trainer_OnAGeneratedModel_MatchesTheHandWrittenLoop_BitForBit()
    {
        Dataset train = ZooImages(45, 1);
        var schedule = new WarmupCosine(0.005f, 3, 3 * 6);
        var reference = new SpatialZoo(new ModelOptions { Seed = 3, MaxBatch = 8 });
        var adam = new Adam(0.005f);
        var clipped = new Clipped(adam, maxNorm: 2f);
        var loader = new DataLoader(train, 8, seed: 5, augmentation: new ImageAugmentation(7).RandomShift(1).RandomHorizontalFlip());
        long step = 0;
        for (int epoch = 0; epoch < 3; epoch++)
        {
            reference.Training = true;
            while (loader.NextBatch(out ReadOnlySpan<float> x, out ReadOnlySpan<int> y))
            {
                adam.LearningRate = schedule.At(step++);
                reference.TrainStep(x, y, y.Length, clipped);
            }
        }

        var model = new SpatialZoo(new ModelOptions { Seed = 3, MaxBatch = 8 });
        var trainer = new Trainer<int>(model, new Adam(0.005f),
            new DataLoader(train, 8, seed: 5, augmentation: new ImageAugmentation(7).RandomShift(1).RandomHorizontalFlip()),
            ZooImages(10, 2), new TrainerOptions { Epochs = 3, Schedule = schedule, ClipNorm = 2f });
        trainer.Fit();
        Assert.Equal(Bits(reference.Parameters), Bits(model.Parameters));
        Assert.Equal(Bits(reference.State), Bits(model.State));
        Assert.Equal(reference.DropoutStep, model.DropoutStep);   // evaluation in between advanced nothing
    }

    /// <summary>A training step through the trainer allocates nothing: the bytes this thread allocated, read in the step
    /// event, do not change from one step to the next inside an epoch (steps during which a collection ran are not counted:
    /// it retires the thread's allocation context, see Allocation).</summary>
    [Fact]
    public void TrainerStep_AllocatesNothing()
    {
        const int batch = 32, steps = 12;
        var random = new DlRandom(1);
        var x = new float[batch * steps * 784];
        for (int i = 0; i < x.Length; i++) x[i] = random.NextFloat();
        var y = new int[batch * steps];
        for (int i = 0; i < y.Length; i++) y[i] = random.NextInt(10);
        var data = new Dataset(x, y, 10, [784]);
        var model = new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = batch });
        var trainer = new Trainer<int>(model, new Adam(1e-3f), new DataLoader(data, batch, seed: 2), data.Subset(0, 64),
            new TrainerOptions { Epochs = 3, Schedule = new WarmupCosine(1e-3f, 5, 3 * steps), ClipNorm = 1f });
        var bytes = new long[3 * steps];
        var collections = new int[3 * steps];
        trainer.StepCompleted += s =>
        {
            bytes[s.GlobalStep - 1] = GC.GetAllocatedBytesForCurrentThread();
            collections[s.GlobalStep - 1] = GC.CollectionCount(0);
        };
        trainer.Fit();
        int measured = 0;
        for (int s = steps + 1; s < 3 * steps; s++)
        {
            if (s % steps == 0 || collections[s] != collections[s - 1]) continue;   // an epoch boundary, or a collection
            Assert.True(bytes[s] == bytes[s - 1], $"step {s + 1} allocated {bytes[s] - bytes[s - 1]} bytes");
            measured++;
        }
        Assert.True(measured >= steps, $"only {measured} steps were measured without a collection");
    }

    /// <summary>A regression on a CSV table end to end: columns by name, a seeded split, standardization fitted on the
    /// training split only (the raw features differ in scale by 10⁴), a generated model trained on float targets.</summary>
    [Fact]
    public void CsvRegression_SplitStandardizedAndTrained()
    {
        var text = new System.Text.StringBuilder("id,size,ratio,rooms,price\n");
        var random = new DlRandom(5);
        for (int i = 0; i < 400; i++)
        {
            double size = random.NextNormal(100, 20), ratio = random.NextNormal(0, 0.01), rooms = random.NextNormal(3, 1);
            double price = 0.02 * (size - 100) - 60 * ratio + 0.3 * (rooms - 3) * (rooms - 3) + random.NextNormal(0, 0.02);
            text.Append(System.FormattableString.Invariant($"{i},{size:R},{ratio:R},{rooms:R},{price:R}\n"));
        }
        string path = Path.Combine(_folder, "houses.csv");
        File.WriteAllText(path, text.ToString());
        Dataset table = Csv.Load(path, new CsvOptions { TargetColumns = ["price"], IgnoreColumns = ["id"] });
        using (var reader = new CsvReader(path, new CsvOptions { TargetColumns = ["price"], IgnoreColumns = ["id"] }))
            Assert.Equal(["size", "ratio", "rooms"], reader.FeatureColumns);
        (Dataset train, Dataset validation) = table.Split(0.25, seed: 2);
        Standardizer scale = Standardizer.Fit(train);
        scale.Apply(train);
        scale.Apply(validation);

        var model = new TableRegressor(new ModelOptions { Seed = 1, MaxBatch = 16 });
        var trainer = new Trainer<float>(model, new Adam(0.01f), new DataLoader(train, 16, seed: 3), validation,
            new TrainerOptions { Epochs = 60, Schedule = new CosineAnnealing(0.01f, 60 * 19), CheckpointMetadata = scale.ToMetadata() });
        TrainingHistory history = trainer.Fit();
        double variance = validation.Targets!.Select(t => (double)t).Select(t => t * t).Average()
                          - Math.Pow(validation.Targets!.Average(t => (double)t), 2);
        EvaluationResult last = history.Epochs[^1].Validation!;
        Assert.True(last.MeanSquaredError < 0.05 * variance, $"validation MSE {last.MeanSquaredError} against a variance of {variance}");
        Assert.True(last.MeanAbsoluteError > 0);
        Assert.Equal(history.Epochs.Min(e => e.Validation!.Loss), history.BestValue);
    }

    /// <summary>A float-target classifier trained on labels: the trainer builds the smoothed one-hot rows
    /// (1 − s)·onehot + s/classes, as the CLI's patch-transformer recipe did by hand, and reports accuracy.</summary>
    [Fact]
    public void LabelSmoothing_OnAFloatTargetClassifier_MatchesTheHandWrittenLoop()
    {
        var random = new DlRandom(9);
        var x = new float[60 * 6];
        var y = new int[60];
        for (int i = 0; i < 60; i++)
        {
            for (int j = 0; j < 6; j++) x[i * 6 + j] = (float)random.NextNormal();
            y[i] = (x[i * 6] > 0 ? 1 : 0) + (x[i * 6 + 1] > 0 ? 2 : 0);
        }
        var data = new Dataset(x, y, 4);
        const float smoothing = 0.1f;

        var reference = new ProbabilityTargets(new ModelOptions { Seed = 2, MaxBatch = 8 });
        var adam = new Adam(0.02f);
        var loader = new DataLoader(data, 8, seed: 4);
        var targets = new float[8 * 4];
        for (int epoch = 0; epoch < 3; epoch++)
        {
            while (loader.NextBatch(out ReadOnlySpan<float> bx, out ReadOnlySpan<int> by))
            {
                float off = smoothing / 4;
                targets.AsSpan(0, by.Length * 4).Fill(off);
                for (int i = 0; i < by.Length; i++) targets[i * 4 + by[i]] += 1 - smoothing;
                reference.TrainStep(bx, targets.AsSpan(0, by.Length * 4), by.Length, adam);
            }
        }

        var model = new ProbabilityTargets(new ModelOptions { Seed = 2, MaxBatch = 8 });
        var trainer = new Trainer<float>(model, new Adam(0.02f), new DataLoader(data, 8, seed: 4), data,
            new TrainerOptions { Epochs = 3, LabelSmoothing = smoothing });
        EvaluationResult v = trainer.Fit().Epochs[^1].Validation!;
        Assert.Equal(Bits(reference.Parameters), Bits(model.Parameters));
        Assert.NotNull(v.Confusion);
        Assert.Equal(60, v.Confusion!.Total);
        Assert.InRange(v.Accuracy, 0, 1);
    }
}
