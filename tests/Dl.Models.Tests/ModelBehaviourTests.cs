using Dl.Data;
using Dl.Dynamic;
using Dl.Models;

namespace Dl.Tests;

public class ModelBehaviourTests
{
    [Fact]
    public void Summary_Mlp_2_1024_512_3_Has529411Parameters()
    {
        var net = new Mlp2_1024_512_3(new ModelOptions { MaxBatch = 1 });
        Assert.Equal(529_411, net.Description.ParameterCount);
        string summary = net.Summary();
        Assert.Contains("529,411", summary);
        Assert.Contains("fc1", summary);
        Assert.Contains("524,800", summary);   // fc2: 1024 x 512 + 512
        Assert.Contains("1,539", summary);     // fc3: 512 x 3 + 3
    }

    /// <summary>Conv layers count (k_h·k_w·C_in + bias)·C_out, batch norm 2·C; the summary shows each layer's output shape;
    /// running statistics are state, not parameters.</summary>
    [Fact]
    public void Summary_FashionCnn_ShowsShapesAndParameterCounts()
    {
        var net = new FashionCnn(new ModelOptions { MaxBatch = 1 });
        // conv1 3·3·1·32 (no bias before batch norm) + bn1 2·32 + conv2 3·3·32·64 + bn2 2·64 + conv3 3·3·64·64 + bn3 2·64
        // + fc1 3136·128 + 128 + fc2 128·10 + 10
        Assert.Equal(288 + 64 + 18_432 + 128 + 36_864 + 128 + 401_536 + 1_290, net.Description.ParameterCount);
        Assert.Equal(2 * 32 + 2 * 64 + 2 * 64, net.Description.StateCount);   // running mean and variance
        string summary = net.Summary();
        Assert.Contains("458,730", summary);
        Assert.Matches(@"conv3\s+Conv2d\s+\[64, 7, 7\]\s+36,864", summary);
        Assert.Matches(@"conv1\s+Conv2d\s+\[32, 28, 28\]\s+288", summary);
        Assert.Matches(@"conv2\s+Conv2d\s+\[64, 14, 14\]\s+18,432", summary);
        Assert.Matches(@"bn2\s+BatchNorm\s+\[64, 14, 14\]\s+128", summary);
        Assert.Contains("[64, 7, 7]", summary);
        Assert.Matches(@"fc1\s+Linear\s+\[128\]\s+401,536", summary);
    }

    [Fact]
    public void DegenerateGraphs_PredictTheInputOrTheParameter()
    {
        float[] x = [1, 2, 3, 4, 5, 6];
        var y = new float[6];
        new IdentityModel(new ModelOptions { MaxBatch = 2 }).Predict(x, y, 2);
        Assert.Equal(x, y);
        var z = new float[4];
        new ConstantModel(new ModelOptions { MaxBatch = 2 }).Predict(x, z, 2);
        Assert.Equal([0.5f, 0.5f, 0.5f, 0.5f], z);
    }

