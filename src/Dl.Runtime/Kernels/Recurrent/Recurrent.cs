using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Dl.Kernels;

/// <summary>
/// One recurrent layer (RNN, LSTM or GRU, <see cref="RecurrentCell"/>) over whole sequences in single precision:
/// forward over all steps, and backpropagation through time. PyTorch's equations and parameter layout (see
/// <see cref="RecurrentReference"/> for the equations and the derivatives, and <see cref="RecurrentShape"/> for the
/// workspaces).
/// </summary>
/// <remarks>
/// <para>Layout: x [batch, T, D], y and dy [batch, T, H] (batch outermost); h0, c0 [batch, H]; W_ih [G·H, D],
/// W_hh [G·H, H], b_ih and b_hh [G·H], gate blocks stacked as in PyTorch (LSTM i, f, g, o; GRU r, z, n).</para>
/// <para>How the work is organised: the workspaces are time-major, so one step of the whole batch is one contiguous
/// block. Forward computes every step's input projection x_t·W_ihᵀ with one GEMM over all T·batch rows, then per step one
/// product of h_{t-1} with W_hhᵀ into the gate pre-activations (all gates fused; the reset-before GRU needs two, the second
/// on r ⊙ h_{t-1}) followed by one element-wise pass. Backward runs the steps in reverse with one product per step,
/// dh_{t-1} = dG_t·W_hh; the weight, bias and input gradients are single GEMMs and column sums over all steps afterwards.
/// At batch 1 (H a multiple of 16 up to 128, AVX-512) the per-step products are matrix-vector products with
/// register-resident kernels (RecurrentGemv); without AVX-512 (H a multiple of 8 up to 256) by AVX2 kernels that keep the
/// output in registers and read a slab-wise copy of W_hh made once per call; otherwise the forward multiplies by a transposed copy of W_hh made once per
/// call, so that GEMM reads its rows in place instead of packing them (or taking dot-product tiles) every step. The same
/// per-call buffer, kept with the <see cref="GemmContext"/> because it is not per sample, serves the short-input
/// shapes where GEMM's choice for op(B) = Bᵀ is slow (see the comments at each use).</para>
/// <para>Floating point: the activations are vectorised approximations within ~3e-7 relative (VectorMath); sums run in
/// a different order than in <see cref="RecurrentReference"/>, so float results agree with it to rounding, not bit for
/// bit.</para>
/// <para>Nothing is allocated per call once a context has seen a shape. The context must not be used by two calls at once
/// (as for <see cref="Gemm"/>).</para>
/// </remarks>
public static unsafe partial class Recurrent
{
    // Why 8: the transposed copy costs about one pass over W_hh; it pays for itself after a few steps (measured LSTM
    // H = 128: a step at batch 4 takes 10.3 µs with W_hhᵀ read by GEMM's dot tiles and 4.9 µs on the copy; batch 32,
    // 42.9 and 36.9 µs; the copy takes ~10 µs).
    private const int TransposeMinRows = 8;

    // Why 48: the width of the float GEMM's register tile (GemmBlocking.NR on AVX-512).
    private const int TransposedGradientMaxInput = 48;

    /// <summary>Forward over all steps.</summary>
    /// <param name="s">The layer's cell and sizes.</param>
    /// <param name="batch">Samples (≥ 1).</param>
    /// <param name="x">[batch, T, D] inputs.</param>
    /// <param name="h0">[batch, H] initial hidden states, or empty for zeros.</param>
    /// <param name="c0">[batch, H] initial cell states (LSTM only), or empty for zeros.</param>
    /// <param name="weightIh">W_ih [G·H, D].</param>
    /// <param name="weightHh">W_hh [G·H, H].</param>
    /// <param name="biasIh">b_ih [G·H].</param>
    /// <param name="biasHh">b_hh [G·H].</param>
    /// <param name="y">[batch, T, H] receives every hidden state h_1 … h_T (overwritten).</param>
    /// <param name="saved">At least batch·<see cref="RecurrentShape.SavedPerSample"/> floats: receives what
    /// <c>Backward</c> needs. Evaluation (no backward) uses the same call.</param>
    /// <param name="gemm">Packing buffers for the products.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape (the message names it).</exception>
    public static void Forward(RecurrentShape s, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        Span<float> y, Span<float> saved, GemmContext gemm)
        => Forward(s, batch, x, h0, c0, weightIh, weightHh, biasIh, biasHh, y, saved, default, reverse: false, gemm);

