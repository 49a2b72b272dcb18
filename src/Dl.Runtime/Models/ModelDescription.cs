namespace Dl;

/// <summary>One trainable tensor of a model: where it lives in the contiguous parameter block and how it starts.</summary>
/// <param name="Name">Unique name, e.g. <c>fc1.weight</c> (PyTorch's convention; linear weights are <c>[out, in]</c>).</param>
/// <param name="Shape">Dimensions, row-major.</param>
/// <param name="Offset">Start in the parameter (and gradient) block.</param>
/// <param name="Init">The initializer.</param>
/// <param name="Scale">The bound of <see cref="Dl.Init.Uniform"/> or the value of <see cref="Dl.Init.Constant"/>.</param>
/// <param name="FanIn">Inputs per output unit (a linear weight's <c>in</c>).</param>
/// <param name="FanOut">Outputs per input unit (a linear weight's <c>out</c>).</param>
public sealed record ParameterInfo(string Name, int[] Shape, int Offset, Init Init, float Scale, int FanIn, int FanOut)
{
    public int Length => Shape.Aggregate(1, (a, b) => a * b);
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>A model input or target, per sample. Integer labels have <see cref="Classes"/> &gt; 0 and one value per sample, or
/// one per step when <see cref="Shape"/> is given (a language model's next tokens, [T]).</summary>
public sealed record InputInfo(string Name, int[] Shape, int Classes = 0)
{
    public bool IsLabels => Classes > 0;
    public int Size => Shape.Aggregate(1, (a, b) => a * b);
}

/// <summary>A row of <see cref="IModel.Summary"/>: a layer or op, its per-sample output shape and its parameter count.</summary>
public sealed record LayerSummary(string Name, string Op, int[] OutputShape, long Parameters);

/// <summary>Everything about a model that is known at compile time, emitted by the generator.</summary>
public sealed class ModelDescription
{
    public required string Name { get; init; }
    public required ParameterInfo[] Parameters { get; init; }
    /// <summary>Non-trainable state saved with the parameters (PyTorch's buffers: batch norm's running statistics), in a
    /// block of its own (<see cref="ParameterInfo.Offset"/> counts within it); initialized like parameters.</summary>
    public ParameterInfo[] State { get; init; } = [];
    public required InputInfo[] Inputs { get; init; }
    /// <summary>The loss target, or null when the model declares no loss.</summary>
    public InputInfo? Target { get; init; }
    public required int[] OutputShape { get; init; }
    public required LayerSummary[] Layers { get; init; }
    /// <summary>The graph, one node per line: <c>label = op(inputs) [shape]</c>.</summary>
    public string GraphText { get; init; } = "";
    /// <summary>The graph in Graphviz DOT.</summary>
    public string GraphDot { get; init; } = "";
    public int ParameterCount => Parameters.Sum(p => p.Length);
    public int StateCount => State.Sum(p => p.Length);
    public int InputSize => Inputs.Sum(i => i.Size);
    public int OutputSize => OutputShape.Aggregate(1, (a, b) => a * b);
    public ParameterInfo Find(string name) =>
        Parameters.FirstOrDefault(p => p.Name == name)
        ?? throw new KeyNotFoundException($"Model {Name} has no parameter '{name}'; it has: {string.Join(", ", Parameters.Select(p => p.Name))}.");
}

/// <summary>Construction options of a generated model: every buffer is allocated in the constructor.</summary>
public sealed record ModelOptions
{
    /// <summary>Seed of the parameter initializers (each parameter draws from a stream keyed by seed and name).</summary>
    public ulong Seed { get; init; }
    /// <summary>Largest batch any call may pass.</summary>
    public int MaxBatch { get; init; } = 64;
    /// <summary>Worker threads for large matrix products (1 = the calling thread only).</summary>
    public int Threads { get; init; } = 1;
    /// <summary>Samples per chunk of a training step (see <see cref="Kernels.BatchChunking"/>): null picks it from the
    /// model's sizes and the core's L2 cache, 0 turns chunking off, N ≥ 1 forces chunks of at most N samples. Only models
    /// whose samples are independent (one input, no batch norm, no dropout) chunk at all.</summary>
    public int? ChunkSamples { get; init; }
}

/// <summary>The text forms of a model graph.</summary>
public enum GraphFormat { Text, Dot, Mermaid }

/// <summary>What every generated model offers.</summary>
public interface IModel
{
    ModelDescription Description { get; }
    int MaxBatch { get; }
    /// <summary>All parameters, contiguous, in <see cref="ModelDescription.Parameters"/> order.</summary>
    Span<float> Parameters { get; }
    /// <summary>All gradients, laid out like <see cref="Parameters"/>.</summary>
    Span<float> Gradients { get; }
    Span<float> Parameter(string name);
    Span<float> Gradient(string name);
    /// <summary>Training (true, the default, as in PyTorch) or evaluation (false) mode: batch norm uses batch statistics
    /// and updates its running statistics, and dropout drops, only in training mode.</summary>
    bool Training { get; set; }
    /// <summary>Non-trainable state (batch norm running statistics), laid out by <see cref="ModelDescription.State"/>.</summary>
    Span<float> State { get; }
    /// <summary>Training-mode forward passes so far; dropout masks are keyed by it and the seed.</summary>
    long DropoutStep { get; set; }
    /// <summary>Forward pass of <paramref name="batch"/> samples into <paramref name="output"/> (batch x output size).</summary>
    void Predict(ReadOnlySpan<float> input, Span<float> output, int batch);
    string Summary();
    string Graph(GraphFormat format = GraphFormat.Text);
}

/// <summary>A generated model with a loss; <typeparamref name="TTarget"/> is <c>int</c> for labels, <c>float</c> for tensors.</summary>
public interface ITrainableModel<TTarget> : IModel where TTarget : unmanaged
{
    /// <summary>Forward, loss, backward and the optimizer's update; returns the batch-mean loss. Allocates nothing.</summary>
    float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, int batch, IOptimizer optimizer);
    /// <summary>Forward, loss and backward: leaves the gradients in <see cref="IModel.Gradients"/> (overwritten, not accumulated).</summary>
    float ComputeGradients(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, int batch);
    /// <summary>Forward and loss only.</summary>
    float Loss(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, int batch);
}

/// <summary>Updates a contiguous parameter block from its gradient block.</summary>
public interface IOptimizer
{
    void Step(Span<float> parameters, ReadOnlySpan<float> gradients);
}
