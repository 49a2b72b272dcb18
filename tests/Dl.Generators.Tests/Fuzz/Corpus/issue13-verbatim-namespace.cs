// issue 13: a namespace named with a verbatim identifier was CS8785 (the hint name held '@')
namespace @class.X;
[Model] partial class M
{
    [Param(4)] Tensor @if;
    [Forward] Tensor Forward([Shape(4)] Tensor @int) => Linear(@int * @if, 3, "fc\u2028\r\n1");
    [Loss] Tensor Loss(Tensor y, [Shape(3)] Tensor t) => MseLoss(y, t);
}
