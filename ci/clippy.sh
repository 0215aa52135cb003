#!/usr/bin/env bash
# clippy -D warnings on every target, with and without std, and with every feature.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo clippy --all-targets -- -D warnings
cargo clippy --lib --no-default-features -- -D warnings
cargo clippy --all-targets --all-features -- -D warnings
echo "clippy: clean with std (all targets), without std (lib), and with all features (all targets)"
