using System.Text.RegularExpressions;
using System.Xml.Linq;
using Dl.Cli.Report;

namespace Dl.Cli.Tests;

/// <summary>The training report's parts without a browser: the PNG encoder, escaping, the charts' axes, and the page's
/// structure for a classifier, a regression, a run without validation, non-finite losses, one epoch and 100 classes.</summary>
[Trait("Category", "Once")]
public sealed partial class ReportTests
{
    [GeneratedRegex("<svg[ >].*?</svg>", RegexOptions.Singleline)]
    private static partial Regex SvgElement();

    /// <summary>Every SVG on the page, parsed as XML (a broken SVG throws), with no NaN or infinity in any attribute.</summary>
    private static List<XElement> Svgs(string html)
    {
        var svgs = new List<XElement>();
        foreach (Match m in SvgElement().Matches(html))
        {
            XElement svg = XElement.Parse(m.Value);
            foreach (XAttribute attribute in svg.DescendantsAndSelf().SelectMany(e => e.Attributes()))
                Assert.DoesNotMatch("NaN|Infinity|∞", attribute.Value);
            svgs.Add(svg);
        }
        return svgs;
    }

    private static XElement Svg(string html, string id) =>
        Assert.Single(Svgs(html), s => (string?)s.Attribute("id") == id);

    private static void AssertSelfContained(string html)
    {
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotMatch("(src|href)=\"(https?:)?//", html);
        Assert.DoesNotContain("@import", html);
        Assert.DoesNotContain("url(http", html);
    }

    private static IEnumerable<XElement> Named(XElement svg, string name) => svg.Descendants(XName.Get(name, "http://www.w3.org/2000/svg"));

    [Fact]
    public void PngEncoder_RoundTrips_GreyAndRgb_WithValidCrcs()
    {
        Assert.Equal(0xCBF43926u, PngCrc32.Compute("123456789"u8));
        Assert.Equal(ReportPngReader.BitwiseCrc("IEND"u8), PngCrc32.Compute("IEND"u8));

        var random = new Random(3);
        float[] grey = Enumerable.Range(0, 13 * 7).Select(_ => (float)random.NextDouble()).ToArray();
        grey[0] = -1; grey[1] = 2; grey[2] = float.NaN;
        ReportPngImage decoded = ReportPngReader.Decode(PngEncoder.EncodeGray(grey, 13, 7));
        Assert.Equal((13, 7, 1), (decoded.Width, decoded.Height, decoded.Channels));
        Assert.Equal(grey.Select(v => float.IsNaN(v) ? (byte)0 : (byte)MathF.Round(Math.Clamp(v, 0, 1) * 255)), decoded.Samples);

        byte[] rgb = Enumerable.Range(0, 5 * 3 * 3).Select(i => (byte)(i * 37)).ToArray();
        ReportPngImage color = ReportPngReader.Decode(PngEncoder.Encode(rgb, 5, 3, channels: 3));
        Assert.Equal((5, 3, 3), (color.Width, color.Height, color.Channels));
        Assert.Equal(rgb, color.Samples);

        var bad = Assert.Throws<ArgumentException>(() => PngEncoder.EncodeGray(new float[10], 3, 3));
        Assert.Contains("need 9 samples; got 10", bad.Message);
        Assert.StartsWith("data:image/png;base64,iVBORw0KGgo", PngEncoder.DataUri(PngEncoder.EncodeGray(grey, 13, 7)));
    }

    [Fact]
    public void Escape_EncodesMarkupQuotesAndDropsControlCharacters()
    {
        Assert.Equal("&lt;b&gt;Tom &amp; &quot;Jerry&quot; &#39;s&lt;/b&gt;", Html.Escape("<b>Tom & \"Jerry\" 's</b>"));
        Assert.Equal("ab\tc", Html.Escape("a\u0001b\tc\u007f"));
        Assert.Equal("plain", Html.Escape("plain"));
        Assert.Equal("", Html.Escape(null));
        Assert.Equal("class…ber 17", Html.AbbreviateMiddle("class number 17", 12));
        Assert.Equal("short", Html.AbbreviateMiddle("short", 12));

        string[] names = ["<img src=x onerror=alert(1)>", "a & b", "\"quoted\"", .. ReportSamples.Fashion[3..]];
        TrainingReport report = ReportSamples.Classifier(names: names) with
        {
            Model = "evil <script>alert('x')</script>",
            Settings = [new("<k>", "v & \"w\"")],
            Summary = "layer <fc1> & co",
        };
        string html = ReportWriter.Render(report);
        Assert.DoesNotContain("<img src=x", html);
        Assert.DoesNotContain("<script>", html);
        Assert.Contains("evil &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;", html);
        Assert.Contains("<th>&lt;k&gt;</th><td>v &amp; &quot;w&quot;</td>", html);
        Assert.Contains("layer &lt;fc1&gt; &amp; co", html);
        Svgs(html);   // the class names inside the heat map keep it well-formed
    }

