using Dl.Data;

namespace Dl.Tests;

public class DigitSequencesTests
{
    [Fact]
    public void Encode_WritesThePaddedSource_TheMask_TheShiftedDecoderInput_AndTheReversedTarget()
    {
        var task = new DigitSequences(steps: 6, minLength: 3, maxLength: 6);
        float[] source = new float[6], mask = new float[6], decoderInput = new float[6];
        int[] target = new int[6];
        task.Encode([3, 1, 4], source, mask, decoderInput, target);
        const float P = DigitSequences.Pad, B = DigitSequences.Bos;
        Assert.Equal([3f, 1, 4, P, P, P], source);
        Assert.Equal([1f, 1, 1, 0, 0, 0], mask);
        Assert.Equal([B, 4f, 1, 3, P, P], decoderInput);
        Assert.Equal([4, 1, 3, DigitSequences.Pad, DigitSequences.Pad, DigitSequences.Pad], target);

        // A full-length sequence has no padding; the decoder input stops one short of the answer.
        task.Encode([9, 8, 7, 6, 5, 4], source, mask, decoderInput, target);
        Assert.Equal([4, 5, 6, 7, 8, 9], target);
        Assert.Equal([B, 4f, 5, 6, 7, 8], decoderInput);
        Assert.All(mask, m => Assert.Equal(1f, m));
    }

    [Fact]
    public void Keys_TellSequencesApart_IncludingLeadingZerosAndLength()
    {
        Assert.NotEqual(DigitSequences.Key([0, 1]), DigitSequences.Key([1]));
        Assert.NotEqual(DigitSequences.Key([0, 0, 1]), DigitSequences.Key([0, 1]));
        Assert.NotEqual(DigitSequences.Key([1, 0]), DigitSequences.Key([0, 1]));
        Assert.Equal(DigitSequences.Key([5, 5, 5]), DigitSequences.Key([5, 5, 5]));
        Assert.Throws<ArgumentException>(() => DigitSequences.Key([3, 10]));
    }

    [Fact]
    public void HeldOutSet_IsDistinct_AndTrainingDrawsAvoidIt()
    {
        // Lengths 1..2 have only 110 sequences: half of them held out, so training draws must redraw often.
        var task = new DigitSequences(steps: 4, minLength: 1, maxLength: 2);
        var heldOut = task.DistinctSet(55, new DlRandom(2));
        var keys = DigitSequences.KeySet(heldOut);
        Assert.Equal(55, keys.Count);
        var random = new DlRandom(3);
        for (int i = 0; i < 2000; i++)
        {
            int[] digits = task.Draw(random, keys);
            Assert.InRange(digits.Length, 1, 2);
            Assert.DoesNotContain(DigitSequences.Key(digits), keys);
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => task.DistinctSet(56, new DlRandom(2)));
    }

    [Fact]
    public void BadArguments_AreClearErrors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new DigitSequences(steps: 4, minLength: 3, maxLength: 5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new DigitSequences(steps: 4, minLength: 0, maxLength: 2));
        var task = new DigitSequences(steps: 4, minLength: 1, maxLength: 4);
        var e = Assert.Throws<ArgumentException>(() => task.Encode([1, 2], new float[3], default, default, default));
        Assert.Contains("expected T = 4", e.Message);
        Assert.Throws<ArgumentException>(() => task.Encode([1, 2, 3, 4, 5], default, default, default, default));
    }
}
