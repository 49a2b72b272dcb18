using System.Diagnostics;

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

        using var process = new Process { StartInfo = info };
        var started = Stopwatch.StartNew();
        process.Start();
        // Both pipes are read to their end, not through line events: those can still be pending when the process has
        // exited, and a fast program's whole output would be lost.
        Task<string> stdout = process.StandardOutput.ReadToEndAsync(), stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{file} {arguments}' in {directory} did not finish within {timeout.TotalSeconds:0} s. Output so far:\n{Text(stdout, stderr)}");
        }
        // A child that outlives the command (a build server) could hold the pipes open: wait a bounded time for the end.
        Task.WaitAll([stdout, stderr], TimeSpan.FromSeconds(30));
        string text = Text(stdout, stderr);
        Console.WriteLine($"[{started.Elapsed.TotalSeconds:0.0} s] {file} {arguments}");
        if (process.ExitCode != 0 && !allowFailure)
            Assert.Fail($"'{file} {arguments}' in {directory} exited with {process.ExitCode}. Output:\n{text}");
        return (process.ExitCode, text);
    }

    private static string Text(Task<string> stdout, Task<string> stderr) =>
        (stdout.IsCompletedSuccessfully ? stdout.Result : "<stdout not read to its end>\n") +
        (stderr.IsCompletedSuccessfully ? stderr.Result : "<stderr not read to its end>\n");
}
