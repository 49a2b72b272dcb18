using System.CommandLine;
using System.CommandLine.Invocation;

namespace Dl.Cli;

/// <summary>The <c>dl</c> tool: one System.CommandLine command per job (train, eval, predict, summary, graph, explain,
/// gradcheck, bench, peak). Exit codes: 0 success, 1 a run-time error (a file missing or malformed, a checkpoint of
/// another model, a diverged run), 2 a usage error (unknown command or option, a bad value, an option the chosen model
/// does not take). Every error is one line on stderr, <c>dl: ...</c>.</summary>
public static class Program
{
    public const int Ok = 0, RuntimeError = 1, UsageError = 2;

    /// <summary>The commands, in the order <c>dl --help</c> lists them.</summary>
    internal static RootCommand CreateRoot()
    {
        var root = new RootCommand("dl: train, evaluate, inspect and benchmark the models of Dl.Models.")
        {
            TrainCommand.Create(),
            EvalCommand.Create(),
            PredictCommand.Create(),
            SummaryCommand.Create(),
            GraphCommand.Create(),
            ExplainCommand.Create(),
            GradcheckCommand.Create(),
            BenchCommand.Create(),
            PeakCommand.Create(),
            ExportCommand.Create(),
        };
        return root;
    }

    public static int Main(string[] args)
    {
        // Under mpirun a rank's stdout is a pseudo-terminal forwarded by mpirun (to a terminal, a pipe or a file alike):
        // .NET would start it with the terminal's keypad-mode escape (ESC[?1h ESC=) ahead of the first line, and progress
        // bars would be drawn into logs. A dumb terminal gives plain lines; the variable is read before the console starts.
        if (Dl.Distributed.Mpi.IsLaunchedByMpirun) Environment.SetEnvironmentVariable("TERM", "dumb");
        return Run(args, Console.Out, Console.Error);
    }

    /// <summary>Parses and runs <paramref name="args"/>; help and version go to <paramref name="output"/>, errors to
    /// <paramref name="error"/> (commands themselves write to <see cref="Console"/>).</summary>
    internal static int Run(string[] args, TextWriter output, TextWriter error)
    {
        RootCommand root = CreateRoot();
        ParseResult result = root.Parse(args);
        if (result.Errors.Count > 0 && result.Action is ParseErrorAction or null)
        {
            error.WriteLine(ParseErrorLine(result));
            return UsageError;
        }
        try
        {
            int code = result.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
            // The per-model defaults follow train's option list (System.CommandLine's help has no epilogue of its own).
            if (result.Action is System.CommandLine.Help.HelpAction && result.CommandResult.Command.Name == "train")
                output.WriteLine(TrainOptions.ModelsHelp);
            return code;
        }
        catch (UsageException e)
        {
            error.WriteLine($"dl: {e.Message}");
            return UsageError;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Run-time errors (files, checkpoints, data, divergence) carry a message naming what was wrong; print that
            // alone. DL_TRACE=1 shows the stack for a bug report.
            error.WriteLine($"dl: {e.Message}");
            if (Environment.GetEnvironmentVariable("DL_TRACE") == "1") error.WriteLine(e);
            return RuntimeError;
        }
    }

    /// <summary>One line for the first parse error: the command it is about, the problem, and where to read more.</summary>
    private static string ParseErrorLine(ParseResult result)
    {
        Command command = result.CommandResult.Command;
        string path = command is RootCommand ? "dl" : $"dl {command.Name}";
        string message = result.Errors[0].Message;
        if (command is RootCommand && result.UnmatchedTokens.Count == 0 && result.Tokens.Count == 0)
            message = $"no command given; expected one of {string.Join(", ", command.Subcommands.Select(c => c.Name))}.";
        else if (result.Errors[0].SymbolResult is System.CommandLine.Parsing.OptionResult { Option: var option } && option.Arity.MinimumNumberOfValues > 0)
            message = $"{option.Name} needs a value <{option.HelpName}>: {option.Description}";
        else if (command.Arguments.Count > 0 && result.UnmatchedTokens.Count == 0 && result.GetResult(command.Arguments[0]) is not { Tokens.Count: > 0 })
            message = $"missing <{command.Arguments[0].Name}>: {command.Arguments[0].Description}";
        else if (result.UnmatchedTokens.Count > 0)
        {
            string token = result.UnmatchedTokens[0];
            message = command is RootCommand && !token.StartsWith('-')
                ? $"unknown command '{token}'; expected one of {string.Join(", ", command.Subcommands.Select(c => c.Name))}."
                : token.StartsWith('-')
                    ? $"unknown option '{token}'; expected one of {string.Join(", ", command.Options.Where(o => !o.Hidden).Select(o => o.Name))}."
                    : $"unexpected argument '{token}'.";
        }
        return $"{path}: {message} See '{path} --help'.";
    }
}
