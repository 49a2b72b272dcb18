using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Dl.Onnx;

/// <summary>
/// The ONNX graph being built from one recorded run: the value name of every translated tape node, the initializers
/// (parameters by their PyTorch names, running statistics, constants) and the nodes. A tape value is per sample; in the
/// graph a batched value has the batch as its first axis ([batch, shape…]) and an unbatched one (a parameter, a constant,
/// an expression of them) has its own shape, which numpy broadcasting aligns on the right, as the tape does.
/// </summary>
internal sealed class OnnxGraph
{
    private readonly ModelDescription _description;
    private readonly GraphProto _graph = new();
    private readonly Dictionary<Tensor, string> _values = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _initializers = new(StringComparer.Ordinal);
    private string? _batchDim;

    public OnnxGraph(ModelDescription description, string name)
    {
        _description = description;
        _graph.Name = name;
    }

    /// <summary>The model's name, for messages.</summary>
    public string ModelName => _description.Name;

    /// <summary>Translates the recorded nodes in order, then marks <paramref name="output"/> as the graph output.</summary>
    public void Translate(ReadOnlySpan<Tensor> nodes, Tensor output)
    {
        foreach (InputInfo input in _description.Inputs)
            _graph.Input.Add(ValueInfo(input.Name, batched: true, input.Shape));
        foreach (Tensor t in nodes)
        {
            if (t.Kind != Tensor.NodeKind.Op) continue;
            if (!OnnxMappings.TryGet(t.OpName, out OnnxMapping? map))
                throw new NotSupportedException(
                    $"ONNX export of {ModelName}: the op '{t.OpName}' (node %{t.Id}, shape {t.ShapeText}) has no faithful ONNX form in Dl.Onnx, " +
                    "so the model is not exported (it would not compute the same function).");
            map(this, t);
        }
        string result = Batched(output);
        Node("Identity", "output", [result], "output");
        _graph.Output.Add(ValueInfo("output", batched: true, _description.OutputShape));
    }

    public ModelProto ToModel(int opset)
    {
        var model = new ModelProto
        {
            IrVersion = 8,   // ONNX 1.12 / opset 17
            ProducerName = "Dl",
            ProducerVersion = typeof(OnnxGraph).Assembly.GetName().Version?.ToString() ?? "",
            Graph = _graph,
            DocString = $"{ModelName}: forward pass in evaluation mode, exported by Dl.Onnx.",
        };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return model;
    }

    // ---- values -----------------------------------------------------------------------------------------------------

    /// <summary>The graph value of a tape node: an input by its name, a parameter as an initializer of its name, a
    /// constant as a scalar initializer, an op's output as its mapping bound it.</summary>
    public string Value(Tensor t)
    {
        if (_values.TryGetValue(t, out string? name)) return name;
        switch (t.Kind)
        {
            case Tensor.NodeKind.Input:
                name = t.NameValue!;
                break;
            case Tensor.NodeKind.Parameter:
                name = t.NameValue!;
                if (_initializers.Add(name)) AddInitializer(name, t.ShapeArray, t.Values<float>());
                break;
            case Tensor.NodeKind.Constant:
                name = Floats("const", [], [t.ScalarA]);
                break;
            default:
                throw new InvalidOperationException($"ONNX export of {ModelName}: node %{t.Id} ({t.OpName}) is read before it was translated.");
        }
        _values[t] = name;
        return name;
    }

    /// <summary>Records the graph value computed for a tape node.</summary>
    public void Bind(Tensor t, string value) => _values[t] = value;

    /// <summary>A tape node's value with the batch axis: an unbatched value is repeated for every sample.</summary>
    public string Batched(Tensor t)
    {
        string v = Value(t);
        if (t.Batched) return v;
        string scope = Scope(t);
        string unsqueezed = Node("Unsqueeze", scope, [v, Ints("axes", [0])]);
        return Node("Expand", scope, [unsqueezed, BatchShape(t.ShapeArray)]);
    }

    /// <summary>An operand of a broadcasting op whose result has per-sample rank <paramref name="rank"/>: a batched
    /// operand of lower rank gets unit axes after the batch so that right alignment matches the tape's per-sample one.</summary>
    public string Aligned(Tensor operand, int rank)
    {
        string v = Value(operand);
        int missing = rank - operand.Rank;
        if (!operand.Batched || missing <= 0) return v;
        long[] axes = Enumerable.Range(1, missing).Select(i => (long)i).ToArray();
        return Node("Unsqueeze", Scope(operand), [v, Ints("axes", axes)]);
    }

