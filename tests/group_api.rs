//! Commit groups through their public API: a group's columns behave as vectors, commit
//! together, reopen as committed, refuse what is not theirs, lock as a vector does, and
//! are read beside the writer by live readers that see every column at one generation.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use persistence::{
    inspect, ErrorKind, FileKind, Group, LiveGroup, MmapedSlice, MmapedVec, OpenOptions,
};

type Trades = (u64, f64, u32);

fn row(i: u64) -> Trades {
    (i, i as f64 * 0.25, (i as u32).wrapping_mul(3))
}

fn opts() -> OpenOptions {
    *OpenOptions::new().magic(*b"TRADES\0\0").version(1)
}

fn check_rows(cols: (&[u64], &[f64], &[u32]), n: usize) {
    assert_eq!((cols.0.len(), cols.1.len(), cols.2.len()), (n, n, n));
    for i in 0..n {
        assert_eq!(
            (cols.0[i], cols.1[i], cols.2[i]),
            row(i as u64),
            "row {i} of {n}"
        );
    }
}

#[test]
fn a_sync_commits_every_column_and_a_reopen_shows_it() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g: Group<Trades> = opts().open_group(&p).unwrap();
    assert_eq!((g.generation(), g.rows().unwrap()), (0, 0));
    for i in 0..10 {
        g.push_row(row(i)).unwrap();
    }
    g.sync().unwrap();
    assert_eq!(g.generation(), 1);
    // Nothing new: no new generation.
    g.sync().unwrap();
    assert_eq!(g.generation(), 1);
    // In place only: durable, same generation.
    g.columns_mut().1[3] = 99.0;
    g.sync().unwrap();
    assert_eq!(g.generation(), 1);
    g.columns_mut().1[3] = row(3).1;
    for i in 10..20 {
        g.push_row(row(i)).unwrap();
    }
    g.close().unwrap();

    let g: Group<Trades> = opts().open_group(&p).unwrap();
    assert_eq!(g.generation(), 2);
    check_rows(g.columns(), 20);
    let info = inspect(&p).unwrap();
    assert_eq!(
        (info.kind, info.column_count, info.generation()),
        (FileKind::Group, 3, 2)
    );
    let cols: Vec<_> = info
        .columns()
        .iter()
        .map(|c| (c.elem_size, c.elem_align, c.len))
        .collect();
    assert_eq!(cols, [(8, 8, 20), (8, 8, 20), (4, 4, 20)]);
    assert!(info.columns().iter().all(|c| c.capacity >= 20));
    assert_eq!(info.current().lens[..3], [20, 20, 20]);
    let previous = info.slots[1 - info.winner];
    assert!(previous.valid);
    assert_eq!(previous.lens[..3], [10, 10, 10]);
    assert_eq!(info.columns[3], info.columns[11]);
    assert_eq!(info.columns[3].elem_size, 0);
}

#[test]
fn columns_have_the_vec_api_and_commit_only_with_their_group() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g = Group::<(u32, u8)>::open(&p).unwrap();
    {
        let (a, b) = g.columns_mut();
        a.extend_from_slice(&[5, 1, 4, 1, 3]).unwrap();
        a.insert(0, 9).unwrap();
        assert_eq!(a.remove(1), 5);
        a.retain(|&x| x != 4);
        a.sort_unstable();
        a.dedup();
        assert_eq!(a[..], [1, 3, 9]);
        a.extend_from_within(..2).unwrap();
        let drained: Vec<u32> = a.drain(1..2).collect();
        assert_eq!(drained, [3]);
        b.resize(4, 7).unwrap();
        b.set(2, 8).unwrap();
        assert_eq!(b.pop(), Some(7));
        assert_eq!(a.committed_len(), 0);
        let cap = a.capacity();
        a.shrink_to_fit().unwrap();
        assert_eq!(
            a.capacity(),
            cap,
            "a group's column never gives capacity back"
        );
    }
    assert_eq!(g.columns(), (&[1, 9, 1, 3][..], &[7, 7, 8][..]));
    drop(g); // Drop commits.
    let g = Group::<(u32, u8)>::open(&p).unwrap();
    assert_eq!(g.columns(), (&[1, 9, 1, 3][..], &[7, 7, 8][..]));
    assert_eq!(g.columns_mut_committed_lens(), [4, 3]);
}

