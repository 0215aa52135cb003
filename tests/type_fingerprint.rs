//! The element type fingerprint (issue 22, item 1): a file records what its element type is,
//! beyond its size and alignment, and opening it as another type of the same size is
//! `ErrorKind::TypeMismatch`, whose message names both; files without one (version 1, or
//! types that name none) open as before; `inspect` shows it; `migrate` is the way from one
//! type to another; conversion checks it too.

mod common;

use std::path::Path;

use common::format::{vector_file, vector_file_v2, Fixed, Order};
use persistence::{inspect, pod, ErrorKind, Fingerprint, MmapedVec, OpenOptions, Pod};

pod! {
    /// A reading: a sensor id and a value.
    #[derive(Debug, PartialEq)]
    pub struct Reading { pub sensor: u32, pub value: f32 }
    /// The same fields, swapped.
    #[derive(Debug, PartialEq)]
    pub struct Swapped { pub value: f32, pub sensor: u32 }
    /// Two fields of one type.
    #[derive(Debug)]
    pub struct Ab { pub a: u32, pub b: u32 }
    /// The same names in the other order.
    #[derive(Debug)]
    pub struct Ba { pub b: u32, pub a: u32 }
}

/// A type with a hand-written `Pod` impl that names no fingerprint.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
struct Plain(u32);
// SAFETY: a `repr(transparent)` u32.
unsafe impl Pod for Plain {}

/// One that names one.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(transparent)]
struct Meters(f32);
// SAFETY: a `repr(transparent)` f32.
unsafe impl Pod for Meters {
    const FINGERPRINT: Fingerprint = Fingerprint::named("Meters (f32)");
}

fn write<T: Pod>(path: &Path, xs: &[T]) {
    let mut v = MmapedVec::<T>::open(path).unwrap();
    v.extend_from_slice(xs).unwrap();
    v.close().unwrap();
}

/// Every way of opening `path` as `T` fails with `TypeMismatch`, and the file is unchanged.
fn refused_as<T: Pod + std::fmt::Debug>(path: &Path) -> persistence::Error {
    let before = common::read(path);
    let e = MmapedVec::<T>::open(path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TypeMismatch, "open: {e}");
    let r = OpenOptions::new().open_read_only::<T>(path).unwrap_err();
    assert_eq!(r.kind(), ErrorKind::TypeMismatch, "open_read_only: {r}");
    let l = OpenOptions::new().open_live::<T>(path).unwrap_err();
    assert_eq!(l.kind(), ErrorKind::TypeMismatch, "open_live: {l}");
    assert_eq!(
        common::read(path),
        before,
        "a refused open changed the file"
    );
    e
}

#[test]
fn an_f32_file_is_not_a_u32_or_i32_file_and_the_message_names_both() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "f32.bin");
    write::<f32>(&p, &[1.5, 2.5]);
    let e = refused_as::<u32>(&p);
    let msg = e.to_string();
    assert!(
        msg.contains("(u32) expected") && msg.contains("file has") && msg.contains("(f32)"),
        "{msg}"
    );
    refused_as::<i32>(&p);
    refused_as::<[i32; 1]>(&p);
    refused_as::<Meters>(&p);
    assert_eq!(&MmapedVec::<f32>::open(&p).unwrap()[..], &[1.5, 2.5]);
    // A type that names no fingerprint is checked by size and alignment only, as before.
    assert_eq!(MmapedVec::<Plain>::open(&p).unwrap().len(), 2);
}

#[test]
fn a_pod_struct_with_its_fields_swapped_or_renamed_is_another_type() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "readings.bin");
    write(
        &p,
        &[Reading {
            sensor: 7,
            value: 0.5,
        }],
    );
    refused_as::<Swapped>(&p);
    refused_as::<[u32; 2]>(&p);
    assert_eq!(MmapedVec::<Reading>::open(&p).unwrap()[0].sensor, 7);

    let q = common::path_in(&dir, "ab.bin");
    write(&q, &[Ab { a: 1, b: 2 }]);
    refused_as::<Ba>(&q);
    assert_eq!(MmapedVec::<Ab>::open(&q).unwrap()[0].b, 2);
}

/// Files without a fingerprint (format version 1, as every file written before it existed,
/// or written with a type that names none) open with any type of their size and alignment.
#[test]
fn files_without_a_fingerprint_open_as_before() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v1.bin");
    let data: Vec<u8> = [1.5f32, 2.5].iter().flat_map(|x| x.to_ne_bytes()).collect();
    std::fs::write(
        &p,
        vector_file(&Fixed::of::<f32>([0; 8], 0), Order::Native, 2, &data),
    )
    .unwrap();
    let info = inspect(&p).unwrap();
    assert_eq!(info.format_version, 1);
    assert_eq!(info.elem_fingerprint, Fingerprint::UNKNOWN);
    assert_eq!(MmapedVec::<u32>::open(&p).unwrap()[0], 1.5f32.to_bits());
    assert_eq!(&MmapedVec::<f32>::open(&p).unwrap()[..], &[1.5, 2.5]);
    // Committing to it keeps it version 1 (its header is never rewritten).
    let mut v = MmapedVec::<f32>::open(&p).unwrap();
    v.push(3.5).unwrap();
    v.close().unwrap();
    assert_eq!(inspect(&p).unwrap().format_version, 1);

    let q = common::path_in(&dir, "plain.bin");
    write(&q, &[Plain(7)]);
    assert_eq!(inspect(&q).unwrap().elem_fingerprint, Fingerprint::UNKNOWN);
    assert_eq!(MmapedVec::<f32>::open(&q).unwrap().len(), 1);
}

