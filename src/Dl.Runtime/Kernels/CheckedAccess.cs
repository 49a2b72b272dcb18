using System;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>
/// Vector loads and stores through spans, for models generated with checked kernels (the MSBuild property
/// <c>DlCheckedKernels=true</c>). The default generated code reaches buffers with <c>Vector256.LoadUnsafe</c> on a
/// <c>ref float</c>, which no one bounds-checks; checked code calls these instead, so a vector that would reach past
/// its buffer throws <see cref="ArgumentOutOfRangeException"/> at the access.
/// </summary>
public static class CheckedAccess
{
    /// <summary>The 8 floats of <paramref name="buffer"/> from <paramref name="offset"/>.</summary>
    public static Vector256<float> Load(ReadOnlySpan<float> buffer, int offset) => Vector256.Create(buffer.Slice(offset, Vector256<float>.Count));

    /// <summary>Writes <paramref name="value"/> into the 8 floats of <paramref name="buffer"/> from <paramref name="offset"/>.</summary>
    public static void Store(Vector256<float> value, Span<float> buffer, int offset) => value.CopyTo(buffer.Slice(offset, Vector256<float>.Count));
}
