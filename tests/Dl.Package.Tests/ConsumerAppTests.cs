using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Dl.Tests;

/// <summary>New apps outside the repository, made the ways the README tells a newcomer: from the dl-console template,
/// and from `dotnet new console` + `dotnet add package Dl`. Each builds with warnings as errors and trains; the second
/// is published with Native AOT (PublishAot given on the command line) and its binary run.</summary>
[Collection(PackageCollection.Name), Trait("Category", "Package")]
public sealed class ConsumerAppTests(PackageFeed feed)
{
    private static readonly TimeSpan Timeout = PackageFeed.CommandTimeout;

    /// <summary>`dotnet new console -n <paramref name="name"/>` + `dotnet add package Dl` in a new folder, with
    /// Program.cs replaced by Apps/<paramref name="program"/>; returns the folder.</summary>
    private string NewConsoleAppWithDl(string name, string program)
    {
        string app = Path.Combine(feed.Root, name);
        Directory.CreateDirectory(app);
        DotnetProcess.Run("dotnet", $"new console -n {name} -o .", app, Timeout);
        DotnetProcess.Run("dotnet", $"add package Dl --version {feed.Version}", app, Timeout);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Apps", program), Path.Combine(app, "Program.cs"), overwrite: true);
        return app;
    }

    private static double Number(string text) => double.Parse(text, CultureInfo.InvariantCulture);

    [Fact]
    public void Template_app_builds_without_warnings_trains_saves_loads_and_predicts()
    {
        DotnetProcess.Run("dotnet", $"new install \"{feed.PackagePath("Dl.Templates")}\" --debug:custom-hive \"{feed.TemplateHive}\"", feed.Root, Timeout);
        string app = Path.Combine(feed.Root, "MyNet");
        DotnetProcess.Run("dotnet", $"new dl-console -n MyNet -o \"{app}\" --debug:custom-hive \"{feed.TemplateHive}\"", feed.Root, Timeout);
        Assert.True(File.Exists(Path.Combine(app, "MyNet.csproj")), "the template did not name the project after -n");

        DotnetProcess.Run("dotnet", "build -c Release -warnaserror", app, Timeout);
        var (_, output) = DotnetProcess.Run("dotnet", "run -c Release --no-build -- --epochs 2", app, Timeout);

        var epochs = Regex.Matches(output, @"epoch (\d)/2  loss ([0-9.]+)  test accuracy ([0-9.]+)%");
        Assert.True(epochs.Count == 2, "expected two epoch lines in:\n" + output);
        double loss1 = Number(epochs[0].Groups[2].Value), loss2 = Number(epochs[1].Groups[2].Value);
        double accuracy = Number(epochs[1].Groups[3].Value);
        Assert.True(loss2 < loss1, $"the training loss did not fall: {loss1} then {loss2}\n{output}");
        Assert.True(accuracy >= 70, $"test accuracy {accuracy}% after two epochs\n{output}");
        var reloaded = Regex.Match(output, @"reloaded, its test accuracy is ([0-9.]+)%");
        Assert.True(reloaded.Success, output);
        Assert.Equal(accuracy, Number(reloaded.Groups[1].Value));
        Assert.True(File.Exists(Path.Combine(app, "classifier.safetensors")));

        var (_, predictions) = DotnetProcess.Run("dotnet", "run -c Release --no-build -- predict", app, Timeout);
        Assert.Equal(8, Regex.Matches(predictions, @"^test image \d: \S", RegexOptions.Multiline).Count);
    }

    [Fact]
    public void Console_app_with_the_package_added_builds_trains_and_runs_as_native_aot()
    {
        string app = NewConsoleAppWithDl("Plain", "Quadrants.cs");

        DotnetProcess.Run("dotnet", "build -c Release -warnaserror", app, Timeout);
        var (_, jit) = DotnetProcess.Run("dotnet", "run -c Release --no-build", app, Timeout);
        AssertTrained(jit);

        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return;   // the AOT leg: linux-x64 only
        string published = Path.Combine(feed.Root, "plain-aot");
        var (_, publish) = DotnetProcess.Run("dotnet", $"publish -c Release -r linux-x64 -p:PublishAot=true -o \"{published}\"", app, Timeout);
        Assert.Contains("Dl: Native AOT for linux-x64 targets x86-64-v3", publish);
        var (_, aot) = DotnetProcess.Run(Path.Combine(published, "Plain"), "", app, Timeout);
        Assert.Contains("vectorized: True", aot);   // the package's default instruction set reached ILC
        AssertTrained(aot);
    }

    [Fact]
    public void A_shape_error_in_a_model_is_one_DL_diagnostic_and_nothing_else()
    {
        string app = NewConsoleAppWithDl("Broken", "ShapeError.cs");

        var (exit, output) = DotnetProcess.Run("dotnet", "build -c Release -warnaserror -nologo", app, Timeout, allowFailure: true);
        Assert.NotEqual(0, exit);
        var diagnostics = Regex.Matches(output, @"(?<file>[^\s:]+)\((?<line>\d+),(?<column>\d+)\): (?<kind>error|warning) (?<id>[A-Z]+\d+): (?<text>[^\r\n]*)");
        Assert.True(diagnostics.Count > 0, output);
        Assert.All(diagnostics, d => Assert.Equal("DL0003", d.Groups["id"].Value));   // no cascade: no CS errors, no warnings
        var first = diagnostics[0];
        Assert.Equal("16", first.Groups["line"].Value);   // the `+` in Forward
        Assert.Contains("operator +: [B, 3] and [B, 4]", first.Groups["text"].Value);
        Assert.Contains("per-sample axis 0", first.Groups["text"].Value);
        Assert.Contains("/docs/diagnostics.md#dl0003", first.Groups["text"].Value);
    }

    private static void AssertTrained(string output)
    {
        var first = Regex.Match(output, @"first loss: ([0-9.]+)");
        var last = Regex.Match(output, @"last loss: ([0-9.]+)");
        Assert.True(first.Success && last.Success, output);
        Assert.True(Number(last.Groups[1].Value) < Number(first.Groups[1].Value) / 2,
            $"the loss did not fall by half: {first.Groups[1].Value} then {last.Groups[1].Value}\n{output}");
    }
}
