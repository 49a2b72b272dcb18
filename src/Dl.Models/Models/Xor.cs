using static Dl.Ops;

namespace Dl.Models;

/// <summary>The 2-2-1 network that learns XOR: y = σ(W₂ σ(W₁ x + b₁) + b₂), mean squared error
/// (the <c>xor_2_2_1</c> workload). A single perceptron cannot represent XOR; one hidden layer of two units can.</summary>
[Model]
public sealed partial class XorNet
{
    [Forward]
    Tensor Forward([Shape(2)] Tensor x) => Sigmoid(Linear(Sigmoid(Linear(x, 2, name: "hidden")), 1, name: "output"));

    [Loss]
    Tensor Loss(Tensor y, [Shape(1)] Tensor target) => MseLoss(y, target);
}

/// <summary>The course notes' sigmoid neuron in the math style: f(w, x) = 1 / (1 + e^-(w₀x₀ + w₁x₁ + w₂)),
/// with the notes' squared error ½(f - t)².</summary>
[Model]
public sealed partial class SigmoidNeuron
{
    [Param(3)] Tensor w;

    [Forward]
    Tensor Forward([Shape(2)] Tensor x) => 1f / (1f + Exp(-(w[0] * x[0] + w[1] * x[1] + w[2])));

    [Loss]
    Tensor Loss(Tensor f, [Shape] Tensor t) => 0.5f * Square(f - t);
}

/// <summary>A single-layer perceptron with the step activation g(z) = 1 if z &gt; 0 else 0, trained by the perceptron
/// learning rule (<see cref="PerceptronTrainer"/>): it learns AND and OR, and never XOR (Minsky and Papert, 1969).</summary>
[Model]
public sealed partial class LogicPerceptron
{
    [Param(2, Init = Init.Zeros)] Tensor w;
    [Param(Init = Init.Zeros)] Tensor b;

    [Forward]
    Tensor Forward([Shape(2)] Tensor x) => Step(Sum(w * x) + b);
}
