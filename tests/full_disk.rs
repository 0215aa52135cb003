//! A full disk is an error, never a `SIGBUS`: on a small tmpfs, growth fails with
//! `ErrorKind::OutOfSpace`, the failed call changes nothing, and the vector stays readable,
//! writable, syncable, with everything committed there after a reopen.
//!
//! Growth reserves the file's blocks (`fallocate`, or zeros written where it is missing)
//! before it maps them; if it only set the file size, pushing into the new pages of a full
//! tmpfs would raise `SIGBUS`. Each test runs in a child process, so that a signal is its
//! failure (`tests/common/child.rs`). Needs root (to mount a tmpfs); otherwise each test
//! prints `SKIPPED: <test>: <why>` and returns (with `PERSISTENCE_REQUIRE_FS=1`, as in CI,
//! it fails instead). `tests/fs_matrix.rs` runs the same promises on ext4, ext2, ext4
//! without extents, XFS, btrfs and tmpfs.

mod common;

use std::path::Path;

use persistence::{ErrorKind, MmapedSlice, MmapedVec, OpenOptions};

/// Room the tests leave free on the tmpfs: 8 MiB, at most a million `u64`.
const ROOM: u64 = 8 << 20;

fn value(i: usize) -> u64 {
    (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x5EED
}

/// Mounts a tmpfs with about [`ROOM`] bytes free (or says `SKIPPED`), and runs `body` on
/// it in a child process: a `SIGBUS` there is this test's failure, not the test binary's
/// death.
fn on_small_tmpfs(test: &str, body: impl FnOnce(&Path)) {
    let Some(fs) = common::fs::mount_or_skip(common::fs::FsKind::Tmpfs, test) else {
        return;
    };
    common::fs::fill_leaving(fs.path(), ROOM).unwrap();
    common::child::isolated(test, fs.path(), body);
    drop(fs);
}

/// Everything a failed call must leave as it was.
#[derive(Debug, PartialEq)]
struct State {
    len: usize,
    capacity: usize,
    committed_len: usize,
    file_len: u64,
    on_disk_len: u64,
    last: Vec<u64>,
}

fn state(v: &MmapedVec<u64>, path: &Path) -> State {
    State {
        len: v.len(),
        capacity: v.capacity(),
        committed_len: v.committed_len(),
        file_len: v.file_len(),
        on_disk_len: std::fs::metadata(path).unwrap().len(),
        last: v[v.len().saturating_sub(64)..].to_vec(),
    }
}

/// Every element is `value(i)`, except the ones `changed` lists.
fn assert_contents(v: &[u64], changed: &[(usize, u64)], what: &str) {
    for (i, &x) in v.iter().enumerate() {
        let want = changed
            .iter()
            .find(|c| c.0 == i)
            .map_or_else(|| value(i), |c| c.1);
        assert_eq!(x, want, "{what}: element {i}");
    }
}

/// Pops a few, pushes different ones back, syncs, and checks the full-disk error again; then
/// closes and reopens. Returns the final contents' overrides.
fn still_usable(mut v: MmapedVec<u64>, path: &Path, what: &str) {
    assert_contents(&v, &[], what);
    // Writable within the capacity: pop, then push other values.
    let len = v.len();
    for _ in 0..100 {
        v.pop().unwrap();
    }
    let mut changed = Vec::new();
    for i in len - 100..len {
        v.push(!value(i)).unwrap();
        changed.push((i, !value(i)));
    }
    v[0] = 12345;
    changed.push((0, 12345));
    v.sync().unwrap();
    assert_eq!(v.committed_len(), len, "{what}");
    // Pushing on works until the disk is really full (growth falls back from the doubling
    // step to the bytes asked for), then fails the same way, changing nothing.
    let mut failed = false;
    for _ in 0..2_000_000 {
        let i = v.len();
        let was = (v.len() == v.capacity()).then(|| state(&v, path));
        match v.push(value(i)) {
            Ok(()) => {}
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::OutOfSpace, "{what}: {e}");
                let was = was.expect("push failed although there was capacity");
                assert_eq!(
                    state(&v, path),
                    was,
                    "{what}: a failed push changed something"
                );
                failed = true;
                break;
            }
        }
    }
    assert!(failed, "{what}: the full disk never failed a push");
    let final_len = v.len();
    v.close().unwrap();

    let s = MmapedSlice::<u64>::open(path).unwrap();
    assert_eq!(s.len(), final_len, "{what}: reopened length");
    assert_contents(&s, &changed, &format!("{what}, reopened"));
    drop(s);
    // A read-write reopen works too, and can still pop and sync on the full disk.
    let mut v = MmapedVec::<u64>::open(path).unwrap();
    v.truncate(final_len / 2);
    v.close().unwrap();
    assert_eq!(MmapedSlice::<u64>::open(path).unwrap().len(), final_len / 2);
}

