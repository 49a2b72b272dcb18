using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace Dl.Data;

/// <summary>
/// A character-level text corpus for language modelling. The text is encoded once into token ids (the index of each
/// character in <see cref="Vocabulary"/>), and its last <c>heldOutFraction</c> becomes a contiguous held-out part:
/// random training windows are drawn only from the text before that boundary, and the held-out part is read in order.
/// </summary>
/// <example><code>
/// var corpus = TextCorpus.LoadKjv("/var/cache/dl/kjv.txt");           // 63 characters, last 10 % held out
/// var rng = new DlRandom(1);
/// float[] x = new float[64 * 100], y = new float[64 * 100];
/// corpus.FillTrainingBatch(x, y, batchSize: 64, sequenceLength: 100, rng);   // y[b, t] = x[b, t + 1]
/// var heldOut = corpus.IterateHeldOut(batchSize: 64, sequenceLength: 100);
/// while (heldOut.Next(x, y, out var w)) { /* w.Rows × w.Length predictions; reset state when w.Position == 0 */ }
/// </code></example>
/// <remarks>
/// <para>Tokens are UTF-16 code units (C# <see cref="char"/>s): a character outside the Basic Multilingual Plane is two
/// tokens. Plain-prose corpora (the KJV dump this project trains on is pure ASCII) never meet that case.</para>
/// <para>A character that is not in the vocabulary is an error naming the character and its index, unless the corpus
/// declares an <see cref="Unknown"/> character, which such characters are then mapped to. Decoding never guesses: an
/// id outside [0, <see cref="VocabularySize"/>) is an error.</para>
/// </remarks>
public sealed partial class TextCorpus
{
    /// <summary>The Debian packages whose <c>bible</c> program writes the King James Version: see <see cref="LoadKjv"/>.</summary>
    public const string KjvAptPackages = "bible-kjv bible-kjv-text";

    /// <summary>The command that writes the whole KJV, one verse per line as <c>Ge1:1 In the beginning …</c>, to stdout
    /// (4,404,412 bytes of ASCII with bible-kjv 4.38). <c>-f</c> turns pretty-printing off.</summary>
    public const string KjvDumpCommand = "bible -f gen1:1-rev22:21 </dev/null";

    private readonly int[] _tokens;
    private readonly string _vocabulary;
    // Indexed by char code: the id, or -1 for a character outside the vocabulary. Length = largest vocabulary char + 1.
    private readonly int[] _idOf;
    private readonly int _unknownId;

    /// <summary>Encodes <paramref name="text"/> and splits off its last <paramref name="heldOutFraction"/>.</summary>
    /// <param name="text">The whole corpus, already cleaned.</param>
    /// <param name="heldOutFraction">The fraction of the text, in [0, 1], at the end that is held out (rounded to the
    /// nearest character count).</param>
    /// <param name="vocabulary">The characters in id order (e.g. a trained model's vocabulary); null: the sorted
    /// (ordinal) distinct characters of <paramref name="text"/>.</param>
    /// <param name="unknown">A character of the vocabulary that characters outside it are mapped to; null: such
    /// characters throw. With a derived vocabulary it is added to the vocabulary if the text lacks it.</param>
    public TextCorpus(string text, double heldOutFraction = 0.1, string? vocabulary = null, char? unknown = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 0) throw new ArgumentException("The corpus text is empty.", nameof(text));
        if (!(heldOutFraction >= 0 && heldOutFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(heldOutFraction), heldOutFraction, "Expected a held-out fraction in [0, 1].");

        _vocabulary = vocabulary ?? DistinctSorted(text, unknown);
        (_idOf, _unknownId) = BuildIndex(_vocabulary, unknown);
        _tokens = new int[text.Length];
        Encode(text, _tokens.AsSpan());
        HeldOutLength = (int)Math.Round(heldOutFraction * text.Length);
        TrainLength = text.Length - HeldOutLength;
    }

    /// <summary>The characters in id order: id i is <c>Vocabulary[i]</c>.</summary>
    public string Vocabulary => _vocabulary;

