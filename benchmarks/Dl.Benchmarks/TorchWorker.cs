using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Dl.Checkpoints;

namespace Dl.Benchmarks;

/// <summary>
/// A persistent PyTorch process (benchmarks/pytorch/bdn_worker.py under /usr/bin/python3, one thread) that holds one
/// workload with the same initial weights (written with <see cref="Safetensors.Save(string, ModelDescription, ReadOnlySpan{float}, ReadOnlySpan{float}, IReadOnlyDictionary{string, string}?)"/>)
/// and the same batch (raw float32 inputs, int32 labels or float32 targets) as the .NET engines. <see cref="Run"/>
/// sends <c>run N</c> (<see cref="Infer"/>: <c>infer N</c>, forward passes only) and waits for <c>done</c>: the N steps
/// run back to back inside the worker, so process start-up and the pipe cost only one round trip per N steps.
/// </summary>
/// <remarks>Environment: <c>DL_BENCH_PYTHON</c> overrides the interpreter (default /usr/bin/python3);
/// <c>DL_BENCH_TUNED_MALLOC=1</c> passes <c>--tuned-malloc</c> (glibc thresholds raised, as bench.py).</remarks>
public sealed class TorchWorker : IDisposable
{
    /// <summary>Longest wait for the worker's <c>ready</c> line (importing torch can take a few seconds).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly Process _process;
    private readonly StreamWriter _stdin;
    private readonly StreamReader _stdout;
    private readonly StringBuilder _stderr;
    private readonly string _directory;
    private readonly string _workload;
    private string? _command;
    private string? _commandVerb;
    private int _commandSteps;
    private bool _disposed;

    /// <summary>The loss of the initial weights on the batch, as computed by PyTorch.</summary>
    public float InitialLoss { get; }

    /// <summary>The rest of the <c>ready</c> line (torch version, threads).</summary>
    public string Banner { get; }

    private TorchWorker(string workload, Process process, StringBuilder stderr, string directory, float initialLoss, string banner)
    {
        _workload = workload;
        _stderr = stderr;
        _process = process;
        _stdin = process.StandardInput;
        _stdout = process.StandardOutput;
        _directory = directory;
        InitialLoss = initialLoss;
        Banner = banner;
    }

    /// <summary>Starts a worker for <paramref name="workload"/> (an id of models.py) with <paramref name="model"/>'s
    /// current weights and the batch (<paramref name="inputs"/>, <paramref name="labels"/>); returns once it is ready.
    /// Throws <see cref="InvalidOperationException"/> with the worker's own message when python3, torch or the
    /// script is missing, or the worker exits or does not answer within <see cref="StartTimeout"/>.</summary>
    public static TorchWorker Start(string workload, IModel model, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, int batch)
        => Start(workload, model, inputs, MemoryMarshal.AsBytes(labels), batch);

    /// <summary>As <see cref="Start(string, IModel, ReadOnlySpan{float}, ReadOnlySpan{int}, int)"/> with float targets.</summary>
    public static TorchWorker Start(string workload, IModel model, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int batch)
        => Start(workload, model, inputs, MemoryMarshal.AsBytes(targets), batch);

    private static TorchWorker Start(string workload, IModel model, ReadOnlySpan<float> inputs, ReadOnlySpan<byte> targets, int batch)
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("TorchWorker writes raw little-endian files.");
        string script = FindScript();
        string python = Environment.GetEnvironmentVariable("DL_BENCH_PYTHON") is { Length: > 0 } p ? p : "/usr/bin/python3";
        if (!File.Exists(python))
            throw new InvalidOperationException(
                $"PyTorch benchmark: the interpreter {python} does not exist; install Debian's python3 and python3-torch " +
                "(or set DL_BENCH_PYTHON).");

        string directory = Directory.CreateTempSubdirectory("dl-bdn-torch-").FullName;
        try
        {
            string weights = Path.Combine(directory, "weights.safetensors");
            string inputsPath = Path.Combine(directory, "inputs.f32");
            string targetsPath = Path.Combine(directory, "targets.raw");
            Safetensors.Save(weights, model.Description, model.Parameters, model.State);
            File.WriteAllBytes(inputsPath, MemoryMarshal.AsBytes(inputs).ToArray());
            File.WriteAllBytes(targetsPath, targets.ToArray());

            var info = new ProcessStartInfo(python)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                StandardOutputEncoding = Encoding.ASCII,
            };
            foreach (string arg in (string[])[
                "-u", script, "--workload", workload, "--batch", batch.ToString(CultureInfo.InvariantCulture),
                "--threads", "1", "--weights", weights, "--inputs", inputsPath, "--targets", targetsPath])
                info.ArgumentList.Add(arg);
            if (Environment.GetEnvironmentVariable("DL_BENCH_TUNED_MALLOC") == "1") info.ArgumentList.Add("--tuned-malloc");
            // One thread in every pool the interpreter might start, not only torch's intra-op pool.
            info.Environment["OMP_NUM_THREADS"] = "1";
            info.Environment["OPENBLAS_NUM_THREADS"] = "1";
            info.Environment["MKL_NUM_THREADS"] = "1";

            Process process;
            try
            {
                process = Process.Start(info) ?? throw new InvalidOperationException($"PyTorch benchmark: could not start {python}.");
            }
            catch (System.ComponentModel.Win32Exception e)
            {
                throw new InvalidOperationException($"PyTorch benchmark: could not start {python}: {e.Message}", e);
            }

