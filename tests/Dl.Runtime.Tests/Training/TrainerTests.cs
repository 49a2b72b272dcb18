using Dl.Checkpoints;
using Dl.Data;
using Dl.Training;
using Dl.Tests.DynamicTape;
using static Dl.Ops;
using DynamicModel = Dl.Dynamic.DynamicModel;
using Precision = Dl.Dynamic.Precision;

namespace Dl.Tests;

/// <summary>The trainer on tape models (the generated-model checks, zero allocation and the resume in a new process are
/// in Dl.Models.Tests/TrainerModelTests.cs): the same weights as a hand-written loop, schedules per step and per epoch,
/// metrics, early stopping, events, float targets, and checkpoints that resume exactly or are refused.</summary>
public sealed class TrainerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dl-trainer-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string PathOf(string name) => Path.Combine(_folder, name);

    /// <summary>n samples of Mlp's 6 features with a learnable label (the sign pattern of two features) and some noise.</summary>
    internal static Dataset Classes(int n, ulong seed)
    {
        var random = new DlRandom(seed);
        var x = new float[n * Mlp.In];
        var y = new int[n];
        for (int i = 0; i < n; i++)
        {
            for (int j = 0; j < Mlp.In; j++) x[i * Mlp.In + j] = (float)random.NextNormal();
            y[i] = x[i * Mlp.In] > 0.3f ? 2 : x[i * Mlp.In + 1] > 0 ? 1 : 0;
        }
        return new Dataset(x, y, Mlp.Classes);
    }

    private static DynamicModel NewMlp(ulong seed = 3) => Dl.Dynamic.Dynamic.Create<Mlp>(seed, Precision.Single);

    private static int[] Bits(ReadOnlySpan<float> values) => values.ToArray().Select(BitConverter.SingleToInt32Bits).ToArray();

    [Fact]
    public void Trainer_TrainsTheSameWeightsAsAHandWrittenLoop_BitForBit()
    {
        Dataset train = Classes(53, 1), validation = Classes(17, 2);
        const int epochs = 3, batch = 8;
        var schedule = new WarmupCosine(0.01f, 4, epochs * 7);

        // The loop every CLI command used to write.
        DynamicModel reference = NewMlp();
        var adam = new Adam(0.01f);
        var clipped = new Clipped(adam, maxNorm: 0.5f);
        var loader = new DataLoader(train, batch, seed: 9);
        var losses = new List<double>();
        long step = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            reference.Training = true;
            double sum = 0;
            while (loader.NextBatch(out ReadOnlySpan<float> x, out ReadOnlySpan<int> y))
            {
                adam.LearningRate = schedule.At(step++);
                sum += (double)reference.TrainStep(x, y, y.Length, clipped) * y.Length;
            }
            losses.Add(sum / train.Count);
        }

        DynamicModel model = NewMlp();
        var trainer = new Trainer<int>(model, new Adam(0.01f), new DataLoader(train, batch, seed: 9), validation,
            new TrainerOptions { Epochs = epochs, Schedule = schedule, ClipNorm = 0.5f });
        Assert.Equal(epochs * 7, trainer.TotalSteps);
        TrainingHistory history = trainer.Fit();

        Assert.Equal(Bits(reference.Parameters), Bits(model.Parameters));
        Assert.Equal(losses, history.Epochs.Select(e => e.TrainingLoss));
        Assert.Equal(StopReason.Completed, history.StopReason);
        Assert.Equal(epochs * 7, trainer.GlobalStep);
        Assert.Equal(schedule.At(epochs * 7 - 1), history.Epochs[^1].LearningRate);
        Assert.All(history.Epochs, e => Assert.True(e.GradientNormMax >= e.GradientNormMean && e.GradientNormMean > 0));

        // Validation: the loss, accuracy and confusion matrix of evaluation-mode predictions.
        EvaluationResult v = history.Epochs[^1].Validation!;
        var logits = new float[validation.Count * Mlp.Classes];
        reference.Training = false;
        reference.Predict(validation.X, logits, validation.Count);
        var confusion = new ConfusionMatrix(Mlp.Classes);
        confusion.Add(logits, validation.Labels);
        Assert.Equal(confusion.ToString(), v.Confusion!.ToString());
        Assert.Equal(Metrics.Accuracy(logits, Mlp.Classes, validation.Labels), (float)v.Accuracy);
        Assert.Equal(reference.Loss(validation.X, validation.Labels, validation.Count), v.Loss, 1e-6);
        Assert.True(double.IsNaN(v.MeanSquaredError));
        Assert.Equal(validation.Count, v.Samples);
        Assert.True(model.Training, "the trainer leaves the model in training mode, as it found it");
    }

    [Fact]
    public void Schedule_PerEpoch_SetsTheRateAtEachEpochStart_PerStep_BeforeEachStep()
    {
        Dataset train = Classes(20, 1);
        var perEpoch = new List<(int Epoch, float Rate)>();
        var trainer = new Trainer<int>(NewMlp(), new Sgd(1f), new DataLoader(train, 8, seed: 1), null,
            new TrainerOptions { Epochs = 3, Schedule = new ExponentialDecay(0.1f, 0.5f), ScheduleUnit = ScheduleUnit.Epoch });
        trainer.StepCompleted += s => perEpoch.Add((s.Epoch, s.LearningRate));
        trainer.Fit();
        Assert.Equal(9, perEpoch.Count);
        Assert.All(perEpoch, p => Assert.Equal(new ExponentialDecay(0.1f, 0.5f).At(p.Epoch - 1), p.Rate));

        var perStep = new List<float>();
        var oneCycle = new OneCycle(0.1f, 9);
        var stepped = new Trainer<int>(NewMlp(), new Sgd(1f), new DataLoader(train, 8, seed: 1), null,
            new TrainerOptions { Epochs = 3, Schedule = oneCycle });
        stepped.StepCompleted += s => perStep.Add(s.LearningRate);
        stepped.Fit();
        Assert.Equal(Enumerable.Range(0, 9).Select(t => oneCycle.At(t)), perStep);
    }

    [Fact]
    public void Events_ReportEveryStepAndEpoch()
    {
        Dataset train = Classes(21, 1);
        var steps = new List<StepProgress>();
        var epochs = new List<EpochResult>();
        var trainer = new Trainer<int>(NewMlp(), new Adam(0.01f), new DataLoader(train, 8, seed: 1), Classes(5, 3), new TrainerOptions { Epochs = 2 });
        trainer.StepCompleted += steps.Add;
        trainer.EpochCompleted += epochs.Add;
        TrainingHistory history = trainer.Fit();
        Assert.Equal(6, steps.Count);
        Assert.Equal([1, 2, 3, 1, 2, 3], steps.Select(s => s.Step));
        Assert.Equal([1, 1, 1, 2, 2, 2], steps.Select(s => s.Epoch));
        Assert.Equal([8, 8, 5, 8, 8, 5], steps.Select(s => s.BatchSize));
        Assert.Equal(Enumerable.Range(1, 6).Select(i => (long)i), steps.Select(s => s.GlobalStep));
        Assert.All(steps, s => Assert.Equal(3, s.StepsPerEpoch));
        Assert.All(steps, s => Assert.True(float.IsNaN(s.GradientNorm)));
        Assert.Equal((8.0 * steps[0].Loss + 8.0 * steps[1].Loss + 5.0 * steps[2].Loss) / 21, epochs[0].TrainingLoss, 12);
        Assert.Equal(steps[2].MeanLoss, epochs[0].TrainingLoss);
        Assert.Equal(history.Epochs, epochs);
        Assert.Equal([1, 2], epochs.Select(e => e.Epoch));
        Assert.All(epochs, e => Assert.Equal(21, e.Samples));
    }

    [Fact]
    public void EarlyStopping_StopsAfterPatienceEpochsWithoutImprovement()
    {
        // A zero learning rate: the training loss of every epoch is the first one's, so nothing improves after epoch 1.
        var trainer = new Trainer<int>(NewMlp(), new Sgd(0f, momentum: 0.5f), new DataLoader(Classes(16, 1), 8, shuffle: false), null,
            new TrainerOptions { Epochs = 20, Patience = 3 });
        TrainingHistory history = trainer.Fit();
        Assert.Equal(StopReason.EarlyStopping, history.StopReason);
        Assert.Equal(4, history.Epochs.Count);
        Assert.Equal(1, history.BestEpoch);
        Assert.Equal([true, false, false, false], history.Epochs.Select(e => e.IsBest));
        Assert.Equal(MonitorMetric.TrainingLoss, trainer.Monitor);
    }

    [Fact]
    public void BestCheckpoint_HoldsTheBestEpoch_ByValidationAccuracy()
    {
        string best = PathOf("best.safetensors");
        DynamicModel model = NewMlp();
        float[]? bestWeights = null;
        var trainer = new Trainer<int>(model, new Adam(0.02f), new DataLoader(Classes(64, 1), 8, seed: 2), Classes(30, 5),
            new TrainerOptions { Epochs = 6, Monitor = MonitorMetric.ValidationAccuracy, BestCheckpointPath = best });
        trainer.EpochCompleted += e => { if (e.IsBest) bestWeights = model.Parameters.ToArray(); };
        TrainingHistory history = trainer.Fit();
        double top = history.Epochs.Max(e => e.Validation!.Accuracy);
        Assert.Equal(top, history.BestValue);
        Assert.Equal(history.Epochs.First(e => e.Validation!.Accuracy == top).Epoch, history.BestEpoch);
        var loaded = new float[model.Description.ParameterCount];
        Safetensors.Load(best, model.Description, loaded);   // a training checkpoint loads as plain weights
        Assert.Equal(Bits(bestWeights), Bits(loaded));
        Assert.Equal("Mlp", Safetensors.ReadMetadata(best)[Safetensors.ModelKey]);
        Assert.Equal(Safetensors.LibraryVersion, Safetensors.ReadMetadata(best)[Safetensors.VersionKey]);
    }

    /// <summary>Stopped inside epoch 2 and resumed by a trainer built from scratch (other initial weights, which the
    /// checkpoint replaces): the run ends where an uninterrupted one does, bit for bit, and so do the epoch losses.</summary>
    [Theory]
    [InlineData("adam", 9)]
    [InlineData("sgd", 9)]
    [InlineData("adamw", 7)]      // after epoch 1's last step, before its validation
    [InlineData("adam", 0)]       // between epochs 1 and 2 (from EpochCompleted)
    public void Resume_FromAnyStep_ContinuesExactly(string optimizer, int stopAfter)
    {
        Dataset train = Classes(53, 1), validation = Classes(11, 4);
        Optimizer Make() => optimizer switch
        {
            "adam" => new Adam(0.01f),
            "adamw" => new AdamW(0.01f, weightDecay: 0.1f),
            _ => new Sgd(0.05f, momentum: 0.9f, nesterov: true),
        };
        TrainerOptions options = new() { Epochs = 3, Schedule = new WarmupCosine(0.01f, 5, 21), ClipNorm = 1f, Patience = 5 };
        Trainer<int> Build(ulong seed, out DynamicModel model)
        {
            model = NewMlp(seed);
            return new Trainer<int>(model, Make(), new DataLoader(train, 8, seed: 7), validation, options);
        }

        Trainer<int> whole = Build(3, out DynamicModel wholeModel);
        TrainingHistory all = whole.Fit();

        string path = PathOf("run.safetensors");
        Trainer<int> first = Build(3, out _);
        first.StepCompleted += s =>
        {
            if (s.GlobalStep != stopAfter) return;
            first.SaveCheckpoint(path);
            first.RequestStop();
        };
        first.EpochCompleted += e =>
        {
            if (stopAfter != 0) return;
            first.SaveCheckpoint(path);
            first.RequestStop();
        };
        Assert.Equal(StopReason.Requested, first.Fit().StopReason);

        Trainer<int> second = Build(99, out DynamicModel resumedModel);
        second.LoadCheckpoint(path);
        Assert.Equal(stopAfter == 0 ? 7 : stopAfter, second.GlobalStep);
        TrainingHistory rest = second.Fit();

        Assert.Equal(Bits(wholeModel.Parameters), Bits(resumedModel.Parameters));
        Assert.Equal(all.Epochs.Skip(3 - rest.Epochs.Count).Select(e => e.TrainingLoss), rest.Epochs.Select(e => e.TrainingLoss));
        Assert.Equal(all.Epochs.Skip(3 - rest.Epochs.Count).Select(e => e.Validation!.Loss), rest.Epochs.Select(e => e.Validation!.Loss));
        OptimizerState a = whole.Optimizer.ExportState(), b = second.Optimizer.ExportState();
        Assert.Equal(a.StepCount, b.StepCount);
        Assert.Equal(a.Buffers.Keys, b.Buffers.Keys);
        foreach (string key in a.Buffers.Keys) Assert.Equal(Bits(a.Buffers[key]), Bits(b.Buffers[key]));
        Assert.Equal(all.BestEpoch, rest.BestEpoch);
        Assert.Equal(whole.Loader.Epoch, second.Loader.Epoch);
    }

    [Fact]
    public void Checkpoint_OfAnotherModel_OrMissingATensor_OrOfAnotherOptimizer_IsRefusedNamingBoth()
    {
        string path = PathOf("mlp.safetensors");
        var trainer = new Trainer<int>(NewMlp(), new Adam(0.01f), new DataLoader(Classes(16, 1), 8), null, new TrainerOptions { Epochs = 1 });
        trainer.Fit();
        trainer.SaveCheckpoint(path);

        // Another model with the same tensor names and shapes: refused by its name.
        ModelDescription other = Mlp.Make(Mlp.In, Mlp.Hidden, Mlp.Classes);
        other = new ModelDescription { Name = "OtherNet", Parameters = other.Parameters, Inputs = other.Inputs, Target = other.Target, OutputShape = other.OutputShape, Layers = [] };
        DynamicModel otherModel = Dl.Dynamic.Dynamic.Create(other, new Mlp(), 1, Precision.Single);
        var e = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(path, otherModel, new Adam()));
        Assert.Contains("model Mlp", e.Message);
        Assert.Contains("model OtherNet", e.Message);
        Assert.Contains(path, e.Message);
        e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path, other, new float[other.ParameterCount]));
        Assert.Contains("model Mlp, not of model OtherNet", e.Message);

        // Another optimizer.
        e = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(path, NewMlp(), new Sgd(0.1f, momentum: 0.9f)));
        Assert.Contains("its optimizer is Adam; this run's is Sgd", e.Message);

        // A tensor missing: rewrite the file without fc2.bias's Adam moment.
        var tensors = Safetensors.ReadAll(path);
        var meta = Safetensors.ReadMetadata(path);
        string broken = PathOf("broken.safetensors");
        ModelDescription d = NewMlp().Description;
        string missing = TrainingCheckpoint.TensorName("exp_avg", "fc2.bias");
        var extra = tensors.Values.Where(t => t.Name.StartsWith(Safetensors.OptimizerPrefix) && t.Name != missing).ToList();
        Safetensors.Save(broken, d, Block(d.Parameters, tensors), [], meta, extra);
        DynamicModel fresh = NewMlp(5);
        float[] before = fresh.Parameters.ToArray();
        e = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(broken, fresh, new Adam()));
        Assert.Contains($"tensor '{missing}' is missing", e.Message);
        Assert.Contains("model Mlp", e.Message);
        Assert.Equal(Bits(before), Bits(fresh.Parameters));   // nothing changed

        // A model tensor missing (the plain loader's message, which names the model and the tensor).
        var partial = new ModelDescription { Name = "Mlp", Parameters = d.Parameters[..3], Inputs = d.Inputs, Target = d.Target, OutputShape = d.OutputShape, Layers = [] };
        string shorter = PathOf("shorter.safetensors");
        Safetensors.Save(shorter, partial, Block(partial.Parameters, tensors), [], null, []);
        e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(shorter, d, new float[d.ParameterCount]));
        Assert.Contains("tensor 'fc2.bias' is missing (model Mlp expects", e.Message);

        // A weights-only file cannot resume a run.
        e = Assert.Throws<InvalidDataException>(() => TrainingCheckpoint.Load(shorter, NewMlp(), new Adam()));
        Assert.Contains("weights only", e.Message);
    }

    private static float[] Block(ParameterInfo[] parameters, IReadOnlyDictionary<string, SafetensorsTensor> tensors)
    {
        var all = new float[parameters.Sum(p => p.Length)];
        foreach (ParameterInfo p in parameters) tensors[p.Name].Data.CopyTo(all, p.Offset);
        return all;
    }

    [Fact]
    public void Resume_RefusesAnotherRunsSettings()
    {
        string path = PathOf("run.safetensors");
        var trainer = new Trainer<int>(NewMlp(), new Adam(0.01f), new DataLoader(Classes(16, 1), 8), null, new TrainerOptions { Epochs = 2 });
        trainer.TrainEpoch();
        trainer.SaveCheckpoint(path);
        var other = new Trainer<int>(NewMlp(), new Adam(0.01f), new DataLoader(Classes(16, 1), 4), null, new TrainerOptions { Epochs = 2 });
        var e = Assert.Throws<InvalidDataException>(() => other.LoadCheckpoint(path));
        Assert.Contains("the run had 8 as the loader's batch size; this trainer has 4", e.Message);
        var tooShort = new Trainer<int>(NewMlp(), new Adam(0.01f), new DataLoader(Classes(16, 1), 8), null, new TrainerOptions { Epochs = 2 });
        tooShort.LoadCheckpoint(path);
        Assert.Equal(1, tooShort.Epoch);
        Assert.Single(tooShort.Fit().Epochs);
    }

    /// <summary>y = 2·x₀ − x₁ + 0.5 learned by a linear layer on float targets: MSE falls, and the reported MSE and MAE are
    /// those of the model's predictions.</summary>
    [Fact]
    public void Regression_OnFloatTargets_ReportsMseAndMae()
    {
        const int n = 64, d = 2;
        var random = new DlRandom(4);
        var x = new float[n * d];
        var t = new float[n];
        for (int i = 0; i < n; i++)
        {
            x[2 * i] = (float)random.NextNormal();
            x[2 * i + 1] = (float)random.NextNormal();
            t[i] = 2 * x[2 * i] - x[2 * i + 1] + 0.5f;
        }
        Dataset data = Dataset.WithTargets(x, t, [d], [1]);
        (Dataset train, Dataset validation) = data.Split(0.25, seed: 3);
        Assert.Equal(48, train.Count);
        Assert.Equal(16, validation.Count);
        DynamicModel model = Regressor(d);
        var trainer = new Trainer<float>(model, new Sgd(0.1f), new DataLoader(train, 8, seed: 1), validation, new TrainerOptions { Epochs = 30 });
        TrainingHistory history = trainer.Fit();
        EvaluationResult v = history.Epochs[^1].Validation!;
        Assert.True(v.MeanSquaredError < 1e-3, $"validation MSE {v.MeanSquaredError}");
        Assert.True(double.IsNaN(v.Accuracy));
        Assert.Null(v.Confusion);
        var predictions = new float[validation.Count];
        model.Training = false;
        model.Predict(validation.X, predictions, validation.Count);
        Assert.Equal(Metrics.MeanSquaredError(predictions, validation.Targets), v.MeanSquaredError, 1e-6);
        Assert.Equal(Metrics.MeanAbsoluteError(predictions, validation.Targets), v.MeanAbsoluteError, 1e-6);
        Assert.Equal(v.Loss, v.MeanSquaredError, 1e-6);   // MseLoss is the mean over the output values
    }

    private static DynamicModel Regressor(int d) => Lambda.Create(
        Describe.Pack(Describe.Linear("fc", d, 1, out var bias), bias), [new InputInfo("x", [d])], [1], new InputInfo("t", [1]),
        (_, inputs) => Linear(inputs[0], 1, "fc"), (y, target) => MseLoss(y, target), Precision.Single);

    /// <summary>An autoencoder's target is its input: the loader hands the batch back as the target, and the trainer
    /// learns the identity through a bottleneck wide enough.</summary>
    [Fact]
    public void AutoEncoder_TrainsOnItsInputAsTarget()
    {
        const int n = 40, d = 4;
        var random = new DlRandom(8);
        var x = new float[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = (float)random.NextNormal();
        Dataset data = Dataset.AutoEncoder(x, [d]);
        Assert.Same(x, data.Targets);
        var loader = new DataLoader(data, 16, seed: 2);
        Assert.True(loader.NextBatch(out DataLoader.Batch batch));
        Assert.True(batch.X == batch.Targets);
        Assert.Equal(16, batch.Size);
        Assert.True(batch.Y.IsEmpty);
        Assert.Throws<InvalidOperationException>(() => loader.NextBatch(out ReadOnlySpan<float> _, out ReadOnlySpan<int> _));
        loader.Reset();

        DynamicModel model = Lambda.Create(
            Describe.Pack(Describe.Linear("enc", d, d, out var b1), b1, Describe.Linear("dec", d, d, out var b2), b2),
            [new InputInfo("x", [d])], [d], new InputInfo("t", [d]),
            (_, inputs) => Linear(Linear(inputs[0], d, "enc"), d, "dec"), (y, t) => MseLoss(y, t), Precision.Single);
        TrainingHistory history = new Trainer<float>(model, new Adam(0.03f), loader, null, new TrainerOptions { Epochs = 60 }).Fit();
        Assert.True(history.Epochs[^1].TrainingLoss < 0.05 * history.Epochs[0].TrainingLoss,
            $"loss {history.Epochs[0].TrainingLoss} -> {history.Epochs[^1].TrainingLoss}");
    }

    [Fact]
    public void Data_ThatDoesNotFitTheModel_IsRefusedNamingBoth()
    {
        var e = Assert.Throws<ArgumentException>(() => new Trainer<int>(NewMlp(), new Adam(), new DataLoader(new Dataset(new float[10], [0, 1], 3), 2)));
        Assert.Contains("Model Mlp takes 6 input values per sample; the dataset's samples have 5", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer<int>(NewMlp(), new Adam(),
            new DataLoader(Dataset.WithTargets(new float[12], new float[2], [6], [1]), 2)));
        Assert.Contains("the dataset has float targets", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer<int>(NewMlp(), new Adam(), new DataLoader(new Dataset(new float[12], [0, 4], 5), 2)));
        Assert.Contains("one label of 3 classes per sample; the dataset has one label of 5 classes", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer<int>(NewMlp(), new Adam(), new DataLoader(Classes(4, 1), 2), null,
            new TrainerOptions { Monitor = MonitorMetric.ValidationAccuracy }));
        Assert.Contains("needs a validation set", e.Message);
        e = Assert.Throws<ArgumentException>(() => new Trainer<int>(Dl.Dynamic.Dynamic.Create<Mlp>(1), new Adam(), new DataLoader(Classes(4, 1), 2), null,
            new TrainerOptions { CheckpointMetadata = new Dictionary<string, string> { ["dl.model"] = "x" }, Epochs = 1 }).SaveCheckpoint(PathOf("x")));
        Assert.Contains("keys starting with 'dl.' are the library's", e.Message);
    }
}
