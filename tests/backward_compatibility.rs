//! Backward compatibility: files of on-disk format version 1, written once by the 0.1.0
//! library, and of version 2 (with the element type fingerprint), written by the library
//! that introduced it, committed under `tests/golden/`, open, read and commit in every later
//! version; and their bytes are exactly what `docs/design.md` documents, checked here from
//! that documentation (field offsets, FNV-1a 64 checksums and type fingerprints recomputed
//! from its definitions), never through the library's own decoder. Today's writer writes
//! the version-2 golden bytes; version-1 files keep their version when committed to.
//!
//! **The golden files are the v1 format as released. Never regenerate them to make a
//! failing test pass**: a failure here means the library no longer reads, or no longer
//! writes, the format that files on users' disks are in. Fix the library, or, if the format
//! really changes, add a new version with its own golden files and keep these.
//! `write_golden_files` (ignored, and guarded by `PERSISTENCE_WRITE_GOLDEN=1`) exists only
//! to recreate the version-2 ones deliberately, for example after a lost checkout (the
//! version-1 ones no writer of today can make).
//!
//! The files were written on x86_64 Linux: little-endian, 8-byte `usize`, 4 KiB pages. The
//! byte checks hold on every machine (they decode little-endian explicitly); the open,
//! read and commit checks run where such a file is native, and elsewhere the test checks
//! the documented refusal (`WrongEndianness`, `LayoutMismatch`).
//!
//! Only the public API is used: `MmapedVec`, `MmapedSlice`, `OpenOptions`, `inspect`.

// Elsewhere only the refusal test runs, and the writers and expectations go unused.
#![cfg_attr(
    not(all(target_endian = "little", target_pointer_width = "64")),
    allow(dead_code)
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use persistence::{inspect, pod, OpenOptions};

/// The application magic of the u64 golden file.
const U64_MAGIC: [u8; 8] = *b"GOLDEN\0\0";
/// The application data version of the u64 golden file.
const U64_VERSION: u32 = 1;
/// The application magic of the record golden file.
const REC_MAGIC: [u8; 8] = *b"GOLDREC\0";
/// The application data version of the record golden file.
const REC_VERSION: u32 = 7;

const U64_FILE: &str = "v1-u64.bin";
const REC_FILE: &str = "v1-record.bin";
const U64_FILE_V2: &str = "v2-u64.bin";
const REC_FILE_V2: &str = "v2-record.bin";

/// Element `i` of the u64 golden file.
fn u64_value(i: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ i
}

pod! {
    /// The record of the record golden file: mixed field types, 32 bytes, no padding.
    #[derive(Debug, PartialEq)]
    pub struct Tick {
        pub time_ns: u64,
        pub price: f64,
        pub delta: i32,
        pub ratio: f32,
        pub venue: u16,
        pub flags: [u8; 6],
    }
}

/// Byte offsets of `Tick`'s fields (`#[repr(C)]`), for decoding the file's bytes by hand.
const TICK_SIZE: usize = 32;
const TICK_ALIGN: usize = 8;

impl Tick {
    /// Record `i` (every float is exact in binary, so the comparison can be `==`).
    fn new(i: u64) -> Tick {
        Tick {
            time_ns: 1_700_000_000_000_000_000 + i * 1_000_003,
            price: 100.0 + i as f64 * 0.25,
            delta: 50 - i as i32 * 3,
            ratio: i as f32 / 8.0,
            venue: (i % 5) as u16 + 1,
            flags: [i as u8, (i >> 8) as u8, 0xA5, 0x5A, 0, 0xFF],
        }
    }

    /// Decodes a record from its 32 stored bytes (little-endian, as the golden files are).
    fn from_le(b: &[u8]) -> Tick {
        Tick {
            time_ns: u64::from_le_bytes(b[0..8].try_into().unwrap()),
            price: f64::from_le_bytes(b[8..16].try_into().unwrap()),
            delta: i32::from_le_bytes(b[16..20].try_into().unwrap()),
            ratio: f32::from_le_bytes(b[20..24].try_into().unwrap()),
            venue: u16::from_le_bytes(b[24..26].try_into().unwrap()),
            flags: b[26..32].try_into().unwrap(),
        }
    }
}

/// What the record golden file holds: `Tick::new(i)` below 90, then two records pushed after
/// a truncation to 90.
fn rec_expected(len: u64) -> Vec<Tick> {
    (0..len)
        .map(|i| {
            if i < 90 {
                Tick::new(i)
            } else {
                Tick::new(i + 1000)
            }
        })
        .collect()
}

