// fuzz seed 1000193: Hang: more than 60 s
[Model] partial class M
{
    [Forward] Tensor Forward([Shape(9)] Tensor x)
    {
        var h0 = Linear(x, 7, "l0");
        var h1 = h0;
        for (int i = 0; i < 1024; i++) h1 = h1 * 0.5f + h0;
        return Linear(h1, 2, "head");
    }
    [Loss] Tensor Loss(Tensor y, [Labels(2)] Tensor t) => SoftmaxCrossEntropy(y, t);
}
