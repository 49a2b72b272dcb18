using System.IO.Compression;
using System.Text;
using Dl.Data;

namespace Dl.Tests;

public class TextCorpusTests
{
    private const string Prose =
        "In the beginning God created the heaven and the earth.\n" +
        "And the earth was without form, and void; and darkness was upon the face of the deep.\n" +
        "And the Spirit of God moved upon the face of the waters.\n" +
        "And God said, Let there be light: and there was light.\n";

    // ---- Vocabulary, encode, decode ----

    [Fact]
    public void Vocabulary_IsSortedDistinctCharacters_AndEncodeDecodeRoundTrips()
    {
        var corpus = new TextCorpus("hello world\n", heldOutFraction: 0);
        Assert.Equal("\n dehlorw", corpus.Vocabulary);
        Assert.Equal(9, corpus.VocabularySize);
        Assert.Equal([4, 3, 5, 5, 6, 1, 8, 6, 7, 5, 2, 0], corpus.Tokens.ToArray());
        Assert.Equal("hello world\n", corpus.Decode(corpus.Tokens));

        int[] ids = corpus.Encode("world hello");
        Assert.Equal("world hello", corpus.Decode(ids));
        var floats = new float[11];
        corpus.Encode("world hello", floats);
        Assert.Equal(ids.Select(i => (float)i), floats);
        Assert.Equal("world hello", corpus.Decode(floats));
        Assert.Equal(4, corpus.IdOf('h'));
        Assert.Equal('h', corpus.CharOf(4));
        Assert.True(corpus.Contains('w'));
        Assert.False(corpus.Contains('x'));
        Assert.Null(corpus.Unknown);
    }

    [Fact]
    public void Prose_RoundTripsThroughTheVocabulary()
    {
        var corpus = new TextCorpus(Prose);
        Assert.Equal(Prose, corpus.Decode(corpus.Tokens));
        Assert.Equal(Prose.Distinct().Order().ToArray(), corpus.Vocabulary.ToCharArray());
    }

    [Fact]
    public void GivenVocabulary_KeepsItsOrder_AndUnknownTakesOutsideCharacters()
    {
        var corpus = new TextCorpus("abcab", vocabulary: "cba?", unknown: '?');
        Assert.Equal([2, 1, 0, 2, 1], corpus.Tokens.ToArray());
        Assert.Equal('?', corpus.Unknown);
        Assert.Equal([2, 3, 0, 3], corpus.Encode("axcé"));
        Assert.Equal("a?c?", corpus.Decode(corpus.Encode("axcé")));
        Assert.Equal(3, corpus.IdOf('z'));

        // A derived vocabulary gains the unknown character when the text lacks it.
        var derived = new TextCorpus("ba", unknown: '~');
        Assert.Equal("ab~", derived.Vocabulary);
        Assert.Equal([0, 2], derived.Encode("a!"));
    }

    [Fact]
    public void OutsideCharacter_WithoutUnknown_ThrowsNamingCharacterAndIndex()
    {
        var corpus = new TextCorpus("abc");
        var e = Assert.Throws<ArgumentException>(() => corpus.Encode("abxc"));
        Assert.Contains("'x' (U+0078) at index 2", e.Message);
        Assert.Contains("3-character vocabulary", e.Message);
        e = Assert.Throws<ArgumentException>(() => corpus.Encode("a\tb"));
        Assert.Contains("U+0009 at index 1", e.Message);
        e = Assert.Throws<ArgumentException>(() => new TextCorpus("abz", vocabulary: "abc"));
        Assert.Contains("'z'", e.Message);
        Assert.Throws<ArgumentException>(() => corpus.IdOf('q'));
    }

