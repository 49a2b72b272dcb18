namespace Dl.Dynamic;

/// <summary>The floating-point type the dynamic tape computes in.</summary>
public enum Precision
{
    /// <summary>float: the precision of the generated models (for side-by-side comparison and benchmarks).</summary>
    Single,
    /// <summary>double: the test oracle (finite differences, traces for hand calculations).</summary>
    Double,
}

/// <summary>
/// A model whose source can run on the dynamic tape. Implemented by the generated half of every <c>[Model]</c> class
/// (and by hand in tests): <see cref="DynamicForward"/> binds the <c>[Param]</c> fields through
/// <see cref="DynamicContext.Parameter"/> and calls the user's <c>[Forward]</c>; <see cref="DynamicLoss"/> calls the
/// user's <c>[Loss]</c>.
/// </summary>
public interface IDynamicSource
{
    /// <summary>Runs the forward pass on the tape: one batched tensor per model input, in declaration order.</summary>
    Tensor DynamicForward(ReadOnlySpan<Tensor> inputs);

    /// <summary>The per-sample loss of <paramref name="output"/> against <paramref name="target"/>.</summary>
    /// <exception cref="NotSupportedException">The model declares no <c>[Loss]</c>.</exception>
    Tensor DynamicLoss(Tensor output, Tensor target);
}

/// <summary>A model type that describes itself statically and can make a buffer-less instance to run its source.</summary>
public interface IDynamicSource<TSelf> : IDynamicSource where TSelf : IDynamicSource<TSelf>
{
    /// <summary>Parameters, inputs, target and output shape, as the generator emits them.</summary>
    static abstract ModelDescription StaticDescription { get; }

    /// <summary>An instance that allocates no buffers, only for running the model's source on the tape.</summary>
    static abstract TSelf CreateShell();
}

/// <summary>Creates dynamic-tape models: <c>Dynamic.Create&lt;FashionMlp&gt;(seed: 1)</c> starts from the same weights as
/// <c>new FashionMlp(new ModelOptions { Seed = 1 })</c>.</summary>
/// <remarks>Code inside a namespace under <c>Dl</c> sees the namespace <c>Dl.Dynamic</c> before this class: there, write
/// <c>Dl.Dynamic.Dynamic.Create</c> or put <c>using Dl.Dynamic;</c> inside the namespace declaration.</remarks>
public static class Dynamic
{
    /// <summary>The model <typeparamref name="T"/> on the tape, parameters initialized from <paramref name="seed"/>
    /// exactly as the generated model initializes them (in double precision: the same floats, widened).</summary>
    public static DynamicModel Create<T>(ulong seed = 0, Precision precision = Precision.Single) where T : IDynamicSource<T>
        => new(T.StaticDescription, T.CreateShell(), seed, precision);

    /// <summary>A model on the tape from an explicit description and source.</summary>
    public static DynamicModel Create(ModelDescription description, IDynamicSource source, ulong seed = 0, Precision precision = Precision.Single)
        => new(description, source, seed, precision);
}
