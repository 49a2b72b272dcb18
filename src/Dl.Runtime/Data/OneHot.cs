namespace Dl.Data;

/// <summary>One-hot encoding: row i of the n × classes result is e_{labels[i]} (1 at the label, 0 elsewhere).</summary>
public static class OneHot
{
    /// <summary>Writes the n × <paramref name="classes"/> one-hot matrix of <paramref name="labels"/> into <paramref name="destination"/>.</summary>
    public static void Encode(ReadOnlySpan<int> labels, int classes, Span<float> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        if (destination.Length != (long)labels.Length * classes)
            throw new ArgumentException(
                $"One-hot of {labels.Length} labels with {classes} classes needs {(long)labels.Length * classes} floats; the destination has {destination.Length}.",
                nameof(destination));
        destination.Clear();
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            if ((uint)label >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), label, $"Label {i} is {label}; expected a class in [0, {classes}).");
            destination[i * classes + label] = 1f;
        }
    }

    /// <summary>The n × <paramref name="classes"/> one-hot matrix of <paramref name="labels"/>, newly allocated.</summary>
    public static float[] Encode(ReadOnlySpan<int> labels, int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        var result = new float[checked(labels.Length * classes)];
        Encode(labels, classes, result);
        return result;
    }
}
