using System.Globalization;
using System.Text;

namespace Dl.Tests.Fuzz;

/// <summary>Random model sources from a grammar of the library's layers, ops and attributes. Most are valid models (the
/// grammar tracks each value's per-sample shape and picks ops that fit it); about one in four is slightly wrong: a
/// mismatched shape, an odd layer or parameter name (line breaks, quotes, keywords), a huge size, an odd declaration
/// (abstract, readonly [Param], ref input, members named like generated ones, namespaces named like aliases), a long loop,
/// an impossible convolution or pooling, a group count that does not divide the channels, a non-finite initializer. The
/// ops include this wave's: SiLU, ELU, Softplus, Clamp, Hardtanh, Where, Detach, n-ary Concat and Stack (negative axes),
/// MaxPool1d/AvgPool1d, GroupNorm, ConvTranspose2d, and bias-free, bidirectional and variable-length recurrences. The same seed gives the same source.</summary>
internal sealed class ModelSourceGrammar
{
    private readonly Random _r;
    private readonly List<string> _members = new();
    private readonly StringBuilder _body = new();
    private int _names, _locals;
    private string _namespace = "", _classModifiers = "partial", _inputModifier = "", _forwardGeneric = "";

    /// <summary>What the source was built to be: a model the generator should accept (valid) or not.</summary>
    public bool Mutated { get; private set; }

    private ModelSourceGrammar(int seed) => _r = new Random(seed);

    /// <summary>The model source for <paramref name="seed"/> (usings not included); <paramref name="mutated"/>: whether a
    /// mutation was applied (the source may still be valid).</summary>
    public static string Generate(int seed, out bool mutated)
    {
        var g = new ModelSourceGrammar(seed);
        string source = g.Build();
        mutated = g.Mutated;
        return source;
    }

    private bool Chance(double p) => _r.NextDouble() < p;
    private T Pick<T>(params T[] items) => items[_r.Next(items.Length)];
    private string Local() => "h" + _locals++;

    private string LayerName()
    {
        string name = "l" + _names++;
        if (!Chance(0.06)) return name;
        Mutated = true;
        return Pick(name + "\\n1", name + "\\r", name + "\\u0085x", name + "\\u2028", name + "\\u2029", name + "\\\"q", name + "\\\\",
            "if", "class", "", name + " \\t sp", "l0", "ünï", name + ".weight");
    }

    private int Size(int max)
    {
        if (Chance(0.02)) { Mutated = true; return Pick(0, -1, 2147483647, 65536, 100000); }
        return _r.Next(1, max + 1);
    }

    private string Build()
    {
        if (Chance(0.25)) Mutate();
        var (inputDims, x) = Input();
        string input = "x";
        var dims = inputDims;
        int steps = _r.Next(1, 6);
        string current = input;
        for (int i = 0; i < steps; i++)
        {
            if (dims.Any(d => d <= 0 || d > 4096)) break;   // a mutated size: the generator must refuse it, nothing to build on
            var (expr, next) = Step(current, dims);
            if (expr is null) continue;
            string local = Local();
            _body.Append($"        var {local} = {expr};\n");
            current = local; dims = next;
        }
        if (Chance(0.05)) Loop(ref current, dims);
        // The head: a vector of the loss target's size.
        bool labels = Chance(0.4);
        int outputs = labels ? _r.Next(2, 6) : _r.Next(1, 6);
        string flat = dims.Length > 1 ? $"Flatten({current})" : dims.Length == 0 ? $"Reshape({current}, 1)" : current;
        string head = $"Linear({flat}, {outputs}, \"head\")";
        int targetSize = outputs;
        if (Chance(0.04)) { Mutated = true; targetSize = outputs + 1; }   // a target that does not fit
        _body.Append($"        return {head};\n");
        string target = labels ? $"[Labels({targetSize})] Tensor t" : $"[Shape({targetSize})] Tensor t";
        string loss = labels ? "SoftmaxCrossEntropy(y, t)" : Pick("MseLoss(y, t)", "HalfSquaredError(y, t)");

        var text = new StringBuilder();
        if (_namespace.Length > 0) text.Append("namespace ").Append(_namespace).Append(";\n");
        text.Append($"[Model] {_classModifiers} class M\n{{\n");
        foreach (var m in _members) text.Append("    ").Append(m).Append('\n');
        text.Append($"    [Forward] Tensor Forward{_forwardGeneric}({x} {_inputModifier}Tensor x)\n    {{\n").Append(_body).Append("    }\n");
        if (!Chance(0.03)) text.Append($"    [Loss] Tensor Loss(Tensor y, {target}) => {loss};\n");
        text.Append("}\n");
        return text.ToString();
    }

