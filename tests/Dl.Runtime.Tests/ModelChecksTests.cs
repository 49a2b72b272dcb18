using Dl;

namespace Dl.Tests;

/// <summary>The throw helpers of generated models' argument checks: the exception type, parameter and message each
/// model printed inline before they moved to the runtime.</summary>
public class ModelChecksTests
{
    private static void Argument<T>(Action call, string param, string message, object? actual = null) where T : ArgumentException
    {
        var e = Assert.Throws<T>(call);
        Assert.Equal(param, e.ParamName);
        Assert.StartsWith(message, e.Message);
        if (e is ArgumentOutOfRangeException range) Assert.Equal(actual, range.ActualValue);
    }

    [Fact]
    public void Options_RejectsEachInvalidOption()
    {
        ModelChecks.Options(new ModelOptions());
        Argument<ArgumentNullException>(() => ModelChecks.Options(null), "options", "Value cannot be null.");
        Argument<ArgumentOutOfRangeException>(() => ModelChecks.Options(new ModelOptions { MaxBatch = 0 }), "options", "MaxBatch must be at least 1.", 0);
        Argument<ArgumentOutOfRangeException>(() => ModelChecks.Options(new ModelOptions { Threads = 0 }), "options", "Threads must be at least 1.", 0);
        Argument<ArgumentOutOfRangeException>(() => ModelChecks.Options(new ModelOptions { ChunkSamples = -1 }), "options",
            "ChunkSamples must be null (automatic), 0 (off) or a positive number of samples.", -1);
    }

    [Fact]
    public void Lengths_NameTheArgumentAndTheExpectedLength()
    {
        Argument<ArgumentOutOfRangeException>(() => ModelChecks.ThrowBatch(9, 8), "batch", "batch must be in 1..8 (MaxBatch).", 9);
        Argument<ArgumentException>(() => ModelChecks.ThrowInputLength(700, 2, 784), "input", "input has 700 values; expected batch x 784 = 1568.");
        Argument<ArgumentException>(() => ModelChecks.ThrowOutputLength(10, 2, 10), "output", "output has room for 10 values; expected batch x 10 = 20.");
        Argument<ArgumentException>(() => ModelChecks.ThrowLabelCount(1, 2, 1), "target", "target has 1 labels; expected one per sample (2).");
        Argument<ArgumentException>(() => ModelChecks.ThrowLabelCount(6, 2, 6), "target", "target has 6 labels; expected 6 per sample (batch x 6 = 12).");
        Argument<ArgumentException>(() => ModelChecks.ThrowTargetLength(3, 2, 1), "target", "target has 3 values; expected batch x 1 = 2.");
    }

    [Fact]
    public void Label_NamesTheSampleAndTheStep()
    {
        Argument<ArgumentOutOfRangeException>(() => ModelChecks.ThrowLabel(10, 10, 1, 1), "target", "label of sample 1 is 10; expected a class in 0..9.", 10);
        Argument<ArgumentOutOfRangeException>(() => ModelChecks.ThrowLabel(-1, 30, 19, 16), "target", "label 3 of sample 1 is -1; expected a class in 0..29.", -1);
    }

    [Fact]
    public void NonFiniteLoss_SaysWhatWasNotChanged()
    {
        const string why = "the input, the targets or the parameters contain NaN or infinity, or training diverged (lower the learning rate).";
        const string unchanged = "Nothing was changed: the parameters, gradients, optimizer state, running statistics and DropoutStep are as before the call.";
        Assert.Equal($"The loss is NaN: {why} {unchanged}",
            Assert.Throws<ArithmeticException>(() => ModelChecks.ThrowNonFiniteLoss(float.NaN)).Message);
        Assert.Equal($"The loss is NaN: {why} {unchanged}",
            Assert.Throws<ArithmeticException>(() => ModelChecks.ThrowNonFiniteFusedLoss(float.NaN)).Message);
        Assert.Equal($"The loss is NaN on samples 4..6: {why} {unchanged}",
            Assert.Throws<ArithmeticException>(() => ModelChecks.ThrowNonFiniteChunkLoss(float.NaN, 4, 3)).Message);
        Assert.StartsWith("Gradient 3 is NaN: the gradients contain NaN or infinity",
            Assert.Throws<ArithmeticException>(() => ModelChecks.ThrowNonFiniteGradients(3, float.NaN)).Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(33)]
    [InlineData(100)]
    public void AllFinite_FindsNaNAndInfinityAtEveryPosition(int length)
    {
        var values = new float[length];
        for (int i = 0; i < length; i++) values[i] = (i % 2 == 0 ? 1 : -1) * float.MaxValue / (i + 1);
        Assert.True(ModelChecks.AllFinite(values));
        foreach (float bad in new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, -float.NaN })
            for (int i = 0; i < length; i++)
            {
                float keep = values[i];
                values[i] = bad;
                Assert.False(ModelChecks.AllFinite(values), $"{bad} at {i} of {length}");
                values[i] = keep;
            }
    }
}
