//! The `Vec` API: every method checked against `std::vec::Vec`, including where `Vec` panics,
//! and a model test of thousands of random operations with syncs, closes, drops and reopens.

// The oracle is today's `Vec` (`pop_if` is from Rust 1.86); the MSRV stage builds the
// library alone.
#![allow(clippy::incompatible_msrv)]

mod common;

use std::path::PathBuf;

use persistence::{ErrorKind, MmapedSlice, MmapedVec, OpenOptions};

/// Thousands of random operations, each applied to an `MmapedVec` and to a `Vec`; after each
/// step the two must be equal. `close`, `Drop` (which commits) and reopens, read-write and
/// read-only, check that the whole state survives each of them.
#[test]
fn model_random_operations() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "model.bin");
    let mut rng = common::rng("model_random_operations");
    let steps = if cfg!(miri) { 300 } else { 6000 };
    let mut model: Vec<u32> = Vec::new();
    let mut v = MmapedVec::<u32>::open(&path).unwrap();
    for step in 0..steps {
        let op = rng.u32(0..130);
        match op {
            0..=29 => {
                let x = rng.u32(..);
                v.push(x).unwrap();
                model.push(x);
            }
            30..=34 => {
                // Up to 80 KB: both the copy into the mapping and the `pwrite` path.
                let n = rng.usize(0..if cfg!(miri) { 100 } else { 20_000 });
                let chunk: Vec<u32> = (0..n).map(|_| rng.u32(..)).collect();
                v.extend_from_slice(&chunk).unwrap();
                model.extend_from_slice(&chunk);
            }
            35..=41 => {
                let i = rng.usize(0..=model.len());
                let x = rng.u32(..);
                v.insert(i, x).unwrap();
                model.insert(i, x);
            }
            42..=47 if !model.is_empty() => {
                let i = rng.usize(0..model.len());
                assert_eq!(v.remove(i), model.remove(i));
            }
            48..=51 if !model.is_empty() => {
                let i = rng.usize(0..model.len());
                assert_eq!(v.swap_remove(i), model.swap_remove(i));
            }
            52..=56 => assert_eq!(v.pop(), model.pop()),
            57..=59 => {
                let n = rng.usize(0..=model.len() + 10);
                v.truncate(n);
                model.truncate(n);
            }
            60 => {
                v.clear();
                model.clear();
            }
            61..=63 => {
                let n = rng.usize(0..model.len() + 2000);
                let x = rng.u32(..);
                v.resize(n, x).unwrap();
                model.resize(n, x);
            }
            64..=66 => {
                let m = rng.u32(2..7);
                v.retain(|x| x % m != 0);
                model.retain(|x| x % m != 0);
            }
            67..=72 if !model.is_empty() => {
                let i = rng.usize(0..model.len());
                let x = rng.u32(..);
                v[i] = x;
                model[i] = x;
            }
            97..=99 if !model.is_empty() => {
                // `set` and `set_from_slice`: the `pwrite` path for elements in place.
                let (a, b) = random_range(&mut rng, model.len());
                let src: Vec<u32> = (a..b).map(|_| rng.u32(..)).collect();
                if rng.bool() && a < model.len() {
                    v.set(a, src.first().copied().unwrap_or(7)).unwrap();
                    model[a] = src.first().copied().unwrap_or(7);
                } else {
                    v.set_from_slice(a, &src).unwrap();
                    model[a..b].copy_from_slice(&src);
                }
            }
            73..=74 => {
                let n = rng.usize(0..5000);
                v.reserve(n).unwrap();
                assert!(v.capacity() >= v.len() + n);
            }
            75..=76 => {
                v.shrink_to_fit().unwrap();
                assert!(v.capacity() >= v.len());
            }
            77..=78 => {
                v.as_mut_slice().reverse();
                model.reverse();
            }
            79..=86 => v.sync().unwrap(),
            87..=90 => {
                v.close().unwrap();
                v = MmapedVec::open(&path).unwrap();
            }
            91..=94 => {
                drop(v);
                v = MmapedVec::open(&path).unwrap();
            }
            95..=96 => {
                v.sync().unwrap();
                drop(v);
                let ro = OpenOptions::new().open_read_only::<u32>(&path).unwrap();
                assert_eq!(&ro[..], &model[..], "read-only view at step {step}");
                drop(ro);
                v = MmapedVec::open(&path).unwrap();
            }
            100..=102 => {
                let (a, b) = random_range(&mut rng, model.len());
                let how = rng.u8(0..3);
                let mut d = v.drain(a..b);
                let mut md = model.drain(a..b);
                match how {
                    // Consumed whole, from both ends.
                    0 => loop {
                        let (x, y) = if rng.bool() {
                            (d.next(), md.next())
                        } else {
                            (d.next_back(), md.next_back())
                        };
                        assert_eq!(x, y, "drain at step {step}");
                        if x.is_none() {
                            break;
                        }
                    },
                    // Partly consumed, then dropped: the whole range goes.
                    1 => {
                        let k = rng.usize(0..=b - a);
                        for _ in 0..k {
                            assert_eq!(d.next(), md.next());
                        }
                        assert_eq!(d.as_slice(), md.as_slice());
                    }
                    // Dropped at once.
                    _ => {}
                }
                drop((d, md));
            }
            103..=104 => {
                v.dedup();
                model.dedup();
            }
            105..=106 => {
                let m = rng.u32(1..1000);
                v.dedup_by_key(|x| *x / m);
                model.dedup_by_key(|x| *x / m);
            }
            107 => {
                // Merges runs into their first element: changes the elements it keeps.
                let m = rng.u32(1..1000);
                let merge = |a: &mut u32, b: &mut u32| {
                    let same = *a / m == *b / m;
                    if same {
                        *b = b.wrapping_add(*a);
                    } else {
                        *a ^= 1;
                    }
                    same
                };
                v.dedup_by(merge);
                model.dedup_by(merge);
            }
            108..=110 => {
                let m = rng.u32(2..7);
                let f = |x: &mut u32| {
                    *x = x.wrapping_mul(3);
                    *x % m != 0
                };
                v.retain_mut(f);
                model.retain_mut(f);
            }
            111..=112 => {
                let m = rng.u32(2..5);
                let f = |x: &mut u32| {
                    *x = x.wrapping_add(1);
                    *x % m == 0
                };
                assert_eq!(v.pop_if(f), model.pop_if(f), "pop_if at step {step}");
            }
            113..=115 => {
                let (a, b) = random_range(&mut rng, model.len());
                v.extend_from_within(a..b).unwrap();
                model.extend_from_within(a..b);
            }
            116..=117 => {
                let n = rng.usize(0..model.len() + 2000);
                let mut i = rng.u32(..);
                let mut j = i;
                v.resize_with(n, || {
                    i = i.wrapping_mul(7).wrapping_add(1);
                    i
                })
                .unwrap();
                model.resize_with(n, || {
                    j = j.wrapping_mul(7).wrapping_add(1);
                    j
                });
            }
            118 => {
                let n = rng.usize(0..5000);
                if rng.bool() {
                    v.try_reserve(n).unwrap();
                } else {
                    v.try_reserve_exact(n).unwrap();
                }
                assert!(v.capacity() >= v.len() + n);
            }
            119 => {
                let n = rng.usize(0..model.len() + 5000);
                let before = v.capacity();
                v.shrink_to(n).unwrap();
                assert!(v.capacity() >= v.len().max(v.committed_len()));
                assert!(v.capacity() <= before);
                assert!(v.capacity() >= n.min(before));
            }
            120..=123 => {
                // An iterator whose lower bound (0) says nothing: grows element by element.
                let n = rng.usize(0..if cfg!(miri) { 100 } else { 20_000 });
                let start = rng.u32(..);
                let it = (0..n as u32)
                    .map(|i| start.wrapping_add(i))
                    .filter(|x| x % 5 != 0);
                v.try_extend(it.clone()).unwrap();
                model.extend(it);
            }
            124..=125 => {
                let n = rng.usize(0..300);
                v.reserve(n).unwrap();
                let start = rng.u32(..);
                for (i, slot) in v.spare_capacity_mut()[..n].iter_mut().enumerate() {
                    slot.write(start ^ i as u32);
                }
                // SAFETY: `n` elements reserved and written.
                unsafe { v.set_len(v.len() + n) };
                model.extend((0..n).map(|i| start ^ i as u32));
            }
            126 if !model.is_empty() => {
                // `set_len` down then back up: the elements are still there.
                let len = model.len();
                let k = rng.usize(0..len);
                // SAFETY: both lengths are at most the capacity.
                unsafe {
                    v.set_len(k);
                    v.set_len(len);
                }
            }
            127..=128 if !model.is_empty() => {
                use std::borrow::BorrowMut;
                let i = rng.usize(0..model.len());
                let x = rng.u32(..);
                let s: &mut [u32] = v.borrow_mut();
                s[i] = x;
                model[i] = x;
            }
            _ => {
                assert_eq!(v.first(), model.first());
                assert_eq!(v.last(), model.last());
                assert!(v == model);
                assert_eq!(v.cmp(&v), std::cmp::Ordering::Equal);
            }
        }
        assert_eq!(v.len(), model.len(), "len at step {step}, op {op}");
        assert!(v.capacity() >= v.len());
        assert_eq!(v.is_empty(), model.is_empty());
        if step % 16 == 0 || model.len() < 64 {
            assert_eq!(&v[..], &model[..], "contents at step {step}, op {op}");
        }
    }
    assert_eq!(&v[..], &model[..]);
    v.close().unwrap();
    let v = MmapedVec::<u32>::open(&path).unwrap();
    assert_eq!(&v[..], &model[..]);
}

