// issue 13: [Model] on two partial declarations of one class was CS8785 (two outputs with one hint name), dropping every model
[Model] partial class M { [Param(4)] Tensor w; }
[Model] partial class M
{
    [Forward] Tensor Forward([Shape(4)] Tensor x) => Linear(x * w, 3, "fc");
    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}
[Model] partial class Other
{
    [Forward] Tensor Forward([Shape(4)] Tensor x) => Linear(x, 2, "fc");
}
