using Dl.Data;

namespace Dl.Tests;

/// <summary>Datasets with float targets or label sequences through subsets, splits and the loader, and the loader's
/// Seek (a resumed run's place in its data, augmentation included).</summary>
public class TargetsAndSeekTests
{
    private static float[] Sequence(int n) => Enumerable.Range(0, n).Select(i => (float)i).ToArray();

    [Fact]
    public void FloatTargets_FollowTheirSamples_ThroughSplitAndLoader()
    {
        // Sample i has features [i, i + 0.5] and target [10 i, −i, 1].
        const int n = 23;
        var x = new float[n * 2];
        var t = new float[n * 3];
        for (int i = 0; i < n; i++)
        {
            x[2 * i] = i;
            x[2 * i + 1] = i + 0.5f;
            t[3 * i] = 10 * i;
            t[3 * i + 1] = -i;
            t[3 * i + 2] = 1;
        }
        Dataset data = Dataset.WithTargets(x, t, [2], [3]);
        Assert.False(data.HasLabels);
        Assert.Equal(3, data.TargetSize);
        Assert.Empty(data.Labels);
        Assert.Equal(0, data.LabelsPerSample);
        (Dataset train, Dataset validation) = data.Split(0.3, seed: 5);
        Assert.Equal(16, train.Count);
        Assert.Equal(7, validation.Count);
        int seen = 0;
        foreach (Dataset part in new[] { train, validation })
        {
            foreach (DataLoader.Batch batch in new DataLoader(part, 4, seed: 3))
            {
                for (int s = 0; s < batch.Size; s++)
                {
                    float i = batch.X[2 * s];
                    Assert.Equal([10 * i, -i, 1], batch.Targets.Slice(3 * s, 3).ToArray());
                    seen++;
                }
            }
        }
        Assert.Equal(n, seen);
        var e = Assert.Throws<ArgumentException>(() => Dataset.WithTargets(new float[6], new float[4], [2], [1]));
        Assert.Contains("3 samples with targets of shape [1] need 3 target values; got 4", e.Message);
    }

    [Fact]
    public void LabelSequences_AreBatchedPerSample()
    {
        // 5 samples of 2 features, 3 labels each: sample i's labels are (i, i + 1, i + 2) mod 7.
        var labels = new int[15];
        for (int i = 0; i < 5; i++) for (int k = 0; k < 3; k++) labels[3 * i + k] = (i + k) % 7;
        Dataset data = Dataset.WithLabelSequences(Sequence(10), labels, 7, [2], 3);
        Assert.Equal(5, data.Count);
        Assert.Equal(3, data.LabelsPerSample);
        var loader = new DataLoader(data, 2, seed: 1);
        while (loader.NextBatch(out ReadOnlySpan<float> x, out ReadOnlySpan<int> y))
        {
            Assert.Equal(3 * x.Length / 2, y.Length);
            for (int s = 0; s < x.Length / 2; s++)
            {
                int i = (int)x[2 * s] / 2;
                Assert.Equal([i % 7, (i + 1) % 7, (i + 2) % 7], y.Slice(3 * s, 3).ToArray());
            }
        }
        Dataset sub = data.Subset([4, 0]);
        Assert.Equal([4, 5, 6, 0, 1, 2], sub.Labels);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Dataset.WithLabelSequences(new float[2], [0, 9], 7, [2], 2));
        Assert.Contains("Label 1 of sample 0 is 9", e.Message);
    }

    /// <summary>Seek(epoch, position) resumes the batches exactly: the same shuffle, and with augmentation the same
    /// augmented images (the skipped batches' draws are replayed).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Seek_ResumesTheBatchesExactly(bool augment)
    {
        const int n = 21, batch = 4;
        var random = new DlRandom(2);
        var x = new float[n * 16];
        for (int i = 0; i < x.Length; i++) x[i] = random.NextFloat();
        var data = new Dataset(x, Enumerable.Range(0, n).Select(i => i % 3).ToArray(), 3, [1, 4, 4]);
        DataLoader Make() => new(data, batch, seed: 11, augmentation: augment ? new ImageAugmentation(5).RandomShift(1).RandomHorizontalFlip() : null);

        DataLoader whole = Make();
        var expected = new List<(float[] X, int[] Y)>();
        for (int epoch = 0; epoch < 3; epoch++)
            while (whole.NextBatch(out ReadOnlySpan<float> bx, out ReadOnlySpan<int> by)) expected.Add((bx.ToArray(), by.ToArray()));

        // Stop after 8 batches (epoch 1, 8 samples in), seek a new loader there, and read the rest.
        DataLoader first = Make();
        for (int got = 0; got < 8;)
            if (first.NextBatch(out ReadOnlySpan<float> _, out ReadOnlySpan<int> _)) got++;   // epoch 0's 6 batches, then 2
        Assert.Equal(1, first.Epoch);
        Assert.Equal(8, first.Position);
        DataLoader resumed = Make();
        resumed.Seek(first.Epoch, first.Position);
        var rest = new List<(float[] X, int[] Y)>();
        for (int epoch = 1; epoch < 3; epoch++)
            while (resumed.NextBatch(out ReadOnlySpan<float> bx, out ReadOnlySpan<int> by)) rest.Add((bx.ToArray(), by.ToArray()));
        Assert.Equal(expected.Count - 8, rest.Count);
        for (int b = 0; b < rest.Count; b++)
        {
            Assert.Equal(expected[8 + b].X, rest[b].X);
            Assert.Equal(expected[8 + b].Y, rest[b].Y);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => Make().Seek(1, 3));
    }
}
