namespace Dl.Dynamic;

public sealed partial class DynamicModel
{
    /// <summary>Runs the forward pass once in float and evaluation mode (batch norm on its running statistics, no dropout
    /// node) and returns the run's nodes in creation order (a topological order) and the output node: the graph an
    /// exporter (Dl.Onnx) translates, as torch.onnx traces a module in eval mode. The nodes stay valid until the next run.</summary>
    internal (Tensor[] Nodes, Tensor Output) RecordEvaluation(ReadOnlySpan<float> input, int batch)
    {
        if (Precision != Precision.Single)
            throw new InvalidOperationException($"Recording {Description.Name} for export needs a float (Precision.Single) dynamic model.");
        using var busy = ModelGuard.Enter(ref _owner, Description.Name, nameof(RecordEvaluation));
        CheckBatch(batch);
        bool training = Training;
        Training = false;
        try
        {
            BindArrays(trace: false);
            Begin(batch, gradients: false, traceAll: false);
            Tensor output;
            using (_context.Enter()) output = Forward<float, float>(input, batch);
            return (_tape.Nodes.ToArray(), output);
        }
        finally
        {
            Training = training;
        }
    }
}