    [Fact]
    public void Graph_Text_And_Dot_ListEveryNode()
    {
        var net = new FashionMlp(new ModelOptions { MaxBatch = 1 });
        Assert.Contains("fc1.matmul = linear(x, fc1.weight) [B, 128]", net.Graph());
        Assert.Contains("digraph FashionMlp", net.Graph(GraphFormat.Dot));
        Assert.Contains("-->", net.Graph(GraphFormat.Mermaid));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(32)]
    public void FashionMlp_TrainStepAndPredict_AllocateNothing(int batch)
    {
        var net = new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = 32 });
        var x = ModelHarness.Normal(batch * 784, 1);
        var y = ModelHarness.Labels(batch, 10, 2);
        var output = new float[batch * 10];
        var sgd = new Sgd(0.01f, momentum: 0.9f);
        Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(x, y, batch, sgd)));
        Assert.Equal(0, Allocation.PerCall(() => net.Predict(x, output, batch)));
    }

    /// <summary>Convolution, pooling, batch norm and dropout steps allocate nothing, in training and evaluation mode,
    /// with plain SGD (fused) and Adam, compiled and on the tape.</summary>
    [Theory]
    [InlineData("lenet", 1)]
    [InlineData("lenet", 32)]
    [InlineData("fashion", 3)]
    [InlineData("zoo", 3)]
    public void Cnns_TrainStepAndPredict_AllocateNothing(string which, int batch)
    {
        var options = new ModelOptions { Seed = 1, MaxBatch = 32 };
        (ITrainableModel<int> net, ITrainableModel<int> tape, int classes) = which switch
        {
            "lenet" => ((ITrainableModel<int>)new LenetCnn(options), (ITrainableModel<int>)Dynamic.Dynamic.Create<LenetCnn>(1), 10),
            "fashion" => (new FashionCnn(options), Dynamic.Dynamic.Create<FashionCnn>(1), 10),
            _ => (new SpatialZoo(options), Dynamic.Dynamic.Create<SpatialZoo>(1), 4),
        };
        var x = ModelHarness.Normal(batch * net.Description.InputSize, 1);
        var y = ModelHarness.Labels(batch, classes, 2);
        var output = new float[batch * net.Description.OutputSize];
        foreach (var model in new[] { net, tape })
        {
            var sgd = new Sgd(0.01f);
            var adam = new Adam(0.001f);
            Assert.Equal(0, Allocation.PerCall(() => model.TrainStep(x, y, batch, sgd)));
            Assert.Equal(0, Allocation.PerCall(() => model.TrainStep(x, y, batch, adam)));
            model.Training = false;
            Assert.Equal(0, Allocation.PerCall(() => model.Predict(x, output, batch)));
            Assert.Equal(0, Allocation.PerCall(() => model.ComputeGradients(x, y, batch)));
        }
    }

    [Fact]
    public void XorNet_TrainStep_AllocatesNothing()
    {
        var net = new XorNet(new ModelOptions { Seed = 1, MaxBatch = 4 });
        var sgd = new Sgd(0.5f);
        float[] target = [0, 1, 1, 0];
        Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(LogicGates.Inputs, target, 4, sgd), 100));
    }

    [Fact]
    public void XorNet_LearnsXor_LossBelow001()
    {
        var net = new XorNet(new ModelOptions { Seed = 3, MaxBatch = 4 });
        var sgd = new Sgd(2f, momentum: 0.9f);
        float[] target = [0, 1, 1, 0];
        float loss = 1;
        for (int step = 0; step < 5000 && loss >= 0.001f; step++) loss = net.TrainStep(LogicGates.Inputs, target, 4, sgd);
        Assert.True(loss < 0.01f, $"loss {loss}");
        var y = new float[4];
        net.Predict(LogicGates.Inputs, y, 4);
        Assert.True(y[0] < 0.2f && y[1] > 0.8f && y[2] > 0.8f && y[3] < 0.2f, string.Join(", ", y));
    }

    [Fact]
    public void Perceptron_LearnsAndAndOr_NotXor()
    {
        foreach (var (labels, converges) in new[] { (LogicGates.And, true), (LogicGates.Or, true), (LogicGates.Xor, false) })
        {
            var p = new LogicPerceptron(new ModelOptions { MaxBatch = 1 });
            int epochs = PerceptronTrainer.Train(p, LogicGates.Inputs, labels, eta: 1f, maxEpochs: 1000);
            Assert.Equal(converges, epochs > 0);
            var y = new float[1];
            int correct = 0;
            for (int s = 0; s < 4; s++) { p.Predict(LogicGates.Inputs.AsSpan(s * 2, 2), y, 1); if (y[0] == labels[s]) correct++; }
            if (converges) Assert.Equal(4, correct); else Assert.True(correct < 4);
        }
    }

    [Fact]
    public void SigmoidNeuron_Trace_MatchesTheCourseNotes()
    {
        // f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)) with w = [2, -3, -3], x = [-1, -2]: f = 0.731, and by hand
        // df/dw = [-0.196, -0.393, 0.196], df/dx = [0.393, -0.589]. With the loss ½(f - t)² and t = f - 1, dL/df = 1.
        var neuron = new SigmoidNeuron(new ModelOptions { MaxBatch = 1 });
        float[] w = [2, -3, -3];
        w.CopyTo(neuron.Parameter("w"));
        float[] x = [-1, -2];
        var f = new float[1];
        neuron.Predict(x, f, 1);
        Assert.Equal(0.7311, f[0], 3);
        float[] t = [f[0] - 1];
        neuron.ComputeGradients(x, t, 1);
        ModelHarness.Close(neuron.Gradient("w"), [-0.1966f, -0.3932f, 0.1966f], 0, 1e-3, "dL/dw");

        var trace = neuron.Trace(x, t, 1);
        string table = trace.ToString();
        Assert.Contains("exp", table);
        // df/dx from the nodes that read x[0] and x[1]: the upstream gradients of the course notes' table.
        var input = trace.Nodes.First(n => n.Op.StartsWith("input", StringComparison.Ordinal));
        var reads = trace.Nodes.Where(n => n.Inputs.Length == 1 && n.Inputs[0] == input.Id).ToList();
        Assert.Equal(2, reads.Count);
        Assert.Equal(0.3932, reads[0].Gradient[0], 3);
        Assert.Equal(-0.5898, reads[1].Gradient[0], 3);
        var exp = trace.Nodes.First(n => n.Op == "exp");
        Assert.Equal(0.3679, exp.Value[0], 3);             // e^-1
        Assert.Equal(0.3679, exp.LocalGradients[0][0], 3); // local gradient of exp is its value
    }

    [Fact]
    public void SaveLoad_RoundTrip_AndRejectsAnotherModel()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            string path = Path.Combine(dir.FullName, "fashion.safetensors");
            var a = new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = 1 });
            a.Save(path);
            var b = new FashionMlp(new ModelOptions { Seed = 2, MaxBatch = 1 });
            Assert.NotEqual(a.Parameters[0], b.Parameters[0]);
            b.Load(path);
            Assert.True(a.Parameters.SequenceEqual(b.Parameters));

            var xor = new XorNet(new ModelOptions { MaxBatch = 1 });
            var before = xor.Parameters.ToArray();
            Assert.ThrowsAny<InvalidDataException>(() => xor.Load(path));
            Assert.True(before.AsSpan().SequenceEqual(xor.Parameters));
        }
        finally { dir.Delete(true); }
    }

    /// <summary>Batch norm's running statistics travel with the weights: a loaded copy predicts the same in evaluation
    /// mode; a checkpoint without them (an MLP's) is refused by name and changes nothing.</summary>
    [Fact]
    public void SaveLoad_CarriesBatchNormRunningStatistics()
    {
        var dir = Directory.CreateTempSubdirectory();
        try
        {
            string path = Path.Combine(dir.FullName, "cnn.safetensors");
            var x = ModelHarness.Normal(4 * 784, 1);
            var y = ModelHarness.Labels(4, 10, 2);
            var a = new FashionCnn(new ModelOptions { Seed = 1, MaxBatch = 4 });
            for (int i = 0; i < 3; i++) a.TrainStep(x, y, 4, new Adam(0.01f));
            a.Save(path);
            Assert.Contains("bn2.running_var", Checkpoints.Safetensors.ReadAll(path).Keys);

            var b = new FashionCnn(new ModelOptions { Seed = 2, MaxBatch = 4 });
            b.Load(path);
            Assert.True(a.Parameters.SequenceEqual(b.Parameters));
            Assert.True(a.State.SequenceEqual(b.State));
            a.Training = b.Training = false;
            float[] ya = new float[40], yb = new float[40];
            a.Predict(x, ya, 4);
            b.Predict(x, yb, 4);
            Assert.Equal(ya, yb);

            string mlpPath = Path.Combine(dir.FullName, "mlp.safetensors");
            new FashionMlp(new ModelOptions { MaxBatch = 1 }).Save(mlpPath);
            var state = b.State.ToArray();
            var e = Assert.ThrowsAny<InvalidDataException>(() => b.Load(mlpPath));
            Assert.Contains("it is a checkpoint of model FashionMlp, not of model FashionCnn", e.Message);   // its dl.model metadata
            Assert.True(state.AsSpan().SequenceEqual(b.State));
        }
        finally { dir.Delete(true); }
    }

    [Fact]
    public void BadInput_ClearErrors_NothingChanged()
    {
        var net = new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = 4 });
        var before = net.Parameters.ToArray();
        var x = new float[2 * 784];
        var sgd = new Sgd(0.1f);
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => net.TrainStep(x, [3, 10], 2, sgd));
        Assert.Contains("label of sample 1 is 10", e1.Message);
        var e2 = Assert.Throws<ArgumentException>(() => net.TrainStep(x.AsSpan(0, 700).ToArray(), [1], 1, sgd));
        Assert.Contains("784", e2.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => net.TrainStep(new float[5 * 784], new int[5], 5, sgd));
        x[3] = float.NaN;
        var e3 = Assert.Throws<ArithmeticException>(() => net.TrainStep(x, [1, 2], 2, sgd));
        Assert.Contains("NaN", e3.Message);
        Assert.True(before.AsSpan().SequenceEqual(net.Parameters));
    }

    [Fact]
    public void FashionMlp_EmbeddedSubset_BeatsChanceByFar()
    {
        var train = EmbeddedData.FashionTrain();
        var test = EmbeddedData.FashionTest();
        var net = new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = 64 });
        var sgd = new Sgd(0.05f, momentum: 0.9f);
        var loader = new DataLoader(train, 64, shuffle: true, seed: 1);
        for (int epoch = 0; epoch < 3; epoch++)
            while (loader.NextBatch(out var x, out var y)) net.TrainStep(x, y, y.Length, sgd);
        var logits = new float[test.Count * 10];
        for (int s = 0; s < test.Count; s += 64)
        {
            int n = Math.Min(64, test.Count - s);
            net.Predict(test.X.AsSpan(s * 784, n * 784), logits.AsSpan(s * 10, n * 10), n);
        }
        double accuracy = Metrics.Accuracy(logits, 10, test.Labels);
        Assert.True(accuracy > 0.75, $"accuracy {accuracy}");
    }

    /// <summary>Epochs of the embedded subset (6000 images, batch 64, Adam with augmentation by random shifts), then
    /// evaluation mode on the 1000 test images: each CNN learns far beyond chance (10%), batch norm's running statistics
    /// and dropout's evaluation path included.</summary>
    [Theory]
    [InlineData("residual", 2, 0.62)]
    [InlineData("inception", 3, 0.60)]
    [InlineData("fashion", 1, 0.70)]
    public void Cnn_EpochsOnEmbeddedSubset_LearnFarBeyondChance(string which, int epochs, double minimum)
    {
        var options = new ModelOptions { Seed = 1, MaxBatch = 64 };
        ITrainableModel<int> net = which switch
        {
            "residual" => new ResidualCnn(options),
            "inception" => new InceptionCnn(options),
            _ => new FashionCnn(options),
        };
        var train = EmbeddedData.FashionTrain();
        var test = EmbeddedData.FashionTest();
        var adam = new Adam(0.002f);
        var loader = new DataLoader(train, 64, shuffle: true, seed: 1, augmentation: new ImageAugmentation(1).RandomShift(2));
        double firstLoss = double.NaN, lastLoss = 0;
        int steps = 0;
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            while (loader.NextBatch(out var x, out var y))
            {
                float loss = net.TrainStep(x, y, y.Length, adam);
                if (steps++ == 0) firstLoss = lastLoss = loss;
                lastLoss = 0.9 * lastLoss + 0.1 * loss;
            }
        }
        Assert.True(lastLoss < 0.6 * firstLoss, $"{which}: loss {firstLoss} -> {lastLoss}");
        net.Training = false;
        var logits = new float[test.Count * 10];
        for (int s = 0; s < test.Count; s += 64)
        {
            int n = Math.Min(64, test.Count - s);
            net.Predict(test.X.AsSpan(s * 784, n * 784), logits.AsSpan(s * 10, n * 10), n);
        }
        double accuracy = Metrics.Accuracy(logits, 10, test.Labels);
        Assert.True(accuracy > minimum, $"{which}: test accuracy {accuracy} after {epochs} epochs");
    }

    [Fact]
    public void WholeModel_FiniteDifferences_Double()
    {
        // Oracle 1 on whole models: the double-precision tape's gradients against central differences.
        ModelHarness.FiniteDifferences<ElementwiseZoo>(ModelHarness.Normal(2 * 3, 5).Select(v => (double)v).ToArray(), 2);
        ModelHarness.FiniteDifferences<StructuralZoo>(ModelHarness.Normal(2 * 9, 5).Select(v => (double)v).ToArray(), 2);
        ModelHarness.FiniteDifferences<GeneralityZoo>([0, 2, 1], 3);
        ModelHarness.FiniteDifferences<SpatialZoo>([0, 3, 1], 3);
    }
}