    /// <summary>Forward over sequences of per-sample lengths, in either direction (a bidirectional layer's backward
    /// direction, PyTorch's packed sequences).</summary>
    /// <param name="lengths">[batch] each sample's valid steps, integers in 1..T, or empty for T. Steps t ≥ length are
    /// padding: their input is not read, their output is zero (as pad_packed_sequence) and they receive no gradient.</param>
    /// <param name="reverse">Run the recurrence from each sample's last valid step back to its first: step t reads input
    /// step length − 1 − t and writes output there (the output is in the input's order, as PyTorch's reverse direction).</param>
    /// <remarks>The other arguments are <see cref="Forward(RecurrentShape, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, GemmContext)"/>'s;
    /// the biases may be empty (a layer without biases). The recurrence itself is the same: the input is copied into
    /// the time-major workspace in the order the recurrence reads it, padding as zeros, so the valid steps are a prefix
    /// and the steps after a sample's length cannot change its outputs.</remarks>
    /// <param name="s">As in the overload without lengths.</param>
    /// <param name="batch">As in the overload without lengths.</param>
    /// <param name="x">As in the overload without lengths.</param>
    /// <param name="h0">As in the overload without lengths.</param>
    /// <param name="c0">As in the overload without lengths.</param>
    /// <param name="weightIh">As in the overload without lengths.</param>
    /// <param name="weightHh">As in the overload without lengths.</param>
    /// <param name="biasIh">As in the overload without lengths (the biases may be empty).</param>
    /// <param name="biasHh">As in the overload without lengths (the biases may be empty).</param>
    /// <param name="y">As in the overload without lengths.</param>
    /// <param name="saved">As in the overload without lengths.</param>
    /// <param name="gemm">Packing buffers for the products.</param>
    public static void Forward(RecurrentShape s, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh,
        Span<float> y, Span<float> saved, ReadOnlySpan<float> lengths, bool reverse, GemmContext gemm)
    {
        ArgumentNullException.ThrowIfNull(gemm);
        s.CheckForward("Recurrent.Forward", batch, x.Length, h0.Length, c0.Length, weightIh.Length, weightHh.Length,
            biasIh.Length, biasHh.Length, y.Length, saved.Length);
        s.CheckLengths("Recurrent.Forward", lengths, batch);
        gemm.ThrowIfDisposed();
        int steps = s.Steps, d = s.Input, h = s.Hidden, gw = s.GateWidth, b = batch, rows = steps * batch;
        RecurrentCell cell = s.Cell;
        bool mapped = reverse || !lengths.IsEmpty;
        if (biasIh.IsEmpty) biasIh = ZeroBias(gw);
        if (biasHh.IsEmpty) biasHh = ZeroBias(gw);

        // Every step's input projection at once: acts[t·b + n] = x[n, t]·W_ihᵀ (biases are added in the step pass).
        ReadOnlySpan<float> xs = x;
        if (b > 1 || mapped)
        {
            Span<float> xtm = saved.Slice(b * s.OffsetInput, rows * d);
            if (mapped) ToTimeMajor(s, x, xtm, b, lengths, reverse);
            else ToTimeMajor(x, xtm, b, steps, d);
            xs = xtm;
        }
        if (rows >= 4 && rows <= 16)
        {
            // Why: for 2..16 rows GEMM takes op(B) = W_ihᵀ as dot-product tiles, which are slow for a short D (measured
            // D = 32, G·H = 512: 10 rows 15.8 µs; on a transposed copy 3.6 µs, plus ~2 µs to make it).
            float[] wt = TransposedBuffer(gemm, gw * Math.Max(d, h));
            fixed (float* pWih = weightIh, pWt = wt) RecurrentGemv.Transpose(pWih, gw, d, pWt);
            Gemm.Multiply(xs, wt.AsSpan(0, d * gw), saved[..(rows * gw)], rows, gw, d, transA: false, transB: false, accumulate: false, gemm);
        }
        else Gemm.Multiply(xs, weightIh, saved[..(rows * gw)], rows, gw, d, transA: false, transB: true, accumulate: false, gemm);

        Span<float> hs = saved.Slice(b * s.OffsetHidden, (steps + 1) * b * h);
        if (h0.IsEmpty) hs[..(b * h)].Clear(); else h0.CopyTo(hs);
        if (cell == RecurrentCell.Lstm)
        {
            Span<float> cs = saved.Slice(b * s.OffsetCell, b * h);
            if (c0.IsEmpty) cs.Clear(); else c0.CopyTo(cs);
        }

        // The slab copy, like the transposed one, costs about one pass over W_hh, hence the same minimum of steps.
        Product mode = b == 1 && RecurrentGemv.Supports(h) ? Product.Registers
            : b == 1 && rows >= TransposeMinRows && RecurrentGemv.SupportsSlabs(h) ? Product.Slabs
            : rows >= TransposeMinRows ? Product.Transposed : Product.Direct;
        float[]? transposed = mode is Product.Transposed or Product.Slabs ? TransposedBuffer(gemm, gw * Math.Max(d, h)) : null;
        fixed (float* pSaved = saved, pW = weightHh, pT = transposed, bih = biasIh, bhh = biasHh, pY = y)
        {
            if (mode == Product.Transposed)
            {
                // Gate-row blocks that are multiplied separately are transposed separately: [first, first + count) of
                // W_hh becomes a [H, count] block at offset first·H.
                if (cell == RecurrentCell.GruResetBefore)
                {
                    RecurrentGemv.Transpose(pW, 2 * h, h, pT);
                    RecurrentGemv.Transpose(pW + 2 * h * h, h, h, pT + 2 * h * h);
                }
                else RecurrentGemv.Transpose(pW, gw, h, pT);
            }
            else if (mode == Product.Slabs)
            {
                // As above, each separately multiplied gate-row block is laid out on its own, its slabs counted from its
                // first row.
                if (cell == RecurrentCell.GruResetBefore)
                {
                    RecurrentGemv.TransposeSlabs(pW, 2 * h, h, pT);
                    RecurrentGemv.TransposeSlabs(pW + 2 * h * h, h, h, pT + 2 * h * h);
                }
                else RecurrentGemv.TransposeSlabs(pW, gw, h, pT);
            }
            var hw = new HiddenWeights(mode, pW, pT, h, b, gemm);
            float* acts = pSaved, hsp = pSaved + b * s.OffsetHidden, csp = pSaved + b * s.OffsetCell;
            float* tcs = pSaved + b * s.OffsetTanhCell, extra = pSaved + b * s.OffsetExtra, step = pSaved + b * s.OffsetStep;
            for (int t = 0; t < steps; t++)
            {
                float* at = acts + (nint)t * b * gw, hp = hsp + (nint)t * b * h, hn = hp + b * h;
                bool zeroState = t == 0 && h0.IsEmpty;
                switch (cell)
                {
                    case RecurrentCell.Rnn:
                        if (!zeroState) hw.Forward(0, gw, hp, at, accumulate: true);
                        for (int n = 0; n < b; n++) RnnForward(at + n * gw, bih, bhh, hn + n * h, h);
                        break;
                    case RecurrentCell.Lstm:
                        if (!zeroState) hw.Forward(0, gw, hp, at, accumulate: true);
                        for (int n = 0; n < b; n++)
                        {
                            nint row = (nint)t * b + n;
                            LstmForward(at + n * gw, bih, bhh, csp + row * h, csp + (row + b) * h, tcs + row * h, hn + n * h, h);
                        }
                        break;
                    case RecurrentCell.Gru:
                        if (zeroState) new Span<float>(step, b * gw).Clear();
                        else hw.Forward(0, gw, hp, step, accumulate: false);
                        for (int n = 0; n < b; n++)
                            GruForward(at + n * gw, step + n * gw, bih, bhh, hp + n * h, extra + ((nint)t * b + n) * h, hn + n * h, h);
                        break;
                    default:
                    {
                        // step: [b, 2H] products with W_h{r,z}, then [b, H] with W_hn; s = r ⊙ h_{t-1} is saved in extra.
                        float* stepN = step + 2 * b * h, sv = extra + (nint)t * b * h;
                        if (zeroState) new Span<float>(step, 2 * b * h).Clear();
                        else hw.Forward(0, 2 * h, hp, step, accumulate: false);
                        for (int n = 0; n < b; n++) GruBeforeGates(at + n * gw, step + 2 * n * h, bih, bhh, hp + n * h, sv + n * h, h);
                        hw.Forward(2 * h, h, sv, stepN, accumulate: false);
                        for (int n = 0; n < b; n++) GruBeforeOut(at + n * gw, stepN + n * h, bih, bhh, hp + n * h, hn + n * h, h);
                        break;
                    }
                }
                for (int n = 0; n < b; n++)
                {
                    int length = s.Length(lengths, n);
                    if (t >= length) new Span<float>(pY + ((nint)n * steps + t) * h, h).Clear();
                    else
                        Unsafe.CopyBlockUnaligned(pY + ((nint)n * steps + RecurrentContract.SourceStep(t, length, reverse)) * h, hn + n * h,
                            (uint)(h * sizeof(float)));
                }
            }
        }
    }