    /// <summary>[batch, perSample…] as an int64 shape tensor (the batch read from the first input).</summary>
    public string BatchShape(ReadOnlySpan<int> perSample)
    {
        _batchDim ??= Node("Slice", "batch", [Node("Shape", "batch", [_description.Inputs[0].Name]), Ints("start", [0]), Ints("end", [1])]);
        long[] dims = new long[perSample.Length];
        for (int i = 0; i < dims.Length; i++) dims[i] = perSample[i];
        return Node("Concat", "batch", [_batchDim, Ints("dims", dims)], attributes: [Attr.Int("axis", 0)]);
    }

    /// <summary>The per-sample axis <paramref name="axis"/> as a graph axis (after the batch when batched).</summary>
    public static int Axis(Tensor t, int axis) => t.Batched ? axis + 1 : axis;

    // ---- nodes and initializers -------------------------------------------------------------------------------------

    /// <summary>Adds a node with one output and returns the output's name. <paramref name="scope"/> names it after the
    /// model's layer (<c>fc1/Gemm</c>); names are made unique with a suffix.</summary>
    public string Node(string op, string scope, string[] inputs, string? output = null, AttributeProto[]? attributes = null)
        => Nodes(op, scope, inputs, 1, output, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputs"/> outputs.</summary>
    public string[] Nodes(string op, string scope, string[] inputs, int outputs, string? output = null, AttributeProto[]? attributes = null)
    {
        string name = Unique($"{scope}/{op}");
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        var names = new string[outputs];
        for (int i = 0; i < outputs; i++) names[i] = i == 0 && output is not null ? output : Unique(outputs == 1 ? name + ":0" : $"{name}:{i}");
        node.Output.AddRange(names);
        if (attributes is not null) node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
        return names;
    }

    /// <summary>An int64 constant initializer (shapes, axes, indices), 1-D.</summary>
    public string Ints(string what, long[] values)
    {
        string name = Unique("const." + what);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
        tensor.Dims.Add(values.Length);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>A float constant initializer of the given shape.</summary>
    public string Floats(string what, int[] shape, ReadOnlySpan<float> values)
    {
        string name = Unique(what.Contains('.') ? what : "const." + what);
        AddInitializer(name, shape, values);
        return name;
    }

    /// <summary>A float initializer under an exact name (parameters and running statistics keep PyTorch's names).</summary>
    public void AddInitializer(string name, ReadOnlySpan<int> shape, ReadOnlySpan<float> values)
    {
        _names.Add(name);
        var tensor = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        foreach (int d in shape) tensor.Dims.Add(d);
        tensor.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values));
        _graph.Initializer.Add(tensor);
    }

    /// <summary>The layer a node belongs to: the layer of its first parameter input (<c>fc1.weight</c> → <c>fc1</c>), else
    /// the model's local variable it was assigned to, else its op and id (<c>relu_7</c>).</summary>
    public string Scope(Tensor t)
    {
        for (int i = 0; i < t.InputCount; i++)
        {
            Tensor input = t.Input(i);
            if (input.Kind == Tensor.NodeKind.Parameter && input.NameValue is { } p)
            {
                int dot = p.LastIndexOf('.');
                return dot > 0 ? p[..dot] : p;
            }
        }
        return t.Local ?? $"{t.OpName}_{t.Id.ToString(CultureInfo.InvariantCulture)}";
    }

    private string Unique(string name)
    {
        if (_names.Add(name)) return name;
        for (int k = 1; ; k++)
        {
            string candidate = $"{name}_{k.ToString(CultureInfo.InvariantCulture)}";
            if (_names.Add(candidate)) return candidate;
        }
    }

    private static ValueInfoProto ValueInfo(string name, bool batched, int[] shape)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto() };
        if (batched) tensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (int d in shape) tensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } };
    }
}

/// <summary>Node attributes.</summary>
internal static class Attr
{
    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto String(string name, string value)
        => new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.AddRange(values);
        return a;
    }
}
