using System.Globalization;
using System.Numerics;

namespace Dl.Cli;

/// <summary>A command-line error: printed as <c>dl: message</c> with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The options of one command: <c>--name value</c>, <c>--name=value</c> and boolean <c>--flag</c>. Every option must be
/// declared by the command (unknown or repeated options are errors) and values are parsed with the invariant culture.
/// No reflection: each command reads its options by name.
/// </summary>
public sealed class CommandLine
{
    private readonly string _command;
    private readonly Dictionary<string, string?> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags;

    /// <param name="command">The command name, for messages.</param>
    /// <param name="args">The arguments after the command name.</param>
    /// <param name="valueOptions">Options that take a value (without the leading dashes).</param>
    /// <param name="flagOptions">Options that take no value.</param>
    public CommandLine(string command, ReadOnlySpan<string> args, IEnumerable<string> valueOptions, IEnumerable<string> flagOptions)
    {
        _command = command;
        var takesValue = new HashSet<string>(valueOptions, StringComparer.Ordinal);
        _flags = new HashSet<string>(flagOptions, StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
                throw new UsageException($"'{command}': unexpected argument '{arg}'; options look like --name value (see 'dl help').");
            string name = arg[2..];
            string? inline = null;
            int eq = name.IndexOf('=');
            if (eq >= 0)
            {
                inline = name[(eq + 1)..];
                name = name[..eq];
            }
            if (_values.ContainsKey(name))
                throw new UsageException($"'{command}': option --{name} is given twice.");
            if (_flags.Contains(name))
            {
                if (inline is not null)
                    throw new UsageException($"'{command}': option --{name} takes no value; got '--{name}={inline}'.");
                _values[name] = null;
            }
            else if (takesValue.Contains(name))
            {
                if (inline is null)
                {
                    if (i + 1 >= args.Length || (args[i + 1].StartsWith("--", StringComparison.Ordinal) && args[i + 1].Length > 2))
                        throw new UsageException($"'{command}': option --{name} needs a value.");
                    inline = args[++i];
                }
                _values[name] = inline;
            }
            else
            {
                var known = takesValue.Concat(_flags).Order(StringComparer.Ordinal).Select(o => "--" + o);
                throw new UsageException($"'{command}': unknown option --{name}; expected one of {string.Join(", ", known)}.");
            }
        }
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public bool Flag(string name) => _flags.Contains(name) && _values.ContainsKey(name);

    public string? String(string name) => _values.TryGetValue(name, out string? v) ? v : null;

    public string String(string name, string fallback) => String(name) ?? fallback;

    /// <summary>The value of --<paramref name="name"/>, which must be one of <paramref name="allowed"/>.</summary>
    public string Choice(string name, string fallback, params string[] allowed)
    {
        string value = String(name, fallback);
        if (!allowed.Contains(value, StringComparer.Ordinal))
            throw new UsageException($"'{_command}': --{name} is '{value}'; expected one of {string.Join(", ", allowed)}.");
        return value;
    }

    /// <summary>An integer in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int Int(string name, int fallback, int min = int.MinValue, int max = int.MaxValue)
    {
        string? text = String(name);
        if (text is null) return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
            throw new UsageException($"'{_command}': --{name} is '{text}'; expected an integer.");
        if (value < min || value > max)
            throw new UsageException($"'{_command}': --{name} is {value}; expected {Range(min, max)}.");
        return value;
    }

    /// <summary>A finite number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public float Float(string name, float fallback, float min = float.MinValue, float max = float.MaxValue)
    {
        string? text = String(name);
        if (text is null) return fallback;
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
            throw new UsageException($"'{_command}': --{name} is '{text}'; expected a number such as 0.05.");
        if (value < min || value > max)
            throw new UsageException($"'{_command}': --{name} is {text}; expected {Range(min, max)}.");
        return value;
    }

    /// <summary>A non-negative integer seed.</summary>
    public ulong Seed(string name, ulong fallback)
    {
        string? text = String(name);
        if (text is null) return fallback;
        if (!ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out ulong value))
            throw new UsageException($"'{_command}': --{name} is '{text}'; expected a non-negative integer.");
        return value;
    }

    private static string Range<T>(T min, T max) where T : IFormattable, IMinMaxValue<T>, IEquatable<T>
    {
        string lo = min.ToString(null, CultureInfo.InvariantCulture), hi = max.ToString(null, CultureInfo.InvariantCulture);
        if (max.Equals(T.MaxValue)) return $"at least {lo}";
        if (min.Equals(T.MinValue)) return $"at most {hi}";
        return $"{lo} to {hi}";
    }
}
