// Stress helpers for the loaders and the atomic checkpoint save (tools/kill-save.sh drives them):
//   save-loop PATH           saves a ~4 MB checkpoint to PATH over and over (values change each time) until killed
//   check PATH               loads PATH into the same model (exit 0 = loads and is one of the saved states, 1 = torn)
//   save-once PATH           one save (runs the stale-temp cleanup), then prints the temp files of PATH left in its folder
//   idx-time DIR [ROUNDS]    times Dataset.LoadFashionMnist(DIR, train: true), best and median of ROUNDS (default 7)
using System.Diagnostics;
using System.Globalization;
using Dl;
using Dl.Checkpoints;
using Dl.Data;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length < 2) return Usage();
switch (args[0])
{
    case "save-loop":
    {
        // One line per process start: the state the previous (killed) process left, then the temp files after this
        // process's first save (which removes stale ones).
        Console.WriteLine($"start {Check(args[1])} temps-before {TempFiles(args[1])}");
        var values = new float[Model.Description.ParameterCount];
        for (int round = 0; ; round++)
        {
            // Every value of a save is the round number: a torn file would mix rounds (or fail to load).
            Array.Fill(values, round);
            Safetensors.Save(args[1], Model.Description, values);
            if (round == 0) Console.WriteLine($"first-save temps-after {TempFiles(args[1])}");
        }
    }
    case "check":
    {
        string result = Check(args[1]);
        Console.WriteLine(result);
        return result.StartsWith("torn", StringComparison.Ordinal) ? 1 : 0;
    }
    case "save-once":
    {
        var values = new float[Model.Description.ParameterCount];
        Safetensors.Save(args[1], Model.Description, values);
        Console.WriteLine($"temp files left {TempFiles(args[1])}");
        return 0;
    }
    case "idx-time":
    {
        int rounds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 7;
        // Wall time and CPU time (the process's: less disturbed by other programs on a busy machine).
        var times = new List<double>();
        var cpu = new List<double>();
        using var self = Process.GetCurrentProcess();
        for (int i = 0; i < rounds; i++)
        {
            self.Refresh();
            TimeSpan cpuStart = self.TotalProcessorTime;
            long start = Stopwatch.GetTimestamp();
            Dataset d = Dataset.LoadFashionMnist(args[1], train: true);
            times.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            self.Refresh();
            cpu.Add((self.TotalProcessorTime - cpuStart).TotalMilliseconds);
            if (d.Count != 60_000) throw new InvalidOperationException($"expected 60000 samples, got {d.Count}");
        }
        times.Sort();
        cpu.Sort();
        Console.WriteLine($"LoadFashionMnist(train): wall best {times[0]:0.0} ms, median {times[times.Count / 2]:0.0} ms; " +
                          $"CPU best {cpu[0]:0.0} ms, median {cpu[cpu.Count / 2]:0.0} ms over {rounds} rounds");
        return 0;
    }
    default:
        return Usage();
}

// "ok" (loads, one save's values), "missing", or "torn: why".
static string Check(string path)
{
    if (!File.Exists(path)) return "missing";
    var values = new float[Model.Description.ParameterCount];
    try
    {
        Safetensors.Load(path, Model.Description, values);
    }
    catch (InvalidDataException e)
    {
        return $"torn: {e.Message}";
    }
    return values.Any(v => v != values[0]) ? "torn: the values mix two saves" : "ok";
}

static int TempFiles(string path)
{
    string full = Path.GetFullPath(path);
    return Directory.EnumerateFiles(Path.GetDirectoryName(full)!, "." + Path.GetFileName(full) + ".*.tmp").Count();
}

static int Usage()
{
    Console.Error.WriteLine("usage: Dl.LoaderStress save-loop|check|save-once PATH | idx-time DIR [ROUNDS]");
    return 2;
}

/// <summary>A 1M-float (4 MB) model description: two tensors, no code.</summary>
internal static class Model
{
    public static readonly ModelDescription Description = new()
    {
        Name = "StressModel",
        Parameters =
        [
            new ParameterInfo("w", [1024, 1000], 0, Init.Default, 0, 1000, 1024),
            new ParameterInfo("b", [48576], 1_024_000, Init.Default, 0, 1, 1),
        ],
        Inputs = [new InputInfo("x", [1000])],
        OutputShape = [1024],
        Layers = [],
    };
}
