//! When a step of a commit fails, `sync()` returns the error and the previous commit stays
//! the one a reopen sees, except when only the final flush of a written slot failed: then
//! the new length (whose elements are durable) is what a reopen sees, and a retried `sync`
//! flushes that slot again. A failed slot write or flush can be retried; a failed data write poisons
//! the handle (every later commit fails: the kernel may have marked the pages clean without
//! writing them), and a reopen goes on from the previous commit. When growth fails, the
//! vector is unchanged and usable.
//!
//! Failures are injected with the test-only seam `persistence::test_hooks` (hidden feature
//! `test-hooks`, on for tests through the self dev-dependency): `fault::inject(op, n,
//! errno)` makes the call of `op` after `n` successful ones fail, before it does anything,
//! on the calling thread only. A commit calls, in order: `msync` of the data pages (when any
//! element changed), `fdatasync` (when the file changed size or was written with `pwrite`;
//! on Linux it replaces the `msync`, since it writes the pages stored through the mapping
//! too), `pwrite` of the commit slot, `fdatasync` (when the length changed).
//!
//! "What a reopen sees" is checked two ways: by opening a byte copy of the file (what any
//! process would read, while this handle still holds the lock), and by a real reopen after
//! `close()` or `Drop` failed the same way.

mod common;

use std::path::{Path, PathBuf};

use common::format::{Slots, HEADER_SIZE};
use persistence::test_hooks::{self as fault, Op};
use persistence::{ErrorKind, MmapedSlice, MmapedVec, OpenOptions};

const EIO: i32 = 5;
const ENOMEM: i32 = 12;
const ENOSPC: i32 = 28;

fn value(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x00C0_FFEE
}

/// The changes a commit can carry, each exercising a different set of commit steps.
#[derive(Clone, Copy, Debug)]
enum Change {
    /// Appends that grow the file: data `msync`, `fdatasync`, slot `pwrite`, `fdatasync`.
    GrowingAppend,
    /// Appends inside the capacity: data `msync`, slot `pwrite`, `fdatasync`.
    Append,
    /// `v[i] = x` on committed elements: data `msync` only (the length is unchanged, so
    /// there is no new slot to write).
    InPlace,
    /// `truncate`: no element changed: slot `pwrite`, `fdatasync`.
    Truncate,
    /// `v.set(i, x)` on committed elements (a `pwrite`): data `msync` and `fdatasync`; on
    /// Linux the `fdatasync` alone.
    Set,
}

/// Whether a commit that flushes the file (`fdatasync`) skips the data `msync`: on Linux
/// `fdatasync` writes the pages stored through the mapping as well.
const FDATASYNC_COVERS_MSYNC: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The steps of the commit of `change`, in order: (what, op, calls of op before it). The
/// steps whose name starts with "slot" write or flush the commit slot; the others, the data.
fn steps(change: Change) -> &'static [(&'static str, Op, u32)] {
    const DATA: (&str, Op, u32) = ("data msync", Op::Msync, 0);
    const SLOT: (&str, Op, u32) = ("slot pwrite", Op::Write, 0);
    const GROWN: (&str, Op, u32) = ("fdatasync after growth", Op::SyncFile, 0);
    const SET: (&str, Op, u32) = ("fdatasync after pwrite", Op::SyncFile, 0);
    match change {
        Change::GrowingAppend if FDATASYNC_COVERS_MSYNC => {
            &[GROWN, SLOT, ("slot fdatasync", Op::SyncFile, 1)]
        }
        Change::GrowingAppend => &[DATA, GROWN, SLOT, ("slot fdatasync", Op::SyncFile, 1)],
        Change::Append => &[DATA, SLOT, ("slot fdatasync", Op::SyncFile, 0)],
        Change::InPlace => &[DATA],
        Change::Truncate => &[SLOT, ("slot fdatasync", Op::SyncFile, 0)],
        Change::Set if FDATASYNC_COVERS_MSYNC => &[SET],
        Change::Set => &[DATA, SET],
    }
}

const BASE: usize = 1000;

