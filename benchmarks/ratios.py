#!/usr/bin/python3
"""Reads the JSON lines of benchmarks/compare.sh (files or stdin; other lines are skipped) and prints a markdown table:
median µs per engine and the ratios pytorch / generated and dynamic / generated (above 1: generated is faster) and
generated / onnxruntime (Dl ÷ ONNX Runtime for inference: above 1, ONNX Runtime is faster), plus
GFLOP/s of the generated and pytorch engines where the workload's FLOP count is known (WORKLOADS.md: matmul and
convolution multiply-adds only, 2 FLOP per MAC; training counts forward, every weight gradient and every input gradient
except the raw input's).

--peak GFLOPS (the core's multiply-add peak, `dl peak`; compare.sh passes it) adds a column "bound": the largest
pytorch / generated ratio any fp32 implementation could reach on this core, if every counted multiply-add ran at the
peak and nothing else took any time (pytorch µs / (FLOP / peak)). A target above it cannot be met by computing the
same model.

    ratios.py [--peak GFLOPS] [FILE ...]"""
import json
import sys

ENGINES = ("generated", "dynamic", "pytorch", "onnxruntime")

# workload -> (forward MACs per sample, input-gradient MACs per sample of a training step[, weight-gradient MACs per
# sample]). A training step is forward + weight gradients + input gradients; the weight gradients take as many MACs
# as forward unless a third number is given (a matmul of two activations, as in attention, has no weight).
MACS = {
    "mlp_784_128_10": (784 * 128 + 128 * 10, 128 * 10),
    "mlp_784_1024_512_10": (784 * 1024 + 1024 * 512 + 512 * 10, 1024 * 512 + 512 * 10),
    # conv1 1->8 3x3 on 28x28, conv2 8->16 3x3 on 14x14, fc 784->10; conv1's input gradient is not needed.
    "cnn_lenetish": (8 * 9 * 28 * 28 + 16 * 8 * 9 * 14 * 14 + 784 * 10, 16 * 8 * 9 * 14 * 14 + 784 * 10),
    # LSTM 32 -> 128 (4 gates: 512 rows) over 35 steps, then fc 128 -> 10. Forward: per step x_t W_ih^T (32x512) and
    # h_{t-1} W_hh^T (128x512, counted at all 35 steps as WORKLOADS.md does), + the head. Input gradients: the hidden
    # state's through W_hh at 34 steps (h_0 is the fixed zero state, which needs none), + the head's 128x10; the raw
    # input's through W_ih are not needed.
    "lstm_32_128_t35": (35 * (32 * 512 + 128 * 512) + 128 * 10, 34 * 128 * 512 + 128 * 10),
    "dgex_943_3000_9520": (943 * 3000 + 3000 * 3000 + 3000 * 9520, 3000 * 3000 + 3000 * 9520),
    # One post-norm encoder layer on [T = 64, D = 64], 4 heads of 16, FFN 256, mean over T, fc 64 -> 10.
    # Forward: in-proj T·D·3D, scores Q·Kᵀ H·T·T·16, P·V H·T·T·16, out-proj T·D·D, FFN 2·T·D·256, fc 64·10.
    # Weight gradients: the same MACs for every matmul with a weight (all but scores and P·V). Input gradients: fc's
    # 64·10, linear2's and linear1's T·D·256 each, out-proj's T·D·D, P·V's dP and dV and the scores' dQ and dK
    # (H·T·T·16 each); the in-proj's would be the raw input's gradient, which is not needed.
    "attn_s64_d64_h4": (64 * 64 * 192 + 2 * 4 * 64 * 64 * 16 + 64 * 64 * 64 + 2 * 64 * 64 * 256 + 64 * 10,
                        64 * 10 + 2 * 64 * 64 * 256 + 64 * 64 * 64 + 4 * 4 * 64 * 64 * 16,
                        64 * 64 * 192 + 64 * 64 * 64 + 2 * 64 * 64 * 256 + 64 * 10),
}


def flop(r):
    """FLOP of one step of r's workload, mode and batch (None when the workload's count is not known)."""
    if r is None or r["workload"] not in MACS:
        return None
    forward, input_grads, *weight_grads = MACS[r["workload"]]
    macs = forward if r["mode"] == "infer" else forward + (weight_grads[0] if weight_grads else forward) + input_grads
    return 2.0 * macs * r["batch"]


