using System.Numerics;

namespace Dl.Kernels;

/// <summary>Table lookup of integer tokens stored as numbers: row r of y is row tokens[r] of the table (an embedding), or
/// the one-hot vector of tokens[r] when no table is given. Backward scatters each row's gradient into its token's table
/// row; repeated tokens add up.</summary>
public static class EmbeddingLookup
{
    /// <summary>y[r, :] = table[tokens[r], :] for <paramref name="rows"/> rows of <paramref name="dimension"/>; with an
    /// empty <paramref name="table"/>, y[r, :] = one-hot(tokens[r]) of length <paramref name="vocabulary"/> (= dimension).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A token is not an integer in [0, vocabulary): the message names the
    /// row, the value and the range.</exception>
    public static void Forward<T>(int rows, int vocabulary, int dimension, ReadOnlySpan<T> tokens, ReadOnlySpan<T> table, Span<T> y)
        where T : IFloatingPointIeee754<T>
    {
        Check(rows, vocabulary, dimension, tokens.Length, y.Length, "y");
        bool oneHot = table.IsEmpty;
        if (oneHot && dimension != vocabulary)
            throw new ArgumentException($"One-hot of {vocabulary} classes has rows of {vocabulary}, not {dimension}.", nameof(dimension));
        if (!oneHot && table.Length < vocabulary * dimension)
            throw new ArgumentException($"The table has {table.Length} elements; [{vocabulary}, {dimension}] needs {vocabulary * dimension}.", nameof(table));
        for (int r = 0; r < rows; r++)
        {
            int k = Token(tokens[r], r, vocabulary);
            Span<T> row = y.Slice(r * dimension, dimension);
            if (oneHot)
            {
                row.Clear();
                row[k] = T.One;
            }
            else table.Slice(k * dimension, dimension).CopyTo(row);
        }
    }

    /// <summary>dTable[tokens[r], :] += dy[r, :] for every row; <paramref name="accumulate"/> false zeroes dTable first.</summary>
    public static void Backward<T>(int rows, int vocabulary, int dimension, ReadOnlySpan<T> tokens, ReadOnlySpan<T> dy, Span<T> dTable, bool accumulate)
        where T : IFloatingPointIeee754<T>
    {
        Check(rows, vocabulary, dimension, tokens.Length, dy.Length, "dy");
        if (dTable.Length < vocabulary * dimension)
            throw new ArgumentException($"The table gradient has {dTable.Length} elements; [{vocabulary}, {dimension}] needs {vocabulary * dimension}.", nameof(dTable));
        if (!accumulate) dTable[..(vocabulary * dimension)].Clear();
        for (int r = 0; r < rows; r++)
        {
            int k = Token(tokens[r], r, vocabulary);
            Span<T> target = dTable.Slice(k * dimension, dimension);
            ReadOnlySpan<T> g = dy.Slice(r * dimension, dimension);
            for (int j = 0; j < dimension; j++) target[j] += g[j];
        }
    }

    private static int Token<T>(T value, int row, int vocabulary) where T : IFloatingPointIeee754<T>
    {
        if (T.IsInteger(value) && value >= T.Zero && value < T.CreateTruncating(vocabulary)) return int.CreateTruncating(value);
        throw new ArgumentOutOfRangeException("tokens", value,
            $"Token {row} (row-major over batch and steps) is {value}; expected an integer in [0, {vocabulary}).");
    }

    private static void Check(int rows, int vocabulary, int dimension, int tokens, int y, string yName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(vocabulary);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dimension);
        if (tokens < rows) throw new ArgumentException($"{rows} rows need {rows} tokens; got {tokens}.", "tokens");
        if (y < rows * dimension) throw new ArgumentException($"{yName} has {y} elements; {rows} rows of {dimension} need {rows * dimension}.", yName);
    }
}
