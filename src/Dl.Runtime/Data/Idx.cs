using System.Buffers.Binary;
using System.IO.Compression;

namespace Dl.Data;

/// <summary>The contents of an IDX file of unsigned bytes: the dimensions and the row-major payload.</summary>
public sealed class IdxData
{
    /// <summary>The magic number's type byte for unsigned 8-bit data.</summary>
    public const byte UnsignedByte = 0x08;

    public required int[] Dims { get; init; }
    public required byte[] Data { get; init; }

    /// <summary>The magic number: 0x0000_08_NN with NN = number of dims (0x803 for images, 0x801 for labels).</summary>
    public int Magic => (UnsignedByte << 8) | Dims.Length;

    /// <summary>The first dimension: the number of items.</summary>
    public int Count => Dims.Length == 0 ? 0 : Dims[0];

    /// <summary>The size of one item (the product of the dims after the first).</summary>
    public int ItemSize => Dims.Skip(1).Aggregate(1, (a, b) => a * b);

    public string ShapeText => "[" + string.Join(", ", Dims) + "]";
}

/// <summary>
/// Reader and writer of the IDX format (LeCun's MNIST files): a big-endian magic 0x0000TTNN
/// (TT = element type, 0x08 = unsigned byte; NN = number of dims), NN big-endian 32-bit dims, then the
/// row-major payload of Π dims bytes. Gzip-compressed files are recognized by their 1f 8b magic.
/// </summary>
public static class Idx
{
    private const int MaxDims = 8;

    /// <summary>Reads an IDX file (raw or gzipped). Errors name the file and what was expected.</summary>
    public static IdxData Read(string path) => Read(path, maxItems: null);