/// A file committed with `BASE` elements and room for more; then `change` applied, not yet
/// committed. Returns the vector, the committed contents, and the new contents.
fn prepare(path: &Path, change: Change) -> (MmapedVec<u64>, Vec<u64>, Vec<u64>) {
    let mut v = MmapedVec::<u64>::open(path).unwrap();
    for i in 0..BASE {
        v.push(value(i)).unwrap();
    }
    v.reserve(500).unwrap();
    v.sync().unwrap();
    let before: Vec<u64> = v.to_vec();
    let file_len = v.file_len();
    match change {
        Change::GrowingAppend => {
            let n = v.capacity() - v.len() + 10;
            for i in BASE..BASE + n {
                v.push(value(i)).unwrap();
            }
            assert_ne!(v.file_len(), file_len, "the appends must grow the file");
        }
        Change::Append => {
            for i in BASE..BASE + 300 {
                v.push(value(i)).unwrap();
            }
            assert_eq!(v.file_len(), file_len, "the appends must fit the capacity");
        }
        Change::InPlace => {
            v[3] = 333;
            v[BASE - 1] = 999;
            v[BASE / 2] = 555;
        }
        Change::Truncate => v.truncate(BASE - 100),
        Change::Set => {
            v.set(3, 333).unwrap();
            v.set_from_slice(BASE - 2, &[998, 999]).unwrap();
            v.set(BASE / 2, 555).unwrap();
        }
    }
    let after = v.to_vec();
    (v, before, after)
}

/// Opens a byte copy of the file read-only: what a reopen would see now.
fn reopen_copy(path: &Path) -> Vec<u64> {
    let copy: PathBuf = path.with_extension("copy");
    std::fs::copy(path, &copy).unwrap();
    let s = MmapedSlice::<u64>::open(&copy).unwrap();
    let out = s.to_vec();
    drop(s);
    std::fs::remove_file(&copy).unwrap();
    out
}

/// `got` is the previous commit `before`; elements changed in place may hold either bytes
/// (DESIGN.md: they reach the file page by page before the next commit).
fn assert_previous_commit(got: &[u64], before: &[u64], after: &[u64], what: &str) {
    assert_eq!(
        got.len(),
        before.len(),
        "{what}: length of the previous commit"
    );
    for (i, &x) in got.iter().enumerate() {
        let ok = x == before[i] || after.get(i) == Some(&x);
        assert!(
            ok,
            "{what}: element {i} is {x:#x}, committed {:#x}",
            before[i]
        );
    }
}

fn header(path: &Path) -> Vec<u8> {
    common::read(path)[..HEADER_SIZE].to_vec()
}

fn expect_injected(result: persistence::Result<()>, errno: i32, what: &str) {
    let e = match result {
        Ok(()) => panic!("{what}: succeeded although the step failed"),
        Err(e) => e,
    };
    assert!(
        !fault::pending(),
        "{what}: the injected failure did not fire"
    );
    assert_eq!(e.raw_os_error(), Some(errno), "{what}: {e}");
    assert!(!e.to_string().is_empty());
}

