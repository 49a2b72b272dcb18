using Dl.Dynamic;
using static Dl.Ops;

namespace Dl.Tests;

/// <summary>SiLU, ELU, Clamp and Hardtanh in a model; the pre-activations are scaled so that the batch reaches both
/// sides of every bound and ELU's left branch.</summary>
[Model]
public sealed partial class ActivationNet
{
    [Forward]
    Tensor Forward([Shape(7)] Tensor x)
    {
        var h = Silu(Linear(x, 11, "fc1") * 3f);
        var e = Elu(Linear(h, 9, "fc2") * 2f, 0.7f);
        var c = Clamp(Linear(e, 10, "fc3"), -0.4f, 0.6f);
        var t = Hardtanh(Linear(c, 5, "fc4") * 4f) + Hardtanh(Linear(c, 5, "fc5") * 2f, -0.25f, 0.5f);
        return Linear(Concat(t, Elu(t)), 3, "out");
    }

    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

/// <summary>Where with a mask from the input (a Step: no gradient reaches through it), an unbatched parameter as the
/// other branch (broadcast over rows and the batch), a mask [2, 1] broadcast over columns whose gate is not trained, and
/// a constant branch.</summary>
[Model]
public sealed partial class SelectNet
{
    [Param(6)] Tensor fallback;

    [Forward]
    Tensor Forward([Shape(2, 6)] Tensor x)
    {
        var a = Tanh(Linear(x, 6, "fa"));
        var s = Where(Step(x), a, fallback);
        var g = Where(Step(Linear(x, 1, "gate")), s, 0f);
        return Linear(Flatten(g), 3, "out");
    }

    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

/// <summary>Concat of four parts (one of them twice, one detached), Stack along a negative axis, and sums and means over
/// negative axes.</summary>
[Model]
public sealed partial class StructNet
{
    [Forward]
    Tensor Forward([Shape(5)] Tensor x)
    {
        var a = Reshape(Linear(x, 10, "pa"), 2, 5);
        var b = Reshape(Tanh(Linear(x, 15, "pb")), 3, 5);
        var c = Reshape(Detach(Linear(x, 5, "frozen")), 1, 5);
        var cat = Concat([a, b, c, a], 0);
        var st = Stack([Sum(cat, 0), Mean(cat, -2), Linear(x, 5, "pc")], -1);
        return Linear(Concat(Flatten(st), Sum(cat, -1)), 3, "out");
    }

    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

public class MissingOpsTests
{
    private const string Output = """
        loss = F.mse_loss(y, t)
        loss.backward()
        report(loss, y, zeros=True)
        """;

    private const string Inputs = """
        F = torch.nn.functional
        x = torch.tensor(np.fromfile(xfile, dtype=np.float32)).reshape(batch, -1)
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32)).reshape(batch, -1)
        def lin(h, n): return F.linear(h, p[n + '.weight'], p[n + '.bias'])

        """;

    private const string ActivationScript = PyTorchTests.Prelude + Inputs + """
        h = F.silu(lin(x, 'fc1') * 3)
        e = F.elu(lin(h, 'fc2') * 2, alpha=0.7)
        c = torch.clamp(lin(e, 'fc3'), -0.4, 0.6)
        u = F.hardtanh(lin(c, 'fc4') * 4) + F.hardtanh(lin(c, 'fc5') * 2, -0.25, 0.5)
        y = lin(torch.cat([u, F.elu(u)], dim=1), 'out')

        """ + Output;

    private const string SelectScript = PyTorchTests.Prelude + Inputs + """
        x = x.reshape(batch, 2, 6)
        a = torch.tanh(lin(x, 'fa'))
        s = torch.where(x > 0, a, p['fallback'])
        g = torch.where(lin(x, 'gate') > 0, s, 0.0)
        y = lin(g.reshape(batch, -1), 'out')

        """ + Output;

