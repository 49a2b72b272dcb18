using System.Numerics;

namespace Dl.Kernels;

/// <summary>
/// The maths of <see cref="Recurrent"/> in any precision with plain loops, one sample and one step at a time: the dynamic
/// tape's double path and the tests' oracle. Same arguments, layouts and workspaces as the float kernels (the workspaces
/// hold the same quantities, see <see cref="RecurrentShape"/>), no <see cref="GemmContext"/>.
/// </summary>
/// <remarks>
/// Equations (PyTorch's), per sample, with a_* the gate pre-activations:
/// <list type="bullet">
/// <item>RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh).</item>
/// <item>LSTM: [a_i a_f a_g a_o] = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh; i, f, o = σ(a), g = tanh(a_g);
/// c_t = f ⊙ c_{t-1} + i ⊙ g; h_t = o ⊙ tanh(c_t).</item>
/// <item>GRU: r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
/// n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)) (reset after) or tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn) (reset before);
/// h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}.</item>
/// </list>
/// Backward is backpropagation through time: with dh = dy_t + (the gradient carried from step t + 1),
/// LSTM: dc = dc_carry + dh ⊙ o ⊙ (1 − tanh²c_t), da_i = dc g i(1 − i), da_f = dc c_{t-1} f(1 − f), da_g = dc i (1 − g²),
/// da_o = dh tanh(c_t) o(1 − o), dc_carry = dc ⊙ f; GRU: da_n = dh (1 − z)(1 − n²), da_z = dh (h_{t-1} − n) z(1 − z),
/// da_r = (da_n ⊙ (W_hn h + b_hn)) r(1 − r) (reset after) or ((W_hnᵀ da_n) ⊙ h_{t-1}) r(1 − r) (reset before).
/// The carried gradient is W_hhᵀ (hidden-side gate gradients) plus, for GRU, dh ⊙ z (and (W_hnᵀ da_n) ⊙ r for reset
/// before); weight gradients sum the outer products of the gate gradients with the inputs of each product.
/// </remarks>
public static class RecurrentReference
{
    /// <summary>Forward over all steps (see <c>Recurrent.Forward</c> for the arguments).</summary>
    public static void Forward<T>(RecurrentShape s, int batch, ReadOnlySpan<T> x, ReadOnlySpan<T> h0, ReadOnlySpan<T> c0,
        ReadOnlySpan<T> weightIh, ReadOnlySpan<T> weightHh, ReadOnlySpan<T> biasIh, ReadOnlySpan<T> biasHh,
        Span<T> y, Span<T> saved) where T : IFloatingPointIeee754<T>
        => Forward(s, batch, x, h0, c0, weightIh, weightHh, biasIh, biasHh, y, saved, default, reverse: false);