/// `native` natively, `miri` under Miri, which interprets every instruction.
fn size(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}

/// A random range within `0..len`, empty ones included.
fn random_range(rng: &mut fastrand::Rng, len: usize) -> (usize, usize) {
    let a = rng.usize(0..=len);
    let b = rng.usize(a..=len);
    (a, b)
}

fn open_u64() -> (tempfile::TempDir, MmapedVec<u64>) {
    let dir = common::tmpdir();
    let v = MmapedVec::<u64>::open(common::path_in(&dir, "v.bin")).unwrap();
    (dir, v)
}

#[test]
fn new_vector_is_empty() {
    let (_d, v) = open_u64();
    assert!(v.is_empty());
    assert_eq!(v.len(), 0);
    assert_eq!(&v[..], &[] as &[u64]);
    assert_eq!(v.committed_len(), 0);
}

#[test]
fn push_pop_follow_vec() {
    let (_d, mut v) = open_u64();
    assert_eq!(v.pop(), None);
    for i in 0..10 {
        v.push(i).unwrap();
    }
    assert_eq!(v.pop(), Some(9));
    assert_eq!(v.len(), 9);
    assert_eq!(v, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn insert_remove_swap_remove_follow_vec() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&[1, 2, 3, 4]).unwrap();
    v.insert(0, 0).unwrap();
    v.insert(5, 5).unwrap();
    v.insert(2, 9).unwrap();
    assert_eq!(v, [0, 1, 9, 2, 3, 4, 5]);
    assert_eq!(v.remove(2), 9);
    assert_eq!(v.swap_remove(0), 0);
    assert_eq!(v, [5, 1, 2, 3, 4]);
    assert_eq!(v.swap_remove(4), 4);
    assert_eq!(v, [5, 1, 2, 3]);
}

#[test]
#[should_panic(expected = "insertion index (is 3) should be <= len (is 2)")]
fn insert_past_end_panics_like_vec() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&[1, 2]).unwrap();
    let _ = v.insert(3, 0);
}

#[test]
#[should_panic(expected = "removal index (is 99) should be < len (is 2)")]
fn remove_past_end_panics_like_vec() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&[1, 2]).unwrap();
    v.remove(99);
}

#[test]
#[should_panic(expected = "swap_remove index (is 2) should be < len (is 2)")]
fn swap_remove_past_end_panics_like_vec() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&[1, 2]).unwrap();
    v.swap_remove(2);
}

#[test]
#[should_panic(expected = "index out of bounds")]
fn index_past_end_panics_like_vec() {
    let (_d, mut v) = open_u64();
    v.push(1).unwrap();
    let _ = v[1];
}

#[test]
#[should_panic(expected = "index out of bounds: the len is 2 but the index is 2")]
fn set_past_end_panics_like_indexing() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&[1, 2]).unwrap();
    let _ = v.set(2, 0);
}

#[test]
#[should_panic(expected = "range end index 3 out of range for slice of length 2")]
fn set_from_slice_past_end_panics_like_copy_from_slice() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&[1, 2]).unwrap();
    let _ = v.set_from_slice(1, &[0, 0]);
}

