using System.Buffers;
using System.Globalization;
using System.Text;

namespace Dl.Data;

/// <summary>
/// A streaming reader of numeric CSV tables (RFC 4180: fields separated by <see cref="CsvOptions.Delimiter"/>, records
/// by LF or CRLF; a field in double quotes may hold delimiters, line breaks and doubled quotes <c>""</c>). Each
/// <see cref="ReadRow"/> parses one record straight into the caller's spans: memory stays bounded by the buffer and the
/// longest field, whatever the file's size, and no row allocates.
/// </summary>
/// <remarks>
/// <para>Numbers are parsed with the invariant culture (<c>1.5</c>, <c>-2e-3</c>; spaces around them are allowed). Every
/// error is an <see cref="InvalidDataException"/> naming the source, the line (1-based, of the field's first
/// character), the column (1-based number and name) and what was expected: a missing value (an empty field), text
/// that is not a finite number, a label that is not a whole number ≥ 0, a record with the wrong number of fields, a
/// quote left open, text after a closing quote. Empty lines are skipped.</para>
/// </remarks>
public sealed class CsvReader : IDisposable
{
    private enum Role : byte { Ignore, Feature, Target, Label }

    private readonly TextReader _reader;
    private readonly bool _ownsReader;
    private readonly char _delimiter;
    private readonly SearchValues<char> _stops;
    private readonly char[] _buffer = new char[1 << 16];
    private int _bufferLength, _bufferPosition;
    private char[] _field = new char[256];
    private int _fieldLength;
    private readonly Role[] _roles;
    private readonly int[] _slots;       // per column: its index among the features or targets
    private long _line = 1;              // the line of the next character
    private bool _atEnd;

    /// <summary>Opens <paramref name="path"/> (UTF-8, with or without a byte-order mark) and reads its header.</summary>
    public CsvReader(string path, CsvOptions? options = null)
        : this(Open(path), options ?? new CsvOptions(), path, ownsReader: true)
    {
    }

    /// <summary>Reads from <paramref name="reader"/>; <paramref name="name"/> starts error messages (a file name).</summary>
    public CsvReader(TextReader reader, CsvOptions? options = null, string name = "CSV")
        : this(reader ?? throw new ArgumentNullException(nameof(reader)), options ?? new CsvOptions(), name, ownsReader: false)
    {
    }

    private CsvReader(TextReader reader, CsvOptions options, string name, bool ownsReader)
    {
        _reader = reader;
        _ownsReader = ownsReader;
        Name = name;
        Options = options;
        _delimiter = options.Delimiter;
        if (_delimiter is '"' or '\r' or '\n')
            throw new ArgumentException($"The delimiter cannot be a quote or a line break; got {Show(_delimiter)}.", nameof(options));
        _stops = SearchValues.Create([_delimiter, '\n', '\r', '"']);
        string[] columns;
        (Role[], int[], string[], string[], string?) assignment;
        try
        {
            columns = ReadHeader();
            assignment = Assign(columns, options, name);
        }
        catch
        {
            if (ownsReader) reader.Dispose();
            throw;
        }
        Columns = columns;
        (_roles, _slots, FeatureColumns, TargetColumns, LabelColumn) = assignment;
    }

