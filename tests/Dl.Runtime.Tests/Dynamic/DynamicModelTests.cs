using static Dl.Ops;

namespace Dl.Tests.DynamicTape;

using Dl.Dynamic;

public class DynamicModelTests
{
    private const int Batch = 4;

    private static (double[] X, double[] Labels) MlpBatch(int seed)
    {
        double[] x = GradCheck.Random(Batch * Mlp.In, seed);
        double[] labels = [0, 2, 1, 2];
        return (x, labels);
    }

    [Fact]
    public void Mlp_WholeModelFiniteDifferences_EveryParameter()
    {
        DynamicModel model = Dl.Dynamic.Dynamic.Create<Mlp>(seed: 3, precision: Precision.Double);
        // Non-zero biases so every path is exercised.
        double[] noise = GradCheck.Random(model.Description.ParameterCount, 11, 0.1);
        for (int i = 0; i < noise.Length; i++) model.ParametersDouble[i] += noise[i];
        (double[] x, double[] y) = MlpBatch(5);
        GradCheck.AllParameters(model, x, y, Batch, tolerance: 1e-7);
    }

    [Fact]
    public void Mlp_LossIsTheBatchMeanOfSoftmaxCrossEntropy()
    {
        DynamicModel model = Dl.Dynamic.Dynamic.Create<Mlp>(seed: 3, precision: Precision.Double);
        (double[] x, double[] y) = MlpBatch(5);
        var logits = new double[Batch * Mlp.Classes];
        model.PredictDouble(x, logits, Batch);
        double expected = 0;
        for (int s = 0; s < Batch; s++)
        {
            ReadOnlySpan<double> row = logits.AsSpan(s * Mlp.Classes, Mlp.Classes);
            double max = row.ToArray().Max(), sum = 0;
            foreach (double v in row) sum += Math.Exp(v - max);
            expected += max + Math.Log(sum) - row[(int)y[s]];
        }
        expected /= Batch;
        Assert.Equal(expected, model.Loss(x, y, Batch), 12);

        // And the logits are x·W1ᵀ + b1 → ReLU → ·W2ᵀ + b2, computed here by hand.
        double[] p = model.ParametersDouble.ToArray();
        var h = new double[Mlp.Hidden];
        for (int j = 0; j < Mlp.Hidden; j++)
        {
            double z = p[Mlp.In * Mlp.Hidden + j];
            for (int i = 0; i < Mlp.In; i++) z += x[i] * p[j * Mlp.In + i];
            h[j] = Math.Max(0, z);
        }
        int w2 = Mlp.In * Mlp.Hidden + Mlp.Hidden, b2 = w2 + Mlp.Hidden * Mlp.Classes;
        for (int c = 0; c < Mlp.Classes; c++)
        {
            double z = p[b2 + c];
            for (int j = 0; j < Mlp.Hidden; j++) z += h[j] * p[w2 + c * Mlp.Hidden + j];
            Assert.Equal(z, logits[c], 12);
        }
    }

    [Fact]
    public void FloatAndDouble_StartFromTheSameWeights_AndAgree()
    {
        DynamicModel single = Dl.Dynamic.Dynamic.Create<Mlp>(seed: 9);
        DynamicModel twin = Dl.Dynamic.Dynamic.Create<Mlp>(seed: 9, precision: Precision.Double);
        Assert.Equal(Precision.Single, single.Precision);
        Assert.Equal(single.Parameters.ToArray().Select(v => (double)v), twin.ParametersDouble.ToArray());

        // The weights are exactly the initializers' streams (what the generated model uses).
        foreach (ParameterInfo p in single.Description.Parameters)
        {
            var expected = new float[p.Length];
            Initializers.Fill(expected, p, 9);
            Assert.Equal(expected, single.Parameter(p.Name).ToArray());
        }
        Assert.Contains(single.Parameters.ToArray(), v => v != 0);

        (double[] x, double[] y) = MlpBatch(21);
        float[] xf = x.Select(v => (float)v).ToArray();
        int[] labels = y.Select(v => (int)v).ToArray();
        float lossF = single.ComputeGradients(xf, labels, Batch);
        double lossD = twin.ComputeGradients(x.Select(v => (double)(float)v).ToArray(), y, Batch);
        Assert.Equal(lossD, lossF, 5);
        double scale = twin.GradientsDouble.ToArray().Max(Math.Abs);
        for (int i = 0; i < single.Gradients.Length; i++)
            Assert.True(Math.Abs(single.Gradients[i] - twin.GradientsDouble[i]) <= 1e-5 * scale,
                $"gradient {i}: float {single.Gradients[i]} vs double {twin.GradientsDouble[i]}");

        // The float API on a double model widens and narrows.
        Assert.Equal(lossD, twin.Loss(xf, labels, Batch), 5);
        Assert.Equal(lossF, single.Loss(xf, y.Select(v => (float)v).ToArray(), Batch));  // labels as class-index floats
    }

