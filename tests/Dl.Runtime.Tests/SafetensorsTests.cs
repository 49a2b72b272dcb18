using System.Buffers.Binary;
using System.Text;
using Dl;
using Dl.Checkpoints;

namespace Dl.Tests;

public sealed class SafetensorsTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("dl-st-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelDescription Mlp(int hidden = 3) => new()
    {
        Name = "TinyMlp",
        Parameters =
        [
            new ParameterInfo("fc1.weight", [hidden, 2], 0, Init.Default, 0, 2, hidden),
            new ParameterInfo("fc1.bias", [hidden], 2 * hidden, Init.Default, 0, 2, hidden),
            new ParameterInfo("fc2.weight", [1, hidden], 3 * hidden, Init.Default, 0, hidden, 1),
        ],
        Inputs = [new InputInfo("x", [2])],
        OutputShape = [1],
        Layers = [],
    };

    private static float[] Values(int n) => Enumerable.Range(0, n).Select(i => i * 0.5f - 1.25f).ToArray();

    private string Saved(out float[] values)
    {
        values = Values(12);
        string path = Path.Combine(_dir, "model.safetensors");
        Safetensors.Save(path, Mlp(), values, new Dictionary<string, string> { ["epoch"] = "3" });
        return path;
    }

    /// <summary>Rewrites the JSON header (re-padding it) and keeps the data section, optionally cut or extended.</summary>
    private static void Rewrite(string path, Func<string, string> editHeader, int dataDelta = 0)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int n = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        string json = Encoding.UTF8.GetString(bytes, 8, n);
        byte[] data = bytes[(8 + n)..];
        byte[] header = Encoding.UTF8.GetBytes(editHeader(json));
        var output = new MemoryStream();
        var len = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        output.Write(len);
        output.Write(header);
        output.Write(data.AsSpan(0, Math.Max(0, data.Length + Math.Min(0, dataDelta))));
        if (dataDelta > 0) output.Write(new byte[dataDelta]);
        File.WriteAllBytes(path, output.ToArray());
    }

    private static void AssertLoadFails(string path, ModelDescription description, params string[] fragments)
    {
        float[] destination = Enumerable.Repeat(7f, description.ParameterCount).ToArray();
        var e = Assert.Throws<InvalidDataException>(() => Safetensors.Load(path, description, destination));
        Assert.Contains(path, e.Message);
        foreach (string f in fragments) Assert.Contains(f, e.Message);
        Assert.All(destination, v => Assert.Equal(7f, v)); // untouched
    }

    [Fact]
    public void SaveThenLoad_RoundTripsExactly_WithMetadata()
    {
        string path = Saved(out float[] values);
        float[] loaded = new float[12];
        Safetensors.Load(path, Mlp(), loaded);
        Assert.Equal(values, loaded);
        Assert.Equal("3", Safetensors.ReadMetadata(path)["epoch"]);

        var all = Safetensors.ReadAll(path);
        Assert.Equal(["fc1.weight", "fc1.bias", "fc2.weight"], all.Keys);
        Assert.Equal([3, 2], all["fc1.weight"].Shape);
        Assert.Equal(values[6..9], all["fc1.bias"].Data);
    }

    [Fact]
    public void File_FollowsTheSafetensorsLayout()
    {
        string path = Saved(out float[] values);
        byte[] bytes = File.ReadAllBytes(path);
        long n = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + n) % 8);                      // data 8-byte aligned
        Assert.Equal(8 + n + 48, bytes.Length);            // 12 floats
        string json = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.Contains("\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}", json);
        Assert.Equal(values[6], BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(8 + n + 24))));
    }

    [Fact]
    public void Save_IsAtomic_AndOverwrites_WithoutTempFiles()
    {
        string path = Saved(out _);
        float[] second = Values(12).Select(v => v * 2).ToArray();
        Safetensors.Save(path, Mlp(), second);
        float[] loaded = new float[12];
        Safetensors.Load(path, Mlp(), loaded);
        Assert.Equal(second, loaded);
        Assert.Equal(["model.safetensors"], Directory.GetFiles(_dir).Select(Path.GetFileName));

        // A failed save (block too small) leaves the previous file intact and no temp file.
        Assert.Throws<ArgumentException>(() => Safetensors.Save(path, Mlp(), new float[5]));
        Safetensors.Load(path, Mlp(), loaded);
        Assert.Equal(second, loaded);
        Assert.Single(Directory.GetFiles(_dir));
    }

    [Fact]
    public void MissingTensor_IsNamed()
    {
        string path = Saved(out _);
        var bigger = Mlp();
        bigger = new ModelDescription
        {
            // The saved model's name (a file of another model is refused by its dl.model metadata before any tensor is read).
            Name = bigger.Name, Inputs = bigger.Inputs, OutputShape = bigger.OutputShape, Layers = [],
            Parameters = [.. bigger.Parameters, new ParameterInfo("fc2.bias", [1], 12, Init.Default, 0, 3, 1)],
        };
        AssertLoadFails(path, bigger, "fc2.bias", "missing", "F32 [1]");
    }

    [Fact]
    public void UnexpectedTensor_IsNamed()
    {
        string path = Saved(out _);
        var smaller = new ModelDescription
        {
            Name = Mlp().Name, Inputs = [], OutputShape = [1], Layers = [],
            Parameters = Mlp().Parameters[..2],
        };
        AssertLoadFails(path, smaller, "fc2.weight", $"not a parameter of model {smaller.Name}");
    }

    [Fact]
    public void WrongShape_NamesExpectedAndActual()
    {
        string path = Saved(out _);
        Rewrite(path, j => j.Replace("\"shape\":[3,2]", "\"shape\":[2,3]"));
        AssertLoadFails(path, Mlp(), "fc1.weight", "[2, 3]", "expects [3, 2]");
    }

    [Fact]
    public void WrongDtype_IsReported()
    {
        string path = Saved(out _);
        Rewrite(path, j => j.Replace("\"fc1.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[24,36]}",
                                     "\"fc1.bias\":{\"dtype\":\"F16\",\"shape\":[6],\"data_offsets\":[24,36]}"));
        AssertLoadFails(path, Mlp(), "fc1.bias", "dtype F16", "expected F32");
    }

    [Fact]
    public void OverlappingOffsets_AreReported()
    {
        string path = Saved(out _);
        Rewrite(path, j => j.Replace("[24,36]", "[20,32]"));
        AssertLoadFails(path, Mlp(), "overlap");
    }

    [Fact]
    public void OffsetsNotMatchingTheShape_AreReported()
    {
        string path = Saved(out _);
        Rewrite(path, j => j.Replace("[24,36]", "[24,40]"));
        AssertLoadFails(path, Mlp(), "fc1.bias", "needs 12 bytes", "span 16");
    }

    [Fact]
    public void TruncatedFile_IsReported()
    {
        string path = Saved(out _);
        Rewrite(path, j => j, dataDelta: -4);
        AssertLoadFails(path, Mlp(), "fc2.weight", "beyond the 44-byte data section");
    }

    [Fact]
    public void TrailingBytes_AreReported()
    {
        string path = Saved(out _);
        Rewrite(path, j => j, dataDelta: 8);
        AssertLoadFails(path, Mlp(), "file size does not match");
    }

    [Fact]
    public void MalformedJson_IsReported()
    {
        string path = Saved(out _);
        Rewrite(path, j => j.Replace("\"dtype\"", "dtype"));
        AssertLoadFails(path, Mlp(), "not well-formed JSON");
        Rewrite(path, j => "[1, 2]");
        AssertLoadFails(path, Mlp(), "must be a JSON object");
    }

    [Fact]
    public void InsaneHeaderLength_IsReported()
    {
        string path = Saved(out _);
        byte[] bytes = File.ReadAllBytes(path);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, 1UL << 40);
        File.WriteAllBytes(path, bytes);
        AssertLoadFails(path, Mlp(), "header length 1099511627776 is not sane");
        File.WriteAllBytes(path, [1, 2, 3]);
        AssertLoadFails(path, Mlp(), "too short");
    }

    [Fact]
    public void ReadAll_ConvertsOtherFloatTypes()
    {
        string path = Path.Combine(_dir, "mixed.safetensors");
        string json = "{\"a\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]},\"b\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[16,18]},\"c\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[18,20]}}";
        byte[] header = Encoding.UTF8.GetBytes(json);
        var data = new byte[20];
        BinaryPrimitives.WriteDoubleLittleEndian(data, 1.5);
        BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(8), -2.25);
        BinaryPrimitives.WriteUInt16LittleEndian(data.AsSpan(16), (ushort)(BitConverter.SingleToInt32Bits(3.5f) >> 16));
        BinaryPrimitives.WriteHalfLittleEndian(data.AsSpan(18), (Half)0.75f);
        var file = new byte[8 + header.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)header.Length);
        header.CopyTo(file, 8);
        data.CopyTo(file, 8 + header.Length);
        File.WriteAllBytes(path, file);

        var all = Safetensors.ReadAll(path);
        Assert.Equal([1.5f, -2.25f], all["a"].Data);
        Assert.Equal([3.5f], all["b"].Data);
        Assert.Equal([0.75f], all["c"].Data);
    }
}
