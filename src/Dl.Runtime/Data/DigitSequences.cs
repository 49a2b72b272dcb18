namespace Dl.Data;

/// <summary>
/// The sequence-reversal task for small encoder-decoder models: a source of 3 … T random digits (tokens 0–9), right-padded
/// with <see cref="Pad"/> to T; the target is the digits in reverse order followed by PAD, and the decoder input is the target
/// shifted right behind <see cref="Bos"/> (teacher forcing): for 3 1 4 and T = 6
/// <code>
/// source        3   1   4   PAD PAD PAD     mask 1 1 1 0 0 0
/// decoder input BOS 4   1   3   PAD PAD
/// target        4   1   3   PAD PAD PAD
/// </code>
/// Predicting PAD after the last digit is part of the answer (it marks the end). Tokens are stored as floats (the model's
/// embedding reads integer-valued numbers), target labels as ints.
/// </summary>
/// <example><code>
/// var task = new DigitSequences(steps: 12, minLength: 3, maxLength: 12);
/// List&lt;int[]&gt; heldOut = task.DistinctSet(2000, new DlRandom(2));
/// var excluded = DigitSequences.KeySet(heldOut);
/// int[] digits = task.Draw(random, excluded);                  // a training sequence that is not held out
/// task.Encode(digits, source, mask, decoderInput, target);     // one sample's rows
/// </code></example>
public sealed class DigitSequences
{
    /// <summary>Digit tokens are 0 … 9.</summary>
    public const int Digits = 10;
    /// <summary>The padding token.</summary>
    public const int Pad = 10;
    /// <summary>The begin-of-sequence token that starts the decoder input.</summary>
    public const int Bos = 11;
    /// <summary>Tokens in all: the 10 digits, PAD and BOS.</summary>
    public const int Vocabulary = 12;

    /// <param name="steps">T, the padded length of every row.</param>
    /// <param name="minLength">Shortest sequence (at least 1).</param>
    /// <param name="maxLength">Longest sequence (at most <paramref name="steps"/>, and at most 18 so a sequence fits a 64-bit key).</param>
    public DigitSequences(int steps, int minLength, int maxLength)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "steps (the padded length T) must be at least 1.");
        if (minLength < 1 || minLength > maxLength)
            throw new ArgumentOutOfRangeException(nameof(minLength), minLength, $"minLength must be in [1, maxLength = {maxLength}].");
        if (maxLength > steps || maxLength > 18)
            throw new ArgumentOutOfRangeException(nameof(maxLength), maxLength, $"maxLength must be at most steps = {steps} and at most 18.");
        Steps = steps;
        MinLength = minLength;
        MaxLength = maxLength;
    }

    /// <summary>T, the padded length of every row.</summary>
    public int Steps { get; }
    public int MinLength { get; }
    public int MaxLength { get; }

    /// <summary>A random sequence: its length uniform in [MinLength, MaxLength], each digit uniform in 0 … 9.</summary>
    public int[] Draw(DlRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        var digits = new int[random.NextInt(MinLength, MaxLength + 1)];
        for (int i = 0; i < digits.Length; i++) digits[i] = random.NextInt(Digits);
        return digits;
    }

    /// <summary>A random sequence whose key is not in <paramref name="excluded"/> (redrawn, length included, until it is not).</summary>
    /// <exception cref="InvalidOperationException">Nothing new was found in 1,000,000 draws (the exclusion covers nearly every sequence).</exception>
    public int[] Draw(DlRandom random, IReadOnlySet<ulong> excluded)
    {
        ArgumentNullException.ThrowIfNull(excluded);
        for (int attempt = 0; attempt < 1_000_000; attempt++)
        {
            int[] digits = Draw(random);
            if (!excluded.Contains(Key(digits))) return digits;
        }
        throw new InvalidOperationException($"No sequence outside the {excluded.Count} excluded ones was drawn in 1,000,000 attempts.");
    }

    /// <summary><paramref name="count"/> distinct random sequences (duplicates are redrawn), in drawing order.</summary>
    /// <exception cref="ArgumentOutOfRangeException">More sequences are asked for than the lengths allow.</exception>
    public List<int[]> DistinctSet(int count, DlRandom random)
    {
        ArgumentNullException.ThrowIfNull(random);
        double possible = 0;
        for (int length = MinLength; length <= MaxLength; length++) possible += Math.Pow(Digits, length);
        if (count < 0 || count > possible / 2)
            throw new ArgumentOutOfRangeException(nameof(count), count, $"count must be in [0, {possible / 2:0}] (half of the {possible:0} possible sequences).");
        var seen = new HashSet<ulong>();
        var set = new List<int[]>(count);
        while (set.Count < count)
        {
            int[] digits = Draw(random);
            if (seen.Add(Key(digits))) set.Add(digits);
        }
        return set;
    }

    /// <summary>A key that identifies a sequence (length and digits): Σ (d_i + 1)·11^i, distinct for distinct sequences of
    /// up to 18 digits.</summary>
    public static ulong Key(ReadOnlySpan<int> digits)
    {
        if (digits.Length > 18) throw new ArgumentException($"A key covers at most 18 digits; got {digits.Length}.", nameof(digits));
        ulong key = 0;
        for (int i = digits.Length - 1; i >= 0; i--)
        {
            if ((uint)digits[i] >= Digits) throw new ArgumentException($"digit {i} is {digits[i]}; expected 0 … 9.", nameof(digits));
            key = key * 11 + (ulong)(digits[i] + 1);
        }
        return key;
    }

    /// <summary>The keys of <paramref name="sequences"/>.</summary>
    public static HashSet<ulong> KeySet(IEnumerable<int[]> sequences)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        var keys = new HashSet<ulong>();
        foreach (int[] s in sequences) keys.Add(Key(s));
        return keys;
    }

    /// <summary>Writes one sample's rows, each of length T: the padded source, its mask (1 for a digit, 0 for PAD), the decoder
    /// input [BOS, y1 … y_{T-1}] and the target [y1 … y_T], where y is the reversed digits followed by PAD. Any row may be
    /// empty (not wanted).</summary>
    public void Encode(ReadOnlySpan<int> digits, Span<float> source, Span<float> mask, Span<float> decoderInput, Span<int> target)
    {
        int n = digits.Length, T = Steps;
        if (n < 1 || n > T) throw new ArgumentException($"the sequence has {n} digits; expected 1 … T = {T}.", nameof(digits));
        Require(source.Length, "source"); Require(mask.Length, "mask"); Require(decoderInput.Length, "decoderInput"); Require(target.Length, "target");
        for (int t = 0; t < T; t++)
        {
            int y = Reversed(digits, t);
            if (!source.IsEmpty) source[t] = t < n ? digits[t] : Pad;
            if (!mask.IsEmpty) mask[t] = t < n ? 1f : 0f;
            if (!decoderInput.IsEmpty) decoderInput[t] = t == 0 ? Bos : Reversed(digits, t - 1);
            if (!target.IsEmpty) target[t] = y;
        }
    }

    /// <summary>Token t of the answer: the digit n − 1 − t for t &lt; n, PAD after.</summary>
    public static int Reversed(ReadOnlySpan<int> digits, int t) => t < digits.Length ? digits[digits.Length - 1 - t] : Pad;

    private void Require(int length, string name)
    {
        if (length != 0 && length != Steps)
            throw new ArgumentException($"{name} has {length} values; expected T = {Steps} (or 0 for not wanted).", name);
    }
}
