#!/usr/bin/env bash
# Builds and installs tpm and its Nushell plugin into cargo's bin folder (~/.cargo/bin by
# default), and registers the plugin with Nushell when `nu` is on PATH.
# Usage: ./install.sh            (then: tpm start examples/server.sh && tpm list)
set -euo pipefail
cd "$(dirname "$0")"
cargo install --locked --quiet --path crates/tpm
cargo install --locked --quiet --path crates/nu_plugin_tpm
bin="$(command -v tpm || true)"
if [[ -z "$bin" ]]; then
  echo "tpm is installed in ${CARGO_HOME:-$HOME/.cargo}/bin, which is not on your PATH." >&2
  echo "Add it: export PATH=\"${CARGO_HOME:-$HOME/.cargo}/bin:\$PATH\"" >&2
  exit 1
fi
echo "installed $bin ($(tpm --version))"

plugin="$(dirname "$bin")/nu_plugin_tpm"
echo "installed $plugin"
if command -v nu >/dev/null 2>&1; then
  # `plugin add` records the plugin in Nushell's plugin registry; new nu sessions load it.
  if nu -c "plugin add '$plugin'"; then
    echo "registered it with nu $(nu --version): new nu sessions have \`tpm\`; in a running one: plugin use tpm"
  else
    echo "nu $(nu --version) could not register it (the plugin is built for nu 0.115)." >&2
    echo "By hand, in nu: plugin add $plugin; plugin use tpm" >&2
    exit 1
  fi
else
  echo "nu is not on PATH; to use tpm from Nushell: plugin add $plugin; plugin use tpm"
fi
