using System.Buffers.Binary;
using System.Diagnostics;
using System.IO.Compression;
using Dl.Data;
using Xunit.Abstractions;

namespace Dl.Tests.Fuzz;

/// <summary>
/// Mutated IDX files, raw and gzipped (mutations before gzip: valid gzip around a lying IDX; after: damaged gzip
/// framing, trailers, second members). Property: <see cref="Idx.Read(string, int?)"/> either throws
/// <see cref="InvalidDataException"/> naming the file, or returns what the reference parse below finds; allocation is
/// bounded by the file and the data decodable from it, never by what a header claims.
/// </summary>
[Trait("Category", "Fuzz")]
public sealed class IdxFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dl-fuzz-idx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static byte[] IdxBytes(int magic, int[] dims, byte[] payload)
    {
        var bytes = new byte[4 + 4 * dims.Length + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        payload.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    internal static byte[] Gzip(byte[] raw, bool withName = false)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        byte[] bytes = ms.ToArray();
        if (!withName || bytes.Length < 10) return bytes;   // (nothing written: GZipStream writes nothing either)
        bytes[3] |= 0x08;   // FNAME: a zero-terminated name after the 10-byte fixed header
        return [.. bytes.AsSpan(0, 10), .. "images.idx\0"u8, .. bytes.AsSpan(10)];
    }

    private static readonly byte[][] Seeds =
    [
        IdxBytes(0x803, [3, 4, 5], Enumerable.Range(0, 60).Select(i => (byte)(i * 7)).ToArray()),
        IdxBytes(0x801, [6], [1, 0, 9, 3, 3, 7]),
        IdxBytes(0x803, [0, 28, 28], []),
        IdxBytes(0x804, [2, 1, 3, 2], Enumerable.Range(0, 12).Select(i => (byte)i).ToArray()),
        IdxBytes(0x803, [40, 6, 6], new byte[1440]),   // zeros: compresses well, so gzip length lies stretch far
    ];

    [Fact]
    public void MutatedIdx_RawAndGzipped_CleanErrorOrReferenceEqual()
    {
        var elapsed = Stopwatch.StartNew();
        var driver = new FuzzDriver("idx", output);
        string path = Path.Combine(_dir, "case.idx");
        foreach ((string name, byte[] bytes) in driver.Corpus())
        {
            // NAME.maxN.bin: the case read at most N items.
            var max = System.Text.RegularExpressions.Regex.Match(name, @"\.max([0-9]+)\.bin$");
            int? maxItems = max.Success ? int.Parse(max.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
            driver.Run(name, path, bytes, Decodable(bytes), () => Check(path, bytes, maxItems));
        }
        for (int i = 0; i < FuzzDriver.Cases; i++)
        {
            var random = FuzzDriver.CaseRandom(i, 1);
            byte[] seed = Seeds[random.Next(Seeds.Length)];
            byte[] bytes = random.Next(3) switch
            {
                0 => Mutate.Bytes(random, seed, random.Next(1, 4), IdxField),
                1 => Gzip(Mutate.Bytes(random, seed, random.Next(1, 4), IdxField), withName: random.Next(2) == 0),
                _ => Mutate.Bytes(random, Gzip(seed, withName: random.Next(2) == 0), random.Next(1, 3), GzipField),
            };
            int? maxItems = random.Next(5) == 0 ? random.Next(0, 8) : null;
            driver.Run(i.ToString("D7"), path, bytes, Decodable(bytes), () => Check(path, bytes, maxItems));
        }
        driver.Finish(elapsed);
    }

    /// <summary>Idx.Read against the reference: a raw file must load exactly when the reference accepts it; a gzip file
    /// may be rejected for framing the reference does not check, but what loads must equal the reference.</summary>
    private static Outcome Check(string path, byte[] bytes, int? maxItems)
    {
        bool gzip = bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b;
        var expected = new List<(int[] Dims, byte[] Data)>();
        if (!gzip) Add(expected, ReferenceParse(bytes, maxItems, out _));
        else if (ReferenceGunzip(bytes) is { } content) Add(expected, ReferenceParse(content, maxItems, out _));
        else if (maxItems is not null)
        {
            // A prefix read stops before the damage (the rest of the file is documented as unread). GZipStream, read a
            // byte at a time, drops the one byte decoded in the call that fails, so that byte is unknown here: every
            // value of it gives a candidate.
            byte[] partial = DecodePartial(bytes);
            Add(expected, ReferenceParse(partial, maxItems, out bool prefix) is { } whole && prefix ? whole : null);
            for (int v = 0; v < 256; v++)
                Add(expected, ReferenceParse([.. partial, (byte)v], maxItems, out prefix) is { } padded && prefix ? padded : null);
        }
        IdxData actual = null!;
        try
        {
            FuzzDriver.Measure(() => actual = Dl.Data.Idx.Read(path, maxItems));
        }
        catch (InvalidDataException e)
        {
            FuzzDriver.Note = e.Message;
            if (!e.Message.Contains(path, StringComparison.Ordinal)) return Outcome.Crash;
            return expected.Count > 0 && !gzip ? Outcome.Mismatch : Outcome.CleanError;
        }
        FuzzDriver.Note = $"loaded dims [{string.Join(", ", actual.Dims)}], {actual.Data.Length} bytes; the reference: " +
                          (expected.Count > 0 ? $"[{string.Join(", ", expected[0].Dims)}], {expected[0].Data.Length} bytes" : "invalid");
        return expected.Any(e => e.Dims.AsSpan().SequenceEqual(actual.Dims) && e.Data.AsSpan().SequenceEqual(actual.Data)) ? Outcome.Loaded : Outcome.Mismatch;
    }

    private static void Add(List<(int[] Dims, byte[] Data)> list, (int[] Dims, byte[] Data)? item)
    {
        if (item is { } x) list.Add(x);
    }

    /// <summary>The reference IDX parse, written from the format's description: null when invalid.</summary>
    internal static (int[] Dims, byte[] Data)? ReferenceParse(byte[] b, int? maxItems, out bool prefix)
    {
        prefix = false;
        if (b.Length < 4 || b[0] != 0 || b[1] != 0 || b[2] != 8 || b[3] is 0 or > 8) return null;
        int n = b[3];
        if (b.Length < 4 + 4 * n) return null;
        var dims = new long[n];
        for (int i = 0; i < n; i++) dims[i] = BinaryPrimitives.ReadUInt32BigEndian(b.AsSpan(4 + 4 * i));
        if (dims.Any(d => d > int.MaxValue) || dims.Skip(1).Any(d => d == 0)) return null;
        System.Numerics.BigInteger item = dims.Skip(1).Aggregate(System.Numerics.BigInteger.One, (a, d) => a * d);
        if (item > Array.MaxLength || item * dims[0] > Array.MaxLength) return null;
        long count = dims[0], itemSize = (long)item;
        prefix = maxItems < count;
        long take = prefix ? maxItems!.Value : count;
        long payload = b.Length - (4 + 4 * n);
        if (prefix ? payload < take * itemSize : payload != take * itemSize) return null;
        int[] outDims = dims.Select(d => (int)d).ToArray();
        outDims[0] = (int)take;
        return (outDims, b.AsSpan(4 + 4 * n, (int)(take * itemSize)).ToArray());
    }

    /// <summary>The reference gunzip: <see cref="GZipStream"/> must decode the whole file, and the last 8 bytes must be
    /// the CRC-32 (computed bit by bit here) and length of what it decoded; null otherwise.</summary>
    internal static byte[]? ReferenceGunzip(byte[] bytes)
    {
        var content = new MemoryStream();
        try
        {
            using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            gz.CopyTo(content);
        }
        catch (InvalidDataException)
        {
            return null;
        }
        byte[] c = content.ToArray();
        if (bytes.Length < 18) return null;
        uint crc = 0xFFFFFFFF;
        foreach (byte b in c)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320u ^ (crc >> 1) : crc >> 1;
        }
        bool trailer = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 8)) == ~crc
                       && BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)) == (uint)c.Length;
        return trailer ? c : null;
    }

    /// <summary>How many bytes the file can decode to (for the allocation bound): the file itself, or what
    /// <see cref="GZipStream"/> gets out of it before any error.</summary>
    internal static long Decodable(byte[] bytes) =>
        bytes.Length < 2 || bytes[0] != 0x1f || bytes[1] != 0x8b ? bytes.Length : DecodePartial(bytes).Length;

    /// <summary>What <see cref="GZipStream"/> decodes from <paramref name="bytes"/> before any error.</summary>
    internal static byte[] DecodePartial(byte[] bytes)
    {
        var content = new MemoryStream();
        var buffer = new byte[1];   // a byte at a time: a read that fails takes no decoded bytes with it
        try
        {
            using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
            int n;
            while ((n = gz.Read(buffer)) > 0) content.Write(buffer, 0, n);
        }
        catch (InvalidDataException) { /* what came before the error counts */ }
        return content.ToArray();
    }

    /// <summary>IDX header edits: a dim set to a boundary value (length lies, zero, overflow), or the magic's type or
    /// dimension count changed.</summary>
    private static byte[]? IdxField(Random random, byte[] bytes)
    {
        if (bytes.Length < 8) return null;
        byte[] b = (byte[])bytes.Clone();
        int ndim = Math.Min((int)b[3], (b.Length - 4) / 4);
        if (random.Next(4) == 0 || ndim == 0)
        {
            b[random.Next(2, 4)] = (byte)random.Next(0, 12);
            return b;
        }
        int[] values = [0, 1, 2, 3, 255, 65536, 46341, 0x7FFFFFFF, -1, random.Next(0, 100)];
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4 + 4 * random.Next(ndim)), values[random.Next(values.Length)]);
        return b;
    }

    /// <summary>Gzip framing edits: the trailer's CRC or ISIZE changed, the trailer cut, garbage or a second member
    /// appended, header flags set.</summary>
    private static byte[]? GzipField(Random random, byte[] bytes)
    {
        if (bytes.Length < 18) return null;
        byte[] b = (byte[])bytes.Clone();
        switch (random.Next(6))
        {
            case 0: b[^(1 + random.Next(8))] ^= (byte)(1 << random.Next(8)); return b;
            case 1: return b[..^random.Next(1, 10)];
            case 2: return [.. b, .. Mutate.RandomBytes(random, random.Next(1, 5))];
            case 3: return [.. b, .. Gzip([1, 2, 3])];
            case 4: return [.. b, 0x1f, 0x8b];
            default: b[3] = (byte)random.Next(256); return b;
        }
    }
}
