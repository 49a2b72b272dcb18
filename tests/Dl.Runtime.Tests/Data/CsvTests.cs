using System.Diagnostics;
using System.Text;
using Dl.Data;
using Xunit.Abstractions;

namespace Dl.Tests;

/// <summary>The CSV reader: columns by name, quoting (delimiters, doubled quotes and line breaks inside quotes), line
/// endings, and every malformed input refused with the line, the column and what was expected; the seeded split and
/// the standardization fitted on the training split only; a large file streamed in bounded memory.</summary>
public sealed class CsvTests(ITestOutputHelper output)
{
    private static Dataset Read(string text, CsvOptions? options = null) => Csv.Read(new StringReader(text), options, "t.csv");

    private static string Fails(string text, CsvOptions? options = null) =>
        Assert.Throws<InvalidDataException>(() => Read(text, options)).Message;

    [Fact]
    public void Labels_Features_AndQuotedFields()
    {
        const string text =
            "\uFEFFid,\"width, cm\",height,note,class\r\n" +
            "7, 1.5 ,-2e-1,\"a \"\"quoted\"\", note\",2\r\n" +
            "\r\n" +
            "8,\"3\",4,\"two\nlines\",0\r\n" +
            "9,5.25,6,,1";                                  // no final line break; the empty note is ignored
        Dataset data = Read(text, new CsvOptions { LabelColumn = "class", IgnoreColumns = ["note", "id"] });
        Assert.Equal(3, data.Count);
        Assert.Equal(2, data.Features);
        Assert.Equal([1.5f, -0.2f, 3f, 4f, 5.25f, 6f], data.X);
        Assert.Equal([2, 0, 1], data.Labels);
        Assert.Equal(3, data.Classes);

        // Features chosen and ordered by name; float targets.
        Dataset regression = Read(text, new CsvOptions { FeatureColumns = ["height", "id"], TargetColumns = ["class", "width, cm"] });
        Assert.Equal([-0.2f, 7f, 4f, 8f, 6f, 9f], regression.X);
        Assert.Equal([2f, 1.5f, 0f, 3f, 1f, 5.25f], regression.Targets!);
        Assert.Equal([2], regression.TargetShape);

        // Neither labels nor targets: the table is its own target (an autoencoder's).
        Dataset table = Read("a;b\n1;2\n3;4\n", new CsvOptions { Delimiter = ';' });
        Assert.True(table.InputIsTarget);
        Assert.Equal([1f, 2f, 3f, 4f], table.Targets!);
    }

    [Fact]
    public void WithoutAHeader_ColumnsAreNumbered()
    {
        Dataset data = Read("0.5\t1\t3\n1.5\t2\t0\n", new CsvOptions { Delimiter = '\t', HasHeader = false, LabelColumn = "3", Classes = 5 });
        Assert.Equal([0.5f, 1f, 1.5f, 2f], data.X);
        Assert.Equal([3, 0], data.Labels);
        Assert.Equal(5, data.Classes);
    }

