using static Dl.Ops;

namespace Dl.Tests.DynamicTape;

using Dl.Dynamic;

public class TapeErrorsAndPoolingTests
{
    private static DynamicModel Model(ParameterInfo[] parameters, int[] input, int[] output, Func<DynamicContext, Tensor[], Tensor> forward,
        Precision precision = Precision.Double)
        => Lambda.Create(parameters, [new InputInfo("x", input)], output, new InputInfo("t", output), forward,
            (o, t) => Sum(Square(o - t)), precision);

    [Fact]
    public void Step_IsNotDifferentiable_ButRunsForward()
    {
        DynamicModel model = Model(Describe.Pack(("w", [2], Init.Uniform)), [2], [2], (c, x) => Step(x[0] * c.Parameter("w")));
        new double[] { 1, -1 }.CopyTo(model.ParametersDouble);
        var y = new double[2];
        model.PredictDouble([3, 3], y, 1);
        Assert.Equal([1.0, 0], y);
        var e = Assert.Throws<InvalidOperationException>(() => model.ComputeGradients(new double[] { 3, 3 }, new double[] { 0, 0 }, 1));
        Assert.Contains("'step'", e.Message);
        Assert.Contains("not differentiable", e.Message);

        // Step on an input alone is fine: no gradient needs to pass through it.
        DynamicModel gated = Model(Describe.Pack(("w", [2], Init.Uniform)), [2], [2], (c, x) => Step(x[0]) * c.Parameter("w"));
        new double[] { 5, 7 }.CopyTo(gated.ParametersDouble);
        gated.ComputeGradients(new double[] { 1, -1 }, new double[] { 0, 0 }, 1);
        Assert.Equal([10.0, 0], gated.GradientsDouble.ToArray());
    }

