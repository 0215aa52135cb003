#!/usr/bin/env bash
# The command-line tool, cli/ (package persistence-cli, binary `persistence`): clippy clean on
# every target, its unit tests, and cli/tests/cli.rs, which runs the built binary on real
# files. The library's stages never build it (`cargo test` at the root runs the root package
# only), and its dependencies must stay its own: the library's tree gains none of them.
set -euo pipefail
cd "$(dirname "$0")/.."

if cargo tree -p persistence -e normal --prefix none --format '{p}' | grep -qE '^clap'; then
  echo "cli: FAILED: the library depends on clap; the tool's dependencies belong in cli/Cargo.toml" >&2
  exit 1
fi

cargo clippy -p persistence-cli --all-targets -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
cargo test -p persistence-cli 2>&1 | tee "$log"
passed=$(awk '/^test result: ok/ { n += $4 } END { print n + 0 }' "$log")
if [[ $passed == 0 ]]; then
  echo "cli: FAILED: no test ran" >&2
  exit 1
fi
echo "cli: persistence-cli clippy-clean on all targets; $passed tests passed (unit, and the binary on real files); the library has no clap dependency"
