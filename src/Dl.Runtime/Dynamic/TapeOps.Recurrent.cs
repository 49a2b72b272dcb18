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

    public static Tensor Recurrent(Tensor x, RecurrentCell cell, int hidden, string name, int layers, Tensor? h0, Tensor? c0)
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
        CheckInitialState(op, name, "h0", h0, x, layers, hidden);
        CheckInitialState(op, name, "c0", c0, x, layers, hidden);

        DynamicContext context = DynamicContext.Current;
        string[] names = RecurrentParameterNames(name, layers);
        int steps = x.ShapeArray[0];
        int gates = RecurrentContract.Gates(cell) * hidden;
        Tensor input = x;
        for (int l = 0; l < layers; l++)
        {
            int d = input.ShapeArray[1];
            Tensor wih = context.Parameter(names[4 * l]), whh = context.Parameter(names[4 * l + 1]);
            Tensor bih = context.Parameter(names[4 * l + 2]), bhh = context.Parameter(names[4 * l + 3]);
            CheckParameter(op, name, wih, gates, d);
            CheckParameter(op, name, whh, gates, hidden);
            CheckParameter(op, name, bih, gates, 0);
            CheckParameter(op, name, bhh, gates, 0);
            // One layer's states are a contiguous [batch, H] block only when there is one layer; otherwise take row l.
            Tensor? h0l = h0 is null ? null : layers == 1 ? h0 : Slice(h0, 0, l, 1, keepAxis: false);
            Tensor? c0l = c0 is null ? null : layers == 1 ? c0 : Slice(c0, 0, l, 1, keepAxis: false);
            var shape = new RecurrentShape(cell, steps, d, hidden);
            input = input.Tape.IsDouble
                ? RecurrentCore<double>(op, shape, input, wih, whh, bih, bhh, h0l, c0l)
                : RecurrentCore<float>(op, shape, input, wih, whh, bih, bhh, h0l, c0l);
        }
        return input;
    }

    private static void CheckInitialState(string op, string name, string what, Tensor? state, Tensor x, int layers, int hidden)
    {
        if (state is null) return;
        if (!ReferenceEquals(state.Tape, x.Tape)) throw new ArgumentException($"{op} '{name}': {what} belongs to another model's tape.");
        // [layers, H], or [H] for one layer (as the generator accepts).
        bool ok = state.Batched && (state.Rank == 2 && state.ShapeArray[0] == layers && state.ShapeArray[1] == hidden
            || layers == 1 && state.Rank == 1 && state.ShapeArray[0] == hidden);
        if (!ok)
            throw new ArgumentException($"{op} '{name}': {what} must be batched [layers, H] = [{layers}, {hidden}] per sample, " +
                $"got {(state.Batched ? "" : "the unbatched ")}{state.ShapeText}.");
    }

    private static void CheckParameter(string op, string name, Tensor p, int rows, int cols)
    {
        bool ok = cols == 0 ? p.Rank == 1 && p.ShapeArray[0] == rows : p.Rank == 2 && p.ShapeArray[0] == rows && p.ShapeArray[1] == cols;
        if (!ok)
            throw new ArgumentException($"{op} '{name}': parameter '{p.Name}' has shape {p.ShapeText}, expected " +
                (cols == 0 ? $"[{rows}]" : $"[{rows}, {cols}]") + " (PyTorch's layout, gate blocks stacked).");
    }

    // The names {name}.weight_ih_l{l}, weight_hh, bias_ih, bias_hh per layer, built once per layer name so that a
    // steady-state step builds no strings.
    private static readonly ConditionalWeakTable<string, string[]> s_recurrentNames = new();

    private static string[] RecurrentParameterNames(string name, int layers)
    {
        if (s_recurrentNames.TryGetValue(name, out string[]? names) && names.Length >= 4 * layers) return names;
        names = new string[4 * layers];
        for (int l = 0; l < layers; l++)
        {
            names[4 * l] = RecurrentContract.ParameterName(name, "weight_ih", l);
            names[4 * l + 1] = RecurrentContract.ParameterName(name, "weight_hh", l);
            names[4 * l + 2] = RecurrentContract.ParameterName(name, "bias_ih", l);
            names[4 * l + 3] = RecurrentContract.ParameterName(name, "bias_hh", l);
        }
        s_recurrentNames.AddOrUpdate(name, names);
        return names;
    }

    private static Tensor RecurrentCore<T>(string op, RecurrentShape s, Tensor x, Tensor wih, Tensor whh, Tensor bih, Tensor bhh,
        Tensor? h0, Tensor? c0) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = x.Tape;
        int[] none = tape.Intern([0]);
        Tensor biases = tape.Node<T>("recurrent_biases", none, batched: false, bih, bhh);
        Tensor weights = tape.Node<T>("recurrent_params", none, batched: false, wih, whh, biases);
        Tensor? state = h0 is not null && c0 is not null ? tape.Node<T>("lstm_state", none, batched: false, h0, c0) : h0 ?? c0;
        Tensor y = tape.Node<T>(op, tape.Intern([s.Steps, s.Hidden]), batched: true, x, weights, state);
        y.Arg0 = (int)s.Cell;
        y.Arg1 = s.Hidden;
        y.Flag0 = h0 is not null;
        y.Flag1 = c0 is not null;
        int batch = x.Samples;
        T[] saved = tape.Rent<T>(batch * s.SavedPerSample);
        y.Aux0 = saved;
        if (typeof(T) == typeof(double))
            RecurrentReference.Forward<double>(s, batch, x.Values<double>(), h0 is null ? default : h0.Values<double>(), c0 is null ? default : c0.Values<double>(),
                wih.Values<double>(), whh.Values<double>(), bih.Values<double>(), bhh.Values<double>(), y.Values<double>(), (double[])(object)saved);
        else
            Kernels.Recurrent.Forward(s, batch, x.Values<float>(), h0 is null ? default : h0.Values<float>(), c0 is null ? default : c0.Values<float>(),
                wih.Values<float>(), whh.Values<float>(), bih.Values<float>(), bhh.Values<float>(), y.Values<float>(), (float[])(object)saved, tape.Gemm);
        if (y.RequiresGrad) y.BackwardRule = RecurrentRules<T>.Backward;
        return y;
    }

    private static class RecurrentRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor x = y.In0!, weights = y.In1!, wih = weights.In0!, whh = weights.In1!, biases = weights.In2!;
            Tensor bih = biases.In0!, bhh = biases.In1!;
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
            Span<T> scratch = tape.Rent<T>(batch * s.ScratchPerSample);
            if (typeof(T) == typeof(double))
                RecurrentReference.Backward<double>(s, batch, x.Values<double>(), h0 is null ? default : h0.Values<double>(), c0 is null ? default : c0.Values<double>(),
                    wih.Values<double>(), whh.Values<double>(), y.Values<double>(), Cast<T, double>(saved), Cast<T, double>(y.Upstream<T>()),
                    Cast<T, double>(dx), Cast<T, double>(dh0), Cast<T, double>(dc0), accumulate,
                    Cast<T, double>(dwih), Cast<T, double>(dwhh), Cast<T, double>(dbih), Cast<T, double>(dbhh), accumulateWeights, Cast<T, double>(scratch));
            else
                Kernels.Recurrent.Backward(s, batch, x.Values<float>(), h0 is null ? default : h0.Values<float>(), c0 is null ? default : c0.Values<float>(),
                    wih.Values<float>(), whh.Values<float>(), y.Values<float>(), Cast<T, float>(saved), Cast<T, float>(y.Upstream<T>()),
                    Cast<T, float>(dx), Cast<T, float>(dh0), Cast<T, float>(dc0), accumulate,
                    Cast<T, float>(dwih), Cast<T, float>(dwhh), Cast<T, float>(dbih), Cast<T, float>(dbhh), accumulateWeights, Cast<T, float>(scratch), tape.Gemm);
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
