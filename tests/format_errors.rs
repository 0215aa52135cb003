//! Every `ErrorKind` that a file can cause, each from a real file, and the on-disk format
//! of a new file (version 2) pinned byte for byte against the table in `docs/design.md`. A
//! failed open never changes the file.

mod common;

use persistence::{ErrorKind, MmapedSlice, MmapedVec, OpenOptions};
use std::path::{Path, PathBuf};

/// A file holding a committed vector of `0..n` u64 (two commits, so both slots are valid).
fn committed_file(dir: &tempfile::TempDir, n: u64) -> PathBuf {
    let path = common::path_in(dir, "v.bin");
    let mut v = OpenOptions::new()
        .magic(*b"APPMAGIC")
        .version(3)
        .open::<u64>(&path)
        .unwrap();
    v.extend_from_slice(&(0..n / 2).collect::<Vec<_>>())
        .unwrap();
    v.sync().unwrap();
    v.extend_from_slice(&(n / 2..n).collect::<Vec<_>>())
        .unwrap();
    v.close().unwrap();
    path
}

fn opts() -> OpenOptions {
    *OpenOptions::new().magic(*b"APPMAGIC").version(3)
}

/// Opens read-write and read-only; both must fail with `kind`, and leave the file as it was.
fn expect_kind(path: &Path, kind: ErrorKind) {
    let before = std::fs::read(path).ok();
    let e = opts().open::<u64>(path).map(|v| v.len()).unwrap_err();
    assert_eq!(e.kind(), kind, "read-write: {e}");
    assert!(!e.to_string().is_empty());
    let e = opts()
        .open_read_only::<u64>(path)
        .map(|v| v.len())
        .unwrap_err();
    assert_eq!(e.kind(), kind, "read-only: {e}");
    assert_eq!(
        std::fs::read(path).ok(),
        before,
        "a failed open changed the file"
    );
}

fn patch(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

/// FNV-1a 64, as the format documents it (an independent copy, to pin the format).
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// The header checksum of a version-2 vector file lies at 80, over bytes `0..80`.
const SUM_AT: usize = 80;

fn reseal_header(b: &mut [u8]) {
    let sum = fnv(&b[..SUM_AT]);
    b[SUM_AT..SUM_AT + 8].copy_from_slice(&sum.to_ne_bytes());
}

#[test]
fn header_bytes_match_the_documented_table() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    let b = common::read(&path);
    assert_eq!(&b[0..8], b"PERSISTV");
    assert_eq!(&b[8..16], b"APPMAGIC");
    assert_eq!(
        u32::from_ne_bytes(b[16..20].try_into().unwrap()),
        0x0102_0304
    );
    let u32_at = |at: usize| u32::from_ne_bytes(b[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_ne_bytes(b[at..at + 8].try_into().unwrap());
    assert_eq!(u32_at(20), 2, "format version");
    assert_eq!(u32_at(24), 3, "application version");
    assert_eq!(u32_at(28) as usize, size_of::<usize>(), "usize width");
    assert_eq!(u32_at(32), 0, "kind: a vector");
    assert_eq!(u32_at(36), 1, "one column");
    assert_eq!(u64_at(40), 4096, "data offset");
    assert_eq!(u64_at(48), 0, "no block size (a vector)");
    assert_eq!(u64_at(56), 8, "element size");
    assert_eq!(u64_at(64), 8, "element alignment");
    use persistence::Pod;
    assert_eq!(
        u64_at(72),
        u64::FINGERPRINT.to_u64(),
        "element type fingerprint"
    );
    assert_eq!(u64_at(SUM_AT), fnv(&b[..SUM_AT]), "header checksum");
    // Slots: creation wrote seq 1 (len 0) to A; commit 2 (len 5) went to B, commit 3
    // (len 10, at close) to A.
    let slot = |off: usize| {
        let seq = u64::from_ne_bytes(b[off..off + 8].try_into().unwrap());
        let len = u64::from_ne_bytes(b[off + 8..off + 16].try_into().unwrap());
        let sum = u64::from_ne_bytes(b[off + 16..off + 24].try_into().unwrap());
        let mut covered = Vec::new();
        covered.extend_from_slice(&b[off..off + 16]);
        covered.extend_from_slice(&b[SUM_AT..SUM_AT + 8]);
        assert_eq!(sum, fnv(&covered), "slot at {off}");
        (seq, len)
    };
    assert_eq!(slot(512), (3, 10));
    assert_eq!(slot(1024), (2, 5));
    // Everything else in page 0 is zero.
    for (i, &x) in b[..4096].iter().enumerate() {
        let in_field = i < SUM_AT + 8 || (512..536).contains(&i) || (1024..1048).contains(&i);
        assert!(in_field || x == 0, "byte {i} of the header page is {x}");
    }
    // Element data starts at 4096, native-endian.
    assert_eq!(
        u64::from_ne_bytes(b[4096 + 8 * 7..4096 + 8 * 8].try_into().unwrap()),
        7
    );
}

#[test]
fn another_applications_magic() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    let before = common::read(&path);
    let e = OpenOptions::new()
        .magic(*b"OTHERAPP")
        .version(3)
        .open::<u64>(&path)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MagicMismatch);
    assert!(e.to_string().contains("magic"), "{e}");
    assert_eq!(common::read(&path), before);
}

