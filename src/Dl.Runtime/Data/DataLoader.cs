namespace Dl.Data;

/// <summary>
/// Mini-batches over a <see cref="Dataset"/>: each epoch visits every sample exactly once, in an order given by a
/// seeded Fisher–Yates shuffle that depends only on (seed, epoch number), so runs are reproducible and an epoch can
/// be replayed. Batches are copied into buffers allocated by the constructor: nothing is allocated per batch, and a
/// batch's spans stay valid only until the next batch is produced.
/// </summary>
/// <example><code>
/// var loader = new DataLoader(train, batchSize: 64, seed: 1);
/// for (int epoch = 0; epoch &lt; 10; epoch++)
///     foreach (var batch in loader)
///         model.TrainStep(batch.X, batch.Y, batch.Size, optimizer);
/// </code></example>
/// <remarks>A dataset with float targets (<see cref="Dataset.WithTargets"/>, <see cref="Dataset.AutoEncoder"/>) is read with
/// <see cref="NextBatch(out Batch)"/> or <c>foreach</c>: <see cref="Batch.Targets"/> holds the batch's targets (for an
/// autoencoder, the batch's input itself, after any augmentation).
/// With an <see cref="ImageAugmentation"/> every batch is augmented in place after it is copied (the dataset
/// itself is never modified); the augmentation's generator restarts at each epoch from (its seed, epoch number), so
/// augmented epochs are reproducible and replayable too. Use it for training loaders only.</remarks>
public sealed class DataLoader
{
    private readonly Dataset _data;
    private readonly int[] _order;
    private readonly float[] _x;
    private readonly int[] _y;
    private readonly float[]? _t;
    private readonly DlRandom _random = new(0);
    private readonly ulong _seed;
    private int _position;
    private bool _inEpoch;
    private readonly ImageAugmentation? _augmentation;
    private readonly int _channels, _height, _width;

    /// <param name="data">The samples.</param>
    /// <param name="batchSize">Largest batch produced.</param>
    /// <param name="shuffle">Shuffle every epoch (false: dataset order).</param>
    /// <param name="seed">Seed of the shuffles.</param>
    /// <param name="dropLast">Skip the last batch when it is smaller than <paramref name="batchSize"/>.</param>
    /// <param name="augmentation">Applied in place to every batch; needs images: a sample shape [H, W] (one channel)
    /// or [C, H, W].</param>
    public DataLoader(Dataset data, int batchSize, bool shuffle = true, ulong seed = 0, bool dropLast = false, ImageAugmentation? augmentation = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        _data = data;
        BatchSize = batchSize;
        Shuffle = shuffle;
        DropLast = dropLast;
        _seed = seed;
        _order = new int[data.Count];
        _x = new float[checked(batchSize * data.Features)];
        _y = new int[data.HasLabels ? checked(batchSize * data.LabelsPerSample) : 0];
        if (data.Targets is not null && !data.InputIsTarget) _t = new float[checked(batchSize * data.TargetSize)];
        if (augmentation is not null)
        {
            int[] shape = data.SampleShape;
            (_channels, _height, _width) = shape.Length switch
            {
                2 => (1, shape[0], shape[1]),
                3 => (shape[0], shape[1], shape[2]),
                _ => throw new ArgumentException(
                    $"Image augmentation needs samples shaped [H, W] or [C, H, W]; the dataset's sample shape is [{string.Join(", ", shape)}]. " +
                    "Construct the Dataset with an image sampleShape.", nameof(augmentation)),
            };
            _augmentation = augmentation;
        }
    }

    /// <summary>The augmentation applied to each batch, if any.</summary>
    public ImageAugmentation? Augmentation => _augmentation;

