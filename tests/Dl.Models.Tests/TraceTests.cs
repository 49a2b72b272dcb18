using Dl.Dynamic;

namespace Dl.Tests;

/// <summary>Traces (issue 15): nodes found by their local variable's name on both engines, the evaluation mode honoured,
/// values-only traces, and models without parameters differentiated with respect to their inputs.</summary>
public class TraceTests
{
    [Fact]
    public void NotesAddMultiply_TracedAndDifferentiatedWithRespectToItsInputs_BothEngines()
    {
        var model = new NotesAddMultiply(new ModelOptions { MaxBatch = 1 });
        Assert.Equal(0, model.Description.ParameterCount);
        var output = new float[1];
        model.Predict(x: [-2], y: [5], z: [-4], output: output, batch: 1);
        Assert.Equal(-12f, output[0]);

        DynamicTrace generated = model.Trace(x: [-2], y: [5], z: [-4], batch: 1);
        DynamicTrace tape = Dl.Dynamic.Dynamic.Create<NotesAddMultiply>(precision: Precision.Double).Trace([-2, 5, -4], [], 1);
        foreach (var trace in new[] { generated, tape })
        {
            Assert.Equal(-12, trace.Value);
            Assert.Equal([3.0], trace.Find("q").Value);
            Assert.Equal([-12.0], trace.Find("f").Value);
            Assert.Equal([-4.0], trace.Find("x").Gradient);   // df/dx = z
            Assert.Equal([-4.0], trace.Find("y").Gradient);   // df/dy = z
            Assert.Equal([3.0], trace.Find("z").Gradient);    // df/dz = q
            Assert.Equal([-4.0], trace.Find("q").Gradient);
            Assert.Contains("q = add", trace.ToString());
        }
    }

    [Fact]
    public void ALossWithoutParameters_GivesLossAndInputGradients_ButNoTraining()
    {
        var model = new NotesSquaredError(new ModelOptions { MaxBatch = 2 });
        Assert.False(typeof(ITrainableModel<float>).IsAssignableFrom(typeof(NotesSquaredError)));
        Assert.Equal(0.5f * 13 * 13, model.Loss(x: [-2], y: [5], z: [-4], t: [1], batch: 1));
        var trace = model.Trace(x: [-2, 1], y: [5, 1], z: [-4, 2], t: [1, 4], batch: 2);
        // Samples: f = -12 (error -13), f = 4 (error 0); L = the batch mean of ½ error².
        Assert.Equal(0.25 * 169, trace.Value, 12);
        Assert.Equal([-13.0, 0.0], trace.Find("error").Value);
        Assert.Equal([-13 * -4 / 2.0, 0], trace.Find("x").Gradient);   // dL/dx = error · z / batch
        Assert.Equal([-13 * 3 / 2.0, 0], trace.Find("z").Gradient);    // dL/dz = error · q / batch
    }

    [Fact]
    public void Find_ByLocalName_LayerAndReassignedLocals_BothEngines()
    {
        var model = new TraceLocals(new ModelOptions { Seed = 3, MaxBatch = 4 });
        var tape = Dl.Dynamic.Dynamic.Create<TraceLocals>(seed: 3, precision: Precision.Double);
        float[] x = ModelHarness.Normal(9, 1);
        int[] labels = [0, 1, 1];
        DynamicTrace generated = model.Trace(x: x, label: labels, batch: 3);
        DynamicTrace dynamic = tape.Trace(x.Select(v => (double)v).ToArray(), labels.Select(v => (double)v).ToArray(), 3);
        foreach (var trace in new[] { generated, dynamic })
        {
            Assert.Equal([4], trace.Find("h").Shape);                  // a named layer assigned to a local
            Assert.Equal("sigmoid", trace.Find("a").Op);                // the value the variable ends with
            Assert.Equal(["tanh", "sigmoid"], trace.FindAll("a").Select(n => n.Op));
            Assert.Same(trace.Find("normed"), trace.Nodes.Single(n => n.Local == "normed"));
            Assert.Equal([4, 3], trace.Find("fc1.weight").Shape);      // a parameter by name
            Assert.Equal("input x", trace.Find("x").Op);
            Assert.Equal(12, trace.Find("a").Gradient.Length);
            Assert.Equal(trace.Find("sigmoid"), trace.Find("a"));       // an op still finds its first node
            Assert.Throws<KeyNotFoundException>(() => trace.Find("nothing"));
        }
        Close(generated.Find("a").Value, dynamic.Find("a").Value, 1e-12);
        Close(generated.Find("fc1.weight").Gradient, dynamic.Find("fc1.weight").Gradient, 1e-12);
    }

