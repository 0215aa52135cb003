#!/usr/bin/env bash
# The file-system matrix (issue 8). For each of ext4, ext2, ext4 without extents, XFS,
# btrfs and tmpfs: make and mount a fresh one (a sparse loop-mounted image on disk; tmpfs
# in memory) and run the crash, locking, Vec-API, power-loss, live-reader (shrink, crash,
# stress), conversion/migration (rename over the name, directory fsync, SIGKILL
# rounds) and commit-group (API, SIGKILL rounds, injected failures) tests with their files on
# it (PERSISTENCE_TEST_DIR). And tests/fs_matrix.rs, the full-disk scenarios on each, with
# PERSISTENCE_REQUIRE_FS=1: a file system that cannot be mounted fails the stage here,
# never skips. Needs root and loop devices. Prints one summary line per file system and
# fails if any test failed; every mount and loop device it made is gone when it exits.
#
# The runs are mostly fsync latency on the loop devices (each fsync there flushes the
# image file to the real disk), not CPU, so FS_MATRIX_JOBS file systems (default 3) run at a
# time, each on its own mount. FS_MATRIX_IMAGE_DIR puts the images elsewhere than under the
# target directory (on /dev/shm the flushes cost nothing, at the price of memory).
set -euo pipefail
cd "$(dirname "$0")/.."

kinds=(ext4 ext2 ext4-noextents xfs btrfs tmpfs)
bins=(crash locking vec_api power_loss live_shrink live_crash live_stress convert migrate
  group_api group_crash group_failure)
scenarios=(append_until_full in_place_on_full_disk push_into_written_back_page
  new_file_on_full_disk new_file_is_nocow set_on_full_disk group_append_until_full
  group_push_within_capacity_on_full_disk)
# Room for the crash test's vector and its growth; sparse, so only what is written counts.
size_mib=512
jobs_max=${FS_MATRIX_JOBS:-3}

start=$(date +%s)
cargo test -q --no-run "${bins[@]/#/--test=}" --test=fs_matrix

target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target"
target=$(cd "$target" && pwd)
work=$(mktemp -d "$target/fs-matrix.XXXXXX")
images=$(mktemp -d "${FS_MATRIX_IMAGE_DIR:-$target}/fs-matrix-images.XXXXXX")
tests_tmp=$target/tmp # CARGO_TARGET_TMPDIR: tests/common/fs.rs mounts under it

detach_images() { # image files...
  local img
  for img in "$@"; do
    [ -e "$img" ] || continue
    losetup -j "$img" | cut -d: -f1 | xargs -r -n1 losetup -d 2>/dev/null || true
  done
}

cleanup() {
  local m
  for m in "$work"/mnt-*; do
    if mountpoint -q "$m"; then umount "$m" 2>/dev/null || umount -l "$m" || true; fi
  done
  detach_images "$images"/*.img
  rm -rf "$work" "$images"
  # A test binary killed before its guards ran (a timeout) can leave its mounts behind:
  # the ones under this target directory's test temp dir go too.
  { findmnt -rn -o TARGET | grep "^$tests_tmp/persistence-fs-[^/]*/mnt\$" || true; } |
    while read -r m; do umount -l "$m" || true; done
  detach_images "$tests_tmp"/persistence-fs-*/fs.img
}
trap cleanup EXIT

mount_fs() { # kind mountpoint
  local kind=$1 dir=$2 img=$images/$1.img
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

# One file system: mount, run the test binaries on it, unmount. Writes its summary to
# $work/<kind>.summary and the logs of failed runs to $work/<kind>.failed.
run_fs() { # kind
  local kind=$1 dir=$work/mnt-$1 line="" res t0 bin log threads
  t0=$(date +%s)
  if ! mount_fs "$kind" "$dir" >"$work/$kind.mount.log" 2>&1; then
    echo "CANNOT MOUNT (needs root, a loop device, mkfs.$kind)" >"$work/$kind.summary"
    echo "$work/$kind.mount.log" >>"$work/$kind.failed"
    return 0
  fi
  for bin in "${bins[@]}"; do
    log=$work/$kind-$bin.log
    # Their time here is fsync latency, not CPU: more threads than cores overlap it.
    threads=()
    case $bin in locking | vec_api) threads=(-- --test-threads=8) ;; esac
    if PERSISTENCE_TEST_DIR=$dir timeout 300 cargo test -q --test "$bin" ${threads[@]+"${threads[@]}"} \
      >"$log" 2>&1; then
      res="$bin ok"
    else
      res="$bin FAIL"
      echo "$log" >>"$work/$kind.failed"
    fi
    if [ "$bin" = power_loss ]; then
      if grep -q 'model 2 skipped' "$log"; then
        res+=" (model 1; model 2 skipped $(grep -o 'model 2 skipped.*' "$log" | head -n1 |
          sed 's/^model 2 skipped //'))"
      else
        res+=" (models 1 and 2)"
      fi
    fi
    line+="${line:+, }$res"
  done
  umount "$dir" || umount -l "$dir"
  detach_images "$images/$kind.img"
  rm -f "$images/$kind.img"
  echo "$line ($(($(date +%s) - t0)) s)" >"$work/$kind.summary"
}

matrix_log=$work/fs_matrix.log
run_matrix() {
  local t0
  t0=$(date +%s)
  if PERSISTENCE_REQUIRE_FS=1 timeout 300 cargo test -q --test fs_matrix >"$matrix_log" 2>&1; then
    echo "ok $(($(date +%s) - t0))" >"$work/fs_matrix.status"
  else
    echo "FAIL $(($(date +%s) - t0))" >"$work/fs_matrix.status"
  fi
}

# Background jobs report through files; `wait` only collects them.
run_matrix &
for kind in "${kinds[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n || true; done
  run_fs "$kind" &
done
wait || true

failed=0
for kind in "${kinds[@]}"; do
  if [ -s "$work/$kind.failed" ]; then
    failed=1
    while read -r log; do
      echo "--- fs-matrix: $kind: $(basename "$log" .log) failed; the end of its output:" >&2
      tail -n 40 "$log" >&2
    done <"$work/$kind.failed"
  fi
done

read -r matrix_status matrix_secs <"$work/fs_matrix.status" || matrix_status=FAIL matrix_secs=?
echo "=== fs-matrix: tests/fs_matrix.rs (full disk, PERSISTENCE_REQUIRE_FS=1): $matrix_status" \
  "($matrix_secs s)"
grep -o 'fs_matrix: .*' "$matrix_log" | sort -u || true
grep -o 'SKIPPED: .*' "$matrix_log" || true
if [ "$matrix_status" != ok ]; then
  failed=1
  if ! grep -q 'fs_matrix: .*: FAIL' "$matrix_log"; then
    # Failed without a matrix line (a build error, a mount failure): show why.
    tail -n 40 "$matrix_log" >&2
  fi
fi

echo "=== fs-matrix summary"
for kind in "${kinds[@]}"; do
  cells=""
  for s in "${scenarios[@]}"; do
    r=$(grep -o "fs_matrix: $kind: $s: [A-Za-z]*" "$matrix_log" | head -n1 | awk '{print $4}' || true)
    [ -n "$r" ] && cells+="${cells:+, }$s $r"
  done
  echo "fs-matrix: $kind: $(cat "$work/$kind.summary" 2>/dev/null || echo 'no result');" \
    "full disk: ${cells:-no result}"
done
echo "fs-matrix: $(($(date +%s) - start)) s in all ($jobs_max file systems at a time)"
if [ "$failed" != 0 ]; then
  echo "fs-matrix: FAILED" >&2
  exit 1
fi
echo "fs-matrix: every test passed on every file system"
