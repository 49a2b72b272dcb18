using System.Globalization;
using Dl.Training;
using Spectre.Console;

namespace Dl.Cli;

/// <summary>
/// Shows a <see cref="Trainer{TTarget}"/>'s run: on a terminal a Spectre.Console progress bar per epoch (step/steps, loss,
/// learning rate, samples/s, ETA), each bar left as the epoch's summary line when the epoch ends; when stdout is
/// redirected, the plain per-epoch lines alone; with --json, nothing here (the caller prints the JSON lines).
/// </summary>
internal static class TrainingProgress
{
    /// <summary>True when progress bars make sense: stdout is a terminal and not taken by --json.</summary>
    public static bool Interactive(bool json) => !json && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="fit"/> (which calls the trainer's Fit) with a live bar per epoch; <paramref name="line"/>
    /// formats an epoch's summary line.</summary>
    public static void Run<TTarget>(Trainer<TTarget> trainer, Func<EpochResult, string> line, Action fit) where TTarget : unmanaged
    {
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context =>
            {
                ProgressTask? task = null;
                double lastUpdate = -1;
                void OnStep(StepProgress p)
                {
                    if (task is null)
                    {
                        task = context.AddTask(Describe(p), maxValue: p.StepsPerEpoch);
                        lastUpdate = -1;
                    }
                    // Redraw at most 10 times a second: formatting every step would cost the step loop time.
                    if (p.Seconds - lastUpdate < 0.1 && p.Step < p.StepsPerEpoch) return;
                    lastUpdate = p.Seconds;
                    task.Value = p.Step;
                    task.Description = Describe(p);
                }
                void OnEpoch(EpochResult e)
                {
                    if (task is null) return;
                    task.Value = task.MaxValue;
                    task.Description = Markup.Escape(line(e));
                    task.StopTask();
                    task = null;
                }
                trainer.StepCompleted += OnStep;
                trainer.EpochCompleted += OnEpoch;
                try { fit(); }
                finally
                {
                    trainer.StepCompleted -= OnStep;
                    trainer.EpochCompleted -= OnEpoch;
                }
            });
    }

    private static string Describe(StepProgress p)
    {
        double samplesPerSecond = p.Seconds > 0 ? (p.Step - 1.0) * p.BatchSize / p.Seconds : 0;
        return Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"epoch {p.Epoch,3}/{p.Epochs}  step {p.Step,5}/{p.StepsPerEpoch}  loss {p.MeanLoss:0.0000}  lr {p.LearningRate:0.#####}  {samplesPerSecond:0} samples/s"));
    }
}
