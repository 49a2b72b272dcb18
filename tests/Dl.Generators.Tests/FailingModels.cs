namespace Dl.Tests;

/// <summary>A model source (without the usings) that fails with a DL diagnostic. <paramref name="Type"/> names the model
/// as code outside it does; <paramref name="Target"/> is the element type its stub's training members take ("" without a
/// [Loss], "float, int" when the target could not be read); <paramref name="Stub"/> is false where none can be emitted.</summary>
public sealed record FailingModel(string Source, string Type = "M", string Target = "", bool Stub = true);

/// <summary>The failing models of <see cref="DiagnosticTests"/>, one per case: each test there triggers its diagnostic
/// with one, and <see cref="FailedBuildTests"/> checks that every one fails cleanly (only DL diagnostics).</summary>
public static class FailingModels
{
    public static readonly FailingModel Statement = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) { if (true) { } return Relu(x); }
        }
        """);

    public static readonly FailingModel MultiLineStatement = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x)
            {
                while (x.Rank > 5)
                {	x = Relu(x);
                }
                return x;
            }
        }
        """);

    public static readonly FailingModel LongStatement = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) {
                if (true) { x = Relu(Relu(Relu(Relu(Relu(Relu(Relu(Relu(Relu(Relu(Relu(Relu(x)))))))))))); }
                return x;
            }
        }
        """);

    public static readonly FailingModel UnknownOp = new("""
        [Model] partial class M {
            static Tensor Mystery(Tensor t) => t;
            [Forward] Tensor F([Shape(4)] Tensor x) => Mystery(x);
        }
        """);

    public static readonly FailingModel BroadcastAdd = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x, [Shape(3)] Tensor y) => x + y;
        }
        """);

    public static readonly FailingModel BroadcastMultiplyMatrices = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(2, 4)] Tensor x, [Shape(3, 4)] Tensor y) => x * y;
        }
        """);

    public static readonly FailingModel MatMulInner = new("""
        [Model] partial class M {
            [Param(5, 2)] Tensor w;
            [Forward] Tensor F([Shape(4)] Tensor x) => MatMul(x, w);
        }
        """);

    public static readonly FailingModel ConcatAxis = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(2, 4)] Tensor x, [Shape(2, 3)] Tensor y) => Concat(x, y, 0);
        }
        """);

    public static readonly FailingModel NonConstantWidth = new("""
        [Model] partial class M {
            int width = 3;
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, width, "fc");
        }
        """);

    public static readonly FailingModel NonConstantLoopBound = new("""
        [Model] partial class M {
            int layers = 3;
            [Forward] Tensor F([Shape(4)] Tensor x) {
                var h = x;
                for (int i = 0; i < layers; i++) h = Relu(Linear(h, 4, $"fc{i}"));
                return h;
            }
        }
        """);

    public static readonly FailingModel NotPartial = new("""
        [Model] class M {
            [Param(4)] Tensor w;
            [Forward] Tensor F([Shape(4)] Tensor x) => Relu(x * w);
        }
        """, Stub: false);

    public static readonly FailingModel ContainerNotPartial = new("""
        class Outer {
            [Model] partial class M { [Forward] Tensor F([Shape(4)] Tensor x) => Relu(x); }
        }
        """, Stub: false);

    public static readonly FailingModel Generic = new("""
        [Model] partial class M<T> where T : struct {
            [Param(4)] Tensor w;
            [Forward] Tensor F([Shape(4)] Tensor x) => Relu(x * w);
            [Loss] Tensor L(Tensor y, [Labels(4)] Tensor t) => SoftmaxCrossEntropy(y, t);
        }
        """, Type: "M<int>", Target: "int");

    public static readonly FailingModel MissingForward = new("[Model] partial class M { }");

    public static readonly FailingModel LossNotScalar = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 2, "fc");
            [Loss] Tensor L(Tensor y, [Shape(2)] Tensor t) => Square(y - t);
        }
        """, Target: "float");

    public static readonly FailingModel DuplicateParameter = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(Linear(x, 3, "fc"), 2, "fc");
        }
        """);

    public static readonly FailingModel StepOnGradientPath = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) => Step(Linear(x, 1, "fc"));
            [Loss] Tensor L(Tensor y, [Shape(1)] Tensor t) => MseLoss(y, t);
        }
        """, Target: "float");

    public static readonly FailingModel InputWithoutShape = new("""
        [Model] partial class M {
            [Forward] Tensor F(Tensor x) => Relu(x);
        }
        """);

    public static readonly FailingModel TargetWithoutShape = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 2, "fc");
            [Loss] Tensor L(Tensor y, Tensor t) => MseLoss(y, t);
        }
        """, Target: "float, int");

    public static readonly FailingModel IndexOutOfRange = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(2)] Tensor x) => x[5];
        }
        """);

    public static readonly FailingModel MemberNamedLikeGenerated = new("""
        [Model] partial class M {
            public bool Training { get; set; }
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 2, "fc");
        }
        """, Stub: false);

    public static readonly FailingModel UserConstructor = new("""
        [Model] partial class M {
            public M() { }
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 2, "fc");
        }
        """, Stub: false);

    public static readonly FailingModel HugeLinear = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(50000)] Tensor x) => Linear(x, 50000, "fc");
            [Loss] Tensor L(Tensor y, [Labels(50000)] Tensor t) => SoftmaxCrossEntropy(y, t);
        }
        """, Target: "int");

    public static readonly FailingModel AbstractModel = new("""
        [Model] abstract partial class M {
            [Forward] Tensor F([Shape(4)] Tensor x) => Linear(x, 2, "fc");
        }
        """, Stub: false);

    public static readonly FailingModel RefInput = new("""
        [Model] partial class M {
            [Forward] Tensor F([Shape(4)] ref Tensor x) => Linear(x, 2, "fc");
        }
        """);

    /// <summary>Every model above, by name.</summary>
    public static TheoryData<string> Names()
    {
        var names = new TheoryData<string>();
        foreach (var f in typeof(FailingModels).GetFields()) if (f.FieldType == typeof(FailingModel)) names.Add(f.Name);
        return names;
    }

    public static FailingModel Get(string name) => (FailingModel)typeof(FailingModels).GetField(name)!.GetValue(null)!;
}