    /// <summary>Backpropagation through time.</summary>
    /// <param name="s">The layer's cell and sizes.</param>
    /// <param name="batch">Samples (≥ 1).</param>
    /// <param name="x">[batch, T, D] the forward inputs.</param>
    /// <param name="h0">The forward's h0 (checked only: the initial states are in <paramref name="saved"/>).</param>
    /// <param name="c0">The forward's c0 (checked only).</param>
    /// <param name="weightIh">W_ih [G·H, D].</param>
    /// <param name="weightHh">W_hh [G·H, H].</param>
    /// <param name="y">The forward's output (checked only: the hidden states are in <paramref name="saved"/>).</param>
    /// <param name="saved">The workspace the forward filled.</param>
    /// <param name="dy">[batch, T, H] dLoss/dy for every step (zeros where a step's output is unused).</param>
    /// <param name="dx">[batch, T, D] receives dLoss/dx, or empty (not needed).</param>
    /// <param name="dh0">[batch, H] receives dLoss/dh0, or empty.</param>
    /// <param name="dc0">[batch, H] receives dLoss/dc0 (LSTM), or empty.</param>
    /// <param name="accumulate">For dx, dh0 and dc0: false overwrites them, true adds.</param>
    /// <param name="dWeightIh">[G·H, D] receives dLoss/dW_ih, or empty.</param>
    /// <param name="dWeightHh">[G·H, H] receives dLoss/dW_hh, or empty.</param>
    /// <param name="dBiasIh">[G·H] receives dLoss/db_ih, or empty.</param>
    /// <param name="dBiasHh">[G·H] receives dLoss/db_hh, or empty.</param>
    /// <param name="accumulateWeights">For the four parameter gradients: false overwrites them, true adds.</param>
    /// <param name="scratch">At least batch·<see cref="RecurrentShape.ScratchPerSample"/> floats; contents not kept.</param>
    /// <param name="gemm">Packing buffers for the products.</param>
    /// <exception cref="ArgumentException">A span's length does not match the shape (the message names it).</exception>
    public static void Backward(RecurrentShape s, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> y, ReadOnlySpan<float> saved,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dh0, Span<float> dc0, bool accumulate,
        Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh, bool accumulateWeights,
        Span<float> scratch, GemmContext gemm)
        => Backward(s, batch, x, h0, c0, weightIh, weightHh, y, saved, dy, dx, dh0, dc0, accumulate, dWeightIh, dWeightHh,
            dBiasIh, dBiasHh, accumulateWeights, scratch, default, reverse: false, gemm);

