using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Dl.Checkpoints;
using Xunit.Abstractions;

namespace Dl.Tests.Fuzz;

/// <summary>
/// Mutated safetensors checkpoints: byte mutations plus header edits (numbers, dtypes, duplicate keys, invalid UTF-8,
/// lone surrogate escapes, holes, length lies). Property: <see cref="Safetensors.Load(string, ModelDescription, Span{float}, Span{float})"/>
/// loads exactly when the reference parse below accepts the file and then yields the same values; otherwise it throws
/// <see cref="InvalidDataException"/> naming the file and leaves the parameters and state unchanged. ReadAll and
/// ReadHeader on the same bytes must also end cleanly. Allocation stays a small multiple of the file.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class SafetensorsFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dl-fuzz-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static readonly ModelDescription Model = new()
    {
        Name = "FuzzMlp",
        Parameters =
        [
            new ParameterInfo("fc1.weight", [3, 2], 0, Init.Default, 0, 2, 3),
            new ParameterInfo("fc1.bias", [3], 6, Init.Default, 0, 2, 3),
            new ParameterInfo("fc2.weight", [1, 3], 9, Init.Default, 0, 3, 1),
        ],
        State = [new ParameterInfo("bn.mean", [2], 0, Init.Default, 0, 1, 1)],
        Inputs = [new InputInfo("x", [2])],
        OutputShape = [1],
        Layers = [],
    };

    private static float[] Sentinel(int n, float start) => Enumerable.Range(0, n).Select(i => start + i).ToArray();

    private byte[][] Seeds()
    {
        string path = Path.Combine(_dir, "seed.safetensors");
        Safetensors.Save(path, Model, Enumerable.Range(0, 12).Select(i => i * 0.25f - 1).ToArray(), [3.5f, -2f],
            new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "é ü" });
        byte[] withMetadata = File.ReadAllBytes(path);
        Safetensors.Save(path, Model, Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), [1f, 2f]);
        return [withMetadata, File.ReadAllBytes(path)];
    }

    [Fact]
    public void MutatedCheckpoints_CleanErrorUnchanged_OrReferenceEqual()
    {
        var elapsed = Stopwatch.StartNew();
        var driver = new FuzzDriver("safetensors", output);
        string path = Path.Combine(_dir, "case.safetensors");
        byte[][] seeds = Seeds();
        foreach ((string name, byte[] bytes) in driver.Corpus())
            driver.Run(name, path, bytes, 0, () => Check(path, bytes));
        for (int i = 0; i < FuzzDriver.Cases; i++)
        {
            var random = FuzzDriver.CaseRandom(i, 2);
            byte[] bytes = Mutate.Bytes(random, seeds[random.Next(seeds.Length)], random.Next(1, 4), HeaderEdit);
            driver.Run(i.ToString("D7"), path, bytes, 0, () => Check(path, bytes));
        }
        driver.Finish(elapsed);
    }

    private static Outcome Check(string path, byte[] bytes)
    {
        (float[] Parameters, float[] State)? expected = ReferenceLoad(bytes);
        float[] parameters = Sentinel(12, 100), state = Sentinel(2, 200);
        try
        {
            FuzzDriver.Measure(() => Safetensors.Load(path, Model, parameters, state));
        }
        catch (InvalidDataException e)
        {
            FuzzDriver.Note = e.Message;
            if (!e.Message.Contains(path, StringComparison.Ordinal)) return Outcome.Crash;
            if (!parameters.AsSpan().SequenceEqual(Sentinel(12, 100)) || !state.AsSpan().SequenceEqual(Sentinel(2, 200))) return Outcome.DataChanged;
            return expected is null ? ReadersEndCleanly(path) : Outcome.Mismatch;
        }
        if (expected is not { } ok) return Outcome.Mismatch;
        if (!ok.Parameters.AsSpan().SequenceEqual(parameters) || !ok.State.AsSpan().SequenceEqual(state)) return Outcome.Mismatch;
        return ReadersEndCleanly(path) == Outcome.CleanError ? Outcome.Mismatch : Outcome.Loaded;
    }

    /// <summary>ReadAll (other dtypes converted) and ReadHeader either work or throw InvalidDataException naming the file.</summary>
    private static Outcome ReadersEndCleanly(string path)
    {
        try
        {
            Safetensors.ReadHeader(path);
            Safetensors.ReadAll(path);
            return Outcome.Loaded;
        }
        catch (InvalidDataException e)
        {
            FuzzDriver.Note = "ReadAll/ReadHeader: " + e.Message;
            return e.Message.Contains(path, StringComparison.Ordinal) ? Outcome.CleanError : Outcome.Crash;
        }
    }

    /// <summary>The reference load, written from the format's description with <see cref="JsonDocument"/>: null when the
    /// file is invalid or does not match <see cref="Model"/>.</summary>
    internal static (float[] Parameters, float[] State)? ReferenceLoad(byte[] b)
    {
        if (b.Length < 8) return null;
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(b);
        if (n < 2 || n > 100_000_000 || n > (ulong)(b.Length - 8)) return null;
        byte[] json = b[8..(8 + (int)n)];
        long dataLength = b.Length - 8 - (long)n;
        var entries = new List<(string Name, string DType, long[] Shape, long Begin, long End)>();
        bool modelMismatch = false;
        try
        {
            new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(json);
            using JsonDocument doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
            if (doc.RootElement.ValueKind != JsonValueKind.Object) return null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                if (!seen.Add(p.Name)) return null;
                if (p.Name == "__metadata__")
                {
                    if (p.Value.ValueKind != JsonValueKind.Object) return null;
                    var keys = new HashSet<string>(StringComparer.Ordinal);
                    foreach (JsonProperty m in p.Value.EnumerateObject())
                    {
                        if (!keys.Add(m.Name) || m.Value.ValueKind != JsonValueKind.String) return null;
                        // A file naming another model (dl.model) is refused.
                        if (m.Value.GetString() is var value && m.Name == "dl.model" && value != Model.Name) modelMismatch = true;
                    }
                    continue;
                }
                if (p.Value.ValueKind != JsonValueKind.Object) return null;
                var fields = p.Value.EnumerateObject().ToList();
                if (fields.Count != 3 || fields.Select(f => f.Name).Order().SequenceEqual(["data_offsets", "dtype", "shape"]) is false) return null;
                JsonElement dtype = p.Value.GetProperty("dtype"), shape = p.Value.GetProperty("shape"), offsets = p.Value.GetProperty("data_offsets");
                if (dtype.ValueKind != JsonValueKind.String || shape.ValueKind != JsonValueKind.Array || offsets.ValueKind != JsonValueKind.Array) return null;
                long[]? dims = Integers(shape), range = Integers(offsets);
                if (dims is null || range is not { Length: 2 }) return null;
                entries.Add((p.Name, dtype.GetString()!, dims, range[0], range[1]));
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or DecoderFallbackException)
        {
            return null;
        }
        long covered = 0;
        foreach (var e in entries.OrderBy(e => e.Begin).ThenBy(e => e.End))
        {
            int size = e.DType switch
            {
                "BOOL" or "U8" or "I8" or "F8_E5M2" or "F8_E4M3" => 1,
                "I16" or "U16" or "F16" or "BF16" => 2,
                "I32" or "U32" or "F32" => 4,
                "I64" or "U64" or "F64" => 8,
                _ => 0,
            };
            if (size == 0) return null;
            long elements = 1;
            foreach (long d in e.Shape)
            {
                if (d > int.MaxValue) return null;
                elements *= d;
                if (elements > Array.MaxLength) return null;
            }
            if (e.End < e.Begin || e.End - e.Begin != elements * size || e.End > dataLength || e.Begin != covered) return null;
            covered = e.End;
        }
        if (covered != dataLength || modelMismatch) return null;
        var parameters = new float[12];
        var state = new float[2];
        // A training checkpoint's optimizer tensors ("optimizer/...") are skipped; any other must be the model's.
        if (entries.Count(e => !e.Name.StartsWith("optimizer/", StringComparison.Ordinal)) != 4) return null;
        foreach ((ParameterInfo p, float[] into) in Model.Parameters.Select(p => (p, parameters)).Concat(Model.State.Select(p => (p, state))))
        {
            var e = entries.FirstOrDefault(x => x.Name == p.Name);
            if (e.Name is null || e.DType != "F32" || !e.Shape.SequenceEqual(p.Shape.Select(d => (long)d))) return null;
            for (int i = 0; i < p.Length; i++)
                into[p.Offset + i] = BinaryPrimitives.ReadSingleLittleEndian(b.AsSpan(8 + (int)n + (int)e.Begin + 4 * i));
        }
        return (parameters, state);
    }

    private static long[]? Integers(JsonElement array)
    {
        var values = new List<long>();
        foreach (JsonElement v in array.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x) || x < 0) return null;
            values.Add(x);
        }
        return values.ToArray();
    }

    /// <summary>Header edits on the JSON text; the length prefix follows the new header most of the time (so the edit
    /// reaches the parser) and is left stale otherwise.</summary>
    private static byte[]? HeaderEdit(Random random, byte[] bytes)
    {
        if (bytes.Length < 8) return null;
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (n > (ulong)(bytes.Length - 8)) return null;
        byte[] header = bytes[8..(8 + (int)n)], data = bytes[(8 + (int)n)..];
        string json = Encoding.Latin1.GetString(header);   // byte-preserving, so invalid UTF-8 survives the edit
        string[] numbers = ["0", "1", "2", "3", "4", "8", "11", "12", "24", "36", "44", "48", "52", "-1", "1.5", "1e3", "4294967296", "9223372036854775807", "99999999999999999999"];
        string[] dtypes = ["F16", "BF16", "F64", "I32", "U8", "BOOL", "X9", "f32", ""];
        switch (random.Next(9))
        {
            case 0:
            {
                var matches = System.Text.RegularExpressions.Regex.Matches(json, "[0-9]+");
                if (matches.Count == 0) return null;
                var m = matches[random.Next(matches.Count)];
                json = json[..m.Index] + numbers[random.Next(numbers.Length)] + json[(m.Index + m.Length)..];
                break;
            }
            case 1:
                json = ReplaceOne(random, json, "\"F32\"", $"\"{dtypes[random.Next(dtypes.Length)]}\"");
                break;
            case 2:
            {
                int quote = NthQuote(random, json);
                if (quote < 0) return null;
                string[] bad = ["\u00C3", "\u00FF", "\u00ED\u00A0\u0080", "\u00C0\u0080", "\u00F4\u0090\u0080\u0080"];   // bytes: lone lead, FF, encoded surrogate, overlong, > U+10FFFF
                json = json[..(quote + 1)] + bad[random.Next(bad.Length)] + json[(quote + 1)..];
                break;
            }
            case 3:
            {
                int quote = NthQuote(random, json);
                if (quote < 0) return null;
                string[] escapes = ["\\ud800", "\\udfff", "\\ud83d\\u0041", "\\u0000", "\\x41", "\\u12"];
                json = json[..(quote + 1)] + escapes[random.Next(escapes.Length)] + json[(quote + 1)..];
                break;
            }
            case 4:
                json = ReplaceOne(random, json, "\"dtype\":\"F32\",", "\"dtype\":\"F32\",\"dtype\":\"F32\",");
                break;
            case 5:
                json = ReplaceOne(random, json, "\"fc1.bias\"", random.Next(2) == 0 ? "\"fc1.weight\"" : "\"fc1.\\u0062ias\"");
                break;
            case 6:
                json = ReplaceOne(random, json, "\"epoch\"", random.Next(2) == 0 ? "\"note\"" : "\"\\u0065poch\"");
                break;
            case 7:
                json = json.TrimEnd() + (random.Next(2) == 0 ? " x" : ",{}");
                break;
            default:
                json = ReplaceOne(random, json, "{", "{\"extra\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},");
                break;
        }
        byte[] edited = Encoding.Latin1.GetBytes(json);
        var result = new byte[8 + edited.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, random.Next(5) == 0 ? n : (ulong)edited.Length);
        edited.CopyTo(result, 8);
        data.CopyTo(result, 8 + edited.Length);
        return result;
    }

    private static string ReplaceOne(Random random, string text, string find, string replace)
    {
        var at = new List<int>();
        for (int i = text.IndexOf(find, StringComparison.Ordinal); i >= 0; i = text.IndexOf(find, i + 1, StringComparison.Ordinal)) at.Add(i);
        if (at.Count == 0) return text;
        int k = at[random.Next(at.Count)];
        return text[..k] + replace + text[(k + find.Length)..];
    }

    private static int NthQuote(Random random, string json)
    {
        var quotes = new List<int>();
        for (int i = 0; i < json.Length; i++) if (json[i] == '"') quotes.Add(i);
        return quotes.Count == 0 ? -1 : quotes[random.Next(quotes.Count)];
    }
}
