#!/usr/bin/python3
"""PyTorch side of the comparison: times one workload of WORKLOADS.md exactly as `dl bench` does and prints one
JSON line with engine "pytorch".

Train step: zero_grad, forward, loss (CrossEntropyLoss / MSELoss, batch mean), backward, SGD step (lr 0.01, no
momentum). Infer step: forward under torch.inference_mode. One fixed batch of standard-normal inputs ([B, 784] for the
MLPs, [B, 1, 28, 28] for cnn_lenetish, [B, 35, 32] batch-first for lstm_32_128_t35, whose module is nn.LSTM + nn.Linear,
[B, 64, 64] batch-first for attn_s64_d64_h4, whose module is nn.TransformerEncoderLayer + mean + nn.Linear) and uniform
integer labels (standard-normal float targets). Initial weights come
from --weights, a safetensors file written by `dl bench --save-weights`, so both engines start from the same
parameters (a tensor stored flat, e.g. a conv weight, is reshaped to the parameter's shape).

attn_s64_d64_h4 infer: the primary figure (median_us, p10_us, p90_us) is PyTorch's fused inference path: eval mode
under torch.inference_mode makes nn.TransformerEncoderLayer call torch._transformer_encoder_layer_fwd. One profiled
forward before the timing checks that aten::_transformer_encoder_layer_fwd really runs and reports it as
"fast_path": true|false (false also warns on stderr). The same line then carries the ordinary forward (the layer's
composed operators, models.AttnS64.ordinary_forward, checked to give the same logits) as "ordinary_median_us",
"ordinary_p10_us" and "ordinary_p90_us", timed the same way right after; --no-ordinary skips it.

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


FAST_PATH_OP = "aten::_transformer_encoder_layer_fwd"


def takes_fast_path(forward):
    """Whether one call of forward() runs PyTorch's fused encoder-layer kernel (seen by torch.profiler)."""
    from torch.profiler import profile, ProfilerActivity
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        forward()
    return any(e.name == FAST_PATH_OP for e in prof.events())


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
    parser.add_argument("--no-ordinary", action="store_true",
                        help="attn_s64_d64_h4 infer: do not also time the ordinary (non-fused) forward")
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
    extra = {}
    ordinary_step = None
    if args.mode == "infer":
        model.eval()

        def step():
            with torch.inference_mode():
                model(x)

        if hasattr(model, "ordinary_forward"):
            extra["fast_path"] = takes_fast_path(step)
            if not extra["fast_path"]:
                print(f"bench.py: warning: {FAST_PATH_OP} was not called; median_us is not the fused inference path",
                      file=sys.stderr)
            if not args.no_ordinary:
                def ordinary_step():
                    with torch.inference_mode():
                        model.ordinary_forward(x)

                with torch.inference_mode():
                    fast, ordinary = model(x), model.ordinary_forward(x)
                if not torch.allclose(fast, ordinary, rtol=1e-4, atol=1e-5):
                    parser.exit(1, f"bench.py: the ordinary forward differs from the fused one by "
                                   f"{float((fast - ordinary).abs().max())}\n")
                if takes_fast_path(ordinary_step):
                    parser.exit(1, f"bench.py: the ordinary forward called {FAST_PATH_OP}\n")
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
    if ordinary_step is not None:
        o_median, o_p10, o_p90, o_iters, o_warmed = measure(ordinary_step, args.iters, args.warmup)
        extra.update(ordinary_median_us=round(o_median, 2), ordinary_p10_us=round(o_p10, 2),
                     ordinary_p90_us=round(o_p90, 2))
    print(json.dumps({"workload": args.workload, "batch": batch, "threads": args.threads, "engine": "pytorch",
                      "mode": args.mode, "median_us": round(median, 2), "p10_us": round(p10, 2),
                      "p90_us": round(p90, 2), "alloc_bytes_per_step": None, **extra}, separators=(",", ":")))
    print(f"bench.py: {iters} timed steps after {warmed} warm-up steps (torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads)", file=sys.stderr)
    if ordinary_step is not None:
        print(f"bench.py: ordinary forward: {o_iters} timed steps after {o_warmed} warm-up steps", file=sys.stderr)


if __name__ == "__main__":
    main()
