//! Hostile files: whatever the bytes, `open` gives a vector whose length is one that was
//! committed, or an error with a message; never a panic, never a `SIGBUS`.
//!
//! Thousands of random corruptions of real files of three element types (`u64`, a 24-byte
//! `pod!` record, `[u8; 3]`), each with two commits in its slots: bytes flipped in the fixed
//! header, in the slots, anywhere in the header page and in the data; random truncations
//! (biased to the edges that matter); garbage appended; random files with and without the
//! format magic; a valid fixed header over random bytes; and slots forged with a valid
//! checksum but a length the file cannot hold. Each is opened read-write and read-only as
//! its own element type and read-only as another one. An `Ok` must have a length that one
//! of the file's two commits recorded (0 for a file that never held a commit), and every
//! element is read; an `Err` must have a non-empty message. The read-write open then pushes
//! and syncs, which may fail but must not panic.
//!
//! Two more tests: every torn creation of a new file (an empty file, or any subset of the
//! header page's sectors written) opens as a new, empty vector; and a foreign file whose
//! first sector is zero is never overwritten.
//!
//! The seed is printed; rerun with `PERSISTENCE_SEED=<seed>` to replay.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use common::format::{
    Order, Slot, Slots, DATA_OFFSET, FORMAT_MAGIC, HEADER_SIZE, SLOT_LEN, SLOT_OFFSETS,
};
use common::Rec;
use persistence::{MmapedSlice, OpenOptions, Pod};

const ROUNDS: usize = 10_000;

/// A real file and the lengths its two slots hold.
struct Base {
    name: &'static str,
    bytes: Vec<u8>,
    lens: [usize; 2],
}

fn base<T: Pod>(dir: &Path, name: &'static str, make: impl Fn(usize) -> T) -> Base {
    let path = dir.join(name);
    let mut v = OpenOptions::new().open::<T>(&path).unwrap();
    for i in 0..700 {
        v.push(make(i)).unwrap();
    }
    v.sync().unwrap();
    for i in 700..1000 {
        v.push(make(i)).unwrap();
    }
    v.close().unwrap();
    let bytes = common::read(&path);
    let slots = Slots::read(&bytes);
    let lens = [0, 1].map(|w| slots.slots[w].expect("both slots valid").len as usize);
    assert_eq!({ lens[0] + lens[1] }, 1700);
    Base { name, bytes, lens }
}

/// Flips `n` random bytes of `bytes[range]`.
fn flip(rng: &mut fastrand::Rng, bytes: &mut [u8], range: std::ops::Range<usize>, n: usize) {
    let range = range.start.min(bytes.len())..range.end.min(bytes.len());
    if range.is_empty() {
        return;
    }
    for _ in 0..n {
        let at = rng.usize(range.clone());
        bytes[at] ^= rng.u8(1..);
    }
}

