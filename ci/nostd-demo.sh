#!/usr/bin/env bash
# no_std proof: (1) without default features neither persistence nor any dependency turns on
# a `std` or `alloc` feature (cargo tree -e features, normal and build edges, every supported
# target); (2) a #![no_std] #![no_main] consumer (nostd-demo/: its own panic handler, linking
# only libc) passes fmt and clippy, builds, creates/pushes/syncs/reopens a vector, exits 0, and
# reports a failure with a message and exit 1.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/targets.sh

# Every platform the crate supports (this machine's and ci/targets.sh's list), so that
# target-specific dependencies (libc on Android) count.
targets=("$host_target" "${cross_targets[@]}")
target_args=()
for t in "${targets[@]}"; do target_args+=(--target "$t"); done

# Each package line ends with its enabled features, `rustix v1.1.6 [fs,mm,param,process,thread,time]`, and each
# feature edge reads `rustix feature "alloc"`; either form of `std` or `alloc` fails the check
# (`feature "no_std"` and `[no_std]` do not match).
forbidden='feature "(std|alloc)"|\[([^]]*,)?(std|alloc)(,[^]]*)?\]'

tree_of() { cargo tree -e normal,build,features --format '{p} [{f}]' "$@"; }

check_tree() { # $1 = label, rest = cargo tree arguments
  local label=$1 tree
  shift
  tree=$(tree_of "$@")
  # The tree must really be there (a failed or empty listing must not pass as clean).
  if ! grep -q 'rustix v[0-9.]* \[fs,mm,param,process,thread,time\]' <<<"$tree"; then
    echo "nostd-demo: FAILED: $label: unexpected cargo tree output:" >&2
    echo "$tree" >&2
    exit 1
  fi
  if grep -E "$forbidden" <<<"$tree" >&2; then
    echo "nostd-demo: FAILED: $label: the lines above enable std or alloc in a no_std build" >&2
    exit 1
  fi
}

# Normal and build dependencies only: dev-dependencies (tempfile, the fault-injection
# feature) are never part of a consumer's build, and resolver 2 keeps their features apart.
check_tree "library, --no-default-features" -p persistence --no-default-features "${target_args[@]}"
check_tree "nostd-demo" --manifest-path nostd-demo/Cargo.toml "${target_args[@]}"

# The check can fail: it sees the `std` feature of a default build.
if ! tree_of -p persistence | grep -qE "$forbidden"; then
  echo "nostd-demo: FAILED: the check no longer sees the std feature of a default build" >&2
  exit 1
fi

target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
export CARGO_TARGET_DIR=$target_dir/nostd-demo
cargo fmt --manifest-path nostd-demo/Cargo.toml --check
cargo clippy --manifest-path nostd-demo/Cargo.toml --release -- -D warnings
cargo build --manifest-path nostd-demo/Cargo.toml --release
demo=$CARGO_TARGET_DIR/release/nostd-demo

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$demo" "$tmp/demo.bin"
# A second run must fail (the demo insists on creating the file) with a message and status 1.
set +e
msg=$("$demo" "$tmp/demo.bin" 2>&1)
status=$?
set -e
if [[ $status -ne 1 || $msg != *AlreadyExists* ]]; then
  echo "nostd-demo: FAILED: expected exit 1 with AlreadyExists, got $status: $msg" >&2
  exit 1
fi

echo "nostd-demo: cargo tree shows no std/alloc feature without default features; no_std no_main demo built, ran (exit 0) and reported a failure (exit 1)"