    public int VocabularySize => _vocabulary.Length;

    /// <summary>The character that characters outside the vocabulary are encoded as, or null when they throw.</summary>
    public char? Unknown => _unknownId < 0 ? null : _vocabulary[_unknownId];

    /// <summary>The number of characters (tokens) in the corpus.</summary>
    public int Length => _tokens.Length;

    /// <summary>Characters [0, <see cref="TrainLength"/>) are for training.</summary>
    public int TrainLength { get; }

    /// <summary>Characters [<see cref="TrainLength"/>, <see cref="Length"/>) are held out.</summary>
    public int HeldOutLength { get; }

    /// <summary>The whole encoded text.</summary>
    public ReadOnlySpan<int> Tokens => _tokens;

    public ReadOnlySpan<int> TrainTokens => _tokens.AsSpan(0, TrainLength);

    public ReadOnlySpan<int> HeldOutTokens => _tokens.AsSpan(TrainLength);

    /// <summary>Converts a mean cross-entropy in nats per character to bits per character: bits = nats / ln 2.</summary>
    public static double BitsPerCharacter(double meanNatsPerChar) => meanNatsPerChar / Math.Log(2);

    // ---- Loading and cleaning ------------------------------------------------------------------------------------

    /// <summary>Reads a UTF-8 text file (gzipped when it starts with the gzip magic 1f 8b); a byte-order mark is dropped.
    /// Invalid UTF-8 is an error naming the file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="aptPackage">The Debian package(s) that ship the file, named in the error when it is missing.</param>
    public static string ReadText(string path, string? aptPackage = null) =>
        ReadTextCore(path, aptPackage is null ? null : $"It is shipped by Debian: apt-get install -y {aptPackage}");

