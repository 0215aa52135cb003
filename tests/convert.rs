//! `OpenOptions::convert_foreign`: files written on a machine of the other byte order, built
//! here from the documented format (`common/format.rs`: every header and slot integer
//! swapped, the checksums over the swapped bytes) with elements swapped field by field by
//! this file's own code (not the library's `SwapBytes`), converted and compared with the
//! originals; in place; every bad input with its `ErrorKind`, the source and `to` unchanged
//! and no temporary file left; locks; a stale temporary file; failures injected at each
//! step; a process killed with `SIGKILL` at random points of a conversion (old-or-new,
//! source intact, the next call succeeds); a full disk; and the `convert` example.

mod common;

use std::ffi::OsString;
use std::fmt::Debug;
use std::io::{BufRead, BufReader};
use std::mem::size_of;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::format::{self as fmt, vector_file, Fixed, Order};
use common::Rec;
use persistence::{
    inspect, pod, test_hooks as fault, ErrorKind, MmapedVec, OpenOptions, SwapBytes,
};

/// The example's code, compiled into this test so that its output and exit status are
/// checked without spawning cargo.
#[allow(dead_code)]
#[path = "../examples/convert.rs"]
mod example;

const MAGIC: [u8; 8] = *b"CONVERT!";
const VERSION: u32 = 4;
use common::{temp_files, TEMP_SUFFIX};

fn opts() -> OpenOptions {
    *OpenOptions::new().magic(MAGIC).version(VERSION)
}

/// Appends a scalar's bytes as a machine of byte order `order` stores them: its native bytes,
/// reversed for the other order. (Written here, not with the library's `SwapBytes`.)
fn put<const N: usize>(out: &mut Vec<u8>, order: Order, native: [u8; N]) {
    let mut b = native;
    if order == Order::Swapped {
        b.reverse();
    }
    out.extend_from_slice(&b);
}

/// An element type the tests build files of: sample values, and how a machine of either
/// byte order stores one, field by field.
trait Sample: SwapBytes + PartialEq + Debug {
    fn sample(i: u64) -> Self;
    fn store(&self, order: Order, out: &mut Vec<u8>);
}

impl Sample for u64 {
    fn sample(i: u64) -> Self {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x0102_0304_0506_0708
    }
    fn store(&self, order: Order, out: &mut Vec<u8>) {
        put(out, order, self.to_ne_bytes());
    }
}

impl Sample for [f64; 3] {
    fn sample(i: u64) -> Self {
        [i as f64 * 0.25, -(i as f64), 1e300 / (i as f64 + 1.0)]
    }
    fn store(&self, order: Order, out: &mut Vec<u8>) {
        for x in self {
            put(out, order, x.to_ne_bytes());
        }
    }
}

impl Sample for [u8; 5] {
    fn sample(i: u64) -> Self {
        let b = i.to_le_bytes();
        [b[0], b[1], b[2], 0xAB, b[0] ^ 0x5A]
    }
    fn store(&self, _order: Order, out: &mut Vec<u8>) {
        out.extend_from_slice(self); // Bytes have no byte order.
    }
}

impl Sample for Rec {
    fn sample(i: u64) -> Self {
        Rec::new(i)
    }
    fn store(&self, order: Order, out: &mut Vec<u8>) {
        put(out, order, self.id.to_ne_bytes());
        put(out, order, self.value.to_ne_bytes());
        out.extend_from_slice(&self.tag);
        put(out, order, self.count.to_ne_bytes());
    }
}

pod! {
    /// Every width of integer, a float, an integer array and a byte array: 24 bytes.
    #[derive(Debug, PartialEq)]
    pub struct Mixed { pub a: i16, pub b: u16, pub c: [i32; 3], pub d: f32, pub e: [u8; 2], pub f: u16 }

    /// A `pod!` struct inside another, alone and in an array.
    #[derive(Debug, PartialEq)]
    pub struct Inner { pub p: u32, pub q: i32 }

    /// 48 bytes, with a `u128`.
    #[derive(Debug, PartialEq)]
    pub struct Outer { pub x: u128, pub head: Inner, pub tail: [Inner; 2], pub seq: u64 }
}

impl Sample for Mixed {
    fn sample(i: u64) -> Self {
        let i32_ = i as i32;
        Mixed {
            a: -(i as i16),
            b: (i as u16).wrapping_mul(257),
            c: [i32_, -i32_, i32_.wrapping_mul(65599)],
            d: i as f32 / 3.0,
            e: [i as u8, 0xEE],
            f: 0x0102,
        }
    }
    fn store(&self, order: Order, out: &mut Vec<u8>) {
        put(out, order, self.a.to_ne_bytes());
        put(out, order, self.b.to_ne_bytes());
        for c in self.c {
            put(out, order, c.to_ne_bytes());
        }
        put(out, order, self.d.to_ne_bytes());
        out.extend_from_slice(&self.e);
        put(out, order, self.f.to_ne_bytes());
    }
}

impl Inner {
    fn store(&self, order: Order, out: &mut Vec<u8>) {
        put(out, order, self.p.to_ne_bytes());
        put(out, order, self.q.to_ne_bytes());
    }
}

impl Sample for Outer {
    fn sample(i: u64) -> Self {
        let inner = |k: u64| Inner {
            p: (i * 3 + k) as u32,
            q: -((i * 5 + k) as i32),
        };
        Outer {
            x: u128::from(i) << 64 | 0x0102_0304,
            head: inner(0),
            tail: [inner(1), inner(2)],
            seq: i,
        }
    }
    fn store(&self, order: Order, out: &mut Vec<u8>) {
        put(out, order, self.x.to_ne_bytes());
        self.head.store(order, out);
        for t in &self.tail {
            t.store(order, out);
        }
        put(out, order, self.seq.to_ne_bytes());
    }
}

