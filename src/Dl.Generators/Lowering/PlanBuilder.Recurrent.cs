using Dl.Kernels;
using static Dl.Generators.Lowering.CallArg;

namespace Dl.Generators.Lowering;

// Recurrent layers lower to two kernel calls: Recurrent.Forward runs every time step (saving what backpropagation through
// time needs in an arena workspace) and Recurrent.Backward runs BPTT and writes every gradient of the layer at once. The
// time loop is inside the kernel, so the generated code and its build time do not grow with the sequence length.
internal sealed partial class PlanBuilder
{
    private readonly Dictionary<int, Buffer> _recurrentSaved = new();

    /// <summary>Floats per sample of the kernel's saved and scratch workspaces: the shared RecurrentContract's sizes, which
    /// Dl.Kernels.RecurrentShape checks the spans against.</summary>
    internal static (int Saved, int Scratch) RecurrentWorkspace(int cell, int steps, int input, int hidden) =>
        ((int)RecurrentContract.SavedPerSample((RecurrentCell)cell, steps, input, hidden),
         (int)RecurrentContract.ScratchPerSample((RecurrentCell)cell, steps, input, hidden));

    private static string RecurrentShapeLiteral(RecurrentAttributes r) =>
        $"new global::Dl.Kernels.RecurrentShape(global::Dl.Kernels.RecurrentCell.{(RecurrentCell)r.Cell}, {r.Steps}, {r.InputSize}, {r.HiddenSize})";

    private static (int Saved, int Scratch) RecurrentWorkspace(RecurrentAttributes r) => RecurrentWorkspace(r.Cell, r.Steps, r.InputSize, r.HiddenSize);

    private (Buffer? H0, Buffer? C0) InitialStates(NodeSpec n)
    {
        var r = n.Attr<RecurrentAttributes>();
        int next = r.StateSlot;
        Buffer? h0 = r.HasH0 ? V(n.Inputs[next++]) : null;
        Buffer? c0 = r.HasC0 ? V(n.Inputs[next]) : null;
        return (h0, c0);
    }

    private static CallArg Opt(Buffer? b) => b is null ? Lit("default") : In(b);

    /// <summary>The bias slot's argument: the bias, or <c>default</c> for a layer without biases.</summary>
    private CallArg Bias(NodeSpec n, int slot) => n.Attr<RecurrentAttributes>().HasBias ? In(V(n.Inputs[slot])) : Lit("default");

    /// <summary>The arguments of the lengths-and-direction overloads (none for a forward pass over whole sequences, so
    /// that such a layer prints the call it always had).</summary>
    private IEnumerable<CallArg> Sequences(NodeSpec n)
    {
        var r = n.Attr<RecurrentAttributes>();
        if (!r.HasLengths && !r.Reverse) yield break;
        yield return r.HasLengths ? In(V(n.Inputs[r.LengthsSlot])) : Lit("default");
        yield return Lit(r.Reverse);
    }

    private IEnumerable<Step> SequenceForward(NodeSpec n, Buffer y, string comment)
    {
        var r = n.Attr<RecurrentAttributes>();
        var (saved, _) = RecurrentWorkspace(r);
        var savedBuffer = _recurrentSaved[n.Id] = _plan.AddBuffer(n.Label + ".saved", saved, true, Space.Batched);
        var (h0, c0) = InitialStates(n);
        yield return new CallStep(comment + $" [{r.Steps} steps in the kernel]", Kernels + "Recurrent.Forward",
            new[] { Lit(RecurrentShapeLiteral(r)), Lit("batch"), In(V(n.Inputs[0])), Opt(h0), Opt(c0),
                In(V(n.Inputs[1])), In(V(n.Inputs[2])), Bias(n, 3), Bias(n, 4), Out(y), Out(savedBuffer) }.Concat(Sequences(n)).Append(Lit("_gemm")).ToArray());
    }

    /// <summary>Backpropagation through time: one call writes dx, dh0, dc0 (one accumulate flag) and the four parameter
    /// gradients (another). A target whose first-write status differs from the others' is zeroed first and accumulated.</summary>
    private IEnumerable<Step> RecurrentBackward(NodeSpec n, Buffer dy, bool[] needs)
    {
        var r = n.Attr<RecurrentAttributes>();
        string comment = $"d{n.Label}'s inputs and parameters: backpropagation through {r.Steps} steps  [{n.Op}]";
        Buffer? Grad(int slot) => slot < n.Inputs.Count && needs[n.Inputs[slot]] ? _plan.Gradients[n.Inputs[slot]] : null;
        int stateSlot = r.StateSlot;
        int h0Slot = r.HasH0 ? stateSlot++ : -1, c0Slot = r.HasC0 ? stateSlot : -1;
        var data = new[] { Grad(0), h0Slot < 0 ? null : Grad(h0Slot), c0Slot < 0 ? null : Grad(c0Slot) };
        var weights = new[] { Grad(1), Grad(2), r.HasBias ? Grad(3) : null, r.HasBias ? Grad(4) : null };
        var steps = new List<Step>();
        bool accumulate = AccumulateFlag(steps, data, n.Label), accumulateWeights = AccumulateFlag(steps, weights, n.Label);
        CallArg G(Buffer? b, bool acc) => b is null ? Lit("default") : Out(b, acc);
        var (saved, scratch) = RecurrentWorkspace(r);
        var scratchBuffer = _plan.AddBuffer(n.Label + ".scratch", scratch, true, Space.Batched);
        var (h0, c0) = InitialStates(n);
        steps.Add(new CallStep(comment, Kernels + "Recurrent.Backward",
            new[] { Lit(RecurrentShapeLiteral(r)), Lit("batch"), In(V(n.Inputs[0])), Opt(h0), Opt(c0), In(V(n.Inputs[1])), In(V(n.Inputs[2])),
                In(V(n.Id)), In(_recurrentSaved[n.Id]), In(dy),
                G(data[0], accumulate), G(data[1], accumulate), G(data[2], accumulate), Lit(accumulate),
                G(weights[0], accumulateWeights), G(weights[1], accumulateWeights), G(weights[2], accumulateWeights), G(weights[3], accumulateWeights),
                Lit(accumulateWeights), Out(scratchBuffer) }.Concat(Sequences(n)).Append(Lit("_gemm")).ToArray()));
        return steps;
    }
}
