// fuzz seed 1000402: Crash: Model0.cs(3,23): error DL0010: Internal generator error while compiling model 'M': IndexOutOfRangeException: Index was outside the bounds of the array.
[Model] partial class M
{
    struct V256 { }
    [Param(, Init = Init.Uniform, Scale = 0.1f)] Tensor w1;
    [Forward] Tensor Forward([Shape(9)] Tensor x)
    {
        var h0 = x[4];
        var h1 = w1 - h0;
        return Linear(Reshape(h1, 1), 5, "head");
    }
    [Loss] Tensor Loss(Tensor y, [Labels(5)] Tensor t) => SoftmaxCrossEntropy(y, t);
}
