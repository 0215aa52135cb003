# shellcheck shell=bash
# The one list of the platforms this crate supports beyond the machine CI runs on. Sourced
# (never run) by the stages that need it: ci/cross.sh checks and lints the library for each,
# ci/nostd-demo.sh checks each one's dependency tree for std and alloc. A new platform is
# one line here (and a row in the README's platform table, which says how each is checked).
#
# After sourcing: `cross_targets` (the array below) and `host_target` (what rustc builds for
# here, where the whole test suite runs).

# shellcheck disable=SC2034 # used by the scripts that source this file
cross_targets=(
  x86_64-unknown-freebsd    # FreeBSD: the portable unmap-and-map remap path
  x86_64-apple-darwin       # macOS: unmap-and-map, F_FULLFSYNC
  aarch64-apple-darwin      # macOS on Apple silicon: 16 KiB pages
  aarch64-unknown-linux-gnu # 64-bit ARM Linux: mremap
  i686-unknown-linux-gnu    # 32-bit Linux: a 4-byte usize in the header
  aarch64-linux-android     # Android: mremap from bionic through libc
)

# shellcheck disable=SC2034
host_target=$(rustc -vV | sed -n 's/^host: //p')
if [[ -z $host_target ]]; then
  echo "ci/targets.sh: rustc -vV names no host target" >&2
  exit 1
fi
