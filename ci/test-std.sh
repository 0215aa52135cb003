#!/usr/bin/env bash
# The test suite with the default remap path (mremap on Linux).
set -euo pipefail
cd "$(dirname "$0")/.."
# CI never skips a file system of tests/fs_matrix.rs: not being able to mount one fails.
export PERSISTENCE_REQUIRE_FS=1
cargo test --all-targets
cargo test --doc
# Numbers read from hostile files, in release too: overflow checks are off there, so an
# overflow would wrap silently instead of panicking.
cargo test --release --test sequence_limits --test hostile
echo "test-std: unit, integration and doc tests passed (remap: default path); sequence_limits and hostile also in release"