/// Writes a vector file of `elems` (committed) and `spare` more elements past the committed
/// length, as a machine of byte order `order` would, with the header fields `f`.
fn write_file<T: Sample>(path: &Path, f: &Fixed, order: Order, elems: &[T], spare: u64) {
    let mut data = Vec::with_capacity((elems.len() + spare as usize) * size_of::<T>());
    for e in elems {
        e.store(order, &mut data);
    }
    for i in 0..spare {
        T::sample(1_000_000 + i).store(order, &mut data);
    }
    assert_eq!(data.len(), (elems.len() + spare as usize) * size_of::<T>());
    std::fs::write(path, vector_file(f, order, elems.len() as u64, &data)).unwrap();
}

/// A file of `elems` written on a machine of the other byte order, under [`MAGIC`] and
/// [`VERSION`], with 3 spare elements past the committed length.
fn foreign_file<T: Sample>(path: &Path, elems: &[T]) {
    write_file(
        path,
        &Fixed::of::<T>(MAGIC, VERSION),
        Order::Swapped,
        elems,
        3,
    );
}

fn samples<T: Sample>(n: u64) -> Vec<T> {
    (0..n).map(T::sample).collect()
}

fn read_opt(path: &Path) -> Option<Vec<u8>> {
    std::fs::read(path).ok()
}

/// The builder agrees with the library on native files, so that a foreign file it builds is
/// what the library would have written on the other machine.
#[test]
fn the_test_builder_writes_native_files_the_library_opens() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "native.bin");
    let elems: Vec<Outer> = samples(100);
    write_file(
        &p,
        &Fixed::of::<Outer>(MAGIC, VERSION),
        Order::Native,
        &elems,
        2,
    );
    let s = opts().open_read_only::<Outer>(&p).unwrap();
    assert_eq!(&s[..], &elems[..]);
    let info = inspect(&p).unwrap();
    assert!(info.native_byte_order);
    assert_eq!((info.len, info.capacity), (100, 102));
}

/// Builds the foreign file of `n` samples, converts it, and compares.
fn converts_back<T: Sample>(name: &str, n: u64) {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, &format!("{name}.foreign"));
    let to = common::path_in(&dir, &format!("{name}.bin"));
    let elems: Vec<T> = samples(n);
    foreign_file(&from, &elems);
    let before = common::read(&from);

    let info = inspect(&from).unwrap();
    assert!(!info.native_byte_order, "{name}");
    assert_eq!(
        (info.len, info.elem_size, info.app_magic, info.app_version),
        (n, size_of::<T>() as u64, MAGIC, VERSION),
        "{name}: inspect reads the foreign header"
    );
    assert_eq!(
        opts().open_read_only::<T>(&from).unwrap_err().kind(),
        ErrorKind::WrongEndianness,
        "{name}"
    );

    assert_eq!(opts().convert_foreign::<T>(&from, &to).unwrap(), n as usize);
    assert_eq!(common::read(&from), before, "{name}: the source changed");
    let s = opts().open_read_only::<T>(&to).unwrap();
    assert_eq!(s.len() as u64, n, "{name}");
    for (i, (got, want)) in s.iter().zip(&elems).enumerate() {
        assert_eq!(got, want, "{name}: element {i}");
    }
    drop(s);
    let info = inspect(&to).unwrap();
    assert!(info.native_byte_order, "{name}");
    assert_eq!(
        (info.len, info.capacity, info.app_magic, info.app_version),
        (n, n, MAGIC, VERSION),
        "{name}"
    );
    assert_eq!(info.file_size, 4096 + n * size_of::<T>() as u64, "{name}");
    assert!(temp_files(dir.path()).is_empty(), "{name}");
    // The new file is an ordinary vector: writable, growable.
    let mut v = opts().open::<T>(&to).unwrap();
    v.push(T::sample(n)).unwrap();
    v.close().unwrap();
    assert_eq!(inspect(&to).unwrap().len, n + 1);
}

#[test]
fn foreign_files_of_several_types_convert_to_the_originals() {
    // Sizes around the 64 KiB buffer, and past several buffers.
    for n in [0, 1, 2, 2730, 2731, 30_000] {
        converts_back::<Rec>("rec", n);
    }
    converts_back::<u64>("u64", 100_000);
    converts_back::<[f64; 3]>("f64x3", 5000);
    converts_back::<[u8; 5]>("bytes5", 40_000);
    converts_back::<Mixed>("mixed", 10_000);
    converts_back::<Outer>("outer", 3000);
}

/// 80 KB elements: more than the 64 KiB stack buffer.
type Big = [u32; 20_000];

impl Sample for Big {
    fn sample(i: u64) -> Self {
        let mut a = [0u32; 20_000];
        for (k, x) in a.iter_mut().enumerate() {
            *x = (i as u32)
                .wrapping_mul(31)
                .wrapping_add((k as u32).wrapping_mul(0x0101_0101));
        }
        a
    }
    fn store(&self, order: Order, out: &mut Vec<u8>) {
        for x in self {
            put(out, order, x.to_ne_bytes());
        }
    }
}

#[test]
fn elements_larger_than_the_buffer_convert_one_at_a_time() {
    std::thread::Builder::new()
        .stack_size(16 << 20)
        .spawn(|| converts_back::<Big>("big", 5))
        .unwrap()
        .join()
        .unwrap();
}

