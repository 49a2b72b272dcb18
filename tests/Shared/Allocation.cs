namespace Dl.Tests;

/// <summary>Steady-state allocation measurement shared by the test projects (linked into each).</summary>
internal static class Allocation
{
    /// <summary>Bytes this thread allocates per call once warm: the least over several rounds, so that one-off runtime
    /// work on the thread (tiered re-compilation, type loading) is not counted as the code's. Code that allocates on
    /// every call shows it in every round.</summary>
    public static long PerCall(Action action, int calls = 20, int rounds = 5)
    {
        for (int i = 0; i < 3; i++) action();
        long least = long.MaxValue;
        for (int round = 0; round < rounds; round++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) action();
            least = Math.Min(least, (GC.GetAllocatedBytesForCurrentThread() - before) / calls);
        }
        return least;
    }
}