def gflops(r):
    f = flop(r)
    if f is None or not r["median_us"]:
        return ""
    return f"{f / (r['median_us'] * 1e3):.1f}"


def bound(p, peak):
    """pytorch µs / the time of the step's FLOP at the peak: the largest reachable pytorch / generated ratio."""
    f = flop(p)
    if f is None or not p["median_us"] or not peak:
        return ""
    return f"{p['median_us'] / (f / (peak * 1e3)):.2f}"


def read(streams):
    rows = {}
    order = []
    for stream in streams:
        for raw in stream:
            raw = raw.strip()
            if not raw.startswith("{"):
                continue
            try:
                r = json.loads(raw)
            except json.JSONDecodeError:
                continue
            if "workload" not in r or "engine" not in r:
                continue
            key = (r["workload"], r["batch"], r["threads"], r["mode"])
            if key not in rows:
                rows[key] = {}
                order.append(key)
            rows[key][r["engine"]] = r
    return order, rows


def fmt_us(r):
    return "" if r is None else (f"{r['median_us']:,.2f}" if r['median_us'] < 100 else f"{r['median_us']:,.0f}")


def ratio(num, den):
    if num is None or den is None or not den["median_us"]:
        return ""
    return f"{num['median_us'] / den['median_us']:.2f}"


def main():
    args = sys.argv[1:]
    peak = None
    if args[:1] == ["--peak"]:
        if len(args) < 2:
            sys.exit("ratios.py: --peak needs a value in GFLOP/s (see `dl peak`)")
        try:
            peak = float(args[1])
        except ValueError:
            sys.exit(f"ratios.py: --peak is '{args[1]}'; expected GFLOP/s such as 118")
        if not peak > 0:
            sys.exit(f"ratios.py: --peak is {args[1]}; expected a positive number of GFLOP/s")
        args = args[2:]
    streams = [open(p, encoding="utf-8") for p in args] if args else [sys.stdin]
    order, rows = read(streams)
    extra = f" bound at {peak:g} GFLOP/s |" if peak else ""
    print("| workload | batch | threads | mode | generated µs | dynamic µs | pytorch µs | pytorch / generated "
          "| dynamic / generated | onnxruntime µs | generated / onnxruntime | generated alloc B/step | dynamic alloc B/step | generated GFLOP/s | pytorch GFLOP/s |"
          + extra)
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if peak else ""))
    for key in order:
        e = rows[key]
        g, d, p, o = (e.get(name) for name in ENGINES)
        alloc = lambda r: "" if r is None or r.get("alloc_bytes_per_step") is None else f"{r['alloc_bytes_per_step']:g}"
        w, b, t, m = key
        print(f"| {w} | {b} | {t} | {m} | {fmt_us(g)} | {fmt_us(d)} | {fmt_us(p)} | {ratio(p, g)} | {ratio(d, g)} | {fmt_us(o)} | {ratio(g, o)} "
              f"| {alloc(g)} | {alloc(d)} | {gflops(g)} | {gflops(p)} |" + (f" {bound(p, peak)} |" if peak else ""))
    notes = [key for key in order if "ordinary_median_us" in rows[key].get("pytorch", {})
             or "fast_path" in rows[key].get("pytorch", {})]
    if notes:
        print()
        print("PyTorch inference of nn.TransformerEncoderLayer: the pytorch column is its fused path "
              "(torch._transformer_encoder_layer_fwd); ordinary = the composed operators.")
        print()
        print("| workload | batch | threads | fused µs | fused path taken | ordinary µs | ordinary / generated "
              "| ordinary GFLOP/s |")
        print("|---|---:|---:|---:|---|---:|---:|---:|")
        for key in notes:
            p, g = rows[key]["pytorch"], rows[key].get("generated")
            o = {**p, "median_us": p["ordinary_median_us"]} if "ordinary_median_us" in p else None
            taken = {True: "yes", False: "NO"}.get(p.get("fast_path"), "")
            w, b, t, _ = key
            print(f"| {w} | {b} | {t} | {fmt_us(p)} | {taken} | {fmt_us(o)} | {ratio(o, g)} | {gflops(o)} |")


if __name__ == "__main__":
    main()
