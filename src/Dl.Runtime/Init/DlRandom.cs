using System.Numerics;
using System.Runtime.CompilerServices;
using System.Text;

namespace Dl;

/// <summary>
/// A seeded, deterministic random source: xoshiro256** (Blackman and Vigna) whose 256-bit state is
/// expanded from a 64-bit seed by SplitMix64. The same seed gives the same sequence on every machine
/// and every .NET version (all arithmetic is integer; floats come from the top bits).
/// </summary>
/// <remarks>
/// <para><c>NextFloat</c> = (x &gt;&gt; 40)·2⁻²⁴ and <c>NextDouble</c> = (x &gt;&gt; 11)·2⁻⁵³, both in [0, 1).
/// <c>NextNormal</c> uses Marsaglia's polar method: draw u, v ~ U(-1, 1) until s = u² + v² ∈ (0, 1), then
/// u·√(-2 ln s / s) and v·√(-2 ln s / s) are two independent N(0, 1) values (the second is cached).</para>
/// <para><see cref="ForStream"/> gives independent named streams: the state depends only on the seed and the
/// 64-bit FNV-1a hash of the name's UTF-8 bytes, so parameters initialized from streams keyed by
/// (seed, parameter name) get the same values whatever order they are initialized in.</para>
/// Not thread-safe; not cryptographically secure.
/// </remarks>
public sealed class DlRandom
{
    private ulong _s0, _s1, _s2, _s3;
    private double _spareNormal;
    private bool _hasSpare;

    /// <summary>A generator whose sequence depends only on <paramref name="seed"/>.</summary>
    public DlRandom(ulong seed) => Reseed(seed);

    /// <summary>A generator whose sequence depends only on <paramref name="seed"/> and <paramref name="name"/>:
    /// state = SplitMix64 expansion of (mix(seed) XOR FNV-1a-64(UTF-8 name)).</summary>
    public static DlRandom ForStream(ulong seed, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return new DlRandom(Mix(seed) ^ Fnv1a64(name));
    }

    /// <summary>Restarts the sequence from <paramref name="seed"/> (as a new instance would), without allocating.</summary>
    public void Reseed(ulong seed)
    {
        ulong x = seed;
        _s0 = SplitMix64(ref x);
        _s1 = SplitMix64(ref x);
        _s2 = SplitMix64(ref x);
        _s3 = SplitMix64(ref x);
        // SplitMix64 never yields four zeros in a row, but xoshiro must not start from the all-zero state.
        if ((_s0 | _s1 | _s2 | _s3) == 0) _s0 = 0x9E3779B97F4A7C15UL;
        _hasSpare = false;
        _spareNormal = 0;
    }

    /// <summary>The 64-bit FNV-1a hash of the UTF-8 bytes of <paramref name="text"/>
    /// (offset basis 0xcbf29ce484222325, prime 0x100000001b3). Stable across processes, unlike string.GetHashCode.</summary>
    public static ulong Fnv1a64(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        const ulong Prime = 0x100000001b3UL;
        ulong hash = 0xcbf29ce484222325UL;
        Span<byte> utf8 = stackalloc byte[4];
        foreach (Rune rune in text.EnumerateRunes())
        {
            int n = rune.EncodeToUtf8(utf8);
            for (int i = 0; i < n; i++)
            {
                hash ^= utf8[i];
                hash *= Prime;
            }
        }
        return hash;
    }

    /// <summary>The SplitMix64 finalizer (Stafford variant 13): a bijective 64-bit mix.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong SplitMix64(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        return Mix(state);
    }

    /// <summary>The next 64 random bits (xoshiro256**: rotl(s1·5, 7)·9).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        ulong result = BitOperations.RotateLeft(_s1 * 5, 7) * 9;
        ulong t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = BitOperations.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 random bits: (x &gt;&gt; 40)·2⁻²⁴.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits: (x &gt;&gt; 11)·2⁻⁵³.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="low"/>, <paramref name="high"/>).</summary>
    public float NextFloat(float low, float high) => low + (high - low) * NextFloat();

    /// <summary>An unbiased integer in [0, <paramref name="maxExclusive"/>) (Lemire's multiply-and-reject).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "NextInt needs a positive exclusive upper bound.");
        return (int)NextBounded((uint)maxExclusive);
    }

    /// <summary>An unbiased integer in [<paramref name="minInclusive"/>, <paramref name="maxExclusive"/>).</summary>
    public int NextInt(int minInclusive, int maxExclusive)
    {
        if (maxExclusive <= minInclusive)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, $"NextInt needs maxExclusive > minInclusive ({minInclusive}).");
        return (int)(minInclusive + (long)NextBounded((uint)((long)maxExclusive - minInclusive)));
    }

    private uint NextBounded(uint bound)
    {
        // Lemire (2019): the high 32 bits of a 32x32 product are uniform once the low part clears the threshold.
        ulong m = (NextUInt64() >> 32) * bound;
        uint low = (uint)m;
        if (low < bound)
        {
            uint threshold = (0u - bound) % bound;
            while (low < threshold)
            {
                m = (NextUInt64() >> 32) * bound;
                low = (uint)m;
            }
        }
        return (uint)(m >> 32);
    }

    /// <summary>A standard normal N(0, 1) sample (Marsaglia's polar method; every second call uses the cached pair value).</summary>
    public double NextNormal()
    {
        if (_hasSpare)
        {
            _hasSpare = false;
            return _spareNormal;
        }
        double u, v, s;
        do
        {
            u = 2.0 * NextDouble() - 1.0;
            v = 2.0 * NextDouble() - 1.0;
            s = u * u + v * v;
        }
        while (s >= 1.0 || s == 0.0);
        double factor = Math.Sqrt(-2.0 * Math.Log(s) / s);
        _spareNormal = v * factor;
        _hasSpare = true;
        return u * factor;
    }

    /// <summary>A normal sample N(<paramref name="mean"/>, <paramref name="std"/>²).</summary>
    public double NextNormal(double mean, double std) => mean + std * NextNormal();

    /// <summary>A single-precision normal sample N(<paramref name="mean"/>, <paramref name="std"/>²), drawn in double and rounded.</summary>
    public float NextNormalFloat(float mean = 0f, float std = 1f) => (float)(mean + std * NextNormal());

    /// <summary>Shuffles <paramref name="items"/> in place with the Fisher–Yates algorithm (uniform over all permutations).</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (int i = items.Length - 1; i > 0; i--)
        {
            int j = (int)NextBounded((uint)(i + 1));
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    /// <summary>Fills <paramref name="destination"/> with U[<paramref name="low"/>, <paramref name="high"/>) samples.</summary>
    public void FillUniform(Span<float> destination, float low, float high)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = NextFloat(low, high);
    }

    /// <summary>Fills <paramref name="destination"/> with N(<paramref name="mean"/>, <paramref name="std"/>²) samples.</summary>
    public void FillNormal(Span<float> destination, float mean = 0f, float std = 1f)
    {
        for (int i = 0; i < destination.Length; i++) destination[i] = NextNormalFloat(mean, std);
    }
}
