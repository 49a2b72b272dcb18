using System.Buffers.Binary;
using System.IO.Compression;
using Dl.Checkpoints;

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
/// <remarks>Reading trusts nothing in the file: sizes are checked in 64 bits (items of 0 bytes, or sizes beyond an
/// array, are errors), a raw payload larger than the file is reported before anything is allocated, and a gzipped one
/// is read into a buffer grown as data arrives, so a 12-byte header claiming gigabytes costs kilobytes. A gzip file must
/// be one complete member: a truncated deflate stream or trailer, a CRC-32 or ISIZE that does not match, and bytes after
/// the member (garbage or a second member) are errors. Every error is an <see cref="InvalidDataException"/> whose
/// message names the file and what was expected.</remarks>
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
            using GzipMember gzip = GzipMember.Open(stream, $"IDX file '{name}'");
            // Deflate rarely expands data more than 4x on these files (Fashion-MNIST: 1.8x); more is grown into as it
            // arrives, so a header that lies about the size cannot make the reader allocate what the file does not hold.
            long firstBuffer = 4 * gzip.CompressedLength + (1 << 16);
            IdxData data = ReadRaw(gzip, name, compressed: true, maxItems, firstBuffer, out bool prefix);
            if (!prefix) gzip.CheckEnd();   // a prefix leaves the rest (and the trailer) unread
            return data;
        }
        return ReadRaw(stream, name, compressed: false, maxItems, stream.Length - start, out _);
    }

    /// <summary>Reads the IDX header and payload from <paramref name="stream"/>. <paramref name="available"/> is, for a
    /// raw stream, the bytes left in it, header included (a payload larger than what follows the header is reported
    /// before anything is allocated) and, for a
    /// decompressing one, the size of the first buffer, grown by doubling as the data arrives.</summary>
    private static IdxData ReadRaw(Stream stream, string name, bool compressed, int? maxItems, long available, out bool prefix)
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
        for (int i = 0; i < ndim; i++)
        {
            uint d = BinaryPrimitives.ReadUInt32BigEndian(dimBytes[(4 * i)..]);
            if (d > int.MaxValue)
                throw new InvalidDataException($"IDX file '{name}': dimension {i} is {d}, which is not a valid size.");
            dims[i] = (int)d;
        }
        string shape = "[" + string.Join(", ", dims) + "]";
        // Sizes in 64 bits: the item size (product of the dims after the first) and the count times it must both fit an
        // array; a zero dim after the first would make every item empty (and hide any count).
        long itemSize = 1;
        for (int i = 1; i < ndim; i++)
        {
            if (dims[i] == 0)
                throw new InvalidDataException($"IDX file '{name}': dims {shape} make items of 0 bytes; every dimension after the first must be at least 1.");
            itemSize *= dims[i];
            if (itemSize > Array.MaxLength)
                throw new InvalidDataException($"IDX file '{name}': dims {shape} make items of more than {Array.MaxLength} bytes; expected e.g. [n, 28, 28].");
        }
        long total = dims[0] * itemSize;
        if (total > Array.MaxLength)
            throw new InvalidDataException($"IDX file '{name}': dims {shape} describe {total} bytes, more than the {Array.MaxLength} an array holds.");

        prefix = maxItems < dims[0];
        if (prefix)
        {
            total = itemSize * maxItems!.Value;
            dims[0] = maxItems.Value;
        }
        string need = $"dims {shape} need {(prefix ? "at least " : "")}{total} bytes of data";
        if (!compressed) available -= 4 + 4 * ndim;   // what follows the header
        if (!compressed && total > available)
            throw new InvalidDataException($"IDX file '{name}': truncated payload; {need} but the {what} has only {Math.Max(available, 0)}.");
        byte[] data = ReadPayload(stream, (int)total, compressed ? available : total);
        if (data.Length < total)
            throw new InvalidDataException($"IDX file '{name}': truncated payload; {need} but the {what} has only {data.Length}.");
        if (prefix) return new IdxData { Dims = dims, Data = data };
        Span<byte> probe = stackalloc byte[1];
        if (stream.Read(probe) != 0)
            throw new InvalidDataException(
                $"IDX file '{name}': the payload is longer than dims {shape} say ({total} bytes expected); the count in the header is wrong or the file has trailing data.");
        return new IdxData { Dims = dims, Data = data };
    }

    /// <summary>Reads up to <paramref name="total"/> bytes into an array that starts at <paramref name="firstBuffer"/>
    /// bytes and doubles when full: the array returned is shorter than <paramref name="total"/> when the stream ends
    /// first, and the memory taken is at most about twice what the stream held.</summary>
    private static byte[] ReadPayload(Stream stream, int total, long firstBuffer)
    {
        var data = new byte[(int)Math.Min(total, Math.Max(firstBuffer, 0))];
        int filled = 0;
        while (filled < total)
        {
            if (filled == data.Length) Array.Resize(ref data, (int)Math.Min(total, Math.Max(2L * data.Length, 1 << 16)));
            int n = stream.Read(data, filled, data.Length - filled);
            if (n == 0) break;
            filled += n;
        }
        if (filled < data.Length) Array.Resize(ref data, filled);
        return data;
    }

    /// <summary>Writes <paramref name="data"/> as an IDX file, gzip-compressed when <paramref name="gzip"/> (written atomically).</summary>
    public static void Write(string path, IdxData data, bool gzip)
    {
        ArgumentNullException.ThrowIfNull(path);
        using AtomicFile target = AtomicFile.Create(path, "IDX file");
        Write(target.Stream, data, gzip);
        target.Commit();
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
