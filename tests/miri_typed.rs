//! The unsafe code of the typed layer (`MmapedVec`, `MmapedSlice`), driven through every path
//! that moves, copies or reads elements through raw pointers, and checked against `std::vec::Vec`.
//!
//! Written to run under Miri (`ci/miri.sh`), where `src/sys/miri.rs` stands in for the
//! mapping: each mapping is a heap block of exactly the mapped length that every growth moves,
//! so Miri reports an access past the mapping, a pointer kept across a growth, a write through
//! a read-only view, or a leaked mapping. It runs natively too (as part of `cargo test`), with
//! larger sizes. Sizes shrink under Miri, which interprets every instruction.

// The oracle is today's `Vec` (`pop_if` is from Rust 1.86); the MSRV stage builds the
// library alone.
#![allow(clippy::incompatible_msrv)]

mod common;

use std::panic::{self, AssertUnwindSafe};

use common::Rec;
use persistence::test_hooks::{self as fault, Op};
use persistence::{ErrorKind, MmapedSlice, MmapedVec, OpenOptions, Pod};

const EIO: i32 = 5;

/// `native` natively, `miri` under Miri.
fn size(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}

/// Contents, length and capacity agree with the model.
#[track_caller]
fn check<T: Pod + PartialEq + std::fmt::Debug>(v: &MmapedVec<T>, model: &[T], what: &str) {
    assert_eq!(v.len(), model.len(), "{what}: len");
    assert!(v.len() <= v.capacity(), "{what}: len > capacity");
    assert_eq!(v.is_empty(), model.is_empty(), "{what}: is_empty");
    if let Some(i) = (0..model.len()).find(|&i| v[i] != model[i]) {
        panic!(
            "{what}: element {i} of {} is {:?}, expected {:?}",
            model.len(),
            v[i],
            model[i]
        );
    }
}

/// Pushes one at a time across many growth steps (each one moves the mapping under Miri),
/// checking every element after each growth, then after sync, close, reopen and a read-only
/// open. `shrink_to_fit` after each round (capacity back to the length) makes the next push
/// grow again, so the number of remaps does not depend on the growth factor.
#[test]
fn push_across_many_growth_steps() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let rounds = size(40, 12);
    let per_round = size(5000, 300) as u64;
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    let mut model = Vec::new();
    let mut growths = 0;
    for round in 0..rounds {
        let mut cap = v.capacity();
        for _ in 0..per_round {
            let x = model.len() as u64 * 3;
            v.push(x).unwrap();
            model.push(x);
            if v.capacity() != cap {
                growths += 1;
                cap = v.capacity();
                check(&v, &model, "after a growth");
            }
            assert_eq!(v.last(), Some(&x));
        }
        check(&v, &model, &format!("round {round}"));
        v.sync().unwrap();
        assert_eq!(v.committed_len(), model.len());
        v.shrink_to_fit().unwrap();
        assert_eq!(v.capacity(), v.len(), "shrink_to_fit after a commit");
        check(&v, &model, "after shrink_to_fit");
    }
    assert!(
        growths >= rounds,
        "only {growths} growth steps in {rounds} rounds"
    );
    v.close().unwrap();

    let v = MmapedVec::<u64>::open(&path).unwrap();
    check(&v, &model, "after reopen");
    drop(v);
    let s = MmapedSlice::<u64>::open(&path).unwrap();
    assert_eq!(&s[..], &model[..]);
    assert_eq!(s.len(), model.len());
    assert_eq!(s.iter().copied().sum::<u64>(), model.iter().sum::<u64>());
}

