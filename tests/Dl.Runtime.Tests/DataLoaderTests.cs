using Dl.Data;

namespace Dl.Tests;

public class DataLoaderTests
{
    // Sample i has features [i, i + 0.5] and label i % 3, so every batch row can be traced back to its sample.
    private static Dataset Make(int n)
    {
        var x = new float[2 * n];
        for (int i = 0; i < n; i++) { x[2 * i] = i; x[2 * i + 1] = i + 0.5f; }
        return new Dataset(x, Enumerable.Range(0, n).Select(i => i % 3).ToArray(), 3);
    }

    private static List<int> Epoch(DataLoader loader, List<int>? sizes = null)
    {
        var seen = new List<int>();
        foreach (var batch in loader)
        {
            sizes?.Add(batch.Size);
            Assert.Equal(2 * batch.Size, batch.X.Length);
            for (int r = 0; r < batch.Size; r++)
            {
                int s = (int)batch.X[2 * r];
                Assert.Equal(s + 0.5f, batch.X[2 * r + 1]);
                Assert.Equal(s % 3, batch.Y[r]);
                seen.Add(s);
            }
        }
        return seen;
    }

    [Fact]
    public void EveryEpoch_CoversEverySampleOnce_IncludingPartialLastBatch()
    {
        var loader = new DataLoader(Make(23), batchSize: 5, seed: 1);
        Assert.Equal(5, loader.BatchesPerEpoch);
        var sizes = new List<int>();
        List<int> first = Epoch(loader, sizes);
        Assert.Equal([5, 5, 5, 5, 3], sizes);
        Assert.Equal(Enumerable.Range(0, 23), first.Order());
        Assert.NotEqual(Enumerable.Range(0, 23), first); // shuffled
        List<int> second = Epoch(loader);
        Assert.Equal(Enumerable.Range(0, 23), second.Order());
        Assert.NotEqual(first, second);                  // reshuffled each epoch
        Assert.Equal(2, loader.Epoch);
    }

    [Fact]
    public void DropLast_SkipsThePartialBatch()
    {
        var loader = new DataLoader(Make(23), batchSize: 5, seed: 1, dropLast: true);
        Assert.Equal(4, loader.BatchesPerEpoch);
        var sizes = new List<int>();
        List<int> seen = Epoch(loader, sizes);
        Assert.Equal([5, 5, 5, 5], sizes);
        Assert.Equal(20, seen.Distinct().Count());
    }

    [Fact]
    public void SameSeed_GivesSameOrder_AndResetReplaysAnEpoch()
    {
        var a = new DataLoader(Make(50), 8, seed: 7);
        var b = new DataLoader(Make(50), 8, seed: 7);
        var c = new DataLoader(Make(50), 8, seed: 8);
        List<int> a0 = Epoch(a), a1 = Epoch(a);
        Assert.Equal(a0, Epoch(b));
        Assert.Equal(a1, Epoch(b));
        Assert.NotEqual(a0, Epoch(c));
        a.Reset(epoch: 1);
        Assert.Equal(a1, Epoch(a));
    }

    [Fact]
    public void NoShuffle_KeepsDatasetOrder()
    {
        var loader = new DataLoader(Make(10), 4, shuffle: false);
        Assert.Equal(Enumerable.Range(0, 10), Epoch(loader));
    }

    [Fact]
    public void NextBatch_ReturnsFalseAtEpochEnd_ThenStartsTheNext()
    {
        var loader = new DataLoader(Make(6), 4, seed: 3);
        Assert.True(loader.NextBatch(out var x, out var y));
        Assert.Equal(4, y.Length);
        Assert.Equal(8, x.Length);
        Assert.True(loader.NextBatch(out _, out y));
        Assert.Equal(2, y.Length);
        Assert.False(loader.NextBatch(out x, out y));
        Assert.True(x.IsEmpty && y.IsEmpty);
        Assert.Equal(1, loader.Epoch);
        Assert.True(loader.NextBatch(out _, out y));
        Assert.Equal(4, y.Length);
    }

    [Fact]
    public void Batches_AllocateNothing_AfterConstruction()
    {
        var loader = new DataLoader(Make(1000), 32, seed: 1);
        float sum = 0;
        Assert.Equal(0, Allocation.PerCall(() =>
        {
            foreach (var batch in loader) sum += batch.X[0] + batch.Y[0];
        }, calls: 3));
        Assert.True(sum > 0);
    }

    [Fact]
    public void Split_And_Subset_PartitionTheSamples()
    {
        Dataset data = Make(100);
        (Dataset train, Dataset val) = data.Split(0.2, seed: 5);
        Assert.Equal(80, train.Count);
        Assert.Equal(20, val.Count);
        var all = train.X.Where((_, i) => i % 2 == 0).Concat(val.X.Where((_, i) => i % 2 == 0)).Select(v => (int)v).Order();
        Assert.Equal(Enumerable.Range(0, 100), all);
        Assert.Equal(val.X, data.Split(20, seed: 5).Validation.X);     // seeded: reproducible

        (Dataset head, Dataset tail) = data.Split(10);
        Assert.Equal(90f, tail.X[0]);                                   // unseeded: the last samples
        Assert.Equal(90, head.Count);

        Dataset sub = data.Subset(10, 5);
        Assert.Equal([10f, 10.5f], sub.Sample(0).ToArray());
        Assert.Equal([1, 2, 0, 1, 2], sub.Labels);
        Dataset picked = data.Subset([99, 0]);
        Assert.Equal([99f, 99.5f, 0f, 0.5f], picked.X);
        Assert.Throws<ArgumentOutOfRangeException>(() => data.Subset(98, 5));
    }

    [Fact]
    public void Dataset_ValidatesLabelsAndSizes()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new Dataset(new float[4], [0, 3], 3));
        Assert.Contains("sample 1 is 3", e.Message);
        Assert.Throws<ArgumentException>(() => new Dataset(new float[5], [0, 1], 3));
        Assert.Throws<ArgumentException>(() => new Dataset(new float[6], [0, 1], 3, [2, 2]));
    }

    [Fact]
    public void OneHot_EncodesRows()
    {
        float[] m = OneHot.Encode([2, 0], 3);
        Assert.Equal([0f, 0f, 1f, 1f, 0f, 0f], m);
        Assert.Throws<ArgumentOutOfRangeException>(() => OneHot.Encode([3], 3));
        Assert.Throws<ArgumentException>(() => OneHot.Encode([1], 3, new float[2]));
    }
}
