#!/usr/bin/env bash
# Installs what the later stages need: rustup components and targets (they install here),
# the mkfs tools of the file-system matrix (ci/fs-matrix.sh) and strace from Debian's packages,
# and numpy for the Python reader's tests (ci/numpy.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup component add rustfmt clippy
echo "setup: rustfmt and clippy present"

missing=()
command -v mkfs.xfs >/dev/null 2>&1 || missing+=(xfsprogs)
command -v mkfs.btrfs >/dev/null 2>&1 || missing+=(btrfs-progs)
# tests/paths.rs checks which directory a new file's name was synced in with `strace -y`.
command -v strace >/dev/null 2>&1 || missing+=(strace)
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
echo "setup: mkfs.xfs, mkfs.btrfs and strace present"

if ! python3 -c 'import numpy' 2>/dev/null; then
  PIP_ROOT_USER_ACTION=ignore python3 -m pip install --quiet numpy
fi
echo "setup: numpy $(python3 -c 'import numpy; print(numpy.__version__)') present"
