using System.Diagnostics;
using System.Text;

namespace Dl.Tests;

/// <summary>Runs a command (dotnet, or a published binary) to completion and returns its exit code and combined output.</summary>
internal static class DotnetProcess
{
    /// <summary>Runs <paramref name="file"/> with <paramref name="arguments"/> in <paramref name="directory"/>; fails the
    /// test with the command's whole output when it exits non-zero (unless <paramref name="allowFailure"/>) or
    /// outlives <paramref name="timeout"/>.</summary>
    public static (int ExitCode, string Output) Run(string file, string arguments, string directory, TimeSpan timeout, bool allowFailure = false)
    {
        var info = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // No build servers or reused MSBuild nodes: they would outlive the command, keep its output pipes open and
        // leave processes behind in CI. SIMD switches of the test run do not apply to the apps under test.
        info.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        info.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        info.Environment["UseSharedCompilation"] = "false";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (string name in new[] { "DOTNET_EnableAVX512", "DOTNET_EnableAVX512F", "DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic" })
            info.Environment.Remove(name);

        var output = new StringBuilder();
        using var process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        var started = Stopwatch.StartNew();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{file} {arguments}' in {directory} did not finish within {timeout.TotalSeconds:0} s. Output so far:\n{Text(output)}");
        }
        process.WaitForExit(TimeSpan.FromSeconds(10));   // drains the asynchronous readers
        string text = Text(output);
        Console.WriteLine($"[{started.Elapsed.TotalSeconds:0.0} s] {file} {arguments}");
        if (process.ExitCode != 0 && !allowFailure)
            Assert.Fail($"'{file} {arguments}' in {directory} exited with {process.ExitCode}. Output:\n{text}");
        return (process.ExitCode, text);
    }

    private static string Text(StringBuilder output) { lock (output) return output.ToString(); }
}
