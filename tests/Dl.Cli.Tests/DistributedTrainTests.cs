using System.Diagnostics;
using System.Reflection;
using System.Text;
using Dl.Checkpoints;
using Dl.Models;

namespace Dl.Cli.Tests;

/// <summary><c>mpirun -np 2 dl train --distributed</c> on loopback (the launch of tests/Dl.Distributed.Tests/MpiRun.cs):
/// rank 0 alone prints and saves, the checkpoint loads; <c>--distributed</c> is refused for a model off the trainer and
/// without mpirun. Skipped (passes) where Open MPI is not installed.</summary>
[Trait("Category", "Once")]
public class DistributedTrainTests
{
    private static readonly string Dl =
        typeof(DistributedTrainTests).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DlCliAssembly").Value!;

    private static bool MpiAvailable => File.Exists("/usr/bin/mpirun") || File.Exists("/usr/local/bin/mpirun");

    [Fact]
    public void TwoRanks_PrintOnceAndSaveALoadableCheckpoint()
    {
        if (!MpiAvailable) return;
        string dir = Directory.CreateTempSubdirectory("dl-distributed-").FullName;
        try
        {
            string save = Path.Combine(dir, "mlp.safetensors");
            (int code, string stdout, string stderr) = MpiRun(2, "train", "--model", "fashion-mlp", "--data", "embedded", "--limit", "600", "--epochs", "1",
                "--distributed", "--json", "--save", save);
            Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");
            string[] lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string line = Assert.Single(lines);                       // rank 0 alone prints, one epoch
            Assert.StartsWith("{\"model\":\"fashion-mlp\",\"engine\":\"generated\",\"epoch\":1,", line);
            Assert.Equal(1, Count(stderr, "dl: saved the trained weights to"));
            Assert.Equal(1, Count(stderr, "dl: distributed: 2 ranks"));
            var model = new FashionMlp(new ModelOptions { Seed = 9, MaxBatch = 1 });
            Safetensors.Load(save, model.Description, model.Parameters);
            Assert.Contains(model.Parameters.ToArray(), p => p != 0);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void ModelOffTheTrainer_IsAUsageError()
    {
        if (!MpiAvailable) return;
        (int code, _, string stderr) = MpiRun(1, "train", "--model", "xor", "--distributed");
        Assert.Equal(Program.UsageError, code);                        // mpirun passes the rank's exit code on
        Assert.Contains("--distributed does not apply to --model xor; it applies to fashion-mlp", stderr);
        var error = new StringWriter();
        Assert.Equal(Program.UsageError, Program.Run(["train", "--model", "char-lstm", "--distributed"], TextWriter.Null, error));
        Assert.Contains("--distributed does not apply to --model char-lstm", error.ToString());
    }

    [Fact]
    public void WithoutMpirun_IsAUsageError()
    {
        var error = new StringWriter();
        int code = Program.Run(["train", "--model", "fashion-mlp", "--distributed"], TextWriter.Null, error);
        Assert.Equal(Program.UsageError, code);
        Assert.Contains("start it with mpirun", error.ToString());
    }

    private static int Count(string text, string part) => (text.Length - text.Replace(part, "").Length) / part.Length;

    private static (int Code, string Stdout, string Stderr) MpiRun(int ranks, params string[] args)
    {
        var start = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in new[] { "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo",
                     "--mca", "oob_tcp_if_include", "lo", "-np", ranks.ToString(), "dotnet", Dl })
            start.ArgumentList.Add(a);
        foreach (string a in args) start.ArgumentList.Add(a);
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (stderr) stderr.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(TimeSpan.FromSeconds(120)))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"mpirun dl {string.Join(' ', args)} did not finish within 120 s:\n{stdout}\n{stderr}");
        }
        process.WaitForExit();
        lock (stdout) lock (stderr) return (process.ExitCode, stdout.ToString(), stderr.ToString());
    }
}
