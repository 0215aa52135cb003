#!/usr/bin/env bash
# The public API, pinned: the crate's public items as `cargo public-api` lists them (from
# rustdoc's JSON, which needs nightly) must equal the committed lists, so that no change to
# the API, a break or an addition, goes unnoticed:
#
#   api/public-api.txt         default features, that is `std`: everything a user of the
#                              crate from crates.io sees
#   api/public-api-no-std.txt  --no-default-features: the no_std build's API
#
# Covered: every public item and its signature, trait impls including the derived ones and
# the auto traits (losing `Send` or `Sync` is a break), for the host target. Not covered:
# blanket impls (`impl<T> Any for T` and friends, which follow from the rest), items that are
# #[doc(hidden)] (the macro support module, the test hooks), the test-only feature, and
# items that exist only on other targets.
#
# On a difference it prints the diff and fails. To accept a deliberate change, run
#
#   ci/public-api.sh --bless
#
# and commit api/ with the change (and a CHANGELOG.md line). It installs its tool when
# missing (cargo-public-api, pinned, since its output format is what the lists hold) and
# nightly when missing (never updating an existing one); once installed it takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

tool_version=0.52.0
bless=0
case "${1:-}" in
  --bless) bless=1 ;;
  "") ;;
  *)
    echo "usage: ci/public-api.sh [--bless]" >&2
    exit 2
    ;;
esac

if ! rustup toolchain list | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal
fi
if ! cargo public-api --version 2>/dev/null | grep -qx "cargo-public-api $tool_version"; then
  cargo install --locked cargo-public-api --version "$tool_version"
fi

# Its own target dir: nightly rustdoc builds, apart from the stable ones.
target_dir=${CARGO_TARGET_DIR:-target}
export CARGO_TARGET_DIR=$target_dir/public-api

toolchain=$(rustc +nightly --version)
start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# list <name> <cargo public-api flags...>: writes $work/<name>.txt: line 1 names the tool and
# the toolchain (not part of the API), then the API, one item a line.
list() {
  local name=$1
  shift
  {
    echo "# cargo public-api $tool_version -p persistence -s${*:+ $*}; $toolchain"
    cargo +nightly public-api -p persistence -s --color never "$@" 2>"$work/$name.log"
  } >"$work/$name.txt" || {
    cat "$work/$name.log" >&2
    echo "public-api: FAILED: cargo public-api $* did not run" >&2
    exit 1
  }
}

# The number of API lines in a list (all but line 1).
api_items() { tail -n +2 "$1" | wc -l; }

lists=(public-api public-api-no-std)
list public-api
list public-api-no-std --no-default-features

if [[ $bless == 1 ]]; then
  mkdir -p api
  for name in "${lists[@]}"; do cp "$work/$name.txt" "api/$name.txt"; done
  echo "public-api: blessed api/public-api.txt ($(api_items api/public-api.txt) lines)" \
    "and api/public-api-no-std.txt ($(api_items api/public-api-no-std.txt) lines);" \
    "commit them with the change"
  exit 0
fi

failed=0
for name in "${lists[@]}"; do
  committed=api/$name.txt
  if [[ ! -f $committed ]]; then
    echo "public-api: FAILED: $committed is missing; run ci/public-api.sh --bless" >&2
    failed=1
    continue
  fi
  # Line 1 (tool and toolchain) is not part of the API.
  if ! diff -u --label "$committed (committed)" --label "$name (this tree)" \
    <(tail -n +2 "$committed") <(tail -n +2 "$work/$name.txt") >"$work/$name.diff"; then
    failed=1
    echo "public-api: FAILED: the public API differs from $committed:" >&2
    cat "$work/$name.diff" >&2
    if ! cmp -s <(head -n1 "$committed") <(head -n1 "$work/$name.txt"); then
      echo "public-api: note: the list was blessed with another tool or toolchain:" >&2
      echo "  committed:  $(head -n1 "$committed")" >&2
      echo "  this run:   $(head -n1 "$work/$name.txt")" >&2
      echo "  (lines that differ only in how rustdoc prints them are the toolchain's, not the crate's)" >&2
    fi
  fi
done
if [[ $failed != 0 ]]; then
  echo "public-api: if the change is deliberate: ci/public-api.sh --bless, then commit api/" \
    "with it and say so in CHANGELOG.md" >&2
  exit 1
fi

echo "public-api: API unchanged: $(api_items api/public-api.txt) items with std (default" \
  "features), $(api_items api/public-api-no-std.txt) without; cargo-public-api" \
  "$tool_version, $(( $(date +%s) - start )) s"
