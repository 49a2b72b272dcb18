using System.Text;

namespace Dl.Generators.Diagnostics;

/// <summary>The text of diagnostic messages: one line each (a build log, an IDE's error list and a CI annotation show
/// the first line of a message, or break the message across lines), quoted code short enough to read, operators and
/// axes named as the user knows them.</summary>
internal static class MessageText
{
    /// <summary>Longest quoted code fragment, in characters; longer ones end with an ellipsis.</summary>
    public const int MaxQuote = 80;

    /// <summary>A fragment of model code as a message quotes it: its tokens without comments, each run of whitespace
    /// (line breaks of any kind, tabs) one space, at most <see cref="MaxQuote"/> characters.</summary>
    public static string Code(SyntaxNode node)
    {
        var text = new StringBuilder();
        foreach (var token in node.DescendantTokens())
        {
            if (text.Length > 0 && (token.HasLeadingTrivia || token.GetPreviousToken().HasTrailingTrivia)) text.Append(' ');
            text.Append(token.Text);
        }
        string line = OneLine(text.ToString());
        return line.Length <= MaxQuote ? line : line.Substring(0, MaxQuote - 1).TrimEnd() + "…";
    }

    /// <summary><paramref name="text"/> with each run of whitespace (\r, \n, U+0085, U+2028, U+2029, tabs, …) one space.</summary>
    public static string OneLine(string text)
    {
        var line = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (!char.IsWhiteSpace(c)) line.Append(c);
            else if (line.Length > 0 && line[line.Length - 1] != ' ') line.Append(' ');
        }
        return line.ToString().TrimEnd();
    }

    /// <summary>The name of an op as model code writes it: <c>operator +</c> for <c>op_Addition</c>, <c>unary operator -</c>
    /// for <c>op_UnaryNegation</c>, a method's own name otherwise.</summary>
    public static string OpName(ISymbol symbol)
    {
        if (symbol is not IMethodSymbol { MethodKind: MethodKind.UserDefinedOperator } op) return symbol.Name;
        string text = SyntaxFacts.GetText(SyntaxFacts.GetOperatorKind(op.MetadataName));
        if (text.Length == 0) return symbol.Name;
        return (op.Parameters.Length == 1 ? "unary operator " : "operator ") + text;
    }

    /// <summary>A per-sample axis, unambiguous about the batch: shapes in messages are per sample and B, the batch, comes
    /// first, so "axis 0" alone could mean B.</summary>
    public static string Axis(int axis) =>
        axis < 0 ? $"per-sample axis {axis}" : $"per-sample axis {axis} (the {(axis < Ordinals.Length ? Ordinals[axis] : axis + 1 + "th")} after the batch B)";

    private static readonly string[] Ordinals = { "first", "second", "third", "fourth", "fifth" };
}