    [Fact]
    public void TrainStep_WithSgd_DrivesTheLossDown_AndUpdatesByTheGradient()
    {
        DynamicModel model = Dl.Dynamic.Dynamic.Create<Mlp>(seed: 1);
        (double[] x, double[] y) = MlpBatch(4);
        float[] xf = x.Select(v => (float)v).ToArray();
        int[] labels = y.Select(v => (int)v).ToArray();
        float[] before = model.Parameters.ToArray();
        float first = model.ComputeGradients(xf, labels, Batch);
        float[] grads = model.Gradients.ToArray();
        Assert.Equal(first, model.TrainStep(xf, labels, Batch, new Sgd(0.1f)));
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i] - 0.1f * grads[i], model.Parameters[i], 6);
        var sgd = new Sgd(0.1f);
        float loss = first;
        for (int i = 0; i < 100; i++) loss = model.TrainStep(xf, labels, Batch, sgd);
        Assert.True(loss < first / 4, $"loss {first} -> {loss}");
    }

    [Fact]
    public void ComputeGradients_Overwrites_AndZeroesParametersTheLossDoesNotReach()
    {
        ParameterInfo[] parameters = Describe.Pack(("used", [2], Init.Zeros), ("unused", [3], Init.Zeros));
        DynamicModel model = Lambda.Create(parameters, [new InputInfo("x", [2])], [2], new InputInfo("t", [2]),
            (c, x) => x[0] * c.Parameter("used"), (o, t) => Sum((o - t) * (o - t)));
        model.GradientsDouble.Fill(99);
        model.ComputeGradients(new double[] { 1, 2 }, new double[] { 1, 1 }, 1);
        Assert.Equal([-2.0, -4.0, 0, 0, 0], model.GradientsDouble.ToArray());   // d/dw Σ(wx - t)² = 2(wx - t)x at w = 0
        model.ComputeGradients(new double[] { 1, 2 }, new double[] { 1, 1 }, 1);
        Assert.Equal([-2.0, -4.0, 0, 0, 0], model.GradientsDouble.ToArray());   // not accumulated across calls
    }

    [Fact]
    public void Validation_GivesClearErrors()
    {
        DynamicModel model = Dl.Dynamic.Dynamic.Create<Mlp>();
        var x = new float[Batch * Mlp.In];
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => model.Loss(x, [0, 1, 3, 0], Batch));
        Assert.Contains("y[2] = 3", e1.Message);
        Assert.Contains("[0, 3)", e1.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Loss(x, [0, 1, -1, 0], Batch));
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Loss(x, new float[] { 0, 1, 1.5f, 0 }, Batch));
        var e2 = Assert.Throws<ArgumentException>(() => model.Loss(new float[5], [0, 1, 1, 0], Batch));
        Assert.Contains("input has 5 elements", e2.Message);
        Assert.Contains("24", e2.Message);
        var e3 = Assert.Throws<ArgumentException>(() => model.Loss(x, [0, 1], Batch));
        Assert.Contains("2 labels for 4 samples", e3.Message);
        var e4 = Assert.Throws<ArgumentException>(() => model.Predict(x, new float[3], Batch));
        Assert.Contains("output has 3 elements", e4.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Predict(x, new float[12], 0));
        var e5 = Assert.Throws<InvalidOperationException>(() => model.ParametersDouble.Length);
        Assert.Contains("single precision", e5.Message);
        Assert.Throws<InvalidOperationException>(() => model.Loss(new double[24], new double[4], Batch));

        DynamicModel twin = Dl.Dynamic.Dynamic.Create<Mlp>(precision: Precision.Double);
        Assert.Throws<InvalidOperationException>(() => twin.Parameters.Length);
        Assert.Throws<InvalidOperationException>(() => twin.TrainStep(x, [0, 0, 0, 0], Batch, new Sgd(0.1f)));

        var e6 = Assert.Throws<KeyNotFoundException>(() => model.Parameter("fc3.weight").Length);
        Assert.Contains("fc1.weight, fc1.bias, fc2.weight, fc2.bias", e6.Message);

        DynamicModel neuron = Dl.Dynamic.Dynamic.Create<Neuron>();
        Assert.Throws<InvalidOperationException>(() => neuron.Loss(new float[2], new float[1], 1));
    }

    [Fact]
    public void Context_OutsideARun_Throws_AndUnknownParametersListTheNames()
    {
        var e = Assert.Throws<InvalidOperationException>(() => DynamicContext.Current);
        Assert.Contains("Dynamic.Create", e.Message);

        DynamicModel model = Lambda.Create(Describe.Pack(("a", [1], Init.Zeros), ("b", [1], Init.Zeros)), [new InputInfo("x", [1])], [1], null,
            (c, x) => x[0] * c.Parameter("nope"), null);
        var missing = Assert.Throws<KeyNotFoundException>(() => model.PredictDouble([1], new double[1], 1));
        Assert.Contains("'nope'", missing.Message);
        Assert.Contains("a, b", missing.Message);
        Assert.Throws<InvalidOperationException>(() => DynamicContext.Current);   // restored after the failed run
    }

    [Fact]
    public void MultipleInputs_AreBatchBlocksInOrder()
    {
        // f(a, b) = a ∘ w + b: a [2] then b [2]; the flat input is a's batch block, then b's.
        DynamicModel model = Lambda.Create(Describe.Pack(("w", [2], Init.Zeros)), [new InputInfo("a", [2]), new InputInfo("b", [2])], [2], null,
            (c, x) => x[0] * c.Parameter("w") + x[1], null);
        new double[] { 10, 100 }.CopyTo(model.ParametersDouble);
        var output = new double[4];
        model.PredictDouble([1, 2, 3, 4, /* b: */ 5, 6, 7, 8], output, 2);
        Assert.Equal([15.0, 206, 37, 408], output);
    }

    [Fact]
    public void Trace_WithALoss_AgreesWithComputeGradients()
    {
        DynamicModel model = Dl.Dynamic.Dynamic.Create<Mlp>(seed: 12, precision: Precision.Double);
        (double[] x, double[] y) = MlpBatch(13);
        double loss = model.ComputeGradients(x, y, Batch);
        DynamicTrace trace = model.Trace(x, y, Batch);
        Assert.Equal(loss, trace.Value, 12);
        Assert.Equal(model.GradientDouble("fc1.weight").ToArray(), trace.Find("param fc1.weight").Gradient);
        Assert.Equal(model.GradientDouble("fc2.bias").ToArray(), trace.Find("param fc2.bias").Gradient);
        TraceNode root = trace.Nodes[trace.Root];
        Assert.Equal("softmax_cross_entropy_labels", root.Op);
        Assert.Equal(Enumerable.Repeat(1.0 / Batch, Batch), root.Gradient);   // dL/dℓ_s = 1/B
        Assert.Empty(root.LocalGradients);                                     // a full Jacobian, not element-wise
        Assert.Empty(trace.Find("labels y").Gradient);                         // no gradient for labels
        Assert.Equal(Batch * Mlp.In, trace.Find("input x").Gradient.Length);  // but inputs get one when tracing
        Assert.Equal(y, trace.Find("labels y").Value);
    }

    [Fact]
    public void SummaryAndGraph_DescribeTheLastTape()
    {
        DynamicModel model = Dl.Dynamic.Dynamic.Create<Mlp>();
        string summary = model.Summary();     // records a run first
        Assert.Contains("Mlp on the dynamic tape", summary);
        Assert.Contains("linear", summary);
        Assert.Contains("relu", summary);
        Assert.Contains("fc1.weight", summary);
        Assert.Contains("[5, 6]", summary);
        string text = model.Graph();
        Assert.Contains("%3 = linear(%0, %1, %2) [5] x1", text.Replace("\r", ""));
        string dot = model.Graph(GraphFormat.Dot);
        Assert.StartsWith("digraph \"Mlp\" {", dot);
        Assert.Contains("n0 -> n3;", dot);
        Assert.Contains("param fc1.weight", dot);
        Assert.Contains("graph TD", model.Graph(GraphFormat.Mermaid));

        model.Loss(new float[2 * Mlp.In], [0, 1], 2);
        Assert.Contains("softmax_cross_entropy_labels", model.Summary());
        Assert.Contains("labels y", model.Graph());
    }
}
