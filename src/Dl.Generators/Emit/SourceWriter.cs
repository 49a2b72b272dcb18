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
        if (line.Length > 0) _text.Append(' ', _indent * 4).Append(line);
        _text.Append('\n');
    }

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