trait CommittedLens {
    fn columns_mut_committed_lens(self) -> [usize; 2];
}

impl CommittedLens for Group<(u32, u8)> {
    fn columns_mut_committed_lens(mut self) -> [usize; 2] {
        let (a, b) = self.columns_mut();
        [a.committed_len(), b.committed_len()]
    }
}

#[test]
fn rows_are_pushed_whole_and_unequal_lengths_are_refused_where_rows_are_meant() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g: Group<Trades> = opts().open_group(&p).unwrap();
    for i in 0..5 {
        g.push_row(row(i)).unwrap();
    }
    assert_eq!(g.get_row(4), Some(row(4)));
    assert_eq!(g.get_row(5), None);
    g.columns_mut().2.push(1).unwrap();
    let e = g.rows().unwrap_err();
    assert_eq!((e.kind(), e.column()), (ErrorKind::UnequalLengths, Some(2)));
    let e = g.sync_rows().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UnequalLengths);
    assert_eq!(g.generation(), 0, "nothing was committed");
    assert_eq!(g.get_row(5), None, "a row needs every column");
    g.truncate_rows(3);
    assert_eq!(g.rows().unwrap(), 3);
    g.sync_rows().unwrap();
    assert_eq!(g.generation(), 1);
    // A plain sync commits unequal lengths: a group is not only rows.
    g.columns_mut().0.push(7).unwrap();
    g.sync().unwrap();
    drop(g);
    let g: Group<Trades> = opts().open_group(&p).unwrap();
    assert_eq!(
        (
            g.columns().0.len(),
            g.columns().1.len(),
            g.columns().2.len()
        ),
        (4, 3, 3)
    );
}

#[test]
fn columns_grow_through_blocks_and_reopen_reuses_the_blocks_they_had() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    // 2 MiB of u64 is block 0; 1.5 M elements need blocks 0..2 (2 + 4 + 8 MiB).
    let n = 1_500_000u64;
    let mut g = Group::<(u64, u16)>::open(&p).unwrap();
    {
        let (a, b) = g.columns_mut();
        let chunk: Vec<u64> = (0..n).collect();
        a.extend_from_slice(&chunk[..1000]).unwrap();
        for x in &chunk[1000..300_000] {
            a.push(*x).unwrap(); // through the mapping, across block 0's end
        }
        a.extend_from_slice(&chunk[300_000..]).unwrap(); // pwrite, across blocks
        for i in 0..70_000u32 {
            b.push(i as u16).unwrap();
        }
    }
    g.sync().unwrap();
    let check = |g: &Group<(u64, u16)>, n: u64| {
        let (a, b) = g.columns();
        assert_eq!(a.len() as u64, n);
        assert!(a.iter().enumerate().all(|(i, &x)| x == i as u64));
        assert!(b.iter().enumerate().all(|(i, &x)| x == i as u16));
    };
    check(&g, n);
    drop(g);
    let g = Group::<(u64, u16)>::open(&p).unwrap();
    check(&g, n);
    let s = OpenOptions::new()
        .open_group_read_only::<(u64, u16)>(&g_path_drop(g, &p))
        .unwrap();
    assert_eq!(s.columns().0.len() as u64, n);
    assert_eq!(s.get_row(69_999), Some((69_999, 69_999u32 as u16)));
    drop(s);

    // Truncate and commit, reopen, grow again to the same size: the blocks left past the
    // commit are used again, so the file does not grow.
    let mut g = Group::<(u64, u16)>::open(&p).unwrap();
    g.columns_mut().0.truncate(10);
    g.sync().unwrap();
    drop(g);
    let size = std::fs::metadata(&p).unwrap().len();
    let mut g = Group::<(u64, u16)>::open(&p).unwrap();
    let more: Vec<u64> = (10..n).collect();
    g.columns_mut().0.extend_from_slice(&more).unwrap();
    g.sync().unwrap();
    check(&g, n);
    assert_eq!(std::fs::metadata(&p).unwrap().len(), size, "blocks reused");
}

