namespace Dl.Tests;

/// <summary>Emitted code against golden files under Baselines/. Regenerate with DL_UPDATE_BASELINES=1 after an
/// intended change to the emitter, and review the diff.</summary>
public class SnapshotTests
{
    public static TheoryData<string, string> Scenarios() => new()
    {
        { "FashionMlp", """
            namespace App;
            [Model] public sealed partial class FashionMlp
            {
                [Forward] Tensor Forward([Shape(784)] Tensor x) => Linear(Relu(Linear(x, 128, name: "fc1")), 10, name: "fc2");
                [Loss] Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
            }
            """ },
        { "SigmoidNeuron", """
            namespace App;
            [Model] public sealed partial class SigmoidNeuron
            {
                [Param(3)] Tensor w;
                [Forward] Tensor Forward([Shape(2)] Tensor x) => 1f / (1f + Exp(-(w[0] * x[0] + w[1] * x[1] + w[2])));
                [Loss] Tensor Loss(Tensor f, [Shape] Tensor t) => 0.5f * Square(f - t);
            }
            """ },
        { "XorNet", """
            namespace App;
            [Model] public sealed partial class XorNet
            {
                [Forward] Tensor Forward([Shape(2)] Tensor x) => Sigmoid(Linear(Sigmoid(Linear(x, 2, name: "hidden")), 1, name: "output"));
                [Loss] Tensor Loss(Tensor y, [Shape(1)] Tensor target) => MseLoss(y, target);
            }
            """ },
        { "CharGru", """
            namespace App;
            [Model] public sealed partial class CharGru
            {
                [Forward] Tensor Forward([Shape(16)] Tensor tokens) => Linear(Gru(Embedding(tokens, 30, 8, name: "embed"), 24, name: "gru", layers: 2), 30, name: "head");
                [Loss] Tensor Loss(Tensor logits, [Labels(30), Shape(16)] Tensor next) => SoftmaxCrossEntropy(logits, next);
            }
            """ },
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Emitted_MatchesBaseline_AndCompiles(string name, string source)
    {
        var (generator, sources, errors) = GeneratorHarness.Run(GeneratorHarness.Usings + source);
        Assert.Empty(generator);
        Assert.Empty(errors);
        Assert.Single(sources);
        string actual = sources[0].Replace("\r\n", "\n");
        string dir = Path.Combine(FindTestsDirectory(), "Baselines", name);
        string path = Path.Combine(dir, name + ".g.cs");
        if (Environment.GetEnvironmentVariable("DL_UPDATE_BASELINES") == "1")
        {
            Directory.CreateDirectory(dir);
            File.WriteAllText(path, actual);
        }
        Assert.True(File.Exists(path), $"missing baseline {path}; run with DL_UPDATE_BASELINES=1");
        Assert.Equal(File.ReadAllText(path).Replace("\r\n", "\n"), actual);
    }

    private static string FindTestsDirectory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Dl.Generators.Tests.csproj"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Dl.Generators.Tests.csproj not found above " + AppContext.BaseDirectory);
    }
}
