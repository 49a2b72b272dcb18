namespace Dl;

/// <summary>
/// A learning rate as a function of a tick t (0-based): the number of schedule steps taken so far, as PyTorch counts
/// <c>scheduler.step()</c> calls. Who ticks decides the unit: <see cref="Training.Trainer{TTarget}"/> ticks once per
/// optimizer step (<see cref="Training.ScheduleUnit.Step"/>, the default) or once per epoch
/// (<see cref="Training.ScheduleUnit.Epoch"/>); a hand-written loop passes its epoch or its step to <see cref="At"/>.
/// Every schedule here is a pure function of t, so a run's position in its schedule is just t (what a checkpoint
/// saves), and the same schedule serves per-epoch and per-step use.
/// </summary>
public interface ILearningRateSchedule
{
    /// <summary>η at tick <paramref name="t"/> (0-based: the epoch, or the optimizer step).</summary>
    float At(long t);
}

/// <summary>Step decay: η(t) = η₀ · γ^⌊t / stepSize⌋ (PyTorch <c>StepLR</c>).</summary>
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

    public float At(long t)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(t);
        return (float)(Initial * Math.Pow(Gamma, t / StepSize));
    }
}

/// <summary>Exponential decay: η(t) = η₀ · γ^t (PyTorch <c>ExponentialLR</c>).</summary>
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

    public float At(long t)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(t);
        return (float)(Initial * Math.Pow(Gamma, t));
    }
}

/// <summary>Cosine annealing from η₀ to η_min over <see cref="Period"/> ticks:
/// η(t) = η_min + (η₀ − η_min) · ½ (1 + cos(π · min(t, T) / T)) (PyTorch <c>CosineAnnealingLR</c> with T_max = T; past T the
/// rate stays at η_min, where PyTorch's would climb again).</summary>
public sealed class CosineAnnealing : ILearningRateSchedule
{
    public CosineAnnealing(float initial, long period, float minimum = 0)
    {
        Schedules.RequireRate(initial, nameof(initial));
        Schedules.RequireRate(minimum, nameof(minimum));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(period);
        Initial = initial;
        Period = period;
        Minimum = minimum;
    }

    public float Initial { get; }
    public long Period { get; }
    public float Minimum { get; }

    public float At(long t)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(t);
        return Schedules.Cosine(Initial, Minimum, (double)Math.Min(t, Period) / Period);
    }
}

/// <summary>
/// A linear warm-up then a cosine decay, per step: η(t) = η_peak · (t + 1) / W for t &lt; W, then
/// η(t) = η_min + (η_peak − η_min) · ½ (1 + cos(π · (t − W) / (T − W))) up to the last step T − 1, and η_min from T on.
/// In PyTorch: <c>SequentialLR([LinearLR(start_factor=1/W, total_iters=W−1), CosineAnnealingLR(T_max=T−W, eta_min)],
/// milestones=[W])</c>. W = 0 is a plain cosine from η_peak.
/// </summary>
public sealed class WarmupCosine : ILearningRateSchedule
{
    /// <param name="peak">η_peak, reached at the last warm-up step and where the cosine starts.</param>
    /// <param name="warmupSteps">W, the ticks of the linear warm-up (0: none).</param>
    /// <param name="totalSteps">T, the ticks of the whole run (warm-up included); T &gt; W.</param>
    /// <param name="minimum">η_min, where the cosine ends.</param>
    public WarmupCosine(float peak, long warmupSteps, long totalSteps, float minimum = 0)
    {
        Schedules.RequireRate(peak, nameof(peak));
        Schedules.RequireRate(minimum, nameof(minimum));
        ArgumentOutOfRangeException.ThrowIfNegative(warmupSteps);
        if (totalSteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps,
                $"The run has {totalSteps} steps; it needs more than the {warmupSteps} warm-up steps.");
        Peak = peak;
        WarmupSteps = warmupSteps;
        TotalSteps = totalSteps;
        Minimum = minimum;
    }

    public float Peak { get; }
    public long WarmupSteps { get; }
    public long TotalSteps { get; }
    public float Minimum { get; }

    public float At(long t)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(t);
        if (t < WarmupSteps) return Peak * (t + 1) / WarmupSteps;   // in float, as the CLI's recipes always computed it
        double progress = (double)Math.Min(t - WarmupSteps, TotalSteps - WarmupSteps) / (TotalSteps - WarmupSteps);
        return Schedules.Cosine(Peak, Minimum, progress);
    }
}

/// <summary>How <see cref="OneCycle"/> moves between its rates.</summary>
public enum AnnealStrategy { Cosine, Linear }

