#!/usr/bin/env bash
# The test suite with the default remap path (mremap on Linux).
set -euo pipefail
cargo test --all-targets
cargo test --doc
echo "test-std: unit, integration and doc tests passed (remap: default path)"