fn u64_expected(len: u64) -> Vec<u64> {
    (0..len).map(u64_value).collect()
}

// ---------------------------------------------------------------------------------------
// Writing the golden files (the v1 format as the 0.1.0 library wrote it).

/// The u64 golden file: creation (slot A, sequence 1, length 0), then commits of 100, 200
/// and 300 elements, which land in B (2), A (3) and B (4). Slot B wins; slot A holds the
/// previous commit. 2400 bytes of data in an 8 KiB file.
fn write_u64_golden(path: &Path) {
    let mut v = OpenOptions::new()
        .magic(U64_MAGIC)
        .version(U64_VERSION)
        .create_new(true)
        .open::<u64>(path)
        .unwrap();
    for i in 0..300 {
        v.push(u64_value(i)).unwrap();
        if (i + 1) % 100 == 0 {
            v.sync().unwrap();
        }
    }
    v.close().unwrap();
}

/// The record golden file: creation (A, 1), a commit of 100 records (B, 2), then a
/// truncation to 90 and two new records, committed as length 92 (A, 3). Slot A wins with
/// the *shorter* length: the sequence decides, not the length. Records 92..100 of the first
/// commit stay in the file past the committed length.
fn write_record_golden(path: &Path) {
    let mut v = OpenOptions::new()
        .magic(REC_MAGIC)
        .version(REC_VERSION)
        .create_new(true)
        .open::<Tick>(path)
        .unwrap();
    for i in 0..100 {
        v.push(Tick::new(i)).unwrap();
    }
    v.sync().unwrap();
    v.truncate(90);
    v.push(Tick::new(1090)).unwrap();
    v.push(Tick::new(1091)).unwrap();
    v.close().unwrap();
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn golden(name: &str) -> PathBuf {
    golden_dir().join(name)
}

/// Recreates `tests/golden/` deliberately. Never run it to make a failing test pass (see
/// the module docs): it refuses unless `PERSISTENCE_WRITE_GOLDEN=1` is set and refuses to
/// overwrite a golden file that exists (delete it by hand first, and say why in the commit).
///
/// `PERSISTENCE_WRITE_GOLDEN=1 cargo test --test backward_compatibility -- --ignored`
// The golden files are little-endian with an 8-byte usize: only such a machine writes them.
#[cfg(all(target_endian = "little", target_pointer_width = "64"))]
#[test]
#[ignore = "writes tests/golden/: only on purpose, with PERSISTENCE_WRITE_GOLDEN=1"]
fn write_golden_files() {
    assert_eq!(
        std::env::var("PERSISTENCE_WRITE_GOLDEN").as_deref(),
        Ok("1"),
        "set PERSISTENCE_WRITE_GOLDEN=1 to recreate the golden files on purpose"
    );
    std::fs::create_dir_all(golden_dir()).unwrap();
    // Written in a temp dir, then moved into place whole.
    let dir = tempfile::tempdir_in(golden_dir()).unwrap();
    for (name, write) in [
        (U64_FILE_V2, write_u64_golden as fn(&Path)),
        (REC_FILE_V2, write_record_golden),
    ] {
        let dest = golden(name);
        assert!(!dest.exists(), "{} exists: delete it first", dest.display());
        let tmp = dir.path().join(name);
        write(&tmp);
        std::fs::set_permissions(&tmp, PermissionsExt::from_mode(0o644)).unwrap();
        std::fs::rename(&tmp, &dest).unwrap();
        eprintln!("wrote {}", dest.display());
    }
}

// ---------------------------------------------------------------------------------------
// The documented format v1, decoded by hand (docs/design.md, "On-disk format").

/// FNV-1a 64 as the format defines it: offset basis 0xcbf29ce484222325, prime
/// 0x100000001b3; for each byte, XOR it into the hash, then multiply (wrapping).
fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

#[test]
fn fnv1a_matches_the_published_test_vectors() {
    assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
}

fn le_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(b[off..off + 4].try_into().unwrap())
}

fn le_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(b[off..off + 8].try_into().unwrap())
}

/// One commit slot as decoded from the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    seq: u64,
    len: u64,
    valid: bool,
}

/// What a golden file is expected to say.
#[derive(Clone, Copy)]
struct Expect {
    /// The format version, 1 or 2.
    version: u32,
    app_magic: [u8; 8],
    app_version: u32,
    elem_size: u64,
    elem_align: u64,
    /// The element type fingerprint a version-2 file records (version 1 records none).
    fingerprint: u64,
    /// (sequence, length) of slots A and B.
    slots: [(u64, u64); 2],
}

