using Dl.Models;

namespace Dl.Tests;

/// <summary>The course notes' convolution, pooling and batch-norm examples, computed by compiled models (and the tape),
/// with the correct values where the notes slip.</summary>
public class NotesCnnExamplesTests
{
    private static float[] Run<T>(Func<ModelOptions, T> create, float[] input, int batch, Action<T>? setup = null) where T : IModel, Dynamic.IDynamicSource<T>
    {
        var net = create(new ModelOptions { MaxBatch = batch });
        setup?.Invoke(net);
        var y = new float[batch * net.Description.OutputSize];
        net.Predict(input, y, batch);
        var dynamic = Dynamic.Dynamic.Create<T>(seed: 0);
        net.Parameters.CopyTo(dynamic.Parameters);
        var yd = new float[y.Length];
        dynamic.Predict(input, yd, batch);
        Assert.Equal(y, yd);
        return y;
    }

    [Fact]
    public void FullConvolution1d_OfTheNotes()
    {
        // b * a = 1·[2, -1, 1, 0, 0] + 1·[0, 2, -1, 1, 0] + 2·[0, 0, 2, -1, 1] = [2, 1, 4, -1, 2], d = 5 (the notes leave
        // the sum blank). Convolution flips the kernel; Conv1d is cross-correlation, so it is given b reversed.
        var y = Run(o => new FullConv1d(o), [2, -1, 1], 1, net => new float[] { 2, 1, 1 }.CopyTo(net.Parameter("b.weight")));
        Assert.Equal(new float[] { 2, 1, 4, -1, 2 }, y);
    }

    [Fact]
    public void Conv2d_OfTheSlides_WithBias()
    {
        // [[0, 1, 2], [3, 4, 5], [6, 7, 8]] ⋆ [[0, 1], [2, 3]] = [[19, 25], [37, 43]]; + 1 = [[20, 26], [38, 44]].
        var y = Run(o => new NotesConv2d(o), [0, 1, 2, 3, 4, 5, 6, 7, 8], 1, net =>
        {
            new float[] { 0, 1, 2, 3 }.CopyTo(net.Parameter("k.weight"));
            net.Parameter("k.bias")[0] = 1;
        });
        Assert.Equal(new float[] { 20, 26, 38, 44 }, y);
    }

    [Fact]
    public void Pooling_OfTheSlides()
    {
        // 2x2 max pooling, stride 1: max(0, 1, 3, 4) = 4, ... = [[4, 5], [7, 8]]; average pooling: [[2, 3], [5, 6]].
        var y = Run(o => new NotesPooling(o), [0, 1, 2, 3, 4, 5, 6, 7, 8], 1);
        Assert.Equal(new float[] { 4, 5, 7, 8, 2, 3, 5, 6 }, y);
    }

    [Fact]
    public void BatchNorm_OfTheNotes()
    {
        // z = [4, 8, 6, 10]: μ = 7, σ² = (9 + 1 + 1 + 9) / 4 = 5 (biased); ẑ = (z - 7) / sqrt(5 + 1e-5) with γ = 1, β = 0.
        var y = Run(o => new NotesBatchNorm(o), [4, 8, 6, 10], 4);
        double s = Math.Sqrt(5 + 1e-5);
        Assert.Equal(new[] { -3 / s, 1 / s, -1 / s, 3 / s }, y.Select(v => (double)v), new Tolerance(1e-6));
        var net = new NotesBatchNorm(new ModelOptions { MaxBatch = 4 });
        net.Predict([4, 8, 6, 10], new float[4], 4);
        // Running statistics after one training-mode batch: 0.9·0 + 0.1·7 and 0.9·1 + 0.1·(5·4/3) (unbiased, as PyTorch).
        Assert.Equal(0.7f, net.State[0], 6);
        Assert.Equal(0.9f + 0.1f * 20f / 3f, net.State[1], 5);
    }

    private sealed class Tolerance(double eps) : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) <= eps;
        public int GetHashCode(double v) => 0;
    }
}
