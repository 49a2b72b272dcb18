using System.CommandLine;
using Dl.Checkpoints;
using Dl.Dynamic;
using Dl.Models;
using Dl.Onnx;

namespace Dl.Cli;

/// <summary><c>dl export --onnx PATH --model M [--checkpoint C] [--seed S]</c>: writes a model of Dl.Models (by class name,
/// e.g. <c>FashionCnn</c>, or workload id, e.g. <c>cnn_lenetish</c>) as an ONNX file, with the weights and running
/// statistics of a safetensors checkpoint, or the seed's initial weights without one.</summary>
internal static class ExportCommand
{
    /// <summary>A model the command can export: its name, how to build it, and the source the exporter runs on the tape.</summary>
    private sealed record Entry(string Name, Func<ModelOptions, IModel> Create, Func<IDynamicSource> Shell);

    private static Entry Of<TModel>(Func<ModelOptions, TModel> create) where TModel : IModel, IDynamicSource<TModel>
        => new(TModel.StaticDescription.Name, o => create(o), () => TModel.CreateShell());

    private static readonly Entry[] s_models =
    [
        Of(o => new XorNet(o)), Of(o => new SigmoidNeuron(o)), Of(o => new LogicPerceptron(o)),
        Of(o => new FashionMlp(o)), Of(o => new WideMlp(o)), Of(o => new Dgex(o)),
        Of(o => new LenetCnn(o)), Of(o => new FashionCnn(o)), Of(o => new ResidualCnn(o)), Of(o => new InceptionCnn(o)),
        Of(o => new ConvAutoencoder(o)),
        Of(o => new LstmT35(o)), Of(o => new RowLstm(o)), Of(o => new RowGru(o)), Of(o => new CharLstm(o)),
        Of(o => new AttnS64(o)), Of(o => new PatchTransformer(o)), Of(o => new ReverseTransformer(o)),
    ];

    /// <summary>The <c>export</c> command.</summary>
    internal static Command Create()
    {
        var onnx = new Option<string>("--onnx") { Description = "Path of the ONNX file to write.", Required = true };
        var model = new Option<string>("--model")
        {
            Description = "The model: a name dl train takes (fashion-cnn, ...), a class of Dl.Models (" + string.Join(", ", s_models.Select(m => m.Name)) + ") or a workload id.",
            Required = true,
        };
        var checkpoint = new Option<string?>("--checkpoint") { Description = "A safetensors checkpoint of the model (PyTorch names) to export." };
        var seed = new Option<ulong>("--seed") { Description = "Seed of the initial weights when no checkpoint is given.", DefaultValueFactory = _ => 0UL };
        var command = new Command("export", "Export a model's forward pass (evaluation mode) as ONNX, opset 17, batch as a symbolic dimension.")
        {
            onnx, model, checkpoint, seed,
        };
        command.SetAction(result => Run(result.GetValue(onnx)!, result.GetValue(model)!, result.GetValue(checkpoint), result.GetValue(seed)));
        return command;
    }

    /// <summary>Exports; returns the exit code (0, or 1 after writing the reason to standard error).</summary>
    internal static int Run(string path, string modelName, string? checkpoint, ulong seed)
    {
        try
        {
            Entry entry = Find(modelName);
            IModel model = entry.Create(new ModelOptions { Seed = seed, MaxBatch = 1 });
            if (checkpoint is not null)
            {
                if (!File.Exists(checkpoint)) throw new FileNotFoundException($"'export': checkpoint '{checkpoint}' does not exist.");
                Safetensors.Load(checkpoint, model.Description, model.Parameters, model.State);
            }
            model.Training = false;
            OnnxExport.Export(model, entry.Shell(), path);
            Console.WriteLine($"wrote {path}: {model.Description.Name}, {model.Description.ParameterCount:N0} parameters, ONNX opset 17");
            return 0;
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"dl export: {e.Message}");
            return Program.UsageError;
        }
        catch (Exception e) when (e is NotSupportedException or InvalidDataException or IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"dl export: {e.Message}");
            return 1;
        }
    }

    private static Entry Find(string name)
    {
        foreach (Entry e in s_models)
            if (string.Equals(e.Name, name, StringComparison.OrdinalIgnoreCase)) return e;
        foreach (Workloads.Workload w in Workloads.All)
            if (w.Id == name) return s_models.First(e => e.Name == w.Description.Name);
        foreach (ModelCatalog.Entry c in ModelCatalog.All)   // the names dl train --model takes
            if (c.Id == name)
            {
                string className = c.Generated(new ModelOptions { MaxBatch = 1 }).Description.Name;
                return s_models.First(e => e.Name == className);
            }
        throw new UsageException($"'export': unknown model '{name}'; expected one of {string.Join(", ", s_models.Select(m => m.Name))}, " +
            $"a name dl train takes ({string.Join(", ", ModelCatalog.All.Select(c => c.Id))}) " +
            $"or a workload id ({string.Join(", ", Workloads.All.Select(w => w.Id))}).");
    }
}