    [Fact]
    public void ShapeErrors_NameTheOpAndBothShapes()
    {
        DynamicModel add = Model(Describe.Pack(("w", [4], Init.Uniform)), [3], [3], (c, x) => x[0] + c.Parameter("w"));
        var e1 = Assert.Throws<ArgumentException>(() => add.PredictDouble([1, 2, 3], new double[3], 1));
        Assert.Contains("add", e1.Message);
        Assert.Contains("[3]", e1.Message);
        Assert.Contains("[4]", e1.Message);

        DynamicModel matmul = Model(Describe.Pack(("W", [4, 2], Init.Uniform)), [3], [2], (c, x) => MatMul(x[0], c.Parameter("W")));
        var e2 = Assert.Throws<ArgumentException>(() => matmul.PredictDouble([1, 2, 3], new double[2], 1));
        Assert.Contains("matmul", e2.Message);
        Assert.Contains("[3]", e2.Message);
        Assert.Contains("[4, 2]", e2.Message);

        DynamicModel linear = Model(Describe.Pack(("fc.weight", [2, 5], Init.Uniform), ("fc.bias", [2], Init.Zeros)), [3], [2],
            (c, x) => Linear(x[0], 2, "fc"));
        var e3 = Assert.Throws<ArgumentException>(() => linear.PredictDouble([1, 2, 3], new double[2], 1));
        Assert.Contains("[2, 5]", e3.Message);
        Assert.Contains("[2, 3]", e3.Message);

        DynamicModel reshape = Model([], [3], [2], (c, x) => Reshape(x[0], 2));
        Assert.Contains("[3]", Assert.Throws<ArgumentException>(() => reshape.PredictDouble([1, 2, 3], new double[2], 1)).Message);

        DynamicModel slice = Model([], [3], [2], (c, x) => Slice(x[0], 0, 2, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => slice.PredictDouble([1, 2, 3], new double[2], 1));

        DynamicModel wrongOutput = Model([], [3], [2], (c, x) => x[0]);
        Assert.Contains("[3]", Assert.Throws<InvalidOperationException>(() => wrongOutput.PredictDouble([1, 2, 3], new double[2], 1)).Message);

        DynamicModel notScalarLoss = Lambda.Create([], [new InputInfo("x", [3])], [3], new InputInfo("t", [3]), (c, x) => x[0], (o, t) => o - t);
        Assert.Contains("one value per sample",
            Assert.Throws<InvalidOperationException>(() => notScalarLoss.Loss(new double[3], new double[3], 1)).Message);
    }

    [Fact]
    public void Inputs_TakeNoGradient_OutsideATrace()
    {
        Tensor? seen = null;
        DynamicModel model = Model(Describe.Pack(("w", [2], Init.Uniform)), [2], [2], (c, x) =>
        {
            seen = x[0];
            return x[0] * c.Parameter("w");
        });
        model.ComputeGradients(new double[] { 1, 2 }, new double[] { 0, 0 }, 1);
        Assert.NotNull(seen);
        Assert.False(seen!.RequiresGradient);
        Assert.True(seen.GradientDouble.IsEmpty);
        Assert.True(seen.IsBatched);
        Assert.Equal(1, seen.Batch);
        Assert.Equal([2], seen.Shape.ToArray());
        Assert.Equal([1.0, 2], seen.DataDouble.ToArray());
        Assert.Throws<InvalidOperationException>(() => seen.Data.Length);
    }

    [Fact]
    public void FloatTape_MatchesDoubleTape_OnTheStructuralModel()
    {
        ParameterInfo[] parameters = Describe.Pack(("W", [3, 4], Init.Uniform), ("fc.weight", [2, 4], Init.Uniform), ("fc.bias", [2], Init.Uniform));
        Func<DynamicContext, Tensor[], Tensor> forward = (c, x) =>
        {
            Tensor h = Tanh(MatMul(x[0], c.Parameter("W")));              // [2, 4]
            return Linear(Softmax(h) + Sigmoid(h) * 2f - 1f, 2, "fc");    // [2, 2]
        };
        DynamicModel single = Model(parameters, [2, 3], [2, 2], forward, Precision.Single);
        DynamicModel twin = Model(parameters, [2, 3], [2, 2], forward, Precision.Double);
        double[] x = GradCheck.Random(5 * 6, 3), t = GradCheck.Random(5 * 4, 4);
        float lossF = single.ComputeGradients(x.Select(v => (float)v).ToArray(), t.Select(v => (float)v).ToArray(), 5);
        double lossD = twin.ComputeGradients(x.Select(v => (double)(float)v).ToArray(), t.Select(v => (double)(float)v).ToArray(), 5);
        Assert.Equal(lossD, lossF, 4);
        for (int i = 0; i < single.Gradients.Length; i++) Assert.Equal(twin.GradientsDouble[i], single.Gradients[i], 4);
        GradCheck.AllParameters(twin, x, t, 5);
    }

    [Fact]
    public void SteadyStateTrainStep_AllocatesOnlyBoundedBookkeeping()
    {
        // 64-32-10 MLP at batch 16: after warm-up, buffers, node objects, shapes and backward rules all come from pools
        // and caches, so a step allocates nothing.
        ModelDescription description = Mlp.Make(64, 32, 10);
        DynamicModel model = Dl.Dynamic.Dynamic.Create(description, new Mlp(), seed: 2);
        const int batch = 16;
        float[] x = GradCheck.Random(batch * 64, 8).Select(v => (float)v).ToArray();
        int[] labels = Enumerable.Range(0, batch).Select(i => i % 10).ToArray();
        var sgd = new Sgd(0.01f);
        long perStep = Allocation.PerCall(() => model.TrainStep(x, labels, batch, sgd), calls: 50);
        Assert.True(perStep == 0, $"{perStep} bytes allocated per steady-state TrainStep");

        var output = new float[batch * 10];
        long perPredict = Allocation.PerCall(() => model.Predict(x, output, batch), calls: 50);
        Assert.True(perPredict == 0, $"{perPredict} bytes allocated per steady-state Predict");
    }

    [Fact]
    public void ChangingTheBatch_ReusesThePools_AndGivesTheSameResults()
    {
        DynamicModel model = Dl.Dynamic.Dynamic.Create<Mlp>(seed: 5);
        float[] x = GradCheck.Random(8 * Mlp.In, 2).Select(v => (float)v).ToArray();
        int[] y = [0, 1, 2, 0, 1, 2, 0, 1];
        float all = model.Loss(x, y, 8);
        float first = model.Loss(x.AsSpan(0, 4 * Mlp.In), y.AsSpan(0, 4), 4);
        float second = model.Loss(x.AsSpan(4 * Mlp.In), y.AsSpan(4), 4);
        Assert.Equal(all, (first + second) / 2, 5);
        Assert.Equal(all, model.Loss(x, y, 8));
    }
}
