namespace Dl.Kernels;

/// <summary>Working memory for generated models: a pinned array whose usable part starts on a 64-byte boundary (a cache
/// line, and the width of a Vector512), so that buffers planned at multiples of 16 floats are aligned for the kernels.</summary>
public static unsafe class PinnedArena
{
    /// <summary>Floats of slack an aligned start may skip.</summary>
    public const int Slack = 15;

    /// <summary>A pinned array of at least <paramref name="length"/> usable floats from index <paramref name="start"/>,
    /// which is 64-byte aligned.</summary>
    public static float[] Allocate(int length, out int start)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        var array = GC.AllocateArray<float>(checked(Math.Max(1, length) + Slack), pinned: true);
        fixed (float* p = array)
            start = (int)((64 - (nuint)p % 64) % 64 / sizeof(float));
        return array;
    }
}
