using System.Diagnostics;

namespace Dl.Cli.Tests;

/// <summary>Renders a page to a PNG with headless Chromium (Debian's <c>chromium</c> package; CI installs it). A missing
/// browser fails the test with a message saying so, rather than passing silently.</summary>
internal static class ReportChromium
{
    public static string Executable()
    {
        foreach (string name in new[] { "chromium", "chromium-browser", "google-chrome" })
            foreach (string dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
                if (File.Exists(Path.Combine(dir, name)))
                    return Path.Combine(dir, name);
        Assert.Fail("headless Chromium is needed to render the training report: install it with `apt-get install chromium` (CI's .ci/run does).");
        return "";
    }

    /// <summary>Screenshots <paramref name="page"/> at 1280 × <paramref name="height"/> CSS pixels into <paramref name="png"/>.</summary>
    public static void Screenshot(string page, string png, int height)
    {
        string profile = Directory.CreateTempSubdirectory("dl-report-chromium-").FullName;
        try
        {
            var start = new ProcessStartInfo(Executable())
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (string arg in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run", "--disable-extensions",
                "--force-device-scale-factor=1", "--force-color-profile=srgb", $"--user-data-dir={profile}",
                $"--window-size=1280,{height}", $"--screenshot={png}", new Uri(Path.GetFullPath(page)).AbsoluteUri,
            })
                start.ArgumentList.Add(arg);
            using Process process = Process.Start(start)!;
            Task<string> stderr = process.StandardError.ReadToEndAsync();
            Task<string> stdout = process.StandardOutput.ReadToEndAsync();
            if (!process.WaitForExit(TimeSpan.FromSeconds(90)))
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail("chromium did not finish the screenshot within 90 s");
            }
            Assert.True(File.Exists(png), $"chromium wrote no screenshot (exit {process.ExitCode}):\n{stderr.Result}\n{stdout.Result}");
        }
        finally
        {
            try { Directory.Delete(profile, recursive: true); } catch (IOException) { }
        }
    }
}
