namespace Dl.Tests;

/// <summary>Optimizer state export and import: an optimizer given another's state continues exactly as the other
/// would have (moments, momentum buffer, step count for Adam's bias corrections, learning rate).</summary>
public class OptimizerStateTests
{
    private static float[] Random(int n, ulong seed)
    {
        var r = new DlRandom(seed);
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = (float)r.NextNormal();
        return x;
    }

    public static TheoryData<string> Kinds => new() { "adam", "adamw", "sgd-momentum", "sgd-nesterov", "sgd" };

    private static Optimizer Make(string kind) => kind switch
    {
        "adam" => new Adam(0.01f, weightDecay: 0.01f),
        "adamw" => new AdamW(0.01f),
        "sgd-momentum" => new Sgd(0.05f, momentum: 0.9f),
        "sgd-nesterov" => new Sgd(0.05f, momentum: 0.8f, nesterov: true, weightDecay: 1e-3f),
        _ => new Sgd(0.05f),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ImportedState_ContinuesExactly(string kind)
    {
        const int n = 37;
        float[] p = Random(n, 1), q = (float[])p.Clone();
        Optimizer a = Make(kind);
        for (int s = 0; s < 5; s++) a.Step(p, Random(n, 10 + (ulong)s));
        a.LearningRate = 0.003f;
        OptimizerState state = a.ExportState();
        Assert.Equal(5, state.StepCount);
        Assert.Equal(n, state.Length);
        Assert.Equal(a.StateNames, state.Buffers.Keys);

        Optimizer b = Make(kind);
        b.ImportState(state);
        Assert.Equal(0.003f, b.LearningRate);
        Assert.Equal(5, b.StepCount);
        p.CopyTo(q, 0);
        for (int s = 5; s < 9; s++)
        {
            float[] g = Random(n, 10 + (ulong)s);
            a.Step(p, g);
            b.Step(q, g);
        }
        Assert.Equal(p, q);
        state.Buffers.Values.FirstOrDefault()?.AsSpan().Clear();   // the export is a copy: changing it changes nothing
        Assert.Equal(b.ExportState().StepCount, a.ExportState().StepCount);
    }

    [Fact]
    public void Import_RefusesAnotherOptimizerOrSettings_AndChangesNothing()
    {
        var adam = new Adam();
        adam.Step(new float[4], [1, 2, 3, 4]);
        var sgd = new Sgd(0.1f, momentum: 0.9f);
        var e = Assert.Throws<ArgumentException>(() => sgd.ImportState(adam.ExportState()));
        Assert.Contains("The optimizer state is Adam's; this optimizer is Sgd", e.Message);
        var momentum = new Sgd(0.1f, momentum: 0.9f);
        momentum.Step(new float[4], [1, 2, 3, 4]);
        var plain = new Sgd(0.2f);
        e = Assert.Throws<ArgumentException>(() => plain.ImportState(momentum.ExportState()));
        Assert.Contains("buffer 'momentum_buffer' that this Sgd does not keep", e.Message);
        Assert.Equal(0.2f, plain.LearningRate);
        Assert.Equal(0, plain.StepCount);

        // Before any step the state is empty; importing it resets the step count and keeps no buffers.
        OptimizerState empty = new Adam(0.5f).ExportState();
        Assert.Equal(0, empty.Length);
        Assert.Empty(empty.Buffers);
        adam.ImportState(empty);
        Assert.Equal(0, adam.StepCount);
        Assert.Equal(0.5f, adam.LearningRate);
    }
}
