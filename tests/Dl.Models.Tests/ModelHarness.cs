using Dl.Dynamic;

namespace Dl.Tests;

/// <summary>Random inputs and targets for a model description, and comparisons between engines.</summary>
internal static class ModelHarness
{
    public static float[] Normal(int count, int seed)
    {
        var r = new DlRandom((ulong)seed);
        var x = new float[count];
        for (int i = 0; i < count; i++) x[i] = r.NextNormalFloat();
        return x;
    }

    /// <summary>Integer tokens in [0, vocabulary) stored as floats (the input of an embedding or one-hot).</summary>
    public static float[] Tokens(int count, int vocabulary, int seed) => Labels(count, vocabulary, seed).Select(v => (float)v).ToArray();

    public static int[] Labels(int count, int classes, int seed)
    {
        var r = new DlRandom((ulong)seed);
        var y = new int[count];
        for (int i = 0; i < count; i++) y[i] = r.NextInt(classes);
        return y;
    }

    /// <summary>Asserts |a - b| &lt;= atol + rtol |b| element-wise, naming the first bad index.</summary>
    public static void Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs(actual[i] - (double)expected[i]);
            Assert.True(d <= atol + rtol * Math.Abs(expected[i]), $"{what}[{i}]: {actual[i]} vs {expected[i]}");
        }
    }

    /// <summary>Generated and dynamic engines: same initial weights, same loss, same gradients, same predictions.</summary>
    /// <param name="input">The input (token models need integers); normal random values when null.</param>
    public static void GeneratedMatchesDynamic<TModel, TTarget>(Func<ModelOptions, TModel> create, int batch, TTarget[] target, float rtol = 2e-4f,
        float[]? input = null)
        where TModel : ITrainableModel<TTarget>, IDynamicSource<TModel>
        where TTarget : unmanaged
    {
        var generated = create(new ModelOptions { Seed = 7, MaxBatch = 32 });
        var dynamic = Dynamic.Dynamic.Create<TModel>(seed: 7);
        Close(generated.Parameters, dynamic.Parameters, 0, 0, "initial parameters");
        var d = TModel.StaticDescription;
        var x = input ?? Normal(batch * d.InputSize, 11);

        var trainable = (ITrainableModel<TTarget>)(object)dynamic;
        float lg = generated.ComputeGradients(x, target, batch);
        long stepsAfterGradients = generated.DropoutStep;
        float ld = trainable.ComputeGradients(x, target, batch);
        Assert.True(Math.Abs(lg - ld) <= 1e-4 + rtol * Math.Abs(ld), $"loss {lg} vs {ld}");
        double scale = 0;
        foreach (var g in dynamic.Gradients) scale = Math.Max(scale, Math.Abs(g));
        Close(generated.Gradients, dynamic.Gradients, rtol, 1e-5 + 1e-4 * scale, "gradients");

        var yg = new float[batch * d.OutputSize];
        var yd = new float[batch * d.OutputSize];
        generated.Predict(x, yg, batch);
        dynamic.Predict(x, yd, batch);
        Close(yg, yd, rtol, 1e-5, "predictions");

        // The same step in chunks of one sample (models whose samples are independent; the others ignore the option):
        // the same loss and gradients up to summation order.
        if (batch > 1)
        {
            var chunked = create(new ModelOptions { Seed = 7, MaxBatch = 32, ChunkSamples = 1 });
            float lc = chunked.ComputeGradients(x, target, batch);
            Assert.True(Math.Abs(lc - lg) <= 1e-5 + 1e-5 * Math.Abs(lg), $"chunked loss {lc} vs {lg}");
            Close(chunked.Gradients, generated.Gradients, 1e-4, 1e-6 + 1e-5 * scale, "chunked gradients");
            Assert.Equal(stepsAfterGradients, chunked.DropoutStep);
            var yc = new float[batch * d.OutputSize];
            chunked.Predict(x, yc, batch);
            Close(yc, yg, 1e-5, 1e-6, "chunked predictions");
        }

        // A plain-SGD train step takes the fused path in generated code (update inside backward) and the generic one
        // on the tape: the parameters must agree afterwards, twice in a row.
        for (int step = 0; step < 2; step++)
        {
            generated.TrainStep(x, target, batch, new Sgd(0.1f));
            trainable.TrainStep(x, target, batch, new Sgd(0.1f));
            double s = 0;
            foreach (var p in dynamic.Parameters) s = Math.Max(s, Math.Abs(p));
            Close(generated.Parameters, dynamic.Parameters, rtol, 1e-6 + 1e-5 * s, $"parameters after fused SGD step {step + 1}");
        }
        // Running statistics (batch norm) were updated identically by every training-mode forward pass.
        Close(generated.State, dynamic.State, rtol, 1e-5, "state after training-mode passes");
        Assert.Equal(generated.DropoutStep, dynamic.DropoutStep);

        // Evaluation mode: running statistics, no dropout; gradients still flow (fine-tuning with frozen statistics).
        generated.Training = false;
        dynamic.Training = false;
        float[] stateG = generated.State.ToArray(), stateD = dynamic.State.ToArray();
        generated.Predict(x, yg, batch);
        dynamic.Predict(x, yd, batch);
        Close(yg, yd, rtol, 1e-5, "evaluation-mode predictions");
        lg = generated.ComputeGradients(x, target, batch);
        ld = trainable.ComputeGradients(x, target, batch);
        Assert.True(Math.Abs(lg - ld) <= 1e-4 + rtol * Math.Abs(ld), $"evaluation-mode loss {lg} vs {ld}");
        scale = 0;
        foreach (var g in dynamic.Gradients) scale = Math.Max(scale, Math.Abs(g));
        Close(generated.Gradients, dynamic.Gradients, rtol, 1e-5 + 1e-4 * scale, "evaluation-mode gradients");
        Close(generated.State, stateG, 0, 0, "generated state is not changed in evaluation mode");
        Close(dynamic.State, stateD, 0, 0, "dynamic state is not changed in evaluation mode");
    }

    /// <summary>Oracle 1 on a whole model: the double-precision tape's parameter gradients against central differences of
    /// its loss (step 1e-6, tolerance 1e-6 + 1e-5 relative). Dropout masks are keyed by the step counter, so every
    /// evaluation reuses the gradient pass's masks.</summary>
    /// <param name="input">The input (token models need integers); normal random values when null.</param>
    /// <param name="stopped">Parameters whose gradient is stopped on purpose (under <c>Detach</c>): their tape gradient
    /// must be 0 although the loss changes with them.</param>
    public static void FiniteDifferences<T>(double[] target, int batch, float[]? input = null, Func<string, bool>? stopped = null)
        where T : Dynamic.IDynamicSource<T>
    {
        var model = Dynamic.Dynamic.Create<T>(seed: 3, Precision.Double);
        var x = (input ?? Normal(batch * T.StaticDescription.InputSize, 4)).Select(v => (double)v).ToArray();
        long step = model.DropoutStep;
        model.ComputeGradients(x, target, batch);
        var analytic = model.GradientsDouble.ToArray();
        var p = model.ParametersDouble;
        for (int i = 0; i < p.Length; i++)
        {
            if (stopped is not null && T.StaticDescription.Parameters.First(q => i >= q.Offset && i < q.Offset + q.Length) is { } info
                && stopped(info.Name))
            {
                Assert.Equal(0.0, analytic[i]);
                continue;
            }
            double saved = p[i], h = 1e-6;
            model.DropoutStep = step;
            p[i] = saved + h; double up = model.Loss(x, target, batch);
            model.DropoutStep = step;
            p[i] = saved - h; double down = model.Loss(x, target, batch);
            p[i] = saved;
            double numeric = (up - down) / (2 * h);
            Assert.True(Math.Abs(numeric - analytic[i]) <= 1e-6 + 1e-5 * Math.Abs(numeric), $"{typeof(T).Name} parameter {i}: {analytic[i]} vs {numeric}");
        }
    }
}
