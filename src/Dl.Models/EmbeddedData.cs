using Dl.Data;

namespace Dl.Models;

/// <summary>
/// The Fashion-MNIST subset shipped inside this assembly as manifest resources: the first 6000 training and the first
/// 1000 test samples of the original release, pixels scaled to x = byte / 255, labels 0–9.
/// Fashion-MNIST is © 2017 Zalando SE, MIT licence (Xiao, Rasul, Vollgraf, arXiv:1708.07747); see Data/ATTRIBUTION.md.
/// </summary>
/// <example><code>
/// Dataset train = EmbeddedData.FashionTrain();   // 6000 × 784
/// Dataset test = EmbeddedData.FashionTest();     // 1000 × 784
/// </code></example>
public static class EmbeddedData
{
    /// <summary>The one-line attribution to print wherever the embedded data is used.</summary>
    public const string Attribution =
        "Fashion-MNIST (c) 2017 Zalando SE, MIT licence (Xiao, Rasul, Vollgraf, arXiv:1708.07747)";

    /// <summary>Number of classes of Fashion-MNIST.</summary>
    public const int Classes = 10;

    /// <summary>Fashion-MNIST's class names, indexed by label.</summary>
    public static IReadOnlyList<string> ClassNames { get; } =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The 6000-sample training subset.</summary>
    public static Dataset FashionTrain() => FashionTrain(null);

    /// <summary>The first <paramref name="count"/> samples of the training subset (all 6000 when null).</summary>
    public static Dataset FashionTrain(int? count) => Load("fashion-train-images.idx3.gz", "fashion-train-labels.idx1.gz", count);

    /// <summary>The 1000-sample test subset.</summary>
    public static Dataset FashionTest() => FashionTest(null);

    /// <summary>The first <paramref name="count"/> samples of the test subset (all 1000 when null); only they are
    /// decompressed, so a program that classifies a few images starts in a few milliseconds.</summary>
    public static Dataset FashionTest(int? count) => Load("fashion-test-images.idx3.gz", "fashion-test-labels.idx1.gz", count);

    private static Dataset Load(string imagesName, string labelsName, int? count)
    {
        using Stream images = Open(imagesName);
        using Stream labels = Open(labelsName);
        return Dataset.LoadIdxPair(images, labels, Classes, count);
    }

    private static Stream Open(string name) =>
        typeof(EmbeddedData).Assembly.GetManifestResourceStream(name)
        ?? throw new InvalidOperationException(
            $"The embedded resource '{name}' is missing from {typeof(EmbeddedData).Assembly.GetName().Name}; " +
            "expected the Data/*.gz files to be embedded with LogicalName = file name.");
}
