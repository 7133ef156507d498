#!/usr/bin/env bash
# The whole test suite, on any machine: installs what the tests drive when it is missing,
# then runs every test of the workspace and ends with the total.
#
# Usage: ./test.sh [--check] [-- ARGS for cargo test]
#   --check   only check for the tools; never install; exit 69 when one is missing
#
# The tests start real bash scripts and real python3 and node servers, and drive bash
# (with bash-completion), zsh, fish, tmux, man (the manual pages), a headless Chromium (the dashboard's browser
# test), the real Nushell (the version the plugin's nu crates are pinned to) and the real
# pm2 (whose saved list `tpm import pm2` reads; the version bench/run pins). Debian
# packages are installed with apt-get when this runs as root or with password-less sudo;
# Nushell and pm2 come from npm, and the validators the export tests run (check-jsonschema,
# kubernetes-validate, python-hcl2, pinned in .ci/validators.txt) from PyPI into a venv,
# both in the git-ignored .ci/cache, which needs no root. Where something cannot be
# installed, nothing is built: one message lists what is missing and the command that
# installs it.
#
# TPM_TEST_ROOT (default /) is where system files are looked for: the dependency check's own
# test points it at a fake root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"

check_only=0
cargo_args=()
while (($#)); do
  case "$1" in
    --check) check_only=1 ;;
    --) shift; cargo_args=("$@"); break ;;
    -h | --help) sed -n '2,18s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "test.sh: unknown argument $1" >&2; echo "usage: ./test.sh [--check] [-- ARGS for cargo test]" >&2; exit 64 ;;
  esac
  shift
done

root=${TPM_TEST_ROOT:-/}
root=${root%/}
nu_version=0.115.1
nu_cache=.ci/cache
npm_install_nu="npm install --prefix $nu_cache --no-audit --no-fund --loglevel=error nushell@$nu_version"
# pm2, as bench/run pins it, beside Nushell.
pm2_version=7.0.4
npm_install_pm2="npm install --prefix $nu_cache --no-audit --no-fund --loglevel=error pm2@$pm2_version"
venv=$nu_cache/validators
# The validators' versions, as .ci/validators.txt pins them.
validators="check-jsonschema==0.39.0 kubernetes-validate==1.37.0 python-hcl2==8.1.4"
pip_install_validators="python3 -m venv $venv && $venv/bin/pip install --quiet -r .ci/validators.txt"

# A tool the tests run, and the Debian package that has it.
tools=(bash:bash python3:python3 node:nodejs npm:npm setsid:util-linux zsh:zsh fish:fish tmux:tmux systemd-analyze:systemd prometheus:prometheus promtool:prometheus man:man-db)
# A file the tests need, and its package.
files=(/usr/share/bash-completion/bash_completion:bash-completion /usr/bin/chromium:chromium)

have() { command -v "$1" >/dev/null 2>&1; }

# Adds a package to install, once (prometheus gives both prometheus and promtool).
add_package() {
  local p
  for p in ${packages[@]+"${packages[@]}"}; do [[ $p == "$1" ]] && return 0; done
  packages+=("$1")
}

