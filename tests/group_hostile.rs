//! Hostile files for commit groups: whatever a group's file holds, `open_group`,
//! `open_group_read_only`, `open_group_live` and `inspect` give a group at one of its
//! commits, or a clear error (`Corrupt`, `WrongFileKind`, `LayoutMismatch`, `TypeMismatch`,
//! naming the column where one is to blame); never a panic, a `SIGBUS` or a group whose
//! lengths reach past its blocks. A failed open leaves the file as it was.
//!
//! Damaged and torn commit slots, damaged block table entries, forged tables whose checksum
//! matches, files cut below a block, forged column counts and lengths, files of the other
//! kind, wrong column types, the header page of one group over another's data, and random
//! byte flips over the header page (the seed is printed; rerun with
//! `PERSISTENCE_SEED=<seed>`). Files are forged with the tests' own encoder of the documented
//! format (`tests/common/format.rs`, `group`), not the library's.
//!
//! The tests that may read bytes past a file's end if the library is wrong run in a child
//! process (`common::child::isolated`), so that a `SIGBUS` is a failure that names itself,
//! and each case under `catch_unwind`, so that a panic names the case.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use common::format::{group as gf, Order};
use persistence::{
    inspect, Error, ErrorKind, FileKind, Group, MmapedSlice, MmapedVec, OpenOptions,
};

const NATIVE: Order = Order::Native;

/// The group under test: an 8-byte column and a 2-byte one.
type G = (u64, u16);
/// Its element sizes, for the encoder.
const SIZES: [u64; 2] = [8, 2];
/// Rows that make column 0 need two blocks (2.4 MB of `u64`) and column 1 one.
const BIG: usize = 300_000;

fn opts() -> OpenOptions {
    *OpenOptions::new().magic(*b"HOSTILE\0").version(1)
}

/// Row `i` of every test group.
fn row(i: usize) -> G {
    (i as u64 * 3 + 1, (i as u16) ^ 0x5a5a)
}

/// A directory for many files of a few MiB: a tmpfs when there is one.
fn fast_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/dev/shm")
        .unwrap_or_else(|_| common::tmpdir())
}

/// Writes `bytes` to `p` as a sparse file: only its 64 KiB pieces that hold a nonzero byte
/// are written (a group's file is mostly holes, and the tests write thousands of them).
fn write_file(p: &Path, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    let f = std::fs::File::create(p).unwrap();
    f.set_len(bytes.len() as u64).unwrap();
    static ZEROS: [u8; 1 << 16] = [0; 1 << 16];
    for (i, piece) in bytes.chunks(1 << 16).enumerate() {
        if piece != &ZEROS[..piece.len()] {
            f.write_all_at(piece, (i << 16) as u64).unwrap();
        }
    }
}

/// A group at `path` committed twice: `first` rows (generation 1, slot B), then `second`
/// rows (generation 2, slot A).
fn build(path: &Path, first: usize, second: usize) {
    // Exact capacity: no spare blocks, so the files the tests write stay small.
    let mut g: Group<G> = opts().capacity(second).open_group(path).unwrap();
    for (from, to) in [(0, first), (first, second)] {
        let (a, b) = g.columns_mut();
        a.extend_from_slice(&(from..to).map(|i| row(i).0).collect::<Vec<_>>())
            .unwrap();
        b.extend_from_slice(&(from..to).map(|i| row(i).1).collect::<Vec<_>>())
            .unwrap();
        g.sync().unwrap();
    }
    g.close().unwrap();
    let page = common::read(path);
    let (which, slot) = gf::winner(&page, NATIVE).expect("a valid slot");
    assert_eq!((which, slot.seq, slot.lens[0]), (0, 3, second as u64));
    let older = gf::read_slot(&page, 1, NATIVE).expect("slot B valid");
    assert_eq!((older.seq, older.lens[0]), (2, first as u64));
}

/// What an open found: each column's length and the generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Found {
    lens: [usize; 2],
    generation: u64,
}

impl Found {
    fn rows(n: usize, generation: u64) -> Found {
        Found {
            lens: [n, n],
            generation,
        }
    }
}

/// The four ways to open a group; `read-write` last, since it writes.
const HOWS: [&str; 4] = ["read-only", "live", "inspect", "read-write"];

/// Checks that every element is `row(i)`'s, when `values`; reads every element either way
/// (one past the file's end would raise `SIGBUS`).
fn check_columns(a: &[u64], b: &[u16], values: bool, how: &str) {
    for (i, x) in a.iter().enumerate() {
        let x = std::hint::black_box(*x);
        assert!(
            !values || x == row(i).0,
            "{how}: column 0, element {i}: {x}"
        );
    }
    for (i, x) in b.iter().enumerate() {
        let x = std::hint::black_box(*x);
        assert!(
            !values || x == row(i).1,
            "{how}: column 1, element {i}: {x}"
        );
    }
}

