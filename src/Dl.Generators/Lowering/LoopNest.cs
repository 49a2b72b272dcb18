namespace Dl.Generators.Lowering;

/// <summary>The loop nest of an element-wise op with NumPy broadcasting: one dim for the batch (when batched) and one
/// per per-sample axis, each operand with its element stride per dim (0 where it broadcasts). Adjacent dims that are
/// contiguous for every operand are collapsed, so a same-shape op becomes one flat loop and a bias add becomes
/// rows × features.</summary>
internal sealed class LoopNest
{
    public Extent[] Dims { get; private set; } = new Extent[0];
    public int[][] Strides { get; private set; } = new int[0][];
    public int[] Out { get; private set; } = new int[0];

    public static LoopNest Build(ShapeSpec output, params ShapeSpec[] operands)
    {
        var dims = new List<Extent>();
        var strides = operands.Select(_ => new List<int>()).ToArray();
        var outStrides = new List<int>();
        if (output.Batched)
        {
            dims.Add(new Extent(1, true));
            for (int i = 0; i < operands.Length; i++) strides[i].Add(operands[i].Batched ? operands[i].Size : 0);
            outStrides.Add(output.Size);
        }
        for (int d = 0; d < output.Rank; d++)
        {
            dims.Add(new Extent(output.Dims[d], false));
            outStrides.Add(Contiguous(output, d));
            for (int i = 0; i < operands.Length; i++)
            {
                var s = operands[i];
                int od = d - (output.Rank - s.Rank);
                strides[i].Add(od < 0 || s.Dims[od] == 1 ? 0 : Contiguous(s, od));
            }
        }
        if (dims.Count == 0)
        {
            dims.Add(new Extent(1, false));
            outStrides.Add(1);
            foreach (var s in strides) s.Add(0);
        }

        // Drop literal dims of extent 1, then merge an outer dim into its inner neighbour when every operand is
        // contiguous across the two (stride[outer] == stride[inner] * extent[inner]).
        var all = new List<List<int>>(strides) { outStrides };
        for (int d = dims.Count - 1; d >= 0 && dims.Count > 1; d--)
        {
            if (!dims[d].Batched && dims[d].Literal == 1)
            {
                dims.RemoveAt(d);
                foreach (var s in all) s.RemoveAt(d);
            }
        }
        for (int d = dims.Count - 2; d >= 0; d--)
        {
            var inner = dims[d + 1];
            if (inner.Batched) continue;
            if (!all.All(s => s[d] == s[d + 1] * inner.Literal)) continue;
            dims[d] = new Extent(dims[d].Literal * inner.Literal, dims[d].Batched);
            dims.RemoveAt(d + 1);
            foreach (var s in all) { s[d] = s[d + 1]; s.RemoveAt(d + 1); }
        }
        return new LoopNest
        {
            Dims = dims.ToArray(),
            Strides = strides.Select(s => s.ToArray()).ToArray(),
            Out = outStrides.ToArray(),
        };
    }

    private static int Contiguous(ShapeSpec s, int axis)
    {
        int stride = 1;
        for (int i = axis + 1; i < s.Rank; i++) stride *= s.Dims[i];
        return stride;
    }
}
