using static Dl.Ops;

namespace Dl.Tests.DynamicTape;

using Dl.Dynamic;

/// <summary>Builds descriptions the way the generator would: parameters packed in declaration order.</summary>
internal static class Describe
{
    public static ParameterInfo[] Pack(params (string Name, int[] Shape, Init Init)[] parameters)
    {
        var result = new ParameterInfo[parameters.Length];
        int offset = 0;
        for (int i = 0; i < parameters.Length; i++)
        {
            (string name, int[] shape, Init init) = parameters[i];
            int fanIn = shape.Length >= 2 ? shape[^1] : shape.Length == 1 ? shape[0] : 1;
            int fanOut = shape.Length >= 2 ? shape[^2] : 1;
            result[i] = new ParameterInfo(name, shape, offset, init, 0.5f, fanIn, fanOut);
            offset += result[i].Length;
        }
        return result;
    }

    public static (string, int[], Init) Linear(string layer, int inF, int outF, out (string, int[], Init) bias)
    {
        bias = (layer + ".bias", [outF], Init.Zeros);
        return (layer + ".weight", [outF, inF], Init.GlorotUniform);
    }
}

/// <summary>The course notes' neuron f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)), written with primitive ops.</summary>
internal sealed class Neuron : IDynamicSource<Neuron>
{
    public static ModelDescription StaticDescription { get; } = new()
    {
        Name = nameof(Neuron),
        Parameters = Describe.Pack(("w", [3], Init.Zeros)),
        Inputs = [new InputInfo("x", [2])],
        Target = null,
        OutputShape = [],
        Layers = [],
    };

    public static Neuron CreateShell() => new();

    public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs)
    {
        Tensor w = DynamicContext.Current.Parameter("w");
        Tensor x = inputs[0];
        return 1f / (1f + Exp(-(w[0] * x[0] + w[1] * x[1] + w[2])));
    }

    public Tensor DynamicLoss(Tensor output, Tensor target) => throw new NotSupportedException("Neuron declares no [Loss].");
}

/// <summary>in → hidden (ReLU) → classes, softmax cross-entropy on labels.</summary>
internal sealed class Mlp : IDynamicSource<Mlp>
{
    public const int In = 6, Hidden = 5, Classes = 3;

    public static ModelDescription StaticDescription { get; } = Make(In, Hidden, Classes);

    public static ModelDescription Make(int inputs, int hidden, int classes) => new()
    {
        Name = nameof(Mlp),
        Parameters = Describe.Pack(Describe.Linear("fc1", inputs, hidden, out var b1), b1, Describe.Linear("fc2", hidden, classes, out var b2), b2),
        Inputs = [new InputInfo("x", [inputs])],
        Target = new InputInfo("y", [], classes),
        OutputShape = [classes],
        Layers = [],
    };

    public static Mlp CreateShell() => new();

    public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs)
    {
        Tensor x = inputs[0];
        int classes = DynamicContext.Current.Description.OutputShape[0];
        return Linear(Relu(Linear(x, DynamicContext.Current.Description.Parameters[0].Shape[0], "fc1")), classes, "fc2");
    }

    public Tensor DynamicLoss(Tensor output, Tensor target) => SoftmaxCrossEntropy(output, target);
}

/// <summary>A model given by two delegates, for the many small graphs the tests need.</summary>
internal sealed class Lambda(Func<DynamicContext, Tensor[], Tensor> forward, Func<Tensor, Tensor, Tensor>? loss = null) : IDynamicSource
{
    public Tensor DynamicForward(ReadOnlySpan<Tensor> inputs) => forward(DynamicContext.Current, inputs.ToArray());

    public Tensor DynamicLoss(Tensor output, Tensor target)
        => loss is null ? throw new NotSupportedException("no [Loss]") : loss(output, target);

    public static DynamicModel Create(ParameterInfo[] parameters, InputInfo[] inputs, int[] output, InputInfo? target,
        Func<DynamicContext, Tensor[], Tensor> forward, Func<Tensor, Tensor, Tensor>? loss, Precision precision = Precision.Double, ulong seed = 7)
    {
        var description = new ModelDescription
        {
            Name = "Lambda",
            Parameters = parameters,
            Inputs = inputs,
            Target = target,
            OutputShape = output,
            Layers = [],
        };
        return Dl.Dynamic.Dynamic.Create(description, new Lambda(forward, loss), seed, precision);
    }
}
