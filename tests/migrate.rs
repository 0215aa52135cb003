//! `OpenOptions::migrate`: a file of version-1 records becomes a file of version-2 records of
//! another size, to another path and in place; the function is called once per element, in
//! order; every bad input is refused with its kind and nothing written; a panicking function
//! leaves no temporary file; elements larger than the buffer.

mod common;

use std::path::{Path, PathBuf};

use common::format::{vector_file, Fixed, Order};
use persistence::{inspect, pod, ErrorKind, MmapedVec, OpenOptions};

const MAGIC: [u8; 8] = *b"MIGRATE!";
use common::temp_files;

pod! {
    /// Version 1: 16 bytes.
    #[derive(Debug, PartialEq)]
    pub struct V1 { pub id: u64, pub price: f32, pub qty: u32 }

    /// Version 2: 40 bytes, wider and with new fields.
    #[derive(Debug, PartialEq)]
    pub struct V2 { pub id: u64, pub price: f64, pub qty: u64, pub venue: [u8; 8], pub seq: u64 }

    /// Version 3: smaller again, 8 bytes.
    #[derive(Debug, PartialEq)]
    pub struct V3 { pub id: u32, pub qty: u32 }
}

fn v(version: u32) -> OpenOptions {
    *OpenOptions::new().magic(MAGIC).version(version)
}

fn old(i: u64) -> V1 {
    V1 {
        id: i,
        price: i as f32 * 0.5,
        qty: (i * 7) as u32,
    }
}

/// The migration function of the tests, and what it must give.
fn up(o: &V1, seq: u64) -> V2 {
    V2 {
        id: o.id,
        price: f64::from(o.price),
        qty: u64::from(o.qty),
        venue: *b"XNAS\0\0\0\0",
        seq,
    }
}

/// A version-1 file of `n` records.
fn v1_file(path: &Path, n: u64) {
    let mut f = v(1).open::<V1>(path).unwrap();
    for i in 0..n {
        f.push(old(i)).unwrap();
    }
    f.close().unwrap();
}

#[test]
fn version_1_to_2_to_another_path_calls_the_function_once_per_element_in_order() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "v1.bin");
    let to = common::path_in(&dir, "v2.bin");
    // Several buffers' worth (16 KiB of the 32 KiB half holds 819 V2 records).
    let n = 20_000;
    v1_file(&from, n);
    let before = common::read(&from);
    let mut calls = 0u64;
    let got = v(2)
        .migrate(1, &from, &to, |o: &V1| {
            assert_eq!(o.id, calls, "called out of order");
            calls += 1;
            up(o, calls - 1)
        })
        .unwrap();
    assert_eq!((got as u64, calls), (n, n));
    assert_eq!(common::read(&from), before, "the source changed");
    let s = v(2).open_read_only::<V2>(&to).unwrap();
    assert_eq!(s.len() as u64, n);
    for (i, r) in s.iter().enumerate() {
        assert_eq!(*r, up(&old(i as u64), i as u64), "element {i}");
    }
    let info = inspect(&to).unwrap();
    assert_eq!(
        (info.app_version, info.elem_size, info.len),
        (2, 40, n),
        "the new file's header"
    );
    assert_eq!(info.file_size, 4096 + 40 * n);
    // The old file still opens as version 1 and not as version 2; the new one the other way.
    assert_eq!(v(1).open_read_only::<V1>(&from).unwrap().len() as u64, n);
    assert_eq!(
        v(1).open_read_only::<V2>(&to).unwrap_err().kind(),
        ErrorKind::VersionMismatch
    );
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn in_place_to_a_larger_then_a_smaller_record() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "data.bin");
    v1_file(&p, 5000);
    assert_eq!(v(2).migrate(1, &p, &p, |o: &V1| up(o, 9)).unwrap(), 5000);
    assert_eq!(
        v(2).open_read_only::<V2>(&p).unwrap()[4999],
        up(&old(4999), 9)
    );
    let n = v(3)
        .migrate(2, &p, &p, |r: &V2| V3 {
            id: r.id as u32,
            qty: r.qty as u32,
        })
        .unwrap();
    assert_eq!(n, 5000);
    let s = v(3).open_read_only::<V3>(&p).unwrap();
    assert_eq!(s[123], V3 { id: 123, qty: 861 });
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 4096 + 8 * 5000);
    drop(s);
    // An ordinary vector again.
    let mut w = v(3).open::<V3>(&p).unwrap();
    w.push(V3 { id: 1, qty: 1 }).unwrap();
    w.close().unwrap();
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn a_live_reader_beside_an_in_place_migration_keeps_reading_the_old_file() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "live.bin");
    v1_file(&p, 3000);
    let mut reader = v(1).open_live::<V1>(&p).unwrap();
    assert_eq!(reader.len(), 3000);
    // The migration renames a new file over the name; the reader's mapping is of the old
    // file, which nothing cuts, so every element it had stays readable and unchanged.
    assert_eq!(v(2).migrate(1, &p, &p, |o: &V1| up(o, 1)).unwrap(), 3000);
    assert!(!reader.refresh().unwrap());
    assert_eq!(reader.len(), 3000);
    assert_eq!(reader.get(2999), Some(old(2999)));
    assert_eq!(reader.iter().filter(|r| r.id < 3000).count(), 3000);
    // A reader opened now sees the migrated file, beside its writer.
    let mut w = v(2).open::<V2>(&p).unwrap();
    let mut fresh = v(2).open_live::<V2>(&p).unwrap();
    assert_eq!(fresh.get(7), Some(up(&old(7), 1)));
    w.push(up(&old(3000), 2)).unwrap();
    w.sync().unwrap();
    assert!(fresh.refresh().unwrap());
    assert_eq!(fresh.len(), 3001);
    // The old reader still sees the old file, and its type there.
    assert!(!reader.refresh().unwrap());
    assert_eq!(reader.get(0), Some(old(0)));
    w.close().unwrap();
    reader.close().unwrap();
    fresh.close().unwrap();
}