/// Opens `p` the way `HOWS[how]` names. On success reads every element (checking it when
/// `values`); the read-write open then pushes a row, syncs, and a read-only reopen must
/// show it at the next generation.
fn open_how(how: usize, p: &Path, values: bool) -> Result<Found, Error> {
    let name = HOWS[how];
    match how {
        0 => {
            let s = opts().open_group_read_only::<G>(p)?;
            let (a, b) = s.columns();
            check_columns(a, b, values, name);
            Ok(Found {
                lens: [a.len(), b.len()],
                generation: s.generation(),
            })
        }
        1 => {
            let mut r = opts().open_group_live::<G>(p)?;
            let _ = r.refresh()?;
            let (a, b) = r.columns();
            let a: Vec<u64> = a.iter().collect();
            let b: Vec<u16> = b.iter().collect();
            check_columns(&a, &b, values, name);
            let (ca, cb) = r.columns();
            assert_eq!((ca.get(a.len()), cb.get(b.len())), (None, None));
            let mut out = [0u64; 4];
            let n = ca.copy_to(a.len().saturating_sub(2), &mut out);
            assert_eq!(n, a.len().min(2));
            assert_eq!(&out[..n], &a[a.len() - n..]);
            Ok(Found {
                lens: [a.len(), b.len()],
                generation: r.generation(),
            })
        }
        2 => {
            let info = inspect(p)?;
            assert_eq!((info.kind, info.column_count), (FileKind::Group, 2));
            let lens = [info.columns[0].len as usize, info.columns[1].len as usize];
            for (k, c) in info.columns().iter().enumerate() {
                assert!(c.len <= c.capacity, "inspect: column {k}: {c:?}");
                assert_eq!(c.elem_size, SIZES[k]);
            }
            assert!(info.current().valid);
            Ok(Found {
                lens,
                generation: info.generation(),
            })
        }
        _ => {
            let mut g = opts().open_group::<G>(p)?;
            let (a, b) = g.columns();
            check_columns(a, b, values, name);
            let found = Found {
                lens: [a.len(), b.len()],
                generation: g.generation(),
            };
            // Usable: a row pushed and committed reads back at the next generation.
            let pushed = row(found.lens[0] + 7);
            g.push_row(pushed).unwrap();
            g.sync()
                .unwrap_or_else(|e| panic!("{name}: sync after a good open: {e}"));
            g.close().unwrap();
            let s = opts().open_group_read_only::<G>(p).unwrap();
            let (a, b) = s.columns();
            assert_eq!(
                ([a.len(), b.len()], s.generation()),
                (found.lens.map(|l| l + 1), found.generation + 1),
                "{name}: the commit after the open"
            );
            assert_eq!(
                (a[found.lens[0]], b[found.lens[1]]),
                pushed,
                "{name}: the pushed row"
            );
            Ok(found)
        }
    }
}

/// Writes `bytes` to `p` and opens it every way; each open must find `want`. The file is
/// written again before each open (the read-write one changes it).
#[track_caller]
fn expect_found(p: &Path, bytes: &[u8], want: Found, what: &str) {
    for (how, name) in HOWS.iter().enumerate() {
        write_file(p, bytes);
        match open_how(how, p, true) {
            Ok(found) => assert_eq!(found, want, "{what}: {name}"),
            Err(e) => panic!("{what}: {name}: {e}"),
        }
        if how < 3 {
            assert!(common::read(p) == bytes, "{what}: {name} changed the file");
        }
    }
}

