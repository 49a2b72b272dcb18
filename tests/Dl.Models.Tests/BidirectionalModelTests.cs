using System.Diagnostics;
using Dl.Dynamic;
using Xunit.Abstractions;

namespace Dl.Tests;

/// <summary>bias: false, bidirectional: true and per-sample lengths on Rnn, Lstm and Gru, end to end: parameter names and
/// counts (PyTorch's), the compiled model against the dynamic tape (train, evaluation, fused SGD, chunks) at batch 1 and
/// 3, the double tape against central differences, padding that cannot matter, lengths out of range as a clear error in
/// both engines, and the must-show task: a bidirectional GRU trained on variable-length bit sequences.</summary>
public class BidirectionalModelTests(ITestOutputHelper output)
{
    /// <summary>Inputs for a model whose one input is a sequence [T·D] followed by its length: random values, lengths
    /// 1..T with the extremes (sample 0 has T steps, sample 1 one), padding filled with large garbage.</summary>
    internal static float[] PackedInput(int batch, int steps, int features, int seed, float garbage = 50f)
    {
        var rnd = new Random(seed);
        int size = steps * features + 1;
        var x = new float[batch * size];
        for (int n = 0; n < batch; n++)
        {
            int length = n == 0 ? steps : n == 1 ? 1 : rnd.Next(1, steps + 1);
            for (int i = 0; i < steps * features; i++)
                x[n * size + i] = i / features < length ? (float)(rnd.NextDouble() * 2 - 1) : garbage * (float)(rnd.NextDouble() * 2 - 1);
            x[n * size + steps * features] = length;
        }
        return x;
    }

    /// <summary>Inputs in blocks (a sequence [T, D] for every sample, then every sample's length, then <paramref name="extra"/>
    /// floats per sample of normal values): a model with lengths as a second input.</summary>
    internal static float[] BlockInput(int batch, int steps, int features, int seed, int extra = 0)
    {
        var rnd = new Random(seed);
        var x = new List<float>();
        var lengths = Enumerable.Range(0, batch).Select(n => n == 0 ? steps : n == 1 ? 1 : rnd.Next(1, steps + 1)).ToArray();
        for (int n = 0; n < batch; n++)
            for (int i = 0; i < steps * features; i++) x.Add(i / features < lengths[n] ? (float)(rnd.NextDouble() * 2 - 1) : 77f);
        x.AddRange(lengths.Select(v => (float)v));
        for (int i = 0; i < batch * extra; i++) x.Add((float)(rnd.NextDouble() * 2 - 1));
        return x.ToArray();
    }

