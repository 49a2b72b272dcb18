using Dl.Models;
using static Dl.Ops;

namespace Dl.Tests;

/// <summary>MaxPool1d and AvgPool1d on a sequence [C, L] (L = 13, not a multiple of 8): max pooling with stride and
/// padding after a ReLU (fused into the pool by the generator), average pooling with the default stride, and with
/// padding counted in the mean (count_include_pad).</summary>
[Model]
public sealed partial class Pool1dNet
{
    [Forward]
    Tensor Forward([Shape(5, 13)] Tensor x)
    {
        var h = Conv1d(x, 6, kernel: 3, name: "conv", padding: 1);            // [6, 13]
        var a = MaxPool1d(Relu(h), kernel: 3, stride: 2, padding: 1);           // [6, 7]
        var b = AvgPool1d(h, kernel: 2);                                        // [6, 6]
        var c = AvgPool1d(h * 0.5f, kernel: 3, stride: 1, padding: 1);          // [6, 13]
        return Linear(Concat(Flatten(a), Concat(Flatten(b), Flatten(c))), 3, "fc");
    }

    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

/// <summary>ConvTranspose2d with stride, padding and output padding (up1, im2col; its input is the model input, so no
/// data gradient), with a rectangular kernel, per-dimension stride and output padding and no bias (up2, im2col: dW reuses
/// the columns of dy made for dx), and at stride 1 with 'same'-size padding (same: the direct kernels). h feeds up2 and
/// same, so its gradient takes a second contribution.</summary>
[Model]
public sealed partial class ConvTransposeNet
{
    [Forward]
    Tensor Forward([Shape(3, 5, 6)] Tensor x)
    {
        var h = Relu(ConvTranspose2d(x, 4, kernel: 3, name: "up1", stride: 2, padding: 1, outputPadding: 1));                         // [4, 10, 12]
        var g = ConvTranspose2d(h, 2, kernel: (2, 3), name: "up2", stride: (1, 2), padding: (0, 1), outputPadding: (0, 1), bias: false); // [2, 11, 24]
        var k = ConvTranspose2d(h, 3, kernel: 3, name: "same", padding: 1);                                                            // [3, 10, 12]
        return Linear(Concat(Flatten(g), Flatten(k)), 3, "fc");
    }

    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}

public class SpatialLayerTests
{
    private const string Output = """
        loss = F.mse_loss(y, t)
        loss.backward()
        report(loss, y)
        """;

    private const string Pool1dScript = PyTorchTests.Prelude + """
        F = torch.nn.functional
        nn = torch.nn
        x = torch.tensor(np.fromfile(xfile, dtype=np.float32)).reshape(batch, 5, 13)
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32)).reshape(batch, -1)
        h = F.conv1d(x, p['conv.weight'], p['conv.bias'], padding=1)
        a = nn.MaxPool1d(3, stride=2, padding=1)(F.relu(h))
        b = nn.AvgPool1d(2)(h)
        c = nn.AvgPool1d(3, stride=1, padding=1)(h * 0.5)
        assert a.shape[1:] == (6, 7) and b.shape[1:] == (6, 6) and c.shape[1:] == (6, 13)
        y = F.linear(torch.cat([a.reshape(batch, -1), b.reshape(batch, -1), c.reshape(batch, -1)], 1), p['fc.weight'], p['fc.bias'])

        """ + Output;

