using System.Buffers.Binary;
using System.IO.Compression;
using Dl.Data;

namespace Dl.Tests;

public sealed class IdxTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dl-idx-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static byte[] IdxBytes(int magic, int[] dims, byte[] payload)
    {
        var bytes = new byte[4 + 4 * dims.Length + payload.Length];
        BinaryPrimitives.WriteInt32BigEndian(bytes, magic);
        for (int i = 0; i < dims.Length; i++) BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(4 + 4 * i), dims[i]);
        payload.CopyTo(bytes, 4 + 4 * dims.Length);
        return bytes;
    }

    private static byte[] Gzip(byte[] raw)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true)) gz.Write(raw);
        return ms.ToArray();
    }

    private string WriteFile(string name, byte[] bytes)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private static byte[] Pixels(int n) => Enumerable.Range(0, n).Select(i => (byte)(i * 7 % 256)).ToArray();

    [Theory]
    [InlineData(false, 0)]
    [InlineData(false, 2)]
    [InlineData(true, 2)]
    [InlineData(true, 3)]
    [InlineData(true, 50)]
    public void Read_AtMostMaxItems_IsThePrefixOfTheFullRead(bool gzip, int maxItems)
    {
        byte[] images = IdxBytes(0x803, [3, 2, 4], Pixels(24));
        byte[] labels = IdxBytes(0x801, [3], [2, 0, 9]);
        string ip = WriteFile("img", gzip ? Gzip(images) : images), lp = WriteFile("lbl", gzip ? Gzip(labels) : labels);
        int n = Math.Min(maxItems, 3);

        IdxData img = Idx.Read(ip, maxItems);
        Assert.Equal([n, 2, 4], img.Dims);
        Assert.Equal(Pixels(24)[..(8 * n)], img.Data);
        using var imageStream = File.OpenRead(ip);
        using var labelStream = File.OpenRead(lp);
        Dataset data = Dataset.LoadIdxPair(imageStream, labelStream, 10, maxItems);
        Assert.Equal(n, data.Count);
        Assert.Equal(new int[] { 2, 0, 9 }[..n], data.Labels);
    }

    [Fact]
    public void Read_AtMostMaxItems_StillRejectsATruncatedPrefixAndANegativeCount()
    {
        byte[] images = IdxBytes(0x803, [3, 2, 4], Pixels(24));
        string cut = WriteFile("cut", images[..(16 + 10)]);   // the 16-byte header and 1.25 images of 8 bytes
        Assert.Contains("truncated payload", Assert.Throws<InvalidDataException>(() => Idx.Read(cut, maxItems: 2)).Message);
        Assert.Equal(1, Idx.Read(cut, maxItems: 1).Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => Idx.Read(cut, maxItems: -1));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Read_ImagesAndLabels_RawOrGzipped(bool gzip)
    {
        byte[] images = IdxBytes(0x803, [3, 2, 4], Pixels(24));
        byte[] labels = IdxBytes(0x801, [3], [2, 0, 9]);
        string ip = WriteFile("img", gzip ? Gzip(images) : images), lp = WriteFile("lbl", gzip ? Gzip(labels) : labels);

        IdxData img = Idx.Read(ip);
        Assert.Equal([3, 2, 4], img.Dims);
        Assert.Equal(Pixels(24), img.Data);
        Assert.Equal(0x803, img.Magic);
        Assert.Equal(8, img.ItemSize);
        IdxData lbl = Idx.Read(lp);
        Assert.Equal([3], lbl.Dims);
        Assert.Equal([2, 0, 9], lbl.Data);

        Dataset data = Dataset.LoadIdxPair(ip, lp, 10);
        Assert.Equal(3, data.Count);
        Assert.Equal(8, data.Features);
        Assert.Equal([2, 4], data.SampleShape);
        Assert.Equal(Pixels(24)[9] / 255f, data.X[9]);
        Assert.Equal([2, 0, 9], data.Labels);
    }

    [Fact]
    public void Write_ThenRead_RoundTrips_InBothForms()
    {
        var original = new IdxData { Dims = [5, 3, 3], Data = Pixels(45) };
        foreach (bool gzip in new[] { false, true })
        {
            string path = Path.Combine(_dir, gzip ? "w.gz" : "w");
            Idx.Write(path, original, gzip);
            byte[] head = File.ReadAllBytes(path)[..2];
            Assert.Equal(gzip, head[0] == 0x1f && head[1] == 0x8b);
            IdxData back = Idx.Read(path);
            Assert.Equal(original.Dims, back.Dims);
            Assert.Equal(original.Data, back.Data);
        }
        Assert.Empty(Directory.GetFiles(_dir, "*.tmp")); // no temp files left behind
    }

    [Fact]
    public void Read_FromNonSeekableStream_Works()
    {
        byte[] gz = Gzip(IdxBytes(0x801, [4], [1, 2, 3, 4]));
        IdxData d = Idx.Read(new ForwardOnlyStream(gz), "net");
        Assert.Equal([1, 2, 3, 4], d.Data);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void BadMagic_NamesFileAndExpectedMagic(bool gzip)
    {
        byte[] bytes = IdxBytes(0x12345678, [1], [0]);
        string path = WriteFile("bad-magic", gzip ? Gzip(bytes) : bytes);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("0x12345678", e.Message);
        Assert.Contains("0x00000803", e.Message);
    }

    [Fact]
    public void UnsupportedElementType_IsRejected()
    {
        string path = WriteFile("float-idx", IdxBytes(0x0D01, [1], [0, 0, 0, 0]));
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.Contains("0x0D", e.Message);
        Assert.Contains("unsigned byte", e.Message);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TruncatedPayload_SaysHowManyBytesWereExpected(bool gzip)
    {
        byte[] bytes = IdxBytes(0x803, [2, 3, 3], Pixels(18))[..^5];
        string path = WriteFile("short", gzip ? Gzip(bytes) : bytes);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("[2, 3, 3]", e.Message);
        Assert.Contains("18 bytes", e.Message);
        Assert.Contains("only 13", e.Message);
    }

    [Fact]
    public void TruncatedHeader_AndTruncatedGzip_AreReported()
    {
        string header = WriteFile("hdr", IdxBytes(0x803, [2, 3, 3], [])[..10]);
        Assert.Contains("truncated header", Assert.Throws<InvalidDataException>(() => Idx.Read(header)).Message);
        byte[] gz = Gzip(IdxBytes(0x803, [20, 10, 10], Pixels(2000)));
        string cut = WriteFile("cut.gz", gz[..(gz.Length / 2)]);
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(cut));
        Assert.Contains(cut, e.Message);
    }

    [Fact]
    public void CountTooSmall_ForPayload_IsReported()
    {
        // Header says 2 labels but 3 bytes follow.
        string path = WriteFile("long", IdxBytes(0x801, [2], [1, 2, 3]));
        var e = Assert.Throws<InvalidDataException>(() => Idx.Read(path));
        Assert.Contains("longer than dims [2]", e.Message);
    }

    [Fact]
    public void MismatchedImageAndLabelCounts_AreReported()
    {
        string ip = WriteFile("i", IdxBytes(0x803, [3, 2, 2], Pixels(12)));
        string lp = WriteFile("l", IdxBytes(0x801, [2], [0, 1]));
        var e = Assert.Throws<InvalidDataException>(() => Dataset.LoadIdxPair(ip, lp, 10));
        Assert.Contains("3 images", e.Message);
        Assert.Contains("2 labels", e.Message);
        string swapped = WriteFile("l2", IdxBytes(0x801, [3], [0, 1, 12]));
        e = Assert.Throws<InvalidDataException>(() => Dataset.LoadIdxPair(ip, swapped, 10));
        Assert.Contains("label 2 is 12", e.Message);
    }

    [Fact]
    public void LoadFashionMnist_AcceptsGzOrRaw_AndNamesMissingFiles()
    {
        File.WriteAllBytes(Path.Combine(_dir, "t10k-images-idx3-ubyte.gz"), Gzip(IdxBytes(0x803, [2, 28, 28], Pixels(1568))));
        File.WriteAllBytes(Path.Combine(_dir, "t10k-labels-idx1-ubyte"), IdxBytes(0x801, [2], [3, 7]));
        Dataset test = Dataset.LoadFashionMnist(_dir, train: false);
        Assert.Equal(2, test.Count);
        Assert.Equal(784, test.Features);
        Assert.Equal(10, test.Classes);
        var e = Assert.Throws<FileNotFoundException>(() => Dataset.LoadFashionMnist(_dir, train: true));
        Assert.Contains("train-images-idx3-ubyte", e.Message);
    }

    [Fact]
    public void RealFashionMnist_WhenInstalled_HasExpectedShape()
    {
        const string dir = "/usr/share/datasets/fashion-mnist";
        if (!File.Exists(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"))) return;
        Dataset test = Dataset.LoadFashionMnist(dir, train: false);
        Assert.Equal(10_000, test.Count);
        Assert.Equal([28, 28], test.SampleShape);
        Assert.All(test.ClassCounts(), c => Assert.Equal(1000, c));
        Assert.InRange(test.X.Max(), 0.99f, 1f);
    }

    [Fact]
    public void EmbeddedSubset_InRepository_LoadsWithExpectedCounts()
    {
        string? dir = FindRepositoryFile("src/Dl.Models/Data");
        if (dir is null) return; // tests run outside the repository checkout
        using var trainImages = File.OpenRead(Path.Combine(dir, "fashion-train-images.idx3.gz"));
        using var trainLabels = File.OpenRead(Path.Combine(dir, "fashion-train-labels.idx1.gz"));
        Dataset train = Dataset.LoadIdxPair(trainImages, trainLabels, 10);
        Assert.Equal(6000, train.Count);
        Assert.Equal([28, 28], train.SampleShape);
        Assert.Equal([560, 643, 608, 612, 584, 594, 590, 617, 590, 602], train.ClassCounts());
        Dataset test = Dataset.LoadIdxPair(Path.Combine(dir, "fashion-test-images.idx3.gz"), Path.Combine(dir, "fashion-test-labels.idx1.gz"), 10);
        Assert.Equal(1000, test.Count);
        Assert.Equal([107, 105, 111, 93, 115, 87, 97, 95, 95, 95], test.ClassCounts());
    }

    private static string? FindRepositoryFile(string relative)
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Dl.sln")))
                return Directory.Exists(Path.Combine(d.FullName, relative)) ? Path.Combine(d.FullName, relative) : null;
        }
        return null;
    }

    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private readonly MemoryStream _inner = new(data);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, Math.Min(count, 3));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
