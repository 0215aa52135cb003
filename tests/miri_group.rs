//! The unsafe code of commit groups (`Group`'s columns, which are `MmapedVec`s over blocks;
//! `GroupSlice`'s slices; `LiveGroup`'s element loads) driven through every typed path and
//! checked against `std::vec::Vec`s.
//!
//! Written to run under Miri (`ci/miri.sh`), where `src/sys/miri.rs` stands in for the
//! mapping: a column's blocks are one heap block of exactly their length that every new block
//! moves, so Miri reports an access past the mapped blocks, a pointer kept across a growth
//! into a new block, a write through a read-only view, or a leaked mapping. Blocks are 2 MiB
//! and more, so the data stays within one or two blocks. It runs natively too (as part of
//! `cargo test`), with larger sizes.

mod common;

use persistence::{inspect, FileKind, Group, OpenOptions};

/// `native` natively, `miri` under Miri.
fn size(native: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        native
    }
}

fn opts() -> OpenOptions {
    *OpenOptions::new().magic(*b"MIRIGRP\0").version(1)
}

/// Both columns agree with the models.
#[track_caller]
fn check(cols: (&[u64], &[u16]), a: &[u64], b: &[u16], what: &str) {
    assert_eq!(cols.0, a, "{what}: column 0");
    assert_eq!(cols.1, b, "{what}: column 1");
}

/// A `Group<(u64, u16)>`: rows pushed, columns extended by copy and by `pwrite`, indexed,
/// changed through `columns_mut` with the `Vec` API, committed, truncated, reopened, read as a
/// `GroupSlice` and a `LiveGroup`, committed by `Drop`; every step compared with two `Vec`s.
#[test]
fn a_group_of_two_columns_through_every_typed_path() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "g.bin");
    let n = size(20_000, 300);
    let (mut a, mut b): (Vec<u64>, Vec<u16>) = (Vec::new(), Vec::new());

    let mut g: Group<(u64, u16)> = opts().open_group(&p).unwrap();
    assert_eq!((g.generation(), g.rows().unwrap()), (0, 0));
    for i in 0..n {
        let row = (i as u64 * 7, i as u16 ^ 0x55);
        g.push_row(row).unwrap();
        a.push(row.0);
        b.push(row.1);
        if i % 64 == 0 {
            // Read back through the mapping after each growth step may have moved it.
            assert_eq!(g.get_row(i), Some(row));
        }
    }
    check(g.columns(), &a, &b, "after push_row");
    g.sync().unwrap();
    assert_eq!(g.generation(), 1);

    // Extend: a short slice goes through the mapping, one of 32 KiB and more by `pwrite`.
    let short: Vec<u64> = (0..100).map(|i| i * 3).collect();
    let long: Vec<u16> = (0..16_400).map(|i| i as u16).collect(); // 32 800 bytes
    {
        let (x, y) = g.columns_mut();
        x.extend_from_slice(&short).unwrap();
        y.extend_from_slice(&long).unwrap();
        x.extend_from_slice(&vec![5; long.len() - short.len()])
            .unwrap();
    }
    a.extend_from_slice(&short);
    a.resize(a.len() + long.len() - short.len(), 5);
    b.extend_from_slice(&long);
    check(g.columns(), &a, &b, "after extend_from_slice");
    assert_eq!(g.rows().unwrap(), a.len());

    // Index, and change in place and by moving elements, through `columns_mut`.
    {
        let (x, y) = g.columns_mut();
        x[3] = 333;
        y[a.len() - 1] = 1;
        x.insert(1, 11).unwrap();
        y.insert(0, 22).unwrap();
        assert_eq!(x.remove(2), a[1]);
        assert_eq!(y.swap_remove(5), b[4]);
        x.retain(|&v| v != 5);
        y.truncate(x.len());
        for v in x.iter_mut().take(50) {
            *v += 1;
        }
        x[..64].reverse();
    }
    a[3] = 333;
    *b.last_mut().unwrap() = 1;
    a.insert(1, 11);
    b.insert(0, 22);
    a.remove(2);
    b.swap_remove(5);
    a.retain(|&v| v != 5);
    b.truncate(a.len());
    for v in a.iter_mut().take(50) {
        *v += 1;
    }
    a[..64].reverse();
    check(g.columns(), &a, &b, "after columns_mut");
    g.sync_rows().unwrap();
    assert_eq!(g.generation(), 2);
    let rows = a.len();
    g.truncate_rows(rows - 7);
    a.truncate(rows - 7);
    b.truncate(rows - 7);
    g.push_row((1, 2)).unwrap();
    a.push(1);
    b.push(2);
    g.close().unwrap();

    // Reopen: the writer maps what was committed.
    let mut g: Group<(u64, u16)> = opts().open_group(&p).unwrap();
    assert_eq!(g.generation(), 3);
    check(g.columns(), &a, &b, "after reopen");
    assert_eq!(g.get_row(a.len() - 1), Some((1, 2)));
    assert_eq!(g.get_row(a.len()), None);
    g.push_row((3, 4)).unwrap();
    a.push(3);
    b.push(4);
    drop(g); // commits

    // A snapshot: slices over the read-only blocks.
    let s = opts().open_group_read_only::<(u64, u16)>(&p).unwrap();
    assert_eq!(s.generation(), 4);
    check(s.columns(), &a, &b, "GroupSlice");
    assert_eq!(s.get_row(0), Some((a[0], b[0])));
    assert_eq!(s.columns().0.iter().sum::<u64>(), a.iter().sum::<u64>());
    drop(s);

    // A live reader of the committed file: each element loaded from the blocks.
    let mut r = opts().open_group_live::<(u64, u16)>(&p).unwrap();
    assert!(!r.refresh().unwrap());
    let (x, y) = r.columns();
    assert_eq!((x.len(), y.len(), r.generation()), (a.len(), b.len(), 4));
    assert_eq!(x.iter().collect::<Vec<_>>(), a);
    assert_eq!(
        y.iter().rev().collect::<Vec<_>>(),
        b.iter().rev().copied().collect::<Vec<_>>()
    );
    let mut out = [0u16; 40];
    assert_eq!(y.copy_to(b.len() - 10, &mut out), 10);
    assert_eq!(&out[..10], &b[b.len() - 10..]);
    assert_eq!((x.get(a.len()), r.get_row(2)), (None, Some((a[2], b[2]))));
    drop(r);

    let info = inspect(&p).unwrap();
    assert_eq!(
        (info.kind, info.columns[0].len),
        (FileKind::Group, a.len() as u64)
    );
}