/// Which column an error must name.
#[derive(Clone, Copy, Debug)]
enum Names {
    /// Not checked.
    Any,
    /// None.
    NoColumn,
    /// One of these.
    OneOf(&'static [usize]),
}

/// Writes `bytes` to `p`; every way of opening must fail with `kind`, naming the column as
/// `names` says; the file must stay as it was. `inspect`, which compares no types, must fail
/// the same way when `kind` is `Corrupt`, and succeed otherwise.
#[track_caller]
fn expect_error(p: &Path, bytes: &[u8], kind: ErrorKind, names: Names, what: &str) {
    write_file(p, bytes);
    for (how, name) in HOWS.iter().enumerate() {
        if how == 2 && kind != ErrorKind::Corrupt {
            inspect(p).unwrap_or_else(|e| panic!("{what}: inspect: {e}"));
            continue;
        }
        match open_how(how, p, true) {
            Ok(found) => panic!("{what}: {name} opened it: {found:?}"),
            Err(e) => {
                assert_eq!(e.kind(), kind, "{what}: {name}: {e}");
                assert!(!e.to_string().is_empty());
                let named = match names {
                    Names::Any => true,
                    Names::NoColumn => e.column().is_none(),
                    Names::OneOf(cols) => e.column().is_some_and(|c| cols.contains(&c)),
                };
                assert!(
                    named,
                    "{what}: {name}: names column {:?}, not {names:?}: {e}",
                    e.column()
                );
            }
        }
        assert!(
            common::read(p) == bytes,
            "{what}: a failed {name} open changed the file"
        );
    }
}

/// Word `w` of slot `which`'s bytes, as a byte range of the header page.
fn word(which: usize, w: usize) -> std::ops::Range<usize> {
    let at = gf::SLOT_OFFSETS[which] + 8 * w;
    at..at + 8
}

/// A damaged commit slot is passed over: the other one's commit opens (the older one when
/// the newest is damaged). Both damaged, or both blank, is `Corrupt` for every open. A
/// writer that opened past a damaged newest slot commits over it, and that commit reopens.
#[test]
fn a_damaged_slot_gives_the_other_commit_and_two_are_corrupt() {
    let dir = fast_dir("persistence-group-slots");
    let base = dir.path().join("base.bin");
    build(&base, 5, 9);
    let bytes = common::read(&base);
    let p = dir.path().join("g.bin");
    let newest = Found::rows(9, 2);
    let older = Found::rows(5, 1);
    for w in 0..gf::SLOT_WORDS {
        for (damaged, want) in [
            (&[0][..], Some(older)),
            (&[1], Some(newest)),
            (&[0, 1], None),
        ] {
            let mut b = bytes.clone();
            for &s in damaged {
                b[word(s, w)][w % 8] ^= 0x10;
            }
            let what = format!("word {w} of slots {damaged:?} damaged");
            match want {
                Some(want) => expect_found(&p, &b, want, &what),
                None => expect_error(&p, &b, ErrorKind::Corrupt, Names::NoColumn, &what),
            }
        }
    }
    let mut blank = bytes.clone();
    for s in 0..2 {
        blank[gf::SLOT_OFFSETS[s]..][..gf::SLOT_LEN].fill(0);
    }
    expect_error(
        &p,
        &blank,
        ErrorKind::Corrupt,
        Names::NoColumn,
        "both slots blank",
    );
    // Valid checksums but sequences out of range (0, above 2^62): damaged too.
    for seq in [0, (1 << 62) + 1, u64::MAX] {
        let mut b = bytes.clone();
        let mut s = gf::slot_at(&b, 0, NATIVE);
        s.seq = seq;
        gf::write_slot(&mut b, 0, &s, NATIVE);
        expect_found(&p, &b, older, &format!("slot A's sequence {seq}"));
    }

    // A writer past the damaged newest slot: its commit goes over that slot and reopens.
    let mut b = bytes.clone();
    b[word(0, 3)][0] ^= 1;
    write_file(&p, &b);
    let mut g = opts().open_group::<G>(&p).unwrap();
    assert_eq!((g.rows().unwrap(), g.generation()), (5, 1));
    g.push_row(row(5)).unwrap();
    g.sync().unwrap();
    g.close().unwrap();
    let after = common::read(&p);
    let (which, slot) = gf::winner(&after, NATIVE).unwrap();
    assert_eq!(
        (which, slot.seq, slot.lens[..2].to_vec()),
        (0, 3, vec![6, 6])
    );
    let s = opts().open_group_read_only::<G>(&p).unwrap();
    assert_eq!((s.columns().0.len(), s.generation()), (6, 2));
    check_columns(s.columns().0, s.columns().1, true, "after the commit");
}

/// A slot torn while a commit wrote it (any subset of its words new, the rest old) is
/// damaged unless every word that changed landed: the open shows the commit before it, or
/// the new one when it landed whole. A writer then commits over the torn slot.
#[test]
fn a_torn_slot_shows_the_commit_before_it() {
    let mut rng = common::rng("group-torn-slot");
    let dir = fast_dir("persistence-group-torn");
    let base = dir.path().join("base.bin");
    build(&base, 5, 9);
    let before = common::read(&base);
    // The next commit (generation 3, 12 rows) goes into slot B.
    {
        let mut g = opts().open_group::<G>(&base).unwrap();
        for i in 9..12 {
            g.push_row(row(i)).unwrap();
        }
        g.close().unwrap();
    }
    let after = common::read(&base);
    let (which, slot) = gf::winner(&after, NATIVE).unwrap();
    assert_eq!((which, slot.seq), (1, 4));
    assert_eq!(
        before.len(),
        after.len(),
        "no new block: only the slot differs"
    );
    let changed: Vec<usize> = (0..gf::SLOT_WORDS)
        .filter(|&w| before[word(1, w)] != after[word(1, w)])
        .collect();
    assert!(
        changed.len() >= 4,
        "sequence, two lengths, checksum: {changed:?}"
    );

    let p = dir.path().join("g.bin");
    let mut subsets: Vec<u32> = (0..gf::SLOT_WORDS).map(|w| 1 << w).collect();
    subsets.extend((1..gf::SLOT_WORDS).map(|n| (1 << n) - 1)); // prefixes
    subsets.extend((1..gf::SLOT_WORDS).map(|n| (1 << gf::SLOT_WORDS) - (1 << n))); // suffixes
    subsets.extend((0..64).map(|_| rng.u32(1..(1 << gf::SLOT_WORDS) - 1)));
    let mut torn_seen = 0;
    for landed in subsets {
        let mut b = after.clone();
        for w in (0..gf::SLOT_WORDS).filter(|w| landed & (1 << w) == 0) {
            b[word(1, w)].copy_from_slice(&before[word(1, w)]);
        }
        let whole = changed.iter().all(|w| landed & (1 << w) != 0);
        let none = changed.iter().all(|w| landed & (1 << w) == 0);
        let want = if whole {
            Found::rows(12, 3)
        } else {
            Found::rows(9, 2)
        };
        torn_seen += usize::from(!whole && !none);
        expect_found(&p, &b, want, &format!("words landed {landed:#017b}"));
    }
    assert!(torn_seen > 20, "only {torn_seen} torn images");

    // A writer over a torn slot B: its commit (generation 3) goes into slot B.
    let mut b = after.clone();
    b[word(1, 0)].copy_from_slice(&before[word(1, 0)]);
    write_file(&p, &b);
    let mut g = opts().open_group::<G>(&p).unwrap();
    assert_eq!((g.rows().unwrap(), g.generation()), (9, 2));
    g.truncate_rows(9);
    g.push_row(row(9)).unwrap();
    g.close().unwrap();
    let fixed = common::read(&p);
    assert_eq!(gf::winner(&fixed, NATIVE).unwrap().0, 1);
    let s = opts().open_group_read_only::<G>(&p).unwrap();
    assert_eq!((s.columns().0.len(), s.generation()), (10, 3));
    check_columns(
        s.columns().0,
        s.columns().1,
        true,
        "after the commit over a torn slot",
    );
}

/// The big base file and where its blocks lie.
struct Big {
    bytes: Vec<u8>,
    /// `(column, block)` of every block the commits need.
    needed: Vec<(usize, usize)>,
}

fn big(dir: &Path) -> Big {
    let base = dir.join("big.bin");
    build(&base, BIG / 2, BIG);
    let bytes = common::read(&base);
    let (_, slot) = gf::winner(&bytes, NATIVE).unwrap();
    let m = gf::needed(&SIZES, &slot.lens).unwrap();
    assert_eq!(
        &m[..3],
        &[2, 1, 0],
        "column 0 in two blocks, column 1 in one"
    );
    let needed = vec![(0, 0), (0, 1), (1, 0)];
    for &(k, j) in &needed {
        let off = gf::entry(&bytes, k, j, NATIVE);
        assert!(off % gf::BLOCK0 == 0 && off >= gf::BLOCK0, "{k} {j}: {off}");
        assert!(off + gf::block_size(j) <= bytes.len() as u64);
    }
    Big { bytes, needed }
}

const TABLE_ENTRY: &str = "a_damaged_table_entry_a_commit_needs_is_corrupt";

/// A table entry that a commit needs, damaged: `Corrupt`. When the damage makes the block
/// misaligned or puts it outside the file, the error names the entry's column; an entry
/// changed to another plausible block is caught by the table checksum. An entry no commit
/// needs may hold anything.
#[test]
fn a_damaged_table_entry_a_commit_needs_is_corrupt() {
    let dir = fast_dir("persistence-group-table");
    common::child::isolated(TABLE_ENTRY, dir.path(), |dir| {
        let big = big(dir);
        let p = dir.join("g.bin");
        for &(k, j) in &big.needed {
            let at = gf::entry_at(k, j);
            // Misaligned by a page, 4 GiB past the end, 2^63 past it.
            for (byte, bit) in [(1, 0x10), (4, 0x01), (7, 0x80)] {
                let mut b = big.bytes.clone();
                b[at + byte] ^= bit;
                let off = gf::entry(&b, k, j, NATIVE);
                expect_error(
                    &p,
                    &b,
                    ErrorKind::Corrupt,
                    Names::OneOf([&[0][..], &[1]][k]),
                    &format!("entry ({k}, {j}) damaged to {off:#x}"),
                );
            }
        }
        // Two needed entries swapped: both aligned, in the file and disjoint; the checksum
        // tells.
        let mut b = big.bytes.clone();
        let (x, y) = (gf::entry(&b, 0, 0, NATIVE), gf::entry(&b, 1, 0, NATIVE));
        gf::set_entry(&mut b, 0, 0, y, NATIVE);
        gf::set_entry(&mut b, 1, 0, x, NATIVE);
        expect_error(
            &p,
            &b,
            ErrorKind::Corrupt,
            Names::Any,
            "entries (0, 0) and (1, 0) swapped",
        );
        // Entries no commit needs.
        let mut b = big.bytes.clone();
        for (k, j) in [(1, 1), (0, 2), (0, 25), (2, 0), (11, 25)] {
            gf::set_entry(&mut b, k, j, 0xdead_beef_0000 + j as u64, NATIVE);
        }
        expect_found(
            &p,
            &b,
            Found::rows(BIG, 2),
            "garbage in entries no commit needs",
        );
    });
}

const FORGED: &str = "forged_tables_with_a_matching_checksum_are_corrupt_naming_the_column";

/// Forged tables whose checksum matches (the slots resealed over them): blocks that overlap
/// each other or the header, misaligned ones, ones past the end of the file or whose end
/// overflows: `Corrupt`, naming the column of the block found bad. Forged lengths past the
/// table, or for a column the group does not have: `Corrupt`, naming that column.
#[test]
fn forged_tables_with_a_matching_checksum_are_corrupt_naming_the_column() {
    let dir = fast_dir("persistence-group-forged");
    common::child::isolated(FORGED, dir.path(), |dir| {
        let big = big(dir);
        let p = dir.join("g.bin");
        let size = big.bytes.len() as u64;
        let e = |k: usize, j: usize| gf::entry(&big.bytes, k, j, NATIVE);
        // An overlap may be blamed on either column it involves.
        const BOTH: &[usize] = &[0, 1];
        let cases: Vec<(&str, usize, usize, u64, &[usize])> = vec![
            ("column 1's block on column 0's", 1, 0, e(0, 0), BOTH),
            (
                "column 1's block inside column 0's block 1",
                1,
                0,
                e(0, 1) + gf::BLOCK0,
                BOTH,
            ),
            ("column 0's block 1 on its block 0", 0, 1, e(0, 0), &[0]),
            ("column 0's block 1 on column 1's", 0, 1, e(1, 0), BOTH),
            ("column 0's block 0 over the header", 0, 0, 0, &[0]),
            ("column 1's block 0 over the header", 1, 0, 0, &[1]),
            ("misaligned by a page", 1, 0, e(1, 0) + 4096, &[1]),
            ("misaligned by a byte", 0, 0, e(0, 0) + 1, &[0]),
            (
                "at the end of the file",
                0,
                1,
                size.next_multiple_of(gf::BLOCK0),
                &[0],
            ),
            ("ending past the file", 0, 1, size - gf::BLOCK0, &[0]),
            ("end overflows", 1, 0, u64::MAX - gf::BLOCK0 + 1, &[1]),
            ("far past the end", 1, 0, 1 << 62, &[1]),
        ];
        for (what, k, j, off, cols) in cases {
            let mut b = big.bytes.clone();
            gf::set_entry(&mut b, k, j, off, NATIVE);
            for s in 0..2 {
                gf::reseal_slot(&mut b, s, &SIZES, NATIVE);
            }
            assert!(gf::winner(&b, NATIVE).is_some());
            // `'static` for `Names`: the cases are few.
            let cols: &'static [usize] = Vec::leak(cols.to_vec());
            expect_error(&p, &b, ErrorKind::Corrupt, Names::OneOf(cols), what);
        }
        // Lengths: past the table (the byte count overflows, or needs more than 26 blocks), and
        // one for column 5 of a two-column group.
        for (what, k, len) in [
            ("a length whose bytes overflow", 0, u64::MAX / 4),
            ("a length past the table", 1, 1 << 60),
            ("a length for a column the group lacks", 5, 3),
        ] {
            let mut b = big.bytes.clone();
            for s in 0..2 {
                let mut slot = gf::slot_at(&b, s, NATIVE);
                slot.lens[k] = len;
                gf::write_slot(&mut b, s, &slot, NATIVE);
            }
            let cols: &'static [usize] = Vec::leak(vec![k]);
            expect_error(&p, &b, ErrorKind::Corrupt, Names::OneOf(cols), what);
        }
    });
}

const CUT: &str = "a_file_cut_below_a_needed_block_is_corrupt";

/// A file cut below a block its commit needs: `Corrupt`, naming a column, for every open;
/// the file is not changed (a writer neither extends it nor starts it anew).
#[test]
fn a_file_cut_below_a_needed_block_is_corrupt() {
    let dir = fast_dir("persistence-group-cut");
    common::child::isolated(CUT, dir.path(), |dir| {
        let big = big(dir);
        let p = dir.join("g.bin");
        // The end of the last block the newest commit needs (blocks past it are spare).
        let last = big
            .needed
            .iter()
            .map(|&(k, j)| gf::entry(&big.bytes, k, j, NATIVE) + gf::block_size(j))
            .max()
            .unwrap() as usize;
        assert!(last <= big.bytes.len());
        for cut in [
            last - 1,
            last - 4096,
            last - (1 << 20),
            3 << 20,
            2 << 20,
            4096,
        ] {
            expect_error(
                &p,
                &big.bytes[..cut],
                ErrorKind::Corrupt,
                Names::OneOf(&[0, 1]),
                &format!("cut to {cut} bytes"),
            );
        }
        // Cut inside the header page, past the first sector: no commit left; not a new group.
        for cut in [600, 2000, 4095] {
            expect_error(
                &p,
                &big.bytes[..cut],
                ErrorKind::Corrupt,
                Names::Any,
                &format!("cut to {cut} bytes"),
            );
        }
    });
}

/// Column counts of 0, 13 and beyond (the header checksum recomputed): `Corrupt`. A forged
/// third column with a valid descriptor: a two-column type is refused with `LayoutMismatch`,
/// and the three-column type opens it with the third column empty.
#[test]
fn a_column_count_of_0_or_13_is_corrupt() {
    let dir = fast_dir("persistence-group-count");
    let base = dir.path().join("base.bin");
    build(&base, 5, 9);
    let bytes = common::read(&base);
    let p = dir.path().join("g.bin");
    for n in [0u32, 13, 14, 255, u32::MAX] {
        let mut b = bytes.clone();
        b[gf::AT_COLUMNS..][..4].copy_from_slice(&n.to_ne_bytes());
        gf::reseal(&mut b, NATIVE);
        for s in 0..2 {
            let slot = gf::slot_at(&b, s, NATIVE);
            gf::write_slot(&mut b, s, &slot, NATIVE);
        }
        expect_error(
            &p,
            &b,
            ErrorKind::Corrupt,
            Names::NoColumn,
            &format!("{n} columns"),
        );
    }

    let mut b = bytes.clone();
    use persistence::Pod;
    let cols = [
        gf::ColumnType::of::<u64>(u64::FINGERPRINT.to_u64()),
        gf::ColumnType::of::<u16>(u16::FINGERPRINT.to_u64()),
        gf::ColumnType::of::<u32>(u32::FINGERPRINT.to_u64()),
    ];
    b[..gf::sum_at(2) + 8].fill(0);
    gf::encode_fixed(&mut b, *b"HOSTILE\0", 1, &cols, NATIVE);
    for s in 0..2 {
        let slot = gf::slot_at(&b, s, NATIVE);
        gf::write_slot(&mut b, s, &slot, NATIVE);
    }
    expect_error(
        &p,
        &b,
        ErrorKind::LayoutMismatch,
        Names::NoColumn,
        "a forged third column",
    );
    write_file(&p, &b);
    let s = opts().open_group_read_only::<(u64, u16, u32)>(&p).unwrap();
    let (x, y, z) = s.columns();
    assert_eq!((x.len(), y.len(), z.len(), s.generation()), (9, 9, 0, 2));
    check_columns(x, y, true, "three columns");
    drop(s);
    let mut g = opts().open_group::<(u64, u16, u32)>(&p).unwrap();
    g.truncate_rows(0);
    g.push_row((1, 2, 3)).unwrap();
    g.close().unwrap();
    assert_eq!(inspect(&p).unwrap().column_count, 3);
}

/// A vector's file (version 2 and version 1) opened as a group, and a group's opened as a
/// vector, read-only or live: `WrongFileKind`, the file unchanged; `inspect` tells them
/// apart.
#[test]
fn a_file_of_the_other_kind_is_wrong_file_kind() {
    let dir = common::tmpdir();
    let vector = dir.path().join("v.bin");
    let mut v = opts().open::<u64>(&vector).unwrap();
    v.extend_from_slice(&[1, 2, 3]).unwrap();
    v.close().unwrap();
    let v1 = dir.path().join("v1.bin");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/v1-u64.bin"),
        &v1,
    )
    .unwrap();
    let v1_opts = *OpenOptions::new().magic(*b"GOLDEN\0\0").version(1);
    let group = dir.path().join("g.bin");
    build(&group, 2, 4);