#[test]
fn a_native_file_is_copied_and_stays_as_it_was() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "native.bin");
    let to = common::path_in(&dir, "copy.bin");
    let mut v = opts().open::<Rec>(&from).unwrap();
    for i in 0..5000 {
        v.push(Rec::new(i)).unwrap();
    }
    v.close().unwrap();
    let before = common::read(&from);
    assert_eq!(opts().convert_foreign::<Rec>(&from, &to).unwrap(), 5000);
    assert_eq!(common::read(&from), before);
    let s = opts().open_read_only::<Rec>(&to).unwrap();
    assert!(s.iter().enumerate().all(|(i, r)| *r == Rec::new(i as u64)));
    assert_eq!(s.len(), 5000);
}

#[test]
fn in_place_by_the_same_path() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let elems: Vec<Mixed> = samples(7000);
    foreign_file(&p, &elems);
    assert_eq!(opts().convert_foreign::<Mixed>(&p, &p).unwrap(), 7000);
    assert!(inspect(&p).unwrap().native_byte_order);
    assert_eq!(&opts().open_read_only::<Mixed>(&p).unwrap()[..], &elems[..]);
    // Converting it again copies it in place: the same contents.
    let native = common::read(&p);
    assert_eq!(opts().convert_foreign::<Mixed>(&p, &p).unwrap(), 7000);
    assert_eq!(common::read(&p), native);
    assert!(temp_files(dir.path()).is_empty());
}

#[test]
fn another_name_of_the_same_file_is_in_place_and_the_other_name_keeps_the_old_file() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "a.bin");
    let link = common::path_in(&dir, "b.bin");
    let elems: Vec<u64> = samples(1000);
    foreign_file(&from, &elems);
    let before = common::read(&from);
    std::fs::hard_link(&from, &link).unwrap();
    // `to` names the source's own inode: no second lock is taken (it would be refused).
    assert_eq!(opts().convert_foreign::<u64>(&from, &link).unwrap(), 1000);
    assert_eq!(
        common::read(&from),
        before,
        "the source's inode is never written"
    );
    assert_eq!(
        &opts().open_read_only::<u64>(&link).unwrap()[..],
        &elems[..]
    );

    // A symbolic link as `to`: the link is replaced by the new file; its target stays.
    let sym = common::path_in(&dir, "sym.bin");
    std::os::unix::fs::symlink(&from, &sym).unwrap();
    assert_eq!(opts().convert_foreign::<u64>(&from, &sym).unwrap(), 1000);
    assert!(!std::fs::symlink_metadata(&sym).unwrap().is_symlink());
    assert_eq!(common::read(&from), before);
    assert_eq!(&opts().open_read_only::<u64>(&sym).unwrap()[..], &elems[..]);
}

#[test]
fn an_existing_destination_is_replaced_whole() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "f.bin");
    let to = common::path_in(&dir, "t.bin");
    let mut old = opts().open::<u64>(&to).unwrap();
    old.extend_from_slice(&[1; 100_000]).unwrap();
    old.close().unwrap();
    let elems: Vec<u64> = samples(10);
    foreign_file(&from, &elems);
    opts().convert_foreign::<u64>(&from, &to).unwrap();
    assert_eq!(&opts().open_read_only::<u64>(&to).unwrap()[..], &elems[..]);
    assert_eq!(std::fs::metadata(&to).unwrap().len(), 4096 + 80);
}

#[test]
fn the_new_file_has_the_mode_asked_for() {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "f.bin");
    foreign_file::<u64>(&from, &samples(3));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let umask = {
        // Read the umask by creating a file with 0o777.
        let probe = common::path_in(&dir, "probe");
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o777)
            .open(&probe)
            .unwrap();
        !mode(&probe) & 0o777
    };
    let a = common::path_in(&dir, "a.bin");
    opts().convert_foreign::<u64>(&from, &a).unwrap();
    assert_eq!(mode(&a), 0o600 & !umask);
    let b = common::path_in(&dir, "b.bin");
    opts()
        .mode(0o640)
        .convert_foreign::<u64>(&from, &b)
        .unwrap();
    assert_eq!(mode(&b), 0o640 & !umask);
}

/// Runs a conversion that must fail with `kind`, and checks that the source and `to` are
/// exactly as they were and that no temporary file is left.
#[track_caller]
fn refused<T: SwapBytes>(o: &OpenOptions, from: &Path, to: &Path, kind: ErrorKind) -> String {
    let (src, dst) = (read_opt(from), read_opt(to));
    let e = o.convert_foreign::<T>(from, to).unwrap_err();
    assert_eq!(e.kind(), kind, "{e}");
    assert_eq!(read_opt(from), src, "the source changed ({e})");
    assert_eq!(read_opt(to), dst, "the destination changed ({e})");
    let dir = to.parent().unwrap();
    assert!(temp_files(dir).is_empty(), "a temporary file is left ({e})");
    e.to_string()
}

