using System.Diagnostics;
using Dl.Dynamic;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Dl.Onnx.Tests;

/// <summary>Exports a model, runs the file in ONNX Runtime (one thread) and compares with the model's own Predict.</summary>
internal static class OnnxHarness
{
    /// <summary>Makes one sample of an input: (input index, element index, random) → value.</summary>
    public delegate float InputValue(int input, int element, Random random);

    /// <summary>Uniform in [-1, 1): the default input.</summary>
    public static readonly InputValue Uniform = static (_, _, r) => (float)(r.NextDouble() * 2 - 1);

    /// <summary>Integers in [0, n): tokens.</summary>
    public static InputValue Tokens(int n) => (_, _, r) => r.Next(n);

    /// <summary>Exports <paramref name="model"/> and checks ONNX Runtime's output against Predict at batch 1 and 3; returns
    /// the largest error relative to the output's largest magnitude.</summary>
    public static double Check<TModel>(TModel model, InputValue? value = null, double tolerance = 1e-5, bool warmStatistics = false)
        where TModel : IModel, IDynamicSource<TModel>
    {
        value ??= Uniform;
        var random = new Random(7);
        ModelDescription d = model.Description;
        if (warmStatistics)
        {
            // Running statistics away from their initial (0, 1), so that evaluation mode really reads them.
            model.Training = true;
            for (int step = 0; step < 2; step++)
            {
                float[] x = Inputs(d, 3, value, random, scale: 2f);
                model.Predict(x, new float[3 * d.OutputSize], 3);
            }
        }
        model.Training = false;
        byte[] bytes = OnnxExport.ToBytes(model, TModel.CreateShell());
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        using var session = new InferenceSession(bytes, options);
        double worst = 0;
        foreach (int batch in new[] { 1, 3 })
        {
            float[] input = Inputs(d, batch, value, random, scale: 1f);
            var expected = new float[batch * d.OutputSize];
            model.Predict(input, expected, batch);
            float[] actual = Run(session, d, input, batch);
            Assert.Equal(expected.Length, actual.Length);
            double max = expected.Max(v => Math.Abs((double)v)), error = 0;
            for (int i = 0; i < expected.Length; i++)
            {
                Assert.False(float.IsNaN(actual[i]), $"{d.Name}: ONNX Runtime gave NaN at {i} (batch {batch}).");
                error = Math.Max(error, Math.Abs((double)actual[i] - expected[i]));
            }
            double relative = error / Math.Max(max, 1e-30);
            Assert.True(relative <= tolerance,
                $"{d.Name} batch {batch}: ONNX Runtime differs from Predict by {error:G3} (relative to max |y| = {max:G3}: {relative:G3} > {tolerance:G3}).");
            worst = Math.Max(worst, relative);
            Console.WriteLine($"ONNX {d.Name} batch {batch}: max error {error:G3}, relative {relative:G3}");
        }
        return worst;
    }

    /// <summary>The model's inputs for <paramref name="batch"/> samples, laid out as Predict takes them (each input's batch block in turn).</summary>
    public static float[] Inputs(ModelDescription d, int batch, InputValue value, Random random, float scale)
    {
        var x = new float[batch * d.InputSize];
        int at = 0;
        for (int i = 0; i < d.Inputs.Length; i++)
            for (int e = 0; e < batch * d.Inputs[i].Size; e++) x[at++] = value(i, e, random) * (value == Uniform ? scale : 1f);
        return x;
    }

    /// <summary>Runs the exported graph: one named input per model input, [batch, shape…].</summary>
    public static float[] Run(InferenceSession session, ModelDescription d, float[] input, int batch)
    {
        var feeds = new List<NamedOnnxValue>();
        int at = 0;
        foreach (InputInfo info in d.Inputs)
        {
            int length = batch * info.Size;
            var tensor = new DenseTensor<float>(input.AsMemory(at, length), [batch, .. info.Shape]);
            feeds.Add(NamedOnnxValue.CreateFromTensor(info.Name, tensor));
            at += length;
        }
        using IDisposableReadOnlyCollection<DisposableNamedOnnxValue> results = session.Run(feeds);
        return results.Single(r => r.Name == "output").AsEnumerable<float>().ToArray();
    }

    /// <summary>python3-onnx's checker (full check: shape inference too) on the files, or null when /usr/bin/python3 cannot
    /// import onnx; else the checker's output (empty when every file passed).</summary>
    public static string? PythonCheck(IEnumerable<string> paths)
    {
        const string script = "import sys, onnx\nfor p in sys.argv[1:]:\n    onnx.checker.check_model(onnx.load(p), full_check=True)\n";
        if (!File.Exists("/usr/bin/python3")) return null;
        var probe = Process.Start(new ProcessStartInfo("/usr/bin/python3", ["-c", "import onnx"]) { RedirectStandardError = true })!;
        probe.WaitForExit();
        if (probe.ExitCode != 0) return null;
        var start = new ProcessStartInfo("/usr/bin/python3", ["-c", script, .. paths]) { RedirectStandardError = true, RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd() + process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? "" : errors;
    }
}