/// `set` and `set_from_slice` leave what indexing and `copy_from_slice` leave, in memory
/// and after a reopen, for single elements, runs across pages and an empty run.
#[test]
fn set_and_set_from_slice_follow_indexing() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    let n = size(50_000, 3000);
    let mut m: Vec<u64> = (0..n as u64).collect();
    v.extend_from_slice(&m).unwrap();
    v.sync().unwrap();
    v.set(0, 100).unwrap();
    m[0] = 100;
    v.set(n - 1, 200).unwrap();
    m[n - 1] = 200;
    let run: Vec<u64> = (0..2000).map(|i| i * 3).collect();
    v.set_from_slice(511, &run).unwrap();
    m[511..2511].copy_from_slice(&run);
    v.set_from_slice(n, &[]).unwrap();
    assert_eq!(&v[..], &m[..]);
    v.sync().unwrap();
    drop(v);
    assert_eq!(&MmapedSlice::<u64>::open(&path).unwrap()[..], &m[..]);
}

#[test]
fn truncate_clear_resize_follow_vec() {
    let (_d, mut v) = open_u64();
    v.resize(5, 7).unwrap();
    assert_eq!(v, [7; 5]);
    v.truncate(10);
    assert_eq!(v.len(), 5);
    v.truncate(2);
    assert_eq!(v, [7, 7]);
    v.resize(4, 1).unwrap();
    assert_eq!(v, [7, 7, 1, 1]);
    v.resize(1, 0).unwrap();
    assert_eq!(v, [7]);
    let cap = v.capacity();
    v.clear();
    assert!(v.is_empty());
    assert_eq!(v.capacity(), cap, "clear keeps the capacity, like Vec");
}

#[test]
fn retain_keeps_order_and_visits_each_once() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&(0..100).collect::<Vec<_>>()).unwrap();
    let mut seen = Vec::new();
    v.retain(|&x| {
        seen.push(x);
        x % 3 == 0
    });
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
    assert_eq!(
        &v[..],
        &(0..100).filter(|x| x % 3 == 0).collect::<Vec<_>>()[..]
    );
}

#[test]
fn retain_with_panicking_predicate_leaves_a_consistent_vector() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&[1, 2, 3, 4, 5, 6]).unwrap();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        v.retain(|&x| {
            assert!(x != 4, "boom");
            x % 2 == 1
        })
    }));
    assert!(r.is_err());
    // 1 kept, 2 dropped, 3 kept; 4 (the panic) and the rest are kept unvisited.
    assert_eq!(v, [1, 3, 4, 5, 6]);
}

#[test]
fn reserve_and_shrink_to_fit() {
    let (_d, mut v) = open_u64();
    v.reserve(10_000).unwrap();
    assert!(v.capacity() >= 10_000);
    let file_before = v.file_len();
    v.extend_from_slice(&[1, 2, 3]).unwrap();
    v.shrink_to_fit().unwrap();
    assert!(v.capacity() >= 3);
    assert!(v.file_len() < file_before);
    assert_eq!(v.file_len(), 4096 + 3 * 8);
    v.push(4).unwrap();
    assert_eq!(v, [1, 2, 3, 4]);
    v.reserve_exact(100).unwrap();
    assert!(v.capacity() >= 104);
}

#[test]
fn shrink_to_fit_never_cuts_below_the_committed_length() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.extend_from_slice(&(0..1000).collect::<Vec<_>>()).unwrap();
    v.sync().unwrap();
    v.truncate(10);
    v.shrink_to_fit().unwrap();
    assert!(
        v.capacity() >= 1000,
        "committed 1000 elements must still fit"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096 + 1000 * 8);
    // After a commit of the shorter length, the file can shrink.
    v.sync().unwrap();
    v.shrink_to_fit().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 4096 + 10 * 8);
    drop(v);
    let v = MmapedVec::<u64>::open(&path).unwrap();
    assert_eq!(&v[..], &(0..10).collect::<Vec<_>>()[..]);
}

#[test]
#[cfg_attr(
    miri,
    ignore = "1M pushes take minutes interpreted; miri_typed covers growth"
)]
fn capacity_reports_growth_and_growth_is_amortised() {
    let (_d, mut v) = open_u64();
    let mut growths = 0;
    let mut cap = v.capacity();
    for i in 0..1_000_000u64 {
        v.push(i).unwrap();
        if v.capacity() != cap {
            growths += 1;
            assert!(
                v.capacity() >= cap * 2 || cap == 0,
                "capacity {cap} -> {}",
                v.capacity()
            );
            cap = v.capacity();
        }
    }
    assert!(growths <= 22, "{growths} growth steps for 1M pushes");
}

#[test]
fn debug_and_comparisons() {
    let (_d, mut v) = open_u64();
    v.extend_from_slice(&[1, 2]).unwrap();
    assert_eq!(format!("{v:?}"), "[1, 2]");
    assert!(v == [1, 2]);
    assert!(*v == [1, 2][..]);
    assert_eq!(v.as_slice(), &[1, 2]);
    assert_eq!(v.iter().sum::<u64>(), 3);
    v.as_mut_slice().sort_by(|a, b| b.cmp(a));
    assert_eq!(v, [2, 1]);
}

#[test]
fn huge_reservation_is_capacity_overflow_not_a_crash() {
    let (_d, mut v) = open_u64();
    v.push(1).unwrap();
    let e = v.reserve(usize::MAX).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CapacityOverflow);
    let e = v.reserve(usize::MAX / 8).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::CapacityOverflow);
    assert_eq!(v, [1]);
    v.push(2).unwrap();
    assert_eq!(v, [1, 2]);
}

#[test]
fn close_reports_and_drop_commits() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u16>::open(&path).unwrap();
    v.extend_from_slice(&[1, 2, 3]).unwrap();
    drop(v); // Drop commits.
    let mut v = MmapedVec::<u16>::open(&path).unwrap();
    assert_eq!(v, [1, 2, 3]);
    v.push(4).unwrap();
    v.close().unwrap();
    let v = MmapedVec::<u16>::open(&path).unwrap();
    assert_eq!(v, [1, 2, 3, 4]);
}

#[test]
fn vectors_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<MmapedVec<u64>>();
    check::<persistence::MmapedSlice<[u8; 3]>>();
    let (_d, mut v) = open_u64();
    v.push(1).unwrap();
    let v = std::thread::spawn(move || {
        v.push(2).unwrap();
        v
    })
    .join()
    .unwrap();
    assert_eq!(v, [1, 2]);
}

#[test]
fn bulk_extend_is_seen_through_the_mapping_and_survives() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.push(1).unwrap();
    // 1 MB in one call (the pwrite path), then small ones (the copy path), interleaved with
    // in-place changes through the mapping.
    let big: Vec<u64> = (0..131_072).map(|i| i * 3).collect();
    v.extend_from_slice(&big).unwrap();
    assert_eq!(&v[1..], &big[..], "the mapping shows what pwrite wrote");
    v[100] = 7;
    v.extend_from_slice(&[9, 9]).unwrap();
    v.extend_from_slice(&big).unwrap();
    assert_eq!(v.len(), 1 + 2 * big.len() + 2);
    v.sync().unwrap();
    v.truncate(10);
    v.extend_from_slice(&big).unwrap(); // rewrites committed positions with pwrite
    let want = v.to_vec();
    v.close().unwrap();
    assert_eq!(MmapedVec::<u64>::open(&path).unwrap().to_vec(), want);
    assert_eq!(want[0], 1);
    assert_eq!(&want[1..10], &big[..9]);
    assert_eq!(&want[10..], &big[..]);
}

