using Dl.Kernels;
using static Dl.Ops;

namespace Dl.Tests.DynamicTape;

using Dl.Dynamic;

/// <summary>LayerNorm, GELU and the position encodings on the dynamic tape: whole-model finite differences in double,
/// float against double, values by hand, shape errors, and a steady-state step that allocates nothing.</summary>
public class TransformerTapeTests
{
    private const int T = 4, In = 3, D = 6, Out = 2;

    private static DynamicModel Model(ParameterInfo[] parameters, int[] input, int[] output, Func<DynamicContext, Tensor[], Tensor> forward,
        Func<Tensor, Tensor, Tensor>? loss = null, Precision precision = Precision.Double)
        => Lambda.Create(parameters, [new InputInfo("x", input)], output, new InputInfo("t", output), forward,
            loss ?? ((o, t) => Sum(Square(o - t))), precision);

    /// <summary>x [T, In] → proj → + sinusoidal PE → LayerNorm → GELU → + learned PE → head [T, Out], squared error.
    /// A source class rather than a <see cref="Lambda"/> (which copies its inputs to an array per run), so that a steady
    /// state can be checked for allocations.</summary>
    private sealed class BlockSource : IDynamicSource
    {
        public static readonly ModelDescription Description = new()
        {
            Name = "TransformerBlock",
            Parameters = Describe.Pack(
                Describe.Linear("proj", In, D, out var projBias), projBias,
                ("ln.weight", [D], Init.Uniform), ("ln.bias", [D], Init.Uniform),
                ("pos.weight", [T, D], Init.Uniform),
                Describe.Linear("head", D, Out, out var headBias), headBias),
            Inputs = [new InputInfo("x", [T, In])],
            Target = new InputInfo("t", [T, Out]),
            OutputShape = [T, Out],
            Layers = [],
        };

        public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs)
        {
            Tensor h = SinusoidalPositions(Linear(inputs[0], D, "proj"), 100f);
            h = LearnedPositions(Gelu(LayerNorm(h, "ln")), "pos");
            return Linear(h, Out, "head");
        }