    private static string ReadTextCore(string path, string? missingHint)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path))
            throw new FileNotFoundException($"Text corpus '{path}' does not exist." + (missingHint is null ? "" : " " + missingHint), path);
        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        Span<byte> magic = stackalloc byte[2];
        bool gzip = file.ReadAtLeast(magic, 2, throwOnEndOfStream: false) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
        file.Position = 0;
        using Stream source = gzip ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var reader = new StreamReader(source, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false);
        try
        {
            string text = reader.ReadToEnd();
            return text.Length > 0 && text[0] == '\uFEFF' ? text[1..] : text;
        }
        catch (DecoderFallbackException e)
        {
            throw new InvalidDataException($"Text corpus '{path}' is not valid UTF-8: {e.Message}", e);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"Text corpus '{path}' starts like gzip but is not a valid gzip stream: {e.Message}", e);
        }
    }

    /// <summary>Loads a corpus from a file: <see cref="ReadText(string, string?)"/>, then <see cref="NormalizeNewlines"/>,
    /// then <paramref name="clean"/>, then <see cref="TextCorpus(string, double, string?, char?)"/>.</summary>
    /// <param name="path">A UTF-8 text file, optionally gzipped.</param>
    /// <param name="heldOutFraction">The fraction at the end that is held out.</param>
    /// <param name="clean">Applied to the text after newline normalization (e.g. <see cref="CleanKjvDump"/>).</param>
    /// <param name="aptPackage">The Debian package(s) that ship the file, named in the error when it is missing.</param>
    /// <param name="vocabulary">See the constructor.</param>
    /// <param name="unknown">See the constructor.</param>
    public static TextCorpus Load(string path, double heldOutFraction = 0.1, Func<string, string>? clean = null,
        string? aptPackage = null, string? vocabulary = null, char? unknown = null)
    {
        string text = NormalizeNewlines(ReadText(path, aptPackage));
        return new TextCorpus(clean is null ? text : clean(text), heldOutFraction, vocabulary, unknown);
    }

    /// <summary>Loads the King James Version as dumped by <see cref="KjvDumpCommand"/> into <paramref name="path"/>, cleaned
    /// by <see cref="CleanKjvDump"/> (4,137,847 characters, 63 distinct, with bible-kjv 4.38). The default held-out
    /// 10 % runs from Acts 21:40 to the end of Revelation.</summary>
    public static TextCorpus LoadKjv(string path, double heldOutFraction = 0.1)
    {
        string hint = $"Create it with: apt-get install -y {KjvAptPackages} && {KjvDumpCommand} > '{path}'";
        return new TextCorpus(CleanKjvDump(NormalizeNewlines(ReadTextCore(path, hint))), heldOutFraction);
    }

    /// <summary>CR LF and lone CR become LF, so a corpus has the same vocabulary on every platform.</summary>
    public static string NormalizeNewlines(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Contains('\r') ? text.Replace("\r\n", "\n").Replace('\r', '\n') : text;
    }

    /// <summary>Cleans the output of <see cref="KjvDumpCommand"/>: drops each line's verse reference (<c>Ge1:1 </c>,
    /// <c>1Cor13:4 </c>), collapses runs of spaces to one and removes trailing spaces. One verse per line remains; the
    /// text is otherwise untouched: it has no markup, and its 63 characters are letters, punctuation, space and LF.</summary>
    public static string CleanKjvDump(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = VerseReference().Replace(text, "");
        text = SpaceRun().Replace(text, " ");
        return TrailingSpace().Replace(text, "");
    }

    [GeneratedRegex(@"^[1-3]?[A-Za-z]+[0-9]+:[0-9]+ ", RegexOptions.Multiline | RegexOptions.CultureInvariant)]
    private static partial Regex VerseReference();

    [GeneratedRegex(" {2,}")]
    private static partial Regex SpaceRun();

    [GeneratedRegex(" +$", RegexOptions.Multiline)]
    private static partial Regex TrailingSpace();

    // ---- Vocabulary, encode, decode ------------------------------------------------------------------------------

    /// <summary>The id of <paramref name="c"/> (the <see cref="Unknown"/> id for a character outside the vocabulary, when declared).</summary>
    public int IdOf(char c)
    {
        int id = c < _idOf.Length ? _idOf[c] : -1;
        if (id >= 0) return id;
        if (_unknownId >= 0) return _unknownId;
        throw new ArgumentException($"Character {Describe(c)} is not in the {VocabularySize}-character vocabulary.", nameof(c));
    }

    /// <summary>Whether <paramref name="c"/> is in the vocabulary (the unknown mapping not counted).</summary>
    public bool Contains(char c) => c < _idOf.Length && _idOf[c] >= 0;

    /// <summary>The character of id <paramref name="id"/>.</summary>
    public char CharOf(int id)
    {
        if ((uint)id >= (uint)_vocabulary.Length)
            throw new ArgumentOutOfRangeException(nameof(id), id, $"Expected a token id in [0, {VocabularySize}).");
        return _vocabulary[id];
    }

    /// <summary>The ids of the characters of <paramref name="text"/>.</summary>
    public int[] Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new int[text.Length];
        Encode(text, ids.AsSpan());
        return ids;
    }

    /// <summary>Writes the ids of <paramref name="text"/> into the first text.Length elements of <paramref name="destination"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, Span<int> destination)
    {
        CheckDestination(text.Length, destination.Length);
        for (int i = 0; i < text.Length; i++) destination[i] = Id(text, i);
    }

    /// <summary>Writes the ids of <paramref name="text"/>, as floats (the form models take), into <paramref name="destination"/>.</summary>
    public void Encode(ReadOnlySpan<char> text, Span<float> destination)
    {
        CheckDestination(text.Length, destination.Length);
        for (int i = 0; i < text.Length; i++) destination[i] = Id(text, i);
    }

    /// <summary>The text of token ids <paramref name="ids"/>.</summary>
    public string Decode(ReadOnlySpan<int> ids)
    {
        var chars = new char[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            int id = ids[i];
            if ((uint)id >= (uint)_vocabulary.Length)
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token {i} is {id}; expected an id in [0, {VocabularySize}).");
            chars[i] = _vocabulary[id];
        }
        return new string(chars);
    }

    /// <summary>The text of token ids held as floats; each must be a whole number in [0, <see cref="VocabularySize"/>).</summary>
    public string Decode(ReadOnlySpan<float> ids)
    {
        var chars = new char[ids.Length];
        for (int i = 0; i < ids.Length; i++)
        {
            float id = ids[i];
            if (!(id >= 0 && id < _vocabulary.Length && id == MathF.Floor(id)))
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Token {i} is {id}; expected a whole-number id in [0, {VocabularySize}).");
            chars[i] = _vocabulary[(int)id];
        }
        return new string(chars);
    }

    private int Id(ReadOnlySpan<char> text, int i)
    {
        char c = text[i];
        int id = c < _idOf.Length ? _idOf[c] : -1;
        if (id >= 0) return id;
        if (_unknownId >= 0) return _unknownId;
        throw new ArgumentException(
            $"Character {Describe(c)} at index {i} is not in the {VocabularySize}-character vocabulary " +
            "(clean the text, or declare an unknown character).", "text");
    }

    private static void CheckDestination(int needed, int length)
    {
        if (length < needed)
            throw new ArgumentException($"The destination holds {length} tokens; the text has {needed} characters.", "destination");
    }

    private static string Describe(char c) =>
        char.IsControl(c) || char.IsWhiteSpace(c) || char.IsSurrogate(c) ? $"U+{(int)c:X4}" : $"'{c}' (U+{(int)c:X4})";

    private static string DistinctSorted(string text, char? unknown)
    {
        var seen = new bool[char.MaxValue + 1];
        foreach (char c in text) seen[c] = true;
        if (unknown is char u) seen[u] = true;
        var sb = new StringBuilder();
        for (int c = 0; c <= char.MaxValue; c++)
        {
            if (seen[c]) sb.Append((char)c);
        }
        return sb.ToString();
    }

    private static (int[] IdOf, int UnknownId) BuildIndex(string vocabulary, char? unknown)
    {
        if (vocabulary.Length == 0) throw new ArgumentException("The vocabulary is empty.", nameof(vocabulary));
        int max = 0;
        foreach (char c in vocabulary) max = Math.Max(max, c);
        var idOf = new int[max + 1];
        idOf.AsSpan().Fill(-1);
        for (int i = 0; i < vocabulary.Length; i++)
        {
            char c = vocabulary[i];
            if (idOf[c] >= 0)
                throw new ArgumentException($"The vocabulary lists {Describe(c)} twice (ids {idOf[c]} and {i}).", nameof(vocabulary));
            idOf[c] = i;
        }
        int unknownId = -1;
        if (unknown is char u)
        {
            unknownId = u < idOf.Length ? idOf[u] : -1;
            if (unknownId < 0)
                throw new ArgumentException($"The unknown character {Describe(u)} is not in the vocabulary.", nameof(unknown));
        }
        return (idOf, unknownId);
    }

    // ---- Batches -------------------------------------------------------------------------------------------------

    /// <summary>Fills a training batch for truncated-BPTT language modelling: row b is the window of
    /// <paramref name="sequenceLength"/> characters starting at a uniformly random offset s_b of the training text,
    /// <c>inputs[b, t] = token[s_b + t]</c> and <c>targets[b, t] = token[s_b + t + 1]</c>, so the target of the
    /// last position is still training text (0 ≤ s_b ≤ TrainLength − T − 1). Allocates nothing; the offsets come from
    /// <paramref name="random"/> only, so a seeded generator reproduces the batches.</summary>
    /// <param name="inputs">At least B·T floats; the first B·T receive [B, T] token ids, row-major.</param>
    /// <param name="targets">At least B·T floats; the first B·T receive the next characters' ids.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="sequenceLength">T.</param>
    /// <param name="random">The source of the offsets (one draw per row).</param>
    /// <param name="offsets">Optional: receives s_b for each row (empty: not reported).</param>
    public void FillTrainingBatch(Span<float> inputs, Span<float> targets, int batchSize, int sequenceLength, DlRandom random,
        Span<int> offsets = default)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        if (TrainLength < sequenceLength + 1)
            throw new InvalidOperationException(
                $"Training windows of {sequenceLength} characters need at least {sequenceLength + 1} training characters (one more for the " +
                $"last target); the corpus has {TrainLength} ({HeldOutLength} of its {Length} are held out).");
        CheckBatchSpans(inputs.Length, targets.Length, batchSize, sequenceLength);
        if (!offsets.IsEmpty && offsets.Length < batchSize)
            throw new ArgumentException($"offsets holds {offsets.Length} values; a batch has {batchSize} rows.", nameof(offsets));
        ReadOnlySpan<int> tokens = _tokens;
        int starts = TrainLength - sequenceLength; // s ∈ [0, starts)
        for (int b = 0; b < batchSize; b++)
        {
            int s = random.NextInt(starts);
            if (!offsets.IsEmpty) offsets[b] = s;
            ReadOnlySpan<int> window = tokens.Slice(s, sequenceLength + 1);
            Span<float> x = inputs.Slice(b * sequenceLength, sequenceLength);
            Span<float> y = targets.Slice(b * sequenceLength, sequenceLength);
            for (int t = 0; t < sequenceLength; t++)
            {
                x[t] = window[t];
                y[t] = window[t + 1];
            }
        }
    }

    /// <summary>An in-order, non-overlapping pass over the held-out text; see <see cref="HeldOutIterator"/>.</summary>
    /// <param name="batchSize">B, the number of parallel streams (fewer when there are fewer predictions).</param>
    /// <param name="sequenceLength">T, the longest window.</param>
    /// <param name="fullWindowsOnly">Produce only full [B', T] windows (for models with a fixed sequence length): the
    /// last partial window of each stream and the tail are skipped, and <see cref="HeldOutIterator.Predictions"/> says how
    /// many characters are still covered.</param>
    public HeldOutIterator IterateHeldOut(int batchSize, int sequenceLength, bool fullWindowsOnly = false) =>
        new(this, batchSize, sequenceLength, fullWindowsOnly);

    internal static int CheckBatchSpans(int inputs, int targets, int rows, int sequenceLength)
    {
        long size = (long)rows * sequenceLength;
        if (size > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(rows), $"A [{rows}, {sequenceLength}] batch is too large.");
        if (inputs < size)
            throw new ArgumentException($"inputs holds {inputs} floats; a [{rows}, {sequenceLength}] batch needs {size}.", nameof(inputs));
        if (targets < size)
            throw new ArgumentException($"targets holds {targets} floats; a [{rows}, {sequenceLength}] batch needs {size}.", nameof(targets));
        return (int)size;
    }
}

