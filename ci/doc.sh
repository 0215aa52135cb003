#!/usr/bin/env bash
# The library's docs build with every rustdoc warning (broken links included) denied.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib --features bytemuck,zerocopy
echo "doc: cargo doc with warnings denied, default features and with bytemuck + zerocopy"
