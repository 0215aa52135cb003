#!/usr/bin/env bash
# The test suite again with the portable unmap-and-map path forced on Linux.
set -euo pipefail
cd "$(dirname "$0")/.."
# CI never skips a file system of tests/fs_matrix.rs: not being able to mount one fails.
export PERSISTENCE_REQUIRE_FS=1
export PERSISTENCE_PORTABLE_REMAP=1
# Apart from the default build, under the caller's target dir (the flag changes build.rs's cfg).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-target}/portable-remap
cargo test --all-targets
echo "test-portable-remap: unit and integration tests passed with PERSISTENCE_PORTABLE_REMAP=1"