/// Drops the group and gives back its path (to open something else there).
fn g_path_drop<C: persistence::Columns>(g: Group<C>, p: &Path) -> std::path::PathBuf {
    drop(g);
    p.to_path_buf()
}

#[test]
fn capacity_is_each_columns_and_huge_pages_change_nothing_visible() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g = OpenOptions::new()
        .capacity(100_000)
        .huge_pages(true)
        .open_group::<(u64, u8)>(&p)
        .unwrap();
    let (a, b) = g.columns_mut();
    assert!(a.capacity() >= 100_000 && b.capacity() >= 100_000);
    let cap = a.capacity();
    a.extend_from_slice(&vec![7; 100_000]).unwrap();
    assert_eq!(a.capacity(), cap, "no growth within the asked capacity");
    b.push(1).unwrap();
    g.close().unwrap();
    let g = Group::<(u64, u8)>::open(&p).unwrap();
    assert_eq!((g.columns().0.len(), g.columns().1.len()), (100_000, 1));
}

#[test]
fn a_group_locks_as_a_vector_does() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let g = Group::<(u64, u32)>::open(&p).unwrap();
    assert_eq!(
        Group::<(u64, u32)>::open(&p).unwrap_err().kind(),
        ErrorKind::Locked
    );
    let ro = || OpenOptions::new().open_group_read_only::<(u64, u32)>(&p);
    assert_eq!(ro().unwrap_err().kind(), ErrorKind::Locked);
    // A live reader opens beside the writer.
    let live = OpenOptions::new()
        .open_group_live::<(u64, u32)>(&p)
        .unwrap();
    // inspect reads beside the writer.
    assert_eq!(inspect(&p).unwrap().kind, FileKind::Group);
    drop(g);
    let (a, b) = (ro().unwrap(), ro().unwrap());
    assert_eq!(
        Group::<(u64, u32)>::open(&p).unwrap_err().kind(),
        ErrorKind::Locked
    );
    drop((a, b, live));

    // wait_for_lock waits for the holder.
    let g = Group::<(u64, u32)>::open(&p).unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let r2 = released.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        r2.store(true, Ordering::SeqCst);
        drop(g);
    });
    let g2 = OpenOptions::new()
        .wait_for_lock(true)
        .open_group::<(u64, u32)>(&p)
        .unwrap();
    assert!(released.load(Ordering::SeqCst));
    t.join().unwrap();
    drop(g2);
}

#[test]
fn what_is_not_this_group_is_refused_with_its_kind_and_column() {
    let dir = common::tmpdir();
    let g = dir.path().join("g.bin");
    let v = dir.path().join("v.bin");
    let mut group: Group<Trades> = opts().open_group(&g).unwrap();
    group.push_row(row(1)).unwrap();
    group.close().unwrap();
    let mut vec = opts().open::<u64>(&v).unwrap();
    vec.push(1).unwrap();
    vec.close().unwrap();

    let kind = |r: persistence::Result<()>| r.map(|_| ()).unwrap_err();
    let e = kind(opts().open_group::<(u64, f64, u32, u8)>(&g).map(drop));
    assert_eq!(e.kind(), ErrorKind::LayoutMismatch);
    let e = kind(opts().open_group::<(u64, f64)>(&g).map(drop));
    assert_eq!(e.kind(), ErrorKind::LayoutMismatch);
    let e = kind(opts().open_group::<(u64, f64, u64)>(&g).map(drop));
    assert_eq!((e.kind(), e.column()), (ErrorKind::LayoutMismatch, Some(2)));
    let e = kind(opts().open_group::<(u64, u64, u32)>(&g).map(drop));
    assert_eq!((e.kind(), e.column()), (ErrorKind::TypeMismatch, Some(1)));
    assert!(e.to_string().contains("column 1"), "{e}");
    let e = kind(OpenOptions::new().open_group::<Trades>(&g).map(drop));
    assert_eq!(e.kind(), ErrorKind::MagicMismatch);
    let e = kind(opts().version(2).open_group::<Trades>(&g).map(drop));
    assert_eq!(e.kind(), ErrorKind::VersionMismatch);
    for e in [
        kind(opts().open::<u64>(&g).map(drop)),
        kind(opts().open_read_only::<u64>(&g).map(drop)),
        kind(opts().open_live::<u64>(&g).map(drop)),
        kind(opts().open_group::<(u64,)>(&v).map(drop)),
        kind(opts().open_group_read_only::<(u64,)>(&v).map(drop)),
        kind(opts().open_group_live::<(u64,)>(&v).map(drop)),
    ] {
        assert_eq!(e.kind(), ErrorKind::WrongFileKind, "{e}");
    }
    // Nothing was changed by the refusals.
    let group: Group<Trades> = opts().open_group(&g).unwrap();
    assert_eq!(group.get_row(0), Some(row(1)));
    assert_eq!(
        MmapedSlice::<u64>::open(&v).unwrap_err().kind(),
        ErrorKind::MagicMismatch
    );
    assert_eq!(opts().open_read_only::<u64>(&v).unwrap()[..], [1]);
}

