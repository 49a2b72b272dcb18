using static Dl.Generators.Emit.Literals;

namespace Dl.Generators.Emit;

/// <summary>How generated code reaches the elements of a <see cref="Buffer"/>. <see cref="Unchecked"/> (the default):
/// each buffer is a <c>ref float</c> into its array and accesses are <c>Unsafe.Add</c> and <c>Vector256.LoadUnsafe</c>,
/// with no bounds checks. <see cref="Checked"/> (the MSBuild property <c>DlCheckedKernels</c>, which the tests set):
/// each buffer is a <c>Span&lt;float&gt;</c> sliced from its array to exactly the buffer's extent for this call
/// (per-sample size × batch, or its literal size), and every element, vector and sub-span goes through the span, so
/// an index outside the buffer throws IndexOutOfRangeException or ArgumentOutOfRangeException where it happens instead
/// of reading or writing another buffer's memory. The steps print the same in both modes; only these forms differ.</summary>
internal abstract class BufferAccess
{
    public static readonly BufferAccess Unchecked = new RefAccess();
    public static readonly BufferAccess Checked = new SpanAccess();

    /// <summary>The statements that declare the buffers of one Run method (the method's parameters are
    /// <c>ref float input</c>, <c>ref float target</c> and <c>int batch</c>); <paramref name="grads"/> is the gradient array.</summary>
    public abstract void Declare(SourceWriter w, System.Collections.Generic.IReadOnlyList<Buffer> used, string grads);

    /// <summary>An element as an assignable expression.</summary>
    public abstract string Element(Buffer b, string index);

    /// <summary>A writable span of <paramref name="length"/> elements from <paramref name="offset"/>.</summary>
    public abstract string Span(Buffer b, string offset, string length);

    /// <summary>A read-only span of <paramref name="length"/> elements from <paramref name="offset"/>.</summary>
    public abstract string ReadSpan(Buffer b, string offset, string length);

    /// <summary>The 8 floats from <paramref name="offset"/> as a Vector256.</summary>
    public abstract string Load(Buffer b, string offset);

    /// <summary>A statement-expression storing <paramref name="value"/> into the 8 floats from <paramref name="offset"/>.</summary>
    public abstract string Store(string value, Buffer b, string offset);

    /// <summary>The buffer's shape, and its name when the identifier had to differ from it.</summary>
    protected static string Comment(Buffer b) =>
        $"// {(b.Ref == b.Name || b.Ref == "d_" + b.Name.Substring(1) ? "" : b.Name + " ")}{(b.Batched ? "[B, " + b.PerSample + "]" : "[" + b.PerSample + "]")}";

    /// <summary><paramref name="start"/> moved by <paramref name="offset"/> elements (none when 0).</summary>
    private static string Add(string start, string offset) => offset == "0" ? $"ref {start}" : $"ref {Unsafe}.Add(ref {start}, {offset})";

    private sealed class RefAccess : BufferAccess
    {
        public override void Declare(SourceWriter w, System.Collections.Generic.IReadOnlyList<Buffer> used, string grads)
        {
            bool Any(Space s) { foreach (var b in used) if (b.Space == s) return true; return false; }
            if (Any(Space.Batched)) w.Line($"ref float arena = ref {Unsafe}.Add(ref {Marshal}.GetArrayDataReference(_arena), _arenaStart);");
            if (Any(Space.Fixed)) w.Line($"ref float fixedArena = ref {Unsafe}.Add(ref {Marshal}.GetArrayDataReference(_fixed), _fixedStart);");
            if (Any(Space.Params)) w.Line($"ref float parameters = ref {Marshal}.GetArrayDataReference(_params);");
            if (Any(Space.Grads)) w.Line($"ref float gradients = ref {Marshal}.GetArrayDataReference({grads});");
            if (Any(Space.State)) w.Line($"ref float state = ref {Marshal}.GetArrayDataReference(_state);");
            bool scaled = false;
            foreach (var b in used) scaled |= b.Space == Space.Batched && b.Offset != 0;
            if (scaled) w.Line("int mb = _maxBatch;");
            foreach (var b in used)
            {
                string at = b.Space switch
                {
                    Space.Batched => Add("arena", b.Offset == 0 ? "0" : $"{b.Offset} * mb"),
                    Space.Fixed => Add("fixedArena", Int(b.Offset)),
                    Space.Params => Add("parameters", Int(b.Offset)),
                    Space.Grads => Add("gradients", Int(b.Offset)),
                    Space.State => Add("state", Int(b.Offset)),
                    Space.Input => Add("input", b.Offset == 0 ? "0" : $"{b.Offset} * batch"),
                    _ => "ref target",
                };
                w.Line($"ref float {b.Ref} = {at}; {Comment(b)}");
            }
        }

