using System.Text.RegularExpressions;

namespace Dl.Tests;

/// <summary>Generated buffers are locals named after their nodes: unique, never a keyword, a Run-method local or a
/// generated member, and the same on every run.</summary>
public class BufferNameTests
{
    // Layer names that sanitize to one identifier (h.1 and h_1), a keyword (class), Run-method locals (n, i0, batch,
    // input) and a generated member (Training).
    private const string Model = """
        namespace App;
        [Model] public sealed partial class Clashing
        {
            [Forward] Tensor Forward([Shape(8)] Tensor input)
            {
                var a = Relu(Linear(input, 8, name: "h.1"));
                var b = Relu(Linear(a, 8, name: "h_1"));
                var c = Tanh(Linear(b, 8, name: "Training"));
                var d = Linear(c, 8, name: "n") + Linear(c, 8, name: "i0");
                var e = Sigmoid(Linear(d, 8, name: "batch"));
                return Linear(e, 2, name: "class");   // the output: materialized
            }
            [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor y) => SoftmaxCrossEntropy(logits, y);
        }
        """;

    [Fact]
    public void ClashingLayerNames_CompileToUniqueIdentifiers_Deterministically()
    {
        var (diagnostics, generated, _) = GeneratorHarness.RunModel(Model);
        Assert.Empty(diagnostics);
        var declared = Regex.Matches(generated, @"ref float (\w+) = ").Select(m => m.Groups[1].Value).ToHashSet();
        Assert.True(declared.Contains("class_1"), string.Join(", ", declared));
        Assert.True(declared.Contains("d_h_1"), string.Join(", ", declared));     // the gradient of "h.1"
        Assert.Contains("d_h_1_2", declared);   // and of "h_1", after "h.1" took the name
        foreach (var reserved in new[] { "class", "batch", "Training", "n", "i0", "input" }) Assert.DoesNotContain(reserved, declared);
        Assert.Equal(generated, GeneratorHarness.RunModel(Model).Generated);
        Assert.All(generated.Split('\n'), line => Assert.True(line.TrimStart().StartsWith("//") || line.Contains('"') || line.Length <= 160, line));
    }
}
