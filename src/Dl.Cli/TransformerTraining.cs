using System.Diagnostics;
using System.Globalization;
using Dl.Checkpoints;
using Dl.Data;
using Dl.Models;

namespace Dl.Cli;

/// <summary><c>dl train --model patch-transformer</c> (a ViT on Fashion-MNIST) and <c>--model reverse-transformer</c>
/// (an encoder-decoder transformer reversing digit sequences, evaluated by greedy step-by-step decoding). Both train with
/// AdamW, a linear warm-up followed by a cosine decay of the learning rate per step, and gradient clipping.</summary>
public static class TransformerTraining
{
    /// <summary>The learning rate at <paramref name="step"/> (0-based) of <paramref name="total"/>: a linear warm-up from
    /// peak / warmup to <paramref name="peak"/> over the first <paramref name="warmup"/> steps, then a cosine decay to 0 at
    /// the last step: peak · ½ (1 + cos(π (step − warmup) / (total − warmup))).</summary>
    public static float WarmupCosine(long step, long total, long warmup, float peak)
    {
        if (step < warmup) return peak * (step + 1) / warmup;
        double progress = total > warmup ? (double)(step - warmup) / (total - warmup) : 1;
        return (float)(peak * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(progress, 1))));
    }

    /// <summary>Options of <c>dl train</c> that the transformer recipes do not take (they always use AdamW with a warm-up
    /// and cosine schedule, on the generated engine).</summary>
    private static void Reject(CommandLine cl, string model, params string[] options)
    {
        foreach (string option in options)
            if (cl.Has(option)) throw new UsageException($"'train --model {model}': --{option} does not apply (see 'dl train --help').");
    }

    // ---- patch-transformer --------------------------------------------------------------------------------------------

    /// <summary>Trains <see cref="PatchTransformer"/>: AdamW (weight decay 0.05), batch 128, peak lr 0.002 after one warm-up
    /// epoch, cosine decay to 0 at the last epoch (18 by default), label smoothing 0.1, random shifts by 2 pixels and horizontal flips,
    /// gradient norm clipped at 1; test accuracy (evaluation mode) after every epoch.</summary>
    // Not on Trainer yet: WarmupCosine and TrainerOptions.LabelSmoothing fit this loop, but moving it needs a
    // bit-for-bit check of the runtime schedule against the one below (left for a later change).
    public static int RunPatch(CommandLine cl)
    {
        Reject(cl, "patch-transformer", "optimizer", "momentum", "lr-decay", "engine", "augment", "flip", "save-initial", "heldout",
            "minutes", "text", "temperature", "sample-length", "prime");
        int epochs = cl.Int("epochs", 18, 1, 10_000);
        int batch = cl.Int("batch", 128, 1, 65_536);
        ulong seed = cl.Seed("seed", 1);
        int threads = cl.Int("threads", 2, 1, 256);
        float lr = cl.Float("lr", 2e-3f, float.Epsilon, 1f);
        float warmupEpochs = cl.Float("warmup", 1f, 0f, epochs);
        float weightDecay = cl.Float("weight-decay", 0.05f, 0f, 10f);
        float smoothing = cl.Float("smoothing", 0.1f, 0f, 0.99f);
        float clip = cl.Float("clip", 1f, 0f, 1e6f);
        int limit = cl.Int("limit", 0, 0, int.MaxValue);
        bool augment = !cl.Flag("no-augment");
        bool json = cl.Flag("json");
        string? save = cl.String("save");
        if (cl.Has("shift") && !augment) throw new UsageException("'train': --shift applies with augmentation (drop --no-augment).");
        int shift = cl.Int("shift", 2, 1, 14);

        (Dataset train, Dataset test) = TrainCommand.LoadData(cl.String("data"));
        if (limit > 0)
        {
            train = Take(train, limit);
            test = Take(test, limit);
            Console.Error.WriteLine($"dl: --limit {limit}: {train.Count} training and {test.Count} test images");
        }
        // Random shifts (zero padding by --shift, then a random 28x28 crop: PyTorch's RandomCrop(28, padding)) and random
        // horizontal flips; labels are unchanged.
        ImageAugmentation? augmentation = augment ? new ImageAugmentation(seed).RandomShift(shift).RandomHorizontalFlip() : null;
        var loader = new DataLoader(train, batch, shuffle: true, seed: seed, augmentation: augmentation);

        var model = new PatchTransformer(new ModelOptions { Seed = seed, MaxBatch = batch, Threads = threads });
        var adamw = new AdamW(lr, weightDecay: weightDecay);
        var clipped = clip > 0 ? new Clipped(adamw, maxNorm: clip) : null;
        IOptimizer optimizer = (IOptimizer?)clipped ?? adamw;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dl: patch-transformer: {model.Description.ParameterCount:N0} parameters; {epochs} epochs of {loader.BatchesPerEpoch} batches of {batch}, " +
            $"AdamW lr {lr} (warm-up {warmupEpochs} epochs, cosine decay) weight decay {weightDecay}, label smoothing {smoothing}, " +
            $"clip {clip}, {(augment ? $"shift {shift} + flip" : "no augmentation")}, {threads} threads"));

        var targets = new float[batch * 10];
        var logits = new float[batch * 10];
        long total = (long)epochs * loader.BatchesPerEpoch, warmup = (long)Math.Round(warmupEpochs * loader.BatchesPerEpoch), step = 0;
        double elapsed = 0, best = 0;
        int bestEpoch = 0;
        double accuracy = 0;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            model.Training = true;
            double lossSum = 0, normSum = 0;
            int batches = 0;
            long start = Stopwatch.GetTimestamp();
            while (loader.NextBatch(out ReadOnlySpan<float> x, out ReadOnlySpan<int> y))
            {
                adamw.LearningRate = WarmupCosine(step++, total, warmup, lr);
                SmoothedTargets(y, 10, smoothing, targets);
                lossSum += (double)model.TrainStep(x, targets.AsSpan(0, y.Length * 10), y.Length, optimizer) * y.Length;
                if (clipped is not null) normSum += clipped.LastNorm;
                batches++;
            }
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            double trainLoss = lossSum / train.Count;
            if (!double.IsFinite(trainLoss))
                throw new ArgumentException($"training diverged in epoch {epoch} (loss {trainLoss}); try a smaller --lr.");
            long evalStart = Stopwatch.GetTimestamp();
            accuracy = TrainCommand.Evaluate(model, test, batch, logits);
            double evalSeconds = Stopwatch.GetElapsedTime(evalStart).TotalSeconds;
            elapsed += seconds;
            if (accuracy > best) (best, bestEpoch) = (accuracy, epoch);
            if (json)
            {
                Console.Out.WriteLine(new JsonLine().Add("model", "patch-transformer").Add("epoch", epoch).Add("train_loss", trainLoss, 4)
                    .Add("test_accuracy", accuracy, 4).Add("seconds", seconds, 2).Add("eval_seconds", evalSeconds, 2).Add("elapsed", elapsed, 1)
                    .Add("lr_end", adamw.LearningRate, 6).Add("grad_norm_mean", batches > 0 && clipped is not null ? normSum / batches : double.NaN, 3));
            }
            else
            {
                string norm = clipped is not null ? string.Create(CultureInfo.InvariantCulture, $"  gradient norm {normSum / Math.Max(batches, 1):0.000}") : "";
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch,3}/{epochs}  train loss {trainLoss:0.0000}  test accuracy {accuracy * 100:0.00}%  {seconds:0.0} s (+{evalSeconds:0.0} s test)  lr {adamw.LearningRate:0.000000}") + norm);
            }
        }
        string summary = string.Create(CultureInfo.InvariantCulture,
            $"patch-transformer: final test accuracy {accuracy * 100:0.00}%, best {best * 100:0.00}% (epoch {bestEpoch}); " +
            $"{elapsed:0} s of training ({elapsed / epochs:0.0} s per epoch)");
        if (json)
            Console.Out.WriteLine(new JsonLine().Add("model", "patch-transformer").Add("final_accuracy", accuracy, 4).Add("best_accuracy", best, 4)
                .Add("best_epoch", bestEpoch).Add("train_seconds", elapsed, 1));
        else Console.Out.WriteLine(summary);
        if (save is not null)
        {
            Safetensors.Save(save, model.Description, model.Parameters, model.State);
            Console.Error.WriteLine($"dl: saved the trained weights to {save}");
        }
        return 0;
    }

    /// <summary>The first <paramref name="count"/> samples of <paramref name="data"/> (all when it has fewer).</summary>
    private static Dataset Take(Dataset data, int count)
    {
        int n = Math.Min(count, data.Count);
        return new Dataset(data.X.AsSpan(0, n * data.Features).ToArray(), data.Labels.AsSpan(0, n).ToArray(), data.Classes, data.SampleShape);
    }

    /// <summary>Label smoothing: t = (1 − ε)·onehot(y) + ε / C per row (PyTorch's cross_entropy(label_smoothing = ε)).</summary>
    public static void SmoothedTargets(ReadOnlySpan<int> labels, int classes, float smoothing, Span<float> targets)
    {
        float off = smoothing / classes;
        targets[..(labels.Length * classes)].Fill(off);
        for (int i = 0; i < labels.Length; i++) targets[i * classes + labels[i]] += 1 - smoothing;
    }

    // ---- reverse-transformer ------------------------------------------------------------------------------------------

    /// <summary>Trains <see cref="ReverseTransformer"/> on freshly drawn sequences of 3–12 digits (none of them in the
    /// held-out set, which is drawn first from another seed); an epoch is --limit sequences (default 50,000). After every
    /// epoch and at the end the held-out set is decoded greedily, step by step, and scored by exact sequence and by token.</summary>
    // Not on Trainer: each epoch trains on freshly generated sequences, and the held-out metric is greedy step-by-step
    // decoding (exact-sequence and token accuracy), not an Evaluation of the loss.
    public static int RunReverse(CommandLine cl)
    {
        Reject(cl, "reverse-transformer", "optimizer", "momentum", "lr-decay", "engine", "augment", "flip", "no-augment", "shift",
            "save-initial", "smoothing", "data", "minutes", "text", "temperature", "sample-length", "prime");
        int epochs = cl.Int("epochs", 3, 1, 10_000);
        int perEpoch = cl.Int("limit", 50_000, 1, int.MaxValue);
        int batch = cl.Int("batch", 64, 1, 65_536);
        ulong seed = cl.Seed("seed", 1);
        int threads = cl.Int("threads", 1, 1, 256);
        float lr = cl.Float("lr", 1e-3f, float.Epsilon, 1f);
        float warmupEpochs = cl.Float("warmup", 0.2f, 0f, epochs);
        float weightDecay = cl.Float("weight-decay", 0.01f, 0f, 10f);
        float clip = cl.Float("clip", 1f, 0f, 1e6f);
        int heldOutCount = cl.Int("heldout", 2000, 1, 1_000_000);
        bool json = cl.Flag("json");
        string? save = cl.String("save");

        int T = ReverseTransformer.Steps;
        var task = new DigitSequences(T, minLength: 3, maxLength: T);
        // The held-out set comes from its own seed; the training stream redraws any sequence that is in it.
        List<int[]> heldOut = task.DistinctSet(heldOutCount, new DlRandom(DlRandom.Mix(seed) ^ DlRandom.Fnv1a64("heldout")));
        HashSet<ulong> excluded = DigitSequences.KeySet(heldOut);
        var random = new DlRandom(seed);

        var model = new ReverseTransformer(new ModelOptions { Seed = seed, MaxBatch = batch, Threads = threads });
        var adamw = new AdamW(lr, weightDecay: weightDecay);
        var clipped = clip > 0 ? new Clipped(adamw, maxNorm: clip) : null;
        IOptimizer optimizer = (IOptimizer?)clipped ?? adamw;
        int batchesPerEpoch = (perEpoch + batch - 1) / batch;
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dl: reverse-transformer: {model.Description.ParameterCount:N0} parameters; {epochs} epochs of {perEpoch:N0} fresh sequences of " +
            $"{task.MinLength}-{task.MaxLength} digits (batch {batch}), AdamW lr {lr} (warm-up {warmupEpochs} epochs, cosine decay) weight decay " +
            $"{weightDecay}, clip {clip}; {heldOut.Count} held-out sequences, none of which is trained on"));

        var input = new float[batch * 3 * T];
        var labels = new int[batch * T];
        long total = (long)epochs * batchesPerEpoch, warmup = (long)Math.Round(warmupEpochs * batchesPerEpoch), step = 0;
        double elapsed = 0;
        var decoder = new GreedyDecoder(model, batch);
        (double Exact, double Token) score = default;
        for (int epoch = 1; epoch <= epochs; epoch++)
        {
            model.Training = true;
            double lossSum = 0;
            long start = Stopwatch.GetTimestamp();
            for (int done = 0; done < perEpoch; done += batch)
            {
                int n = Math.Min(batch, perEpoch - done);
                for (int i = 0; i < n; i++)
                {
                    int[] digits = task.Draw(random, excluded);
                    EncodeRow(task, digits, input, n, i, labels.AsSpan(i * T, T), teacherForcing: true);
                }
                adamw.LearningRate = WarmupCosine(step++, total, warmup, lr);
                int m = n * T;   // each input's values: the rows hold all sources, then all masks, then all decoder inputs
                lossSum += (double)model.TrainStep(source: input.AsSpan(0, m), sourceMask: input.AsSpan(m, m), decoderInput: input.AsSpan(2 * m, m),
                    next: labels.AsSpan(0, m), batch: n, optimizer: optimizer) * n;
            }
            double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
            elapsed += seconds;
            double trainLoss = lossSum / perEpoch;
            if (!double.IsFinite(trainLoss))
                throw new ArgumentException($"training diverged in epoch {epoch} (loss {trainLoss}); try a smaller --lr.");
            long evalStart = Stopwatch.GetTimestamp();
            score = decoder.Score(task, heldOut);
            double evalSeconds = Stopwatch.GetElapsedTime(evalStart).TotalSeconds;
            if (json)
            {
                Console.Out.WriteLine(new JsonLine().Add("model", "reverse-transformer").Add("epoch", epoch).Add("train_loss", trainLoss, 5)
                    .Add("heldout_exact", score.Exact, 4).Add("heldout_token", score.Token, 4).Add("seconds", seconds, 2)
                    .Add("eval_seconds", evalSeconds, 2).Add("elapsed", elapsed, 1));
            }
            else
            {
                Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch,3}/{epochs}  train loss {trainLoss:0.00000}  held-out greedy: exact {score.Exact * 100:0.00}%  token {score.Token * 100:0.00}%  " +
                    $"{seconds:0.0} s (+{evalSeconds:0.0} s decoding)"));
            }
        }
        if (json)
            Console.Out.WriteLine(new JsonLine().Add("model", "reverse-transformer").Add("heldout", heldOut.Count).Add("exact", score.Exact, 4)
                .Add("token", score.Token, 4).Add("train_seconds", elapsed, 1));
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"reverse-transformer: {heldOut.Count} held-out sequences decoded step by step: exact-sequence accuracy {score.Exact * 100:0.00}%, " +
                $"token accuracy {score.Token * 100:0.00}% ({T} positions each, PAD after the end included); {elapsed:0} s of training"));
            foreach (var line in decoder.Examples(task, heldOut, 3)) Console.Out.WriteLine("  " + line);
        }
        if (save is not null)
        {
            Safetensors.Save(save, model.Description, model.Parameters, model.State);
            Console.Error.WriteLine($"dl: saved the trained weights to {save}");
        }
        return 0;
    }

    /// <summary>Writes row <paramref name="row"/> of a batch of <paramref name="rows"/> into the model's input block, where each
    /// input's rows come in turn: sources [rows, T], then masks [rows, T], then decoder inputs [rows, T]. With teacher forcing
    /// the decoder input is [BOS, y1 … y_{T-1}]; otherwise [BOS, PAD …] (greedy decoding fills it in).</summary>
    private static void EncodeRow(DigitSequences task, ReadOnlySpan<int> digits, Span<float> input, int rows, int row, Span<int> target, bool teacherForcing)
    {
        int T = task.Steps;
        Span<float> source = input.Slice(row * T, T), mask = input.Slice((rows + row) * T, T), decoderInput = input.Slice((2 * rows + row) * T, T);
        task.Encode(digits, source, mask, teacherForcing ? decoderInput : default, target);
        if (!teacherForcing)
        {
            decoderInput.Fill(DigitSequences.Pad);
            decoderInput[0] = DigitSequences.Bos;
        }
    }

    /// <summary>Greedy decoding: the decoder input starts as [BOS, PAD …]; for t = 0 … T − 1 the model runs on the whole
    /// batch, the argmax at position t is the prediction y_t and becomes decoder input t + 1. The causal self-attention
    /// makes position t depend on decoder inputs 0 … t only, so the placeholders after t never matter.</summary>
    private sealed class GreedyDecoder(ReverseTransformer model, int batch)
    {
        private readonly float[] _input = new float[batch * 3 * ReverseTransformer.Steps];
        private readonly float[] _logits = new float[batch * ReverseTransformer.Steps * ReverseTransformer.Vocabulary];
        private readonly int[] _targets = new int[batch * ReverseTransformer.Steps];
        private readonly int[] _predictions = new int[batch * ReverseTransformer.Steps];

        /// <summary>Fraction of sequences with every position right, and of positions right.</summary>
        public (double Exact, double Token) Score(DigitSequences task, List<int[]> sequences)
        {
            int T = task.Steps;
            long exact = 0, tokens = 0;
            for (int first = 0; first < sequences.Count; first += batch)
            {
                int n = Decode(task, sequences, first);
                for (int i = 0; i < n; i++)
                {
                    int right = 0;
                    for (int t = 0; t < T; t++) if (_predictions[i * T + t] == _targets[i * T + t]) right++;
                    tokens += right;
                    if (right == T) exact++;
                }
            }
            return ((double)exact / sequences.Count, (double)tokens / ((long)sequences.Count * T));
        }

        /// <summary>A few decoded examples: the source, the prediction and whether it is right.</summary>
        public IEnumerable<string> Examples(DigitSequences task, List<int[]> sequences, int count)
        {
            int n = Decode(task, sequences, 0);
            int T = task.Steps;
            for (int i = 0; i < Math.Min(count, n); i++)
            {
                string predicted = string.Concat(Enumerable.Range(0, T).Select(t => Token(_predictions[i * T + t])));
                bool right = Enumerable.Range(0, T).All(t => _predictions[i * T + t] == _targets[i * T + t]);
                yield return $"{string.Concat(sequences[i])} -> {predicted} {(right ? "(right)" : "(wrong)")}";
            }
        }

        private static string Token(int id) => id < 10 ? id.ToString(CultureInfo.InvariantCulture) : id == DigitSequences.Pad ? "_" : "^";

        private int Decode(DigitSequences task, List<int[]> sequences, int first)
        {
            int T = task.Steps, V = ReverseTransformer.Vocabulary;
            int n = Math.Min(batch, sequences.Count - first);
            bool training = model.Training;
            model.Training = false;
            for (int i = 0; i < n; i++) EncodeRow(task, sequences[first + i], _input, n, i, _targets.AsSpan(i * T, T), teacherForcing: false);
            Span<float> input = _input.AsSpan(0, n * 3 * T), logits = _logits.AsSpan(0, n * T * V);
            for (int t = 0; t < T; t++)
            {
                model.Predict(source: input[..(n * T)], sourceMask: input.Slice(n * T, n * T), decoderInput: input[(2 * n * T)..], output: logits, batch: n);
                for (int i = 0; i < n; i++)
                {
                    int y = Metrics.ArgMax(logits.Slice((i * T + t) * V, V));
                    _predictions[i * T + t] = y;
                    if (t + 1 < T) input[(2 * n + i) * T + t + 1] = y;
                }
            }
            model.Training = training;
            return n;
        }
    }
}