    [Fact]
    public void Classifier_HasHeaderChartsHeatMapImagesSummaryAndSettings()
    {
        TrainingReport report = ReportSamples.Classifier();
        string dir = Directory.CreateTempSubdirectory("dl-report-").FullName;
        try
        {
            string path = ReportWriter.Write(Path.Combine(dir, "nested", "report"), report);
            Assert.Equal("index.html", Path.GetFileName(path));
            string html = File.ReadAllText(path);
            AssertSelfContained(html);
            Assert.StartsWith("<!DOCTYPE html>", html);
            Assert.Contains("<title>Training report: fashion-mlp (FashionMlp)</title>", html);
            Assert.Contains("Test accuracy", html);
            Assert.Contains("2026-12-08 03:00 UTC", html);

            XElement loss = Svg(html, "chart-loss");
            Assert.Equal(2, Named(loss, "path").Count(p => (string?)p.Attribute("class") == "line"));
            Assert.Contains(Named(loss, "circle"), c => (string?)c.Attribute("class") == "best");
            Assert.Contains(Named(loss, "title"), t => t.Value.StartsWith("validation loss, epoch 1: ", StringComparison.Ordinal));
            Assert.Contains(Named(loss, "text"), t => t.Value == "best: epoch 6");
            Svg(html, "chart-accuracy");
            XElement rate = Svg(html, "chart-lr");
            Assert.InRange(Named(rate, "circle").Count(), 10, 100);   // hover targets on a sample of 752 steps

            XElement heat = Svg(html, "confusion-map");
            Assert.Equal(100, Named(heat, "rect").Count(r => r.Element(XName.Get("title", "http://www.w3.org/2000/svg"))?.Value.StartsWith("actual ", StringComparison.Ordinal) == true));
            Assert.Contains(Named(heat, "title"), t => t.Value.StartsWith("actual Shirt → predicted Shirt: ", StringComparison.Ordinal));
            Assert.Contains(Named(heat, "text"), t => t.Value == "Ankle boot");
            Assert.Equal(20, Named(heat, "rect").Count(r => (string?)r.Attribute("class") == "stat"));

            Assert.Equal(12, Regex.Count(html, "<figure "));
            Assert.Equal(12, Regex.Count(html, "src=\"data:image/png;base64,"));
            Assert.Contains("<span class=\"truth\">T-shirt/top</span> → <span class=\"pred\">Dress</span>", html);
            Assert.Contains("<pre>FashionMlp: 784 → 10", html);
            Assert.Contains("<th>optimizer</th><td>adam</td>", html);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Regression_ShowsMseAndMae_AndLeavesOutTheClassifierSections()
    {
        string html = ReportWriter.Render(ReportSamples.Regression());
        AssertSelfContained(html);
        Assert.Contains("Test MSE", html);
        Assert.Contains("Test MAE", html);
        Assert.DoesNotContain("Test accuracy", html);
        Assert.DoesNotContain("id=\"confusion", html);
        Assert.DoesNotContain("id=\"misclassified\"", html);
        Assert.DoesNotContain("id=\"chart-accuracy\"", html);
        XElement error = Svg(html, "chart-error");
        Assert.Contains(Named(error, "text"), t => t.Value == "validation MAE");
        Svg(html, "chart-loss");
        Svg(html, "chart-lr");
    }

    [Fact]
    public void NoValidation_DrawsTrainingLossOnly_AndSaysSo()
    {
        string html = ReportWriter.Render(ReportSamples.Classifier(validation: false));
        XElement loss = Svg(html, "chart-loss");
        Assert.Single(Named(loss, "path"), p => (string?)p.Attribute("class") == "line");
        Assert.DoesNotContain("id=\"chart-accuracy\"", html);
        Assert.DoesNotContain("validation loss", html);
        Assert.Contains("No validation set", html);
        Assert.Contains("id=\"confusion-map\"", html);   // the test set still has its matrix
    }

    [Fact]
    public void NonFiniteLosses_LeaveAGapAndANote_NeverABrokenSvg()
    {
        string html = ReportWriter.Render(ReportSamples.NonFinite());
        XElement loss = Svg(html, "chart-loss");
        string d = (string)Named(loss, "path").First(p => (string?)p.Attribute("stroke") == "#2563eb").Attribute("d")!;
        Assert.Equal(2, d.Count(c => c == 'M'));   // epochs 1-2, then 5-8
        Assert.Contains("training loss is not finite at epoch 3 (NaN), 4 (∞): not plotted", html);
        Assert.Contains("<td class=\"bad\">NaN</td>", html);

        var allBad = ReportSamples.Classifier(epochs: 2, validation: false, trainingLoss: _ => double.NaN) with { LearningRates = [] };
        string empty = ReportWriter.Render(allBad);
        Assert.Contains(Named(Svg(empty, "chart-loss"), "text"), t => t.Value == "no finite values to plot");
    }

    [Fact]
    public void SingleEpoch_DrawsDotsOnAOneTickAxis()
    {
        string html = ReportWriter.Render(ReportSamples.Classifier(epochs: 1) with { LearningRates = [] });
        XElement loss = Svg(html, "chart-loss");
        Assert.Equal(2, Named(loss, "circle").Count(c => c.Parent?.Attribute("class")?.Value == "points"));
        Assert.Single(Named(loss, "g").First(g => (string?)g.Attribute("class") == "ticks").Elements(), t => t.Value == "1");
        Assert.Contains("Learning rate per epoch", html);
    }

    [Fact]
    public void HundredClasses_WithLongNames_StaysReadable()
    {
        string[] names = Enumerable.Range(0, 100).Select(i => $"a very long class name number {i}").ToArray();
        string html = ReportWriter.Render(ReportSamples.Classifier(classes: 100, names: names) with { Model = new string('m', 300) });
        XElement heat = Svg(html, "confusion-map");
        Assert.Equal(10_000, Named(heat, "rect").Count(r => r.Element(XName.Get("title", "http://www.w3.org/2000/svg"))?.Value.StartsWith("actual ", StringComparison.Ordinal) == true));
        Assert.Contains(Named(heat, "text"), t => t.Value.EndsWith("a ver…ber 42", StringComparison.Ordinal));   // every other class: cells of 6 px
        Assert.DoesNotContain(Named(heat, "text"), t => t.Value.EndsWith("ber 43", StringComparison.Ordinal));
        Assert.DoesNotContain(Named(heat, "text"), t => t.Attribute("font-size") is { } size && double.Parse(size.Value, System.Globalization.CultureInfo.InvariantCulture) < 6.5);
        Assert.InRange(double.Parse((string)heat.Attribute("width")!, System.Globalization.CultureInfo.InvariantCulture), 500, 900);
    }

    [Fact]
    public void EmptyRun_RendersHeaderAndSettingsOnly()
    {
        var report = new TrainingReport { Model = "xor", Summary = "", Settings = [new("epochs", "0")], Epochs = [] };
        string html = ReportWriter.Render(report);
        AssertSelfContained(html);
        Assert.Empty(Svgs(html));
        Assert.DoesNotContain("id=\"charts\"", html);
        Assert.DoesNotContain("id=\"summary\"", html);
        Assert.Contains("<th>epochs</th><td>0</td>", html);
    }

    [Fact]
    public void BadImage_IsRefusedNamingIt()
    {
        TrainingReport report = ReportSamples.Classifier() with { Misclassified = [new MisclassifiedImage(new float[27], 28, 28, 0, 1, 0.5f)] };
        var e = Assert.Throws<ArgumentException>(() => ReportWriter.Render(report));
        Assert.Contains("Misclassified image 0 of the report: 28 × 28 pixels with 1 channel(s) need 784 samples; got 27.", e.Message);
    }

    [Theory]
    [InlineData(0.31, 1.25, 0.2, 1.4, 0.2)]
    [InlineData(0.8812, 0.8813, 0.8812, 0.8813, 0.00002)]
    [InlineData(2.0, 2.0, 1.8, 2.2, 0.1)]
    [InlineData(0, 0, -1, 1, 0.5)]
    public void NiceAxis_CoversTheDataWithRoundSteps(double lo, double hi, double min, double max, double step)
    {
        var (aMin, aMax, aStep) = SvgChart.NiceAxis(lo, hi);
        Assert.Equal(step, aStep, 9);
        Assert.Equal(min, aMin, 9);
        Assert.Equal(max, aMax, 9);
    }

    [Fact]
    public void TickLabels_UseTheStepsPrecision()
    {
        Assert.Equal("0.25", SvgChart.FormatTick(0.25, 0.05, false));
        Assert.Equal("12k", SvgChart.FormatTick(12000, 2000, false));
        Assert.Equal("85.0%", SvgChart.FormatTick(0.85, 0.025, true));
        Assert.Equal("1e-5", SvgChart.FormatTick(0.00001, 0.00001, false));
    }
}
