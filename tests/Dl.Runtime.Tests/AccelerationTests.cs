using System.Runtime.Intrinsics;

namespace Dl.Tests;

/// <summary>The one warning a process without Vector256 acceleration gets (CI runs this with DOTNET_EnableAVX2=0 and
/// DOTNET_EnableHWIntrinsic=0 too, where it must fire).</summary>
public sealed class AccelerationTests
{
    [Fact]
    public void Creating_models_warns_once_exactly_when_vectors_are_not_accelerated()
    {
        var messages = new List<string>();
        var saved = Acceleration.Warning;
        Acceleration.Warning = message => { lock (messages) messages.Add(message); };
        try
        {
            Acceleration.ResetWarning();
            bool silenced = Environment.GetEnvironmentVariable("DL_SIMD_WARNING") == "0";
            int expected = Vector256.IsHardwareAccelerated || silenced ? 0 : 1;
            ModelChecks.Options(new ModelOptions());   // what every generated constructor calls first
            Assert.Equal(expected, messages.Count);
            ModelChecks.Options(new ModelOptions { MaxBatch = 8 });
            Acceleration.WarnOnceIfScalar();
            Assert.Equal(expected, messages.Count);     // once per process
            Assert.Equal(Vector256.IsHardwareAccelerated, Acceleration.IsVectorized);
            if (messages.Count == 1)
            {
                Assert.StartsWith("dl: warning: Vector256 is not hardware-accelerated", messages[0]);
                Assert.Contains("DL_SIMD_WARNING=0", messages[0]);
                Assert.DoesNotContain('\n', messages[0]);
            }
        }
        finally
        {
            Acceleration.Warning = saved;
        }
    }

    [Fact]
    public void A_cleared_handler_silences_the_warning()
    {
        var saved = Acceleration.Warning;
        Acceleration.Warning = null;
        try
        {
            Acceleration.ResetWarning();
            Acceleration.WarnOnceIfScalar();   // must not throw with no handler
        }
        finally
        {
            Acceleration.Warning = saved;
        }
    }

    [Fact]
    public void Describe_names_the_widest_accelerated_vector()
    {
        string expected = Vector512.IsHardwareAccelerated ? "Vector512" : Vector256.IsHardwareAccelerated ? "Vector256" : "scalar";
        Assert.StartsWith(expected, Acceleration.Describe());
    }
}