#[test]
fn for_loops_over_references_work_like_vec() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u32>::open(&path).unwrap();
    v.extend_from_slice(&[1, 2, 3]).unwrap();
    v.sync().unwrap();
    for x in &mut v {
        *x *= 10;
    }
    let mut sum = 0;
    for x in &v {
        sum += x;
    }
    assert_eq!(sum, 60);
    v.as_mut()[0] = 5;
    // The changes made through the iterator are committed like any in-place change.
    v.close().unwrap();
    let s = persistence::MmapedSlice::<u32>::open(&path).unwrap();
    assert_eq!((&s).into_iter().copied().collect::<Vec<_>>(), [5, 20, 30]);
}

// ---- The rest of Vec's API (issue 11): each method against `Vec`, then after a reopen. ----

/// A vector of `u32` holding `init`, with its path, for tests that reopen.
fn open_with(dir: &tempfile::TempDir, name: &str, init: &[u32]) -> (PathBuf, MmapedVec<u32>) {
    let path = common::path_in(dir, name);
    let mut v = MmapedVec::<u32>::open(&path).unwrap();
    v.extend_from_slice(init).unwrap();
    (path, v)
}

/// Runs `op` on a vector and on a `Vec` holding the same random elements (with runs of
/// repeats, for `dedup`), committed or not, many times; the results and the contents must
/// agree, also after a `close` and a reopen.
fn against_vec<R: PartialEq + std::fmt::Debug>(
    name: &str,
    op: impl Fn(&mut MmapedVec<u32>, &mut fastrand::Rng) -> R,
    model_op: impl Fn(&mut Vec<u32>, &mut fastrand::Rng) -> R,
) {
    let dir = common::tmpdir();
    let mut rng = common::rng(name);
    for case in 0..size(60, 4) {
        let len = rng.usize(0..if case % 4 == 0 { size(3000, 600) } else { 40 });
        let mut model: Vec<u32> = Vec::with_capacity(len);
        while model.len() < len {
            let x = rng.u32(0..50);
            let run = rng.usize(1..4);
            model.extend(std::iter::repeat_n(x, run.min(len - model.len())));
        }
        let (path, mut v) = open_with(&dir, &format!("{name}{case}.bin"), &model);
        if rng.bool() {
            v.sync().unwrap(); // Committed elements change in place too.
        }
        let seed = rng.u64(..);
        let got = op(&mut v, &mut fastrand::Rng::with_seed(seed));
        let want = model_op(&mut model, &mut fastrand::Rng::with_seed(seed));
        assert_eq!(got, want, "{name}, case {case}: result");
        assert_eq!(v, model, "{name}, case {case}: contents");
        v.close().unwrap();
        let v = MmapedVec::<u32>::open(&path).unwrap();
        assert_eq!(v, model, "{name}, case {case}: contents after a reopen");
    }
}

#[test]
fn drain_follows_vec() {
    use std::ops::Bound::{self, Excluded, Included, Unbounded};
    against_vec(
        "drain",
        |v, r| {
            let (a, b) = random_range(r, v.len());
            v.drain(a..b).collect::<Vec<_>>()
        },
        |m, r| {
            let (a, b) = random_range(r, m.len());
            m.drain(a..b).collect::<Vec<_>>()
        },
    );
    // Every kind of range bound, consumed from the back, then partly consumed and dropped.
    type Bounds = (Bound<usize>, Bound<usize>);
    fn bounds<V: std::ops::DerefMut<Target = [u32]>>(
        v: &mut V,
        r: &mut fastrand::Rng,
        drain: fn(&mut V, Bounds, bool) -> Vec<u32>,
    ) -> Vec<u32> {
        let (a, b) = random_range(r, v.len());
        let mut out = Vec::new();
        if a < b {
            out.extend(drain(v, (Included(a), Included(b - 1)), true));
        }
        let n = v.len();
        out.extend(drain(v, (Unbounded, Excluded(n / 2)), false));
        if !v.is_empty() {
            out.extend(drain(v, (Excluded(0), Unbounded), false));
        }
        out
    }
    against_vec(
        "drain_bounds",
        |v, r| {
            bounds(v, r, |v, b, rev| {
                let d = v.drain(b);
                if rev {
                    d.rev().collect()
                } else {
                    d.take(3).collect()
                }
            })
        },
        |m, r| {
            bounds(m, r, |m, b, rev| {
                let d = m.drain(b);
                if rev {
                    d.rev().collect()
                } else {
                    d.take(3).collect()
                }
            })
        },
    );
}

#[test]
fn drain_size_hint_as_slice_and_debug() {
    let dir = common::tmpdir();
    let (_p, mut v) = open_with(&dir, "v.bin", &[1, 2, 3, 4, 5, 6]);
    let mut d = v.drain(1..5);
    assert_eq!(d.size_hint(), (4, Some(4)));
    assert_eq!(d.next(), Some(2));
    assert_eq!(d.next_back(), Some(5));
    assert_eq!(d.len(), 2);
    assert_eq!(d.as_slice(), &[3, 4]);
    assert_eq!(format!("{d:?}"), "Drain([3, 4])");
    assert_eq!(d.next(), Some(3));
    assert_eq!(d.next(), Some(4));
    assert_eq!(d.next(), None);
    assert_eq!(d.next_back(), None, "fused");
    drop(d);
    assert_eq!(v, [1, 6]);
}

/// `mem::forget` on a `Drain`: the vector is left as it was (no element lost, unlike
/// `Vec`, which keeps only the elements before the range), and stays usable.
#[test]
fn leaked_drain_leaves_the_vector_as_it_was() {
    let dir = common::tmpdir();
    let (path, mut v) = open_with(&dir, "v.bin", &[1, 2, 3, 4, 5]);
    v.sync().unwrap();
    let mut d = v.drain(1..4);
    assert_eq!(d.next(), Some(2));
    std::mem::forget(d);
    assert_eq!(v, [1, 2, 3, 4, 5]);
    v.push(6).unwrap();
    v.drain(..2);
    assert_eq!(v, [3, 4, 5, 6]);
    v.close().unwrap();
    assert_eq!(MmapedVec::<u32>::open(&path).unwrap(), [3, 4, 5, 6]);
}

