#!/usr/bin/env bash
# The benchmark (issues 4, 8, 13) in its quick mode (small sizes, seconds), so that it never
# rots: lints and unit tests of the bench crate, then `--quick` with both remap paths. Figures
# from here are not bench/README.md's (those come from a full run); this stage fails only if
# the benchmark cannot run or a contender (vecdb included) reads back wrong data. As root it
# loop-mounts an ext2 image for S8 and unmounts it; elsewhere S8 says "skipped: <reason>".
# The quick chart goes next to the executable (target/), never into bench/.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo clippy -p persistence-bench --all-targets -- -D warnings
cargo test -p persistence-bench

out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo run --release -p persistence-bench -- --quick | tee "$out"
grep -q '^## Summary: targets of issues ' "$out"
grep -q '^### S11c scan ' "$out"
grep -q '^### S7 reopen a ' "$out"
grep -q '^## MmapedVec and vecdb 0.13, side by side' "$out"
grep -q '^chart: ' "$out"

PERSISTENCE_PORTABLE_REMAP=1 CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/portable-remap \
  cargo run --release -p persistence-bench -- --quick --only 5 | tee "$out"
grep -q 'remap: unmap-and-map' "$out"

echo "bench-quick: bench crate clippy + tests, persistence-bench --quick (mremap) and --quick --only 5 (unmap-and-map) ran"
