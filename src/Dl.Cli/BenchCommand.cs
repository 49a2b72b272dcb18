using System.CommandLine;
using System.Diagnostics;
using Dl.Checkpoints;

namespace Dl.Cli;

/// <summary>
/// <c>dl bench</c>: times one step of a workload on one fixed batch (standard-normal inputs; uniform integer labels or
/// standard-normal float targets). A train step is forward + loss + backward + plain SGD (lr 0.01, no momentum); an
/// infer step is the forward pass. Each timed step is measured with <see cref="Stopwatch"/>; the report gives the
/// median, 10th and 90th percentile in µs and the bytes allocated per step on the calling thread
/// (Δ <see cref="GC.GetAllocatedBytesForCurrentThread"/> over the timed steps / steps).
/// </summary>
public static class BenchCommand
{
    /// <summary>Aimed-at length of the timed loop when --iters is not given.</summary>
    public const double TargetSeconds = 2.0;
    /// <summary>Least warm-up time when --warmup is not given (lets tiered JIT reach its optimized code).</summary>
    public const double WarmupSeconds = 0.5;

    internal static Command Create()
    {
        var command = new Command("bench", "Times one step of a workload of WORKLOADS.md (train: forward + loss + backward + SGD lr 0.01; " +
            "infer: forward) on one fixed batch of standard-normal inputs and uniform labels (standard-normal targets), then prints one JSON line:\n" +
            "{\"workload\":..,\"batch\":..,\"threads\":..,\"engine\":..,\"mode\":..,\"median_us\":..,\"p10_us\":..,\"p90_us\":..,\"alloc_bytes_per_step\":..}")
        {
            CommandLine.Value("workload", "W", "Required: " + string.Join(", ", Workloads.All.Select(w => w.Id)) +
                " (xor_2_2_1 runs at batch 4, dgex_943_3000_9520 at batch 200)."),
            CommandLine.Value("batch", "B", "Samples per step (default: the workload's)."),
            CommandLine.Value("threads", "T", "Threads of the generated engine (default 1)."),
            CommandLine.Value("engine", "NAME", "generated (default) or dynamic."),
            CommandLine.Value("mode", "MODE", "train (default) or infer."),
            CommandLine.Value("iters", "N", $"Timed steps (default: as many as fit in {TargetSeconds} s)."),
            CommandLine.Value("warmup", "N", $"Untimed steps first (default: at least {WarmupSeconds} s)."),
            CommandLine.Value("seed", "S", "Seed of the weights and the batch (default 1)."),
            CommandLine.Value("save-weights", "PATH", "Writes the initial weights (safetensors) for benchmarks/pytorch/bench.py."),
        };
        command.SetAction(result => Run(new CommandLine("bench", result)));
        return command;
    }

