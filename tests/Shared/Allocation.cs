namespace Dl.Tests;

/// <summary>Steady-state allocation measurement shared by the test projects (linked into each).</summary>
internal static class Allocation
{
    /// <summary>Bytes this thread allocates per call once warm: the least over several rounds, so that one-off runtime
    /// work on the thread (tiered re-compilation, type loading) is not counted as the code's. Code that allocates on
    /// every call shows it in every round.</summary>
    /// <remarks>Rounds during which a garbage collection ran are not counted when enough rounds ran without one: a
    /// collection (triggered by test classes allocating on other threads) retires this thread's allocation context, and
    /// the unused rest of it then shows in <see cref="GC.GetAllocatedBytesForCurrentThread"/> as if this code had
    /// allocated it (seen as 12 B per call on slow, SIMD-restricted test runs).</remarks>
    public static long PerCall(Action action, int calls = 20, int rounds = 5)
    {
        for (int i = 0; i < 3; i++) action();
        long least = long.MaxValue, leastWithCollections = long.MaxValue;
        int clean = 0;
        for (int round = 0; round < 10 * rounds && clean < rounds; round++)
        {
            int collections = GC.CollectionCount(0);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < calls; i++) action();
            long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / calls;
            if (GC.CollectionCount(0) == collections)
            {
                clean++;
                least = Math.Min(least, perCall);
            }
            else leastWithCollections = Math.Min(leastWithCollections, perCall);
        }
        return clean > 0 ? least : leastWithCollections;
    }
}