#[test]
fn a_column_swapped_in_from_elsewhere_is_refused_and_commits_nothing() {
    let dir = common::tmpdir();
    let (p, q) = (dir.path().join("p.bin"), dir.path().join("q.bin"));
    let mut a = Group::<(u64, u64)>::open(&p).unwrap();
    let mut b = Group::<(u64, u64)>::open(&q).unwrap();
    a.push_row((1, 2)).unwrap();
    b.push_row((3, 4)).unwrap();
    std::mem::swap(a.columns_mut().0, b.columns_mut().0);
    for g in [&mut a, &mut b] {
        let e = g.sync().unwrap_err();
        assert_eq!((e.kind(), e.column()), (ErrorKind::ForeignColumn, Some(0)));
        assert_eq!(g.generation(), 0);
    }
    std::mem::swap(a.columns_mut().0, b.columns_mut().0);
    // Two columns of one group swapped with each other.
    {
        let (x, y) = a.columns_mut();
        std::mem::swap(x, y);
    }
    assert_eq!(a.sync().unwrap_err().kind(), ErrorKind::ForeignColumn);
    {
        let (x, y) = a.columns_mut();
        std::mem::swap(x, y);
    }
    a.sync().unwrap();
    b.sync().unwrap();
    drop((a, b));
    assert_eq!(
        Group::<(u64, u64)>::open(&p).unwrap().get_row(0),
        Some((1, 2))
    );
    assert_eq!(
        Group::<(u64, u64)>::open(&q).unwrap().get_row(0),
        Some((3, 4))
    );
}

#[test]
fn commit_on_drop_false_and_a_panic_mid_batch_keep_the_last_commit() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g: Group<Trades> = opts().open_group(&p).unwrap();
    g.push_row(row(0)).unwrap();
    g.sync().unwrap();
    // A panic between two columns' pushes: the group is dropped while unwinding.
    let r = catch_unwind(AssertUnwindSafe(move || {
        let (t, _, _) = g.columns_mut();
        t.push(1).unwrap();
        panic!("in the middle of a row");
    }));
    assert!(r.is_err());
    let mut g: Group<Trades> = opts().open_group(&p).unwrap();
    assert_eq!((g.generation(), g.rows().unwrap()), (1, 1));
    // The same for a vector.
    let v = dir.path().join("v.bin");
    let mut vec = MmapedVec::<u64>::open(&v).unwrap();
    vec.push(1).unwrap();
    vec.sync().unwrap();
    let r = catch_unwind(AssertUnwindSafe(move || {
        vec.push(2).unwrap();
        panic!("in the middle of a batch");
    }));
    assert!(r.is_err());
    assert_eq!(MmapedVec::<u64>::open(&v).unwrap()[..], [1]);

    // Without a panic a drop commits...
    g.push_row(row(1)).unwrap();
    drop(g);
    let g: Group<Trades> = opts().open_group(&p).unwrap();
    assert_eq!(g.rows().unwrap(), 2);
    drop(g);
    // ...unless commit_on_drop(false): only sync and close commit.
    let o = *opts().commit_on_drop(false);
    let mut g = o.open_group::<Trades>(&p).unwrap();
    g.push_row(row(2)).unwrap();
    drop(g);
    let mut g = o.open_group::<Trades>(&p).unwrap();
    assert_eq!(g.rows().unwrap(), 2);
    g.push_row(row(2)).unwrap();
    g.close().unwrap();
    assert_eq!(o.open_group::<Trades>(&p).unwrap().rows().unwrap(), 3);
    let mut vec = OpenOptions::new()
        .commit_on_drop(false)
        .open::<u64>(&v)
        .unwrap();
    vec.push(5).unwrap();
    drop(vec);
    assert_eq!(MmapedVec::<u64>::open(&v).unwrap()[..], [1]);
}

