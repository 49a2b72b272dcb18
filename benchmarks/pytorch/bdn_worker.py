#!/usr/bin/python3
"""Persistent PyTorch worker for the BenchmarkDotNet suite (benchmarks/Dl.Benchmarks, class TorchWorker).

Builds one workload of models.py (any id of models.WORKLOADS), loads its initial weights from a safetensors file and
one fixed batch from raw little-endian files (inputs float32 [batch x input size], labels int32 [batch] or float32
targets [batch x target size]), then serves commands read line by line from stdin, so that process start-up, the
import of torch and the pipe's set-up stay out of the timed region:

    run N   N training steps (zero_grad, forward, loss, backward, SGD step, lr 0.01, no momentum); replies "done"
    infer N N forward passes (eval mode, under torch.inference_mode; the weights do not change); replies "done"
    loss    the batch-mean loss of the current weights (no update); replies "loss <value>"
    quit    exits (so does the end of stdin)

After set-up the worker prints "ready <loss of the initial weights> torch=<version> threads=<n>", followed for
attn_s64_d64_h4 by " fast_path=yes" (or "fast_path=NO"): whether "infer" runs PyTorch's fused encoder-layer kernel
(torch._transformer_encoder_layer_fwd, checked with torch.profiler as bench.py does). Replies go to stdout
and are flushed; diagnostics go to stderr. Any failure (no torch, bad files, unknown command) ends the process with a
message on stderr and a non-zero exit code, which the C# side reports instead of waiting.
"""
import argparse
import os
import sys


def fail(message, code=2):
    print(f"bdn_worker.py: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--weights", required=True, help="safetensors file of the initial weights")
    parser.add_argument("--inputs", required=True, help="raw float32 inputs, batch x input size")
    parser.add_argument("--targets", required=True, help="raw int32 labels (classification) or float32 targets")
    parser.add_argument("--tuned-malloc", action="store_true",
                        help="raise glibc's mmap/trim thresholds first (as bench.py --tuned-malloc)")
    args = parser.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, here)
    if args.tuned_malloc:
        from malloc_tuning import tune_malloc
        tune_malloc()
    try:
        import torch
    except ImportError as e:
        fail(f"cannot import torch ({e}); install Debian's python3-torch with libopenblas0-openmp (see WORKLOADS.md and benchmarks/README.md)", 3)
    from models import WORKLOADS, load_weights
    import safetensors_lite

    if args.workload not in WORKLOADS:
        fail(f"unknown workload '{args.workload}'; one of {', '.join(sorted(WORKLOADS))}")
    module_type, input_shape, classes, target_size, fixed_batch = WORKLOADS[args.workload]
    batch = args.batch
    if batch < 1 or args.threads < 1:
        fail("--batch and --threads must be at least 1")
    if fixed_batch and batch != fixed_batch:
        fail(f"workload {args.workload} is defined at batch {fixed_batch}; got --batch {batch}")

    torch.set_num_threads(args.threads)
    model = module_type()
    load_weights(model, safetensors_lite.load(args.weights))
    model.train()

    def read_raw(path, dtype, shape):
        with open(path, "rb") as f:
            raw = bytearray(f.read())
        count = 1
        for s in shape:
            count *= s
        expected = count * torch.tensor([], dtype=dtype).element_size()
        if len(raw) != expected:
            fail(f"{path} has {len(raw)} bytes; expected {expected} ({dtype} {list(shape)})")
        return torch.frombuffer(raw, dtype=dtype, count=count).reshape(shape).clone()

    x = read_raw(args.inputs, torch.float32, (batch, *input_shape))
    if classes:
        y = read_raw(args.targets, torch.int32, (batch,)).long()
        if int(y.min()) < 0 or int(y.max()) >= classes:
            fail(f"labels must lie in 0..{classes - 1}")
        loss_fn = torch.nn.CrossEntropyLoss()
    else:
        y = read_raw(args.targets, torch.float32, (batch, target_size))
        loss_fn = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    def infer(n):
        model.eval()
        try:
            with torch.inference_mode():
                for _ in range(n):
                    model(x)
        finally:
            model.train()

    def current_loss():
        with torch.no_grad():
            return float(loss_fn(model(x), y))

    banner = f"torch={torch.__version__} threads={torch.get_num_threads()}"
    if hasattr(model, "ordinary_forward"):
        from bench import takes_fast_path
        banner += " fast_path=" + ("yes" if takes_fast_path(lambda: infer(1)) else "NO")

    out = sys.stdout
    out.write(f"ready {current_loss()!r} {banner}\n")
    out.flush()
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "run" and len(parts) == 2 and parts[1].isdigit():
            for _ in range(int(parts[1])):
                step()
            out.write("done\n")
        elif parts[0] == "infer" and len(parts) == 2 and parts[1].isdigit():
            infer(int(parts[1]))
            out.write("done\n")
        elif parts[0] == "loss" and len(parts) == 1:
            out.write(f"loss {current_loss()!r}\n")
        elif parts[0] == "quit":
            break
        else:
            fail(f"unknown command {line.strip()!r} (run N | infer N | loss | quit)")
        out.flush()


if __name__ == "__main__":
    main()