    [Fact]
    public void Trace_InEvaluationMode_UsesTheRunningStatistics_AsPredictDoes()
    {
        var model = new TraceLocals(new ModelOptions { Seed = 3, MaxBatch = 4 });
        float[] x = ModelHarness.Normal(12, 2);
        int[] labels = [0, 1, 1, 0];
        for (int i = 0; i < 3; i++) model.TrainStep(x: x, label: labels, batch: 4, optimizer: new Sgd(0.1f));   // running statistics move
        float[] state = model.State.ToArray();
        long step = model.DropoutStep;
        model.Training = false;
        var predicted = new float[8];
        model.Predict(x: x, output: predicted, batch: 4);
        DynamicTrace eval = model.Trace(x: x, label: labels, batch: 4);
        Close(eval.Find("logits").Value, predicted.Select(v => (double)v).ToArray(), 1e-5);
        model.Training = true;
        DynamicTrace train = model.Trace(x: x, label: labels, batch: 4);
        Assert.NotEqual(eval.Find("normed").Value, train.Find("normed").Value);   // batch statistics
        Assert.Equal(state, model.State.ToArray());   // a trace changes nothing
        Assert.Equal(step, model.DropoutStep);

        // The tape honours its own mode the same way.
        var tape = Dl.Dynamic.Dynamic.Create<TraceLocals>(seed: 3, precision: Precision.Double);
        model.Parameters.ToArray().Select(v => (double)v).ToArray().CopyTo(tape.ParametersDouble);
        state.Select(v => (double)v).ToArray().CopyTo(tape.StateDouble);
        tape.Training = false;
        Close(tape.Trace(x.Select(v => (double)v).ToArray(), labels.Select(v => (double)v).ToArray(), 4).Find("normed").Value, eval.Find("normed").Value, 1e-12);
    }

    [Fact]
    public void ValuesOnly_ThroughAForwardOnlyOp_WithoutALoss_BothEngines()
    {
        var model = new StepOutput(new ModelOptions { Seed = 1, MaxBatch = 2 });
        float[] x = [1, -2, 0.5f, -1, 0, 2];
        DynamicTrace values = model.Trace(x: x, batch: 2, gradients: false);
        Assert.False(values.HasGradients);
        var output = new float[4];
        model.Predict(x: x, output: output, batch: 2);
        Assert.Equal(output.Select(v => (double)v), values.Find("fired").Value);
        Assert.Empty(values.Find("z").Gradient);
        Assert.Equal(output.Sum() / 2.0, values.Value, 12);
        // With gradients the backward pass reaches Step, which has none.
        Assert.Throws<InvalidOperationException>(() => model.Trace(x: x, batch: 2));
        var tape = Dl.Dynamic.Dynamic.Create<StepOutput>(seed: 1, precision: Precision.Double);
        Assert.Equal(values.Find("fired").Value, tape.TraceValues(x.Select(v => (double)v).ToArray(), [], 2).Find("fired").Value);
    }

    [Fact]
    public void TrainingTrace_DrawsTheDropoutMasksOfTheNextTrainingStep()
    {
        var model = new TraceDropout(new ModelOptions { Seed = 5, MaxBatch = 3 });
        float[] x = ModelHarness.Normal(18, 2);
        int[] labels = [0, 2, 1];
        for (int step = 0; step < 3; step++)
        {
            long dropoutStep = model.DropoutStep;
            DynamicTrace trace = model.Trace(x: x, label: labels, batch: 3);
            Assert.Equal(dropoutStep, model.DropoutStep);                        // tracing leaves the model as it was
            double[] dropped = trace.Find("h").Value;
            Assert.Contains(0.0, dropped);
            float loss = model.ComputeGradients(x: x, label: labels, batch: 3);   // the step the trace described
            Assert.Equal(dropoutStep + 1, model.DropoutStep);
            Assert.True(Math.Abs(trace.Value - loss) <= 1e-5 * (1 + Math.Abs(loss)), $"step {step}: trace {trace.Value} vs step {loss}");
            Close(trace.Find("fc1.weight").Gradient, model.Gradient("fc1.weight").ToArray().Select(v => (double)v).ToArray(), 1e-4);
            // The next step draws other masks.
            Assert.NotEqual(dropped, model.Trace(x: x, label: labels, batch: 3).Find("h").Value);
        }
    }

    private static void Close(double[] actual, double[] expected, double tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < actual.Length; i++) Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + Math.Abs(expected[i])), $"[{i}] {actual[i]} vs {expected[i]}");
    }
}