    [Fact]
    public void MalformedInput_IsRefused_NamingLineColumnAndWhatWasExpected()
    {
        Assert.Equal("t.csv: line 3, column 2 ('b') is empty: a missing value; expected a number.", Fails("a,b,c\n1,2,3\n4,,6\n"));
        Assert.Equal("t.csv: line 2, column 1 ('a') is 'abc'; expected a finite number (e.g. 1.5 or -2e-3).", Fails("a,b\nabc,1\n"));
        Assert.Equal("t.csv: line 2, column 2 ('b') is 'NaN'; expected a finite number (e.g. 1.5 or -2e-3).", Fails("a,b\n1,NaN\n"));
        Assert.Equal("t.csv: line 3 has 2 fields; the header has 3 (columns a, b, c).", Fails("a,b,c\n1,2,3\n4,5\n"));
        Assert.Equal("t.csv: line 2 has 4 fields; the header has 3 (columns a, b, c).", Fails("a,b,c\n1,2,3,4\n"));
        Assert.Equal("t.csv: there are no data rows after the header.", Fails("a,b,c\n"));
        Assert.Equal("t.csv: there are no data rows after the header.", Fails("a,b,c\n\n\r\n"));
        Assert.Equal("t.csv: the file is empty; expected a header line naming the columns.", Fails(""));
        Assert.Equal("t.csv: line 2, column 2 ('b'): the quoted field opened on this line is not closed before the end of the file.",
            Fails("a,b\n1,\"2\n3\n"));
        Assert.Equal("t.csv: line 2, column 1 ('a'): 'x' after a closing quote; expected ',' or the end of the line.", Fails("a,b\n\"1\"x,2\n"));
        Assert.StartsWith("t.csv: line 2, column 2 ('b'): a quote inside an unquoted field ('1\"…')", Fails("a,b\n0,1\"2\n"));
        Assert.Equal("t.csv: line 2, column 3 ('y') is '1.5'; expected a class number (a whole number >= 0).",
            Fails("a,b,y\n1,2,1.5\n", new CsvOptions { LabelColumn = "y" }));
        Assert.Equal("t.csv: line 3, column 3 ('y') is 4; expected a class in [0, 3).",
            Fails("a,b,y\n1,2,2\n1,2,4\n", new CsvOptions { LabelColumn = "y", Classes = 3 }));
        Assert.Equal("t.csv: line 2, column 3 ('y') is '-1'; expected a class number (a whole number >= 0).",
            Fails("a,b,y\n1,2,-1\n", new CsvOptions { LabelColumn = "y" }));
        Assert.Equal("t.csv: line 1: the header names column 'a' twice (columns 1 and 3).", Fails("a,b,a\n1,2,3\n"));
        Assert.Equal("t.csv: line 1, column 2 of the header is empty; every column needs a name.", Fails("a,,c\n1,2,3\n"));

        // A field spanning lines: later errors still name the right line.
        Assert.Equal("t.csv: line 5, column 1 ('a') is 'oops'; expected a finite number (e.g. 1.5 or -2e-3).",
            Fails("a,note\n1,\"x\ny\nz\"\noops,2\n", new CsvOptions { IgnoreColumns = ["note"] }));

        var e = Assert.Throws<ArgumentException>(() => Read("a,b\n1,2\n", new CsvOptions { LabelColumn = "label" }));
        Assert.Equal("t.csv: there is no column 'label' for the label; the columns are: a, b.", e.Message);
        e = Assert.Throws<ArgumentException>(() => Read("a,b\n1,2\n", new CsvOptions { LabelColumn = "a", TargetColumns = ["a"] }));
        Assert.Equal("t.csv: column 'a' cannot be both the label and the target.", e.Message);
        Assert.Throws<FileNotFoundException>(() => Csv.Load(Path.Combine(Path.GetTempPath(), "no-such-dir-dl", "x.csv")));
    }

    [Fact]
    public void Split_IsSeeded_AndStandardization_IsFittedOnTheTrainingSplitOnly()
    {
        var text = new StringBuilder("x1,x2,constant,y\n");
        var random = new DlRandom(3);
        for (int i = 0; i < 100; i++) text.Append($"{random.NextNormal(5, 2):R},{random.NextNormal(-1, 0.5):R},7,{i % 2}\n");
        Dataset data = Read(text.ToString(), new CsvOptions { LabelColumn = "y" });

        (Dataset train, Dataset validation) = data.Split(0.2, seed: 11);
        (Dataset again, Dataset againValidation) = data.Split(0.2, seed: 11);
        (Dataset other, _) = data.Split(0.2, seed: 12);
        Assert.Equal(80, train.Count);
        Assert.Equal(train.X, again.X);
        Assert.Equal(validation.Labels, againValidation.Labels);
        Assert.NotEqual(train.X, other.X);

        Standardizer scale = Standardizer.Fit(train);
        for (int j = 0; j < 2; j++)
        {
            double mean = Enumerable.Range(0, 80).Average(i => (double)train.X[i * 3 + j]);
            double std = Math.Sqrt(Enumerable.Range(0, 80).Average(i => Math.Pow(train.X[i * 3 + j] - mean, 2)));
            Assert.Equal(mean, scale.Mean[j], 1e-5);
            Assert.Equal(std, scale.Std[j], 1e-5);
        }
        Assert.Equal(7f, scale.Mean[2]);
        Assert.Equal(1f, scale.Std[2]);   // a constant feature is centred, not divided by 0

        float[] before = validation.X.ToArray();
        scale.Apply(train);
        scale.Apply(validation);
        for (int j = 0; j < 3; j++)
        {
            Assert.Equal(0, Enumerable.Range(0, 80).Average(i => (double)train.X[i * 3 + j]), 1e-5);
            Assert.Equal((before[j] - scale.Mean[j]) / scale.Std[j], validation.X[j]);   // the training split's statistics
        }
        Assert.Equal(0f, validation.X[2]);

        Standardizer? back = Standardizer.FromMetadata(scale.ToMetadata());
        Assert.Equal(scale.Mean, back!.Mean);
        Assert.Equal(scale.Std, back.Std);
        Assert.Null(Standardizer.FromMetadata(new Dictionary<string, string>()));
    }

