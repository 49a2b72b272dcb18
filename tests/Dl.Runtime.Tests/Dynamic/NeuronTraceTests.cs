namespace Dl.Tests.DynamicTape;

using Dl.Dynamic;

/// <summary>The course notes' worked example: f(w, x) = 1 / (1 + e^-(w0 x0 + w1 x1 + w2)) at w = [2, -3, -3],
/// x = [-1, -2]. By hand: z = 1, f = σ(1) = 0.7311, f(1 - f) = 0.1966, so dw = 0.1966 · [x0, x1, 1] =
/// [-0.20, -0.39, 0.20] and dx = 0.1966 · [w0, w1] = [0.39, -0.59].</summary>
public class NeuronTraceTests
{
    private static DynamicModel CourseNotesNeuron(Precision precision)
    {
        DynamicModel model = Dl.Dynamic.Dynamic.Create<Neuron>(precision: precision);
        if (precision == Precision.Double) new double[] { 2, -3, -3 }.CopyTo(model.ParametersDouble);
        else new float[] { 2, -3, -3 }.CopyTo(model.Parameters);
        return model;
    }

    [Theory]
    [InlineData(Precision.Double)]
    [InlineData(Precision.Single)]
    public void Trace_MatchesTheCourseNotes(Precision precision)
    {
        DynamicTrace trace = CourseNotesNeuron(precision).Trace([-1, -2], [], batch: 1);

        Assert.Equal(0.73, trace.Value, 2);
        Assert.Equal(1 / (1 + Math.Exp(-1)), trace.Value, 12);
        double[] dw = trace.Find("param w").Gradient;
        double[] dx = trace.Find("input x").Gradient;
        Assert.Equal([-0.20, -0.39, 0.20], dw.Select(v => Math.Round(v, 2)));
        Assert.Equal([0.39, -0.59], dx.Select(v => Math.Round(v, 2)));
        // Exactly: f(1 - f) times x (or w).
        double s = trace.Value * (1 - trace.Value);
        Assert.Equal(-s, dw[0], 12);
        Assert.Equal(-2 * s, dw[1], 12);
        Assert.Equal(s, dw[2], 12);
        Assert.Equal(2 * s, dx[0], 12);
        Assert.Equal(-3 * s, dx[1], 12);
    }

    [Fact]
    public void Trace_TableHoldsEveryNodesValueLocalAndUpstreamGradient()
    {
        DynamicTrace trace = CourseNotesNeuron(Precision.Double).Trace([-1, -2], [], batch: 1);
        string[] ops = trace.Nodes.Select(n => n.Op).ToArray();
        Assert.Equal(
            ["input x", "param w", "index 0", "index 0", "multiply", "index 1", "index 1", "multiply", "add", "index 2", "add",
             "negate", "exp", "const 1", "add", "const 1", "divide"], ops);

        // The gates of the notes, in backward order: 1/d, +1, exp, *-1, then the sum and product gates.
        TraceNode divide = trace.Nodes[16];             // f = 1 / d
        Assert.Equal([15, 14], divide.Inputs);
        Assert.Equal(0.7311, divide.Value[0], 4);
        Assert.Equal([1.0], divide.Gradient);
        Assert.Equal(0.7311, divide.LocalGradients[0][0], 4);   // ∂(a/d)/∂a = 1/d
        Assert.Equal(-0.5344, divide.LocalGradients[1][0], 4);  // ∂(1/d)/∂d = -1/d²

        TraceNode d = trace.Nodes[14];                  // d = 1 + e
        Assert.Equal(1.3679, d.Value[0], 4);
        Assert.Equal(-0.5344, d.Gradient[0], 4);        // dL/dd = -1/d²

        TraceNode exp = trace.Nodes[12];
        Assert.Equal(Math.Exp(-1), exp.Value[0], 12);
        Assert.Equal(Math.Exp(-1), exp.LocalGradients[0][0], 12);   // ∂e^u/∂u = e^u
        Assert.Equal(-0.5344, exp.Gradient[0], 4);

        TraceNode negate = trace.Nodes[11];
        Assert.Equal(-1, negate.Value[0], 12);
        Assert.Equal(-1, negate.LocalGradients[0][0]);
        Assert.Equal(-0.1966, negate.Gradient[0], 4);   // -0.53 · e^-1

        TraceNode z = trace.Nodes[10];                  // w0 x0 + w1 x1 + w2
        Assert.Equal(1, z.Value[0], 12);
        Assert.Equal(0.1966, z.Gradient[0], 4);
        Assert.Equal([1.0], z.LocalGradients[0]);       // the sum gate passes the gradient through
        Assert.Equal([1.0], z.LocalGradients[1]);

        TraceNode w0x0 = trace.Nodes[4];                // the product gate swaps its inputs
        Assert.Equal(-2, w0x0.Value[0], 12);
        Assert.Equal(-1, w0x0.LocalGradients[0][0], 12);   // ∂(w0 x0)/∂w0 = x0
        Assert.Equal(2, w0x0.LocalGradients[1][0], 12);    // ∂(w0 x0)/∂x0 = w0
        Assert.Equal(0.1966, w0x0.Gradient[0], 4);

        Assert.Empty(trace.Nodes[1].LocalGradients);       // leaves have no local gradient

        string table = trace.ToString();
        string[] lines = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(trace.Nodes.Count + 3, lines.Length);  // L line, header, rule, one line per node
        Assert.Contains("upstream gradient dL/dnode", lines[1]);
        Assert.Contains("local gradient(s)", lines[1]);
        Assert.Contains("exp", lines[3 + 12]);
        Assert.Contains("0.3679", lines[3 + 12]);
        Assert.Contains("-0.5344", lines[3 + 12]);
        Assert.Contains("[-0.1966, -0.3932, 0.1966]", lines[3 + 1]);
        // Columns are aligned: every row has its separators at the same positions.
        int firstBar = lines[1].IndexOf(" | ", StringComparison.Ordinal);
        Assert.All(lines.Skip(3), l => Assert.Equal(firstBar, l.IndexOf(" | ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Trace_LeavesTheModelsGradientsUntouched()
    {
        DynamicModel model = CourseNotesNeuron(Precision.Double);
        model.GradientsDouble.Fill(42);
        model.Trace([-1, -2], [], 1);
        Assert.All(model.GradientsDouble.ToArray(), g => Assert.Equal(42, g));
    }

    [Fact]
    public void Trace_OverABatch_AveragesTheGradient()
    {
        DynamicModel model = CourseNotesNeuron(Precision.Double);
        DynamicTrace one = model.Trace([-1, -2], [], 1);
        DynamicTrace two = model.Trace([-1, -2, -1, -2], [], 2);
        Assert.Equal(one.Value, two.Value, 12);
        for (int i = 0; i < 3; i++) Assert.Equal(one.Find("param w").Gradient[i], two.Find("param w").Gradient[i], 14);
        Assert.Equal(4, two.Find("input x").Gradient.Length);
        Assert.Contains("[2] x2", two.ToString());
    }
}
