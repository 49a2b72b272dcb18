using Dl.Models;

namespace Dl.Onnx.Tests;

/// <summary>Every model of Dl.Models exported, run by ONNX Runtime and compared with Predict at batch 1 and 3.</summary>
/// <remarks>The tolerance is 1e-5 of the output's largest magnitude, except where noted: the two engines sum in
/// different orders (blocked GEMM vs MLAS), so long reductions and deep stacks round differently.</remarks>
public class ModelExportTests
{
    private static ModelOptions Options => new() { Seed = 3, MaxBatch = 4 };

    [Fact] public void FashionMlp_MatchesPredict() => OnnxHarness.Check(new FashionMlp(Options));
    [Fact] public void WideMlp_MatchesPredict() => OnnxHarness.Check(new WideMlp(Options));
    [Fact] public void XorNet_MatchesPredict() => OnnxHarness.Check(new XorNet(Options));
    [Fact] public void SigmoidNeuron_MatchesPredict() => OnnxHarness.Check(new SigmoidNeuron(Options));
    [Fact] public void LogicPerceptron_MatchesPredict() => OnnxHarness.Check(new LogicPerceptron(Options));
    [Fact] public void LenetCnn_MatchesPredict() => OnnxHarness.Check(new LenetCnn(Options));
    [Fact] public void FashionCnn_MatchesPredict() => OnnxHarness.Check(new FashionCnn(Options), warmStatistics: true);
    [Fact] public void ResidualCnn_MatchesPredict() => OnnxHarness.Check(new ResidualCnn(Options), warmStatistics: true);
    [Fact] public void InceptionCnn_MatchesPredict() => OnnxHarness.Check(new InceptionCnn(Options));
    [Fact] public void ConvAutoencoder_MatchesPredict() => OnnxHarness.Check(new ConvAutoencoder(Options));
    [Fact] public void LstmT35_MatchesPredict() => OnnxHarness.Check(new LstmT35(Options));
    [Fact] public void RowLstm_MatchesPredict() => OnnxHarness.Check(new RowLstm(Options));
    [Fact] public void RowGru_MatchesPredict() => OnnxHarness.Check(new RowGru(Options));
    [Fact] public void CharLstm_MatchesPredict() => OnnxHarness.Check(new CharLstm(Options), OnnxHarness.Tokens(63));
    [Fact] public void AttnS64_MatchesPredict() => OnnxHarness.Check(new AttnS64(Options));
    [Fact] public void PatchTransformer_MatchesPredict() => OnnxHarness.Check(new PatchTransformer(Options));
    [Fact] public void Dgex_MatchesPredict() => OnnxHarness.Check(new Dgex(Options));

    [Fact]
    public void ReverseTransformer_MatchesPredict()
    {
        // source and decoder tokens in 0..11; the mask 0 or 1 (a sample may mask every key: both engines give zeros).
        OnnxHarness.Check(new ReverseTransformer(Options), (input, _, r) => input == 1 ? r.Next(4) == 0 ? 0 : 1 : r.Next(12));
    }
}