/// 4 KiB rows, so that column 0 grows into its second block (2 MiB + 4 MiB, mapped end to
/// end) in a few hundred pushes; elements on both sides of the boundary are read and changed
/// through the writer, then read through a snapshot and a live reader.
#[test]
fn a_column_grows_into_its_second_block() {
    type Page = [u64; 512];
    // A repeated value: cheap to build and compare under Miri.
    let page = |i: usize| -> Page { [i as u64 + 1; 512] };
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "wide.bin");
    let per_block = (2 << 20) / 4096;
    let n = per_block + size(200, 8);
    let mut g: Group<(Page, u8)> = opts().open_group(&p).unwrap();
    for i in 0..n {
        g.push_row((page(i), i as u8)).unwrap();
    }
    let (x, y) = g.columns_mut();
    x[per_block - 1][511] = 1;
    x[per_block][0] = 2;
    assert_eq!(y.len(), n);
    g.sync().unwrap();
    let want = |i: usize| {
        let mut e = page(i);
        if i == per_block - 1 {
            e[511] = 1;
        }
        if i == per_block {
            e[0] = 2;
        }
        e
    };
    let (x, y) = g.columns();
    for i in [0, per_block - 1, per_block, n - 1] {
        assert_eq!((x[i], y[i]), (want(i), i as u8), "row {i}");
    }
    g.close().unwrap();

    let s = opts().open_group_read_only::<(Page, u8)>(&p).unwrap();
    let (x, y) = s.columns();
    assert_eq!(x.len(), n);
    for i in (0..n)
        .step_by(size(1, 37))
        .chain([per_block - 1, per_block, n - 1])
    {
        assert_eq!((x[i], y[i]), (want(i), i as u8), "row {i}");
    }
    drop(s);
    let r = opts().open_group_live::<(Page, u8)>(&p).unwrap();
    let (x, _) = r.columns();
    assert_eq!(x.get(per_block), Some(want(per_block)));
    let mut out = [[0u64; 512]; 2];
    assert_eq!(x.copy_to(per_block - 1, &mut out), 2);
    assert_eq!(out, [want(per_block - 1), want(per_block)]);
}