    private (int[] Dims, string Attribute) Input()
    {
        switch (_r.Next(4))
        {
            case 0:
            case 1:
                int n = Size(12);
                return (new[] { n }, $"[Shape({n})]");
            case 2:
                int t = _r.Next(1, 6), d = Size(8);
                return (new[] { t, d }, $"[Shape({t}, {d})]");
            default:
                int c = _r.Next(1, 3), h = _r.Next(3, 9), w = _r.Next(3, 9);
                if (Chance(0.02)) { Mutated = true; return (new[] { 100000, 100000 }, "[Shape(100000, 100000)]"); }
                return (new[] { c, h, w }, $"[Shape({c}, {h}, {w})]");
        }
    }

    /// <summary>One op applied to a value of per-sample shape <paramref name="dims"/>; null when none was chosen.</summary>
    private (string? Expr, int[] Dims) Step(string v, int[] dims)
    {
        int rank = dims.Length;
        int last = rank == 0 ? 1 : dims[rank - 1];
        switch (_r.Next(20))
        {
            case 0 when rank is 1 or 2:
            {
                int k = Size(10);
                string bias = Chance(0.2) ? ", bias: false" : "";
                var next = (int[])dims.Clone(); next[rank - 1] = k;
                return ($"Linear({v}, {k}, \"{LayerName()}\"{bias})", next);
            }
            case 1:
                return ($"{Pick("Relu", "Sigmoid", "Tanh", "Gelu", "Square", "Abs")}({v})", dims);
            case 2:
                return (Pick($"{v} + {v}", $"{v} * 0.5f", $"1f - {v}", $"-{v}", $"{v} / 2f", $"LeakyRelu({v}, 0.1f)"), dims);
            case 3:
            {
                string field = Field(dims);
                return (Pick($"{v} * {field}", $"{v} + {field}", $"{field} - {v}"), dims);
            }
            case 4 when rank >= 1:
                return ($"Concat({v}, {v})", dims.Take(rank - 1).Append(last * 2).ToArray());
            case 5 when rank >= 1 && dims[0] >= 2:
            {
                int a = _r.Next(0, dims[0] - 1), b = _r.Next(a + 1, dims[0] + 1);
                if (Chance(0.3)) return ($"{v}[^1]", dims.Skip(1).ToArray());
                if (Chance(0.3)) return ($"{v}[{a}]", dims.Skip(1).ToArray());
                return ($"{v}[{a}..{b}]", new[] { b - a }.Concat(dims.Skip(1)).ToArray());
            }
            case 6 when rank >= 1:
                return (Pick($"Softmax({v})", $"LogSoftmax({v})", $"LayerNorm({v}, \"{LayerName()}\")"), dims);
            case 7 when rank == 2:
            {
                int k = _r.Next(1, 7);
                string cell = Pick("Rnn", "Gru", "Lstm");
                return ($"{cell}({v}, {k}, \"{LayerName()}\")", new[] { dims[0], k });
            }
            case 8 when rank == 2:
            {
                int heads = Pick(1, 2);
                if (dims[1] % heads != 0 && !Chance(0.1)) heads = 1;
                if (dims[1] % heads != 0) Mutated = true;
                return ($"SelfAttention({v}, {heads}, \"{LayerName()}\")", dims);
            }
            case 9 when rank == 3:
            {
                int oc = _r.Next(1, 4), k = _r.Next(1, Math.Min(dims[1], dims[2]) + 1), pad = _r.Next(0, k);
                if (Chance(0.05)) { Mutated = true; pad = k; }
                int oh = dims[1] + 2 * pad - k + 1, ow = dims[2] + 2 * pad - k + 1;
                return ($"Conv2d({v}, {oc}, {k}, \"{LayerName()}\", padding: {pad})", new[] { oc, oh, ow });
            }
            case 10 when rank == 3 && dims[1] >= 2 && dims[2] >= 2:
                return (Pick($"MaxPool2d({v}, 2)", $"AvgPool2d({v}, 2)"), new[] { dims[0], dims[1] / 2, dims[2] / 2 });
            case 11 when rank == 3:
                return Chance(0.5) ? ($"BatchNorm({v}, \"{LayerName()}\")", dims) : ($"GlobalAvgPool2d({v})", new[] { dims[0] });
            case 12 when rank >= 2:
                // Flatten any rank, or transpose a matrix (the shape follows the op chosen).
                return Chance(0.5) || rank != 2 ? ($"Flatten({v})", new[] { dims.Aggregate(1, (a, b) => a * b) })
                    : ($"Transpose({v})", new[] { dims[1], dims[0] });
            case 13 when rank == 1 && dims[0] % 2 == 0:
                return ($"Reshape({v}, 2, {dims[0] / 2})", new[] { 2, dims[0] / 2 });
            case 13 when rank == 1 && Chance(0.1):
                Mutated = true;
                return ($"{v} + Concat({v}, {v})", dims);   // a shape mismatch
            case 14:
                return ($"{Pick("Silu", "Softplus", "Elu", "Hardtanh", "Detach")}({v})", dims);
            case 15:
                return (Pick($"Elu({v}, 0.5f)", $"Clamp({v}, -0.5f, 0.75f)", $"Hardtanh({v}, -2f, 1.5f)", $"{v} + Detach({v})",
                    $"Where(Step({v}), {v} * 2f, {v})", $"Where({v}, Tanh({v}), 0.25f)", $"Where(Step({v}), 1f, {Field(dims)})"), dims);
            case 16 when rank >= 1:
                return NaryConcat(v, dims);
            case 17 when rank == 2:
                return Pool1d(v, dims);
            case 18 when rank == 3:
                return Chance(0.4) ? GroupNorm(v, dims) : ConvTranspose2d(v, dims);
            case 19 when rank == 2:
                return Recurrence(v, dims);
            case 18 when rank is 1 or 2:
                return GroupNorm(v, dims);
            default:
                return (null, dims);
        }
    }

