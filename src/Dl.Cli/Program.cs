namespace Dl.Cli;

/// <summary>The <c>dl</c> tool: <c>dl train</c> trains a model of Dl.Models, <c>dl bench</c> times one workload of
/// WORKLOADS.md and prints one JSON line, <c>dl peak</c> measures the core's multiply-add peak.</summary>
public static class Program
{
    public const string Usage = """
        usage:
          dl train [--model fashion-mlp|fashion-cnn|lenet-cnn|residual-cnn|inception-cnn|row-lstm|row-gru|char-lstm|xor|
                            patch-transformer|reverse-transformer|attn-s64|conv-autoencoder]
                   [--epochs N] [--batch B] [--optimizer adam|adamw|sgd] [--lr X] [--lr-decay G] [--momentum X] [--seed S]
                   [--threads T] [--data DIR] [--engine generated|dynamic] [--augment [--shift P]] [--flip] [--clip N]
                   [--save PATH] [--save-initial PATH] [--json]
              fashion-mlp (default): 784-128-10 on Fashion-MNIST from --data, else /usr/share/datasets/fashion-mnist,
              else the subset embedded in Dl.Models (--data embedded forces it). Defaults: --epochs 10 --batch 32 --optimizer adam --lr 0.0015
              --lr-decay 0.75 (lr of epoch e = lr * G^e) --seed 1 --threads 1 --engine generated;
              with --optimizer sgd: --lr 0.05 --momentum 0.9.
              fashion-cnn: 2 x (conv 3x3 + batch norm + ReLU + max pool), dropout, dense 128, dropout, 10.
              Defaults: --epochs 15 --batch 64 --lr 0.001 --lr-decay 0.85. lenet-cnn, residual-cnn, inception-cnn:
              --epochs 10 --batch 64 --lr 0.002 --lr-decay 0.85. Test accuracy is measured in evaluation mode.
              --augment: random shifts by up to --shift pixels (default 2; zero padding, then a random crop);
              --flip: random horizontal flips. --save-initial writes the starting weights (for train_fashion.py --weights).
              row-lstm, row-gru: each image read as 28 rows of 28 pixels by a two-layer LSTM / GRU of 128, last state ->
              10. Defaults: --epochs 15 --batch 64 --lr 0.002 --lr-decay 0.85 --clip 5.
              --clip N: gradients scaled to a global norm of at most N before each update; each epoch then reports the
              mean and largest gradient norm (before clipping).
              char-lstm [--minutes M] [--text FILE] [--temperature X] [--sample-length N] [--prime TEXT]: a character
              language model (embedding 32, two-layer LSTM of 256, 100-character windows) trained for M minutes (default
              10) on the King James Version (Debian's bible-kjv, dumped once to ~/.cache/dl/kjv.txt); reports training
              and held-out bits per character and samples N characters (default 400) at temperature X (default 0.7).
              Defaults: --batch 32 --lr 0.002 (halved at 60 % and 85 % of the time) --clip 5.
              xor: 2-2-1 sigmoid network on the four XOR samples, full batch. Defaults: --epochs 2000 --lr 2 --momentum 0.9.
              patch-transformer [--limit N] [--warmup E] [--weight-decay X] [--smoothing X] [--no-augment]: a ViT on
              Fashion-MNIST (conv stem, 4x4-pixel patches -> 49 tokens, learned positions, 4 pre-norm GELU encoder layers,
              mean pooling); AdamW, linear warm-up over E epochs then cosine decay per step, label smoothing, random
              shifts + flips. Defaults: --epochs 18 --batch 128 --lr 0.002 --warmup 1 --weight-decay 0.05
              --smoothing 0.1 --shift 2 --clip 1 --threads 2. --limit N: the first N training and N test images (smoke runs).
              reverse-transformer [--limit N] [--heldout N] [--warmup E] [--weight-decay X]: an encoder-decoder
              transformer reversing sequences of 3-12 digits; each epoch trains on N fresh sequences (default 50000),
              then decodes the held-out set (default 2000 sequences, none trained on) greedily step by step and reports
              exact-sequence and token accuracy. Defaults: --epochs 3 --batch 64 --lr 0.001 --warmup 0.2
              --weight-decay 0.01 --clip 1 --threads 1.
              attn-s64 [--heldout N]: the attn_s64_d64_h4 workload's model on a synthetic task (64 x 64 noise with the
              class's ±1 motif at 2 positions); 200 steps of fresh samples per epoch, then held-out accuracy (default
              10000 samples). Defaults: --epochs 5 --batch 32 --lr 0.001 --threads 1.
              conv-autoencoder [--limit N]: conv/pool encoder, ConvTranspose2d decoder, sigmoid output, MSE against the
              input; batches in order over the first N training images (no shuffling: tools/autoencoder_pytorch.py replays
              the run from --save-initial); reports the test-set reconstruction MSE. Defaults: --epochs 1 --batch 64 --lr 0.001.
              --json prints one JSON object per epoch and nothing else on stdout.
          dl bench --workload W [--batch B] [--threads T] [--engine generated|dynamic] [--mode train|infer]
                   [--iters N] [--warmup N] [--seed S] [--save-weights PATH]
              W: xor_2_2_1 (batch 4), mlp_784_128_10, mlp_784_1024_512_10, cnn_lenetish, lstm_32_128_t35,
              attn_s64_d64_h4 (input [B, 64, 64]: sequence 64 x d_model 64), dgex_943_3000_9520 (batch 200).
              Times one step (train: forward + loss + backward + SGD lr 0.01; infer: forward) on one fixed batch of
              standard-normal inputs and uniform labels (standard-normal targets), then prints one JSON line:
              {"workload":..,"batch":..,"threads":..,"engine":..,"mode":..,"median_us":..,"p10_us":..,"p90_us":..,"alloc_bytes_per_step":..}
              --save-weights writes the initial weights (safetensors) for benchmarks/pytorch/bench.py.
          dl peak [--seconds S]
              Measures this core's single-precision multiply-add peak (12 independent FMA chains on registers, Vector256
              and Vector512, best of repeats over S seconds each, default 0.6) and prints one JSON line:
              {"what":"fma_peak","threads":1,"vector256_gflops":..,"vector512_gflops":..} (null: not accelerated).
              benchmarks/ratios.py --peak uses it to bound the speed-up any fp32 implementation can reach.
          dl help
        """;

    public static int Main(string[] args)
    {
        if (args.Length == 0 || args[0] is "help" or "--help" or "-h")
        {
            (args.Length == 0 ? Console.Error : Console.Out).WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }
        try
        {
            return args[0] switch
            {
                "train" => TrainCommand.Run(args.AsSpan(1)),
                "bench" => BenchCommand.Run(args.AsSpan(1)),
                "peak" => PeakCommand.Run(args.AsSpan(1)),
                _ => throw new UsageException($"unknown command '{args[0]}'; expected 'train', 'bench', 'peak' or 'help'."),
            };
        }
        catch (UsageException e)
        {
            Console.Error.WriteLine($"dl: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException or ArgumentException or KeyNotFoundException)
        {
            Console.Error.WriteLine($"dl: {e.Message}");
            return 1;
        }
    }
}