/// FNV-1a 64 continued from `h`.
fn fnv_from(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// A type fingerprint as `docs/design.md` ("Element type fingerprint") defines it: FNV-1a 64
/// over `tag` and then `parts`, 0 taken as 1.
fn fingerprint(tag: &[u8], parts: &[&[u8]]) -> u64 {
    let mut h = fnv1a(tag);
    for p in parts {
        h = fnv_from(h, p);
    }
    if h == 0 {
        1
    } else {
        h
    }
}

fn primitive_fp(name: &str) -> u64 {
    fingerprint(b"primitive:", &[name.as_bytes()])
}

fn array_fp(element: u64, len: u64) -> u64 {
    fingerprint(b"array:", &[&element.to_le_bytes(), &len.to_le_bytes()])
}

fn struct_fp(fields: &[(&str, u64)]) -> u64 {
    let mut parts: Vec<Vec<u8>> = vec![(fields.len() as u64).to_le_bytes().to_vec()];
    for (name, fp) in fields {
        parts.push((name.len() as u64).to_le_bytes().to_vec());
        parts.push(name.as_bytes().to_vec());
        parts.push(fp.to_le_bytes().to_vec());
    }
    let parts: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    fingerprint(b"struct:", &parts)
}

/// `Tick`'s fingerprint, from its fields as the documentation defines it.
fn tick_fp() -> u64 {
    struct_fp(&[
        ("time_ns", primitive_fp("u64")),
        ("price", primitive_fp("f64")),
        ("delta", primitive_fp("i32")),
        ("ratio", primitive_fp("f32")),
        ("venue", primitive_fp("u16")),
        ("flags", array_fp(primitive_fp("u8"), 6)),
    ])
}

#[test]
fn the_documented_fingerprints_are_the_librarys() {
    use persistence::Pod;
    assert_eq!(u64::FINGERPRINT.to_u64(), primitive_fp("u64"));
    assert_eq!(f32::FINGERPRINT.to_u64(), primitive_fp("f32"));
    assert_eq!(
        <[u8; 6]>::FINGERPRINT.to_u64(),
        array_fp(primitive_fp("u8"), 6)
    );
    assert_eq!(Tick::FINGERPRINT.to_u64(), tick_fp());
}

/// Checks `b` (a whole file, little-endian as written on x86_64) against the documented
/// byte table of its version and returns the committed length. Each assertion names the
/// field.
fn check_documented(b: &[u8], want: &Expect) -> u64 {
    assert!(b.len() >= 4096, "a header page of 4096 bytes");
    // The fields every version shares.
    assert_eq!(&b[0..8], b"PERSISTV", "format magic at 0");
    assert_eq!(b[8..16], want.app_magic, "application magic at 8");
    assert_eq!(
        &b[16..20],
        &[4, 3, 2, 1],
        "endianness marker 0x01020304 at 16, LE"
    );
    assert_eq!(le_u32(b, 20), want.version, "format version at 20");
    assert_eq!(le_u32(b, 24), want.app_version, "application version at 24");
    assert_eq!(le_u32(b, 28), 8, "usize width of the writer at 28");
    // The header checksum's offset: the end of the version's fixed fields.
    let sum_at = if want.version == 1 {
        assert_eq!(le_u64(b, 32), want.elem_size, "element size at 32");
        assert_eq!(le_u64(b, 40), want.elem_align, "element alignment at 40");
        assert_eq!(le_u64(b, 48), 4096, "data offset at 48");
        56
    } else {
        assert_eq!(le_u32(b, 32), 0, "file kind at 32: 0, a vector");
        assert_eq!(le_u32(b, 36), 1, "column count at 36: 1");
        assert_eq!(le_u64(b, 40), 4096, "data offset at 40");
        assert_eq!(le_u64(b, 48), 0, "block size at 48: 0 for a vector");
        assert_eq!(le_u64(b, 56), want.elem_size, "element size at 56");
        assert_eq!(le_u64(b, 64), want.elem_align, "element alignment at 64");
        assert_eq!(
            le_u64(b, 72),
            want.fingerprint,
            "element type fingerprint at 72"
        );
        80
    };
    let header_sum = le_u64(b, sum_at);
    assert_eq!(
        header_sum,
        fnv1a(&b[0..sum_at]),
        "header checksum at {sum_at}: FNV-1a of 0..{sum_at}"
    );
    // Slots A at 512 and B at 1024: sequence, length, checksum over the sequence bytes, the
    // length bytes and the stored header checksum bytes, all as stored.
    let mut slots = [Slot {
        seq: 0,
        len: 0,
        valid: false,
    }; 2];
    for (i, off) in [512usize, 1024].into_iter().enumerate() {
        let mut covered = b[off..off + 16].to_vec();
        covered.extend_from_slice(&b[sum_at..sum_at + 8]);
        slots[i] = Slot {
            seq: le_u64(b, off),
            len: le_u64(b, off + 8),
            valid: le_u64(b, off + 16) == fnv1a(&covered),
        };
        assert!(
            slots[i].valid,
            "slot {} checksum at {}",
            ["A", "B"][i],
            off + 16
        );
        assert_eq!(
            (slots[i].seq, slots[i].len),
            want.slots[i],
            "slot {} (sequence, length)",
            ["A", "B"][i]
        );
    }
    // The rest of page 0 is zero.
    for (i, &x) in b[..4096].iter().enumerate() {
        let field = i < sum_at + 8 || (512..536).contains(&i) || (1024..1048).contains(&i);
        assert!(
            field || x == 0,
            "byte {i} of the header page is {x:#x}, not 0"
        );
    }
    // The valid slot with the highest sequence wins; its length fits in the file.
    let winner = if slots[1].seq > slots[0].seq { 1 } else { 0 };
    let len = slots[winner].len;
    assert!(
        4096 + len * want.elem_size <= b.len() as u64,
        "the committed length fits in the file"
    );
    len
}

fn u64_expect() -> Expect {
    Expect {
        version: 1,
        app_magic: U64_MAGIC,
        app_version: U64_VERSION,
        elem_size: 8,
        elem_align: 8,
        fingerprint: 0,
        slots: [(3, 200), (4, 300)],
    }
}

fn rec_expect() -> Expect {
    Expect {
        version: 1,
        app_magic: REC_MAGIC,
        app_version: REC_VERSION,
        elem_size: TICK_SIZE as u64,
        elem_align: TICK_ALIGN as u64,
        fingerprint: 0,
        slots: [(3, 92), (2, 100)],
    }
}

/// The same files in version 2: with their types' fingerprints.
fn v2(want: Expect, fingerprint: u64) -> Expect {
    Expect {
        version: 2,
        fingerprint,
        ..want
    }
}

#[test]
fn golden_files_are_the_documented_format() {
    golden_files_are_the_documented(U64_FILE, u64_expect(), REC_FILE, rec_expect());
    golden_files_are_the_documented(
        U64_FILE_V2,
        v2(u64_expect(), primitive_fp("u64")),
        REC_FILE_V2,
        v2(rec_expect(), tick_fp()),
    );
}

fn golden_files_are_the_documented(
    u64_file: &str,
    u64_want: Expect,
    rec_file: &str,
    rec_want: Expect,
) {
    let b = common::read(&golden(u64_file));
    assert_eq!(b.len(), 8192, "{u64_file}: a header page and one data page");
    assert_eq!(check_documented(&b, &u64_want), 300);
    // Element data from byte 4096, each element's bytes as in memory.
    for i in 0..300 {
        assert_eq!(le_u64(&b, 4096 + 8 * i), u64_value(i as u64), "element {i}");
    }

    let b = common::read(&golden(rec_file));
    assert_eq!(b.len(), 8192, "{rec_file}: a header page and one data page");
    assert_eq!(check_documented(&b, &rec_want), 92);
    let want = rec_expected(92);
    for (i, w) in want.iter().enumerate() {
        let at = 4096 + TICK_SIZE * i;
        assert_eq!(&Tick::from_le(&b[at..at + TICK_SIZE]), w, "record {i}");
    }
    // Past the committed length: the stale records of the longer first commit.
    assert_eq!(
        Tick::from_le(&b[4096 + TICK_SIZE * 95..][..TICK_SIZE]),
        Tick::new(95)
    );
}

#[test]
fn tick_layout_is_the_golden_files_layout() {
    assert_eq!(std::mem::size_of::<Tick>(), TICK_SIZE);
    assert_eq!(std::mem::align_of::<Tick>(), TICK_ALIGN);
}

// ---------------------------------------------------------------------------------------
// Opening, reading and committing the golden files with today's library.

/// A writable copy of golden file `name` in a fresh temp dir (the committed file itself is
/// only ever read).
fn copy_of(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    let path = common::path_in(dir, name);
    std::fs::copy(golden(name), &path).unwrap();
    std::fs::set_permissions(&path, PermissionsExt::from_mode(0o600)).unwrap();
    path
}

/// `inspect`'s facts against the expectation; returns the winning slot's index.
fn check_inspect(path: &Path, want: &Expect, file_size: u64) -> usize {
    let info = inspect(path).unwrap();
    assert_eq!(info.format_version, want.version);
    assert_eq!(info.elem_fingerprint.to_u64(), want.fingerprint);
    assert_eq!(info.app_magic, want.app_magic);
    assert_eq!(info.app_version, want.app_version);
    assert_eq!(info.elem_size, want.elem_size);
    assert_eq!(info.elem_align, want.elem_align);
    assert_eq!(info.usize_width, 8);
    assert_eq!(info.file_size, file_size);
    assert_eq!(info.capacity, (file_size - 4096) / want.elem_size);
    for (i, slot) in info.slots.iter().enumerate() {
        assert!(slot.valid && !slot.blank, "slot {i}: {slot:?}");
        assert_eq!((slot.sequence, slot.len), want.slots[i], "slot {i}");
    }
    let winner = if want.slots[1].0 > want.slots[0].0 {
        1
    } else {
        0
    };
    assert_eq!(info.winner, winner);
    assert_eq!(info.len, want.slots[winner].1);
    winner
}

/// The whole round trip for one golden file of element type `T`: inspect; open read-only
/// and read-write (neither changes a byte); push, commit, reopen; the file is still the
/// documented format of its version, with the new commit in the other slot.
fn round_trip<T: persistence::Pod + PartialEq + std::fmt::Debug>(
    name: &str,
    opts: OpenOptions,
    mut want: Expect,
    expected: impl Fn(u64) -> Vec<T>,
    more: u64,
) {
    let dir = common::tmpdir();
    let path = copy_of(&dir, name);
    let original = common::read(&path);
    let len = check_documented(&original, &want);
    let winner = check_inspect(&path, &want, original.len() as u64);

    // Read-only: every element, and the file unchanged.
    {
        let s = opts.open_read_only::<T>(&path).unwrap();
        assert_eq!(s.len() as u64, len);
        assert_eq!(&s[..], &expected(len)[..]);
    }
    assert_eq!(
        common::read(&path),
        original,
        "a read-only open changed the file"
    );

    // Read-write without a change: every element, and closing writes nothing.
    {
        let v = opts.open::<T>(&path).unwrap();
        assert_eq!(v.len() as u64, len);
        assert_eq!(&v[..], &expected(len)[..]);
        v.close().unwrap();
    }
    assert_eq!(
        common::read(&path),
        original,
        "an unchanged read-write open changed the file"
    );

    // Push, commit, reopen.
    let all = expected(len + more);
    {
        let mut v = opts.open::<T>(&path).unwrap();
        for x in &all[len as usize..] {
            v.push(*x).unwrap();
        }
        v.sync().unwrap();
        v.close().unwrap();
    }
    // The new commit went into the slot that did not win, with the next sequence number;
    // the previous winner is untouched. The header fields are as before.
    let old_winner = want.slots[winner];
    want.slots[1 - winner] = (old_winner.0 + 1, len + more);
    let after = common::read(&path);
    assert_eq!(check_documented(&after, &want), len + more);
    assert_eq!(after[..64], original[..64], "header fields rewritten");
    check_inspect(&path, &want, after.len() as u64);
    let v = opts.open::<T>(&path).unwrap();
    assert_eq!(&v[..], &all[..]);
    drop(v);
    let s = opts.open_read_only::<T>(&path).unwrap();
    assert_eq!(&s[..], &all[..]);
}

#[cfg(all(target_endian = "little", target_pointer_width = "64"))]
#[test]
fn u64_golden_file_opens_reads_and_commits() {
    let opts = *OpenOptions::new().magic(U64_MAGIC).version(U64_VERSION);
    // 300 + 700 elements: past the golden file's one data page, so the file grows too.
    round_trip::<u64>(U64_FILE, opts, u64_expect(), u64_expected, 700);
    let want = v2(u64_expect(), primitive_fp("u64"));
    round_trip::<u64>(U64_FILE_V2, opts, want, u64_expected, 700);
}

#[cfg(all(target_endian = "little", target_pointer_width = "64"))]
#[test]
fn record_golden_file_opens_reads_and_commits() {
    let opts = *OpenOptions::new().magic(REC_MAGIC).version(REC_VERSION);
    let expected = |len: u64| {
        let mut v = rec_expected(len.min(92));
        v.extend((92..len).map(|i| Tick::new(i + 2000)));
        v
    };
    round_trip::<Tick>(REC_FILE, opts, rec_expect(), expected, 200);
    round_trip::<Tick>(
        REC_FILE_V2,
        opts,
        v2(rec_expect(), tick_fp()),
        expected,
        200,
    );
}

/// Today's writer still writes the golden bytes: the same steps produce the same header page
/// and committed element bytes. (The file's size, which the growth policy decides, is not
/// part of the format and is not compared.)
#[cfg(all(target_endian = "little", target_pointer_width = "64"))]
#[test]
fn todays_writer_writes_the_golden_bytes() {
    let dir = common::tmpdir();
    for (name, write, committed_bytes) in [
        (U64_FILE_V2, write_u64_golden as fn(&Path), 300 * 8),
        (REC_FILE_V2, write_record_golden, 92 * TICK_SIZE),
    ] {
        let path = common::path_in(&dir, name);
        write(&path);
        let now = common::read(&path);
        let gold = common::read(&golden(name));
        let end = 4096 + committed_bytes;
        assert!(now.len() >= end);
        for (i, (a, b)) in now[..end].iter().zip(&gold[..end]).enumerate() {
            assert_eq!(
                a, b,
                "{name}: byte {i} differs from the golden file: the writer changed the format"
            );
        }
    }
}

/// On a machine of the other byte order, or with a 4-byte `usize`, the golden files are
/// refused with the documented errors (never misread).
#[cfg(not(all(target_endian = "little", target_pointer_width = "64")))]
#[test]
fn golden_files_are_refused_where_they_are_foreign() {
    use persistence::ErrorKind;
    let want = if cfg!(target_endian = "big") {
        ErrorKind::WrongEndianness
    } else {
        ErrorKind::LayoutMismatch
    };
    let dir = common::tmpdir();
    let path = copy_of(&dir, U64_FILE);
    let opts = *OpenOptions::new().magic(U64_MAGIC).version(U64_VERSION);
    assert_eq!(opts.open::<u64>(&path).unwrap_err().kind(), want);
    assert_eq!(opts.open_read_only::<u64>(&path).unwrap_err().kind(), want);
}

/// The two readings files (`v1-readings-be.bin`, `v1-readings-le.bin`: three `{ time: u64,
/// value: f32, sensor: u32 }` records of application `READINGS` version 2, written in each
/// byte order by an 8-byte-`usize` machine) that `OpenOptions::convert_foreign`'s example
/// converts: their bytes are the documented format in their order, built here by the tests'
/// own encoder (`tests/common/format.rs`), not by the library.
#[test]
fn the_readings_golden_files_are_the_documented_format_in_each_byte_order() {
    use common::format::{vector_file, Fixed, Order};
    let native_is_le = cfg!(target_endian = "little");
    for (name, little) in [("v1-readings-le.bin", true), ("v1-readings-be.bin", false)] {
        let order = if little == native_is_le {
            Order::Native
        } else {
            Order::Swapped
        };
        let fixed = Fixed {
            app_magic: *b"READINGS",
            app_version: 2,
            usize_width: 8,
            elem_size: 16,
            elem_align: 8,
        };
        let mut data = Vec::new();
        for (time, value, sensor) in [(1u64, 0.5f32, 7u32), (2, 1.5, 8), (3, 2.5, 7)] {
            data.extend_from_slice(&order.u64(time));
            data.extend_from_slice(&order.u32(value.to_bits()));
            data.extend_from_slice(&order.u32(sensor));
        }
        let mut want = vector_file(&fixed, order, 3, &data);
        // One commit only: slot A holds it (sequence 1, length 3), slot B is blank.
        want[common::format::SLOT_OFFSETS[1]..][..common::format::SLOT_LEN].fill(0);
        let sum = common::format::header_sum(&want, order);
        let slot = common::format::encode_slot(sum, common::format::Slot { seq: 1, len: 3 }, order);
        want[common::format::SLOT_OFFSETS[0]..][..common::format::SLOT_LEN].copy_from_slice(&slot);
        assert_eq!(common::read(&golden(name)), want, "{name}");
    }
}
