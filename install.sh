#!/usr/bin/env bash
# Builds and installs tpm into cargo's bin folder (~/.cargo/bin by default).
# Usage: ./install.sh            (then: tpm start examples/server.sh && tpm list)
set -euo pipefail
cd "$(dirname "$0")"
cargo install --locked --quiet --path crates/tpm
bin="$(command -v tpm || true)"
if [[ -z "$bin" ]]; then
  echo "tpm is installed in ${CARGO_HOME:-$HOME/.cargo}/bin, which is not on your PATH." >&2
  echo "Add it: export PATH=\"${CARGO_HOME:-$HOME/.cargo}/bin:\$PATH\"" >&2
  exit 1
fi
echo "installed $bin ($(tpm --version))"
