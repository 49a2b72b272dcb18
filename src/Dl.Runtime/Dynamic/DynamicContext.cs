namespace Dl.Dynamic;

/// <summary>
/// The ambient state of a dynamic run: while a <see cref="DynamicModel"/> executes its source on the tape, model code
/// reaches the model's parameters through <see cref="Current"/> (one per thread, like PyTorch's grad mode).
/// </summary>
public sealed class DynamicContext
{
    [ThreadStatic] private static DynamicContext? t_current;

    private readonly DynamicModel _model;

    internal DynamicContext(DynamicModel model) => _model = model;

    /// <summary>The context of the dynamic run in progress on this thread.</summary>
    /// <exception cref="InvalidOperationException">No dynamic run is in progress.</exception>
    public static DynamicContext Current => t_current ?? throw new InvalidOperationException(
        "No dynamic model is running on this thread. Parameters and Linear layers are only available while a DynamicModel " +
        "runs its source (Predict, Loss, ComputeGradients, TrainStep, Trace); create one with Dynamic.Create<TModel>(), " +
        "and under the generator use the compiled model instead.");

    /// <summary>The running model's description.</summary>
    public ModelDescription Description => _model.Description;

    /// <summary>Whether the model runs in training mode (<see cref="DynamicModel.Training"/>).</summary>
    public bool Training => _model.Training;

    /// <summary>The parameter <paramref name="name"/> as an unbatched tensor viewing the model's parameter block; the same
    /// tensor for every call within one run, so uses accumulate their gradients.</summary>
    /// <exception cref="KeyNotFoundException">The description has no such parameter (the message lists the names).</exception>
    public Tensor Parameter(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _model.BindParameter(name);
    }

    /// <summary>Names <paramref name="value"/> after the local variable of model code it is assigned to, for
    /// <see cref="DynamicTrace.Find"/>; returns it. The generator wraps each assignment to a <see cref="Tensor"/> local of
    /// a <c>[Forward]</c> or <c>[Loss]</c> method in this call, in the copy of the method the tape runs; a node keeps the
    /// first name it gets. Costs one field write.</summary>
    [System.ComponentModel.EditorBrowsable(System.ComponentModel.EditorBrowsableState.Never)]
    public static Tensor Named(Tensor value, string name)
    {
        if (value is not null) value.Local ??= name;
        return value!;
    }

    /// <summary>The model seed (dropout masks are keyed by it).</summary>
    internal ulong Seed => _model.Seed;

    /// <summary>Training-mode forward passes before this one (dropout masks are keyed by it).</summary>
    internal long DropoutStep => _model.DropoutStep;

    /// <summary>The index of the next dropout op of this run, in call order (the generator numbers them in source order).</summary>
    internal int NextDropoutIndex() => _model.NextDropoutIndex();

    /// <summary>The state tensors <c>{layer}.running_mean</c> and <c>{layer}.running_var</c> of a batch norm layer.</summary>
    internal void RunningStatistics<T>(string layer, int channels, out Span<T> mean, out Span<T> variance) where T : unmanaged
        => _model.RunningStatistics(layer, channels, out mean, out variance);

    /// <summary>The parameters <c>{layer}.weight</c> and (when <paramref name="bias"/>) <c>{layer}.bias</c>.</summary>
    internal (Tensor Weight, Tensor? Bias) LinearParameters(string layer, bool bias) => _model.BindLinear(layer, bias, null);

    /// <summary>A linear layer's parameters: new in this run (a second use of the name throws, the generator's DL0008), or,
    /// when <paramref name="shared"/>, those an earlier call of this run bound (<c>LayerRules.Shared</c>).</summary>
    internal (Tensor Weight, Tensor? Bias) LinearParameters(string layer, bool bias, bool shared) => _model.BindLinear(layer, bias, shared);

    /// <summary>Makes this context current until the returned scope is disposed (restoring the previous one).</summary>
    internal Scope Enter()
    {
        DynamicContext? previous = t_current;
        t_current = this;
        return new Scope(previous);
    }

    internal readonly struct Scope(DynamicContext? previous) : IDisposable
    {
        public void Dispose() => t_current = previous;
    }
}