    for (path, o) in [(&vector, opts()), (&v1, v1_opts)] {
        let before = common::read(path);
        let kinds = [
            o.open_group::<(u64,)>(path).map(drop),
            o.open_group::<G>(path).map(drop),
            o.open_group_read_only::<(u64,)>(path).map(drop),
            o.open_group_live::<(u64,)>(path).map(drop),
            o.open_group_live::<G>(path).map(drop),
        ];
        for (i, r) in kinds.into_iter().enumerate() {
            let e = r.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::WrongFileKind, "{path:?} open {i}: {e}");
            assert!(e.to_string().contains("vector"), "{e}");
        }
        assert!(common::read(path) == before, "{path:?} changed");
        assert_eq!(inspect(path).unwrap().kind, FileKind::Vector);
    }

    let before = common::read(&group);
    let kinds = [
        opts().open::<u64>(&group).map(drop),
        opts().open::<u16>(&group).map(drop),
        opts().open_read_only::<u64>(&group).map(drop),
        MmapedSlice::<u64>::open(&group).map(drop),
        MmapedVec::<u8>::open(&group).map(drop),
        opts().open_live::<u64>(&group).map(drop),
    ];
    for (i, r) in kinds.into_iter().enumerate() {
        let e = r.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::WrongFileKind, "group open {i}: {e}");
        assert!(e.to_string().contains("group"), "{e}");
    }
    assert!(common::read(&group) == before, "the group's file changed");
    let info = inspect(&group).unwrap();
    assert_eq!((info.kind, info.column_count), (FileKind::Group, 2));
}