/// Random operations (every method that moves elements through raw pointers) applied to the
/// vector and to a `Vec`, compared after each step, with syncs, closes, drops and reopens.
fn random_ops<T: Pod + PartialEq + std::fmt::Debug>(name: &str, make: fn(u64) -> T, steps: usize) {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut rng = common::rng(name);
    let mut v = MmapedVec::<T>::open(&path).unwrap();
    let mut model: Vec<T> = Vec::new();
    let big = size(3000, 300);
    for step in 0..steps {
        let what = format!("{name} step {step}");
        match rng.u32(0..37) {
            0..=3 => {
                let x = make(rng.u64(..));
                v.push(x).unwrap();
                model.push(x);
            }
            4 => {
                let chunk: Vec<T> = (0..rng.usize(0..big)).map(|_| make(rng.u64(..))).collect();
                v.extend_from_slice(&chunk).unwrap();
                model.extend_from_slice(&chunk);
            }
            5 | 6 => {
                let i = rng.usize(0..=model.len());
                let x = make(rng.u64(..));
                v.insert(i, x).unwrap();
                model.insert(i, x);
            }
            7 if !model.is_empty() => {
                let i = rng.usize(0..model.len());
                assert_eq!(v.remove(i), model.remove(i), "{what}: remove");
            }
            8 if !model.is_empty() => {
                let i = rng.usize(0..model.len());
                assert_eq!(
                    v.swap_remove(i),
                    model.swap_remove(i),
                    "{what}: swap_remove"
                );
            }
            9 => assert_eq!(v.pop(), model.pop(), "{what}: pop"),
            10 => {
                let n = rng.usize(0..=model.len() + 3);
                v.truncate(n);
                model.truncate(n);
            }
            11 => {
                let n = rng.usize(0..model.len() + big);
                let x = make(rng.u64(..));
                v.resize(n, x).unwrap();
                model.resize(n, x);
            }
            12 => {
                // A predicate that keeps some and drops some; it sees each element once, in order.
                let keep: Vec<bool> = (0..model.len()).map(|_| rng.bool()).collect();
                let mut seen = Vec::new();
                let mut i = 0;
                v.retain(|x| {
                    seen.push(*x);
                    i += 1;
                    keep[i - 1]
                });
                assert_eq!(
                    seen, model,
                    "{what}: retain visits each element once, in order"
                );
                let mut k = keep.iter();
                model.retain(|_| *k.next().unwrap());
            }
            13 if !model.is_empty() => {
                // DerefMut: element writes and whole-slice algorithms.
                let i = rng.usize(0..model.len());
                let x = make(rng.u64(..));
                v[i] = x;
                model[i] = x;
                v.as_mut_slice().reverse();
                model.reverse();
                let (a, b) = (rng.usize(0..model.len()), rng.usize(0..model.len()));
                v.swap(a, b);
                model.swap(a, b);
            }
            14 => {
                v.shrink_to_fit().unwrap();
                v.reserve_exact(rng.usize(0..big)).unwrap();
            }
            15 => {
                v.clear();
                model.clear();
            }
            16 | 17 => v.sync().unwrap(),
            18 => {
                v.close().unwrap();
                v = MmapedVec::open(&path).unwrap();
            }
            19 => {
                drop(v); // Drop commits.
                v = MmapedVec::open(&path).unwrap();
            }
            20 => {
                v.sync().unwrap();
                drop(v);
                let a = MmapedSlice::<T>::open(&path).unwrap();
                let b = OpenOptions::new().open_read_only::<T>(&path).unwrap();
                assert_eq!(&a[..], &model[..], "{what}: read-only view");
                assert_eq!(&a[..], &b[..], "{what}: two readers");
                drop((a, b));
                v = MmapedVec::open(&path).unwrap();
            }
            24 => {
                // drain: consumed from both ends, partly, or leaked.
                let a = rng.usize(0..=model.len());
                let b = rng.usize(a..=model.len());
                match rng.u8(0..3) {
                    0 => {
                        let got: Vec<T> = v.drain(a..b).rev().collect();
                        let want: Vec<T> = model.drain(a..b).rev().collect();
                        assert_eq!(got, want, "{what}: drain");
                    }
                    1 => {
                        let k = rng.usize(0..=b - a);
                        let mut d = v.drain(a..b);
                        let mut md = model.drain(a..b);
                        for _ in 0..k {
                            assert_eq!(d.next(), md.next(), "{what}: drain");
                        }
                        assert_eq!(d.as_slice(), md.as_slice(), "{what}: drain");
                    }
                    _ => std::mem::forget(v.drain(a..b)), // the vector is left as it was
                }
            }
            25 => {
                // Repeats first, so that dedup removes some.
                if let Some(&x) = model.last() {
                    let n = rng.usize(0..4);
                    v.extend_from_slice(&vec![x; n]).unwrap();
                    model.extend(std::iter::repeat_n(x, n));
                }
                v.dedup();
                model.dedup();
            }
            26 => {
                // Changes both elements it is given when they differ.
                let merge = |a: &mut T, b: &mut T| {
                    let same = *a == *b;
                    if !same {
                        std::mem::swap(a, b);
                    }
                    same
                };
                v.dedup_by(merge);
                model.dedup_by(merge);
            }
            27 => {
                let keep: Vec<bool> = (0..model.len()).map(|_| rng.bool()).collect();
                let repl: Vec<T> = (0..model.len()).map(|_| make(rng.u64(..))).collect();
                let (mut i, mut j) = (0, 0);
                v.retain_mut(|x| {
                    *x = repl[i];
                    i += 1;
                    keep[i - 1]
                });
                model.retain_mut(|x| {
                    *x = repl[j];
                    j += 1;
                    keep[j - 1]
                });
            }
            28 => {
                let (r, pop) = (make(rng.u64(..)), rng.bool());
                let f = |x: &mut T| {
                    *x = r;
                    pop
                };
                assert_eq!(v.pop_if(f), model.pop_if(f), "{what}: pop_if");
            }
            29 => {
                let a = rng.usize(0..=model.len());
                let b = rng.usize(a..=model.len());
                v.extend_from_within(a..b).unwrap();
                model.extend_from_within(a..b);
            }
            30 => {
                let n = rng.usize(0..model.len() + big);
                let seed = rng.u64(..);
                let (mut i, mut j) = (seed, seed);
                v.resize_with(n, || {
                    i = i.wrapping_add(1);
                    make(i)
                })
                .unwrap();
                model.resize_with(n, || {
                    j = j.wrapping_add(1);
                    make(j)
                });
            }
            31 => {
                let items: Vec<T> = (0..rng.usize(0..big)).map(|_| make(rng.u64(..))).collect();
                // Lower bound 0: grows element by element, across growth steps.
                v.try_extend(items.iter().copied().filter(|_| true))
                    .unwrap();
                model.extend_from_slice(&items);
            }
            32 => {
                let items: Vec<T> = (0..rng.usize(0..big)).map(|_| make(rng.u64(..))).collect();
                v.reserve(items.len()).unwrap();
                for (s, &x) in v.spare_capacity_mut().iter_mut().zip(&items) {
                    s.write(x);
                }
                // SAFETY: `items.len()` spare elements reserved and written.
                unsafe { v.set_len(v.len() + items.len()) };
                model.extend_from_slice(&items);
            }
            33 => {
                let n = rng.usize(0..model.len() + big);
                if rng.bool() {
                    v.shrink_to(n).unwrap();
                } else {
                    v.try_reserve_exact(n).unwrap();
                }
            }
            34 if !model.is_empty() => {
                // `set` / `set_from_slice`: `pwrite` below the length, seen through the
                // mapping, and made durable by the commit's `fdatasync`.
                let a = rng.usize(0..model.len());
                let b = rng.usize(a..=model.len());
                let items: Vec<T> = (a..b).map(|_| make(rng.u64(..))).collect();
                if let Some(&x) = items.first().filter(|_| rng.bool()) {
                    v.set(a, x).unwrap();
                    model[a] = x;
                } else {
                    v.set_from_slice(a, &items).unwrap();
                    model[a..b].copy_from_slice(&items);
                }
            }
            _ => {
                // Deref: slice reads.
                assert_eq!(v.first(), model.first());
                assert_eq!(v.last(), model.last());
                assert_eq!(v.iter().rev().nth(2), model.iter().rev().nth(2));
            }
        }
        check(&v, &model, &what);
    }
    v.close().unwrap();
    let v = MmapedVec::<T>::open(&path).unwrap();
    check(&v, &model, &format!("{name}: final reopen"));
}

