using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Dl.Generators;

namespace Dl.Tests;

/// <summary>The pipeline caches: an unrelated edit regenerates nothing; a model edit regenerates that model.</summary>
public class IncrementalityTests
{
    private const string Model = GeneratorHarness.Usings + """
        namespace App;
        [Model] public sealed partial class Net
        {
            [Forward] Tensor Forward([Shape(8)] Tensor x) => Linear(Relu(Linear(x, 16, "fc1")), 3, "fc2");
            [Loss] Tensor Loss(Tensor y, [Labels(3)] Tensor t) => SoftmaxCrossEntropy(y, t);
        }
        """;
    private const string Other = "namespace App; public static class Helper { public static int Two() => 2; }";

    private static (GeneratorDriver Driver, CSharpCompilation Compilation) First()
    {
        var compilation = GeneratorHarness.Compilation(Model, Other);
        var driver = GeneratorHarness.Driver().RunGenerators(compilation);
        return (driver, compilation);
    }

    private static IncrementalStepRunReason[] Reasons(GeneratorDriver driver, string step) =>
        driver.GetRunResult().Results[0].TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();

    private static CSharpCompilation Replace(CSharpCompilation c, int index, string text) =>
        c.ReplaceSyntaxTree(c.SyntaxTrees.ElementAt(index), CSharpSyntaxTree.ParseText(text, GeneratorHarness.ParseOptions, path: $"Model{index}.cs"));

    [Fact]
    public void SameInput_DoesNotRegenerate()
    {
        var (driver, compilation) = First();
        driver = driver.RunGenerators(compilation.Clone());
        Assert.All(Reasons(driver, TrackingNames.Spec), r => Assert.Equal(IncrementalStepRunReason.Cached, r));
    }

    [Fact]
    public void UnrelatedFileEdit_DoesNotModifyOutput()
    {
        var (driver, compilation) = First();
        driver = driver.RunGenerators(Replace(compilation, 1, Other + "\n// an edit elsewhere\npublic class Extra { }"));
        Assert.All(Reasons(driver, TrackingNames.Spec), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, r.ToString()));
    }

    [Fact]
    public void AddedComment_DoesNotModifyOutput()
    {
        var (driver, compilation) = First();
        driver = driver.RunGenerators(Replace(compilation, 0, Model.Replace("[Forward]", "// a comment\n    [Forward]")));
        Assert.All(Reasons(driver, TrackingNames.Spec), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, r.ToString()));
    }

    [Fact]
    public void ChangedLayerWidth_ModifiesOutput()
    {
        var (driver, compilation) = First();
        driver = driver.RunGenerators(Replace(compilation, 0, Model.Replace("16, \"fc1\"", "24, \"fc1\"")));
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(driver, TrackingNames.Spec));
        Assert.Contains("new int[] { 24, 8 }", driver.GetRunResult().GeneratedTrees.Single(t => !GeneratorHarness.IsLibraryBlocks(t)).ToString());
    }
}
