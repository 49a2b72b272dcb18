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