/// A panic while the drained elements are consumed: unwinding drops the iterator, which
/// removes the whole range, as `Vec`'s does.
#[test]
fn drain_dropped_by_a_panic_removes_the_range() {
    let dir = common::tmpdir();
    let init: Vec<u32> = (0..20).collect();
    let (path, mut v) = open_with(&dir, "v.bin", &init);
    let mut model = init.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for x in v.drain(5..15) {
            assert!(x != 8, "boom");
        }
    }));
    assert!(r.is_err());
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        for x in model.drain(5..15) {
            assert!(x != 8, "boom");
        }
    }));
    assert!(r.is_err());
    assert_eq!(v, model);
    v.close().unwrap();
    assert_eq!(MmapedVec::<u32>::open(&path).unwrap(), model);
}

#[test]
fn dedup_dedup_by_key_and_dedup_by_follow_vec() {
    against_vec("dedup", |v, _| v.dedup(), |m, _| m.dedup());
    against_vec(
        "dedup_by_key",
        |v, _| v.dedup_by_key(|x| *x / 10),
        |m, _| m.dedup_by_key(|x| *x / 10),
    );
    // `key` gets `&mut T` and may change elements: the changes to kept elements stay.
    against_vec(
        "dedup_by_key_mut",
        |v, _| {
            v.dedup_by_key(|x| {
                *x += 1;
                *x / 10
            })
        },
        |m, _| {
            m.dedup_by_key(|x| {
                *x += 1;
                *x / 10
            })
        },
    );
    // Merges each run into its first element (changes `b`) and marks the others (`a`).
    let merge = |a: &mut u32, b: &mut u32| {
        let same = *a == *b % 1000;
        if same {
            *b += 1000;
        } else {
            *a += 100_000;
        }
        same
    };
    against_vec(
        "dedup_by",
        |v, _| v.dedup_by(merge),
        |m, _| m.dedup_by(merge),
    );
}

#[test]
fn retain_mut_follows_vec() {
    against_vec(
        "retain_mut",
        |v, r| {
            let m = r.u32(2..6);
            v.retain_mut(|x| {
                *x = *x * 3 + 1;
                *x % m != 0
            })
        },
        |m, r| {
            let k = r.u32(2..6);
            m.retain_mut(|x| {
                *x = *x * 3 + 1;
                *x % k != 0
            })
        },
    );
    against_vec(
        "retain",
        |v, r| {
            let m = r.u32(2..6);
            v.retain(|x| *x % m != 0)
        },
        |m, r| {
            let k = r.u32(2..6);
            m.retain(|x| *x % k != 0)
        },
    );
}

#[test]
fn pop_if_follows_vec() {
    for (name, keep) in [("pop_if_true", true), ("pop_if_false", false)] {
        // The predicate changes the element: popped, the changed value is returned; kept,
        // the change stays.
        against_vec(
            name,
            |v, _| {
                v.pop_if(|x| {
                    *x += 7;
                    keep
                })
            },
            |m, _| {
                m.pop_if(|x| {
                    *x += 7;
                    keep
                })
            },
        );
    }
}

#[test]
fn extend_from_within_follows_vec() {
    against_vec(
        "extend_from_within",
        |v, r| {
            let (a, b) = random_range(r, v.len());
            v.extend_from_within(a..b).unwrap();
            v.extend_from_within(..).unwrap();
        },
        |m, r| {
            let (a, b) = random_range(r, m.len());
            m.extend_from_within(a..b);
            m.extend_from_within(..);
        },
    );
}

#[test]
fn resize_with_follows_vec() {
    against_vec(
        "resize_with",
        |v, r| {
            let n = r.usize(0..v.len() * 2 + size(5000, 500));
            let mut i = 0;
            v.resize_with(n, || {
                i += 3;
                i
            })
            .unwrap();
        },
        |m, r| {
            let n = r.usize(0..m.len() * 2 + size(5000, 500));
            let mut i = 0;
            m.resize_with(n, || {
                i += 3;
                i
            });
        },
    );
}

#[test]
fn try_extend_follows_vec() {
    against_vec(
        "try_extend",
        |v, r| {
            let n = r.usize(0..size(20_000, 1000));
            // Exact size, unknown size, and a plain array.
            v.try_extend(0..n as u32).unwrap();
            v.try_extend((0..n as u32).filter(|x| x % 3 == 0)).unwrap();
            v.try_extend([7, 8, 9]).unwrap();
        },
        |m, r| {
            let n = r.usize(0..size(20_000, 1000));
            m.extend(0..n as u32);
            m.extend((0..n as u32).filter(|x| x % 3 == 0));
            m.extend([7, 8, 9]);
        },
    );
}

#[test]
fn spare_capacity_mut_and_set_len_follow_vec() {
    against_vec(
        "spare_capacity_mut",
        |v, r| {
            let n = r.usize(0..size(3000, 300));
            let start = r.u32(..);
            v.reserve(n).unwrap();
            let spare = v.spare_capacity_mut();
            assert!(spare.len() >= n);
            for (i, s) in spare[..n].iter_mut().enumerate() {
                s.write(start ^ i as u32);
            }
            // SAFETY: `n` spare elements written, `len + n <= capacity`.
            unsafe { v.set_len(v.len() + n) };
        },
        |m, r| {
            let n = r.usize(0..size(3000, 300));
            let start = r.u32(..);
            m.reserve(n);
            for (i, s) in m.spare_capacity_mut()[..n].iter_mut().enumerate() {
                s.write(start ^ i as u32);
            }
            // SAFETY: `n` spare elements initialised.
            unsafe { m.set_len(m.len() + n) };
        },
    );
    // Down and back up: the elements in between are still there.
    let dir = common::tmpdir();
    let (path, mut v) = open_with(&dir, "v.bin", &[1, 2, 3, 4]);
    v.sync().unwrap();
    // SAFETY: both at most the capacity.
    unsafe {
        v.set_len(1);
        assert_eq!(v, [1]);
        v.set_len(4);
    }
    assert_eq!(v, [1, 2, 3, 4]);
    // A new file's spare capacity holds zeros.
    let cap = v.capacity();
    assert!(v.spare_capacity_mut().len() == cap - 4);
    // SAFETY: at most the capacity.
    unsafe { v.set_len(6) };
    assert_eq!(v, [1, 2, 3, 4, 0, 0]);
    v.close().unwrap();
    assert_eq!(MmapedVec::<u32>::open(&path).unwrap(), [1, 2, 3, 4, 0, 0]);
}

