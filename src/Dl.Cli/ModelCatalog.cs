using Dl.Data;
using Dl.Dynamic;
using Dl.Models;

namespace Dl.Cli;

/// <summary>The models the inspection commands (eval, predict, summary, graph, explain, gradcheck) know by their
/// <c>dl train --model</c> names, and the samples explain and gradcheck run them on.</summary>
internal static class ModelCatalog
{
    /// <summary>One model: its generated and dynamic constructors and, for explain/gradcheck, where its samples come from.</summary>
    internal sealed record Entry(string Id, Func<ModelOptions, IModel> Generated, Func<ulong, DynamicModel> Dynamic, SampleKind Samples);

    /// <summary>Where explain and gradcheck take samples from: Fashion-MNIST images with labels (or with one-hot rows, for a
    /// model whose loss takes float targets), XOR's truth table, images as their own targets, or nowhere.</summary>
    internal enum SampleKind { None, FashionImages, FashionOneHot, Xor, Autoencoder }

    public static readonly Entry[] All =
    [
        new("fashion-mlp", o => new FashionMlp(o), s => Dl.Dynamic.Dynamic.Create<FashionMlp>(s), SampleKind.FashionImages),
        new("fashion-cnn", o => new FashionCnn(o), s => Dl.Dynamic.Dynamic.Create<FashionCnn>(s), SampleKind.FashionImages),
        new("lenet-cnn", o => new LenetCnn(o), s => Dl.Dynamic.Dynamic.Create<LenetCnn>(s), SampleKind.FashionImages),
        new("residual-cnn", o => new ResidualCnn(o), s => Dl.Dynamic.Dynamic.Create<ResidualCnn>(s), SampleKind.FashionImages),
        new("inception-cnn", o => new InceptionCnn(o), s => Dl.Dynamic.Dynamic.Create<InceptionCnn>(s), SampleKind.FashionImages),
        new("row-lstm", o => new RowLstm(o), s => Dl.Dynamic.Dynamic.Create<RowLstm>(s), SampleKind.FashionImages),
        new("row-gru", o => new RowGru(o), s => Dl.Dynamic.Dynamic.Create<RowGru>(s), SampleKind.FashionImages),
        new("patch-transformer", o => new PatchTransformer(o), s => Dl.Dynamic.Dynamic.Create<PatchTransformer>(s), SampleKind.FashionOneHot),
        new("xor", o => new XorNet(o), s => Dl.Dynamic.Dynamic.Create<XorNet>(s), SampleKind.Xor),
        new("conv-autoencoder", o => new ConvAutoencoder(o), s => Dl.Dynamic.Dynamic.Create<ConvAutoencoder>(s), SampleKind.Autoencoder),
        new("char-lstm", o => new CharLstm(o), s => Dl.Dynamic.Dynamic.Create<CharLstm>(s), SampleKind.None),
        new("reverse-transformer", o => new ReverseTransformer(o), s => Dl.Dynamic.Dynamic.Create<ReverseTransformer>(s), SampleKind.None),
        new("attn-s64", o => new AttnS64(o), s => Dl.Dynamic.Dynamic.Create<AttnS64>(s), SampleKind.None),
    ];

    /// <summary>The Fashion-MNIST classifiers (eval and predict take these).</summary>
    public static string[] Classifiers => [.. All.Where(e => e.Samples == SampleKind.FashionImages).Select(e => e.Id)];

    public static Entry Find(string command, string id, IEnumerable<string>? allowed = null)
    {
        string[] ids = [.. allowed ?? All.Select(e => e.Id)];
        if (!ids.Contains(id, StringComparer.Ordinal))
            throw new UsageException($"'{command}': --model is '{id}'; expected one of {string.Join(", ", ids)}.");
        return All.First(e => e.Id == id);
    }

    /// <summary>The samples explain and gradcheck use: <paramref name="count"/> from <paramref name="first"/> as inputs and
    /// targets (labels as numbers for a classifier, the input itself for the autoencoder, XOR's truth table).</summary>
    public static (float[] X, double[] Target, int[] Labels, int Count) Samples(Entry entry, int first, int count, string command)
    {
        switch (entry.Samples)
        {
            case SampleKind.Xor:
            {
                if (first + count > 4) throw new UsageException($"'{command}': xor has 4 samples (--index 0 to 3); asked for {first} to {first + count - 1}.");
                float[] inputs = [0, 0, 0, 1, 1, 0, 1, 1];
                double[] targets = [0, 1, 1, 0];
                return (inputs[(2 * first)..(2 * (first + count))], targets[first..(first + count)], [], count);
            }
            case SampleKind.FashionImages or SampleKind.FashionOneHot or SampleKind.Autoencoder:
            {
                Dataset test = EmbeddedData.FashionTest();
                if (first + count > test.Count)
                    throw new UsageException($"'{command}': the embedded Fashion-MNIST test set has {test.Count} images (--index 0 to {test.Count - 1}); asked for {first + count - 1}.");
                float[] x = test.X.AsSpan(first * test.Features, count * test.Features).ToArray();
                if (entry.Samples == SampleKind.Autoencoder) return (x, [.. x.Select(v => (double)v)], [], count);
                int[] labels = test.Labels.AsSpan(first, count).ToArray();
                if (entry.Samples == SampleKind.FashionOneHot)
                {
                    var rows = new double[count * test.Classes];
                    for (int i = 0; i < count; i++) rows[i * test.Classes + labels[i]] = 1;
                    return (x, rows, [], count);
                }
                return (x, [.. labels.Select(l => (double)l)], labels, count);
            }
            default:
                throw new UsageException($"'{command}': --model {entry.Id} has no sample data here; expected one of " +
                    string.Join(", ", All.Where(e => e.Samples != SampleKind.None).Select(e => e.Id)) + ".");
        }
    }

    /// <summary>The model --model names, or when it is not given, the one the checkpoint's metadata names
    /// (<c>dl.model</c>, written by every save), or <paramref name="fallback"/>.</summary>
    public static Entry Resolve(string command, CommandLine cl, string? checkpoint, string fallback, IEnumerable<string>? allowed = null)
    {
        string? id = cl.String("model");
        if (id is null && checkpoint is not null && File.Exists(checkpoint))
        {
            IReadOnlyDictionary<string, string> metadata;
            try { metadata = Checkpoints.Safetensors.ReadMetadata(checkpoint); }
            catch (InvalidDataException) { metadata = new Dictionary<string, string>(); }   // Load reports the file's problem
            if (metadata.TryGetValue("dl.model", out string? className))
                id = All.FirstOrDefault(e => e.Generated(new ModelOptions { MaxBatch = 1 }).Description.Name == className)?.Id;
        }
        return Find(command, id ?? fallback, allowed);
    }

    /// <summary>Loads a checkpoint written by <c>dl train --save</c> (or a trainer checkpoint) into a model; the runtime
    /// refuses one of another model with a message naming both.</summary>
    public static void Load(string path, IModel model)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist.");
        Checkpoints.Safetensors.Load(path, model.Description, model.Parameters, model.State);
    }
}