/// <summary>One evaluation window: <see cref="Rows"/> × <see cref="Length"/> predictions, laid out row-major in the first
/// <see cref="Count"/> elements of the spans passed to <see cref="HeldOutIterator.Next"/>.</summary>
/// <param name="Rows">Rows in this window.</param>
/// <param name="Length">Characters per row in this window (≤ T).</param>
/// <param name="FirstRow">Row i of this window continues stream i + FirstRow: 0 for the main windows, B' − 1 for the tail.</param>
/// <param name="Position">The position within its stream of the window's first column: 0 means the streams start here
/// (reset any recurrent state); otherwise carry the state of streams [FirstRow, FirstRow + Rows) over from the previous window.</param>
public readonly record struct HeldOutWindow(int Rows, int Length, int FirstRow, int Position)
{
    public int Count => Rows * Length;
}

/// <summary>
/// A sequential pass over the held-out text in which every held-out character is predicted exactly once. Prediction p
/// has the target <c>token[f + p]</c> and the input <c>token[f + p − 1]</c>, where f = <see cref="TextCorpus.TrainLength"/>
/// (the last training character is the context of the first held-out one), or f = 1 when there is no training text
/// (the first character has no context and is not predicted). The N predictions are cut into B' = min(B, N) contiguous
/// streams of L = ⌊N / B'⌋ (the layout of truncated-BPTT evaluation, so recurrent state can be carried across windows);
/// the windows walk the streams T columns at a time, the last window of a stream being shorter when T does not divide
/// L. The N − B'·L (&lt; B') characters left over continue the last stream, and are produced after the main windows as
/// one-row windows with <see cref="HeldOutWindow.FirstRow"/> = B' − 1.
/// </summary>
/// <remarks>Allocates nothing per window. Sum the per-window loss weighted by <see cref="HeldOutWindow.Count"/> and
/// divide by <see cref="Predictions"/> for the mean nats per character (<see cref="TextCorpus.BitsPerCharacter"/>).</remarks>
public sealed class HeldOutIterator
{
    private readonly TextCorpus _corpus;
    private readonly int _batchSize, _sequenceLength, _first, _mainLength, _tailLength;
    private int _position;