        public override string Element(Buffer b, string index) => index == "0" ? b.Ref : $"{Unsafe}.Add(ref {b.Ref}, {index})";
        public override string Span(Buffer b, string offset, string length) => $"{Marshal}.CreateSpan(ref {Element(b, offset)}, {length})";
        public override string ReadSpan(Buffer b, string offset, string length) => $"{Marshal}.CreateReadOnlySpan(ref {Element(b, offset)}, {length})";
        public override string Load(Buffer b, string offset) => $"{V256}.LoadUnsafe(ref {b.Ref}, (nuint)({offset}))";
        public override string Store(string value, Buffer b, string offset) => $"{V256}.StoreUnsafe({value}, ref {b.Ref}, (nuint)({offset}))";
    }

    private sealed class SpanAccess : BufferAccess
    {
        private const string AsSpan = "global::System.MemoryExtensions.AsSpan";
        private const string Access = "global::Dl.Kernels.CheckedAccess";

        public override void Declare(SourceWriter w, System.Collections.Generic.IReadOnlyList<Buffer> used, string grads)
        {
            w.Line("// Checked kernels (DlCheckedKernels): every buffer is a span of exactly its extent; every access is bounds-checked.");
            foreach (var b in used)
            {
                string length = new Extent(b.PerSample, b.Batched).ToString();
                string span = b.Space switch
                {
                    Space.Batched => $"{AsSpan}(_arena, _arenaStart{(b.Offset == 0 ? "" : $" + {b.Offset} * _maxBatch")}, {length})",
                    Space.Fixed => $"{AsSpan}(_fixed, _fixedStart{(b.Offset == 0 ? "" : $" + {b.Offset}")}, {length})",
                    Space.Params => $"{AsSpan}(_params, {b.Offset}, {length})",
                    Space.Grads => $"{AsSpan}({grads}, {b.Offset}, {length})",
                    Space.State => $"{AsSpan}(_state, {b.Offset}, {length})",
                    // The public members checked input.Length == batch * InputSize before passing its first element.
                    Space.Input => $"{Marshal}.CreateSpan(ref input, InputSize * batch).Slice({(b.Offset == 0 ? "0" : $"{b.Offset} * batch")}, {length})",
                    _ => $"{Marshal}.CreateSpan(ref target, {length})",
                };
                w.Line($"global::System.Span<float> {b.Ref} = {span}; {Comment(b)}");
            }
        }

        public override string Element(Buffer b, string index) => $"{b.Ref}[{index}]";
        public override string Span(Buffer b, string offset, string length) => offset == "0" ? $"{b.Ref}.Slice(0, {length})" : $"{b.Ref}.Slice({offset}, {length})";
        public override string ReadSpan(Buffer b, string offset, string length) => Span(b, offset, length);
        public override string Load(Buffer b, string offset) => $"{Access}.Load({b.Ref}, {offset})";
        public override string Store(string value, Buffer b, string offset) => $"{Access}.Store({value}, {b.Ref}, {offset})";
    }
}