#[test]
fn inspect_shows_the_fingerprint() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "f64.bin");
    write::<f64>(&p, &[1.0]);
    let info = inspect(&p).unwrap();
    assert_eq!(info.format_version, 2);
    assert_eq!(info.elem_fingerprint, f64::FINGERPRINT);
    assert_eq!(info.elem_fingerprint.primitive_name(), Some("f64"));
    assert!(info.elem_fingerprint.to_string().ends_with(" (f64)"));
    let q = common::path_in(&dir, "readings.bin");
    write(
        &q,
        &[Reading {
            sensor: 1,
            value: 1.0,
        }],
    );
    let info = inspect(&q).unwrap();
    assert_eq!(info.elem_fingerprint, Reading::FINGERPRINT);
    assert_eq!(info.elem_fingerprint.primitive_name(), None);
}

/// `migrate` is the way from one type to another: the new file records the new type.
#[test]
fn migrate_moves_a_file_to_another_type() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "readings.bin");
    write(
        &p,
        &[Reading {
            sensor: 3,
            value: 0.25,
        }],
    );
    refused_as::<Swapped>(&p);
    let n = OpenOptions::new()
        .migrate(0, &p, &p, |r: &Reading| Swapped {
            value: r.value,
            sensor: r.sensor,
        })
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(inspect(&p).unwrap().elem_fingerprint, Swapped::FINGERPRINT);
    assert_eq!(MmapedVec::<Swapped>::open(&p).unwrap()[0].sensor, 3);
    refused_as::<Reading>(&p);
    // The source type is checked too.
    let e = OpenOptions::new()
        .migrate(0, &p, common::path_in(&dir, "x.bin"), |r: &Reading| *r)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TypeMismatch);
}

/// A version-2 file of the other byte order records its type too: `convert_foreign` checks
/// it, and the converted file keeps it.
#[test]
fn conversion_checks_and_keeps_the_fingerprint() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "foreign.bin");
    let data: Vec<u8> = (0..3u32)
        .flat_map(|i| (i as f32).to_bits().swap_bytes().to_ne_bytes())
        .collect();
    let f = Fixed::of::<f32>([0; 8], 0);
    std::fs::write(
        &p,
        vector_file_v2(&f, f32::FINGERPRINT.to_u64(), Order::Swapped, 3, &data),
    )
    .unwrap();
    let info = inspect(&p).unwrap();
    assert!(!info.native_byte_order);
    assert_eq!(info.elem_fingerprint, f32::FINGERPRINT);
    let to = common::path_in(&dir, "native.bin");
    let e = OpenOptions::new()
        .convert_foreign::<u32>(&p, &to)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TypeMismatch, "{e}");
    assert_eq!(
        OpenOptions::new().convert_foreign::<f32>(&p, &to).unwrap(),
        3
    );
    assert_eq!(&MmapedVec::<f32>::open(&to).unwrap()[..], &[0.0, 1.0, 2.0]);
    assert_eq!(inspect(&to).unwrap().elem_fingerprint, f32::FINGERPRINT);
}

/// Errors a person can read: the application magic as text and bytes, checksums in hex.
#[test]
fn mismatches_are_shown_as_a_person_compares_them() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    OpenOptions::new()
        .magic(*b"TRADES\0\0")
        .open::<u64>(&p)
        .unwrap()
        .close()
        .unwrap();
    let e = OpenOptions::new()
        .magic(*b"PRICES\0\0")
        .open::<u64>(&p)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MagicMismatch);
    let msg = e.to_string();
    assert!(
        msg.contains(r#""PRICES\x00\x00" (50 52 49 43 45 53 00 00) expected"#)
            && msg.contains(r#"file has "TRADES\x00\x00" (54 52 41 44 45 53 00 00)"#),
        "{msg}"
    );
    // A damaged header checksum: both in hex.
    let mut b = common::read(&p);
    b[common::format::V2_AT_HEADER_SUM] ^= 1;
    std::fs::write(&p, &b).unwrap();
    let msg = MmapedVec::<u64>::open(&p).unwrap_err().to_string();
    assert!(
        msg.contains("header checksum 0x") && msg.contains("file has 0x"),
        "{msg}"
    );
}
