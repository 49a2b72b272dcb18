using Dl.Dynamic;
using Google.Protobuf;

namespace Dl.Onnx;

/// <summary>Options of <see cref="OnnxExport"/>.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The ONNX opset the graph is written for: 17 (LayerNormalization's first opset; GELU is written as its exact
    /// erf form, which every opset has). Only 17 is supported.</summary>
    public int Opset { get; init; } = 17;

    /// <summary>One sample of the model's inputs (each input's values in turn) used to record the graph, or null for ones.
    /// The values do not change the graph (a model's code has no data-dependent control flow); give one when ones are not
    /// a valid input (a one-hot of a single class is the only case where a token of 1 is out of range).</summary>
    public float[]? SampleInput { get; init; }

    /// <summary>The graph's name (default: the model's name).</summary>
    public string? GraphName { get; init; }
}

/// <summary>
/// Writes a model's forward pass in evaluation mode as an ONNX model: the model's source is run once on the dynamic tape
/// with the model's weights and running statistics (as torch.onnx traces a module in eval mode), and each recorded node
/// is translated by the mapping of its op kind (<c>Mappings/</c>, one file per op family). The batch is the symbolic
/// dimension <c>batch</c>; every input is a float tensor [batch, shape…] named after the model's input; the output is
/// <c>output</c> [batch, output shape…]; parameters and running statistics are initializers with their PyTorch names.
/// An op without a faithful ONNX form is refused (<see cref="NotSupportedException"/> naming it), never written wrong.
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX model of <paramref name="model"/>'s forward pass, written to <paramref name="path"/>.</summary>
    /// <exception cref="NotSupportedException">An op of the model has no faithful ONNX form (the message names it).</exception>
    public static void Export<TModel>(TModel model, string path, OnnxExportOptions? options = null)
        where TModel : IModel, IDynamicSource<TModel>
        => Export(model, TModel.CreateShell(), path, options);

    /// <summary>The ONNX model of <paramref name="model"/>'s forward pass, written to <paramref name="path"/>;
    /// <paramref name="source"/> runs the model's code on the tape (a generated model's <c>CreateShell()</c>).</summary>
    /// <exception cref="NotSupportedException">An op of the model has no faithful ONNX form (the message names it).</exception>
    public static void Export(IModel model, IDynamicSource source, string path, OnnxExportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] bytes = ToBytes(model, source, options);
        File.WriteAllBytes(path, bytes);
    }

    /// <summary>The serialized ONNX model (what <see cref="Export(IModel, IDynamicSource, string, OnnxExportOptions?)"/> writes).</summary>
    /// <exception cref="NotSupportedException">An op of the model has no faithful ONNX form (the message names it).</exception>
    public static byte[] ToBytes(IModel model, IDynamicSource source, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(source);
        options ??= new OnnxExportOptions();
        if (options.Opset != 17)
            throw new ArgumentOutOfRangeException(nameof(options), options.Opset, "ONNX export writes opset 17 only.");
        ModelDescription description = model.Description;
        DynamicModel tape = Dl.Dynamic.Dynamic.Create(description, source, 0, Precision.Single);
        model.Parameters.CopyTo(tape.Parameters);
        model.State.CopyTo(tape.State);
        float[] sample = options.SampleInput ?? Enumerable.Repeat(1f, description.InputSize).ToArray();
        if (sample.Length != description.InputSize)
            throw new ArgumentException($"SampleInput has {sample.Length} values; one sample of {description.Name} has {description.InputSize}.", nameof(options));
        (Tensor[] nodes, Tensor output) = tape.RecordEvaluation(sample, batch: 1);
        var graph = new OnnxGraph(description, options.GraphName ?? description.Name);
        graph.Translate(nodes, output);
        return graph.ToModel(options.Opset).ToByteArray();
    }
}

/// <summary><c>model.ExportOnnx(path)</c>: <see cref="OnnxExport.Export{TModel}"/> as an extension.</summary>
public static class OnnxModelExtensions
{
    /// <summary>Writes the model's forward pass in evaluation mode as an ONNX file (see <see cref="OnnxExport"/>).</summary>
    /// <exception cref="NotSupportedException">An op of the model has no faithful ONNX form (the message names it).</exception>
    public static void ExportOnnx<TModel>(this TModel model, string path, OnnxExportOptions? options = null)
        where TModel : IModel, IDynamicSource<TModel>
        => OnnxExport.Export(model, path, options);
}
