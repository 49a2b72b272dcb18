// Shared contract: compiled into Dl.Runtime (public) and into Dl.Generators (internal, DL_GENERATOR). The geometry of the
// structural ops that move elements without arithmetic, forward and backward: the generator lowers a slice or a concat
// to the copy steps these blocks describe, and the tape executes the same blocks (Dl.Dynamic.TapeKernels.CopyBlocks).
// A backward is its forward's blocks reversed, accumulated into the gradient.
namespace Dl.Kernels;

/// <summary>A strided block copy within one sample: for g in [0, Groups), the <see cref="Run"/> elements at
/// g·SourceStride + SourceOffset of the source go to g·TargetStride + TargetOffset of the target.</summary>
#if DL_GENERATOR
internal
#else
public
#endif
readonly struct BlockCopy
{
    public BlockCopy(int groups, int run, int sourceStride, int sourceOffset, int targetStride, int targetOffset)
    {
        Groups = groups;
        Run = run;
        SourceStride = sourceStride;
        SourceOffset = sourceOffset;
        TargetStride = targetStride;
        TargetOffset = targetOffset;
    }

    public int Groups { get; }
    public int Run { get; }
    public int SourceStride { get; }
    public int SourceOffset { get; }
    public int TargetStride { get; }
    public int TargetOffset { get; }

    /// <summary>The same blocks copied back, target to source: the gradient of a copy.</summary>
    public BlockCopy Reversed => new(Groups, Run, TargetStride, TargetOffset, SourceStride, SourceOffset);
}

/// <summary>The blocks of slice and concat over a per-sample shape split around the axis as [outer, dim, inner].</summary>
#if DL_GENERATOR
internal
#else
public
#endif
static class StructuralGeometry
{
    /// <summary>Elements <paramref name="start"/> .. start + length of an axis of length <paramref name="dim"/>: one run of
    /// length·inner per outer index. Backward: <see cref="BlockCopy.Reversed"/> into dx.</summary>
    public static BlockCopy Slice(int outer, int dim, int inner, int start, int length) =>
        new(outer, length * inner, dim * inner, start * inner, length * inner, 0);

    /// <summary>Operand <paramref name="part"/> (0: the first, of axis length <paramref name="dimA"/>; 1: the second, of
    /// <paramref name="dimB"/>) of a concat, copied into its place in each outer row of the result. Backward: the operand's
    /// part of dy, <see cref="BlockCopy.Reversed"/>.</summary>
    public static BlockCopy ConcatPart(int outer, int dimA, int dimB, int inner, int part) => part == 0
        ? new(outer, dimA * inner, dimA * inner, 0, (dimA + dimB) * inner, 0)
        : new(outer, dimB * inner, dimB * inner, 0, (dimA + dimB) * inner, dimA * inner);
}
