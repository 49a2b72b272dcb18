using Dl;
using static Dl.Ops;

// A plain console app that added the Dl package: one model, trained full-batch on the quadrant task
// (label 1 where x0 and x1 have the same sign), printing the loss before and after training.
const int N = 256;
var random = new Random(7);
var inputs = new float[N * 2];
var targets = new float[N];
for (int i = 0; i < N; i++)
{
    float a = random.NextSingle() * 2 - 1, b = random.NextSingle() * 2 - 1;
    inputs[2 * i] = a;
    inputs[2 * i + 1] = b;
    targets[i] = a * b > 0 ? 1 : 0;
}

var net = new Quadrants(new ModelOptions { Seed = 1, MaxBatch = N });
var optimizer = new Adam(0.02f);
float first = net.TrainStep(inputs, targets, N, optimizer), last = first;
for (int step = 1; step < 300; step++) last = net.TrainStep(inputs, targets, N, optimizer);
Console.WriteLine($"vectorized: {Acceleration.IsVectorized}");
Console.WriteLine(FormattableString.Invariant($"first loss: {first:0.000000}"));
Console.WriteLine(FormattableString.Invariant($"last loss: {last:0.000000}"));

[Model]
public sealed partial class Quadrants
{
    [Forward]
    Tensor Forward([Shape(2)] Tensor x) => Linear(Tanh(Linear(x, 16, name: "hidden")), 1, name: "output");

    [Loss]
    Tensor Loss(Tensor logit, [Shape(1)] Tensor target) => BinaryCrossEntropyWithLogits(logit, target);
}
