namespace Dl.Tests;

/// <summary>The course notes' recurrent examples computed by the library (../shared/seeds/001, the RNN and LSTM worked
/// examples). Where the notes slip, the test states the slip and asserts the correct value.</summary>
public class NotesRnnExamplesTests
{
    private static readonly double[,] Wxh = { { 0.5, -0.3 }, { 0.8, 0.2 }, { 0.1, 0.4 } };
    private static readonly double[,] Whh = { { 0.1, 0.4, 0.0 }, { -0.2, 0.3, 0.2 }, { 0.05, -0.1, 0.2 } };
    private static readonly double[,] Wyh = { { 1.0, -1.0, 0.5 }, { 0.5, 0.5, -0.5 } };
    private static readonly float[] X = [1, 2, -1, 1];   // x_1 = [1, 2], x_2 = [-1, 1]

    private static void SetRnn(IModel net)
    {
        var wih = net.Parameter("rnn.weight_ih_l0"); var whh = net.Parameter("rnn.weight_hh_l0");
        for (int i = 0; i < 3; i++)
        {
            for (int j = 0; j < 2; j++) wih[i * 2 + j] = (float)Wxh[i, j];
            for (int j = 0; j < 3; j++) whh[i * 3 + j] = (float)Whh[i, j];
        }
        net.Parameter("rnn.bias_ih_l0").Clear();   // the notes' RNN has no bias
        net.Parameter("rnn.bias_hh_l0").Clear();
    }

    /// <summary>h_1 = tanh(W_xh x_1) and h_2 = tanh(W_hh h_1 + W_xh x_2) by hand, in double.</summary>
    private static (double[] H1, double[] H2) ByHand()
    {
        double[] h1 = new double[3], h2 = new double[3];
        for (int i = 0; i < 3; i++) h1[i] = Math.Tanh(Wxh[i, 0] * X[0] + Wxh[i, 1] * X[1]);
        for (int i = 0; i < 3; i++)
        {
            double z = Wxh[i, 0] * X[2] + Wxh[i, 1] * X[3];
            for (int j = 0; j < 3; j++) z += Whh[i, j] * h1[j];
            h2[i] = Math.Tanh(z);
        }
        return (h1, h2);
    }