    /// <summary>Forward over sequences of per-sample lengths, in either direction, biases optional (see the float
    /// kernel's overload): a padded step keeps the state, writes a zero output and reads no input.</summary>
    public static void Forward<T>(RecurrentShape s, int batch, ReadOnlySpan<T> x, ReadOnlySpan<T> h0, ReadOnlySpan<T> c0,
        ReadOnlySpan<T> weightIh, ReadOnlySpan<T> weightHh, ReadOnlySpan<T> biasIh, ReadOnlySpan<T> biasHh,
        Span<T> y, Span<T> saved, ReadOnlySpan<T> lengths, bool reverse) where T : IFloatingPointIeee754<T>
    {
        s.CheckForward("RecurrentReference.Forward", batch, x.Length, h0.Length, c0.Length, weightIh.Length, weightHh.Length,
            biasIh.Length, biasHh.Length, y.Length, saved.Length);
        s.CheckLengths("RecurrentReference.Forward", lengths, batch);
        int steps = s.Steps, d = s.Input, h = s.Hidden, gw = s.GateWidth, b = batch;
        if (biasIh.IsEmpty) biasIh = new T[gw];
        if (biasHh.IsEmpty) biasHh = new T[gw];
        RecurrentCell cell = s.Cell;
        Span<T> acts = saved[..(steps * b * gw)];
        Span<T> hs = saved.Slice(b * s.OffsetHidden, (steps + 1) * b * h);
        Span<T> cs = cell == RecurrentCell.Lstm ? saved.Slice(b * s.OffsetCell, (steps + 1) * b * h) : default;
        Span<T> tcs = cell == RecurrentCell.Lstm ? saved.Slice(b * s.OffsetTanhCell, steps * b * h) : default;
        Span<T> extra = s.IsGru ? saved.Slice(b * s.OffsetExtra, steps * b * h) : default;
        Span<T> hidden = s.IsGru ? saved.Slice(b * s.OffsetStep, b * gw) : default;
        Span<T> xtm = saved.Slice(b * s.OffsetInput, steps * b * d);

        for (int n = 0; n < b; n++)
        {
            for (int k = 0; k < h; k++)
            {
                hs[n * h + k] = h0.IsEmpty ? T.Zero : h0[n * h + k];
                if (cell == RecurrentCell.Lstm) cs[n * h + k] = c0.IsEmpty ? T.Zero : c0[n * h + k];
            }
            int length = s.Length(lengths, n);
            for (int t = 0; t < steps; t++)
                if (t >= length) xtm.Slice((t * b + n) * d, d).Clear();
                else x.Slice((n * steps + RecurrentContract.SourceStep(t, length, reverse)) * d, d).CopyTo(xtm.Slice((t * b + n) * d, d));
        }

        for (int t = 0; t < steps; t++)
        {
            for (int n = 0; n < b; n++)
            {
                int row = t * b + n, length = s.Length(lengths, n);
                ReadOnlySpan<T> hp = hs.Slice(row * h, h);
                Span<T> hn = hs.Slice((row + b) * h, h);
                Span<T> a = acts.Slice(row * gw, gw);
                if (t >= length)
                {
                    // Padding: the state stays, the output is zero.
                    hp.CopyTo(hn);
                    if (cell == RecurrentCell.Lstm) cs.Slice(row * h, h).CopyTo(cs.Slice((row + b) * h, h));
                    a.Clear();
                    y.Slice((n * steps + t) * h, h).Clear();
                    continue;
                }
                ReadOnlySpan<T> xt = x.Slice((n * steps + RecurrentContract.SourceStep(t, length, reverse)) * d, d);
                // a = W_ih x + b_ih; the hidden side W_hh h + b_hh goes into a too, or into `hidden` for GRU.
                for (int j = 0; j < gw; j++) a[j] = biasIh[j] + Dot(weightIh.Slice(j * d, d), xt);
                switch (cell)
                {
                    case RecurrentCell.Rnn:
                        for (int k = 0; k < h; k++)
                        {
                            T v = T.Tanh(a[k] + biasHh[k] + Dot(weightHh.Slice(k * h, h), hp));
                            a[k] = v;
                            hn[k] = v;
                        }
                        break;
                    case RecurrentCell.Lstm:
                    {
                        for (int j = 0; j < gw; j++) a[j] += biasHh[j] + Dot(weightHh.Slice(j * h, h), hp);
                        ReadOnlySpan<T> cp = cs.Slice(row * h, h);
                        Span<T> cn = cs.Slice((row + b) * h, h), tc = tcs.Slice(row * h, h);
                        for (int k = 0; k < h; k++)
                        {
                            T i = Sigmoid(a[k]), f = Sigmoid(a[h + k]), g = T.Tanh(a[2 * h + k]), o = Sigmoid(a[3 * h + k]);
                            a[k] = i; a[h + k] = f; a[2 * h + k] = g; a[3 * h + k] = o;
                            cn[k] = f * cp[k] + i * g;
                            tc[k] = T.Tanh(cn[k]);
                            hn[k] = o * tc[k];
                        }
                        break;
                    }
                    case RecurrentCell.Gru:
                    {
                        Span<T> hw = hidden.Slice(n * gw, gw), hnb = extra.Slice(row * h, h);
                        for (int j = 0; j < gw; j++) hw[j] = biasHh[j] + Dot(weightHh.Slice(j * h, h), hp);
                        for (int k = 0; k < h; k++)
                        {
                            T r = Sigmoid(a[k] + hw[k]), z = Sigmoid(a[h + k] + hw[h + k]);
                            hnb[k] = hw[2 * h + k];
                            T nv = T.Tanh(a[2 * h + k] + r * hw[2 * h + k]);
                            a[k] = r; a[h + k] = z; a[2 * h + k] = nv;
                            hn[k] = (T.One - z) * nv + z * hp[k];
                        }
                        break;
                    }
                    case RecurrentCell.GruResetBefore:
                    {
                        Span<T> sv = extra.Slice(row * h, h);
                        for (int j = 0; j < 2 * h; j++) a[j] = Sigmoid(a[j] + biasHh[j] + Dot(weightHh.Slice(j * h, h), hp));
                        for (int k = 0; k < h; k++) sv[k] = a[k] * hp[k];
                        for (int k = 0; k < h; k++)
                        {
                            int j = 2 * h + k;
                            T nv = T.Tanh(a[j] + biasHh[j] + Dot(weightHh.Slice(j * h, h), sv));
                            a[j] = nv;
                            T z = a[h + k];
                            hn[k] = (T.One - z) * nv + z * hp[k];
                        }
                        break;
                    }
                }
                hn.CopyTo(y.Slice((n * steps + RecurrentContract.SourceStep(t, length, reverse)) * h, h));
            }
        }
    }

