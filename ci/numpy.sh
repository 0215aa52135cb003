#!/usr/bin/env bash
# The numpy reader, python/persistence_numpy.py, against files the library writes: the
# fixture example (examples/numpy_fixture.rs) writes them, python/test_persistence_numpy.py
# reads them (the committed length and mean, not the capacity; a pod! struct as a structured
# dtype; a damaged newest slot; bad files; the locks; reading beside a live writer process;
# commit groups: every column at its committed length across blocks, damaged and forged copies).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import numpy' 2>/dev/null; then
  echo "numpy: numpy is missing (ci/setup.sh installs it); installing it with pip"
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet numpy
fi
numpy_version=$(python3 -c 'import numpy; print(numpy.__version__)')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo run --release --example numpy_fixture -- "$work/fixtures"
target_dir=${CARGO_TARGET_DIR:-target}
case $target_dir in /*) ;; *) target_dir=$PWD/$target_dir ;; esac
export PERSISTENCE_NUMPY_FIXTURES=$work/fixtures
export PERSISTENCE_NUMPY_FIXTURE_BIN=$target_dir/release/examples/numpy_fixture

python3 python/test_persistence_numpy.py -v 2>&1 | tee "$work/log"
ran=$(sed -n 's/^Ran \([0-9]*\) tests\{0,1\} in .*/\1/p' "$work/log")
if [[ -z $ran || $ran == 0 ]] || ! grep -qx 'OK' "$work/log"; then
  echo "numpy: FAILED: python/test_persistence_numpy.py did not pass" >&2
  exit 1
fi
echo "numpy: $ran Python tests passed (numpy $numpy_version, python/persistence_numpy.py on files examples/numpy_fixture.rs wrote)"
