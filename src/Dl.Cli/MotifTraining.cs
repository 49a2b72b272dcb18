using System.Diagnostics;
using System.Globalization;
using Dl.Models;

namespace Dl.Cli;

/// <summary><c>dl train --model attn-s64</c>: the <c>attn_s64_d64_h4</c> workload's model (<see cref="AttnS64"/>) trained on a
/// synthetic task (the workload has no dataset of its own): each sample is 64 positions of 64 standard-normal features in which
/// <see cref="MotifCopies"/> positions are replaced by the sample's class motif, one of 10 fixed random ±1 vectors; the
/// label is that class. Averaged over the positions the motif is a small shift of the mean (2/64 per feature), inside the
/// noise of the mean (1/8 per feature), so averaging first would blur it; read position by position (attention, the
/// per-position feed-forward block) it is unmistakable (a ±1 pattern of 64 features).
/// Fresh samples every step; accuracy on 10,000 held-out samples drawn from another seed.</summary>
public static class MotifTraining
{
    /// <summary>Positions per sample that carry the class motif.</summary>
    public const int MotifCopies = 2;
    private const int Steps = 64, Features = 64, Classes = 10;

    // Not on Trainer: every step draws fresh synthetic samples (there is no dataset for a DataLoader to walk).
    public static int Run(CommandLine cl)
    {
        foreach (string option in new[] { "optimizer", "momentum", "lr-decay", "engine", "augment", "flip", "data", "save-initial", "smoothing",
            "minutes", "text", "temperature", "sample-length", "prime", "shift", "no-augment", "limit", "warmup", "weight-decay" })
            if (cl.Has(option)) throw new UsageException($"'train --model attn-s64': --{option} does not apply (see 'dl train --help').");
        int epochs = cl.Int("epochs", 5, 1, 10_000);
        int batch = cl.Int("batch", 32, 1, 65_536);
        ulong seed = cl.Seed("seed", 1);
        int threads = cl.Int("threads", 1, 1, 256);
        float lr = cl.Float("lr", 1e-3f, float.Epsilon, 1f);
        int heldOutCount = cl.Int("heldout", 10_000, 1, 1_000_000);
        bool json = cl.Flag("json");
        const int StepsPerEpoch = 200;

        var motifs = new float[Classes * Features];
        var motifRandom = new DlRandom(DlRandom.Mix(seed) ^ DlRandom.Fnv1a64("motifs"));
        for (int i = 0; i < motifs.Length; i++) motifs[i] = motifRandom.NextInt(2) == 0 ? -1f : 1f;

        var model = new AttnS64(new ModelOptions { Seed = seed, MaxBatch = batch, Threads = threads });
        var optimizer = new Adam(lr);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dl: attn-s64: {model.Description.ParameterCount:N0} parameters; {epochs} epochs of {StepsPerEpoch} steps of {batch} fresh samples " +
            $"(64 x 64 noise, the class motif at {MotifCopies} positions), Adam lr {lr}; {heldOutCount:N0} held-out samples"));

        var x = new float[batch * Steps * Features];
        var y = new int[batch];
        var logits = new float[batch * Classes];
        var train = new DlRandom(seed);
        double elapsed = 0;
        double accuracy = 0;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            model.Training = true;
            double lossSum = 0;
            long start = Stopwatch.GetTimestamp();
            for (int step = 0; step < StepsPerEpoch; step++)
            {
                Fill(x, y, batch, motifs, train);
                lossSum += model.TrainStep(x, y, batch, optimizer);
            }
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            elapsed += seconds;
            accuracy = HeldOut(model, motifs, heldOutCount, batch, seed, x, y, logits);
            double loss = lossSum / StepsPerEpoch;
            if (!double.IsFinite(loss)) throw new ArgumentException($"training diverged in epoch {epoch} (loss {loss}); try a smaller --lr.");
            Console.Out.WriteLine(json
                ? new JsonLine().Add("model", "attn-s64").Add("epoch", epoch).Add("train_loss", loss, 5).Add("heldout_accuracy", accuracy, 4)
                    .Add("seconds", seconds, 2).ToString()
                : string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch,3}/{epochs}  train loss {loss:0.00000}  held-out accuracy {accuracy * 100:0.00}%  {seconds:0.0} s"));
        }
        if (!json)
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"attn-s64: held-out accuracy {accuracy * 100:0.00}% on {heldOutCount:N0} samples after {epochs * StepsPerEpoch} steps ({elapsed:0.0} s)"));
        return 0;
    }

    /// <summary>Accuracy on <paramref name="count"/> samples drawn from the held-out stream (the same every epoch).</summary>
    private static double HeldOut(AttnS64 model, float[] motifs, int count, int batch, ulong seed, float[] x, int[] y, float[] logits)
    {
        var random = new DlRandom(DlRandom.Mix(seed) ^ DlRandom.Fnv1a64("heldout"));
        model.Training = false;
        int right = 0;
        for (int done = 0; done < count; done += batch)
        {
            int n = Math.Min(batch, count - done);
            Fill(x, y, n, motifs, random);
            model.Predict(x.AsSpan(0, n * Steps * Features), logits.AsSpan(0, n * Classes), n);
            for (int i = 0; i < n; i++) if (Metrics.ArgMax(logits.AsSpan(i * Classes, Classes)) == y[i]) right++;
        }
        model.Training = true;
        return (double)right / count;
    }

    /// <summary>Samples: standard-normal [64, 64] with the class motif written over <see cref="MotifCopies"/> distinct positions.</summary>
    private static void Fill(float[] x, int[] y, int n, float[] motifs, DlRandom random)
    {
        random.FillNormal(x.AsSpan(0, n * Steps * Features));
        for (int s = 0; s < n; s++)
        {
            int c = y[s] = random.NextInt(Classes);
            int first = random.NextInt(Steps), second = (first + 1 + random.NextInt(Steps - 1)) % Steps;
            motifs.AsSpan(c * Features, Features).CopyTo(x.AsSpan((s * Steps + first) * Features, Features));
            motifs.AsSpan(c * Features, Features).CopyTo(x.AsSpan((s * Steps + second) * Features, Features));
        }
    }
}
