namespace Dl;

/// <summary>
/// Parameter initializers. Each parameter draws from its own stream
/// <see cref="DlRandom.ForStream"/>(seed, parameter name), so a generated model and the dynamic tape get
/// identical weights whatever order their parameters are created in.
/// </summary>
/// <remarks>
/// Glorot/Xavier uniform U[-a, a], a = √(6 / (fan_in + fan_out)); Glorot normal N(0, 2 / (fan_in + fan_out));
/// He/Kaiming uniform U[-a, a], a = √(6 / fan_in); He normal N(0, 2 / fan_in); Uniform U[-scale, scale];
/// Zeros; Constant(scale). <see cref="Init.Default"/> is zeros for a parameter whose name ends with ".bias"
/// and Glorot uniform otherwise.
/// </remarks>
public static class Initializers
{
    /// <summary>Initializes one parameter from the stream keyed by (<paramref name="seed"/>, <c>parameter.Name</c>),
    /// using its <see cref="ParameterInfo.Init"/>, <see cref="ParameterInfo.Scale"/>, fan-in and fan-out.</summary>
    /// <exception cref="ArgumentException">The destination length differs from the parameter's element count.</exception>
    public static void Fill(Span<float> destination, ParameterInfo parameter, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        if (destination.Length != parameter.Length)
            throw new ArgumentException(
                $"Parameter '{parameter.Name}' {parameter.ShapeText} has {parameter.Length} elements but the destination has {destination.Length}.",
                nameof(destination));
        Init init = Resolve(parameter.Init, parameter.Name);
        int fanIn = parameter.FanIn, fanOut = parameter.FanOut;
        if (fanIn <= 0 || fanOut <= 0) (fanIn, fanOut) = FansFromShape(parameter.Shape);
        try
        {
            Fill(destination, init, parameter.Scale, fanIn, fanOut, DlRandom.ForStream(seed, parameter.Name));
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"Cannot initialize parameter '{parameter.Name}' {parameter.ShapeText}: {e.Message}", nameof(parameter), e);
        }
    }

    /// <summary>Fills <paramref name="destination"/> by <paramref name="init"/> drawing from <paramref name="random"/>.
    /// <see cref="Init.Default"/> means Glorot uniform here (this overload has no parameter name to detect a bias).</summary>
    public static void Fill(Span<float> destination, Init init, float scale, int fanIn, int fanOut, DlRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        switch (init)
        {
            case Init.Zeros:
                destination.Clear();
                return;
            case Init.Constant:
                RequireFinite(scale, "Init.Constant needs a finite Scale (the constant value)");
                destination.Fill(scale);
                return;
            case Init.Uniform:
                if (!(scale > 0) || !float.IsFinite(scale))
                    throw new ArgumentOutOfRangeException(nameof(scale), scale, "Init.Uniform needs a finite Scale > 0 (the bound a of U[-a, a]).");
                FillUniform(destination, scale, random);
                return;
            case Init.Default:
            case Init.GlorotUniform:
                RequireFans(fanIn, fanOut, init);
                FillUniform(destination, (float)Math.Sqrt(6.0 / ((double)fanIn + fanOut)), random);
                return;
            case Init.GlorotNormal:
                RequireFans(fanIn, fanOut, init);
                FillNormal(destination, Math.Sqrt(2.0 / ((double)fanIn + fanOut)), random);
                return;
            case Init.HeUniform:
                RequireFans(fanIn, 1, init);
                FillUniform(destination, (float)Math.Sqrt(6.0 / fanIn), random);
                return;
            case Init.Normal:
                if (!(scale > 0) || !float.IsFinite(scale))
                    throw new ArgumentOutOfRangeException(nameof(scale), scale, "Init.Normal needs a finite Scale > 0 (the standard deviation).");
                FillNormal(destination, scale, random);
                return;
            case Init.HeNormal:
                RequireFans(fanIn, 1, init);
                FillNormal(destination, Math.Sqrt(2.0 / fanIn), random);
                return;
            default:
                throw new ArgumentOutOfRangeException(nameof(init), init, "Unknown initializer.");
        }
    }

    /// <summary>The initializer <see cref="Init.Default"/> stands for: zeros for "*.bias" (or a parameter named "bias"), Glorot uniform otherwise.</summary>
    public static Init Resolve(Init init, string name)
    {
        if (init != Init.Default) return init;
        return name.EndsWith(".bias", StringComparison.Ordinal) || name == "bias" ? Init.Zeros : Init.GlorotUniform;
    }

    /// <summary>Fan-in and fan-out by the convention of <see cref="Init"/>: the last dim is fan-in and the one before
    /// it fan-out (a linear weight [out, in]); a vector or scalar uses its length for both.</summary>
    public static (int FanIn, int FanOut) FansFromShape(ReadOnlySpan<int> shape)
    {
        if (shape.Length >= 2) return (shape[^1], shape[^2]);
        int n = shape.Length == 1 ? shape[0] : 1;
        return (Math.Max(n, 1), Math.Max(n, 1));
    }

    // U[-a, a): 2u - 1 is exact for u = k·2⁻²⁴, so the result never reaches +a.
    private static void FillUniform(Span<float> destination, float a, DlRandom random)
    {
        for (int i = 0; i < destination.Length; i++)
            destination[i] = a * (2f * random.NextFloat() - 1f);
    }

    private static void FillNormal(Span<float> destination, double std, DlRandom random)
    {
        for (int i = 0; i < destination.Length; i++)
            destination[i] = (float)(std * random.NextNormal());
    }

    private static void RequireFans(int fanIn, int fanOut, Init init)
    {
        if (fanIn <= 0 || fanOut <= 0)
            throw new ArgumentOutOfRangeException(nameof(fanIn),
                $"{init} needs positive fan-in and fan-out; got fan_in = {fanIn}, fan_out = {fanOut}.");
    }

    private static void RequireFinite(float value, string message)
    {
        if (!float.IsFinite(value)) throw new ArgumentOutOfRangeException(nameof(value), value, message);
    }
}
