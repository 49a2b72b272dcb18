using static Dl.Ops;

namespace Dl.Tests.DynamicTape;

using Dl.Dynamic;

/// <summary>Broadcasting and sum_to, fan-out, the structural ops and the error paths, each checked by whole-model
/// finite differences in double precision and where it is simple, by values computed by hand.</summary>
public class TapeOpsTests
{
    private static Tensor SquaredError(Tensor output, Tensor target) => Sum(Square(output - target));

    private static DynamicModel Model(ParameterInfo[] parameters, int[] input, int[] output,
        Func<DynamicContext, Tensor[], Tensor> forward, Func<Tensor, Tensor, Tensor>? loss = null, Precision precision = Precision.Double)
        => Lambda.Create(parameters, [new InputInfo("x", input)], output, new InputInfo("t", output), forward, loss ?? SquaredError, precision);

    private static int SizeOf(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    private static void Check(DynamicModel model, int batch, int seed = 1)
    {
        double[] x = GradCheck.Random(batch * model.Description.InputSize, seed);
        double[] t = GradCheck.Random(batch * model.Description.Target!.Size, seed + 1);
        GradCheck.AllParameters(model, x, t, batch);
    }

    [Fact]
    public void Broadcasting_ScalarRowColumnAndBatch_FiniteDifferences()
    {
        // x [2, 3] (batched) ∘ b [3] + s [] then ∘ c [2, 1]: every operand broadcasts differently.
        ParameterInfo[] parameters = Describe.Pack(("b", [3], Init.Uniform), ("s", [], Init.Uniform), ("c", [2, 1], Init.Uniform));
        DynamicModel model = Model(parameters, [2, 3], [2, 3], (ctx, x) =>
            (x[0] * ctx.Parameter("b") + ctx.Parameter("s")) * ctx.Parameter("c") + Exp(x[0]) / 2f - ctx.Parameter("c") / ctx.Parameter("b"));
        Check(model, batch: 3);
    }

    [Fact]
    public void SumTo_ReducesBroadcastAxesAndTheBatch_ByHand()
    {
        // L = mean_s Σ_ij x_sij b_j  =>  dL/db_j = mean_s Σ_i x_sij;  L = mean_s Σ_ij x_sij c_i => dL/dc_i = mean_s Σ_j x_sij.
        ParameterInfo[] parameters = Describe.Pack(("b", [3], Init.Uniform), ("c", [2, 1], Init.Uniform));
        DynamicModel model = Model(parameters, [2, 3], [], (ctx, x) => Sum(x[0] * ctx.Parameter("b")) + Sum(x[0] * ctx.Parameter("c")),
            (o, t) => o - t);
        double[] x = [1, 2, 3, 4, 5, 6, /* sample 2 */ 10, 20, 30, 40, 50, 60];
        model.ComputeGradients(x, new double[2], 2);
        Assert.Equal([27.5, 38.5, 49.5], model.GradientDouble("b").ToArray());
        Assert.Equal([33.0, 82.5], model.GradientDouble("c").ToArray());
    }

    [Fact]
    public void FanOut_Accumulates_IncludingBothOperandsOfOneOp()
    {
        // y = x∘w + w∘w + e^w  =>  dΣy/dw = x + 2w + e^w (batch mean of x).
        ParameterInfo[] parameters = Describe.Pack(("w", [3], Init.Uniform));
        DynamicModel model = Model(parameters, [3], [], (ctx, x) =>
        {
            Tensor w = ctx.Parameter("w");
            return Sum(x[0] * w + w * w + Exp(w));
        }, (o, t) => o - t);
        double[] w = model.ParametersDouble.ToArray();
        model.ComputeGradients(new double[] { 1, 2, 3, 5, 6, 7 }, new double[2], 2);
        double[] meanX = [3, 4, 5];
        for (int i = 0; i < 3; i++) Assert.Equal(meanX[i] + 2 * w[i] + Math.Exp(w[i]), model.GradientsDouble[i], 12);
        Check(model, batch: 2);
    }

    [Fact]
    public void UnbatchedTerms_BroadcastOverTheBatch_AndCountOnceInTheMean()
    {
        // L = mean_s [Σ (x_s w - t_s)²] + 0.5 Σ w²: the penalty's gradient is w, whatever the batch.
        ParameterInfo[] parameters = Describe.Pack(("w", [2], Init.Uniform));
        DynamicModel model = Model(parameters, [2], [2], (ctx, x) => x[0] * ctx.Parameter("w"),
            (o, t) => Sum(Square(o - t)) + 0.5f * L2Penalty(DynamicContext.Current.Parameter("w")));
        Check(model, batch: 3);
        double[] w = model.ParametersDouble.ToArray();
        model.ComputeGradients(new double[6], new double[6], 3);
        Assert.Equal(w, model.GradientsDouble.ToArray());
    }

    [Fact]
    public void StructuralOps_MatMulTransposeReshapeSliceConcatRowsReduce_FiniteDifferences()
    {
        ParameterInfo[] parameters = Describe.Pack(("W", [3, 4], Init.Uniform), ("p", [3], Init.Uniform), ("q", [4], Init.Uniform),
            ("P", [2, 2], Init.Uniform));
        DynamicModel model = Model(parameters, [2, 3], [2], (ctx, x) =>
        {
            Tensor h = MatMul(x[0], ctx.Parameter("W"));                  // [2, 4]: batched · unbatched, one GEMM
            Tensor s = Slice(Reshape(Transpose(h), 8), 0, 2, 5);          // [5]
            Tensor m = Softmax(Concat(s, ctx.Parameter("p")));            // [8]: an unbatched operand joins each sample
            Tensor u = Reshape(m, 2, -1);                                 // [2, 4]
            Tensor v = MatMul(u, Transpose(h));                           // [2, 2]: batched · batched, per sample
            Tensor pv = MatMul(ctx.Parameter("P"), v);                    // unbatched · batched
            Tensor vec = MatMul(x[0][1], ctx.Parameter("W"));             // [3]·[3, 4] = [4]
            return Sum(pv, 0) + Mean(u, axis: 1) + MatMul(u, ctx.Parameter("q")) + Tanh(x[0][1][0..2]) * Sum(vec)
                + Sum(LogSoftmax(h * 0.5f), 1) + Concat(Sum(h, -1)[0..1], Reshape(Mean(h), 1));
        });
        Check(model, batch: 3);
    }
}