    /// <summary>A large generated file streamed through <see cref="CsvReader"/>: every value is read (the sums match the
    /// generator's), and the reading thread allocates under 1 MB in all, whatever the file's size (the read buffer,
    /// the header). The size is DL_CSV_TEST_MB (default 1024 MB, about 19 million rows). Once: the reader has no SIMD
    /// path, so the CI runs it in the first round only.</summary>
    [Fact]
    [Trait("Category", "Once")]
    public void LargeFile_IsStreamedInBoundedMemory()
    {
        int megabytes = int.TryParse(Environment.GetEnvironmentVariable("DL_CSV_TEST_MB"), out int mb) && mb > 0 ? mb : 1024;
        string path = Path.Combine(Path.GetTempPath(), $"dl-csv-{Environment.ProcessId}.csv");
        try
        {
            // A block of 1000 rows, written over and over: row r of a block is "r,r/8,-r/4,label".
            var block = new StringBuilder();
            double blockX = 0, blockY = 0;
            long blockLabels = 0;
            for (int r = 0; r < 1000; r++)
            {
                block.Append($"{r},{r / 8.0:R},{-r / 4.0:R},{r % 10}\n");
                blockX += r / 8.0;
                blockY += -r / 4.0;
                blockLabels += r % 10;
            }
            byte[] bytes = Encoding.UTF8.GetBytes(block.ToString());
            long blocks = (long)megabytes * 1024 * 1024 / bytes.Length;
            var timer = Stopwatch.StartNew();
            using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
            {
                file.Write("id,x,y,label\n"u8);
                for (long b = 0; b < blocks; b++) file.Write(bytes);
            }
            double written = timer.Elapsed.TotalSeconds;
            long length = new FileInfo(path).Length;

            timer.Restart();
            long before = GC.GetAllocatedBytesForCurrentThread();
            double sumX = 0, sumY = 0;
            long labels = 0, rows = 0;
            using (var reader = new CsvReader(path, new CsvOptions { LabelColumn = "label", IgnoreColumns = ["id"] }))
            {
                Span<float> features = stackalloc float[2];
                while (reader.ReadRow(features, [], out int label))
                {
                    sumX += features[0];
                    sumY += features[1];
                    labels += label;
                    rows++;
                }
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            double seconds = timer.Elapsed.TotalSeconds;
            output.WriteLine($"{length / 1e6:0} MB, {rows:N0} rows: written in {written:0.0} s, read in {seconds:0.0} s " +
                             $"({length / 1e6 / seconds:0} MB/s), {allocated:N0} bytes allocated while reading");
            Assert.Equal(blocks * 1000, rows);
            Assert.Equal(blocks * blockX, sumX, 1e-9 * Math.Abs(blocks * blockX));
            Assert.Equal(blocks * blockY, sumY, 1e-9 * Math.Abs(blocks * blockY));
            Assert.Equal(blocks * blockLabels, labels);
            Assert.True(allocated < 1 << 20, $"reading allocated {allocated:N0} bytes");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
