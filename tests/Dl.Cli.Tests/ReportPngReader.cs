using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;

namespace Dl.Cli.Tests;

/// <summary>A decoded PNG: 8-bit samples, <see cref="Channels"/> per pixel (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA).</summary>
internal sealed record ReportPngImage(int Width, int Height, int Channels, byte[] Samples)
{
    /// <summary>The pixel's colour as 0xRRGGBB (alpha ignored: screenshots are opaque).</summary>
    public int Rgb(int x, int y)
    {
        int i = (y * Width + x) * Channels;
        return Channels switch
        {
            1 or 2 => Samples[i] << 16 | Samples[i] << 8 | Samples[i],
            _ => Samples[i] << 16 | Samples[i + 1] << 8 | Samples[i + 2],
        };
    }
}

/// <summary>A PNG reader for the tests, independent of the encoder under test: checks the signature and every chunk's
/// CRC-32 (computed bit by bit, not by table), inflates the IDAT stream with <see cref="ZLibStream"/> (which checks the
/// Adler-32) and undoes the five scanline filters. 8-bit, non-interlaced images only (the encoder's and Chromium's).</summary>
internal static class ReportPngReader
{
    public static ReportPngImage Decode(byte[] png)
    {
        byte[] signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        Assert.True(png.AsSpan(0, 8).SequenceEqual(signature), "not a PNG signature");
        int pos = 8, width = 0, height = 0, channels = 0;
        var idat = new MemoryStream();
        var types = new List<string>();
        while (pos < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(pos));
            string type = Encoding.ASCII.GetString(png, pos + 4, 4);
            ReadOnlySpan<byte> data = png.AsSpan(pos + 8, length);
            uint stored = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos + 8 + length));
            Assert.True(BitwiseCrc(png.AsSpan(pos + 4, 4 + length)) == stored, $"bad CRC in the {type} chunk");
            types.Add(type);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                Assert.Equal(8, data[8]);
                channels = data[9] switch { 0 => 1, 4 => 2, 2 => 3, 6 => 4, _ => throw new NotSupportedException($"colour type {data[9]}") };
                Assert.Equal(0, data[12]);   // not interlaced
            }
            else if (type == "IDAT") idat.Write(data);
            pos += 12 + length;
            if (type == "IEND") break;
        }
        Assert.Equal("IHDR", types[0]);
        Assert.Equal("IEND", types[^1]);
        Assert.Equal(png.Length, pos);

        idat.Position = 0;
        var raw = new MemoryStream();
        using (var zlib = new ZLibStream(idat, CompressionMode.Decompress)) zlib.CopyTo(raw);
        byte[] filtered = raw.ToArray();
        int stride = width * channels;
        Assert.Equal((long)height * (stride + 1), filtered.Length);

        var samples = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            byte filter = filtered[y * (stride + 1)];
            for (int i = 0; i < stride; i++)
            {
                int x = filtered[y * (stride + 1) + 1 + i];
                int a = i >= channels ? samples[y * stride + i - channels] : 0;
                int b = y > 0 ? samples[(y - 1) * stride + i] : 0;
                int c = i >= channels && y > 0 ? samples[(y - 1) * stride + i - channels] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter type {filter}"),
                };
                samples[y * stride + i] = (byte)(x + predictor);
            }
        }
        return new ReportPngImage(width, height, channels, samples);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    internal static uint BitwiseCrc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte value in data)
        {
            crc ^= value;
            for (int k = 0; k < 8; k++)
                crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
