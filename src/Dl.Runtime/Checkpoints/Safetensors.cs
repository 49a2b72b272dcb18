using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Dl.Checkpoints;

/// <summary>A tensor read by <see cref="Safetensors.ReadAll"/>, converted to float.</summary>
public sealed record SafetensorsTensor(string Name, string DType, int[] Shape, float[] Data);

/// <summary>
/// Checkpoints in the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// <c>{"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, "__metadata__": {...}}</c>
/// (space-padded so the data starts 8-byte aligned), then the raw little-endian tensor bytes.
/// Files written here load in PyTorch with <c>safetensors.torch.load_file</c> and vice versa.
/// </summary>
public static class Safetensors
{
    /// <summary>Writes every parameter of <paramref name="description"/> (in its order) to <paramref name="path"/>
    /// atomically: a temporary file in the same directory (<c>.NAME.PID.RANDOM.tmp</c>) is written, flushed to disk, then
    /// moved over the target. Temporary files of the same target left by killed processes are removed first (see
    /// <see cref="AtomicFile"/>); errors name <paramref name="path"/>.</summary>
    public static void Save(string path, ModelDescription description, ReadOnlySpan<float> parameters,
        IReadOnlyDictionary<string, string>? metadata = null)
        => Save(path, description, parameters, default, metadata);

    /// <summary>Writes every parameter and then every state tensor (<see cref="ModelDescription.State"/>: batch norm's
    /// running statistics) atomically, like <see cref="Save(string, ModelDescription, ReadOnlySpan{float}, IReadOnlyDictionary{string, string}?)"/>.</summary>
    public static void Save(string path, ModelDescription description, ReadOnlySpan<float> parameters, ReadOnlySpan<float> state,
        IReadOnlyDictionary<string, string>? metadata = null)
        => Save(path, description, parameters, state, metadata, extraTensors: null);

    /// <summary>Writes every parameter, every state tensor and then <paramref name="extraTensors"/> (F32, e.g. a training
    /// checkpoint's optimizer state, <see cref="TrainingCheckpoint"/>) atomically. The <c>__metadata__</c> always names
    /// the model (<c>dl.model</c>, checked by <see cref="Load(string, ModelDescription, Span{float}, Span{float})"/>) and
    /// the library version (<c>dl.version</c>), besides <paramref name="metadata"/>'s entries.</summary>
    public static void Save(string path, ModelDescription description, ReadOnlySpan<float> parameters, ReadOnlySpan<float> state,
        IReadOnlyDictionary<string, string>? metadata, IReadOnlyList<SafetensorsTensor>? extraTensors)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(description);
        CheckFits(description, description.Parameters, parameters.Length, "parameter", nameof(parameters));
        CheckFits(description, description.State, state.Length, "state", nameof(state));
        extraTensors ??= [];
        foreach (SafetensorsTensor extra in extraTensors)
        {
            if (extra.DType != "F32" || extra.Data.Length != extra.Shape.Aggregate(1L, (a, b) => a * b))
                throw new ArgumentException($"Extra tensor '{extra.Name}' must be F32 with as many values as its shape [{string.Join(", ", extra.Shape)}] holds.", nameof(extraTensors));
        }

