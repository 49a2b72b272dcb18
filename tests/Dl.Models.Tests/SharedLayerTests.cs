using static Dl.Ops;

namespace Dl.Tests;

/// <summary>A siamese encoder: one Linear layer applied to two inputs (<c>shared: true</c> on the second call, as a PyTorch
/// module called twice); its gradients are the sum over both uses.</summary>
[Model]
public sealed partial class SiameseNet
{
    [Forward]
    Tensor Forward([Shape(5)] Tensor left, [Shape(5)] Tensor right)
    {
        var a = Tanh(Linear(left, 7, name: "encoder"));
        var b = Tanh(Linear(right, 7, name: "encoder", shared: true));
        return Linear(a * b, 3, name: "head");
    }

    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

public class SharedLayerTests
{
    private const string Script = PyTorchTests.Prelude + """
        F = torch.nn.functional
        x = torch.tensor(np.fromfile(xfile, dtype=np.float32))
        left, right = x[:batch * 5].reshape(batch, 5), x[batch * 5:].reshape(batch, 5)
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32)).reshape(batch, -1)
        encoder = lambda v: torch.tanh(F.linear(v, p['encoder.weight'], p['encoder.bias']))
        y = F.linear(encoder(left) * encoder(right), p['head.weight'], p['head.bias'])
        loss = F.mse_loss(y, t)
        loss.backward()
        report(loss, y)
        """;

    [Fact]
    public void TheSharedLayer_HasOneSetOfParameters()
    {
        var d = SiameseNet.StaticDescription;
        Assert.Equal(["encoder.weight", "encoder.bias", "head.weight", "head.bias"], d.Parameters.Select(p => p.Name));
        Assert.Equal(7 * 5 + 7 + 3 * 7 + 3, d.ParameterCount);
        Assert.Matches(@"encoder\s+Linear \(shared\)\s+\[7\]\s+0", new SiameseNet(new ModelOptions()).Summary());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void GeneratedMatchesDynamic(int batch)
        => ModelHarness.GeneratedMatchesDynamic(o => new SiameseNet(o), batch, ModelHarness.Normal(batch * 3, 5), input: ModelHarness.Normal(batch * 10, 6));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void MatchesPyTorch(int batch)
    {
        var net = new SiameseNet(new ModelOptions { Seed = 4, MaxBatch = 3 });
        var x = ModelHarness.Normal(batch * 10, 1);
        var t = ModelHarness.Normal(batch * 3, 2);
        PyTorchTests.Compare(net, PyTorchTests.RunTorch("siamese", net, x, t, batch, Script), x, t, batch);
    }

    [Fact]
    public void Tape_ASecondUseWithoutShared_Throws_AndSharedWithoutAFirstUse_Throws()
    {
        var x = ModelHarness.Normal(10, 1);
        var e = Assert.Throws<InvalidOperationException>(() => Dl.Dynamic.Dynamic.Create<TwiceWithoutShared>(seed: 1).Predict(x, new float[7], 1));
        Assert.Contains("created twice", e.Message);
        Assert.Contains("shared: true", e.Message);
        var f = Assert.Throws<ArgumentException>(() => Dl.Dynamic.Dynamic.Create<SharedFirst>(seed: 1).Predict(x[..5], new float[7], 1));
        Assert.Contains("there is none", f.Message);
        Dl.Dynamic.Dynamic.Create<SiameseNet>(seed: 1).Predict(x, new float[3], 1);   // with shared: true it runs
    }
}

/// <summary>Tape-only sources (hand-written IDynamicSource): the mistakes the generator reports as DL0008 and DL0012.</summary>
internal sealed class TwiceWithoutShared : Dl.Dynamic.IDynamicSource<TwiceWithoutShared>
{
    public static ModelDescription StaticDescription { get; } = new()
    {
        Name = "TwiceWithoutShared",
        Parameters = [new("fc.weight", [7, 5], 0, Init.Default, 0, 5, 7), new("fc.bias", [7], 35, Init.Zeros, 0, 5, 7)],
        Inputs = [new("a", [5]), new("b", [5])],
        OutputShape = [7],
        Layers = [],
    };
    public static TwiceWithoutShared CreateShell() => new();
    public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs) => Linear(inputs[0], 7, "fc") + Linear(inputs[1], 7, "fc");
    public Tensor DynamicLoss(Tensor output, Tensor target) => throw new NotSupportedException();
}

internal sealed class SharedFirst : Dl.Dynamic.IDynamicSource<SharedFirst>
{
    public static ModelDescription StaticDescription { get; } = new()
    {
        Name = "SharedFirst",
        Parameters = [new("fc.weight", [7, 5], 0, Init.Default, 0, 5, 7), new("fc.bias", [7], 35, Init.Zeros, 0, 5, 7)],
        Inputs = [new("a", [5])],
        OutputShape = [7],
        Layers = [],
    };
    public static SharedFirst CreateShell() => new();
    public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs) => Linear(inputs[0], 7, "fc", shared: true);
    public Tensor DynamicLoss(Tensor output, Tensor target) => throw new NotSupportedException();
}
