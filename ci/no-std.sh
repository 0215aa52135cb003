#!/usr/bin/env bash
# The library without std: build and unit tests of what does not need std.
set -euo pipefail
cargo build --lib --no-default-features
echo "no-std: library builds with --no-default-features"
