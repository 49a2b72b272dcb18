using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>
/// The sinusoidal position encoding of Vaswani et al., in radians: PE[p, 2i] = sin(p / base^(2i/D)) and
/// PE[p, 2i + 1] = cos(p / base^(2i/D)) for position p and column pair i; for an odd D the last column is a sine.
/// </summary>
/// <remarks>Tables are computed in double (angles and sines) and rounded once to the element type. <see cref="Add"/>
/// keeps one table per (element type, dimension, base), grown to the longest length asked for: a table's rows do not
/// depend on its length, so a longer table serves every shorter sequence. The lookup is lock-free and allocation-free:
/// an immutable array of entries, replaced by compare-and-swap when a new entry is added.</remarks>
public static class PositionalEncoding
{
    /// <summary>A new table PE [<paramref name="length"/>, <paramref name="dimension"/>], row-major, computed in double.</summary>
    /// <param name="length">Positions 0 … length - 1.</param>
    /// <param name="dimension">D, the model width (odd allowed: the last column is a sine).</param>
    /// <param name="base">The wavelength base: 10000 in the paper.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or zero, or the base is not a finite positive number.</exception>
    public static float[] Table(int length, int dimension, float @base = 10000f)
    {
        CheckShape(length, dimension, @base);
        var table = new float[length * dimension];
        Fill<float>(table, 0, length, dimension, @base);
        return table;
    }

    /// <summary>y = x + PE per sample: x and y are [batch, length, dimension] row-major; y may be x (in place), but no
    /// other overlap. The first call for a (type, dimension, base) — or a longer length — builds and caches the table;
    /// later calls allocate nothing.</summary>
    /// <exception cref="ArgumentException">A span's length is not batch × length × dimension, or y partially overlaps x.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A size is negative or zero, or the base is not a finite positive number.</exception>
    public static void Add<T>(int batch, int length, int dimension, float @base, ReadOnlySpan<T> x, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        CheckShape(length, dimension, @base);
        if (batch < 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"positional encoding: batch is {batch}; expected at least 0.");
        long size = (long)batch * length * dimension;
        if (x.Length != size)
            throw new ArgumentException($"positional encoding: x has {x.Length} elements; expected batch × length × dimension = {batch} × {length} × {dimension} = {size}.", nameof(x));
        if (y.Length != size)
            throw new ArgumentException($"positional encoding: y has {y.Length} elements; expected batch × length × dimension = {batch} × {length} × {dimension} = {size}.", nameof(y));
        if (x.Overlaps(y, out int offset) && offset != 0)
            throw new ArgumentException($"positional encoding: y overlaps x at an offset of {offset} elements; it must be the same span or disjoint.", nameof(y));
        if (batch == 0) return;
        int sample = length * dimension;
        ReadOnlySpan<T> pe = Cache<T>.Get(length, dimension, @base).AsSpan(0, sample);
        for (int b = 0; b < batch; b++)
            AddRow(x.Slice(b * sample, sample), pe, y.Slice(b * sample, sample));
    }

