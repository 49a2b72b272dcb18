using System.CommandLine;

namespace Dl.Cli;

/// <summary>The options of <c>dl train</c>, what each means, and which models take it. An option given for a model it
/// does not apply to is a usage error naming the option, the model and the models it applies to (an option silently
/// ignored is a run the user did not ask for).</summary>
internal static class TrainOptions
{
    public static readonly string[] ImageModels =
        ["fashion-mlp", "fashion-cnn", "lenet-cnn", "residual-cnn", "inception-cnn", "row-lstm", "row-gru"];

    public static readonly string[] AllModels =
        [.. ImageModels, "char-lstm", "xor", "patch-transformer", "reverse-transformer", "attn-s64", "conv-autoencoder"];

    private static string[] Images(params string[] more) => [.. ImageModels, .. more];

    private static string[] AllBut(params string[] excluded) => [.. AllModels.Where(m => !excluded.Contains(m))];

    /// <summary>(name, help name, description, models it applies to); a null help name is a flag.</summary>
    private static readonly (string Name, string? HelpName, string Description, string[] Models)[] Table =
    [
        ("model", "MODEL", $"The model to train (default fashion-mlp): {string.Join(", ", AllModels)}.", AllModels),
        ("epochs", "N", "Epochs (steps for xor) to train; defaults per model below.", AllBut("char-lstm")),
        ("batch", "B", "Samples per step; defaults per model below.", AllBut("xor")),
        ("optimizer", "NAME", "adam (default), adamw or sgd (default for xor).", Images("xor")),
        ("lr", "X", "The (initial, or peak) learning rate; defaults per model below.", AllModels),
        ("lr-decay", "G", "Learning rate of epoch e = lr * G^e.", ImageModels),
        ("momentum", "X", "SGD's momentum (default 0.9; sgd only).", Images("xor")),
        ("seed", "S", "Seed of the initial weights, data order and augmentation (default 1).", AllModels),
        ("threads", "T", "Threads of the generated engine (default 1; 2 for patch-transformer).", AllBut("xor")),
        ("data", "DIR", "Fashion-MNIST folder (default /usr/share/datasets/fashion-mnist if installed, else the embedded subset; 'embedded' forces the subset).",
            Images("patch-transformer", "conv-autoencoder")),
        ("limit", "N", "Train on the first N training images and test on the first N test images (reverse-transformer: sequences per epoch).",
            Images("patch-transformer", "reverse-transformer", "conv-autoencoder")),
        ("engine", "NAME", "generated (default: the source-generated code) or dynamic (the define-by-run tape).", Images("xor", "conv-autoencoder")),
        ("augment", null, "Random shifts by up to --shift pixels (zero padding, then a random crop).", ImageModels),
        ("shift", "P", "The largest shift of --augment, in pixels (default 2).", Images("patch-transformer")),
        ("flip", null, "Random horizontal flips.", ImageModels),
        ("no-augment", null, "Turns off patch-transformer's shifts and flips.", ["patch-transformer"]),
        ("clip", "N", "Gradients scaled to a global norm of at most N before each update (0: off); each epoch then reports the mean and largest norm.",
            Images("char-lstm", "patch-transformer", "reverse-transformer")),
        ("warmup", "E", "Epochs of linear learning-rate warm-up before the cosine decay.", ["patch-transformer", "reverse-transformer"]),
        ("weight-decay", "X", "AdamW's decoupled weight decay.", ["patch-transformer", "reverse-transformer"]),
        ("smoothing", "X", "Label smoothing of the cross-entropy targets.", ["patch-transformer"]),
        ("heldout", "N", "Held-out samples evaluated after each epoch.", ["reverse-transformer", "attn-s64"]),
        ("minutes", "M", "Minutes to train (default 10).", ["char-lstm"]),
        ("text", "FILE", "Training text (default: the King James Version from Debian's bible-kjv).", ["char-lstm"]),
        ("temperature", "X", "Sampling temperature (default 0.7).", ["char-lstm"]),
        ("sample-length", "N", "Characters to sample at the end (default 400).", ["char-lstm"]),
        ("prime", "TEXT", "Text the sample starts from (default \"And God said\").", ["char-lstm"]),
        ("save", "PATH", "Writes the trained weights (safetensors) to PATH.", AllBut("attn-s64")),
        ("save-initial", "PATH", "Writes the starting weights (for benchmarks/pytorch/train_fashion.py --weights).", Images("conv-autoencoder")),
        ("report", "DIR", "Writes an HTML training report (charts, confusion matrix, misclassified images) into DIR.", ImageModels),
        ("distributed", null, "Data-parallel training as one rank of 'mpirun -np N dl train ... --distributed' (Open MPI): --batch is the global " +
            "batch, split across the ranks; rank 0 alone prints, evaluates, saves and writes the report. Refused without mpirun (mpirun -np 1 runs one rank).",
            Images("conv-autoencoder")),
        ("json", null, "One JSON object per epoch on stdout and nothing else.", AllModels),
    ];

