using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Dl.Cli;

/// <summary>
/// Reads a grey image for <c>dl predict</c>: binary or plain PGM (P5/P2, maxval up to 65535) and 8-bit PNG (grey, grey +
/// alpha, RGB, RGBA; not interlaced, not palette), decoded here on <see cref="ZLibStream"/>. Colour is converted to grey
/// as 0.299 R + 0.587 G + 0.114 B; alpha is ignored. Pixels come back in [0, 1], row-major.
/// </summary>
internal static class ImageFiles
{
    public static (float[] Pixels, int Height, int Width) Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length >= 8 && bytes.AsSpan(0, 8).SequenceEqual(PngSignature)) return ReadPng(bytes, path);
        if (bytes.Length >= 2 && bytes[0] == 'P' && (bytes[1] == '5' || bytes[1] == '2')) return ReadPgm(bytes, path);
        throw new InvalidDataException($"'{path}' is neither a PNG nor a PGM (P5/P2) image; expected one of those, a CSV of pixel rows or an IDX images file.");
    }

    private static ReadOnlySpan<byte> PngSignature => [137, 80, 78, 71, 13, 10, 26, 10];

    private static (float[], int, int) ReadPgm(byte[] bytes, string path)
    {
        int position = 2;
        int Next()
        {
            while (position < bytes.Length)
            {
                if (bytes[position] == '#') { while (position < bytes.Length && bytes[position] != '\n') position++; }
                else if (char.IsWhiteSpace((char)bytes[position])) position++;
                else break;
            }
            int start = position;
            while (position < bytes.Length && !char.IsWhiteSpace((char)bytes[position])) position++;
            string token = Encoding.ASCII.GetString(bytes, start, position - start);
            if (!int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value <= 0)
                throw new InvalidDataException($"PGM '{path}': expected a positive integer in the header at byte {start}; found '{token}'.");
            return value;
        }
        bool binary = bytes[1] == '5';
        int width = Next(), height = Next(), max = Next();
        if (max > 65535) throw new InvalidDataException($"PGM '{path}': maxval {max}; expected at most 65535.");
        var pixels = new float[checked(width * height)];
        if (binary)
        {
            position++;   // the single whitespace after maxval
            int size = max < 256 ? 1 : 2;
            if (bytes.Length - position < (long)pixels.Length * size)
                throw new InvalidDataException($"PGM '{path}': {width}x{height} pixels need {pixels.Length * size} bytes; the file has {bytes.Length - position}.");
            for (int i = 0; i < pixels.Length; i++)
                pixels[i] = (size == 1 ? bytes[position + i] : BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(position + 2 * i))) / (float)max;
        }
        else
        {
            for (int i = 0; i < pixels.Length; i++) pixels[i] = Next() / (float)max;
        }
        return (pixels, height, width);
    }

    private static (float[], int, int) ReadPng(byte[] bytes, string path)
    {
        int position = 8, width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        while (position + 8 <= bytes.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(position));
            string type = Encoding.ASCII.GetString(bytes, position + 4, 4);
            if (length < 0 || position + 12L + length > bytes.Length)
                throw new InvalidDataException($"PNG '{path}': chunk {type} at byte {position} runs past the end of the file.");
            ReadOnlySpan<byte> data = bytes.AsSpan(position + 8, length);
            if (type == "IHDR")
            {
                width = BinaryPrimitives.ReadInt32BigEndian(data);
                height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                int depth = data[8], colour = data[9], interlace = data[12];
                channels = colour switch { 0 => 1, 4 => 2, 2 => 3, 6 => 4, _ => 0 };
                if (depth != 8 || channels == 0 || interlace != 0)
                    throw new InvalidDataException($"PNG '{path}': bit depth {depth}, colour type {colour}, interlace {interlace}; " +
                        "expected an 8-bit grey, grey+alpha, RGB or RGBA image, not interlaced.");
            }
            else if (type == "IDAT") idat.Write(data);
            else if (type == "IEND") break;
            position += 12 + length;
        }
        if (channels == 0) throw new InvalidDataException($"PNG '{path}': no IHDR chunk.");
        int stride = width * channels;
        var raw = new byte[checked((stride + 1) * height)];
        idat.Position = 0;
        using (var z = new ZLibStream(idat, CompressionMode.Decompress))
        {
            try { z.ReadExactly(raw); }
            catch (EndOfStreamException) { throw new InvalidDataException($"PNG '{path}': the image data is shorter than {width}x{height} pixels."); }
        }
        var previous = new byte[stride];
        var current = new byte[stride];
        var pixels = new float[width * height];
        for (int y = 0; y < height; y++)
        {
            int filter = raw[y * (stride + 1)];
            ReadOnlySpan<byte> line = raw.AsSpan(y * (stride + 1) + 1, stride);
            for (int i = 0; i < stride; i++)
            {
                int a = i >= channels ? current[i - channels] : 0, b = previous[i], c = i >= channels ? previous[i - channels] : 0;
                int predictor = filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"PNG '{path}': row {y} has filter type {filter}; expected 0 to 4."),
                };
                current[i] = (byte)(line[i] + predictor);
            }
            for (int x = 0; x < width; x++)
            {
                int o = x * channels;
                pixels[y * width + x] = channels >= 3
                    ? (0.299f * current[o] + 0.587f * current[o + 1] + 0.114f * current[o + 2]) / 255f
                    : current[o] / 255f;
            }
            (previous, current) = (current, previous);
        }
        return (pixels, height, width);
    }

    private static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
}
