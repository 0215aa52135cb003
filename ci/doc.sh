#!/usr/bin/env bash
# The library's docs build with every rustdoc warning (broken links included) denied.
set -euo pipefail
cd "$(dirname "$0")/.."
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib
echo "doc: cargo doc with warnings denied"