#[test]
fn push_until_out_of_space() {
    on_small_tmpfs("push_until_out_of_space", |dir| {
        let path = dir.join("v.bin");
        let mut v = MmapedVec::<u64>::open(&path).unwrap();
        let mut failed = None;
        // 8 MiB hold at most a million u64: the bound only guards against a runaway loop.
        for i in 0..2_000_000usize {
            if i == 100_000 {
                v.sync().unwrap(); // an earlier commit, so that the reopen check sees a later one
            }
            let was = (v.len() == v.capacity()).then(|| state(&v, &path));
            match v.push(value(i)) {
                Ok(()) => {}
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::OutOfSpace, "push {i}: {e}");
                    assert!(!e.to_string().is_empty());
                    let was = was.expect("a push within the capacity failed");
                    assert_eq!(state(&v, &path), was, "the failed push changed the vector");
                    failed = Some(i);
                    break;
                }
            }
        }
        let failed = failed.expect("push never ran out of space on an 8 MiB tmpfs");
        assert!(failed > 100_000, "out of space too early, at {failed}");
        println!("full_disk: push failed with OutOfSpace at length {failed} on an 8 MiB tmpfs");
        still_usable(v, &path, "after push failed");
    });
}

#[test]
fn extend_and_reserve_out_of_space() {
    on_small_tmpfs("extend_and_reserve_out_of_space", |dir| {
        let path = dir.join("v.bin");
        let mut v = MmapedVec::<u64>::open(&path).unwrap();
        v.extend_from_slice(&(0..50_000).map(value).collect::<Vec<_>>())
            .unwrap();
        v.sync().unwrap();

        // More than the file system holds, in one call: nothing changes.
        for additional in [2_000_000usize, 1_100_000] {
            let was = state(&v, &path);
            let e = v.reserve(additional).unwrap_err();
            assert_eq!(
                e.kind(),
                ErrorKind::OutOfSpace,
                "reserve({additional}): {e}"
            );
            assert_eq!(
                state(&v, &path),
                was,
                "reserve({additional}) changed something"
            );
            let e = v.reserve_exact(additional).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OutOfSpace, "reserve_exact: {e}");
            assert_eq!(state(&v, &path), was, "reserve_exact changed something");
            let big: Vec<u64> = (v.len()..v.len() + additional).map(value).collect();
            let e = v.extend_from_slice(&big).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OutOfSpace, "extend_from_slice: {e}");
            assert_eq!(state(&v, &path), was, "extend_from_slice changed something");
            let e = v.resize(v.len() + additional, 7).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OutOfSpace, "resize: {e}");
            assert_eq!(state(&v, &path), was, "resize changed something");
        }

        // Fill in chunks until the disk is full.
        let mut chunks = 0;
        loop {
            let start = v.len();
            let chunk: Vec<u64> = (start..start + 20_000).map(value).collect();
            let was = state(&v, &path);
            match v.extend_from_slice(&chunk) {
                Ok(()) => chunks += 1,
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::OutOfSpace, "{e}");
                    assert_eq!(state(&v, &path), was, "a failed extend changed something");
                    break;
                }
            }
            assert!(
                chunks < 100,
                "extend never ran out of space on an 8 MiB tmpfs"
            );
        }
        // A new file on the full disk: an error too (or, if a page is still free, a vector).
        match OpenOptions::new()
            .capacity(1_000_000)
            .open::<u64>(dir.join("second.bin"))
        {
            Ok(_) => panic!("a million u64 fit on a full 8 MiB tmpfs"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::OutOfSpace, "{e}"),
        }
        still_usable(v, &path, "after extend failed");
    });
}

