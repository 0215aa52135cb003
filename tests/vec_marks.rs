//! Every mutator marks what it changes for the next commit: when a commit records a new
//! length (the slot's `pwrite`), every page of the elements it covers is already clean in
//! the page cache, that is on disk; and when `sync()` returns, all of them are. Seen with
//! Linux's `cachestat(2)`, at the slot's `pwrite` through the test seam `fault::observe`. A
//! mutator that changed an element without marking it would leave that page dirty there: a
//! power loss right after the slot reached the disk would then open to the new length with
//! the old bytes. (The check after `sync()` returns alone would not see it: the commit's last
//! `fdatasync` writes back every dirty page of the file.)
//!
//! Each case starts from a committed vector of 40 pages, then changes committed elements
//! (in place, or by truncating and appending below the committed length), then syncs. The
//! file read with `std::fs` and a reopen must also show exactly what the vector showed.
//!
//! The dirty-page check needs `cachestat` (Linux 6.5 or later) and a file system with
//! writeback (the files live under `PERSISTENCE_TEST_DIR` when that is set, else under
//! `CARGO_TARGET_TMPDIR`; not a tmpfs); without them it prints `SKIPPED:` and checks the
//! contents alone.

// The oracle is today's `Vec` (`pop_if` is from Rust 1.86); the MSRV stage builds the
// library alone.
#![allow(clippy::incompatible_msrv)]

mod common;

use std::cell::RefCell;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::cachestat::Probe;
use common::format::DATA_OFFSET;
use persistence::test_hooks::{self as fault, Op as Sys};
use persistence::MmapedVec;

/// Elements in each case: 40 pages of `u64`.
const N: usize = 20_480;

type Op = fn(&mut MmapedVec<u64>, &mut Vec<u64>);

/// `v` and `model` both truncated to `n`: the next appends land below the committed length.
fn cut(v: &mut MmapedVec<u64>, m: &mut Vec<u64>, n: usize) {
    v.truncate(n);
    m.truncate(n);
}

fn cases() -> Vec<(&'static str, Op)> {
    vec![
        ("drain, dropped at once", |v, m| {
            v.drain(100..200);
            m.drain(100..200);
        }),
        ("drain, partly consumed", |v, m| {
            assert_eq!(v.drain(5000..9000).nth(10), m.drain(5000..9000).nth(10));
        }),
        ("drain to the end", |v, m| {
            v.drain(N / 2..);
            m.drain(N / 2..);
        }),
        ("dedup", |v, m| {
            v.dedup();
            m.dedup();
        }),
        ("dedup_by_key", |v, m| {
            v.dedup_by_key(|x| *x / 4);
            m.dedup_by_key(|x| *x / 4);
        }),
        ("dedup_by, changing the kept element", |v, m| {
            let f = |a: &mut u64, b: &mut u64| {
                let same = *a == *b;
                if same {
                    *b += 1_000_000;
                }
                same
            };
            v.dedup_by(f);
            m.dedup_by(f);
        }),
        ("dedup_by, changing only (no duplicate)", |v, m| {
            let f = |a: &mut u64, _: &mut u64| {
                *a ^= 1 << 40;
                false
            };
            v.dedup_by(f);
            m.dedup_by(f);
        }),
        ("retain", |v, m| {
            v.retain(|x| x % 3 != 0);
            m.retain(|x| x % 3 != 0);
        }),
        ("retain_mut, changing and keeping all", |v, m| {
            let f = |x: &mut u64| {
                if *x % 1000 == 7 {
                    *x += 1;
                }
                true
            };
            v.retain_mut(f);
            m.retain_mut(f);
        }),
        ("pop_if, changing but keeping", |v, m| {
            let f = |x: &mut u64| {
                *x += 1;
                false
            };
            assert_eq!(v.pop_if(f), m.pop_if(f));
        }),
        ("pop_if, popping, then push", |v, m| {
            assert_eq!(v.pop_if(|_| true), m.pop_if(|_| true));
            v.push(42).unwrap();
            m.push(42);
        }),
        ("extend_from_within below the committed length", |v, m| {
            cut(v, m, 100);
            v.extend_from_within(10..90).unwrap();
            m.extend_from_within(10..90);
        }),
        ("resize_with below the committed length", |v, m| {
            cut(v, m, 3000);
            v.resize_with(5000, || 9).unwrap();
            m.resize_with(5000, || 9);
        }),
        ("try_extend below the committed length", |v, m| {
            cut(v, m, 7000);
            let it = (0..3000u64).filter(|x| x % 2 == 0);
            v.try_extend(it.clone()).unwrap();
            m.extend(it);
        }),
        (
            "spare_capacity_mut + set_len below the committed length",
            |v, m| {
                cut(v, m, 12_000);
                for (i, s) in v.spare_capacity_mut()[..500].iter_mut().enumerate() {
                    s.write(i as u64 * 11);
                }
                // SAFETY: 500 spare elements written; within the capacity.
                unsafe { v.set_len(12_500) };
                m.extend((0..500).map(|i| i * 11));
            },
        ),
        ("set_len down, spare write, set_len back up", |v, m| {
            // SAFETY: within the capacity; the elements come back as they are.
            unsafe { v.set_len(300) };
            for s in &mut v.spare_capacity_mut()[..10] {
                s.write(77);
            }
            // SAFETY: as above.
            unsafe { v.set_len(N) };
            m[300..310].fill(77);
        }),
        ("borrow_mut", |v, m| {
            use std::borrow::BorrowMut;
            let s: &mut [u64] = v.borrow_mut();
            s[15_000] = 1;
            m[15_000] = 1;
        }),
        ("set and set_from_slice (pwrite)", |v, m| {
            v.set(17, 1717).unwrap();
            m[17] = 1717;
            v.set_from_slice(N - 600, &[6; 600]).unwrap();
            m[N - 600..].fill(6);
        }),
        (
            "set, then an append (the slot is written while set's page must be clean)",
            |v, m| {
                v.set(17, 1).unwrap();
                m[17] = 1;
                v.push(2).unwrap();
                m.push(2);
            },
        ),
        (
            "set below a shorter length, then an append over the cut",
            |v, m| {
                v.set(4_000, 1).unwrap();
                m[4_000] = 1;
                cut(v, m, 5000);
                v.push(2).unwrap();
                m.push(2);
            },
        ),
        ("insert, remove, swap_remove", |v, m| {
            v.insert(20, 5).unwrap();
            m.insert(20, 5);
            assert_eq!(v.remove(4000), m.remove(4000));
            assert_eq!(v.swap_remove(9000), m.swap_remove(9000));
        }),
    ]
}