#[test]
fn another_version() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    let e = OpenOptions::new()
        .magic(*b"APPMAGIC")
        .version(4)
        .open::<u64>(&path)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::VersionMismatch);
    assert_eq!(
        e.to_string(),
        "application data version differs: application version 4 expected, file has 3"
    );
}

#[test]
fn another_element_type() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    let before = common::read(&path);
    let e = opts().open::<u32>(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LayoutMismatch);
    assert!(
        e.to_string()
            .contains("element size 4 expected, file has 8"),
        "{e}"
    );
    // Same size, other alignment.
    let e = opts().open::<[u8; 8]>(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LayoutMismatch);
    assert!(e.to_string().contains("alignment"), "{e}");
    let e = opts().open_read_only::<common::Rec>(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LayoutMismatch);
    assert_eq!(common::read(&path), before);
}

#[test]
fn another_usize_width() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    patch(&path, |b| {
        b[28..32].copy_from_slice(&4u32.to_ne_bytes());
        reseal_header(b);
    });
    expect_kind(&path, ErrorKind::LayoutMismatch);
}

#[test]
fn byte_swapped_header_is_wrong_endianness() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    // What a machine of the other byte order writes: every integer field swapped.
    patch(&path, |b| {
        for (off, size) in [
            (16, 4),
            (20, 4),
            (24, 4),
            (28, 4),
            (32, 4),
            (36, 4),
            (40, 8),
            (48, 8),
            (56, 8),
            (64, 8),
            (72, 8),
            (80, 8),
        ] {
            b[off..off + size].reverse();
        }
    });
    expect_kind(&path, ErrorKind::WrongEndianness);
}

#[test]
fn unknown_format_version() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    patch(&path, |b| {
        b[20..24].copy_from_slice(&3u32.to_ne_bytes());
        reseal_header(b);
    });
    expect_kind(&path, ErrorKind::UnsupportedFormatVersion);
}

#[test]
fn data_offset_other_than_4096_is_corrupt() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    patch(&path, |b| {
        b[40..48].copy_from_slice(&8192u64.to_ne_bytes());
        reseal_header(b);
    });
    expect_kind(&path, ErrorKind::Corrupt);
}

#[test]
fn every_header_byte_flipped() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    let good = common::read(&path);
    for i in 0..SUM_AT + 8 {
        for bit in [0x01u8, 0x80] {
            let mut b = good.clone();
            b[i] ^= bit;
            std::fs::write(&path, &b).unwrap();
            let want = match (i, bit) {
                (0..=7, _) => ErrorKind::BadMagic,
                (20..=23, _) => ErrorKind::UnsupportedFormatVersion,
                // Kind 0 becomes 1: a commit group's file, not a vector's.
                (32, 0x01) => ErrorKind::WrongFileKind,
                _ => ErrorKind::Corrupt,
            };
            expect_kind(&path, want);
        }
    }
}

#[test]
fn newest_slot_damaged_falls_back_to_the_older_commit() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    // Slot A (offset 512) holds the newest commit (seq 3, len 10); B holds seq 2, len 5.
    for off in [512, 512 + 8, 512 + 16, 512 + 23] {
        let p2 = common::path_in(&dir, "copy.bin");
        std::fs::copy(&path, &p2).unwrap();
        patch(&p2, |b| b[off] ^= 0x20);
        let v = opts().open_read_only::<u64>(&p2).unwrap();
        assert_eq!(&v[..], &[0, 1, 2, 3, 4], "damage at byte {off}");
        drop(v);
        // A writer continues from the older commit and overwrites the damaged slot.
        let mut v = opts().open::<u64>(&p2).unwrap();
        assert_eq!(v.len(), 5);
        v.push(99).unwrap();
        v.close().unwrap();
        assert_eq!(
            &opts().open_read_only::<u64>(&p2).unwrap()[..],
            &[0, 1, 2, 3, 4, 99]
        );
    }
}

#[test]
fn both_slots_damaged_is_corrupt() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    patch(&path, |b| {
        b[512 + 9] ^= 1;
        b[1024 + 17] ^= 1;
    });
    expect_kind(&path, ErrorKind::Corrupt);
}

#[test]
fn committed_length_beyond_the_file_is_corrupt() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    // Cut the file inside the committed data: the winning length no longer fits.
    patch(&path, |b| b.truncate(4096 + 8 * 9));
    expect_kind(&path, ErrorKind::Corrupt);
}

