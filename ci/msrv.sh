#!/usr/bin/env bash
# MSRV: the library builds, with and without std, on the toolchain that Cargo.toml's
# `rust-version` names, so that number is a tested fact. (Only the library: dev-dependencies
# such as tempfile -> getrandom may need a newer compiler for the test suite.)
set -euo pipefail
cd "$(dirname "$0")/.."

msrv=$(sed -n 's/^rust-version *= *"\([0-9.]*\)".*/\1/p' Cargo.toml)
if [[ -z $msrv ]]; then
  echo "msrv: FAILED: no rust-version in Cargo.toml" >&2
  exit 1
fi
rustup toolchain install "$msrv" --profile minimal
rustc "+$msrv" --version

target_dir=${CARGO_TARGET_DIR:-target}
export CARGO_TARGET_DIR=$target_dir/msrv
cargo "+$msrv" build --lib
cargo "+$msrv" build --lib --no-default-features

echo "msrv: library built with Rust $msrv (rust-version in Cargo.toml), with and without std"