/// Another column count, size, alignment or type: `LayoutMismatch` or `TypeMismatch`, naming
/// the first column that differs (none for the count), for every kind of open; the file
/// unchanged.
#[test]
fn other_columns_are_layout_or_type_mismatch_naming_the_column() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    build(&p, 2, 4);
    let before = common::read(&p);
    use ErrorKind::{LayoutMismatch as L, TypeMismatch as T};
    fn all<C: persistence::Columns>(p: &Path) -> [Result<(), Error>; 3] {
        [
            opts().open_group::<C>(p).map(drop),
            opts().open_group_read_only::<C>(p).map(drop),
            opts().open_group_live::<C>(p).map(drop),
        ]
    }
    /// A case: what differs, the three opens' results, the kind and column they must give.
    type Case = (
        &'static str,
        [Result<(), Error>; 3],
        ErrorKind,
        Option<usize>,
    );
    let cases: Vec<Case> = vec![
        ("one column", all::<(u64,)>(&p), L, None),
        ("three columns", all::<(u64, u16, u8)>(&p), L, None),
        (
            "twelve columns",
            all::<(u64, u16, u8, u8, u8, u8, u8, u8, u8, u8, u8, u8)>(&p),
            L,
            None,
        ),
        ("column 1 wider", all::<(u64, u32)>(&p), L, Some(1)),
        ("column 0 narrower", all::<(u32, u16)>(&p), L, Some(0)),
        (
            "column 1 less aligned",
            all::<(u64, [u8; 2])>(&p),
            L,
            Some(1),
        ),
        (
            "column 0 less aligned",
            all::<([u32; 2], u16)>(&p),
            L,
            Some(0),
        ),
        ("column 0 another type", all::<(i64, u16)>(&p), T, Some(0)),
        ("column 1 another type", all::<(u64, i16)>(&p), T, Some(1)),
        ("both another type", all::<(f64, i16)>(&p), T, Some(0)),
        ("swapped", all::<(u16, u64)>(&p), L, Some(0)),
    ];
    for (what, results, kind, column) in cases {
        for (i, r) in results.into_iter().enumerate() {
            let e = r.unwrap_err();
            assert_eq!(
                (e.kind(), e.column()),
                (kind, column),
                "{what}, open {i}: {e}"
            );
        }
    }
    let e = OpenOptions::new().open_group::<G>(&p).unwrap_err();
    assert_eq!((e.kind(), e.column()), (ErrorKind::MagicMismatch, None));
    assert!(
        common::read(&p) == before,
        "a refused open changed the file"
    );
}

