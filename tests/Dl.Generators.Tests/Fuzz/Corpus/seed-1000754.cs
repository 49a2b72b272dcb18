// fuzz seed 1000754: Hang: more than 60 s
[Model] partial class M
{
    [Forward] Tensor Forward([Shape(4, 3)] Tensor x)
    {
        var h0 = LayerNorm(x, "l0");
        var h1 = h0[^1];
        var h2 = h1;
        for (int i = 0; i < 1024; i++) h2 = h2 * 0.5f + h1;
        return Linear(h2, 5, "head");
    }
    [Loss] Tensor Loss(Tensor y, [Shape(5)] Tensor t) => MseLoss(y, t);
}