            var stderr = new StringBuilder();
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is null) return;
                lock (stderr) stderr.AppendLine(e.Data);
            };
            process.BeginErrorReadLine();
            process.StandardInput.AutoFlush = true;

            Task<string?> readyTask = process.StandardOutput.ReadLineAsync();
            string? ready = readyTask.Wait(StartTimeout) ? readyTask.Result : null;
            if (ready is null || !ready.StartsWith("ready ", StringComparison.Ordinal))
            {
                bool timedOut = !readyTask.IsCompleted;
                KillQuietly(process);
                WaitForExit(process, 5000);
                string message = timedOut
                    ? $"the worker did not answer within {StartTimeout.TotalSeconds:0} s"
                    : ready is null ? $"the worker exited (code {ExitCode(process)}) before it was ready"
                    : $"unexpected first line '{ready}'";
                process.Dispose();
                throw new InvalidOperationException(
                    $"PyTorch benchmark of {workload} (batch {batch}): {message}. Is python3-torch installed for {python}?" +
                    StderrTail(stderr));
            }
            string[] parts = ready.Split(' ', 3);
            float loss = float.Parse(parts[1], CultureInfo.InvariantCulture);
            return new TorchWorker(workload, process, stderr, directory, loss, parts.Length > 2 ? parts[2] : "");
        }
        catch
        {
            TryDeleteDirectory(directory);
            throw;
        }
    }

    /// <summary>Runs <paramref name="steps"/> training steps in the worker and waits for them.</summary>
    public void Run(int steps) => RunCommand("run", steps);

    /// <summary>Runs <paramref name="steps"/> forward passes (eval mode, under <c>torch.inference_mode</c>; the weights
    /// do not change) in the worker and waits for them.</summary>
    public void Infer(int steps) => RunCommand("infer", steps);

    private void RunCommand(string verb, int steps)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_command is null || _commandSteps != steps || _commandVerb != verb)
        {
            _command = verb + " " + steps.ToString(CultureInfo.InvariantCulture);
            _commandSteps = steps;
            _commandVerb = verb;
        }
        Send(_command);
        string? reply = _stdout.ReadLine();
        if (reply != "done") throw Failure($"'{_command}' got {(reply is null ? "end of output" : $"'{reply}'")}");
    }

    /// <summary>The batch-mean loss of the worker's current weights.</summary>
    public float Loss()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Send("loss");
        string? reply = _stdout.ReadLine();
        if (reply is null || !reply.StartsWith("loss ", StringComparison.Ordinal))
            throw Failure($"'loss' got {(reply is null ? "end of output" : $"'{reply}'")}");
        return float.Parse(reply.AsSpan(5), CultureInfo.InvariantCulture);
    }

    private void Send(string command)
    {
        try
        {
            _stdin.Write(command);
            _stdin.Write('\n');
        }
        catch (IOException e)
        {
            throw Failure($"could not send '{command}' ({e.Message})");
        }
    }

    private InvalidOperationException Failure(string what)
    {
        WaitForExit(_process, 2000);
        string exit = _process.HasExited ? $" (worker exit code {_process.ExitCode})" : "";
        string tail;
        lock (_stderr) tail = StderrTail(_stderr);
        return new InvalidOperationException($"PyTorch worker of {_workload}: {what}{exit}.{tail}");
    }

    /// <summary>Asks the worker to quit, kills it if it has not within two seconds, and deletes its files.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        try
        {
            if (!_process.HasExited)
            {
                try { _stdin.Write("quit\n"); _stdin.Close(); } catch (IOException) { /* already gone */ }
                if (!_process.WaitForExit(2000)) KillQuietly(_process);
                _process.WaitForExit(5000);
            }
        }
        finally
        {
            _process.Dispose();
            TryDeleteDirectory(_directory);
        }
    }

    /// <summary>benchmarks/pytorch/bdn_worker.py, looked for upwards from the build output and the working
    /// directory (BenchmarkDotNet runs in process, from benchmarks/Dl.Benchmarks/bin/Release/net10.0).</summary>
    private static string FindScript()
    {
        string relative = Path.Combine("benchmarks", "pytorch", "bdn_worker.py");
        foreach (string start in (string[])[AppContext.BaseDirectory, Environment.CurrentDirectory])
        {
            for (DirectoryInfo? dir = new(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, relative);
                if (File.Exists(candidate)) return candidate;
            }
        }
        throw new InvalidOperationException(
            $"PyTorch benchmark: {relative} not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}.");
    }

    private static string StderrTail(StringBuilder stderr)
    {
        string text = stderr.ToString().Trim();
        if (text.Length == 0) return "";
        if (text.Length > 2000) text = "..." + text[^2000..];
        return Environment.NewLine + "worker stderr:" + Environment.NewLine + text;
    }

    private static string ExitCode(Process process)
        => process.HasExited ? process.ExitCode.ToString(CultureInfo.InvariantCulture) : "?";

    /// <summary>Waits up to <paramref name="milliseconds"/> for the exit and, if it came, for the end of the stderr
    /// events (the timed overload alone does not wait for them).</summary>
    private static void WaitForExit(Process process, int milliseconds)
    {
        if (process.WaitForExit(milliseconds)) process.WaitForExit();
    }

    private static void KillQuietly(Process process)
    {
        try { if (!process.HasExited) process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { /* exited meanwhile */ }
        catch (System.ComponentModel.Win32Exception) { /* exited meanwhile */ }
    }

    private static void TryDeleteDirectory(string directory)
    {
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { /* best effort */ }
        catch (UnauthorizedAccessException) { /* best effort */ }
    }
}
