//! Handles across `fork()` without `exec` (issue 17, item 3). A forked child shares its
//! parent's open file descriptions, and with them the parent's `flock` locks: a child that
//! unlocked or committed for a handle it inherited would take the parent's lock away (the
//! writer's, a reader's) or be a second writer. So a handle remembers the process that
//! opened it, and in any other process it neither commits, grows, writes through the
//! descriptor, cuts nor unlocks: `Drop` and `close` unmap and close the child's copy only,
//! and the calls that would touch the file return `ErrorKind::WrongProcess`.
//!
//! Each test runs in a child process of its own (`common::child::isolated`), single-threaded,
//! and forks there with `libc::fork`; the forked grandchild reports through its exit status.

mod common;

use std::path::Path;

use persistence::{inspect, ErrorKind, MmapedSlice, MmapedVec, OpenOptions};

/// Forks; the child runs `child` and exits with the status it returns (101 if it panics),
/// never returning here; the parent waits and returns the child's exit status.
fn fork_then(child: impl FnOnce() -> i32) -> i32 {
    // SAFETY: this process runs one test on one thread (`isolated`); the child calls only
    // this crate (no heap, no locks of its own) and `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child)).unwrap_or(101);
        // SAFETY: ends the child at once, without running the parent's exit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: `pid` is our child; `status` is a valid place for its status.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(waited, pid);
    assert!(
        libc::WIFEXITED(status),
        "the forked child died: status {status:#x}"
    );
    libc::WEXITSTATUS(status)
}

/// The forked child's own copy of a handle of its parent, moved out of its place so that the
/// child can drop or close it.
fn child_copy<T>(x: &T) -> T {
    // SAFETY: called only in the forked child, which has its own copy of the parent's memory
    // and exits (`_exit`) without using or dropping the original again: the value is moved
    // out of its place exactly once.
    unsafe { std::ptr::read(x) }
}

/// 0 when `r` is `Err(WrongProcess)`, else a code that names the call.
fn wrong_process<T>(r: persistence::Result<T>, code: i32) -> i32 {
    match r {
        Err(e) if e.kind() == ErrorKind::WrongProcess => 0,
        _ => code,
    }
}

fn locked_for_a_writer(p: &Path) -> bool {
    matches!(MmapedVec::<u64>::open(p), Err(e) if e.kind() == ErrorKind::Locked)
}

const WRITER: &str = "a_forked_child_neither_commits_nor_unlocks_for_its_parents_writer";

/// The parent's writer holds one committed element and one pushed after the commit. The
/// child's `sync`, growth, `set` and `shrink_to_fit` fail with `WrongProcess`, and dropping
/// its copy commits nothing and unlocks nothing: the parent is still the only writer, the
/// committed length is still 1, and the parent goes on committing.
#[test]
fn a_forked_child_neither_commits_nor_unlocks_for_its_parents_writer() {
    let dir = common::tmpdir();
    common::child::isolated(WRITER, dir.path(), |dir| {
        let p = dir.join("v.bin");
        let mut w = MmapedVec::<u64>::open(&p).unwrap();
        w.push(1).unwrap();
        w.sync().unwrap();
        w.push(2).unwrap();
        let status = fork_then(|| {
            let c = wrong_process(w.sync(), 10)
                | wrong_process(w.reserve(1 << 20), 11)
                | wrong_process(w.set(0, 9), 12)
                | wrong_process(w.shrink_to_fit(), 13)
                | wrong_process(w.extend_from_slice(&[5; 1 << 16]), 14);
            drop(child_copy(&w));
            c
        });
        assert_eq!(
            status, 0,
            "a call in the child did not fail with WrongProcess"
        );
        assert_eq!(inspect(&p).unwrap().len, 1, "the child's drop committed");
        assert!(
            locked_for_a_writer(&p),
            "the child's drop unlocked the parent's writer"
        );
        assert_eq!(w.first(), Some(&1), "the child's set reached the file");
        w.sync().unwrap();
        assert_eq!(inspect(&p).unwrap().len, 2);

        // `close` in the child: the same, and it says so.
        let status = fork_then(|| wrong_process(child_copy(&w).close(), 20));
        assert_eq!(
            status, 0,
            "the child's close did not fail with WrongProcess"
        );
        assert!(
            locked_for_a_writer(&p),
            "the child's close unlocked the parent's writer"
        );
        w.push(3).unwrap();
        w.close().unwrap();
        assert_eq!(&MmapedVec::<u64>::open(&p).unwrap()[..], &[1, 2, 3]);
    });
}

const SLICE: &str = "a_forked_child_dropping_a_slice_keeps_its_parents_shared_lock";

/// A child dropping its copy of the parent's `MmapedSlice` leaves the parent's shared lock:
/// a writer is still refused.
#[test]
fn a_forked_child_dropping_a_slice_keeps_its_parents_shared_lock() {
    let dir = common::tmpdir();
    common::child::isolated(SLICE, dir.path(), |dir| {
        let p = dir.join("v.bin");
        let mut w = MmapedVec::<u64>::open(&p).unwrap();
        w.extend_from_slice(&[1, 2, 3]).unwrap();
        w.close().unwrap();
        let s = MmapedSlice::<u64>::open(&p).unwrap();
        assert_eq!(
            fork_then(|| {
                drop(child_copy(&s));
                0
            }),
            0
        );
        assert!(
            locked_for_a_writer(&p),
            "the child's drop unlocked the parent's reader"
        );
        assert_eq!(s[..], [1, 2, 3]);
        drop(s);
        assert!(!locked_for_a_writer(&p), "the parent's own drop unlocks");
    });
}

const LIVE: &str = "a_forked_child_dropping_a_live_reader_keeps_its_parents_lock";

/// A child dropping (or closing) its copy of the parent's `LiveReader` leaves the parent's
/// shared lock on `<file>-live`: the writer's truncate + sync + `shrink_to_fit` does not cut
/// the file, and the parent's reader reads its last element without a fault. A `refresh`
/// in the child that would map the file again fails with `WrongProcess`.
#[test]
fn a_forked_child_dropping_a_live_reader_keeps_its_parents_lock() {
    let dir = common::tmpdir();
    common::child::isolated(LIVE, dir.path(), |dir| {
        let p = dir.join("v.bin");
        const N: usize = 1 << 18;
        let mut w = MmapedVec::<u64>::open(&p).unwrap();
        w.extend_from_slice(&[1; 1000]).unwrap();
        w.sync().unwrap();
        let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap();
        w.extend_from_slice(&vec![7; N - 1000]).unwrap();
        w.sync().unwrap();
        let status = fork_then(|| {
            // The new length is past the reader's mapping: a refresh would remap.
            let c = wrong_process(r.refresh(), 30);
            drop(child_copy(&r));
            c
        });
        assert_eq!(
            status, 0,
            "the child's refresh did not fail with WrongProcess"
        );
        let status = fork_then(|| match child_copy(&r).close() {
            Ok(()) => 0,
            Err(_) => 31,
        });
        assert_eq!(status, 0, "the child's close failed");
        assert!(r.refresh().unwrap());
        assert_eq!(r.len(), N);
        let capacity = w.capacity();
        w.truncate(0);
        w.sync().unwrap();
        w.shrink_to_fit().unwrap();
        assert_eq!(
            w.capacity(),
            capacity,
            "the file was cut under the parent's reader"
        );
        assert_eq!(r.get(N - 1), Some(7));
        r.close().unwrap();
        w.shrink_to_fit().unwrap();
        assert_eq!(w.capacity(), 0, "the cut, once the parent's reader is gone");
    });
}