    [Fact]
    public void BadVocabularyOrIds_Throw()
    {
        Assert.Contains("twice", Assert.Throws<ArgumentException>(() => new TextCorpus("ab", vocabulary: "aba")).Message);
        Assert.Contains("unknown character '?'", Assert.Throws<ArgumentException>(() => new TextCorpus("ab", vocabulary: "ab", unknown: '?')).Message);
        Assert.Contains("empty", Assert.Throws<ArgumentException>(() => new TextCorpus("")).Message);
        Assert.Throws<ArgumentException>(() => new TextCorpus("ab", vocabulary: ""));

        var corpus = new TextCorpus("abc");
        Assert.Contains("Token 1 is 3", Assert.Throws<ArgumentOutOfRangeException>(() => corpus.Decode([0, 3])).Message);
        Assert.Contains("Token 0 is -1", Assert.Throws<ArgumentOutOfRangeException>(() => corpus.Decode([-1])).Message);
        Assert.Contains("whole-number", Assert.Throws<ArgumentOutOfRangeException>(() => corpus.Decode([0.5f])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.Decode([float.NaN]));
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.CharOf(3));
        Assert.Throws<ArgumentException>(() => corpus.Encode("abc", new int[2]));
    }

    // ---- Held-out split ----

    [Theory]
    [InlineData(100, 0.1, 90)]
    [InlineData(100, 0.0, 100)]
    [InlineData(100, 1.0, 0)]
    [InlineData(7, 0.25, 5)] // 1.75 rounds to 2 held-out characters
    public void HeldOut_IsTheContiguousTail(int length, double fraction, int trainLength)
    {
        string text = Text(length);
        var corpus = new TextCorpus(text, fraction);
        Assert.Equal(trainLength, corpus.TrainLength);
        Assert.Equal(length - trainLength, corpus.HeldOutLength);
        Assert.Equal(text[..trainLength], corpus.Decode(corpus.TrainTokens));
        Assert.Equal(text[trainLength..], corpus.Decode(corpus.HeldOutTokens));
    }