/// One corruption of `b`; returns the bytes, what was done, and whether the file still may
/// hold the base's commits (otherwise it never held one).
fn corrupt(rng: &mut fastrand::Rng, b: &Base, elem_size: usize) -> (Vec<u8>, String, bool) {
    let mut bytes = b.bytes.clone();
    let len = bytes.len();
    let kind = rng.u8(..11);
    let desc = match kind {
        0 => {
            let n = rng.usize(1..4);
            flip(rng, &mut bytes, 0..64, n);
            format!("{n} bytes flipped in the fixed header")
        }
        1 => {
            let w = rng.usize(..2);
            let n = rng.usize(1..4);
            flip(
                rng,
                &mut bytes,
                SLOT_OFFSETS[w]..SLOT_OFFSETS[w] + SLOT_LEN,
                n,
            );
            format!("{n} bytes flipped in slot {w}")
        }
        2 => {
            let n = rng.usize(1..8);
            flip(rng, &mut bytes, 0..HEADER_SIZE, n);
            format!("{n} bytes flipped in the header page")
        }
        3 => {
            let n = rng.usize(1..32);
            flip(rng, &mut bytes, HEADER_SIZE..len, n);
            format!("{n} bytes flipped in the data")
        }
        4 => {
            // Truncations, biased to the edges: inside the magic, the fixed header, the
            // slots, the header page, the committed data.
            let edges = [
                0,
                8,
                64,
                SLOT_OFFSETS[0] + SLOT_LEN,
                SLOT_OFFSETS[1] + SLOT_LEN,
                HEADER_SIZE,
                DATA_OFFSET + b.lens[0] * elem_size,
                DATA_OFFSET + b.lens[1] * elem_size,
            ];
            let cut = if rng.bool() {
                rng.usize(..=len)
            } else {
                let e = edges[rng.usize(..edges.len())] as isize + rng.isize(-3..=3);
                e.clamp(0, len as isize) as usize
            };
            bytes.truncate(cut);
            format!("truncated to {cut} bytes")
        }
        5 => {
            let n = rng.usize(0..10_000);
            let mut r = vec![0u8; n];
            rng.fill(&mut r);
            return (r, format!("{n} random bytes"), false);
        }
        6 => {
            let n = rng.usize(8..10_000);
            let mut r = vec![0u8; n];
            rng.fill(&mut r);
            r[..8].copy_from_slice(&FORMAT_MAGIC);
            if rng.bool() && n >= 64 {
                // The rest of the fixed header too, so the checks go further.
                r[8..64].copy_from_slice(&b.bytes[8..64]);
            }
            return (r, format!("{n} random bytes after the magic"), false);
        }
        7 => {
            // The whole valid fixed header, random everything else (slots included).
            let n = rng.usize(64..3 * HEADER_SIZE);
            let mut r = vec![0u8; n];
            rng.fill(&mut r);
            r[..64].copy_from_slice(&b.bytes[..64]);
            if rng.bool() {
                r[64..HEADER_SIZE.min(n)].fill(0);
            }
            return (r, format!("valid fixed header, {n} bytes"), false);
        }
        8 => {
            // Forged slot, valid checksum, a length that does not fit the file.
            let w = rng.usize(..2);
            let cap = (len - DATA_OFFSET) / elem_size;
            let forged_len = match rng.u8(..3) {
                0 => u64::MAX - rng.u64(..3),
                1 => (cap + 1 + rng.usize(..1000)) as u64,
                _ => (u64::MAX / elem_size as u64).wrapping_add(rng.u64(..3)),
            };
            let seq = 1_000 + rng.u64(..1000);
            let slot = common::format::encode_slot(
                common::format::header_sum(&bytes, Order::Native),
                Slot {
                    seq,
                    len: forged_len,
                },
                Order::Native,
            );
            bytes[SLOT_OFFSETS[w]..][..SLOT_LEN].copy_from_slice(&slot);
            return (
                bytes,
                format!("forged slot {w}: length {forged_len}"),
                false,
            );
        }
        9 => {
            let n = rng.usize(1..3 * HEADER_SIZE);
            let mut extra = vec![0u8; n];
            rng.fill(&mut extra);
            bytes.extend_from_slice(&extra);
            flip(rng, &mut bytes, 0..len + n, 2);
            format!("{n} random bytes appended, 2 flipped anywhere")
        }
        _ => {
            let n = rng.usize(1..4);
            flip(rng, &mut bytes, 0..HEADER_SIZE, n);
            let cut = rng.usize(..=bytes.len());
            bytes.truncate(cut);
            format!("{n} header bytes flipped, truncated to {cut}")
        }
    };
    (bytes, desc, true)
}

/// Opens `path` as `T` read-only and, when `rw`, read-write; checks the outcome.
fn open_as<T: Pod + Copy>(path: &Path, allowed: &[usize], rw: bool, what: &str) -> bool {
    let check_len = |len: usize, how: &str| {
        assert!(
            allowed.contains(&len),
            "{what}: opened {how} as {} with length {len}, but the file only ever committed \
             {allowed:?}",
            std::any::type_name::<T>()
        );
    };
    let read_all = |s: &[T]| {
        // Read every element: a byte past the end of the file would raise SIGBUS.
        for e in s {
            std::hint::black_box(*e);
        }
    };
    let mut any_ok = false;
    match MmapedSlice::<T>::open(path) {
        Ok(s) => {
            check_len(s.len(), "read-only");
            read_all(&s);
            any_ok = true;
        }
        Err(e) => assert!(!e.to_string().is_empty(), "{what}: empty error message"),
    }
    if rw {
        match OpenOptions::new().create(false).open::<T>(path) {
            Ok(mut v) => {
                check_len(v.len(), "read-write");
                read_all(&v);
                any_ok = true;
                // Usable: a push and a commit may fail (say, the sequence is exhausted), but
                // with a message, never a panic.
                if let Some(&first) = v.first() {
                    if let Err(e) = v.push(first).and_then(|()| v.sync()) {
                        assert!(!e.to_string().is_empty());
                    }
                }
            }
            Err(e) => assert!(!e.to_string().is_empty(), "{what}: empty error message"),
        }
    }
    any_ok
}

