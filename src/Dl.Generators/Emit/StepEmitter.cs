using System.Collections.Generic;
using System.Linq;
using Dl.Generators.Lowering;
using static Dl.Generators.Emit.Literals;

namespace Dl.Generators.Emit;

/// <summary>Prints the steps of a <see cref="ProgramPlan"/> as specialized C#: literal sizes and strides, Vector256
/// bodies with scalar tails (never a re-processed overlap: targets may accumulate), small loops unrolled, tiny matrix
/// products inline and the rest through the packed GEMM of Dl.Runtime.</summary>
internal sealed class StepEmitter(BufferAccess access)
{
    /// <summary>Loops with a literal trip count up to this are unrolled.</summary>
    private const int UnrollLimit = 8;
    /// <summary>Matrix products with at most this many multiply-adds per sample are emitted inline (call and packing
    /// overhead would dominate: the XOR network's layers).</summary>
    private const int InlineGemmLimit = 64;

    public static void Emit(SourceWriter w, Step step) => new StepEmitter(w.Access).Print(w, step);

    private void Print(SourceWriter w, Step step)
    {
        foreach (var line in step.Comment.Split('\n')) w.Line("// " + line);
        using (w.Block(""))
        {
            switch (step)
            {
                case MapStep m: Map(w, m); break;
                case GemmStep g: Gemm(w, g); break;
                case RowCallStep r: Rows(w, r); break;
                case CopyStep c: Copy(w, c); break;
                case FillStep f: w.Line($"{Span(f.Target, f.Target.Length)}.Fill({f.Value});"); break;
                case CallStep c: Call(w, c); break;
                case ModeStep m: Mode(w, m); break;
            }
        }
    }

    private void Call(SourceWriter w, CallStep c)
    {
        var args = c.Args.Select(a => a.Buffer is null ? a.Text
            : a.Write ? Span(a.Buffer, a.Buffer.Length) : ReadSpan(a.Buffer, "0", a.Buffer.Length.ToString()));
        w.Line($"{c.Method}({string.Join(", ", args)});");
    }

    private void Mode(SourceWriter w, ModeStep m)
    {
        using (w.Block("if (Training)")) foreach (var s in m.Training) Print(w, s);
        using (w.Block("else")) foreach (var s in m.Evaluation) Print(w, s);
    }


    private string Span(Buffer b, Extent length) => access.Span(b, "0", length.ToString());
    private string Span(Buffer b, string offset, string length) => access.Span(b, offset, length);
    private string ReadSpan(Buffer b, string offset, string length) => access.ReadSpan(b, offset, length);
    private string At(Buffer b, string index) => access.Element(b, index);

    private static string Offset(string baseOffset, string index, int stride) =>
        stride == 0 ? baseOffset : Plus(baseOffset, stride == 1 ? index : $"{index} * {stride}");

    private static string Plus(string a, string b) => a == "0" ? b : b == "0" ? a : $"{a} + {b}";

    // ---- element-wise maps --------------------------------------------------------------------------------

    private void Map(SourceWriter w, MapStep m)
    {
        if (m.ZeroTargetFirst) w.Line($"{Span(m.Target, m.Target.Length)}.Clear();");
        int depth = m.Dims.Length;
        var offsets = m.Operands.Select(_ => "0").ToArray();
        string targetOffset = "0";
        var scopes = new List<System.IDisposable>();
        for (int d = 0; d < depth - 1; d++)
        {
            string i = "i" + d;
            scopes.Add(w.Block($"for (int {i} = 0; {i} < {m.Dims[d]}; {i}++)"));
            for (int k = 0; k < offsets.Length; k++)
            {
                if (m.Operands[k].Strides[d] == 0 || m.Operands[k].Buffer is null) continue;
                string name = $"o{k}_{d}";
                w.Line($"int {name} = {Offset(offsets[k], i, m.Operands[k].Strides[d])};");
                offsets[k] = name;
            }
            if (m.TargetStrides[d] != 0)
            {
                w.Line($"int t_{d} = {Offset(targetOffset, i, m.TargetStrides[d])};");
                targetOffset = "t_" + d;
            }
        }
        Inner(w, m, m.Dims[depth - 1], offsets, targetOffset);
        for (int s = scopes.Count - 1; s >= 0; s--) scopes[s].Dispose();
    }

