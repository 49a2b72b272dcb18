using System.Diagnostics;
using System.Globalization;
using Dl.Checkpoints;
using Dl.Data;
using Dl.Models;
using Dl.Training;

namespace Dl.Cli;

/// <summary><c>dl train --model conv-autoencoder</c>: <see cref="ConvAutoencoder"/> on Fashion-MNIST images, the input
/// as its own target (mean squared error per pixel). Batches are taken in order (no shuffling) from the first --limit
/// training images, so another framework replays the same steps from the --save-initial weights
/// (tools/autoencoder_pytorch.py). Reports per epoch the mean training MSE and the test set's reconstruction MSE
/// (evaluation mode, the mean over every pixel of every test image).</summary>
public static class AutoencoderTraining
{
    public static int Run(CommandLine cl)
    {
        foreach (string option in new[] { "optimizer", "momentum", "lr-decay", "augment", "flip", "shift", "clip", "minutes", "text", "temperature",
            "sample-length", "prime", "warmup", "weight-decay", "smoothing", "heldout", "no-augment" })
            if (cl.Has(option)) throw new UsageException($"'train --model conv-autoencoder': --{option} does not apply (Adam, batches in order).");
        int epochs = cl.Int("epochs", 1, 1, 10_000);
        int batch = cl.Int("batch", 64, 1, 65_536);
        ulong seed = cl.Seed("seed", 1);
        int threads = cl.Int("threads", 1, 1, 256);
        float lr = cl.Float("lr", 1e-3f, float.Epsilon, 1f);
        string engine = cl.Choice("engine", "generated", "generated", "dynamic");
        bool json = cl.Flag("json");
        string? save = cl.String("save");
        (Dataset train, Dataset test) = TrainCommand.LoadData(cl.String("data"));
        int limit = cl.Int("limit", train.Count, 1, train.Count);
        ITrainableModel<float> model = engine == "generated"
            ? new ConvAutoencoder(new ModelOptions { Seed = seed, MaxBatch = batch, Threads = threads })
            : Dl.Dynamic.Dynamic.Create<ConvAutoencoder>(seed);
        if (cl.String("save-initial") is { } initial && DistributedTraining.IsLeader)
        {
            Safetensors.CheckSavePath(initial);
            Safetensors.Save(initial, model.Description, model.Parameters, model.State);
            Console.Error.WriteLine($"dl: saved the initial weights to {initial}");
        }
        var optimizer = new Adam(lr);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dl: conv-autoencoder ({engine}): {model.Description.ParameterCount:N0} parameters; {epochs} epoch(s) over the first {limit:N0} training images " +
            $"in order, batch {batch}, Adam lr {lr}; test MSE over {test.Count:N0} images"));

        // Batches in order over the first --limit images (no shuffling: tools/autoencoder_pytorch.py replays the run), the
        // input as its own target; the test set's mean loss is the reconstruction MSE the former loop reported.
        int d = train.Features;
        Dataset images = Dataset.AutoEncoder(train.X.AsSpan(0, limit * d).ToArray(), train.SampleShape);
        Dataset testImages = Dataset.AutoEncoder(test.X, test.SampleShape);
        var loader = new DataLoader(images, batch, shuffle: false, seed: seed);
        var trainer = new Trainer<float>(model, optimizer, loader, testImages, DistributedTraining.Configure(new TrainerOptions { Epochs = epochs, EvaluationBatch = batch }));
        double elapsed = 0;
        string Line(EpochResult e) => string.Create(CultureInfo.InvariantCulture,
            $"epoch {e.Epoch,3}/{e.Epochs}  train MSE {e.TrainingLoss:0.000000}  test MSE {e.Validation!.Loss:0.000000}  {e.Seconds:0.00} s");
        // Rank 0 alone evaluates (other ranks' epochs have no validation), prints and saves.
        bool leader = trainer.IsLeader, interactive = leader && TrainingProgress.Interactive(json);
        if (leader) trainer.EpochCompleted += e =>
        {
            elapsed += e.Seconds;
            if (json)
                Console.Out.WriteLine(new JsonLine().Add("model", "conv-autoencoder").Add("engine", engine).Add("epoch", e.Epoch)
                    .Add("train_mse", e.TrainingLoss, 6).Add("test_mse", e.Validation!.Loss, 6).Add("seconds", e.Seconds, 3).Add("elapsed", elapsed, 3));
            else if (!interactive) Console.Out.WriteLine(Line(e));
        };
        if (interactive) TrainingProgress.Run(trainer, Line, () => trainer.Fit());
        else trainer.Fit();
        if (save is not null && leader)
        {
            Safetensors.Save(save, model.Description, model.Parameters, model.State);
            Console.Error.WriteLine($"dl: saved the trained weights to {save}");
        }
        return 0;
    }

    /// <summary>The mean squared reconstruction error over every pixel of <paramref name="test"/>, in evaluation mode
    /// (each image's loss is its mean over 784 pixels, so the mean of those is the mean over all pixels).</summary>
    public static double TestMse(ITrainableModel<float> model, Dataset test, int chunk)
    {
        bool training = model.Training;
        model.Training = false;
        int d = test.Features;
        double sum = 0;
        for (int start = 0; start < test.Count; start += chunk)
        {
            int n = Math.Min(chunk, test.Count - start);
            ReadOnlySpan<float> x = test.X.AsSpan(start * d, n * d);
            sum += (double)model.Loss(x, x, n) * n;
        }
        model.Training = training;
        return test.Count == 0 ? 0 : sum / test.Count;
    }
}
