using System.Diagnostics;
using System.Globalization;
using Xunit.Abstractions;

namespace Dl.Tests.Fuzz;

/// <summary>What one fuzz case did.</summary>
internal enum Outcome
{
    /// <summary>Loaded, and equal to the test's own reference parse.</summary>
    Loaded,
    /// <summary>A documented exception (InvalidDataException) naming the file; nothing changed.</summary>
    CleanError,
    /// <summary>An undocumented exception type, or an error not naming the file.</summary>
    Crash,
    /// <summary>Loaded but different from the reference, or the reference accepts what the loader rejected.</summary>
    Mismatch,
    /// <summary>Failed, yet the destination (model parameters) was changed.</summary>
    DataChanged,
    /// <summary>Allocated more than the bound.</summary>
    OverAllocated,
}

/// <summary>
/// A mutation fuzzing driver shared by the loader targets: cases are produced from a fixed seed (case i uses the
/// stream (seed, i), so any case replays alone), each is written to a file and loaded, and the outcome counted. The
/// corpus folder (<c>Fuzz/Corpus/TARGET</c>, bytes that once failed) is replayed first.
/// </summary>
/// <remarks>CI runs <see cref="DefaultCases"/> cases per target. A long run: <c>DL_FUZZ_CASES=200000</c> (and
/// optionally <c>DL_FUZZ_SEED</c>, <c>DL_FUZZ_SAVE=folder</c> to keep failing inputs, <c>DL_FUZZ_REPORT=file</c> to
/// append the counts as a table row). A case running longer than <see cref="HangSeconds"/> is counted as a hang.</remarks>
internal sealed class FuzzDriver(string target, ITestOutputHelper output)
{
    public const int DefaultCases = 3000;
    public const double HangSeconds = 5;

    private readonly Dictionary<Outcome, int> _counts = Enum.GetValues<Outcome>().ToDictionary(o => o, _ => 0);
    private readonly List<string> _failures = [];
    private int _hangs, _cases;
    private long _peakAllocation, _peakFileLength;
    private double _slowest;

    public static int Cases => int.TryParse(Environment.GetEnvironmentVariable("DL_FUZZ_CASES"), out int n) && n > 0 ? n : DefaultCases;
    /// <summary>A note a check leaves for the failure report (what differed).</summary>
    [ThreadStatic] public static string? Note;

    /// <summary>Bytes allocated by the last <see cref="Measure"/> (the load alone, not the reference parse).</summary>
    [ThreadStatic] private static long s_measured;

    /// <summary>Runs the load under test and records what it allocates on this thread (also when it throws).</summary>
    public static void Measure(Action load)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        try
        {
            load();
        }
        finally
        {
            s_measured = GC.GetAllocatedBytesForCurrentThread() - before;
        }
    }

    /// <summary>The random stream of case <paramref name="index"/>: deterministic across processes (unlike HashCode).</summary>
    public static Random CaseRandom(int index, int target) => new(unchecked(Seed * 1_000_003 + index * 31 + target));

    public static int Seed => int.TryParse(Environment.GetEnvironmentVariable("DL_FUZZ_SEED"), out int s) ? s : 20261207;

    /// <summary>The corpus files of this target (bytes that failed once), in name order.</summary>
    public IEnumerable<(string Name, byte[] Bytes)> Corpus()
    {
        string folder = Path.Combine(AppContext.BaseDirectory, "Fuzz", "Corpus", target);
        if (!Directory.Exists(folder)) yield break;
        foreach (string file in Directory.GetFiles(folder).Order(StringComparer.Ordinal))
            yield return (Path.GetFileName(file), File.ReadAllBytes(file));
    }

    /// <summary>Runs one case: <paramref name="run"/> loads the bytes (already written to <paramref name="path"/>) inside
    /// <see cref="Measure"/> and returns the outcome; time is measured around it all.</summary>
    public void Run(string label, string path, byte[] bytes, long decodedBound, Func<Outcome> run)
    {
        File.WriteAllBytes(path, bytes);
        _cases++;
        s_measured = 0;
        long start = Stopwatch.GetTimestamp();
        Outcome outcome;
        string detail = "";
        Note = null;
        try
        {
            outcome = run();
        }
        catch (Exception e)
        {
            outcome = Outcome.Crash;
            detail = e.GetType().Name + ": " + e.Message;
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        long allocated = s_measured;
        // The bound: a small multiple of the file plus of the data actually decodable from it, plus a constant.
        long bound = 8 * bytes.Length + 4 * decodedBound + (1 << 20);
        if (outcome is Outcome.Loaded or Outcome.CleanError && allocated > bound) outcome = Outcome.OverAllocated;
        _peakAllocation = Math.Max(_peakAllocation, allocated);
        if (allocated == _peakAllocation) _peakFileLength = bytes.Length;
        _slowest = Math.Max(_slowest, seconds);
        if (seconds > HangSeconds) _hangs++;
        _counts[outcome]++;
        if (outcome is Outcome.Loaded or Outcome.CleanError) return;
        detail += Note;
        string message = $"{target} case {label}: {outcome} ({bytes.Length} bytes, {allocated} B allocated, {seconds:0.000} s) {detail}";
        if (_failures.Count < 20) _failures.Add(message);
        if (Environment.GetEnvironmentVariable("DL_FUZZ_SAVE") is { Length: > 0 } save)
        {
            Directory.CreateDirectory(Path.Combine(save, target));
            File.WriteAllBytes(Path.Combine(save, target, $"{label}.bin"), bytes);
        }
    }

    /// <summary>Reports the counts and fails the test on any crash, mismatch, change, over-allocation or hang.</summary>
    public void Finish(Stopwatch elapsed)
    {
        string row = string.Create(CultureInfo.InvariantCulture,
            $"| {target} | {_cases} | {_counts[Outcome.Loaded]} | {_counts[Outcome.CleanError]} | {_counts[Outcome.Crash]} | {_hangs} | " +
            $"{_counts[Outcome.DataChanged]} | {_counts[Outcome.Mismatch]} | {_counts[Outcome.OverAllocated]} | {_peakAllocation:N0} B (file {_peakFileLength:N0} B) | {_slowest * 1000:0} ms | {elapsed.Elapsed.TotalSeconds:0.0} s |");
        output.WriteLine("| target | cases | loaded | clean errors | crashes | hangs | data changed | mismatches | over-allocated | peak allocation | slowest case | time |");
        output.WriteLine(row);
        foreach (string f in _failures) output.WriteLine(f);
        if (Environment.GetEnvironmentVariable("DL_FUZZ_REPORT") is { Length: > 0 } report) File.AppendAllText(report, row + Environment.NewLine);
        Assert.True(_failures.Count == 0 && _hangs == 0, $"{target}: {string.Join(Environment.NewLine, _failures)}{(_hangs > 0 ? $" {_hangs} hangs" : "")}");
    }
}