#[test]
fn random_ops_u64() {
    random_ops::<u64>("random_ops_u64", |x| x, size(3000, 150));
}

#[test]
fn random_ops_u8() {
    random_ops::<u8>("random_ops_u8", |x| x as u8, size(2000, 100));
}

#[test]
fn random_ops_array() {
    random_ops::<[u32; 3]>(
        "random_ops_array",
        |x| [x as u32, (x >> 32) as u32, 7],
        size(2000, 100),
    );
}

#[test]
fn random_ops_pod_struct() {
    random_ops::<Rec>("random_ops_pod_struct", Rec::new, size(2000, 100));
}

/// Every operation at the exact capacity boundary (the last slot of the mapping is in use),
/// where an off-by-one in a shift or a missed growth would touch the first byte past the
/// mapping: under Miri that is an out-of-bounds access, natively it may go unnoticed.
#[test]
fn operations_at_the_capacity_boundary() {
    let dir = common::tmpdir();
    type Op = fn(&mut MmapedVec<u64>, &mut Vec<u64>);
    let ops: [(&str, Op); 20] = [
        ("push", |v, m| {
            v.push(1).unwrap();
            m.push(1);
        }),
        ("insert at 0", |v, m| {
            v.insert(0, 2).unwrap();
            m.insert(0, 2);
        }),
        ("insert at len", |v, m| {
            let n = m.len();
            v.insert(n, 3).unwrap();
            m.insert(n, 3);
        }),
        ("extend_from_slice", |v, m| {
            v.extend_from_slice(&[4, 5]).unwrap();
            m.extend_from_slice(&[4, 5]);
        }),
        ("resize up", |v, m| {
            let n = m.len() + 3;
            v.resize(n, 6).unwrap();
            m.resize(n, 6);
        }),
        ("remove at 0", |v, m| assert_eq!(v.remove(0), m.remove(0))),
        ("remove last", |v, m| {
            let n = m.len() - 1;
            assert_eq!(v.remove(n), m.remove(n));
        }),
        ("swap_remove at 0", |v, m| {
            assert_eq!(v.swap_remove(0), m.swap_remove(0))
        }),
        ("pop", |v, m| assert_eq!(v.pop(), m.pop())),
        ("retain", |v, m| {
            v.retain(|x| x % 2 == 0);
            m.retain(|x| x % 2 == 0);
        }),
        ("reverse", |v, m| {
            v.as_mut_slice().reverse();
            m.reverse();
        }),
        ("extend_from_within", |v, m| {
            v.extend_from_within(1..4).unwrap();
            m.extend_from_within(1..4);
        }),
        ("resize_with up", |v, m| {
            let n = m.len() + 3;
            v.resize_with(n, || 6).unwrap();
            m.resize_with(n, || 6);
        }),
        ("try_extend", |v, m| {
            v.try_extend((0..5).filter(|_| true)).unwrap();
            m.extend(0..5);
        }),
        ("drain the last", |v, m| {
            let n = m.len();
            assert!(v.drain(n - 2..).eq(m.drain(n - 2..)));
        }),
        ("drain from 0", |v, m| {
            assert!(v.drain(..3).eq(m.drain(..3)));
        }),
        ("dedup", |v, m| {
            let n = m.len();
            let x = m[n - 1];
            m[n - 2] = x;
            v[n - 2] = x;
            v.dedup();
            m.dedup();
        }),
        ("retain_mut", |v, m| {
            let f = |x: &mut u64| {
                *x += 1;
                *x % 3 != 0
            };
            v.retain_mut(f);
            m.retain_mut(f);
        }),
        ("pop_if", |v, m| {
            assert_eq!(v.pop_if(|_| true), m.pop_if(|_| true))
        }),
        ("spare_capacity_mut + set_len", |v, m| {
            v.reserve(2).unwrap();
            let s = v.spare_capacity_mut();
            s[0].write(7);
            s[1].write(8);
            // SAFETY: 2 spare elements written.
            unsafe { v.set_len(v.len() + 2) };
            m.extend([7, 8]);
        }),
    ];
    for (i, (name, op)) in ops.into_iter().enumerate() {
        // A fresh vector filled to exactly its first capacity, committed (so that in-place
        // changes hit committed data) and then one more pushed batch to the brim.
        let path = common::path_in(&dir, &format!("v{i}.bin"));
        let mut v = MmapedVec::<u64>::open(&path).unwrap();
        v.push(0).unwrap();
        let mut model: Vec<u64> = (0..v.capacity() as u64).map(|x| x * 5).collect();
        v.extend_from_slice(&model[1..]).unwrap();
        v.sync().unwrap();
        v.truncate(v.len() / 2);
        model.truncate(model.len() / 2);
        let rest: Vec<u64> = (model.len() as u64..v.capacity() as u64).collect();
        v.extend_from_slice(&rest).unwrap();
        model.extend_from_slice(&rest);
        assert_eq!(v.len(), v.capacity(), "{name}: not at the boundary");
        op(&mut v, &mut model);
        check(&v, &model, name);
        v.close().unwrap();
        let v = MmapedVec::<u64>::open(&path).unwrap();
        check(&v, &model, &format!("{name}: reopen"));
    }
}