    [Fact]
    public void TwoStepRnn_HiddenStates()
    {
        // The notes: W_xh x_1 = [-0.1, 1.2, 0.9] and h_1 = tanh(.) = [0.099, 0.833, 0.716]. tanh(-0.1) is -0.0997 (the
        // notes drop the sign), and the 0.9 needs W_xh's last row to be [0.1, 0.4]: the notes print [0.1, 0.9] once but
        // compute with 0.4 (their second step, W_xh x_2 = [-0.8, -0.6, 0.3], needs it too), so the test uses 0.4.
        var net = new NotesRnnStates(new ModelOptions { Seed = 1, MaxBatch = 1 });
        SetRnn(net);
        var h = new float[6];
        net.Predict(X, h, 1);
        var (h1, h2) = ByHand();
        Assert.Equal(-0.0997, h[0], 4);
        Assert.Equal(0.8337, h[1], 4);
        Assert.Equal(0.7163, h[2], 4);
        // Step 2: the notes' pre-activation W_hh h_1 + W_xh x_2 = [-0.4779, -0.1871, 0.355] (rounded along the way;
        // exactly [-0.4765, -0.1867, 0.3549]), so h_2 = tanh of it = [-0.4434, -0.1846, 0.3408].
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(h1[i], h[i], 5);
            Assert.Equal(h2[i], h[3 + i], 5);
        }
        Assert.Equal(-0.4434, h[3], 3);
        Assert.Equal(-0.1846, h[4], 3);
        Assert.Equal(0.3408, h[5], 3);
    }

    [Fact]
    public void TwoStepRnn_Outputs()
    {
        // y_1 = W_yh h_1: the notes get [-0.579, 0.009] (with rounded h_1); exactly [-0.5752, 0.0088].
        var net = new NotesRnnOutputs(new ModelOptions { Seed = 1, MaxBatch = 1 });
        SetRnn(net);
        var w = net.Parameter("out.weight");
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) w[i * 3 + j] = (float)Wyh[i, j];
        var y = new float[4];
        net.Predict(X, y, 1);
        var (h1, h2) = ByHand();
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(Wyh[i, 0] * h1[0] + Wyh[i, 1] * h1[1] + Wyh[i, 2] * h1[2], y[i], 5);
            Assert.Equal(Wyh[i, 0] * h2[0] + Wyh[i, 1] * h2[1] + Wyh[i, 2] * h2[2], y[2 + i], 5);
        }
        Assert.Equal(-0.5752, y[0], 3);
        Assert.Equal(0.0088, y[1], 3);
    }

    [Fact]
    public void LstmStep()
    {
        // The notes' LSTM step: x_t = [0.5, -0.1], h_{t-1} = [0.0, 0.1], no biases, and the gate weights below. They give
        // no forget-gate weights and no c_{t-1}: with c_{t-1} = 0 the forget gate does not matter (c_t = i ⊙ g), so it is
        // left at random values here. The notes' arithmetic slips (they use h = [0, -0.1] for g and get σ(-0.122) = 0.43);
        // the correct values: i = σ([0.30, 0.195]) = [0.5744, 0.5486], g = tanh([-0.28, 0.135]) = [-0.2729, 0.1342],
        // o = σ([0.13, -0.14]) = [0.5325, 0.4651], c_t = [-0.1568, 0.0736], h_t = o ⊙ tanh(c_t) = [-0.0828, 0.0342].
        double[,] whi = { { 0.1, 0.2 }, { 0.2, 0.05 } }, wxi = { { 0.5, -0.3 }, { 0.4, 0.1 } };
        double[,] whg = { { 0.2, 0.1 }, { 0.1, 0.05 } }, wxg = { { -0.5, 0.4 }, { 0.2, -0.3 } };
        double[,] who = { { 0.15, 0.05 }, { 0.1, -0.2 } }, wxo = { { 0.3, 0.25 }, { -0.2, 0.2 } };
        double[] x = [0.5, -0.1], hPrev = [0.0, 0.1];
        var net = new NotesLstmStep(new ModelOptions { Seed = 1, MaxBatch = 1 });
        var wih = net.Parameter("lstm.weight_ih_l0"); var whh = net.Parameter("lstm.weight_hh_l0");
        // PyTorch's packing: rows 0-1 input gate, 2-3 forget gate (left random), 4-5 candidate g, 6-7 output gate.
        foreach (var (gate, wx, wh) in new[] { (0, wxi, whi), (2, wxg, whg), (3, wxo, who) })
            for (int i = 0; i < 2; i++)
                for (int j = 0; j < 2; j++)
                {
                    wih[(gate * 2 + i) * 2 + j] = (float)wx[i, j];
                    whh[(gate * 2 + i) * 2 + j] = (float)wh[i, j];
                }
        net.Parameter("lstm.bias_ih_l0").Clear();
        net.Parameter("lstm.bias_hh_l0").Clear();
        var h = new float[2];
        net.Predict(x: [.. x.Select(v => (float)v)], h0: [.. hPrev.Select(v => (float)v)], c0: [0f, 0f], output: h, batch: 1);

        static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));
        for (int k = 0; k < 2; k++)
        {
            double Pre(double[,] wx, double[,] wh) => wx[k, 0] * x[0] + wx[k, 1] * x[1] + wh[k, 0] * hPrev[0] + wh[k, 1] * hPrev[1];
            double i = Sigmoid(Pre(wxi, whi)), g = Math.Tanh(Pre(wxg, whg)), o = Sigmoid(Pre(wxo, who));
            Assert.Equal(o * Math.Tanh(i * g), h[k], 5);
        }
        Assert.Equal(-0.0828, h[0], 3);
        Assert.Equal(0.0342, h[1], 3);
    }
}
