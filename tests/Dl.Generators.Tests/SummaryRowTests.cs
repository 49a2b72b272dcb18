namespace Dl.Tests;

/// <summary>Summary rows: a named layer's row is its <c>name:</c> whatever local holds it; an op outside a layer is named
/// after its local, else its op, numbered from 1 when several rows would share the name (GraphBuilder.NameLayerRows).</summary>
public class SummaryRowTests
{
    private static List<string> Rows(string forward)
    {
        var (diagnostics, generated, _) = GeneratorHarness.RunModel("[Model] partial class M { [Forward] Tensor Forward([Shape(4)] Tensor x) { " + forward + " } }");
        Assert.Empty(diagnostics);
        int start = generated.IndexOf("Layers = new global::Dl.LayerSummary[]", StringComparison.Ordinal);
        int end = generated.IndexOf("GraphText", start, StringComparison.Ordinal);
        return System.Text.RegularExpressions.Regex.Matches(generated[start..end], "new\\(\"([^\"]*)\"").Select(m => m.Groups[1].Value).ToList();
    }

    [Fact]
    public void ANamedLayer_AssignedToALocal_KeepsItsName()
    {
        Assert.Equal(["fc1", "code", "fc2"], Rows("var h = Linear(x, 3, name: \"fc1\"); var code = Sigmoid(h); var y = Linear(code, 2, name: \"fc2\"); return y;"));
    }

    [Fact]
    public void AnOpWithoutALocal_IsNamedByItsOp_NumberedWhenRepeated()
    {
        Assert.Equal(["fc1", "sigmoid_1", "fc2", "sigmoid_2", "relu"],
            Rows("return Relu(Sigmoid(Linear(Sigmoid(Linear(x, 3, name: \"fc1\")), 2, name: \"fc2\")));"));
    }

    [Fact]
    public void AReassignedLocal_IsNumbered_AndANameALayerHas_IsNotReused()
    {
        Assert.Equal(["h_1", "h_2", "fc", "fc_"], Rows("var h = Relu(x); h = Tanh(h); var fc = Linear(h, 2, name: \"fc\"); fc = Relu(fc); return fc;"));
    }
}
