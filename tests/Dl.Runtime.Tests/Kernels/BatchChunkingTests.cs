using Dl.Kernels;

namespace Dl.Tests;

public class BatchChunkingTests
{
    [Fact]
    public void Samples_FillL2BesideTheParameters_OrZeroForLargeModels()
    {
        int l2 = BatchChunking.L2Bytes;
        Assert.InRange(l2, 64 << 10, 64 << 20);
        // A quarter of L2 of parameters at most.
        Assert.Equal(0, BatchChunking.Samples(1000, l2 / 4 / 4 + 1));
        int parameters = l2 / 16, perSample = l2 / 64;   // 1/4 of L2 in parameters, 1/16 per sample
        Assert.Equal((l2 - 4 * parameters) / (4 * perSample), BatchChunking.Samples(perSample, parameters));
        Assert.Equal(12, BatchChunking.Samples(perSample, parameters));
        // A sample larger than L2: chunks of one. Several GEMM threads: the whole batch, unless forced.
        Assert.Equal(1, BatchChunking.Samples(l2, 10));
        Assert.Equal(0, BatchChunking.Samples(perSample, parameters, threads: 2));
        Assert.Equal(4, BatchChunking.Samples(perSample, parameters, option: 4, threads: 2));
        // The option wins.
        Assert.Equal(0, BatchChunking.Samples(10, 10, option: 0));
        Assert.Equal(3, BatchChunking.Samples(10, 1 << 30, option: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => BatchChunking.Samples(10, 10, option: -1));
    }

    [Theory]
    [InlineData(32, 10, 8)]    // 4 equal chunks rather than 10, 10, 10, 2
    [InlineData(32, 1, 1)]
    [InlineData(5, 3, 3)]      // 3 + 2
    [InlineData(5, 5, 0)]      // one chunk: not split
    [InlineData(4, 8, 0)]
    [InlineData(7, 0, 0)]      // chunking off
    [InlineData(256, 10, 10)]  // 26 chunks
    public void ChunkSize_SplitsEvenly(int batch, int limit, int expected) => Assert.Equal(expected, BatchChunking.ChunkSize(batch, limit));

    [Fact]
    public void Add_SumsElementwise_AndChecksLengths()
    {
        float[] sum = Enumerable.Range(0, 19).Select(i => (float)i).ToArray();
        float[] x = Enumerable.Range(0, 19).Select(i => 0.5f * i).ToArray();
        BatchChunking.Add(sum, x);
        Assert.Equal(Enumerable.Range(0, 19).Select(i => 1.5f * i), sum);
        Assert.Throws<ArgumentException>(() => BatchChunking.Add(sum, new float[18]));
    }
}
