namespace Dl.Tests;

/// <summary>The per-input data methods of a model with several inputs (named after its <c>[Forward]</c> and <c>[Loss]</c>
/// parameters) compute what the interfaces' concatenated form computes, on both engines.</summary>
public class NamedArgumentModelTests
{
    private const int Batch = 3;

    [Fact]
    public void PerInputMethods_MatchTheConcatenatedForm_AndTheTape()
    {
        // GruVectorState: Forward(x [3, 4], h0 [6]), Loss(logits, y [labels 2]).
        float[] x = ModelHarness.Normal(Batch * 12, 1), h0 = ModelHarness.Normal(Batch * 6, 2);
        float[] both = [.. x, .. h0];   // the interfaces' layout: all samples of x, then all samples of h0
        int[] y = ModelHarness.Labels(Batch, 2, 3);

        var named = new GruVectorState(new ModelOptions { Seed = 5, MaxBatch = 4 });
        var concatenated = new GruVectorState(new ModelOptions { Seed = 5, MaxBatch = 4 });
        ITrainableModel<int> viaInterface = concatenated;
        var tape = Dynamic.Dynamic.Create<GruVectorState>(seed: 5);

        float loss = named.ComputeGradients(x: x, h0: h0, y: y, batch: Batch);
        Assert.Equal(viaInterface.ComputeGradients(both, y, Batch), loss);
        Assert.Equal(concatenated.Gradients.ToArray(), named.Gradients.ToArray());
        float tapeLoss = ((ITrainableModel<int>)tape).ComputeGradients(both, y, Batch);
        Assert.True(Math.Abs(tapeLoss - loss) < 1e-4f, $"{loss} vs tape {tapeLoss}");

        var a = new float[Batch * 2];
        var b = new float[Batch * 2];
        named.Predict(x: x, h0: h0, output: a, batch: Batch);
        ((IModel)concatenated).Predict(both, b, Batch);
        Assert.Equal(b, a);
        Assert.Equal(viaInterface.Loss(both, y, Batch), named.Loss(x: x, h0: h0, y: y, batch: Batch));

        var sgd = new Sgd(0.1f);
        Assert.Equal(viaInterface.TrainStep(both, y, Batch, sgd), named.TrainStep(x: x, h0: h0, y: y, batch: Batch, optimizer: sgd));
        Assert.Equal(concatenated.Parameters.ToArray(), named.Parameters.ToArray());

        var trace = named.Trace(x: x, h0: h0, y: y, batch: Batch);
        Assert.True(Math.Abs(trace.Value - named.Loss(x: x, h0: h0, y: y, batch: Batch)) < 1e-4);
    }

    [Fact]
    public void PerInputMethods_AWrongLength_NamesTheInput_AndChangesNothing()
    {
        var model = new GruVectorState(new ModelOptions { Seed = 5, MaxBatch = 4 });
        float[] before = model.Parameters.ToArray();
        var e = Assert.Throws<ArgumentException>(() => model.TrainStep(x: new float[Batch * 12], h0: new float[Batch * 6 - 1], y: new int[Batch], batch: Batch, optimizer: new Sgd(0.1f)));
        Assert.Equal("h0", e.ParamName);
        Assert.Contains("input h0 has 17 values; expected batch x 6 = 18", e.Message);
        Assert.Equal(before, model.Parameters.ToArray());
        Assert.Throws<ArgumentOutOfRangeException>(() => model.Predict(x: new float[60], h0: new float[30], output: new float[10], batch: 5));
    }

    [Fact]
    public void PerInputMethods_AllocateNothing()
    {
        var model = new GruVectorState(new ModelOptions { Seed = 5, MaxBatch = 4 });
        float[] x = ModelHarness.Normal(Batch * 12, 1), h0 = ModelHarness.Normal(Batch * 6, 2), output = new float[Batch * 2];
        int[] y = ModelHarness.Labels(Batch, 2, 3);
        var sgd = new Sgd(0.01f);
        model.TrainStep(x: x, h0: h0, y: y, batch: Batch, optimizer: sgd);
        model.Predict(x: x, h0: h0, output: output, batch: Batch);
        long allocated = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++)
        {
            model.TrainStep(x: x, h0: h0, y: y, batch: Batch, optimizer: sgd);
            model.Predict(x: x, h0: h0, output: output, batch: Batch);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - allocated);
    }
}
