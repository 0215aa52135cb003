#!/usr/bin/env bash
# The benchmark of issue 4 in its quick mode (small sizes, seconds), so that it never rots:
# lints and unit tests of the bench crate, then `--quick` with both remap paths. Figures from
# here are not the README's (those come from a full run); this stage fails only if the
# benchmark cannot run or a contender reads back wrong data.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo clippy -p persistence-bench --all-targets -- -D warnings
cargo test -p persistence-bench

out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo run --release -p persistence-bench -- --quick | tee "$out"
grep -q '^## Summary: issue 4 targets' "$out"

PERSISTENCE_PORTABLE_REMAP=1 CARGO_TARGET_DIR=target/portable-remap \
  cargo run --release -p persistence-bench -- --quick --only 5 | tee "$out"
grep -q 'remap: unmap-and-map' "$out"

echo "bench-quick: bench crate clippy + tests, persistence-bench --quick (mremap) and --quick --only 5 (unmap-and-map) ran"
