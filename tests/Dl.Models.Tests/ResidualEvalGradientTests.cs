using Dl.Dynamic;
using Dl.Models;

namespace Dl.Tests;

/// <summary><see cref="ResidualCnn"/>'s generated gradients per parameter against the tape in single precision (the
/// same float kernels) and in double precision (the reference <c>dl gradcheck</c>'s finite differences agree with), on
/// fresh weights and uniform pixels (the case <c>dl gradcheck --model residual-cnn</c> runs), in both modes.</summary>
public class ResidualEvalGradientTests
{
    /// <summary>The case dl gradcheck --model residual-cnn --seed 1 reported: one pre-activation of block2's first ReLU
    /// (block2.conv1 → bn1 in eval mode, bias 0, running mean 0) is −2.47e-8 in double, below float rounding (~6e-8 at
    /// these magnitudes), so the float engines and the double tape take different sides of the ReLU there and every
    /// gradient before it differs — not a generator bug: the generated gradients equal the float tape's, and the double
    /// tape disagrees (by how much depends on the float summation order, so only the float comparison is asserted).</summary>
    [Fact]
    public void ResidualCnn_EvaluationMode_NearKink_GeneratedEqualsFloatTape()
    {
        (double worstSingle, _, string report) = Compare(training: false, pixels: 2);
        Assert.True(worstSingle < 1e-5, report);
    }

    [Fact]
    public void ResidualCnn_EvaluationMode_GeneratedGradientsMatchDoubleTape() => Check(training: false, pixels: 3);

    [Fact]
    public void ResidualCnn_TrainingMode_GeneratedGradientsMatchDoubleTape() => Check(training: true, pixels: 2);

    private static void Check(bool training, int pixels)
    {
        (double worstSingle, double worstDouble, string report) = Compare(training, pixels);
        Assert.True(worstSingle < 1e-5, report);
        Assert.True(worstDouble < 1e-3, report);
    }

    /// <summary>The worst relative difference per parameter of the generated gradients against the float tape and the
    /// double tape, and the per-parameter table.</summary>
    private static (double Single, double Double, string Report) Compare(bool training, int pixels)
    {
        const int batch = 4;
        var generated = new ResidualCnn(new ModelOptions { Seed = 1, MaxBatch = batch });
        var single = Dynamic.Dynamic.Create<ResidualCnn>(seed: 1);
        var wide = Dynamic.Dynamic.Create<ResidualCnn>(seed: 1, Precision.Double);
        var random = new Random(pixels);
        var x = new float[batch * 784];
        for (int i = 0; i < x.Length; i++) x[i] = random.NextSingle();
        var y = ModelHarness.Labels(batch, 10, 5);
        generated.Training = single.Training = wide.Training = training;
        float lg = generated.ComputeGradients(x, y, batch);
        float ls = ((ITrainableModel<int>)(object)single).ComputeGradients(x, y, batch);
        float lw = ((ITrainableModel<int>)(object)wide).ComputeGradients(x, y, batch);
        var report = new System.Text.StringBuilder($"loss generated {lg}, single {ls}, double {lw}\n");
        double worstSingle = 0, worstDouble = 0;
        foreach (var p in generated.Description.Parameters)
        {
            double ws = 0, wd = 0;
            for (int i = p.Offset; i < p.Offset + p.Length; i++)
            {
                double a = generated.Gradients[i], b = single.Gradients[i], c = wide.GradientsDouble[i];
                ws = Math.Max(ws, Math.Abs(a - b) / Math.Max(Math.Abs(a) + Math.Abs(b), 1e-4));
                wd = Math.Max(wd, Math.Abs(a - c) / Math.Max(Math.Abs(a) + Math.Abs(c), 1e-4));
            }
            worstSingle = Math.Max(worstSingle, ws);
            worstDouble = Math.Max(worstDouble, wd);
            report.AppendLine($"{p.Name,-24} vs single {ws:E2}  vs double {wd:E2}");
        }
        return (worstSingle, worstDouble, report.ToString());
    }
}