    internal HeldOutIterator(TextCorpus corpus, int batchSize, int sequenceLength, bool fullWindowsOnly)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sequenceLength);
        _corpus = corpus;
        _batchSize = batchSize;
        _sequenceLength = sequenceLength;
        _first = Math.Max(corpus.TrainLength, 1);
        int n = corpus.HeldOutLength == 0 ? 0 : corpus.Length - _first;
        Rows = Math.Min(batchSize, n);
        RowLength = Rows == 0 ? 0 : n / Rows;
        _mainLength = fullWindowsOnly ? RowLength / sequenceLength * sequenceLength : RowLength;
        _tailLength = fullWindowsOnly ? 0 : n - Rows * RowLength;
        Predictions = Rows * _mainLength + _tailLength;
        WindowCount = Ceiling(_mainLength, sequenceLength) + Ceiling(_tailLength, sequenceLength);
    }

    /// <summary>B' = min(B, N): the number of streams.</summary>
    public int Rows { get; }

    /// <summary>L = ⌊N / B'⌋: the predictions per stream before the tail.</summary>
    public int RowLength { get; }

    /// <summary>The number of predictions the windows cover: N, or fewer with fullWindowsOnly.</summary>
    public int Predictions { get; }

    /// <summary>The number of windows in a pass.</summary>
    public int WindowCount { get; }

    /// <summary>Starts the pass again.</summary>
    public void Reset() => _position = 0;

    /// <summary>Fills the next window; false (and a default window) once the pass is over.</summary>
    /// <param name="inputs">At least B·T floats; the first Rows·Length receive the input ids.</param>
    /// <param name="targets">At least B·T floats; the first Rows·Length receive the target ids.</param>
    /// <param name="window">Where the window sits in the streams.</param>
    public bool Next(Span<float> inputs, Span<float> targets, out HeldOutWindow window)
    {
        TextCorpus.CheckBatchSpans(inputs.Length, targets.Length, _batchSize, _sequenceLength);
        if (_position < _mainLength)
            window = new HeldOutWindow(Rows, Math.Min(_sequenceLength, _mainLength - _position), 0, _position);
        else if (_position < _mainLength + _tailLength)
            window = new HeldOutWindow(1, Math.Min(_sequenceLength, RowLength + _tailLength - _position), Rows - 1, _position);
        else
        {
            window = default;
            return false;
        }

        // Stream r at position j is prediction r·L + j; the tail is stream B' − 1 at positions L, L + 1, ….
        ReadOnlySpan<int> tokens = _corpus.Tokens;
        int length = window.Length;
        for (int i = 0; i < window.Rows; i++)
        {
            int p = (window.FirstRow + i) * RowLength + window.Position;
            ReadOnlySpan<int> source = tokens.Slice(_first + p - 1, length + 1);
            Span<float> x = inputs.Slice(i * length, length);
            Span<float> y = targets.Slice(i * length, length);
            for (int t = 0; t < length; t++)
            {
                x[t] = source[t];
                y[t] = source[t + 1];
            }
        }
        _position += length;
        return true;
    }

    private static int Ceiling(int n, int d) => (n + d - 1) / d;
}
