using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl.Data;

/// <summary>
/// An in-memory dataset: <see cref="Features"/> as a row-major n × d float matrix and, per sample, either one integer
/// class in [0, <see cref="Classes"/>) (a classifier's labels) or a float target tensor of <see cref="TargetShape"/>
/// (regression; <see cref="AutoEncoder"/>: the input itself). Image data loaded from IDX is scaled to [0, 1]
/// (x = byte / 255).
/// </summary>
public sealed class Dataset
{
    /// <summary>Validates and wraps the arrays (no copy).</summary>
    /// <param name="features">n × d floats, row-major.</param>
    /// <param name="labels">n labels in [0, <paramref name="classes"/>).</param>
    /// <param name="classes">Number of classes.</param>
    /// <param name="sampleShape">Per-sample shape (its product must be d); defaults to [d] with d = features / n.</param>
    public Dataset(float[] features, int[] labels, int classes, int[]? sampleShape = null) : this(features, labels, classes, sampleShape, 1)
    {
    }

    private Dataset(float[] features, int[] labels, int classes, int[]? sampleShape, int labelsPerSample)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(labelsPerSample);
        if (labels.Length % labelsPerSample != 0)
            throw new ArgumentException($"{labels.Length} labels are not a whole number of samples of {labelsPerSample} labels.", nameof(labels));
        int n = labels.Length / labelsPerSample;
        int d;
        if (sampleShape is not null) d = ShapeSize(sampleShape, nameof(sampleShape), "sample");
        else
        {
            if (n == 0) throw new ArgumentException("An empty dataset needs an explicit sampleShape.", nameof(sampleShape));
            if (features.Length % n != 0)
                throw new ArgumentException($"{features.Length} feature values are not a whole number of rows for {n} labels.", nameof(features));
            d = features.Length / n;
        }
        if ((long)n * d != features.Length)
            throw new ArgumentException(
                $"{n} samples of shape [{string.Join(", ", sampleShape ?? [d])}] need {(long)n * d} feature values; got {features.Length}.",
                nameof(features));
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], labelsPerSample == 1
                    ? $"Label of sample {i} is {labels[i]}; expected a class in [0, {classes})."
                    : $"Label {i % labelsPerSample} of sample {i / labelsPerSample} is {labels[i]}; expected a class in [0, {classes}).");
        }
        X = features;
        Labels = labels;
        Classes = classes;
        LabelsPerSample = labelsPerSample;
        Features = d;
        SampleShape = sampleShape ?? [d];
        Count = n;
        TargetShape = [];
    }

    /// <summary>A dataset with <paramref name="labelsPerSample"/> labels per sample (a sequence model's label at every
    /// step, e.g. a language model's next tokens), wrapped without copies: <paramref name="labels"/> is n × k, row-major.</summary>
    public static Dataset WithLabelSequences(float[] features, int[] labels, int classes, int[] sampleShape, int labelsPerSample)
    {
        ArgumentNullException.ThrowIfNull(sampleShape);
        return new Dataset(features, labels, classes, sampleShape, labelsPerSample);
    }

    private Dataset(float[] features, int[] sampleShape, float[] targets, int[] targetShape, bool inputIsTarget)
    {
        int d = ShapeSize(sampleShape, nameof(sampleShape), "sample");
        int k = ShapeSize(targetShape, nameof(targetShape), "target");
        if (features.Length % d != 0)
            throw new ArgumentException($"{features.Length} feature values are not a whole number of samples of shape [{string.Join(", ", sampleShape)}] ({d} values each).", nameof(features));
        int n = features.Length / d;
        if ((long)n * k != targets.Length)
            throw new ArgumentException(
                $"{n} samples with targets of shape [{string.Join(", ", targetShape)}] need {(long)n * k} target values; got {targets.Length}.", nameof(targets));
        X = features;
        Labels = [];
        Features = d;
        SampleShape = sampleShape;
        Count = n;
        Targets = targets;
        TargetShape = targetShape;
        TargetSize = k;
        InputIsTarget = inputIsTarget;
    }

    /// <summary>A dataset with float targets (regression): <paramref name="features"/> n × d and <paramref name="targets"/>
    /// n × k, row-major, wrapped without copies.</summary>
    /// <param name="features">n × d floats, row-major.</param>
    /// <param name="targets">n × k floats, row-major.</param>
    /// <param name="sampleShape">Per-sample shape of the features (product d).</param>
    /// <param name="targetShape">Per-sample shape of the targets (product k), e.g. [1] for one value.</param>
    public static Dataset WithTargets(float[] features, float[] targets, int[] sampleShape, int[] targetShape)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(sampleShape);
        ArgumentNullException.ThrowIfNull(targetShape);
        return new Dataset(features, sampleShape, targets, targetShape, inputIsTarget: false);
    }

    /// <summary>A dataset whose target is its input (an autoencoder's): <see cref="Targets"/> is <paramref name="features"/>
    /// itself (no copy), and a <see cref="DataLoader"/> hands each batch's input back as its target.</summary>
    public static Dataset AutoEncoder(float[] features, int[] sampleShape)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(sampleShape);
        return new Dataset(features, sampleShape, features, sampleShape, inputIsTarget: true);
    }

    private static int ShapeSize(int[] shape, string parameter, string what)
    {
        ArgumentNullException.ThrowIfNull(shape, parameter);
        if (shape.Length == 0 || shape.Any(s => s <= 0))
            throw new ArgumentException($"The {what} shape must have positive dims; got [{string.Join(", ", shape)}].", parameter);
        return shape.Aggregate(1, (a, b) => checked(a * b));
    }

    /// <summary>n × d features, row-major.</summary>
    public float[] X { get; }
    /// <summary>One class per sample, or empty for a dataset with float <see cref="Targets"/>.</summary>
    public int[] Labels { get; }
    /// <summary>The number of classes, or 0 for a dataset with float <see cref="Targets"/>.</summary>
    public int Classes { get; }
    /// <summary>Labels per sample: 1, or a sequence's length (<see cref="WithLabelSequences"/>); 0 for float targets.</summary>
    public int LabelsPerSample { get; }
    /// <summary>d, the number of floats per sample.</summary>
    public int Features { get; }
    public int[] SampleShape { get; }
    public int Count { get; }
    /// <summary>True for a classifier's dataset (integer <see cref="Labels"/>).</summary>
    public bool HasLabels => Classes > 0;
    /// <summary>n × k float targets, row-major (<see cref="X"/> itself when <see cref="InputIsTarget"/>), or null for labels.</summary>
    public float[]? Targets { get; }
    /// <summary>Per-sample shape of <see cref="Targets"/> (empty for labels).</summary>
    public int[] TargetShape { get; }
    /// <summary>k, the floats per sample of <see cref="Targets"/> (0 for labels).</summary>
    public int TargetSize { get; }
    /// <summary>The target of every sample is its input (<see cref="AutoEncoder"/>).</summary>
    public bool InputIsTarget { get; }

    /// <summary>The float target of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Target(int index) =>
        (Targets ?? throw new InvalidOperationException("This dataset has integer labels, not float targets.")).AsSpan(checked(index * TargetSize), TargetSize);

    /// <summary>The features of sample <paramref name="index"/>.</summary>
    public ReadOnlySpan<float> Sample(int index) => X.AsSpan(checked(index * Features), Features);

    /// <summary>Builds a dataset from an images IDX (n × ...) and a labels IDX (n); pixels become byte / 255.</summary>
    public static Dataset FromIdx(IdxData images, IdxData labels, int classes, string imagesName = "images", string labelsName = "labels")
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(labels);
        if (images.Dims.Length < 2)
            throw new InvalidDataException($"'{imagesName}' has dims {images.ShapeText}; expected an images file (magic 0x00000803, n x rows x cols).");
        if (labels.Dims.Length != 1)
            throw new InvalidDataException($"'{labelsName}' has dims {labels.ShapeText}; expected a labels file (magic 0x00000801, one dim).");
        if (images.Count != labels.Count)
            throw new InvalidDataException($"'{imagesName}' has {images.Count} images but '{labelsName}' has {labels.Count} labels; they must match.");
        var x = new float[images.Data.Length];
        ScaleBytes(images.Data, x);
        var y = new int[labels.Count];
        for (int i = 0; i < y.Length; i++)
        {
            y[i] = labels.Data[i];
            if (y[i] >= classes)
                throw new InvalidDataException($"'{labelsName}': label {i} is {y[i]}; expected a class in [0, {classes}).");
        }
        return new Dataset(x, y, classes, images.Dims[1..]);
    }

    /// <summary>x[i] = bytes[i] / 255, correctly rounded (a division, unlike b · (1/255)); 8 lanes at a time.</summary>
    private static void ScaleBytes(ReadOnlySpan<byte> bytes, Span<float> x)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var divisor = Vector256.Create(255f);
            for (; i + 16 <= bytes.Length; i += 16)
            {
                (Vector256<ushort> lo16, _) = Vector256.Widen(Vector256.Create(Vector128.LoadUnsafe(ref MemoryMarshal.GetReference(bytes), (nuint)i), Vector128<byte>.Zero));
                (Vector256<uint> a, Vector256<uint> b) = Vector256.Widen(lo16);
                (Vector256.ConvertToSingle(a.AsInt32()) / divisor).StoreUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i);
                (Vector256.ConvertToSingle(b.AsInt32()) / divisor).StoreUnsafe(ref MemoryMarshal.GetReference(x), (nuint)i + 8);
            }
        }
        for (; i < bytes.Length; i++) x[i] = bytes[i] / 255f;
    }

    /// <summary>Reads an images/labels IDX pair from streams (raw or gzipped), e.g. embedded resources.</summary>
    public static Dataset LoadIdxPair(Stream images, Stream labels, int classes) => LoadIdxPair(images, labels, classes, maxCount: null);

    /// <summary>Reads the first <paramref name="maxCount"/> samples (all when null) of an images/labels IDX pair from
    /// streams; the rest of each stream is not decompressed.</summary>
    public static Dataset LoadIdxPair(Stream images, Stream labels, int classes, int? maxCount) =>
        FromIdx(Idx.Read(images, "images", maxCount), Idx.Read(labels, "labels", maxCount), classes);

    /// <summary>Reads an images/labels IDX pair from files (raw or gzipped).</summary>
    public static Dataset LoadIdxPair(string imagesPath, string labelsPath, int classes) =>
        FromIdx(Idx.Read(imagesPath), Idx.Read(labelsPath), classes, imagesPath, labelsPath);

    /// <summary>Loads Fashion-MNIST (or MNIST) from <paramref name="directory"/>: <c>train-images-idx3-ubyte</c> and
    /// <c>train-labels-idx1-ubyte</c> (or the <c>t10k-</c> files when <paramref name="train"/> is false),
    /// each either gzipped (<c>.gz</c>) or raw.</summary>
    public static Dataset LoadFashionMnist(string directory, bool train)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory)) throw new DirectoryNotFoundException($"Fashion-MNIST directory '{directory}' does not exist.");
        string prefix = train ? "train" : "t10k";
        string images = Locate(directory, $"{prefix}-images-idx3-ubyte");
        string labels = Locate(directory, $"{prefix}-labels-idx1-ubyte");
        return LoadIdxPair(images, labels, 10);
    }

    private static string Locate(string directory, string baseName)
    {
        string gz = Path.Combine(directory, baseName + ".gz"), raw = Path.Combine(directory, baseName);
        if (File.Exists(gz)) return gz;
        if (File.Exists(raw)) return raw;
        throw new FileNotFoundException($"Neither '{gz}' nor '{raw}' exists.", gz);
    }

    /// <summary>The samples <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 (copied).</summary>
    public Dataset Subset(int start, int count)
    {
        if (start < 0 || count < 0 || start > Count - count)
            throw new ArgumentOutOfRangeException(nameof(count), $"Subset [{start}, {start}+{count}) is outside the {Count} samples.");
        float[] x = X.AsSpan(start * Features, count * Features).ToArray();
        int k = LabelsPerSample;
        if (HasLabels) return new Dataset(x, Labels.AsSpan(start * k, count * k).ToArray(), Classes, SampleShape, k);
        if (InputIsTarget) return AutoEncoder(x, SampleShape);
        return WithTargets(x, Targets!.AsSpan(start * TargetSize, count * TargetSize).ToArray(), SampleShape, TargetShape);
    }

    /// <summary>The samples at <paramref name="indices"/>, in that order (copied).</summary>
    public Dataset Subset(ReadOnlySpan<int> indices)
    {
        var x = new float[checked(indices.Length * Features)];
        int k = LabelsPerSample;
        var y = new int[HasLabels ? checked(indices.Length * k) : 0];
        var t = Targets is not null && !InputIsTarget ? new float[checked(indices.Length * TargetSize)] : null;
        for (int i = 0; i < indices.Length; i++)
        {
            int s = indices[i];
            if ((uint)s >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), s, $"Index {i} is {s}; the dataset has {Count} samples.");
            X.AsSpan(s * Features, Features).CopyTo(x.AsSpan(i * Features));
            if (HasLabels) Labels.AsSpan(s * k, k).CopyTo(y.AsSpan(i * k));
            if (t is not null) Targets.AsSpan(s * TargetSize, TargetSize).CopyTo(t.AsSpan(i * TargetSize));
        }
        if (HasLabels) return new Dataset(x, y, Classes, SampleShape, k);
        return InputIsTarget ? AutoEncoder(x, SampleShape) : WithTargets(x, t!, SampleShape, TargetShape);
    }

    /// <summary>Splits off <paramref name="validationCount"/> samples for validation. With a seed the samples are
    /// assigned by a seeded shuffle; without one, the last samples form the validation set.</summary>
    public (Dataset Train, Dataset Validation) Split(int validationCount, ulong? seed = null)
    {
        if (validationCount < 0 || validationCount > Count)
            throw new ArgumentOutOfRangeException(nameof(validationCount), validationCount, $"Expected 0 to {Count} validation samples.");
        var order = new int[Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (seed is ulong s) DlRandom.ForStream(s, "Dataset.Split").Shuffle(order.AsSpan());
        int trainCount = Count - validationCount;
        return (Subset(order.AsSpan(0, trainCount)), Subset(order.AsSpan(trainCount)));
    }

    /// <summary>Splits off the fraction <paramref name="validationFraction"/> (rounded to the nearest count) for validation.</summary>
    public (Dataset Train, Dataset Validation) Split(double validationFraction, ulong? seed = null)
    {
        if (!(validationFraction >= 0 && validationFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), validationFraction, "Expected a fraction in [0, 1].");
        return Split((int)Math.Round(validationFraction * Count), seed);
    }

    /// <summary>The number of samples of each class.</summary>
    public int[] ClassCounts()
    {
        var counts = new int[Classes];
        foreach (int label in Labels) counts[label]++;
        return counts;
    }
}
