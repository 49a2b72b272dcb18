using System.Globalization;

namespace Dl.Generators.Emit;

/// <summary>Type names and literals of generated code: global::-qualified, culture-invariant, round-trip floats.</summary>
internal static class Literals
{
    // Short aliases declared at the top of every generated file (see Aliases), so kernels stay readable. Their names
    // contain two underscores, which the C# specification reserves for the implementation (§6.4.3): a user namespace,
    // type or member cannot legitimately be called that, so none clashes with them (a namespace Ref or a nested class
    // Mem did, with the former names Ref and Mem).
    public const string Unsafe = "__Ref";
    public const string Marshal = "__Mem";
    public const string V256 = "__V256";
    public const string V256F = "__V256F";

    /// <summary>The using-aliases a generated file declares for the names above.</summary>
    public static readonly string[] Aliases =
    {
        $"using {Unsafe} = global::System.Runtime.CompilerServices.Unsafe;",
        $"using {Marshal} = global::System.Runtime.InteropServices.MemoryMarshal;",
        $"using {V256} = global::System.Runtime.Intrinsics.Vector256;",
        $"using {V256F} = global::System.Runtime.Intrinsics.Vector256<float>;",
    };
    public const string Gemm = "global::Dl.Kernels.Gemm";
    /// <summary>The runtime's throw helpers (Dl.ModelChecks): a generated check is one comparison and, when it fails, one
    /// call, so the messages are compiled once, in the runtime, not in every model.</summary>
    public const string Checks = "global::Dl.ModelChecks";
    /// <summary>The runtime's helpers for a generated model's buffers (Dl.ModelStorage): allocation, initialization,
    /// named spans, label staging, the loss sum; loops every model printed the same.</summary>
    public const string Storage = "global::Dl.ModelStorage";

    public static string Float(float value)
    {
        if (float.IsNaN(value)) return "float.NaN";
        if (float.IsPositiveInfinity(value)) return "float.PositiveInfinity";
        if (float.IsNegativeInfinity(value)) return "float.NegativeInfinity";
        return value.ToString("R", CultureInfo.InvariantCulture) + "f";
    }

    public static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A C# string literal of <paramref name="value"/>: quotes and backslashes escaped, and every control character
    /// and line or paragraph separator (\r, \n, U+0085, U+2028, U+2029, which end a line of C# source) as an escape.</summary>
    public static string String(string value)
    {
        var text = new System.Text.StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': text.Append("\\\""); break;
                case '\\': text.Append("\\\\"); break;
                case '\n': text.Append("\\n"); break;
                case '\r': text.Append("\\r"); break;
                case '\t': text.Append("\\t"); break;
                default:
                    if (char.IsControl(c) || c is '\u2028' or '\u2029') text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else text.Append(c);
                    break;
            }
        }
        return text.Append('"').ToString();
    }

    /// <summary>User text (a layer name) as it may appear in a <c>//</c> comment: every line break of C# (\r, \n, U+0085,
    /// U+2028, U+2029) becomes a space, so the comment cannot end early and turn the rest of the text into code.</summary>
    public static string Comment(string text)
    {
        if (text.IndexOfAny(LineBreaks) < 0) return text;
        var chars = text.ToCharArray();
        for (int i = 0; i < chars.Length; i++) if (System.Array.IndexOf(LineBreaks, chars[i]) >= 0) chars[i] = ' ';
        return new string(chars);
    }

    private static readonly char[] LineBreaks = { '\r', '\n', '\u0085', '\u2028', '\u2029' };

    public static string IntArray(System.Collections.Generic.IEnumerable<int> values)
    {
        string items = string.Join(", ", values);
        return items.Length == 0 ? "new int[0]" : "new int[] { " + items + " }";
    }
}
