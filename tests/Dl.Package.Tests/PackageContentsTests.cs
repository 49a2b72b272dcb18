using System.IO.Compression;

namespace Dl.Tests;

/// <summary>What each package holds: the generator as an analyzer (never a lib reference), the build assets, docs,
/// symbols and the metadata a package page shows.</summary>
[Collection(PackageCollection.Name), Trait("Category", "Package")]
public sealed class PackageContentsTests(PackageFeed feed)
{
    private static string[] Entries(string path)
    {
        using var archive = ZipFile.OpenRead(path);
        return archive.Entries.Select(e => e.FullName).ToArray();
    }

    [Fact]
    public void Dl_holds_the_runtime_the_generator_as_analyzer_and_the_build_assets()
    {
        string[] entries = Entries(feed.PackagePath("Dl"));
        Assert.Contains("lib/net10.0/Dl.Runtime.dll", entries);
        Assert.Contains("lib/net10.0/Dl.Runtime.xml", entries);   // IntelliSense
        Assert.Contains("analyzers/dotnet/cs/Dl.Generators.dll", entries);
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/", StringComparison.Ordinal) && e.Contains("Generators", StringComparison.Ordinal));
        foreach (string folder in new[] { "build", "buildTransitive" })
        {
            Assert.Contains($"{folder}/Dl.props", entries);
            Assert.Contains($"{folder}/Dl.targets", entries);
        }
        Assert.Contains("README.md", entries);
        Assert.True(File.Exists(feed.PackagePath("Dl", "snupkg")), "Dl's symbol package is missing");
    }

    [Theory]
    [InlineData("Dl")]
    [InlineData("Dl.Models")]
    [InlineData("Dl.Templates")]
    public void Metadata_names_version_licence_repository_readme_and_tags(string id)
    {
        string nuspec = feed.ReadEntry(id, id + ".nuspec");
        Assert.Contains($"<id>{id}</id>", nuspec);
        Assert.Contains($"<version>{feed.Version}</version>", nuspec);
        Assert.Contains("<license type=\"expression\">MIT</license>", nuspec);
        Assert.Contains("<readme>README.md</readme>", nuspec);
        Assert.Matches("<repository type=\"git\" url=\"https://", nuspec);
        Assert.Matches("<tags>[^<]*deep-learning", nuspec);
        Assert.Matches("<description>.{40,}</description>", nuspec);
    }

    [Fact]
    public void Dl_Models_depends_on_the_same_Dl_with_its_analyzer_and_build_assets()
    {
        string nuspec = feed.ReadEntry("Dl.Models", "Dl.Models.nuspec");
        Assert.Contains($"<dependency id=\"Dl\" version=\"{feed.Version}\"", nuspec);
        Assert.DoesNotContain("exclude=", nuspec);   // a consumer of Dl.Models alone still gets the generator and the AOT default
        Assert.DoesNotContain("Dl.Generators", nuspec);
    }

    [Fact]
    public void The_template_asks_for_the_packages_it_was_packed_with()
    {
        string project = feed.ReadEntry("Dl.Templates", "content/dl-console/DlConsole.csproj");
        Assert.Contains($"<PackageReference Include=\"Dl\" Version=\"{feed.Version}\" />", project);
        Assert.Contains($"<PackageReference Include=\"Dl.Models\" Version=\"{feed.Version}\" />", project);
        Assert.Contains("<PublishAot>true</PublishAot>", project);
        Assert.Contains("content/dl-console/.template.config/template.json", Entries(feed.PackagePath("Dl.Templates")));
    }
}