/// <summary>
/// The one-cycle policy (Smith and Topin; PyTorch <c>OneCycleLR</c> with <c>cycle_momentum=False</c>): from
/// η_max / divFactor up to η_max over the first pctStart · T ticks, then down to η_max / (divFactor · finalDivFactor) at
/// tick T − 1 (with threePhase: back to η_max / divFactor at 2 · pctStart · T − 2, then down to the minimum). Each phase
/// runs from its start tick s to its end tick e (PyTorch's: pctStart · T − 1, then T − 1) with
/// pct = (t − s) / (e − s) and cosine η = end + (start − end) · ½ (1 + cos(π · pct)) or linear η = start + (end − start) · pct.
/// Past the last tick the rate stays at the minimum (PyTorch raises).
/// </summary>
public sealed class OneCycle : ILearningRateSchedule
{
    private readonly (double End, double StartRate, double EndRate)[] _phases;

    public OneCycle(float maxRate, long totalSteps, double pctStart = 0.3, AnnealStrategy anneal = AnnealStrategy.Cosine,
        double divFactor = 25, double finalDivFactor = 1e4, bool threePhase = false)
    {
        Schedules.RequireRate(maxRate, nameof(maxRate));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(totalSteps);
        if (!(pctStart > 0 && pctStart < 1))
            throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "pctStart must be in (0, 1).");
        if (!(divFactor > 0) || !double.IsFinite(divFactor))
            throw new ArgumentOutOfRangeException(nameof(divFactor), divFactor, "divFactor must be finite and > 0.");
        if (!(finalDivFactor > 0) || !double.IsFinite(finalDivFactor))
            throw new ArgumentOutOfRangeException(nameof(finalDivFactor), finalDivFactor, "finalDivFactor must be finite and > 0.");
        MaxRate = maxRate;
        TotalSteps = totalSteps;
        PctStart = pctStart;
        Anneal = anneal;
        InitialRate = maxRate / divFactor;
        MinimumRate = InitialRate / finalDivFactor;
        // PyTorch's phase ends, as floats: float(pct_start * total_steps) - 1, ...
        double up = pctStart * totalSteps - 1;
        _phases = threePhase
            ? [(up, InitialRate, maxRate), (2 * pctStart * totalSteps - 2, maxRate, InitialRate), (totalSteps - 1, InitialRate, MinimumRate)]
            : [(up, InitialRate, maxRate), (totalSteps - 1, maxRate, MinimumRate)];
        for (int i = 0; i < _phases.Length; i++)
        {
            double start = i == 0 ? 0 : _phases[i - 1].End;
            if (!(_phases[i].End > start))
                throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps,
                    $"OneCycle: phase {i + 1} of {_phases.Length} would be empty ({totalSteps} steps with pctStart {pctStart}); use more steps.");
        }
    }

    public float MaxRate { get; }
    public long TotalSteps { get; }
    public double PctStart { get; }
    public AnnealStrategy Anneal { get; }
    /// <summary>η_max / divFactor, the rate at tick 0.</summary>
    public double InitialRate { get; }
    /// <summary>η_max / (divFactor · finalDivFactor), the rate at the last tick.</summary>
    public double MinimumRate { get; }

    public float At(long t)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(t);
        if (t >= TotalSteps) return (float)MinimumRate;
        double start = 0;
        for (int i = 0; i < _phases.Length; i++)
        {
            (double end, double from, double to) = _phases[i];
            if (t <= end || i == _phases.Length - 1)
            {
                double pct = (t - start) / (end - start);
                return Anneal == AnnealStrategy.Cosine
                    ? (float)(to + (from - to) / 2.0 * (Math.Cos(Math.PI * pct) + 1))
                    : (float)((to - from) * pct + from);
            }
            start = end;
        }
        return (float)MinimumRate;   // not reached
    }
}

/// <summary>Applying a schedule to an optimizer.</summary>
public static class Schedules
{
    /// <summary>Sets <paramref name="optimizer"/>'s learning rate to <c>schedule.At(t)</c> and returns it.</summary>
    public static float Apply(this ILearningRateSchedule schedule, Optimizer optimizer, long t)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        ArgumentNullException.ThrowIfNull(optimizer);
        float lr = schedule.At(t);
        optimizer.LearningRate = lr;
        return lr;
    }

    internal static float Cosine(double from, double to, double progress) =>
        (float)(to + (from - to) * 0.5 * (1 + Math.Cos(Math.PI * progress)));

    internal static void RequireRate(float value, string name)
    {
        if (!(value >= 0) || !float.IsFinite(value))
            throw new ArgumentOutOfRangeException(name, value, $"The learning rate {name} must be finite and >= 0.");
    }

    internal static void RequireGamma(float gamma)
    {
        if (!(gamma > 0 && gamma <= 1))
            throw new ArgumentOutOfRangeException(nameof(gamma), gamma, "The decay factor gamma must be in (0, 1].");
    }
}
