using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Dl.Models;

namespace Dl.Tests;

/// <summary>Oracle 3: PyTorch (Debian's python3-torch) on the same model and weights. Catches a shared misconception
/// of an op's definition that the dynamic tape would repeat.</summary>
public class PyTorchTests
{
    private const string Script = """
        import json, struct, sys
        import numpy as np
        import torch
        torch.set_num_threads(1)
        def load(path):
            raw = open(path, 'rb').read()
            n = struct.unpack('<Q', raw[:8])[0]
            header = json.loads(raw[8:8 + n]); data = raw[8 + n:]
            out = {}
            for k, v in header.items():
                if k == '__metadata__': continue
                b, e = v['data_offsets']
                out[k] = torch.tensor(np.frombuffer(data[b:e], dtype=np.float32).reshape(v['shape']).copy(), requires_grad=True)
            return out
        model, weights, xfile, tfile, batch = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
        p = load(weights)
        x = torch.tensor(np.fromfile(xfile, dtype=np.float32)).reshape(batch, -1)
        t = np.fromfile(tfile, dtype=np.float32)
        F = torch.nn.functional
        if model == 'fashion':
            y = F.linear(F.relu(F.linear(x, p['fc1.weight'], p['fc1.bias'])), p['fc2.weight'], p['fc2.bias'])
            loss = F.cross_entropy(y, torch.tensor(t, dtype=torch.long))
        elif model == 'wide':
            h = F.relu(F.linear(x, p['fc1.weight'], p['fc1.bias']))
            y = F.linear(F.relu(F.linear(h, p['fc2.weight'], p['fc2.bias'])), p['fc3.weight'], p['fc3.bias'])
            loss = F.cross_entropy(y, torch.tensor(t, dtype=torch.long))
        elif model == 'dgex':
            h = torch.tanh(F.linear(x, p['hidden1.weight'], p['hidden1.bias']))
            h = torch.tanh(F.linear(h, p['hidden2.weight'], p['hidden2.bias']))
            y = F.linear(h, p['output.weight'], p['output.bias'])
            loss = F.mse_loss(y, torch.tensor(t).reshape(batch, -1))
        elif model == 'xor':
            y = torch.sigmoid(F.linear(torch.sigmoid(F.linear(x, p['hidden.weight'], p['hidden.bias'])), p['output.weight'], p['output.bias']))
            loss = F.mse_loss(y, torch.tensor(t).reshape(batch, 1))
        elif model == 'binary':
            y = F.linear(torch.tanh(F.linear(x, p['h.weight'], p['h.bias'])), p['out.weight'], p['out.bias'])
            loss = F.binary_cross_entropy_with_logits(y, torch.tensor(t).reshape(batch, 1))
        loss.backward()
        print(json.dumps({'loss': loss.item(), 'output': y.detach().reshape(-1).tolist(),
                          'grads': {k: v.grad.reshape(-1)[:4096].tolist() for k, v in p.items()},
                          'norms': {k: v.grad.double().norm().item() for k, v in p.items()}}))
        """;

