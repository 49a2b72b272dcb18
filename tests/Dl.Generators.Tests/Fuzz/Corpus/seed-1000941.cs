// fuzz seed 1000941: Hang: more than 60 s
[Model] partial class M
{
    [Param(3, 7)] Tensor w0;
    [Forward] Tensor Forward([Shape(3, 7)] Tensor x)
    {
        var h0 = x + w0;
        var h1 = SelfAttention(h0, 1, "l0");
        var h2 = SelfAttention(h1, 1, "l1");
        var h3 = Gru(h2, 4, "l2");
        var h4 = h3;
        for (int i = 0; i < 1024; i++) h4 = h4 * 0.5f + h3;
        return Linear(Flatten(h4), 4, "head");
    }
    [Loss] Tensor Loss(Tensor y, [Shape(4)] Tensor t) => HalfSquaredError(y, t);
}
