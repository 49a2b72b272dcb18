using System.Numerics;
using Dl.Kernels;

namespace Dl.Dynamic;

internal static partial class TapeOps
{
    // ================================================================================================================
    // Embedding / OneHot: y[t] = table[tokens[t]] (or one-hot). Backward: dTable[tokens[t]] += dy[t]; tokens get none.
    // ================================================================================================================

    public static Tensor Embedding(Tensor tokens, int vocabulary, int dimension, string? name)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        string op = name is null ? "one_hot" : "embedding";
        string what = name is null ? op : $"{op} '{name}'";
        if (vocabulary <= 0) throw new ArgumentOutOfRangeException(nameof(vocabulary), vocabulary, $"{what}: the vocabulary size must be positive.");
        if (dimension <= 0) throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"{what}: the dimension must be positive.");
        if (tokens.Rank > 1) throw new ArgumentException($"{what}: expected tokens of shape [T] or a single token [], got {tokens.ShapeText}.");
        Tensor? table = null;
        if (name is not null)
        {
            table = DynamicContext.Current.Parameter(name + ".weight");
            if (table.Rank != 2 || table.ShapeArray[0] != vocabulary || table.ShapeArray[1] != dimension)
                throw new ArgumentException($"{what}: '{name}.weight' has shape {table.ShapeText}, expected [{vocabulary}, {dimension}].");
        }
        Tape tape = tokens.Tape;
        int[] shape = tokens.Rank == 0 ? tape.Intern([dimension]) : tape.Intern([tokens.ShapeArray[0], dimension]);
        return tape.IsDouble ? EmbeddingCore<double>(tokens, table, vocabulary, dimension, shape) : EmbeddingCore<float>(tokens, table, vocabulary, dimension, shape);
    }

    private static Tensor EmbeddingCore<T>(Tensor tokens, Tensor? table, int vocabulary, int dimension, int[] shape) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Tape tape = tokens.Tape;
        Tensor y = tape.Node<T>(table is null ? "one_hot" : "embedding", shape, tokens.Batched, tokens, table);
        int rows = tokens.Samples * Math.Max(1, tokens.Size);
        EmbeddingLookup.Forward(rows, vocabulary, dimension, tokens.Values<T>(), table is null ? default : table.Values<T>(), y.Values<T>());
        y.Arg0 = vocabulary;
        y.Arg1 = dimension;
        if (y.RequiresGrad && table is not null && table.RequiresGrad) y.BackwardRule = EmbeddingRules<T>.Backward;
        return y;
    }

    private static class EmbeddingRules<T> where T : unmanaged, IFloatingPointIeee754<T>
    {
        public static readonly Action<Tensor> Backward = static y =>
        {
            Tensor tokens = y.In0!, table = y.In1!;
            Span<T> dTable = table.GradTarget<T>(out bool accumulate);
            int rows = tokens.Samples * Math.Max(1, tokens.Size);
            EmbeddingLookup.Backward(rows, y.Arg0, y.Arg1, tokens.Values<T>(), y.Upstream<T>(), dTable, accumulate);
        };
    }
}