/// The durability calls a retried commit makes, seen through the fault seam's observer.
fn observed_ops(f: impl FnOnce()) -> Vec<Op> {
    std::thread_local! {
        static SEEN: std::cell::RefCell<Vec<Op>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    fn record(op: Op) {
        // Page-cache hints (`madvise`, `posix_fadvise`) are not part of the commit protocol:
        // they change no byte and no durability (`tests/page_cache_advice.rs` counts them).
        if op != Op::Advise {
            SEEN.with(|s| s.borrow_mut().push(op));
        }
    }
    SEEN.with(|s| s.borrow_mut().clear());
    fault::observe(Some(record));
    f();
    fault::observe(None);
    SEEN.with(|s| s.borrow().clone())
}

/// The sequence numbers and lengths of the valid slots in the file.
fn valid_slots(path: &Path) -> Vec<(u64, u64)> {
    Slots::read(&header(path))
        .slots
        .iter()
        .flatten()
        .map(|s| (s.seq, s.len))
        .collect()
}

#[test]
fn a_failed_commit_step_keeps_the_previous_commit_and_only_a_slot_failure_is_retried() {
    for change in [
        Change::GrowingAppend,
        Change::Append,
        Change::InPlace,
        Change::Truncate,
        Change::Set,
    ] {
        for &(step, op, skip) in steps(change) {
            let what = format!("{change:?}, {step} fails");
            let dir = common::tmpdir();
            let path = common::path_in(&dir, "v.bin");
            let (mut v, before, after) = prepare(&path, change);
            let header_before = header(&path);
            let slots_before = valid_slots(&path);
            let prev_seq = slots_before.iter().map(|s| s.0).max().unwrap();

            fault::inject(op, skip, EIO);
            expect_injected(v.sync(), EIO, &what);
            // The handle still has the new contents.
            assert_eq!(&v[..], &after[..], "{what}: contents in memory");

            if step == "slot fdatasync" {
                // The slot was written: a reopen on this machine (and a live reader) sees
                // the new length, whose elements the data step made durable. It is not
                // written back; it counts as committed, and is not yet known to be on disk.
                assert_eq!(v.committed_len(), after.len(), "{what}");
                assert_eq!(
                    reopen_copy(&path),
                    after,
                    "{what}: a reopen sees the new commit"
                );
                // The retry writes the same slot again (its page may have been marked clean
                // without reaching the disk) and flushes it, and changes nothing else.
                let header_failed = header(&path);
                let ops = observed_ops(|| v.sync().unwrap());
                assert!(
                    ops == [Op::Write, Op::SyncFile] || ops == [Op::Write, Op::Msync, Op::SyncFile],
                    "{what}: the retry made {ops:?}, want the slot written and flushed"
                );
                assert!(
                    header(&path) == header_failed,
                    "{what}: the retry changed the header"
                );
                // And the next commit writes the other slot, as usual.
                v.push(42).unwrap();
                v.sync().unwrap();
                v.close().unwrap();
                let mut want = after.clone();
                want.push(42);
                assert_eq!(MmapedVec::<u64>::open(&path).unwrap().to_vec(), want);
                continue;
            }

            // Otherwise the committed length is the old one, and the header page is as
            // before: every reader gets the old commit.
            assert_eq!(v.committed_len(), before.len(), "{what}");
            assert!(
                header(&path) == header_before,
                "{what}: the header page changed after a failed commit"
            );
            assert_previous_commit(&reopen_copy(&path), &before, &after, &what);

            if step == "slot pwrite" {
                // Retry: succeeds, and the previous commit stays as the fallback slot. The
                // failed write spent its sequence number: the retry uses the next one.
                v.sync().unwrap();
                assert_eq!(v.committed_len(), after.len(), "{what}");
                assert_eq!(reopen_copy(&path), after, "{what}: after the retry");
                let mut slots = valid_slots(&path);
                slots.sort();
                assert_eq!(
                    slots,
                    [
                        (prev_seq, before.len() as u64),
                        (prev_seq + 2, after.len() as u64)
                    ],
                    "{what}: slots after the retry"
                );
                v.close().unwrap();
                assert_eq!(MmapedVec::<u64>::open(&path).unwrap().to_vec(), after);
            } else {
                // The data may not be on disk: every later commit is refused, with the
                // same kind of error, and nothing more is written.
                for _ in 0..2 {
                    let e = v.sync().unwrap_err();
                    assert_eq!(
                        e.kind(),
                        ErrorKind::Io,
                        "{what}: retry after a data failure"
                    );
                    assert_eq!(e.raw_os_error(), Some(EIO), "{what}");
                    assert!(e.to_string().contains("earlier sync failed"), "{what}: {e}");
                }
                assert!(
                    header(&path) == header_before,
                    "{what}: a refused commit wrote"
                );
                assert_eq!(
                    v.close().unwrap_err().kind(),
                    ErrorKind::Io,
                    "{what}: close"
                );
                // A reopen goes on from the previous commit, and commits again.
                let mut v = MmapedVec::<u64>::open(&path).unwrap();
                assert_previous_commit(&v, &before, &after, &what);
                v.push(7).unwrap();
                v.sync().unwrap();
                let n = v.len();
                v.close().unwrap();
                assert_eq!(MmapedSlice::<u64>::open(&path).unwrap().len(), n, "{what}");
            }
        }
    }
}

/// The handle goes away while the commit fails: `close()` returns the error, `Drop` swallows
/// it, and a real reopen sees the previous commit (or, when only the slot's flush failed,
/// the new one: the slot was written and its elements are durable).
#[test]
fn close_or_drop_that_fails_to_commit_leaves_the_previous_commit() {
    for change in [
        Change::GrowingAppend,
        Change::Append,
        Change::InPlace,
        Change::Truncate,
        Change::Set,
    ] {
        for &(step, op, skip) in steps(change) {
            for use_close in [true, false] {
                let what = format!(
                    "{change:?}, {step} fails in {}",
                    if use_close { "close()" } else { "Drop" }
                );
                let dir = common::tmpdir();
                let path = common::path_in(&dir, "v.bin");
                let (v, before, after) = prepare(&path, change);
                fault::inject(op, skip, EIO);
                if use_close {
                    expect_injected(v.close(), EIO, &what);
                } else {
                    drop(v);
                    assert!(!fault::pending(), "{what}: Drop did not try to commit");
                }
                let v = MmapedVec::<u64>::open(&path).unwrap();
                if step == "slot fdatasync" {
                    assert_eq!(&v[..], &after[..], "{what}: the written slot's commit");
                } else {
                    assert_previous_commit(&v, &before, &after, &what);
                }
            }
        }
    }
}

/// A vector's observable state, to show that a failed operation changed nothing.
#[derive(Debug, PartialEq)]
struct State {
    len: usize,
    capacity: usize,
    file_len: u64,
    on_disk_len: u64,
    contents: Vec<u64>,
}

fn state(v: &MmapedVec<u64>, path: &Path) -> State {
    State {
        len: v.len(),
        capacity: v.capacity(),
        file_len: v.file_len(),
        on_disk_len: std::fs::metadata(path).unwrap().len(),
        contents: v.to_vec(),
    }
}

/// Fills `v` to its capacity with `value(i)`.
fn fill_to_capacity(v: &mut MmapedVec<u64>) {
    while v.len() < v.capacity() {
        v.push(value(v.len())).unwrap();
    }
}

#[test]
fn failed_growth_leaves_the_vector_unchanged_and_usable() {
    type Grow = fn(&mut MmapedVec<u64>) -> persistence::Result<()>;
    let growers: [(&str, Grow); 5] = [
        ("push", |v| v.push(value(v.len()))),
        ("reserve", |v| v.reserve(100_000)),
        ("extend_from_slice", |v| {
            let more: Vec<u64> = (v.len()..v.len() + 5000).map(value).collect();
            v.extend_from_slice(&more)
        }),
        ("insert", |v| v.insert(7, 77)),
        ("resize", |v| {
            let n = v.len() + 3000;
            v.resize(n, 42)
        }),
    ];
    let failures = [
        (
            "fallocate ENOSPC",
            Op::Allocate,
            ENOSPC,
            ErrorKind::OutOfSpace,
        ),
        ("remap ENOMEM", Op::Remap, ENOMEM, ErrorKind::Io),
    ];
    for (name, grow) in growers {
        for (fail, op, errno, kind) in failures {
            let what = format!("{name} with {fail}");
            let dir = common::tmpdir();
            let path = common::path_in(&dir, "v.bin");
            let mut v = MmapedVec::<u64>::open(&path).unwrap();
            for i in 0..700 {
                v.push(value(i)).unwrap();
            }
            v.sync().unwrap();
            fill_to_capacity(&mut v);
            let was = state(&v, &path);

            // A full disk stays full: growth may retry with a smaller size, which fails too.
            if op == Op::Allocate {
                fault::inject_always(op, errno);
            } else {
                fault::inject(op, 0, errno);
            }
            let e = grow(&mut v).unwrap_err();
            assert!(!fault::pending(), "{what}: the failure did not fire");
            fault::clear();
            assert_eq!(e.kind(), kind, "{what}: {e}");
            assert_eq!(e.raw_os_error(), Some(errno), "{what}");
            assert_eq!(
                state(&v, &path),
                was,
                "{what}: the failed growth changed the vector"
            );

            // Still usable: the same operation now succeeds, and everything commits.
            grow(&mut v).unwrap();
            assert!(v.capacity() > was.capacity, "{what}");
            for _ in 0..10 {
                v.pop();
            }
            v.push(1).unwrap();
            let want = v.to_vec();
            v.sync().unwrap();
            drop(v);
            assert_eq!(
                MmapedSlice::<u64>::open(&path).unwrap().to_vec(),
                want,
                "{what}"
            );
        }
    }
}

#[test]
fn failed_growth_at_open_leaves_the_file_as_committed() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    for i in 0..100 {
        v.push(value(i)).unwrap();
    }
    v.close().unwrap();
    let bytes = common::read(&path);
    for (op, errno, kind) in [
        (Op::Allocate, ENOSPC, ErrorKind::OutOfSpace),
        (Op::Remap, ENOMEM, ErrorKind::Io),
    ] {
        fault::inject(op, 0, errno);
        let e = OpenOptions::new()
            .capacity(1_000_000)
            .open::<u64>(&path)
            .unwrap_err();
        assert!(!fault::pending());
        assert_eq!(e.kind(), kind, "{e}");
        assert!(
            common::read(&path) == bytes,
            "{op:?}: a failed open changed the file"
        );
        let v = MmapedVec::<u64>::open(&path).unwrap();
        assert_eq!(v.to_vec(), (0..100).map(value).collect::<Vec<_>>());
    }
}

