using System.Diagnostics;
using System.Globalization;
using Dl.Checkpoints;
using Dl.Data;
using Dl.Models;

namespace Dl.Cli;

/// <summary><c>dl train --model char-lstm</c>: trains <see cref="CharLstm"/> on the King James Version (Debian's bible-kjv),
/// reports the training loss in bits per character as it goes, the held-out bits per character at the end, and samples
/// text with a temperature.</summary>
public static class CharTraining
{
    /// <summary>Where the dumped text is cached when --text is not given.</summary>
    public static string DefaultTextPath =>
        Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } cache ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "dl", "kjv.txt");

    // Not on Trainer: the run is bounded by minutes, not epochs, the rate is halved at fractions of that time, and the
    // metric is held-out bits per character over windows of a text corpus.
    public static int Run(CommandLine cl)
    {
        double minutes = cl.Float("minutes", 10f, 0.01f, 10_000f);
        int batch = cl.Int("batch", 32, 1, 4096);
        ulong seed = cl.Seed("seed", 1);
        int threads = cl.Int("threads", 1, 1, 256);
        float lr = cl.Float("lr", 0.002f, float.Epsilon);
        float clip = cl.Float("clip", 5f, 0f, 1e6f);
        float temperature = cl.Float("temperature", 0.7f, 0f, 100f);
        int sampleLength = cl.Int("sample-length", 400, 0, 100_000);
        string prime = cl.String("prime") ?? "And God said";
        string? save = cl.String("save");
        bool json = cl.Flag("json");

        string path = cl.String("text") ?? EnsureKjv(DefaultTextPath);
        TextCorpus corpus = TextCorpus.LoadKjv(path);
        if (corpus.VocabularySize != CharLstm.Vocabulary)
            throw new UsageException($"'train': the text at {path} has {corpus.VocabularySize} distinct characters after cleaning; CharLstm is " +
                $"compiled for the KJV's {CharLstm.Vocabulary}. Use the text bible-kjv produces (delete the file to dump it again).");
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"dl: {path}: {corpus.Length:N0} characters ({corpus.TrainLength:N0} training, {corpus.HeldOutLength:N0} held out), {corpus.VocabularySize} distinct"));

        var model = new CharLstm(new ModelOptions { Seed = seed, MaxBatch = batch, Threads = threads });
        var adam = new Adam(lr);
        var optimizer = new Clipped(adam, maxNorm: clip > 0 ? clip : float.MaxValue);
        int T = CharLstm.Steps;
        var tokens = new float[batch * T];
        var next = new float[batch * T];
        var labels = new int[batch * T];
        var random = new DlRandom(seed);

        // Training: random windows; the learning rate halves at 60 % and 85 % of the time budget.
        var timer = Stopwatch.StartNew();
        double budget = minutes * 60, lastReport = 0, lossSum = 0, normSum = 0;
        long steps = 0, windowSteps = 0;
        while (timer.Elapsed.TotalSeconds < budget)
        {
            double done = timer.Elapsed.TotalSeconds / budget;
            adam.LearningRate = lr * (done < 0.6 ? 1f : done < 0.85 ? 0.5f : 0.25f);
            corpus.FillTrainingBatch(tokens, next, batch, T, random);
            for (int i = 0; i < labels.Length; i++) labels[i] = (int)next[i];
            lossSum += model.TrainStep(tokens, labels, batch, optimizer);
            normSum += optimizer.LastNorm;
            steps++; windowSteps++;
            double now = timer.Elapsed.TotalSeconds;
            if (now - lastReport >= 30 || now >= budget)
            {
                double bpc = TextCorpus.BitsPerCharacter(lossSum / windowSteps);
                double chars = (double)steps * batch * T;
                if (json)
                    Console.Out.WriteLine(new JsonLine().Add("model", "char-lstm").Add("seconds", now, 1).Add("steps", steps)
                        .Add("characters", (long)chars).Add("train_bpc", bpc, 4).Add("grad_norm_mean", normSum / windowSteps, 4));
                else
                    Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{now,7:0} s  step {steps,7}  {chars / 1e6,7:0.0} M characters ({chars / corpus.TrainLength:0.00} passes)  train {bpc:0.000} bits/char  gradient norm {normSum / windowSteps:0.00}"));
                lastReport = now; lossSum = 0; normSum = 0; windowSteps = 0;
            }
        }
        double trained = timer.Elapsed.TotalSeconds;
        double heldOut = BitsPerCharacter(model, corpus.Tokens, corpus.TrainLength, corpus.HeldOutLength, batch);
        // The same measurement on as many training characters, just before the held-out part: the gap between the two is
        // what the model has not learned to generalize (the held-out part is the end of the New Testament).
        double seen = BitsPerCharacter(model, corpus.Tokens, corpus.TrainLength - corpus.HeldOutLength, corpus.HeldOutLength, batch);
        string sample = Sample(model, corpus, prime, sampleLength, temperature, new DlRandom(seed + 1));
        if (json)
        {
            Console.Out.WriteLine(new JsonLine().Add("model", "char-lstm").Add("train_seconds", trained, 1).Add("steps", steps)
                .Add("heldout_bpc", heldOut, 4).Add("train_text_bpc", seen, 4).Add("temperature", temperature, 2).Add("sample", sample));
        }
        else
        {
            Console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"held-out: {heldOut:0.000} bits per character after {trained:0} s of training ({steps} steps of {batch} x {T} characters); " +
                $"the same measurement on the {corpus.HeldOutLength:N0} training characters before it: {seen:0.000}"));
            Console.Out.WriteLine($"sample (temperature {temperature.ToString(CultureInfo.InvariantCulture)}, primed with \"{prime}\"):");
            Console.Out.WriteLine(sample);
        }
        if (save is not null)
        {
            Safetensors.Save(save, model.Description, model.Parameters, model.State);
            Console.Error.WriteLine($"dl: saved the trained weights to {save}");
        }
        return 0;
    }

    /// <summary>The dumped and cached KJV text: runs Debian's <c>bible</c> once when the file is missing.</summary>
    public static string EnsureKjv(string path)
    {
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var psi = new ProcessStartInfo("bible", ["-f", "gen1:1-rev22:21"]) { RedirectStandardOutput = true, RedirectStandardInput = true, RedirectStandardError = true };
        Process process;
        try { process = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception)
        {
            throw new UsageException($"'train': char-lstm trains on the King James Version from Debian's bible-kjv; install it with " +
                $"'apt-get install -y {TextCorpus.KjvAptPackages}' or pass --text FILE (a dump of '{TextCorpus.KjvDumpCommand}').");
        }
        using (process)
        {
            process.StandardInput.Close();
            string text = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0 || text.Length == 0)
                throw new UsageException($"'train': '{TextCorpus.KjvDumpCommand}' failed (exit {process.ExitCode}): {process.StandardError.ReadToEnd()}");
            string temporary = path + ".tmp";
            File.WriteAllText(temporary, text);
            File.Move(temporary, path, overwrite: true);
        }
        Console.Error.WriteLine($"dl: dumped the King James Version to {path}");
        return path;
    }

    /// <summary>Mean bits per character over <paramref name="count"/> characters of <paramref name="all"/> from
    /// <paramref name="first"/> (≥ 1: each is predicted from the characters before it). The model reads fixed windows of
    /// T characters starting from a zero state, so each window is scored only on its second half (every character but the
    /// first T/2 sees at least T/2 characters of context; the first window is scored whole): windows start every T/2.</summary>
    public static double BitsPerCharacter(CharLstm model, ReadOnlySpan<int> all, int first, int count, int batch)
    {
        if (first < 1 || count < 1 || first + count > all.Length)
            throw new ArgumentOutOfRangeException(nameof(first), $"characters {first} .. {first + count} are not inside the text of {all.Length} (the first needs one before it).");
        bool training = model.Training;
        model.Training = false;
        int T = CharLstm.Steps, V = CharLstm.Vocabulary, stride = T / 2;
        var inputs = new float[batch * T];
        var logits = new float[batch * T * V];
        double nats = 0;
        long scored = 0;
        // Window 0 covers predictions [0, T) and scores all of them; window w > 0 covers [w·stride + stride − T, w·stride + stride)
        // and scores its last stride predictions, so each prediction is scored once.
        var starts = new List<int> { 0 };
        for (int end = T + stride; end - stride < count; end += stride) starts.Add(end - T);
        for (int w0 = 0; w0 < starts.Count; w0 += batch)
        {
            int rows = Math.Min(batch, starts.Count - w0);
            for (int r = 0; r < rows; r++)
                for (int t = 0; t < T; t++)
                {
                    int p = Math.Min(starts[w0 + r] + t, count - 1);     // past the end: padding, not scored
                    inputs[r * T + t] = all[first + p - 1];
                }
            model.Predict(inputs.AsSpan(0, rows * T), logits.AsSpan(0, rows * T * V), rows);
            for (int r = 0; r < rows; r++)
            {
                int start = starts[w0 + r];
                for (int t = w0 + r == 0 ? 0 : T - stride; t < T; t++)
                {
                    int p = start + t;
                    if (p >= count) break;
                    nats += NegativeLogLikelihood(logits.AsSpan((r * T + t) * V, V), all[first + p]);
                    scored++;
                }
            }
        }
        model.Training = training;
        if (scored != count) throw new InvalidOperationException($"the evaluation scored {scored} of {count} characters.");
        return TextCorpus.BitsPerCharacter(nats / scored);
    }

    private static double NegativeLogLikelihood(ReadOnlySpan<float> logits, int target)
    {
        double max = double.NegativeInfinity;
        foreach (float v in logits) max = Math.Max(max, v);
        double sum = 0;
        foreach (float v in logits) sum += Math.Exp(v - max);
        return max + Math.Log(sum) - logits[target];
    }

    /// <summary>Generates <paramref name="length"/> characters after <paramref name="prime"/>: each step feeds the last T
    /// characters (newline-padded on the left while shorter) and samples the next from softmax(logits / temperature).</summary>
    public static string Sample(CharLstm model, TextCorpus corpus, string prime, int length, float temperature, DlRandom random)
    {
        bool training = model.Training;
        model.Training = false;
        int T = CharLstm.Steps, V = CharLstm.Vocabulary;
        var context = new List<int>();
        int pad = corpus.IdOf('\n');
        foreach (char c in prime) context.Add(corpus.IdOf(c));
        var input = new float[T];
        var logits = new float[T * V];
        var text = new System.Text.StringBuilder(prime);
        for (int i = 0; i < length; i++)
        {
            for (int t = 0; t < T; t++)
            {
                int k = context.Count - T + t;
                input[t] = k >= 0 ? context[k] : pad;
            }
            model.Predict(input, logits, 1);
            int id = Sampling.SampleWithTemperature(logits.AsSpan((T - 1) * V, V), temperature, random);
            context.Add(id);
            text.Append(corpus.CharOf(id));
        }
        model.Training = training;
        return text.ToString();
    }
}
