namespace Dl.Data;

/// <summary>
/// Seeded random augmentation of a batch of images [batch, C, H, W] (row-major float), applied in place. Steps run
/// in the order they were added, image by image, each step drawing from one shared generator:
/// <list type="bullet">
/// <item><see cref="RandomHorizontalFlip"/>(p): draws u = NextFloat(); when u &lt; p the image is mirrored left–right
/// (every row of every channel reversed).</item>
/// <item><see cref="RandomShift"/>(P): draws oy = NextInt(2P + 1) then ox = NextInt(2P + 1); the image is zero-padded
/// by P on every side and the H × W window at (oy, ox) of the padded image is kept, i.e.
/// out[c, r, q] = in[c, r + oy − P, q + ox − P] (0 outside the image) — PyTorch's RandomCrop(size, padding=P).</item>
/// </list>
/// Every step draws for every image, also when it changes nothing, so the draws of an image do not depend on what
/// earlier images drew. The same seed, steps and batches give the same results everywhere.
/// </summary>
/// <remarks>Nothing is allocated per batch: the flip reverses rows in place and the shift moves rows with overlap-safe
/// copies, visiting rows in the order that reads every source row before it is overwritten. Not thread-safe.
/// A <see cref="DataLoader"/> given an augmentation restarts its generator at every epoch from (seed, epoch)
/// (<see cref="BeginEpoch"/>), so an epoch's augmented batches can be replayed like its shuffle.</remarks>
/// <example><code>
/// var augment = new ImageAugmentation(seed: 1).RandomShift(2).RandomHorizontalFlip();
/// var loader = new DataLoader(train, 64, seed: 1, augmentation: augment);
/// </code></example>
public sealed class ImageAugmentation
{
    private enum Kind { Flip, Shift }

    private readonly record struct Step(Kind Kind, float Probability, int Padding);

    private readonly List<Step> _steps = [];
    private readonly DlRandom _random;
    private readonly ulong _epochBase;

    /// <summary>An augmentation with no steps yet (add them with the fluent methods); its draws depend only on
    /// <paramref name="seed"/>.</summary>
    public ImageAugmentation(ulong seed = 0)
    {
        Seed = seed;
        _random = new DlRandom(seed);
        _epochBase = DlRandom.Mix(seed) ^ DlRandom.Fnv1a64("ImageAugmentation");
    }

    public ulong Seed { get; }

    /// <summary>The number of steps added.</summary>
    public int StepCount => _steps.Count;

    /// <summary>Adds a left–right mirror applied to each image with probability <paramref name="p"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1].</exception>
    public ImageAugmentation RandomHorizontalFlip(double p = 0.5)
    {
        if (!(p >= 0 && p <= 1))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"The flip probability p is {p}; expected a probability in [0, 1].");
        _steps.Add(new Step(Kind.Flip, (float)p, 0));
        return this;
    }

    /// <summary>Adds a random shift: zero-pad by <paramref name="padding"/> and crop back to H × W at a uniformly drawn
    /// offset in [0, 2·padding] per axis (content moves by −padding … +padding pixels on each axis).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="padding"/> is negative or above 1024.</exception>
    public ImageAugmentation RandomShift(int padding)
    {
        if (padding < 0 || padding > 1024)
            throw new ArgumentOutOfRangeException(nameof(padding), padding, $"The shift padding is {padding}; expected a pixel count in [0, 1024] (e.g. 2 or 4).");
        _steps.Add(new Step(Kind.Shift, 0f, padding));
        return this;
    }

    /// <summary>Restarts the generator from <paramref name="seed"/> (as a new instance with that seed would draw).</summary>
    public void Reseed(ulong seed) => _random.Reseed(seed);

    /// <summary>Restarts the generator at the stream of epoch <paramref name="epoch"/>: Reseed((Mix(Seed) ⊕ FNV-1a-64("ImageAugmentation")) + epoch).
    /// <see cref="DataLoader"/> calls it at the start of every epoch.</summary>
    public void BeginEpoch(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        _random.Reseed(_epochBase + (ulong)epoch);
    }

    /// <summary>Augments <paramref name="batch"/> images [channels, height, width] stored back to back in
    /// <paramref name="images"/>, in place.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="ArgumentException"><paramref name="images"/> does not hold batch × channels × height × width values.</exception>
    public void Apply(Span<float> images, int batch, int channels, int height, int width)
    {
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch is {batch}; expected a non-negative image count.");
        if (channels < 1) throw new ArgumentOutOfRangeException(nameof(channels), channels, $"channels is {channels}; expected at least 1.");
        if (height < 1) throw new ArgumentOutOfRangeException(nameof(height), height, $"height is {height}; expected at least 1.");
        if (width < 1) throw new ArgumentOutOfRangeException(nameof(width), width, $"width is {width}; expected at least 1.");
        long size = (long)channels * height * width;
        if (images.Length != batch * size)
            throw new ArgumentException(
                $"images has {images.Length} values; expected batch × channels × height × width = {batch} × {channels} × {height} × {width} = {batch * size}.",
                nameof(images));
        int plane = height * width;
        for (int b = 0; b < batch; b++)
        {
            Span<float> image = images.Slice((int)(b * size), (int)size);
            foreach (Step step in _steps)
            {
                if (step.Kind == Kind.Flip)
                {
                    if (_random.NextFloat() < step.Probability) FlipHorizontal(image, channels * height, width);
                }
                else
                {
                    int range = 2 * step.Padding + 1;
                    int dy = _random.NextInt(range) - step.Padding;
                    int dx = _random.NextInt(range) - step.Padding;
                    for (int c = 0; c < channels; c++) Shift(image.Slice(c * plane, plane), height, width, dy, dx);
                }
            }
        }
    }

    /// <summary>Reverses each of <paramref name="rows"/> rows of <paramref name="width"/> values.</summary>
    public static void FlipHorizontal(Span<float> image, int rows, int width)
    {
        if (rows < 0 || width < 1 || image.Length != (long)rows * width)
            throw new ArgumentException($"image has {image.Length} values; expected rows × width = {rows} × {width} with width ≥ 1.", nameof(image));
        for (int r = 0; r < rows; r++) image.Slice(r * width, width).Reverse();
    }

    /// <summary>out[r, q] = in[r + dy, q + dx] (0 where that falls outside) on one plane [height, width], in place.</summary>
    public static void Shift(Span<float> plane, int height, int width, int dy, int dx)
    {
        if (height < 1 || width < 1 || plane.Length != (long)height * width)
            throw new ArgumentException($"plane has {plane.Length} values; expected height × width = {height} × {width}, both ≥ 1.", nameof(plane));
        if (dy == 0 && dx == 0) return;
        if (Math.Abs(dy) >= height || Math.Abs(dx) >= width)
        {
            plane.Clear();
            return;
        }
        int keep = width - Math.Abs(dx);          // values copied per row
        int from = Math.Max(dx, 0), to = Math.Max(-dx, 0);
        // Row r reads row r + dy: ascending order when dy > 0 (sources lie below, not yet overwritten), descending otherwise.
        for (int k = 0; k < height; k++)
        {
            int r = dy > 0 ? k : height - 1 - k;
            Span<float> row = plane.Slice(r * width, width);
            int source = r + dy;
            if ((uint)source >= (uint)height)
            {
                row.Clear();
                continue;
            }
            plane.Slice(source * width + from, keep).CopyTo(row.Slice(to)); // memmove: safe when source == r
            if (dx > 0) row.Slice(keep).Clear();
            else if (dx < 0) row.Slice(0, to).Clear();
        }
    }
}
