//! Hostile files: whatever bytes a file holds, opening it as a vector gives `Ok` with a
//! length that fits the file, or an `Err` with a message; never a panic, a `SIGBUS` or
//! undefined behaviour. When an open succeeds, every element is read, and a read-write open
//! must then push, sync and reopen with exactly the old elements plus the new one.
//!
//! The input is a 13-byte control block and then the file's raw bytes. The control block
//! lets the fuzzer get past the checksums, so that it also explores what lies behind them
//! (layouts, commit slots, lengths that do or do not fit, element data):
//!
//! | bytes | meaning |
//! |---|---|
//! | 0 | flags: `FIXED` writes a valid fixed header for the element type under test (format version 2 with its type fingerprint when `V2` is set too, else version 1), `SUM` recomputes the header checksum, `SLOT_A`/`SLOT_B` write valid commit slots, `XOR` applies the raw bytes after those repairs (as corruption of a valid file) instead of before |
//! | 1..3 | the file is zero-padded to this many bytes (`u16` LE) times 4 |
//! | 3, 4..8 | slot A: sequence (`u8`, see [`sequence`]: small, near 2^62 or near `u64::MAX`), length (`u32` LE) |
//! | 8, 9..13 | slot B: sequence (`u8`, likewise), length (`u32` LE) |
//!
//! Each input is tried as four element types: `u8`, `u64`, `[u32; 3]` and a `pod!` struct.

#![no_main]

use std::fmt::Debug;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use persistence::{pod, MmapedSlice, MmapedVec, Pod};

/// The documented on-disk format, written from `docs/design.md` for the tests (the
/// library's codec is private): the same file the integration tests use.
#[path = "../../tests/common/format.rs"]
mod format;

use format::{Fixed, Order, Slot, SLOT_OFFSETS};

pod! {
    /// A record with mixed fields and no padding (16 bytes, 8-aligned).
    #[derive(Debug, PartialEq)]
    struct Rec { a: u64, b: u32, c: u16, d: u8, e: u8 }
}

const FIXED: u8 = 1;
const SUM: u8 = 2;
const SLOT_A: u8 = 4;
const SLOT_B: u8 = 8;
const XOR: u8 = 16;
const V2: u8 = 32;
const CONTROL: usize = 13;

/// Where the target writes its file: `$PERSISTENCE_FUZZ_DIR`, else `/dev/shm` (no disk I/O
/// for the many `fsync`s), else the temp dir; one file per process.
fn file_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::var_os("PERSISTENCE_FUZZ_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                let shm = PathBuf::from("/dev/shm");
                shm.is_dir().then_some(shm)
            })
            .unwrap_or_else(std::env::temp_dir);
        dir.join(format!("persistence-fuzz-{}.bin", std::process::id()))
    })
}