    /// <summary>y = x + p element-wise (y may be x); Vector256 body for float and double, scalar tail.</summary>
    private static void AddRow<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> p, Span<T> y) where T : IFloatingPointIeee754<T>
    {
        int n = x.Length, i = 0;
        if (typeof(T) == typeof(float) || typeof(T) == typeof(double))
            i = AddVectors(x, p, y);
        for (; i < n; i++) y[i] = x[i] + p[i];
    }

    /// <summary>The whole vectors of <see cref="AddRow"/>; returns the index where the scalar tail starts.</summary>
    private static int AddVectors<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> p, Span<T> y)
    {
        if (typeof(T) == typeof(float)) return AddWhole(Reinterpret<T, float>(x), Reinterpret<T, float>(p), Reinterpret<T, float>(y));
        return AddWhole(Reinterpret<T, double>(x), Reinterpret<T, double>(p), Reinterpret<T, double>(y));
    }

    private static int AddWhole<TV>(ReadOnlySpan<TV> x, ReadOnlySpan<TV> p, Span<TV> y) where TV : unmanaged
    {
        int n = x.Length, i = 0;
        if (!Vector256.IsHardwareAccelerated) return 0;
        ref TV xr = ref MemoryMarshal.GetReference(x);
        ref TV pr = ref MemoryMarshal.GetReference(p);
        ref TV yr = ref MemoryMarshal.GetReference(y);
        for (; i <= n - Vector256<TV>.Count; i += Vector256<TV>.Count)
            (Vector256.LoadUnsafe(ref xr, (nuint)i) + Vector256.LoadUnsafe(ref pr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        return i;
    }

    private static ReadOnlySpan<TTo> Reinterpret<TFrom, TTo>(ReadOnlySpan<TFrom> s)
        => MemoryMarshal.CreateReadOnlySpan(ref Unsafe.As<TFrom, TTo>(ref MemoryMarshal.GetReference(s)), s.Length);

    private static Span<TTo> Reinterpret<TFrom, TTo>(Span<TFrom> s)
        => MemoryMarshal.CreateSpan(ref Unsafe.As<TFrom, TTo>(ref MemoryMarshal.GetReference(s)), s.Length);

    /// <summary>Rows <paramref name="from"/> … <paramref name="length"/> - 1 of the table, in double, rounded to T.</summary>
    private static void Fill<T>(Span<T> table, int from, int length, int dimension, float @base) where T : IFloatingPointIeee754<T>
    {
        // The frequency of pair i is base^(-2i/D); one Pow per pair, shared by every position.
        double logBase = Math.Log(@base);
        for (int c = 0; c < dimension; c += 2)
        {
            double frequency = Math.Exp(-logBase * c / dimension);
            for (int p = from; p < length; p++)
            {
                double angle = p * frequency;
                table[p * dimension + c] = T.CreateTruncating(Math.Sin(angle));
                if (c + 1 < dimension) table[p * dimension + c + 1] = T.CreateTruncating(Math.Cos(angle));
            }
        }
    }

    private static void CheckShape(int length, int dimension, float @base)
    {
        if (length < 1) throw new ArgumentOutOfRangeException(nameof(length), length, $"positional encoding: length is {length}; expected at least 1.");
        if (dimension < 1) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"positional encoding: dimension is {dimension}; expected at least 1.");
        if ((long)length * dimension > int.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(length), length, $"positional encoding: length × dimension = {length} × {dimension} exceeds the largest array.");
        if (LayerRules.PositionalBase(@base) is { } why) throw new ArgumentOutOfRangeException(nameof(@base), @base, $"positional encoding: {why}.");
    }

    /// <summary>The cached tables of one element type.</summary>
    private static class Cache<T> where T : IFloatingPointIeee754<T>
    {
        private sealed class Entry(int dimension, float @base, int length, T[] values)
        {
            public readonly int Dimension = dimension;
            public readonly float Base = @base;
            public readonly int Length = length;
            public readonly T[] Values = values;
        }

        private static Entry[] s_entries = [];

        /// <summary>A table of at least <paramref name="length"/> rows.</summary>
        public static T[] Get(int length, int dimension, float @base)
        {
            while (true)
            {
                Entry[] entries = Volatile.Read(ref s_entries);
                int found = -1;
                for (int i = 0; i < entries.Length; i++)
                {
                    Entry e = entries[i];
                    // Bitwise comparison of the base: -0 is rejected above and NaN never gets here.
                    if (e.Dimension == dimension && e.Base.Equals(@base))
                    {
                        if (e.Length >= length) return e.Values;
                        found = i;
                        break;
                    }
                }
                // Grow geometrically, so that a slowly growing sequence length rebuilds the table O(log T) times.
                int rows = found < 0 ? length : (int)Math.Min(Math.Max(length, 2L * entries[found].Length), int.MaxValue / dimension);
                var values = new T[rows * dimension];
                if (found >= 0) entries[found].Values.AsSpan().CopyTo(values);
                Fill<T>(values, found < 0 ? 0 : entries[found].Length, rows, dimension, @base);
                var updated = new Entry[found < 0 ? entries.Length + 1 : entries.Length];
                entries.CopyTo(updated, 0);
                updated[found < 0 ? entries.Length : found] = new Entry(dimension, @base, rows, values);
                // Another thread may have added an entry meanwhile: retry against its array (the work is idempotent).
                if (Interlocked.CompareExchange(ref s_entries, updated, entries) == entries) return values;
            }
        }
    }
}