    /// <summary>Backpropagation through time over sequences of per-sample lengths, in either direction: the same
    /// <paramref name="lengths"/> and <paramref name="reverse"/> as the forward call. A padded step's gate gradients are
    /// zero (no gradient reaches its input, the weights or the state through it), and dy there is not read.</summary>
    /// <param name="lengths">[batch] each sample's valid steps (1..T), or empty for T.</param>
    /// <param name="reverse">The direction of the forward call.</param>
    /// <param name="s">As in the overload without lengths.</param>
    /// <param name="batch">As in the overload without lengths.</param>
    /// <param name="x">As in the overload without lengths.</param>
    /// <param name="h0">As in the overload without lengths.</param>
    /// <param name="c0">As in the overload without lengths.</param>
    /// <param name="weightIh">As in the overload without lengths.</param>
    /// <param name="weightHh">As in the overload without lengths.</param>
    /// <param name="y">As in the overload without lengths.</param>
    /// <param name="saved">As in the overload without lengths.</param>
    /// <param name="dy">As in the overload without lengths.</param>
    /// <param name="dx">As in the overload without lengths.</param>
    /// <param name="dh0">As in the overload without lengths.</param>
    /// <param name="dc0">As in the overload without lengths.</param>
    /// <param name="accumulate">As in the overload without lengths.</param>
    /// <param name="dWeightIh">As in the overload without lengths.</param>
    /// <param name="dWeightHh">As in the overload without lengths.</param>
    /// <param name="dBiasIh">As in the overload without lengths.</param>
    /// <param name="dBiasHh">As in the overload without lengths.</param>
    /// <param name="accumulateWeights">As in the overload without lengths.</param>
    /// <param name="scratch">As in the overload without lengths.</param>
    /// <param name="gemm">Packing buffers for the products.</param>
    public static void Backward(RecurrentShape s, int batch, ReadOnlySpan<float> x, ReadOnlySpan<float> h0, ReadOnlySpan<float> c0,
        ReadOnlySpan<float> weightIh, ReadOnlySpan<float> weightHh, ReadOnlySpan<float> y, ReadOnlySpan<float> saved,
        ReadOnlySpan<float> dy, Span<float> dx, Span<float> dh0, Span<float> dc0, bool accumulate,
        Span<float> dWeightIh, Span<float> dWeightHh, Span<float> dBiasIh, Span<float> dBiasHh, bool accumulateWeights,
        Span<float> scratch, ReadOnlySpan<float> lengths, bool reverse, GemmContext gemm)
    {
        ArgumentNullException.ThrowIfNull(gemm);
        s.CheckBackward("Recurrent.Backward", batch, x.Length, h0.Length, c0.Length, weightIh.Length, weightHh.Length,
            y.Length, saved.Length, dy.Length, dx.Length, dh0.Length, dc0.Length, dWeightIh.Length, dWeightHh.Length,
            dBiasIh.Length, dBiasHh.Length, scratch.Length);
        s.CheckLengths("Recurrent.Backward", lengths, batch);
        gemm.ThrowIfDisposed();
        int steps = s.Steps, d = s.Input, h = s.Hidden, gw = s.GateWidth, b = batch, rows = steps * batch;
        RecurrentCell cell = s.Cell;
        bool mapped = reverse || !lengths.IsEmpty;
        bool wantH0 = !dh0.IsEmpty;
        // Scratch: dgi [rows, GH] (input side), dgh [rows, GH] (GRU hidden side; the reset-before GRU splits it into
        // [rows, 2H] for the r, z rows and [rows, H] for the n rows), dx time-major [rows, D], carry [b, H], aux [b, H]
        // (LSTM: the carried dc; reset-before GRU: ds = W_hnᵀ da_n).
        Span<float> carrySpan = scratch.Slice(b * s.OffsetCarry, b * s.CarryLength);
        carrySpan.Clear();
        // The slab copy costs about one pass over W_hh, as in Forward. The buffer is free until the weight gradients below.
        Product mode = b == 1 && RecurrentGemv.Supports(h) ? Product.Registers
            : b == 1 && rows >= TransposeMinRows && RecurrentGemv.SupportsSlabs(h) ? Product.Slabs : Product.Direct;
        float[]? slabs = mode == Product.Slabs ? TransposedBuffer(gemm, gw * Math.Max(d, h)) : null;
        fixed (float* pSaved = saved, pW = weightHh, pT = slabs, pScratch = scratch, pDy = dy)
        {
            if (mode == Product.Slabs)
            {
                if (cell == RecurrentCell.GruResetBefore)
                {
                    RecurrentGemv.CopySlabs(pW, 2 * h, h, pT);
                    RecurrentGemv.CopySlabs(pW + 2 * h * h, h, h, pT + 2 * h * h);
                }
                else RecurrentGemv.CopySlabs(pW, gw, h, pT);
            }
            var hw = new HiddenWeights(mode, pW, pT, h, b, gemm);
            float* acts = pSaved, hsp = pSaved + b * s.OffsetHidden, csp = pSaved + b * s.OffsetCell;
            float* tcs = pSaved + b * s.OffsetTanhCell, extra = pSaved + b * s.OffsetExtra;
            float* dgi = pScratch, dgh = s.IsGru ? pScratch + (nint)rows * gw : pScratch;
            float* carry = pScratch + b * s.OffsetCarry, aux = carry + b * h;
            for (int t = steps - 1; t >= 0; t--)
            {
                float* at = acts + (nint)t * b * gw, hp = hsp + (nint)t * b * h, gi = dgi + (nint)t * b * gw;
                bool needCarry = t > 0 || wantH0;
                // A padded step (t ≥ the sample's length; only with lengths) gets zero gate gradients and leaves the carried
                // gradients as they are: zero, since the valid steps are a prefix and no gradient enters after them.
                for (int n = 0; n < b && !lengths.IsEmpty; n++)
                    if (t >= s.Length(lengths, n))
                    {
                        new Span<float>(gi + n * gw, gw).Clear();
                        if (cell == RecurrentCell.Gru) new Span<float>(dgh + ((nint)t * b + n) * gw, gw).Clear();
                        if (cell == RecurrentCell.GruResetBefore)
                        {
                            new Span<float>(dgh + (nint)t * b * 2 * h + 2 * n * h, 2 * h).Clear();
                            new Span<float>(dgh + (nint)rows * 2 * h + ((nint)t * b + n) * h, h).Clear();
                        }
                    }
                switch (cell)
                {
                    case RecurrentCell.Rnn:
                        for (int n = 0; n < b; n++)
                        {
                            float* dyr = DyRow(s, pDy, lengths, reverse, n, t);
                            if (dyr != null) RnnBackward(dyr, carry + n * h, at + n * gw, gi + n * gw, h);
                        }
                        if (needCarry) hw.Backward(0, gw, gi, carry, accumulate: false);
                        break;
                    case RecurrentCell.Lstm:
                        for (int n = 0; n < b; n++)
                        {
                            nint row = (nint)t * b + n;
                            float* dyr = DyRow(s, pDy, lengths, reverse, n, t);
                            if (dyr != null)
                                LstmBackward(dyr, carry + n * h, at + n * gw, csp + row * h, tcs + row * h, aux + n * h, gi + n * gw, h);
                        }
                        if (needCarry) hw.Backward(0, gw, gi, carry, accumulate: false);
                        break;
                    case RecurrentCell.Gru:
                    {
                        float* gh = dgh + (nint)t * b * gw;
                        for (int n = 0; n < b; n++)
                        {
                            float* dyr = DyRow(s, pDy, lengths, reverse, n, t);
                            if (dyr != null) GruBackward(dyr, carry + n * h, at + n * gw, hp + n * h, extra + ((nint)t * b + n) * h, gi + n * gw, gh + n * gw, h);
                        }
                        if (needCarry) hw.Backward(0, gw, gh, carry, accumulate: true);
                        break;
                    }
                    default:
                    {
                        float* drz = dgh + (nint)t * b * 2 * h, dn = dgh + (nint)rows * 2 * h + (nint)t * b * h;
                        for (int n = 0; n < b; n++)
                        {
                            float* dyr = DyRow(s, pDy, lengths, reverse, n, t);
                            if (dyr != null) GruBeforeBackwardA(dyr, carry + n * h, at + n * gw, hp + n * h, gi + n * gw, dn + n * h, h);
                        }
                        hw.Backward(2 * h, h, dn, aux, accumulate: false);
                        for (int n = 0; n < b; n++)
                            if (lengths.IsEmpty || t < s.Length(lengths, n))
                                GruBeforeBackwardB(aux + n * h, at + n * gw, hp + n * h, gi + n * gw, drz + 2 * n * h, carry + n * h, h);
                        if (needCarry) hw.Backward(0, 2 * h, drz, carry, accumulate: true);
                        break;
                    }
                }
            }
        }

        if (wantH0) CopyOrAdd(dh0, carrySpan[..(b * h)], accumulate);
        if (!dc0.IsEmpty) CopyOrAdd(dc0, carrySpan.Slice(b * h, b * h), accumulate);

        ReadOnlySpan<float> dgiSpan = scratch[..(rows * gw)];
        ReadOnlySpan<float> xs = b == 1 && !mapped ? x : saved.Slice(b * s.OffsetInput, rows * d);
        if (!dWeightIh.IsEmpty)
        {
            if (d < TransposedGradientMaxInput)
            {
                // dW_ihᵀ = Xᵀ·dG [D, G·H], then transposed into place: with D narrower than a GEMM tile the direct
                // product runs on edge tiles (measured LSTM D = 32, H = 128, 1120 rows: 536 µs direct, 332 + ~10 this way).
                float[] temp = TransposedBuffer(gemm, gw * Math.Max(d, h));
                Gemm.Multiply(xs, dgiSpan, temp.AsSpan(0, d * gw), d, gw, rows, transA: true, transB: false, accumulate: false, gemm);
                fixed (float* pTemp = temp, pDw = dWeightIh) RecurrentGemv.Transpose(pTemp, d, gw, pDw, accumulateWeights);
            }
            else Gemm.Multiply(dgiSpan, xs, dWeightIh, gw, d, rows, transA: true, transB: false, accumulateWeights, gemm);
        }
        if (!dx.IsEmpty)
        {
            if (b == 1 && !mapped) InputGradient(dgiSpan, weightIh, dx, rows, d, gw, accumulate, gemm);
            else
            {
                Span<float> dxtm = scratch.Slice(b * s.OffsetInputGradient, rows * d);
                InputGradient(dgiSpan, weightIh, dxtm, rows, d, gw, accumulate: false, gemm);
                if (mapped) FromTimeMajor(s, dxtm, dx, b, lengths, reverse, accumulate);
                else FromTimeMajor(dxtm, dx, b, steps, d, accumulate);
            }
        }
        ReadOnlySpan<float> hPrev = saved.Slice(b * s.OffsetHidden, rows * h);
        if (!dWeightHh.IsEmpty)
        {
            switch (cell)
            {
                case RecurrentCell.Gru:
                    Gemm.Multiply(scratch.Slice(rows * gw, rows * gw), hPrev, dWeightHh, gw, h, rows, true, false, accumulateWeights, gemm);
                    break;
                case RecurrentCell.GruResetBefore:
                    // r, z rows multiply h_{t-1}; n rows multiply r ⊙ h_{t-1} (saved in extra).
                    Gemm.Multiply(scratch.Slice(rows * gw, rows * 2 * h), hPrev, dWeightHh[..(2 * h * h)], 2 * h, h, rows, true, false, accumulateWeights, gemm);
                    Gemm.Multiply(scratch.Slice(rows * gw + rows * 2 * h, rows * h), saved.Slice(b * s.OffsetExtra, rows * h),
                        dWeightHh[(2 * h * h)..], h, h, rows, true, false, accumulateWeights, gemm);
                    break;
                default:
                    Gemm.Multiply(dgiSpan, hPrev, dWeightHh, gw, h, rows, true, false, accumulateWeights, gemm);
                    break;
            }
        }
        if (cell == RecurrentCell.Gru)
        {
            ColumnSums(dgiSpan, rows, gw, dBiasIh, accumulateWeights);
            ColumnSums(scratch.Slice(rows * gw, rows * gw), rows, gw, dBiasHh, accumulateWeights);
        }
        else
        {
            // b_ih and b_hh enter every pre-activation the same way: one sum serves both.
            ColumnSums(dgiSpan, rows, gw, dBiasIh, accumulateWeights);
            if (!dBiasHh.IsEmpty)
            {
                if (!accumulateWeights && !dBiasIh.IsEmpty) dBiasIh.CopyTo(dBiasHh);
                else ColumnSums(dgiSpan, rows, gw, dBiasHh, accumulateWeights);
            }
        }
    }

