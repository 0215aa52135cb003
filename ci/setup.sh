#!/usr/bin/env bash
# Installs what the later stages need: rustup components and targets (they install here).
set -euo pipefail
rustup component add rustfmt clippy
echo "setup: rustfmt and clippy present"
