//! The commit group's file format, pinned: `tests/golden/v2-group.bin`, a group of two
//! columns (`u64`, `u16`) written by the library that introduced groups, is decoded here by
//! hand from `docs/design.md` ("On-disk format", "Commit groups"), opened, read and committed
//! to by today's library, and today's writer still writes its bytes.
//!
//! **The golden file is the format as released. Never regenerate it to make a failing test
//! pass**: a failure means the format changed, which needs a new format version and a new
//! golden file beside this one. `write_golden_group` (ignored, and guarded by
//! `PERSISTENCE_WRITE_GOLDEN=1`) exists only to make it the first time.

mod common;

use std::path::{Path, PathBuf};

use persistence::{inspect, FileKind, Group, OpenOptions, Pod};

const FILE: &str = "v2-group.bin";
const MAGIC: [u8; 8] = *b"GROUPGLD";
const VERSION: u32 = 3;
const MIB2: u64 = 2 << 20;

type Cols = (u64, u16);

fn row(i: u64) -> Cols {
    (i * 3 + 1, (i as u16) ^ 0x5a5a)
}

fn opts() -> OpenOptions {
    *OpenOptions::new().magic(MAGIC).version(VERSION)
}

fn golden() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(FILE)
}

/// The golden file's history: created (generation 0, slot A), 50 rows committed (slot B,
/// sequence 2), 50 more (slot A, sequence 3).
fn write_golden_to(path: &Path) {
    let mut g = opts().open_group::<Cols>(path).unwrap();
    for i in 0..50 {
        g.push_row(row(i)).unwrap();
    }
    g.sync().unwrap();
    for i in 50..100 {
        g.push_row(row(i)).unwrap();
    }
    g.close().unwrap();
}

/// Makes the golden file, on purpose only (see the module docs).
#[cfg(all(target_endian = "little", target_pointer_width = "64"))]
#[test]
#[ignore = "writes tests/golden/: only on purpose, with PERSISTENCE_WRITE_GOLDEN=1"]
fn write_golden_group() {
    assert_eq!(
        std::env::var("PERSISTENCE_WRITE_GOLDEN").as_deref(),
        Ok("1"),
        "set PERSISTENCE_WRITE_GOLDEN=1 to write the golden file on purpose"
    );
    let dest = golden();
    assert!(!dest.exists(), "{} exists: delete it first", dest.display());
    let dir = tempfile::tempdir_in(dest.parent().unwrap()).unwrap();
    let tmp = dir.path().join(FILE);
    write_golden_to(&tmp);
    std::fs::rename(&tmp, &dest).unwrap();
}

fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

const BASIS: u64 = 0xcbf2_9ce4_8422_2325;

