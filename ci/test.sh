#!/usr/bin/env bash
# The whole test suite: the README's test command, and what .ci/run calls.
# Each stage is a script of its own under ci/; this runs them in order and fails loudly.
set -euo pipefail
cd "$(dirname "$0")/.."

stages=(
  ci/setup.sh
  ci/fmt.sh
  ci/clippy.sh
  ci/test-std.sh
  ci/cli.sh
  ci/numpy.sh
  ci/features.sh
  ci/test-portable-remap.sh
  ci/fs-matrix.sh
  ci/bench-quick.sh
  ci/no-std.sh
  ci/nostd-demo.sh
  ci/cross.sh
  ci/unsupported-target.sh
  ci/msrv.sh
  ci/doc.sh
  ci/public-api.sh
  ci/miri.sh
  ci/fuzz.sh
)

start=$(date +%s)
for stage in "${stages[@]}"; do
  echo "=== stage: $stage"
  t0=$(date +%s)
  if ! bash "$stage"; then
    echo "=== FAILED: $stage" >&2
    exit 1
  fi
  echo "=== ok: $stage ($(( $(date +%s) - t0 )) s)"
done
echo "=== all stages passed in $(( $(date +%s) - start )) s"
