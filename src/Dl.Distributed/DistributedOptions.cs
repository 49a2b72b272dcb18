namespace Dl.Distributed;

/// <summary>Settings of a data-parallel run on MPI (<see cref="Distributed.Configure"/>). Must be equal on every rank.</summary>
public sealed record DistributedOptions
{
    /// <summary>Every this many steps, all ranks compare a hash of their parameters and running statistics (one 8-byte
    /// allgather) and throw, naming the rank, when one differs; 0 never checks. Costs one pass over the parameters.</summary>
    public int HashCheckInterval { get; init; }

    /// <summary>A rank that sees no step complete for this long (a rank died, hangs, or the network is cut) prints why
    /// and aborts the whole job with <c>MPI_Abort</c>; null waits forever. Choose it well above a step's and an
    /// evaluation's time. (A rank that exits or crashes is already noticed by <c>mpirun</c>, which ends the job.)</summary>
    public TimeSpan? Timeout { get; init; }
}
