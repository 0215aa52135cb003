//! The `Vec` API: every method checked against `std::vec::Vec`, including where `Vec` panics,
//! and a model test of thousands of random operations with syncs, closes, drops and reopens.

mod common;

use persistence::{ErrorKind, MmapedVec, OpenOptions};

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
        let op = rng.u32(0..100);
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
            _ => {
                assert_eq!(v.first(), model.first());
                assert_eq!(v.last(), model.last());
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
