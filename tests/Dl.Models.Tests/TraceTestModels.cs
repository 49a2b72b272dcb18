using static Dl.Ops;

namespace Dl.Tests;

/// <summary>The course notes' f(x, y, z) = (x + y) z: no parameters, three inputs; traced and differentiated with respect
/// to its inputs (at x = -2, y = 5, z = -4: q = 3, f = -12, df/dx = df/dy = z = -4, df/dz = q = 3).</summary>
[Model]
public sealed partial class NotesAddMultiply
{
    [Forward]
    Tensor Forward([Shape(1)] Tensor x, [Shape(1)] Tensor y, [Shape(1)] Tensor z)
    {
        var q = x + y;
        var f = q * z;
        return f;
    }
}

/// <summary>A loss that depends on no parameter (½ (f − t)² of the notes' f): Loss and Trace, nothing to train.</summary>
[Model]
public sealed partial class NotesSquaredError
{
    [Forward]
    Tensor Forward([Shape(1)] Tensor x, [Shape(1)] Tensor y, [Shape(1)] Tensor z)
    {
        var q = x + y;
        return q * z;
    }

    [Loss]
    Tensor Loss(Tensor f, [Shape(1)] Tensor t)
    {
        var error = f - t;
        var half = 0.5f * Square(error);
        return Sum(half);
    }
}

/// <summary>Locals to look up, a named layer assigned to a local, a reassigned local, batch norm (evaluation mode reads the
/// running statistics) and a forward-only op (Step) after the output's layer.</summary>
[Model]
public sealed partial class TraceLocals
{
    [Forward]
    Tensor Forward([Shape(3)] Tensor x)
    {
        var h = Linear(x, 4, name: "fc1");
        var normed = BatchNorm(h, "bn");
        var a = Tanh(normed);
        a = Sigmoid(a);
        var logits = Linear(a, 2, name: "fc2");
        return logits;
    }

    [Loss] Tensor Loss(Tensor logits, [Labels(2)] Tensor label) => SoftmaxCrossEntropy(logits, label);
}

/// <summary>No loss, and a forward-only op (Step has no gradient): a values-only trace.</summary>
[Model]
public sealed partial class StepOutput
{
    [Forward]
    Tensor Forward([Shape(3)] Tensor x)
    {
        var z = Linear(x, 2, name: "fc");
        var fired = Step(z);
        return fired;
    }
}

/// <summary>Dropout between two layers: a trace in training mode draws the masks of the model's next training step.</summary>
[Model]
public sealed partial class TraceDropout
{
    [Forward]
    Tensor Forward([Shape(6)] Tensor x)
    {
        var h = Dropout(Tanh(Linear(x, 9, name: "fc1")), 0.4f);
        return Linear(h, 3, name: "fc2");
    }

    [Loss] Tensor Loss(Tensor logits, [Labels(3)] Tensor label) => SoftmaxCrossEntropy(logits, label);
}
