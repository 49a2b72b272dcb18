using System.Numerics;
using System.Runtime.CompilerServices;
using Dl.Kernels;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    // ================================================================================================================
    // Recurrent layers (RNN, LSTM, GRU) over a sequence [T, D] → [T, H]: one node per layer runs every step forward
    // (Recurrent.Forward in float, RecurrentReference.Forward in double) and records backpropagation through time, which
    // writes dx, dh0, dc0 and the four parameter gradients at once. Layer l + 1 reads layer l's hidden states.
    // A node has at most three inputs, so a layer node reads (x, params, state): "recurrent_params" groups W_ih, W_hh and
    // a "recurrent_biases" node (b_ih, b_hh); the state is h0 or c0, or both grouped in an "lstm_state" node.
    // The grouping nodes hold no values and no rule: they only carry the graph edges, and the layer's rule writes the
    // gradients of the tensors they group.
    // ================================================================================================================

    public static Tensor Recurrent(Tensor x, RecurrentCell cell, int hidden, string name, int layers, Tensor? h0, Tensor? c0,
        bool bias = true, bool bidirectional = false, Tensor? lengths = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!Enum.IsDefined(cell)) throw new ArgumentOutOfRangeException(nameof(cell), cell, $"recurrent '{name}': unknown cell {(int)cell}.");
        string op = RecurrentContract.OpName(cell);
        if (hidden <= 0) throw new ArgumentOutOfRangeException(nameof(hidden), hidden, $"{op} '{name}': the hidden size must be positive.");
        if (layers <= 0) throw new ArgumentOutOfRangeException(nameof(layers), layers, $"{op} '{name}': layers must be positive.");
        if (x.Rank != 2 || !x.Batched)
            throw new ArgumentException($"{op} '{name}': expected a batched sequence of shape [T, D] per sample, got {(x.Batched ? "" : "the unbatched ")}{x.ShapeText}.");
        if (c0 is not null && cell != RecurrentCell.Lstm)
            throw new ArgumentException($"{op} '{name}': c0 is the LSTM's initial cell state; a {op} has none.");
        int directions = bidirectional ? 2 : 1;
        CheckInitialState(op, name, "h0", h0, x, layers * directions, hidden);
        CheckInitialState(op, name, "c0", c0, x, layers * directions, hidden);
        if (lengths is not null)
        {
            if (!ReferenceEquals(lengths.Tape, x.Tape)) throw new ArgumentException($"{op} '{name}': lengths belongs to another model's tape.");
            if (RecurrentContract.LengthsShapeError(lengths.Batched, lengths.ShapeArray) is { } why)
                throw new ArgumentException($"{op} '{name}': {why}");
        }

        DynamicContext context = DynamicContext.Current;
        string[] names = RecurrentParameterNames(name, layers);
        int steps = x.ShapeArray[0];
        int gates = RecurrentContract.Gates(cell) * hidden;
        int states = layers * directions;
        Tensor input = x;
        for (int l = 0; l < layers; l++)
        {
            int d = input.ShapeArray[1];
            Tensor? output = null;
            for (int direction = 0; direction < directions; direction++)
            {
                int at = 8 * l + 4 * direction;
                Tensor wih = context.Parameter(names[at]), whh = context.Parameter(names[at + 1]);
                Tensor? bih = bias ? context.Parameter(names[at + 2]) : null, bhh = bias ? context.Parameter(names[at + 3]) : null;
                CheckParameter(op, name, wih, gates, d);
                CheckParameter(op, name, whh, gates, hidden);
                if (bias)
                {
                    CheckParameter(op, name, bih!, gates, 0);
                    CheckParameter(op, name, bhh!, gates, 0);
                }
                // One layer's states are a contiguous [batch, H] block only when there is one; otherwise take row
                // l·directions + direction (PyTorch's order: l0, l0_reverse, l1, ...).
                int row = l * directions + direction;
                Tensor? h0l = h0 is null ? null : states == 1 ? h0 : Slice(h0, 0, row, 1, keepAxis: false);
                Tensor? c0l = c0 is null ? null : states == 1 ? c0 : Slice(c0, 0, row, 1, keepAxis: false);
                var shape = new RecurrentShape(cell, steps, d, hidden);
                bool reverse = direction == 1;
                Tensor y = input.Tape.IsDouble
                    ? RecurrentCore<double>(op, shape, input, wih, whh, bih, bhh, h0l, c0l, lengths, reverse)
                    : RecurrentCore<float>(op, shape, input, wih, whh, bih, bhh, h0l, c0l, lengths, reverse);
                output = output is null ? y : Concat(output, y, 1);
            }
            input = output!;
        }
        return input;
    }

    private static void CheckInitialState(string op, string name, string what, Tensor? state, Tensor x, int layers, int hidden)
    {
        if (state is null) return;
        if (!ReferenceEquals(state.Tape, x.Tape)) throw new ArgumentException($"{op} '{name}': {what} belongs to another model's tape.");
        // [layers · directions, H], or [H] for one layer and direction (as the generator accepts).
        bool ok = state.Batched && (state.Rank == 2 && state.ShapeArray[0] == layers && state.ShapeArray[1] == hidden
            || layers == 1 && state.Rank == 1 && state.ShapeArray[0] == hidden);
        if (!ok)
            throw new ArgumentException($"{op} '{name}': {what} must be batched [layers · directions, H] = [{layers}, {hidden}] per sample, " +
                $"got {(state.Batched ? "" : "the unbatched ")}{state.ShapeText}.");
    }

    private static void CheckParameter(string op, string name, Tensor p, int rows, int cols)
    {
        bool ok = cols == 0 ? p.Rank == 1 && p.ShapeArray[0] == rows : p.Rank == 2 && p.ShapeArray[0] == rows && p.ShapeArray[1] == cols;
        if (!ok)
            throw new ArgumentException($"{op} '{name}': parameter '{p.Name}' has shape {p.ShapeText}, expected " +
                (cols == 0 ? $"[{rows}]" : $"[{rows}, {cols}]") + " (PyTorch's layout, gate blocks stacked).");
    }

    // The names {name}.weight_ih_l{l}, weight_hh, bias_ih, bias_hh per layer, then the same with _reverse, built once
    // per layer name so that a steady-state step builds no strings: names[8·l + 4·direction + role].
    private static readonly ConditionalWeakTable<string, string[]> s_recurrentNames = new();

    private static string[] RecurrentParameterNames(string name, int layers)
    {
        if (s_recurrentNames.TryGetValue(name, out string[]? names) && names.Length >= 8 * layers) return names;
        names = new string[8 * layers];
        string[] roles = ["weight_ih", "weight_hh", "bias_ih", "bias_hh"];
        for (int l = 0; l < layers; l++)
            for (int direction = 0; direction < 2; direction++)
                for (int role = 0; role < 4; role++)
                    names[8 * l + 4 * direction + role] = RecurrentContract.ParameterName(name, roles[role], l, direction == 1);
        s_recurrentNames.AddOrUpdate(name, names);
        return names;
    }

    // Node fields: Arg0 cell, Arg1 H, Arg2 1 when the direction is reversed, Flag0/Flag1 h0/c0 given, Aux0 the saved
    // workspace, Aux1 a copy of the per-sample lengths (or null).
    private static Tensor RecurrentCore<T>(string op, RecurrentShape s, Tensor x, Tensor wih, Tensor whh, Tensor? bih, Tensor? bhh,
        Tensor? h0, Tensor? c0, Tensor? lengths, bool reverse) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = x.Tape;
        int[] none = tape.Intern([0]);
        Tensor? biases = bih is null ? null : tape.Node<T>("recurrent_biases", none, batched: false, bih, bhh);
        Tensor weights = tape.Node<T>("recurrent_params", none, batched: false, wih, whh, biases);
        Tensor? state = h0 is not null && c0 is not null ? tape.Node<T>("lstm_state", none, batched: false, h0, c0) : h0 ?? c0;
        Tensor y = tape.Node<T>(op, tape.Intern([s.Steps, s.Hidden]), batched: true, x, weights, state);
        y.Arg0 = (int)s.Cell;
        y.Arg1 = s.Hidden;
        y.Arg2 = reverse ? 1 : 0;
        y.Flag0 = h0 is not null;
        y.Flag1 = c0 is not null;
        y.Side = lengths;
        int batch = x.Samples;
        if (lengths is not null && lengths.Samples != batch)
            throw new ArgumentException($"{op}: lengths has {lengths.Samples} samples, the sequence {batch}.");
        T[] saved = tape.Rent<T>(batch * s.SavedPerSample);
        y.Aux0 = saved;
        ReadOnlySpan<T> sampleLengths = default;
        if (lengths is not null)
        {
            T[] copy = tape.Rent<T>(batch);
            lengths.Values<T>().CopyTo(copy);
            y.Aux1 = copy;
            sampleLengths = copy;
        }
        ReadOnlySpan<T> ib = bih is null ? default : bih.Values<T>(), hb = bhh is null ? default : bhh.Values<T>();
        if (typeof(T) == typeof(double))
            RecurrentReference.Forward<double>(s, batch, x.Values<double>(), h0 is null ? default : h0.Values<double>(), c0 is null ? default : c0.Values<double>(),
                wih.Values<double>(), whh.Values<double>(), Cast<T, double>(ib), Cast<T, double>(hb), y.Values<double>(), (double[])(object)saved,
                Cast<T, double>(sampleLengths), reverse);
        else
            Kernels.Recurrent.Forward(s, batch, x.Values<float>(), h0 is null ? default : h0.Values<float>(), c0 is null ? default : c0.Values<float>(),
                wih.Values<float>(), whh.Values<float>(), Cast<T, float>(ib), Cast<T, float>(hb), y.Values<float>(), (float[])(object)saved,
                Cast<T, float>(sampleLengths), reverse, tape.Gemm);
        if (y.RequiresGrad) y.BackwardRule = RecurrentRules<T>.Backward;
        return y;
    }

    private static class RecurrentRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!, weights = y.In1!, wih = weights.In0!, whh = weights.In1!;
            Tensor? biases = weights.In2, bih = biases?.In0, bhh = biases?.In1;
            Tensor? h0 = null, c0 = null;
            if (y.Flag0 && y.Flag1) (h0, c0) = (y.In2!.In0, y.In2!.In1);
            else if (y.Flag0) h0 = y.In2;
            else if (y.Flag1) c0 = y.In2;
            var s = new RecurrentShape((RecurrentCell)y.Arg0, y.ShapeArray[0], x.ShapeArray[1], y.Arg1);
            int batch = x.Samples;
            Tape tape = y.Tape;

            // The kernel takes one accumulate flag for dx, dh0, dc0 and one for the parameters: when the targets of a
            // group disagree, the ones seen for the first time are zeroed and the group accumulates.
            Span<T> dx = Target(x, out bool ax), dh0 = Target(h0, out bool ah), dc0 = Target(c0, out bool ac);
            bool accumulate = Harmonize(dx, ax, dh0, ah, dc0, ac, default, false);
            Span<T> dwih = Target(wih, out bool aw), dwhh = Target(whh, out bool av), dbih = Target(bih, out bool ab), dbhh = Target(bhh, out bool ad);
            bool accumulateWeights = Harmonize(dwih, aw, dwhh, av, dbih, ab, dbhh, ad);
            if (dx.IsEmpty && dh0.IsEmpty && dc0.IsEmpty && dwih.IsEmpty && dwhh.IsEmpty && dbih.IsEmpty && dbhh.IsEmpty) return;

            ReadOnlySpan<T> saved = ((T[])y.Aux0!).AsSpan(0, batch * s.SavedPerSample);
            ReadOnlySpan<T> lengths = y.Aux1 is T[] copy ? copy.AsSpan(0, batch) : default;
            bool reverse = y.Arg2 == 1;
            Span<T> scratch = tape.Rent<T>(batch * s.ScratchPerSample);
            if (typeof(T) == typeof(double))
                RecurrentReference.Backward<double>(s, batch, x.Values<double>(), h0 is null ? default : h0.Values<double>(), c0 is null ? default : c0.Values<double>(),
                    wih.Values<double>(), whh.Values<double>(), y.Values<double>(), Cast<T, double>(saved), Cast<T, double>(y.Upstream<T>()),
                    Cast<T, double>(dx), Cast<T, double>(dh0), Cast<T, double>(dc0), accumulate,
                    Cast<T, double>(dwih), Cast<T, double>(dwhh), Cast<T, double>(dbih), Cast<T, double>(dbhh), accumulateWeights, Cast<T, double>(scratch),
                    Cast<T, double>(lengths), reverse);
            else
                Kernels.Recurrent.Backward(s, batch, x.Values<float>(), h0 is null ? default : h0.Values<float>(), c0 is null ? default : c0.Values<float>(),
                    wih.Values<float>(), whh.Values<float>(), y.Values<float>(), Cast<T, float>(saved), Cast<T, float>(y.Upstream<T>()),
                    Cast<T, float>(dx), Cast<T, float>(dh0), Cast<T, float>(dc0), accumulate,
                    Cast<T, float>(dwih), Cast<T, float>(dwhh), Cast<T, float>(dbih), Cast<T, float>(dbhh), accumulateWeights, Cast<T, float>(scratch),
                    Cast<T, float>(lengths), reverse, tape.Gemm);
        };

        private static Span<T> Target(Tensor? t, out bool accumulate)
        {
            accumulate = false;
            return t is not null && t.RequiresGrad ? t.GradTarget<T>(out accumulate) : default;
        }

        /// <summary>One accumulate flag for up to four targets (empty = not wanted): true when any wanted target already
        /// holds a gradient, after zeroing the wanted ones that do not.</summary>
        private static bool Harmonize(Span<T> a, bool fa, Span<T> b, bool fb, Span<T> c, bool fc, Span<T> d, bool fd)
        {
            bool any = (!a.IsEmpty && fa) || (!b.IsEmpty && fb) || (!c.IsEmpty && fc) || (!d.IsEmpty && fd);
            if (!any) return false;
            if (!fa) a.Clear();
            if (!fb) b.Clear();
            if (!fc) c.Clear();
            if (!fd) d.Clear();
            return true;
        }
    }
}
