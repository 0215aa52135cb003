#!/usr/bin/env bash
# The library without std: it builds, clippy is clean, and its unit tests run on a build
# whose feature list really lacks `std` (checked from cargo's own rustc command line). The
# end-to-end no_std program is ci/nostd-demo.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --lib --no-default-features
cargo clippy --lib --no-default-features -- -D warnings
touch src/lib.rs # so that -v shows the library's rustc line
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test --lib --no-default-features -v 2>&1 | tee "$log" | grep -E '^test result|^test '
line=$(grep -E 'Running `.*--crate-name persistence .*--test' "$log" | head -n 1)
if [[ -z $line ]]; then
  echo "no-std: FAILED: could not find the unit-test build of persistence in cargo's output" >&2
  exit 1
fi
if grep -q 'feature="std"' <<<"$line"; then
  echo "no-std: FAILED: the unit tests were built with the std feature on" >&2
  exit 1
fi
echo "no-std: library builds and is clippy-clean without std; its unit tests passed on a build without the std feature"
