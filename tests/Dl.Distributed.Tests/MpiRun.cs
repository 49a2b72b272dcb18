using System.Diagnostics;
using System.Reflection;
using System.Text;

namespace Dl.Distributed.Tests;

/// <summary>Starts the worker (tests/Dl.Distributed.Tests/Worker) under <c>mpirun -np N</c> on loopback, with a timeout.</summary>
internal static class MpiRun
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed);

    public static string WorkerPath =>
        typeof(MpiRun).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DlDistributedWorker").Value!;

    public static bool Available => File.Exists("/usr/bin/mpirun") || File.Exists("/usr/local/bin/mpirun");

    public static Result Run(int ranks, TimeSpan timeout, params string[] args)
    {
        Assert.True(File.Exists(WorkerPath), $"The worker was not built: {WorkerPath}");
        var start = new ProcessStartInfo("mpirun")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // Loopback only, any user (CI runs as root), more ranks than cores allowed.
        foreach (string a in new[] { "--allow-run-as-root", "--oversubscribe", "--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo",
                     "--mca", "oob_tcp_if_include", "lo", "-np", ranks.ToString(), "dotnet", WorkerPath })
            start.ArgumentList.Add(a);
        foreach (string a in args) start.ArgumentList.Add(a);
        var output = new StringBuilder();
        var watch = Stopwatch.StartNew();
        using var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"mpirun {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s. Output:\n{output}");
        }
        process.WaitForExit();
        lock (output) return new Result(process.ExitCode, output.ToString(), watch.Elapsed);
    }
}
