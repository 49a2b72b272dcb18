using System.Buffers.Binary;
using System.IO.Compression;

namespace Dl.Cli.Report;

/// <summary>A minimal PNG writer (ISO/IEC 15948): 8-bit greyscale or RGB, non-interlaced, every scanline with filter 0
/// (none), the image data as one zlib stream in one IDAT chunk. Enough for the report's small test images, without a
/// package.</summary>
/// <remarks>Layout: the 8-byte signature, then chunks of (length, type, data, CRC-32 of type + data): IHDR (width, height,
/// bit depth 8, colour type 0 or 2, compression 0, filter 0, interlace 0), IDAT, IEND. The zlib header and its Adler-32
/// trailer come from <see cref="ZLibStream"/>; the chunk CRCs from <see cref="PngCrc32"/>.</remarks>
public static class PngEncoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Encodes grey levels in [0, 1] (row-major, <paramref name="height"/> × <paramref name="width"/>; values
    /// outside are clamped, NaN is black) as an 8-bit greyscale PNG.</summary>
    public static byte[] EncodeGray(ReadOnlySpan<float> pixels, int width, int height)
    {
        CheckSize(pixels.Length, width, height, 1);
        var bytes = new byte[pixels.Length];
        for (int i = 0; i < pixels.Length; i++)
        {
            float v = pixels[i];
            bytes[i] = float.IsNaN(v) ? (byte)0 : (byte)MathF.Round(Math.Clamp(v, 0f, 1f) * 255f);
        }
        return Encode(bytes, width, height, channels: 1);
    }

    /// <summary>Encodes 8-bit samples, <paramref name="channels"/> per pixel (1 grey, 3 RGB), row-major, as a PNG.</summary>
    public static byte[] Encode(ReadOnlySpan<byte> samples, int width, int height, int channels)
    {
        if (channels is not (1 or 3))
            throw new ArgumentOutOfRangeException(nameof(channels), channels, "Expected 1 (grey) or 3 (RGB) channels.");
        CheckSize(samples.Length, width, height, channels);
        int stride = width * channels;

        var output = new MemoryStream();
        output.Write(Signature);

        Span<byte> header = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(header, width);
        BinaryPrimitives.WriteInt32BigEndian(header[4..], height);
        header[8] = 8;                                  // bit depth
        header[9] = channels == 1 ? (byte)0 : (byte)2;  // colour type: grey or RGB
        header[10] = header[11] = header[12] = 0;       // deflate, adaptive filtering (method 0), no interlace
        WriteChunk(output, "IHDR"u8, header);

        var compressed = new MemoryStream();
        using (var zlib = new ZLibStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            for (int row = 0; row < height; row++)
            {
                zlib.WriteByte(0);                      // filter type 0: the scanline as it is
                zlib.Write(samples.Slice(row * stride, stride));
            }
        }
        WriteChunk(output, "IDAT"u8, compressed.GetBuffer().AsSpan(0, (int)compressed.Length));
        WriteChunk(output, "IEND"u8, []);
        return output.ToArray();
    }

    /// <summary>The PNG as a <c>data:image/png;base64,…</c> URI for an <c>img</c> element.</summary>
    public static string DataUri(byte[] png) => "data:image/png;base64," + Convert.ToBase64String(png);

    private static void WriteChunk(Stream output, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        output.Write(word);
        output.Write(type);
        output.Write(data);
        uint crc = PngCrc32.Append(PngCrc32.Append(PngCrc32.Initial, type), data);
        BinaryPrimitives.WriteUInt32BigEndian(word, PngCrc32.Finish(crc));
        output.Write(word);
    }

    private static void CheckSize(int length, int width, int height, int channels)
    {
        if (width <= 0 || height <= 0)
            throw new ArgumentException($"A PNG needs a positive width and height; got {width} × {height}.");
        if ((long)width * height * channels != length)
            throw new ArgumentException($"{width} × {height} pixels with {channels} channel(s) need {(long)width * height * channels} samples; got {length}.");
    }
}

/// <summary>CRC-32 as PNG chunks use it (ISO 3309: reflected polynomial 0xEDB88320, initial value and final XOR
/// 0xFFFFFFFF), one table lookup per byte: <c>Finish(Append(Initial, data))</c>.</summary>
public static class PngCrc32
{
    private static readonly uint[] Table = BuildTable();

    /// <summary>The register before any byte.</summary>
    public const uint Initial = 0xFFFFFFFFu;

    /// <summary>Feeds <paramref name="data"/> into the register <paramref name="crc"/>.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
            crc = Table[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    /// <summary>The checksum of the bytes fed so far.</summary>
    public static uint Finish(uint crc) => crc ^ 0xFFFFFFFFu;

    /// <summary>CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Finish(Append(Initial, data));

    private static uint[] BuildTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[n] = c;
        }
        return table;
    }
}
