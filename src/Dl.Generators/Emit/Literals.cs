using System.Globalization;

namespace Dl.Generators.Emit;

/// <summary>Type names and literals of generated code: global::-qualified, culture-invariant, round-trip floats.</summary>
internal static class Literals
{
    // Short aliases declared at the top of every generated file (see Aliases), so kernels stay readable.
    public const string Unsafe = "Ref";
    public const string Marshal = "Mem";
    public const string V256 = "V256";
    public const string V256F = "V256F";

    /// <summary>The using-aliases a generated file declares for the names above.</summary>
    public static readonly string[] Aliases =
    {
        "using Ref = global::System.Runtime.CompilerServices.Unsafe;",
        "using Mem = global::System.Runtime.InteropServices.MemoryMarshal;",
        "using V256 = global::System.Runtime.Intrinsics.Vector256;",
        "using V256F = global::System.Runtime.Intrinsics.Vector256<float>;",
    };
    public const string Gemm = "global::Dl.Kernels.Gemm";
    /// <summary>The runtime's throw helpers (Dl.ModelChecks): a generated check is one comparison and, when it fails, one
    /// call, so the messages are compiled once, in the runtime, not in every model.</summary>
    public const string Checks = "global::Dl.ModelChecks";

    public static string Float(float value)
    {
        if (float.IsNaN(value)) return "float.NaN";
        if (float.IsPositiveInfinity(value)) return "float.PositiveInfinity";
        if (float.IsNegativeInfinity(value)) return "float.NegativeInfinity";
        return value.ToString("R", CultureInfo.InvariantCulture) + "f";
    }

    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string String(string value) => "\"" + value.Replace("\\", "\\\\").Replace("\"", "\\\"").Replace("\n", "\\n") + "\"";

    public static string IntArray(System.Collections.Generic.IEnumerable<int> values) => "new int[] { " + string.Join(", ", values) + " }";
}
