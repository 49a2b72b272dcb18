using System.CommandLine;
using System.Globalization;
using Dl.Data;
using Dl.Models;

namespace Dl.Cli;

/// <summary><c>dl predict</c>: a checkpoint's top classes for inputs given as an IDX images file, a CSV of pixel rows or
/// image files (PGM, 8-bit PNG).</summary>
internal static class PredictCommand
{
    internal static Command Create()
    {
        var inputs = new Argument<string[]>("inputs")
        {
            Arity = ArgumentArity.OneOrMore,
            Description = "IDX images files (*-idx3-ubyte, optionally .gz), CSV files of pixel rows (784 values 0-255 or 0-1 per row, " +
                          "optionally a header and a leading label column), or PGM / 8-bit PNG images of 28 x 28 pixels.",
        };
        var command = new Command("predict", "Prints the most probable classes of a checkpoint saved by 'dl train --save' for each input image.")
        {
            inputs,
            CommandLine.Value("checkpoint", "PATH", "Required: the weights (safetensors)."),
            CommandLine.Value("model", "MODEL", $"The checkpoint's model (default: the one its metadata names, else fashion-mlp): {string.Join(", ", ModelCatalog.Classifiers)}."),
            CommandLine.Value("top", "K", "Classes shown per image (default 3)."),
            CommandLine.Value("limit", "N", "At most N images per IDX or CSV file (default 20)."),
        };
        command.SetAction(result => Run(new CommandLine("predict", result), result.GetValue(inputs)!));
        return command;
    }

    private static int Run(CommandLine cl, string[] paths)
    {
        string path = cl.String("checkpoint") ?? throw new UsageException("'predict': --checkpoint PATH is required (a file written by 'dl train --save').");
        ModelCatalog.Entry entry = ModelCatalog.Resolve("predict", cl, path, "fashion-mlp", ModelCatalog.Classifiers);
        int top = cl.Int("top", 3, 1, EmbeddedData.Classes), limit = cl.Int("limit", 20, 1, int.MaxValue);
        IModel model = entry.Generated(new ModelOptions { MaxBatch = 1 });
        ModelCatalog.Load(path, model);
        model.Training = false;
        int size = model.Description.InputSize, classes = model.Description.OutputSize;
        var logits = new float[classes];
        var probabilities = new float[classes];
        foreach (string file in paths)
        {
            if (!File.Exists(file)) throw new FileNotFoundException($"input '{file}' does not exist.");
            foreach ((string name, float[] pixels) in Read(file, size, limit))
            {
                model.Predict(pixels, logits, 1);
                Predictions.Softmax(logits, probabilities);
                string best = string.Join(", ", Predictions.TopK(probabilities, top).Select(c =>
                    string.Create(CultureInfo.InvariantCulture, $"{EmbeddedData.ClassNames[c]} {probabilities[c] * 100:0.0}%")));
                Console.Out.WriteLine($"{name}: {best}");
            }
        }
        return 0;
    }

    /// <summary>The images of one input file, each named for the output (file, or file#index).</summary>
    private static IEnumerable<(string Name, float[] Pixels)> Read(string file, int size, int limit)
    {
        string lower = file.ToLowerInvariant();
        if (lower.EndsWith(".csv", StringComparison.Ordinal)) return ReadCsv(file, size, limit);
        if (lower.EndsWith(".png", StringComparison.Ordinal) || lower.EndsWith(".pgm", StringComparison.Ordinal))
        {
            (float[] pixels, int height, int width) = ImageFiles.Read(file);
            if (pixels.Length != size)
                throw new InvalidDataException($"image '{file}' is {width} x {height} pixels; the model takes {Side(size)} ({size} values).");
            return [(file, pixels)];
        }
        IdxData idx = Idx.Read(file, limit);
        if (idx.ItemSize != size)
            throw new InvalidDataException($"IDX file '{file}' holds items of shape {idx.ShapeText} ({idx.ItemSize} values each); the model takes {Side(size)} ({size} values).");
        return Enumerable.Range(0, idx.Count).Select(i =>
            ($"{file}#{i}", idx.Data.AsSpan(i * size, size).ToArray().Select(b => b / 255f).ToArray()));
    }

    private static string Side(int size) => (int)Math.Sqrt(size) is int s && s * s == size ? $"{s} x {s} pixels" : $"{size} values";

    private static List<(string, float[])> ReadCsv(string file, int size, int limit)
    {
        var images = new List<(string, float[])>();
        int lineNumber = 0;
        foreach (string line in File.ReadLines(file))
        {
            lineNumber++;
            if (line.Trim().Length == 0) continue;
            string[] fields = line.Split(',');
            if (lineNumber == 1 && !double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _)) continue; // a header
            if (fields.Length != size && fields.Length != size + 1)
                throw new InvalidDataException($"CSV '{file}' line {lineNumber}: {fields.Length} columns; expected {size} pixel values (or a label and {size}).");
            int skip = fields.Length - size;
            var pixels = new float[size];
            for (int i = 0; i < size; i++)
            {
                if (!float.TryParse(fields[skip + i], NumberStyles.Float, CultureInfo.InvariantCulture, out pixels[i]) || !float.IsFinite(pixels[i]))
                    throw new InvalidDataException($"CSV '{file}' line {lineNumber} column {skip + i + 1}: '{fields[skip + i]}' is not a number.");
            }
            // Grey levels 0-255 are scaled to [0, 1]; rows already in [0, 1] are kept.
            if (pixels.Max() > 1) for (int i = 0; i < size; i++) pixels[i] /= 255f;
            images.Add(($"{file}#{images.Count}", pixels));
            if (images.Count == limit) break;
        }
        return images;
    }
}