    public static IEnumerable<Option> CreateOptions() => Table.Select(o => o.HelpName is null
        ? (Option)CommandLine.Flag(o.Name, o.Description)
        : CommandLine.Value(o.Name, o.HelpName, o.Description));

    /// <summary>Throws a <see cref="UsageException"/> for the first option given that <paramref name="model"/> does not take.</summary>
    public static void CheckApplicable(CommandLine cl, string model)
    {
        foreach (var option in Table)
        {
            if (cl.Has(option.Name) && !option.Models.Contains(model))
            {
                string takers = option.Models.SequenceEqual(ImageModels) ? $"the image models ({string.Join(", ", ImageModels)})" : string.Join(", ", option.Models);
                throw new UsageException($"'train': --{option.Name} does not apply to --model {model}; it applies to {takers}.");
            }
        }
    }

    /// <summary>The per-model defaults <c>dl train --help</c> shows under the options.</summary>
    public const string ModelsHelp = """
        Models and their defaults:
          fashion-mlp (default): 784-128-10 on Fashion-MNIST from --data, else /usr/share/datasets/fashion-mnist, else the
            subset embedded in Dl.Models. --epochs 10 --batch 32 --optimizer adam --lr 0.0015 --lr-decay 0.75 --seed 1
            --threads 1 --engine generated; with --optimizer sgd: --lr 0.05 --momentum 0.9.
          fashion-cnn: 2 x (conv 3x3 + batch norm + ReLU + max pool), dropout, dense 128, dropout, 10.
            --epochs 15 --batch 64 --lr 0.001 --lr-decay 0.85.
          lenet-cnn, residual-cnn, inception-cnn: --epochs 10 --batch 64 --lr 0.002 --lr-decay 0.85.
            Test accuracy is measured in evaluation mode.
          row-lstm, row-gru: each image read as 28 rows of 28 pixels by a two-layer LSTM / GRU of 128, last state -> 10.
            --epochs 15 --batch 64 --lr 0.002 --lr-decay 0.85 --clip 5.
          char-lstm: a character language model (embedding 32, two-layer LSTM of 256, 100-character windows) trained for
            --minutes on the King James Version (dumped once to ~/.cache/dl/kjv.txt); reports training and held-out bits
            per character and samples --sample-length characters. --batch 32 --lr 0.002 (halved at 60 % and 85 % of the
            time) --clip 5.
          xor: 2-2-1 sigmoid network on the four XOR samples, full batch. --epochs 2000 --optimizer sgd --lr 2 --momentum 0.9.
          patch-transformer: a ViT on Fashion-MNIST (conv stem, 4x4-pixel patches -> 49 tokens, learned positions, 4 pre-norm
            GELU encoder layers, mean pooling); AdamW, linear warm-up then cosine decay per step, label smoothing, random
            shifts + flips. --epochs 18 --batch 128 --lr 0.002 --warmup 1 --weight-decay 0.05 --smoothing 0.1 --shift 2
            --clip 1 --threads 2.
          reverse-transformer: an encoder-decoder transformer reversing sequences of 3-12 digits; each epoch trains on --limit
            fresh sequences (default 50000), then decodes the held-out set (default 2000) greedily and reports exact-sequence
            and token accuracy. --epochs 3 --batch 64 --lr 0.001 --warmup 0.2 --weight-decay 0.01 --clip 1 --threads 1.
          attn-s64: the attn_s64_d64_h4 workload's model on a synthetic task (64 x 64 noise with the class's +-1 motif at 2
            positions); 200 steps of fresh samples per epoch, then held-out accuracy (default 10000 samples).
            --epochs 5 --batch 32 --lr 0.001 --threads 1.
          conv-autoencoder: conv/pool encoder, ConvTranspose2d decoder, sigmoid output, MSE against the input; batches in order
            over the first --limit training images (no shuffling: tools/autoencoder_pytorch.py replays the run from
            --save-initial); reports the test-set reconstruction MSE. --epochs 1 --batch 64 --lr 0.001.
        """;
}
