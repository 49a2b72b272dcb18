using System;
using System.Text;

namespace Dl.Generators.Emit;

/// <summary>An indented text writer with block scopes: <c>using (w.Block("for (...)")) { ... }</c>.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder _text = new();
    private int _indent;

    /// <summary>How the steps printed into this writer reach buffer elements (checked or not).</summary>
    public BufferAccess Access { get; init; } = BufferAccess.Unchecked;

    /// <summary>Writes one line. A line with a <c>//</c> comment gets every line break of C# in it made a space
    /// (<see cref="Literals.Comment"/>): comments print user text (layer names), and a break would end the comment early.
    /// String literals never hold a raw break (<see cref="Literals.String"/> escapes them), so code is not changed.</summary>
    public void Line(string line = "")
    {
        if (line.IndexOf("//", StringComparison.Ordinal) >= 0) line = Literals.Comment(line);
        if (line.Length > 0 && _indent * 4 + line.Length > MaxWidth)
        {
            Wrapped(line);
            return;
        }
        if (line.Length > 0) _text.Append(' ', _indent * 4).Append(line);
        _text.Append('\n');
    }

    /// <summary>Lines longer than this are wrapped (code only: a string literal or a comment is never split).</summary>
    public const int MaxWidth = 160;

    /// <summary>Prints a long line as several: it breaks after a comma, after the <c>)</c> of a statement header or
    /// before a binary <c>+</c>, choosing among the breaks that keep the line within <see cref="MaxWidth"/> the one
    /// least nested in parentheses (the latest of those), so an argument list wraps at its own commas before those
    /// of its arguments. Continuation lines are indented one level deeper.</summary>
    private void Wrapped(string line)
    {
        var breaks = Breaks(line, out var depths);
        int start = 0, width = MaxWidth - _indent * 4, extra = 0;
        while (true)
        {
            int room = width - extra;
            string rest = line.Substring(start);
            if (rest.Length <= room || breaks.Count == 0) { Emit(rest, extra); return; }
            // A statement's left side is never split when its "=" fits: the breaks start there.
            int from = start;
            for (int k = 0; k < breaks.Count; k++)
            {
                int at = breaks[k];
                if (at <= start || at - start > room || depths[k] == 0) { if (depths[k] == 0 && at > start && at - start <= room) break; continue; }
                if (line[at - 1] == '=') { from = at - 1; break; }
            }
            int best = -1, bestDepth = int.MaxValue;
            for (int k = 0; k < breaks.Count; k++)
            {
                int at = breaks[k];
                if (at <= from) continue;
                if (at - start > room) break;
                int weight = depths[k];
                // An assignment breaks only when its right side then fits on the next line ("acc +=" alone helps no one).
                if (line[at - 1] == '=' && line.Length - at > width - 8) weight += 1000;
                if (weight <= bestDepth) { best = at; bestDepth = weight; }
            }
            if (best < 0)
            {
                // No break fits: take the first one after the start (an overlong piece beats none).
                for (int k = 0; k < breaks.Count; k++) if (breaks[k] > start) { best = breaks[k]; bestDepth = depths[k]; break; }
                if (best < 0) { Emit(rest, extra); return; }
            }
            Emit(line.Substring(start, best - start).TrimEnd(), extra);
            start = best;
            while (start < line.Length && line[start] == ' ') start++;
            // The body after a statement header is one level in; a continuation of an expression one more.
            extra = bestDepth == 0 ? 4 : extra == 0 ? 4 : 8;
            if (extra == 8 && !HasHeaderBreak(breaks, depths, start)) extra = 4;
        }
    }

    private static bool HasHeaderBreak(System.Collections.Generic.List<int> breaks, System.Collections.Generic.List<int> depths, int before)
    {
        for (int k = 0; k < breaks.Count && breaks[k] < before; k++) if (depths[k] == 0) return true;
        return false;
    }

    private void Emit(string piece, int extra) => _text.Append(' ', _indent * 4 + extra).Append(piece).Append('\n');

    /// <summary>Where <paramref name="line"/> may break (the index the next piece starts at) and its weight (lower is
    /// preferred: 0 after a statement header, then by parenthesis depth); none inside string or character literals or in a
    /// trailing comment.</summary>
    private static System.Collections.Generic.List<int> Breaks(string line, out System.Collections.Generic.List<int> depths)
    {
        var breaks = new System.Collections.Generic.List<int>();
        depths = new System.Collections.Generic.List<int>();
        int depth = 0;
        bool header = IsHeader(line);
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c is '"' or '\'')
            {
                for (i++; i < line.Length && line[i] != c; i++) if (line[i] == '\\') i++;
                continue;
            }
            if (c == '/' && i + 1 < line.Length && line[i + 1] == '/') break;
            if (c is '(' or '[' or '{') depth++;
            else if (c is ')' or ']' or '}')
            {
                depth--;
                // "for (...) body", "if (...) body": the body may start a line of its own.
                if (header && depth == 0 && c == ')')
                {
                    header = false;   // only the header's own closing parenthesis
                    if (i + 1 < line.Length && line[i + 1] == ' ') { breaks.Add(i + 1); depths.Add(0); }
                }
            }
            // Weights: a statement's assignment (its right side on the next line) first, then commas, then a sum's terms; inner parentheses after outer.
            else if (c == '=' && depth == 0 && i > 0 && i + 1 < line.Length && line[i + 1] == ' ' && (line[i - 1] == ' ' || line[i - 1] is '+' or '-' or '*' && i > 1 && line[i - 2] == ' '))
            { breaks.Add(i + 1); depths.Add(2 * depth + 1); }
            else if (c == ',' && i + 1 < line.Length && line[i + 1] == ' ') { breaks.Add(i + 1); depths.Add(2 * depth + 2); }
            else if (c == '+' && i > 0 && line[i - 1] == ' ' && i + 1 < line.Length && line[i + 1] == ' ') { breaks.Add(i); depths.Add(2 * depth + 3); }
        }
        return breaks;
    }

    private static bool IsHeader(string line) =>
        line.StartsWith("for (", StringComparison.Ordinal) || line.StartsWith("if (", StringComparison.Ordinal)
        || line.StartsWith("foreach (", StringComparison.Ordinal) || line.StartsWith("while (", StringComparison.Ordinal);

    /// <summary>Writes <paramref name="text"/> as it is, unindented and unwrapped (code copied from the user, whose string
    /// literals may span lines), and a line break.</summary>
    public void Raw(string text) => _text.Append(text).Append('\n');

    public IDisposable Block(string header)
    {
        if (header.Length > 0) Line(header);
        Line("{");
        _indent++;
        return new Closer(this);
    }

    private sealed class Closer(SourceWriter writer) : IDisposable
    {
        public void Dispose()
        {
            writer._indent--;
            writer.Line("}");
        }
    }

    public override string ToString() => _text.ToString();
}
