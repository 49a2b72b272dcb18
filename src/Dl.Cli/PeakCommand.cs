using System.CommandLine;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl.Cli;

/// <summary>
/// <c>dl peak</c>: the single-precision multiply-add peak of the core this thread runs on, the hardware limit that every
/// GFLOP/s figure and speed-up bound of the project is measured against. Twelve independent chains of fused
/// multiply-adds on registers only (more than FMA latency × FMA pipes, so the pipes, not the chains, are the limit),
/// Vector256 and, where accelerated, Vector512; best of several repeats. Prints one JSON line:
/// <c>{"what":"fma_peak","threads":1,"vector256_gflops":..,"vector512_gflops":..}</c> (null when not accelerated).
/// </summary>
/// <remarks>Measured on this project's machine (AMD EPYC, Zen 4): 117 GFLOP/s for both widths. Zen 4 executes a 512-bit
/// FMA as two 256-bit halves, so AVX-512 raises the peak only on cores with full-width units (Zen 5, Intel).</remarks>
public static class PeakCommand
{
    private const int Chains = 12;

    internal static Command Create()
    {
        var command = new Command("peak", "Measures this core's single-precision multiply-add peak (12 independent FMA chains on registers, " +
            "Vector256 and Vector512, best of repeats) and prints one JSON line:\n" +
            "{\"what\":\"fma_peak\",\"threads\":1,\"vector256_gflops\":..,\"vector512_gflops\":..} (null: not accelerated).\n" +
            "benchmarks/ratios.py --peak uses it to bound the speed-up any fp32 implementation can reach.")
        {
            CommandLine.Value("seconds", "S", "Seconds of repeats per width (default 0.6)."),
        };
        command.SetAction(result => Run(new CommandLine("peak", result)));
        return command;
    }

    internal static int Run(CommandLine cl)
    {
        double seconds = cl.Float("seconds", 0.6f, 0.05f, 60f);
        double? v256 = Vector256.IsHardwareAccelerated ? Measure(Fma256, Vector256<float>.Count, seconds) : null;
        double? v512 = Vector512.IsHardwareAccelerated ? Measure(Fma512, Vector512<float>.Count, seconds) : null;
        // null (NaN) for a width this machine does not accelerate.
        Console.Out.WriteLine(new JsonLine().Add("what", "fma_peak").Add("threads", 1)
            .Add("vector256_gflops", v256 ?? double.NaN, 1).Add("vector512_gflops", v512 ?? double.NaN, 1));
        return 0;
    }

    /// <summary>Best GFLOP/s of repeated timed runs of <paramref name="kernel"/> (each runs its loop
    /// <c>iterations</c> times: <see cref="Chains"/> FMAs of <paramref name="lanes"/> lanes, 2 FLOP each).</summary>
    private static double Measure(Func<long, float, float> kernel, int lanes, double seconds)
    {
        const long Iterations = 2_000_000;
        float sink = kernel(Iterations / 10, 0.5f);   // JIT to optimized code first
        double best = 0;
        var total = Stopwatch.StartNew();
        while (total.Elapsed.TotalSeconds < seconds)
        {
            long start = Stopwatch.GetTimestamp();
            sink += kernel(Iterations, 0.5f);
            double s = Stopwatch.GetElapsedTime(start).TotalSeconds;
            best = Math.Max(best, Iterations * Chains * lanes * 2.0 / s / 1e9);
        }
        // The chains converge to a finite value; a NaN here would mean the loop was not what it claims.
        if (!float.IsFinite(sink)) throw new InvalidOperationException("dl peak: the multiply-add chains did not stay finite.");
        return best;
    }

    // Each chain is a ← a·m + c with m < 1: it converges, so no overflow however long it runs.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma256(long iterations, float seed)
    {
        Vector256<float> m = Vector256.Create(0.999f), c = Vector256.Create(0.001f);
        Vector256<float> a0 = Vector256.Create(seed), a1 = a0 + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector256<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, m, c); a1 = Vector256.FusedMultiplyAdd(a1, m, c);
            a2 = Vector256.FusedMultiplyAdd(a2, m, c); a3 = Vector256.FusedMultiplyAdd(a3, m, c);
            a4 = Vector256.FusedMultiplyAdd(a4, m, c); a5 = Vector256.FusedMultiplyAdd(a5, m, c);
            a6 = Vector256.FusedMultiplyAdd(a6, m, c); a7 = Vector256.FusedMultiplyAdd(a7, m, c);
            a8 = Vector256.FusedMultiplyAdd(a8, m, c); a9 = Vector256.FusedMultiplyAdd(a9, m, c);
            a10 = Vector256.FusedMultiplyAdd(a10, m, c); a11 = Vector256.FusedMultiplyAdd(a11, m, c);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static float Fma512(long iterations, float seed)
    {
        Vector512<float> m = Vector512.Create(0.999f), c = Vector512.Create(0.001f);
        Vector512<float> a0 = Vector512.Create(seed), a1 = a0 + c, a2 = a1 + c, a3 = a2 + c, a4 = a3 + c, a5 = a4 + c;
        Vector512<float> a6 = a5 + c, a7 = a6 + c, a8 = a7 + c, a9 = a8 + c, a10 = a9 + c, a11 = a10 + c;
        for (long i = 0; i < iterations; i++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, m, c); a1 = Vector512.FusedMultiplyAdd(a1, m, c);
            a2 = Vector512.FusedMultiplyAdd(a2, m, c); a3 = Vector512.FusedMultiplyAdd(a3, m, c);
            a4 = Vector512.FusedMultiplyAdd(a4, m, c); a5 = Vector512.FusedMultiplyAdd(a5, m, c);
            a6 = Vector512.FusedMultiplyAdd(a6, m, c); a7 = Vector512.FusedMultiplyAdd(a7, m, c);
            a8 = Vector512.FusedMultiplyAdd(a8, m, c); a9 = Vector512.FusedMultiplyAdd(a9, m, c);
            a10 = Vector512.FusedMultiplyAdd(a10, m, c); a11 = Vector512.FusedMultiplyAdd(a11, m, c);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11);
    }
}
