#!/usr/bin/env bash
# `tpm list` in Nushell with 100 online processes: cold (a new nu, so a new plugin process,
# each time) with hyperfine, and warm (the plugin already running, in one nu session) with
# nu's own `timeit`. The CLI beside it for scale. Release builds; a scratch TETRA_DIR.
# Usage: bench/nu-plugin-list.sh [N]      (needs hyperfine, and nu 0.115: run .ci/run once)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100}
cargo build --release --locked --quiet -p tpm -p nu_plugin_tpm
tpm=$PWD/target/release/tpm
plugin=$PWD/target/release/nu_plugin_tpm
nu=${TPM_TEST_NU:-$(find .ci/cache/node_modules/@nushell -path '*/bin/nu' -type f 2>/dev/null | head -n 1 || true)}
nu=${nu:-nu}
command -v hyperfine >/dev/null || { echo "needs hyperfine (apt-get install hyperfine)" >&2; exit 1; }

scratch=$(mktemp -d)
export TETRA_DIR=$scratch/tetra NO_COLOR=1
trap '"$tpm" delete "*" >/dev/null 2>&1 || true; rm -rf "$scratch"' EXIT
printf '#!/bin/sh\nexec sleep 100000\n' >"$scratch/idle.sh"
chmod +x "$scratch/idle.sh"
for i in $(seq 1 "$n"); do "$tpm" start "$scratch/idle.sh" --port $((20000 + i)) >/dev/null; done
echo "$("$tpm" list --json | grep -o '"status":"online"' | wc -l) online processes; nu $("$nu" --version)"

hyperfine -N --warmup 3 --runs 30 \
  "$nu -n -c '[] | ignore'" \
  "$nu -n --plugins $plugin -c 'tpm list'" \
  "$nu -n --plugins $plugin -c 'tpm list | ignore'" \
  "$tpm list --json"

"$nu" -n --plugins "$plugin" -c '
  tpm list | ignore   # starts the plugin; the runs below find it running
  let warm = (1..200 | each { timeit { tpm list | ignore } })
  let table = (1..200 | each { timeit { tpm list | table | ignore } })
  [[run mean median min max];
   ["tpm list (warm)" ($warm | math avg) ($warm | math median) ($warm | math min) ($warm | math max)]
   ["tpm list | table (warm)" ($table | math avg) ($table | math median) ($table | math min) ($table | math max)]]
  | update cells -c [mean median min max] { into int | $in // 10000 / 100 | $"($in) ms" }
  | table --width 120'