#[test]
fn columns_grow_on_several_threads_at_once_without_sharing_blocks() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g = Group::<(u64, u32, u16)>::open(&p).unwrap();
    let n = 700_000usize;
    {
        let (a, b, c) = g.columns_mut();
        std::thread::scope(|s| {
            s.spawn(|| (0..n).for_each(|i| a.push(i as u64).unwrap()));
            s.spawn(|| (0..n).for_each(|i| b.push(i as u32).unwrap()));
            s.spawn(|| (0..n).for_each(|i| c.push(i as u16).unwrap()));
        });
    }
    g.sync().unwrap();
    drop(g);
    let g = Group::<(u64, u32, u16)>::open(&p).unwrap();
    let (a, b, c) = g.columns();
    assert_eq!((a.len(), b.len(), c.len()), (n, n, n));
    for i in 0..n {
        assert_eq!(
            (a[i], b[i], c[i]),
            (i as u64, i as u32, i as u16),
            "row {i}"
        );
    }
}

#[test]
fn an_interrupted_creation_opens_as_a_new_group() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g = Group::<(u64, u8)>::open(&p).unwrap();
    g.push_row((1, 2)).unwrap();
    drop(g);
    // The page a creation writes, with its slot sector never written.
    let created = dir.path().join("new.bin");
    drop(Group::<(u64, u8)>::open(&created).unwrap());
    let mut page = std::fs::read(&created).unwrap();
    assert_eq!(page.len(), 4096, "a new group is its header page");
    page[512..1024].fill(0);
    std::fs::write(&created, &page).unwrap();
    assert_eq!(inspect(&created).unwrap().kind, FileKind::Uncreated);
    let mut live = OpenOptions::new()
        .open_group_live::<(u64, u8)>(&created)
        .unwrap();
    assert_eq!((live.generation(), live.columns().0.len()), (0, 0));
    let mut g = Group::<(u64, u8)>::open(&created).unwrap();
    assert_eq!(g.generation(), 0);
    g.push_row((5, 6)).unwrap();
    g.sync().unwrap();
    assert!(live.refresh().unwrap());
    assert_eq!(live.get_row(0), Some((5, 6)));
    // An empty file too.
    let empty = dir.path().join("empty.bin");
    std::fs::write(&empty, b"").unwrap();
    assert_eq!(Group::<(u64, u8)>::open(&empty).unwrap().generation(), 0);
    // A missing one: the live reader does not create it.
    let missing = dir.path().join("missing.bin");
    let e = OpenOptions::new()
        .open_group_live::<(u64, u8)>(&missing)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(!missing.exists());
}

#[test]
fn a_live_reader_sees_commits_only_and_every_column_at_one_generation() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g: Group<Trades> = opts().open_group(&p).unwrap();
    let mut r: LiveGroup<Trades> = opts().open_group_live(&p).unwrap();
    assert!(!r.refresh().unwrap());
    g.push_row(row(0)).unwrap();
    assert!(!r.refresh().unwrap(), "not committed");
    assert_eq!(r.columns().0.len(), 0);
    g.sync().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!((r.generation(), r.get_row(0)), (1, Some(row(0))));
    // Past block 0 of every column (2 MiB of u64): the reader maps the new blocks.
    let n = 400_000u64;
    for i in 1..n {
        g.push_row(row(i)).unwrap();
    }
    g.sync().unwrap();
    assert!(r.refresh().unwrap());
    let (t, pr, q) = r.columns();
    assert_eq!(
        (t.len(), pr.len(), q.len()),
        (n as usize, n as usize, n as usize)
    );
    assert!(t.iter().enumerate().all(|(i, x)| x == i as u64));
    let mut buf = [0u32; 1000];
    assert_eq!(q.copy_to(n as usize - 10, &mut buf), 10);
    assert_eq!(buf[9], row(n - 1).2);
    assert_eq!(pr.get(n as usize - 1), Some(row(n - 1).1));
    assert_eq!(pr.get(n as usize), None);
    // In place: shows at once, without a new generation.
    g.columns_mut().2[5] = 12345;
    assert!(!r.refresh().unwrap());
    assert_eq!(r.columns().2.get(5), Some(12345));
    // A shorter commit is seen as it is.
    g.truncate_rows(3);
    g.sync().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.columns().1.len(), 3);
}

