using Dl;
using static Dl.Ops;

namespace DlConsole;

/// <summary>A Fashion-MNIST classifier: 784 pixels → 256 ReLU units → 10 class scores. Dl's source generator turns
/// this class into forward, backward and training code for exactly these shapes when the project builds; a mistake
/// (a shape that does not fit, a width that is not a constant) is a DL error at the line that causes it.</summary>
[Model]
public sealed partial class Classifier
{
    [Forward]
    Tensor Forward([Shape(784)] Tensor image) =>
        Linear(Relu(Linear(image, 256, name: "hidden")), 10, name: "output");

    [Loss]
    Tensor Loss(Tensor scores, [Labels(10)] Tensor label) => SoftmaxCrossEntropy(scores, label);
}
