using Dl.Data;
using Dl.Training;
using DynamicModel = Dl.Dynamic.DynamicModel;
using Precision = Dl.Dynamic.Precision;

namespace Dl.Tests;

/// <summary>The trainer's data-parallel hook (<see cref="IDataParallel"/>) with an in-process fake: where and how often
/// it is called, the shard a rank computes, and what a rank other than 0 leaves out. The MPI runs themselves are in
/// tests/Dl.Distributed.Tests.</summary>
public sealed class DataParallelHookTests
{
    private sealed class FakeRanks(int rank, int ranks) : IDataParallel
    {
        public int Rank => rank;
        public int Ranks => ranks;
        public int Starts, Reductions, Sums, Broadcasts;
        public string Settings = "";
        public List<(int Local, int Global)> Shards = [];

        public void Start(IModel model, string settings)
        {
            Starts++;
            Settings = settings;
        }

        public void ReduceGradients(IModel model, int localSamples, int globalSamples)
        {
            Reductions++;
            Shards.Add((localSamples, globalSamples));
        }

        public double Sum(double value)
        {
            Sums++;
            return value * ranks; // as if every rank had the same loss
        }

        public double FromLeader(double value)
        {
            Broadcasts++;
            return value;
        }
    }

    private static DynamicModel NewMlp() => Dl.Dynamic.Dynamic.Create<Tests.DynamicTape.Mlp>(3, Precision.Single);

    [Fact]
    public void OneRank_TrainsTheSameBits_AndCallsEachHookWhereDocumented()
    {
        Dataset train = TrainerTests.Classes(20, 1);
        DynamicModel plain = NewMlp(), hooked = NewMlp();
        new Trainer<int>(plain, new Sgd(0.1f, momentum: 0.9f), new DataLoader(train, 8, seed: 2), null, new TrainerOptions { Epochs = 2 }).Fit();
        var fake = new FakeRanks(0, 1);
        var trainer = new Trainer<int>(hooked, new Sgd(0.1f, momentum: 0.9f), new DataLoader(train, 8, seed: 2), null,
            new TrainerOptions { Epochs = 2, DataParallel = fake });
        TrainingHistory history = trainer.Fit();
        Assert.Equal(plain.Parameters.ToArray(), hooked.Parameters.ToArray());
        Assert.True(trainer.IsLeader);
        Assert.Equal(1, fake.Starts);
        Assert.Contains("model ", fake.Settings);
        Assert.Contains("batch 8", fake.Settings);
        Assert.Equal(6, fake.Reductions);                 // 3 batches (8, 8, 4) × 2 epochs
        Assert.Equal([(8, 8), (8, 8), (4, 4)], fake.Shards.Take(3));
        Assert.Equal(6, fake.Sums);
        Assert.Equal(2, fake.Broadcasts);                 // the monitored metric, once per epoch
        Assert.Equal(6, hooked.DropoutStep);
        Assert.True(double.IsFinite(history.Epochs[^1].TrainingLoss));
    }

    [Fact]
    public void SecondOfTwoRanks_ComputesItsShard_EvaluatesAndSavesNothing()
    {
        Dataset train = TrainerTests.Classes(20, 1);
        string checkpoint = Path.Combine(Path.GetTempPath(), $"dl-parallel-{Guid.NewGuid():N}.safetensors");
        var fake = new FakeRanks(1, 2);
        DynamicModel model = NewMlp();
        var trainer = new Trainer<int>(model, new Sgd(0.1f), new DataLoader(train, 8, seed: 2), TrainerTests.Classes(6, 2),
            new TrainerOptions { Epochs = 1, DataParallel = fake, CheckpointPath = checkpoint });
        EpochResult result = trainer.Fit().Epochs.Single();
        Assert.False(trainer.IsLeader);
        Assert.Equal([(4, 8), (4, 8), (2, 4)], fake.Shards);   // [⌊rB/R⌋, ⌊(r+1)B/R⌋) of 8, 8 and 4
        Assert.Null(result.Validation);
        Assert.False(File.Exists(checkpoint));
        Assert.Equal(3, model.DropoutStep);                   // s + 1 per step on every rank
    }
}
