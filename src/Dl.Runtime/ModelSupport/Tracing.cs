namespace Dl.Dynamic;

/// <summary>The trace behind a generated model's <c>Trace</c>: the same source re-run on the dynamic tape in double
/// precision with the generated model's current weights, recording every node's value and gradients.</summary>
public static class Tracing
{
    public static DynamicTrace Trace<TModel>(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, ReadOnlySpan<int> target, int batch)
        where TModel : IDynamicSource<TModel>
    {
        var t = new double[target.Length];
        for (int i = 0; i < t.Length; i++) t[i] = target[i];
        return Run<TModel>(parameters, input, t, batch);
    }

    public static DynamicTrace Trace<TModel>(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, ReadOnlySpan<float> target, int batch)
        where TModel : IDynamicSource<TModel>
    {
        var t = new double[target.Length];
        for (int i = 0; i < t.Length; i++) t[i] = target[i];
        return Run<TModel>(parameters, input, t, batch);
    }

    private static DynamicTrace Run<TModel>(ReadOnlySpan<float> parameters, ReadOnlySpan<float> input, double[] target, int batch)
        where TModel : IDynamicSource<TModel>
    {
        var model = Dynamic.Create<TModel>(0, Precision.Double);
        var p = model.ParametersDouble;
        if (p.Length != parameters.Length)
            throw new ArgumentException($"{parameters.Length} parameters given; {TModel.StaticDescription.Name} has {p.Length}.", nameof(parameters));
        for (int i = 0; i < p.Length; i++) p[i] = parameters[i];
        var x = new double[input.Length];
        for (int i = 0; i < x.Length; i++) x[i] = input[i];
        return model.Trace(x, target, batch);
    }
}
