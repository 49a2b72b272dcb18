namespace Dl.Onnx;

/// <summary>Translates one recorded tape node into ONNX nodes and binds its value (<see cref="OnnxGraph.Bind"/>).</summary>
internal delegate void OnnxMapping(OnnxGraph graph, Tensor node);

/// <summary>
/// The ONNX form of every op, keyed by the op name the tape records (the op struct's <c>[DlOp]</c> name, or the layer
/// op's name): one mapping per op, one file per op family. An op missing here is refused by the exporter with its name.
/// </summary>
internal static class OnnxMappings
{
    private static readonly Dictionary<string, OnnxMapping> s_mappings = Build();

    public static bool TryGet(string op, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out OnnxMapping? mapping)
        => s_mappings.TryGetValue(op, out mapping);

    /// <summary>The op names with an ONNX form.</summary>
    public static IEnumerable<string> Ops => s_mappings.Keys;

    private static Dictionary<string, OnnxMapping> Build()
    {
        var map = new Dictionary<string, OnnxMapping>(StringComparer.Ordinal);
        ElementwiseMappings.Register(map);
        StructuralMappings.Register(map);
        SpatialMappings.Register(map);
        RecurrentMappings.Register(map);
        AttentionMappings.Register(map);
        return map;
    }
}