    // Registers: the AVX-512 kernels; Slabs: the AVX2 kernels (on the slab copy in wt: TransposeSlabs for Forward,
    // CopySlabs for Backward); Transposed: GEMM on the
    // transposed copy in wt; Direct: GEMM on W_hh.
    private enum Product { Registers, Slabs, Transposed, Direct }

    /// <summary>The per-step products with W_hh, by the method chosen for the call.</summary>
    private readonly struct HiddenWeights(Product mode, float* w, float* wt, int hidden, int batch, GemmContext gemm)
    {
        /// <summary>o[b, count] (+)= v[b, H] · W_hh[first .. first + count)ᵀ.</summary>
        public void Forward(int first, int count, float* v, float* o, bool accumulate)
        {
            int h = hidden, b = batch;
            switch (mode)
            {
                case Product.Registers:
                    RecurrentGemv.RowsTimesVector(w + (nint)first * h, count, h, v, o, accumulate);
                    break;
                case Product.Slabs:
                    RecurrentGemv.RowsTimesVectorSlabs(wt + (nint)first * h, count, h, v, o, accumulate);
                    break;
                case Product.Transposed:
                    Gemm.Multiply(new ReadOnlySpan<float>(v, b * h), new ReadOnlySpan<float>(wt + (nint)first * h, count * h),
                        new Span<float>(o, b * count), b, count, h, transA: false, transB: false, accumulate, gemm);
                    break;
                default:
                    Gemm.Multiply(new ReadOnlySpan<float>(v, b * h), new ReadOnlySpan<float>(w + (nint)first * h, count * h),
                        new Span<float>(o, b * count), b, count, h, transA: false, transB: true, accumulate, gemm);
                    break;
            }
        }

        /// <summary>o[b, H] (+)= g[b, count] · W_hh[first .. first + count).</summary>
        public void Backward(int first, int count, float* g, float* o, bool accumulate)
        {
            int h = hidden, b = batch;
            if (mode == Product.Registers)
                RecurrentGemv.VectorTimesRows(g, w + (nint)first * h, count, h, o, accumulate);
            else if (mode == Product.Slabs)
                RecurrentGemv.VectorTimesRowsSlabs(g, wt + (nint)first * h, count, h, o, accumulate);
            else
                Gemm.Multiply(new ReadOnlySpan<float>(g, b * count), new ReadOnlySpan<float>(w + (nint)first * h, count * h),
                    new Span<float>(o, b * h), b, h, count, transA: false, transB: false, accumulate, gemm);
        }
    }