/// Where `fallocate` is missing (ext2/ext3, ext4 without extents, some FUSE and network file
/// systems: `EOPNOTSUPP`), growth writes the new range with zeros, so that its blocks exist
/// before the mapping covers them. Here `fallocate` is made to fail with `EOPNOTSUPP` through
/// the fault seam, on the tmpfs: a sparse growth (`ftruncate` alone) would let the pushes
/// below fill the file system through the mapping and die of `SIGBUS`; reserving by writing
/// makes the full disk an `OutOfSpace` from `push`. (`tests/fs_matrix.rs` runs the same on
/// real ext2 and non-extent ext4 images.)
#[test]
fn without_fallocate_growth_writes_its_blocks_and_a_full_disk_is_an_error() {
    use persistence::test_hooks::{self as fault, Op};
    const EOPNOTSUPP: i32 = 95;
    on_small_tmpfs(
        "without_fallocate_growth_writes_its_blocks_and_a_full_disk_is_an_error",
        |dir| {
            let path = dir.join("v.bin");
            fault::inject_always(Op::Allocate, EOPNOTSUPP);
            let mut v = MmapedVec::<u64>::open(&path).unwrap();
            v.reserve_exact(200_000).unwrap();
            {
                use std::os::unix::fs::MetadataExt;
                let meta = std::fs::metadata(&path).unwrap();
                assert!(
                    meta.blocks() * 512 >= meta.len(),
                    "growth without fallocate left a sparse file: {} bytes, {} bytes of blocks",
                    meta.len(),
                    meta.blocks() * 512
                );
            }
            let mut failed = None;
            for i in 0..2_000_000usize {
                if i == 100_000 {
                    v.sync().unwrap();
                }
                let was = (v.len() == v.capacity()).then(|| state(&v, &path));
                if let Err(e) = v.push(value(i)) {
                    assert_eq!(e.kind(), ErrorKind::OutOfSpace, "push {i}: {e}");
                    let was = was.expect("a push within the capacity failed");
                    assert_eq!(state(&v, &path), was, "the failed push changed the vector");
                    failed = Some(i);
                    break;
                }
            }
            fault::clear();
            let failed = failed.expect("push never ran out of space on an 8 MiB tmpfs");
            println!(
            "full_disk: without fallocate, push failed with OutOfSpace at length {failed} on an \
             8 MiB tmpfs"
        );
            still_usable(v, &path, "after push failed without fallocate");
        },
    );
}

/// A file that would grow past the largest size allowed (here the process's
/// `RLIMIT_FSIZE`, as a file system's own limit would be) is `ErrorKind::FileTooLarge`, not
/// `OutOfSpace`: freeing space would not help. Growth first halves a step that does not
/// fit, so the vector still fills up to the limit. The child runs under `ulimit -f` with
/// `SIGXFSZ` ignored (the kernel sends it with `EFBIG`; a program that wants the error sets
/// it so, and the docs of `FileTooLarge` say so).
#[test]
fn growth_past_the_file_size_limit_is_file_too_large() {
    const CHILD: &str = "PERSISTENCE_FSIZE_CHILD";
    const LIMIT_KIB: u64 = 8192;
    if let Some(path) = std::env::var_os(CHILD) {
        let path = std::path::PathBuf::from(path);
        let mut v = MmapedVec::<u64>::open(&path).unwrap();
        let e = v.reserve_exact(2 << 20).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::FileTooLarge, "reserve_exact: {e}");
        let mut last = None;
        for i in 0..2_000_000usize {
            if i % 100_000 == 0 {
                v.sync().unwrap();
            }
            let was = (v.len() == v.capacity()).then(|| state(&v, &path));
            if let Err(e) = v.push(value(i)) {
                assert_eq!(e.kind(), ErrorKind::FileTooLarge, "push {i}: {e}");
                assert_eq!(e.raw_os_error(), Some(27), "EFBIG");
                assert_eq!(
                    state(&v, &path),
                    was.expect("capacity"),
                    "a failed push changed"
                );
                last = Some(i);
                break;
            }
        }
        let last = last.expect("the file size limit never failed a push");
        // Up to the limit, less the header page and at most a page of rounding.
        assert!(
            (last * 8) as u64 + 8192 >= LIMIT_KIB << 10,
            "stopped at {last} elements, well before the {LIMIT_KIB} KiB limit"
        );
        v.close().unwrap();
        println!("full_disk: push past RLIMIT_FSIZE failed with FileTooLarge at length {last}");
        return;
    }
    let dir = common::tmpdir();
    let path = dir.path().join("v.bin");
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "ulimit -f {LIMIT_KIB} && trap '' XFSZ && exec \"$@\""
        ))
        .arg("bash")
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "growth_past_the_file_size_limit_is_file_too_large",
            "--nocapture",
            "-q",
        ])
        .env(CHILD, &path)
        .status()
        .unwrap();
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            panic!(
                "the child died of {} (signal {sig})",
                common::child::signal_name(sig)
            );
        }
    }
    assert!(status.success(), "the child failed: {status}");
    // Without the limit, the file opens with everything committed.
    let s = MmapedSlice::<u64>::open(&path).unwrap();
    assert!(s.len() > 900_000, "committed length {}", s.len());
    assert_contents(&s, &[], "after FileTooLarge, reopened");
}
