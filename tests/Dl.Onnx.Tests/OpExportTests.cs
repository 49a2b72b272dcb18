namespace Dl.Onnx.Tests;

/// <summary>The op-level models exported, run by ONNX Runtime and compared with Predict at batch 1 and 3.</summary>
public class OpExportTests
{
    private static ModelOptions Options => new() { Seed = 5, MaxBatch = 4 };

    [Fact] public void UnaryOps_MatchPredict() => OnnxHarness.Check(new UnaryZoo(Options));

    [Fact]
    public void BinaryOpsAndReductions_MatchPredict()
        => OnnxHarness.Check(new BinaryZoo(Options), (input, _, r) => input == 2 ? r.Next(2) : (float)(r.NextDouble() * 2 - 1));

    [Fact] public void StructuralOps_MatchPredict() => OnnxHarness.Check(new StructuralZoo(Options));

    [Fact] public void SpatialOps_MatchPredict() => OnnxHarness.Check(new SpatialZoo(Options), warmStatistics: true);

    [Fact]
    public void RecurrentOps_MatchPredict()
        => OnnxHarness.Check(new RecurrentZoo(Options), (input, _, r) => input == 1 ? 1 + r.Next(6) : (float)(r.NextDouble() * 2 - 1));

    [Fact]
    public void AttentionOps_MatchPredict()
        => OnnxHarness.Check(new AttentionZoo(Options), (input, _, r) => input switch
        {
            0 => r.Next(7),
            1 or 3 => r.Next(3) == 0 ? 0 : 1,
            _ => (float)(r.NextDouble() * 2 - 1),
        });
}

/// <summary>What the exporter refuses: an op without an ONNX form, named in the message.</summary>
[Trait("Category", "Once")]
public class RefusalTests
{
    private static byte[] Bytes<TModel>(TModel model) where TModel : IModel, Dl.Dynamic.IDynamicSource<TModel>
        => OnnxExport.ToBytes(model, TModel.CreateShell());

    [Fact]
    public void OpWithoutOnnxForm_IsRefusedByName()
    {
        var model = new LossInForward(new ModelOptions { Seed = 1, MaxBatch = 2 });
        var e = Assert.Throws<NotSupportedException>(() => Bytes(model));
        Assert.Contains("'half_squared_error'", e.Message);
        Assert.Contains("LossInForward", e.Message);
        Assert.Contains("no faithful ONNX form", e.Message);
    }

    [Fact]
    public void EveryElementwiseAndRowOp_HasAMapping()
    {
        // The op structs of the runtime whose [DlOp] names the tape records for forward ops (losses excluded).
        var names = typeof(ReluOp).Assembly.GetTypes()
            .Where(t => t.IsValueType && (typeof(IUnaryOp).IsAssignableFrom(t) || typeof(IBinaryOp).IsAssignableFrom(t) || typeof(IRowOp).IsAssignableFrom(t)))
            .Select(t => ((DlOpAttribute)Attribute.GetCustomAttribute(t, typeof(DlOpAttribute))!).Name)
            .ToArray();
        Assert.NotEmpty(names);
        var missing = names.Where(n => !OnnxMappings.TryGet(n, out _)).ToArray();
        Assert.True(missing.Length == 0, "ops without an ONNX mapping: " + string.Join(", ", missing));
    }
}
