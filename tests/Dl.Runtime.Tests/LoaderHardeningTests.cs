using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;
using Dl.Checkpoints;
using Dl.Data;
using Dl.Tests.Fuzz;

namespace Dl.Tests;

/// <summary>Regressions of issue 13, item 4: loaders bounded against files that lie, and saves that clean up after
/// killed processes.</summary>
public sealed class LoaderHardeningTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dl-harden-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteFile(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] IdxFile(int magic, int[] dims, byte[] payload) => IdxFuzzTests.IdxBytes(magic, dims, payload);

    private static byte[] Gzip(byte[] raw) => IdxFuzzTests.Gzip(raw);

    private static (InvalidDataException Error, long Allocated) ReadFails(string path)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidDataException>(() => Dl.Data.Idx.Read(path));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Contains(path, e.Message);
        return (e, allocated);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void IdxHeaderClaimingGigabytes_FailsWithoutAllocatingThem(bool gzip)
    {
        // 12 bytes raw (32 gzipped) whose dims [46340, 46340] claim 2.1 GB: the reader used to allocate all of it first.
        byte[] raw = IdxFile(0x802, [46340, 46340], []);
        string path = WriteFile("liar", gzip ? Gzip(raw) : raw);
        var clock = Stopwatch.StartNew();
        (InvalidDataException e, long allocated) = ReadFails(path);
        Assert.Contains("truncated payload", e.Message);
        Assert.True(allocated < 1 << 20, $"allocated {allocated} bytes for a {new FileInfo(path).Length}-byte file");
        Assert.True(clock.Elapsed.TotalSeconds < 2, $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData(new[] { 0, 65536, 65536 }, "more than")]      // item size 2^32: overflowed to a negative size before
    [InlineData(new[] { 65536, 65536, 65536 }, "more than")]
    [InlineData(new[] { 5, 0, 28 }, "0 bytes")]
    [InlineData(new[] { 0, 28, 0 }, "0 bytes")]
    public void IdxDims_ZeroOrOverflowingItemSize_AreRejectedNamingTheDims(int[] dims, string expected)
    {
        string path = WriteFile("dims", IdxFile(0x800 | dims.Length, dims, []));
        (InvalidDataException e, _) = ReadFails(path);
        Assert.Contains(expected, e.Message);
        Assert.Contains("[" + string.Join(", ", dims) + "]", e.Message);
    }

    public static TheoryData<string, int> BadGzip => new()
    {
        { "trailing garbage", 0 }, { "trailing zero bytes", 1 }, { "a second member", 2 }, { "half a second member's magic", 3 },
        { "the trailer cut by 1", 4 }, { "the trailer cut by 4", 5 }, { "the trailer cut by 8", 6 }, { "the deflate data cut", 7 },
        { "a wrong CRC-32", 8 }, { "a wrong ISIZE", 9 }, { "bytes inserted before the trailer", 10 },
    };

    [Theory]
    [MemberData(nameof(BadGzip))]
    public void GzipFraming_TrailingDataAndBadOrTruncatedTrailers_AreRejected(string what, int kind)
    {
        byte[] gz = Gzip(IdxFile(0x803, [3, 2, 4], Enumerable.Range(0, 24).Select(i => (byte)i).ToArray()));
        byte[] bad = kind switch
        {
            0 => [.. gz, .. "garbage"u8],
            1 => [.. gz, 0, 0, 0, 0],
            2 => [.. gz, .. gz],
            3 => [.. gz, 0x1f],
            4 => gz[..^1],
            5 => gz[..^4],
            6 => gz[..^8],
            7 => gz[..^10],
            8 => Flip(gz, gz.Length - 8),
            9 => Flip(gz, gz.Length - 1),
            _ => [.. gz[..^8], 0x55, .. gz[^8..]],
        };
        string path = WriteFile("bad.gz", bad);
        (InvalidDataException e, _) = ReadFails(path);
        Assert.Contains("gzip", e.Message);
        Assert.NotEmpty(what);
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        byte[] b = (byte[])bytes.Clone();
        b[at] ^= 0x10;
        return b;
    }

    [Fact]
    public void Gzip_WithNameAndHeaderChecksum_IsRead()
    {
        byte[] raw = IdxFile(0x801, [4], [1, 2, 3, 4]);
        byte[] gz = IdxFuzzTests.Gzip(raw, withName: true);
        Assert.Equal([1, 2, 3, 4], Dl.Data.Idx.Read(WriteFile("named.gz", gz)).Data);
        // FHCRC: the low 16 bits of the header's CRC-32; a wrong one is rejected.
        int headerEnd = Array.IndexOf(gz, (byte)0, 10) + 1;
        byte[] header = gz[..headerEnd];
        header[3] |= 0x02;
        uint crc = ReferenceCrc(header);
        byte[] withCrc = [.. header, (byte)crc, (byte)(crc >> 8), .. gz[headerEnd..]];
        Assert.Equal([1, 2, 3, 4], Dl.Data.Idx.Read(WriteFile("hcrc.gz", withCrc)).Data);
        withCrc[headerEnd] ^= 1;
        Assert.Contains("FHCRC", ReadFails(WriteFile("badhcrc.gz", withCrc)).Error.Message);
    }

    private static uint ReferenceCrc(byte[] data)
    {
        uint c = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            c ^= b;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        }
        return ~c;
    }

    [Fact]
    public void Crc32_MatchesTheBitwiseDefinition_AtEveryLengthAndSplit()
    {
        var random = new Random(3);
        for (int n = 0; n < 600; n += n < 200 ? 1 : 37)
        {
            byte[] data = new byte[n];
            random.NextBytes(data);
            int split = random.Next(n + 1);
            Assert.Equal(ReferenceCrc(data), Crc32.Append(Crc32.Append(0, data.AsSpan(0, split)), data.AsSpan(split)));
        }
        Assert.Equal(0xCBF43926u, Crc32.Append(0, "123456789"u8));
    }

    // ---- safetensors ----

    private string Checkpoint(out float[] parameters, out float[] state)
    {
        string path = Path.Combine(_dir, "model.safetensors");
        Safetensors.Save(path, SafetensorsFuzzTests.Model, Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), [5f, 6f],
            new Dictionary<string, string> { ["epoch"] = "3" });
        parameters = Enumerable.Repeat(-1f, 12).ToArray();
        state = [-1f, -1f];
        return path;
    }

    /// <summary>Replaces the header with <paramref name="edit"/> of it (bytes, so invalid UTF-8 can be written) and
    /// the data section with <paramref name="data"/> of it.</summary>
    private static void Rewrite(string path, Func<byte[], byte[]> edit, Func<byte[], byte[]>? data = null)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        byte[] header = edit(bytes[8..(8 + n)]), body = (data ?? (d => d))(bytes[(8 + n)..]);
        var result = new byte[8 + header.Length + body.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(result, (ulong)header.Length);
        header.CopyTo(result, 8);
        body.CopyTo(result, 8 + header.Length);
        File.WriteAllBytes(path, result);
    }

    private static byte[] Replace(byte[] header, string find, byte[] with)
    {
        string text = Encoding.Latin1.GetString(header);
        int at = text.IndexOf(find, StringComparison.Ordinal);
        Assert.True(at >= 0, find);
        return [.. header[..at], .. with, .. header[(at + find.Length)..]];
    }

    public static TheoryData<string, string, string, string> BadHeaders => new()
    {
        { "invalid UTF-8 in a name", "\"fc1.bias\"", "\"fc1.\u00FFbias\"", "UTF-8" },
        { "an encoded surrogate in a value", "\"3\"", "\"\u00ED\u00A0\u0080\"", "UTF-8" },
        { "a lone surrogate escape in a name", "\"fc1.bias\"", "\"fc1.\\ud800bias\"", "UTF-8" },
        { "a lone surrogate escape in metadata", "\"3\"", "\"\\udc00\"", "UTF-8" },
        { "a duplicate tensor name (escaped)", "\"fc1.bias\"", "\"fc1.\\u0077eight\"", "twice" },
        { "a duplicate field", "\"dtype\":\"F32\",", "\"dtype\":\"F32\",\"dtype\":\"F32\",", "twice" },
        { "a duplicate metadata key", "\"epoch\":\"3\"", "\"epoch\":\"3\",\"epoch\":\"4\"", "twice" },
        { "a wrong dtype", "\"F32\"", "\"F16\"", "F16" },
        { "an unknown dtype", "\"F32\"", "\"Q4\"", "unknown dtype" },
        { "bad JSON", "{", "{,", "JSON" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void MalformedSafetensorsHeaders_AreInvalidDataNamingTheFile_AndChangeNothing(string what, string find, string replace, string expected)
    {
        string path = Checkpoint(out float[] parameters, out float[] state);
        Rewrite(path, h => Replace(h, find, Encoding.Latin1.GetBytes(replace)));
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path, SafetensorsFuzzTests.Model, parameters, state));
        Assert.Contains(path, e.Message);
        Assert.Contains(expected, e.Message);
        Assert.All(parameters.Concat(state), v => Assert.Equal(-1f, v));
        Assert.NotEmpty(what);
    }

    [Fact]
    public void HoleBetweenTensors_IsRejected()
    {
        // fc1.weight is [0, 24); moving fc1.bias and everything after it 4 bytes on leaves bytes 24..28 uncovered.
        string path = Checkpoint(out float[] parameters, out float[] state);
        Rewrite(path, h =>
        {
            string text = Encoding.Latin1.GetString(h);
            foreach ((string from, string to) in new[] { ("[44,56]", "[48,60]"), ("[36,44]", "[40,48]"), ("[24,36]", "[28,40]") })
                text = text.Replace(from, to, StringComparison.Ordinal);
            return Encoding.Latin1.GetBytes(text);
        }, d => [.. d[..24], 0, 0, 0, 0, .. d[24..]]);
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path, SafetensorsFuzzTests.Model, parameters, state));
        Assert.Contains(path, e.Message);
        Assert.Contains("hole of 4 bytes", e.Message);
        Assert.All(parameters, v => Assert.Equal(-1f, v));
    }

    // ---- saves ----

    private static string TempOf(string target, int pid) =>
        Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{pid}.{Guid.NewGuid():N}.tmp");

    [Fact]
    public void Save_RemovesStaleTempFilesOfTheTarget_KeepsLiveAndOthers()
    {
        string target = Path.Combine(_dir, "m.safetensors");
        string dead = TempOf(target, int.MaxValue);                              // no such process
        string old = TempOf(target, Environment.ProcessId);                      // live PID, but unwritten for 2 hours
        string live = TempOf(target, Environment.ProcessId);                     // a save in progress in this process
        string other = TempOf(Path.Combine(_dir, "other.safetensors"), int.MaxValue);   // another target's
        foreach (string f in new[] { dead, old, live, other }) File.WriteAllBytes(f, [1, 2, 3]);
        File.SetLastWriteTimeUtc(old, DateTime.UtcNow.AddHours(-2));

        Safetensors.Save(target, SafetensorsFuzzTests.Model, new float[12], new float[2]);

        Assert.False(File.Exists(dead));
        Assert.False(File.Exists(old));
        Assert.True(File.Exists(live));
        Assert.True(File.Exists(other));
        Assert.Equal(new[] { live, other }.Order(), Directory.GetFiles(_dir, ".*.tmp").Order());
    }

    [Fact]
    public void Save_IntoAMissingFolder_NamesTheUsersPath_NotTheTempFile()
    {
        string target = Path.Combine(_dir, "no-such-folder", "m.safetensors");
        var e = Assert.Throws<DirectoryNotFoundException>(() => Safetensors.Save(target, SafetensorsFuzzTests.Model, new float[12], new float[2]));
        Assert.Contains(target, e.Message);
        Assert.DoesNotContain(".tmp", e.Message);
        e = Assert.Throws<DirectoryNotFoundException>(() => Safetensors.CheckSavePath(target));
        Assert.Contains(target, e.Message);
        Assert.Contains("does not exist", e.Message);
        Assert.Contains(_dir, Assert.Throws<IOException>(() => Safetensors.CheckSavePath(_dir)).Message);
        Safetensors.CheckSavePath(Path.Combine(_dir, "fine.safetensors"));
        Assert.Empty(Directory.GetFiles(_dir));
    }
}