    [Theory]
    [InlineData(-0.1)]
    [InlineData(1.5)]
    [InlineData(double.NaN)]
    public void HeldOutFraction_OutsideUnitInterval_Throws(double fraction) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextCorpus("abc", fraction));

    // ---- Training batches ----

    [Fact]
    public void TrainingBatch_TargetsAreInputsShiftedByOne_AndStayInTrainingText()
    {
        var corpus = new TextCorpus(Prose, heldOutFraction: 0.25);
        const int B = 8, T = 16;
        float[] x = new float[B * T], y = new float[B * T];
        int[] offsets = new int[B];
        var rng = new DlRandom(3);
        ReadOnlySpan<int> tokens = corpus.Tokens;
        for (int batch = 0; batch < 50; batch++)
        {
            corpus.FillTrainingBatch(x, y, B, T, rng, offsets);
            for (int b = 0; b < B; b++)
            {
                int s = offsets[b];
                Assert.InRange(s, 0, corpus.TrainLength - T - 1);
                for (int t = 0; t < T; t++)
                {
                    Assert.Equal(tokens[s + t], x[b * T + t]);
                    Assert.Equal(tokens[s + t + 1], y[b * T + t]);
                    if (t + 1 < T) Assert.Equal(x[b * T + t + 1], y[b * T + t]);
                }
            }
        }
    }

    [Fact]
    public void TrainingBatch_OffsetsReachBothEndsOfTheTrainingText()
    {
        // 12 training characters, T = 4: the offsets are 0 … 7, the last window's last target is character 11.
        var corpus = new TextCorpus(Text(16), heldOutFraction: 0.25);
        float[] x = new float[4], y = new float[4];
        int[] offset = new int[1];
        var rng = new DlRandom(5);
        var seen = new HashSet<int>();
        for (int i = 0; i < 400; i++)
        {
            corpus.FillTrainingBatch(x, y, 1, 4, rng, offset);
            seen.Add(offset[0]);
        }
        Assert.Equal(Enumerable.Range(0, 8), seen.Order());
    }

    [Fact]
    public void TrainingBatch_SameSeed_SameBatches()
    {
        var corpus = new TextCorpus(Prose);
        float[] x1 = new float[4 * 10], y1 = new float[4 * 10], x2 = new float[4 * 10], y2 = new float[4 * 10];
        DlRandom a = new(42), b = new(42), c = new(43);
        for (int i = 0; i < 5; i++)
        {
            corpus.FillTrainingBatch(x1, y1, 4, 10, a);
            corpus.FillTrainingBatch(x2, y2, 4, 10, b);
            Assert.Equal(x1, x2);
            Assert.Equal(y1, y2);
        }
        corpus.FillTrainingBatch(x2, y2, 4, 10, c);
        corpus.FillTrainingBatch(x1, y1, 4, 10, a);
        Assert.NotEqual(x1, x2);
    }

    [Fact]
    public void TrainingBatch_BadArguments_ThrowWithClearMessages()
    {
        var corpus = new TextCorpus(Text(20), heldOutFraction: 0.5); // 10 training characters
        var rng = new DlRandom(1);
        float[] x = new float[64], y = new float[64];
        var e = Assert.Throws<InvalidOperationException>(() => corpus.FillTrainingBatch(x, y, 1, 10, rng));
        Assert.Contains("need at least 11 training characters", e.Message);
        Assert.Contains("has 10", e.Message);
        corpus.FillTrainingBatch(x, y, 1, 9, rng); // the longest window that fits
        Assert.Contains("needs 40", Assert.Throws<ArgumentException>(() => corpus.FillTrainingBatch(x, new float[39], 8, 5, rng)).Message);
        Assert.Contains("inputs holds 3", Assert.Throws<ArgumentException>(() => corpus.FillTrainingBatch(new float[3], y, 2, 2, rng)).Message);
        Assert.Contains("offsets holds 1", Assert.Throws<ArgumentException>(() => corpus.FillTrainingBatch(x, y, 2, 2, rng, new int[1])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.FillTrainingBatch(x, y, 0, 2, rng));
        Assert.Throws<ArgumentOutOfRangeException>(() => corpus.FillTrainingBatch(x, y, 2, 0, rng));
        Assert.Throws<ArgumentNullException>(() => corpus.FillTrainingBatch(x, y, 2, 2, null!));
    }

    // ---- Held-out evaluation ----

    [Theory]
    [InlineData(1000, 0.1, 4, 7)]   // 100 predictions: 4 streams of 25, windows 7, 7, 7, 4
    [InlineData(1000, 0.103, 4, 5)] // 103: 4 × 25 and a tail of 3 continuing stream 3
    [InlineData(1000, 0.1, 3, 10)]  // 100: 3 × 33 and a tail of 1
    [InlineData(1000, 0.1, 1, 100)] // one window holds everything
    [InlineData(1000, 0.1, 64, 8)]  // 64 × 1 and a tail of 36
    [InlineData(50, 0.1, 8, 3)]     // 5 predictions, fewer than B: 5 streams of 1
    [InlineData(30, 1.0, 4, 3)]     // nothing for training: the first character has no context, 29 predictions
    public void HeldOutIterator_PredictsEveryHeldOutCharacterOnce(int length, double fraction, int batchSize, int sequenceLength)
    {
        var corpus = new TextCorpus(Text(length), fraction);
        var pass = corpus.IterateHeldOut(batchSize, sequenceLength);
        int first = Math.Max(corpus.TrainLength, 1);
        int n = corpus.Length - first;
        Assert.Equal(n, pass.Predictions);
        Assert.Equal(Math.Min(batchSize, n), pass.Rows);

        var covered = new int[n];
        var nextPosition = new int[pass.Rows];
        float[] x = new float[batchSize * sequenceLength], y = new float[batchSize * sequenceLength];
        int windows = 0, total = 0;
        while (pass.Next(x, y, out HeldOutWindow w))
        {
            windows++;
            total += w.Count;
            Assert.InRange(w.Length, 1, sequenceLength);
            Assert.True(w.FirstRow == 0 || (w.Rows == 1 && w.FirstRow == pass.Rows - 1), $"window {w}");
            for (int i = 0; i < w.Rows; i++)
            {
                int r = w.FirstRow + i;
                Assert.Equal(nextPosition[r], w.Position); // streams are read in order, without gaps
                nextPosition[r] += w.Length;
                for (int t = 0; t < w.Length; t++)
                {
                    int p = r * pass.RowLength + w.Position + t;
                    covered[p]++;
                    Assert.Equal(corpus.Tokens[first + p], y[i * w.Length + t]);
                    Assert.Equal(corpus.Tokens[first + p - 1], x[i * w.Length + t]);
                }
            }
        }
        Assert.All(covered, c => Assert.Equal(1, c));
        Assert.Equal(n, total);
        Assert.Equal(pass.WindowCount, windows);
        Assert.False(pass.Next(x, y, out var after));
        Assert.Equal(default, after);

        // The first held-out character is predicted from the last training character.
        if (corpus.TrainLength > 0)
        {
            pass.Reset();
            Assert.True(pass.Next(x, y, out _));
            Assert.Equal(corpus.TrainTokens[^1], x[0]);
            Assert.Equal(corpus.HeldOutTokens[0], y[0]);
        }
    }

    [Fact]
    public void HeldOutIterator_FullWindowsOnly_GivesFixedShapes()
    {
        var corpus = new TextCorpus(Text(1000), 0.103); // 103 predictions, 4 streams of 25
        var pass = corpus.IterateHeldOut(4, 7, fullWindowsOnly: true);
        Assert.Equal(4 * 21, pass.Predictions);
        float[] x = new float[28], y = new float[28];
        int windows = 0;
        while (pass.Next(x, y, out var w))
        {
            Assert.Equal((4, 7, 0, 7 * windows), (w.Rows, w.Length, w.FirstRow, w.Position));
            windows++;
        }
        Assert.Equal(3, windows);
        Assert.Equal(3, pass.WindowCount);
    }

    [Fact]
    public void HeldOutIterator_NothingHeldOut_HasNoWindows()
    {
        var pass = new TextCorpus(Prose, 0).IterateHeldOut(4, 8);
        Assert.Equal(0, pass.Predictions);
        Assert.False(pass.Next(new float[32], new float[32], out _));
        Assert.Contains("needs 32", Assert.Throws<ArgumentException>(() => pass.Next(new float[31], new float[32], out _)).Message);
    }

    [Fact]
    public void Batches_AllocateNothing()
    {
        var corpus = new TextCorpus(Text(5000), 0.2);
        float[] x = new float[16 * 32], y = new float[16 * 32];
        int[] offsets = new int[16];
        var rng = new DlRandom(9);
        Assert.Equal(0, Allocation.PerCall(() => corpus.FillTrainingBatch(x, y, 16, 32, rng, offsets)));
        var pass = corpus.IterateHeldOut(16, 32);
        Assert.Equal(0, Allocation.PerCall(() =>
        {
            if (!pass.Next(x, y, out _)) pass.Reset();
        }, calls: 50));
    }

    [Fact]
    public void BitsPerCharacter_IsNatsOverLn2()
    {
        Assert.Equal(1.0, TextCorpus.BitsPerCharacter(Math.Log(2)), 12);
        Assert.Equal(1.4426950408889634, TextCorpus.BitsPerCharacter(1.0), 12);
        Assert.Equal(0.0, TextCorpus.BitsPerCharacter(0.0));
    }

    // ---- Loading and cleaning ----

    [Fact]
    public void Load_ReadsUtf8_NormalizesNewlines_AndCleans()
    {
        string dir = Directory.CreateTempSubdirectory("dl-text-").FullName;
        try
        {
            string path = Path.Combine(dir, "t.txt");
            File.WriteAllText(path, "Caf\u00e9 one\r\ntwo\rthree\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));
            var corpus = TextCorpus.Load(path, heldOutFraction: 0);
            Assert.Equal("Caf\u00e9 one\ntwo\nthree\n", corpus.Decode(corpus.Tokens));

            var upper = TextCorpus.Load(path, heldOutFraction: 0, clean: s => s.ToUpperInvariant());
            Assert.Equal("CAF\u00c9 ONE\nTWO\nTHREE\n", upper.Decode(upper.Tokens));

            string gz = Path.Combine(dir, "t.txt.gz");
            using (var file = File.Create(gz))
            using (var zip = new GZipStream(file, CompressionLevel.Fastest))
                zip.Write(Encoding.UTF8.GetBytes(Prose));
            Assert.Equal(Prose, TextCorpus.ReadText(gz));

            string bad = Path.Combine(dir, "bad.txt");
            File.WriteAllBytes(bad, [0x61, 0xff, 0x62]);
            var e = Assert.Throws<InvalidDataException>(() => TextCorpus.ReadText(bad));
            Assert.Contains(bad, e.Message);
            Assert.Contains("UTF-8", e.Message);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Load_MissingFile_NamesThePathAndThePackage()
    {
        string path = Path.Combine(Path.GetTempPath(), "dl-no-such-corpus-" + Guid.NewGuid() + ".txt");
        var e = Assert.Throws<FileNotFoundException>(() => TextCorpus.Load(path));
        Assert.Contains(path, e.Message);
        e = Assert.Throws<FileNotFoundException>(() => TextCorpus.Load(path, aptPackage: "jargon-text"));
        Assert.Contains("apt-get install -y jargon-text", e.Message);
        e = Assert.Throws<FileNotFoundException>(() => TextCorpus.LoadKjv(path));
        Assert.Contains(path, e.Message);
        Assert.Contains("apt-get install -y bible-kjv bible-kjv-text", e.Message);
        Assert.Contains(TextCorpus.KjvDumpCommand, e.Message);
    }

    [Fact]
    public void CleanKjvDump_DropsVerseReferencesAndExtraSpaces()
    {
        const string dump =
            "Ge1:1 In the beginning God created the heaven and the earth.\n" +
            "Josh8:9 Joshua therefore sent them forth:  and they went to lie in ambush. \n" +
            "1Cor13:4 Charity suffereth long, and is kind;\n" +
            "Rev22:21 The grace of our Lord Jesus Christ be with you all. Amen.\n";
        Assert.Equal(
            "In the beginning God created the heaven and the earth.\n" +
            "Joshua therefore sent them forth: and they went to lie in ambush.\n" +
            "Charity suffereth long, and is kind;\n" +
            "The grace of our Lord Jesus Christ be with you all. Amen.\n",
            TextCorpus.CleanKjvDump(dump));
    }

    [Fact]
    public void RealKjv_WhenDumped_LoadsAsCleanProse()
    {
        // Optional: runs only where the KJV has been dumped (see TextCorpus.KjvDumpCommand), e.g. by
        // `apt-get install -y bible-kjv bible-kjv-text && mkdir -p /tmp/dl-data && bible -f gen1:1-rev22:21 </dev/null > /tmp/dl-data/kjv.txt`.
        // xunit 2 has no dynamic skip, so an absent file simply returns.
        string path = Environment.GetEnvironmentVariable("DL_KJV_PATH") ?? "/tmp/dl-data/kjv.txt";
        if (!File.Exists(path)) return;

        var corpus = TextCorpus.LoadKjv(path);
        Assert.InRange(corpus.Length, 4_000_000, 4_300_000);  // 4,137,847 with bible-kjv 4.38
        Assert.Equal(63, corpus.VocabularySize);
        Assert.StartsWith("\n !'(),-.:;?AB", corpus.Vocabulary);
        Assert.StartsWith("In the beginning God created the heaven and the earth.\nAnd the earth", corpus.Decode(corpus.Tokens[..80]));
        Assert.EndsWith("be with you all. Amen.\n", corpus.Decode(corpus.HeldOutTokens[^40..]));
        Assert.DoesNotContain("Ge1:", corpus.Decode(corpus.Tokens[..200]));
    }

    /// <summary>A deterministic text of <paramref name="length"/> characters over a 26-letter alphabet.</summary>
    private static string Text(int length)
    {
        var chars = new char[length];
        for (int i = 0; i < length; i++) chars[i] = (char)('a' + (i * 7 + i / 26) % 26);
        return new string(chars);
    }

    /// <summary>Sampling.SampleWithTemperature, nested so that the TextCorpus test filter runs it too.</summary>
    public class SamplingTests
    {
        private static double[] SoftmaxReference(float[] logits, double temperature)
        {
            double max = logits.Max();
            double[] e = logits.Select(x => Math.Exp((x - max) / temperature)).ToArray();
            double sum = e.Sum();
            return e.Select(v => v / sum).ToArray();
        }

        [Theory]
        [InlineData(1.0f)]
        [InlineData(0.5f)]
        [InlineData(2.0f)]
        public void Frequencies_MatchSoftmaxOfScaledLogits(float temperature)
        {
            float[] logits = [1.5f, -0.3f, 0.8f, 2.1f, float.NegativeInfinity, 0f];
            double[] p = SoftmaxReference(logits, temperature);
            const int Draws = 200_000;
            var counts = new int[logits.Length];
            var rng = new DlRandom(11);
            for (int i = 0; i < Draws; i++) counts[Sampling.SampleWithTemperature(logits, temperature, rng)]++;
            Assert.Equal(0, counts[4]); // −∞ is masked
            for (int k = 0; k < logits.Length; k++)
            {
                // Five standard deviations of a binomial proportion: a false failure is a one-in-a-million event.
                double sigma = Math.Sqrt(p[k] * (1 - p[k]) / Draws);
                Assert.InRange((double)counts[k] / Draws, p[k] - 5 * sigma - 1e-9, p[k] + 5 * sigma + 1e-9);
            }

            var probabilities = new float[logits.Length];
            Sampling.Softmax(logits, temperature, probabilities);
            for (int k = 0; k < logits.Length; k++) Assert.Equal(p[k], probabilities[k], 6);
        }

        [Fact]
        public void SameSeed_SameDraws()
        {
            float[] logits = [0.1f, 0.2f, 0.3f, 0.4f];
            DlRandom a = new(7), b = new(7);
            for (int i = 0; i < 100; i++)
                Assert.Equal(Sampling.SampleWithTemperature(logits, 1f, a), Sampling.SampleWithTemperature(logits, 1f, b));
        }

        [Theory]
        [InlineData(0f)]
        [InlineData(1e-6f)]
        [InlineData(1e-9f)]
        public void ZeroTemperature_IsArgMax_LowestIndexOnTies(float temperature)
        {
            var rng = new DlRandom(1);
            ulong before = new DlRandom(1).NextUInt64();
            Assert.Equal(3, Sampling.SampleWithTemperature([0f, 1f, -2f, 5f, 4.9f], temperature, rng));
            Assert.Equal(1, Sampling.SampleWithTemperature([0f, 5f, -2f, 5f], temperature, rng));
            Assert.Equal(before, rng.NextUInt64()); // the argmax draws nothing
            Assert.Equal(1, Sampling.ArgMax([0f, 5f, 5f]));
            var probabilities = new float[3];
            Sampling.Softmax([0f, 5f, 5f], temperature, probabilities);
            Assert.Equal([0f, 1f, 0f], probabilities);
        }

        [Fact]
        public void TinyPositiveTemperature_AboveThreshold_StillPicksTheMaximum()
        {
            // τ = 1e-5: exp(−0.1 / 1e-5) underflows to 0, so only the maximum has mass; nothing overflows.
            var rng = new DlRandom(2);
            for (int i = 0; i < 100; i++) Assert.Equal(2, Sampling.SampleWithTemperature([0f, 1f, 1.1f], 1e-5f, rng));
        }

        [Fact]
        public void BadInputs_ThrowWithClearMessages()
        {
            var rng = new DlRandom(1);
            var e = Assert.Throws<ArgumentException>(() => Sampling.SampleWithTemperature([0f, float.NaN, 1f], 1f, rng));
            Assert.Contains("Logit 1 of 3 is NaN", e.Message);
            e = Assert.Throws<ArgumentException>(() => Sampling.SampleWithTemperature([float.PositiveInfinity], 0f, rng));
            Assert.Contains("Logit 0 of 1", e.Message);
            Assert.Contains("no logits", Assert.Throws<ArgumentException>(() => Sampling.SampleWithTemperature([], 1f, rng)).Message);
            Assert.Contains("All 2 logits are -∞",
                Assert.Throws<ArgumentException>(() => Sampling.SampleWithTemperature([float.NegativeInfinity, float.NegativeInfinity], 1f, rng)).Message);
            foreach (float t in new[] { -1f, -1e-7f, float.NaN, float.PositiveInfinity })
            {
                var te = Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.SampleWithTemperature([0f, 1f], t, rng));
                Assert.Contains("temperature", te.Message);
            }
            Assert.Throws<ArgumentNullException>(() => Sampling.SampleWithTemperature([0f], 1f, null!));
            Assert.Throws<ArgumentException>(() => Sampling.Softmax([0f, 1f], 1f, new float[1]));
        }

        [Fact]
        public void Sampling_AllocatesNothing()
        {
            float[] logits = [0.5f, 1f, -1f, 2f, 0f];
            var rng = new DlRandom(4);
            Assert.Equal(0, Allocation.PerCall(() => Sampling.SampleWithTemperature(logits, 0.8f, rng)));
        }
    }
}
