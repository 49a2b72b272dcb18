#!/usr/bin/python3
"""PyTorch equivalent of `dl train --model fashion-mlp`: the 784-128-10 ReLU MLP on Fashion-MNIST, softmax
cross-entropy, the same optimizer and schedule (Adam lr 0.0015 decayed per epoch by 0.75, batch 32, 10 epochs by
default; --optimizer sgd gives SGD lr 0.05 momentum 0.9), pixels scaled to byte / 255, shuffled every epoch.
Prints one JSON line per epoch like `dl train --json` (seconds = training time of the epoch, evaluation excluded).

--weights loads the initial weights from a safetensors file (`dl bench --workload mlp_784_128_10 --save-weights F`
writes the weights `dl train --seed 1` starts from)."""
import argparse
import gzip
import json
import os
import struct
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import FashionMlp  # noqa: E402
import safetensors_lite  # noqa: E402


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--lr-decay", type=float, default=0.75)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", help="initial weights (safetensors)")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    x_train, y_train = load(args.data, "train")
    x_test, y_test = load(args.data, "t10k")
    model = FashionMlp()
    if args.weights:
        model.load_state_dict(safetensors_lite.load(args.weights), strict=True)
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr if args.lr is not None else 0.0015)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr if args.lr is not None else 0.05,
                                    momentum=args.momentum)
    schedule = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=args.lr_decay)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x_train.shape[0]
    print(f"train_fashion.py: {n} train, {x_test.shape[0]} test samples from {args.data}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", file=sys.stderr)
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(n)
        loss_sum = 0.0
        for i in range(0, n, args.batch):
            index = order[i:i + args.batch]
            xb, yb = x_train[index], y_train[index]
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            loss_sum += loss.item() * len(index)
        schedule.step()
        seconds = time.perf_counter() - start
        model.eval()
        with torch.inference_mode():
            correct = (model(x_test).argmax(dim=1) == y_test).sum().item()
        print(json.dumps({"model": "fashion-mlp", "engine": "pytorch", "epoch": epoch,
                          "train_loss": round(loss_sum / n, 4), "test_accuracy": round(correct / x_test.shape[0], 4),
                          "seconds": round(seconds, 3)}, separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
