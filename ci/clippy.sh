#!/usr/bin/env bash
# clippy -D warnings on every target, with and without std.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo clippy --all-targets -- -D warnings
cargo clippy --lib --no-default-features -- -D warnings
echo "clippy: clean with std (all targets) and without std (lib)"
