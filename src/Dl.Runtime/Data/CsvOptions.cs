namespace Dl.Data;

/// <summary>How <see cref="Csv"/> and <see cref="CsvReader"/> read a numeric table. Columns are chosen by their header
/// name (or, without a header, by their 1-based number written as text: "1", "2", …). By default every column that is
/// not the label, a target or ignored is a feature.</summary>
public sealed record CsvOptions
{
    /// <summary>The field separator (default ','; e.g. ';' or '\t').</summary>
    public char Delimiter { get; init; } = ',';

    /// <summary>The first line names the columns (default). Without a header the columns are named "1", "2", ….</summary>
    public bool HasHeader { get; init; } = true;

    /// <summary>The column holding integer class labels (whole numbers ≥ 0): a classifier's dataset. Null: no labels.</summary>
    public string? LabelColumn { get; init; }

    /// <summary>The number of classes; null takes the largest label + 1. A label outside [0, Classes) is an error.</summary>
    public int? Classes { get; init; }

    /// <summary>The columns holding float targets (regression), in the order given. Null or empty: none.</summary>
    public IReadOnlyList<string>? TargetColumns { get; init; }

    /// <summary>The feature columns, in the order given; null: every other column, in file order.</summary>
    public IReadOnlyList<string>? FeatureColumns { get; init; }

    /// <summary>Columns to skip (their text is not parsed: identifiers, dates, comments).</summary>
    public IReadOnlyList<string>? IgnoreColumns { get; init; }
}
