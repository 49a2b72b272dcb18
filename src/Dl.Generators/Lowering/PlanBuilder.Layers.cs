using Dl.Generators.Layers;

namespace Dl.Generators.Lowering;

// What layer definitions (Layers/*.cs) use while lowering: node values and gradients, and workspaces, the buffers a node's
// forward pass saves for its backward pass, kept per (node, name) instead of a dictionary per layer kind.
internal sealed partial class PlanBuilder : ILayerLowering
{
    private readonly Dictionary<(int Node, string Name), Buffer> _workspaces = new();

    NodeSpec ILayerLowering.Node(int id) => Node(id);

    Buffer ILayerLowering.Value(int id) => V(id);

    Buffer? ILayerLowering.Gradient(NodeSpec n, int slot, bool[] needs) =>
        slot < n.Inputs.Count && needs[n.Inputs[slot]] ? _plan.Gradients[n.Inputs[slot]] : null;

    Buffer ILayerLowering.Workspace(NodeSpec n, string name, int size, bool batched) =>
        _workspaces[(n.Id, name)] = _plan.AddBuffer(n.Label + "." + name, size, batched, batched ? Space.Batched : Space.Fixed);

    Buffer ILayerLowering.Saved(NodeSpec n, string name) => _workspaces[(n.Id, name)];

    Buffer ILayerLowering.State(NodeSpec n, string name, int index) => _workspaces[(n.Id, name)] = StateBuffer(index);

    bool ILayerLowering.FirstWrite(Buffer dx) => First(dx);

    bool ILayerLowering.AccumulateFlag(List<Step> steps, Buffer?[] targets, string label, bool force) =>
        AccumulateFlag(steps, targets, label, force);
}
