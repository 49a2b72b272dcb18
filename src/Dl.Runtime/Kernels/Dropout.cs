using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>Inverted dropout with a counter-based random mask: element i of a call is kept iff
/// <see cref="Uniform"/>(seed, stream, counter, i) ≥ p, and mask[i] = kept ? 1/(1 − p) : 0, y = x·mask. The mask is a
/// pure function of (seed, stream, counter, i, p) — no generator state — so generated model code and the dynamic tape,
/// which both call <see cref="Forward(ReadOnlySpan{float}, Span{float}, Span{float}, float, ulong, int, long)"/>,
/// draw identical masks, on every machine, with or without SIMD hardware.</summary>
/// <remarks>
/// <para><b>The hash, exactly.</b> Let Mix be the SplitMix64 finalizer (<see cref="DlRandom.Mix"/>:
/// z ← (z ⊕ z≫30)·0xBF58476D1CE4E5B9; z ← (z ⊕ z≫27)·0x94D049BB133111EB; z ⊕ z≫31) and G = 0x9E3779B97F4A7C15,
/// all arithmetic modulo 2⁶⁴. The call key is
/// <code>k = Mix(Mix(Mix(seed + G) ⊕ (ulong)(uint)stream) + (ulong)counter)</code>
/// with k₀ = the low 32 bits of k and k₁ = the high 32 bits. Let L be Wellons' 32-bit "lowbias32" mix
/// (modulo 2³²): x ← x ⊕ x≫16; x ← x·0x7FEB352D; x ← x ⊕ x≫15; x ← x·0x846CA68B; x ← x ⊕ x≫16. Element i
/// (0 ≤ i &lt; 2³²) gets h = L(L(i + k₀) ⊕ k₁) and Uniform = (h ≫ 8)·2⁻²⁴, a multiple of 2⁻²⁴ in [0, 1).
/// Within a call i ↦ h is a bijection (L is invertible), so no two elements share a draw.</para>
/// <para><b>Keep rule and scale.</b> Element i is kept iff Uniform ≥ p, evaluated exactly as the integer test
/// (h ≫ 8) ≥ ⌈p·2²⁴⌉, so P(keep) = 1 − ⌈p·2²⁴⌉·2⁻²⁴. The kept value is the single-precision 1f/(1f − p).
/// p = 0 keeps everything with mask 1 (y = x exactly).</para>
/// <para><b>Choosing the inputs.</b> <c>stream</c> tells the dropout layers of a model apart (e.g. the layer's index)
/// and <c>counter</c> the calls of one layer (e.g. the training step), so every (layer, step) gets a fresh mask
/// while a run with the same seed replays the same masks. y = x·mask also for non-finite x (a dropped ∞ or NaN
/// gives NaN, as in PyTorch).</para>
/// <para>The float kernels run the hash in Vector256&lt;uint&gt; lanes (integer arithmetic only, so the vector and
/// scalar paths agree bit for bit). y may be the very same span as x (and dx as dy) but must not otherwise overlap it; the mask needs its own storage.</para>
/// </remarks>
public static class Dropout
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    /// <summary>The uniform draw of element <paramref name="index"/> (0 ≤ index &lt; 2³²) of a call keyed by
    /// (<paramref name="seed"/>, <paramref name="stream"/>, <paramref name="counter"/>): a multiple of 2⁻²⁴ in [0, 1),
    /// defined in the class remarks.</summary>
    public static float Uniform(ulong seed, int stream, long counter, long index)
    {
        if ((ulong)index > uint.MaxValue)
            throw new ArgumentOutOfRangeException(nameof(index), index, $"index is {index}; expected an element index in [0, 2^32).");
        ulong k = Key(seed, stream, counter);
        return (Hash((uint)index + (uint)k, (uint)(k >> 32)) >> 8) * (1f / (1 << 24));
    }

    /// <summary>y = x·mask with mask[i] = 1/(1 − p) when element i is kept (<see cref="Uniform"/>(seed, stream, counter, i) ≥ p), else 0.</summary>
    /// <param name="x">Input.</param>
    /// <param name="y">Output, x.Length elements; may be <paramref name="x"/> itself.</param>
    /// <param name="mask">Receives the mask (x.Length elements), for <see cref="Backward(ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, bool)"/>.</param>
    /// <param name="p">Drop probability in [0, 1).</param>
    /// <param name="seed">Run seed.</param>
    /// <param name="stream">Which dropout site (e.g. layer index).</param>
    /// <param name="counter">Which call at that site (e.g. training step).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="p"/> is not in [0, 1).</exception>
    /// <exception cref="ArgumentException">A length differs from x's, or an output partially overlaps x.</exception>
    public static void Forward(ReadOnlySpan<float> x, Span<float> y, Span<float> mask, float p, ulong seed, int stream, long counter)
    {
        CheckP(p);
        CheckSame(y.Length, x.Length, nameof(y), nameof(x));
        CheckSame(mask.Length, x.Length, nameof(mask), nameof(x));
        CheckAlias(x, y, nameof(y));
        CheckDisjoint(x, mask, nameof(mask), nameof(x));
        CheckDisjoint(y, mask, nameof(mask), nameof(y));
        ulong k = Key(seed, stream, counter);
        uint k0 = (uint)k, k1 = (uint)(k >> 32);
        uint threshold = Threshold(p);
        float scale = 1f / (1f - p);
        int n = x.Length, i = 0;
        ref float xr = ref MemoryMarshal.GetReference(x);
        ref float yr = ref MemoryMarshal.GetReference(y);
        ref float mr = ref MemoryMarshal.GetReference(mask);
        if (Vector256.IsHardwareAccelerated && n >= Vector256<uint>.Count)
        {
            Vector256<uint> lane = Vector256.Create(0u, 1u, 2u, 3u, 4u, 5u, 6u, 7u) + Vector256.Create(k0);
            Vector256<uint> step = Vector256.Create((uint)Vector256<uint>.Count), key1 = Vector256.Create(k1);
            // (h >> 8) < 2^24, so a signed compare is exact.
            Vector256<int> t = Vector256.Create((int)threshold);
            Vector256<float> sv = Vector256.Create(scale);
            for (; i <= n - Vector256<uint>.Count; i += Vector256<uint>.Count)
            {
                Vector256<uint> h = Hash(lane, key1);
                lane += step;
                Vector256<float> m = Vector256.GreaterThanOrEqual((h >> 8).AsInt32(), t).AsSingle() & sv;
                m.StoreUnsafe(ref mr, (nuint)i);
                (Vector256.LoadUnsafe(ref xr, (nuint)i) * m).StoreUnsafe(ref yr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float m = (Hash((uint)i + k0, k1) >> 8) >= threshold ? scale : 0f;
            Unsafe.Add(ref mr, i) = m;
            Unsafe.Add(ref yr, i) = Unsafe.Add(ref xr, i) * m;
        }
    }

    /// <summary>The double-precision forward (the dynamic tape's reference mode). <paramref name="p"/> is first rounded
    /// to float, and the kept value is the float overload's 1f/(1f − p), so the mask has exactly the float overload's values.</summary>
    public static void Forward(ReadOnlySpan<double> x, Span<double> y, Span<double> mask, double p, ulong seed, int stream, long counter)
    {
        if (!(p >= 0 && p < 1))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"p is {p}; expected a drop probability in [0, 1).");
        float pf = (float)p;
        CheckP(pf); // p just below 1 may round to 1f
        CheckSame(y.Length, x.Length, nameof(y), nameof(x));
        CheckSame(mask.Length, x.Length, nameof(mask), nameof(x));
        CheckAlias(x, y, nameof(y));
        CheckDisjoint(x, mask, nameof(mask), nameof(x));
        CheckDisjoint(y, mask, nameof(mask), nameof(y));
        ulong k = Key(seed, stream, counter);
        uint k0 = (uint)k, k1 = (uint)(k >> 32);
        uint threshold = Threshold(pf);
        double scale = 1f / (1f - pf);
        for (int i = 0; i < x.Length; i++)
        {
            double m = (Hash((uint)i + k0, k1) >> 8) >= threshold ? scale : 0.0;
            mask[i] = m;
            y[i] = x[i] * m;
        }
    }

    /// <summary>dx = dy·mask (or dx += dy·mask when <paramref name="accumulate"/>).</summary>
    /// <param name="dy">Gradient of y.</param>
    /// <param name="mask">The forward's mask.</param>
    /// <param name="dx">dy.Length elements; may be <paramref name="dy"/> itself.</param>
    /// <param name="accumulate">false overwrites dx, true adds to it.</param>
    public static void Backward(ReadOnlySpan<float> dy, ReadOnlySpan<float> mask, Span<float> dx, bool accumulate)
    {
        CheckSame(mask.Length, dy.Length, nameof(mask), nameof(dy));
        CheckSame(dx.Length, dy.Length, nameof(dx), nameof(dy));
        CheckAlias(dy, dx, nameof(dx));
        CheckAlias(mask, dx, nameof(dx));
        int n = dy.Length, i = 0;
        ref float gr = ref MemoryMarshal.GetReference(dy);
        ref float mr = ref MemoryMarshal.GetReference(mask);
        ref float dr = ref MemoryMarshal.GetReference(dx);
        if (Vector256.IsHardwareAccelerated && n >= Vector256<float>.Count)
        {
            if (accumulate)
            {
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                    (Vector256.LoadUnsafe(ref dr, (nuint)i) + Vector256.LoadUnsafe(ref gr, (nuint)i) * Vector256.LoadUnsafe(ref mr, (nuint)i))
                        .StoreUnsafe(ref dr, (nuint)i);
            }
            else
            {
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                    (Vector256.LoadUnsafe(ref gr, (nuint)i) * Vector256.LoadUnsafe(ref mr, (nuint)i)).StoreUnsafe(ref dr, (nuint)i);
            }
        }
        for (; i < n; i++)
        {
            float g = Unsafe.Add(ref gr, i) * Unsafe.Add(ref mr, i);
            Unsafe.Add(ref dr, i) = accumulate ? Unsafe.Add(ref dr, i) + g : g;
        }
    }

    /// <summary>dx = dy·mask (or +=) in double precision.</summary>
    public static void Backward(ReadOnlySpan<double> dy, ReadOnlySpan<double> mask, Span<double> dx, bool accumulate)
    {
        CheckSame(mask.Length, dy.Length, nameof(mask), nameof(dy));
        CheckSame(dx.Length, dy.Length, nameof(dx), nameof(dy));
        CheckAlias(dy, dx, nameof(dx));
        CheckAlias(mask, dx, nameof(dx));
        for (int i = 0; i < dy.Length; i++)
        {
            double g = dy[i] * mask[i];
            dx[i] = accumulate ? dx[i] + g : g;
        }
    }

    /// <summary>k = Mix(Mix(Mix(seed + G) ⊕ (uint)stream) + counter).</summary>
    private static ulong Key(ulong seed, int stream, long counter)
        => DlRandom.Mix(DlRandom.Mix(DlRandom.Mix(seed + Golden) ^ (uint)stream) + (ulong)counter);

    /// <summary>⌈p·2²⁴⌉, exact: p·2²⁴ is a float scaled by a power of two.</summary>
    private static uint Threshold(float p) => (uint)Math.Ceiling(p * 16777216.0);

    /// <summary>L(L(x) ⊕ k₁) with L = lowbias32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(uint x, uint k1) => LowBias32(LowBias32(x) ^ k1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint LowBias32(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        x ^= x >> 16;
        return x;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Hash(Vector256<uint> x, Vector256<uint> k1) => LowBias32(LowBias32(x) ^ k1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> LowBias32(Vector256<uint> x)
    {
        x ^= x >> 16;
        x *= Vector256.Create(0x7FEB352Du);
        x ^= x >> 15;
        x *= Vector256.Create(0x846CA68Bu);
        x ^= x >> 16;
        return x;
    }

    private static void CheckP(float p)
    {
        if (!(p >= 0 && p < 1))
            throw new ArgumentOutOfRangeException(nameof(p), p, $"p is {p}; expected a drop probability in [0, 1).");
    }

    private static void CheckSame(int length, int expected, string name, string reference)
    {
        if (length != expected)
            throw new ArgumentException($"'{name}' has {length} elements; expected {expected}, the length of '{reference}'.", name);
    }

    /// <summary>The mask is written before y is computed from x, so it may share no element with either.</summary>
    private static void CheckDisjoint<T>(ReadOnlySpan<T> other, Span<T> output, string name, string otherName)
    {
        if (other.Overlaps(output))
            throw new ArgumentException($"'{name}' overlaps '{otherName}'; the mask needs its own storage.", name);
    }

    private static void CheckAlias<T>(ReadOnlySpan<T> input, Span<T> output, string name)
    {
        if (input.Overlaps(output, out int offset) && offset != 0)
            throw new ArgumentException($"'{name}' overlaps an input at an offset of {offset} elements; it must be the same span or disjoint.", name);
    }
}