fn u32_at(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn u64_at(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// Decodes the golden file by the document alone; returns the table's block offsets of
/// block 0 of each column, and checks everything on the way.
#[test]
fn the_golden_group_is_the_documented_format() {
    let b = common::read(&golden());
    // Fixed fields.
    assert_eq!(&b[0..8], b"PERSISTV");
    assert_eq!(&b[8..16], &MAGIC);
    assert_eq!(u32_at(&b, 16), 0x0102_0304);
    assert_eq!(u32_at(&b, 20), 2, "format version");
    assert_eq!(u32_at(&b, 24), VERSION);
    assert_eq!(u32_at(&b, 28), 8, "usize width");
    assert_eq!(u32_at(&b, 32), 1, "kind: a group");
    let n = u32_at(&b, 36) as usize;
    assert_eq!(n, 2, "columns");
    assert_eq!(u64_at(&b, 40), MIB2, "data offset");
    assert_eq!(u64_at(&b, 48), MIB2, "block size");
    let types = [
        (8u64, 8u64, u64::FINGERPRINT.to_u64()),
        (2, 2, u16::FINGERPRINT.to_u64()),
    ];
    for (k, (size, align, fp)) in types.iter().enumerate() {
        let at = 56 + 24 * k;
        assert_eq!(
            (u64_at(&b, at), u64_at(&b, at + 8), u64_at(&b, at + 16)),
            (*size, *align, *fp),
            "column {k}"
        );
    }
    let sum_at = 56 + 24 * n;
    let sum = u64_at(&b, sum_at);
    assert_eq!(sum, fnv(BASIS, &b[..sum_at]), "header checksum");
    assert!(b[sum_at + 8..512].iter().all(|&x| x == 0));
    // Block table.
    let entry = |k: usize, j: usize| u64_at(&b, 1536 + 8 * (26 * k + j));
    // Slots: 15 words each; A holds sequence 3 (100 rows), B sequence 2 (50 rows).
    for (at, seq, rows) in [(512usize, 3u64, 100u64), (1024, 2, 50)] {
        let w = |i: usize| u64_at(&b, at + 8 * i);
        assert_eq!(w(0), seq);
        assert_eq!((w(1), w(2)), (rows, rows));
        assert!((3..13).all(|i| w(i) == 0), "unused lengths are 0");
        // Each column's rows fit in its block 0 (2 MiB): one entry each.
        let mut ts = BASIS;
        for k in 0..n {
            ts = fnv(ts, &entry(k, 0).to_le_bytes());
        }
        assert_eq!(w(13), ts, "table checksum");
        let slot_sum = fnv(fnv(BASIS, &b[at..at + 8 * 14]), &sum.to_le_bytes());
        assert_eq!(w(14), slot_sum, "slot checksum");
        assert!(b[at + 120..at + 512].iter().all(|&x| x == 0));
    }
    // Blocks: 2 MiB multiples, past the data offset, within the file, apart.
    let (a, c) = (entry(0, 0), entry(1, 0));
    for off in [a, c] {
        assert!(off % MIB2 == 0 && off >= MIB2 && off + MIB2 <= b.len() as u64);
    }
    assert!(a.abs_diff(c) >= MIB2);
    for k in 0..2 {
        for j in 1..26 {
            assert_eq!(entry(k, j), 0, "no block {j} of column {k}");
        }
    }
    // Data: column k's element i at block 0's offset + i * size.
    for i in 0..100u64 {
        let (x, y) = row(i);
        assert_eq!(u64_at(&b, (a + 8 * i) as usize), x, "column 0, row {i}");
        let at = (c + 2 * i) as usize;
        assert_eq!(
            u16::from_le_bytes([b[at], b[at + 1]]),
            y,
            "column 1, row {i}"
        );
    }
}

fn copy_of(dir: &tempfile::TempDir) -> PathBuf {
    let p = dir.path().join(FILE);
    std::fs::copy(golden(), &p).unwrap();
    p
}

#[cfg(all(target_endian = "little", target_pointer_width = "64"))]
#[test]
fn the_golden_group_opens_reads_and_commits() {
    let dir = common::tmpdir();
    let p = copy_of(&dir);
    let info = inspect(&p).unwrap();
    assert_eq!(
        (
            info.kind,
            info.generation(),
            info.current().lens[..2].to_vec()
        ),
        (FileKind::Group, 2, vec![100, 100])
    );
    let check = |g: &Group<Cols>, n: u64| {
        assert_eq!(g.rows().unwrap() as u64, n);
        for i in 0..n {
            assert_eq!(g.get_row(i as usize), Some(row(i)), "row {i}");
        }
    };
    let mut g = opts().open_group::<Cols>(&p).unwrap();
    check(&g, 100);
    // Past block 0 of the u64 column (262 144 rows), so the file gains blocks too.
    for i in 100..300_000 {
        g.push_row(row(i)).unwrap();
    }
    g.close().unwrap();
    let g = opts().open_group::<Cols>(&p).unwrap();
    assert_eq!(g.generation(), 3);
    check(&g, 300_000);
    drop(g);
    let s = opts().open_group_read_only::<Cols>(&p).unwrap();
    assert_eq!(s.get_row(299_999), Some(row(299_999)));
}

/// Today's writer, doing what made the golden file, writes the same header page and the
/// same committed bytes of each column (where blocks go and how much is reserved is
/// growth policy, and part of the format only through the table, which is compared).
#[cfg(all(target_endian = "little", target_pointer_width = "64"))]
#[test]
fn todays_writer_writes_the_golden_group_bytes() {
    let dir = common::tmpdir();
    let p = dir.path().join("now.bin");
    write_golden_to(&p);
    let now = common::read(&p);
    let gold = common::read(&golden());
    assert_eq!(now[..4096], gold[..4096], "the header page differs");
    let entry = |b: &[u8], k: usize| u64_at(b, 1536 + 8 * 26 * k) as usize;
    for (k, bytes) in [(0, 800), (1, 200)] {
        let (x, y) = (entry(&now, k), entry(&gold, k));
        assert_eq!(now[x..x + bytes], gold[y..y + bytes], "column {k}'s data");
    }
}