    // The transposed (or slab-copied) W_hh is per call, not per sample, so it has no place in the per-sample workspaces:
    // it lives in the context (one per model and thread, like the packing buffers), grown to the largest layer seen.
    private static float[] TransposedBuffer(GemmContext gemm, int length) => gemm.RecurrentWeights(length);

    /// <summary>dx[rows, D] (+)= dG[rows, G·H] · W_ih, in blocks of 32 rows.</summary>
    /// <remarks>Why blocks: GEMM reads W_ih in place for up to 32 rows of A and packs it beyond; with D narrower than a
    /// register tile the packed path is slower (measured D = 32, G·H = 512, 35 rows: 18.7 µs at once, 11.4 µs as 32 + 3).</remarks>
    private static void InputGradient(ReadOnlySpan<float> dg, ReadOnlySpan<float> weightIh, Span<float> dx, int rows, int d, int gw,
        bool accumulate, GemmContext gemm)
    {
        for (int r0 = 0; r0 < rows; r0 += 32)
        {
            int r = Math.Min(32, rows - r0);
            Gemm.Multiply(dg.Slice(r0 * gw, r * gw), weightIh, dx.Slice(r0 * d, r * d), r, d, gw, transA: false, transB: false, accumulate, gemm);
        }
    }

    private static void ToTimeMajor(ReadOnlySpan<float> x, Span<float> xtm, int batch, int steps, int width)
    {
        for (int n = 0; n < batch; n++)
            for (int t = 0; t < steps; t++)
                x.Slice((n * steps + t) * width, width).CopyTo(xtm.Slice((t * batch + n) * width, width));
    }

