using Dl.Training;

namespace Dl.Distributed;

/// <summary>
/// The entry points a program (or the <c>dl</c> tool's <c>--distributed</c>) needs to train data-parallel under
/// <c>mpirun</c>: <see cref="Run"/> around the whole program, <see cref="Configure"/> on the trainer's options.
/// </summary>
/// <example><code>
/// // mpirun -np 4 ./train
/// return Distributed.Run(() =>
/// {
///     var model = new FashionCnn(new ModelOptions { Seed = 1, MaxBatch = 64 });
///     var loader = new DataLoader(train, batchSize: 256, seed: 1);   // the global batch: each rank computes 1/4 of it
///     var options = Distributed.Configure(new TrainerOptions { Epochs = 5 }, new DistributedOptions { Timeout = TimeSpan.FromMinutes(2) });
///     var trainer = new Trainer&lt;int&gt;(model, new Adam(1e-3f), loader, test, options);
///     if (trainer.IsLeader) trainer.EpochCompleted += e =&gt; Console.WriteLine($"epoch {e.Epoch}: {e.TrainingLoss:0.000}");
///     trainer.Fit();
///     return 0;
/// });
/// </code></example>
public static class Distributed
{
    /// <summary>Returns <paramref name="options"/> with <see cref="TrainerOptions.DataParallel"/> set to an MPI
    /// implementation (initializing MPI): the trainer built with them is this process's rank of the job.</summary>
    /// <exception cref="MpiException">Open MPI is missing (the message names the packages) or fails to start.</exception>
    public static TrainerOptions Configure(TrainerOptions options, DistributedOptions? distributed = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options with { DataParallel = new MpiDataParallel(distributed) };
    }

    /// <summary>Runs <paramref name="body"/> as one rank of an MPI job: initializes MPI, and finalizes it when the body
    /// returns. When the body throws (or any thread has an unhandled exception) it prints
    /// <c>rank r of R failed: …</c> to standard error and ends every rank of the job at once with <c>MPI_Abort</c>
    /// (exit code 1), so no rank waits forever in a collective for the failed one. Returns the body's exit code.</summary>
    public static int Run(Func<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Mpi.Initialize();
        AppDomain.CurrentDomain.UnhandledException += (_, e) => Fail(e.ExceptionObject as Exception);
        int code;
        try
        {
            code = body();
        }
        catch (Exception e)
        {
            Fail(e);
            throw; // not reached: Fail aborts
        }
        Mpi.Shutdown();
        return code;
    }

    private static void Fail(Exception? e)
    {
        Console.Out.Flush();
        Console.Error.WriteLine($"rank {Mpi.Rank} of {Mpi.Size} failed: {e?.GetType().Name}: {e?.Message}");
        Console.Error.WriteLine(e?.StackTrace);
        Console.Error.Flush();
        Mpi.Abort(1);
    }
}
