using System.Globalization;
using System.Text;

namespace Dl.Cli;

/// <summary>Builds one flat JSON object on one line, numbers in the invariant culture, fields in insertion order.</summary>
public sealed class JsonLine
{
    private readonly StringBuilder _text = new("{");

    public JsonLine Add(string name, string value)
    {
        Name(name);
        _text.Append('"');
        foreach (char c in value)
        {
            switch (c)
            {
                case '"': _text.Append("\\\""); break;
                case '\\': _text.Append("\\\\"); break;
                case '\n': _text.Append("\\n"); break;
                case '\r': _text.Append("\\r"); break;
                case '\t': _text.Append("\\t"); break;
                default:
                    if (c < ' ') _text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    else _text.Append(c);
                    break;
            }
        }
        _text.Append('"');
        return this;
    }

    public JsonLine Add(string name, long value)
    {
        Name(name);
        _text.Append(value.ToString(CultureInfo.InvariantCulture));
        return this;
    }

    /// <summary>A number rounded to <paramref name="decimals"/> places, without trailing zeros (NaN and ∞ become null).</summary>
    public JsonLine Add(string name, double value, int decimals)
    {
        Name(name);
        if (!double.IsFinite(value)) _text.Append("null");
        else
        {
            double rounded = Math.Round(value, decimals, MidpointRounding.AwayFromZero);
            if (rounded == 0) rounded = 0; // no "-0"
            _text.Append(rounded.ToString("0." + new string('#', Math.Max(decimals, 1)), CultureInfo.InvariantCulture));
        }
        return this;
    }

    /// <summary>A value already in JSON (an array, a nested object).</summary>
    public JsonLine Raw(string name, string json)
    {
        Name(name);
        _text.Append(json);
        return this;
    }

    public override string ToString() => _text.ToString() + "}";

    private void Name(string name)
    {
        if (_text.Length > 1) _text.Append(',');
        _text.Append('"').Append(name).Append("\":");
    }
}
