using System.CommandLine;
using System.Globalization;
using System.Numerics;

namespace Dl.Cli;

/// <summary>A command-line error: printed as <c>dl: message</c> on stderr with exit code 2.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>
/// The options one command was given, read by name from System.CommandLine's <see cref="ParseResult"/>. Value options
/// are declared as strings and parsed here with the invariant culture, so that every bad value gets one message naming
/// the option, the value and what is expected (a range, a choice), and so that a command can tell an option given from
/// one left to its (per-model) default.
/// </summary>
public sealed class CommandLine
{
    private readonly string _command;
    private readonly ParseResult _result;
    private readonly Dictionary<string, Option> _options;

    public CommandLine(string command, ParseResult result)
    {
        _command = command;
        _result = result;
        _options = result.CommandResult.Command.Options.ToDictionary(o => o.Name.TrimStart('-'), StringComparer.Ordinal);
    }

    /// <summary>A value option: its value is parsed by the command (see <see cref="CommandLine"/>).</summary>
    public static Option<string> Value(string name, string helpName, string description) =>
        new("--" + name) { HelpName = helpName, Description = description };

    /// <summary>A flag: present or not.</summary>
    public static Option<bool> Flag(string name, string description) => new("--" + name) { Description = description };

    /// <summary>The names (without dashes) of the options given on the command line.</summary>
    public IEnumerable<string> Given => _options.Where(kv => Has(kv.Key)).Select(kv => kv.Key);

    public bool Has(string name) =>
        _options.TryGetValue(name, out Option? option) && _result.GetResult(option) is { Implicit: false };

    public bool Flag(string name) => Has(name) && _result.GetValue<bool>(_options[name].Name);

    public string? String(string name) => Has(name) ? _result.GetValue<string>(_options[name].Name) : null;

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
