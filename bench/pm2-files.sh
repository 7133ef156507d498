#!/usr/bin/env bash
# How many processes pm2 and tpm each start from the files pm2 users write (the fixtures
# in crates/tpm/tests/fixtures/pm2/), side by side (see docs/guarantees.md).
#
#   bench/pm2-files.sh     uses target/debug/tpm (TPM=PATH for another) and the pinned pm2
#                          of bench/run (installed into bench/.cache/npm on first use)
#
# Each file is started from a clean store (a scratch TETRA_DIR and PM2_HOME), counted a few
# seconds later (`tpm list --json`, `pm2 jlist`: processes online), then everything is
# deleted; pm2's daemon is killed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

PM2_VERSION=7.0.4 # as bench/run
cache=$PWD/bench/.cache
pm2="$cache/npm/node_modules/.bin/pm2"
tpm=${TPM:-$PWD/target/debug/tpm}
[[ -x $tpm ]] || { echo "bench/pm2-files.sh: no $tpm (cargo build -p tpm, or TPM=PATH)" >&2; exit 66; }
installed=$(node -p "require('$cache/npm/node_modules/pm2/package.json').version" 2>/dev/null || true)
if [[ $installed != "$PM2_VERSION" ]]; then
  echo "bench/pm2-files.sh: installing pm2 $PM2_VERSION (npm) into bench/.cache/npm" >&2
  mkdir -p "$cache/npm"
  npm install --prefix "$cache/npm" --no-audit --no-fund --loglevel=error "pm2@$PM2_VERSION" >&2
fi

scratch=$(mktemp -d)
export PM2_HOME=$scratch/pm2 TETRA_DIR=$scratch/tetra
cleanup() {
  "$tpm" delete '*' >/dev/null 2>&1 || true
  "$pm2" kill >/dev/null 2>&1 || true
  rm -rf "$scratch"
}
trap cleanup EXIT
cp -r crates/tpm/tests/fixtures/pm2 "$scratch/files"

online() { # stdin: a JSON list; $1: the expression giving a process's status
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const l=JSON.parse(s.slice(s.indexOf("[")));const st=new Function("p","return "+process.argv[1]);console.log(l.filter(p=>st(p)==="online").length)})' "$1"
}

printf '%-34s %4s %4s\n' file pm2 tpm
for file in no-port/ecosystem.config.js cmd/ecosystem.json folder/ecosystem.config.js \
  npm-start/ecosystem.config.js json5/ecosystem.json5 json5/ecosystem.json \
  instances/ecosystem.json names/ecosystem.config.js three-problems/ecosystem.json; do
  dir=$scratch/files/$(dirname "$file") name=$(basename "$file")
  (cd "$dir" && "$pm2" start "$name" >/dev/null 2>&1) || true
  (cd "$dir" && "$tpm" start "$name" >/dev/null 2>&1) || true
  sleep 4
  n_pm2=$("$pm2" jlist 2>/dev/null | online 'p.pm2_env.status')
  n_tpm=$("$tpm" list --json | online 'p.status')
  printf '%-34s %4s %4s\n' "$file" "$n_pm2" "$n_tpm"
  "$pm2" delete all >/dev/null 2>&1 || true
  "$tpm" delete '*' >/dev/null 2>&1 || true
done
