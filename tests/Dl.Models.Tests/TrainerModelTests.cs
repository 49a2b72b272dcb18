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
}
