using System.Globalization;

namespace Dl.Generators.Emit;

/// <summary>Type names and literals of generated code: global::-qualified, culture-invariant, round-trip floats.</summary>
internal static class Literals
{
    public const string Unsafe = "global::System.Runtime.CompilerServices.Unsafe";
    public const string Marshal = "global::System.Runtime.InteropServices.MemoryMarshal";
    public const string V256 = "global::System.Runtime.Intrinsics.Vector256";
    public const string V256F = "global::System.Runtime.Intrinsics.Vector256<float>";
    public const string Gemm = "global::Dl.Kernels.Gemm";

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
