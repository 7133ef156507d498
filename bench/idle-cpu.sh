#!/usr/bin/env bash
# What idle supervisors cost: N sleeps (100 by default) under a release tpm, then, 15 s
# after the last start, their CPU over 10 s by the scheduler's exact run time
# (/proc/PID/schedstat) and by clock ticks (what `bench/run`'s idle row uses), their mean
# RSS and PSS, and `tpm list --json` latency. A scratch TETRA_DIR in /dev/shm, removed at
# the end. Usage: bench/idle-cpu.sh [N] [TPM]   (TPM: a tpm binary; default: a release build)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
tpm=${2:-}
if [[ -z $tpm ]]; then
  cargo build --release --locked --quiet -p tpm -p tpm-core
  tpm=$PWD/target/release/tpm
fi
dir=$(mktemp -d "${TPM_BENCH_TMP:-/dev/shm}/tpm-idle.XXXXXX")
export TETRA_DIR=$dir/tetra HOME=$dir
trap '"$tpm" delete all >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
for i in $(seq 1 "$n"); do
  "$tpm" start "sleep 100000" --name "idle$i" --port $((30000 + i)) >/dev/null
done
sleep 15
spids=$(sed -n 's/.* spid=\([0-9]*\) .*/\1/p' "$TETRA_DIR"/tpm/processes/*.meta)
run_ns() { for p in $spids; do cut -d' ' -f1 "/proc/$p/schedstat"; done | awk '{s += $1} END {print s}'; }
ticks() { for p in $spids; do awk '{print $14 + $15}' "/proc/$p/stat"; done | awk '{s += $1} END {print s}'; }
a=$(run_ns) ta=$(ticks)
sleep 10
b=$(run_ns) tb=$(ticks)
hz=$(getconf CLK_TCK)
awk -v a="$a" -v b="$b" -v ta="$ta" -v tb="$tb" -v n="$n" -v hz="$hz" 'BEGIN {
  printf "CPU at idle: %.0f us a second per supervisor, %.2f %% of one core for %d (schedstat); %.2f %% by clock ticks\n",
    (b - a) / 10 / 1000 / n, (b - a) / 10 / 1e7, n, (tb - ta) / hz / 10 * 100 }'
for p in $spids; do awk '/^Rss:/ {r = $2} /^Pss:/ {s = $2} END {print r, s}' "/proc/$p/smaps_rollup"; done |
  awk '{r += $1; s += $2} END {printf "memory per supervisor: RSS %.0f KiB, PSS %.0f KiB\n", r / NR, s / NR}'
start=$(date +%s%N)
for _ in $(seq 1 20); do "$tpm" list --json >/dev/null; done
echo "tpm list --json, $n processes: $(( ($(date +%s%N) - start) / 20000 )) us"
