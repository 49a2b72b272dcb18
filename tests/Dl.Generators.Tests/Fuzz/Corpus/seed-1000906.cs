// fuzz seed 1000906: Crash: Model0.cs(3,23): error DL0010: Internal generator error while compiling model 'M': IndexOutOfRangeException: Index was outside the bounds of the array.
[Model] partial class M
{
    [Param(, Init = Init.Uniform, Scale = 0f)] Tensor w0;
    [Forward] Tensor Forward([Shape(11)] Tensor x)
    {
        var h0 = Gelu(x);
        var h1 = h0[^1];
        var h2 = h1 * w0;
        return Linear(Reshape(h2, 1), 1, "head");
    }
    [Loss] Tensor Loss(Tensor y, [Shape(1)] Tensor t) => MseLoss(y, t);
}
