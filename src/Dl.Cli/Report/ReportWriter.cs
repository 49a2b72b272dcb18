using System.Text;

namespace Dl.Cli.Report;

/// <summary>Writes a <see cref="TrainingReport"/> as one self-contained HTML page: inline CSS, inline SVG charts, images
/// as data URIs; nothing is fetched and no script runs.</summary>
public static class ReportWriter
{
    /// <summary>The page's file name inside the report directory.</summary>
    public const string FileName = "index.html";

    /// <summary>Writes <c>index.html</c> (and nothing that needs the network) into <paramref name="directory"/>, creating
    /// it; returns the page's path.</summary>
    public static string Write(string directory, TrainingReport report)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(report);
        Directory.CreateDirectory(directory);
        string path = Path.Combine(directory, FileName);
        File.WriteAllText(path, Render(report), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        return path;
    }

    /// <summary>The page's HTML.</summary>
    public static string Render(TrainingReport report) => ReportPage.Render(report);
}
