using System.IO.Compression;
using System.Text.RegularExpressions;

namespace Dl.Tests;

/// <summary>
/// The repository's packages (Dl, Dl.Models, Dl.Templates) packed once into a feed in a temporary folder outside the
/// repository, with a version of their own (the repository's prefix and a -ci.N suffix) so that the machine's NuGet
/// cache can never hand a test a package from an earlier run. The folder holds a nuget.config naming the feed (beside
/// the user's own sources, which still serve the SDK's packages) and a private template hive, so nothing is installed
/// for the user. Disposing deletes the folder and this version from the NuGet cache.
/// </summary>
public sealed class PackageFeed : IDisposable
{
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(10);

    public string RepositoryRoot { get; }
    public string Root { get; }
    public string Feed => Path.Combine(Root, "feed");
    public string TemplateHive => Path.Combine(Root, "template-hive");
    public string Version { get; }

    public PackageFeed()
    {
        RepositoryRoot = FindRepositoryRoot();
        Root = Path.Combine(Path.GetTempPath(), "dl-package-tests-" + Environment.ProcessId + "-" + DateTime.UtcNow.ToString("HHmmssfff"));
        Directory.CreateDirectory(Root);
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}") ? "Release" : "Debug";
        bool built = File.Exists(Path.Combine(RepositoryRoot, "src", "Dl.Runtime", "bin", configuration, "net10.0", "Dl.Runtime.dll"))
                     && File.Exists(Path.Combine(RepositoryRoot, "src", "Dl.Models", "bin", configuration, "net10.0", "Dl.Models.dll"));
        string suffix = "ci." + DateTime.UtcNow.ToString("yyyyMMddHHmmssfff");
        DotnetProcess.Run("dotnet", $"pack \"{Path.Combine(RepositoryRoot, "Dl.sln")}\" -c {configuration} {(built ? "--no-build" : "")} -o \"{Feed}\" -p:VersionSuffix={suffix}",
            RepositoryRoot, CommandTimeout);
        string template = Directory.GetFiles(Feed, "Dl.Templates.*.nupkg").Single();
        Version = Regex.Match(Path.GetFileName(template), @"^Dl\.Templates\.(.+)\.nupkg$").Groups[1].Value;
        File.WriteAllText(Path.Combine(Root, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="dl-under-test" value="{Feed}" />
              </packageSources>
            </configuration>
            """);
    }

    /// <summary>The path of package <paramref name="id"/> (nupkg or snupkg) in the feed.</summary>
    public string PackagePath(string id, string extension = "nupkg") => Path.Combine(Feed, $"{id}.{Version}.{extension}");

    /// <summary>The text of one entry of a package.</summary>
    public string ReadEntry(string id, string entry)
    {
        using var archive = ZipFile.OpenRead(PackagePath(id));
        var file = archive.GetEntry(entry) ?? throw new InvalidOperationException($"{id} has no entry {entry}");
        using var reader = new StreamReader(file.Open());
        return reader.ReadToEnd();
    }

    public static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Dl.sln"))) return dir.FullName;
        throw new InvalidOperationException($"Dl.sln not found above {AppContext.BaseDirectory}");
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        string cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (string id in new[] { "dl", "dl.models", "dl.templates" })
        {
            string folder = Path.Combine(cache, id, Version);
            try { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); } catch (IOException) { }
        }
    }
}

[CollectionDefinition(Name)]
public sealed class PackageCollection : ICollectionFixture<PackageFeed>
{
    public const string Name = "Packages";
}
