#!/usr/bin/env bash
# rustfmt: every crate of the workspace (the library and bench/) is formatted. nostd-demo/
# is checked by ci/nostd-demo.sh; fuzz/, its own workspace, by no stage.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo fmt --all --check
echo "fmt: cargo fmt --check clean"
