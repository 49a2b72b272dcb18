// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md). The
// generator checks a layer's constant arguments with these rules at build time (a DL0012 at the call), the runtime's
// kernels and the tape at run time (an ArgumentOutOfRangeException): one rule, so a model that builds never fails them
// at its first step.
namespace Dl;

/// <summary>Argument rules of layers, each returning null when the value is valid, else what was wrong and what is
/// expected (one clause, no final period).</summary>
public static class LayerRules
{
    /// <summary>Batch and layer normalization's ε, added to the variance: finite and ≥ 0, as PyTorch allows (0 normalizes
    /// exactly, and divides a constant row or channel by zero).</summary>
    public static string? NormEps(double eps) =>
        eps >= 0 && !double.IsInfinity(eps) ? null : $"eps is {eps}; expected a finite number ≥ 0 (typically 1e-5)";

    /// <summary>Group normalization's groups: positive and dividing the channels (PyTorch's nn.GroupNorm raises otherwise).</summary>
    public static string? Groups(int channels, int groups) =>
        groups >= 1 && channels % groups == 0 ? null : $"groups is {groups}; expected a positive divisor of the {channels} channels";

    /// <summary>A layer called with <c>shared: true</c> reuses the parameters of the earlier call of the same name (as a
    /// PyTorch module called again): there must be one, and its weight must have the shape this call needs.
    /// <paramref name="existing"/> is the earlier weight's shape, or null when no earlier layer has that name.</summary>
    public static string? Shared(string layer, int[]? existing, int[] needed) =>
        existing is null
            ? $"shared: true reuses the weights of an earlier layer named '{layer}', but there is none; call the layer once without shared: true first"
            : existing.Length == needed.Length && System.Linq.Enumerable.SequenceEqual(existing, needed) ? null
            : $"the shared layer '{layer}' has weight [{string.Join(", ", existing)}], but this call needs [{string.Join(", ", needed)}]";

    /// <summary>A second call of a layer name without <c>shared: true</c> (the generator's DL0008 on the tape).</summary>
    public static string Duplicate(string parameter) =>
        $"the parameter '{parameter}' is created twice: two layers have the same name; rename one, or pass shared: true to reuse the first layer's weights";

    /// <summary>The base of sinusoidal position encodings (frequencies base^(-2i/d)): finite and above 1 (at 1 every
    /// frequency is the same; below 1 they grow with i).</summary>
    public static string? PositionalBase(double @base) =>
        @base > 1 && !double.IsInfinity(@base) ? null : $"base is {@base}; expected a finite number above 1 (10000 in the paper)";

    /// <summary>How ops count axes, said wherever an axis is out of range: per sample, so the batch is not counted.</summary>
    public const string PerSampleAxes = "axes are per sample: 0 is the first axis after the batch (PyTorch's dim 1), -1 the last";

    /// <summary>The interval [min, max] of clamp and hardtanh: both finite, min ≤ max (PyTorch's F.hardtanh raises when
    /// min_val &gt; max_val; torch.clamp would return max everywhere, which is never meant).</summary>
    public static string? Bounds(double min, double max) =>
        double.IsNaN(min) || double.IsInfinity(min) || double.IsNaN(max) || double.IsInfinity(max) || min > max
            ? $"min is {Text(min)} and max is {Text(max)}; expected finite numbers with min ≤ max"
            : null;

    // Invariant, shortest round-trip text of a float constant (the generator and the runtime print the same).
    private static string Text(double v) => ((float)v).ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
