#!/usr/bin/env bash
# Miri: the unit tests and the unsafe code of the typed layer (insert, remove, retain,
# truncate, the slice views, growth) under the interpreter, which reports out-of-bounds and
# use-after-free accesses, aliasing violations and leaks. Miri cannot map files, so
# src/sys/miri.rs stands in for mmap (a heap block per mapping, moved on every growth) over
# real files: hence -Zmiri-disable-isolation (std::fs, tempfile). About 4 minutes on 2 cores.
#
# MIRI_TREE_BORROWS=1 also runs tests/miri_typed.rs under Tree Borrows (about 3 more minutes).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup component add miri rust-src --toolchain nightly
cargo +nightly miri setup

export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
# Miri builds under $CARGO_TARGET_DIR/miri, apart from the native builds.
start=$(date +%s)

# Tests too slow to interpret that Miri can add nothing to are `#[cfg_attr(miri, ignore)]`
# in place (format.rs's 256 header images: safe code; vec_api's 1M-push growth test: the
# same push path as miri_typed::push_across_many_growth_steps at Miri's size).
cargo +nightly miri test --lib
cargo +nightly miri test --test miri_typed

cargo +nightly miri test --test vec_api
# LiveReader's mapping, slot loads and element reads on committed files (no writer beside it:
# the stand-in's mappings do not see later writes; the concurrent tests are native only).
cargo +nightly miri test --test live_miri
# Commit groups: a group's columns over their blocks (growth into a second block, the Vec API,
# pwrite and copy appends, reopen), GroupSlice, and LiveGroup on committed files.
cargo +nightly miri test --test miri_group

if [[ "${MIRI_TREE_BORROWS:-0}" == 1 ]]; then
  MIRIFLAGS="$MIRIFLAGS -Zmiri-tree-borrows" cargo +nightly miri test --test miri_typed
  borrows="Stacked Borrows and Tree Borrows (miri_typed)"
else
  borrows="Stacked Borrows (MIRI_TREE_BORROWS=1 adds Tree Borrows)"
fi

echo "miri: lib unit tests, tests/miri_typed.rs, tests/vec_api.rs, tests/live_miri.rs and" \
  "tests/miri_group.rs passed under Miri," \
  "$borrows, in $(( $(date +%s) - start )) s; tests marked cfg_attr(miri, ignore) run natively only"
