using Microsoft.CodeAnalysis;

namespace Dl.Tests;

/// <summary>Issue 13, item 2: sources that crashed the generator (CS8785, DL0010) or made it emit code that does not
/// compile. Each must now either report its DL diagnostic or generate code that compiles with warnings as errors.</summary>
public class RobustnessTests
{
    /// <summary>Case name → (model source without usings, expected DL id or null for "compiles cleanly with warnings as
    /// errors").</summary>
    public static readonly Dictionary<string, (string Source, string? Id)> Cases = new()
    {
        // ---- user text printed into comments and string literals ----
        ["LayerName_LineFeed"] = (Layer("fc\\n1"), "DL0012"),
        ["LayerName_CarriageReturn"] = (Layer("fc\\r1"), "DL0012"),
        ["LayerName_NextLine"] = (Layer("fc\\u00851"), "DL0012"),
        ["LayerName_LineSeparator"] = (Layer("fc\\u20281"), "DL0012"),
        ["LayerName_ParagraphSeparator"] = (Layer("fc\\u20291"), "DL0012"),
        ["LayerName_QuoteBackslashTab"] = (Layer("fc\\\"\\\\\\t\\u00001"), "DL0012"),
        ["LayerName_Space"] = (Layer("fc 1"), "DL0012"),
        ["LayerName_EmptyPart"] = (Layer("block..fc"), "DL0012"),
        ["LayerName_DottedDashedUnicode"] = (Layer("block1.fc-2_ä"), null),
        ["LocalName_Unicode"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor x) { var ĥ = Linear(x, 3, "fc"); return ĥ; }
                [Loss] Tensor L(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
            }
            """, null),
        // ---- identifiers that are keywords ----
        ["Field_VerbatimKeyword"] = ("""
            [Model] partial class M {
                [Param(4)] Tensor @if;
                [Param(4)] Tensor @int;
                [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x * @if + @int, 3, "fc");
                [Loss] Tensor L(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
            }
            """, null),
        ["Input_VerbatimKeyword"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] Tensor @int) => Linear(@int, 3, "fc");
                [Loss] Tensor L(Tensor @out, [Shape(3)] Tensor @this) => MseLoss(@out, @this);
            }
            """, null),
        ["Methods_VerbatimKeyword"] = ("""
            [Model] partial class M {
                [Forward] Tensor @return([Shape(4)] Tensor x) => Linear(x, 3, "fc");
                [Loss] Tensor @default(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
            }
            """, null),
        ["Class_VerbatimKeyword"] = ("""
            [Model] partial class @class {
                [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 3, "fc");
            }
            """, null),
        ["Namespace_VerbatimKeyword"] = ("namespace @class.X;\n" + Mlp, null),
        ["Namespace_VerbatimKeywordBlock"] = ("namespace @class.@int { " + Mlp + " }", null),
        // ---- namespaces and nested types named like the generated file's aliases ----
        ["Namespace_Ref"] = ("namespace Ref;\n" + Mlp, null),
        ["Namespace_Mem"] = ("namespace Mem;\n" + Mlp, null),
        ["Namespace_V256"] = ("namespace V256;\n" + Mlp, null),
        ["Namespace_V256F"] = ("namespace App.V256F;\n" + Mlp, null),
        ["Namespace_Unsafe"] = ("namespace Unsafe;\n" + Mlp, null),
        ["Nested_Mem"] = (Member("class Mem { }"), null),
        ["Nested_Ref"] = (Member("class Ref { }"), null),
        ["Nested_V256"] = (Member("struct V256 { }"), null),
        ["Nested_Dl"] = (Member("class Dl { }"), null),
        ["Nested_System"] = (Member("class System { }"), null),
        // ---- user members that collide with generated ones ----
        ["Member__params"] = (Member("float[] _params = new float[1];"), "DL0014"),
        ["Member__arena"] = (Member("int _arena;"), "DL0014"),
        ["Member_InputSize"] = (Member("public int InputSize => 4;"), "DL0014"),
        ["Member_Training"] = (Member("public bool Training;"), "DL0014"),
        ["Member_RunForward"] = (Member("void RunForward() { }"), "DL0014"),
        ["Member_Predict"] = (Member("public void Predict(System.ReadOnlySpan<float> a, System.Span<float> b, int n) { }"), "DL0014"),
        ["Member_PredictOverload"] = (Member("public float[] Predict(float[] x) => x;"), null),
        ["Member_LossMethodNamedLoss"] = (Member("").Replace("Tensor L(", "Tensor Loss("), null),
        ["Member_Save"] = (Member("public void Save(string path) { }"), "DL0014"),
        ["Member_Constructor"] = (Member("public M() { }"), "DL0014"),
        // ---- declarations the generator cannot emit for ----
        ["Forward_RefInput"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(4)] ref Tensor x) => Linear(x, 3, "fc");
            }
            """, "DL0001"),
        ["Forward_Generic"] = ("""
            [Model] partial class M {
                [Forward] Tensor F<T>([Shape(4)] Tensor x) => Linear(x, 3, "fc");
            }
            """, "DL0001"),
        ["Forward_Async"] = ("""
            [Model] partial class M {
                [Forward] async System.Threading.Tasks.Task<Tensor> F([Shape(4)] Tensor x) { await System.Threading.Tasks.Task.Yield(); return Linear(x, 3, "fc"); }
            }
            """, "DL0001"),
        ["Param_Readonly"] = ("""
            [Model] partial class M {
                [Param(4)] readonly Tensor w = null!;
                [Forward] Tensor F([Shape(4)] Tensor x) => x * w;
            }
            """, "DL0001"),
        ["Param_Static"] = ("""
            [Model] partial class M {
                [Param(4)] static Tensor w = null!;
                [Forward] Tensor F([Shape(4)] Tensor x) => x * w;
            }
            """, "DL0001"),
        ["Class_Abstract"] = ("[Model] abstract partial class M { [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 3, \"fc\"); }", "DL0001"),
        ["Class_Static"] = ("[Model] static partial class M { [Forward] static Tensor F([Shape(4)] Tensor x) => Linear(x, 3, \"fc\"); }", "DL0001"),
        ["Class_File"] = ("[Model] file partial class M { [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 3, \"fc\"); }", "DL0001"),
        // ---- loops, sizes, counts ----
        ["Loop_128"] = (Loop(128), null),
        ["Loop_128_FusedChain"] = (Loop(128, "h = h * w + x;"), null),
        ["Loop_128_Adds"] = (Loop(128, "h = h + x * w;"), null),
        ["Loop_1000"] = (Loop(1000), "DL0012"),
        ["Loop_Nested_40x40"] = (Loop(40, "for (int j = 0; j < 40; j++) h = h + x;"), "DL0012"),
        ["Loop_129"] = (Loop(129), "DL0012"),
        ["Block_Exponential"] = ("""
            [Model] partial class M {
                [Block] Tensor B(Tensor x, int depth) => depth == 0 ? Relu(x) : B(x, depth - 1) + B(x, depth - 1);
                [Forward] Tensor F([Shape(4)] Tensor x) => B(x, 30);
            }
            """, "DL0001|DL0012"),
        ["Loop_4000"] = (Loop(4000), "DL0012"),
        ["Loop_Huge"] = (Loop(1_000_000), "DL0012"),
        ["Linear_IntMax"] = (Layer("fc", "2147483647"), "DL0015"),
        ["Linear_50000x50000"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(50000)] Tensor x) => Linear(x, 50000, "fc");
            }
            """, "DL0015"),
        ["Params_5e9"] = ("""
            [Model] partial class M {
                [Param(50000, 100000)] Tensor w;
                [Forward] Tensor F([Shape(4)] Tensor x) => Sum(x) * Sum(w);
            }
            """, "DL0015"),
        ["Params_TotalOverLimit"] = ("""
            [Model] partial class M {
                [Param(40000, 40000)] Tensor a;
                [Param(40000, 40000)] Tensor b;
                [Forward] Tensor F([Shape(4)] Tensor x) => Sum(x) * Sum(a) * Sum(b);
            }
            """, "DL0015"),
        ["Shape_IntMax"] = ("[Model] partial class M { [Forward] Tensor F([Shape(2147483647)] Tensor x) => Relu(x); }", "DL0015"),
        ["Shape_100000x100000"] = ("[Model] partial class M { [Forward] Tensor F([Shape(100000, 100000)] Tensor x) => Relu(x); }", "DL0015"),
        ["Param_IntMaxProduct"] = (Member("[Param(65536, 65536)] Tensor big;"), "DL0015"),
        ["Reshape_Overflow"] = ("[Model] partial class M { [Forward] Tensor F([Shape(4)] Tensor x) => Reshape(x, 65536, 65536); }", "DL0003|DL0012|DL0015"),
        ["Arena_SumOverLimit"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(1000000000)] Tensor x) { var a = Relu(x); var b = Sigmoid(x); var c = Tanh(x); return a * b + c * a + b * c; }
            }
            """, "DL0015"),
        ["Linear_ParameterCountIsLong"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(40000)] Tensor x) => Linear(x, 40000, "fc");
            }
            """, null),
        // ---- build-time checks equal to the run-time ones ----
        ["Conv2d_PaddingEqualsKernel"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(1, 6, 6)] Tensor x) => Conv2d(x, 2, 3, "c", padding: 3);
            }
            """, "DL0013"),
        ["Conv2d_PaddingAboveKernel"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(1, 6, 6)] Tensor x) => Conv2d(x, 2, 1, "c", padding: 1);
            }
            """, "DL0013"),
        ["Init_ConstantNaN"] = (Member("[Param(4, Init = Init.Constant, Scale = float.NaN)] Tensor c;"), "DL0012"),
        ["Init_ConstantInfinity"] = (Member("[Param(4, Init = Init.Constant, Scale = float.PositiveInfinity)] Tensor c;"), "DL0012"),
        // ---- README ----
        ["Index_Hat1"] = ("""
            [Model] partial class M {
                [Forward] Tensor F([Shape(5, 4)] Tensor x) { var h = Rnn(x, 3, "rnn"); return h[^1]; }
                [Loss] Tensor L(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
            }
            """, null),
    };

    private const string Mlp = """
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(Relu(Linear(x, 5, "fc1")), 3, "fc2");
            [Loss] Tensor L(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
        }
        """;

    private static string Layer(string name, string size = "3") => $$"""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, {{size}}, "{{name}}");
            [Loss] Tensor L(Tensor y, [Shape({{size}})] Tensor t) => MseLoss(y, t);
        }
        """;

    private static string Member(string member) => $$"""
        [Model] partial class M {
            {{member}}
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 3, "fc");
            [Loss] Tensor L(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
        }
        """;

    private static string Loop(int steps, string body = "h = h * w;") => $$"""
        [Model] partial class M {
            [Param(4)] Tensor w;
            [Forward] Tensor F([Shape(4)] Tensor x) { var h = x; for (int i = 0; i < {{steps}}; i++) { {{body}} } return h; }
            [Loss] Tensor L(Tensor y, [Shape(4)] Tensor t) => MseLoss(y, t);
        }
        """;

    public static TheoryData<string> Names() => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(Names))]
    public void Variant_IsADiagnosticOrCompiles(string name)
    {
        var (source, id) = Cases[name];
        var (generator, sources, errors) = id is null
            ? GeneratorHarness.RunWarningsAsErrors(GeneratorHarness.Usings + source)
            : GeneratorHarness.Run(GeneratorHarness.Usings + source);
        string all = string.Join("\n", generator.Concat(errors).Select(d => d.ToString()));
        Assert.DoesNotContain(generator, d => d.Id is "DL0010" or "CS8785");
        if (id is null)
        {
            Assert.True(generator.Length == 0 && errors.Length == 0, all);
            Assert.NotEmpty(sources);
        }
        else
        {
            Assert.True(generator.Any(d => id.Split('|').Contains(d.Id)), $"expected {id}, got:\n{all}");
            // The DL diagnostic stands alone (a stub keeps the class compiling), except where the source is not valid C#
            // by itself (an async method without a Task import, a static class with instance members).
            if (!SourceHasErrors.Contains(name)) Assert.True(errors.Length == 0, all);
            Assert.All(generator, d => Assert.Matches("^DL[0-9]{4}$", d.Id));
            var error = generator.First(d => id.Split('|').Contains(d.Id));
            Assert.DoesNotContain('\n', error.GetMessage());
            // Only the arena after buffer reuse is known after parsing, where the spec holds no location.
            if (name != "Arena_SumOverLimit") Assert.NotEqual(Location.None, error.Location);
        }
    }

    /// <summary>The README's <c>h[^1]</c> compiles (an indexer taking System.Index) and the tape computes what the generated
    /// code does: loss and gradients of one step agree.</summary>
    [Theory]
    [InlineData("h[^1]")]
    [InlineData("h[^2]")]
    [InlineData("h[1]")]
    public void IndexFromTheEnd_GeneratedEqualsTape(string last)
    {
        string source = $$"""
            [Model] partial class M {
                [Forward] Tensor F([Shape(3, 4)] Tensor x) { var h = Gru(x, 5, "gru"); return Linear({{last}}, 2, "head"); }
                [Loss] Tensor L(Tensor y, [Labels(2)] Tensor t) => SoftmaxCrossEntropy(y, t);
            }
            """;
        var result = Fuzz.FuzzRunner.Run(source, TimeSpan.FromSeconds(120), compareWithTape: true);
        Assert.True(result.Kind == Fuzz.FuzzKind.Compiles, result.Kind + ": " + result.Detail);
    }

    [Fact]
    public void ActivationArena_OverArrayMaxLength_IsDL0015FromThePlanner()
    {
        var (generator, _, _) = GeneratorHarness.Run(GeneratorHarness.Usings + Cases["Arena_SumOverLimit"].Source);
        var d = Assert.Single(generator);
        Assert.Equal("DL0015", d.Id);
        Assert.StartsWith("the activation arena (per sample, after reuse) has ", d.GetMessage());
    }

    private static readonly HashSet<string> SourceHasErrors = new() { "Class_Static" };

    [Fact]
    public void ModelAttribute_OnTwoPartialDeclarations_DoesNotDropOtherModels()
    {
        string source = GeneratorHarness.Usings + """
            [Model] partial class M { [Param(4)] Tensor w; }
            [Model] partial class M { [Forward] Tensor F([Shape(4)] Tensor x) => x * w; }
            """ + Mlp.Replace("class M", "class Other");
        var (generator, sources, errors) = GeneratorHarness.Run(source);
        Assert.DoesNotContain(generator, d => d.Id is "DL0010" or "CS8785");
        Assert.Contains(sources, s => s.Contains("partial class Other", StringComparison.Ordinal));
        Assert.Contains(sources, s => s.Contains("partial class M", StringComparison.Ordinal));
        // The compiler itself reports the duplicate attribute (CS0579); nothing else fails.
        Assert.All(errors, e => Assert.Equal("CS0579", e.Id));
    }
}
