using System.Text.Json;

namespace Dl.Checkpoints;

/// <summary>One tensor entry of a safetensors header; offsets are relative to the start of the data section.</summary>
public sealed record SafetensorsEntry(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// The parsed, validated JSON header of a safetensors file:
/// <c>{"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ..., "__metadata__": {"k": "v"}}</c>.
/// Parsed with <see cref="Utf8JsonReader"/> only (no reflection), so it is trimming- and AOT-safe.
/// </summary>
public sealed class SafetensorsHeader
{
    /// <summary>The largest header accepted (the reference implementation's limit).</summary>
    public const long MaxHeaderLength = 100_000_000;

    private SafetensorsHeader(List<SafetensorsEntry> entries, Dictionary<string, string> metadata)
    {
        Entries = entries;
        Metadata = metadata;
    }

    /// <summary>The tensors in header order.</summary>
    public IReadOnlyList<SafetensorsEntry> Entries { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Bytes per element of a safetensors dtype, or 0 when the dtype is unknown.</summary>
    public static int DTypeSize(string dtype) => dtype switch
    {
        "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" => 1,
        "I16" or "U16" or "F16" or "BF16" => 2,
        "I32" or "U32" or "F32" => 4,
        "I64" or "U64" or "F64" => 8,
        _ => 0,
    };

    /// <summary>Parses <paramref name="json"/> and checks every entry against a data section of
    /// <paramref name="dataLength"/> bytes: valid UTF-8 JSON without duplicate keys, known dtype, non-negative dims,
    /// end − begin = elements × dtype size, offsets inside the section, and the tensors (in offset order) covering the
    /// section exactly: no holes, no overlaps, nothing after the last.</summary>
    /// <exception cref="InvalidDataException">Anything malformed; the message names <paramref name="file"/> and the tensor.</exception>
    public static SafetensorsHeader Parse(ReadOnlySpan<byte> json, long dataLength, string file)
    {
        var entries = new List<SafetensorsEntry>();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 8, CommentHandling = JsonCommentHandling.Disallow });
            Expect(ref reader, JsonTokenType.StartObject, file, "the header must be a JSON object");
            while (true)
            {
                Next(ref reader, file);
                if (reader.TokenType == JsonTokenType.EndObject) break;
                string name = reader.GetString()!;
                if (!names.Add(name)) throw Bad(file, $"the header lists '{name}' twice");
                if (name == "__metadata__") ReadMetadata(ref reader, metadata, file);
                else entries.Add(ReadEntry(ref reader, name, file));
            }
            if (reader.Read()) throw Bad(file, "the header has content after its closing brace");
        }
        catch (JsonException e)
        {
            throw Bad(file, $"the header is not well-formed JSON ({e.Message})", e);
        }
        catch (InvalidOperationException e)
        {
            // GetString on a string that is not valid UTF-8 or escapes a lone surrogate (\ud800).
            throw Bad(file, $"the header has a string that is not valid UTF-8 or Unicode ({e.Message})", e);
        }

        // The tensors, in offset order, must tile the data section: each begins where the previous one ended.
        long coveredEnd = 0;
        foreach (SafetensorsEntry entry in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            long expectedBytes = entry.ElementCount * DTypeSize(entry.DType);
            if (entry.End < entry.Begin)
                throw Bad(file, $"tensor '{entry.Name}' has data_offsets [{entry.Begin}, {entry.End}] with end before begin");
            if (entry.End - entry.Begin != expectedBytes)
                throw Bad(file, $"tensor '{entry.Name}' ({entry.DType} {entry.ShapeText}) needs {expectedBytes} bytes but data_offsets [{entry.Begin}, {entry.End}] span {entry.End - entry.Begin}");
            if (entry.End > dataLength)
                throw Bad(file, $"tensor '{entry.Name}' has data_offsets [{entry.Begin}, {entry.End}] beyond the {dataLength}-byte data section (file truncated?)");
            if (entry.Begin < coveredEnd)
                throw Bad(file, $"tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] overlap another tensor ending at {coveredEnd}");
            if (entry.Begin > coveredEnd)
                throw Bad(file, $"tensor '{entry.Name}' data_offsets [{entry.Begin}, {entry.End}] leave a hole of {entry.Begin - coveredEnd} bytes after the tensors ending at {coveredEnd}; the data section must be covered exactly");
            coveredEnd = entry.End;
        }
        if (coveredEnd != dataLength)
            throw Bad(file, $"the data section is {dataLength} bytes but the tensors end at byte {coveredEnd}; the file size does not match the header");
        return new SafetensorsHeader(entries, metadata);
    }

    private static void ReadMetadata(ref Utf8JsonReader reader, Dictionary<string, string> metadata, string file)
    {
        Expect(ref reader, JsonTokenType.StartObject, file, "__metadata__ must be an object of strings");
        while (true)
        {
            Next(ref reader, file);
            if (reader.TokenType == JsonTokenType.EndObject) return;
            string key = reader.GetString()!;
            Expect(ref reader, JsonTokenType.String, file, $"__metadata__ value '{key}' must be a string");
            if (!metadata.TryAdd(key, reader.GetString()!)) throw Bad(file, $"__metadata__ lists '{key}' twice");
        }
    }

    private static SafetensorsEntry ReadEntry(ref Utf8JsonReader reader, string name, string file)
    {
        Expect(ref reader, JsonTokenType.StartObject, file, $"tensor '{name}' must be an object with dtype, shape and data_offsets");
        string? dtype = null;
        List<long>? shape = null, offsets = null;
        while (true)
        {
            Next(ref reader, file);
            if (reader.TokenType == JsonTokenType.EndObject) break;
            string key = reader.GetString()!;
            if ((key == "dtype" && dtype is not null) || (key == "shape" && shape is not null) || (key == "data_offsets" && offsets is not null))
                throw Bad(file, $"tensor '{name}' lists {key} twice");
            switch (key)
            {
                case "dtype":
                    Expect(ref reader, JsonTokenType.String, file, $"tensor '{name}': dtype must be a string");
                    dtype = reader.GetString()!;
                    break;
                case "shape":
                    shape = ReadIntegers(ref reader, name, key, file);
                    break;
                case "data_offsets":
                    offsets = ReadIntegers(ref reader, name, key, file);
                    break;
                default:
                    throw Bad(file, $"tensor '{name}' has an unknown field '{key}' (expected dtype, shape, data_offsets)");
            }
        }
        if (dtype is null || shape is null || offsets is null)
            throw Bad(file, $"tensor '{name}' is missing {(dtype is null ? "dtype" : shape is null ? "shape" : "data_offsets")}");
        if (DTypeSize(dtype) == 0) throw Bad(file, $"tensor '{name}' has unknown dtype '{dtype}'");
        if (offsets.Count != 2) throw Bad(file, $"tensor '{name}': data_offsets must be [begin, end]; got {offsets.Count} numbers");
        long elements = 1;
        foreach (long d in shape)
        {
            if (d > int.MaxValue) throw Bad(file, $"tensor '{name}' has a dimension of {d}, larger than supported");
            elements *= d;
            if (elements > Array.MaxLength) throw Bad(file, $"tensor '{name}' shape [{string.Join(", ", shape)}] is too large");
        }
        return new SafetensorsEntry(name, dtype, shape.ToArray(), offsets[0], offsets[1]);
    }

    private static List<long> ReadIntegers(ref Utf8JsonReader reader, string name, string key, string file)
    {
        Expect(ref reader, JsonTokenType.StartArray, file, $"tensor '{name}': {key} must be an array of non-negative integers");
        var values = new List<long>();
        while (true)
        {
            Next(ref reader, file);
            if (reader.TokenType == JsonTokenType.EndArray) return values;
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out long v) || v < 0)
                throw Bad(file, $"tensor '{name}': {key} must contain non-negative integers");
            values.Add(v);
        }
    }

    private static void Next(ref Utf8JsonReader reader, string file)
    {
        if (!reader.Read()) throw Bad(file, "the header JSON ends early");
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type, string file, string what)
    {
        Next(ref reader, file);
        if (reader.TokenType != type) throw Bad(file, $"{what} (found {reader.TokenType})");
    }

    internal static InvalidDataException Bad(string file, string message, Exception? inner = null) =>
        new($"Checkpoint '{file}': {message}.", inner);
}