#[test]
fn try_reserve_and_shrink_to_follow_vec() {
    let dir = common::tmpdir();
    let (path, mut v) = open_with(&dir, "v.bin", &[1, 2, 3]);
    v.try_reserve(10_000).unwrap();
    assert!(v.capacity() >= 10_003);
    v.try_reserve_exact(20_000).unwrap();
    assert!(v.capacity() >= 20_003);
    assert_eq!(
        v.try_reserve(usize::MAX).unwrap_err().kind(),
        ErrorKind::CapacityOverflow
    );
    assert_eq!(
        v.try_reserve_exact(usize::MAX / 2).unwrap_err().kind(),
        ErrorKind::CapacityOverflow
    );
    // As `Vec::shrink_to`: to `max(len, min_capacity)`, never up.
    v.shrink_to(5000).unwrap();
    assert_eq!(v.capacity(), 5000);
    assert_eq!(v.file_len(), 4096 + 5000 * 4);
    v.shrink_to(6000).unwrap();
    assert_eq!(v.capacity(), 5000, "shrink_to never grows");
    v.shrink_to(0).unwrap();
    assert_eq!(v.capacity(), 3);
    // Never below the committed length (as shrink_to_fit): commit first.
    v.extend_from_slice(&[0; 100]).unwrap();
    v.sync().unwrap();
    v.truncate(2);
    v.shrink_to(0).unwrap();
    assert_eq!(v.capacity(), 103);
    v.sync().unwrap();
    v.shrink_to(0).unwrap();
    assert_eq!(v.capacity(), 2);
    v.close().unwrap();
    assert_eq!(MmapedVec::<u32>::open(&path).unwrap(), [1, 2]);
}

/// `try_extend` when the file cannot grow: the elements appended stay and are counted, the
/// element taken but not stored is in the error, and the rest of the iterator is left for
/// the caller (`by_ref`); when the iterator's lower bound cannot be reserved, nothing is
/// taken at all.
#[test]
fn try_extend_reports_how_far_it_got() {
    use persistence::test_hooks::{self as fault, Op};
    const ENOSPC: i32 = 28;
    let dir = common::tmpdir();
    let (path, mut v) = open_with(&dir, "v.bin", &[1, 2]);
    let room = v.capacity() - v.len();
    // Lower bound 0 (a filter): grows element by element until the disk is "full".
    let mut it = (100..).filter(|x| x % 2 == 0);
    fault::inject_always(Op::Allocate, ENOSPC);
    let e = v.try_extend(it.by_ref()).unwrap_err();
    fault::clear();
    assert_eq!(e.kind(), ErrorKind::OutOfSpace);
    assert_eq!(e.error().raw_os_error(), Some(ENOSPC));
    assert_eq!(e.appended(), room);
    let stored: Vec<u32> = (100..).step_by(2).take(room).collect();
    assert_eq!(&v[2..], &stored[..]);
    let next = 100 + 2 * room as u32;
    assert_eq!(e.element(), Some(next), "the element taken but not stored");
    assert_eq!(
        it.next(),
        Some(next + 2),
        "the rest of the iterator is the caller's"
    );
    let text = e.to_string();
    assert!(
        text.contains(&format!("after appending {room} elements")),
        "{text}"
    );
    // `?` into persistence::Error and std::io::Error.
    let as_error: persistence::Error = e.into();
    assert_eq!(as_error.kind(), ErrorKind::OutOfSpace);
    assert_eq!(std::io::Error::from(e).raw_os_error(), Some(ENOSPC));

    // An exact-size iterator too large to reserve: nothing taken, nothing appended.
    let len = v.len();
    let mut exact = 0..u32::MAX;
    fault::inject_always(Op::Allocate, ENOSPC);
    let e = v.try_extend(exact.by_ref()).unwrap_err();
    fault::clear();
    assert_eq!(
        (e.appended(), e.element(), e.kind()),
        (0, None, ErrorKind::OutOfSpace)
    );
    assert_eq!(exact.next(), Some(0));
    assert_eq!(v.len(), len);
    // And the vector goes on.
    v.try_extend([5, 6]).unwrap();
    let want = v.to_vec();
    v.close().unwrap();
    assert_eq!(MmapedVec::<u32>::open(&path).unwrap(), want);
}

/// Closures that panic: each vector ends as a `Vec` given the same closure does, changes
/// made by the closure before it panicked included, and commits what it shows.
#[test]
fn panicking_closures_leave_what_vec_leaves() {
    use std::panic::{catch_unwind, AssertUnwindSafe};
    type Op = fn(&mut dyn VecLike, u32);
    /// What the test needs of both `Vec<u32>` and `MmapedVec<u32>`.
    trait VecLike {
        fn retain_mut_(&mut self, f: &mut dyn FnMut(&mut u32) -> bool);
        fn dedup_by_(&mut self, f: &mut dyn FnMut(&mut u32, &mut u32) -> bool);
        fn pop_if_(&mut self, f: &mut dyn FnMut(&mut u32) -> bool) -> Option<u32>;
        fn resize_with_(&mut self, n: usize, f: &mut dyn FnMut() -> u32);
        fn extend_(&mut self, it: &mut dyn Iterator<Item = u32>);
    }
    impl VecLike for Vec<u32> {
        fn retain_mut_(&mut self, f: &mut dyn FnMut(&mut u32) -> bool) {
            self.retain_mut(f)
        }
        fn dedup_by_(&mut self, f: &mut dyn FnMut(&mut u32, &mut u32) -> bool) {
            self.dedup_by(f)
        }
        fn pop_if_(&mut self, f: &mut dyn FnMut(&mut u32) -> bool) -> Option<u32> {
            self.pop_if(f)
        }
        fn resize_with_(&mut self, n: usize, f: &mut dyn FnMut() -> u32) {
            self.resize_with(n, f)
        }
        fn extend_(&mut self, it: &mut dyn Iterator<Item = u32>) {
            self.extend(it)
        }
    }
    impl VecLike for MmapedVec<u32> {
        fn retain_mut_(&mut self, f: &mut dyn FnMut(&mut u32) -> bool) {
            self.retain_mut(f)
        }
        fn dedup_by_(&mut self, f: &mut dyn FnMut(&mut u32, &mut u32) -> bool) {
            self.dedup_by(f)
        }
        fn pop_if_(&mut self, f: &mut dyn FnMut(&mut u32) -> bool) -> Option<u32> {
            self.pop_if(f)
        }
        fn resize_with_(&mut self, n: usize, f: &mut dyn FnMut() -> u32) {
            self.resize_with(n, f).unwrap()
        }
        fn extend_(&mut self, it: &mut dyn Iterator<Item = u32>) {
            self.try_extend(it).unwrap()
        }
    }
    let ops: [(&str, Op); 5] = [
        ("retain_mut", |v, at| {
            v.retain_mut_(&mut |x| {
                *x += 1000;
                assert!(*x != at + 1000, "boom");
                *x % 3 != 0
            })
        }),
        ("dedup_by", |v, at| {
            v.dedup_by_(&mut |a, b| {
                *b += 1;
                assert!(*a / 2 != at / 2, "boom");
                *a / 2 == *b / 2
            })
        }),
        ("pop_if", |v, _| {
            v.pop_if_(&mut |x| {
                *x += 5;
                panic!("boom")
            });
        }),
        ("resize_with", |v, at| {
            let mut i = 0;
            v.resize_with_(40, &mut || {
                i += 1;
                assert!(i != at, "boom");
                i
            })
        }),
        ("try_extend", |v, at| {
            v.extend_(&mut (0..30).inspect(|&x| assert!(x != at, "boom")))
        }),
    ];
    let dir = common::tmpdir();
    let init: Vec<u32> = (0..20).map(|x| x / 2 * 2 + x % 2 * 7).collect();
    for (name, op) in ops {
        // Under Miri, where each unwind is slow: the first position and a middle one.
        let positions: &[u32] = if cfg!(miri) {
            &[0, 13]
        } else {
            &[0, 1, 5, 13, 19]
        };
        for &at in positions {
            let (path, mut v) = open_with(&dir, &format!("{name}{at}.bin"), &init);
            if at % 2 == 1 {
                v.sync().unwrap();
            }
            let mut model = init.clone();
            let r1 = catch_unwind(AssertUnwindSafe(|| op(&mut v, at)));
            let r2 = catch_unwind(AssertUnwindSafe(|| op(&mut model, at)));
            assert_eq!(r1.is_err(), r2.is_err(), "{name} at {at}: panicked");
            assert_eq!(v, model, "{name} panicking at {at}");
            v.push(99).unwrap();
            model.push(99);
            v.close().unwrap();
            assert_eq!(
                MmapedVec::<u32>::open(&path).unwrap(),
                model,
                "{name} panicking at {at}: reopen"
            );
        }
    }
}