/// A writer thread commits rows of three columns while a reader refreshes as fast as it can:
/// at every generation it adopts, every column has the same length (the writer only ever
/// commits whole rows) and every element is right.
#[test]
fn live_readers_never_see_a_mix_of_generations() {
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    let mut g: Group<Trades> = opts().open_group(&p).unwrap();
    let mut r: LiveGroup<Trades> = opts().open_group_live(&p).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let commits = Arc::new(AtomicU64::new(0));
    let (d2, c2) = (done.clone(), commits.clone());
    let writer = std::thread::spawn(move || {
        let mut rng = common::rng("live_readers_never_see_a_mix_of_generations");
        let start = Instant::now();
        let mut n = 0u64;
        // Bounded in time and in rows (on tmpfs commits cost nothing, and a full disk would
        // end the writer early, with the reader waiting for it).
        while start.elapsed() < Duration::from_secs(3) && n < 400_000 {
            let batch = rng.u64(1..3000);
            for i in n..n + batch {
                let (t, pr, q) = g.columns_mut();
                t.push(row(i).0).unwrap();
                pr.push(row(i).1).unwrap();
                q.push(row(i).2).unwrap();
            }
            n += batch;
            if rng.u8(..10) == 0 && n > 100 {
                n -= 50;
                g.truncate_rows(n as usize);
            }
            g.sync().unwrap();
            c2.fetch_add(1, Ordering::SeqCst);
        }
        d2.store(true, Ordering::SeqCst);
        g
    });
    let (mut seen, mut last_gen) = (0u64, 0u64);
    // A writer that panics (a full disk) ends the loop too; `join` then reports it.
    while !done.load(Ordering::SeqCst) && !writer.is_finished() {
        if r.refresh().unwrap() {
            seen += 1;
            assert!(r.generation() > last_gen, "generations only go forward");
            last_gen = r.generation();
            let (t, pr, q) = r.columns();
            let len = t.len();
            assert_eq!((pr.len(), q.len()), (len, len), "a mix of generations");
            for i in [0, len / 2, len.saturating_sub(1)] {
                if i < len {
                    let got = (t.get(i).unwrap(), pr.get(i).unwrap(), q.get(i).unwrap());
                    assert_eq!(got, row(i as u64));
                }
            }
        }
    }
    let g = writer.join().unwrap();
    r.refresh().unwrap();
    assert_eq!(r.generation(), g.generation());
    println!(
        "live group: {} commits, {seen} adopted by the reader",
        commits.load(Ordering::SeqCst)
    );
    assert!(seen > 1);
}

/// A live reader in this process follows a writer in another one (this test binary again).
#[test]
fn a_live_reader_follows_a_writer_in_another_process() {
    const WRITER: &str = "PERSISTENCE_GROUP_WRITER";
    if let Ok(path) = std::env::var(WRITER) {
        let mut g: Group<Trades> = opts().open_group(&path).unwrap();
        for i in 0..2000 {
            g.push_row(row(i)).unwrap();
            if i % 100 == 99 {
                g.sync().unwrap();
            }
        }
        return;
    }
    let dir = common::tmpdir();
    let p = dir.path().join("g.bin");
    drop(opts().open_group::<Trades>(&p).unwrap());
    let mut r: LiveGroup<Trades> = opts().open_group_live(&p).unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_live_reader_follows_a_writer_in_another_process",
            "-q",
        ])
        .env(WRITER, &p)
        .spawn()
        .unwrap();
    let mut lens = Vec::new();
    loop {
        let exited = child.try_wait().unwrap();
        if r.refresh().unwrap() {
            let (t, pr, q) = r.columns();
            assert_eq!((t.len(), pr.len()), (q.len(), q.len()));
            assert_eq!(t.len() % 100, 0, "only the commits' lengths");
            lens.push(t.len());
        }
        if let Some(status) = exited {
            assert!(status.success());
            r.refresh().unwrap();
            break;
        }
    }
    assert_eq!(r.columns().0.len(), 2000);
    assert_eq!(r.get_row(1999), Some(row(1999)));
    assert!(lens.windows(2).all(|w| w[0] < w[1]));
}

