#!/usr/bin/python3
"""The ConvAutoencoder of src/Dl.Models (Models/Autoencoder.cs) in PyTorch, trained with the recipe of
`dl train --model conv-autoencoder`: from the same initial weights (`--save-initial` of that run), Adam, batches taken in
order (no shuffling) from the first --limit training images, the input as its own target (F.mse_loss), then the
test set's reconstruction MSE (the mean over every pixel of every test image). One thread, like the C# run.

    dl train --model conv-autoencoder --epochs 1 --limit 20000 --save-initial /tmp/ae0.safetensors
    /usr/bin/python3 tools/autoencoder_pytorch.py --weights /tmp/ae0.safetensors --epochs 1 --limit 20000
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
from torch import nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks", "pytorch"))
from safetensors_lite import load  # noqa: E402


def images(path):
    """An IDX3 file of uint8 images (gzipped or not) as float32 [n, 1, 28, 28] scaled to byte / 255."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    n, rows, cols = int.from_bytes(raw[4:8], "big"), int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
    data = np.frombuffer(raw, dtype=np.uint8, offset=16, count=n * rows * cols)
    return torch.tensor(data.reshape(n, 1, rows, cols).astype(np.float32) / 255.0)


class ConvAutoencoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc1 = nn.Conv2d(1, 16, 3, padding=1)
        self.enc2 = nn.Conv2d(16, 32, 3, padding=1)
        self.dec1 = nn.ConvTranspose2d(32, 16, 3, stride=2, padding=1, output_padding=1)
        self.dec2 = nn.ConvTranspose2d(16, 1, 3, stride=2, padding=1, output_padding=1)

    def forward(self, x):
        h = F.max_pool2d(F.relu(self.enc1(x)), 2)
        h = F.max_pool2d(F.relu(self.enc2(h)), 2)
        h = F.relu(self.dec1(h))
        return torch.sigmoid(self.dec2(h))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True, help="initial weights (safetensors) from dl train --save-initial")
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)

    def find(name):
        for suffix in (".gz", ""):
            if os.path.exists(os.path.join(args.data, name + suffix)):
                return os.path.join(args.data, name + suffix)
        raise FileNotFoundError(os.path.join(args.data, name))

    train = images(find("train-images-idx3-ubyte"))
    test = images(find("t10k-images-idx3-ubyte"))
    limit = args.limit or len(train)
    model = ConvAutoencoder()
    state = load(args.weights)
    model.load_state_dict(state, strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    elapsed = 0.0
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, start = 0.0, time.perf_counter()
        for first in range(0, limit, args.batch):
            x = train[first:min(first + args.batch, limit)]
            loss = F.mse_loss(model(x), x)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(x)
        seconds = time.perf_counter() - start
        elapsed += seconds
        model.eval()
        with torch.no_grad():
            err = sum(F.mse_loss(model(test[i:i + 1000]), test[i:i + 1000], reduction="sum").item() for i in range(0, len(test), 1000))
        test_mse = err / test.numel()
        print(json.dumps({"model": "conv-autoencoder", "engine": "pytorch", "epoch": epoch, "train_mse": round(total / limit, 6),
                          "test_mse": round(test_mse, 6), "seconds": round(seconds, 3), "elapsed": round(elapsed, 3)}))


if __name__ == "__main__":
    main()