/// Bulk appends of 32 KiB and more, which the region writes with `pwrite` rather than
/// through the mapping: the elements must show in the mapping at once (one page cache; under
/// Miri the stand-in copies them into the live block), before and after growth, and survive
/// in-place changes, a commit and a reopen.
#[test]
fn bulk_extend_shows_in_the_mapping() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    let mut model: Vec<u64> = vec![1, 2, 3];
    v.extend_from_slice(&model).unwrap();
    for round in 0..3u64 {
        let chunk: Vec<u64> = (0..size(20_000, 4_500) as u64)
            .map(|i| i * 7 + round)
            .collect();
        v.extend_from_slice(&chunk).unwrap();
        model.extend_from_slice(&chunk);
        check(&v, &model, &format!("bulk extend {round}"));
        v.insert(1, 99).unwrap();
        model.insert(1, 99);
        let last = model.len() - 1;
        v[last] += 1;
        model[last] += 1;
        if round == 1 {
            v.sync().unwrap();
        }
    }
    check(&v, &model, "after bulk extends");
    v.close().unwrap();
    let v = MmapedVec::<u64>::open(&path).unwrap();
    check(&v, &model, "reopen");
}

/// `retain` whose predicate panics at every position: the elements visited so far are
/// filtered, the one it panicked on and the rest are kept, in order, and the vector stays
/// usable and commits what it shows.
#[test]
fn retain_with_a_panicking_predicate() {
    let dir = common::tmpdir();
    let n = size(200, 24) as u32;
    // Every position natively; under Miri (where each unwind is slow) the first, the early,
    // the middle and the last ones.
    let positions: Vec<u32> = if cfg!(miri) {
        vec![0, 1, 2, 3, n / 2, n - 2, n - 1]
    } else {
        (0..n).collect()
    };
    for panic_at in positions {
        let path = common::path_in(&dir, &format!("v{panic_at}.bin"));
        let mut v = MmapedVec::<u32>::open(&path).unwrap();
        let all: Vec<u32> = (0..n).collect();
        v.extend_from_slice(&all).unwrap();
        if panic_at % 2 == 0 {
            v.sync().unwrap(); // Committed elements change in place too.
        }
        let r = panic::catch_unwind(AssertUnwindSafe(|| {
            v.retain(|&x| {
                assert!(x != panic_at, "predicate panics at {x}");
                x % 3 != 0
            })
        }));
        assert!(r.is_err(), "the predicate must have panicked");
        let mut model: Vec<u32> = all[..panic_at as usize]
            .iter()
            .copied()
            .filter(|x| x % 3 != 0)
            .collect();
        model.extend_from_slice(&all[panic_at as usize..]);
        check(&v, &model, &format!("retain panicking at {panic_at}"));
        v.push(1000).unwrap();
        model.push(1000);
        v.close().unwrap();
        let v = MmapedVec::<u32>::open(&path).unwrap();
        check(&v, &model, &format!("reopen after panic at {panic_at}"));
    }
}

