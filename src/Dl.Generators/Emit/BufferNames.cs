using System.Text;

namespace Dl.Generators.Emit;

/// <summary>The C# identifier of each buffer in generated code: its node's name made an identifier (<c>h1</c>,
/// <c>logits</c>, <c>enc_norm1_stats</c> for <c>enc.norm1.stats</c>), a gradient as <c>d_</c> + the node's name
/// (<c>d_h1</c>). Unique and deterministic: buffers are named in id order, and a name that is a C# keyword, a member or
/// local of the generated Run methods, or taken by an earlier buffer gets a suffix (<c>input_1</c>).</summary>
internal static class BufferNames
{
    /// <summary>Identifiers the Run methods declare or use besides the buffers (their parameters, the arena refs, loop
    /// and accumulator locals, the generated class's members they read): a buffer never takes one.</summary>
    private static readonly HashSet<string> Taken = new(System.StringComparer.Ordinal)
    {
        "input", "target", "batch", "lossScale", "lrNeg", "fusedSgd", "arena", "fixedArena", "parameters", "gradients",
        "state", "mb", "n", "i", "j", "o", "p", "r", "s", "sum", "acc", "busy", "label", "labels", "chunk",
    };

    public static void Assign(ProgramPlan plan)
    {
        var used = new HashSet<string>(System.StringComparer.Ordinal);
        var gradients = new HashSet<Buffer>();
        foreach (var g in plan.Gradients) if (g is not null) gradients.Add(g);
        foreach (var b in plan.Buffers)
        {
            bool gradient = b.Space == Space.Grads || gradients.Contains(b);
            string name = b.Name;
            if (gradient && name.Length > 1 && name[0] == 'd') name = "d_" + name.Substring(1);
            string id = Sanitize(name);
            if (Reserved(id)) id += "_1";
            string unique = id;
            for (int k = 2; !used.Add(unique); k++) unique = id + "_" + k;
            b.Ref = unique;
        }
    }

    private static bool Reserved(string id) =>
        Taken.Contains(id) || DeclarationChecks.GeneratedMembers.Contains(id) || IsKeyword(id) || IsLoopLocal(id);

    /// <summary>The loop-nest locals of element-wise steps: <c>i0</c>, <c>o1_0</c>, <c>t_0</c>.</summary>
    private static bool IsLoopLocal(string id)
    {
        int at = id.StartsWith("t_", System.StringComparison.Ordinal) ? 2 : id.Length > 1 && id[0] is 'i' or 'o' ? 1 : -1;
        if (at < 0 || at >= id.Length) return false;
        for (int c = at; c < id.Length; c++) if (!char.IsDigit(id[c]) && id[c] != '_') return false;
        return true;
    }

    /// <summary>ASCII letters, digits and '_'; anything else becomes '_'; a leading digit gets a leading '_'.</summary>
    private static string Sanitize(string name)
    {
        var text = new StringBuilder(name.Length + 1);
        foreach (char c in name) text.Append(c is >= 'a' and <= 'z' or >= 'A' and <= 'Z' or >= '0' and <= '9' or '_' ? c : '_');
        if (text.Length == 0 || char.IsDigit(text[0])) text.Insert(0, '_');
        return text.ToString();
    }

    // Reserved and contextual keywords: a contextual one (var, value, nameof, ...) is a legal local name but would change
    // what the generated code around it means.
    private static readonly HashSet<string> Keywords = new(System.StringComparer.Ordinal)
    {
        "abstract", "as", "base", "bool", "break", "byte", "case", "catch", "char", "checked", "class", "const", "continue",
        "decimal", "default", "delegate", "do", "double", "else", "enum", "event", "explicit", "extern", "false", "finally",
        "fixed", "float", "for", "foreach", "goto", "if", "implicit", "in", "int", "interface", "internal", "is", "lock",
        "long", "namespace", "new", "null", "object", "operator", "out", "override", "params", "private", "protected",
        "public", "readonly", "ref", "return", "sbyte", "sealed", "short", "sizeof", "stackalloc", "static", "string",
        "struct", "switch", "this", "throw", "true", "try", "typeof", "uint", "ulong", "unchecked", "unsafe", "ushort",
        "using", "virtual", "void", "volatile", "while", "add", "alias", "and", "args", "ascending", "async", "await", "by",
        "descending", "dynamic", "equals", "field", "file", "from", "get", "global", "group", "init", "into", "join", "let",
        "managed", "nameof", "nint", "not", "notnull", "nuint", "on", "or", "orderby", "partial", "record", "remove",
        "required", "scoped", "select", "set", "unmanaged", "value", "var", "when", "where", "with", "yield",
    };

    private static bool IsKeyword(string id) => Keywords.Contains(id);
}