#[test]
fn failed_shrink_leaves_the_contents_and_stays_usable() {
    for (op, errno) in [(Op::Remap, ENOMEM), (Op::Truncate, EIO)] {
        let dir = common::tmpdir();
        let path = common::path_in(&dir, "v.bin");
        let mut v = MmapedVec::<u64>::open(&path).unwrap();
        for i in 0..5000 {
            v.push(value(i)).unwrap();
        }
        v.sync().unwrap();
        v.truncate(1000);
        v.sync().unwrap();
        let want = v.to_vec();
        fault::inject(op, 0, errno);
        let e = v.shrink_to_fit().unwrap_err();
        assert!(!fault::pending(), "{op:?}: the failure did not fire");
        assert_eq!(e.raw_os_error(), Some(errno), "{op:?}: {e}");
        assert_eq!(v.to_vec(), want, "{op:?}: contents after a failed shrink");
        assert!(v.capacity() >= v.len());
        // The committed data still fits the file, so a reopen works.
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert!(
            on_disk >= 4096 + 8 * v.committed_len() as u64,
            "{op:?}: {on_disk}"
        );
        // Usable: grow again, commit, reopen.
        for i in 1000..3000 {
            v.push(value(i)).unwrap();
        }
        v.close().unwrap();
        let s = MmapedSlice::<u64>::open(&path).unwrap();
        assert_eq!(
            s.to_vec(),
            (0..3000).map(value).collect::<Vec<_>>(),
            "{op:?}"
        );
    }
}

