using Dl;
using static Dl.Ops;

// A model with a deliberate shape error (a [B, 3] hidden layer added to the [B, 4] input) and code that uses it: the
// build must report the DL diagnostic and nothing else.
var net = new Broken(new ModelOptions { Seed = 1, MaxBatch = 4 });
float loss = net.TrainStep(new float[16], new float[4], 4, new Sgd(0.1f));
Console.WriteLine(loss);

[Model]
public sealed partial class Broken
{
    [Param(4)] Tensor scale;

    [Forward]
    Tensor Forward([Shape(4)] Tensor x) => Linear(x, 3, name: "hidden") + x * scale;

    [Loss]
    Tensor Loss(Tensor y, [Shape(1)] Tensor target) => MseLoss(Sum(y), target);
}
