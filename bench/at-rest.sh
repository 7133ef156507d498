#!/usr/bin/env bash
# What supervisors do at rest: N sleeps (100 by default) under a tpm binary, then, 70 s
# after the last start (past a run's first minute; nothing looks meanwhile: the records are read as files), over S
# seconds (30 by default): their wake-ups (voluntary + involuntary context switches of
# every thread, /proc/PID/task/*/status) and their CPU (schedstat run time); then the
# time of `tpm list --json` (mean of 20). A scratch TETRA_DIR in /dev/shm, removed at the
# end. Usage: bench/at-rest.sh [N] [S] [TPM]   (TPM: a tpm binary; default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
secs=${2:-30}
tpm=${3:-}
if [[ -z $tpm ]]; then
  cargo build --release --locked --quiet -p tpm -p tpm-core
  tpm=${CARGO_TARGET_DIR:-$PWD/target}/release/tpm
fi
dir=$(mktemp -d "${TPM_BENCH_TMP:-/dev/shm}/tpm-rest.XXXXXX")
export TETRA_DIR=$dir/tetra HOME=$dir
trap '"$tpm" delete all >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
for i in $(seq 1 "$n"); do
  "$tpm" start "sleep 100000" --name "rest$i" --port $((30000 + i)) >/dev/null
done
sleep 70
spids=$(sed -n 's/.* spid=\([0-9]*\) .*/\1/p' "$TETRA_DIR"/tpm/processes/*.meta)
switches() { for p in $spids; do cat /proc/"$p"/task/*/status; done |
  awk '/ctxt_switches:/ {s += $2} END {print s}'; }
run_ns() { for p in $spids; do cat /proc/"$p"/task/*/schedstat; done | awk '{s += $1} END {print s}'; }
a=$(switches) ra=$(run_ns)
sleep "$secs"
b=$(switches) rb=$(run_ns)
awk -v a="$a" -v b="$b" -v ra="$ra" -v rb="$rb" -v n="$n" -v s="$secs" 'BEGIN {
  printf "at rest, %d supervisors over %d s: %.2f wake-ups/s in all (%.3f each), CPU %.3f %% of one core\n",
    n, s, (b - a) / s, (b - a) / s / n, (rb - ra) / s / 1e7 }'
"$tpm" list --json >/dev/null
start=$(date +%s%N)
for _ in $(seq 1 20); do "$tpm" list --json >/dev/null; done
echo "tpm list --json, $n processes: $(( ($(date +%s%N) - start) / 20000 )) us"
