using System.CommandLine;

namespace Dl.Cli;

/// <summary><c>dl graph</c>: a model's computation graph as text, Graphviz DOT or a Mermaid flowchart.</summary>
internal static class GraphCommand
{
    internal static Command Create()
    {
        var command = new Command("graph", "Prints a model's computation graph: text (one node a line), Graphviz DOT (dot -Tsvg) or a Mermaid flowchart.")
        {
            CommandLine.Value("model", "MODEL", $"The model (default fashion-mlp): {string.Join(", ", ModelCatalog.All.Select(e => e.Id))}."),
            CommandLine.Value("format", "FORMAT", "text (default), dot or mermaid."),
        };
        command.SetAction(result =>
        {
            var cl = new CommandLine("graph", result);
            ModelCatalog.Entry entry = ModelCatalog.Find("graph", cl.String("model", "fashion-mlp"));
            GraphFormat format = cl.Choice("format", "text", "text", "dot", "mermaid") switch
            {
                "dot" => GraphFormat.Dot,
                "mermaid" => GraphFormat.Mermaid,
                _ => GraphFormat.Text,
            };
            string graph = entry.Generated(new ModelOptions { MaxBatch = 1 }).Graph(format);
            Console.Out.Write(graph.EndsWith('\n') ? graph : graph + Environment.NewLine);
            return 0;
        });
        return command;
    }
}
