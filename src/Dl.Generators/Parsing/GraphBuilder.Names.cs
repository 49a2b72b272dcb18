namespace Dl.Generators.Parsing;

internal sealed partial class GraphBuilder
{
    /// <summary>A layer's name, checked: a constant, non-empty string of letters, digits, '_' and '-', in parts joined by
    /// '.'. It becomes the prefix of the layer's parameter names (<c>name.weight</c>, as in PyTorch's state dicts) and
    /// appears in summaries, graphs (DOT, Mermaid) and checkpoints, where spaces, quotes or line breaks would break them.</summary>
    internal static string LayerName(object? value, SyntaxNode at, string op)
    {
        if (value is not string name) throw Invalid(at, op, "the layer needs a constant name");
        if (name.Length == 0) throw Invalid(at, op, "the layer needs a non-empty name");
        foreach (char c in name)
            if (!(char.IsLetterOrDigit(c) || c is '_' or '-' or '.'))
                throw Invalid(at, op, $"the layer name contains {(c is > ' ' and < (char)127 ? "'" + c + "'" : $"U+{(int)c:X4}")}; " +
                    "a layer name is letters, digits, '_' and '-', in parts joined by '.'");
        if (name[0] == '.' || name[name.Length - 1] == '.' || name.Contains(".."))
            throw Invalid(at, op, $"the layer name '{name}' has an empty part; parts are joined by single dots, as in 'block1.conv'");
        return name;
    }
}
