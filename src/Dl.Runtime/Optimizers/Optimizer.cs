namespace Dl;

/// <summary>
/// Base of the stateful optimizers: validates the parameter and gradient blocks, allocates the state on the first
/// <see cref="Step"/> (or on <see cref="Reset"/>), and then runs the update with no allocation.
/// </summary>
/// <remarks>The state is sized for one parameter block; a later call with a different length throws rather than
/// silently mixing states. Call <see cref="Reset"/> to start over with another block.</remarks>
public abstract class Optimizer : IOptimizer
{
    private float _learningRate;

    protected Optimizer(float learningRate) => LearningRate = learningRate;

    /// <summary>The step size η, settable between steps (learning-rate schedules set it once per epoch).</summary>
    public virtual float LearningRate
    {
        get => _learningRate;
        set
        {
            if (!(value >= 0) || !float.IsFinite(value))
                throw new ArgumentOutOfRangeException(nameof(value), value, "The learning rate must be finite and >= 0.");
            _learningRate = value;
        }
    }

    /// <summary>Number of <see cref="Step"/> calls since construction or the last <see cref="Reset"/> (PyTorch's <c>step</c>).</summary>
    public long StepCount { get; private set; }

    /// <summary>The parameter count the state was allocated for, or 0 before the first step.</summary>
    public int StateLength { get; private set; }

    /// <summary>Updates <paramref name="parameters"/> in place from <paramref name="gradients"/> (same length).</summary>
    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (parameters.Length != gradients.Length)
            throw new ArgumentException(
                $"{GetType().Name}.Step: {parameters.Length} parameters but {gradients.Length} gradients; the two blocks must have the same length.",
                nameof(gradients));
        if (StateLength == 0)
        {
            if (parameters.Length == 0) return;
            Reset(parameters.Length);
        }
        else if (parameters.Length != StateLength)
        {
            throw new ArgumentException(
                $"{GetType().Name}.Step: the optimizer state was allocated for {StateLength} parameters but this call passed {parameters.Length}. " +
                "Use one optimizer per parameter block, or call Reset(count) to start over.",
                nameof(parameters));
        }
        StepCount++;
        Update(parameters, gradients, StepCount);
    }

    /// <summary>Allocates (or zeroes) the state for <paramref name="count"/> parameters and restarts the step count.</summary>
    public void Reset(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        AllocateState(count);
        StateLength = count;
        StepCount = 0;
    }

    /// <summary>Allocates zeroed state for <paramref name="count"/> parameters (reusing it when the length is unchanged).</summary>
    protected abstract void AllocateState(int count);

    /// <summary>The names of the per-parameter state buffers, PyTorch's: <c>momentum_buffer</c> for <see cref="Sgd"/> with
    /// momentum, <c>exp_avg</c> and <c>exp_avg_sq</c> for <see cref="Adam"/> and <see cref="AdamW"/>; none for plain SGD.</summary>
    public virtual IReadOnlyList<string> StateNames => [];

    /// <summary>The state buffer <paramref name="name"/> (one of <see cref="StateNames"/>), laid out like the parameter
    /// block, once allocated (after the first step, <see cref="Reset"/> or <see cref="ImportState"/>); null before.</summary>
    protected virtual float[]? StateBuffer(string name) => null;

    /// <summary>A copy of everything the next <see cref="Step"/> depends on besides the parameters and gradients: the step
    /// count (Adam's bias corrections), the learning rate and every state buffer. With <see cref="ImportState"/> an
    /// optimizer continues exactly where another one (of the same type and settings) stopped.</summary>
    public OptimizerState ExportState()
    {
        var buffers = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (StateLength > 0)
        {
            foreach (string name in StateNames)
                buffers.Add(name, (float[])(StateBuffer(name) ?? throw new InvalidOperationException($"{GetType().Name}: state '{name}' is not allocated.")).Clone());
        }
        return new OptimizerState(GetType().Name, StepCount, LearningRate, StateLength, buffers);
    }

    /// <summary>Restores a state exported by <see cref="ExportState"/> from an optimizer of the same type: the step count,
    /// the learning rate and the buffers (copied). The hyperparameters (betas, momentum, weight decay) are this
    /// optimizer's own. Nothing changes when the state does not fit.</summary>
    /// <exception cref="ArgumentException">Another optimizer type, a buffer missing or extra, or buffers of different lengths.</exception>
    public void ImportState(OptimizerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        string type = GetType().Name;
        if (state.Optimizer != type)
            throw new ArgumentException($"The optimizer state is {state.Optimizer}'s; this optimizer is {type}.", nameof(state));
        if (state.StepCount < 0 || state.Length < 0)
            throw new ArgumentException($"The {type} state has step count {state.StepCount} and length {state.Length}; both must be >= 0.", nameof(state));
        IReadOnlyList<string> names = state.Length == 0 ? [] : StateNames;
        foreach (string name in names)
        {
            if (!state.Buffers.TryGetValue(name, out float[]? buffer))
                throw new ArgumentException($"The {type} state has no buffer '{name}' (it has: {Names(state)}); is it from a {type} with other settings?", nameof(state));
            if (buffer.Length != state.Length)
                throw new ArgumentException($"The {type} state buffer '{name}' has {buffer.Length} values; the state is for {state.Length} parameters.", nameof(state));
        }
        foreach (string name in state.Buffers.Keys)
        {
            if (!names.Contains(name))
                throw new ArgumentException($"The {type} state has a buffer '{name}' that this {type} does not keep (it keeps: {(StateNames.Count == 0 ? "none" : string.Join(", ", StateNames))}).", nameof(state));
        }
        LearningRate = state.LearningRate;
        if (state.Length == 0)
        {
            StateLength = 0;
            StepCount = state.StepCount;
            return;
        }
        Reset(state.Length);
        foreach (string name in names) state.Buffers[name].CopyTo(StateBuffer(name)!, 0);
        StepCount = state.StepCount;
    }

    private static string Names(OptimizerState state) => state.Buffers.Count == 0 ? "none" : string.Join(", ", state.Buffers.Keys);

    /// <summary>The update proper; <paramref name="step"/> is 1 on the first call. Must not allocate.</summary>
    protected abstract void Update(Span<float> parameters, ReadOnlySpan<float> gradients, long step);

    /// <summary>Reuses <paramref name="buffer"/> when it has <paramref name="count"/> elements (zeroing it), allocates otherwise.</summary>
    protected static float[] ZeroedBuffer(float[]? buffer, int count)
    {
        if (buffer is null || buffer.Length != count) return new float[count];
        Array.Clear(buffer);
        return buffer;
    }

    protected static float RequireNonNegative(float value, string name)
    {
        if (!(value >= 0) || !float.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be finite and >= 0.");
        return value;
    }

    protected static float RequireUnitInterval(float value, string name)
    {
        if (!(value >= 0 && value < 1))
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1).");
        return value;
    }
}

/// <summary>An optimizer's state (<see cref="Optimizer.ExportState"/>): its type name, <see cref="Optimizer.StepCount"/>,
/// learning rate, the parameter count the buffers are for (0 before the first step) and the buffers by name.</summary>
public sealed record OptimizerState(string Optimizer, long StepCount, float LearningRate, int Length, IReadOnlyDictionary<string, float[]> Buffers);