    /// <summary>The input in the order the recurrence reads it (<see cref="RecurrentContract.SourceStep"/>), time-major,
    /// with zeros at the padded steps (so that no padding value, not even NaN, reaches the products).</summary>
    private static void ToTimeMajor(RecurrentShape s, ReadOnlySpan<float> x, Span<float> xtm, int batch, ReadOnlySpan<float> lengths, bool reverse)
    {
        int steps = s.Steps, width = s.Input;
        for (int n = 0; n < batch; n++)
        {
            int length = s.Length(lengths, n);
            for (int t = 0; t < steps; t++)
            {
                Span<float> row = xtm.Slice((t * batch + n) * width, width);
                if (t >= length) row.Clear();
                else x.Slice((n * steps + RecurrentContract.SourceStep(t, length, reverse)) * width, width).CopyTo(row);
            }
        }
    }

    /// <summary>The inverse of the mapped <see cref="ToTimeMajor(RecurrentShape, ReadOnlySpan{float}, Span{float}, int, ReadOnlySpan{float}, bool)"/>
    /// for the input gradient (a padded step's row is zero and stays at its own step).</summary>
    private static void FromTimeMajor(RecurrentShape s, ReadOnlySpan<float> xtm, Span<float> x, int batch, ReadOnlySpan<float> lengths, bool reverse,
        bool accumulate)
    {
        int steps = s.Steps, width = s.Input;
        for (int n = 0; n < batch; n++)
        {
            int length = s.Length(lengths, n);
            for (int t = 0; t < steps; t++)
                CopyOrAdd(x.Slice((n * steps + RecurrentContract.SourceStep(t, length, reverse)) * width, width),
                    xtm.Slice((t * batch + n) * width, width), accumulate);
        }
    }