    private void Inner(SourceWriter w, MapStep m, Extent extent, string[] offsets, string targetOffset)
    {
        int last = m.Dims.Length - 1;
        int targetStride = m.TargetStrides[last];
        bool reduce = targetStride == 0 && (extent.Batched || extent.Literal > 1);
        string Scalar(string i) => Expand(m.ScalarExpression, k => ScalarOperand(m.Operands[k], offsets[k], i, last));
        string target(string i) => At(m.Target, Offset(targetOffset, i, targetStride));
        string assign = m.Accumulate ? "+=" : "=";

        if (extent.IsSmallLiteral(UnrollLimit))
        {
            if (reduce)
            {
                w.Line($"{target("0")} {assign} {string.Join(" + ", Enumerable.Range(0, extent.Literal).Select(i => "(" + Scalar(i.ToString()) + ")"))};");
                return;
            }
            for (int i = 0; i < extent.Literal; i++) w.Line($"{target(i.ToString())} {assign} {Scalar(i.ToString())};");
            return;
        }

        bool vector = (targetStride is 0 or 1) && m.Operands.All(o => o.Buffer is null || o.Strides[last] is 0 or 1)
                      && (extent.Batched || extent.Literal >= 8);
        w.Line($"int n = {extent};");
        w.Line("int i = 0;");
        string Vector(string i) => Expand(m.VectorExpression, k => VectorOperand(m.Operands[k], offsets[k], i, last));
        if (reduce)
        {
            w.Line("float sum = 0f;");
            if (vector)
            {
                w.Line($"var acc = {V256F}.Zero;");
                w.Line("for (; i <= n - 8; i += 8) acc += " + Vector("i") + ";");
                w.Line($"sum = {V256}.Sum(acc);");
            }
            w.Line("for (; i < n; i++) sum += " + Scalar("i") + ";");
            w.Line($"{target("0")} {assign} sum;");
            return;
        }
        if (vector)
        {
            string dst = Plus(targetOffset, "i");
            string value = m.Accumulate ? $"{access.Load(m.Target, dst)} + {Vector("i")}" : Vector("i");
            w.Line($"for (; i <= n - 8; i += 8) {access.Store(value, m.Target, dst)};");
        }
        w.Line($"for (; i < n; i++) {target("i")} {assign} {Scalar("i")};");
    }

    private string ScalarOperand(Operand o, string offset, string i, int last) =>
        o.Buffer is null ? Float(o.Constant) : At(o.Buffer, Offset(offset, i, o.Strides[last]));

    private string VectorOperand(Operand o, string offset, string i, int last)
    {
        if (o.Buffer is null) return $"{V256}.Create({Float(o.Constant)})";
        return o.Strides[last] == 0
            ? $"{V256}.Create({At(o.Buffer, offset)})"
            : access.Load(o.Buffer, Plus(offset, i));
    }

    private static string Expand(string template, System.Func<int, string> operand)
    {
        var text = new System.Text.StringBuilder();
        for (int c = 0; c < template.Length; c++)
        {
            if (template[c] == '$' && c + 1 < template.Length && char.IsDigit(template[c + 1]))
            {
                int j = c + 1;
                while (j < template.Length && char.IsDigit(template[j])) j++;
                text.Append(operand(int.Parse(template.Substring(c + 1, j - c - 1))));
                c = j - 1;
            }
            else text.Append(template[c]);
        }
        return text.ToString();
    }

    // ---- matrix products ----------------------------------------------------------------------------------

    private void Gemm(SourceWriter w, GemmStep g)
    {
        System.IDisposable? loop = null;
        string oa = "0", ob = "0", oc = "0", accumulate = g.Accumulate ? "true" : "false";
        if (g.PerSample is { } ps)
        {
            loop = w.Block("for (int s = 0; s < batch; s++)");
            oa = ps.A == 0 ? "0" : $"s * {ps.A}";
            ob = ps.B == 0 ? "0" : $"s * {ps.B}";
            oc = ps.C == 0 ? "0" : $"s * {ps.C}";
            if (ps.AccumulateAcrossSamples && !g.Accumulate) accumulate = "s > 0";
        }
        if (IsInline(g))
            InlineGemm(w, g, oa, ob, oc, accumulate);
        else
        {
            string lenA = Mul(g.M, g.K), lenB = Mul(g.K, g.N), lenC = Mul(g.M, g.N);
            w.Line($"{Literals.Gemm}.Multiply({ReadSpan(g.A, oa, lenA)}, {ReadSpan(g.B, ob, lenB)}, {Span(g.C, oc, lenC)},");
            string alpha = g.Alpha is null ? "" : $", alpha: {g.Alpha}";
            w.Line($"    {g.M}, {g.N}, {g.K}, transA: {Bool(g.TransA)}, transB: {Bool(g.TransB)}, accumulate: {accumulate}, _gemm{alpha});");
        }
        loop?.Dispose();
    }

    /// <summary>Tiny products are printed inline: per sample (or per batch row) at most <see cref="InlineGemmLimit"/>
    /// multiply-adds, with the unrolled dimensions small (columns and inner sum when the batch is the row count; the
    /// output when the batch is the summed dimension).</summary>
    private static bool IsInline(GemmStep g)
    {
        if (g.N.Batched || g.M.Literal * g.N.Literal * g.K.Literal > InlineGemmLimit) return false;
        return g.K.Batched ? g.M.Literal * g.N.Literal <= 16 : g.N.Literal <= UnrollLimit && g.K.Literal <= 16;
    }