    private const string StructScript = PyTorchTests.Prelude + Inputs + """
        a = lin(x, 'pa').reshape(batch, 2, 5)
        b = torch.tanh(lin(x, 'pb')).reshape(batch, 3, 5)
        c = lin(x, 'frozen').detach().reshape(batch, 1, 5)
        cat = torch.cat([a, b, c, a], dim=1)
        st = torch.stack([cat.sum(1), cat.mean(-2), lin(x, 'pc')], dim=-1)
        y = lin(torch.cat([st.reshape(batch, -1), cat.sum(-1)], dim=1), 'out')

        """ + Output;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Activations_GeneratedMatchesDynamic(int batch)
        => ModelHarness.GeneratedMatchesDynamic(o => new ActivationNet(o), batch, ModelHarness.Normal(batch * 3, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Select_GeneratedMatchesDynamic(int batch)
        => ModelHarness.GeneratedMatchesDynamic(o => new SelectNet(o), batch, ModelHarness.Normal(batch * 3, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Struct_GeneratedMatchesDynamic(int batch)
        => ModelHarness.GeneratedMatchesDynamic(o => new StructNet(o), batch, ModelHarness.Normal(batch * 3, 5));

    [Fact]
    public void FiniteDifferences_OnTheTape()
    {
        double[] target = ModelHarness.Normal(2 * 3, 5).Select(v => (double)v).ToArray();
        ModelHarness.FiniteDifferences<ActivationNet>(target, 2);
        ModelHarness.FiniteDifferences<SelectNet>(target, 2);
        ModelHarness.FiniteDifferences<StructNet>(target, 2, stopped: name => name.StartsWith("frozen.", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Activations_MatchPyTorch(int batch) => MatchesPyTorch(new ActivationNet(Options), "activations", ActivationScript, batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Select_MatchesPyTorch(int batch) => MatchesPyTorch(new SelectNet(Options), "select", SelectScript, batch);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Struct_MatchesPyTorch(int batch) => MatchesPyTorch(new StructNet(Options), "struct", StructScript, batch);

    private static ModelOptions Options => new() { Seed = 4, MaxBatch = 3 };

    private static void MatchesPyTorch<TModel>(TModel net, string name, string script, int batch) where TModel : ITrainableModel<float>
    {
        var x = ModelHarness.Normal(batch * net.Description.InputSize, 1);
        var t = ModelHarness.Normal(batch * 3, 2);
        PyTorchTests.Compare(net, PyTorchTests.RunTorch(name, net, x, t, batch, script), x, t, batch);
    }

    [Fact]
    public void Detach_And_WhereMask_LeaveTheirParametersUntrained()
    {
        var s = new StructNet(Options);
        var x = ModelHarness.Normal(3 * 5, 1);
        s.ComputeGradients(x, ModelHarness.Normal(9, 2), 3);
        Assert.All(s.Gradient("frozen.weight").ToArray(), g => Assert.Equal(0f, g));
        Assert.Contains(s.Gradient("pa.weight").ToArray(), g => g != 0f);
        var w = new SelectNet(Options);
        w.ComputeGradients(ModelHarness.Normal(3 * 12, 1), ModelHarness.Normal(9, 2), 3);
        Assert.All(w.Gradient("gate.weight").ToArray(), g => Assert.Equal(0f, g));
        Assert.Contains(w.Gradient("fallback").ToArray(), g => g != 0f);
    }

    [Fact]
    public void Steps_AllocateNothing_GeneratedAndOnTheTape()
    {
        // Generated: a fused SGD step and a gradient step; the tape: a gradient step of the model with a four-part
        // concat (its input list is pooled) and a stack.
        float[] t = ModelHarness.Normal(9, 2);
        var s = new StructNet(Options);
        float[] xs = ModelHarness.Normal(15, 1);
        var sgd = new Sgd(0.01f);
        Assert.Equal(0, Allocation.PerCall(() => s.TrainStep(xs, t, 3, sgd), calls: 5, rounds: 3));
        var w = new SelectNet(Options);
        float[] xw = ModelHarness.Normal(36, 1);
        Assert.Equal(0, Allocation.PerCall(() => w.ComputeGradients(xw, t, 3), calls: 5, rounds: 3));
        var tape = (ITrainableModel<float>)(object)Dl.Dynamic.Dynamic.Create<StructNet>(seed: 4);
        Assert.Equal(0, Allocation.PerCall(() => tape.ComputeGradients(xs, t, 3), calls: 5, rounds: 3));
        var tapeActivations = (ITrainableModel<float>)(object)Dl.Dynamic.Dynamic.Create<ActivationNet>(seed: 4);
        float[] xa = ModelHarness.Normal(21, 1);
        Assert.Equal(0, Allocation.PerCall(() => tapeActivations.ComputeGradients(xa, t, 3), calls: 5, rounds: 3));
    }

    [Fact]
    public void Activations_ReachEveryBranch()
    {
        // The scales are chosen so that the batch covers both sides of each bound and ELU's left branch: check it does,
        // through the tape's trace of the same model.
        var model = Dynamic.Dynamic.Create<ActivationNet>(seed: 4, Precision.Double);
        var x = ModelHarness.Normal(3 * 7, 1).Select(v => (double)v).ToArray();
        var trace = model.Trace(x, ModelHarness.Normal(9, 2).Select(v => (double)v).ToArray(), 3);
        double[] Input(string op) => trace.Nodes.First(n => n.Op.StartsWith(op, StringComparison.Ordinal)).Inputs
            .Select(i => trace.Nodes[i].Value).First();
        Assert.Contains(Input("clamp"), v => v < -0.4);
        Assert.Contains(Input("clamp"), v => v > 0.6);
        Assert.Contains(Input("clamp"), v => v is > -0.4 and < 0.6);
        Assert.Contains(Input("elu"), v => v < 0);
        Assert.Contains(Input("hardtanh"), v => v > 1);
        Assert.Contains(Input("hardtanh"), v => v < -1);
    }
}