/// Runs `f` (one open of a case) and turns a panic into a failure naming the case.
fn labelled<R>(what: &str, f: impl FnOnce() -> R) -> R {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(panic) => {
            eprintln!("group_hostile: the panic came from {what}");
            std::panic::resume_unwind(panic)
        }
    }
}

/// Opens `bytes` every way: each gives an error with a message, or a group whose lengths are
/// those of one of the header's valid slots, every element read (a `SIGBUS` kills the child
/// process and fails the test); the writer's push and commit then work.
fn error_or_consistent(p: &Path, bytes: &[u8], what: &str) -> [Option<Found>; 4] {
    let valid: Vec<Found> = (0..2)
        .filter_map(|s| gf::read_slot(bytes, s, NATIVE))
        .map(|s| Found {
            lens: [s.lens[0] as usize, s.lens[1] as usize],
            generation: s.seq - 1,
        })
        .collect();
    let mut out = [None; 4];
    for (how, name) in HOWS.iter().enumerate() {
        write_file(p, bytes);
        let r = labelled(&format!("{what}, {name}"), || open_how(how, p, false));
        match r {
            Ok(found) => {
                assert!(
                    valid.contains(&found),
                    "{what}: {name} opened {found:?}, not one of the slots {valid:?}"
                );
                out[how] = Some(found);
            }
            Err(e) => assert!(!e.to_string().is_empty(), "{what}: {name}: empty message"),
        }
    }
    out
}

