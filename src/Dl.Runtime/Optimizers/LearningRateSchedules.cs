namespace Dl;

/// <summary>A learning rate as a function of the epoch (0-based).</summary>
public interface ILearningRateSchedule
{
    float At(int epoch);
}

/// <summary>Step decay: η(e) = η₀ · γ^⌊e / stepSize⌋ (PyTorch <c>StepLR</c>).</summary>
public sealed class StepDecay : ILearningRateSchedule
{
    public StepDecay(float initial, int stepSize, float gamma = 0.1f)
    {
        Schedules.RequireRate(initial, nameof(initial));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(stepSize);
        Schedules.RequireGamma(gamma);
        Initial = initial;
        StepSize = stepSize;
        Gamma = gamma;
    }

    public float Initial { get; }
    public int StepSize { get; }
    public float Gamma { get; }

    public float At(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return (float)(Initial * Math.Pow(Gamma, epoch / StepSize));
    }
}

/// <summary>Exponential decay: η(e) = η₀ · γ^e (PyTorch <c>ExponentialLR</c>).</summary>
public sealed class ExponentialDecay : ILearningRateSchedule
{
    public ExponentialDecay(float initial, float gamma)
    {
        Schedules.RequireRate(initial, nameof(initial));
        Schedules.RequireGamma(gamma);
        Initial = initial;
        Gamma = gamma;
    }

    public float Initial { get; }
    public float Gamma { get; }

    public float At(int epoch)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(epoch);
        return (float)(Initial * Math.Pow(Gamma, epoch));
    }
}

/// <summary>Applying a schedule to an optimizer.</summary>
public static class Schedules
{
    /// <summary>Sets <paramref name="optimizer"/>'s learning rate to <c>schedule.At(epoch)</c> and returns it.</summary>
    public static float Apply(this ILearningRateSchedule schedule, Optimizer optimizer, int epoch)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(optimizer);
        float lr = schedule.At(epoch);
        optimizer.LearningRate = lr;
        return lr;
    }

    internal static void RequireRate(float value, string name)
    {
        if (!(value >= 0) || !float.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, "The initial learning rate must be finite and >= 0.");
    }

    internal static void RequireGamma(float gamma)
    {
        if (!(gamma > 0 && gamma <= 1))
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "The decay factor gamma must be in (0, 1].");
    }
}
