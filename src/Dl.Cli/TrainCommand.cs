using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Dl.Checkpoints;
using Dl.Data;
using Dl.Models;

namespace Dl.Cli;

/// <summary><c>dl train</c>: trains a Fashion-MNIST model (the MLP, or one of the CNNs) or XorNet on XOR, reporting per
/// epoch the mean training loss L̄ = Σ_batches B·L_batch / n (training mode), the test accuracy (evaluation mode) and the
/// seconds spent training, and when the test accuracy first reached 91%.</summary>
public static class TrainCommand
{
    public const string DefaultDataDirectory = "/usr/share/datasets/fashion-mnist";

    /// <summary>Defaults for fashion-mlp, chosen by measurement on the full dataset (test accuracy after 10 epochs
    /// 88.8–89.1% over seeds 1–3; see benchmarks/results/2026-11-21-fashion.md): Adam η₀ = 0.0015, batch 32, decayed per
    /// epoch as η(e) = η₀ · 0.75^e. SGD defaults: η₀ = 0.05, momentum 0.9.</summary>
    public const float DefaultAdamLr = 0.0015f, DefaultSgdLr = 0.05f, DefaultMomentum = 0.9f, DefaultLrDecay = 0.75f;
    public const int DefaultBatch = 32;
    public const string DefaultOptimizer = "adam";

    /// <summary>A Fashion-MNIST model and its measured defaults.</summary>
    internal sealed record ImageModel(string Id, Func<ModelOptions, ITrainableModel<int>> Generated, Func<ulong, ITrainableModel<int>> Dynamic,
        float AdamLr, float LrDecay, int Batch, int Epochs)
    {
        /// <summary>The default --clip (maximum global gradient norm; 0 = no clipping).</summary>
        public float Clip { get; init; }
    }

    /// <summary>fashion-cnn's defaults (Adam 0.001 ×0.85 per epoch, batch 64, 15 epochs, no augmentation) are the recipe both
    /// engines and PyTorch train in benchmarks/results/2026-11-21-fashion-cnn.md.</summary>
    private static readonly ImageModel[] ImageModels =
    [
        new("fashion-mlp", o => new FashionMlp(o), s => Dl.Dynamic.Dynamic.Create<FashionMlp>(s), DefaultAdamLr, DefaultLrDecay, DefaultBatch, 10),
        new("fashion-cnn", o => new FashionCnn(o), s => Dl.Dynamic.Dynamic.Create<FashionCnn>(s), 0.001f, 0.85f, 64, 15),
        new("lenet-cnn", o => new LenetCnn(o), s => Dl.Dynamic.Dynamic.Create<LenetCnn>(s), 0.002f, 0.85f, 64, 10),
        new("residual-cnn", o => new ResidualCnn(o), s => Dl.Dynamic.Dynamic.Create<ResidualCnn>(s), 0.002f, 0.85f, 64, 10),
        new("inception-cnn", o => new InceptionCnn(o), s => Dl.Dynamic.Dynamic.Create<InceptionCnn>(s), 0.002f, 0.85f, 64, 10),
        new("row-lstm", o => new RowLstm(o), s => Dl.Dynamic.Dynamic.Create<RowLstm>(s), 0.002f, 0.85f, 64, 15) { Clip = 5f },
        new("row-gru", o => new RowGru(o), s => Dl.Dynamic.Dynamic.Create<RowGru>(s), 0.002f, 0.85f, 64, 15) { Clip = 5f },
    ];

    internal static Command Create()
    {
        var command = new Command("train", "Trains a model of Dl.Models, printing per epoch the training loss, the test metrics and the " +
            "seconds spent training (per-model defaults: 'dl train --help').");
        foreach (Option option in TrainOptions.CreateOptions()) command.Options.Add(option);
        command.SetAction(result => Run(new CommandLine("train", result)));
        return command;
    }

