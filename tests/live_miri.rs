//! The unsafe code of `LiveReader` (its mapping, the slot loads, `get`, `copy_to`, `iter`,
//! `as_slice`, unmapping) driven on committed files with no writer beside it, written to run
//! under Miri (`ci/miri.sh`), where `src/sys/miri.rs` stands in for the mapping: a heap block
//! of exactly the mapped length, so an access past it, a write through the read-only view or
//! a leaked mapping is reported. The stand-in's mappings do not see later writes to the file,
//! so the tests with a writer committing beside a reader are native only (`live_*.rs`).
//! Runs natively too, as part of `cargo test`.

mod common;

use common::Rec;
use persistence::{LiveReader, MmapedVec, OpenOptions, Pod};

fn live<T: Pod>(path: &std::path::Path) -> LiveReader<T> {
    OpenOptions::new().open_live::<T>(path).unwrap()
}

/// Writes `items`, closes, opens live and reads them every way; `as_slice` matches.
fn roundtrip<T: Pod + PartialEq + std::fmt::Debug>(name: &str, items: &[T]) {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, name);
    let mut w = MmapedVec::<T>::open(&p).unwrap();
    w.extend_from_slice(items).unwrap();
    w.close().unwrap();

    let mut r = live::<T>(&p);
    assert_eq!(r.len(), items.len(), "{name}");
    assert_eq!(r.is_empty(), items.is_empty());
    assert!(!r.refresh().unwrap(), "{name}: nothing new");
    for (i, x) in items.iter().enumerate() {
        assert_eq!(r.get(i).as_ref(), Some(x), "{name}: element {i}");
    }
    assert_eq!(r.get(items.len()), None);
    assert_eq!(r.iter().collect::<Vec<_>>(), items, "{name}: iter");
    assert_eq!(r.iter().rev().count(), items.len());
    let mut out = vec![items[0]; items.len() + 3];
    assert_eq!(r.copy_to(0, &mut out), items.len());
    assert_eq!(&out[..items.len()], items);
    assert_eq!(
        r.copy_to(items.len() / 2, &mut out[..2]),
        2.min(items.len() - items.len() / 2)
    );
    assert_eq!(r.copy_to(items.len() + 1, &mut out), 0);
    // SAFETY: no writer is open.
    assert_eq!(unsafe { r.as_slice() }, items, "{name}: as_slice");
    let r2 = live::<T>(&p);
    assert_eq!(r2.len(), items.len());
    drop(r2);
    r.close().unwrap();
}

/// Every element width `get` reads with one load of its own (1, 2, 4, 8 bytes), one it reads
/// as a whole `T` (24-byte records), and an unaligned-width array.
#[test]
fn a_reader_reads_committed_elements_of_every_width() {
    let n = if cfg!(miri) { 300 } else { 30_000 };
    roundtrip::<u8>("u8.bin", &(0..n).map(|i| i as u8).collect::<Vec<_>>());
    roundtrip::<u16>(
        "u16.bin",
        &(0..n)
            .map(|i| (i as u16).wrapping_mul(3))
            .collect::<Vec<_>>(),
    );
    roundtrip::<u32>("u32.bin", &(0..n).map(|i| i as u32 * 7).collect::<Vec<_>>());
    roundtrip::<u64>(
        "u64.bin",
        &(0..n).map(|i| i as u64 * 11).collect::<Vec<_>>(),
    );
    roundtrip::<f64>(
        "f64.bin",
        &(0..n).map(|i| i as f64 / 3.0).collect::<Vec<_>>(),
    );
    roundtrip::<Rec>("rec.bin", &(0..n as u64).map(Rec::new).collect::<Vec<_>>());
    roundtrip::<[u8; 3]>(
        "u8x3.bin",
        &(0..n).map(|i| [i as u8, 1, 2]).collect::<Vec<_>>(),
    );
}

/// A file with no commit yet opens unmapped and empty; once a writer (here: before the
/// refresh, then closed) has committed, the refresh maps the file, reads the slots and
/// adopts the commit.
#[test]
fn an_empty_file_then_its_first_commit() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "empty.bin");
    std::fs::write(&p, b"").unwrap();
    let mut r = live::<u64>(&p);
    assert_eq!(r.len(), 0);
    assert_eq!(r.get(0), None);
    assert_eq!(r.iter().next(), None);
    // SAFETY: empty.
    assert!(unsafe { r.as_slice() }.is_empty());
    assert!(!r.refresh().unwrap());
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.extend_from_slice(&[4, 5, 6]).unwrap();
    w.close().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.iter().collect::<Vec<_>>(), [4, 5, 6]);
    assert!(!r.refresh().unwrap());
    drop(r);
}

/// A shorter commit after a longer one: the reader opens at the shorter length and reads
/// only that far; the file is still longer (the cut happened or not, depending on readers).
#[test]
fn a_truncated_and_committed_file() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "t.bin");
    let mut w = MmapedVec::<u32>::open(&p).unwrap();
    w.extend_from_slice(&[1; 2000]).unwrap();
    w.sync().unwrap();
    w.truncate(5);
    w.close().unwrap();
    let r = live::<u32>(&p);
    assert_eq!(r.len(), 5);
    assert_eq!(r.iter().sum::<u32>(), 5);
}