    private static StreamReader Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"CSV file '{path}' does not exist.", path);
        return new StreamReader(path, Encoding.UTF8, detectEncodingFromByteOrderMarks: true,
            new FileStreamOptions { Access = FileAccess.Read, Share = FileShare.Read, BufferSize = 1 << 16, Options = FileOptions.SequentialScan });
    }

    /// <summary>The source's name in messages (the path).</summary>
    public string Name { get; }
    public CsvOptions Options { get; }
    /// <summary>Every column's name, in file order.</summary>
    public IReadOnlyList<string> Columns { get; }
    /// <summary>The feature columns, in the order their values are written to a row's features.</summary>
    public IReadOnlyList<string> FeatureColumns { get; }
    /// <summary>The target columns, in the order their values are written to a row's targets.</summary>
    public IReadOnlyList<string> TargetColumns { get; }
    /// <summary>The label column, or null.</summary>
    public string? LabelColumn { get; }
    /// <summary>Data rows read so far.</summary>
    public long Rows { get; private set; }
    /// <summary>The line the last row read started on.</summary>
    public long Line { get; private set; }

    /// <summary>Reads the next data row: its features into <paramref name="features"/> (<see cref="FeatureColumns"/>
    /// values), its targets into <paramref name="targets"/> (<see cref="TargetColumns"/> values) and its label (−1
    /// without a label column). Returns false at the end of the data.</summary>
    /// <exception cref="InvalidDataException">The row is malformed; the message names the line, the column and what was expected.</exception>
    public bool ReadRow(Span<float> features, Span<float> targets, out int label)
    {
        if (features.Length != FeatureColumns.Count || targets.Length != TargetColumns.Count)
            throw new ArgumentException(
                $"A row of '{Name}' has {FeatureColumns.Count} features and {TargetColumns.Count} targets; the spans hold {features.Length} and {targets.Length}.");
        label = -1;
        long start;
        do
        {
            if (_atEnd) return false;
            start = _line;
        }
        while (SkipEmptyLine());
        Line = start;
        int column = 0;
        bool more = true;
        while (more)
        {
            long fieldLine = _line;
            more = NextField(column);
            if (column < _roles.Length)
            {
                switch (_roles[column])
                {
                    case Role.Feature: features[_slots[column]] = Number(column, fieldLine); break;
                    case Role.Target: targets[_slots[column]] = Number(column, fieldLine); break;
                    case Role.Label: label = Label(column, fieldLine); break;
                }
            }
            column++;
        }
        if (column != Columns.Count)
            throw Error(start, $" has {column} field{(column == 1 ? "" : "s")}; {(Options.HasHeader ? "the header has" : "the first row has")} {Columns.Count} (columns {string.Join(", ", Columns)})");
        Rows++;
        return true;
    }

    public void Dispose()
    {
        if (_ownsReader) _reader.Dispose();
    }

    // ---- fields ---------------------------------------------------------------------------------------------------

    /// <summary>Consumes an empty line (LF or CRLF right away) and returns true; false (consuming nothing) otherwise.
    /// Sets <see cref="_atEnd"/> at the end of the input.</summary>
    private bool SkipEmptyLine()
    {
        int c = Peek();
        if (c < 0)
        {
            _atEnd = true;
            return true;
        }
        if (c == '\n')
        {
            Take();
            _line++;
            return true;
        }
        if (c == '\r')
        {
            Take();
            if (Peek() == '\n') Take();
            _line++;
            return true;
        }
        return false;
    }

    /// <summary>Reads one field into <see cref="_field"/>; returns true when another field of the record follows, false
    /// at the end of the record (its line break consumed) or of the input.</summary>
    private bool NextField(int column)
    {
        _fieldLength = 0;
        if (Peek() == '"')
        {
            long openedOn = _line;
            Take();
            while (true)
            {
                int c = Take();
                if (c < 0) throw Error(openedOn, $"{Where(column)}: the quoted field opened on this line is not closed before the end of the file");
                if (c == '"')
                {
                    if (Peek() == '"')
                    {
                        Take();
                        Append('"');
                        continue;
                    }
                    break;
                }
                if (c == '\n') _line++;
                else if (c == '\r' && Peek() != '\n') _line++;
                Append((char)c);
            }
            int after = Take();
            if (after == _delimiter) return true;
            if (EndOfRecord(after)) return false;
            throw Error(_line, $"{Where(column)}: {Show((char)after)} after a closing quote; expected {Show(_delimiter)} or the end of the line");
        }
        while (true)
        {
            // The field's characters up to the next delimiter, line break or quote, copied in one piece.
            if (_bufferPosition == _bufferLength && !Fill()) return !EndOfRecord(-1);
            ReadOnlySpan<char> rest = _buffer.AsSpan(_bufferPosition, _bufferLength - _bufferPosition);
            int stop = rest.IndexOfAny(_stops);
            Append(stop < 0 ? rest : rest[..stop]);
            _bufferPosition += stop < 0 ? rest.Length : stop;
            if (stop < 0) continue;
            int c = Take();
            if (c == _delimiter) return true;
            if (EndOfRecord(c)) return false;
            if (c == '"') throw Error(_line, $"{Where(column)}: a quote inside an unquoted field ('{new string(_field, 0, _fieldLength)}\"…'); quote the whole field and double the quote");
            Append((char)c);
        }
    }

    /// <summary>True for the end of the input or a line break (consuming LF after CR).</summary>
    private bool EndOfRecord(int c)
    {
        if (c < 0)
        {
            _atEnd = true;
            return true;
        }
        if (c == '\n')
        {
            _line++;
            return true;
        }
        if (c == '\r')
        {
            if (Peek() == '\n') Take();
            _line++;
            return true;
        }
        return false;
    }

    private void Append(ReadOnlySpan<char> chars)
    {
        if (_fieldLength + chars.Length > _field.Length) Array.Resize(ref _field, Math.Max(_field.Length * 2, _fieldLength + chars.Length));
        chars.CopyTo(_field.AsSpan(_fieldLength));
        _fieldLength += chars.Length;
    }

    private void Append(char c)
    {
        if (_fieldLength == _field.Length) Array.Resize(ref _field, _field.Length * 2);
        _field[_fieldLength++] = c;
    }

    private int Peek()
    {
        if (_bufferPosition == _bufferLength && !Fill()) return -1;
        return _buffer[_bufferPosition];
    }

    private int Take()
    {
        if (_bufferPosition == _bufferLength && !Fill()) return -1;
        return _buffer[_bufferPosition++];
    }

    private bool Fill()
    {
        _bufferLength = _reader.Read(_buffer, 0, _buffer.Length);
        _bufferPosition = 0;
        return _bufferLength > 0;
    }

    // ---- values ---------------------------------------------------------------------------------------------------

    private float Number(int column, long line)
    {
        ReadOnlySpan<char> text = _field.AsSpan(0, _fieldLength).Trim();
        if (text.IsEmpty) throw Cell(line, column, "is empty: a missing value; expected a number");
        if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out float value) || !float.IsFinite(value))
            throw Cell(line, column, $"is '{Clip(text)}'; expected a finite number (e.g. 1.5 or -2e-3)");
        return value;
    }

    private int Label(int column, long line)
    {
        ReadOnlySpan<char> text = _field.AsSpan(0, _fieldLength).Trim();
        if (text.IsEmpty) throw Cell(line, column, "is empty: a missing label; expected a class number (a whole number >= 0)");
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < 0)
        {
            // Accept "3.0" (a float column of whole numbers), nothing else.
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || d < 0 || d != Math.Floor(d) || d > int.MaxValue)
                throw Cell(line, column, $"is '{Clip(text)}'; expected a class number (a whole number >= 0)");
            value = (int)d;
        }
        if (Options.Classes is int classes && value >= classes)
            throw Cell(line, column, $"is {value}; expected a class in [0, {classes})");
        return value;
    }

    private static string Clip(ReadOnlySpan<char> text) => text.Length <= 40 ? text.ToString() : string.Concat(text[..40], "…");

    private static string Show(char c) => c switch { '\t' => "a tab", '\r' => "a carriage return", '\n' => "a line feed", _ => $"'{c}'" };

    private InvalidDataException Cell(long line, int column, string message) =>
        new($"{Name}: line {line}, column {column + 1} ('{Columns[column]}') {message}.");

    private InvalidDataException Error(long line, string message) => new($"{Name}: line {line}{message}.");

    /// <summary>"column N ('name')", or "column N" in the header or past the last column.</summary>
    private string Where(int column) =>
        Columns is not null && column < Columns.Count ? $", column {column + 1} ('{Columns[column]}')" : $", column {column + 1}";

    // ---- header and columns ---------------------------------------------------------------------------------------

    private string[] ReadHeader()
    {
        if (Peek() == '\uFEFF') Take();   // a byte-order mark a TextReader left in
        while (!_atEnd && SkipEmptyLine()) { }
        if (_atEnd)
            throw new InvalidDataException($"{Name}: the file is empty; expected {(Options.HasHeader ? "a header line naming the columns" : "rows of numbers")}.");
        var fields = new List<string>();
        long line = _line;
        if (!Options.HasHeader)
        {
            // Count the first record's fields without consuming it: buffer it as text, then read it again as data.
            return CountFirstRecord();
        }
        bool more = true;
        while (more)
        {
            more = NextField(fields.Count);
            fields.Add(new string(_field, 0, _fieldLength).Trim());
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < fields.Count; i++)
        {
            if (fields[i].Length == 0) throw new InvalidDataException($"{Name}: line {line}, column {i + 1} of the header is empty; every column needs a name.");
            if (!seen.Add(fields[i])) throw new InvalidDataException($"{Name}: line {line}: the header names column '{fields[i]}' twice (columns {fields.IndexOf(fields[i]) + 1} and {i + 1}).");
        }
        return fields.ToArray();
    }

    private string[] CountFirstRecord()
    {
        // The first record is re-read as data afterwards: everything up to its end is in the buffer (a first record
        // longer than the buffer is refused rather than buffered without bound).
        if (_bufferPosition == _bufferLength) Fill();
        int count = 1;
        bool inQuotes = false;
        for (int i = _bufferPosition; i < _bufferLength; i++)
        {
            char c = _buffer[i];
            if (c == '"') inQuotes = !inQuotes;
            else if (!inQuotes && c == _delimiter) count++;
            else if (!inQuotes && (c == '\n' || c == '\r')) return Enumerable.Range(1, count).Select(n => n.ToString(CultureInfo.InvariantCulture)).ToArray();
        }
        if (_bufferLength < _buffer.Length) return Enumerable.Range(1, count).Select(n => n.ToString(CultureInfo.InvariantCulture)).ToArray();
        throw new InvalidDataException($"{Name}: line 1 is longer than {_buffer.Length} characters; without a header the first row must fit in the read buffer.");
    }

    private static (Role[], int[], string[], string[], string?) Assign(string[] columns, CsvOptions options, string name)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < columns.Length; i++) index[columns[i]] = i;
        var roles = new Role[columns.Length];
        var slots = new int[columns.Length];
        var assigned = new string?[columns.Length];
        int Find(string column, string role)
        {
            if (!index.TryGetValue(column, out int i))
                throw new ArgumentException($"{name}: there is no column '{column}' for the {role}; the columns are: {string.Join(", ", columns)}.");
            if (assigned[i] is { } other)
                throw new ArgumentException($"{name}: column '{column}' cannot be both the {other} and the {role}.");
            assigned[i] = role;
            return i;
        }
        string? label = null;
        if (options.LabelColumn is { } l)
        {
            roles[Find(l, "label")] = Role.Label;
            label = l;
        }
        if (options.Classes is <= 0) throw new ArgumentOutOfRangeException(nameof(options), options.Classes, "Classes must be at least 1.");
        var targets = new List<string>();
        foreach (string t in options.TargetColumns ?? [])
        {
            int i = Find(t, "target");
            roles[i] = Role.Target;
            slots[i] = targets.Count;
            targets.Add(t);
        }
        foreach (string ignored in options.IgnoreColumns ?? []) Find(ignored, "ignored column");
        var features = new List<string>();
        if (options.FeatureColumns is { } chosen)
        {
            foreach (string f in chosen)
            {
                int i = Find(f, "feature");
                roles[i] = Role.Feature;
                slots[i] = features.Count;
                features.Add(f);
            }
        }
        else
        {
            for (int i = 0; i < columns.Length; i++)
            {
                if (assigned[i] is not null) continue;
                roles[i] = Role.Feature;
                slots[i] = features.Count;
                features.Add(columns[i]);
            }
        }
        if (features.Count == 0) throw new ArgumentException($"{name}: no feature columns are left (columns: {string.Join(", ", columns)}).");
        return (roles, slots, features.ToArray(), targets.ToArray(), label);
    }
}