    internal static int Run(CommandLine cl)
    {
        string model = cl.Choice("model", "fashion-mlp", TrainOptions.AllModels);
        TrainOptions.CheckApplicable(cl, model);
        // A save that cannot succeed (a folder that does not exist, no permission) fails now, naming the path, not after
        // the training it would have kept.
        if (cl.String("save") is string save) Safetensors.CheckSavePath(save);
        return cl.Flag("distributed") ? DistributedTraining.Run(() => Train(cl, model)) : Train(cl, model);
    }

    private static int Train(CommandLine cl, string model) =>
        model switch
        {
            "xor" => TrainXor(cl),
            "char-lstm" => CharTraining.Run(cl),
            "patch-transformer" => TransformerTraining.RunPatch(cl),
            "reverse-transformer" => TransformerTraining.RunReverse(cl),
            "attn-s64" => MotifTraining.Run(cl),
            "conv-autoencoder" => AutoencoderTraining.Run(cl),
            _ => ImageTraining.Run(cl, ImageModels.First(m => m.Id == model)),
        };

    /// <summary>The image model named <paramref name="id"/> (one of <see cref="TrainOptions.ImageModels"/>).</summary>
    internal static ImageModel FindImageModel(string id) => ImageModels.FirstOrDefault(m => m.Id == id)
        ?? throw new UsageException($"--model is '{id}'; expected one of {string.Join(", ", ImageModels.Select(m => m.Id))}.");

    internal static Optimizer CreateOptimizer(CommandLine cl, string defaultOptimizer, float defaultSgdLr, float defaultAdamLr, float defaultMomentum)
    {
        string name = cl.Choice("optimizer", defaultOptimizer, "sgd", "adam", "adamw");
        if (name != "sgd" && cl.Has("momentum"))
            throw new UsageException($"'train': --momentum applies to sgd only; {name} has its own betas.");
        float lr = cl.Float("lr", name == "sgd" ? defaultSgdLr : defaultAdamLr, min: float.Epsilon);
        return name switch
        {
            "adam" => new Adam(lr),
            "adamw" => new AdamW(lr),
            _ => new Sgd(lr, cl.Float("momentum", defaultMomentum, 0f, 0.9999f)),
        };
    }

    /// <summary>Test accuracy = correct / n, predicted in chunks of at most the model's batch size.</summary>
    public static double Evaluate(IModel model, Dataset test, int chunk, float[] logits)
    {
        bool training = model.Training;
        model.Training = false;
        int classes = test.Classes, d = test.Features, correct = 0;
        for (int start = 0; start < test.Count; start += chunk)
        {
            int n = Math.Min(chunk, test.Count - start);
            Span<float> output = logits.AsSpan(0, n * classes);
            model.Predict(test.X.AsSpan(start * d, n * d), output, n);
            correct += Metrics.CorrectCount(output, classes, test.Labels.AsSpan(start, n));
        }
        model.Training = training;
        return test.Count == 0 ? 0 : (double)correct / test.Count;
    }

    /// <summary>Fashion-MNIST from <paramref name="directory"/>, the default folder or the embedded subset; without
    /// <paramref name="trainingSet"/> the training half is not read (and returned empty-handed as the test set).</summary>
    internal static (Dataset Train, Dataset Test) LoadData(string? directory, bool trainingSet = true)
    {
        bool embedded = directory == "embedded";
        if (embedded) directory = null;
        else if (directory is not null)
        {
            if (!Directory.Exists(directory))
                throw new UsageException($"--data directory '{directory}' does not exist; expected a folder with the Fashion-MNIST IDX files, or 'embedded'.");
            Console.Error.WriteLine($"dl: data: Fashion-MNIST from {directory}");
        }
        else if (File.Exists(Path.Combine(DefaultDataDirectory, "train-images-idx3-ubyte.gz"))
                 || File.Exists(Path.Combine(DefaultDataDirectory, "train-images-idx3-ubyte")))
        {
            directory = DefaultDataDirectory;
            Console.Error.WriteLine($"dl: data: full Fashion-MNIST from {directory} (60000 train, 10000 test)");
        }
        if (directory is null)
        {
            Console.Error.WriteLine("dl: data: the Fashion-MNIST subset embedded in Dl.Models (6000 train, 1000 test); " +
                                    "pass --data DIR or install dataset-fashion-mnist for the full set");
            Console.Error.WriteLine($"dl: {EmbeddedData.Attribution}");
            Dataset embeddedTest = EmbeddedData.FashionTest();
            return (trainingSet ? EmbeddedData.FashionTrain() : embeddedTest, embeddedTest);
        }
        Console.Error.WriteLine($"dl: {EmbeddedData.Attribution}");
        Dataset test = Dataset.LoadFashionMnist(directory, train: false);
        return (trainingSet ? Dataset.LoadFashionMnist(directory, train: true) : test, test);
    }