#[test]
fn an_empty_file_migrates_to_an_empty_file() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "empty.bin");
    let to = common::path_in(&dir, "empty2.bin");
    v1_file(&from, 0);
    let n = v(2)
        .migrate(1, &from, &to, |_: &V1| -> V2 {
            panic!("no element to call it for")
        })
        .unwrap();
    assert_eq!(n, 0);
    assert!(v(2).open_read_only::<V2>(&to).unwrap().is_empty());
}

/// Runs a migration that must fail with `kind`; the source and `to` unchanged, no
/// temporary file.
#[track_caller]
fn refused<Old: persistence::Pod>(
    o: &OpenOptions,
    from_version: u32,
    from: &Path,
    to: &Path,
    kind: ErrorKind,
) {
    let (src, dst) = (std::fs::read(from).ok(), std::fs::read(to).ok());
    let e = o
        .migrate(from_version, from, to, |_: &Old| 0u64)
        .unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(std::fs::read(from).ok(), src, "the source changed ({e})");
    assert_eq!(std::fs::read(to).ok(), dst, "the destination changed ({e})");
    assert!(temp_files(to.parent().unwrap()).is_empty(), "{e}");
}

#[test]
fn every_bad_input_is_refused_with_its_kind_and_nothing_written() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "v1.bin");
    let to = common::path_in(&dir, "to.bin");
    v1_file(&from, 100);
    std::fs::write(&to, b"old destination").unwrap();

    refused::<V1>(&v(2), 7, &from, &to, ErrorKind::VersionMismatch);
    refused::<V1>(
        OpenOptions::new().magic(*b"OTHERAPP").version(2),
        1,
        &from,
        &to,
        ErrorKind::MagicMismatch,
    );
    refused::<V2>(&v(2), 1, &from, &to, ErrorKind::LayoutMismatch);
    refused::<[u32; 4]>(&v(2), 1, &from, &to, ErrorKind::LayoutMismatch); // alignment
                                                                          // A file of the other byte order: convert it first.
    let foreign = common::path_in(&dir, "foreign.bin");
    let mut data = Vec::new();
    for i in 0..3u64 {
        data.extend_from_slice(&i.swap_bytes().to_ne_bytes());
    }
    let f = Fixed::of::<u64>(MAGIC, 1);
    std::fs::write(&foreign, vector_file(&f, Order::Swapped, 3, &data)).unwrap();
    refused::<u64>(&v(2), 1, &foreign, &to, ErrorKind::WrongEndianness);
    // Corrupt: the committed data cut short.
    let cut = common::path_in(&dir, "cut.bin");
    let mut b = common::read(&from);
    b.truncate(4096 + 16 * 50);
    std::fs::write(&cut, &b).unwrap();
    refused::<V1>(&v(2), 1, &cut, &to, ErrorKind::Corrupt);
    refused::<V1>(
        &v(2),
        1,
        &common::path_in(&dir, "missing"),
        &to,
        ErrorKind::NotFound,
    );
    // Locked: a writer of the source, a writer of the destination.
    let w = v(1).open::<V1>(&from).unwrap();
    refused::<V1>(&v(2), 1, &from, &to, ErrorKind::Locked);
    drop(w);
    std::fs::remove_file(&to).unwrap();
    let w = v(2).open::<V2>(&to).unwrap();
    refused::<V1>(&v(2), 1, &from, &to, ErrorKind::Locked);
    drop(w);
    // After all that, it works.
    assert_eq!(v(2).migrate(1, &from, &to, |o: &V1| up(o, 0)).unwrap(), 100);
}

