using static Dl.Ops;

namespace Dl.Models;

/// <summary>Fashion-MNIST classifier 784-128-10 with ReLU: logits = W₂ relu(W₁ x + b₁) + b₂,
/// trained with softmax cross-entropy on integer labels (the <c>mlp_784_128_10</c> workload).</summary>
/// <example><code>
/// var net = new FashionMlp(new ModelOptions { Seed = 1, MaxBatch = 64 });
/// float loss = net.TrainStep(images, labels, batch: 64, new Sgd(0.05f, momentum: 0.9f));
/// </code></example>
[Model]
public sealed partial class FashionMlp
{
    [Forward]
    Tensor Forward([Shape(784)] Tensor x) => Linear(Relu(Linear(x, 128, name: "fc1")), 10, name: "fc2");

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}

/// <summary>The wider MLP 784-1024-512-10 with ReLU (the <c>mlp_784_1024_512_10</c> workload).</summary>
[Model]
public sealed partial class WideMlp
{
    [Forward]
    Tensor Forward([Shape(784)] Tensor x)
    {
        var h1 = Relu(Linear(x, 1024, name: "fc1"));
        var h2 = Relu(Linear(h1, 512, name: "fc2"));
        return Linear(h2, 10, name: "fc3");
    }

    [Loss]
    Tensor Loss(Tensor logits, [Labels(10)] Tensor y) => SoftmaxCrossEntropy(logits, y);
}