    /// <summary>dy's row for step t of sample n in the recurrence's order, or null at a padded step.</summary>
    private static float* DyRow(RecurrentShape s, float* dy, ReadOnlySpan<float> lengths, bool reverse, int n, int t)
    {
        int length = s.Length(lengths, n);
        return t >= length ? null : dy + ((nint)n * s.Steps + RecurrentContract.SourceStep(t, length, reverse)) * s.Hidden;
    }

    // The biases of a layer without them (bias: false): zeros, shared, grown to the widest layer seen (the only
    // allocation, once per width; racing threads each store an array of zeros, either is right).
    private static float[] s_zeroBias = [];

    private static ReadOnlySpan<float> ZeroBias(int width)
    {
        float[] zeros = s_zeroBias;
        if (zeros.Length < width) s_zeroBias = zeros = new float[width];
        return zeros.AsSpan(0, width);
    }

    private static void FromTimeMajor(ReadOnlySpan<float> xtm, Span<float> x, int batch, int steps, int width, bool accumulate)
    {
        for (int n = 0; n < batch; n++)
            for (int t = 0; t < steps; t++)
                CopyOrAdd(x.Slice((n * steps + t) * width, width), xtm.Slice((t * batch + n) * width, width), accumulate);
    }

    private static void CopyOrAdd(Span<float> dst, ReadOnlySpan<float> src, bool accumulate)
    {
        if (!accumulate)
        {
            src.CopyTo(dst);
            return;
        }
        fixed (float* pd = dst, ps = src) AddInto(pd, ps, dst.Length);
    }

    private static void AddInto(float* dst, float* src, int length)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= length; i += 8) (Vector256.Load(dst + i) + Vector256.Load(src + i)).Store(dst + i);
        for (; i < length; i++) dst[i] += src[i];
    }

    /// <summary>dst[j] (+)= Σ_r m[r, j] (nothing when dst is empty), row by row so m is read once in order.</summary>
    private static void ColumnSums(ReadOnlySpan<float> m, int rows, int cols, Span<float> dst, bool accumulate)
    {
        if (dst.IsEmpty) return;
        if (!accumulate) dst.Clear();
        fixed (float* pm = m, pd = dst)
            for (int r = 0; r < rows; r++) AddInto(pd, pm + (nint)r * cols, cols);
    }
}
