//! Contents and length survive `close`, `Drop` and reopen, for primitives, arrays and `pod!`
//! structs, across many growth steps (millions of elements).

mod common;

use common::Rec;
use persistence::{MmapedSlice, MmapedVec, OpenOptions, Pod};
use std::fmt::Debug;

/// Appends `n` elements made by `make` in several sessions, each ending in `close` or `Drop`,
/// and checks everything after every reopen, read-write and read-only.
fn survive<T: Pod + PartialEq + Debug>(n: usize, make: impl Fn(usize) -> T) {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let sessions = 5;
    let mut grown = 0;
    for s in 0..sessions {
        let mut v = MmapedVec::<T>::open(&path).unwrap();
        assert_eq!(v.len(), s * n / sessions, "length after reopen {s}");
        for (i, x) in v.iter().enumerate() {
            assert_eq!(*x, make(i), "element {i} after reopen {s}");
        }
        let mut cap = v.capacity();
        for i in s * n / sessions..(s + 1) * n / sessions {
            v.push(make(i)).unwrap();
            if v.capacity() != cap {
                grown += 1;
                cap = v.capacity();
            }
        }
        if s % 2 == 0 {
            v.close().unwrap();
        } else {
            drop(v);
        }
    }
    assert!(
        grown >= 3,
        "only {grown} growth steps: the test must cross several"
    );
    let v = MmapedSlice::<T>::open(&path).unwrap();
    assert_eq!(v.len(), n);
    for (i, x) in v.iter().enumerate() {
        assert_eq!(*x, make(i), "element {i} read-only");
    }
}

#[test]
fn u64_millions_of_elements() {
    survive(3_000_000, |i| {
        (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    });
}

#[test]
fn u8_elements() {
    survive(1_000_000, |i| (i % 251) as u8);
}

#[test]
fn f32_and_i16_elements() {
    survive(200_000, |i| i as f32 * 0.25);
    survive(200_000, |i| (i as i16).wrapping_neg());
}

#[test]
fn array_elements() {
    survive(300_000, |i| [i as u32, !(i as u32), 7]);
}

#[test]
fn pod_struct_elements() {
    survive(500_000, |i| Rec::new(i as u64));
}

persistence::pod! {
    /// Page-aligned: the largest alignment the format allows.
    #[derive(Debug, PartialEq)]
    struct Aligned {
        bytes: [u8; 4096],
    }
}

#[test]
fn a_large_element_type() {
    // 4 KiB elements: every push crosses a page.
    survive(2_000, |i| Aligned {
        bytes: [(i % 256) as u8; 4096],
    });
}

#[test]
fn in_place_changes_survive() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u32>::open(&path).unwrap();
    v.extend_from_slice(&(0..100_000).collect::<Vec<_>>())
        .unwrap();
    v.sync().unwrap();
    for x in v.iter_mut().step_by(7) {
        *x = u32::MAX - *x;
    }
    v.close().unwrap();
    let v = MmapedVec::<u32>::open(&path).unwrap();
    for (i, &x) in v.iter().enumerate() {
        let want = if i % 7 == 0 {
            u32::MAX - i as u32
        } else {
            i as u32
        };
        assert_eq!(x, want);
    }
}

#[test]
fn capacity_option_reserves_and_survives() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let v = OpenOptions::new()
        .capacity(100_000)
        .open::<u64>(&path)
        .unwrap();
    assert!(v.capacity() >= 100_000);
    drop(v);
    let len = std::fs::metadata(&path).unwrap().len();
    // Exactly what was asked for, in whole pages (4 KiB to 64 KiB), not a growth step.
    assert!(
        (4096 + 800_000..=4096 + 800_000 + 65536).contains(&len),
        "file of {len} bytes"
    );
    // Capacity is derived from the file size on reopen.
    let v = MmapedVec::<u64>::open(&path).unwrap();
    assert_eq!(v.capacity() as u64, (len - 4096) / 8);
    assert!(v.is_empty());
}

#[test]
fn empty_file_opens_as_empty_vector_and_read_only_does_not_write_it() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "empty.bin");
    std::fs::write(&path, b"").unwrap();
    let s = MmapedSlice::<u64>::open(&path).unwrap();
    assert!(s.is_empty());
    assert_eq!(
        &s[..],
        &[] as &[u64],
        "the empty slice of an unmapped file must be well-formed"
    );
    drop(s);
    let s = MmapedSlice::<Aligned>::open(&path).unwrap();
    assert_eq!(s.iter().count(), 0);
    assert_eq!(s.as_ptr() as usize % 4096, 0);
    drop(s);
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        0,
        "read-only open wrote the file"
    );
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.push(1).unwrap();
    v.close().unwrap();
    assert_eq!(&MmapedSlice::<u64>::open(&path).unwrap()[..], &[1]);
}

#[test]
fn str_and_cstr_paths_work() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let s = path.to_str().unwrap();
    let mut v = MmapedVec::<u8>::open(s).unwrap();
    v.push(3).unwrap();
    v.close().unwrap();
    let c = std::ffi::CString::new(s).unwrap();
    let v = MmapedVec::<u8>::open(c.as_c_str()).unwrap();
    assert_eq!(v, [3]);
}
