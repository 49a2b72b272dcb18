namespace Dl.Cli.Report;

/// <summary>Writes a <see cref="TrainingReport"/> as one self-contained HTML page (placeholder until the report lane
/// lands: the signature is the contract the train command uses).</summary>
public static class ReportWriter
{
    /// <summary>Writes <c>index.html</c> (and nothing that needs the network) into <paramref name="directory"/>, creating
    /// it; returns the page's path.</summary>
    public static string Write(string directory, TrainingReport report) =>
        throw new NotImplementedException("the HTML report is written by the report lane");
}
