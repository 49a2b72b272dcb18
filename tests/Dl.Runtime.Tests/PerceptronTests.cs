using Dl.Training;

namespace Dl.Tests;

public class PerceptronTests
{
    private static readonly float[,] Inputs = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };

    [Theory]
    [InlineData(new[] { 0, 0, 0, 1 })] // AND
    [InlineData(new[] { 0, 1, 1, 1 })] // OR
    public void LinearlySeparable_Converges_AndClassifiesAll(int[] y)
    {
        var p = new Perceptron(2);
        int epochs = p.Train(Inputs, y, maxEpochs: 100, eta: 0.1f);
        Assert.InRange(epochs, 1, 100);
        for (int i = 0; i < 4; i++) Assert.Equal(y[i], p.Predict([Inputs[i, 0], Inputs[i, 1]]));
    }

    [Fact]
    public void And_FollowsTheUpdateRule_ByHand()
    {
        // From w = 0, b = 0, η = 1, AND. Epoch 1: (0,0) z=0 → ŷ=0 ok; (0,1) ok; (1,0) ok;
        // (1,1) ŷ=0, y=1 → w = (1,1), b = 1. Epoch 2: (0,0) z=1 → ŷ=1, y=0 → b = 0;
        // (0,1) z=1 → w = (1,0), b = −1; (1,0) z=0 ok; (1,1) z=0 → w = (2,1), b = 0. ...
        var p = new Perceptron(2);
        Assert.Equal(-1, p.Train(Inputs, [0, 0, 0, 1], maxEpochs: 1, eta: 1f));
        Assert.Equal([1f, 1f], p.Weights);
        Assert.Equal(1f, p.Bias);
        Assert.Equal(-1, p.Train(Inputs, [0, 0, 0, 1], maxEpochs: 1, eta: 1f));
        Assert.Equal([2f, 1f], p.Weights);
        Assert.Equal(0f, p.Bias);
    }

    [Fact]
    public void Xor_DoesNotConverge()
    {
        var p = new Perceptron(2);
        Assert.Equal(-1, p.Train(Inputs, [0, 1, 1, 0], maxEpochs: 1000, eta: 0.1f));
        int correct = Enumerable.Range(0, 4).Count(i => p.Predict([Inputs[i, 0], Inputs[i, 1]]) == new[] { 0, 1, 1, 0 }[i]);
        Assert.True(correct < 4);
    }

    [Fact]
    public void BadInputs_AreRejected()
    {
        var p = new Perceptron(2);
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Train(Inputs, [0, 2, 1, 0], 10, 0.1f));
        Assert.Throws<ArgumentException>(() => p.Train(new float[4, 3], [0, 1, 1, 0], 10, 0.1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => p.Train(Inputs, [0, 1, 1, 0], 10, 0f));
    }
}
