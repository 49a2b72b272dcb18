#!/usr/bin/env bash
# Runs the benchmark workloads of WORKLOADS.md in the generated, dynamic, pytorch and (inference only) onnxruntime
# engines and prints one JSON line
# per measurement (the output contract of WORKLOADS.md).
#
#   benchmarks/compare.sh --workload W --batch B --threads T --engine generated|dynamic|pytorch|onnxruntime --mode train|infer
#   benchmarks/compare.sh --workload W [--batch B] [--mode M] [--threads T] [--with-slow] [--out FILE]
#   benchmarks/compare.sh --all [--threads T] [--with-slow] [--out FILE]
#   (any form) --tuned-malloc: PyTorch runs with glibc's mmap/trim thresholds raised (bench.py --tuned-malloc)
#
# With --engine: one measurement (batch and mode default to the workload's default batch and train).
# --all runs every workload x batch x engine x mode of the issue scope (dgex: train only, dynamic only with
# --with-slow), then prints the markdown ratio table of benchmarks/ratios.py (with its bound column from `dl peak`, the
# core's multiply-add peak). --workload W without --engine does the
# same for W's part of that matrix (e.g. lstm_32_128_t35 or attn_s64_d64_h4: batches 1 and 32, train and infer),
# narrowed by --batch and --mode when given (a --batch outside the matrix is run in both modes). With --out the JSON
# lines are also written to FILE. attn_s64_d64_h4's pytorch infer line is the fused inference path
# (torch._transformer_encoder_layer_fwd; "fast_path": true once checked) and also carries the ordinary forward as
# ordinary_median_us / ordinary_p10_us / ordinary_p90_us (bench.py). The .NET side is built once (Release) and run
# as `dotnet dl.dll`; PyTorch gets the same initial weights through `dl bench --save-weights`. onnxruntime is the
# model exported by Dl.Onnx with the seed `dl bench` uses, run by ONNX Runtime (benchmarks/Dl.OrtBench, T intra-op
# threads, sequential), for inference only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
python=/usr/bin/python3
dll="$root/src/Dl.Cli/bin/Release/net10.0/dl.dll"
ort_dll="$root/benchmarks/Dl.OrtBench/bin/Release/net10.0/Dl.OrtBench.dll"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}" >&2; exit 2; }
die() { echo "compare.sh: $*" >&2; exit 2; }

all=0 with_slow=0 tuned_malloc=() workload="" batch="" threads=1 engine="" mode="" out=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --all) all=1; shift ;;
    --with-slow) with_slow=1; shift ;;
    --tuned-malloc) tuned_malloc=(--tuned-malloc); shift ;;
    --workload|--batch|--threads|--engine|--mode|--out)
      [[ $# -ge 2 ]] || die "option $1 needs a value"
      declare "${1#--}=$2"; shift 2 ;;
    -h|--help) usage ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$threads" =~ ^[1-9][0-9]*$ ]] || die "--threads must be a positive integer; got '$threads'"

build() {
  echo "compare.sh: building src/Dl.Cli (Release)..." >&2
  dotnet build "$root/src/Dl.Cli" -c Release -nologo -v quiet -clp:NoSummary >&2 || die "the build of src/Dl.Cli failed"
  [[ -f "$dll" ]] || die "expected $dll after the build"
  echo "compare.sh: building benchmarks/Dl.OrtBench (Release)..." >&2
  dotnet build "$root/benchmarks/Dl.OrtBench" -c Release -nologo -v quiet -clp:NoSummary >&2 || die "the build of benchmarks/Dl.OrtBench failed"
  [[ -f "$ort_dll" ]] || die "expected $ort_dll after the build"
}

weights_dir="$(mktemp -d)"
trap 'rm -rf "$weights_dir"' EXIT

# run_one WORKLOAD BATCH ENGINE MODE: prints the JSON line of one measurement.
run_one() {
  local w="$1" b="$2" e="$3" m="$4"
  case "$e" in
    generated|dynamic)
      dotnet "$dll" bench --workload "$w" --batch "$b" --threads "$threads" --engine "$e" --mode "$m" 2>/dev/null ;;
    pytorch)
      local weights="$weights_dir/$w.safetensors"
      if [[ ! -f "$weights" ]]; then
        dotnet "$dll" bench --workload "$w" --batch "$b" --mode infer --iters 1 --warmup 0 \
          --save-weights "$weights" >/dev/null 2>&1 || die "could not write the initial weights of $w"
      fi
      "$python" "$here/pytorch/bench.py" --workload "$w" --batch "$b" --threads "$threads" --mode "$m" \
        --weights "$weights" "${tuned_malloc[@]}" 2>/dev/null ;;
    onnxruntime)
      [[ "$m" == infer ]] || die "the onnxruntime engine measures inference only (--mode infer)"
      dotnet "$ort_dll" --workload "$w" --batch "$b" --threads "$threads" 2>/dev/null ;;
    *) die "--engine must be generated, dynamic, pytorch or onnxruntime; got '$e'" ;;
  esac
}

