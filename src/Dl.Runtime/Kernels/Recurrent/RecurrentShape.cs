namespace Dl.Kernels;

/// <summary>
/// One recurrent layer's geometry: <see cref="Cell"/>, <see cref="Steps"/> T, <see cref="Input"/> size D and
/// <see cref="Hidden"/> size H. Weights are PyTorch's: W_ih [G·H, D], W_hh [G·H, H], b_ih and b_hh [G·H], gate blocks
/// stacked in PyTorch's order, with G = <see cref="Gates"/>.
/// </summary>
/// <remarks>
/// The workspaces are per sample, time-major inside (row t·batch + b holds step t of sample b), so that one step of
/// the whole batch is a contiguous block. <c>saved</c> (written by <c>Recurrent.Forward</c>, read by
/// <c>Recurrent.Backward</c>) holds, per sample:
/// <list type="bullet">
/// <item>gate activations, T·G·H (RNN: h_t; LSTM: σ(i), σ(f), tanh(g), σ(o); GRU: σ(r), σ(z), tanh(n));</item>
/// <item>hidden states h_0 … h_T, (T + 1)·H;</item>
/// <item>LSTM: cell states c_0 … c_T, (T + 1)·H, and tanh(c_1) … tanh(c_T), T·H;</item>
/// <item>GRU: W_hn h_{t-1} + b_hn (reset after) or r_t ⊙ h_{t-1} (reset before), T·H, and a step product G·H;</item>
/// <item>the input, time-major, T·D.</item>
/// </list>
/// <c>scratch</c> (Backward only, contents not kept): the gradients of the gate pre-activations T·G·H (GRU: twice, the
/// input side and the hidden side differ), the input gradient time-major T·D, and 2·H (+ H for LSTM and the reset-before
/// GRU) for the carried gradients of h and of c (LSTM) or r ⊙ h (reset-before GRU).
/// </remarks>
/// <param name="Cell">The cell equations.</param>
/// <param name="Steps">T, the sequence length (≥ 1).</param>
/// <param name="Input">D, features per step (≥ 1).</param>
/// <param name="Hidden">H, the hidden size (≥ 1).</param>
public readonly record struct RecurrentShape(RecurrentCell Cell, int Steps, int Input, int Hidden)
{
    /// <summary>G, the gate blocks per step: 1 (RNN), 4 (LSTM), 3 (GRU).</summary>
    public int Gates => RecurrentContract.Gates(Cell);

    /// <summary>G·H, the rows of W_ih and W_hh.</summary>
    public int GateWidth => Gates * Hidden;

    /// <summary>Floats per sample of the <c>saved</c> workspace: T·G·H + (T + 1)·H + T·D, plus (2T + 1)·H for LSTM and
    /// T·H + G·H for GRU (<see cref="RecurrentContract.SavedPerSample"/>, the size the generator allocates).</summary>
    public int SavedPerSample => checked((int)RecurrentContract.SavedPerSample(Cell, Steps, Input, Hidden));

    /// <summary>Floats per sample of the <c>scratch</c> workspace Backward uses: T·G·H + T·D + 2·H, plus T·G·H for GRU and
    /// H for LSTM and the reset-before GRU (<see cref="RecurrentContract.ScratchPerSample"/>).</summary>
    public int ScratchPerSample => checked((int)RecurrentContract.ScratchPerSample(Cell, Steps, Input, Hidden));

    internal bool IsGru => Cell is RecurrentCell.Gru or RecurrentCell.GruResetBefore;

    // ---- saved layout, per sample (multiply by the batch for the offset in the whole workspace) ----
    internal int OffsetHidden => Steps * GateWidth;                                    // h_0..h_T
    internal int OffsetCell => OffsetHidden + (Steps + 1) * Hidden;                    // LSTM c_0..c_T
    internal int OffsetTanhCell => OffsetCell + (Steps + 1) * Hidden;                  // LSTM tanh(c_1..c_T)
    internal int OffsetExtra => Cell == RecurrentCell.Lstm ? OffsetTanhCell + Steps * Hidden : OffsetCell; // GRU Hn or S
    internal int ExtraLength => IsGru ? Steps * Hidden : 0;
    internal int OffsetInput => OffsetExtra + ExtraLength;                             // x time-major
    internal int OffsetStep => OffsetInput + Steps * Input;                            // GRU step product
    internal int StepLength => IsGru ? GateWidth : 0;

    // ---- scratch layout ----
    internal int OffsetInputGradient => Steps * GateWidth * (IsGru ? 2 : 1);
    internal int OffsetCarry => OffsetInputGradient + Steps * Input;
    // The carried dh, then dc (LSTM) or ds (reset-before GRU): the rest of ScratchPerSample (one H more than used).
    internal int CarryLength => 2 * Hidden + (Cell == RecurrentCell.Lstm || Cell == RecurrentCell.GruResetBefore ? Hidden : 0);

    /// <summary>The argument checks of Forward (both precisions): exact lengths for the data, at least
    /// batch·<see cref="SavedPerSample"/> for <c>saved</c>.</summary>
    internal void CheckForward(string method, int batch, int x, int h0, int c0, int weightIh, int weightHh, int biasIh, int biasHh,
        int y, int saved)
    {
        CheckCommon(method, batch, x, h0, c0, y, saved);
        CheckWeight(method, weightIh, (long)GateWidth * Input, "weightIh", "G·H·D", optional: false);
        CheckWeight(method, weightHh, (long)GateWidth * Hidden, "weightHh", "G·H·H", optional: false);
        // A layer without biases (bias: false) passes empty spans: zeros are added instead.
        CheckWeight(method, biasIh, GateWidth, "biasIh", "G·H", optional: true);
        CheckWeight(method, biasHh, GateWidth, "biasHh", "G·H", optional: true);
    }

    /// <summary>Per-sample sequence lengths: empty (every sample has T steps) or one per sample, each an integer in 1..T
    /// (<see cref="RecurrentContract.LengthError"/>, which names the sample).</summary>
    internal void CheckLengths<T>(string method, ReadOnlySpan<T> lengths, int batch) where T : System.Numerics.INumberBase<T>
    {
        if (lengths.IsEmpty) return;
        if (lengths.Length != batch)
            throw new ArgumentException($"{method}: lengths has {lengths.Length} values, expected one per sample = {batch} or none (an empty span).", "lengths");
        for (int n = 0; n < batch; n++)
            if (RecurrentContract.LengthError(method, n, double.CreateTruncating(lengths[n]), Steps) is { } error)
                throw new ArgumentOutOfRangeException("lengths", error);
    }

    /// <summary>Sample <paramref name="n"/>'s valid steps: its length, or T without lengths (checked already).</summary>
    internal int Length<T>(ReadOnlySpan<T> lengths, int n) where T : System.Numerics.INumberBase<T> =>
        lengths.IsEmpty ? Steps : int.CreateTruncating(lengths[n]);

    /// <summary>The checks Forward and Backward share: the shape, the batch, x, h0, c0, y and <c>saved</c>.</summary>
    private void CheckCommon(string method, int batch, int x, int h0, int c0, int y, int saved)
    {
        Validate();
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"{method}: batch must be >= 1.");
        long b = batch;
        CheckLength(method, "x", x, b * Steps * Input, "batch·T·D", batch);
        CheckOptional(method, "h0", h0, b * Hidden, "batch·H", batch);
        if (Cell == RecurrentCell.Lstm) CheckOptional(method, "c0", c0, b * Hidden, "batch·H", batch);
        else if (c0 != 0) throw new ArgumentException($"{method}: c0 has {c0} floats but a {Cell} cell has no cell state; pass an empty span.", "c0");
        CheckLength(method, "y", y, b * Steps * Hidden, "batch·T·H", batch);
        CheckWorkspace(method, "saved", saved, b * SavedPerSample, "batch·SavedPerSample", SavedPerSample, batch);
    }

    /// <summary>The argument checks of Backward: gradient outputs are empty (not wanted) or exactly their input's length.</summary>
    internal void CheckBackward(string method, int batch, int x, int h0, int c0, int weightIh, int weightHh, int y, int saved, int dy,
        int dx, int dh0, int dc0, int dWeightIh, int dWeightHh, int dBiasIh, int dBiasHh, int scratch)
    {
        CheckCommon(method, batch, x, h0, c0, y, saved);
        CheckWeights(method, weightIh, weightHh, GateWidth, GateWidth, "weightIh", "weightHh", "biasIh", "biasHh", optional: false);
        long b = batch;
        CheckLength(method, "dy", dy, b * Steps * Hidden, "batch·T·H", batch);
        CheckOptional(method, "dx", dx, b * Steps * Input, "batch·T·D", batch);
        CheckOptional(method, "dh0", dh0, b * Hidden, "batch·H", batch);
        if (Cell == RecurrentCell.Lstm) CheckOptional(method, "dc0", dc0, b * Hidden, "batch·H", batch);
        else if (dc0 != 0) throw new ArgumentException($"{method}: dc0 has {dc0} floats but a {Cell} cell has no cell state; pass an empty span.", "dc0");
        CheckWeights(method, dWeightIh, dWeightHh, dBiasIh, dBiasHh, "dWeightIh", "dWeightHh", "dBiasIh", "dBiasHh", optional: true);
        CheckWorkspace(method, "scratch", scratch, b * ScratchPerSample, "batch·ScratchPerSample", ScratchPerSample, batch);
    }

    private void CheckWeights(string method, int wih, int whh, int bih, int bhh, string nWih, string nWhh, string nBih, string nBhh, bool optional)
    {
        CheckWeight(method, wih, (long)GateWidth * Input, nWih, "G·H·D", optional);
        CheckWeight(method, whh, (long)GateWidth * Hidden, nWhh, "G·H·H", optional);
        CheckWeight(method, bih, GateWidth, nBih, "G·H", optional);
        CheckWeight(method, bhh, GateWidth, nBhh, "G·H", optional);
    }

    private void CheckWeight(string method, int length, long expected, string name, string formula, bool optional)
    {
        if (optional && length == 0) return;
        if (length != expected)
            throw new ArgumentException($"{method}: {name} has {length} floats, expected {formula} = {expected} for a {Cell} cell " +
                $"(G = {Gates}, H = {Hidden}, D = {Input}){(optional ? " or none (empty)" : "")}.", name);
    }

    private void CheckLength(string method, string name, int length, long expected, string formula, int batch)
    {
        if (length != expected)
            throw new ArgumentException($"{method}: {name} has {length} floats, expected {formula} = {expected} " +
                $"(batch {batch}, T = {Steps}, D = {Input}, H = {Hidden}).", name);
    }

    private void CheckOptional(string method, string name, int length, long expected, string formula, int batch)
    {
        if (length != 0 && length != expected)
            throw new ArgumentException($"{method}: {name} has {length} floats, expected {formula} = {expected} " +
                $"(batch {batch}, H = {Hidden}, T = {Steps}, D = {Input}) or none (an empty span).", name);
    }

    private static void CheckWorkspace(string method, string name, int length, long expected, string formula, int perSample, int batch)
    {
        if (length < expected)
            throw new ArgumentException($"{method}: {name} has {length} floats, expected at least {formula} = {batch}·{perSample} = {expected}.", name);
    }

    /// <summary>Checks the cell and that every size is positive and the workspaces fit in an int.</summary>
    /// <exception cref="ArgumentException">A field is out of range; the message names it and its value.</exception>
    public void Validate()
    {
        if (!Enum.IsDefined(Cell))
            throw new ArgumentException($"RecurrentShape cell {(int)Cell} is not a RecurrentCell (Rnn, Lstm, Gru, GruResetBefore).", nameof(Cell));
        if (Steps < 1) throw new ArgumentException($"RecurrentShape steps T = {Steps} must be >= 1.", nameof(Steps));
        if (Input < 1) throw new ArgumentException($"RecurrentShape input size D = {Input} must be >= 1.", nameof(Input));
        if (Hidden < 1) throw new ArgumentException($"RecurrentShape hidden size H = {Hidden} must be >= 1.", nameof(Hidden));
        long gh = (long)Gates * Hidden;
        if (RecurrentContract.SavedPerSample(Cell, Steps, Input, Hidden) > int.MaxValue
            || RecurrentContract.ScratchPerSample(Cell, Steps, Input, Hidden) > int.MaxValue || gh * Math.Max(Input, Hidden) > int.MaxValue)
            throw new ArgumentException($"RecurrentShape {this} is too large: a per-sample workspace or a weight would exceed int.MaxValue floats.");
    }
}