/// `retain` that keeps everything and that keeps nothing, on committed data.
#[test]
fn retain_all_and_none() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u16>::open(&path).unwrap();
    let all: Vec<u16> = (0..size(5000, 500) as u16).collect();
    v.extend_from_slice(&all).unwrap();
    v.sync().unwrap();
    v.retain(|_| true);
    check(&v, &all, "retain all");
    v.retain(|_| false);
    check(&v, &[], "retain none");
    v.close().unwrap();
    let v = MmapedVec::<u16>::open(&path).unwrap();
    check(&v, &[], "reopen");
}

/// Read-only views: of a new vector, of a zero-length file (unmapped: the element pointer
/// is dangling and must still be aligned for `T`), of a vector with data, many at once.
#[test]
fn read_only_views() {
    let dir = common::tmpdir();

    let empty = common::path_in(&dir, "empty.bin");
    std::fs::write(&empty, b"").unwrap();
    let s = MmapedSlice::<[u64; 4]>::open(&empty).unwrap();
    assert!(s.is_empty());
    assert_eq!(&s[..], &[] as &[[u64; 4]]);
    assert_eq!(s.as_ptr() as usize % std::mem::align_of::<[u64; 4]>(), 0);
    assert_eq!(s.iter().count(), 0);
    drop(s);
    assert_eq!(
        std::fs::metadata(&empty).unwrap().len(),
        0,
        "read-only open wrote"
    );

    let path = common::path_in(&dir, "v.bin");
    let v = MmapedVec::<Rec>::open(&path).unwrap();
    v.close().unwrap();
    let s = MmapedSlice::<Rec>::open(&path).unwrap();
    assert!(s.is_empty());
    assert_eq!(s.first(), None);
    drop(s);

    let model: Vec<Rec> = (0..size(10_000, 300) as u64).map(Rec::new).collect();
    let mut v = MmapedVec::<Rec>::open(&path).unwrap();
    v.extend_from_slice(&model).unwrap();
    v.close().unwrap();
    let views: Vec<MmapedSlice<Rec>> = (0..3)
        .map(|_| MmapedSlice::<Rec>::open(&path).unwrap())
        .collect();
    for s in &views {
        assert_eq!(s.len(), model.len());
        assert_eq!(s.as_slice(), &model[..]);
        assert_eq!(s[model.len() - 1], model[model.len() - 1]);
    }
    let e = MmapedVec::<Rec>::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Locked);
    drop(views);
    // Drop commits: a reader then sees the element pushed last.
    let mut v = MmapedVec::<Rec>::open(&path).unwrap();
    v.push(Rec::new(99)).unwrap();
    drop(v);
    let s = MmapedSlice::<Rec>::open(&path).unwrap();
    assert_eq!(s.len(), model.len() + 1);
    assert_eq!(s.last(), Some(&Rec::new(99)));
}

