//! Cuts under live readers (issue 9): a writer's `truncate` + `sync` + `shrink_to_fit` never
//! makes the file shorter while a live reader is open, so a reader still holding the old,
//! longer length reads all of it without a fault; the cut happens at a later `sync`,
//! `shrink_to_fit` or close once the readers are gone, and at once when there are none. A
//! reader that opens during a cut waits for it. Symbolic links lead readers and writers to
//! the same lock file; a file with two hard links, or renamed under its writer, is not cut.
//!
//! Every test that could fault runs in a child process (`common::child::isolated`), so that
//! a `SIGBUS` is a failure that names the signal.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use persistence::test_hooks::{self as fault, Op};
use persistence::{LiveReader, MmapedVec, OpenOptions};

fn live(path: &Path) -> LiveReader<u64> {
    OpenOptions::new().open_live::<u64>(path).unwrap()
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn bytes(len: u64) -> u64 {
    4096 + 8 * len
}

fn old(i: usize) -> u64 {
    (i as u64) ^ 0x5555_0000_0000_0000
}

fn new(i: usize) -> u64 {
    (i as u64) ^ 0xAAAA_0000_0000_0000
}

/// A writer holding `n` committed elements `old(i)`.
fn filled(path: &Path, n: usize) -> MmapedVec<u64> {
    let mut w = MmapedVec::<u64>::open(path).unwrap();
    let data: Vec<u64> = (0..n).map(old).collect();
    w.extend_from_slice(&data).unwrap();
    w.sync().unwrap();
    w
}

/// Truncates to `keep`, commits, asks for the cut.
fn truncate_and_shrink(w: &mut MmapedVec<u64>, keep: usize) {
    w.truncate(keep);
    w.sync().unwrap();
    w.shrink_to_fit().unwrap();
}

const T7A: &str = "t7a_a_reader_holding_the_old_length_reads_it_all_and_the_cut_waits_for_it";

/// T7a: the reader, at 1 M elements, does not refresh while the writer truncates to 10,
/// commits and shrinks: the file keeps its size, and the reader reads all 1 M elements (each
/// old or new) without a fault. After a refresh it is at 10; once it is dropped, the writer's
/// next `sync` cuts the file; a new reader opens.
#[test]
fn t7a_a_reader_holding_the_old_length_reads_it_all_and_the_cut_waits_for_it() {
    let dir = common::tmpdir();
    common::child::isolated(T7A, dir.path(), |dir| {
        let p = dir.join("v.bin");
        let n = 1_000_000;
        let mut w = filled(&p, n);
        let mut r = live(&p);
        assert_eq!(r.len(), n);
        let before = size(&p);
        let cap = w.capacity();
        truncate_and_shrink(&mut w, 10);
        assert_eq!(size(&p), before, "the file was cut under a live reader");
        assert_eq!(w.capacity(), cap, "capacity stays while the cut waits");
        // The writer appends over the old elements; the reader sees old or new ones.
        w.extend_from_slice(&(10..1000).map(new).collect::<Vec<_>>())
            .unwrap();
        let mut all = vec![0u64; n];
        assert_eq!(r.copy_to(0, &mut all), n);
        for (i, &x) in all.iter().enumerate() {
            assert!(x == old(i) || x == new(i), "element {i}: {x:#x}");
        }
        assert_eq!(r.iter().count(), n);
        assert_eq!(r.get(n - 1), Some(old(n - 1)));
        w.truncate(10);
        assert!(r.refresh().unwrap());
        assert_eq!(r.len(), 10);
        drop(r);
        w.sync().unwrap();
        assert_eq!(size(&p), bytes(10), "the cut after the reader went");
        assert_eq!(w.capacity(), 10);
        let r = live(&p);
        assert_eq!(
            r.iter().collect::<Vec<_>>(),
            (0..10).map(old).collect::<Vec<_>>()
        );
    });
}

const T7B: &str = "t7b_the_cut_waits_until_close_when_the_reader_goes_first";

/// T7b: the same, with the cut done by the writer's `close` (and by its drop).
#[test]
fn t7b_the_cut_waits_until_close_when_the_reader_goes_first() {
    let dir = common::tmpdir();
    common::child::isolated(T7B, dir.path(), |dir| {
        for by_drop in [false, true] {
            let p = dir.join(format!("v{by_drop}.bin"));
            let mut w = filled(&p, 200_000);
            let r = live(&p);
            let before = size(&p);
            truncate_and_shrink(&mut w, 10);
            assert_eq!(size(&p), before);
            assert_eq!(r.iter().filter(|&x| x == old(7)).count(), 1);
            drop(r);
            if by_drop {
                drop(w);
            } else {
                w.close().unwrap();
            }
            assert_eq!(size(&p), bytes(10), "drop: {by_drop}");
        }
    });
}

/// T7c: with no live reader, `shrink_to_fit` cuts at once, as without live readers.
#[test]
fn t7c_without_readers_the_cut_is_immediate() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut w = filled(&p, 100_000);
    truncate_and_shrink(&mut w, 10);
    assert_eq!(size(&p), bytes(10));
    assert_eq!(w.capacity(), 10);
    // A closed reader is no reader.
    w.extend_from_slice(&[1; 1000]).unwrap();
    w.sync().unwrap();
    live(&p).close().unwrap();
    truncate_and_shrink(&mut w, 5);
    assert_eq!(size(&p), bytes(5));
}