/// The messages of an out-of-range `drain` and `extend_from_within` are `Vec`'s.
#[test]
fn range_panics_say_what_vec_says() {
    use std::ops::Bound::{self, Excluded, Included, Unbounded};
    let dir = common::tmpdir();
    let (_p, mut v) = open_with(&dir, "v.bin", &[1, 2, 3]);
    let cases: [(Bound<usize>, Bound<usize>); 9] = [
        (Included(5), Unbounded),
        (Unbounded, Excluded(5)),
        (Included(2), Excluded(1)),
        (Excluded(usize::MAX), Unbounded),
        (Unbounded, Included(usize::MAX)),
        (Unbounded, Included(3)),
        (Excluded(3), Unbounded),
        (Excluded(2), Excluded(2)),
        (Included(4), Included(3)),
    ];
    // Under Miri, where each unwind is slow: one case of each message.
    let cases = if cfg!(miri) { &cases[..3] } else { &cases[..] };
    for &b in cases {
        let want = panic_message(|| {
            vec![1u32, 2, 3].drain(b);
        });
        assert_eq!(
            panic_message(|| {
                v.drain(b);
            }),
            want,
            "drain({b:?})"
        );
        let want = panic_message(|| vec![1u32, 2, 3].extend_from_within(b));
        assert_eq!(
            panic_message(|| {
                let _ = v.extend_from_within(b);
            }),
            want,
            "extend_from_within({b:?})"
        );
    }
    assert_eq!(v, [1, 2, 3]);
}

/// The message `f` panics with (`f` must panic).
fn panic_message(f: impl FnOnce()) -> String {
    let e = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_err();
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap()
}

std::thread_local! {
    /// Set while `panic_location` runs on this thread: the hook stores the location here.
    static LOCATION: std::cell::RefCell<Option<Option<(String, u32)>>> =
        const { std::cell::RefCell::new(None) };
}

/// Where `f` panicked (file, line), as the panic hook sees it.
fn panic_location(f: impl FnOnce()) -> (String, u32) {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let mine = LOCATION.with(|l| {
                let mut l = l.borrow_mut();
                match l.as_mut() {
                    Some(slot) => {
                        *slot = info.location().map(|p| (p.file().to_string(), p.line()));
                        true
                    }
                    None => false,
                }
            });
            if !mine {
                previous(info); // Other tests' panics print as usual.
            }
        }));
    });
    LOCATION.with(|l| *l.borrow_mut() = Some(None));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    let loc = LOCATION.with(|l| l.borrow_mut().take()).flatten();
    assert!(r.is_err(), "did not panic");
    loc.expect("the hook saw no location")
}

/// `insert`, `remove`, `swap_remove`, `drain`, `extend_from_within` and indexing report a
/// panic at the caller's line, not inside the library (`#[track_caller]`).
#[test]
fn index_panics_report_the_callers_line() {
    /// Takes a result and ignores it (`let _ =` would not fit on one line).
    fn ignore<T>(_: T) {}
    let dir = common::tmpdir();
    let (_p, mut v) = open_with(&dir, "v.bin", &[1, 2]);
    let mut cases = Vec::new();
    let p = panic_location(|| ignore(v.insert(9, 0)));
    cases.push(("insert", p, line!() - 1));
    let p = panic_location(|| ignore(v.remove(9)));
    cases.push(("remove", p, line!() - 1));
    let p = panic_location(|| ignore(v.swap_remove(9)));
    cases.push(("swap_remove", p, line!() - 1));
    let p = panic_location(|| ignore(v.drain(1..9)));
    cases.push(("drain", p, line!() - 1));
    let p = panic_location(|| ignore(v.extend_from_within(3..)));
    cases.push(("extend_from_within", p, line!() - 1));
    let p = panic_location(|| ignore(v[9]));
    cases.push(("index", p, line!() - 1));
    let p = panic_location(|| ignore(v.set(2, 0)));
    cases.push(("set", p, line!() - 1));
    let p = panic_location(|| ignore(v.set_from_slice(1, &[0, 0])));
    cases.push(("set_from_slice", p, line!() - 1));
    for (name, (file, line), want) in cases {
        assert_eq!((file.as_str(), line), (file!(), want), "{name}");
    }
    assert_eq!(v, [1, 2]);
}

