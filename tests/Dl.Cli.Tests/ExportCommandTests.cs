using System.CommandLine;
using Dl.Checkpoints;
using Dl.Models;

namespace Dl.Cli.Tests;

/// <summary><c>dl export --onnx PATH --model M [--checkpoint C] [--seed S]</c> (the command object; Program wires it).</summary>
[Trait("Category", "Once")]
public class ExportCommandTests
{
    private static int Invoke(params string[] args) => ExportCommand.Create().Parse(args).Invoke();

    [Fact]
    public void Checkpoint_ExportsItsWeights()
    {
        string dir = Directory.CreateTempSubdirectory("dl-export-").FullName;
        try
        {
            var model = new FashionMlp(new ModelOptions { Seed = 5, MaxBatch = 1 });
            string checkpoint = Path.Combine(dir, "mlp.safetensors");
            Safetensors.Save(checkpoint, model.Description, model.Parameters);
            string fromCheckpoint = Path.Combine(dir, "a.onnx"), fromSeed = Path.Combine(dir, "b.onnx"), other = Path.Combine(dir, "c.onnx");
            Assert.Equal(0, Invoke("--onnx", fromCheckpoint, "--model", "FashionMlp", "--checkpoint", checkpoint));
            Assert.Equal(0, Invoke("--onnx", fromSeed, "--model", "mlp_784_128_10", "--seed", "5"));
            Assert.Equal(0, Invoke("--onnx", other, "--model", "fashionmlp"));
            byte[] a = File.ReadAllBytes(fromCheckpoint);
            Assert.True(a.Length > model.Parameters.Length * sizeof(float));
            Assert.Equal(a, File.ReadAllBytes(fromSeed));          // the checkpoint holds the seed-5 weights
            Assert.NotEqual(a, File.ReadAllBytes(other));          // seed 0 differs
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void UnknownModelOrMissingCheckpoint_FailsWithReason()
    {
        string path = Path.Combine(Path.GetTempPath(), $"dl-export-{Environment.ProcessId}.onnx");
        var error = new StringWriter();
        TextWriter before = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(2, ExportCommand.Run(path, "NoSuchModel", null, 0));
            Assert.Equal(1, ExportCommand.Run(path, "FashionMlp", "/nonexistent/x.safetensors", 0));
        }
        finally
        {
            Console.SetError(before);
        }
        Assert.Contains("unknown model 'NoSuchModel'", error.ToString());
        Assert.Contains("FashionCnn", error.ToString());
        Assert.Contains("checkpoint '/nonexistent/x.safetensors' does not exist", error.ToString());
        Assert.False(File.Exists(path));
    }
}
