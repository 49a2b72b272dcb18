using static Dl.Ops;

namespace Dl.Models;

/// <summary>D-GEX gene-expression regression (Chen et al., Bioinformatics 2016): 943 landmark genes in, 9520 target
/// genes out, two tanh hidden layers of 3000 and a linear output, mean squared error
/// (the <c>dgex_943_3000_9520</c> workload).</summary>
[Model]
public sealed partial class Dgex
{
    [Forward]
    Tensor Forward([Shape(943)] Tensor landmarks)
    {
        var h1 = Tanh(Linear(landmarks, 3000, name: "hidden1"));
        var h2 = Tanh(Linear(h1, 3000, name: "hidden2"));
        return Linear(h2, 9520, name: "output");
    }

    [Loss]
    Tensor Loss(Tensor prediction, [Shape(9520)] Tensor targets) => MseLoss(prediction, targets);
}