/// Near a full disk the amortised step does not fit but the request does: growth halves the
/// step beyond the request until it fits, down to exactly the request (whole pages); when
/// even that fails, `push` fails with `OutOfSpace` and changes nothing.
#[test]
fn growth_halves_a_step_that_does_not_fit_down_to_the_exact_size() {
    const PAGE: u64 = 4096;
    // Beyond the request, the amortised step (8x while small) asks for `step - PAGE` more;
    // this many halvings (in whole pages) bring that to nothing.
    let halvings_to_exact = |mut extra: u64| {
        let mut n = 0;
        while extra > 0 {
            extra = extra / 2 / PAGE * PAGE;
            n += 1;
        }
        n
    };
    for failures in [1u32, 2, 3, u32::MAX, u32::MAX - 1] {
        let dir = common::tmpdir();
        let path = common::path_in(&dir, "v.bin");
        let mut v = MmapedVec::<u64>::open(&path).unwrap();
        for i in 0..100_000 {
            v.push(value(i)).unwrap();
        }
        fill_to_capacity(&mut v);
        v.sync().unwrap();
        let file_len = v.file_len();
        let data = file_len - 4096;
        // The amortised step: 8x the data while small, in whole 2 MiB past 2 MiB.
        const HUGE: u64 = 2 << 20;
        assert!(file_len >= HUGE, "{file_len}");
        let step = (4096 + 8 * data).div_ceil(HUGE) * HUGE - file_len;
        let n = halvings_to_exact(step - PAGE);
        // u32::MAX: every attempt fails, the exact one too; u32::MAX - 1: all but the exact.
        let failures = match failures {
            u32::MAX => n + 1,
            f if f == u32::MAX - 1 => n,
            f => f,
        };
        let what = format!("{failures} failed fallocate calls ({n} halvings reach the exact size)");
        let mut extra = step - PAGE;
        for _ in 0..failures.min(n) {
            extra = extra / 2 / PAGE * PAGE;
        }
        let len = v.len();
        fault::inject_times(Op::Allocate, 0, failures, ENOSPC);
        let pushed = v.push(1);
        assert!(!fault::pending(), "{what}: not every failure fired");
        if failures > n {
            assert_eq!(pushed.unwrap_err().kind(), ErrorKind::OutOfSpace, "{what}");
            assert_eq!((v.len(), v.file_len()), (len, file_len), "{what}: changed");
            continue;
        }
        pushed.unwrap();
        assert_eq!(
            v.file_len() - file_len,
            PAGE + extra,
            "{what}: grew to {} bytes from {file_len}",
            v.file_len()
        );
        if failures == n {
            assert_eq!(v.file_len() - file_len, PAGE, "{what}: not the exact size");
        }
        v.close().unwrap();
        assert_eq!(
            MmapedSlice::<u64>::open(&path).unwrap().len(),
            len + 1,
            "{what}"
        );
    }
}

