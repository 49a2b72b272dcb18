using System.Globalization;
using System.Text.RegularExpressions;

namespace Dl.Distributed.Tests;

/// <summary>Two ranks under mpirun on loopback. Process launches and MPI do not depend on the SIMD switches: run once.</summary>
[Trait("Category", "Once")]
public sealed class DistributedTrainingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    [Fact]
    public void Binding_AllCalls_WorkOnTwoRanks()
    {
        MpiRun.Result run = MpiRun.Run(2, Timeout, "binding");
        Assert.True(run.ExitCode == 0, run.Output);
        Assert.Contains("rank 0 of 2: binding ok", run.Output);
        Assert.Contains("rank 1 of 2: binding ok", run.Output);
    }

    [Theory]
    [InlineData("mlp")]
    [InlineData("cnn")]   // batch norm (per-rank batch statistics, averaged running statistics) and dropout
    [InlineData("lstm")]
    public void TwoRanks_EqualOneProcess_AndEachOther(string model)
    {
        MpiRun.Result run = MpiRun.Run(2, Timeout, "equivalence", model, "2");
        Assert.True(run.ExitCode == 0, run.Output);
        string[] hashes = Regex.Matches(run.Output, @"rank (\d) hash ([0-9a-f]{16})").Select(m => m.Groups[2].Value).ToArray();
        Assert.Equal(2, hashes.Length);
        Assert.Equal(hashes[0], hashes[1]);   // bit-identical ranks
        foreach (Match m in Regex.Matches(run.Output, @"max difference vs one process \(([a-z ]+)\): (\S+)"))
        {
            float difference = float.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            // The sharded reference sums in the same order (exact); whole batches differ by the summation order.
            Assert.True(difference <= (m.Groups[1].Value == "sharded" ? 1e-6f : 1e-5f), $"{model}: {m.Value}\n{run.Output}");
        }
        Assert.Contains("vs one process (sharded)", run.Output);
    }

    [Fact]
    public void RankThatThrows_StopsEveryRank_NamingIt()
    {
        MpiRun.Result run = MpiRun.Run(2, TimeSpan.FromSeconds(60), "throw");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("rank 1 of 2 failed: InvalidOperationException: injected fault in step 2", run.Output);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(30), $"took {run.Elapsed}");
    }

    [Fact]
    public void RankThatDies_StopsEveryRank()
    {
        MpiRun.Result run = MpiRun.Run(2, TimeSpan.FromSeconds(60), "die");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Matches("rank 1|exited|non-zero|aborting", run.Output);
        Assert.True(run.Elapsed < TimeSpan.FromSeconds(30), $"took {run.Elapsed}");
    }

    [Fact]
    public void RanksWithDifferentSettings_AreRefused_NamingTheRank()
    {
        MpiRun.Result run = MpiRun.Run(2, TimeSpan.FromSeconds(60), "settings");
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("Rank 1 was started with different settings than rank 0", run.Output);
    }
}
