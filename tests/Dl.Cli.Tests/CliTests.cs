using Dl.Cli;

namespace Dl.Cli.Tests;

/// <summary>The <c>dl</c> commands run in-process through <see cref="Program.Run"/>: help, version, exit codes and error
/// messages, and a tiny train → eval → predict round trip on the embedded Fashion-MNIST subset.</summary>
[Trait("Category", "Once")]
[Collection("Console")]   // the commands write to Console.Out, which these tests redirect
public sealed class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        TextWriter oldOut = Console.Out, oldErr = Console.Error;
        Console.SetOut(output);
        Console.SetError(error);
        try
        {
            int code = Program.Run(args, output, error);
            return (code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
        }
    }

    [Theory]
    [InlineData("train", "--model", "--epochs", "--limit", "--report")]
    [InlineData("eval", "--checkpoint", "--model", "--data")]
    [InlineData("predict", "--checkpoint", "--top", "<inputs>")]
    [InlineData("summary", "--model")]
    [InlineData("graph", "--model", "--format")]
    [InlineData("explain", "--model", "--index", "--checkpoint")]
    [InlineData("gradcheck", "--model", "--samples", "--tolerance")]
    [InlineData("bench", "--workload", "--iters")]
    [InlineData("peak", "--seconds")]
    public void Help_ExitsZero_AndNamesOptions(string command, params string[] options)
    {
        (int code, string output, _) = Run(command, "--help");
        Assert.Equal(0, code);
        foreach (string option in options) Assert.Contains(option, output);
    }

    [Fact]
    public void TrainHelp_ShowsPerModelDefaults()
    {
        (int code, string output, _) = Run("train", "--help");
        Assert.Equal(0, code);
        Assert.Contains("fashion-cnn: 2 x (conv 3x3", output);
        Assert.Contains("--epochs 15 --batch 64 --lr 0.001 --lr-decay 0.85", output);
    }

    [Fact]
    public void RootHelp_ListsEveryCommand()
    {
        (int code, string output, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (string command in new[] { "train", "eval", "predict", "summary", "graph", "explain", "gradcheck", "bench", "peak" })
            Assert.Contains(command, output);
    }

    [Fact]
    public void Version_PrintsInformationalVersion()
    {
        (int code, string output, _) = Run("--version");
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+\.\d+\.\d+", output.Trim());
    }

    [Theory]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new string[0], "no command given")]
    [InlineData(new[] { "train", "--bogus" }, "unknown option '--bogus'")]
    [InlineData(new[] { "train", "--model", "fashion-cnn", "--prime", "x" }, "--prime does not apply to --model fashion-cnn; it applies to char-lstm")]
    [InlineData(new[] { "train", "--model", "xor", "--limit", "5" }, "--limit does not apply to --model xor")]
    [InlineData(new[] { "train", "--epochs", "many" }, "--epochs is 'many'; expected an integer")]
    [InlineData(new[] { "train", "--model", "nope" }, "--model is 'nope'; expected one of")]
    [InlineData(new[] { "eval" }, "--checkpoint PATH is required")]
    [InlineData(new[] { "predict", "--checkpoint", "x.safetensors" }, "missing <inputs>: IDX images files")]
    [InlineData(new[] { "train", "--lr" }, "--lr needs a value <X>")]
    [InlineData(new[] { "graph", "--format", "svg" }, "--format is 'svg'; expected one of text, dot, mermaid")]
    public void UsageErrors_ExitTwo_WithOneLineOnStderr(string[] args, string message)
    {
        (int code, string output, string error) = Run(args);
        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.Contains(message, error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    [Fact]
    public void SummaryGraphExplainGradcheck_OnXor()
    {
        (int code, string output, _) = Run("summary", "--model", "xor");
        Assert.Equal(0, code);
        Assert.Contains("XorNet", output);
        foreach (string format in new[] { "text", "dot", "mermaid" })
        {
            (code, output, _) = Run("graph", "--model", "xor", "--format", format);
            Assert.Equal(0, code);
            Assert.NotEmpty(output.Trim());
        }
        (code, output, _) = Run("explain", "--model", "xor", "--index", "2");
        Assert.Equal(0, code);
        Assert.Contains("upstream gradient dL/dnode", output);
        (code, output, _) = Run("gradcheck", "--model", "xor");
        Assert.Equal(0, code);
        Assert.Contains("worst relative error", output);
        (code, _, string error) = Run("explain", "--model", "xor", "--index", "4");
        Assert.Equal(2, code);
        Assert.Contains("--index 0 to 3", error);
    }

    [Fact]
    public void TrainSaveEvalPredict_RoundTrip()
    {
        string dir = Directory.CreateTempSubdirectory("dl-cli-").FullName;
        try
        {
            string weights = Path.Combine(dir, "mlp.safetensors");
            (int code, string output, string error) = Run("train", "--data", "embedded", "--limit", "600", "--epochs", "1", "--save", weights, "--json");
            Assert.True(code == 0, error);
            Assert.StartsWith("{\"model\":\"fashion-mlp\",\"engine\":\"generated\",\"epoch\":1,\"train_loss\":", output);
            Assert.Single(output.TrimEnd().Split('\n'));

            (code, output, error) = Run("eval", "--checkpoint", weights, "--data", "embedded", "--limit", "200");
            Assert.True(code == 0, error);
            Assert.Contains("on 200 test images: accuracy", output);
            Assert.Contains("Ankle boot", output);

            // An 8-bit PNG and a PGM of the first test image.
            var test = Dl.Models.EmbeddedData.FashionTest();
            byte[] pixels = [.. test.Sample(0).ToArray().Select(v => (byte)Math.Round(v * 255))];
            string pgm = Path.Combine(dir, "first.pgm"), png = Path.Combine(dir, "first.png"), csv = Path.Combine(dir, "rows.csv");
            File.WriteAllBytes(pgm, [.. "P5\n28 28\n255\n"u8.ToArray(), .. pixels]);
            File.WriteAllBytes(png, TestPng.Grey(28, 28, pixels));
            File.WriteAllText(csv, "label," + string.Join(",", Enumerable.Range(0, 784).Select(i => $"p{i}")) + "\n9," + string.Join(",", pixels) + "\n");
            (code, output, error) = Run("predict", "--checkpoint", weights, "--top", "2", pgm, png, csv);
            Assert.True(code == 0, error);
            string[] lines = output.TrimEnd().Split('\n');
            Assert.Equal(3, lines.Length);
            string first = lines[0][(lines[0].IndexOf(": ", StringComparison.Ordinal) + 2)..];
            Assert.All(lines, l => Assert.EndsWith(first, l.TrimEnd()));   // the same image three ways: the same prediction

            // Another model's checkpoint, a missing one, a malformed one, a wrong image size.
            (code, _, error) = Run("eval", "--checkpoint", weights, "--model", "fashion-cnn", "--data", "embedded", "--limit", "10");
            Assert.Equal(1, code);
            Assert.Contains("FashionMlp", error);
            (code, _, error) = Run("eval", "--checkpoint", Path.Combine(dir, "missing.safetensors"));
            Assert.Equal(1, code);
            Assert.Contains("does not exist", error);
            string bad = Path.Combine(dir, "bad.safetensors");
            File.WriteAllText(bad, "not a checkpoint");
            (code, _, error) = Run("predict", "--checkpoint", bad, pgm);
            Assert.Equal(1, code);
            Assert.Contains("bad.safetensors", error);
            string small = Path.Combine(dir, "small.pgm");
            File.WriteAllBytes(small, [.. "P5\n2 2\n255\n"u8.ToArray(), 0, 1, 2, 3]);
            (code, _, error) = Run("predict", "--checkpoint", weights, small);
            Assert.Equal(1, code);
            Assert.Contains("is 2 x 2 pixels; the model takes 28 x 28 pixels", error);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}

/// <summary>Writes a minimal 8-bit grey PNG (one IDAT, filter 0 rows) for the reader's test.</summary>
internal static class TestPng
{
    public static byte[] Grey(int width, int height, byte[] pixels)
    {
        var raw = new MemoryStream();
        for (int y = 0; y < height; y++)
        {
            raw.WriteByte(y % 2 == 0 ? (byte)0 : (byte)1);   // rows alternate filters None and Sub
            for (int x = 0; x < width; x++)
            {
                byte value = pixels[y * width + x];
                raw.WriteByte(y % 2 == 0 || x == 0 ? value : (byte)(value - pixels[y * width + x - 1]));
            }
        }
        var compressed = new MemoryStream();
        using (var z = new System.IO.Compression.ZLibStream(compressed, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true))
            raw.WriteTo(z);
        var png = new MemoryStream();
        png.Write([137, 80, 78, 71, 13, 10, 26, 10]);
        var header = new byte[13];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header, width);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), height);
        header[8] = 8;   // bit depth; colour type 0 (grey), compression, filter, interlace 0
        Chunk(png, "IHDR", header);
        Chunk(png, "IDAT", compressed.ToArray());
        Chunk(png, "IEND", []);
        return png.ToArray();
    }

    private static void Chunk(Stream png, string type, byte[] data)
    {
        var length = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(length, data.Length);
        png.Write(length);
        png.Write(System.Text.Encoding.ASCII.GetBytes(type));
        png.Write(data);
        png.Write(new byte[4]);   // the CRC (not checked by the reader)
    }
}
