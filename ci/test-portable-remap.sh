#!/usr/bin/env bash
# The test suite again with the portable unmap-and-map path forced on Linux.
set -euo pipefail
export PERSISTENCE_PORTABLE_REMAP=1
export CARGO_TARGET_DIR=target/portable-remap
cargo test --all-targets
echo "test-portable-remap: unit and integration tests passed with PERSISTENCE_PORTABLE_REMAP=1"