        byte[] header = BuildHeader(description, WithModel(description, metadata), extraTensors);
        using AtomicFile target = AtomicFile.Create(path, "checkpoint");
        FileStream file = target.Stream;
        try
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)header.Length);
            file.Write(length);
            file.Write(header);
            foreach (ParameterInfo p in description.Parameters)
                WriteFloats(file, parameters.Slice(p.Offset, p.Length));
            foreach (ParameterInfo p in description.State)
                WriteFloats(file, state.Slice(p.Offset, p.Length));
            foreach (SafetensorsTensor extra in extraTensors)
                WriteFloats(file, extra.Data);
        }
        catch (IOException e)
        {
            throw new IOException($"Cannot save checkpoint '{path}': {e.Message}", e);
        }
        target.Commit();
    }

    /// <summary>The metadata key naming the model a checkpoint holds (<see cref="ModelDescription.Name"/>).</summary>
    public const string ModelKey = "dl.model";
    /// <summary>The metadata key holding the version of the library that wrote the file.</summary>
    public const string VersionKey = "dl.version";
    /// <summary>Tensors whose names start with this are a training checkpoint's optimizer state
    /// (<see cref="TrainingCheckpoint"/>): <see cref="Load(string, ModelDescription, Span{float}, Span{float})"/> skips them.</summary>
    public const string OptimizerPrefix = "optimizer/";

    /// <summary>The library's version (its assembly's informational version, e.g. <c>0.1.0+commit</c>).</summary>
    public static string LibraryVersion { get; } =
        typeof(Safetensors).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion
        ?? typeof(Safetensors).Assembly.GetName().Version?.ToString() ?? "unknown";

    private static Dictionary<string, string> WithModel(ModelDescription description, IReadOnlyDictionary<string, string>? metadata)
    {
        var all = new Dictionary<string, string>(StringComparer.Ordinal) { [ModelKey] = description.Name, [VersionKey] = LibraryVersion };
        if (metadata is not null)
        {
            foreach (KeyValuePair<string, string> kv in metadata)
            {
                if (kv.Key == ModelKey && kv.Value != description.Name)
                    throw new ArgumentException($"Metadata '{ModelKey}' is '{kv.Value}' but the model is {description.Name}.", nameof(metadata));
                all[kv.Key] = kv.Value;
            }
        }
        return all;
    }

    /// <summary>Checks that <paramref name="path"/> can be saved to (its folder exists and a file can be created there),
    /// so that a long training run does not fail only at its end.</summary>
    /// <exception cref="DirectoryNotFoundException">The folder does not exist; the message names the path.</exception>
    /// <exception cref="IOException">A file cannot be created there, or the path is a folder.</exception>
    /// <exception cref="UnauthorizedAccessException">No permission to create a file there.</exception>
    public static void CheckSavePath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.CheckWritable(path, "checkpoint");
    }

    /// <summary>Reads the parameters of <paramref name="description"/> from <paramref name="path"/> into
    /// <paramref name="parameters"/>. Every tensor must be present with dtype F32 and the exact shape, and the file may
    /// hold no other tensor. On any error <paramref name="parameters"/> is left unchanged.</summary>
    /// <exception cref="InvalidDataException">The file is malformed or does not match the model; the message names the
    /// file, the tensor, and what was expected versus found.</exception>
    public static void Load(string path, ModelDescription description, Span<float> parameters) => Load(path, description, parameters, default);

    /// <summary>Reads parameters and state (<see cref="ModelDescription.State"/>) written by
    /// <see cref="Save(string, ModelDescription, ReadOnlySpan{float}, ReadOnlySpan{float}, IReadOnlyDictionary{string, string}?)"/>;
    /// validates like <see cref="Load(string, ModelDescription, Span{float})"/> and changes nothing on error.</summary>
    public static void Load(string path, ModelDescription description, Span<float> parameters, Span<float> state)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(description);
        CheckFits(description, description.Parameters, parameters.Length, "parameter", nameof(parameters));
        CheckFits(description, description.State, state.Length, "state", nameof(state));

        using FileStream file = OpenRead(path);
        (SafetensorsHeader header, long dataStart) = ReadHeader(file, path);
        CheckModel(header.Metadata, description, path);
        var byName = header.Entries.ToDictionary(e => e.Name, StringComparer.Ordinal);
        foreach (SafetensorsEntry entry in header.Entries)
        {
            if (entry.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal)) continue;   // a training checkpoint's optimizer state
            if (!description.Parameters.Any(p => p.Name == entry.Name) && !description.State.Any(p => p.Name == entry.Name))
                throw SafetensorsHeader.Bad(path,
                    $"tensor '{entry.Name}' {entry.ShapeText} is not a parameter of model {description.Name} (it has: {string.Join(", ", description.Parameters.Concat(description.State).Select(p => p.Name))})");
        }

        // Read into copies so that a failure part-way leaves the caller's parameters and state untouched.
        float[] staging = parameters.ToArray(), stateStaging = state.ToArray();
        ReadBlock(file, dataStart, byName, path, description, description.Parameters, staging);
        ReadBlock(file, dataStart, byName, path, description, description.State, stateStaging);
        staging.CopyTo(parameters);
        stateStaging.CopyTo(state);
    }

    /// <summary>Refuses a file whose <c>dl.model</c> metadata names another model than <paramref name="description"/>.</summary>
    internal static void CheckModel(IReadOnlyDictionary<string, string> metadata, ModelDescription description, string path)
    {
        if (metadata.TryGetValue(ModelKey, out string? model) && model != description.Name)
            throw SafetensorsHeader.Bad(path, $"it is a checkpoint of model {model}, not of model {description.Name}");
    }

    private static void CheckFits(ModelDescription description, ParameterInfo[] tensors, int length, string what, string argument)
    {
        foreach (ParameterInfo p in tensors)
        {
            if (p.Offset < 0 || p.Offset + (long)p.Length > length)
                throw new ArgumentException(
                    $"{char.ToUpperInvariant(what[0])}{what[1..]} '{p.Name}' {p.ShapeText} at offset {p.Offset} does not fit in the {length}-float {what} block of model {description.Name}.",
                    argument);
        }
    }

    private static void ReadBlock(FileStream file, long dataStart, Dictionary<string, SafetensorsEntry> byName, string path,
        ModelDescription description, ParameterInfo[] tensors, float[] staging)
    {
        foreach (ParameterInfo p in tensors)
        {
            if (!byName.TryGetValue(p.Name, out SafetensorsEntry? entry))
                throw SafetensorsHeader.Bad(path, $"tensor '{p.Name}' is missing (model {description.Name} expects F32 {p.ShapeText})");
            if (entry.DType != "F32")
                throw SafetensorsHeader.Bad(path, $"tensor '{p.Name}' has dtype {entry.DType}; expected F32");
            if (!entry.Shape.AsSpan().SequenceEqual(p.Shape.Select(d => (long)d).ToArray()))
                throw SafetensorsHeader.Bad(path, $"tensor '{p.Name}' has shape {entry.ShapeText}; model {description.Name} expects {p.ShapeText}");
            file.Position = dataStart + entry.Begin;
            ReadFloats(file, staging.AsSpan(p.Offset, p.Length), path, p.Name);
        }
    }

    /// <summary>Every tensor of a safetensors file, converted to float (dtypes F32, F64, F16, BF16), in header order.</summary>
    public static IReadOnlyDictionary<string, SafetensorsTensor> ReadAll(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using FileStream file = OpenRead(path);
        (SafetensorsHeader header, long dataStart) = ReadHeader(file, path);
        var result = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        foreach (SafetensorsEntry entry in header.Entries)
        {
            if (entry.DType is not ("F32" or "F64" or "F16" or "BF16"))
                throw SafetensorsHeader.Bad(path, $"tensor '{entry.Name}' has dtype {entry.DType}; ReadAll converts only F32, F64, F16 and BF16");
            int[] shape = entry.Shape.Select(d => (int)d).ToArray();
            var data = new float[entry.ElementCount];   // at most twice the tensor's bytes (F16/BF16): the header was checked against the file
            file.Position = dataStart + entry.Begin;
            if (entry.DType == "F32") ReadFloats(file, data, path, entry.Name);
            else ReadConverted(file, entry, data, path);
            result.Add(entry.Name, new SafetensorsTensor(entry.Name, entry.DType, shape, data));
        }
        return result;
    }

    /// <summary>The <c>__metadata__</c> map of a safetensors file (empty when absent).</summary>
    public static IReadOnlyDictionary<string, string> ReadMetadata(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using FileStream file = OpenRead(path);
        return ReadHeader(file, path).Header.Metadata;
    }

    /// <summary>The validated header of a safetensors file.</summary>
    public static SafetensorsHeader ReadHeader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using FileStream file = OpenRead(path);
        return ReadHeader(file, path).Header;
    }

    private static FileStream OpenRead(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint '{path}' does not exist.", path);
        return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
    }

    private static (SafetensorsHeader Header, long DataStart) ReadHeader(FileStream file, string path)
    {
        long fileLength = file.Length;
        if (fileLength < 8) throw SafetensorsHeader.Bad(path, $"the file is {fileLength} bytes, too short for the 8-byte header length");
        Span<byte> prefix = stackalloc byte[8];
        file.ReadExactly(prefix);
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (headerLength < 2 || headerLength > SafetensorsHeader.MaxHeaderLength || headerLength > (ulong)(fileLength - 8))
            throw SafetensorsHeader.Bad(path,
                $"header length {headerLength} is not sane (expected 2 to {Math.Min(SafetensorsHeader.MaxHeaderLength, fileLength - 8)} for a {fileLength}-byte file)");
        var json = new byte[headerLength];
        file.ReadExactly(json);
        long dataStart = 8 + (long)headerLength;
        return (SafetensorsHeader.Parse(json, fileLength - dataStart, path), dataStart);
    }

    private static byte[] BuildHeader(ModelDescription description, IReadOnlyDictionary<string, string>? metadata, IReadOnlyList<SafetensorsTensor> extraTensors)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                json.WriteStartObject("__metadata__");
                foreach (KeyValuePair<string, string> kv in metadata) json.WriteString(kv.Key, kv.Value);
                json.WriteEndObject();
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            long offset = 0;
            foreach (ParameterInfo p in description.Parameters.Concat(description.State))
            {
                if (p.Name == "__metadata__" || p.Name.StartsWith(OptimizerPrefix, StringComparison.Ordinal) || !seen.Add(p.Name))
                    throw new ArgumentException($"Model {description.Name}: parameter name '{p.Name}' is reserved or duplicated.", nameof(description));
                WriteEntry(json, p.Name, p.Shape, ref offset);
            }
            foreach (SafetensorsTensor extra in extraTensors)
            {
                if (extra.Name == "__metadata__" || !seen.Add(extra.Name))
                    throw new ArgumentException($"Extra tensor name '{extra.Name}' is reserved or the name of another tensor.", nameof(extraTensors));
                WriteEntry(json, extra.Name, extra.Shape, ref offset);
            }
            json.WriteEndObject();
        }
        // Pad with spaces so the data section starts at a multiple of 8 bytes (as the reference writer does).
        int padded = (buffer.WrittenCount + 7) & ~7;
        var header = new byte[padded];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)' ');
        return header;
    }

    private static void WriteEntry(Utf8JsonWriter json, string name, int[] shape, ref long offset)
    {
        json.WriteStartObject(name);
        json.WriteString("dtype", "F32");
        json.WriteStartArray("shape");
        long count = 1;
        foreach (int d in shape)
        {
            json.WriteNumberValue(d);
            count *= d;
        }
        json.WriteEndArray();
        json.WriteStartArray("data_offsets");
        json.WriteNumberValue(offset);
        offset += 4L * count;
        json.WriteNumberValue(offset);
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteFloats(Stream stream, ReadOnlySpan<float> values)
    {
        if (BitConverter.IsLittleEndian)
        {
            stream.Write(MemoryMarshal.AsBytes(values));
            return;
        }
        Span<byte> chunk = stackalloc byte[4096];
        while (!values.IsEmpty)
        {
            int n = Math.Min(values.Length, chunk.Length / 4);
            for (int i = 0; i < n; i++) BinaryPrimitives.WriteSingleLittleEndian(chunk[(4 * i)..], values[i]);
            stream.Write(chunk[..(4 * n)]);
            values = values[n..];
        }
    }

    private static void ReadFloats(Stream stream, Span<float> destination, string path, string tensor)
    {
        Span<byte> bytes = MemoryMarshal.AsBytes(destination);
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            throw SafetensorsHeader.Bad(path, $"tensor '{tensor}': the file ends inside its data");
        if (!BitConverter.IsLittleEndian)
        {
            Span<int> words = MemoryMarshal.Cast<float, int>(destination);
            BinaryPrimitives.ReverseEndianness(words, words);
        }
    }

    private static void ReadConverted(Stream stream, SafetensorsEntry entry, float[] destination, string path)
    {
        int size = SafetensorsHeader.DTypeSize(entry.DType);
        var bytes = new byte[checked(destination.Length * size)];
        if (stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false) < bytes.Length)
            throw SafetensorsHeader.Bad(path, $"tensor '{entry.Name}': the file ends inside its data");
        ReadOnlySpan<byte> b = bytes;
        for (int i = 0; i < destination.Length; i++)
        {
            destination[i] = entry.DType switch
            {
                "F64" => (float)BinaryPrimitives.ReadDoubleLittleEndian(b[(8 * i)..]),
                "F16" => (float)BinaryPrimitives.ReadHalfLittleEndian(b[(2 * i)..]),
                _ => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(b[(2 * i)..]) << 16), // BF16: top half of an F32
            };
        }
    }
}