        public Tensor DynamicLoss(Tensor output, Tensor target) => Sum(Square(output - target));
    }

    private static DynamicModel Block(Precision precision) => Dl.Dynamic.Dynamic.Create(BlockSource.Description, new BlockSource(), seed: 3, precision);

    [Fact]
    public void Block_DoubleTape_MatchesFiniteDifferences()
    {
        DynamicModel model = Block(Precision.Double);
        // Every parameter gets a non-trivial random value (the biases would start at zero).
        double[] p = GradCheck.Random(model.ParametersDouble.Length, 5, 0.7);
        p.CopyTo(model.ParametersDouble);
        int batch = 3;
        double[] x = GradCheck.Random(batch * T * In, 6, 2), t = GradCheck.Random(batch * T * Out, 7);
        GradCheck.AllParameters(model, x, t, batch);
    }

    [Fact]
    public void Block_FloatTape_MatchesDoubleTape()
    {
        DynamicModel single = Block(Precision.Single), twin = Block(Precision.Double);
        float[] p = GradCheck.Random(single.Parameters.Length, 8, 0.7).Select(v => (float)v).ToArray();
        p.CopyTo(single.Parameters);
        for (int i = 0; i < p.Length; i++) twin.ParametersDouble[i] = p[i];
        int batch = 5;
        float[] x = GradCheck.Random(batch * T * In, 9, 2).Select(v => (float)v).ToArray();
        float[] t = GradCheck.Random(batch * T * Out, 10).Select(v => (float)v).ToArray();
        float lossF = single.ComputeGradients(x, t, batch);
        double lossD = twin.ComputeGradients(Array.ConvertAll(x, v => (double)v), Array.ConvertAll(t, v => (double)v), batch);
        Assert.Equal(lossD, lossF, 4);
        for (int i = 0; i < p.Length; i++)
            Assert.True(Math.Abs(twin.GradientsDouble[i] - single.Gradients[i]) <= 1e-4 * (1 + Math.Abs(twin.GradientsDouble[i])),
                $"gradient {i}: float {single.Gradients[i]:R}, double {twin.GradientsDouble[i]:R}");

        var yF = new float[batch * T * Out];
        var yD = new double[batch * T * Out];
        single.Predict(x, yF, batch);
        twin.PredictDouble(Array.ConvertAll(x, v => (double)v), yD, batch);
        for (int i = 0; i < yF.Length; i++) Assert.Equal(yD[i], yF[i], 5);
    }

    [Fact]
    public void LayerNorm_FeedsTheInputGradient_ThroughTwoUses()
    {
        // x·W feeds LayerNorm twice (two layers with their own γ, β) and a residual: fan-out into dx accumulates.
        ParameterInfo[] parameters = Describe.Pack(("W", [In, D], Init.Uniform), ("a.weight", [D], Init.Uniform), ("a.bias", [D], Init.Uniform),
            ("b.weight", [D], Init.Uniform), ("b.bias", [D], Init.Uniform));
        DynamicModel model = Model(parameters, [T, In], [T, D], (c, x) =>
        {
            Tensor h = MatMul(x[0], c.Parameter("W"));
            return LayerNorm(h, "a") * LayerNorm(h, "b") + h;
        });
        GradCheck.AllParameters(model, GradCheck.Random(2 * T * In, 11, 2), GradCheck.Random(2 * T * D, 12), 2);
    }

    [Fact]
    public void LayerNorm_OnTheTape_GivesTheHandValues()
    {
        ParameterInfo[] parameters = Describe.Pack(("ln.weight", [4], Init.Constant), ("ln.bias", [4], Init.Zeros));
        double[] expected = [-1.3416, -0.4472, 0.4472, 1.3416];
        foreach (Precision precision in new[] { Precision.Single, Precision.Double })
        {
            DynamicModel model = Model(parameters, [4], [4], (c, x) => LayerNorm(x[0], "ln"), precision: precision);
            if (precision == Precision.Double)
            {
                new double[] { 1, 1, 1, 1, 0, 0, 0, 0 }.CopyTo(model.ParametersDouble);
                var y = new double[8];
                model.PredictDouble([1, 2, 3, 4, 10, 20, 30, 40], y, 2);
                for (int i = 0; i < 4; i++)
                {
                    Assert.Equal(expected[i], y[i], 4);
                    Assert.Equal((2 * i - 3) / 2.0 / Math.Sqrt(1.25 + 1e-5f), y[i], 12);
                    Assert.Equal((2 * i - 3) / 2.0 * 10 / Math.Sqrt(125.0 + 1e-5f), y[4 + i], 12);
                }
            }
            else
            {
                new float[] { 1, 1, 1, 1, 0, 0, 0, 0 }.CopyTo(model.Parameters);
                var y = new float[8];
                model.Predict([1, 2, 3, 4, 10, 20, 30, 40], y, 2);
                for (int i = 0; i < 4; i++) Assert.Equal(expected[i], y[i], 4);
            }
        }
    }

    [Fact]
    public void SinusoidalPositions_OnTheTape_AddTheTable_AndPassTheGradient()
    {
        DynamicModel single = Model([], [2, 4], [2, 4], (c, x) => SinusoidalPositions(x[0], 100f), precision: Precision.Single);
        var y = new float[16];
        single.Predict(new float[16], y, 2);
        float[] table = PositionalEncoding.Table(2, 4, 100f);
        Assert.Equal(table, y.AsSpan(0, 8).ToArray());
        Assert.Equal(table, y.AsSpan(8).ToArray());

        // d/dW Σ (x·W + PE)²/2 through the positions: W [3, 4], checked by finite differences (gradient passes unchanged).
        ParameterInfo[] parameters = Describe.Pack(("W", [In, 4], Init.Uniform));
        DynamicModel model = Model(parameters, [2, In], [2, 4], (c, x) => SinusoidalPositions(MatMul(x[0], c.Parameter("W")), 10000f));
        GradCheck.AllParameters(model, GradCheck.Random(3 * 2 * In, 13), GradCheck.Random(3 * 2 * 4, 14), 3);
    }

    [Fact]
    public void LearnedPositions_AddTheTable_AndItsGradientIsTheBatchMeanOfDy()
    {
        ParameterInfo[] parameters = Describe.Pack(("pos.weight", [2, 3], Init.Uniform));
        DynamicModel model = Model(parameters, [2, 3], [2, 3], (c, x) => LearnedPositions(x[0], "pos"), (o, t) => Sum(o * t));
        double[] p = model.ParametersDouble.ToArray();
        double[] x = GradCheck.Random(2 * 6, 15), t = GradCheck.Random(2 * 6, 16);
        var y = new double[12];
        model.PredictDouble(x, y, 2);
        for (int i = 0; i < 12; i++) Assert.Equal(x[i] + p[i % 6], y[i], 15);
        // L = mean_s Σ (x_s + P)·t_s  =>  dL/dP = mean_s t_s.
        model.ComputeGradients(x, t, 2);
        for (int i = 0; i < 6; i++) Assert.Equal((t[i] + t[6 + i]) / 2, model.GradientsDouble[i], 14);
    }

    [Fact]
    public void Gelu_OnTheTape_MatchesTheOpAndItsDerivative()
    {
        ParameterInfo[] parameters = Describe.Pack(("w", [5], Init.Uniform));
        DynamicModel model = Model(parameters, [5], [5], (c, x) => Gelu(x[0] * c.Parameter("w") * 4f));
        GradCheck.AllParameters(model, GradCheck.Random(10, 17), GradCheck.Random(10, 18), 2);
        new double[] { 1, -1, 0.5, 0, 2 }.CopyTo(model.ParametersDouble);
        var y = new double[5];
        model.PredictDouble([0.25, 0.25, 0.25, 0.25, 0.25], y, 1);
        Assert.Equal(0.8413447460685429, y[0], 1e-15);
        Assert.Equal(-0.15865525393145707, y[1], 1e-15);
        Assert.Equal(0.34573123063700656, y[2], 1e-15);
        Assert.Equal(0.0, y[3]);
    }

    [Fact]
    public void ShapeErrors_NameTheOpTheParameterAndBothShapes()
    {
        DynamicModel wrongGamma = Model(Describe.Pack(("ln.weight", [5], Init.Constant), ("ln.bias", [6], Init.Zeros)), [2, 6], [2, 6],
            (c, x) => LayerNorm(x[0], "ln"));
        var e = Assert.Throws<ArgumentException>(() => wrongGamma.PredictDouble(new double[12], new double[12], 1));
        Assert.Contains("layer_norm 'ln'", e.Message);
        Assert.Contains("'ln.weight'", e.Message);
        Assert.Contains("[5]", e.Message);
        Assert.Contains("expected [6]", e.Message);
        Assert.Contains("[2, 6]", e.Message);

        DynamicModel wrongBeta = Model(Describe.Pack(("ln.weight", [6], Init.Constant), ("ln.bias", [2, 3], Init.Zeros)), [2, 6], [2, 6],
            (c, x) => LayerNorm(x[0], "ln"));
        e = Assert.Throws<ArgumentException>(() => wrongBeta.PredictDouble(new double[12], new double[12], 1));
        Assert.Contains("'ln.bias'", e.Message);
        Assert.Contains("[2, 3]", e.Message);

        DynamicModel missing = Model(Describe.Pack(("ln.weight", [6], Init.Constant)), [2, 6], [2, 6], (c, x) => LayerNorm(x[0], "ln"));
        Assert.Contains("ln.bias", Assert.Throws<KeyNotFoundException>(() => missing.PredictDouble(new double[12], new double[12], 1)).Message);

        DynamicModel badEps = Model(Describe.Pack(("ln.weight", [6], Init.Constant), ("ln.bias", [6], Init.Zeros)), [2, 6], [2, 6],
            (c, x) => LayerNorm(x[0], "ln", -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => badEps.PredictDouble(new double[12], new double[12], 1));

        DynamicModel rank1 = Model([], [6], [6], (c, x) => SinusoidalPositions(x[0]));
        e = Assert.Throws<ArgumentException>(() => rank1.PredictDouble(new double[6], new double[6], 1));
        Assert.Contains("sinusoidal_positions", e.Message);
        Assert.Contains("[T, D]", e.Message);
        Assert.Contains("[6]", e.Message);

        DynamicModel badBase = Model([], [2, 6], [2, 6], (c, x) => SinusoidalPositions(x[0], 0f));
        Assert.Throws<ArgumentOutOfRangeException>(() => badBase.PredictDouble(new double[12], new double[12], 1));

        DynamicModel wrongPositions = Model(Describe.Pack(("pos.weight", [3, 6], Init.Uniform)), [4, 6], [4, 6], (c, x) => LearnedPositions(x[0], "pos"));
        e = Assert.Throws<ArgumentException>(() => wrongPositions.PredictDouble(new double[24], new double[24], 1));
        Assert.Contains("learned_positions 'pos'", e.Message);
        Assert.Contains("'pos.weight' has shape [3, 6], expected [4, 6]", e.Message);
    }

    [Fact]
    public void SteadyStateTrainStep_WithLayerNormGeluAndPositions_AllocatesNothing()
    {
        DynamicModel model = Block(Precision.Single);
        const int batch = 8;
        float[] x = GradCheck.Random(batch * T * In, 19).Select(v => (float)v).ToArray();
        float[] t = GradCheck.Random(batch * T * Out, 20).Select(v => (float)v).ToArray();
        var sgd = new Sgd(0.01f);
        long perStep = Allocation.PerCall(() => model.TrainStep(x, t, batch, sgd), calls: 30);
        Assert.True(perStep == 0, $"{perStep} bytes allocated per steady-state TrainStep");
    }
}
