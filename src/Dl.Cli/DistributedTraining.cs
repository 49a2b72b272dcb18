using Dl.Training;
using Mpi = Dl.Distributed.Mpi;
using MpiJob = Dl.Distributed.Distributed;

namespace Dl.Cli;

/// <summary><c>dl train --distributed</c>: the run is one rank of an MPI job started by <c>mpirun -np N</c> (data-parallel
/// training, src/Dl.Distributed). Rank 0 alone prints, evaluates, saves and writes the report; the other ranks' stdout and
/// stderr are silenced (a rank that fails still prints <c>rank r of R failed: …</c> and ends the job). Without
/// <c>--distributed</c> nothing here touches MPI (the library is loaded only by <see cref="Run"/>).</summary>
internal static class DistributedTraining
{
    /// <summary>True inside <see cref="Run"/>: the trainer's options go through <see cref="MpiJob.Configure"/>.</summary>
    public static bool Active { get; private set; }

    /// <summary>True unless this is a rank other than 0 of a distributed run.</summary>
    public static bool IsLeader => !Active || Mpi.Rank == 0;

    /// <summary><paramref name="options"/>, configured for MPI when the run is distributed.</summary>
    public static TrainerOptions Configure(TrainerOptions options) => Active ? MpiJob.Configure(options) : options;

    /// <summary>Runs <paramref name="train"/> as one rank of the job: <see cref="MpiJob.Run"/> (MPI initialized, an
    /// exception on any rank aborts the job naming the rank), with the other ranks' output silenced. A usage error (the
    /// same on every rank: they parse the same arguments) is printed by rank 0 and ends every rank with exit code 2.</summary>
    public static int Run(Func<int> train)
    {
        // A process not started by mpirun would be a singleton MPI job: Open MPI then spawns its own runtime daemon,
        // which works on some installations and hangs or fails on others; refuse it plainly instead.
        if (!Mpi.IsLaunchedByMpirun)
            throw new UsageException("'train': --distributed runs one rank of an MPI job: start it with mpirun, e.g. " +
                                     "'mpirun -np 2 dl train --model fashion-mlp --distributed' (Open MPI: apt-get install openmpi-bin libopenmpi-dev).");
        return MpiJob.Run(() =>
        {
            Active = true;
            TextWriter output = Console.Out, error = Console.Error;
            bool leader = Mpi.Rank == 0;
            if (!leader)
            {
                Console.SetOut(TextWriter.Null);
                Console.SetError(TextWriter.Null);
            }
            try
            {
                if (leader)
                    Console.Error.WriteLine($"dl: distributed: {Mpi.Size} rank{(Mpi.Size == 1 ? "" : "s")}; --batch is the global batch, each rank computes its share");
                return train();
            }
            catch (UsageException e)
            {
                if (leader) error.WriteLine($"dl: {e.Message}");
                return Program.UsageError;
            }
            finally
            {
                // Distributed.Run prints a failure to stderr: every rank's must reach it.
                Console.SetOut(output);
                Console.SetError(error);
            }
        });
    }
}