    /// <summary>Backpropagation through time (see <c>Recurrent.Backward</c> for the arguments and the flags).
    /// <paramref name="scratch"/> is checked like the float kernel's but not used: this oracle allocates its few
    /// per-sample temporaries.</summary>
    public static void Backward<T>(RecurrentShape s, int batch, ReadOnlySpan<T> x, ReadOnlySpan<T> h0, ReadOnlySpan<T> c0,
        ReadOnlySpan<T> weightIh, ReadOnlySpan<T> weightHh, ReadOnlySpan<T> y, ReadOnlySpan<T> saved,
        ReadOnlySpan<T> dy, Span<T> dx, Span<T> dh0, Span<T> dc0, bool accumulate,
        Span<T> dWeightIh, Span<T> dWeightHh, Span<T> dBiasIh, Span<T> dBiasHh, bool accumulateWeights,
        Span<T> scratch) where T : IFloatingPointIeee754<T>
        => Backward(s, batch, x, h0, c0, weightIh, weightHh, y, saved, dy, dx, dh0, dc0, accumulate, dWeightIh, dWeightHh,
            dBiasIh, dBiasHh, accumulateWeights, scratch, default, reverse: false);

    /// <summary>Backpropagation through time over sequences of per-sample lengths, in either direction (the forward
    /// call's <paramref name="lengths"/> and <paramref name="reverse"/>): padded steps pass no gradient.</summary>
    public static void Backward<T>(RecurrentShape s, int batch, ReadOnlySpan<T> x, ReadOnlySpan<T> h0, ReadOnlySpan<T> c0,
        ReadOnlySpan<T> weightIh, ReadOnlySpan<T> weightHh, ReadOnlySpan<T> y, ReadOnlySpan<T> saved,
        ReadOnlySpan<T> dy, Span<T> dx, Span<T> dh0, Span<T> dc0, bool accumulate,
        Span<T> dWeightIh, Span<T> dWeightHh, Span<T> dBiasIh, Span<T> dBiasHh, bool accumulateWeights,
        Span<T> scratch, ReadOnlySpan<T> lengths, bool reverse) where T : IFloatingPointIeee754<T>
    {
        s.CheckBackward("RecurrentReference.Backward", batch, x.Length, h0.Length, c0.Length, weightIh.Length, weightHh.Length,
            y.Length, saved.Length, dy.Length, dx.Length, dh0.Length, dc0.Length, dWeightIh.Length, dWeightHh.Length,
            dBiasIh.Length, dBiasHh.Length, scratch.Length);
        s.CheckLengths("RecurrentReference.Backward", lengths, batch);
        int steps = s.Steps, d = s.Input, h = s.Hidden, gw = s.GateWidth, b = batch;
        RecurrentCell cell = s.Cell;
        ReadOnlySpan<T> acts = saved[..(steps * b * gw)];
        ReadOnlySpan<T> hs = saved.Slice(b * s.OffsetHidden, (steps + 1) * b * h);
        ReadOnlySpan<T> cs = cell == RecurrentCell.Lstm ? saved.Slice(b * s.OffsetCell, (steps + 1) * b * h) : default;
        ReadOnlySpan<T> tcs = cell == RecurrentCell.Lstm ? saved.Slice(b * s.OffsetTanhCell, steps * b * h) : default;
        ReadOnlySpan<T> extra = s.IsGru ? saved.Slice(b * s.OffsetExtra, steps * b * h) : default;
        // Per-sample temporaries (allocated: this is the oracle, kept independent of the float kernels' scratch layout):
        // input-side gate gradients [GH], hidden-side [GH], carried dh [H], carried dc [H], dh of this step [H], ds [H].
        Span<T> temp = new T[2 * gw + 4 * h];
        Span<T> dai = temp[..gw], dah = temp.Slice(gw, gw);
        Span<T> carry = temp.Slice(2 * gw, h), dcCarry = temp.Slice(2 * gw + h, h);
        Span<T> dh = temp.Slice(2 * gw + 2 * h, h), ds = temp.Slice(2 * gw + 3 * h, h);

        if (!accumulateWeights)
        {
            dWeightIh.Clear(); dWeightHh.Clear(); dBiasIh.Clear(); dBiasHh.Clear();
        }
        for (int n = 0; n < b; n++)
        {
            carry.Clear();
            dcCarry.Clear();
            for (int t = steps - 1; t >= 0; t--)
            {
                int row = t * b + n, length = s.Length(lengths, n);
                if (t >= length)
                {
                    // Padding: no gradient in or through it (the carried gradients are still zero).
                    if (!dx.IsEmpty && !accumulate) dx.Slice((n * steps + t) * d, d).Clear();
                    continue;
                }
                int source = RecurrentContract.SourceStep(t, length, reverse);
                ReadOnlySpan<T> a = acts.Slice(row * gw, gw), hp = hs.Slice(row * h, h);
                ReadOnlySpan<T> xt = x.Slice((n * steps + source) * d, d);
                for (int k = 0; k < h; k++) dh[k] = dy[(n * steps + source) * h + k] + carry[k];
                // The hidden product's input per gate row: h_{t-1}, except the reset-before GRU's n rows (r ⊙ h_{t-1}).
                ReadOnlySpan<T> nSource = hp;
                switch (cell)
                {
                    case RecurrentCell.Rnn:
                        for (int k = 0; k < h; k++) dai[k] = dh[k] * (T.One - a[k] * a[k]);
                        dai.CopyTo(dah);
                        carry.Clear();
                        break;
                    case RecurrentCell.Lstm:
                    {
                        ReadOnlySpan<T> cp = cs.Slice(row * h, h), tc = tcs.Slice(row * h, h);
                        for (int k = 0; k < h; k++)
                        {
                            T i = a[k], f = a[h + k], g = a[2 * h + k], o = a[3 * h + k];
                            T dc = dcCarry[k] + dh[k] * o * (T.One - tc[k] * tc[k]);
                            dai[k] = dc * g * i * (T.One - i);
                            dai[h + k] = dc * cp[k] * f * (T.One - f);
                            dai[2 * h + k] = dc * i * (T.One - g * g);
                            dai[3 * h + k] = dh[k] * tc[k] * o * (T.One - o);
                            dcCarry[k] = dc * f;
                        }
                        dai.CopyTo(dah);
                        carry.Clear();
                        break;
                    }
                    case RecurrentCell.Gru:
                    {
                        ReadOnlySpan<T> hnb = extra.Slice(row * h, h);
                        for (int k = 0; k < h; k++)
                        {
                            T r = a[k], z = a[h + k], nv = a[2 * h + k];
                            T dan = dh[k] * (T.One - z) * (T.One - nv * nv);
                            T daz = dh[k] * (hp[k] - nv) * z * (T.One - z);
                            T dar = dan * hnb[k] * r * (T.One - r);
                            dai[k] = dar; dai[h + k] = daz; dai[2 * h + k] = dan;
                            dah[k] = dar; dah[h + k] = daz; dah[2 * h + k] = dan * r;
                            carry[k] = dh[k] * z;
                        }
                        break;
                    }
                    case RecurrentCell.GruResetBefore:
                    {
                        nSource = extra.Slice(row * h, h);
                        for (int k = 0; k < h; k++)
                        {
                            T z = a[h + k], nv = a[2 * h + k];
                            dai[2 * h + k] = dh[k] * (T.One - z) * (T.One - nv * nv);
                            dai[h + k] = dh[k] * (hp[k] - nv) * z * (T.One - z);
                        }
                        // ds = W_hnᵀ da_n, the gradient of r ⊙ h_{t-1}.
                        for (int k = 0; k < h; k++)
                        {
                            T sum = T.Zero;
                            for (int j = 0; j < h; j++) sum += dai[2 * h + j] * weightHh[(2 * h + j) * h + k];
                            ds[k] = sum;
                        }
                        for (int k = 0; k < h; k++)
                        {
                            T r = a[k];
                            dai[k] = ds[k] * hp[k] * r * (T.One - r);
                            carry[k] = dh[k] * a[h + k] + ds[k] * r;
                        }
                        dai.CopyTo(dah);
                        break;
                    }
                }
                // carry += Σ_j dah_j W_hh[j, :], over the rows whose input is h_{t-1}.
                int hRows = cell == RecurrentCell.GruResetBefore ? 2 * h : gw;
                for (int j = 0; j < hRows; j++)
                {
                    ReadOnlySpan<T> w = weightHh.Slice(j * h, h);
                    for (int k = 0; k < h; k++) carry[k] += dah[j] * w[k];
                }
                if (!dWeightIh.IsEmpty)
                    for (int j = 0; j < gw; j++)
                        for (int q = 0; q < d; q++) dWeightIh[j * d + q] += dai[j] * xt[q];
                if (!dWeightHh.IsEmpty)
                    for (int j = 0; j < gw; j++)
                    {
                        ReadOnlySpan<T> src = j >= hRows ? nSource : hp;
                        for (int k = 0; k < h; k++) dWeightHh[j * h + k] += dah[j] * src[k];
                    }
                if (!dBiasIh.IsEmpty) for (int j = 0; j < gw; j++) dBiasIh[j] += dai[j];
                if (!dBiasHh.IsEmpty) for (int j = 0; j < gw; j++) dBiasHh[j] += dah[j];
                if (!dx.IsEmpty)
                    for (int q = 0; q < d; q++)
                    {
                        T sum = T.Zero;
                        for (int j = 0; j < gw; j++) sum += dai[j] * weightIh[j * d + q];
                        int at = (n * steps + source) * d + q;
                        dx[at] = accumulate ? dx[at] + sum : sum;
                    }
            }
            for (int k = 0; k < h; k++)
            {
                if (!dh0.IsEmpty) dh0[n * h + k] = accumulate ? dh0[n * h + k] + carry[k] : carry[k];
                if (!dc0.IsEmpty) dc0[n * h + k] = accumulate ? dc0[n * h + k] + dcCarry[k] : dcCarry[k];
            }
        }
    }

    private static T Dot<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b) where T : IFloatingPointIeee754<T>
    {
        T sum = T.Zero;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }

    private static T Sigmoid<T>(T v) where T : IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-v));
}
