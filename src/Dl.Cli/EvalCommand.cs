using System.CommandLine;
using System.Globalization;
using Dl.Data;
using Dl.Models;
using Dl.Training;

namespace Dl.Cli;

/// <summary><c>dl eval</c>: a checkpoint's accuracy, mean loss and confusion matrix on the Fashion-MNIST test set
/// (evaluation mode).</summary>
internal static class EvalCommand
{
    internal static Command Create()
    {
        var command = new Command("eval", "Evaluates a checkpoint saved by 'dl train --save' on the Fashion-MNIST test set: accuracy, mean loss " +
            "and the confusion matrix (rows: true class, columns: predicted).")
        {
            CommandLine.Value("checkpoint", "PATH", "Required: the weights (safetensors) to evaluate."),
            CommandLine.Value("model", "MODEL", $"The checkpoint's model (default: the one its metadata names, else fashion-mlp): {string.Join(", ", ModelCatalog.Classifiers)}."),
            CommandLine.Value("data", "DIR", "Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist if installed, else the embedded subset; 'embedded' forces it)."),
            CommandLine.Value("limit", "N", "Evaluate the first N test images only."),
            CommandLine.Value("batch", "B", "Samples per forward pass (default 256)."),
            CommandLine.Flag("json", "One JSON object (samples, loss, accuracy, confusion) on stdout instead of the table."),
        };
        command.SetAction(result => Run(new CommandLine("eval", result)));
        return command;
    }

    private static int Run(CommandLine cl)
    {
        string path = cl.String("checkpoint") ?? throw new UsageException("'eval': --checkpoint PATH is required (a file written by 'dl train --save').");
        ModelCatalog.Entry entry = ModelCatalog.Resolve("eval", cl, path, "fashion-mlp", ModelCatalog.Classifiers);
        int batch = cl.Int("batch", 256, 1, 65_536), limit = cl.Int("limit", 0, 1, int.MaxValue);
        var model = (ITrainableModel<int>)entry.Generated(new ModelOptions { MaxBatch = batch });
        ModelCatalog.Load(path, model);
        (_, Dataset test) = TrainCommand.LoadData(cl.String("data"), trainingSet: false);
        if (limit > 0) test = test.Subset(0, Math.Min(limit, test.Count));
        EvaluationResult r = Evaluation.Evaluate(model, test, batch);
        ConfusionMatrix confusion = r.Confusion!;
        if (cl.Flag("json"))
        {
            var rows = Enumerable.Range(0, confusion.Classes).Select(a => "[" + string.Join(",", Enumerable.Range(0, confusion.Classes).Select(p => confusion[a, p])) + "]");
            Console.Out.WriteLine(new JsonLine().Add("model", entry.Id).Add("checkpoint", path).Add("samples", r.Samples)
                .Add("loss", r.Loss, 4).Add("accuracy", r.Accuracy, 4).Raw("confusion", "[" + string.Join(",", rows) + "]"));
            return 0;
        }
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{entry.Id} from {path} on {r.Samples} test images: accuracy {r.Accuracy * 100:0.00}%, mean loss {r.Loss:0.0000} ({r.Seconds:0.0} s)"));
        Console.Out.Write(ConfusionTable(confusion, EmbeddedData.ClassNames));
        return 0;
    }

    /// <summary>The confusion matrix as aligned text (rows: true class with its recall; columns: predicted, headed by
    /// the classes' first letters so that the table fits 80 columns).</summary>
    internal static string ConfusionTable(ConfusionMatrix confusion, IReadOnlyList<string> names)
    {
        const string Corner = "true \\ predicted";
        int k = confusion.Classes, nameWidth = Math.Max(Corner.Length, names.Max(n => n.Length) + 1), cell = Math.Max(5, confusion.Total.ToString(CultureInfo.InvariantCulture).Length + 1);
        var text = new System.Text.StringBuilder();
        text.Append("true \\ predicted".PadRight(nameWidth));
        for (int p = 0; p < k; p++) text.Append(Short(names[p]).PadLeft(cell));
        text.AppendLine("  recall");
        for (int a = 0; a < k; a++)
        {
            text.Append(names[a].PadRight(nameWidth));
            long total = 0;
            for (int p = 0; p < k; p++)
            {
                total += confusion[a, p];
                text.Append(confusion[a, p].ToString(CultureInfo.InvariantCulture).PadLeft(cell));
            }
            text.AppendLine(total == 0 ? "       -" : string.Create(CultureInfo.InvariantCulture, $"{100.0 * confusion[a, a] / total,7:0.0}%"));
        }
        return text.ToString();
    }

    private static string Short(string name) => name.Length <= 4 ? name : name[..4];
}