    private static JsonElement RunTorch(string model, IModel net, float[] x, float[] target, int batch)
    {
        var dir = Directory.CreateTempSubdirectory("dl-torch");
        try
        {
            string script = Path.Combine(dir.FullName, "check.py"), weights = Path.Combine(dir.FullName, "w.safetensors");
            string xf = Path.Combine(dir.FullName, "x.bin"), tf = Path.Combine(dir.FullName, "t.bin");
            File.WriteAllText(script, Script);
            Checkpoints.Safetensors.Save(weights, net.Description, net.Parameters);
            File.WriteAllBytes(xf, System.Runtime.InteropServices.MemoryMarshal.AsBytes(x.AsSpan()).ToArray());
            File.WriteAllBytes(tf, System.Runtime.InteropServices.MemoryMarshal.AsBytes(target.AsSpan()).ToArray());
            var psi = new ProcessStartInfo("/usr/bin/python3", [script, model, weights, xf, tf, batch.ToString(CultureInfo.InvariantCulture)])
            { RedirectStandardOutput = true, RedirectStandardError = true };
            using var process = Process.Start(psi)!;
            string stdout = process.StandardOutput.ReadToEnd(), stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, "PyTorch check failed (CI installs python3-torch): " + stderr);
            return JsonDocument.Parse(stdout).RootElement;
        }
        finally { dir.Delete(true); }
    }

    private static void Compare<T>(ITrainableModel<T> net, JsonElement torch, float[] x, T[] target, int batch) where T : unmanaged
    {
        float loss = net.ComputeGradients(x, target, batch);
        Assert.Equal(torch.GetProperty("loss").GetDouble(), loss, 4);
        var output = new float[batch * net.Description.OutputSize];
        net.Predict(x, output, batch);
        ModelHarness.Close(output, torch.GetProperty("output").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray(), 1e-4, 1e-5, "output");
        foreach (var p in net.Description.Parameters)
        {
            // The first 4096 elements one by one, and the whole gradient through its norm.
            var expected = torch.GetProperty("grads").GetProperty(p.Name).EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            double scale = expected.Select(Math.Abs).DefaultIfEmpty(0).Max();
            var grad = net.Gradient(p.Name);
            ModelHarness.Close(grad[..expected.Length], expected, 1e-3, 1e-6 + 1e-4 * scale, "d" + p.Name);
            double norm = Math.Sqrt(grad.ToArray().Sum(g => (double)g * g));
            double torchNorm = torch.GetProperty("norms").GetProperty(p.Name).GetDouble();
            Assert.True(Math.Abs(norm - torchNorm) <= 1e-3 * torchNorm + 1e-7, $"|d{p.Name}| = {norm} vs PyTorch {torchNorm}");
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(32)]
    public void FashionMlp_MatchesPyTorch(int batch)
    {
        var net = new FashionMlp(new ModelOptions { Seed = 4, MaxBatch = 32 });
        var x = ModelHarness.Normal(batch * 784, 1);
        var y = ModelHarness.Labels(batch, 10, 2);
        Compare(net, RunTorch("fashion", net, x, y.Select(v => (float)v).ToArray(), batch), x, y, batch);
    }

    [Fact]
    public void WideMlp_MatchesPyTorch()
    {
        var net = new WideMlp(new ModelOptions { Seed = 4, MaxBatch = 3 });
        var x = ModelHarness.Normal(3 * 784, 1);
        var y = ModelHarness.Labels(3, 10, 2);
        Compare(net, RunTorch("wide", net, x, y.Select(v => (float)v).ToArray(), 3), x, y, 3);
    }

    [Fact]
    public void Dgex_MatchesPyTorch()
    {
        var net = new Dgex(new ModelOptions { Seed = 4, MaxBatch = 2 });
        var x = ModelHarness.Normal(2 * 943, 1);
        var t = ModelHarness.Normal(2 * 9520, 2);
        Compare(net, RunTorch("dgex", net, x, t, 2), x, t, 2);
    }

    [Fact]
    public void XorNet_MatchesPyTorch()
    {
        var net = new XorNet(new ModelOptions { Seed = 4, MaxBatch = 4 });
        float[] t = [0, 1, 1, 0];
        Compare(net, RunTorch("xor", net, LogicGates.Inputs, t, 4), LogicGates.Inputs, t, 4);
    }

    [Fact]
    public void BinaryCrossEntropyWithLogits_MatchesPyTorch()
    {
        var net = new BinaryClassifier(new ModelOptions { Seed = 4, MaxBatch = 8 });
        var x = ModelHarness.Normal(8 * 5, 3);
        var t = ModelHarness.Labels(8, 2, 4).Select(v => (float)v).ToArray();
        Compare(net, RunTorch("binary", net, x, t, 8), x, t, 8);
    }
}
