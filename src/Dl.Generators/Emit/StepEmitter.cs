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

    private void Print(SourceWriter w, Step step, bool braces = true)
    {
        if (step is SgdVariantStep v) { Variant(w, v); return; }
        foreach (var line in step.Comment.Split('\n')) w.Line("// " + line);
        // Only an element-wise step declares locals of its own (n, i, sum, the loop nest's offsets): it gets a block.
        using (braces && step is MapStep ? w.Block("") : null)
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

    /// <summary>The steps that the fused plain-SGD update changes: <c>if (fusedSgd) … else …</c>; a side with one step
    /// needs no block of its own.</summary>
    private void Variant(SourceWriter w, SgdVariantStep v)
    {
        string flag = SgdFusion.Flag;
        if (v.Plain.Length == 0) w.Line("// " + v.Comment);
        if (v.Fused.Length > 0)
        {
            using (w.Block($"if ({flag})")) foreach (var s in v.Fused) Print(w, s, v.Fused.Length > 1);
            if (v.Plain.Length > 0) using (w.Block("else")) foreach (var s in v.Plain) Print(w, s, v.Plain.Length > 1);
        }
        else using (w.Block($"if (!{flag})")) foreach (var s in v.Plain) Print(w, s, v.Plain.Length > 1);
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

    private static string Offset(string baseOffset, string index, int stride) => Plus(baseOffset, Times(index, Int(stride)));

    // Index arithmetic with literals folded: 0 + x, x * 1, 0 * x and 2 + 3 never reach the generated code.
    private static bool IsLiteral(string x, out int value) =>
        int.TryParse(x, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out value);

    private static string Plus(string a, string b) =>
        a == "0" ? b : b == "0" ? a : IsLiteral(a, out int x) && IsLiteral(b, out int y) ? Int(x + y) : $"{a} + {b}";

    private static string Times(string a, string b) =>
        a == "0" || b == "0" ? "0" : a == "1" ? b : b == "1" ? a
        : IsLiteral(a, out int x) && IsLiteral(b, out int y) ? Int(x * y) : $"{a} * {b}";

    /// <summary>A loop over <paramref name="extent"/> as a block, or nothing when it runs once (the index is then 0).</summary>
    private static System.IDisposable? Loop(SourceWriter w, string index, Extent extent, out string at)
    {
        if (!extent.Batched && extent.Literal == 1) { at = "0"; return null; }
        at = index;
        return w.Block($"for (int {index} = 0; {index} < {extent}; {index}++)");
    }

    /// <summary>A one-line loop over <paramref name="count"/> around <paramref name="body"/>, or the body alone at index 0.</summary>
    private static string LoopLine(string index, int count, System.Func<string, string> body) =>
        count == 1 ? body("0") : $"for (int {index} = 0; {index} < {count}; {index}++) {body(index)}";

    private static bool Empty(Extent e) => !e.Batched && e.Literal == 0;

    // ---- element-wise maps --------------------------------------------------------------------------------

    private void Map(SourceWriter w, MapStep m)
    {
        if (m.Dims.Any(Empty)) return;
        if (m.ZeroTargetFirst && WritesEachTargetOnce(m)) m = m with { ZeroTargetFirst = false, Accumulate = false };
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

    /// <summary>Whether the nest stores each element of the target exactly once (a reduction whose summed dims are only
    /// the innermost one): zeroing the target and adding into it is then the same as assigning.</summary>
    private static bool WritesEachTargetOnce(MapStep m)
    {
        if (m.Target.Batched) return false;
        int last = m.Dims.Length - 1, covered = 1;
        for (int d = 0; d <= last; d++)
        {
            bool reduced = m.TargetStrides[d] == 0 && (m.Dims[d].Batched || m.Dims[d].Literal > 1);
            if (reduced && d != last) return false;
            if (m.TargetStrides[d] != 0)
            {
                if (m.Dims[d].Batched) return false;
                covered *= m.Dims[d].Literal;
            }
        }
        return covered == m.Target.PerSample && m.TargetStrides.Take(last).All(t => t != 0) && Distinct(m);
    }

    /// <summary>The dims with a target stride address the target contiguously (innermost stride 1, each outer stride the
    /// span of the dims inside it): every element once.</summary>
    private static bool Distinct(MapStep m)
    {
        int span = 1;
        for (int d = m.Dims.Length - 1; d >= 0; d--)
        {
            if (m.TargetStrides[d] == 0) continue;
            if (m.TargetStrides[d] != span) return false;
            span *= m.Dims[d].Literal;
        }
        return true;
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
            oa = Times("s", Int(ps.A));
            ob = Times("s", Int(ps.B));
            oc = Times("s", Int(ps.C));
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
        string A(string i, string p) => At(g.A, Plus(oa, g.TransA ? Plus(Times(p, M), i) : Plus(Times(i, K), p)));
        string B(string p, string j) => At(g.B, Plus(ob, g.TransB ? Plus(Times(j, K), p) : Plus(Times(p, N), j)));
        string C(string i, string j) => At(g.C, Plus(oc, Plus(Times(i, N), j)));
        string op = accumulate == "true" ? "+=" : accumulate == "false" ? "=" : null!;
        if (!g.K.Batched)
        {
            var rows = Loop(w, "i", g.M, out string i);
            for (int j = 0; j < g.N.Literal; j++)
            {
                string sum = string.Join(" + ", Enumerable.Range(0, g.K.Literal).Select(p => $"{A(i, Int(p))} * {B(Int(p), Int(j))}"));
                Store(w, C(i, Int(j)), Scaled(g, sum), op, accumulate);
            }
            rows?.Dispose();
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
        if (Empty(r.Rows)) return;
        if (r.ZeroOutFirst) foreach (var o in r.Out) w.Line($"{Span(o, o.Length)}.Clear();");
        var loop = Loop(w, "r", r.Rows, out string row);
        string call = r.Call;
        for (int k = 0; k < r.In.Length; k++)
            call = call.Replace("$in" + k, ReadSpan(r.In[k], Times(row, Int(r.InRowLengths[k])), Int(r.InRowLengths[k])));
        for (int k = 0; k < r.Out.Length; k++)
            call = call.Replace("$out" + k, Span(r.Out[k], Times(row, Int(r.OutRowLengths[k])), Int(r.OutRowLengths[k])));
        w.Line(call + ";");
        loop?.Dispose();
    }

    private void Copy(SourceWriter w, CopyStep c)
    {
        if (Empty(c.Outer) || c.Rows == 0 || c.RowLength == 0) return;
        if (c.ZeroTargetFirst) w.Line($"{Span(c.Y, c.Y.Length)}.Clear();");
        string op = c.Accumulate ? "+=" : "=";
        var loop = Loop(w, "o", c.Outer, out string o);
        string xo = Plus(Times(o, Int(c.XOuterStride)), Int(c.XOffset)), yo = Plus(Times(o, Int(c.YOuterStride)), Int(c.YOffset));
        if (c.Transpose)
        {
            var rows = Loop(w, "i", new Extent(c.Rows, false), out string i);
            w.Line(LoopLine("j", c.RowLength, j =>
                $"{At(c.Y, Plus(yo, Plus(Times(j, Int(c.Rows)), i)))} {op} {At(c.X, Plus(xo, Plus(Times(i, Int(c.RowLength)), j)))};"));
            rows?.Dispose();
        }
        else if (c.Accumulate || c.RowLength == 1)
            w.Line(LoopLine("j", c.RowLength, j => $"{At(c.Y, Plus(yo, j))} {op} {At(c.X, Plus(xo, j))};"));
        else
            w.Line($"{ReadSpan(c.X, xo, Int(c.RowLength))}.CopyTo({Span(c.Y, yo, Int(c.RowLength))});");
        loop?.Dispose();
    }
}
