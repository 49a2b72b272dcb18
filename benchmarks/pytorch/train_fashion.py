#!/usr/bin/python3
"""PyTorch equivalent of `dl train --model fashion-mlp|fashion-cnn` on Fashion-MNIST, softmax cross-entropy, pixels
scaled to byte / 255, shuffled every epoch, the learning rate multiplied by --lr-decay after every epoch.

fashion-mlp (default): the 784-128-10 ReLU MLP; Adam lr 0.0015, decay 0.75, batch 32, 10 epochs (--optimizer sgd gives
SGD lr 0.05 momentum 0.9).
fashion-cnn: FashionCnn of models.py (conv-bn-relu-pool x2, conv-bn-relu, dropout, 3136-128-10); Adam lr 0.001, decay 0.85, batch 64.
--augment shifts every training image by a random offset (zero padding 2, crop back at an offset in [0, 4] per axis,
per sample: torchvision's RandomCrop(28, padding=2)); --flip adds a random horizontal flip (p 0.5). Both draw from a
torch.Generator seeded with --seed, so runs are reproducible.

Prints one JSON line per epoch like `dl train --json` (seconds = training time of the epoch, evaluation excluded;
elapsed_seconds = training seconds summed so far; wall_seconds = time since training began, evaluation included), then a
summary line with the first epoch whose test accuracy reached --target (default 0.91) and the training and wall seconds
at that point (null when never reached).

--weights loads the initial weights from a safetensors file (`dl bench --workload mlp_784_128_10 --save-weights F`
writes the weights `dl train --seed 1` starts from). Tensors stored flat are reshaped; bn*.num_batches_tracked may be
absent, and so may the running statistics of an untrained checkpoint (they then start at mean 0, variance 1).
--tuned-malloc: see malloc_tuning.py (PyTorch's multi-MB activations otherwise cost page faults every step)."""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import FashionCnn, FashionMlp, load_weights  # noqa: E402
from malloc_tuning import tune_malloc  # noqa: E402
import safetensors_lite  # noqa: E402

# model -> (module class, input shape per sample, Adam lr, SGD lr, lr decay, batch)
MODELS = {
    "fashion-mlp": (FashionMlp, (784,), 0.0015, 0.05, 0.75, 32),
    "fashion-cnn": (FashionCnn, (1, 28, 28), 0.001, 0.05, 0.85, 64),
}
EVAL_CHUNK = 1000


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", raw[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = torch.frombuffer(bytearray(raw[4 + 4 * ndim:]), dtype=torch.uint8)
    return data.reshape(dims)


def locate(directory, name):
    for candidate in (os.path.join(directory, name + ".gz"), os.path.join(directory, name)):
        if os.path.exists(candidate):
            return candidate
    raise FileNotFoundError(f"neither {name}.gz nor {name} in {directory}")


