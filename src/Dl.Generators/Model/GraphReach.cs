namespace Dl.Generators.Model;

/// <summary>The two reachability questions the stages ask of a graph, answered in one place (the parser's DL0009 check,
/// lowering's forward and backward passes and the emitter's graph text all used to compute them on their own).</summary>
/// <remarks>Nodes are in topological order (every input has a smaller id), so one pass in each direction suffices.</remarks>
internal static class GraphReach
{
    /// <summary>Nodes that the output or the loss reads, directly or not (the rest, left behind by a pair rewrite, are not
    /// computed); <paramref name="loss"/> is -1 for a model without a loss.</summary>
    public static bool[] Live(IReadOnlyList<NodeSpec> nodes, int output, int loss)
    {
        var live = new bool[nodes.Count];
        live[output] = true;
        if (loss >= 0) live[loss] = true;
        for (int id = nodes.Count - 1; id >= 0; id--)
            if (live[id]) foreach (int i in nodes[id].Inputs) live[i] = true;
        return live;
    }

    /// <summary>Whether the model has a loss that some parameter reaches: only then is there a backward pass and are
    /// there training methods (a loss that depends on no parameter is kept for its trace and input gradients).</summary>
    public static bool Trains(ModelSpec model) => model.LossNode >= 0 && GradientPath(model.Nodes, model.LossNode)[model.LossNode];

    /// <summary>Nodes on a path from a parameter to the loss: the ones whose gradient the backward pass computes. A path
    /// runs only through inputs that take a gradient (<see cref="CarriesGradient"/>): not through <c>Detach</c> or the mask
    /// of <c>Where</c>, so a parameter reached only that way is not trained.</summary>
    public static bool[] GradientPath(IReadOnlyList<NodeSpec> nodes, int loss)
    {
        var needsGrad = new bool[nodes.Count];
        foreach (var n in nodes)
        {
            bool any = n.Kind == NodeKind.Param;
            for (int slot = 0; slot < n.Inputs.Count && !any; slot++) any = needsGrad[n.Inputs[slot]] && CarriesGradient(n, slot);
            needsGrad[n.Id] = any;
        }
        var onPath = new bool[nodes.Count];
        onPath[loss] = needsGrad[loss];
        for (int id = loss; id >= 0; id--)
        {
            if (!onPath[id]) continue;
            var n = nodes[id];
            for (int slot = 0; slot < n.Inputs.Count; slot++)
                if (needsGrad[n.Inputs[slot]] && CarriesGradient(n, slot)) onPath[n.Inputs[slot]] = true;
        }
        return onPath;
    }

    /// <summary>False for the inputs a node passes no gradient to: <c>Detach</c>'s input and <c>Where</c>'s mask (slot 0).</summary>
    public static bool CarriesGradient(NodeSpec n, int slot) => n.Kind switch
    {
        NodeKind.Detach => false,
        NodeKind.Where => slot != 0,
        _ => true,
    };
}
