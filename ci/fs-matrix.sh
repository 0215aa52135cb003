#!/usr/bin/env bash
# The file-system matrix (issue 8). For each of ext4, ext2, ext4 without extents, XFS,
# btrfs and tmpfs: make and mount a fresh one (a sparse loop-mounted image; tmpfs in
# memory) and run the crash, locking, Vec-API and power-loss tests with their files on it
# (PERSISTENCE_TEST_DIR). Then tests/fs_matrix.rs, the full-disk scenarios on each, with
# PERSISTENCE_REQUIRE_FS=1: a file system that cannot be mounted fails the stage here,
# never skips. Needs root and loop devices. Prints one summary line per file system and
# fails if any test failed; every mount and loop device is gone when it exits.
set -euo pipefail
cd "$(dirname "$0")/.."

kinds=(ext4 ext2 ext4-noextents xfs btrfs tmpfs)
bins=(crash locking vec_api power_loss)
scenarios=(append_until_full in_place_on_full_disk push_into_written_back_page
  new_file_on_full_disk new_file_is_nocow)
# Room for the crash test's vector and its growth; sparse, so only what is written counts.
size_mib=512

start=$(date +%s)
cargo test -q --no-run "${bins[@]/#/--test=}" --test=fs_matrix

target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"
work=$(mktemp -d "$(cd "$target" && pwd)/fs-matrix.XXXXXX")
mnt=""
cleanup() {
  if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
    umount "$mnt" 2>/dev/null || umount -l "$mnt" || true
  fi
  for img in "$work"/*.img; do
    [ -e "$img" ] || continue
    losetup -j "$img" | cut -d: -f1 | xargs -r -n1 losetup -d 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

mount_fs() { # kind mountpoint
  local kind=$1 dir=$2 img=$work/$1.img
  mkdir -p "$dir"
  if [ "$kind" = tmpfs ]; then
    mount -t tmpfs -o "size=${size_mib}m" tmpfs "$dir"
    return
  fi
  truncate -s "${size_mib}M" "$img" || return 1
  case $kind in
    ext4) mkfs.ext4 -q -F -b 4096 "$img" ;;
    ext2) mkfs.ext2 -q -F -b 4096 "$img" ;;
    # A 64-bit ext4 needs extents, so drop both.
    ext4-noextents) mkfs.ext4 -q -F -b 4096 -O '^extents,^64bit' "$img" ;;
    xfs) mkfs.xfs -q -f "$img" ;;
    btrfs) mkfs.btrfs -q -f "$img" >/dev/null ;;
  esac || return 1
  mount -o loop "$img" "$dir"
}

declare -A summary
failed=0
for kind in "${kinds[@]}"; do
  mnt=$work/mnt-$kind
  if ! mount_fs "$kind" "$mnt"; then
    echo "fs-matrix: cannot mount $kind (needs root, a loop device, mkfs.$kind)" >&2
    exit 1
  fi
  t0=$(date +%s)
  line=""
  for bin in "${bins[@]}"; do
    log=$work/$kind-$bin.log
    # Their time here is fsync latency, not CPU: more threads than cores overlap it.
    threads=()
    case $bin in locking | vec_api) threads=(-- --test-threads=8) ;; esac
    if PERSISTENCE_TEST_DIR=$mnt timeout 300 cargo test -q --test "$bin" "${threads[@]}" \
      >"$log" 2>&1; then
      res="$bin ok"
    else
      res="$bin FAIL"
      failed=1
      echo "--- fs-matrix: $kind: $bin failed; the end of its output:" >&2
      tail -n 40 "$log" >&2
    fi
    if [ "$bin" = power_loss ]; then
      if grep -q 'model 2 skipped' "$log"; then
        res+=" (model 1; model 2 skipped: $(grep -o 'model 2 skipped.*' "$log" | head -n1 |
          sed 's/^model 2 skipped //'))"
      else
        res+=" (models 1 and 2)"
      fi
    fi
    line+="${line:+, }$res"
  done
  umount "$mnt"
  mnt=""
  rm -f "$work/$kind.img"
  summary[$kind]="$line ($(($(date +%s) - t0)) s)"
done

echo "=== fs-matrix: tests/fs_matrix.rs (full disk), PERSISTENCE_REQUIRE_FS=1"
log=$work/fs_matrix.log
if PERSISTENCE_REQUIRE_FS=1 timeout 300 cargo test -q --test fs_matrix >"$log" 2>&1; then
  matrix_ok=1
else
  matrix_ok=0
  failed=1
fi
grep -o 'fs_matrix: .*' "$log" | sort -u || true
grep -o 'SKIPPED: .*' "$log" || true
if [ "$matrix_ok" = 0 ] && ! grep -q '^fs_matrix: .*: FAIL' <(grep -o 'fs_matrix: .*' "$log"); then
  # Failed without a matrix line (a build error, a mount failure): show why.
  tail -n 40 "$log" >&2
fi

echo "=== fs-matrix summary"
for kind in "${kinds[@]}"; do
  cells=""
  for s in "${scenarios[@]}"; do
    r=$(grep -o "fs_matrix: $kind: $s: [A-Za-z]*" "$log" | head -n1 | awk '{print $4}' || true)
    [ -n "$r" ] && cells+="${cells:+, }$s $r"
  done
  echo "fs-matrix: $kind: ${summary[$kind]}; full disk: ${cells:-no result}"
done
echo "fs-matrix: $(($(date +%s) - start)) s in all"
if [ "$failed" != 0 ]; then
  echo "fs-matrix: FAILED" >&2
  exit 1
fi
echo "fs-matrix: every test passed on every file system"