    [Fact]
    public void ParameterNames_AreTorchs_AndCountsDropWithoutBias()
    {
        var net = new BiLstmNoBias(new ModelOptions { Seed = 1, MaxBatch = 2 });
        string[] names = net.Description.Parameters.Select(p => p.Name).ToArray();
        Assert.Equal(["lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.weight_ih_l0_reverse", "lstm.weight_hh_l0_reverse",
            "lstm.weight_ih_l1", "lstm.weight_hh_l1", "lstm.weight_ih_l1_reverse", "lstm.weight_hh_l1_reverse", "fc.weight", "fc.bias"], names);
        Assert.Equal([28, 14], net.Description.Find("lstm.weight_ih_l1").Shape);            // layer 1 reads [T, 2H]
        // nn.LSTM(5, 7, 2, bidirectional=True, bias=False): 2·(28·5 + 28·7) + 2·(28·14 + 28·7) = 1848.
        var row = net.Description.Layers.Single(l => l.Name == "lstm");
        Assert.Equal(1848, row.Parameters);
        Assert.Equal([6, 14], row.OutputShape);
        Assert.Contains("bidirectional", row.Op);
        var gru = new BiGruLengths(new ModelOptions { Seed = 1, MaxBatch = 2 });
        // nn.GRU(4, 9, bidirectional=True): 2·(27·4 + 27·9 + 27 + 27) = 810.
        Assert.Equal(810, gru.Description.Layers.Single(l => l.Name == "gru").Parameters);
        Assert.Contains("gru.bias_hh_l0_reverse", gru.Description.Parameters.Select(p => p.Name));
        var dynamic = Dynamic.Dynamic.Create<BiLstmNoBias>(seed: 1);
        Assert.Equal(names, dynamic.Description.Parameters.Select(p => p.Name).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BiLstmNoBias_GeneratedMatchesDynamic(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new BiLstmNoBias(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BiGruLengths_GeneratedMatchesDynamic_Chunked(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new BiGruLengths(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f,
            input: PackedInput(batch, 6, 4, 9));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void RnnLengthsInput_GeneratedMatchesDynamic(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new RnnLengthsInput(o), batch, ModelHarness.Labels(batch, 2, 5), rtol: 1e-3f,
            input: BlockInput(batch, 5, 3, 4));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BiLstmLengthsState_GeneratedMatchesDynamic(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new BiLstmLengthsState(o), batch, ModelHarness.Labels(batch, 3, 5), rtol: 1e-3f,
            input: BlockInput(batch, 5, 4, 6, extra: 24));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void BiRnnGruBefore_GeneratedMatchesDynamic(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new BiRnnGruBefore(o), batch, ModelHarness.Labels(batch, 2, 5), rtol: 1e-3f);

    [Fact]
    public void FiniteDifferences_Double()
    {
        ModelHarness.FiniteDifferences<BiLstmNoBias>([1, 2], 2);
        ModelHarness.FiniteDifferences<BiGruLengths>([0, 2, 1], 3, PackedInput(3, 6, 4, 2));
        ModelHarness.FiniteDifferences<RnnLengthsInput>([1, 0, 1], 3, BlockInput(3, 5, 3, 3));
        ModelHarness.FiniteDifferences<BiLstmLengthsState>([2, 0, 1], 3, BlockInput(3, 5, 4, 5, extra: 24));
        ModelHarness.FiniteDifferences<BiRnnGruBefore>([1, 0], 2);
    }

    [Fact]
    public void PaddingGarbage_ChangesNothing_InBothEngines()
    {
        var a = PackedInput(3, 6, 4, 9, garbage: 1f);
        var b = PackedInput(3, 6, 4, 9, garbage: 1e6f);
        var y = ModelHarness.Labels(3, 3, 1);
        var net = new BiGruLengths(new ModelOptions { Seed = 2, MaxBatch = 3 });
        float la = net.ComputeGradients(a, y, 3);
        float[] ga = net.Gradients.ToArray();
        float lb = net.ComputeGradients(b, y, 3);
        Assert.Equal(la, lb);
        Assert.Equal(ga, net.Gradients.ToArray());
        var dynamic = (ITrainableModel<int>)Dynamic.Dynamic.Create<BiGruLengths>(seed: 2);
        Assert.Equal(dynamic.ComputeGradients(a, y, 3), dynamic.ComputeGradients(b, y, 3));
    }

    [Theory]
    [InlineData(0f, "lengths[1] = 0 (sample 1)")]
    [InlineData(7f, "lengths[1] = 7 (sample 1)")]
    [InlineData(1.5f, "lengths[1] = 1.5 (sample 1)")]
    public void LengthsOutOfRange_AreClearErrors_InBothEngines(float bad, string expected)
    {
        var x = PackedInput(2, 6, 4, 3);
        x[25 + 24] = bad;
        var y = ModelHarness.Labels(2, 3, 1);
        var net = new BiGruLengths(new ModelOptions { Seed = 2, MaxBatch = 2 });
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => net.Loss(x, y, 2));
        Assert.Contains(expected, e.Message);
        Assert.Contains("1..T = 1..6", e.Message);
        var dynamic = (ITrainableModel<int>)Dynamic.Dynamic.Create<BiGruLengths>(seed: 2);
        var d = Assert.ThrowsAny<ArgumentException>(() => dynamic.ComputeGradients(x, y, 2));
        Assert.Contains(expected, d.Message);
    }

    [Fact]
    public void Steps_AllocateNothing_InBothEngines()
    {
        var x = PackedInput(3, 6, 4, 1);
        var y = ModelHarness.Labels(3, 3, 2);
        var net = new BiGruLengths(new ModelOptions { Seed = 1, MaxBatch = 3 });
        var output = new float[3 * 3];
        var sgd = new Sgd(0.01f); var adam = new Adam(0.001f);
        Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(x, y, 3, sgd)));
        Assert.Equal(0, Allocation.PerCall(() => net.TrainStep(x, y, 3, adam)));
        Assert.Equal(0, Allocation.PerCall(() => net.Predict(x, output, 3)));
        var noBias = new BiLstmNoBias(new ModelOptions { Seed = 1, MaxBatch = 3 });
        var xs = ModelHarness.Normal(3 * 30, 1);
        Assert.Equal(0, Allocation.PerCall(() => noBias.TrainStep(xs, y, 3, sgd)));
        var dynamic = (ITrainableModel<int>)Dynamic.Dynamic.Create<BiGruLengths>(seed: 1);
        var sgd2 = new Sgd(0.01f);
        Assert.Equal(0, Allocation.PerCall(() => dynamic.TrainStep(x, y, 3, sgd2)));
    }

    /// <summary>The must-show task. Each sample is a bit sequence of random length 1..12 (bits as ±1; the padding is random
    /// garbage in [-5, 5]); the label is whether it holds more ones than zeros. Trained with Adam on fresh batches, measured on
    /// 2,000 held-out sequences.</summary>
    [Fact]
    public void MajorityBiGru_LearnsVariableLengthSequences()
    {
        const int T = MajorityBiGru.Steps, batch = 32, size = T + 1;
        var rnd = new Random(5);
        (float[] X, int[] Y) Make(int count)
        {
            var x = new float[count * size];
            var y = new int[count];
            for (int n = 0; n < count; n++)
            {
                int length = rnd.Next(1, T + 1), ones = 0;
                for (int t = 0; t < T; t++)
                {
                    if (t < length)
                    {
                        int bit = rnd.Next(2);
                        ones += bit;
                        x[n * size + t] = bit == 1 ? 1 : -1;
                    }
                    else x[n * size + t] = (float)(rnd.NextDouble() * 10 - 5);
                }
                x[n * size + T] = length;
                y[n] = 2 * ones > length ? 1 : 0;
            }
            return (x, y);
        }
        var net = new MajorityBiGru(new ModelOptions { Seed = 3, MaxBatch = 2000 });
        var adam = new Adam(0.01f);
        var clock = Stopwatch.StartNew();
        int steps = 0;
        for (; steps < 1500; steps++)
        {
            var (x, y) = Make(batch);
            net.TrainStep(x, y, batch, adam);
        }
        clock.Stop();
        var (tx, ty) = Make(2000);
        var logits = new float[2000 * 2];
        net.Predict(tx, logits, 2000);
        int correct = Enumerable.Range(0, 2000).Count(n => (logits[2 * n + 1] > logits[2 * n] ? 1 : 0) == ty[n]);
        double accuracy = correct / 2000.0;
        output.WriteLine($"majority of bits, lengths 1..{T}, bidirectional GRU H=12: {steps} steps of batch {batch} in {clock.Elapsed.TotalSeconds:F2} s, held-out accuracy {accuracy:P2}");
        Assert.True(accuracy >= 0.97, $"held-out accuracy {accuracy:P2}");
    }
}