/// A growth whose `fallocate` or remap fails leaves the old mapping valid and the vector
/// unchanged; a commit whose header `msync` fails puts the old slot back. Each is followed
/// by more work on the same vector, which under Miri would touch a freed or stale block if
/// the error paths got the mapping wrong.
#[test]
fn failed_growth_and_failed_commit_leave_the_vector_intact() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.push(0).unwrap();
    let mut model: Vec<u64> = vec![0];
    for op in [Op::Allocate, Op::Remap] {
        while v.len() < v.capacity() {
            v.push(v.len() as u64).unwrap();
            model.push(model.len() as u64);
        }
        let (cap, file_len) = (v.capacity(), v.file_len());
        // EIO: on ENOSPC from `fallocate` the region retries with the exact size instead.
        fault::inject(op, 0, EIO);
        let e = v.push(7).unwrap_err();
        assert!(!fault::pending(), "{op:?} was not called");
        assert_eq!(e.kind(), ErrorKind::Io, "{op:?}");
        assert_eq!((v.capacity(), v.file_len()), (cap, file_len), "{op:?}");
        check(&v, &model, &format!("after failed {op:?}"));
        v[0] = 42; // The mapping is still live and writable.
        model[0] = 42;
        v.push(8).unwrap();
        model.push(8);
        check(&v, &model, &format!("push after failed {op:?}"));
    }

    v.sync().unwrap();
    let committed = v.committed_len();
    v.extend_from_slice(&[1, 2, 3]).unwrap();
    model.extend_from_slice(&[1, 2, 3]);
    // The commit slot is written with pwrite after the data msync.
    fault::inject(Op::Write, 0, EIO);
    assert_eq!(v.sync().unwrap_err().kind(), ErrorKind::Io);
    assert!(!fault::pending());
    assert_eq!(
        v.committed_len(),
        committed,
        "a failed commit must not count"
    );
    check(&v, &model, "after failed commit");
    v.sync().unwrap();
    assert_eq!(v.committed_len(), model.len());
    v.close().unwrap();
    let v = MmapedVec::<u64>::open(&path).unwrap();
    check(&v, &model, "reopen");
}