    private static string Mul(Extent a, Extent b) => new Extent(a.Literal * b.Literal, a.Batched || b.Batched).ToString();
    private static string Bool(bool b) => b ? "true" : "false";

    /// <summary>C (+)= op(A)·op(B) as scalar code: rows loop, columns and the inner sum unrolled.</summary>
    private void InlineGemm(SourceWriter w, GemmStep g, string oa, string ob, string oc, string accumulate)
    {
        string M = g.M.ToString(), N = g.N.ToString(), K = g.K.ToString();
        string A(string i, string p) => At(g.A, Plus(oa, g.TransA ? $"{p} * {M} + {i}" : $"{i} * {K} + {p}"));
        string B(string p, string j) => At(g.B, Plus(ob, g.TransB ? $"{j} * {K} + {p}" : $"{p} * {N} + {j}"));
        string C(string i, string j) => At(g.C, Plus(oc, $"{i} * {N} + {j}"));
        string op = accumulate == "true" ? "+=" : accumulate == "false" ? "=" : null!;
        if (!g.K.Batched)
        {
            using (w.Block($"for (int i = 0; i < {M}; i++)"))
            {
                for (int j = 0; j < g.N.Literal; j++)
                {
                    string sum = string.Join(" + ", Enumerable.Range(0, g.K.Literal).Select(p => $"{A("i", p.ToString())} * {B(p.ToString(), j.ToString())}"));
                    Store(w, C("i", j.ToString()), Scaled(g, sum), op, accumulate);
                }
            }
            return;
        }
        // The batch is the summed dimension (a weight gradient of a tiny layer).
        for (int i = 0; i < g.M.Literal; i++)
            for (int j = 0; j < g.N.Literal; j++)
            {
                using (w.Block(""))
                {
                    w.Line("float sum = 0f;");
                    w.Line($"for (int p = 0; p < {K}; p++) sum += {A(i.ToString(), "p")} * {B("p", j.ToString())};");
                    Store(w, C(i.ToString(), j.ToString()), Scaled(g, "sum"), op, accumulate);
                }
            }
    }

    private static string Scaled(GemmStep g, string sum) => g.Alpha is null ? sum : $"{g.Alpha} * ({sum})";

    private static void Store(SourceWriter w, string target, string value, string? op, string accumulate)
    {
        if (op is not null) w.Line($"{target} {op} {value};");
        else w.Line($"if ({accumulate}) {target} += {value}; else {target} = {value};");
    }

    // ---- row-wise calls and copies ------------------------------------------------------------------------

    private void Rows(SourceWriter w, RowCallStep r)
    {
        if (r.ZeroOutFirst) foreach (var o in r.Out) w.Line($"{Span(o, o.Length)}.Clear();");
        using (w.Block($"for (int r = 0; r < {r.Rows}; r++)"))
        {
            string call = r.Call;
            for (int k = 0; k < r.In.Length; k++) call = call.Replace("$in" + k, ReadSpan(r.In[k], Row(r.InRowLengths[k]), Int(r.InRowLengths[k])));
            for (int k = 0; k < r.Out.Length; k++) call = call.Replace("$out" + k, Span(r.Out[k], Row(r.OutRowLengths[k]), Int(r.OutRowLengths[k])));
            w.Line(call + ";");
        }
    }

    private static string Row(int length) => length == 1 ? "r" : $"r * {length}";

    private void Copy(SourceWriter w, CopyStep c)
    {
        if (c.ZeroTargetFirst) w.Line($"{Span(c.Y, c.Y.Length)}.Clear();");
        string op = c.Accumulate ? "+=" : "=";
        using (w.Block($"for (int o = 0; o < {c.Outer}; o++)"))
        {
            string xo = Plus($"o * {c.XOuterStride}", c.XOffset.ToString()), yo = Plus($"o * {c.YOuterStride}", c.YOffset.ToString());
            if (c.Transpose)
            {
                using (w.Block($"for (int i = 0; i < {c.Rows}; i++)"))
                    w.Line($"for (int j = 0; j < {c.RowLength}; j++) {At(c.Y, $"{yo} + j * {c.Rows} + i")} {op} {At(c.X, $"{xo} + i * {c.RowLength} + j")};");
            }
            else if (c.Accumulate)
                w.Line($"for (int j = 0; j < {c.RowLength}; j++) {At(c.Y, $"{yo} + j")} {op} {At(c.X, $"{xo} + j")};");
            else
                w.Line($"{ReadSpan(c.X, xo, Int(c.RowLength))}.CopyTo({Span(c.Y, yo, Int(c.RowLength))});");
        }
    }
}
