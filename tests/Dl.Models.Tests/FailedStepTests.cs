using System.Runtime.InteropServices;
using Tape = Dl.Dynamic.Dynamic;
using Dl.Models;
using static Dl.Ops;

namespace Dl.Tests;

/// <summary>Sqrt(x · w) at x = 0: the loss is finite, but dL/dw = x · dL/du with dL/du = 1 / (2·sqrt(0)) = ∞, so the
/// gradient is 0 · ∞ = NaN: an overflow in the backward pass that the loss check cannot see.</summary>
[Model]
public sealed partial class SqrtAtZero
{
    [Param(2)] Tensor w;
    [Forward] Tensor Forward([Shape(2)] Tensor x) => Sqrt(x * w);
    [Loss] Tensor Loss(Tensor y, [Shape(2)] Tensor t) => MseLoss(y, t);
}

/// <summary>Issue 13, item 3: a training step that fails (a non-finite loss, any exception, non-finite gradients under
/// the FiniteGradients decorator) changes nothing: parameters, gradients, optimizer state, running statistics, DropoutStep.
/// The strongest check: after the failed step, training on good batches equals, bit for bit, a twin model that never
/// saw the bad batch.</summary>
public class FailedStepTests
{
    public enum Mode { ComputeGradients, FusedSgd, SgdMomentum, Adam, AdamW, ClippedAdam }

    public enum Bad { NaNPixel, Huge }

    private static IOptimizer? Optimizer(Mode mode) => mode switch
    {
        Mode.ComputeGradients => null,
        Mode.FusedSgd => new Sgd(0.05f),   // the generated model's fused update (or, when chunked, Step on the sum)
        Mode.SgdMomentum => new Sgd(0.05f, momentum: 0.9f, weightDecay: 1e-3f),
        Mode.Adam => new Adam(0.01f),
        Mode.AdamW => new AdamW(0.01f),
        _ => new Clipped(new Adam(0.01f), maxNorm: 1f),
    };

    private static int[] Bits(ReadOnlySpan<float> values) => MemoryMarshal.Cast<float, int>(values).ToArray();

    private sealed record Snapshot(int[] Parameters, int[] Gradients, int[] State, long DropoutStep, long OptimizerSteps);

    private static Snapshot Take(IModel m, IOptimizer? o) =>
        new(Bits(m.Parameters), Bits(m.Gradients), Bits(m.State), m.DropoutStep, Steps(o));

    private static long Steps(IOptimizer? o) => o switch { Optimizer x => x.StepCount, Clipped { Inner: Optimizer x } => x.StepCount, _ => 0 };

    private static void Same(Snapshot expected, Snapshot actual, string when, bool gradients = true)
    {
        Assert.True(expected.Parameters.AsSpan().SequenceEqual(actual.Parameters), $"parameters {when}");
        if (gradients) Assert.True(expected.Gradients.AsSpan().SequenceEqual(actual.Gradients), $"gradients {when}");
        Assert.True(expected.State.AsSpan().SequenceEqual(actual.State), $"running statistics {when}");
        Assert.Equal(expected.DropoutStep, actual.DropoutStep);
        Assert.Equal(expected.OptimizerSteps, actual.OptimizerSteps);
    }

    private static float[] Corrupt(float[] x, Bad bad, int perSample, int sample)
    {
        var y = (float[])x.Clone();
        if (bad == Bad.NaNPixel) y[sample * perSample + perSample / 2] = float.NaN;
        else y.AsSpan(sample * perSample, perSample).Fill(3e38f);
        return y;
    }