# The nu the plugin's tests will use (the same search as crates/nu_plugin_tpm/tests/plugin/world.rs):
# $TPM_TEST_NU, else npm's copy in .ci/cache, else nu on PATH; only the pinned version counts.
find_nu() {
  local candidates=()
  if [[ -n ${TPM_TEST_NU-} ]]; then
    candidates=("$TPM_TEST_NU")
  else
    local f
    for f in "$nu_cache"/node_modules/@nushell/*/bin/nu; do [[ -f $f ]] && candidates+=("$PWD/$f"); done
    have nu && candidates+=("$(command -v nu)")
  fi
  local nu
  for nu in ${candidates[@]+"${candidates[@]}"}; do
    if [[ $("$nu" --version 2>/dev/null) == "$nu_version" ]]; then
      echo "$nu"
      return 0
    fi
  done
  return 1
}

# The pm2 launcher the import tests run (the same search as crates/tpm/tests/cli/import.rs):
# $TPM_TEST_PM2, else npm's copy in .ci/cache; only the pinned version counts.
find_pm2() {
  local pm2=${TPM_TEST_PM2:-$PWD/$nu_cache/node_modules/.bin/pm2}
  [[ -x $pm2 ]] || return 1
  # Its package.json, beside npm's .bin/ or above the package's own bin/ (asking `pm2
  # --version` would start its daemon).
  local dir package version
  dir=$(dirname "$pm2")
  for package in "$dir/../pm2/package.json" "$dir/../package.json"; do
    [[ -f $package ]] || continue
    version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$package")
    if [[ $version == "$pm2_version" ]]; then
      echo "$pm2"
      return 0
    fi
  done
  return 1
}

# The venv with the pinned validators (the same search as crates/tpm/tests/cli/export.rs):
# $TPM_TEST_VENV, else .ci/cache/validators; only the pinned versions count.
find_venv() {
  local dir=${TPM_TEST_VENV:-$PWD/$venv}
  local query='import importlib.metadata as m; print(" ".join(p + "==" + m.version(p) for p in ["check-jsonschema", "kubernetes-validate", "python-hcl2"]))'
  if [[ -x $dir/bin/python && $("$dir/bin/python" -c "$query" 2>/dev/null) == "$validators" ]]; then
    echo "$dir"
    return 0
  fi
  return 1
}

# Fills `missing` (what is absent) and `packages` (the Debian packages that bring it).
survey() {
  missing=()
  packages=()
  local entry
  for entry in "${tools[@]}"; do
    have "${entry%%:*}" || { missing+=("${entry%%:*}"); add_package "${entry#*:}"; }
  done
  for entry in "${files[@]}"; do
    [[ -f $root${entry%%:*} ]] || { missing+=("${entry#*:}"); packages+=("${entry#*:}"); }
  done
  # Debian's python3 makes venvs only with python3-venv.
  if have python3 && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
    packages+=(python3-venv)
  fi
  nu_bin=$(find_nu) || nu_bin=""
  pm2_bin=$(find_pm2) || pm2_bin=""
  venv_dir=$(find_venv) || venv_dir=""
}

# How packages get installed here: "" (as root), "sudo", or "no" (not possible).
installer() {
  if [[ ! -x $root/usr/bin/apt-get ]]; then
    echo no
  elif [[ $(id -u) == 0 ]]; then
    echo ""
  elif have sudo && sudo -n true 2>/dev/null; then
    echo sudo
  else
    echo no
  fi
}

survey
how=$(installer)
if ((${#packages[@]})) && ((check_only == 0)) && [[ $how != no ]]; then
  echo "test.sh: installing ${packages[*]} (apt-get)"
  $how apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $how apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi
survey
if [[ -z $nu_bin ]] && ((check_only == 0)) && have npm; then
  echo "test.sh: installing nu $nu_version (npm) into $nu_cache"
  mkdir -p "$nu_cache"
  $npm_install_nu
  survey
fi

if [[ -z $pm2_bin ]] && ((check_only == 0)) && have npm && [[ -z ${TPM_TEST_PM2-} ]]; then
  echo "test.sh: installing pm2 $pm2_version (npm) into $nu_cache"
  mkdir -p "$nu_cache"
  $npm_install_pm2
  survey
fi

if [[ -z $venv_dir ]] && ((check_only == 0)) && have python3 && [[ -z ${TPM_TEST_VENV-} ]]; then
  echo "test.sh: installing $validators (PyPI) into $venv"
  mkdir -p "$nu_cache"
  rm -rf "$venv"
  eval "$pip_install_validators"
  survey
fi

if ((${#missing[@]})) || [[ -z $nu_bin ]] || [[ -z $pm2_bin ]] || [[ -z $venv_dir ]]; then
  {
    echo "test.sh: the tests need programs this machine does not have:"
    for m in ${missing[@]+"${missing[@]}"}; do echo "  - $m"; done
    [[ -n $nu_bin ]] || echo "  - nu $nu_version (Nushell, for the plugin's tests)"
    [[ -n $pm2_bin ]] || echo "  - pm2 $pm2_version (npm, for the pm2 import tests)"
    [[ -n $venv_dir ]] || echo "  - $validators (PyPI, in a venv, for the export tests)"
    echo "Install them, then run ./test.sh again:"
    if ((${#packages[@]})); then
      if [[ -x $root/usr/bin/apt-get ]]; then
        echo "  sudo apt-get install -y ${packages[*]}"
      else
        echo "  with your system's package manager: ${packages[*]}"
      fi
    fi
    if [[ -z $nu_bin ]]; then
      have npm || [[ " ${packages[*]} " == *" npm "* ]] || echo "  (npm, from Node.js, is needed for the next line)"
      echo "  $npm_install_nu"
    fi
    [[ -n $pm2_bin ]] || echo "  $npm_install_pm2"
    [[ -n $venv_dir ]] || echo "  $pip_install_validators"
    if [[ $how == no ]] && ((check_only == 0)); then
      echo "(./test.sh installs them itself when run as root or with password-less sudo on Debian or Ubuntu.)"
    fi
  } >&2
  exit 69
fi
echo "test.sh: every tool is here (nu $nu_version at $nu_bin, pm2 $pm2_version at $pm2_bin, the validators in $venv_dir)"
((check_only == 0)) || exit 0

export TPM_TEST_NU="$nu_bin"
export TPM_TEST_PM2="$pm2_bin"
export TPM_TEST_VENV="$venv_dir"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace --locked --no-fail-fast ${cargo_args[@]+"${cargo_args[@]}"} 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# The same binaries again on the POSIX backend (what macOS runs: flock, a self-pipe, fork,
# process groups, a claim socket file; no cgroups, no subreaper, no death signal), for the
# suites whose guarantees a Mac gets: the core, the CLI, reliability, the plugin. Tests
# that cannot hold without cgroups say so and skip (see README's Guarantees table).
if [[ $(uname -s) == Linux ]]; then
  echo "test.sh: again on the POSIX backend (TPM_PLATFORM=posix)"
  TPM_PLATFORM=posix cargo test --locked --no-fail-fast -p tpm-core -p tpm -p nu_plugin_tpm ${cargo_args[@]+"${cargo_args[@]}"} 2>&1 | tee -a "$log"
  posix_status=${PIPESTATUS[0]}
  ((status != 0)) || status=$posix_status
fi
set -e
# cargo's last lines are doc-test runs (often "0 passed"): end with the total instead.
total=$(awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "%d passed, %d failed, %d ignored", p, f, i }' "$log")
echo "test.sh: $total"
if ((status == 0)) && [[ $total == "0 passed, "* ]]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"
