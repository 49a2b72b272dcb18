using System.Globalization;
using System.Runtime.Intrinsics;
using Dl.Checkpoints;
using Dl.Cli.Report;
using Dl.Data;
using Dl.Models;
using Dl.Training;

namespace Dl.Cli;

/// <summary><c>dl train</c> for the Fashion-MNIST classifiers (the MLP, the CNNs, row-lstm/gru) on the runtime's
/// <see cref="Trainer{TTarget}"/>: per epoch the mean training loss L̄ = Σ_batches B·L_batch / n (training mode), the test
/// accuracy (evaluation mode) and the seconds spent training, and when the test accuracy first reached 91%.</summary>
internal static class ImageTraining
{
    /// <summary>Misclassified test images kept for the report.</summary>
    public const int ReportImages = 36;

    public static int Run(CommandLine cl, TrainCommand.ImageModel spec)
    {
        int epochs = cl.Int("epochs", spec.Epochs, 1, 100_000);
        int batch = cl.Int("batch", spec.Batch, 1, 65_536);
        ulong seed = cl.Seed("seed", 1);
        int threads = cl.Int("threads", 1, 1, 256);
        string engine = cl.Choice("engine", "generated", "generated", "dynamic");
        int limit = cl.Int("limit", 0, 1, int.MaxValue);
        bool json = cl.Flag("json");
        string? save = cl.String("save");
        string? reportDirectory = cl.String("report");
        if (cl.String("save-initial") is { } initialPath) Safetensors.CheckSavePath(initialPath);
        Optimizer optimizer = TrainCommand.CreateOptimizer(cl, TrainCommand.DefaultOptimizer, TrainCommand.DefaultSgdLr, spec.AdamLr, TrainCommand.DefaultMomentum);
        float initialRate = optimizer.LearningRate, decay = cl.Float("lr-decay", spec.LrDecay, 0.01f, 1f);
        ImageAugmentation? augmentation = null;
        if (cl.Flag("augment") || cl.Flag("flip"))
        {
            // Random shifts by up to --shift pixels (zero padding, then a random crop back to 28x28); --flip adds
            // random horizontal reflection. Labels are unchanged.
            augmentation = new ImageAugmentation(seed);
            if (cl.Flag("augment")) augmentation.RandomShift(cl.Int("shift", 2, 1, 14));
            if (cl.Flag("flip")) augmentation.RandomHorizontalFlip();
        }
        else if (cl.Has("shift")) throw new UsageException("'train': --shift applies with --augment.");
        float clip = cl.Float("clip", spec.Clip, 0f, 1e6f);

        (Dataset train, Dataset test) = TrainCommand.LoadData(cl.String("data"));
        if (limit > 0)
        {
            train = train.Subset(0, Math.Min(limit, train.Count));
            test = test.Subset(0, Math.Min(limit, test.Count));
            Console.Error.WriteLine($"dl: --limit {limit}: {train.Count} training and {test.Count} test images");
        }
        ITrainableModel<int> model = engine == "generated"
            ? spec.Generated(new ModelOptions { Seed = seed, MaxBatch = batch, Threads = threads })
            : spec.Dynamic(seed);
        if (engine == "dynamic" && threads != 1)
            Console.Error.WriteLine("dl: note: the dynamic engine runs on one thread; --threads is ignored.");
        if (cl.String("save-initial") is { } initial && DistributedTraining.IsLeader)
        {
            // The starting point, for another framework to train from the same weights (benchmarks/pytorch/train_fashion.py --weights).
            Safetensors.Save(initial, model.Description, model.Parameters, model.State);
            Console.Error.WriteLine($"dl: saved the initial weights to {initial}");
        }

        // The same loop the hand-written one was: shuffled batches from the seed, the rate decayed per epoch
        // (η(e) = η₀ · G^e), --clip as PyTorch's clip_grad_norm_ (the norm before clipping reported per epoch).
        var loader = new DataLoader(train, batch, shuffle: true, seed: seed, augmentation: augmentation);
        // --distributed: the loader's batch is the global batch; each rank computes its share (docs/distributed.md).
        var trainer = new Trainer<int>(model, optimizer, loader, test, DistributedTraining.Configure(new TrainerOptions
        {
            Epochs = epochs,
            Schedule = new ExponentialDecay(initialRate, decay),
            ScheduleUnit = ScheduleUnit.Epoch,
            ClipNorm = clip,
            EvaluationBatch = batch,
        }));
        var rates = new List<(long Step, float Rate)>();
        if (reportDirectory is not null) trainer.StepCompleted += p => rates.Add((p.GlobalStep, p.LearningRate));

        double elapsed = 0, reached91 = double.NaN;
        var results = new List<EpochResult>();
        string Line(EpochResult e)
        {
            string norms = double.IsNaN(e.GradientNormMean) ? "" : string.Create(CultureInfo.InvariantCulture,
                $"  gradient norm mean {e.GradientNormMean:0.000} max {e.GradientNormMax:0.000}");
            return string.Create(CultureInfo.InvariantCulture,
                $"epoch {e.Epoch,3}/{e.Epochs}  train loss {e.TrainingLoss:0.0000}  test accuracy {e.Validation!.Accuracy * 100:0.00}%  {e.Seconds:0.00} s") + norms;
        }
        // Rank 0 alone evaluates (other ranks' epochs have no validation) and prints, saves and reports.
        bool leader = trainer.IsLeader, interactive = leader && TrainingProgress.Interactive(json);
        if (leader) trainer.EpochCompleted += e =>
        {
            results.Add(e);
            elapsed += e.Seconds;
            double accuracy = e.Validation!.Accuracy;
            if (accuracy >= 0.91 && double.IsNaN(reached91)) reached91 = elapsed;
            if (json)
            {
                Console.Out.WriteLine(new JsonLine().Add("model", spec.Id).Add("engine", engine).Add("epoch", e.Epoch)
                    .Add("train_loss", e.TrainingLoss, 4).Add("test_accuracy", accuracy, 4).Add("seconds", e.Seconds, 3).Add("elapsed", elapsed, 3)
                    .Add("grad_norm_mean", e.GradientNormMean, 4).Add("grad_norm_max", e.GradientNormMax, 4));
            }
            else if (!interactive) Console.Out.WriteLine(Line(e));
        };
        if (interactive) TrainingProgress.Run(trainer, Line, () => trainer.Fit());
        else trainer.Fit();

        if (!double.IsNaN(reached91))
            Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"dl: test accuracy first reached 91% after {reached91:0.0} s of training"));
        if (!leader) return 0;
        if (save is not null)
        {
            Safetensors.Save(save, model.Description, model.Parameters, model.State);
            Console.Error.WriteLine($"dl: saved the trained weights to {save}");
        }
        if (reportDirectory is not null)
        {
            TrainingReport report = BuildReport(spec.Id, model, Settings(cl, spec, epochs, batch, optimizer, initialRate, decay, seed, threads, engine, clip),
                results, rates, test, batch);
            string page = ReportWriter.Write(reportDirectory, report);
            Console.Error.WriteLine($"dl: wrote the training report to {page}");
        }
        return 0;
    }

    /// <summary>The settings the report shows, in the order a reader looks for them.</summary>
    internal static List<KeyValuePair<string, string>> Settings(CommandLine cl, TrainCommand.ImageModel spec, int epochs, int batch, Optimizer optimizer,
        float rate, float decay, ulong seed, int threads, string engine, float clip)
    {
        string F(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
        var settings = new List<KeyValuePair<string, string>>
        {
            new("model", spec.Id),
            new("engine", engine),
            new("epochs", epochs.ToString(CultureInfo.InvariantCulture)),
            new("batch", batch.ToString(CultureInfo.InvariantCulture)),
            new("optimizer", optimizer.GetType().Name.ToLowerInvariant()),
            new("lr", F(rate)),
            new("lr-decay", F(decay)),
            new("seed", seed.ToString(CultureInfo.InvariantCulture)),
            new("threads", threads.ToString(CultureInfo.InvariantCulture)),
        };
        if (clip > 0) settings.Add(new("clip", F(clip)));
        foreach (string name in new[] { "augment", "flip" })
            if (cl.Flag(name)) settings.Add(new(name, "yes"));
        if (cl.Has("shift")) settings.Add(new("shift", cl.String("shift")!));
        if (cl.Has("limit")) settings.Add(new("limit", cl.String("limit")!));
        settings.Add(new("data", cl.String("data") ?? "default"));
        return settings;
    }

    /// <summary>The report of a finished run: the epochs, the rates, the test metrics (evaluated once more on the final
    /// weights) and the first <see cref="ReportImages"/> misclassified test images.</summary>
    internal static TrainingReport BuildReport(string id, ITrainableModel<int> model, IReadOnlyList<KeyValuePair<string, string>> settings,
        IReadOnlyList<EpochResult> epochs, IReadOnlyList<(long Step, float Rate)> rates, Dataset test, int batch)
    {
        EvaluationResult evaluation = Evaluation.Evaluate(model, test, batch);
        return new TrainingReport
        {
            Model = $"{id} ({model.Description.Name})",
            Summary = model.Summary(),
            Settings = settings,
            Epochs = epochs,
            LearningRates = rates,
            Test = evaluation,
            ClassNames = test.Classes == EmbeddedData.Classes ? EmbeddedData.ClassNames : null,
            Misclassified = Misclassified(model, test, batch, ReportImages),
            Machine = $"{Environment.ProcessorCount} logical CPUs, Vector256 {(Vector256.IsHardwareAccelerated ? "on" : "off")}, " +
                      $"Vector512 {(Vector512.IsHardwareAccelerated ? "on" : "off")}, .NET {Environment.Version}",
        };
    }

    /// <summary>Up to <paramref name="count"/> test samples the model gets wrong (evaluation mode), in dataset order.</summary>
    internal static List<MisclassifiedImage> Misclassified(IModel model, Dataset test, int batch, int count)
    {
        var found = new List<MisclassifiedImage>();
        int classes = model.Description.OutputSize, d = test.Features;
        (int height, int width) = test.SampleShape.Length >= 2 ? (test.SampleShape[^2], test.SampleShape[^1]) : (1, d);
        batch = Math.Max(1, Math.Min(batch, model.MaxBatch));
        var output = new float[batch * classes];
        var probabilities = new float[classes];
        bool training = model.Training;
        model.Training = false;
        try
        {
            for (int first = 0; first < test.Count && found.Count < count; first += batch)
            {
                int n = Math.Min(batch, test.Count - first);
                model.Predict(test.X.AsSpan(first * d, n * d), output.AsSpan(0, n * classes), n);
                for (int i = 0; i < n && found.Count < count; i++)
                {
                    Predictions.Softmax(output.AsSpan(i * classes, classes), probabilities);
                    int predicted = Predictions.ArgMax(probabilities), actual = test.Labels[first + i];
                    if (predicted != actual)
                        found.Add(new MisclassifiedImage(test.Sample(first + i).ToArray(), height, width, actual, predicted, probabilities[predicted]));
                }
            }
        }
        finally
        {
            model.Training = training;
        }
        return found;
    }
}
