using Dl.Models;

namespace Dl.Tests;

/// <summary>Training steps split into cache-sized chunks of the batch (Dl.Kernels.BatchChunking): the same step as the
/// whole batch, validated as a whole, nothing changed on error, nothing allocated.</summary>
public class ChunkedTrainingTests
{
    private const int Batch = 5;

    private static AttnS64 Attn(int? chunk) => new(new ModelOptions { Seed = 3, MaxBatch = 8, ChunkSamples = chunk });

    private static (float[] X, int[] Y) Data(int batch = Batch) =>
        (ModelHarness.Normal(batch * AttnS64.StaticDescription.InputSize, 5), ModelHarness.Labels(batch, 10, 6));

    [Theory]
    [InlineData(1)]
    [InlineData(2)]   // chunks of 2, 2 and 1
    [InlineData(3)]   // 5 samples at most 3 per chunk: 3 and 2
    public void ChunkedSteps_MatchTheWholeBatch(int chunk)
    {
        var (x, y) = Data();
        // Adam with a large eps: the key bias's gradient is zero up to rounding (softmax ignores a constant per row), and
        // Adam with eps 1e-8 would turn that rounding, which differs with the summation order, into full-size steps.
        foreach (Func<IOptimizer> optimizer in new Func<IOptimizer>[] { () => new Sgd(0.05f), () => new Adam(0.01f, eps: 1e-3f) })
        {
            AttnS64 whole = Attn(0), chunked = Attn(chunk);
            for (int step = 0; step < 2; step++)
            {
                // Plain SGD takes the fused update on the whole batch and the gradient sum + update when chunked.
                float lw = whole.TrainStep(x, y, Batch, optimizer());
                float lc = chunked.TrainStep(x, y, Batch, optimizer());
                Assert.True(Math.Abs(lw - lc) <= 1e-5 * Math.Max(1, Math.Abs(lw)), $"step {step}: loss {lc} vs {lw}");
                ModelHarness.Close(chunked.Parameters, whole.Parameters, 1e-4, 1e-6, $"parameters after step {step + 1}");
            }
            float gw = whole.ComputeGradients(x, y, Batch), gc = chunked.ComputeGradients(x, y, Batch);
            Assert.True(Math.Abs(gw - gc) <= 1e-5 * Math.Max(1, Math.Abs(gw)));
            ModelHarness.Close(chunked.Gradients, whole.Gradients, 1e-4, 1e-6, "gradients");
            Assert.Equal(whole.DropoutStep, chunked.DropoutStep);
        }
    }

    [Fact]
    public void ChunkedPredict_MatchesTheWholeBatch_AndWritesOnlyItsRows()
    {
        var (x, _) = Data();
        AttnS64 whole = Attn(0), chunked = Attn(2);
        var expected = new float[Batch * 10];
        var actual = Enumerable.Repeat(float.NaN, Batch * 10 + 3).ToArray();
        whole.Predict(x, expected, Batch);
        chunked.Predict(x, actual, Batch);
        ModelHarness.Close(actual.AsSpan(0, Batch * 10), expected, 1e-6, 1e-7, "predictions");
        Assert.All(actual[^3..], v => Assert.True(float.IsNaN(v)));
        Assert.Equal(whole.DropoutStep, chunked.DropoutStep);
    }

    [Fact]
    public void FloatTargets_ChunkedStepMatchesTheWholeBatch()
    {
        // XOR with MSE: float targets are read per chunk from the caller's span.
        float[] x = [0, 0, 0, 1, 1, 0, 1, 1], t = [0, 1, 1, 0];
        XorNet whole = new(new ModelOptions { Seed = 2, MaxBatch = 4, ChunkSamples = 0 });
        XorNet chunked = new(new ModelOptions { Seed = 2, MaxBatch = 4, ChunkSamples = 1 });
        for (int step = 0; step < 3; step++)
        {
            float lw = whole.TrainStep(x, t, 4, new Sgd(0.5f)), lc = chunked.TrainStep(x, t, 4, new Sgd(0.5f));
            Assert.True(Math.Abs(lw - lc) <= 1e-6, $"loss {lc} vs {lw}");
            ModelHarness.Close(chunked.Parameters, whole.Parameters, 1e-5, 1e-7, $"parameters after step {step + 1}");
        }
    }

    [Fact]
    public void BadLabelInALaterChunk_ThrowsBeforeAnythingChanges()
    {
        var (x, y) = Data();
        var net = Attn(1);
        net.ComputeGradients(x, y, Batch);
        float[] gradients = net.Gradients.ToArray(), parameters = net.Parameters.ToArray();
        y[Batch - 1] = 10;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => net.TrainStep(x, y, Batch, new Sgd(0.1f)));
        Assert.Contains("label of sample 4 is 10", e.Message);
        Assert.Equal(gradients, net.Gradients.ToArray());
        Assert.Equal(parameters, net.Parameters.ToArray());
    }

    [Fact]
    public void NaNInALaterChunk_ThrowsAndLeavesGradientsAndParameters()
    {
        var (x, y) = Data();
        var net = Attn(2);
        net.ComputeGradients(x, y, Batch);
        float[] gradients = net.Gradients.ToArray(), parameters = net.Parameters.ToArray();
        x[^1] = float.NaN;   // the last sample: the third chunk
        var e = Assert.Throws<ArithmeticException>(() => net.TrainStep(x, y, Batch, new Adam(0.01f)));
        Assert.Contains("samples 4..4", e.Message);
        Assert.Equal(gradients, net.Gradients.ToArray());
        Assert.Equal(parameters, net.Parameters.ToArray());
        // The model still works afterwards.
        x[^1] = 0.5f;
        Assert.True(float.IsFinite(net.TrainStep(x, y, Batch, new Sgd(0.01f))));
    }

    [Fact]
    public void ChunkedStep_AllocatesNothing()
    {
        var (x, y) = Data(8);
        var net = Attn(1);
        var sgd = new Sgd(0.01f);
        var adam = new Adam(0.001f);
        for (int i = 0; i < 3; i++) { net.TrainStep(x, y, 8, sgd); net.TrainStep(x, y, 8, adam); }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 5; i++) { net.TrainStep(x, y, 8, sgd); net.TrainStep(x, y, 8, adam); }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void NegativeChunkSamples_IsRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Attn(-1));
        Assert.Contains("ChunkSamples", e.Message);
    }
}
