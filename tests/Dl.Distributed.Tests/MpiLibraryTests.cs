namespace Dl.Distributed.Tests;

public sealed class MpiLibraryTests
{
    [Fact]
    [Trait("Category", "Once")]
    public void UninitializedCalls_ThrowNamingTheFix()
    {
        var e = Assert.Throws<MpiException>(() => Mpi.AllreduceSum(new float[1]));
        Assert.Contains("Mpi.Initialize()", e.Message);
        Assert.Throws<MpiException>(() => Mpi.Rank);
    }

    [Fact]
    [Trait("Category", "Once")]
    public void Fnv1a_IsTheReferenceHash() =>
        // FNV-1a 64 of "a" (the published test vector).
        Assert.Equal(0xaf63dc4c8601ec8cUL, MpiDataParallel.Fnv1a("a"u8));
}