    public Dataset Data => _data;
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }

    /// <summary>Batches per epoch: ⌈n / batch⌉, or ⌊n / batch⌋ with <see cref="DropLast"/>.</summary>
    public int BatchesPerEpoch => DropLast ? _data.Count / BatchSize : (_data.Count + BatchSize - 1) / BatchSize;

    /// <summary>Samples per epoch (the dropped remainder excluded).</summary>
    public int SamplesPerEpoch => DropLast ? BatchesPerEpoch * BatchSize : _data.Count;

    /// <summary>The number of the epoch in progress (0-based), or of the next one when none is in progress.</summary>
    public int Epoch { get; private set; }

    /// <summary>The sample indices of the current epoch, in visiting order.</summary>
    public ReadOnlySpan<int> Order => _order;

    /// <summary>Samples of the epoch in progress already produced (0 when none is in progress).</summary>
    public int Position => _inEpoch ? _position : 0;

    /// <summary>Abandons any epoch in progress; the next batch starts epoch <paramref name="epoch"/> (for resuming a run).</summary>
    public void Reset(int epoch = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        Epoch = epoch;
        _inEpoch = false;
        _position = 0;
    }

    /// <summary>Resumes at <paramref name="position"/> samples into epoch <paramref name="epoch"/> (the
    /// <see cref="Epoch"/> and <see cref="Position"/> of a saved run): the next batch is the one that run would have
    /// produced next, augmentation included (the skipped batches' draws are replayed).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The position is not a batch boundary of the epoch.</exception>
    public void Seek(int epoch, int position)
    {
        Reset(epoch);
        if (position == 0) return;
        if (position < 0 || position > SamplesPerEpoch || (position % BatchSize != 0 && position != _data.Count))
            throw new ArgumentOutOfRangeException(nameof(position), position,
                $"Position {position} is not a batch boundary of an epoch of {SamplesPerEpoch} samples in batches of {BatchSize}.");
        BeginEpoch();
        if (_augmentation is null)
        {
            _position = position;
            return;
        }
        while (_position < position) NextBatch(out Batch _);
    }

    /// <summary>Produces the next batch of the current epoch (starting an epoch when none is in progress).
    /// Returns false, with empty spans, once the epoch is exhausted; the call after that starts the next epoch.</summary>
    /// <param name="x">size × d features, valid until the next batch.</param>
    /// <param name="y">size labels, valid until the next batch.</param>
    /// <exception cref="InvalidOperationException">The dataset has float targets, not labels: use <see cref="NextBatch(out Batch)"/>.</exception>
    public bool NextBatch(out ReadOnlySpan<float> x, out ReadOnlySpan<int> y)
    {
        if (!_data.HasLabels)
            throw new InvalidOperationException("The dataset has float targets, not labels: read its batches with NextBatch(out Batch) or foreach.");
        bool more = NextBatch(out Batch batch);
        x = batch.X;
        y = batch.Y;
        return more;
    }

    /// <summary>Produces the next batch of the current epoch (starting an epoch when none is in progress): its features,
    /// and its labels or float targets, valid until the next batch. Returns false, with an empty batch, once the epoch is
    /// exhausted; the call after that starts the next epoch.</summary>
    public bool NextBatch(out Batch batch)
    {
        if (!_inEpoch) BeginEpoch();
        int remaining = _data.Count - _position;
        int size = Math.Min(BatchSize, remaining);
        if (size == 0 || (DropLast && size < BatchSize))
        {
            _inEpoch = false;
            Epoch++;
            batch = default;
            return false;
        }
        int d = _data.Features, k = _data.TargetSize, l = _data.LabelsPerSample;
        float[] source = _data.X;
        int[] labels = _data.Labels;
        float[]? targets = _t is null ? null : _data.Targets;
        for (int i = 0; i < size; i++)
        {
            int s = _order[_position + i];
            Array.Copy(source, s * d, _x, i * d, d);
            if (l == 1) _y[i] = labels[s];
            else if (l > 1) Array.Copy(labels, s * l, _y, i * l, l);
            if (targets is not null) Array.Copy(targets, s * k, _t!, i * k, k);
        }
        _position += size;
        _augmentation?.Apply(_x.AsSpan(0, size * d), size, _channels, _height, _width);
        var x = new ReadOnlySpan<float>(_x, 0, size * d);
        ReadOnlySpan<float> t = _t is not null ? new ReadOnlySpan<float>(_t, 0, size * k) : _data.InputIsTarget ? x : default;
        batch = new Batch(x, _y.Length > 0 ? new ReadOnlySpan<int>(_y, 0, size * l) : default, t, size);
        return true;
    }

    /// <summary>Enumerates the batches of one epoch: the rest of the epoch in progress, or a new epoch.</summary>
    public Enumerator GetEnumerator() => new(this);

    private void BeginEpoch()
    {
        for (int i = 0; i < _order.Length; i++) _order[i] = i;
        if (Shuffle)
        {
            // The order depends only on (seed, epoch): reseed in place rather than continue one long stream.
            _random.Reseed(DlRandom.Mix(_seed) + (ulong)Epoch);
            _random.Shuffle(_order.AsSpan());
        }
        _augmentation?.BeginEpoch(Epoch);
        _position = 0;
        _inEpoch = true;
    }

    /// <summary>One mini-batch: <see cref="X"/> is <see cref="Size"/> × d features, <see cref="Y"/> the labels (Size ×
    /// <see cref="Dataset.LabelsPerSample"/>; empty for a dataset with float targets), <see cref="Targets"/> the float targets (empty for labels).</summary>
    public readonly ref struct Batch
    {
        public Batch(ReadOnlySpan<float> x, ReadOnlySpan<int> y)
        {
            X = x;
            Y = y;
            Size = y.Length;
        }

        public Batch(ReadOnlySpan<float> x, ReadOnlySpan<int> y, ReadOnlySpan<float> targets, int size)
        {
            X = x;
            Y = y;
            Targets = targets;
            Size = size;
        }

        public ReadOnlySpan<float> X { get; }
        public ReadOnlySpan<int> Y { get; }
        public ReadOnlySpan<float> Targets { get; }
        public int Size { get; }
    }

    /// <summary>A non-allocating enumerator over the batches of one epoch.</summary>
    public ref struct Enumerator
    {
        private readonly DataLoader _loader;
        private Batch _batch;

        internal Enumerator(DataLoader loader) => _loader = loader;

        public readonly Batch Current => _batch;

        public bool MoveNext() => _loader.NextBatch(out _batch);
    }
}
