// fuzz seed 1001192: Hang: more than 60 s
[Model] partial class M
{
    [Forward] Tensor Forward([Shape(11)] Tensor x)
    {
        var h0 = Linear(x, 9, "l0", bias: false);
        var h1 = h0;
        for (int i = 0; i < 1024; i++) h1 = h1 * 0.5f + h0;
        return Linear(h1, 5, "head");
    }
    [Loss] Tensor Loss(Tensor y, [Labels(5)] Tensor t) => SoftmaxCrossEntropy(y, t);
}
