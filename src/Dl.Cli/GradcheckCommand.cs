using System.CommandLine;
using System.Globalization;
using Dl.Dynamic;

namespace Dl.Cli;

/// <summary>
/// <c>dl gradcheck</c>: the generated backward pass against central finite differences. The analytic gradient is the
/// generated model's <c>ComputeGradients</c> (float); the numeric one is (L(θ + h) − L(θ − h)) / (2h) with L evaluated by
/// the dynamic tape in double precision on the same weights (h is the float step actually taken), so the comparison
/// tests the generated code's math, not float rounding. Evaluation mode (no dropout masks, batch norm on its running
/// statistics) keeps L deterministic. Exit 1 when a relative error |a − n| / max(|a| + |n|, 1e-4) exceeds --tolerance. Elements at a kink (one-sided slopes
/// that differ by more than 10 %) have no derivative to check and are counted, not compared.
/// </summary>
internal static class GradcheckCommand
{
    internal static Command Create()
    {
        var command = new Command("gradcheck", "Checks a model's generated backward pass against central finite differences (in double " +
            "precision, on the dynamic tape) on a few samples (random pixels with the test set's labels), printing the worst relative error per parameter; exit 1 above --tolerance.")
        {
            CommandLine.Value("model", "MODEL", "The model (default: the one the --checkpoint names, else xor): " +
                string.Join(", ", ModelCatalog.All.Where(e => e.Samples != ModelCatalog.SampleKind.None).Select(e => e.Id)) + "."),
            CommandLine.Value("samples", "N", "Samples in the batch (default 4; xor has 4)."),
            CommandLine.Value("elements", "K", "Elements checked per parameter tensor, chosen at random (default 8)."),
            CommandLine.Value("step", "H", "The finite-difference step (default 1e-7; L is evaluated in double precision, so a small step only lowers the chance of crossing a kink such as ReLU at 0)."),
            CommandLine.Value("tolerance", "X", "Largest accepted relative error (default 1e-3)."),
            CommandLine.Value("checkpoint", "PATH", "Weights saved by 'dl train --save' (default: the initial weights of --seed)."),
            CommandLine.Value("seed", "S", "Seed of the initial weights and of the elements chosen (default 1)."),
        };
        command.SetAction(result => Run(new CommandLine("gradcheck", result)));
        return command;
    }

    private static int Run(CommandLine cl)
    {
        ModelCatalog.Entry entry = ModelCatalog.Resolve("gradcheck", cl, cl.String("checkpoint"), "xor");
        int samples = cl.Int("samples", 4, 1, 256), elements = cl.Int("elements", 8, 1, 1_000_000);
        float step = cl.Float("step", 1e-7f, 1e-9f, 1f), tolerance = cl.Float("tolerance", 1e-3f, 0f, 1f);
        ulong seed = cl.Seed("seed", 1);
        (float[] x, double[] target, int[] labels, int n) = ModelCatalog.Samples(entry, 0, samples, "gradcheck");
        if (entry.Samples != ModelCatalog.SampleKind.Xor)
        {
            // Pixels drawn uniformly from [0, 1) instead of the images: their zero background makes exact kinks (ReLU at 0,
            // max-pool ties) wherever the biases are still zero, where finite differences have nothing to agree with.
            var pixels = new Random((int)(seed % int.MaxValue) + 1);
            for (int i = 0; i < x.Length; i++) x[i] = pixels.NextSingle();
            if (entry.Samples == ModelCatalog.SampleKind.Autoencoder) target = [.. x.Select(v => (double)v)];
        }

        IModel generated = entry.Generated(new ModelOptions { Seed = seed, MaxBatch = n });
        if (cl.String("checkpoint") is { } path) ModelCatalog.Load(path, generated);
        generated.Training = false;
        if (generated is ITrainableModel<int> classifier) classifier.ComputeGradients(x, labels, n);
        else ((ITrainableModel<float>)generated).ComputeGradients(x, [.. target.Select(t => (float)t)], n);
        float[] analytic = generated.Gradients.ToArray();

        DynamicModel tape = entry.Dynamic(seed);
        generated.Parameters.CopyTo(tape.Parameters);
        generated.State.CopyTo(tape.State);
        tape.Training = false;
        double[] input = [.. x.Select(v => (double)v)];
        double center = tape.TraceValues(input, target, n).Value;
        Span<float> theta = tape.Parameters;
        var random = new Random((int)(seed % int.MaxValue));
        double worstOverall = 0;
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{entry.Id} ({generated.Description.Name}): {n} sample(s), up to {elements} element(s) per tensor, h = {step:G3}, tolerance {tolerance:G3}"));
        Console.Out.WriteLine($"{"parameter",-28} {"shape",-16} {"checked",7}  {"worst rel. error",16}  {"analytic",12}  {"numeric",12}");
        foreach (ParameterInfo p in generated.Description.Parameters)
        {
            int count = Math.Min(elements, p.Length);
            IEnumerable<int> picks = count == p.Length ? Enumerable.Range(0, p.Length) : Enumerable.Range(0, count).Select(_ => random.Next(p.Length));
            double worst = 0, worstA = 0, worstN = 0;
            int kinks = 0;
            foreach (int i in picks.Distinct())
            {
                int at = p.Offset + i;
                float original = theta[at];
                theta[at] = original + step;
                double up = tape.TraceValues(input, target, n).Value, hUp = (double)theta[at] - original;
                theta[at] = original - step;
                double down = tape.TraceValues(input, target, n).Value, hDown = (double)original - theta[at];
                theta[at] = original;
                // At a kink (ReLU at exactly 0, a max-pool tie: common with untrained zero biases on the images' zero
                // background) the one-sided slopes differ and no derivative exists to compare against: skip, count.
                double forward = (up - center) / hUp, backward = (center - down) / hDown;
                if (Math.Abs(forward - backward) > 0.1 * Math.Max(Math.Abs(forward) + Math.Abs(backward), 1e-4))
                {
                    kinks++;
                    continue;
                }
                double numeric = (up - down) / (hUp + hDown), a = analytic[at];
                double error = Math.Abs(a - numeric) / Math.Max(Math.Abs(a) + Math.Abs(numeric), 1e-4);
                if (error >= worst) (worst, worstA, worstN) = (error, a, numeric);
            }
            worstOverall = Math.Max(worstOverall, worst);
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{p.Name,-28} {p.ShapeText,-16} {count,7}  {worst,16:E2}  {worstA,12:G5}  {worstN,12:G5}{(worst > tolerance ? "  FAIL" : "")}{(kinks > 0 ? $"  ({kinks} at a kink, skipped)" : "")}"));
        }
        bool ok = worstOverall <= tolerance;
        Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"worst relative error {worstOverall:E2}: {(ok ? "ok" : $"above the tolerance {tolerance:G3}")}"));
        return ok ? 0 : 1;
    }
}