    internal static int Run(CommandLine cl)
    {
        string? id = cl.String("workload")
            ?? throw new UsageException($"'bench': --workload is required; one of {string.Join(", ", Workloads.All.Select(w => w.Id))}.");
        Workloads.Workload workload = Workloads.Find(id);
        int batch = cl.Int("batch", workload.DefaultBatch, 1, 1 << 20);
        if (workload.FixedBatch != 0 && batch != workload.FixedBatch)
            throw new UsageException($"'bench': workload {id} is defined at batch {workload.FixedBatch}; got --batch {batch}.");
        int threads = cl.Int("threads", 1, 1, 256);
        string engine = cl.Choice("engine", "generated", "generated", "dynamic");
        string mode = cl.Choice("mode", "train", "train", "infer");
        int? iters = cl.Has("iters") ? cl.Int("iters", 0, 1, 100_000_000) : null;
        int? warmup = cl.Has("warmup") ? cl.Int("warmup", 0, 0, 100_000_000) : null;
        ulong seed = cl.Seed("seed", 1);

        IModel model = Workloads.Create(workload, engine, seed, batch, threads);
        if (engine == "dynamic" && threads != 1)
            Console.Error.WriteLine("dl: note: the dynamic engine runs on one thread; --threads is only reported.");
        if (cl.String("save-weights") is string path)
        {
            Safetensors.Save(path, model.Description, model.Parameters);
            Console.Error.WriteLine($"dl: wrote the initial weights of {id} (seed {seed}) to {path}");
        }

        ModelDescription d = model.Description;
        var random = DlRandom.ForStream(seed, "bench.data");
        var x = new float[batch * d.InputSize];
        random.FillNormal(x);
        Action step;
        if (mode == "infer")
        {
            var output = new float[batch * d.OutputSize];
            model.Training = false;
            step = () => model.Predict(x, output, batch);
        }
        else
        {
            var sgd = new Sgd(0.01f);
            InputInfo target = d.Target ?? throw new UsageException($"'bench': model {d.Name} has no loss to train.");
            model.Training = true;
            if (target.IsLabels)
            {
                var labels = new int[batch];
                for (int i = 0; i < batch; i++) labels[i] = random.NextInt(target.Classes);
                var trainable = (ITrainableModel<int>)model;
                step = () => trainable.TrainStep(x, labels, batch, sgd);
            }
            else
            {
                var targets = new float[batch * target.Size];
                random.FillNormal(targets);
                var trainable = (ITrainableModel<float>)model;
                step = () => trainable.TrainStep(x, targets, batch, sgd);
            }
        }

        Measurement m = Measure(step, iters, warmup);
        Console.Out.WriteLine(new JsonLine()
            .Add("workload", id).Add("batch", batch).Add("threads", threads).Add("engine", engine).Add("mode", mode)
            .Add("median_us", m.MedianUs, 2).Add("p10_us", m.P10Us, 2).Add("p90_us", m.P90Us, 2)
            .Add("alloc_bytes_per_step", m.AllocBytesPerStep, 1));
        Console.Error.WriteLine($"dl: {m.Steps} timed steps after {m.WarmupSteps} warm-up steps");
        return 0;
    }

    /// <summary>The statistics of one measurement.</summary>
    public readonly record struct Measurement(double MedianUs, double P10Us, double P90Us, double AllocBytesPerStep, int Steps, int WarmupSteps);

    /// <summary>Warms up (<paramref name="warmup"/> steps, or at least <see cref="WarmupSeconds"/> and 3 steps), then times
    /// <paramref name="iters"/> steps (or as many as fill about <see cref="TargetSeconds"/>, at least 5).</summary>
    public static Measurement Measure(Action step, int? iters, int? warmup)
    {
        long warmStart = Stopwatch.GetTimestamp();
        int warmed = 0;
        if (warmup is int w)
        {
            for (; warmed < w; warmed++) step();
        }
        else
        {
            while (warmed < 3 || Stopwatch.GetElapsedTime(warmStart).TotalSeconds < WarmupSeconds)
            {
                step();
                warmed++;
            }
        }
        double warmSeconds = Stopwatch.GetElapsedTime(warmStart).TotalSeconds;
        int steps;
        if (iters is int n) steps = n;
        else if (warmed == 0)
        {
            long t = Stopwatch.GetTimestamp();
            step();
            warmed = 1;
            steps = StepsFor(Stopwatch.GetElapsedTime(t).TotalSeconds);
        }
        else steps = StepsFor(warmSeconds / warmed);

        var ticks = new long[steps];
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        long allocBefore = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            step();
            ticks[i] = Stopwatch.GetTimestamp() - t0;
        }
        long allocated = GC.GetAllocatedBytesForCurrentThread() - allocBefore;

        Array.Sort(ticks);
        double toUs = 1e6 / Stopwatch.Frequency;
        return new Measurement(
            Percentile(ticks, 0.5) * toUs, Percentile(ticks, 0.1) * toUs, Percentile(ticks, 0.9) * toUs,
            (double)allocated / steps, steps, warmed);
    }

    private static int StepsFor(double secondsPerStep) =>
        (int)Math.Clamp(Math.Ceiling(TargetSeconds / Math.Max(secondsPerStep, 1e-7)), 5, 1_000_000);

    /// <summary>Linear interpolation between the closest ranks of the sorted <paramref name="sorted"/> at fraction <paramref name="q"/>.</summary>
    public static double Percentile(long[] sorted, double q)
    {
        double position = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(position);
        int hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - lo);
    }
}