/// A writer killed between its slot `pwrite` and its flush leaves a slot in the page cache
/// only; the next writer cannot tell, so before its first new slot overwrites the other one
/// it writes the current slot again and flushes it (else a power loss during that write
/// could leave the older commit on disk beside a torn new slot, and the file would open to
/// a commit older than the last one `sync` returned for). Commits that write no slot, and
/// later commits, do not pay for it.
#[test]
fn the_first_new_slot_after_open_flushes_the_current_one_first() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.extend_from_slice(&[1, 2, 3]).unwrap();
    v.reserve(100).unwrap();
    v.close().unwrap();

    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v[0] = 10; // same length: no slot written, so none flushed either
    assert_eq!(observed_ops(|| v.sync().unwrap()), [Op::Msync]);
    let header_before = header(&path);
    v.push(4).unwrap();
    let ops = observed_ops(|| v.sync().unwrap());
    let data_flush: &[Op] = if FDATASYNC_COVERS_MSYNC {
        &[Op::SyncFile]
    } else {
        &[Op::Msync, Op::SyncFile]
    };
    assert_eq!(
        ops,
        [&[Op::Write][..], data_flush, &[Op::Write, Op::SyncFile]].concat(),
        "first new slot after open: the current slot rewritten and flushed, then the new one"
    );
    let slots = Slots::read(&header(&path)).slots;
    let old_slots = Slots::read(&header_before).slots;
    assert!(
        slots.contains(&old_slots.into_iter().flatten().max_by_key(|s| s.seq)),
        "the rewrite changed the current slot"
    );
    v.push(5).unwrap();
    assert_eq!(
        observed_ops(|| v.sync().unwrap()),
        [Op::Msync, Op::Write, Op::SyncFile],
        "later commits"
    );
    v.close().unwrap();
    assert_eq!(
        &MmapedSlice::<u64>::open(&path).unwrap()[..],
        &[10, 2, 3, 4, 5]
    );
}

/// `set` writes with `pwrite` and its commit is one `fdatasync` on Linux (no `msync`, no
/// slot: the length is unchanged). A failed `pwrite` is an error from `set`; the vector stays
/// usable, the last commit stays what a reopen sees, and the next `set` + `sync` commits.
#[test]
fn set_commits_with_one_flush_and_a_failed_set_keeps_the_last_commit() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.extend_from_slice(&(0..1000).collect::<Vec<u64>>())
        .unwrap();
    v.sync().unwrap();
    assert_eq!(observed_ops(|| v.set(10, 1010).unwrap()), [Op::Write]);
    let want: &[Op] = if FDATASYNC_COVERS_MSYNC {
        &[Op::SyncFile]
    } else {
        &[Op::Msync, Op::SyncFile]
    };
    assert_eq!(observed_ops(|| v.sync().unwrap()), want);
    assert_eq!(reopen_copy(&path)[10], 1010);

    fault::inject(Op::Write, 0, ENOSPC);
    let e = v.set(20, 2020).unwrap_err();
    assert!(!fault::pending());
    assert_eq!(e.kind(), ErrorKind::OutOfSpace, "{e}");
    assert_eq!(v[20], 20, "the injected failure fires before the write");
    assert_eq!(reopen_copy(&path)[20], 20, "the last commit stands");
    // A failed `set` does not poison the handle: it wrote no page the kernel could have
    // marked clean without writing it.
    v.sync().unwrap();
    v.set(20, 2020).unwrap();
    v.sync().unwrap();
    v.close().unwrap();
    let s = MmapedSlice::<u64>::open(&path).unwrap();
    assert_eq!((s[10], s[20], s[999], s.len()), (1010, 2020, 999, 1000));
}
