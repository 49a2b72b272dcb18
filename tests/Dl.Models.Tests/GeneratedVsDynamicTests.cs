using Dl.Models;

namespace Dl.Tests;

/// <summary>Oracle 2: the generated code against the dynamic tape on the same model source and weights. This catches
/// generator wiring (order, fusion, buffer reuse, accumulation, vector tails), not wrong derivative rules.</summary>
public class GeneratedVsDynamicTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(32)]
    public void FashionMlp(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new FashionMlp(o), batch, ModelHarness.Labels(batch, 10, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(32)]
    public void LenetCnn(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new LenetCnn(o), batch, ModelHarness.Labels(batch, 10, 5));

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void FashionCnn(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new FashionCnn(o), batch, ModelHarness.Labels(batch, 10, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(2)]
    public void ResidualCnn(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new ResidualCnn(o), batch, ModelHarness.Labels(batch, 10, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void InceptionCnn(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new InceptionCnn(o), batch, ModelHarness.Labels(batch, 10, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(32)]
    public void SpatialZoo(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new SpatialZoo(o), batch, ModelHarness.Labels(batch, 4, 5), rtol: 1e-3f);

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void XorNet(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new XorNet(o), batch, ModelHarness.Normal(batch, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void SigmoidNeuron(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new SigmoidNeuron(o), batch, ModelHarness.Normal(batch, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void ElementwiseZoo(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new ElementwiseZoo(o), batch, ModelHarness.Normal(batch * 3, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void StructuralZoo(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new StructuralZoo(o), batch, ModelHarness.Normal(batch * 9, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(9)]
    public void BinaryClassifier(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new BinaryClassifier(o), batch,
            ModelHarness.Labels(batch, 2, 5).Select(v => (float)v).ToArray());

    [Theory]
    [InlineData(2)]
    public void ProbabilityTargets(int batch)
    {
        var t = ModelHarness.Normal(batch * 4, 5).Select(MathF.Exp).ToArray();
        for (int s = 0; s < batch; s++)
        {
            float sum = t.AsSpan(s * 4, 4).ToArray().Sum();
            for (int j = 0; j < 4; j++) t[s * 4 + j] /= sum;
        }
        ModelHarness.GeneratedMatchesDynamic(o => new ProbabilityTargets(o), batch, t);
    }

    [Fact]
    public void SigmoidThenBinaryCrossEntropy_IsFusedToLogits_AndMatchesTheTape()
    {
        Assert.Contains("binary_cross_entropy_with_logits(out, y)", SigmoidBceClassifier.StaticDescription.GraphText);
        ModelHarness.GeneratedMatchesDynamic(o => new SigmoidBceClassifier(o), 6,
            ModelHarness.Labels(6, 2, 5).Select(v => (float)v).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    public void GeneralityZoo(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new GeneralityZoo(o), batch, ModelHarness.Labels(batch, 3, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    public void ReassignNet(int batch)
    {
        Assert.Contains("h_", Dl.Tests.ReassignNet.StaticDescription.GraphText);
        ModelHarness.GeneratedMatchesDynamic(o => new ReassignNet(o), batch, ModelHarness.Labels(batch, 3, 5));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void TailSweep(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new TailSweep(o), batch, ModelHarness.Labels(batch, 3, 5));

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void LoopNet(int batch)
    {
        Assert.Equal(["in.weight", "in.bias", "block0.weight", "block0.bias", "block1.weight", "block1.bias", "block2.weight",
            "block2.bias", "block3.weight", "block3.bias", "out.weight", "out.bias"], Dl.Tests.LoopNet.StaticDescription.Parameters.Select(p => p.Name));
        ModelHarness.GeneratedMatchesDynamic(o => new LoopNet(o), batch, ModelHarness.Labels(batch, 3, 5));
    }

    [Fact]
    public void WideMlp_Batch3() =>
        ModelHarness.GeneratedMatchesDynamic(o => new WideMlp(o), 3, ModelHarness.Labels(3, 10, 5), rtol: 1e-3f);
}
