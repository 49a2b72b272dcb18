#!/usr/bin/env bash
# The kill -9 test of the atomic checkpoint save (issue 13, item 4): starts a process that saves a 4 MB checkpoint in a
# loop (tools/Dl.LoaderStress save-loop), kills it with SIGKILL at a random moment, N times. Each new process first
# reports what the killed one left (the target must load and hold one save's values: never torn) and how many temp
# files of the target exist, then how many are left after its first save (stale ones are removed: expected 0).
# usage: tools/kill-save.sh [KILLS=200] [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."
kills=${1:-200}
[[ "${2:-}" == "--no-build" ]] || dotnet build tools/Dl.LoaderStress -c Release -warnaserror >/dev/null
tool=(dotnet "${DL_STRESS_DLL:-tools/Dl.LoaderStress/bin/Release/net10.0/Dl.LoaderStress.dll}")   # DL_STRESS_DLL: another build, e.g. an older one
dir=$(mktemp -d /tmp/dl-kill-save.XXXXXX)
target="$dir/model.safetensors"
log="$dir/log.txt"
for ((i = 1; i <= kills; i++)); do
  "${tool[@]}" save-loop "$target" >>"$log" 2>&1 &
  pid=$!
  # DL_KILL_MIN to DL_KILL_MAX s (default 0.3 to 1.5): past the runtime's start-up, into the save loop (a save of 4 MB
  # takes milliseconds plus the fsync); raise both on a loaded machine, where start-up takes longer.
  sleep "$(awk -v r=$RANDOM -v lo="${DL_KILL_MIN:-0.3}" -v hi="${DL_KILL_MAX:-1.5}" 'BEGIN { printf "%.3f", lo + (hi - lo) * r / 32768 }')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
left_before=$(find "$dir" -maxdepth 1 -name '.*.tmp' | wc -l)
final=$("${tool[@]}" check "$target" || true)
after=$("${tool[@]}" save-once "$target")
echo "kills: $kills"
echo "process starts that found the target: ok $(grep -c '^start ok' "$log" || true), missing $(grep -c '^start missing' "$log" || true), torn $(grep -c '^start torn' "$log" || true)"
echo "temp files found at a start (left by the killed process): total $(awk '/^start/ { s += $NF } END { print s + 0 }' "$log"), max $(awk '/^start/ { if ($NF > m) m = $NF } END { print m + 0 }' "$log")"
echo "temp files after a process's first save: max $(awk '/^first-save/ { if ($NF > m) m = $NF } END { print m + 0 }' "$log") over $(grep -c '^first-save' "$log" || true) processes that saved"
echo "after the last kill: $left_before temp files; target: $final; after one more save: $after"
grep -m 3 'torn' "$log" || true
rm -rf "$dir"
