using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Dl.Kernels;

/// <summary>Instruction set the float GEMM runs on, fixed for the process by the JIT.</summary>
internal enum GemmIsa { Scalar, Avx2, Avx512 }

/// <summary>Blocking parameters per instruction set (BLIS naming: MR×NR register tile, KC×NC packed B block).</summary>
/// <remarks>
/// Why these values (AMD EPYC Zen 4: 32 KB L1d, 1 MB L2 per core):
/// <list type="bullet">
/// <item>Avx512: 8×48 tile = 24 zmm accumulators + 3 B vectors + 1 broadcast of the 32 zmm registers. One k step
/// loads 3 vectors + 8 broadcasts for 24 FMAs. The packed A micro-panel (8×KC) stays in L1 while B micro-panels
/// (KC×48) stream from the KC×NC block in L2.</item>
/// <item>Avx2 (no AVX-512, 16 ymm registers): 6×16 tile = 12 accumulators + 2 B + 1 broadcast.</item>
/// <item>KC = 256: the KC×NC B block (256×480×4 B = 480 KB) fits in half the L2.</item>
/// </list>
/// </remarks>
internal static class GemmBlocking
{
    public const int MaxMR = 8, MaxNR = 48, MaxKC = 256, MaxNC = 480;

    public static GemmIsa Isa
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512.IsHardwareAccelerated ? GemmIsa.Avx512
            : Vector256.IsHardwareAccelerated && Fma.IsSupported ? GemmIsa.Avx2
            : GemmIsa.Scalar;
    }

    public static int MR => Isa switch { GemmIsa.Avx512 => 8, GemmIsa.Avx2 => 6, _ => 4 };
    public static int NR => Isa switch { GemmIsa.Avx512 => 48, GemmIsa.Avx2 => 16, _ => 4 };
    // KC/NC barely matter here (measured 1024³: KC 192..384 × NC 288..960 all within ±2%).
    public const int KC = 256;
    public static int NC => Isa == GemmIsa.Scalar ? 256 : 480;

    /// <summary>Vector width in floats of the dot-product path (0 when there is no SIMD).</summary>
    public static int DotWidth => Isa switch { GemmIsa.Avx512 => 16, GemmIsa.Avx2 => 8, _ => 0 };
}

/// <summary>One float multiply's operands as raw pointers (pinned by the caller for the whole call).</summary>
internal unsafe struct GemmProblem
{
    public float* A, B, C;
    public int M, N, K;
    public bool TransA, TransB, Accumulate;
    /// <summary>Scale of the product (1 for a plain multiply); applied to op(A) when it is packed.</summary>
    public float Alpha;
}