    private const string ConvTransposeScript = PyTorchTests.Prelude + """
        F = torch.nn.functional
        nn = torch.nn
        x = torch.tensor(np.fromfile(xfile, dtype=np.float32)).reshape(batch, 3, 5, 6)
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32)).reshape(batch, -1)
        def layer(h, name, cin, cout, kernel, bias=True, **kw):
            m = nn.ConvTranspose2d(cin, cout, kernel, bias=bias, **kw)
            assert m.weight.shape == p[name + '.weight'].shape, (name, m.weight.shape)
            with torch.no_grad():
                m.weight.copy_(p[name + '.weight'])
                if bias: m.bias.copy_(p[name + '.bias'])
            y = m(h)
            # the module's own parameters hold the gradients: hand them to p's tensors
            grads.append((name, m))
            return y
        grads = []
        h = F.relu(layer(x, 'up1', 3, 4, 3, stride=2, padding=1, output_padding=1))
        g = layer(h, 'up2', 4, 2, (2, 3), bias=False, stride=(1, 2), padding=(0, 1), output_padding=(0, 1))
        k = layer(h, 'same', 4, 3, 3, padding=1)
        assert h.shape[1:] == (4, 10, 12) and g.shape[1:] == (2, 11, 24) and k.shape[1:] == (3, 10, 12)
        y = F.linear(torch.cat([g.reshape(batch, -1), k.reshape(batch, -1)], 1), p['fc.weight'], p['fc.bias'])
        loss = F.mse_loss(y, t)
        loss.backward()
        for name, m in grads:
            p[name + '.weight'].grad = m.weight.grad
            if m.bias is not None: p[name + '.bias'].grad = m.bias.grad
        report(loss, y)
        """;

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Pool1d_GeneratedMatchesDynamic(int batch)
        => ModelHarness.GeneratedMatchesDynamic(o => new Pool1dNet(o), batch, ModelHarness.Normal(batch * 3, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Pool1d_MatchesPyTorch(int batch)
    {
        var net = new Pool1dNet(new ModelOptions { Seed = 4, MaxBatch = 3 });
        var x = ModelHarness.Normal(batch * 65, 1);
        var t = ModelHarness.Normal(batch * 3, 2);
        PyTorchTests.Compare(net, PyTorchTests.RunTorch("pool1d", net, x, t, batch, Pool1dScript), x, t, batch);
    }

    [Fact]
    public void Pool1d_FiniteDifferences()
        => ModelHarness.FiniteDifferences<Pool1dNet>(ModelHarness.Normal(2 * 3, 5).Select(v => (double)v).ToArray(), 2);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConvTranspose_GeneratedMatchesDynamic(int batch)
        => ModelHarness.GeneratedMatchesDynamic(o => new ConvTransposeNet(o), batch, ModelHarness.Normal(batch * 3, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConvTranspose_MatchesPyTorch(int batch)
    {
        var net = new ConvTransposeNet(new ModelOptions { Seed = 4, MaxBatch = 3 });
        // Biases away from their initial zeros, so the bias planes are checked too.
        var r = new DlRandom(9);
        foreach (string name in new[] { "up1.bias", "same.bias" })
        {
            var values = net.Parameter(name);
            for (int i = 0; i < values.Length; i++) values[i] = (float)(r.NextDouble() - 0.5);
        }
        var x = ModelHarness.Normal(batch * 90, 1);
        var t = ModelHarness.Normal(batch * 3, 2);
        PyTorchTests.Compare(net, PyTorchTests.RunTorch("conv_transpose", net, x, t, batch, ConvTransposeScript), x, t, batch);
    }

    [Fact]
    public void ConvTranspose_FiniteDifferences()
        => ModelHarness.FiniteDifferences<ConvTransposeNet>(ModelHarness.Normal(2 * 3, 5).Select(v => (double)v).ToArray(), 2);

    private const string AutoencoderScript = PyTorchTests.Prelude + """
        F = torch.nn.functional
        nn = torch.nn
        x = torch.tensor(np.fromfile(xfile, dtype=np.float32)).reshape(batch, 1, 28, 28)
        t = torch.tensor(np.fromfile(tfile, dtype=np.float32)).reshape(batch, 1, 28, 28)
        class AE(nn.Module):
            def __init__(self):
                super().__init__()
                self.enc1 = nn.Conv2d(1, 16, 3, padding=1)
                self.enc2 = nn.Conv2d(16, 32, 3, padding=1)
                self.dec1 = nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1)
                self.dec2 = nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1)
            def forward(self, x):
                h = F.max_pool2d(F.relu(self.enc1(x)), 2)
                h = F.max_pool2d(F.relu(self.enc2(h)), 2)
                return torch.sigmoid(self.dec2(F.relu(self.dec1(h))))
        m = AE()
        m.load_state_dict({k: v.detach() for k, v in p.items()}, strict=True)
        y = m(x)
        loss = F.mse_loss(y, t)
        loss.backward()
        report(loss, y, dict(m.named_parameters()))
        """;

    /// <summary>The shipped autoencoder on real images (the target is the input, as in training).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConvAutoencoder_GeneratedMatchesDynamic(int batch)
    {
        var x = EmbeddedData.FashionTest(batch).X;
        ModelHarness.GeneratedMatchesDynamic(o => new ConvAutoencoder(o), batch, x, input: x);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ConvAutoencoder_MatchesPyTorch(int batch)
    {
        var net = new ConvAutoencoder(new ModelOptions { Seed = 4, MaxBatch = 3 });
        var x = EmbeddedData.FashionTest(batch).X;
        PyTorchTests.Compare(net, PyTorchTests.RunTorch("autoencoder", net, x, x, batch, AutoencoderScript), x, x, batch);
    }

    /// <summary>Zero allocation per step with the new layers, generated and on the tape (train with fused SGD and Adam,
    /// predict, gradients), at batch 3.</summary>
    [Fact]
    public void NewLayers_TrainStepAndPredict_AllocateNothing()
    {
        const int batch = 3;
        var options = new ModelOptions { Seed = 1, MaxBatch = 8 };
        var models = new (ITrainableModel<float> Model, int Input)[]
        {
            (new Pool1dNet(options), 65), (Dynamic.Dynamic.Create<Pool1dNet>(1), 65),
            (new ConvTransposeNet(options), 90), (Dynamic.Dynamic.Create<ConvTransposeNet>(1), 90),
        };
        foreach (var (model, input) in models)
        {
            var x = ModelHarness.Normal(batch * input, 1);
            var t = ModelHarness.Normal(batch * 3, 2);
            var output = new float[batch * 3];
            var sgd = new Sgd(0.01f);
            var adam = new Adam(0.001f);
            Assert.Equal(0, Allocation.PerCall(() => model.TrainStep(x, t, batch, sgd)));
            Assert.Equal(0, Allocation.PerCall(() => model.TrainStep(x, t, batch, adam)));
            Assert.Equal(0, Allocation.PerCall(() => model.Predict(x, output, batch)));
            Assert.Equal(0, Allocation.PerCall(() => model.ComputeGradients(x, t, batch)));
        }
    }

    [Fact]
    public void ConvTranspose_ParametersAndSummary_ArePyTorchs()
    {
        var d = ConvTransposeNet.StaticDescription;
        var shapes = d.Parameters.ToDictionary(p => p.Name, p => p.Shape.ToArray());
        Assert.Equal(new[] { 3, 4, 3, 3 }, shapes["up1.weight"]);
        Assert.Equal(new[] { 4 }, shapes["up1.bias"]);
        Assert.Equal(new[] { 4, 2, 2, 3 }, shapes["up2.weight"]);
        Assert.False(shapes.ContainsKey("up2.bias"));
        Assert.Equal(new[] { 4, 3, 3, 3 }, shapes["same.weight"]);
    }
}
