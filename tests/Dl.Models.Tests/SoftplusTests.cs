using static Dl.Ops;

namespace Dl.Tests;

/// <summary>Softplus in a model: the pre-activations are scaled so the batch reaches both tails (x &gt; 20, the
/// identity branch, and x &lt; -20, where ln(1 + e^x) must keep its small values).</summary>
[Model]
public sealed partial class SoftplusNet
{
    [Forward] Tensor Forward([Shape(5)] Tensor x) => Linear(Softplus(Linear(x, 16, "fc1") * 40f) * 0.05f, 3, "fc2");
    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

public class SoftplusTests
{
    private const string Script = PyTorchTests.Prelude + """
        F = torch.nn.functional
        x = torch.tensor(np.fromfile(xfile, dtype=np.float32)).reshape(batch, -1)
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32)).reshape(batch, -1)
        h = F.softplus(F.linear(x, p['fc1.weight'], p['fc1.bias']) * 40)
        y = F.linear(h * 0.05, p['fc2.weight'], p['fc2.bias'])
        loss = F.mse_loss(y, t)
        loss.backward()
        report(loss, y)
        """;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GeneratedMatchesDynamic(int batch)
        => ModelHarness.GeneratedMatchesDynamic(o => new SoftplusNet(o), batch, ModelHarness.Normal(batch * 3, 5), input: ModelHarness.Normal(batch * 5, 6));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void MatchesPyTorch(int batch)
    {
        var net = new SoftplusNet(new ModelOptions { Seed = 4, MaxBatch = 3 });
        var x = ModelHarness.Normal(batch * 5, 1);
        var t = ModelHarness.Normal(batch * 3, 2);
        PyTorchTests.Compare(net, PyTorchTests.RunTorch("softplus", net, x, t, batch, Script), x, t, batch);
    }

    [Fact]
    public void PreActivations_ReachBothTails()
    {
        // The scale 40 is chosen so the test covers the identity branch and the small left tail: check that it does.
        var net = new SoftplusNet(new ModelOptions { Seed = 4, MaxBatch = 3 });
        var x = ModelHarness.Normal(3 * 5, 1);
        float[] w = net.Parameter("fc1.weight").ToArray(), b = net.Parameter("fc1.bias").ToArray();
        var z = new List<float>();
        for (int s = 0; s < 3; s++)
            for (int o = 0; o < 16; o++)
            {
                float v = b[o];
                for (int i = 0; i < 5; i++) v += w[o * 5 + i] * x[s * 5 + i];
                z.Add(40f * v);
            }
        Assert.Contains(z, v => v > SoftplusOp.Threshold);
        Assert.Contains(z, v => v < -SoftplusOp.Threshold);
    }
}