/// `shrink_to_fit` (a remap to a smaller block, then `ftruncate`) and `reserve_exact`.
#[test]
fn shrink_and_reserve_move_the_mapping_safely() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<[u32; 3]>::open(&path).unwrap();
    let n = size(20_000, 1_000);
    let mut model: Vec<[u32; 3]> = (0..n as u32).map(|i| [i, i ^ 0xffff, 3]).collect();
    v.reserve(n * 4).unwrap();
    v.extend_from_slice(&model).unwrap();
    v.sync().unwrap();
    v.truncate(n / 2);
    model.truncate(n / 2);
    v.sync().unwrap();
    let before = v.file_len();
    v.shrink_to_fit().unwrap();
    assert!(v.file_len() < before, "shrink_to_fit did not shrink");
    check(&v, &model, "after shrink");
    v.reserve_exact(n).unwrap();
    assert!(v.capacity() >= model.len() + n);
    v.extend_from_slice(&model.clone()).unwrap();
    model.extend_from_slice(&model.clone());
    check(&v, &model, "after reserve_exact");
    v.close().unwrap();
    let v = MmapedVec::<[u32; 3]>::open(&path).unwrap();
    check(&v, &model, "reopen");
}

/// The vector moves to another thread and back (it is `Send`), and a shared borrow is read
/// from two threads at once (it is `Sync`).
#[test]
fn vector_moves_between_threads() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.extend_from_slice(&[1, 2, 3]).unwrap();
    let mut v = std::thread::spawn(move || {
        for i in 4..=size(5000, 600) as u64 {
            v.push(i).unwrap();
        }
        v
    })
    .join()
    .unwrap();
    let expected: u64 = (1..=size(5000, 600) as u64).sum();
    std::thread::scope(|s| {
        let a = s.spawn(|| v.iter().sum::<u64>());
        let b = s.spawn(|| v.iter().sum::<u64>());
        assert_eq!(a.join().unwrap(), expected);
        assert_eq!(b.join().unwrap(), expected);
    });
    v.push(0).unwrap();
    v.close().unwrap();
}
