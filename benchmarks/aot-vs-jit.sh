#!/usr/bin/env bash
# Time per training step of `dl bench` under the JIT and as a Native AOT binary (the CLI's IlcInstructionSet,
# x86-64-v3, which is also what the Dl package gives a consumer's x64 AOT build), in alternating rounds so both see the
# same machine state. Prints each measurement's JSON line with an "engine_host" field, then per workload and batch the
# medians' ratio AOT / JIT of every round and their median.
#
#   benchmarks/aot-vs-jit.sh [--rounds N] [--workloads "mlp_784_128_10 cnn_lenetish"] [--batches "32"] [--mode train|infer]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
rounds=5 workloads="mlp_784_128_10 cnn_lenetish" batches="32" mode=train
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --workloads) workloads=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    *) echo "aot-vs-jit.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
aot_dir="$root/artifacts/dl-aot"
echo "== building the JIT dl and publishing the AOT dl ($aot_dir)" >&2
dotnet build "$root/src/Dl.Cli" -c Release -warnaserror >/dev/null
dotnet publish "$root/src/Dl.Cli" -c Release -o "$aot_dir" >/dev/null
jit=(dotnet "$root/src/Dl.Cli/bin/Release/net10.0/dl.dll")
aot=("$aot_dir/dl")
out=$(mktemp)
for ((r = 1; r <= rounds; r++)); do
  for w in $workloads; do
    for b in $batches; do
      for host in jit aot; do
        if [[ $host == jit ]]; then cmd=("${jit[@]}"); else cmd=("${aot[@]}"); fi
        line=$("${cmd[@]}" bench --workload "$w" --batch "$b" --threads 1 --engine generated --mode "$mode" 2>/dev/null | tail -n 1)
        echo "${line%\}},\"engine_host\":\"$host\",\"round\":$r}" | tee -a "$out"
      done
    done
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, statistics, sys, collections
rows = [json.loads(l) for l in open(sys.argv[1])]
by = collections.defaultdict(dict)
for r in rows: by[(r["workload"], r["batch"], r["round"])][r["engine_host"]] = r["median_us"]
ratios = collections.defaultdict(list)
for (w, b, _), v in sorted(by.items()): ratios[(w, b)].append(v["aot"] / v["jit"])
print("\n| workload | batch | AOT / JIT per round | median |\n|---|---:|---|---:|")
for (w, b), rs in ratios.items():
    print(f"| {w} | {b} | {' '.join(f'{x:.2f}' for x in rs)} | {statistics.median(rs):.2f} |")
PY