def load(directory, prefix):
    images = read_idx(locate(directory, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(locate(directory, f"{prefix}-labels-idx1-ubyte"))
    return images.reshape(images.shape[0], -1).float() / 255.0, labels.long()


def random_shift(x, padding, generator):
    """x [B, C, H, W]: zero-pad by `padding` on every side and crop back to H x W at an offset drawn uniformly from
    [0, 2 * padding] per axis and per sample (an offset of `padding` leaves the image unchanged)."""
    b, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    oy = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    ox = torch.randint(0, 2 * padding + 1, (b,), generator=generator)
    rows = (oy[:, None] + torch.arange(h))[:, None, :, None]   # [B, 1, H, 1]
    cols = (ox[:, None] + torch.arange(w))[:, None, None, :]   # [B, 1, 1, W]
    return padded[torch.arange(b)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]


def random_flip(x, generator):
    """Flips each image of x [B, C, H, W] left-right with probability 0.5."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def accuracy(model, x, y):
    model.eval()
    correct = 0
    with torch.inference_mode():
        for i in range(0, x.shape[0], EVAL_CHUNK):
            correct += (model(x[i:i + EVAL_CHUNK]).argmax(dim=1) == y[i:i + EVAL_CHUNK]).sum().item()
    return correct / x.shape[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(MODELS), default="fashion-mlp")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, help="default: 32 (fashion-mlp), 64 (fashion-cnn)")
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--lr-decay", type=float, help="default: 0.75 (fashion-mlp), 0.85 (fashion-cnn)")
    parser.add_argument("--augment", action="store_true", help="random shift, zero padding 2 (training batches only)")
    parser.add_argument("--flip", action="store_true", help="random horizontal flip, p 0.5 (training batches only)")
    parser.add_argument("--target", type=float, default=0.91, help="test accuracy whose first reaching is reported")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", help="initial weights (safetensors)")
    parser.add_argument("--tuned-malloc", action="store_true",
                        help="keep freed memory in glibc's heap (no per-step mmap/munmap page faults; malloc_tuning.py)")
    args = parser.parse_args()

    module_type, input_shape, adam_lr, sgd_lr, default_decay, default_batch = MODELS[args.model]
    batch = args.batch if args.batch is not None else default_batch
    decay = args.lr_decay if args.lr_decay is not None else default_decay
    if args.epochs < 1 or batch < 1 or args.threads < 1:
        parser.error("--epochs, --batch and --threads must be at least 1")
    if (args.augment or args.flip) and len(input_shape) != 3:
        parser.error(f"--augment and --flip apply to image models (fashion-cnn), not {args.model}")

    if args.tuned_malloc:
        tune_malloc()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    augment_rng = torch.Generator().manual_seed(args.seed)
    x_train, y_train = load(args.data, "train")
    x_test, y_test = load(args.data, "t10k")
    x_train = x_train.reshape(-1, *input_shape)
    x_test = x_test.reshape(-1, *input_shape)
    tensors = safetensors_lite.load(args.weights) if args.weights else None
    if module_type is FashionCnn:
        model = FashionCnn(conv_bias=tensors is not None and "conv1.bias" in tensors)
    else:
        model = module_type()
    if tensors is not None:
        absent = [k for k in model.state_dict() if k.endswith(("running_mean", "running_var")) and k not in tensors]
        if absent:
            print(f"train_fashion.py: {args.weights} has no {', '.join(absent)}; they start at PyTorch's defaults",
                  file=sys.stderr)
        load_weights(model, tensors, allow_missing=("num_batches_tracked", "running_mean", "running_var"))
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr if args.lr is not None else adam_lr)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr if args.lr is not None else sgd_lr,
                                    momentum=args.momentum)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x_train.shape[0]
    print(f"train_fashion.py: {args.model}, {n} train, {x_test.shape[0]} test samples from {args.data}; batch {batch}, "
          f"{args.optimizer} lr {optimizer.param_groups[0]['lr']:g} x {decay:g}/epoch"
          f"{', shift 2' if args.augment else ''}{', flip' if args.flip else ''}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", file=sys.stderr)
    elapsed = 0.0
    reached = None
    begin = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(n)
        loss_sum = 0.0
        for i in range(0, n, batch):
            index = order[i:i + batch]
            xb, yb = x_train[index], y_train[index]
            if args.flip:
                xb = random_flip(xb, augment_rng)
            if args.augment:
                xb = random_shift(xb, 2, augment_rng)
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
        schedule.step()
        seconds = time.perf_counter() - start
        elapsed += seconds
        test_accuracy = accuracy(model, x_test, y_test)
        wall = time.perf_counter() - begin
        if reached is None and test_accuracy >= args.target:
            reached = (epoch, elapsed, wall)
        print(json.dumps({"model": args.model, "engine": "pytorch", "epoch": epoch,
                          "train_loss": round(loss_sum / n, 4), "test_accuracy": round(test_accuracy, 4),
                          "seconds": round(seconds, 3), "elapsed_seconds": round(elapsed, 3),
                          "wall_seconds": round(wall, 3)}, separators=(",", ":")), flush=True)
    print(json.dumps({"model": args.model, "engine": "pytorch", "target_accuracy": args.target,
                      "target_epoch": reached[0] if reached else None,
                      "target_train_seconds": round(reached[1], 3) if reached else None,
                      "target_wall_seconds": round(reached[2], 3) if reached else None}, separators=(",", ":")),
          flush=True)


if __name__ == "__main__":
    main()