const MIXED: &str = "the_header_of_one_group_over_anothers_data_is_an_error_or_consistent";

/// Two groups of the same types, blocks in other places: A (300 000 rows, column 0 first)
/// and B (20 rows, column 1 grown first). A's header page over B's file (shorter than A's
/// blocks), B's header over A's file, and A's slots over B's header: each open gives an
/// error or a consistent group at a commit of the header it has, never a panic or a fault.
#[test]
fn the_header_of_one_group_over_anothers_data_is_an_error_or_consistent() {
    let dir = fast_dir("persistence-group-mixed");
    common::child::isolated(MIXED, dir.path(), |dir| {
        let a = dir.join("a.bin");
        build(&a, BIG / 2, BIG);
        let b = dir.join("b.bin");
        {
            let mut g: Group<G> = opts().open_group(&b).unwrap();
            let (x, y) = g.columns_mut();
            y.extend_from_slice(&[7; 20]).unwrap();
            x.extend_from_slice(&[9; 20]).unwrap();
            g.sync().unwrap();
            g.columns_mut().0[0] = 1;
            g.close().unwrap();
        }
        let (a, b) = (common::read(&a), common::read(&b));
        assert_ne!(
            gf::entry(&a, 1, 0, NATIVE),
            gf::entry(&b, 1, 0, NATIVE),
            "the blocks lie elsewhere"
        );
        let p = dir.join("mixed.bin");
        let splice = |head: &[u8], body: &[u8]| {
            let mut m = body.to_vec();
            m[..4096].copy_from_slice(&head[..4096]);
            m
        };
        let a_on_b = error_or_consistent(&p, &splice(&a, &b), "A's header over B's file");
        // A's column 0 needs a block past B's end.
        assert_eq!(a_on_b, [None; 4], "A's blocks lie past B's end");
        let b_on_a = error_or_consistent(&p, &splice(&b, &a), "B's header over A's file");
        // B's blocks lie inside A's file: B's lengths, A's bytes.
        assert!(
            b_on_a.iter().all(|f| f.is_some_and(|f| f.lens == [20, 20])),
            "{b_on_a:?}"
        );
        let mut slots = b.clone();
        for s in 0..2 {
            let at = gf::SLOT_OFFSETS[s];
            slots[at..at + gf::SLOT_LEN].copy_from_slice(&a[at..at + gf::SLOT_LEN]);
        }
        error_or_consistent(&p, &slots, "A's slots over B's header");
        let mut table = a.clone();
        table[gf::TABLE_AT..4096].copy_from_slice(&b[gf::TABLE_AT..4096]);
        error_or_consistent(&p, &table, "B's table in A's header");
        // A's header over B's file made as long as A's: A's table over B's bytes.
        let mut long = b.clone();
        long.resize(a.len(), 0);
        let found = error_or_consistent(&p, &splice(&a, &long), "A's header over B's longer file");
        assert!(
            found
                .iter()
                .all(|f| f.is_some_and(|f| f.lens == [BIG, BIG])),
            "{found:?}"
        );
    });
}

const FLIPS: &str = "random_flips_in_the_header_page_never_panic";

