using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl;

/// <summary>
/// The SIMD width Dl's kernels run at in this process, and the one warning when they cannot vectorize.
/// </summary>
/// <remarks>
/// Every kernel has a Vector256 body (Vector512 where accelerated) and a scalar fallback. The fallback is correct but
/// several times slower, and nothing else would tell a user why: a Native AOT binary built for ILC's x64 baseline
/// (x86-64-v2, no AVX2), a process started with <c>DOTNET_EnableAVX2=0</c>, or a CPU without AVX2 all end up there.
/// The first model created in such a process (generated or dynamic) therefore reports it once through
/// <see cref="Warning"/>: a line on stderr unless the application replaces or clears the handler, or sets the
/// environment variable <c>DL_SIMD_WARNING=0</c>.
/// </remarks>
public static class Acceleration
{
    private static int _checked;

    /// <summary>True when Dl's 8-lane kernels run in vector registers (AVX2 on x64).</summary>
    public static bool IsVectorized => Vector256.IsHardwareAccelerated;

    /// <summary>The widest vector the kernels use here, e.g. "Vector512 (AVX-512)" or "scalar (no Vector256)".</summary>
    public static string Describe() =>
        Vector512.IsHardwareAccelerated ? "Vector512 (AVX-512)"
        : Vector256.IsHardwareAccelerated ? "Vector256 (AVX2)"
        : "scalar (Vector256 not hardware-accelerated)";

    /// <summary>Receives the one warning about unaccelerated vectors; stderr by default, null to silence it.</summary>
    public static Action<string>? Warning { get; set; } = static message => Console.Error.WriteLine(message);

    /// <summary>The text of the warning, naming the likely cause for this kind of process (AOT or JIT).</summary>
    public static string WarningText =>
        "dl: warning: Vector256 is not hardware-accelerated in this process, so Dl's kernels run their scalar paths " +
        "(training several times slower). " +
        (RuntimeFeature.IsDynamicCodeSupported
            ? "Check DOTNET_EnableAVX2/DOTNET_EnableHWIntrinsic and whether this CPU has AVX2. "
            : "This Native AOT binary was compiled without AVX2: publish with <IlcInstructionSet>x86-64-v3</IlcInstructionSet> " +
              "(the Dl package's default for x64). ") +
        "Silence with Dl.Acceleration.Warning = null or DL_SIMD_WARNING=0.";

    /// <summary>Reports <see cref="WarningText"/> to <see cref="Warning"/> the first time it is called in a process
    /// whose vectors are not accelerated; afterwards, and wherever vectors are accelerated, it does nothing.</summary>
    public static void WarnOnceIfScalar()
    {
        if (Vector256.IsHardwareAccelerated || Interlocked.Exchange(ref _checked, 1) != 0) return;
        if (Environment.GetEnvironmentVariable("DL_SIMD_WARNING") == "0") return;
        Warning?.Invoke(WarningText);
    }

    /// <summary>Lets the next <see cref="WarnOnceIfScalar"/> report again (tests).</summary>
    internal static void ResetWarning() => Interlocked.Exchange(ref _checked, 0);
}