/// The directory for the vectors' files: one with writeback, for `cachestat`.
fn base_dir() -> std::ffi::OsString {
    std::env::var_os(common::TEST_DIR_ENV)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| env!("CARGO_TARGET_TMPDIR").into())
}

/// The pages holding bytes `..end` of the file that are dirty (not on disk).
fn dirty_pages(probe: &Probe, path: &Path, end: usize) -> Vec<usize> {
    let size = std::fs::metadata(path).unwrap().len() as usize;
    let page = probe.page();
    (probe.dirty(size).iter().enumerate())
        .filter(|&(p, &d)| d && p * page < end)
        .map(|(p, _)| p)
        .collect()
}

/// What the seam's observer checks during one commit.
struct Watch {
    probe: Probe,
    path: PathBuf,
    /// Where the elements of the length being committed end in the file.
    end: usize,
    /// Each slot write seen, with the data pages dirty at that instant.
    stops: Vec<Vec<usize>>,
}

std::thread_local! {
    static WATCH: RefCell<Option<Watch>> = const { RefCell::new(None) };
}

/// The observer: at each `pwrite` (the commit slot), the dirty data pages.
fn on_op(op: Sys) {
    if op == Sys::Write {
        WATCH.with(|w| {
            if let Some(w) = w.borrow_mut().as_mut() {
                let dirty = dirty_pages(&w.probe, &w.path, w.end);
                // The header page (0) is dirty legitimately: the slot is being written.
                w.stops.push(dirty.into_iter().filter(|&p| p > 0).collect());
            }
        });
    }
}

