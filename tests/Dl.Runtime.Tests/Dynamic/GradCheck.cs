namespace Dl.Tests.DynamicTape;

using Dl.Dynamic;

/// <summary>Whole-model finite differences in double precision: every parameter element, central differences.</summary>
internal static class GradCheck
{
    public static double[] Random(int count, int seed, double scale = 1)
    {
        var random = new Random(seed);
        var values = new double[count];
        for (int i = 0; i < count; i++) values[i] = (random.NextDouble() * 2 - 1) * scale;
        return values;
    }

    /// <summary>Asserts dL/dθ from the tape equals (L(θ + h) - L(θ - h)) / 2h for every parameter; returns the worst error.</summary>
    public static double AllParameters(DynamicModel model, double[] input, double[] target, int batch, double tolerance = 1e-6)
    {
        Assert.Equal(Precision.Double, model.Precision);
        double loss = model.ComputeGradients(input, target, batch);
        Assert.True(double.IsFinite(loss), $"loss {loss}");
        double[] analytic = model.GradientsDouble.ToArray();
        const double h = 1e-6;
        double worst = 0;
        for (int i = 0; i < analytic.Length; i++)
        {
            double saved = model.ParametersDouble[i];
            model.ParametersDouble[i] = saved + h;
            double plus = model.Loss(input, target, batch);
            model.ParametersDouble[i] = saved - h;
            double minus = model.Loss(input, target, batch);
            model.ParametersDouble[i] = saved;
            double numeric = (plus - minus) / (2 * h);
            double error = Math.Abs(numeric - analytic[i]) / Math.Max(1, Math.Abs(numeric));
            worst = Math.Max(worst, error);
            Assert.True(error <= tolerance,
                $"parameter element {i}: tape {analytic[i]:R}, finite difference {numeric:R} (relative error {error:E2})");
        }
        // ComputeGradients must not have been disturbed by the Loss calls in between: recompute and compare.
        model.ComputeGradients(input, target, batch);
        Assert.Equal(analytic, model.GradientsDouble.ToArray());
        return worst;
    }
}