#[test]
fn corrupt_files_open_to_a_commit_or_an_error() {
    let mut rng = common::rng("hostile");
    let dir = fast_dir("persistence-hostile");
    let bases = [
        (base(dir.path(), "u64.bin", |i| i as u64 * 3), 8),
        (base(dir.path(), "rec.bin", |i| Rec::new(i as u64)), 24),
        (base(dir.path(), "u8x3.bin", |i| [i as u8, 1, 2]), 3),
    ];
    let path = dir.path().join("hostile.bin");
    let (mut opened, mut refused) = (0usize, 0usize);
    for round in 0..ROUNDS {
        let which = rng.usize(..bases.len());
        let (b, size) = &bases[which];
        let (bytes, desc, from_base) = corrupt(&mut rng, b, *size);
        let what = format!("round {round}, {}: {desc}", b.name);
        // A file that may still hold the base's commits opens to one of them; one that never
        // held a commit opens, if at all, as a new, empty vector. A file no longer than the
        // header that lost its slots is the remains of an interrupted creation: empty too.
        let mut allowed = Vec::new();
        if from_base {
            allowed.extend_from_slice(&b.lens);
        }
        if !from_base || bytes.len() <= HEADER_SIZE {
            allowed.push(0);
        }
        std::fs::write(&path, &bytes).unwrap();
        let rw = round % 2 == 0;
        let ok = catch_unwind(AssertUnwindSafe(|| match which {
            0 => {
                open_as::<u64>(&path, &allowed, rw, &what)
                    | open_as::<u32>(&path, &[0], false, &what)
            }
            1 => {
                open_as::<Rec>(&path, &allowed, rw, &what)
                    | open_as::<u64>(&path, &[0], false, &what)
            }
            _ => {
                open_as::<[u8; 3]>(&path, &allowed, rw, &what)
                    | open_as::<[u8; 24]>(&path, &[0], false, &what)
            }
        }));
        match ok {
            Ok(true) => opened += 1,
            Ok(false) => refused += 1,
            Err(panic) => {
                eprintln!("hostile: the panic came from {what}");
                std::panic::resume_unwind(panic);
            }
        }
    }
    println!("hostile: {ROUNDS} corrupt files: {opened} opened to a commit, {refused} refused");
    assert!(
        opened > ROUNDS / 10 && refused > ROUNDS / 10,
        "{opened} / {refused}"
    );
}

/// A directory for many small files: a tmpfs when there is one (the opens of new files
/// `fsync`, which a tmpfs does for free).
fn fast_dir(prefix: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in("/dev/shm")
        .unwrap_or_else(|_| common::tmpdir())
}

/// A crash while a new file's header page was being written leaves an empty file, or a
/// page-sized one with any subset of its sectors written (the rest zero): each opens as a new,
/// empty vector, read-only and read-write, and the read-write open leaves a valid file.
#[test]
fn every_torn_creation_opens_as_a_new_vector() {
    let dir = fast_dir("persistence-torn-creation");
    let good = {
        let p = dir.path().join("good.bin");
        drop(OpenOptions::new().open::<u64>(&p).unwrap());
        common::read(&p)
    };
    assert_eq!(good.len(), HEADER_SIZE);
    let sectors = HEADER_SIZE / 512;
    let path = dir.path().join("torn.bin");
    let mut images = vec![(Vec::new(), "empty file".to_string())];
    for landed in 0u32..1 << sectors {
        let mut img = vec![0u8; HEADER_SIZE];
        for s in (0..sectors).filter(|s| landed & (1 << s) != 0) {
            img[s * 512..][..512].copy_from_slice(&good[s * 512..][..512]);
        }
        images.push((img, format!("sectors landed {landed:#010b}")));
    }
    for (img, what) in images {
        std::fs::write(&path, &img).unwrap();
        let s = MmapedSlice::<u64>::open(&path).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(s.len(), 0, "{what}");
        drop(s);
        let mut v = OpenOptions::new()
            .create(false)
            .open::<u64>(&path)
            .unwrap_or_else(|e| panic!("{what}: read-write: {e}"));
        assert_eq!(v.len(), 0, "{what}");
        v.push(5).unwrap();
        v.close().unwrap();
        assert_eq!(
            &MmapedSlice::<u64>::open(&path).unwrap()[..],
            &[5],
            "{what}"
        );
    }
}

/// A file that is not ours is never overwritten: a read-write open of a foreign file whose
/// first 512 bytes happen to be zero (and so look like a torn creation) must refuse it and
/// leave its bytes alone.
#[test]
fn a_foreign_file_with_a_zero_first_sector_is_not_overwritten() {
    let mut rng = common::rng("hostile-foreign");
    let dir = fast_dir("persistence-foreign");
    let path = dir.path().join("foreign.bin");
    for size in [1048, 2000, 4095, HEADER_SIZE] {
        let mut bytes = vec![0u8; size];
        rng.fill(&mut bytes[512..]);
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(v) = OpenOptions::new().create(false).open::<u64>(&path) {
            drop(v);
        }
        assert!(
            common::read(&path) == bytes,
            "a read-write open overwrote a foreign file of {size} bytes"
        );
    }
}
