namespace Dl.Data;

/// <summary>
/// Loads a numeric CSV table into a <see cref="Dataset"/>: the features (every column not chosen otherwise, or
/// <see cref="CsvOptions.FeatureColumns"/>) with integer labels (<see cref="CsvOptions.LabelColumn"/>), float targets
/// (<see cref="CsvOptions.TargetColumns"/>), or neither (an autoencoder's table: the input is the target). The file is
/// streamed (<see cref="CsvReader"/>); only the numbers are kept, in arrays that grow by doubling.
/// </summary>
/// <example><code>
/// Dataset table = Csv.Load("houses.csv", new CsvOptions { TargetColumns = ["price"], IgnoreColumns = ["id"] });
/// (Dataset train, Dataset validation) = table.Split(0.2, seed: 1);
/// Standardizer scale = Standardizer.Fit(train);   // on the training split only
/// scale.Apply(train);
/// scale.Apply(validation);
/// </code></example>
public static class Csv
{
    /// <summary>Reads the table at <paramref name="path"/>.</summary>
    /// <exception cref="InvalidDataException">A malformed row, a missing value, or no data rows; the message names the
    /// file, the line, the column and what was expected.</exception>
    /// <exception cref="ArgumentException">A column named in the options does not exist, or is named twice.</exception>
    public static Dataset Load(string path, CsvOptions? options = null)
    {
        using var reader = new CsvReader(path, options);
        return Read(reader);
    }

    /// <summary>Reads a table from <paramref name="text"/>; <paramref name="name"/> starts error messages.</summary>
    public static Dataset Read(TextReader text, CsvOptions? options = null, string name = "CSV")
    {
        using var reader = new CsvReader(text, options, name);
        return Read(reader);
    }

    /// <summary>Reads every remaining row of <paramref name="reader"/>.</summary>
    public static Dataset Read(CsvReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        int d = reader.FeatureColumns.Count, k = reader.TargetColumns.Count;
        bool labelled = reader.LabelColumn is not null;
        var features = new float[Math.Max(d, 1) * 1024];
        var targets = new float[Math.Max(k, 1) * 1024];
        var labels = new int[labelled ? 1024 : 0];
        int rows = 0, maxLabel = -1;
        while (true)
        {
            if ((long)(rows + 1) * d > features.Length) Grow(ref features, reader);
            if ((long)(rows + 1) * k > targets.Length) Grow(ref targets, reader);
            if (labelled && rows == labels.Length) Grow(ref labels, reader);
            if (!reader.ReadRow(features.AsSpan(rows * d, d), targets.AsSpan(rows * k, k), out int label)) break;
            if (labelled)
            {
                labels[rows] = label;
                maxLabel = Math.Max(maxLabel, label);
            }
            rows = checked(rows + 1);
        }
        if (rows == 0)
            throw new InvalidDataException($"{reader.Name}: there are no data rows{(reader.Options.HasHeader ? " after the header" : "")}.");
        float[] x = features.AsSpan(0, rows * d).ToArray();
        int[] shape = [d];
        if (labelled)
        {
            int classes = reader.Options.Classes ?? maxLabel + 1;
            return new Dataset(x, labels.AsSpan(0, rows).ToArray(), classes, shape);
        }
        if (k > 0) return Dataset.WithTargets(x, targets.AsSpan(0, rows * k).ToArray(), shape, [k]);
        return Dataset.AutoEncoder(x, shape);
    }

    private static void Grow<T>(ref T[] array, CsvReader reader)
    {
        long size = Math.Max(2L * array.Length, 1024);
        if (size > Array.MaxLength)
            throw new InvalidDataException($"{reader.Name}: the table has more values than an array can hold ({Array.MaxLength}).");
        Array.Resize(ref array, (int)size);
    }
}