#[test]
fn truncation_at_many_lengths() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 1000);
    let good = common::read(&path);
    let committed_end = 4096 + 1000 * 8;
    let mut lengths: Vec<usize> = (0..80)
        .chain([100, 511, 512, 530, 536, 1000, 1048, 2048, 4095, 4096, 4097])
        .collect();
    lengths.extend((4100..committed_end + 100).step_by(997));
    lengths.extend([
        committed_end - 1,
        committed_end,
        committed_end + 1,
        good.len(),
    ]);
    for len in lengths {
        if len > good.len() {
            continue;
        }
        std::fs::write(&path, &good[..len]).unwrap();
        let r = opts().open_read_only::<u64>(&path).map(|v| v.to_vec());
        match len {
            0 => assert_eq!(r.unwrap(), Vec::<u64>::new(), "empty file opens as new"),
            1..=7 => assert_eq!(r.unwrap_err().kind(), ErrorKind::Corrupt, "len {len}"),
            l if l < committed_end => {
                assert_eq!(r.unwrap_err().kind(), ErrorKind::Corrupt, "len {len}")
            }
            _ => assert_eq!(r.unwrap(), (0..1000).collect::<Vec<_>>(), "len {len}"),
        }
        if len > 0 {
            let rw = opts().open::<u64>(&path).map(|v| v.len());
            if len < committed_end {
                assert_eq!(
                    rw.unwrap_err().kind(),
                    ErrorKind::Corrupt,
                    "read-write, len {len}"
                );
                assert_eq!(
                    common::read(&path),
                    &good[..len],
                    "failed open changed the file"
                );
            } else {
                assert_eq!(rw.unwrap(), 1000);
            }
        }
    }
}

#[test]
fn a_foreign_file_is_bad_magic() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "foreign.txt");
    std::fs::write(&path, b"hello, this is not a vector file at all").unwrap();
    expect_kind(&path, ErrorKind::BadMagic);
    std::fs::write(&path, vec![0xAB; 10_000]).unwrap();
    expect_kind(&path, ErrorKind::BadMagic);
    std::fs::write(&path, b"PERSISTV").unwrap();
    expect_kind(&path, ErrorKind::Corrupt);
}

#[test]
fn a_directory_is_not_a_regular_file() {
    let dir = common::tmpdir();
    expect_kind(dir.path(), ErrorKind::NotARegularFile);
}

#[test]
fn dev_null_is_not_a_regular_file() {
    expect_kind(Path::new("/dev/null"), ErrorKind::NotARegularFile);
}

#[test]
fn a_fifo_is_not_a_regular_file_and_does_not_block() {
    let dir = common::tmpdir();
    let fifo = common::path_in(&dir, "fifo");
    let st = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(st.success());
    let (tx, rx) = std::sync::mpsc::channel();
    let f2 = fifo.clone();
    std::thread::spawn(move || {
        let a = MmapedVec::<u64>::open(&f2).map(|_| ()).unwrap_err().kind();
        let b = MmapedSlice::<u64>::open(&f2)
            .map(|_| ())
            .unwrap_err()
            .kind();
        tx.send((a, b)).unwrap();
    });
    let got = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .expect("opening a FIFO blocked");
    assert_eq!(
        got,
        (ErrorKind::NotARegularFile, ErrorKind::NotARegularFile)
    );
}

#[test]
fn missing_file_without_create_is_not_found() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "missing.bin");
    let e = OpenOptions::new()
        .create(false)
        .open::<u64>(&path)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(e.raw_os_error(), Some(2));
    let e = MmapedSlice::<u64>::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "read-only never creates");
    assert!(!path.exists());
}

#[test]
fn create_new_on_an_existing_file_is_already_exists() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    let before = common::read(&path);
    let e = opts().create_new(true).open::<u64>(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(common::read(&path), before);
    // And it does create a missing one.
    let fresh = common::path_in(&dir, "fresh.bin");
    opts().create_new(true).open::<u64>(&fresh).unwrap();
}

#[test]
fn path_with_a_nul_byte_is_invalid_path() {
    let e = MmapedVec::<u64>::open("bad\0path").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidPath);
}

#[test]
fn errors_convert_to_io_errors() {
    let dir = common::tmpdir();
    let path = committed_file(&dir, 10);
    let e: std::io::Error = opts().open::<u32>(&path).unwrap_err().into();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
    let e: std::io::Error = MmapedSlice::<u64>::open(common::path_in(&dir, "nope"))
        .unwrap_err()
        .into();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(e.raw_os_error(), Some(2));
}

/// `PermissionDenied` from a real file: as root, permission bits do not stop us, so this uses
/// a read-only tmpfs mount (`EROFS`); without root it uses a file of mode 000.
#[test]
fn no_permission_is_permission_denied() {
    let dir = common::tmpdir();
    let is_root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if is_root {
        let mnt = common::path_in(&dir, "ro");
        std::fs::create_dir(&mnt).unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("no_permission_is_permission_denied: skipped: cannot mount a tmpfs here");
            return;
        }
        let e = MmapedVec::<u64>::open(mnt.join("v.bin")).unwrap_err();
        let _ = std::process::Command::new("umount").arg(&mnt).status();
        assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    } else {
        use std::os::unix::fs::PermissionsExt;
        let path = committed_file(&dir, 10);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
        expect_kind(&path, ErrorKind::PermissionDenied);
    }
}
