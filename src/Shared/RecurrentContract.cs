// Shared contract: compiled into Dl.Runtime and into Dl.Generators (public in both; see docs/architecture.md). The
// generator creates a recurrent layer's parameters and sizes its kernel workspaces with these rules at build time; the
// kernels (Dl.Kernels.RecurrentShape) check the spans they get and the tape looks its parameters up with them at run
// time.
namespace Dl.Kernels;

/// <summary>The recurrent cell a layer runs (PyTorch's equations; see <c>Dl.Kernels.Recurrent</c>).</summary>
public enum RecurrentCell
{
    /// <summary>Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh). One gate block.</summary>
    Rnn = 0,
    /// <summary>LSTM: gate blocks i, f, g, o; c_t = f ⊙ c_{t-1} + i ⊙ g, h_t = o ⊙ tanh(c_t).</summary>
    Lstm = 1,
    /// <summary>GRU with the reset gate applied after the hidden matrix product (PyTorch, cuDNN):
    /// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)). Gate blocks r, z, n.</summary>
    Gru = 2,
    /// <summary>GRU with the reset gate applied before the hidden matrix product (Cho et al. 2014, d2l):
    /// n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn). Gate blocks r, z, n.</summary>
    GruResetBefore = 3,
}

/// <summary>What a recurrent layer of a cell is: its gate count, its parameters (PyTorch's names and layout: W_ih [G·H, D],
/// W_hh [G·H, H], b_ih and b_hh [G·H] per layer l) and the per-sample sizes of the kernels' workspaces (the layout is
/// <c>Dl.Kernels.RecurrentShape</c>'s).</summary>
public static class RecurrentContract
{
    /// <summary>G, the gate blocks per step: 1 (RNN), 4 (LSTM), 3 (GRU).</summary>
    public static int Gates(RecurrentCell cell) => cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru or RecurrentCell.GruResetBefore => 3, _ => 1 };

    /// <summary>The op's name in messages and graphs: rnn, lstm, gru, gru_reset_before.</summary>
    public static string OpName(RecurrentCell cell) => cell switch
    {
        RecurrentCell.Rnn => "rnn",
        RecurrentCell.Lstm => "lstm",
        RecurrentCell.Gru => "gru",
        _ => "gru_reset_before",
    };

    /// <summary>The name of parameter <paramref name="role"/> (weight_ih, weight_hh, bias_ih, bias_hh) of stacked layer
    /// <paramref name="l"/>: <c>{layer}.{role}_l{l}</c>, as PyTorch's state dict.</summary>
    public static string ParameterName(string layer, string role, int l) => $"{layer}.{role}_l{l}";

    /// <summary>The name of parameter <paramref name="role"/> of stacked layer <paramref name="l"/> in direction
    /// <paramref name="reverse"/>: <c>{layer}.{role}_l{l}</c>, or <c>{layer}.{role}_l{l}_reverse</c> for the backward direction of a
    /// bidirectional layer (PyTorch's state dict).</summary>
    public static string ParameterName(string layer, string role, int l, bool reverse) =>
        reverse ? $"{layer}.{role}_l{l}_reverse" : ParameterName(layer, role, l);

    /// <summary>The parameter roles of one layer and direction: weight_ih, weight_hh and, with biases, bias_ih, bias_hh.</summary>
    public static int ParameterCount(bool bias) => bias ? 4 : 2;

    /// <summary>The error for a per-sample sequence length that is not an integer in 1..T (null when it is one): the
    /// same text from the generated code's kernel call and the tape.</summary>
    public static string? LengthError(string method, int sample, double length, int steps) =>
        length >= 1 && length <= steps && length == System.Math.Floor(length) ? null
            : $"{method}: lengths[{sample}] = {length.ToString(System.Globalization.CultureInfo.InvariantCulture)} (sample {sample}) is not a sequence length: expected an integer in 1..T = 1..{steps}.";

    /// <summary>The error for a <c>lengths</c> argument that is not one number per sample (null when it is): a batched
    /// [1] or scalar per sample. The same text at build time (DL0012) and on the tape.</summary>
    public static string? LengthsShapeError(bool batched, System.Collections.Generic.IReadOnlyList<int> shape) =>
        batched && (shape.Count == 0 || shape.Count == 1 && shape[0] == 1) ? null
            : $"lengths must be one number per sample (a batched [1] or scalar, e.g. a [Forward] input [1]), got {(batched ? "" : "an unbatched ")}[{string.Join(", ", shape)}]";

    /// <summary>The step of the input (and output) that step <paramref name="t"/> of the recurrence reads, for a sample of
    /// <paramref name="length"/> valid steps: t, or length − 1 − t for the reverse direction (each sample's reverse pass
    /// starts at its own last valid step, as PyTorch's packed sequences).</summary>
    public static int SourceStep(int t, int length, bool reverse) => reverse && t < length ? length - 1 - t : t;

    /// <summary>Floats per sample of the <c>saved</c> workspace Forward writes and Backward reads: T·G·H + (T + 1)·H + T·D,
    /// plus (2T + 1)·H for LSTM (c_0..c_T, tanh(c_1..c_T)) and T·H + G·H for GRU (the hidden-side term of each step and one
    /// step's gate product).</summary>
    public static long SavedPerSample(RecurrentCell cell, int steps, int input, int hidden)
    {
        long t = steps, h = hidden, gh = Gates(cell) * h;
        bool lstm = cell == RecurrentCell.Lstm, gru = cell is RecurrentCell.Gru or RecurrentCell.GruResetBefore;
        return t * gh + (t + 1) * h + (lstm ? (2 * t + 1) * h : 0) + (gru ? t * h + gh : 0) + t * input;
    }

    /// <summary>Floats per sample of the <c>scratch</c> workspace Backward uses: the gate gradients of every step T·G·H
    /// (twice for GRU: the input and the hidden side), the input gradient T·D, and the carried gradients 2·H, plus H for
    /// LSTM and the reset-before GRU (one H more than used, kept as published).</summary>
    public static long ScratchPerSample(RecurrentCell cell, int steps, int input, int hidden)
    {
        long t = steps, h = hidden, gh = Gates(cell) * h;
        bool gru = cell is RecurrentCell.Gru or RecurrentCell.GruResetBefore;
        return t * gh * (gru ? 2 : 1) + t * input + 2 * h + (cell is RecurrentCell.Lstm or RecurrentCell.GruResetBefore ? h : 0);
    }
}
