#!/usr/bin/env bash
# An unsupported platform fails to build with one clear error: the compile_error! of
# src/sys/mod.rs, and nothing else (no error from deep inside a dependency or another
# module). Checked on wasm32-unknown-unknown, with and without std.
set -euo pipefail
cd "$(dirname "$0")/.."

target=wasm32-unknown-unknown
rustup target add "$target" >/dev/null
for features in "--no-default-features" ""; do
  # shellcheck disable=SC2086 # $features is one flag or nothing
  if out=$(cargo check --lib --target "$target" $features --message-format short 2>&1); then
    echo "unsupported-target: FAILED: the build for $target ($features) succeeded" >&2
    exit 1
  fi
  # Every error line but cargo's closing "could not compile".
  errors=$(grep -E 'error(\[E[0-9]+\])?:' <<<"$out" | grep -vc 'could not compile' || true)
  ours=$(grep -c 'error: persistence runs on Unix-like systems' <<<"$out" || true)
  if [[ $ours != 1 || $errors != 1 ]]; then
    echo "unsupported-target: FAILED: want exactly the one compile_error! of src/sys/mod.rs for" \
      "$target ($features), got:" >&2
    grep -E 'error' <<<"$out" >&2 || true
    exit 1
  fi
done
echo "unsupported-target: $target fails with exactly the one compile_error! of src/sys/mod.rs (with and without std)"
