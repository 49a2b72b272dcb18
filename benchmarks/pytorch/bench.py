#!/usr/bin/python3
"""PyTorch side of the comparison: times one workload of WORKLOADS.md exactly as `dl bench` does and prints one
JSON line with engine "pytorch".

Train step: zero_grad, forward, loss (CrossEntropyLoss / MSELoss, batch mean), backward, SGD step (lr 0.01, no
momentum). Infer step: forward under torch.inference_mode. One fixed batch of standard-normal inputs ([B, 784] for the
MLPs, [B, 1, 28, 28] for cnn_lenetish, [B, 35, 32] batch-first for lstm_32_128_t35, whose module is nn.LSTM + nn.Linear)
and uniform integer labels (standard-normal float targets). Initial weights come
from --weights, a safetensors file written by `dl bench --save-weights`, so both engines start from the same
parameters (a tensor stored flat, e.g. a conv weight, is reshaped to the parameter's shape).

alloc_bytes_per_step is null: PyTorch's allocations happen in C++ (c10's CPU allocator) and are not visible to a
per-thread counter like .NET's GC.GetAllocatedBytesForCurrentThread.

--tuned-malloc raises glibc's mmap and trim thresholds before the model is built (see malloc_tuning.py: without it,
multi-MB activations are mmap'ed and unmapped every step; cnn_lenetish train at batch 256: ~34 ms -> ~21 ms).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from models import WORKLOADS, load_weights  # noqa: E402
from malloc_tuning import tune_malloc  # noqa: E402
import safetensors_lite  # noqa: E402

TARGET_SECONDS = 2.0
WARMUP_SECONDS = 0.5


def percentile(sorted_values, q):
    position = q * (len(sorted_values) - 1)
    lo = int(position)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (position - lo)


def measure(step, iters, warmup):
    start = time.perf_counter()
    warmed = 0
    if warmup is not None:
        for _ in range(warmup):
            step()
        warmed = warmup
    else:
        while warmed < 3 or time.perf_counter() - start < WARMUP_SECONDS:
            step()
            warmed += 1
    warm_seconds = time.perf_counter() - start
    if iters is None:
        if warmed == 0:
            t = time.perf_counter()
            step()
            warmed, warm_seconds = 1, time.perf_counter() - t
        per_step = max(warm_seconds / warmed, 1e-7)
        iters = int(min(max(-(-TARGET_SECONDS // per_step), 5), 1_000_000))
    times = [0] * iters
    clock = time.perf_counter_ns
    for i in range(iters):
        t0 = clock()
        step()
        times[i] = clock() - t0
    times.sort()
    us = [t / 1000.0 for t in times]
    return percentile(us, 0.5), percentile(us, 0.1), percentile(us, 0.9), iters, warmed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True, choices=sorted(WORKLOADS))
    parser.add_argument("--batch", type=int)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mode", choices=["train", "infer"], default="train")
    parser.add_argument("--iters", type=int)
    parser.add_argument("--warmup", type=int)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--weights", help="safetensors file of initial weights (from `dl bench --save-weights`)")
    parser.add_argument("--tuned-malloc", action="store_true",
                        help="keep freed memory in glibc's heap (no per-step mmap/munmap page faults)")
    args = parser.parse_args()

    module_type, input_shape, classes, target_size, fixed_batch = WORKLOADS[args.workload]
    batch = args.batch if args.batch is not None else (fixed_batch or 32)
    if fixed_batch and batch != fixed_batch:
        parser.error(f"workload {args.workload} is defined at batch {fixed_batch}; got --batch {batch}")
    if batch < 1 or args.threads < 1:
        parser.error("--batch and --threads must be at least 1")
    if args.iters is not None and args.iters < 1:
        parser.error("--iters must be at least 1")

    if args.tuned_malloc:
        tune_malloc()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    model = module_type()
    if args.weights:
        load_weights(model, safetensors_lite.load(args.weights))
    else:
        print(f"bench.py: no --weights; using PyTorch's own initialization", file=sys.stderr)

    x = torch.randn(batch, *input_shape)
    if args.mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode():
                model(x)
    else:
        model.train()
        if classes:
            y = torch.randint(0, classes, (batch,))
            loss_fn = torch.nn.CrossEntropyLoss()
        else:
            y = torch.randn(batch, target_size)
            loss_fn = torch.nn.MSELoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

        def step():
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()

    median, p10, p90, iters, warmed = measure(step, args.iters, args.warmup)
    print(json.dumps({"workload": args.workload, "batch": batch, "threads": args.threads, "engine": "pytorch",
                      "mode": args.mode, "median_us": round(median, 2), "p10_us": round(p10, 2),
                      "p90_us": round(p90, 2), "alloc_bytes_per_step": None}, separators=(",", ":")))
    print(f"bench.py: {iters} timed steps after {warmed} warm-up steps (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)", file=sys.stderr)


if __name__ == "__main__":
    main()