/// 1000 rounds of 1 to 8 random bytes flipped anywhere in the header page of a group with
/// two commits and three blocks: every open gives an error or one of the two commits, with
/// every element as written (the data is intact).
#[test]
fn random_flips_in_the_header_page_never_panic() {
    let dir = fast_dir("persistence-group-flips");
    common::child::isolated(FLIPS, dir.path(), |dir| {
        let mut rng = common::rng("group-header-flips");
        let base = dir.join("base.bin");
        // Column 0 in two blocks, through a wide element type, so that reading every
        // element stays fast.
        type Wide = [u64; 32];
        const ROWS: usize = 9000;
        let wide = |i: usize| -> Wide { core::array::from_fn(|k| (i * 32 + k) as u64) };
        // Row `i`'s first and last words are right (every page of the column is read).
        let ok = |i: usize, e: &Wide| e[0] == (i * 32) as u64 && e[31] == (i * 32 + 31) as u64;
        {
            // Room for the rows and the writer's pushes below: no growth into a new block.
            let mut g = opts()
                .capacity(ROWS + 64)
                .open_group::<(Wide, u16)>(&base)
                .unwrap();
            for i in 0..ROWS {
                if i == ROWS / 2 {
                    g.sync().unwrap();
                }
                g.push_row((wide(i), i as u16)).unwrap();
            }
            g.close().unwrap();
        }
        let bytes = common::read(&base);
        let sizes = [256u64, 2];
        let commits = [Found::rows(ROWS, 2), Found::rows(ROWS / 2, 1)];
        let (_, newest) = gf::winner(&bytes, NATIVE).unwrap();
        assert_eq!(&gf::needed(&sizes, &newest.lens).unwrap()[..2], &[2, 1]);
        let p = dir.join("g.bin");
        write_file(&p, &bytes);
        let file = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
        let (mut opened, mut refused) = (0usize, 0usize);
        for round in 0..1000 {
            let seed = rng.u64(..);
            let mut r = fastrand::Rng::with_seed(seed);
            let mut b = bytes.clone();
            let n = r.usize(1..=8);
            // Half the rounds aim at the fields that matter: fixed fields, slots, the
            // entries in use.
            for _ in 0..n {
                let at = match r.u8(..4) {
                    0 => r.usize(..4096),
                    1 => r.usize(..gf::sum_at(2) + 8),
                    2 => gf::SLOT_OFFSETS[r.usize(..2)] + r.usize(..gf::SLOT_LEN),
                    _ => gf::entry_at(r.usize(..2), r.usize(..2)) + r.usize(..8),
                };
                b[at] ^= r.u8(1..);
            }
            let what = format!("round {round} (seed {seed}): {n} bytes flipped");
            let hows: &[usize] = if round % 4 == 0 {
                &[0, 1, 2, 3]
            } else {
                &[0, 1, 2]
            };
            // The read-only opens change nothing: the new header page is all there is to
            // write. The writer's round is followed by the whole file again.
            std::os::unix::fs::FileExt::write_all_at(&file, &b[..4096], 0).unwrap();
            for &how in hows {
                let name = HOWS[how];
                let result = labelled(&format!("{what}, {name}"), || match how {
                    0 => opts().open_group_read_only::<(Wide, u16)>(&p).map(|s| {
                        let (x, y) = s.columns();
                        for (i, e) in x.iter().enumerate() {
                            assert!(ok(i, e), "{what}: {name}: element {i}");
                        }
                        assert!(y.iter().enumerate().all(|(i, &e)| e == i as u16));
                        Found {
                            lens: [x.len(), y.len()],
                            generation: s.generation(),
                        }
                    }),
                    1 => opts().open_group_live::<(Wide, u16)>(&p).and_then(|mut s| {
                        s.refresh()?;
                        let (x, y) = s.columns();
                        for (i, e) in x.iter().enumerate() {
                            assert!(ok(i, &e), "{what}: {name}: element {i}");
                        }
                        assert!(y.iter().enumerate().all(|(i, e)| e == i as u16));
                        Ok(Found {
                            lens: [x.len(), y.len()],
                            generation: s.generation(),
                        })
                    }),
                    2 => inspect(&p).map(|i| Found {
                        lens: [i.columns[0].len as usize, i.columns[1].len as usize],
                        generation: i.generation(),
                    }),
                    _ => opts().open_group::<(Wide, u16)>(&p).map(|mut g| {
                        let (x, y) = g.columns();
                        assert!(x.iter().enumerate().all(|(i, e)| ok(i, e)));
                        assert!(y.iter().enumerate().all(|(i, &e)| e == i as u16));
                        let found = Found {
                            lens: [x.len(), y.len()],
                            generation: g.generation(),
                        };
                        g.push_row((wide(0), 1)).unwrap();
                        g.sync().unwrap();
                        g.close().unwrap();
                        found
                    }),
                });
                if how == 3 {
                    write_file(&p, &bytes);
                }
                match result {
                    Ok(found) => {
                        assert!(
                            commits.contains(&found),
                            "{what}: {name} opened {found:?}, not a commit"
                        );
                        opened += 1;
                    }
                    Err(e) => {
                        assert!(!e.to_string().is_empty(), "{what}: {name}: empty message");
                        refused += 1;
                    }
                }
            }
        }
        println!("group header flips: {opened} opens gave a commit, {refused} an error");
        assert!(opened > 300 && refused > 300, "{opened} / {refused}");
    });
}
