#!/usr/bin/env bash
# Fuzzing: fuzz/fuzz_targets/open.rs writes arbitrary bytes to a file and opens it as four
# element types, read-only and read-write, and (in group mode) builds a commit group's file
# and opens it every way a group opens; any panic, sanitizer report, timeout or leak is a
# crash, and this stage fails with the input that caused it. Bounded: FUZZ_SECONDS (default
# 60) of fuzzing, plus the build (about 2 minutes the first time). fuzz/README.md says how to
# run it longer.
set -euo pipefail
cd "$(dirname "$0")/.."

secs="${FUZZ_SECONDS:-60}"
# Install nightly only where it is missing: `rustup toolchain install` would also update an
# existing one, under every other build on the machine.
if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! command -v cargo-fuzz >/dev/null; then
  cargo install cargo-fuzz --locked
fi

# The fuzz crate is its own workspace with its own target dir (fuzz/target).
unset CARGO_TARGET_DIR
cd fuzz

# Seeds: 13-byte control blocks (see the table in fuzz_targets/open.rs) that describe valid
# and nearly valid files, so the fuzzer starts past the magic and the checksums.
corpus=corpus/open
mkdir -p "$corpus"
seed() { printf "$2" >"$corpus/seed-$1"; }
seed empty-file         '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
seed magic-only         '\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00PERSISTV'
seed new-vector         '\x07\x00\x04\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00'
seed slot-b-wins        '\x0f\x00\x08\x01\x03\x00\x00\x00\x02\x05\x00\x00\x00'
seed slot-a-wins        '\x0f\x00\x08\x07\x09\x00\x00\x00\x02\x05\x00\x00\x00'
seed len-past-end       '\x07\x00\x08\x01\x58\x02\x00\x00\x00\x00\x00\x00\x00'
seed no-checksum        '\x0d\x00\x08\x01\x03\x00\x00\x00\x00\x00\x00\x00\x00'
seed xor-corrupt-header '\x1f\x00\x08\x01\x03\x00\x00\x00\x02\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01'
seed seq-near-max       '\x0f\x00\x08\xbf\x03\x00\x00\x00\x9f\x05\x00\x00\x00'
seed seq-at-max         '\x0f\x00\x08\xa0\x03\x00\x00\x00\xff\x05\x00\x00\x00'
seed v2-vector          '\x2f\x00\x08\x01\x03\x00\x00\x00\x02\x05\x00\x00\x00'
seed data-bytes         '\x0f\x00\x08\x01\x04\x00\x00\x00\x00\x00\x00\x00\x00hello, world'
# Group mode (flag 0x40; the table's group-mode rows): 0x6f = a group header, its checksum,
# both slots and the block table laid out for their lengths; byte 1 the column count, byte 2
# a forged table entry.
seed group-new          '\x47\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00'
seed group-slot-a-wins  '\x6f\x00\x00\x03\x00\x00\x03\x00\x02\x05\x00\x00\x00'
seed group-slot-b-wins  '\x6f\x00\x00\x02\x07\x00\x00\x00\x03\xff\xff\x03\x00'
seed group-unequal      '\x6f\x00\x08\x03\x00\x00\x01\x00\x02\x05\x00\x00\x00'
seed group-overlap      '\x6f\x00\x11\x03\x00\x00\x03\x00\x02\x05\x00\x00\x00'
seed group-misaligned   '\x6f\x00\x02\x03\x00\x00\x03\x00\x02\x05\x00\x00\x00'
seed group-over-header  '\x6f\x00\x13\x03\x00\x00\x03\x00\x02\x05\x00\x00\x00'
seed group-past-end     '\x6f\x00\x14\x03\x00\x00\x03\x00\x02\x05\x00\x00\x00'
seed group-overflow     '\x6f\x00\x05\x03\x00\x00\x03\x00\x02\x05\x00\x00\x00'
seed group-stale-table  '\x6f\x00\x16\x03\x00\x00\x03\x00\x02\x05\x00\x00\x00'
seed group-cut          '\x6f\x00\x07\x03\x00\x00\x03\x00\x02\x05\x00\x00\x00'
seed group-0-columns    '\x6f\x01\x00\x03\x05\x00\x00\x00\x02\x05\x00\x00\x00'
seed group-13-columns   '\x6f\x0e\x00\x03\x05\x00\x00\x00\x02\x05\x00\x00\x00'
seed group-3-columns    '\x6f\x04\x00\x03\x05\x00\x00\x00\x02\x05\x00\x00\x00'
seed group-past-table   '\x6f\x00\x00\x03\x01\x00\x00\x80\x02\x05\x00\x00\x00'
seed group-seq-at-max   '\x6f\x00\x00\xa0\x05\x00\x00\x00\x02\x05\x00\x00\x00'
seed group-no-table     '\x4f\x00\x00\x03\x05\x00\x00\x00\x02\x05\x00\x00\x00'
seed group-xor          '\x7f\x00\x00\x03\x05\x00\x00\x00\x02\x05\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01'

start=$(date +%s)
if ! cargo +nightly fuzz run open "$corpus" -- \
  -max_total_time="$secs" -max_len=16384 -timeout=10 -print_final_stats=1; then
  echo "fuzz: CRASH in fuzz target 'open'; the input is in fuzz/artifacts/open/:" >&2
  ls -l artifacts/open/ >&2 || true
  echo "fuzz: reproduce with: cd fuzz && cargo +nightly fuzz run open artifacts/open/<file>" >&2
  exit 1
fi
echo "fuzz: target 'open' ran $secs s without a crash ($(ls "$corpus" | wc -l) corpus inputs," \
  "$(( $(date +%s) - start )) s with the build)"