check_workload() {
  case "$workload" in
    xor_2_2_1|mlp_784_128_10|mlp_784_1024_512_10|cnn_lenetish|lstm_32_128_t35|attn_s64_d64_h4|dgex_943_3000_9520) ;;
    *) die "--workload must be xor_2_2_1, mlp_784_128_10, mlp_784_1024_512_10, cnn_lenetish, lstm_32_128_t35, attn_s64_d64_h4 or dgex_943_3000_9520; got '$workload'" ;;
  esac
}
check_batch_mode() {
  [[ -z "$batch" || "$batch" =~ ^[1-9][0-9]*$ ]] || die "--batch must be a positive integer; got '$batch'"
  [[ -z "$mode" || "$mode" == train || "$mode" == infer ]] || die "--mode must be train or infer; got '$mode'"
}

if [[ $all -eq 0 && -n "$engine" ]]; then
  [[ -n "$workload" ]] || die "give --workload and --engine (and --batch, --mode), --workload alone, or --all"
  case "$workload" in
    xor_2_2_1) batch="${batch:-4}" ;;
    dgex_943_3000_9520) batch="${batch:-200}" ;;
    *) batch="${batch:-32}" ;;
  esac
  check_workload
  mode="${mode:-train}"
  check_batch_mode
  [[ "$engine" == generated || "$engine" == dynamic || "$engine" == pytorch || "$engine" == onnxruntime ]] \
    || die "--engine must be generated, dynamic, pytorch or onnxruntime; got '$engine'"
  build
  line="$(run_one "$workload" "$batch" "$engine" "$mode")" || die "the $engine run of $workload failed"
  echo "$line"
  [[ -z "$out" ]] || echo "$line" >> "$out"
  exit 0
fi

if [[ $all -eq 0 ]]; then
  [[ -n "$workload" ]] || die "give --workload and --engine (and --batch, --mode), --workload alone, or --all"
  check_workload
  check_batch_mode
elif [[ -n "$workload$batch$mode" ]]; then
  die "--all runs every workload, batch and mode; use --workload W [--batch B] [--mode M] for a part of the matrix"
fi

cases=(
  "xor_2_2_1 4 train" "xor_2_2_1 4 infer"
  "mlp_784_128_10 1 train" "mlp_784_128_10 32 train" "mlp_784_128_10 256 train"
  "mlp_784_128_10 1 infer" "mlp_784_128_10 32 infer" "mlp_784_128_10 256 infer"
  "mlp_784_1024_512_10 1 train" "mlp_784_1024_512_10 32 train" "mlp_784_1024_512_10 256 train"
  "mlp_784_1024_512_10 1 infer" "mlp_784_1024_512_10 32 infer" "mlp_784_1024_512_10 256 infer"
  "cnn_lenetish 1 train" "cnn_lenetish 32 train" "cnn_lenetish 256 train"
  "cnn_lenetish 1 infer" "cnn_lenetish 32 infer" "cnn_lenetish 256 infer"
  "lstm_32_128_t35 1 train" "lstm_32_128_t35 32 train"
  "lstm_32_128_t35 1 infer" "lstm_32_128_t35 32 infer"
  "attn_s64_d64_h4 1 train" "attn_s64_d64_h4 32 train"
  "attn_s64_d64_h4 1 infer" "attn_s64_d64_h4 32 infer"
  "dgex_943_3000_9520 200 train"
)
if [[ $all -eq 0 ]]; then
  # W's part of the matrix, narrowed by --batch and --mode; a batch outside the matrix runs in the asked mode(s).
  selected=()
  for c in "${cases[@]}"; do
    read -r w b m <<< "$c"
    if [[ "$w" == "$workload" && ( -z "$batch" || "$b" == "$batch" ) && ( -z "$mode" || "$m" == "$mode" ) ]]; then
      selected+=("$c")
    fi
  done
  if [[ ${#selected[@]} -eq 0 ]]; then
    [[ -n "$batch" ]] || die "no case of $workload in the matrix"
    for m in ${mode:-train infer}; do selected+=("$workload $batch $m"); done
  fi
  cases=("${selected[@]}")
fi

build
lines="$(mktemp)"
trap 'rm -rf "$weights_dir" "$lines"' EXIT
for c in "${cases[@]}"; do
  read -r w b m <<< "$c"
  for e in generated dynamic pytorch onnxruntime; do
    if [[ "$w" == dgex_943_3000_9520 && "$e" == dynamic && $with_slow -eq 0 ]]; then continue; fi
    if [[ "$e" == onnxruntime && "$m" != infer ]]; then continue; fi
    if line="$(run_one "$w" "$b" "$e" "$m")"; then
      echo "$line" | tee -a "$lines"
    else
      echo "compare.sh: the $e run of $w batch $b $m failed" >&2
    fi
  done
done
[[ -z "$out" ]] || cp "$lines" "$out"
# The core's multiply-add peak bounds every ratio (ratios.py's "bound" column); measured after the runs, not between.
peak="$(dotnet "$dll" peak 2>/dev/null | "$python" -c 'import json, sys; d = json.loads(sys.stdin.read()); print(max(v for v in (d["vector256_gflops"], d["vector512_gflops"]) if v) or "")' || true)"
echo
if [[ -n "$peak" ]]; then
  echo "FMA peak of this core (dl peak): $peak GFLOP/s"
  echo
  "$python" "$here/ratios.py" --peak "$peak" "$lines"
else
  "$python" "$here/ratios.py" "$lines"
fi