/// `refresh` with nothing new makes no system call: under seccomp strict mode (where any
/// system call but `read`, `write` and `exit` kills the thread), a reader thread refreshes
/// while the writer commits, adopting what the mapped header shows; new blocks need
/// `mmap`, so the writer stays within the blocks the reader mapped before.
#[test]
fn refresh_makes_no_system_call_when_nothing_is_new() {
    const T: &str = "refresh_makes_no_system_call_when_nothing_is_new";
    let dir = common::tmpdir();
    common::child::isolated(T, dir.path(), |dir| {
        static RESULT: AtomicU64 = AtomicU64::new(0);
        static TID: AtomicU64 = AtomicU64::new(0);
        let p = dir.join("g.bin");
        let mut g = Group::<(u64, u32)>::open(&p).unwrap();
        g.push_row((0, 0)).unwrap();
        g.sync().unwrap();
        let mut r = OpenOptions::new()
            .open_group_live::<(u64, u32)>(&p)
            .unwrap();
        r.refresh().unwrap();
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            TID.store(unsafe { libc::gettid() } as u64, Ordering::SeqCst);
            // SAFETY: prctl with constant arguments.
            let rc = unsafe {
                libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_STRICT as libc::c_ulong,
                    0,
                    0,
                    0,
                )
            };
            if rc != 0 {
                RESULT.store(1, Ordering::SeqCst);
                d2.store(true, Ordering::SeqCst);
                return;
            }
            // From here on: no system call but read, write and exit.
            let (mut changes, mut bad) = (0u64, false);
            // At least 2 M refreshes, and on until 5 commits were adopted (a loaded machine
            // may run the writer late); no clock here: no system call may be made.
            let mut spins = 0u64;
            while spins < 2_000_000 || (changes < 5 && spins < 4_000_000_000) {
                spins += 1;
                match r.refresh() {
                    Ok(true) => {
                        changes += 1;
                        let (a, b) = r.columns();
                        let n = a.len();
                        bad |= n != b.len() || a.get(n - 1) != Some(n as u64 - 1);
                    }
                    Ok(false) => {}
                    Err(_) => bad = true,
                }
            }
            RESULT.store(if bad { 2 } else { 3 + changes }, Ordering::SeqCst);
            d2.store(true, Ordering::SeqCst);
            // SAFETY: `exit` of this thread alone, as strict mode allows.
            unsafe { libc::syscall(libc::SYS_exit, 0) };
        });
        let start = Instant::now();
        let mut i = 1u64;
        while !done.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the reader hangs"
            );
            let tid = TID.load(Ordering::SeqCst);
            if tid != 0 && !Path::new(&format!("/proc/self/task/{tid}")).exists() {
                assert!(
                    done.load(Ordering::SeqCst),
                    "the reader thread was killed: it made a system call under seccomp strict mode"
                );
            }
            // Stay within block 0 of each column (the reader mapped it): 2 MiB of u64. At
            // the end of it, start again from one row (a shorter commit is a commit too).
            if i >= 200_000 {
                g.truncate_rows(1);
                i = 1;
            }
            for _ in 0..10 {
                g.push_row((i, i as u32)).unwrap();
                i += 1;
            }
            g.sync().unwrap();
        }
        match RESULT.load(Ordering::SeqCst) {
            0 => panic!("no result"),
            1 => eprintln!("SKIPPED: {T}: prctl(PR_SET_SECCOMP) refused"),
            2 => panic!("the reader saw a mix of generations, or an error"),
            x => {
                println!(
                    "group refresh under seccomp strict: {} commits adopted",
                    x - 3
                );
                assert!(x - 3 >= 3, "too few commits adopted");
            }
        }
        std::process::exit(0);
    });
}
