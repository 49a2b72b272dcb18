using Dl.Data;

namespace Dl.Tests;

/// <summary>Image augmentation: flips, shifts against a reference built from the documented draws, determinism,
/// the DataLoader option (labels untouched, replayable epochs), checks and allocation.</summary>
public class AugmentationTests
{
    /// <summary>Pixel values that identify their position: 1 + c·1000 + r·100 + q (never 0, so zero padding is visible).</summary>
    private static float[] Images(int batch, int channels, int height, int width)
    {
        var x = new float[batch * channels * height * width];
        int i = 0;
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < channels; c++)
                for (int r = 0; r < height; r++)
                    for (int q = 0; q < width; q++)
                        x[i++] = 1 + b * 10000 + c * 1000 + r * 100 + q;
        return x;
    }

    /// <summary>out[c, r, q] = in[c, r + dy, q + dx], 0 outside.</summary>
    private static float[] Shifted(ReadOnlySpan<float> image, int channels, int height, int width, int dy, int dx)
    {
        var y = new float[image.Length];
        for (int c = 0; c < channels; c++)
            for (int r = 0; r < height; r++)
                for (int q = 0; q < width; q++)
                {
                    int sr = r + dy, sq = q + dx;
                    y[(c * height + r) * width + q] = sr >= 0 && sr < height && sq >= 0 && sq < width ? image[(c * height + sr) * width + sq] : 0f;
                }
        return y;
    }

    private static float[] Mirrored(ReadOnlySpan<float> image, int rows, int width)
    {
        var y = new float[image.Length];
        for (int r = 0; r < rows; r++)
            for (int q = 0; q < width; q++)
                y[r * width + q] = image[r * width + width - 1 - q];
        return y;
    }

    [Fact]
    public void Flip_MirrorsEveryRow_AndTwiceIsTheIdentity()
    {
        float[] x = Images(3, 2, 4, 5);
        float[] once = (float[])x.Clone();
        new ImageAugmentation(1).RandomHorizontalFlip(1).Apply(once, 3, 2, 4, 5);
        Assert.Equal(Mirrored(x, 3 * 2 * 4, 5), once);
        float[] twice = (float[])x.Clone();
        new ImageAugmentation(1).RandomHorizontalFlip(1).RandomHorizontalFlip(1).Apply(twice, 3, 2, 4, 5);
        Assert.Equal(x, twice);
        float[] never = (float[])x.Clone();
        new ImageAugmentation(1).RandomHorizontalFlip(0).Apply(never, 3, 2, 4, 5);
        Assert.Equal(x, never);
    }

    [Fact]
    public void Flip_WithHalfProbability_FlipsAboutHalfTheImages_AsDrawn()
    {
        const int batch = 400, w = 3;
        float[] x = Images(batch, 1, 1, w);
        float[] y = (float[])x.Clone();
        new ImageAugmentation(5).RandomHorizontalFlip().Apply(y, batch, 1, 1, w);
        var random = new DlRandom(5); // the documented draw: one NextFloat per image, flip when below p
        int flipped = 0;
        for (int b = 0; b < batch; b++)
        {
            bool flip = random.NextFloat() < 0.5f;
            flipped += flip ? 1 : 0;
            float[] expected = flip ? Mirrored(x.AsSpan(b * w, w), 1, w) : x.AsSpan(b * w, w).ToArray();
            Assert.Equal(expected, y.AsSpan(b * w, w).ToArray());
        }
        Assert.InRange(flipped, 150, 250);
    }

    [Theory]
    [InlineData(1, 28, 28, 2)]
    [InlineData(3, 5, 7, 2)]
    [InlineData(2, 4, 4, 4)]  // offsets can empty the image entirely
    [InlineData(1, 1, 9, 1)]
    public void Shift_MovesContentByTheDrawnOffset_WithZeroFill(int channels, int height, int width, int padding)
    {
        const int batch = 40;
        float[] x = Images(batch, channels, height, width);
        float[] y = (float[])x.Clone();
        new ImageAugmentation(9).RandomShift(padding).Apply(y, batch, channels, height, width);
        var random = new DlRandom(9); // the documented draws: oy then ox, each NextInt(2P + 1)
        int size = channels * height * width;
        var offsets = new HashSet<(int, int)>();
        for (int b = 0; b < batch; b++)
        {
            int dy = random.NextInt(2 * padding + 1) - padding, dx = random.NextInt(2 * padding + 1) - padding;
            offsets.Add((dy, dx));
            Assert.Equal(Shifted(x.AsSpan(b * size, size), channels, height, width, dy, dx), y.AsSpan(b * size, size).ToArray());
        }
        Assert.True(offsets.Count > 5, "the offsets vary");
    }

    [Fact]
    public void Shift_OnOnePlane_HandlesEveryDirectionInPlace()
    {
        const int h = 5, w = 6;
        float[] plane = Images(1, 1, h, w);
        for (int dy = -6; dy <= 6; dy++)
            for (int dx = -7; dx <= 7; dx++)
            {
                float[] y = (float[])plane.Clone();
                ImageAugmentation.Shift(y, h, w, dy, dx);
                Assert.Equal(Shifted(plane, 1, h, w, dy, dx), y);
            }
        // Padding 1, crop offset (oy, ox) = (0, 2): dy = −1, dx = +1, so content moves down one row and left one column.
        float[] small = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        ImageAugmentation.Shift(small, 3, 3, -1, 1);
        Assert.Equal([0, 0, 0, 2, 3, 0, 5, 6, 0], small);
    }

    [Fact]
    public void ShiftZero_IsTheIdentity_AndStepsCompose()
    {
        float[] x = Images(4, 2, 6, 6);
        float[] y = (float[])x.Clone();
        new ImageAugmentation(3).RandomShift(0).Apply(y, 4, 2, 6, 6);
        Assert.Equal(x, y);

        // Shift then flip, per image, in the documented draw order.
        float[] z = (float[])x.Clone();
        var augment = new ImageAugmentation(4).RandomShift(2).RandomHorizontalFlip(0.5);
        Assert.Equal(2, augment.StepCount);
        augment.Apply(z, 4, 2, 6, 6);
        var random = new DlRandom(4);
        for (int b = 0; b < 4; b++)
        {
            int dy = random.NextInt(5) - 2, dx = random.NextInt(5) - 2;
            float[] expected = Shifted(x.AsSpan(b * 72, 72), 2, 6, 6, dy, dx);
            if (random.NextFloat() < 0.5f) expected = Mirrored(expected, 12, 6);
            Assert.Equal(expected, z.AsSpan(b * 72, 72).ToArray());
        }
    }

    [Fact]
    public void SameSeed_SameResult_DifferentSeed_DifferentResult()
    {
        float[] x = Images(16, 1, 8, 8);
        float[] Run(ulong seed)
        {
            float[] y = (float[])x.Clone();
            new ImageAugmentation(seed).RandomShift(2).RandomHorizontalFlip().Apply(y, 16, 1, 8, 8);
            return y;
        }
        Assert.Equal(Run(1), Run(1));
        Assert.NotEqual(Run(1), Run(2));
        // Reseed restarts the stream; BeginEpoch gives each epoch its own reproducible stream.
        var a = new ImageAugmentation(1).RandomShift(2);
        float[] first = (float[])x.Clone(), again = (float[])x.Clone(), other = (float[])x.Clone();
        a.BeginEpoch(3);
        a.Apply(first, 16, 1, 8, 8);
        a.BeginEpoch(3);
        a.Apply(again, 16, 1, 8, 8);
        a.BeginEpoch(4);
        a.Apply(other, 16, 1, 8, 8);
        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
    }

    // ---- DataLoader option ----

    private static Dataset ImageData(int n, int[] shape)
    {
        int d = shape.Aggregate(1, (a, b) => a * b);
        var x = new float[n * d];
        for (int i = 0; i < x.Length; i++) x[i] = 1 + i % 97;
        for (int s = 0; s < n; s++) x[s * d] = 1000 + s; // sample id in the first pixel (moves under augmentation; kept in a copy below)
        return new Dataset(x, Enumerable.Range(0, n).Select(i => i % 10).ToArray(), 10, shape);
    }

    [Fact]
    public void DataLoader_AugmentsEachBatch_LeavesLabelsAndDatasetAlone_AndReplaysEpochs()
    {
        Dataset data = ImageData(50, [1, 6, 6]);
        float[] original = (float[])data.X.Clone();
        var plain = new DataLoader(data, 8, seed: 2);
        var augmented = new DataLoader(data, 8, seed: 2, augmentation: new ImageAugmentation(7).RandomShift(1).RandomHorizontalFlip());
        var reference = new ImageAugmentation(7).RandomShift(1).RandomHorizontalFlip();
        for (int epoch = 0; epoch < 2; epoch++)
        {
            reference.BeginEpoch(epoch);
            bool anyChanged = false;
            while (plain.NextBatch(out var px, out var py))
            {
                Assert.True(augmented.NextBatch(out var ax, out var ay));
                Assert.Equal(py.ToArray(), ay.ToArray());          // labels and order untouched
                float[] expected = px.ToArray();
                reference.Apply(expected, py.Length, 1, 6, 6);     // the loader applies exactly this
                Assert.Equal(expected, ax.ToArray());
                anyChanged |= !px.SequenceEqual(ax);
            }
            Assert.False(augmented.NextBatch(out _, out _));
            Assert.True(anyChanged);
        }
        Assert.Equal(original, data.X);                             // the dataset is never modified

        // Reset(epoch) replays the augmented epoch exactly.
        var replay = new DataLoader(data, 8, seed: 2, augmentation: new ImageAugmentation(7).RandomShift(1).RandomHorizontalFlip());
        List<float[]> Epoch(DataLoader loader)
        {
            var batches = new List<float[]>();
            foreach (var batch in loader) batches.Add(batch.X.ToArray());
            return batches;
        }
        List<float[]> e0 = Epoch(replay), e1 = Epoch(replay);
        replay.Reset(1);
        Assert.Equal(e1, Epoch(replay));
        replay.Reset(0);
        Assert.Equal(e0, Epoch(replay));
        Assert.NotEqual(e0, e1);
    }

    [Fact]
    public void DataLoader_AcceptsHeightWidthShapes_AndRejectsFlatOnes()
    {
        var loader = new DataLoader(ImageData(10, [4, 4]), 4, augmentation: new ImageAugmentation().RandomShift(1));
        Assert.NotNull(loader.Augmentation);
        foreach (var batch in loader) Assert.Equal(16 * batch.Size, batch.X.Length);
        var e = Assert.Throws<ArgumentException>(() => new DataLoader(ImageData(10, [16]), 4, augmentation: new ImageAugmentation().RandomShift(1)));
        Assert.Equal("augmentation", e.ParamName);
        Assert.Contains("[16]", e.Message);
        Assert.Null(new DataLoader(ImageData(10, [16]), 4).Augmentation);
    }

    [Fact]
    public void BadArguments_ThrowNamingTheValueAndTheExpectation()
    {
        var a = new ImageAugmentation();
        var r = Assert.Throws<ArgumentOutOfRangeException>(() => a.RandomHorizontalFlip(1.5));
        Assert.Equal("p", r.ParamName);
        Assert.Contains("1.5", r.Message);
        Assert.Contains("[0, 1]", r.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => a.RandomHorizontalFlip(double.NaN));
        r = Assert.Throws<ArgumentOutOfRangeException>(() => a.RandomShift(-1));
        Assert.Equal("padding", r.ParamName);
        Assert.Contains("-1", r.Message);
        var e = Assert.Throws<ArgumentException>(() => a.Apply(new float[10], 1, 1, 3, 3));
        Assert.Equal("images", e.ParamName);
        Assert.Contains("1 × 1 × 3 × 3 = 9", e.Message);
        r = Assert.Throws<ArgumentOutOfRangeException>(() => a.Apply(new float[9], 1, 1, 0, 3));
        Assert.Equal("height", r.ParamName);
        Assert.Throws<ArgumentException>(() => ImageAugmentation.Shift(new float[5], 2, 3, 0, 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => a.BeginEpoch(-1));
    }

    [Fact]
    public void Apply_AndAugmentedLoader_AllocateNothingPerBatch()
    {
        var augment = new ImageAugmentation(1).RandomShift(2).RandomHorizontalFlip();
        float[] images = Images(64, 1, 28, 28);
        Assert.Equal(0, Allocation.PerCall(() => augment.Apply(images, 64, 1, 28, 28)));
        var loader = new DataLoader(ImageData(300, [1, 28, 28]), 64, seed: 1, augmentation: new ImageAugmentation(1).RandomShift(2).RandomHorizontalFlip());
        float sum = 0;
        Assert.Equal(0, Allocation.PerCall(() =>
        {
            foreach (var batch in loader) sum += batch.X[0] + batch.Y[0];
        }, calls: 3));
        Assert.True(sum != 0);
    }
}
