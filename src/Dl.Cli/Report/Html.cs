using System.Globalization;
using System.Text;

namespace Dl.Cli.Report;

/// <summary>Escaping and number formatting shared by the report's HTML and SVG (invariant culture throughout).</summary>
public static class Html
{
    /// <summary>Escapes text for an element's content or a quoted attribute value: &amp; &lt; &gt; " and ' become
    /// entities; control characters other than tab and newline (invalid in HTML and XML) are dropped.</summary>
    public static string Escape(string? text)
    {
        if (string.IsNullOrEmpty(text)) return "";
        StringBuilder? sb = null;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            string? entity = c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&quot;",
                '\'' => "&#39;",
                _ when c < ' ' && c is not ('\t' or '\n' or '\r') => "",
                '\u007f' => "",
                _ => null,
            };
            if (entity is null)
            {
                sb?.Append(c);
                continue;
            }
            sb ??= new StringBuilder(text.Length + 16).Append(text, 0, i);
            sb.Append(entity);
        }
        return sb?.ToString() ?? text;
    }

    /// <summary>Shortens <paramref name="text"/> to at most <paramref name="max"/> characters with an ellipsis.</summary>
    public static string Abbreviate(string text, int max) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, Math.Max(1, max - 1)), "…");

    /// <summary>Shortens <paramref name="text"/> to at most <paramref name="max"/> characters by an ellipsis in the middle,
    /// keeping both ends (class names often differ only at the end: "class 17", "class 71").</summary>
    public static string AbbreviateMiddle(string text, int max)
    {
        if (text.Length <= max) return text;
        int head = Math.Max(1, (max - 1) / 2), tail = Math.Max(1, max - 1 - head);
        return string.Concat(text.AsSpan(0, head), "…", text.AsSpan(text.Length - tail));
    }

    /// <summary>An SVG coordinate: two decimals at most, invariant, never NaN (callers check finiteness first).</summary>
    internal static string N(double value) =>
        double.IsFinite(value) ? Math.Round(value, 2).ToString("0.##", CultureInfo.InvariantCulture) : "0";

    /// <summary>A metric for people: 4 significant digits, or "NaN"/"∞" spelled out.</summary>
    internal static string Metric(double value) => value switch
    {
        double.NaN => "NaN",
        double.PositiveInfinity => "∞",
        double.NegativeInfinity => "−∞",
        _ when value != 0 && Math.Abs(value) < 1e-3 => value.ToString("0.###e+0", CultureInfo.InvariantCulture),
        _ => value.ToString("G4", CultureInfo.InvariantCulture),
    };

    /// <summary>A fraction as a percentage with <paramref name="decimals"/> decimals.</summary>
    internal static string Percent(double fraction, int decimals = 2) =>
        double.IsFinite(fraction) ? (fraction * 100).ToString("F" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture) + "%" : "–";

    /// <summary>An integer with thin thousands separators (12 345).</summary>
    internal static string Count(long value) => value.ToString("#,0", CultureInfo.InvariantCulture).Replace(",", "\u2009");
}
