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

/// <summary>What every generated model (and <see cref="Dynamic.DynamicModel"/>) offers.</summary>
/// <remarks>Threading: one instance is used by one thread at a time. <see cref="Predict"/>, <c>Loss</c>,
/// <c>ComputeGradients</c>, <c>TrainStep</c>, <c>Trace</c>, <c>Save</c> and <c>Load</c> share the instance's buffers; a
/// call that finds another thread inside the same instance throws <see cref="InvalidOperationException"/> before reading
/// or writing anything (<see cref="ModelGuard"/>), and the call inside is unaffected. A nested call on the owning thread
/// (an optimizer calling <see cref="Predict"/>) is allowed. Different instances may be used on different threads at the
/// same time: use one instance per thread (copy <see cref="Parameters"/> between them), or serialize calls with a lock.
/// The spans and <see cref="Training"/>/<see cref="DropoutStep"/> are not guarded.</remarks>
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
    /// <summary>Forward pass of <paramref name="batch"/> samples into <paramref name="output"/> (batch x output size). In
    /// training mode it updates the running statistics and advances <see cref="DropoutStep"/>, whatever the values.</summary>
    /// <exception cref="InvalidOperationException">Another thread is inside a call on this instance.</exception>
    void Predict(ReadOnlySpan<float> input, Span<float> output, int batch);
    string Summary();
    string Graph(GraphFormat format = GraphFormat.Text);
}

/// <summary>A generated model with a loss; <typeparamref name="TTarget"/> is <c>int</c> for labels, <c>float</c> for tensors.</summary>
/// <remarks>A failed training step changes nothing: when <see cref="TrainStep"/> or <see cref="ComputeGradients"/>
/// throws, for any reason (invalid arguments, a NaN or infinite loss, an exception in the optimizer), the parameters,
/// the optimizer's state, the running statistics (<see cref="IModel.State"/>) and <see cref="IModel.DropoutStep"/> are as
/// before the call, and so is <see cref="IModel.Gradients"/> unless the exception came after the backward pass (from the
/// optimizer, e.g. <see cref="FiniteGradients"/>), when it holds this batch's gradients. This holds for both engines,
/// chunked or whole batches, the fused plain-SGD update and every optimizer. Non-finite gradients under a finite loss are
/// not checked unless the optimizer is wrapped in <see cref="FiniteGradients"/> (the fused SGD update cannot check
/// them).</remarks>
public interface ITrainableModel<TTarget> : IModel where TTarget : unmanaged
{
    /// <summary>Forward, loss, backward and the optimizer's update; returns the batch-mean loss. Allocates nothing.</summary>
    /// <exception cref="ArithmeticException">The loss is NaN or infinite; nothing was changed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is inside a call on this instance; nothing was changed.</exception>
    float TrainStep(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, int batch, IOptimizer optimizer);
    /// <summary>Forward, loss and backward: leaves the gradients in <see cref="IModel.Gradients"/> (overwritten, not
    /// accumulated). The loss is checked, the gradients are not (they are the result).</summary>
    /// <exception cref="ArithmeticException">The loss is NaN or infinite; nothing was changed, Gradients included.</exception>
    /// <exception cref="InvalidOperationException">Another thread is inside a call on this instance; nothing was changed.</exception>
    float ComputeGradients(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, int batch);
    /// <summary>Forward and loss only: a non-finite loss is returned, not thrown. In training mode it updates the running
    /// statistics and advances <see cref="IModel.DropoutStep"/> like <see cref="IModel.Predict"/>.</summary>
    float Loss(ReadOnlySpan<float> input, ReadOnlySpan<TTarget> target, int batch);
}

/// <summary>Updates a contiguous parameter block from its gradient block.</summary>
public interface IOptimizer
{
    void Step(Span<float> parameters, ReadOnlySpan<float> gradients);
}
