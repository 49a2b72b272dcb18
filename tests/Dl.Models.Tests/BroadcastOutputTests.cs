namespace Dl.Tests;

/// <summary>A model whose output does not depend on its input (issue: out-of-bounds write in generated code).</summary>
public sealed class BroadcastOutputTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(32)]
    public void Generated_matches_the_tape(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new ConstantOutput(o), batch, ModelHarness.Normal(batch * 3, 3));

    [Theory]
    [InlineData(1)]
    [InlineData(5)]
    [InlineData(32)]
    public void An_unbatched_loss_operand_matches_the_tape(int batch) =>
        ModelHarness.GeneratedMatchesDynamic(o => new UnbatchedLossOperand(o), batch, ModelHarness.Normal(batch * 3, 3));

    [Theory]
    [InlineData(4)]
    [InlineData(4096)]
    public void Loss_gradient_and_predictions_broadcast_the_one_output_to_every_sample(int batch)
    {
        var net = new ConstantOutput(new ModelOptions { Seed = 1, MaxBatch = batch });
        float[] w = net.Parameter("w").ToArray();
        var x = new float[batch * 2];
        var t = ModelHarness.Normal(batch * 3, 5);
        // L = (1/B) Σ_s (1/3) Σ_j (w_j - t_sj)², dL/dw_j = (2/(3B)) Σ_s (w_j - t_sj)
        double loss = 0;
        var grad = new double[3];
        for (int s = 0; s < batch; s++)
            for (int j = 0; j < 3; j++)
            {
                double d = w[j] - t[s * 3 + j];
                loss += d * d / 3;
                grad[j] += 2 * d / 3 / batch;
            }
        loss /= batch;

        float actual = net.ComputeGradients(x, t, batch);
        Assert.Equal(loss, actual, 1e-4 * Math.Max(1, loss));
        for (int j = 0; j < 3; j++) Assert.Equal(grad[j], net.Gradients[j], 1e-5);

        var y = new float[batch * 3];
        net.Predict(x, y, batch);
        for (int s = 0; s < batch; s++)
            for (int j = 0; j < 3; j++) Assert.Equal(w[j], y[s * 3 + j]);
    }
}
