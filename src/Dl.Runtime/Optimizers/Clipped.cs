namespace Dl;

/// <summary>
/// An optimizer decorator that clips a copy of the gradients, then delegates to <see cref="Inner"/>:
/// first by value (gᵢ ← clamp(gᵢ, −maxValue, maxValue)) when maxValue &gt; 0, then by norm
/// (g ← g·maxNorm / (‖g‖ + 10⁻⁶) when that factor is &lt; 1) when maxNorm &gt; 0. The caller's gradients are
/// never modified; the copy buffer is allocated once, on the first step.
/// </summary>
public sealed class Clipped : IOptimizer
{
    private float[]? _copy;

    public Clipped(IOptimizer inner, float maxNorm = 0, float maxValue = 0)
    {
        ArgumentNullException.ThrowIfNull(inner);
        if (!(maxNorm >= 0) || !float.IsFinite(maxNorm))
            throw new ArgumentOutOfRangeException(nameof(maxNorm), maxNorm, "maxNorm must be finite and >= 0 (0 disables norm clipping).");
        if (!(maxValue >= 0) || !float.IsFinite(maxValue))
            throw new ArgumentOutOfRangeException(nameof(maxValue), maxValue, "maxValue must be finite and >= 0 (0 disables value clipping).");
        if (maxNorm == 0 && maxValue == 0)
            throw new ArgumentException("Clipped needs maxNorm > 0, maxValue > 0, or both.", nameof(maxNorm));
        Inner = inner;
        MaxNorm = maxNorm;
        MaxValue = maxValue;
    }

    public IOptimizer Inner { get; }
    public float MaxNorm { get; }
    public float MaxValue { get; }

    /// <summary>The gradient norm of the last step, measured after value clipping and before norm clipping (NaN before the first step).</summary>
    public float LastNorm { get; private set; } = float.NaN;

    /// <summary>The inner optimizer's learning rate (requires an <see cref="Optimizer"/>).</summary>
    public float LearningRate
    {
        get => InnerOptimizer.LearningRate;
        set => InnerOptimizer.LearningRate = value;
    }

    private Optimizer InnerOptimizer => Inner as Optimizer
        ?? throw new NotSupportedException($"The inner optimizer {Inner.GetType().Name} has no LearningRate (it does not derive from Optimizer).");

    public void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (parameters.Length != gradients.Length)
            throw new ArgumentException(
                $"Clipped.Step: {parameters.Length} parameters but {gradients.Length} gradients; the two blocks must have the same length.",
                nameof(gradients));
        if (_copy is null)
        {
            if (gradients.Length == 0) return;
            _copy = new float[gradients.Length];
        }
        else if (_copy.Length != gradients.Length)
        {
            throw new ArgumentException(
                $"Clipped.Step: the gradient copy was allocated for {_copy.Length} parameters but this call passed {gradients.Length}.",
                nameof(gradients));
        }
        Span<float> copy = _copy;
        gradients.CopyTo(copy);
        if (MaxValue > 0) GradientClipping.ClipByValue(copy, MaxValue);
        LastNorm = MaxNorm > 0 ? GradientClipping.ClipByNorm(copy, MaxNorm) : GradientClipping.Norm(copy);
        Inner.Step(parameters, copy);
    }
}