    /// <summary>Two identical models and optimizers; one good step each; the bad batch fails on the first and changes
    /// nothing; two more good steps, then evaluation-mode predictions, are equal bit for bit.</summary>
    private static void FailedStepChangesNothing<TModel>(Func<TModel> create, Mode mode, Bad bad, int batch, int sample)
        where TModel : ITrainableModel<int>
    {
        TModel model = create(), twin = create();
        IOptimizer? optimizer = Optimizer(mode), twinOptimizer = Optimizer(mode);
        int perSample = model.Description.InputSize, classes = model.Description.Target!.Classes;
        float[] good1 = ModelHarness.Normal(batch * perSample, 1), good2 = ModelHarness.Normal(batch * perSample, 2);
        int[] y = ModelHarness.Labels(batch, classes, 3);
        float[] wrong = Corrupt(good1, bad, perSample, sample);
        float Step(TModel m, IOptimizer? o, float[] x) => o is null ? m.ComputeGradients(x, y, batch) : m.TrainStep(x, y, batch, o);

        Assert.Equal(Step(twin, twinOptimizer, good1), Step(model, optimizer, good1));
        var before = Take(model, optimizer);
        var e = Assert.Throws<ArithmeticException>(() => Step(model, optimizer, wrong));
        Assert.EndsWith("Nothing was changed: the parameters, gradients, optimizer state, running statistics and DropoutStep are as before the call.", e.Message);
        Same(before, Take(model, optimizer), $"after the failed step ({e.Message})");

        for (int i = 0; i < 2; i++)
        {
            float expected = Step(twin, twinOptimizer, good2), actual = Step(model, optimizer, good2);
            Assert.Equal(BitConverter.SingleToInt32Bits(expected), BitConverter.SingleToInt32Bits(actual));
        }
        Same(Take(twin, twinOptimizer), Take(model, optimizer), "after two more steps than the twin's");
        model.Training = twin.Training = false;
        var p = new float[batch * model.Description.OutputSize];
        var q = new float[p.Length];
        model.Predict(good1, p, batch);
        twin.Predict(good1, q, batch);
        Assert.All(p, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(Bits(q), Bits(p));
    }

    private const int Batch = 4;

    private static TheoryData<Mode, Bad> Cases(params Mode[] modes)
    {
        var data = new TheoryData<Mode, Bad>();
        foreach (Mode m in modes) foreach (Bad b in Enum.GetValues<Bad>()) data.Add(m, b);
        return data;
    }

    public static TheoryData<Mode, Bad> AllModes => Cases(Enum.GetValues<Mode>());
    public static TheoryData<Mode, Bad> TapeModes => Cases(Mode.ComputeGradients, Mode.FusedSgd, Mode.SgdMomentum, Mode.Adam);
    public static TheoryData<Mode, Bad> ChunkedModes => Cases(Mode.ComputeGradients, Mode.FusedSgd, Mode.Adam);

    [Theory]
    [MemberData(nameof(AllModes))]
    public void Generated_BatchNormAndDropout(Mode mode, Bad bad) =>
        FailedStepChangesNothing(() => new SpatialZoo(new ModelOptions { Seed = 3, MaxBatch = 8 }), mode, bad, Batch, 1);

    [Theory]
    [MemberData(nameof(TapeModes))]
    public void Dynamic_BatchNormAndDropout(Mode mode, Bad bad) =>
        FailedStepChangesNothing(() => Tape.Create<SpatialZoo>(3), mode, bad, Batch, 1);

    /// <summary>The report: a NaN pixel into FashionCnn left NaN running statistics and an advanced DropoutStep.</summary>
    [Theory]
    [InlineData(Mode.FusedSgd)]
    [InlineData(Mode.Adam)]
    public void Generated_FashionCnn_NaNPixel(Mode mode) =>
        FailedStepChangesNothing(() => new FashionCnn(new ModelOptions { Seed = 1, MaxBatch = 2 }), mode, Bad.NaNPixel, 2, 1);

    /// <summary>Chunks of 2 of a batch of 5 (2, 2, 1), the bad sample in the last chunk: the earlier chunks' backward
    /// passes ran into the chunk buffers, and nothing of it may reach Gradients.</summary>
    [Theory]
    [MemberData(nameof(ChunkedModes))]
    public void Generated_Chunked(Mode mode, Bad bad) =>
        FailedStepChangesNothing(() => new FashionMlp(new ModelOptions { Seed = 3, MaxBatch = 8, ChunkSamples = 2 }), mode, bad, 5, 4);

    /// <summary>Each chunk's loss is finite, their total is not: (1.5e19)² = 2.25e38 per sample, 4.5e38 for two. The
    /// chunked step returned Infinity and updated the parameters; it must throw like the whole batch does.</summary>
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void Chunked_TotalOverflow_Throws(int chunk)
    {
        float[] x = [0, 1, 1, 0], good = [1, 0], huge = [1.5e19f, 1.5e19f];
        XorNet Create() => new(new ModelOptions { Seed = 2, MaxBatch = 2, ChunkSamples = chunk });
        foreach (Func<IOptimizer> optimizer in new Func<IOptimizer>[] { () => new Sgd(0.5f), () => new Adam(0.1f) })
        {
            XorNet net = Create(), twin = Create();
            IOptimizer o = optimizer(), to = optimizer();
            net.TrainStep(x, good, 2, o);
            twin.TrainStep(x, good, 2, to);
            var before = Take(net, o);
            Assert.Throws<ArithmeticException>(() => net.TrainStep(x, huge, 2, o));
            Assert.Throws<ArithmeticException>(() => net.ComputeGradients(x, huge, 2));
            Same(before, Take(net, o), "after the overflowing step");
            Assert.Equal(twin.TrainStep(x, good, 2, to), net.TrainStep(x, good, 2, o));
            Same(Take(twin, to), Take(net, o), "after a good step");
        }
    }

    /// <summary>A finite loss with a NaN gradient: with the FiniteGradients decorator the update is refused and the step
    /// changes nothing but Gradients (which hold the offending gradients); without it (the default: the check costs a
    /// pass over the gradients) the step goes through, as ComputeGradients returns them.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void NonFiniteGradients_RefusedByFiniteGradients(bool dynamic)
    {
        ITrainableModel<float> Create()
        {
            ITrainableModel<float> m = dynamic ? Tape.Create<SqrtAtZero>(1) : new SqrtAtZero(new ModelOptions { MaxBatch = 2 });
            m.Parameters.Fill(1f);
            return m;
        }
        float[] x = [0, 1], t = [0.5f, 0.5f];
        foreach (Func<IOptimizer> inner in new Func<IOptimizer>[] { () => new Adam(0.1f), () => new Sgd(0.1f, momentum: 0.5f), () => new Sgd(0.1f) })
        {
            var model = Create();
            var o = inner();
            long dropoutStep = model.DropoutStep;
            var e = Assert.Throws<ArithmeticException>(() => model.TrainStep(x, t, 1, new FiniteGradients(o)));
            Assert.StartsWith("Gradient 0 is NaN: the gradients contain NaN or infinity", e.Message);
            Assert.Equal(new[] { 1f, 1f }, model.Parameters.ToArray());
            Assert.Equal(0, Steps(o));
            Assert.Equal(dropoutStep, model.DropoutStep);
            Assert.True(float.IsNaN(model.Gradients[0]));

            var unguarded = Create();
            Assert.Equal(0.25f, unguarded.TrainStep(x, t, 1, inner()));
            Assert.True(float.IsNaN(unguarded.Parameters[0]));
        }
        var plain = Create();
        Assert.Equal(0.25f, plain.ComputeGradients(x, t, 1));
        Assert.True(float.IsNaN(plain.Gradients[0]));
    }

    /// <summary>Any exception inside a step rolls the forward pass back too: here an optimizer whose Step throws after
    /// the forward pass advanced the statistics and DropoutStep (Gradients then hold the batch's gradients).</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ThrowingOptimizer_ChangesNothing(bool dynamic)
    {
        ITrainableModel<int> model = dynamic ? Tape.Create<SpatialZoo>(3) : new SpatialZoo(new ModelOptions { Seed = 3, MaxBatch = 8 });
        int n = model.Description.InputSize;
        float[] x = ModelHarness.Normal(Batch * n, 1);
        int[] y = ModelHarness.Labels(Batch, 4, 3);
        var before = Take(model, null);
        Assert.Throws<ArgumentException>(() => model.TrainStep(x, y, Batch, new Throwing()));
        Same(before, Take(model, null), "after the optimizer threw", gradients: false);
    }

    private sealed class Throwing : IOptimizer
    {
        public void Step(Span<float> parameters, ReadOnlySpan<float> gradients) => throw new ArgumentException("refused");
    }
}