    private static readonly float[] XorInputs = [0, 0, 0, 1, 1, 0, 1, 1];
    private static readonly float[] XorTargets = [0, 1, 1, 0];

    // Not on Trainer: 2000 full-batch steps of 4 samples, reported every tenth; one "epoch" per step would spend more
    // on the trainer's per-epoch bookkeeping than on the step.
    private static int TrainXor(CommandLine cl)
    {
        foreach (string option in new[] { "batch", "data", "threads", "lr-decay" })
        {
            if (cl.Has(option)) throw new UsageException($"'train --model xor': --{option} does not apply (xor trains on its 4 samples, full batch).");
        }
        int epochs = cl.Int("epochs", 2000, 1, 10_000_000);
        ulong seed = cl.Seed("seed", 1);
        string engine = cl.Choice("engine", "generated", "generated", "dynamic");
        bool json = cl.Flag("json");
        IOptimizer optimizer = CreateOptimizer(cl, "sgd", 2f, 0.01f, 0.9f);
        ITrainableModel<float> model = engine == "generated"
            ? new XorNet(new ModelOptions { Seed = seed, MaxBatch = 4 })
            : Dl.Dynamic.Dynamic.Create<XorNet>(seed);

        long start = Stopwatch.GetTimestamp();
        float loss = float.NaN;
        int report = Math.Max(1, epochs / 10);
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            loss = model.TrainStep(XorInputs, XorTargets, 4, optimizer);
            if (json && (epoch % report == 0 || epoch == epochs))
                Console.Out.WriteLine(new JsonLine().Add("model", "xor").Add("epoch", epoch).Add("train_loss", loss, 6));
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var predictions = new float[4];
        model.Training = false;
        model.Predict(XorInputs, predictions, 4);
        if (json)
        {
            var line = new JsonLine().Add("model", "xor").Add("final_loss", loss, 6);
            for (int i = 0; i < 4; i++)
                line.Add($"y_{XorInputs[2 * i]:0}{XorInputs[2 * i + 1]:0}", predictions[i], 4);
            Console.Out.WriteLine(line.Add("seconds", seconds, 3));
        }
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"xor: {epochs} full-batch steps, final loss {loss:0.000000} ({seconds:0.000} s)"));
            for (int i = 0; i < 4; i++)
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {XorInputs[2 * i]:0} xor {XorInputs[2 * i + 1]:0} = {XorTargets[i]:0}  predicted {predictions[i]:0.0000} -> {(predictions[i] >= 0.5f ? 1 : 0)}"));
            }
        }
        if (loss > 0.05f)
        {
            Console.Error.WriteLine("dl: the loss is still high: 2-2-1 sigmoid networks can settle in a local minimum " +
                                    "where one input pair stays unresolved; try another --seed or more --epochs.");
        }
        if (cl.String("save") is string save)
        {
            Safetensors.Save(save, model.Description, model.Parameters);
            Console.Error.WriteLine($"dl: saved the trained weights to {save}");
        }
        return 0;
    }
}