    /// <summary>Concat of three parts or Stack of two along a random axis, negative axes included.</summary>
    private (string?, int[]) NaryConcat(string v, int[] dims)
    {
        int rank = dims.Length;
        if (Chance(0.5))
        {
            int axis = _r.Next(-rank, rank);
            var next = (int[])dims.Clone(); next[axis < 0 ? axis + rank : axis] *= 3;
            return (Pick($"Concat([{v}, {v}, Relu({v})], {axis})", $"Concat([{v}, Detach({v}), {v}], {axis})"), next);
        }
        int at = _r.Next(-rank - 1, rank + 1);
        int position = at < 0 ? at + rank + 1 : at;
        return ($"Stack([{v}, Tanh({v})], {at})", dims.Take(position).Append(2).Concat(dims.Skip(position)).ToArray());
    }

    /// <summary>MaxPool1d/AvgPool1d of a sample [C, L], with stride and padding (at most half the kernel).</summary>
    private (string?, int[]) Pool1d(string v, int[] dims)
    {
        int length = dims[1], kernel = _r.Next(1, Math.Min(length, 4) + 1), stride = _r.Next(1, 3), padding = _r.Next(0, kernel / 2 + 1);
        if (Chance(0.04)) { Mutated = true; padding = kernel; }
        int outLength = (length + 2 * padding - kernel) / stride + 1;
        string op = Pick("MaxPool1d", "AvgPool1d");
        return ($"{op}({v}, {kernel}, {stride}, {padding})", new[] { dims[0], outLength });
    }

    /// <summary>GroupNorm with a group count that divides the channels (sometimes one that does not).</summary>
    private (string?, int[]) GroupNorm(string v, int[] dims)
    {
        int channels = dims[0];
        var divisors = Enumerable.Range(1, channels).Where(g => channels % g == 0).ToArray();
        int groups = divisors[_r.Next(divisors.Length)];
        if (Chance(0.04) && channels > 1) { Mutated = true; groups = channels + 1; }
        return ($"GroupNorm({v}, {groups}, \"{LayerName()}\")", dims);
    }

    /// <summary>ConvTranspose2d with stride, padding (smaller than the kernel) and output padding (smaller than the stride).</summary>
    private (string?, int[]) ConvTranspose2d(string v, int[] dims)
    {
        int oc = _r.Next(1, 4), k = _r.Next(1, 4), stride = _r.Next(1, 3), pad = _r.Next(0, k), outPad = _r.Next(0, stride);
        if (Chance(0.04)) { Mutated = true; outPad = stride; }
        int oh = (dims[1] - 1) * stride - 2 * pad + k + outPad, ow = (dims[2] - 1) * stride - 2 * pad + k + outPad;
        if (oh < 1 || ow < 1 || oh > 24 || ow > 24) return (null, dims);
        return ($"ConvTranspose2d({v}, {oc}, {k}, \"{LayerName()}\", stride: {stride}, padding: {pad}, outputPadding: {outPad})", new[] { oc, oh, ow });
    }

