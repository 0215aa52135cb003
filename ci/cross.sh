#!/usr/bin/env bash
# The other platforms: `cargo check` and `clippy -D warnings` of the library for FreeBSD,
# macOS (x86_64 and Apple silicon), 64-bit ARM Linux, 32-bit x86 Linux and 64-bit ARM Android
# (which grows with libc's mremap), each with and without std. Nothing is linked or run:
# this proves that every platform's cfg branches compile and are lint-clean. The targets are
# ci/targets.sh's list, the one place that names them.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/targets.sh

targets=("${cross_targets[@]}")
rustup target add "${targets[@]}"

for t in "${targets[@]}"; do
  for features in "" "--no-default-features"; do
    # shellcheck disable=SC2086 # $features is one flag or nothing
    cargo check --lib --target "$t" $features
    # shellcheck disable=SC2086
    cargo clippy --lib --target "$t" $features -- -D warnings
  done
done

echo "cross: cargo check and clippy -D warnings (lib, with and without std) for ${targets[*]}"