/// <summary>Byte-level mutations: bit flips, byte edits, insertions, deletions, truncation, appended garbage, copied
/// chunks, and 32-bit fields overwritten with boundary values ("length lies").</summary>
internal static class Mutate
{
    private static readonly int[] Interesting = [0, 1, -1, 2, 7, 8, 255, 256, 65535, 65536, int.MaxValue, int.MinValue, 0x7FFFFFF, 1 << 24, 1 << 30];

    public static byte[] Bytes(Random random, byte[] input, int count, Func<Random, byte[], byte[]?>? structured = null)
    {
        byte[] bytes = input;
        for (int m = 0; m < count; m++)
        {
            if (structured is not null && random.Next(3) == 0 && structured(random, bytes) is { } edited)
            {
                bytes = edited;
                continue;
            }
            bytes = random.Next(9) switch
            {
                0 => FlipBit(random, bytes),
                1 => SetByte(random, bytes),
                2 => Insert(random, bytes),
                3 => Delete(random, bytes),
                4 => bytes.Length == 0 ? bytes : bytes[..random.Next(bytes.Length)],
                5 => [.. bytes, .. RandomBytes(random, random.Next(1, 17))],
                6 => CopyChunk(random, bytes),
                7 => Int32Field(random, bytes, bigEndian: true),
                _ => Int32Field(random, bytes, bigEndian: false),
            };
        }
        return bytes;
    }

    public static byte[] RandomBytes(Random random, int n)
    {
        var b = new byte[n];
        random.NextBytes(b);
        return b;
    }

    private static byte[] FlipBit(Random random, byte[] bytes)
    {
        if (bytes.Length == 0) return bytes;
        byte[] b = (byte[])bytes.Clone();
        b[random.Next(b.Length)] ^= (byte)(1 << random.Next(8));
        return b;
    }

    private static byte[] SetByte(Random random, byte[] bytes)
    {
        if (bytes.Length == 0) return bytes;
        byte[] b = (byte[])bytes.Clone();
        b[random.Next(b.Length)] = random.Next(4) switch { 0 => 0, 1 => 0xFF, 2 => 0x80, _ => (byte)random.Next(256) };
        return b;
    }

    private static byte[] Insert(Random random, byte[] bytes)
    {
        int at = random.Next(bytes.Length + 1);
        return [.. bytes.AsSpan(0, at), .. RandomBytes(random, random.Next(1, 9)), .. bytes.AsSpan(at)];
    }

    private static byte[] Delete(Random random, byte[] bytes)
    {
        if (bytes.Length == 0) return bytes;
        int at = random.Next(bytes.Length), n = Math.Min(random.Next(1, 9), bytes.Length - at);
        return [.. bytes.AsSpan(0, at), .. bytes.AsSpan(at + n)];
    }

    private static byte[] CopyChunk(Random random, byte[] bytes)
    {
        if (bytes.Length < 2) return bytes;
        int from = random.Next(bytes.Length), n = Math.Min(random.Next(1, 33), bytes.Length - from), to = random.Next(bytes.Length + 1);
        return [.. bytes.AsSpan(0, to), .. bytes.AsSpan(from, n), .. bytes.AsSpan(to)];
    }

    private static byte[] Int32Field(Random random, byte[] bytes, bool bigEndian)
    {
        if (bytes.Length < 4) return bytes;
        byte[] b = (byte[])bytes.Clone();
        // Header fields sit near the start (and gzip trailers at the end): favour those places.
        int at = random.Next(3) switch { 0 => random.Next(Math.Min(b.Length - 3, 40)), 1 => Math.Max(0, b.Length - 4 - random.Next(Math.Min(b.Length - 3, 8))), _ => random.Next(b.Length - 3) };
        int value = random.Next(3) == 0 ? b.Length + random.Next(-2, 3) : Interesting[random.Next(Interesting.Length)];
        if (bigEndian) System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(at), value);
        else System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(at), value);
        return b;
    }
}