    /// <summary>A recurrence with bias: false, bidirectional: true and per-sample lengths (computed from the input, so
    /// they are whole numbers in 1..T that no parameter reaches: 1 or 2 steps by the sign of the input's sum).</summary>
    private (string?, int[]) Recurrence(string v, int[] dims)
    {
        int k = _r.Next(1, 6);
        string cell = Pick("Rnn", "Gru", "Lstm");
        bool bidirectional = Chance(0.6);
        var arguments = new List<string>();
        if (Chance(0.4)) arguments.Add("bias: false");
        if (bidirectional) arguments.Add("bidirectional: true");
        if (Chance(0.5)) arguments.Add(dims[0] >= 2 ? "lengths: Step(Sum(x)) + 1f" : "lengths: Step(Sum(x)) * 0f + 1f");
        if (arguments.Count == 0) arguments.Add("bias: false");
        return ($"{cell}({v}, {k}, \"{LayerName()}\", {string.Join(", ", arguments)})", new[] { dims[0], bidirectional ? 2 * k : k });
    }

    private string Field(int[] dims)
    {
        string name = "w" + _members.Count;
        if (Chance(0.05)) { Mutated = true; name = Pick("@if", "@int", "@class", "_params", "Training", "@this"); }
        string shape = dims.Length == 0 ? "" : string.Join(", ", dims);
        string init = Pick("", "", ", Init = Init.Zeros", ", Init = Init.Constant, Scale = 0.5f", ", Init = Init.Uniform, Scale = 0.1f");
        if (Chance(0.03)) { Mutated = true; init = Pick(", Init = Init.Constant, Scale = float.NaN", ", Init = Init.Uniform, Scale = 0f"); }
        string modifier = Chance(0.03) ? Pick("readonly ", "static ") : "";
        if (modifier.Length > 0) Mutated = true;
        if (_members.Any(m => m.Contains(" " + name + ";", StringComparison.Ordinal))) name += "_" + _members.Count;
        string arguments = shape.Length == 0 && init.Length > 0 ? init.Substring(2) : shape + init;
        _members.Add($"[Param({arguments})] {modifier}Tensor {name};");
        return name;
    }

    private void Loop(ref string current, int[] dims)
    {
        int n = Pick(2, 5, 64, 128, 129, 5000);
        if (n > 128) Mutated = true;
        string local = Local();
        _body.Append($"        var {local} = {current};\n        for (int i = 0; i < {n}; i++) {local} = {local} * 0.5f + {current};\n");
        current = local;
    }

    private void Mutate()
    {
        Mutated = true;
        switch (_r.Next(12))
        {
            case 0: _namespace = Pick("Ref", "Mem", "V256", "V256F", "@class.X", "App.@int", "System", "Dl"); break;
            case 1: _classModifiers = Pick("abstract partial", "static partial", "file partial", "sealed partial", "public partial", "internal sealed partial"); break;
            case 2: _inputModifier = Pick("ref ", "in ", "out ", "scoped "); break;
            case 3: _forwardGeneric = "<T>"; break;
            case 4: _members.Add(Pick("public M() { }", "public void Predict() { }", "int _arena;", "public int InputSize => 1;",
                "public bool Training;", "void RunForward() { }", "public void Save(string p) { }", "class Mem { }", "class Ref { }",
                "struct V256 { }", "static int Helper() => 1;", "public override string ToString() => \"m\";")); break;
            case 5: _members.Add($"[Param({Pick("2147483647", "65536, 65536", "50000, 50000", "0", "3, -1")})] Tensor big;"); break;
            case 6: _body.Append($"        var big = Linear(x, {Pick("2147483647", "50000", "0", "-3")}, \"big\");\n"); break;
            case 7: _members.Add("[Block] Tensor Twice(Tensor a, int depth) => depth == 0 ? Relu(a) : Twice(a, depth - 1) + Twice(a, depth - 1);");
                _body.Append($"        var deep = Twice(x, {Pick(3, 12, 40)});\n"); break;
            case 8: _body.Append("        var loop = x;\n        for (int i = 0; i < 40; i++) for (int j = 0; j < 40; j++) loop = loop + x;\n"); break;
            case 9: _members.Add("[Param(4, Init = Init.Constant, Scale = float.PositiveInfinity)] Tensor inf;"); break;
            case 10: _members.Add("[Model] partial class Inner { [Forward] Tensor F([Shape(2)] Tensor x) => Relu(x); }"); break;
            default: _body.Append(Pick("        var s = Sum(x);\n", "        var u = x[100];\n", "        if (true) { }\n", "        var q = Mystery(x);\n")); break;
        }
    }
}