#[test]
fn every_bad_input_is_refused_with_its_kind_and_nothing_written() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "from.bin");
    let to = common::path_in(&dir, "to.bin");
    let fresh = || foreign_file::<u64>(&from, &samples(500));
    fresh();
    // An existing destination must survive every refusal too.
    std::fs::write(&to, b"the old destination").unwrap();

    // Element size and alignment differ from T's.
    refused::<u32>(&opts(), &from, &to, ErrorKind::LayoutMismatch);
    let msg = refused::<[u8; 8]>(&opts(), &from, &to, ErrorKind::LayoutMismatch);
    assert!(msg.contains("alignment"), "{msg}");
    // Another application's magic, another version.
    refused::<u64>(
        OpenOptions::new().magic(*b"OTHERAPP").version(VERSION),
        &from,
        &to,
        ErrorKind::MagicMismatch,
    );
    refused::<u64>(
        OpenOptions::new().magic(MAGIC).version(VERSION + 1),
        &from,
        &to,
        ErrorKind::VersionMismatch,
    );

    // A foreign file from a machine with another usize width: its own message.
    let mut narrow = Fixed::of::<u64>(MAGIC, VERSION);
    narrow.usize_width = 4;
    write_file(&from, &narrow, Order::Swapped, &samples::<u64>(5), 0);
    let msg = refused::<u64>(&opts(), &from, &to, ErrorKind::LayoutMismatch);
    assert!(
        msg.contains("usize width") && msg.contains("foreign"),
        "{msg}"
    );

    // Not a persistence file; an unknown format version.
    std::fs::write(
        &from,
        b"just some text, long enough to have a first 8 bytes",
    )
    .unwrap();
    refused::<u64>(&opts(), &from, &to, ErrorKind::BadMagic);
    fresh();
    let mut b = common::read(&from);
    b[fmt::AT_FORMAT_VERSION..][..4].copy_from_slice(&Order::Swapped.u32(3));
    fmt::reseal(&mut b, Order::Swapped);
    std::fs::write(&from, &b).unwrap();
    refused::<u64>(&opts(), &from, &to, ErrorKind::UnsupportedFormatVersion);

    // Corrupt: a header checksum, both slots, the committed data cut short, an empty file,
    // a file shorter than its header.
    type Damage = fn(&mut Vec<u8>);
    let corruptions: [(&str, Damage); 5] = [
        ("header checksum", |b| b[fmt::AT_HEADER_SUM] ^= 1),
        ("both slots", |b| {
            b[fmt::SLOT_OFFSETS[0] + 3] ^= 1;
            b[fmt::SLOT_OFFSETS[1] + 3] ^= 1;
        }),
        ("data cut short", |b| b.truncate(4096 + 8 * 499)),
        ("empty", |b| b.clear()),
        ("short header", |b| b.truncate(40)),
    ];
    for (what, damage) in corruptions {
        fresh();
        let mut b = common::read(&from);
        damage(&mut b);
        std::fs::write(&from, &b).unwrap();
        let msg = refused::<u64>(&opts(), &from, &to, ErrorKind::Corrupt);
        eprintln!("{what}: {msg}");
    }

    // Paths: a missing source, a directory as source or destination, a destination whose
    // temporary file's name would be too long.
    fresh();
    let missing = common::path_in(&dir, "missing.bin");
    refused::<u64>(&opts(), &missing, &to, ErrorKind::NotFound);
    refused::<u64>(&opts(), dir.path(), &to, ErrorKind::NotARegularFile);
    let sub = common::path_in(&dir, "sub");
    std::fs::create_dir(&sub).unwrap();
    refused::<u64>(&opts(), &from, &sub, ErrorKind::NotARegularFile);
    let long = dir.path().join("x".repeat(200)).join("y".repeat(200));
    let mut long = long.into_os_string();
    while long.len() < persistence::MAX_PATH - 8 {
        long.push("z");
    }
    let e = opts()
        .convert_foreign::<u64>(&from, PathBuf::from(long))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidPath, "{e}");

    // After all that, the conversion works.
    assert_eq!(opts().convert_foreign::<u64>(&from, &to).unwrap(), 500);
}

/// Holds `flock(op)` on `path` through a descriptor of its own, as another program would.
fn hold_flock(path: &Path, exclusive: bool) -> std::fs::File {
    let f = std::fs::File::open(path).unwrap();
    let op = if exclusive {
        rustix::fs::FlockOperation::NonBlockingLockExclusive
    } else {
        rustix::fs::FlockOperation::NonBlockingLockShared
    };
    rustix::fs::flock(&f, op).unwrap();
    f
}

#[test]
fn a_writer_or_reader_of_the_source_or_the_destination_makes_it_locked() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "from.bin");
    let to = common::path_in(&dir, "to.bin");
    let mut v = opts().open::<u64>(&from).unwrap();
    v.extend_from_slice(&samples::<u64>(100)).unwrap();
    v.sync().unwrap();
    // The source: a writer (the library's), a reader, another program's locks.
    let msg = refused::<u64>(&opts(), &from, &to, ErrorKind::Locked);
    assert!(msg.contains("source"), "{msg}");
    v.close().unwrap();
    let reader = opts().open_read_only::<u64>(&from).unwrap();
    refused::<u64>(&opts(), &from, &to, ErrorKind::Locked);
    drop(reader);
    for exclusive in [false, true] {
        let held = hold_flock(&from, exclusive);
        refused::<u64>(&opts(), &from, &to, ErrorKind::Locked);
        drop(held);
    }
    // A foreign source held by another program.
    let foreign = common::path_in(&dir, "foreign.bin");
    foreign_file::<u64>(&foreign, &samples(10));
    let held = hold_flock(&foreign, false);
    refused::<u64>(&opts(), &foreign, &to, ErrorKind::Locked);
    drop(held);

    // The destination: a writer has it open (its writes would go into a file no name leads
    // to), or a reader.
    let mut w = opts().open::<u64>(&to).unwrap();
    w.push(7).unwrap();
    let msg = refused::<u64>(&opts(), &from, &to, ErrorKind::Locked);
    assert!(msg.contains("destination"), "{msg}");
    w.push(8).unwrap();
    w.close().unwrap();
    assert_eq!(&opts().open_read_only::<u64>(&to).unwrap()[..], &[7, 8]);
    let r = opts().open_read_only::<u64>(&to).unwrap();
    refused::<u64>(&opts(), &from, &to, ErrorKind::Locked);
    drop(r);

    // Another conversion to the same destination holds its temporary file.
    let tmp = PathBuf::from(format!("{}{TEMP_SUFFIX}", to.display()));
    std::fs::write(&tmp, b"in progress").unwrap();
    let held = hold_flock(&tmp, true);
    let e = opts().convert_foreign::<u64>(&from, &to).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Locked, "{e}");
    assert!(e.to_string().contains("another conversion"), "{e}");
    assert_eq!(
        common::read(&tmp),
        b"in progress",
        "another call's temporary file was touched"
    );
    drop(held);

    // Free again: the stale temporary file is removed and the conversion goes through.
    assert_eq!(opts().convert_foreign::<u64>(&from, &to).unwrap(), 100);
    assert!(temp_files(dir.path()).is_empty());
    assert_eq!(
        &opts().open_read_only::<u64>(&to).unwrap()[..],
        &samples::<u64>(100)[..]
    );
}

