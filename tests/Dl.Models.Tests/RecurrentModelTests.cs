using Dl.Dynamic;
using Dl.Models;

namespace Dl.Tests;

/// <summary>Recurrent models end to end: the compiled model against the dynamic tape (oracle 2) at batch 1 and 3,
/// central differences of the double tape (oracle 1), the for-loop recurrence against the Rnn op, and no allocation.</summary>
public class RecurrentModelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LstmDeep_35Steps_TwoLayers(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new LstmDeep(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void LstmWithState_InitialStatesGetGradients(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new LstmWithState(o), batch, ModelHarness.Labels(batch, 4, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GruRnnZoo_BothResetPlacements(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new GruRnnZoo(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void TinyCharLm_EmbeddingAndPerStepLabels(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new TinyCharLm(o), batch, ModelHarness.Labels(batch * 6, 11, 5), rtol: 1e-3f,
            input: ModelHarness.Tokens(batch * 6, 11, 6));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void OneHotRnn(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new OneHotRnn(o), batch, ModelHarness.Labels(batch, 2, 5), rtol: 1e-3f,
            input: ModelHarness.Tokens(batch * 5, 7, 6));

    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    public void LstmT35_Workload(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new LstmT35(o), batch, ModelHarness.Labels(batch, 10, 5), rtol: 1e-3f);

    [Fact]
    public void GruVectorState_Batch3() =>
        ModelHarness.GeneratedMatchesDynamic(o => new GruVectorState(o), 3, ModelHarness.Labels(3, 2, 5), rtol: 1e-3f);

    [Fact]
    public void RowGru_Batch3() =>
        ModelHarness.GeneratedMatchesDynamic(o => new RowGru(o), 3, ModelHarness.Labels(3, 10, 5), rtol: 1e-3f);

    [Fact]
    public void WholeModels_FiniteDifferences_Double()
    {
        ModelHarness.FiniteDifferences<LstmWithState>([1, 3], 2);
        ModelHarness.FiniteDifferences<GruRnnZoo>([0, 2], 2);
        ModelHarness.FiniteDifferences<TinyCharLm>(ModelHarness.Labels(2 * 6, 11, 3).Select(v => (double)v).ToArray(), 2, ModelHarness.Tokens(2 * 6, 11, 4));
        ModelHarness.FiniteDifferences<OneHotRnn>([1, 0], 2, ModelHarness.Tokens(2 * 5, 7, 4));
    }

    [Fact]
    public void ForLoopRecurrence_EqualsTheRnnOp()
    {
        // The same weights in both: W_xh [3, 4] (row-vector form) is the op's weight_ih_l0ᵀ; the op's biases are zero.
        var hand = new HandRnn(new ModelOptions { Seed = 2, MaxBatch = 3 });
        var op = new OpRnn(new ModelOptions { Seed = 9, MaxBatch = 3 });
        var wxh = hand.Parameter("Wxh"); var whh = hand.Parameter("Whh");
        var wih = op.Parameter("rnn.weight_ih_l0"); var w = op.Parameter("rnn.weight_hh_l0");
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 3; j++) wih[i * 3 + j] = wxh[j * 4 + i];
            for (int j = 0; j < 4; j++) w[i * 4 + j] = whh[j * 4 + i];
        }
        op.Parameter("rnn.bias_ih_l0").Clear();
        op.Parameter("rnn.bias_hh_l0").Clear();
        hand.Parameter("out.weight").CopyTo(op.Parameter("out.weight"));
        hand.Parameter("out.bias").CopyTo(op.Parameter("out.bias"));
        var x = ModelHarness.Normal(3 * 9, 1);
        var y = ModelHarness.Labels(3, 2, 2);
        float lh = hand.ComputeGradients(x, y, 3), lo = op.ComputeGradients(x, y, 3);
        Assert.Equal(lh, lo, 5);
        var dWxh = hand.Gradient("Wxh"); var dWih = op.Gradient("rnn.weight_ih_l0");
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 3; j++) Assert.Equal(dWxh[j * 4 + i], dWih[i * 3 + j], 5);
        var dWhh = hand.Gradient("Whh"); var dW = op.Gradient("rnn.weight_hh_l0");
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) Assert.Equal(dWhh[j * 4 + i], dW[i * 4 + j], 5);
    }

    [Fact]
    public void RecurrentSteps_AllocateNothing()
    {
        foreach (int batch in new[] { 1, 32 })
        {
            var net = new LstmT35(new ModelOptions { Seed = 1, MaxBatch = 32 });
            var x = ModelHarness.Normal(batch * 35 * 32, 1);
            var y = ModelHarness.Labels(batch, 10, 2);
            var output = new float[batch * 10];
            var sgd = new Sgd(0.01f); var adam = new Adam(0.001f); var clipped = new Clipped(new Adam(0.001f), maxNorm: 1f);
            Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(x, y, batch, sgd)));
            Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(x, y, batch, adam)));
            Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(x, y, batch, clipped)));
            Assert.Equal(0, Allocation.PerCall(() => net.Predict(x, output, batch)));
        }
        var lm = new TinyCharLm(new ModelOptions { Seed = 1, MaxBatch = 3 });
        var tokens = ModelHarness.Tokens(3 * 6, 11, 1);
        var next = ModelHarness.Labels(3 * 6, 11, 2);
        var sgd2 = new Sgd(0.01f);
        Assert.Equal(0, Allocation.PerCall(() => lm.TrainStep(tokens, next, 3, sgd2)));
        var dynamic = Dynamic.Dynamic.Create<LstmT35>(seed: 1);
        var xd = ModelHarness.Normal(3 * 35 * 32, 1);
        var yd = ModelHarness.Labels(3, 10, 2);
        var sgd3 = new Sgd(0.01f);
        Assert.Equal(0, Allocation.PerCall(() => ((ITrainableModel<int>)dynamic).TrainStep(xd, yd, 3, sgd3)));
    }

    [Fact]
    public void TokenOutOfRange_And_LabelOutOfRange_AreClearErrors()
    {
        var lm = new TinyCharLm(new ModelOptions { Seed = 1, MaxBatch = 2 });
        var tokens = ModelHarness.Tokens(2 * 6, 11, 1);
        var next = ModelHarness.Labels(2 * 6, 11, 2);
        tokens[7] = 11;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => lm.Loss(tokens, next, 2));
        Assert.Contains("[0, 11)", e.Message);
        tokens[7] = 2.5f;
        Assert.Throws<ArgumentOutOfRangeException>(() => lm.Loss(tokens, next, 2));
        tokens[7] = 3;
        next[9] = 11;
        var l = Assert.Throws<ArgumentOutOfRangeException>(() => lm.Loss(tokens, next, 2));
        Assert.Contains("label 3 of sample 1", l.Message);
        var wrong = Assert.Throws<ArgumentException>(() => lm.Loss(tokens, next.AsSpan(0, 6).ToArray(), 2));
        Assert.Contains("6 per sample", wrong.Message);
    }

    [Fact]
    public void GradientNorm_IsReported_AndClipped()
    {
        var net = new LstmT35(new ModelOptions { Seed = 1, MaxBatch = 4 });
        var x = ModelHarness.Normal(4 * 35 * 32, 1);
        var y = ModelHarness.Labels(4, 10, 2);
        net.ComputeGradients(x, y, 4);
        double norm = Math.Sqrt(net.Gradients.ToArray().Sum(g => (double)g * g));
        var before = net.Parameters.ToArray();
        var clipped = new Clipped(new Sgd(1f), maxNorm: (float)(norm / 10));
        net.TrainStep(x, y, 4, clipped);
        Assert.Equal(norm, clipped.LastNorm, 3);
        // The update is the gradient scaled to norm / 10 (plain SGD with η = 1).
        double step = Math.Sqrt(before.Zip(net.Parameters.ToArray(), (a, b) => (double)(a - b) * (a - b)).Sum());
        Assert.Equal(norm / 10, step, 3);
    }
}
