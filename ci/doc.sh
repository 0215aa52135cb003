#!/usr/bin/env bash
set -euo pipefail
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib
echo "doc: cargo doc with warnings denied"
