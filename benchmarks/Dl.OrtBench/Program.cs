// dotnet Dl.OrtBench.dll --workload W --batch B [--threads T] [--seed S]: exports the workload's model (the weights
// `dl bench --seed S` starts from, default seed 1) with Dl.Onnx, runs its inference in ONNX Runtime on T intra-op threads
// (sequential execution) and prints one JSON line in compare.sh's format (engine "onnxruntime", mode "infer").
// Timing as `dl bench`: at least 0.5 s and 3 steps of warm-up, then about 2 s of steps (at least 5); median, p10, p90.
using System.Diagnostics;
using System.Globalization;
using Dl;
using Dl.Dynamic;
using Dl.Models;
using Dl.Onnx;
using Microsoft.ML.OnnxRuntime;

var values = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i + 1 < args.Length; i += 2)
{
    if (!args[i].StartsWith("--", StringComparison.Ordinal)) return Fail($"unexpected argument '{args[i]}'");
    values[args[i][2..]] = args[i + 1];
}
if (args.Length % 2 != 0) return Fail($"option '{args[^1]}' needs a value");
if (!values.TryGetValue("workload", out string? workload)) return Fail("--workload is required");
int batch = int.Parse(values.GetValueOrDefault("batch", "32"), CultureInfo.InvariantCulture);
int threads = int.Parse(values.GetValueOrDefault("threads", "1"), CultureInfo.InvariantCulture);
ulong seed = ulong.Parse(values.GetValueOrDefault("seed", "1"), CultureInfo.InvariantCulture);
var options = new ModelOptions { Seed = seed, MaxBatch = batch };
byte[] onnx;
ModelDescription d;
switch (workload)
{
    case "xor_2_2_1": (onnx, d) = Export(new XorNet(options)); break;
    case "mlp_784_128_10": (onnx, d) = Export(new FashionMlp(options)); break;
    case "mlp_784_1024_512_10": (onnx, d) = Export(new WideMlp(options)); break;
    case "cnn_lenetish": (onnx, d) = Export(new LenetCnn(options)); break;
    case "lstm_32_128_t35": (onnx, d) = Export(new LstmT35(options)); break;
    case "attn_s64_d64_h4": (onnx, d) = Export(new AttnS64(options)); break;
    case "dgex_943_3000_9520": (onnx, d) = Export(new Dgex(options)); break;
    default: return Fail($"unknown workload '{workload}'");
}

using var session = new InferenceSession(onnx, new SessionOptions
{
    IntraOpNumThreads = threads, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
});
var random = new Random(1);
var x = new float[batch * d.InputSize];
for (int i = 0; i < x.Length; i++) x[i] = (float)(random.NextDouble() * 2 - 1);
var y = new float[batch * d.OutputSize];
// Inputs and output bound once to the arrays (no copies or allocations per step beyond ORT's own).
using var input = OrtValue.CreateTensorValueFromMemory(x, [batch, .. d.Inputs[0].Shape.Select(s => (long)s)]);
using var output = OrtValue.CreateTensorValueFromMemory(y, [batch, .. d.OutputShape.Select(s => (long)s)]);
using var runOptions = new RunOptions();
string[] inputNames = [d.Inputs[0].Name], outputNames = ["output"];
OrtValue[] inputValues = [input], outputValues = [output];
void Step() => session.Run(runOptions, inputNames, inputValues, outputNames, outputValues);

long warmStart = Stopwatch.GetTimestamp();
int warmed = 0;
while (warmed < 3 || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < 0.5)
{
    Step();
    warmed++;
}
double perStep = Stopwatch.GetElapsedTime(warmStart).TotalSeconds / warmed;
int steps = (int)Math.Clamp(2.0 / perStep, 5, 1_000_000);
var ticks = new long[steps];
for (int i = 0; i < steps; i++)
{
    long t0 = Stopwatch.GetTimestamp();
    Step();
    ticks[i] = Stopwatch.GetTimestamp() - t0;
}
Array.Sort(ticks);
double Us(double q) => ticks[(int)Math.Min(steps - 1, Math.Round(q * (steps - 1)))] * 1e6 / Stopwatch.Frequency;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"{{\"workload\":\"{workload}\",\"batch\":{batch},\"threads\":{threads},\"engine\":\"onnxruntime\",\"mode\":\"infer\"," +
    $"\"median_us\":{Us(0.5):F2},\"p10_us\":{Us(0.1):F2},\"p90_us\":{Us(0.9):F2}}}"));
Console.Error.WriteLine($"Dl.OrtBench: {steps} timed steps after {warmed} warm-up steps");
return 0;

static (byte[], ModelDescription) Export<TModel>(TModel model) where TModel : IModel, IDynamicSource<TModel>
{
    model.Training = false;
    return (OnnxExport.ToBytes(model, TModel.CreateShell()), model.Description);
}

static int Fail(string message)
{
    Console.Error.WriteLine($"Dl.OrtBench: {message}; usage: --workload W --batch B [--threads T] [--seed S]");
    return 2;
}
