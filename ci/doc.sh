#!/usr/bin/env bash
set -euo pipefail
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib --features bytemuck,zerocopy
echo "doc: cargo doc with warnings denied, default features and with bytemuck + zerocopy"
