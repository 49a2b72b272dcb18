using System.Reflection;
using System.Text.RegularExpressions;
using Dl.Generators.Diagnostics;
using Microsoft.CodeAnalysis;

namespace Dl.Tests;

/// <summary>Every DL diagnostic links to its section of docs/diagnostics.md in the repository named by RepositoryUrl
/// (Directory.Build.props), and that section exists.</summary>
public class HelpLinkTests
{
    public static TheoryData<string> Ids()
    {
        var ids = new TheoryData<string>();
        foreach (var d in Descriptors()) ids.Add(d.Id);
        return ids;
    }

    [Theory]
    [MemberData(nameof(Ids))]
    public void HelpLink_IsTheAbsoluteUrlOfTheSection_AndTheSectionExists(string id)
    {
        var descriptor = Descriptors().Single(d => d.Id == id);
        string root = RepositoryRoot();
        string repositoryUrl = Regex.Match(File.ReadAllText(Path.Combine(root, "Directory.Build.props")), "<RepositoryUrl>([^<]+)</RepositoryUrl>").Groups[1].Value;
        Assert.StartsWith("https://", repositoryUrl);

        string anchor = id.ToLowerInvariant();
        Assert.Equal($"{repositoryUrl}/blob/main/docs/diagnostics.md#{anchor}", descriptor.HelpLinkUri);
        Assert.True(Uri.TryCreate(descriptor.HelpLinkUri, UriKind.Absolute, out _), descriptor.HelpLinkUri);

        // GitHub's anchor of the heading "## DL0001" is "dl0001".
        var headings = File.ReadAllLines(Path.Combine(root, "docs", "diagnostics.md")).Where(l => l.StartsWith("## ", StringComparison.Ordinal));
        Assert.Contains(headings, h => h.Substring(3).Trim().ToLowerInvariant() == anchor);
    }

    private static DiagnosticDescriptor[] Descriptors() =>
        typeof(DiagnosticDescriptors).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.FieldType == typeof(DiagnosticDescriptor)).Select(f => (DiagnosticDescriptor)f.GetValue(null)!).ToArray();

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Dl.sln"))) dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("Dl.sln not found above " + AppContext.BaseDirectory);
    }
}
