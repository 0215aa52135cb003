//! A live reader reads every element of 1, 2, 4 or 8 bytes whole (8 on 64-bit targets), old
//! or new, while the writer stores it in place, whatever the element type's alignment
//! (issue 17, item 6): a `[u8; 8]` (alignment 1) and a `pod!` struct of two `u32`s
//! (alignment 4) are loaded with one 8-byte load, as a `u64` is, because element `i` sits at
//! `4096 + 8 * i` in a page-aligned mapping.
//!
//! A writer thread stores two patterns in turn into every element, with one aligned 8-byte
//! store each, while the reader (`get`, `iter`, `iter_from`, `copy_to`, the last three in
//! bulk, 16 bytes at a time, with an 8-byte head where the source is not 16-byte aligned:
//! `src/copy.rs`) checks that every element it
//! reads is one pattern or the other, never a mix of their bytes.

#![cfg(target_pointer_width = "64")]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use persistence::{pod, MmapedVec, OpenOptions, Pod};

pod! {
    /// Two `u32`s: 8 bytes, aligned to 4.
    #[derive(Debug, PartialEq)]
    struct Pair { a: u32, b: u32 }
}

const N: usize = 512;
const OLD: u64 = 0x1111_1111_1111_1111;
const NEW: u64 = 0xeeee_eeee_eeee_eeee;

/// The element's 8 bytes as a `u64`.
fn bits<T: Pod>(x: T) -> u64 {
    assert_eq!(std::mem::size_of::<T>(), 8);
    // SAFETY: `T` is `Pod` and 8 bytes long: every byte is initialised.
    unsafe { std::mem::transmute_copy(&x) }
}

fn whole_under_stores<T: Pod + std::fmt::Debug>(name: &str) {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut w = MmapedVec::<T>::open(&p).unwrap();
    let zero: T = {
        // SAFETY: `T` is `Pod`: all-zero bytes are a valid `T`.
        unsafe { std::mem::zeroed() }
    };
    w.extend_from_slice(&[zero; N]).unwrap();
    w.sync().unwrap();
    let mut r = OpenOptions::new().open_live::<T>(&p).unwrap();
    r.refresh().unwrap();
    assert_eq!(r.len(), N);

    let stop = Arc::new(AtomicBool::new(false));
    let base = w.as_mut_ptr() as usize;
    let writer = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let mut stores = 0u64;
            while !stop.load(Ordering::Relaxed) {
                for pattern in [OLD, NEW] {
                    for i in 0..N {
                        // SAFETY: the vector (kept alive by the test until this thread is
                        // joined, and never grown meanwhile) has `N` elements of 8 bytes at
                        // `base`, 8-aligned (element data starts on a page).
                        unsafe { std::ptr::write_volatile((base as *mut u64).add(i), pattern) };
                    }
                    stores += N as u64;
                }
            }
            stores
        })
    };
    let mut reads = 0u64;
    let mut torn = Vec::new();
    let mut check = |x: T| {
        let b = bits(x);
        if b != OLD && b != NEW && b != 0 && torn.len() < 5 {
            torn.push(b);
        }
    };
    let mut buf = vec![zero; N];
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(300) {
        for i in 0..N {
            check(r.get(i).unwrap());
        }
        r.iter().for_each(&mut check);
        assert_eq!(r.copy_to(0, &mut buf), N);
        buf.iter().for_each(|&x| check(x));
        // From an element that is not 16-byte aligned: the bulk copy starts after a head.
        assert_eq!(r.copy_to(1, &mut buf), N - 1);
        buf[..N - 1].iter().for_each(|&x| check(x));
        r.iter_from(3).for_each(&mut check);
        reads += 5 * N as u64;
    }
    stop.store(true, Ordering::Relaxed);
    let stores = writer.join().unwrap();
    drop(w);
    assert!(stores > 0 && reads > 0);
    assert!(
        torn.is_empty(),
        "{name}: {} of {reads} reads (while {stores} stores) mixed the two patterns: {:x?}",
        torn.len(),
        torn
    );
}

#[test]
fn u64_elements_are_read_whole() {
    whole_under_stores::<u64>("u64");
}

#[test]
fn byte_array_elements_are_read_whole() {
    whole_under_stores::<[u8; 8]>("[u8; 8]");
}

#[test]
fn two_u32_struct_elements_are_read_whole() {
    whole_under_stores::<Pair>("pod! { a: u32, b: u32 }");
}
