using Dl;

namespace Dl.Tests;

public class MetricsTests
{
    [Fact]
    public void Accuracy_UsesArgmax_FirstIndexWinsTies()
    {
        float[] logits =
        [
            0.1f, 0.7f, 0.2f,   // 1
            0.5f, 0.5f, 0.0f,   // tie 0/1 -> 0
            -1f, -2f, -0.5f,    // 2
            3f, 3f, 3f,         // all tied -> 0
        ];
        Assert.Equal(1f, Metrics.Accuracy(logits, 3, [1, 0, 2, 0]));
        Assert.Equal(0.5f, Metrics.Accuracy(logits, 3, [1, 1, 2, 2]));
        Assert.Equal(1, Metrics.ArgMax([float.NaN, 1f, 0f])); // a number beats a leading NaN
        Assert.Throws<ArgumentException>(() => Metrics.Accuracy(logits, 3, [1, 0]));
        Assert.Throws<ArgumentException>(() => Metrics.Accuracy(logits, 5, [1, 0]));
        Assert.Throws<ArgumentOutOfRangeException>(() => Metrics.Accuracy(logits, 3, [1, 0, 2, 3]));
    }

    [Fact]
    public void ConfusionMatrix_CountsPrecisionRecall()
    {
        var cm = new ConfusionMatrix(3);
        // actual -> predicted: 0->0, 0->1, 1->1, 2->1, 2->2, 2->2
        float[] logits = [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1];
        cm.Add(logits, [0, 0, 1, 2, 2, 2]);
        Assert.Equal(6, cm.Total);
        Assert.Equal(1, cm[0, 1]);
        Assert.Equal(2, cm[2, 2]);
        Assert.Equal(4.0 / 6, cm.Accuracy(), 12);
        Assert.Equal(1.0 / 3, cm.Precision(1), 12);   // column 1: 0->1, 1->1, 2->1
        Assert.Equal(2.0 / 3, cm.Recall(2), 12);
        Assert.Equal(0.5, cm.Recall(0), 12);
        string text = cm.ToString();
        Assert.Contains("accuracy 0.6667", text);
        cm.Clear();
        Assert.Equal(0, cm.Total);
        Assert.True(double.IsNaN(cm.Recall(0)));
    }

    [Fact]
    public void MseAndMae_MatchHandValues()
    {
        float[] p = [1f, 2f, 3f, 4f], t = [1f, 0f, 4f, 1f];
        Assert.Equal((0 + 4 + 1 + 9) / 4f, Metrics.MeanSquaredError(p, t));
        Assert.Equal((0 + 2 + 1 + 3) / 4f, Metrics.MeanAbsoluteError(p, t));
        Assert.Throws<ArgumentException>(() => Metrics.MeanSquaredError(p, t.AsSpan(1)));
    }
}
