using Dl.Dynamic;

namespace Dl;

// The operator and indexer surface of Tensor: what the math style of the course notes is written in.
public sealed partial class Tensor
{
    [Op(OpKind.Binary, typeof(AddOp))] public static Tensor operator +(Tensor a, Tensor b) => TapeOps.Binary<AddOp>(a, b);
    [Op(OpKind.Binary, typeof(AddOp))] public static Tensor operator +(Tensor a, float b) => TapeOps.Binary<AddOp>(a, b);
    [Op(OpKind.Binary, typeof(AddOp))] public static Tensor operator +(float a, Tensor b) => TapeOps.Binary<AddOp>(a, b);
    [Op(OpKind.Binary, typeof(SubtractOp))] public static Tensor operator -(Tensor a, Tensor b) => TapeOps.Binary<SubtractOp>(a, b);
    [Op(OpKind.Binary, typeof(SubtractOp))] public static Tensor operator -(Tensor a, float b) => TapeOps.Binary<SubtractOp>(a, b);
    [Op(OpKind.Binary, typeof(SubtractOp))] public static Tensor operator -(float a, Tensor b) => TapeOps.Binary<SubtractOp>(a, b);
    [Op(OpKind.Binary, typeof(MultiplyOp))] public static Tensor operator *(Tensor a, Tensor b) => TapeOps.Binary<MultiplyOp>(a, b);
    [Op(OpKind.Binary, typeof(MultiplyOp))] public static Tensor operator *(Tensor a, float b) => TapeOps.Binary<MultiplyOp>(a, b);
    [Op(OpKind.Binary, typeof(MultiplyOp))] public static Tensor operator *(float a, Tensor b) => TapeOps.Binary<MultiplyOp>(a, b);
    [Op(OpKind.Binary, typeof(DivideOp))] public static Tensor operator /(Tensor a, Tensor b) => TapeOps.Binary<DivideOp>(a, b);
    [Op(OpKind.Binary, typeof(DivideOp))] public static Tensor operator /(Tensor a, float b) => TapeOps.Binary<DivideOp>(a, b);
    [Op(OpKind.Binary, typeof(DivideOp))] public static Tensor operator /(float a, Tensor b) => TapeOps.Binary<DivideOp>(a, b);
    [Op(OpKind.Unary, typeof(NegateOp))] public static Tensor operator -(Tensor x) => TapeOps.Unary<NegateOp>(x, 0f);

    /// <summary>Element <paramref name="index"/> of the first per-sample axis; that axis is removed.</summary>
    [Op(OpKind.Slice)]
    public Tensor this[int index] => TapeOps.Slice(this, 0, index, 1, keepAxis: false);

    /// <summary>Element <paramref name="index"/> of the first per-sample axis, counted from the end with <c>^</c>
    /// (<c>h[^1]</c>: the last step of a sequence); that axis is removed.</summary>
    [Op(OpKind.Slice)]
    public Tensor this[Index index] => TapeOps.Index(this, 0, index);

    /// <summary>Elements <paramref name="range"/> of the first per-sample axis (constant bounds).</summary>
    [Op(OpKind.Slice)]
    public Tensor this[Range range] => TapeOps.Slice(this, 0, range);
}