/// Commits `len` elements, checking that their pages are on disk when the slot that records
/// `len` is written (if it is: the length changed) and when `sync()` returns.
fn sync_checked<T: persistence::Pod>(
    v: &mut MmapedVec<T>,
    probe: Option<Probe>,
    path: &Path,
    what: &str,
) {
    let end = DATA_OFFSET + v.len() * std::mem::size_of::<T>();
    let length_changes = v.len() != v.committed_len();
    let Some(probe) = probe else {
        v.sync().unwrap();
        return;
    };
    WATCH.with(|w| {
        *w.borrow_mut() = Some(Watch {
            probe,
            path: path.to_owned(),
            end,
            stops: Vec::new(),
        })
    });
    fault::observe(Some(on_op));
    let r = v.sync();
    fault::observe(None);
    let w = WATCH.with(|w| w.borrow_mut().take()).unwrap();
    r.unwrap();
    if length_changes {
        assert_eq!(w.stops.len(), 1, "{what}: one slot write for a new length");
    }
    for dirty in &w.stops {
        assert!(
            dirty.is_empty(),
            "{what}: the slot recording the new length was written while pages {dirty:?} (of \
             {} bytes; the committed elements end at byte {end}) were dirty: a change not \
             marked for the commit",
            w.probe.page()
        );
    }
    let dirty = dirty_pages(&w.probe, path, end);
    assert!(
        dirty.is_empty(),
        "{what}: sync() returned, but pages {dirty:?} are still dirty"
    );
}

/// The file as `std::fs` reads it holds exactly `model` as its elements (the page cache,
/// which the mapping shares), and a reopen shows it too.
fn assert_contents(path: &Path, model: &[u64], what: &str) {
    let bytes = std::fs::read(path).unwrap();
    let data = &bytes[DATA_OFFSET..DATA_OFFSET + model.len() * 8];
    let got: Vec<u64> = data
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
        .collect();
    assert!(got == model, "{what}: the file's elements differ");
    let v = MmapedVec::<u64>::open(path).unwrap();
    assert!(v == model, "{what}: a reopen differs");
}

/// Whether `cachestat` works here; prints why not.
fn can_probe(dir: &Path) -> bool {
    let target = dir.join("probe-target.bin");
    std::fs::write(&target, b"").unwrap();
    match Probe::new(&target, dir) {
        Ok(_) => true,
        Err(reason) => {
            println!("SKIPPED: the dirty-page check ({reason}); checking contents only");
            false
        }
    }
}

#[test]
fn every_mutator_marks_what_it_changes() {
    let dir = tempfile::Builder::new()
        .prefix("vec-marks")
        .tempdir_in(base_dir())
        .unwrap();
    let can_probe = can_probe(dir.path());
    for (i, (what, op)) in cases().into_iter().enumerate() {
        let path = dir.path().join(format!("v{i}.bin"));
        let mut v = MmapedVec::<u64>::open(&path).unwrap();
        // Runs of 2 (for dedup) over 40 pages.
        let mut model: Vec<u64> = (0..N as u64).map(|i| i / 2).collect();
        v.extend_from_slice(&model).unwrap();
        let probe = || can_probe.then(|| Probe::new(&path, dir.path()).unwrap());
        sync_checked(&mut v, probe(), &path, &format!("{what}: before"));
        op(&mut v, &mut model);
        assert!(v == model, "{what}: the vector differs from Vec");
        sync_checked(&mut v, probe(), &path, what);
        drop(v);
        assert_contents(&path, &model, what);
    }
}

/// `io::Write` on a `MmapedVec<u8>` after a truncation: the bytes written below the
/// committed length are on disk when the commit records them.
#[test]
fn io_write_marks_what_it_writes() {
    let dir = tempfile::Builder::new()
        .prefix("vec-marks")
        .tempdir_in(base_dir())
        .unwrap();
    let can_probe = can_probe(dir.path());
    let path = dir.path().join("log.bin");
    let probe = || can_probe.then(|| Probe::new(&path, dir.path()).unwrap());
    let mut v = MmapedVec::<u8>::open(&path).unwrap();
    v.write_all(&[1u8; 100_000]).unwrap();
    sync_checked(&mut v, probe(), &path, "io::Write: before");
    v.truncate(10);
    v.write_all(&[2u8; 5000]).unwrap();
    writeln!(v, "end").unwrap();
    sync_checked(&mut v, probe(), &path, "io::Write");
    let want = v.to_vec();
    drop(v);
    assert_eq!(MmapedVec::<u8>::open(&path).unwrap().to_vec(), want);
    assert_eq!(&want[..10], &[1u8; 10]);
    assert_eq!(&want[10..5010], &[2u8; 5000][..]);
    assert_eq!(&want[5010..], b"end\n");
}