#[test]
fn a_panicking_function_leaves_no_temporary_file_and_the_destination_as_it_was() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "v1.bin");
    let to = common::path_in(&dir, "v2.bin");
    v1_file(&from, 10_000);
    let mut existing = v(2).open::<V2>(&to).unwrap();
    existing.push(up(&old(1), 1)).unwrap();
    existing.close().unwrap();
    let before = common::read(&to);
    let r = std::panic::catch_unwind(|| {
        v(2).migrate(1, &from, &to, |o: &V1| {
            assert!(o.id < 5000, "the application's bug");
            up(o, 0)
        })
    });
    assert!(r.is_err(), "the function's panic goes to the caller");
    assert!(temp_files(dir.path()).is_empty(), "temporary file left");
    assert_eq!(common::read(&to), before);
    // Every lock was released as the panic unwound.
    assert_eq!(
        v(2).migrate(1, &from, &to, |o: &V1| up(o, 0)).unwrap(),
        10_000
    );
}

pod! {
    /// 40 KB: more than half of the 64 KiB buffer.
    pub struct Wide { pub id: u64, pub payload: [u64; 5000] }
}

#[test]
fn records_larger_than_the_buffer_migrate_one_at_a_time() {
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| {
            let dir = common::tmpdir();
            let from = common::path_in(&dir, "v1.bin");
            let to: PathBuf = common::path_in(&dir, "wide.bin");
            v1_file(&from, 20);
            let n = v(2)
                .migrate(1, &from, &to, |o: &V1| {
                    let mut w = Wide {
                        id: o.id,
                        payload: [0; 5000],
                    };
                    w.payload[4999] = u64::from(o.qty);
                    w
                })
                .unwrap();
            assert_eq!(n, 20);
            let s = v(2).open_read_only::<Wide>(&to).unwrap();
            assert_eq!((s[19].id, s[19].payload[4999]), (19, 133));
            drop(s);
            // And back down, reading one 40 KB record at a time.
            let back = common::path_in(&dir, "back.bin");
            let n = v(3)
                .migrate(2, &to, &back, |w: &Wide| V3 {
                    id: w.id as u32,
                    qty: w.payload[4999] as u32,
                })
                .unwrap();
            assert_eq!(n, 20);
            assert_eq!(
                v(3).open_read_only::<V3>(&back).unwrap()[19],
                V3 { id: 19, qty: 133 }
            );
        })
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn the_same_version_and_type_copies() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "a.bin");
    let to = common::path_in(&dir, "b.bin");
    let mut a = MmapedVec::<u64>::open(&from).unwrap();
    a.extend_from_slice(&[1, 2, 3]).unwrap();
    a.close().unwrap();
    let n = OpenOptions::new()
        .migrate(0, &from, &to, |x: &u64| x * 10)
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(&MmapedVec::<u64>::open(&to).unwrap()[..], &[10, 20, 30]);
}
