using System.CommandLine;
using Dl.Dynamic;

namespace Dl.Cli;

/// <summary><c>dl explain</c>: the course notes' table for one input — every node of the forward pass with its value,
/// its local gradients and the upstream gradient dL/dnode — from the dynamic tape in double precision.</summary>
internal static class ExplainCommand
{
    internal static Command Create()
    {
        var command = new Command("explain", "Traces one sample through a model and prints every node's value, local gradients " +
            "(d node / d input, element-wise ops) and upstream gradient dL/dnode, in double precision. Long tensors are abbreviated.")
        {
            CommandLine.Value("model", "MODEL", "The model (default: the one the --checkpoint names, else xor): " +
                string.Join(", ", ModelCatalog.All.Where(e => e.Samples != ModelCatalog.SampleKind.None).Select(e => e.Id)) + "."),
            CommandLine.Value("index", "I", "The sample: a row of XOR's truth table (0-3), else an image of the embedded Fashion-MNIST test set (default 0)."),
            CommandLine.Value("checkpoint", "PATH", "Weights saved by 'dl train --save' (default: the initial weights of --seed)."),
            CommandLine.Value("seed", "S", "Seed of the initial weights (default 1)."),
        };
        command.SetAction(result =>
        {
            var cl = new CommandLine("explain", result);
            ModelCatalog.Entry entry = ModelCatalog.Resolve("explain", cl, cl.String("checkpoint"), "xor");
            int index = cl.Int("index", 0, 0, int.MaxValue);
            DynamicModel model = entry.Dynamic(cl.Seed("seed", 1));
            if (cl.String("checkpoint") is { } path) ModelCatalog.Load(path, model);
            model.Training = false;
            (float[] x, double[] target, _, _) = ModelCatalog.Samples(entry, index, 1, "explain");
            DynamicTrace trace = model.Trace([.. x.Select(v => (double)v)], target, 1);
            Console.Out.WriteLine($"{entry.Id} ({model.Description.Name}), sample {index}, evaluation mode:");
            Console.Out.Write(trace.ToString());
            return 0;
        });
        return command;
    }
}