#[test]
fn wait_for_lock_waits_for_the_source_writer_and_converts_what_it_committed() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "from.bin");
    let to = common::path_in(&dir, "to.bin");
    let mut v = opts().open::<u64>(&from).unwrap();
    v.push(1).unwrap();
    let converter = {
        let (from, to) = (from.clone(), to.clone());
        std::thread::spawn(move || {
            opts()
                .wait_for_lock(true)
                .convert_foreign::<u64>(&from, &to)
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(!converter.is_finished(), "it did not wait for the writer");
    v.push(2).unwrap();
    v.close().unwrap();
    assert_eq!(converter.join().unwrap().unwrap(), 2);
    assert_eq!(&opts().open_read_only::<u64>(&to).unwrap()[..], &[1, 2]);
}

/// The other half of locking the destination: a process that was waiting for the lock of a
/// file that is then renamed over gets, once the lock is free, the file now at the path, not
/// the replaced one that no name leads to (where its writes would be lost).
#[test]
fn a_writer_waiting_for_a_replaced_file_opens_the_new_one() {
    let dir = common::tmpdir();
    let to = common::path_in(&dir, "to.bin");
    let new = common::path_in(&dir, "new.bin");
    let mut holder = opts().open::<u64>(&to).unwrap();
    holder.push(1).unwrap();
    holder.sync().unwrap();
    let waiter = {
        let to = to.clone();
        std::thread::spawn(move || {
            let mut w = opts().wait_for_lock(true).open::<u64>(&to).unwrap();
            let seen = w.to_vec();
            w.push(99).unwrap();
            w.close().unwrap();
            seen
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(!waiter.is_finished());
    // What a conversion does while holding the lock: a complete new file renamed over it.
    let mut n = opts().open::<u64>(&new).unwrap();
    n.extend_from_slice(&[5, 6, 7]).unwrap();
    n.close().unwrap();
    std::fs::rename(&new, &to).unwrap();
    drop(holder);
    assert_eq!(
        waiter.join().unwrap(),
        [5, 6, 7],
        "the waiter got the old file"
    );
    assert_eq!(
        &opts().open_read_only::<u64>(&to).unwrap()[..],
        &[5, 6, 7, 99],
        "the waiter's write is in the file at the path"
    );
}

#[test]
fn a_stale_temporary_file_is_removed() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "from.bin");
    let to = common::path_in(&dir, "to.bin");
    foreign_file::<u64>(&from, &samples(50));
    let tmp = PathBuf::from(format!("{}{TEMP_SUFFIX}", to.display()));
    // What a crash leaves: a temporary file that no one holds (here: garbage, read-only).
    std::fs::write(&tmp, vec![0xEE; 100_000]).unwrap();
    let mut perm = std::fs::metadata(&tmp).unwrap().permissions();
    perm.set_readonly(true);
    std::fs::set_permissions(&tmp, perm).unwrap();
    assert_eq!(opts().convert_foreign::<u64>(&from, &to).unwrap(), 50);
    assert!(temp_files(dir.path()).is_empty());
    assert_eq!(
        &opts().open_read_only::<u64>(&to).unwrap()[..],
        &samples::<u64>(50)[..]
    );
    // A directory in the way is not removed: an error, nothing written.
    std::fs::create_dir(&tmp).unwrap();
    let e = opts().convert_foreign::<u64>(&from, &to).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotARegularFile, "{e}");
    std::fs::remove_dir(&tmp).unwrap();
}

/// Each system call of a conversion failing in turn (injected): an error, `to` and the
/// source unchanged, no temporary file; and the next call succeeds.
#[test]
fn a_failure_at_each_step_leaves_everything_as_it_was() {
    use fault::Op;
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "from.bin");
    let to = common::path_in(&dir, "to.bin");
    let elems: Vec<Rec> = samples(20_000); // several buffers
    foreign_file(&from, &elems);
    let (eio, enospc) = (libc_eio(), rustix::io::Errno::NOSPC.raw_os_error());
    let cases: [(Op, u32, i32, ErrorKind); 8] = [
        (Op::Open, 0, eio, ErrorKind::Io),              // the source
        (Op::Lock, 0, eio, ErrorKind::Io),              // the source's lock
        (Op::Lock, 1, eio, ErrorKind::Io),              // the destination's lock
        (Op::Open, 2, enospc, ErrorKind::OutOfSpace),   // creating the temporary file
        (Op::Write, 0, enospc, ErrorKind::OutOfSpace),  // the header
        (Op::Write, 3, enospc, ErrorKind::OutOfSpace),  // in the middle of the elements
        (Op::SyncFile, 0, eio, ErrorKind::Io),          // fdatasync
        (Op::Rename, 0, enospc, ErrorKind::OutOfSpace), // the rename
    ];
    std::fs::write(&to, b"old").unwrap();
    for (op, skip, errno, kind) in cases {
        fault::inject(op, skip, errno);
        let e = opts().convert_foreign::<Rec>(&from, &to).unwrap_err();
        let pending = fault::pending();
        fault::clear();
        assert!(!pending, "{op:?} after {skip}: the failure was not reached");
        assert_eq!(e.kind(), kind, "{op:?} after {skip}: {e}");
        assert_eq!(common::read(&to), b"old", "{op:?} after {skip}");
        assert!(
            temp_files(dir.path()).is_empty(),
            "{op:?} after {skip}: a temporary file is left"
        );
    }
    // The directory sync fails after the rename: the new file is in place, and the error
    // says so.
    fault::inject(Op::SyncDir, 0, libc_eio());
    let e = opts().convert_foreign::<Rec>(&from, &to).unwrap_err();
    fault::clear();
    assert!(e.to_string().contains("in place"), "{e}");
    assert_eq!(&opts().open_read_only::<Rec>(&to).unwrap()[..], &elems[..]);
    assert!(temp_files(dir.path()).is_empty());
}

/// `EIO`.
fn libc_eio() -> i32 {
    rustix::io::Errno::IO.raw_os_error()
}

#[test]
fn two_conversions_to_one_destination_at_once_leave_one_complete_file() {
    let dir = common::tmpdir();
    let a = common::path_in(&dir, "a.bin");
    let b = common::path_in(&dir, "b.bin");
    let to = common::path_in(&dir, "to.bin");
    let ea: Vec<u64> = samples(200_000);
    let eb: Vec<u64> = (0..150_000).map(|i| !u64::sample(i)).collect();
    foreign_file(&a, &ea);
    foreign_file(&b, &eb);
    let mut locked = 0;
    for _ in 0..20 {
        let t = {
            let (b, to) = (b.clone(), to.clone());
            std::thread::spawn(move || opts().convert_foreign::<u64>(&b, &to))
        };
        let ra = opts().convert_foreign::<u64>(&a, &to);
        let rb = t.join().unwrap();
        for r in [&ra, &rb] {
            if let Err(e) = r {
                assert_eq!(e.kind(), ErrorKind::Locked, "{e}");
                locked += 1;
            }
        }
        assert!(ra.is_ok() || rb.is_ok());
        let s = opts().open_read_only::<u64>(&to).unwrap();
        assert!(
            s[..] == ea[..] || s[..] == eb[..],
            "neither file whole (len {})",
            s.len()
        );
        assert!(temp_files(dir.path()).is_empty());
    }
    eprintln!("two at once: {locked} of 40 calls were Locked by the other");
}

// ---- crash: SIGKILL at random points of a conversion ----

const CHILD_ENV: &str = "PERSISTENCE_CONVERT_CHILD";
const CRASH_TEST: &str = "sigkill_during_a_conversion_leaves_the_old_or_the_new_file_whole";
/// Elements of the crash test's sources (16 MB).
const CRASH_LEN: u64 = 2_000_000;
const ROUNDS: usize = 40;

/// The value of element `i` of source `s` (0 or 1; the two differ everywhere).
fn crash_value(s: u64, i: u64) -> u64 {
    u64::sample(i) ^ (s * 0xFFFF_0000_FFFF_0000)
}

/// The length of source `s`.
fn crash_len(s: u64) -> u64 {
    CRASH_LEN - s * 12_345
}

/// What a file at `path` is: `None` absent, `Some(Ok(s))` the complete conversion of
/// source `s`, `Some(Err(why))` anything else.
fn crash_state(path: &Path) -> Option<Result<u64, String>> {
    if !path.exists() {
        return None;
    }
    let s = match opts().open_read_only::<u64>(path) {
        Ok(s) => s,
        Err(e) => return Some(Err(format!("does not open: {e}"))),
    };
    let Some(src) = (0..2).find(|&k| s.len() as u64 == crash_len(k)) else {
        return Some(Err(format!("length {}", s.len())));
    };
    if let Some(i) = (0..s.len()).find(|&i| s[i] != crash_value(src, i as u64)) {
        return Some(Err(format!("source {src}: element {i} wrong")));
    }
    Some(Ok(src))
}

/// In the child: convert, saying when it starts and when it is done.
fn crash_child(spec: &str) {
    use std::io::Write;
    let (from, to) = spec.split_once(';').expect("from;to");
    let mut out = std::io::stdout().lock();
    writeln!(out, "start").unwrap();
    out.flush().unwrap();
    let n = opts()
        .convert_foreign::<u64>(from, to)
        .expect("child: convert");
    writeln!(out, "done {n}").unwrap();
    out.flush().unwrap();
    std::process::exit(0);
}

/// Starts a child converting `from` to `to`, kills it `delay` after it said "start";
/// returns whether it said "done" first.
fn kill_during(from: &Path, to: &Path, delay: Duration) -> bool {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            CRASH_TEST,
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(CHILD_ENV, format!("{};{}", from.display(), to.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // (The test harness prints lines of its own first.)
    assert!(
        lines.by_ref().any(|l| l.is_ok_and(|l| l == "start")),
        "the child did not start"
    );
    std::thread::sleep(delay);
    let _ = child.kill(); // SIGKILL (it may have exited already)
    let status = child.wait().unwrap();
    let done = lines.any(|l| l.is_ok_and(|l| l.starts_with("done")));
    assert!(
        status.signal() == Some(9) || (done && status.success()),
        "the child ended by itself without converting: {status}"
    );
    done
}

/// A process killed with `SIGKILL` at a random instant of a conversion (40 rounds, to
/// another path and in place, with and without an old destination) leaves `to` as it was
/// (or absent) or as the complete new file, never anything else; the source is intact; and
/// the next conversion succeeds, whatever temporary file the killed one left.
#[test]
fn sigkill_during_a_conversion_leaves_the_old_or_the_new_file_whole() {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        crash_child(&spec);
        return;
    }
    let mut rng = common::rng("convert crash");
    let dir = common::tmpdir();
    let src: Vec<PathBuf> = (0..2)
        .map(|s| {
            let p = common::path_in(&dir, &format!("source-{s}.bin"));
            let elems: Vec<u64> = (0..crash_len(s)).map(|i| crash_value(s, i)).collect();
            foreign_file(&p, &elems);
            p
        })
        .collect();
    let originals: Vec<Vec<u8>> = src.iter().map(|p| common::read(p)).collect();
    let to = common::path_in(&dir, "to.bin");
    let tmp = PathBuf::from(format!("{}{TEMP_SUFFIX}", to.display()));

    // How long a whole conversion takes here, to spread the kills over it: the fastest of
    // three, and shorter whenever a child finishes before its kill (the machine's load
    // varies), so that most kills land inside the conversion.
    let mut whole = (0..3)
        .map(|_| {
            let t0 = Instant::now();
            opts().convert_foreign::<u64>(&src[0], &to).unwrap();
            t0.elapsed()
        })
        .min()
        .unwrap();
    std::fs::remove_file(&to).unwrap();

    let (mut stale, mut finished, mut new_without_done, mut old_kept) = (0, 0, 0, 0);
    let started = Instant::now();
    for round in 0..ROUNDS {
        let s = (round % 2) as u64;
        let in_place = round % 5 == 4;
        let delay = whole.mul_f64(rng.f64() * 1.5);
        if in_place {
            // The source itself, a copy of the foreign file, converted in place.
            std::fs::write(&to, &originals[s as usize]).unwrap();
            let done = kill_during(&to, &to, delay);
            let now = common::read(&to);
            if now != originals[s as usize] {
                assert_eq!(
                    crash_state(&to),
                    Some(Ok(s)),
                    "round {round} (in place, killed after {delay:?}): neither the old nor the \
                     new file"
                );
                new_without_done += usize::from(!done);
            } else {
                old_kept += 1;
                assert!(!done, "round {round}: done, but the file is the old one");
            }
            finished += usize::from(done);
            stale += usize::from(tmp.exists());
            if done {
                whole = whole.mul_f64(0.7);
            }
            opts().convert_foreign::<u64>(&to, &to).unwrap();
        } else {
            if round % 7 == 3 && to.exists() {
                std::fs::remove_file(&to).unwrap(); // sometimes no old destination
            }
            let before = crash_state(&to);
            assert!(matches!(before, None | Some(Ok(_))), "round {round}");
            let done = kill_during(&src[s as usize], &to, delay);
            let after = crash_state(&to);
            assert!(
                after == before || after == Some(Ok(s)),
                "round {round} (killed after {delay:?}): the destination is {after:?}, was \
                 {before:?}, new would be source {s}"
            );
            if after != before {
                new_without_done += usize::from(!done);
            } else if before != Some(Ok(s)) {
                old_kept += 1;
            }
            if done {
                assert_eq!(after, Some(Ok(s)), "round {round}: done but not new");
            }
            finished += usize::from(done);
            stale += usize::from(tmp.exists());
            if done {
                whole = whole.mul_f64(0.7);
            }
            for (k, p) in src.iter().enumerate() {
                assert!(
                    common::read(p) == originals[k],
                    "round {round}: source {k} changed"
                );
            }
            // The next call succeeds, stale temporary file or not.
            assert_eq!(
                opts()
                    .convert_foreign::<u64>(&src[s as usize], &to)
                    .unwrap() as u64,
                crash_len(s)
            );
        }
        assert_eq!(crash_state(&to), Some(Ok(s)), "round {round}: the retry");
        assert!(
            !tmp.exists(),
            "round {round}: the retry left its temporary file"
        );
    }
    println!(
        "convert crash: {ROUNDS} SIGKILL rounds in {:?} (kill window at the end: {whole:?}): \
         {stale} left a temporary file, {old_kept} kept the old file, {new_without_done} had \
         the new file before the child could say so, {finished} finished",
        started.elapsed()
    );
    assert!(
        stale >= 3,
        "too few kills landed while the file was being written: {stale}"
    );
    assert!(
        old_kept >= 5,
        "too few kills landed before the rename: {old_kept}"
    );
}

// ---- a full disk ----

/// On a small tmpfs with about 1 MiB left, converting a 4 MB file fails with `OutOfSpace`,
/// removes its temporary file (the space comes back), and leaves `to` and the source as they
/// were, to another path and in place; with room again, it succeeds. In a child process.
#[test]
fn a_full_disk_is_out_of_space_and_leaves_everything_as_it_was() {
    const TEST: &str = "a_full_disk_is_out_of_space_and_leaves_everything_as_it_was";
    let Some(fs) = common::fs::mount_or_skip(common::fs::FsKind::Tmpfs, TEST) else {
        return;
    };
    common::child::isolated(TEST, fs.path(), |dir| {
        let from = dir.join("from.bin");
        let to = dir.join("to.bin");
        let elems: Vec<u64> = samples(500_000); // 4 MB
        foreign_file(&from, &elems);
        let mut old = opts().open::<u64>(&to).unwrap();
        old.extend_from_slice(&[3; 1000]).unwrap();
        old.close().unwrap();
        let (src, dst) = (common::read(&from), common::read(&to));

        common::fs::fill_leaving(dir, 1 << 20).unwrap();
        let free = common::fs::available(dir).unwrap();
        for (what, target) in [("to another path", &to), ("in place", &from)] {
            let e = opts().convert_foreign::<u64>(&from, target).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::OutOfSpace, "{what}: {e}");
            assert_eq!(common::read(&from), src, "{what}: the source changed");
            assert_eq!(common::read(&to), dst, "{what}: the destination changed");
            assert!(temp_files(dir).is_empty(), "{what}: temporary file left");
            let now = common::fs::available(dir).unwrap();
            assert!(
                now + (64 << 10) >= free,
                "{what}: the space did not come back ({now} of {free} bytes)"
            );
        }
        common::fs::remove_fillers(dir).unwrap();
        assert_eq!(opts().convert_foreign::<u64>(&from, &to).unwrap(), 500_000);
        assert_eq!(&opts().open_read_only::<u64>(&to).unwrap()[..], &elems[..]);
    });
    drop(fs);
}

// ---- the example ----

fn run_example(args: &[&str]) -> (i32, String, String) {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = example::run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

#[test]
fn the_convert_example_converts_reports_and_exits_with_its_status() {
    let dir = common::tmpdir();
    let from = common::path_in(&dir, "readings-be.bin");
    let to = common::path_in(&dir, "readings.bin");
    let readings: Vec<example::Reading> = (0..1000)
        .map(|i| example::Reading {
            time_ns: i * 1000,
            value: i as f64 / 8.0,
            sensor: (i % 7) as u32,
            flags: 0x0102,
            unit: *b"mV",
        })
        .collect();
    let mut data = Vec::new();
    for r in &readings {
        put(&mut data, Order::Swapped, r.time_ns.to_ne_bytes());
        put(&mut data, Order::Swapped, r.value.to_ne_bytes());
        put(&mut data, Order::Swapped, r.sensor.to_ne_bytes());
        put(&mut data, Order::Swapped, r.flags.to_ne_bytes());
        data.extend_from_slice(&r.unit);
    }
    let f = Fixed::of::<example::Reading>(*b"READINGS", 2);
    std::fs::write(&from, vector_file(&f, Order::Swapped, 1000, &data)).unwrap();
    let (f_s, t_s) = (from.to_str().unwrap(), to.to_str().unwrap());

    let (code, out, err) = run_example(&[
        "--type",
        "reading",
        "--magic",
        "READINGS",
        "--version",
        "2",
        f_s,
        t_s,
    ]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert!(out.contains("converted 1000 elements"), "{out}");
    assert!(out.contains("other byte order"), "{out}");
    let s = OpenOptions::new()
        .magic(*b"READINGS")
        .version(2)
        .open_read_only::<example::Reading>(&to)
        .unwrap();
    assert_eq!(&s[..], &readings[..]);
    drop(s);

    // Converting the native result again is a copy, and says so.
    let copy = common::path_in(&dir, "copy.bin");
    let (code, out, _) = run_example(&[
        "--type",
        "reading",
        "--magic",
        "READINGS",
        "--version",
        "2",
        t_s,
        copy.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("already in this machine's byte order"),
        "{out}"
    );

    // Errors: the wrong type (a layout mismatch), exit 1 with the kind.
    let (code, out, err) = run_example(&["--magic", "READINGS", "--version", "2", f_s, t_s]);
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("[LayoutMismatch]"), "{err}");
    // Plain u64 files, and the default magic and version.
    let u = common::path_in(&dir, "u64.bin");
    let mut data = Vec::new();
    for i in 0..10u64 {
        put(&mut data, Order::Swapped, i.to_ne_bytes());
    }
    std::fs::write(
        &u,
        vector_file(&Fixed::of::<u64>([0; 8], 0), Order::Swapped, 10, &data),
    )
    .unwrap();
    let (code, out, err) = run_example(&[u.to_str().unwrap(), u.to_str().unwrap()]);
    assert_eq!((code, err.as_str()), (0, ""), "{out}");
    assert_eq!(
        &MmapedVec::<u64>::open(&u).unwrap()[..],
        &(0..10).collect::<Vec<u64>>()[..]
    );

    // Usage errors: exit 2.
    for bad in [
        &[][..],
        &["only-one"][..],
        &["--type", "float", "a", "b"][..],
        &["--version", "x", "a", "b"][..],
        &["--magic", "much-too-long", "a", "b"][..],
        &["--frobnicate", "a", "b"][..],
    ] {
        let (code, _, err) = run_example(bad);
        assert_eq!(code, 2, "{bad:?}");
        assert!(err.contains("usage"), "{bad:?}: {err}");
    }
}
