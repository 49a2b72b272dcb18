using Dl.Models;

namespace Dl.Benchmarks;

/// <summary><c>lstm_32_128_t35</c> (<see cref="LstmT35"/>: LSTM input 32, hidden 128 over 35 steps → last hidden state →
/// linear 128-10, softmax cross-entropy), one training step on [Batch, 35, 32] inputs (batch-first); PyTorch runs
/// <c>nn.LSTM(32, 128, batch_first=True)</c> + <c>nn.Linear(128, 10)</c>.</summary>
public class LstmTrainStep : ClassifierTrainStep
{
    protected override string Workload => "lstm_32_128_t35";
    protected override int InputSize => 35 * 32;
    protected override ITrainableModel<int> CreateGenerated(ModelOptions options) => new LstmT35(options);
    protected override ITrainableModel<int> CreateDynamic() => Dl.Dynamic.Dynamic.Create<LstmT35>(1);
}

/// <summary><c>lstm_32_128_t35</c> inference: one forward pass on the batch of <see cref="LstmTrainStep"/>.</summary>
public class LstmInferStep : ClassifierInferStep
{
    protected override string Workload => "lstm_32_128_t35";
    protected override int InputSize => 35 * 32;
    protected override ITrainableModel<int> CreateGenerated(ModelOptions options) => new LstmT35(options);
    protected override ITrainableModel<int> CreateDynamic() => Dl.Dynamic.Dynamic.Create<LstmT35>(1);
}
