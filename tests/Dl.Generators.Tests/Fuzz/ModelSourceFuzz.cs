using System.Text;
using Xunit.Abstractions;

namespace Dl.Tests.Fuzz;

/// <summary>The generator fuzz suite: random model sources (<see cref="ModelSourceGrammar"/>, fixed seeds) through the
/// generator in-process. Property: the generator throws nothing and reports no DL0010/CS8785; either a DL diagnostic is
/// reported, or the source with the generated code compiles, and for a sample of those the generated training step
/// (loss and gradients) equals the dynamic tape's. Every source that failed is kept in Fuzz/Corpus and replayed.
/// CI runs <see cref="DefaultCases"/> cases; DL_FUZZ_CASES=n runs n (DL_FUZZ_SEED: the first seed; DL_FUZZ_TAPE: how many
/// compiling models to compare with the tape; DL_FUZZ_SAVE=1 writes each failing source to the corpus; DL_FUZZ_REPORT=file
/// gets the counts, rewritten every 50 cases).</summary>
[Trait("Category", "Fuzz")]
public class ModelSourceFuzz(ITestOutputHelper log)
{
    private const int DefaultCases = 40, DefaultSeed = 20261207, DefaultTapeComparisons = 10;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void GeneratedModels_AreDiagnosedOrCompile_AndTrainLikeTheTape()
    {
        int cases = int.TryParse(Environment.GetEnvironmentVariable("DL_FUZZ_CASES"), out var n) ? n : DefaultCases;
        int first = int.TryParse(Environment.GetEnvironmentVariable("DL_FUZZ_SEED"), out var s) ? s : DefaultSeed;
        bool save = Environment.GetEnvironmentVariable("DL_FUZZ_SAVE") == "1";
        int tapeComparisons = int.TryParse(Environment.GetEnvironmentVariable("DL_FUZZ_TAPE"), out var c) ? c : DefaultTapeComparisons;
        string? report = Environment.GetEnvironmentVariable("DL_FUZZ_REPORT") is { Length: > 0 } r ? r : null;
        var counts = Enum.GetValues<FuzzKind>().ToDictionary(k => k, _ => 0);
        var failures = new List<string>();
        var refused = new List<string>();   // sources built valid that the generator refused: a grammar or generator slip
        long peak = 0; double slowest = 0; int compared = 0, mutated = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        for (int seed = first; seed < first + cases; seed++)
        {
            string source = ModelSourceGrammar.Generate(seed, out bool isMutated);
            if (isMutated) mutated++;
            // The tape comparison for the first valid models that compile (each emits and loads an assembly).
            bool compare = compared < tapeComparisons && !isMutated;
            var result = FuzzRunner.Run(source, Timeout, compare);
            if (compare && result.Kind is FuzzKind.Compiles or FuzzKind.Mismatch) compared++;
            counts[result.Kind]++;
            if (!isMutated && result.Kind == FuzzKind.CleanError) refused.Add($"{seed} {result.Detail}");
            peak = Math.Max(peak, result.AllocatedBytes);
            slowest = Math.Max(slowest, result.Seconds);
            if (result.IsFailure)
            {
                failures.Add($"seed {seed}: {result.Kind}: {result.Detail}");
                if (save) Corpus.Save(seed, result, source);
            }
            if (report is not null && (seed - first + 1) % 50 == 0) File.WriteAllText(report, Summary(seed - first + 1) + "\n" + string.Join("\n", failures) + "\n");
        }
        string Summary(int done) => $"{done} cases ({mutated} mutated) in {clock.Elapsed.TotalSeconds:0.0} s: "
            + string.Join(", ", counts.Select(k => $"{k.Key} {k.Value}"))
            + $"; tape comparisons {compared}; peak allocation per case {peak / (1 << 20)} MB; slowest case {slowest:0.0} s"
            + (refused.Count > 0 ? "; valid sources refused: " + string.Join(", ", refused) : "");
        string summary = Summary(cases);
        log.WriteLine(summary);
        if (report is not null) File.WriteAllText(report, summary + "\n" + string.Join("\n", failures) + "\n");
        Assert.True(failures.Count == 0, summary + "\n" + string.Join("\n", failures.Take(20)));
    }

    public static TheoryData<string> CorpusFiles() => new(Corpus.Files().Select(Path.GetFileName)!);

    /// <summary>Every source the fuzzer found failing, kept as a regression test.</summary>
    [Theory]
    [MemberData(nameof(CorpusFiles))]
    public void Corpus_Replays(string file)
    {
        string source = File.ReadAllText(Path.Combine(Corpus.Directory(), file));
        var result = FuzzRunner.Run(source, Timeout, compareWithTape: true);
        Assert.False(result.IsFailure, $"{file}: {result.Kind}: {result.Detail}");
    }

    [Fact]
    public void Grammar_IsDeterministic_AndMostlyValid()
    {
        Assert.Equal(ModelSourceGrammar.Generate(5, out _), ModelSourceGrammar.Generate(5, out _));
        int valid = Enumerable.Range(0, 200).Count(i => { ModelSourceGrammar.Generate(i, out bool m); return !m; });
        Assert.InRange(valid, 100, 190);
    }
}

/// <summary>Fuzz/Corpus: one file per failing seed, the model source after a comment saying what failed.</summary>
internal static class Corpus
{
    public static string Directory()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Dl.Generators.Tests.csproj"))) dir = dir.Parent;
        return Path.Combine(dir?.FullName ?? throw new DirectoryNotFoundException("Dl.Generators.Tests.csproj"), "Fuzz", "Corpus");
    }

    public static IEnumerable<string> Files() =>
        System.IO.Directory.Exists(Directory()) ? System.IO.Directory.GetFiles(Directory(), "*.cs").OrderBy(f => f, StringComparer.Ordinal) : [];

    public static void Save(int seed, FuzzResult result, string source)
    {
        System.IO.Directory.CreateDirectory(Directory());
        string what = Dl.Generators.Diagnostics.MessageText.OneLine($"{result.Kind}: {result.Detail}");
        File.WriteAllText(Path.Combine(Directory(), $"seed-{seed}.cs"), $"// fuzz seed {seed}: {what}\n{source}", new UTF8Encoding(false));
    }
}