    /// <summary>Reads at most the first <paramref name="maxItems"/> items (slices along dimension 0) of an IDX file;
    /// null reads them all. Reading a prefix stops decompressing there: a program that needs eight test images does not
    /// pay for ten thousand.</summary>
    public static IdxData Read(string path, int? maxItems)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file '{path}' does not exist.", path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        return Read(stream, path, maxItems);
    }

    /// <summary>Reads an IDX stream (raw or gzipped); <paramref name="name"/> is used in error messages.</summary>
    public static IdxData Read(Stream stream, string name = "<stream>") => Read(stream, name, maxItems: null);

    /// <summary>Reads at most the first <paramref name="maxItems"/> items of an IDX stream (all when null); the header
    /// is checked as in a full read, the rest of the stream is left unread.</summary>
    public static IdxData Read(Stream stream, string name, int? maxItems)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (maxItems < 0) throw new ArgumentOutOfRangeException(nameof(maxItems), maxItems, "maxItems must be null (all) or at least 0.");
        if (!stream.CanRead) throw new ArgumentException($"IDX source '{name}' is not readable.", nameof(stream));
        if (!stream.CanSeek)
        {
            // Peeking at the gzip magic needs a rewind: buffer non-seekable sources (network streams) once.
            var buffered = new MemoryStream();
            stream.CopyTo(buffered);
            buffered.Position = 0;
            stream = buffered;
        }
        long start = stream.Position;
        Span<byte> magic = stackalloc byte[2];
        int got = stream.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        stream.Position = start;
        if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
        {
            using var gzip = new GZipStream(stream, CompressionMode.Decompress, leaveOpen: true);
            try
            {
                return ReadRaw(gzip, name, compressed: true, maxItems);
            }
            catch (InvalidDataException e) when (!e.Message.StartsWith("IDX", StringComparison.Ordinal))
            {
                throw new InvalidDataException($"IDX file '{name}': the gzip stream is corrupt or truncated ({e.Message}).", e);
            }
        }
        return ReadRaw(stream, name, compressed: false, maxItems);
    }

    private static IdxData ReadRaw(Stream stream, string name, bool compressed, int? maxItems)
    {
        string what = compressed ? "gzipped IDX file" : "IDX file";
        Span<byte> header = stackalloc byte[4];
        if (stream.ReadAtLeast(header, 4, throwOnEndOfStream: false) < 4)
            throw new InvalidDataException($"IDX file '{name}': too short for the 4-byte magic number.");
        if (header[0] != 0 || header[1] != 0)
            throw new InvalidDataException(
                $"IDX file '{name}': bad magic number 0x{BinaryPrimitives.ReadUInt32BigEndian(header):X8}; expected 0x000008NN " +
                "(0x00000803 for images, 0x00000801 for labels). Is this an IDX file?");
        if (header[2] != IdxData.UnsignedByte)
            throw new InvalidDataException(
                $"IDX file '{name}': element type 0x{header[2]:X2} is not supported; expected 0x08 (unsigned byte), magic 0x000008NN.");
        int ndim = header[3];
        if (ndim is 0 or > MaxDims)
            throw new InvalidDataException($"IDX file '{name}': {ndim} dimensions in the magic number; expected 1 to {MaxDims}.");

        Span<byte> dimBytes = stackalloc byte[4 * MaxDims];
        dimBytes = dimBytes[..(4 * ndim)];
        if (stream.ReadAtLeast(dimBytes, dimBytes.Length, throwOnEndOfStream: false) < dimBytes.Length)
            throw new InvalidDataException($"IDX file '{name}': truncated header; expected {ndim} dimensions of 4 bytes each.");
        var dims = new int[ndim];
        long total = 1;
        for (int i = 0; i < ndim; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes[(4 * i)..]);
            if (d > int.MaxValue)
                throw new InvalidDataException($"IDX file '{name}': dimension {i} is {d}, which is not a valid size.");
            dims[i] = (int)d;
            total *= d;
            if (total > Array.MaxLength)
                throw new InvalidDataException($"IDX file '{name}': dims [{string.Join(", ", dims[..(i + 1)])}...] describe more than {Array.MaxLength} bytes.");
        }

        string shape = "[" + string.Join(", ", dims) + "]";
        bool prefix = maxItems < dims[0];
        if (prefix)
        {
            total = total / Math.Max(dims[0], 1) * maxItems!.Value;
            dims[0] = maxItems.Value;
        }
        var data = new byte[total];
        int read = stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        if (read < data.Length)
            throw new InvalidDataException(
                $"IDX file '{name}': truncated payload; dims {shape} need {(prefix ? "at least " : "")}{data.Length} bytes of data but the {what} has only {read}.");
        if (prefix) return new IdxData { Dims = dims, Data = data };
        Span<byte> probe = stackalloc byte[1];
        if (stream.Read(probe) != 0)
            throw new InvalidDataException(
                $"IDX file '{name}': the payload is longer than dims {shape} say ({data.Length} bytes expected); the count in the header is wrong or the file has trailing data.");
        return new IdxData { Dims = dims, Data = data };
    }

    /// <summary>Writes <paramref name="data"/> as an IDX file, gzip-compressed when <paramref name="gzip"/> (written atomically).</summary>
    public static void Write(string path, IdxData data, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        string temp = Path.Combine(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N") + ".tmp");
        try
        {
            using (var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                Write(file, data, gzip);
                file.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    /// <summary>Writes <paramref name="data"/> in IDX form to <paramref name="stream"/>, optionally gzip-compressed.</summary>
    public static void Write(Stream stream, IdxData data, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(data);
        if (data.Dims.Length is 0 or > MaxDims)
            throw new ArgumentException($"IDX data needs 1 to {MaxDims} dims; got {data.Dims.Length}.", nameof(data));
        long total = 1;
        foreach (int d in data.Dims)
        {
            if (d < 0) throw new ArgumentException($"IDX dims must be >= 0; got {data.ShapeText}.", nameof(data));
            total *= d;
        }
        if (total != data.Data.Length)
            throw new ArgumentException($"IDX dims {data.ShapeText} need {total} bytes but Data has {data.Data.Length}.", nameof(data));

        Stream target = gzip ? new GZipStream(stream, CompressionLevel.Optimal, leaveOpen: true) : stream;
        try
        {
            Span<byte> word = stackalloc byte[4];
            BinaryPrimitives.WriteInt32BigEndian(word, data.Magic);
            target.Write(word);
            foreach (int d in data.Dims)
            {
                BinaryPrimitives.WriteInt32BigEndian(word, d);
                target.Write(word);
            }
            target.Write(data.Data);
        }
        finally
        {
            if (gzip) target.Dispose();
        }
    }
}