static ARMED: AtomicBool = AtomicBool::new(false);
static PAUSED: AtomicBool = AtomicBool::new(false);
static RESUME: AtomicBool = AtomicBool::new(false);

/// The writer's observer: stops at its first `ftruncate` once armed, until resumed.
fn pause_at_truncate(op: Op) {
    if op == Op::Truncate && ARMED.swap(false, Ordering::SeqCst) {
        PAUSED.store(true, Ordering::SeqCst);
        let start = Instant::now();
        while !RESUME.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// T7d: a reader that opens while the writer is inside its cut (held at its `ftruncate` by
/// the fault seam's observer) waits until the cut is over, then sees the shorter commit.
#[test]
fn t7d_a_reader_opening_during_a_cut_waits_for_it() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let p2 = p.clone();
    let writer = std::thread::spawn(move || {
        let mut w = filled(&p2, 100_000);
        w.truncate(10);
        w.sync().unwrap();
        fault::observe(Some(pause_at_truncate));
        ARMED.store(true, Ordering::SeqCst);
        w.shrink_to_fit().unwrap();
        fault::observe(None);
        w
    });
    let start = Instant::now();
    while !PAUSED.load(Ordering::SeqCst) {
        assert!(start.elapsed() < Duration::from_secs(20), "no cut began");
        std::thread::sleep(Duration::from_millis(1));
    }
    let done = Arc::new(AtomicBool::new(false));
    let (p3, done2) = (p.clone(), done.clone());
    let reader = std::thread::spawn(move || {
        let r = live(&p3);
        done2.store(true, Ordering::SeqCst);
        (r.len(), r.iter().collect::<Vec<_>>())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !done.load(Ordering::SeqCst),
        "open_live returned in the middle of a cut"
    );
    RESUME.store(true, Ordering::SeqCst);
    let w = writer.join().unwrap();
    let (len, elems) = reader.join().unwrap();
    assert_eq!(len, 10);
    assert_eq!(elems, (0..10).map(old).collect::<Vec<_>>());
    assert_eq!(size(&p), bytes(10));
    drop(w);
}

fn symlink(target: &str, link: &Path) {
    std::os::unix::fs::symlink(target, link).unwrap();
}

const T7E: &str = "t7e_links_and_renames_never_let_a_cut_past_a_reader";

/// T7e: a reader through a symbolic link, or a chain of two with relative targets, and a
/// writer through a link, meet at the same lock file: the cut waits. A second hard link or a
/// rename keeps the writer from cutting at all until they are undone.
#[test]
fn t7e_links_and_renames_never_let_a_cut_past_a_reader() {
    let dir = common::tmpdir();
    common::child::isolated(T7E, dir.path(), |dir| {
        std::fs::create_dir_all(dir.join("data")).unwrap();
        std::fs::create_dir_all(dir.join("a")).unwrap();
        std::fs::create_dir_all(dir.join("b")).unwrap();
        let p: PathBuf = dir.join("data/v.bin");
        symlink("data/v.bin", &dir.join("link"));
        symlink("../b/l2", &dir.join("a/l1"));
        symlink("../data/v.bin", &dir.join("b/l2"));
        let mut keep = 100_000;
        let mut w = filled(&p, keep);
        for via in ["link", "a/l1"] {
            let r = live(&dir.join(via));
            assert_eq!(r.len(), keep, "{via}");
            let before = size(&p);
            keep -= 10;
            truncate_and_shrink(&mut w, keep);
            assert_eq!(size(&p), before, "cut under a reader that opened {via}");
            assert!(r.get(keep + 5).is_some());
            drop(r);
            w.sync().unwrap();
            assert_eq!(
                size(&p),
                bytes(keep as u64),
                "{via}: the cut after the reader"
            );
        }
        // No lock file appears beside the links.
        assert!(!dir.join("link-live").exists() && !dir.join("a/l1-live").exists());
        w.close().unwrap();

        // The writer through a link, the reader by the real path.
        let mut w = MmapedVec::<u64>::open(dir.join("a/l1")).unwrap();
        let r = live(&p);
        let before = size(&p);
        keep -= 10;
        truncate_and_shrink(&mut w, keep);
        assert_eq!(
            size(&p),
            before,
            "a writer through links cut under a reader"
        );
        drop(r);
        w.sync().unwrap();
        assert_eq!(size(&p), bytes(keep as u64));

        // A second hard link: no cut, reader or not, until it goes.
        let hard = dir.join("data/hard.bin");
        std::fs::hard_link(&p, &hard).unwrap();
        keep -= 10;
        truncate_and_shrink(&mut w, keep);
        assert_eq!(size(&p), bytes(keep as u64 + 10), "cut with two links");
        std::fs::remove_file(&hard).unwrap();
        w.sync().unwrap();
        assert_eq!(size(&p), bytes(keep as u64));

        // Renamed under the writer: its name no longer leads to its file; no cut until it
        // does again.
        let moved = dir.join("data/moved.bin");
        std::fs::rename(&p, &moved).unwrap();
        keep -= 10;
        truncate_and_shrink(&mut w, keep);
        assert_eq!(size(&moved), bytes(keep as u64 + 10), "cut after a rename");
        std::fs::rename(&moved, &p).unwrap();
        w.shrink_to_fit().unwrap();
        assert_eq!(size(&p), bytes(keep as u64));
        w.close().unwrap();
    });
}

/// A creation whose header reached the page cache whole but whose flush failed is a valid,
/// empty vector that a reader (waiting for the first commit) may map: with a reader open the
/// writer leaves it, without one it cuts the file back to empty as before.
#[test]
fn a_failed_creation_is_not_cut_under_a_reader() {
    let dir = common::tmpdir();
    for with_reader in [true, false] {
        let p = common::path_in(&dir, &format!("new-{with_reader}.bin"));
        std::fs::write(&p, b"").unwrap();
        let mut r = with_reader.then(|| live(&p));
        fault::inject(Op::SyncFile, 0, 5 /* EIO */);
        let e = MmapedVec::<u64>::open(&p).unwrap_err();
        fault::clear();
        assert_eq!(e.raw_os_error(), Some(5));
        if let Some(r) = &mut r {
            assert_eq!(size(&p), 4096, "cut under a reader");
            assert!(!r.refresh().unwrap());
            assert_eq!(r.len(), 0);
        } else {
            assert_eq!(size(&p), 0, "the failed creation was not undone");
        }
        drop(r);
        let mut w = MmapedVec::<u64>::open(&p).unwrap();
        w.push(1).unwrap();
        w.close().unwrap();
        assert_eq!(live(&p).get(0), Some(1));
    }
}
