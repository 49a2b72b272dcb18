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

/// <summary>The blocks of slice, concat and stack over a per-sample shape split around the axis as [outer, dim, inner].</summary>
public static class StructuralGeometry
{
    /// <summary>Elements <paramref name="start"/> .. start + length of an axis of length <paramref name="dim"/>: one run of
    /// length·inner per outer index. Backward: <see cref="BlockCopy.Reversed()"/> into dx.</summary>
    public static BlockCopy Slice(int outer, int dim, int inner, int start, int length) =>
        new(outer, length * inner, dim * inner, start * inner, length * inner, 0);

    /// <summary>One part of a concat (or a stack), copied into its place in each outer row of the result: the part has
    /// <paramref name="length"/> elements on the axis (1 for a stack's part), at <paramref name="offset"/> of the result's
    /// <paramref name="total"/>. Backward: the part's slice of dy, <see cref="BlockCopy.Reversed()"/>.</summary>
    public static BlockCopy ConcatPart(int outer, int total, int offset, int length, int inner) =>
        new(outer, length * inner, length * inner, 0, total * inner, offset * inner);
}
