using static Dl.Ops;

namespace Dl.Tests;

/// <summary>GroupNorm on feature maps [C, H, W] and on a feature vector [C] (one value per channel).</summary>
[Model]
public sealed partial class GroupNormNet
{
    [Forward]
    Tensor Forward([Shape(6, 5, 4)] Tensor x)
    {
        var h = Relu(GroupNorm(x * 1.5f + 0.3f, 3, "gn"));
        var f = GroupNorm(Linear(Flatten(h), 8, "fc1"), 2, "gn2");
        return Linear(Tanh(f), 4, "fc2");
    }

    [Loss] Tensor Loss(Tensor y, [Shape(4)] Tensor t) => MseLoss(y, t);
}

public class GroupNormTests
{
    private const string Script = PyTorchTests.Prelude + """
        F = torch.nn.functional
        x = torch.tensor(np.fromfile(xfile, dtype=np.float32)).reshape(batch, 6, 5, 4)
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32)).reshape(batch, -1)
        h = F.relu(F.group_norm(x * 1.5 + 0.3, 3, p['gn.weight'], p['gn.bias'], eps=1e-5))
        f = F.group_norm(F.linear(h.reshape(batch, -1), p['fc1.weight'], p['fc1.bias']), 2, p['gn2.weight'], p['gn2.bias'], eps=1e-5)
        y = F.linear(torch.tanh(f), p['fc2.weight'], p['fc2.bias'])
        loss = F.mse_loss(y, t)
        loss.backward()
        report(loss, y)
        """;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GeneratedMatchesDynamic(int batch)
        => ModelHarness.GeneratedMatchesDynamic(o => new GroupNormNet(o), batch, ModelHarness.Normal(batch * 4, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void MatchesPyTorch(int batch)
    {
        var net = new GroupNormNet(new ModelOptions { Seed = 4, MaxBatch = 3 });
        // γ and β away from their initial ones and zeros, so the per-channel affine is checked too.
        var r = new DlRandom(9);
        foreach (string p in new[] { "gn.weight", "gn.bias", "gn2.weight", "gn2.bias" })
        {
            var values = net.Parameter(p);
            for (int i = 0; i < values.Length; i++) values[i] = (p.EndsWith("weight", StringComparison.Ordinal) ? 1f : 0f) + 0.5f * (float)(r.NextDouble() - 0.5);
        }
        var x = ModelHarness.Normal(batch * 120, 1);
        var t = ModelHarness.Normal(batch * 4, 2);
        PyTorchTests.Compare(net, PyTorchTests.RunTorch("group_norm", net, x, t, batch, Script), x, t, batch);
    }
}