#[test]
#[allow(clippy::op_ref)] // Comparing with references is the point: each is its own impl.
fn comparisons_with_vectors_slices_arrays_and_vecs() {
    let dir = common::tmpdir();
    let (_p, v) = open_with(&dir, "v.bin", &[1, 2, 3]);
    let (_q, w) = open_with(&dir, "w.bin", &[1, 2, 4]);
    let (_r, same) = open_with(&dir, "same.bin", &[1, 2, 3]);
    let std_vec: Vec<u32> = vec![1, 2, 3];
    let mut arr = [1u32, 2, 3];
    let slice: &[u32] = &[1, 2, 3];
    // Both ways round, as std has them for Vec.
    assert!(v == same);
    assert!(v != w);
    assert!(v == std_vec);
    assert!(std_vec == v);
    assert!(v == *slice);
    assert!(*slice == v);
    assert!(v == slice);
    assert!(slice == v);
    assert!(v == &mut arr[..]);
    assert!(&mut arr[..] == v);
    assert!(v == arr);
    assert!(arr == v);
    assert!(v == &arr);
    assert!(&arr == v);
    assert!(v != [1, 2]);
    assert!([1, 2, 3, 4] != v);
    assert_eq!(v, [1, 2, 3]);
    // Across element types, as `T: PartialEq<U>` allows.
    persistence::pod! {
        #[derive(Debug)]
        struct Id { id: u32 }
    }
    impl PartialEq<u32> for Id {
        fn eq(&self, other: &u32) -> bool {
            self.id == *other
        }
    }
    impl PartialEq<Id> for u32 {
        fn eq(&self, other: &Id) -> bool {
            *self == other.id
        }
    }
    let mut ids = MmapedVec::<Id>::open(common::path_in(&dir, "ids.bin")).unwrap();
    ids.extend_from_slice(&[Id { id: 1 }, Id { id: 2 }, Id { id: 3 }])
        .unwrap();
    assert!(ids == v);
    assert!(v == ids);
    assert!(ids == [1u32, 2, 3]);
    assert!([1u32, 2, 3] == ids);
    assert!(ids == vec![1u32, 2, 3]);
    // Ord and PartialOrd: lexicographic, as slices.
    assert!(v < w);
    assert!(w > v);
    assert_eq!(v.cmp(&w), [1, 2, 3].cmp(&[1, 2, 4]));
    assert_eq!(v.partial_cmp(&same), Some(std::cmp::Ordering::Equal));
    let (_t, short) = open_with(&dir, "short.bin", &[1, 2]);
    assert!(short < v);
    let (_f, f) = {
        let path = common::path_in(&dir, "f.bin");
        let mut f = MmapedVec::<f64>::open(&path).unwrap();
        f.extend_from_slice(&[1.0, f64::NAN]).unwrap();
        (path, f)
    };
    assert_eq!(
        f.partial_cmp(&f),
        [1.0, f64::NAN][..].partial_cmp(&[1.0, f64::NAN][..])
    );
    assert!(f != f, "NaN is not equal to itself, as in a slice");
}

#[test]
fn hash_is_the_slices_and_borrow_finds_vectors_in_sets() {
    use std::borrow::Borrow;
    use std::collections::{BTreeSet, HashSet};
    use std::hash::{BuildHasher, RandomState};
    let dir = common::tmpdir();
    let (_p, a) = open_with(&dir, "a.bin", &[1, 2, 3]);
    let (_q, b) = open_with(&dir, "b.bin", &[4, 5]);
    let (_r, empty) = open_with(&dir, "empty.bin", &[]);
    let s = RandomState::new();
    assert_eq!(s.hash_one(&a), s.hash_one(&a[..]));
    assert_eq!(s.hash_one(&empty), s.hash_one(&[] as &[u32]));
    assert_eq!(s.hash_one(&a), s.hash_one(vec![1u32, 2, 3]));
    assert_ne!(s.hash_one(&a), s.hash_one(&b));
    let borrowed: &[u32] = a.borrow();
    assert_eq!(borrowed, &[1, 2, 3]);
    let mut set = HashSet::new();
    set.insert(a);
    set.insert(b);
    set.insert(empty);
    assert!(set.contains(&[1, 2, 3][..]));
    assert!(set.contains(&[4, 5][..]));
    assert!(set.contains(&[][..]));
    assert!(!set.contains(&[1, 2][..]));
    let mut tree = BTreeSet::new();
    for v in set {
        tree.insert(v);
    }
    let order: Vec<Vec<u32>> = tree.iter().map(|v| v.to_vec()).collect();
    assert_eq!(order, [vec![], vec![1, 2, 3], vec![4, 5]]);
    assert!(tree.contains(&[4, 5][..]));
}

/// `BorrowMut` marks every element for the next commit, as `DerefMut` does: a change
/// through it to a committed element survives a reopen.
#[test]
fn borrow_mut_changes_are_committed() {
    use std::borrow::BorrowMut;
    let dir = common::tmpdir();
    let (path, mut v) = open_with(&dir, "v.bin", &[1, 2, 3]);
    v.sync().unwrap();
    let s: &mut [u32] = v.borrow_mut();
    s[0] = 10;
    s.reverse();
    v.close().unwrap();
    assert_eq!(MmapedVec::<u32>::open(&path).unwrap(), [3, 2, 10]);
}

/// `io::Write` appends; `flush` is not a commit (the committed length does not move, and
/// the bytes are in the vector before it); a full disk is an io error with its errno and
/// appends nothing.
#[test]
fn io_write_appends_and_flush_is_not_a_commit() {
    use persistence::test_hooks::{self as fault, Op};
    use std::io::Write;
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "log.bin");
    let mut log = MmapedVec::<u8>::open(&path).unwrap();
    writeln!(log, "line {}", 1).unwrap();
    log.write_all(b"two\n").unwrap();
    assert_eq!(log.write(b"3").unwrap(), 1);
    assert_eq!(log.write(b"").unwrap(), 0);
    assert_eq!(&log[..], b"line 1\ntwo\n3");
    log.flush().unwrap();
    assert_eq!(log.committed_len(), 0, "flush does not commit");
    // Larger than the pwrite threshold, through `write_all`.
    let big = vec![b'x'; 100_000];
    log.write_all(&big).unwrap();
    assert_eq!(log.len(), 12 + 100_000);
    // Full disk: an io::Error with the OS code, nothing appended.
    let cap = log.capacity();
    let len = log.len();
    fault::inject_always(Op::Allocate, 28);
    let e = log.write(&vec![b'y'; cap - len + 1]).unwrap_err();
    fault::clear();
    assert_eq!(e.raw_os_error(), Some(28));
    assert_eq!(e.kind(), std::io::ErrorKind::StorageFull);
    assert_eq!(log.len(), len);
    log.sync().unwrap();
    drop(log);
    let log = MmapedVec::<u8>::open(&path).unwrap();
    assert_eq!(&log[..12], b"line 1\ntwo\n3");
    assert_eq!(log.len(), 12 + 100_000);
}
