#!/usr/bin/env bash
# Features `bytemuck` and `zerocopy` (issue 11): the default build gains no dependency; each
# feature builds alone and without std; the wrappers and macros store, reopen and read
# bytemuck- and zerocopy-derived types (tests/pod_interop.rs, with each feature alone and
# both); their doctests run, the compile_fail ones too (bool, char, references, padded
# structs, alignment above 4096). Rustdoc checks a compile_fail test's error code only on
# nightly, so where a nightly toolchain is installed the doctests of `pod` and `interop` run
# there too: a compile_fail test that fails for another reason than the one it names fails.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)

# The default build's dependencies do not include either crate.
deps=$(cargo tree -p persistence -e normal --prefix none --format '{p}' | awk '{print $1}' | sort -u)
if grep -qxE 'bytemuck|zerocopy' <<<"$deps"; then
  echo "features: FAILED: the default build depends on bytemuck or zerocopy:" $deps >&2
  exit 1
fi

cargo build --lib --no-default-features --features bytemuck
cargo build --lib --no-default-features --features zerocopy
cargo test --features bytemuck,zerocopy --test pod_interop
cargo test --features bytemuck --test pod_interop
cargo test --features zerocopy --test pod_interop
cargo test --doc --features bytemuck,zerocopy

if cargo +nightly --version >/dev/null 2>&1; then
  target_dir=${CARGO_TARGET_DIR:-target}
  CARGO_TARGET_DIR=$target_dir/nightly cargo +nightly test --doc --features bytemuck,zerocopy -- pod interop
  codes="error codes of compile_fail doctests checked on nightly"
else
  echo "SKIPPED: no nightly toolchain: compile_fail doctests not checked for their error codes"
  codes="error codes NOT checked (no nightly)"
fi
echo "features: bytemuck and zerocopy build alone and without std, default build without them," \
  "pod_interop and doctests passed; $codes; in $(( $(date +%s) - start )) s"