/// A slot's sequence from its control byte: `0..128` as it is; `128..192` around
/// `MAX_SEQUENCE` (2^62, the highest a valid slot may hold: from 2^62 - 32 to 2^62 + 31);
/// `192..=255` the top of the `u64` range (`u64::MAX - 63..=u64::MAX`). Sequences out of
/// range must count as damaged slots, and no arithmetic on them may overflow.
fn sequence(b: u8) -> u64 {
    match b {
        0..=127 => u64::from(b),
        128..=191 => format::MAX_SEQUENCE - 32 + u64::from(b - 128),
        192..=255 => u64::MAX - u64::from(255 - b),
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The file's bytes for element type `T`, built from the input as the table above says.
fn build_file<T: Pod>(control: &[u8; CONTROL], raw: &[u8]) -> Vec<u8> {
    let flags = control[0];
    let pad = usize::from(u16::from_le_bytes([control[1], control[2]])) * 4;
    let mut file = vec![0u8; pad.max(raw.len())];
    if flags & XOR == 0 {
        file[..raw.len()].copy_from_slice(raw);
    }
    if file.len() >= format::FIXED_LEN {
        if flags & FIXED != 0 {
            let fixed = Fixed::of::<T>([0; 8], 0);
            if flags & V2 != 0 && file.len() >= format::V2_AT_HEADER_SUM + 8 {
                let fp = T::FINGERPRINT.to_u64();
                format::encode_fixed_v2(&mut file, &fixed, fp, Order::Native);
            } else {
                format::encode_fixed(&mut file, &fixed, Order::Native);
            }
        }
        if flags & SUM != 0 {
            format::reseal(&mut file, Order::Native);
        }
    }
    for (which, flag, at) in [(0, SLOT_A, 3), (1, SLOT_B, 8)] {
        let off = SLOT_OFFSETS[which];
        if flags & flag != 0 && file.len() >= off + format::SLOT_LEN {
            let slot = Slot {
                seq: sequence(control[at]),
                len: u64::from(u32_at(control, at + 1)),
            };
            let sum = format::header_sum(&file, Order::Native);
            let bytes = format::encode_slot(sum, slot, Order::Native);
            file[off..off + format::SLOT_LEN].copy_from_slice(&bytes);
        }
    }
    if flags & XOR != 0 {
        for (f, r) in file.iter_mut().zip(raw) {
            *f ^= r;
        }
    }
    file
}

/// Opens the file as `T` read-only and read-write; checks what each open promises.
fn check<T: Pod + PartialEq + Debug>(file: &[u8], make: impl Fn(u64) -> T) {
    let path = file_path();
    std::fs::write(path, file).expect("write the fuzz file");
    let elem = std::mem::size_of::<T>() as u64;
    let fits = |len: usize| len == 0 || 4096 + len as u64 * elem <= file.len() as u64;

    // Read-only: never writes the file.
    let read_only = match MmapedSlice::<T>::open(path) {
        Ok(s) => {
            assert!(
                fits(s.len()),
                "read-only length {} exceeds the file",
                s.len()
            );
            for x in s.iter() {
                black_box(*x);
            }
            Some(s.to_vec())
        }
        Err(e) => {
            assert!(!e.to_string().is_empty(), "empty error message");
            None
        }
    };
    assert_eq!(
        std::fs::read(path).expect("read the fuzz file"),
        file,
        "a read-only open changed the file"
    );

    // Read-write: push one, sync, reopen.
    let mut v = match MmapedVec::<T>::open(path) {
        Ok(v) => v,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "empty error message");
            return;
        }
    };
    assert!(
        v.len() <= v.capacity(),
        "len {} > capacity {}",
        v.len(),
        v.capacity()
    );
    assert_eq!(v.len(), v.committed_len());
    assert!(
        fits(v.len()),
        "read-write length {} exceeds the file",
        v.len()
    );
    let before: Vec<T> = v.iter().copied().collect();
    if let Some(ro) = &read_only {
        assert_eq!(ro, &before, "read-only and read-write opens disagree");
    }
    let x = make(before.len() as u64 ^ 0x5a5a);
    v.push(x).expect("push onto an opened vector");
    if let Err(e) = v.sync() {
        // Only a commit at the top of the sequence range may be refused (no number is left
        // for the next one); the last commit then stays.
        let seq = persistence::inspect(path).expect("inspect").current().sequence;
        assert!(
            e.kind() == persistence::ErrorKind::Corrupt && seq + 64 > format::MAX_SEQUENCE,
            "sync failed below the top of the sequence range (sequence {seq}): {e}"
        );
        drop(v);
        let again = MmapedVec::<T>::open(path).expect("reopen after a refused commit");
        assert_eq!(&again[..], &before[..], "a refused commit changed the elements");
        return;
    }
    v.close().expect("close");

    let v = MmapedVec::<T>::open(path).expect("reopen what this process just committed");
    assert_eq!(v.len(), before.len() + 1);
    assert_eq!(
        &v[..before.len()],
        &before[..],
        "elements changed across a commit"
    );
    assert_eq!(v[before.len()], x, "the pushed element");
    drop(v);
    let s = MmapedSlice::<T>::open(path).expect("read-only reopen");
    assert_eq!(s.len(), before.len() + 1);
}

fuzz_target!(|data: &[u8]| {
    let Some((control, raw)) = data.split_first_chunk::<CONTROL>() else {
        return;
    };
    check::<u8>(&build_file::<u8>(control, raw), |i| i as u8);
    check::<u64>(&build_file::<u64>(control, raw), |i| i.wrapping_mul(3));
    check::<[u32; 3]>(&build_file::<[u32; 3]>(control, raw), |i| {
        [i as u32, !(i as u32), 7]
    });
    check::<Rec>(&build_file::<Rec>(control, raw), |i| Rec {
        a: i,
        b: i as u32 ^ 1,
        c: 2,
        d: 3,
        e: 4,
    });
    let _ = std::fs::remove_file(file_path());
});
