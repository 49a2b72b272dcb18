using System.Diagnostics;
using System.Text.Json;

namespace Dl.Tests;

/// <summary>The learning-rate schedules against PyTorch's <c>torch.optim.lr_scheduler</c>, computed by /usr/bin/python3
/// in the test (one process for every case): the rate PyTorch's optimizer holds before step t, for every t of the run.
/// PyTorch computes in double (some schedules recursively, step by step), the schedules here in double from closed forms
/// rounded once to float, so they agree to float precision (relative 1e-6).</summary>
public class ScheduleTests
{
    private const string Script = """
        import json, warnings, torch
        warnings.filterwarnings('ignore')
        from torch.optim import lr_scheduler as L
        def run(make, steps, lr):
            p = torch.nn.Parameter(torch.zeros(1))
            opt = torch.optim.SGD([p], lr=lr)
            s = make(opt)
            out = []
            for _ in range(steps):
                out.append(opt.param_groups[0]['lr'])
                opt.step(); s.step()
            return out
        def warmup_cosine(o, W, T, m):
            return L.SequentialLR(o, [L.LinearLR(o, start_factor=1/W, end_factor=1.0, total_iters=W-1),
                                      L.CosineAnnealingLR(o, T_max=T-W, eta_min=m)], milestones=[W])
        res = {
          'onecycle': run(lambda o: L.OneCycleLR(o, max_lr=0.1, total_steps=50, cycle_momentum=False), 50, 0.1),
          'onecycle_linear_3phase': run(lambda o: L.OneCycleLR(o, max_lr=0.05, total_steps=37, pct_start=0.25, anneal_strategy='linear',
                                        div_factor=10, final_div_factor=100, three_phase=True, cycle_momentum=False), 37, 0.05),
          'onecycle_odd': run(lambda o: L.OneCycleLR(o, max_lr=0.003, total_steps=113, pct_start=0.37, cycle_momentum=False), 113, 0.003),
          'warmup_cosine': run(lambda o: warmup_cosine(o, 5, 30, 0.001), 30, 0.02),
          'warmup_cosine_long': run(lambda o: warmup_cosine(o, 47, 938, 0.0), 938, 0.002),
          'cosine': run(lambda o: L.CosineAnnealingLR(o, T_max=20, eta_min=0.001), 21, 0.1),
          'step': run(lambda o: L.StepLR(o, step_size=3, gamma=0.5), 10, 0.1),
          'exponential': run(lambda o: L.ExponentialLR(o, gamma=0.9), 12, 0.01),
        }
        print(json.dumps(res))
        """;

    private static readonly Lazy<Dictionary<string, double[]>> Torch = new(RunTorch);

    private static Dictionary<string, double[]> RunTorch()
    {
        string script = Path.Combine(Path.GetTempPath(), $"dl-schedules-{Environment.ProcessId}.py");
        File.WriteAllText(script, Script);
        try
        {
            var start = new ProcessStartInfo("/usr/bin/python3", script) { RedirectStandardOutput = true, RedirectStandardError = true };
            using Process python = Process.Start(start)!;
            string output = python.StandardOutput.ReadToEnd(), errors = python.StandardError.ReadToEnd();
            python.WaitForExit();
            Assert.True(python.ExitCode == 0, $"python3 failed: {errors}");
            return JsonSerializer.Deserialize<Dictionary<string, double[]>>(output)!;
        }
        finally
        {
            File.Delete(script);
        }
    }

    private static void Same(string name, ILearningRateSchedule schedule)
    {
        double[] expected = Torch.Value[name];
        for (int t = 0; t < expected.Length; t++)
        {
            double actual = schedule.At(t);
            Assert.True(Math.Abs(actual - expected[t]) <= 1e-6 * Math.Abs(expected[t]) + 1e-12,
                $"{name}: step {t}: PyTorch {expected[t]:R}, here {actual:R}");
        }
    }

    [Fact]
    public void OneCycle_MatchesPyTorch() => Same("onecycle", new OneCycle(0.1f, 50));

    [Fact]
    public void OneCycle_LinearThreePhase_MatchesPyTorch() =>
        Same("onecycle_linear_3phase", new OneCycle(0.05f, 37, pctStart: 0.25, anneal: AnnealStrategy.Linear, divFactor: 10, finalDivFactor: 100, threePhase: true));

    [Fact]
    public void OneCycle_OddLengths_MatchesPyTorch() => Same("onecycle_odd", new OneCycle(0.003f, 113, pctStart: 0.37));

    [Fact]
    public void WarmupCosine_MatchesPyTorchLinearThenCosine()
    {
        Same("warmup_cosine", new WarmupCosine(0.02f, 5, 30, minimum: 0.001f));
        Same("warmup_cosine_long", new WarmupCosine(0.002f, 47, 938));
    }

    [Fact]
    public void Cosine_Step_Exponential_MatchPyTorch()
    {
        Same("cosine", new CosineAnnealing(0.1f, 20, minimum: 0.001f));
        Same("step", new StepDecay(0.1f, stepSize: 3, gamma: 0.5f));
        Same("exponential", new ExponentialDecay(0.01f, 0.9f));
    }

    /// <summary>The CLI's transformer recipes computed their rate with this formula; the library's must give the same
    /// floats, so moving them onto the trainer changes no weight.</summary>
    [Fact]
    public void WarmupCosine_IsTheFormulaTheCliUsed()
    {
        static float Cli(long step, long total, long warmup, float peak)
        {
            if (step < warmup) return peak * (step + 1) / warmup;
            double progress = total > warmup ? (double)(step - warmup) / (total - warmup) : 1;
            return (float)(peak * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(progress, 1))));
        }
        var schedule = new WarmupCosine(0.002f, 469, 18 * 469);
        for (long t = 0; t < 18 * 469 + 3; t++)
            Assert.Equal(BitConverter.SingleToInt32Bits(Cli(t, 18 * 469, 469, 0.002f)), BitConverter.SingleToInt32Bits(schedule.At(t)));
    }

    [Fact]
    public void Schedules_PastTheirEnd_StayAtTheMinimum_AndRefuseBadArguments()
    {
        Assert.Equal((float)((double)0.1f / 25 / 1e4), new OneCycle(0.1f, 50).At(50));
        Assert.Equal(0.001f, new WarmupCosine(0.02f, 5, 30, 0.001f).At(1000));
        Assert.Equal(0.001f, new CosineAnnealing(0.1f, 20, 0.001f).At(21));
        Assert.Throws<ArgumentOutOfRangeException>(() => new WarmupCosine(0.1f, 10, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1f, 2, pctStart: 0.1));
        Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1f, 10).At(-1));
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new OneCycle(0.1f, 100, pctStart: 1.5));
        Assert.Contains("pctStart", e.Message);
    }
}
