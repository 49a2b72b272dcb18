using System.Globalization;
using System.Text;

namespace Dl;

/// <summary>
/// A confusion matrix C where C[a, p] counts samples of actual class a predicted as p.
/// Accuracy = Σ C[c, c] / Σ C; precision(c) = C[c, c] / Σₐ C[a, c]; recall(c) = C[c, c] / Σₚ C[c, p].
/// </summary>
public sealed class ConfusionMatrix
{
    private readonly long[] _counts;

    public ConfusionMatrix(int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        Classes = classes;
        _counts = new long[checked(classes * classes)];
    }

    public int Classes { get; }
    public long Total { get; private set; }

    /// <summary>C[actual, predicted].</summary>
    public long this[int actual, int predicted] => _counts[Index(actual, nameof(actual)) * Classes + Index(predicted, nameof(predicted))];

    /// <summary>Counts one sample.</summary>
    public void Add(int actual, int predicted)
    {
        _counts[Index(actual, nameof(actual)) * Classes + Index(predicted, nameof(predicted))]++;
        Total++;
    }

    /// <summary>Counts each row of the n × <see cref="Classes"/> <paramref name="logits"/> by its argmax (no allocation).</summary>
    public void Add(ReadOnlySpan<float> logits, ReadOnlySpan<int> labels)
    {
        if (logits.Length != (long)labels.Length * Classes)
            throw new ArgumentException($"{labels.Length} labels need {(long)labels.Length * Classes} logits ({Classes} classes); got {logits.Length}.", nameof(logits));
        for (int i = 0; i < labels.Length; i++)
            Add(labels[i], Metrics.ArgMax(logits.Slice(i * Classes, Classes)));
    }

    public void Clear()
    {
        Array.Clear(_counts);
        Total = 0;
    }

    /// <summary>Σ C[c, c] / Σ C (0 when empty).</summary>
    public double Accuracy()
    {
        long diagonal = 0;
        for (int c = 0; c < Classes; c++) diagonal += _counts[c * Classes + c];
        return Total == 0 ? 0 : (double)diagonal / Total;
    }

    /// <summary>C[c, c] / Σₐ C[a, c], or NaN when nothing was predicted as <paramref name="c"/>.</summary>
    public double Precision(int c)
    {
        Index(c, nameof(c));
        long column = 0;
        for (int a = 0; a < Classes; a++) column += _counts[a * Classes + c];
        return column == 0 ? double.NaN : (double)_counts[c * Classes + c] / column;
    }

    /// <summary>C[c, c] / Σₚ C[c, p], or NaN when class <paramref name="c"/> never occurred.</summary>
    public double Recall(int c)
    {
        Index(c, nameof(c));
        long row = 0;
        for (int p = 0; p < Classes; p++) row += _counts[c * Classes + p];
        return row == 0 ? double.NaN : (double)_counts[c * Classes + c] / row;
    }

    /// <summary>A text table: rows are actual classes, columns predicted, with recall per row.</summary>
    public override string ToString()
    {
        int width = Math.Max(5, _counts.Length == 0 ? 1 : _counts.Max().ToString(CultureInfo.InvariantCulture).Length + 1);
        var sb = new StringBuilder();
        sb.Append("actual\\pred");
        for (int p = 0; p < Classes; p++) sb.Append(p.ToString(CultureInfo.InvariantCulture).PadLeft(width));
        sb.Append("  recall").AppendLine();
        for (int a = 0; a < Classes; a++)
        {
            sb.Append(a.ToString(CultureInfo.InvariantCulture).PadLeft(11));
            for (int p = 0; p < Classes; p++)
                sb.Append(_counts[a * Classes + p].ToString(CultureInfo.InvariantCulture).PadLeft(width));
            double r = Recall(a);
            sb.Append(double.IsNaN(r) ? "       -" : r.ToString("0.000", CultureInfo.InvariantCulture).PadLeft(8)).AppendLine();
        }
        sb.Append("accuracy ").Append(Accuracy().ToString("0.0000", CultureInfo.InvariantCulture))
          .Append(" (").Append(Total.ToString(CultureInfo.InvariantCulture)).Append(" samples)");
        return sb.ToString();
    }

    private int Index(int c, string name)
    {
        if ((uint)c >= (uint)Classes)
            throw new ArgumentOutOfRangeException(name, c, $"Expected a class in [0, {Classes}).");
        return c;
    }
}
