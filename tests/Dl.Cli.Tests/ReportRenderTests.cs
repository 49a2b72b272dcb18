using Dl.Cli.Report;

namespace Dl.Cli.Tests;

/// <summary>The report rendered by headless Chromium: the screenshot is decoded and each chart's plot area and the
/// heat map are found by their exact background colours (set per chart by the page), then checked for size and for
/// ink: the series' own colours in the charts, several shades of blue in the heat map. With
/// <c>DL_REPORT_SCREENSHOTS=DIR</c> the screenshots, cropped to the page, are also written to DIR (the docs' PNGs).</summary>
[Trait("Category", "Once")]
public sealed class ReportRenderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("dl-report-render-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void Classifier_RendersChartsAndHeatMap()
    {
        ReportPngImage shot = Render(ReportSamples.Classifier(), "classifier", 2600);
        AssertChart(shot, ReportPage.LossFill, ReportPage.TrainColor, ReportPage.ValidationColor);
        AssertChart(shot, ReportPage.AccuracyFill, ReportPage.ValidationColor);
        AssertChart(shot, ReportPage.RateFill, ReportPage.RateColor);
        AssertHeatMap(shot);
    }

    [Fact]
    public void NonFinite_RendersTheFiniteParts()
    {
        ReportPngImage shot = Render(ReportSamples.NonFinite(), "non-finite", 2600);
        AssertChart(shot, ReportPage.LossFill, ReportPage.TrainColor, ReportPage.ValidationColor);
    }

    [Fact]
    public void Regression_RendersErrorChart_WithoutHeatMap()
    {
        ReportPngImage shot = Render(ReportSamples.Regression(), "regression", 1800);
        AssertChart(shot, ReportPage.LossFill, ReportPage.TrainColor, ReportPage.ValidationColor);
        AssertChart(shot, ReportPage.ErrorFill, ReportPage.ValidationColor, ReportPage.SecondColor);
        Assert.Null(Find(shot, Rgb(HeatMap.Backdrop)));
    }

    [Fact]
    public void HundredClasses_HeatMapStillRenders()
    {
        string[] names = Enumerable.Range(0, 100).Select(i => $"class with a long name {i}").ToArray();
        ReportPngImage shot = Render(ReportSamples.Classifier(classes: 100, names: names), "hundred-classes", 2800);
        var found = Find(shot, Rgb(HeatMap.Backdrop));
        Assert.True(found is not null, "no heat map backdrop in the screenshot");
        Assert.InRange(found.Value.X1 - found.Value.X0, 500, 700);
    }

    internal static ReportPngImage RenderPage(TrainingReport report, string folder, string name, int height)
    {
        string page = ReportWriter.Write(Path.Combine(folder, name), report);
        string png = Path.Combine(folder, name + ".png");
        ReportChromium.Screenshot(page, png, height);
        ReportPngImage shot = ReportPngReader.Decode(File.ReadAllBytes(png));
        Assert.Equal(1280, shot.Width);
        if (Environment.GetEnvironmentVariable("DL_REPORT_SCREENSHOTS") is { Length: > 0 } docs)
        {
            Directory.CreateDirectory(docs);
            File.WriteAllBytes(Path.Combine(docs, $"report-{name}.png"), Crop(shot));
        }
        return shot;
    }

    private ReportPngImage Render(TrainingReport report, string name, int height) => RenderPage(report, _folder, name, height);

    /// <summary>The screenshot down to the last row that is not page background (plus a margin), re-encoded as RGB.</summary>
    private static byte[] Crop(ReportPngImage shot)
    {
        int background = shot.Rgb(2, shot.Height - 1), last = 0;
        for (int y = 0; y < shot.Height; y++)
            for (int x = 0; x < shot.Width; x += 3)
                if (shot.Rgb(x, y) != background) { last = y; break; }
        int height = Math.Min(shot.Height, last + 16);
        var rgb = new byte[shot.Width * height * 3];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < shot.Width; x++)
            {
                int c = shot.Rgb(x, y), i = (y * shot.Width + x) * 3;
                (rgb[i], rgb[i + 1], rgb[i + 2]) = ((byte)(c >> 16), (byte)(c >> 8), (byte)c);
            }
        return PngEncoder.Encode(rgb, shot.Width, height, channels: 3);
    }

    internal static int Rgb(string hex) => Convert.ToInt32(hex.TrimStart('#'), 16);

    /// <summary>The bounding box of the rows and columns holding at least 40 pixels of exactly <paramref name="color"/>
    /// (stray anti-aliased pixels elsewhere do not count), or null when there are none.</summary>
    internal static (int X0, int Y0, int X1, int Y1)? Find(ReportPngImage shot, int color)
    {
        var rows = new int[shot.Height];
        var columns = new int[shot.Width];
        for (int y = 0; y < shot.Height; y++)
            for (int x = 0; x < shot.Width; x++)
                if (shot.Rgb(x, y) == color)
                {
                    rows[y]++;
                    columns[x]++;
                }
        int y0 = Array.FindIndex(rows, n => n >= 40), y1 = Array.FindLastIndex(rows, n => n >= 40);
        int x0 = Array.FindIndex(columns, n => n >= 40), x1 = Array.FindLastIndex(columns, n => n >= 40);
        return y0 < 0 || x0 < 0 ? null : (x0, y0, x1, y1);
    }

    private static double Distance(int a, int b) =>
        Math.Sqrt(Math.Pow((a >> 16 & 255) - (b >> 16 & 255), 2) + Math.Pow((a >> 8 & 255) - (b >> 8 & 255), 2) + Math.Pow((a & 255) - (b & 255), 2));

    private static int Count(ReportPngImage shot, (int X0, int Y0, int X1, int Y1) box, Func<int, bool> match)
    {
        int n = 0;
        for (int y = box.Y0; y <= box.Y1; y++)
            for (int x = box.X0; x <= box.X1; x++)
                if (match(shot.Rgb(x, y))) n++;
        return n;
    }

    /// <summary>A chart's plot area is on screen at a sensible size, mostly its background (the gridlines and lines are
    /// thin), and each series' colour covers at least a line's worth of pixels inside it.</summary>
    internal static void AssertChart(ReportPngImage shot, string plotFill, params string[] seriesColors)
    {
        int fill = Rgb(plotFill);
        var found = Find(shot, fill);
        Assert.True(found is not null, $"no plot area of colour {plotFill} in the screenshot");
        var box = found.Value;
        Assert.InRange(box.X1 - box.X0, 300, 700);
        Assert.InRange(box.Y1 - box.Y0, 120, 400);
        int area = (box.X1 - box.X0 + 1) * (box.Y1 - box.Y0 + 1);
        int background = Count(shot, box, c => c == fill);
        Assert.InRange(background, area / 2, area * 99 / 100);
        foreach (string series in seriesColors)
        {
            int color = Rgb(series);
            int ink = Count(shot, box, c => Distance(c, color) < 40);
            Assert.True(ink >= 150, $"the series colour {series} covers {ink} pixels of the plot area {plotFill} (expected a drawn line, 150 or more)");
        }
    }

    /// <summary>The heat map's backdrop is found, it is square-ish and large, and its cells show several shades of blue,
    /// dark ones included (the diagonal).</summary>
    internal static void AssertHeatMap(ReportPngImage shot)
    {
        var found = Find(shot, Rgb(HeatMap.Backdrop));
        Assert.True(found is not null, "no heat map backdrop in the screenshot");
        var box = found.Value;
        Assert.InRange(box.X1 - box.X0, 250, 900);
        Assert.InRange(box.Y1 - box.Y0, 250, 900);
        var shades = new HashSet<int>();
        int dark = Count(shot, box, c =>
        {
            bool blue = (c & 255) > (c >> 16 & 255) + 20;
            if (blue) shades.Add(c >> 4 & 0x0F0F0F);
            return blue && (c & 255) < 200 && (c >> 16 & 255) < 80;
        });
        Assert.True(shades.Count >= 6, $"the heat map has {shades.Count} shades of blue; expected a colour scale");
        Assert.True(dark >= 5 * 20 * 20, $"the heat map has {dark} dark blue pixels; expected its diagonal (10 cells) to be dark");
    }
}
