#!/usr/bin/env bash
# Builds and installs tpm and its Nushell plugin into cargo's bin folder (~/.cargo/bin by
# default), then tpm's shell completions, its manual pages and the tetra module shell/tpm.sh,
# and registers the plugin with Nushell when `nu` is on PATH.
# Usage: ./install.sh              (then: tpm start examples/server.sh && tpm list)
#        ./install.sh --no-build   only the completions, the pages and the module, for the tpm in PATH
set -euo pipefail
cd "$(dirname "$0")"

build=1
case "${1-}" in
  "") ;;
  --no-build) build=0 ;;
  *)
    echo "usage: ./install.sh [--no-build]" >&2
    exit 64
    ;;
esac

if ((build)); then
  echo "install.sh: building tpm, tpm-supervisor and the Nushell plugin (release; about 6 minutes on 2 cores the first time)"
  # Statically linked (static-pie, so ASLR stays) on glibc Linux: one supervisor runs per
  # managed process, and this way each keeps less resident (no dynamic loader, no libc.so
  # mapped: 2.2 MiB dynamically linked when this was measured; see bench/README.md). The plugin is built with
  # the same flags, so the crates they share are compiled once. `--target` keeps the flag
  # off build scripts. Where static glibc is missing, the ordinary build is installed.
  host=$(rustc -vV | sed -n 's/^host: //p')
  packages=(crates/tpm crates/tpm-core crates/nu_plugin_tpm) # tpm-core: tpm-supervisor
  static_install() {
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
      cargo install --locked --quiet --target "$host" --path "$1"
  }
  static=0
  [[ $host == *-linux-gnu ]] && static_install crates/tpm && static=1
  ((static)) || [[ $host != *-linux-gnu ]] || echo "install.sh: the static build failed; installing the dynamically linked one" >&2
  for package in "${packages[@]}"; do
    if ((static)); then
      [[ $package == crates/tpm ]] || static_install "$package"
    else
      cargo install --locked --quiet --path "$package"
    fi
  done
fi
bin="$(command -v tpm || true)"
if [[ -z "$bin" ]]; then
  echo "tpm is installed in ${CARGO_HOME:-$HOME/.cargo}/bin, which is not on your PATH." >&2
  echo "Add it: export PATH=\"${CARGO_HOME:-$HOME/.cargo}/bin:\$PATH\"" >&2
  exit 1
fi
if ((build)); then
  echo "installed $bin ($(tpm --version))"
else
  echo "using $bin ($(tpm --version))"
fi

data="${XDG_DATA_HOME:-$HOME/.local/share}"
config="${XDG_CONFIG_HOME:-$HOME/.config}"

# Writes stdin to $1, creating its folder; says where.
put() {
  mkdir -p "$(dirname "$1")"
  cat >"$1"
  echo "  $1"
}

echo "completions (new shells complete tpm's commands and your processes' names):"
"$bin" completions bash |
  put "${BASH_COMPLETION_USER_DIR:-$data/bash-completion}/completions/tpm"
if command -v zsh >/dev/null 2>&1; then
  "$bin" completions zsh | put "$data/zsh/site-functions/_tpm"
  echo "    zsh: if that folder is not in your fpath yet, add this line to ~/.zshrc, before compinit:"
  echo "    fpath=(${data/#"$HOME"/\~}/zsh/site-functions \$fpath)"
fi
if command -v fish >/dev/null 2>&1; then
  "$bin" completions fish | put "$config/fish/completions/tpm.fish"
fi

# The manual pages (`man tpm`, `man tpm-start`, ...), from the binary's own definition. man
# finds pages through PATH: for a bin folder on it, the share/man beside it. So beside
# cargo's bin folder, where the build installs tpm; a tpm from elsewhere gets them in the
# XDG data folder, which man reads only through MANPATH (said below when it does not).
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
if [[ "$(dirname "$bin")" -ef "$cargo_bin" ]]; then
  man_dir="$(dirname "$cargo_bin")/share/man"
else
  man_dir="$data/man"
fi
echo "manual pages (man tpm, man tpm-start, ...):"
if "$bin" __man "$man_dir/man1" >/dev/null; then
  echo "  $man_dir/man1 ($(ls "$man_dir/man1" | grep -c '^tpm.*\.1$') pages)"
  if ! manpath 2>/dev/null | tr ':' '\n' | grep -qxF "$man_dir"; then
    echo "    man does not look there yet: add to ~/.bashrc or ~/.zshrc: export MANPATH=\"${man_dir/#"$HOME"/\$HOME}:\""
  fi
else
  echo "    this tpm cannot write its manual pages (built before they existed): rebuild with ./install.sh" >&2
fi

module="$data/tpm/tpm.sh"
echo "the tetra module (tetra_tpm_* functions, and completion in bash and zsh):"
put "$module" <shell/tpm.sh
echo "    tetra users: link it where bootstrap.sh sources modules:"
echo "      mkdir -p \"\$TETRA_SRC/bash/tpm\" && ln -sf \"$module\" \"\$TETRA_SRC/bash/tpm/tpm.sh\""
echo "    others: add to ~/.bashrc or ~/.zshrc (zsh: after compinit): source \"$module\""

if ((build)); then
  plugin="$(dirname "$bin")/nu_plugin_tpm"
  echo "the Nushell plugin: $plugin"
  if command -v nu >/dev/null 2>&1; then
    # `plugin add` records the plugin in Nushell's plugin registry; new nu sessions load it.
    if nu -c "plugin add '$plugin'"; then
      echo "    registered with nu $(nu --version): new nu sessions have \`tpm\`; in a running one: plugin use tpm"
    else
      echo "    nu $(nu --version) could not register it (the plugin is built for nu 0.115)." >&2
      echo "    By hand, in nu: plugin add $plugin; plugin use tpm" >&2
      exit 1
    fi
  else
    echo "    nu is not on PATH; to use tpm from Nushell: plugin add $plugin; plugin use tpm"
  fi
fi
