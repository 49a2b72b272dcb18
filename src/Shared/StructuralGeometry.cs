// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md). The
// geometry of the structural ops that move elements without arithmetic, forward and backward: the generator lowers a
// slice or a concat to the copy steps these blocks describe, and the tape executes the same blocks
// (Dl.Dynamic.TapeKernels.CopyBlocks). A backward is its forward's blocks reversed, accumulated into the gradient.
namespace Dl.Kernels;

/// <summary>A strided block copy within one sample: for g in [0, Groups), the <see cref="Run"/> elements at
/// g·SourceStride + SourceOffset of the source go to g·TargetStride + TargetOffset of the target.</summary>
public readonly record struct BlockCopy(int Groups, int Run, int SourceStride, int SourceOffset, int TargetStride, int TargetOffset)
{
    /// <summary>The same blocks copied back, target to source: the gradient of a copy (a method: a record prints its
    /// properties).</summary>
    public BlockCopy Reversed() => new(Groups, Run, TargetStride, TargetOffset, SourceStride, SourceOffset);
}

/// <summary>The blocks of slice and concat over a per-sample shape split around the axis as [outer, dim, inner].</summary>
public static class StructuralGeometry
{
    /// <summary>Elements <paramref name="start"/> .. start + length of an axis of length <paramref name="dim"/>: one run of
    /// length·inner per outer index. Backward: <see cref="BlockCopy.Reversed()"/> into dx.</summary>
    public static BlockCopy Slice(int outer, int dim, int inner, int start, int length) =>
        new(outer, length * inner, dim * inner, start * inner, length * inner, 0);

    /// <summary>Operand <paramref name="part"/> (0: the first, of axis length <paramref name="dimA"/>; 1: the second, of
    /// <paramref name="dimB"/>) of a concat, copied into its place in each outer row of the result. Backward: the operand's
    /// part of dy, <see cref="BlockCopy.Reversed()"/>.</summary>
    public static BlockCopy ConcatPart(int outer, int dimA, int dimB, int inner, int part) => part == 0
        ? new(outer, dimA * inner, dimA * inner, 0, (dimA + dimB) * inner, 0)
        : new(outer, dimB * inner, dimB * inner, 0, (dimA + dimB) * inner, dimA * inner);
}
