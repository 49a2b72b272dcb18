using System.CommandLine;

namespace Dl.Cli;

/// <summary><c>dl summary</c>: a model's layers, output shapes and parameter counts.</summary>
internal static class SummaryCommand
{
    internal static Command Create()
    {
        var command = new Command("summary", "Prints a model's layers, output shapes and parameter counts.")
        {
            CommandLine.Value("model", "MODEL", $"The model (default fashion-mlp): {string.Join(", ", ModelCatalog.All.Select(e => e.Id))}."),
        };
        command.SetAction(result =>
        {
            var cl = new CommandLine("summary", result);
            ModelCatalog.Entry entry = ModelCatalog.Find("summary", cl.String("model", "fashion-mlp"));
            Console.Out.Write(entry.Generated(new ModelOptions { MaxBatch = 1 }).Summary());
            return 0;
        });
        return command;
    }
}
