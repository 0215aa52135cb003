//! When a step of a group commit fails, `Group::sync()` returns the error and the previous
//! generation stays the one a reopen sees, every column at its previous length with its
//! previous data; except when only the final flush of the written slot failed: then the new
//! generation (whose data is durable) is what a reopen sees, and the next `sync` writes the
//! slot again and flushes it. A failed data flush poisons the group (every later `sync`
//! fails and writes nothing), and a reopen goes on from the previous generation. When a
//! column's growth fails at any of its system calls, the push returns the error, names the
//! column, and the group is unchanged and usable.
//!
//! Failures are injected with the test-only seam `persistence::test_hooks` (on for this
//! repository's builds): `inject(op, n, errno)` makes the call of `op` after `n` successful
//! ones fail, before it does anything, on the calling thread only. A group commit calls, in
//! order (`src/region/group.rs`, `GroupRegion::commit`): the data flush (`fdatasync` on
//! Linux, which covers the pages stored through the mappings; elsewhere an `msync` of each
//! changed column first), then, when a length changed, a `pwrite` of the slot (preceded by a
//! `pwrite` zeroing the target slot's checksum word when that slot was found torn) and an
//! `fdatasync` of it. [`steps`] lists them per kind of change, and
//! `one_group_commit_makes_its_calls_in_this_order` checks that list against the calls a
//! commit really makes (`test_hooks::observe`).
//!
//! "What a reopen sees" is checked two ways: by opening a byte copy of the file read-only
//! (what any process would read, while this writer still holds the lock), and by a real
//! reopen after the group was dropped (with `commit_on_drop(false)`, so that the drop
//! commits nothing) or after `close()` or a committing `Drop` failed the same way.

mod common;

use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;

use common::format::group::{self as gf, BLOCK0, SLOT_OFFSETS, SLOT_WORDS};
use common::format::{Order, HEADER_SIZE};
use persistence::test_hooks::{self as fault, Op};
use persistence::{Column, ErrorKind, Group, OpenOptions, Pod};

const EIO: i32 = 5;
const ENOMEM: i32 = 12;
const EFBIG: i32 = 27;
const ENOSPC: i32 = 28;
const EOPNOTSUPP: i32 = 95;

/// The group under test: three columns of different element sizes.
type Cols = (u64, u32, u8);
const SIZES: [usize; 3] = [8, 4, 1];

fn v0(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x00C0_FFEE
}

fn v1(i: usize) -> u32 {
    (i as u32).wrapping_mul(2_654_435_761) ^ 0xBEEF
}

fn v2(i: usize) -> u8 {
    (i as u8).wrapping_mul(31) ^ 0x5A
}

/// Row `i`: element `i` of every column.
fn row(i: usize) -> Cols {
    (v0(i), v1(i), v2(i))
}

/// The next element of every column, whatever their lengths: column `k` gets its element
/// number `len_k`, so that every element stays checkable when the lengths differ.
fn next_row(g: &Group<Cols>) -> Cols {
    let (a, b, c) = g.columns();
    (v0(a.len()), v1(b.len()), v2(c.len()))
}

fn opts(commit_on_drop: bool) -> OpenOptions {
    *OpenOptions::new()
        .magic(*b"GRPFAIL\0")
        .version(3)
        .commit_on_drop(commit_on_drop)
}

/// Every column's elements.
#[derive(Clone, PartialEq)]
struct Snap(Vec<u64>, Vec<u32>, Vec<u8>);

impl Snap {
    fn of(cols: (&[u64], &[u32], &[u8])) -> Snap {
        Snap(cols.0.to_vec(), cols.1.to_vec(), cols.2.to_vec())
    }

    fn lens(&self) -> [usize; 3] {
        [self.0.len(), self.1.len(), self.2.len()]
    }

    fn lens_u64(&self) -> [u64; 3] {
        self.lens().map(|l| l as u64)
    }

    /// Whether every element is its column's `v(i)`.
    fn all_values(&self) -> bool {
        self.0.iter().enumerate().all(|(i, &x)| x == v0(i))
            && self.1.iter().enumerate().all(|(i, &x)| x == v1(i))
            && self.2.iter().enumerate().all(|(i, &x)| x == v2(i))
    }
}

impl std::fmt::Debug for Snap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Snap(lens {:?})", self.lens())
    }
}

/// `got` is the previous generation `before`: every column at its length; elements changed
/// in place may hold either bytes (they reach the file page by page before any commit).
fn assert_previous(got: &Snap, before: &Snap, after: &Snap, what: &str) {
    assert_eq!(got.lens(), before.lens(), "{what}: the previous lengths");
    fn check<T: PartialEq + Copy + std::fmt::Debug>(
        got: &[T],
        before: &[T],
        after: &[T],
        k: usize,
        what: &str,
    ) {
        for (i, x) in got.iter().enumerate() {
            assert!(
                *x == before[i] || after.get(i) == Some(x),
                "{what}: column {k} element {i} is {x:?}, committed {:?}",
                before[i]
            );
        }
    }
    check(&got.0, &before.0, &after.0, 0, what);
    check(&got.1, &before.1, &after.1, 1, what);
    check(&got.2, &before.2, &after.2, 2, what);
}

fn header(path: &Path) -> Vec<u8> {
    let f = std::fs::File::open(path).unwrap();
    let mut page = vec![0u8; HEADER_SIZE];
    f.read_exact_at(&mut page, 0).unwrap();
    page
}

/// The valid slots of the file: (sequence, the three lengths), sorted.
fn valid_slots(path: &Path) -> Vec<(u64, [u64; 3])> {
    let page = header(path);
    let mut out: Vec<_> = (0..2)
        .filter_map(|w| gf::read_slot(&page, w, Order::Native))
        .map(|s| (s.seq, [s.lens[0], s.lens[1], s.lens[2]]))
        .collect();
    out.sort();
    out
}

/// The winning slot's index, sequence and lengths.
fn winner(path: &Path) -> (usize, u64, [u64; 3]) {
    let (w, s) = gf::winner(&header(path), Order::Native).expect("a valid slot");
    (w, s.seq, [s.lens[0], s.lens[1], s.lens[2]])
}

/// Opens a byte copy of the file read-only: what a reopen would see now. Returns every
/// column and the generation.
fn reopen_copy(path: &Path) -> (Snap, u64) {
    let copy = path.with_extension("copy");
    std::fs::copy(path, &copy).unwrap();
    let s = opts(false).open_group_read_only::<Cols>(&copy).unwrap();
    let out = (Snap::of(s.columns()), s.generation());
    drop(s);
    std::fs::remove_file(&copy).unwrap();
    out
}

/// A real reopen for writing: every column and the generation.
fn reopen(path: &Path) -> (Group<Cols>, Snap, u64) {
    let g = opts(false).open_group::<Cols>(path).unwrap();
    let snap = Snap::of(g.columns());
    let generation = g.generation();
    (g, snap, generation)
}

fn expect_injected(result: persistence::Result<()>, errno: i32, what: &str) -> persistence::Error {
    let e = match result {
        Ok(()) => panic!("{what}: succeeded although a step failed"),
        Err(e) => e,
    };
    assert!(
        !fault::pending(),
        "{what}: the injected failure did not fire"
    );
    assert_eq!(e.raw_os_error(), Some(errno), "{what}: {e}");
    assert!(!e.to_string().is_empty());
    e
}

/// The system calls `f` makes, in order, through the fault seam's observer (page-cache hints
/// left out: they change no byte and no durability).
fn observed_ops<R>(f: impl FnOnce() -> R) -> (Vec<Op>, R) {
    std::thread_local! {
        static SEEN: std::cell::RefCell<Vec<Op>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    fn record(op: Op) {
        if op != Op::Advise {
            SEEN.with(|s| s.borrow_mut().push(op));
        }
    }
    SEEN.with(|s| s.borrow_mut().clear());
    fault::observe(Some(record));
    let r = f();
    fault::observe(None);
    (SEEN.with(|s| s.borrow().clone()), r)
}

fn ops_of(f: impl FnOnce()) -> Vec<Op> {
    observed_ops(f).0
}

/// Whether a commit's `fdatasync` covers the pages stored through the mappings (Linux): then
/// it replaces the per-column `msync`.
const FDATASYNC_COVERS_MSYNC: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// The changes a commit can carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Change {
    /// Appends to one column only (column 1), within its capacity.
    OneColumn,
    /// `push_row`s: every column's length changes, within the capacity.
    EveryColumn,
    /// Elements of every column changed in place: no length changes, so no slot.
    InPlace,
    /// `truncate_rows`: lengths change, no element does: no data flush.
    Truncate,
    /// Appends that take every column past its first block (new blocks, new table
    /// entries, disk space reserved) right before the commit.
    AfterGrowth,
    /// `push_row`s into a group whose other slot was found torn on open: the slot's
    /// checksum word is zeroed by a `pwrite` of its own before the slot is written.
    TornTarget,
}

const CHANGES: [Change; 6] = [
    Change::OneColumn,
    Change::EveryColumn,
    Change::InPlace,
    Change::Truncate,
    Change::AfterGrowth,
    Change::TornTarget,
];

/// The steps of a group commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// `msync` of one column's changed pages (not on Linux).
    DataMsync,
    /// The `fdatasync` that makes every column's data durable.
    DataFlush,
    /// The `pwrite` that zeroes a torn target slot's checksum word.
    TornZero,
    /// The `pwrite` of the new slot.
    SlotWrite,
    /// The `fdatasync` of the slot.
    SlotFlush,
}

/// How many columns hold changed elements after `change`.
fn dirty_columns(change: Change) -> usize {
    match change {
        Change::Truncate => 0,
        Change::OneColumn => 1,
        _ => 3,
    }
}

/// The data steps of a commit of `change`.
fn data_steps(change: Change) -> Vec<(Step, Op)> {
    let mut s = Vec::new();
    let dirty = dirty_columns(change);
    if !FDATASYNC_COVERS_MSYNC {
        s.extend(std::iter::repeat_n((Step::DataMsync, Op::Msync), dirty));
    }
    if dirty > 0 {
        s.push((Step::DataFlush, Op::SyncFile));
    }
    s
}

/// The steps of the commit of `change`, in order.
fn steps(change: Change) -> Vec<(Step, Op)> {
    let mut s = data_steps(change);
    if change == Change::InPlace {
        return s;
    }
    if change == Change::TornTarget {
        s.push((Step::TornZero, Op::Write));
    }
    s.push((Step::SlotWrite, Op::Write));
    s.push((Step::SlotFlush, Op::SyncFile));
    s
}

fn ops(steps: &[(Step, Op)]) -> Vec<Op> {
    steps.iter().map(|s| s.1).collect()
}

const BASE: usize = 1000;
const MORE: usize = 300;

/// Makes the slot that does not win invalid (a byte of its first length flipped), as a
/// write torn by a crash leaves it; returns its index.
fn tear_other_slot(path: &Path) -> usize {
    let (w, _, _) = winner(path);
    let other = 1 - w;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .unwrap();
    let at = (SLOT_OFFSETS[other] + 8) as u64;
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).unwrap();
    f.write_all_at(&[b[0] ^ 0x40], at).unwrap();
    assert!(gf::read_slot(&header(path), other, Order::Native).is_none());
    other
}

/// A group committed with `BASE` rows and room for `MORE` in every column; then `change`
/// applied, not committed. Returns the group, the committed columns and the new ones.
fn prepare(path: &Path, change: Change, commit_on_drop: bool) -> (Group<Cols>, Snap, Snap) {
    let mut g = opts(commit_on_drop).open_group::<Cols>(path).unwrap();
    for i in 0..BASE {
        g.push_row(row(i)).unwrap();
    }
    {
        let (a, b, c) = g.columns_mut();
        a.reserve(MORE).unwrap();
        b.reserve(MORE).unwrap();
        c.reserve(MORE).unwrap();
    }
    g.sync().unwrap();
    if change == Change::TornTarget {
        g.close().unwrap();
        let torn = tear_other_slot(path);
        g = opts(commit_on_drop).open_group::<Cols>(path).unwrap();
        assert_eq!(
            winner(path).0,
            1 - torn,
            "the writer's open keeps the winner"
        );
        assert!(gf::read_slot(&header(path), torn, Order::Native).is_none());
    }
    let before = Snap::of(g.columns());
    let file_len = std::fs::metadata(path).unwrap().len();
    match change {
        Change::OneColumn => {
            let more: Vec<u32> = (BASE..BASE + MORE).map(v1).collect();
            g.columns_mut().1.extend_from_slice(&more).unwrap();
        }
        Change::EveryColumn | Change::TornTarget => {
            for i in BASE..BASE + MORE {
                g.push_row(row(i)).unwrap();
            }
        }
        Change::InPlace => {
            let (a, b, c) = g.columns_mut();
            for i in [3, BASE / 2, BASE - 1] {
                a[i] = !v0(i);
                b[i] = !v1(i);
                c[i] = !v2(i);
            }
        }
        Change::Truncate => g.truncate_rows(BASE - 100),
        Change::AfterGrowth => {
            // Past the first block (2 MiB of each column): a new block for every column.
            let (a, b, c) = g.columns_mut();
            let n = |size: usize| BASE + BLOCK0 as usize / size + 100;
            a.extend_from_slice(&(BASE..n(8)).map(v0).collect::<Vec<_>>())
                .unwrap();
            b.extend_from_slice(&(BASE..n(4)).map(v1).collect::<Vec<_>>())
                .unwrap();
            c.extend_from_slice(&(BASE..n(1)).map(v2).collect::<Vec<_>>())
                .unwrap();
            let grown = std::fs::metadata(path).unwrap().len();
            assert!(
                grown >= file_len + 3 * 2 * BLOCK0,
                "the appends must add a block to every column: {file_len} -> {grown}"
            );
        }
    }
    if change != Change::AfterGrowth {
        assert_eq!(
            std::fs::metadata(path).unwrap().len(),
            file_len,
            "{change:?} must fit the capacity"
        );
    }
    let after = Snap::of(g.columns());
    (g, before, after)
}

/// Every errno a step's failure is injected with: an I/O error, and a full disk for the
/// writes.
fn errno_for(step: Step) -> i32 {
    match step {
        Step::TornZero | Step::SlotWrite => ENOSPC,
        _ => EIO,
    }
}

#[test]
fn one_group_commit_makes_its_calls_in_this_order() {
    for change in CHANGES {
        let dir = common::tmpdir();
        let path = common::path_in(&dir, "g.bin");
        let (mut g, _, after) = prepare(&path, change, false);
        let gen = g.generation();
        let got = ops_of(|| g.sync().unwrap());
        assert_eq!(
            got,
            ops(&steps(change)),
            "{change:?}: the calls of one commit"
        );
        // The slot is written iff a length changed, and only then the generation moves.
        let wrote_slot = got.contains(&Op::Write);
        assert_eq!(wrote_slot, change != Change::InPlace, "{change:?}");
        assert_eq!(g.generation(), gen + u64::from(wrote_slot), "{change:?}");
        // Nothing new: no call at all.
        assert_eq!(
            ops_of(|| g.sync().unwrap()),
            [],
            "{change:?}: an empty commit"
        );
        drop(g);
        let (g, snap, generation) = reopen(&path);
        assert_eq!(snap, after, "{change:?}: reopened");
        assert_eq!(generation, gen + u64::from(wrote_slot), "{change:?}");
        drop(g);
    }

    // A writer's open of an existing group rewrites the winning slot (same bytes) and flushes
    // it, before anything else is written.
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "g.bin");
    let (g, _, _) = prepare(&path, Change::EveryColumn, true);
    g.close().unwrap();
    let bytes = common::read(&path);
    let (got, g) = observed_ops(|| opts(false).open_group::<Cols>(&path).unwrap());
    let writes: Vec<Op> = got
        .iter()
        .copied()
        .filter(|op| matches!(op, Op::Write | Op::SyncFile | Op::Msync | Op::Truncate))
        .collect();
    assert_eq!(
        writes,
        [Op::Write, Op::SyncFile],
        "a writer's open: {got:?}"
    );
    assert!(
        common::read(&path) == bytes,
        "a writer's open changed the file"
    );
    drop(g);
}

#[test]
fn a_failed_group_commit_step_keeps_the_previous_generation() {
    for change in CHANGES {
        let plan = steps(change);
        for (i, &(step, op)) in plan.iter().enumerate() {
            let skip = plan[..i].iter().filter(|s| s.1 == op).count() as u32;
            let errno = errno_for(step);
            let what = format!("{change:?}, {step:?} ({op:?} #{skip}) fails with {errno}");
            let dir = common::tmpdir();
            let path = common::path_in(&dir, "g.bin");
            let (mut g, before, after) = prepare(&path, change, false);
            let header_before = header(&path);
            let gen = g.generation();
            let prev_seq = gen + 1;
            let (w, seq, lens) = winner(&path);
            assert_eq!((seq, lens), (prev_seq, before.lens_u64()), "{what}");
            let target = 1 - w;

            fault::inject(op, skip, errno);
            let e = expect_injected(g.sync(), errno, &what);
            if errno == ENOSPC {
                assert_eq!(e.kind(), ErrorKind::OutOfSpace, "{what}: {e}");
            }
            // The writer still has the new contents.
            assert!(Snap::of(g.columns()) == after, "{what}: contents in memory");

            if step == Step::SlotFlush {
                // The slot was written: a reopen sees the new generation, whose data the
                // data step made durable.
                assert_eq!(g.generation(), gen + 1, "{what}");
                assert_eq!(
                    winner(&path),
                    (target, prev_seq + 1, after.lens_u64()),
                    "{what}"
                );
                let (snap, generation) = reopen_copy(&path);
                assert!(snap == after, "{what}: a reopen sees the new generation");
                assert_eq!(generation, gen + 1, "{what}");
                // The retry writes the same slot again (its page may have been marked clean
                // without reaching the disk), flushes it, and changes nothing else.
                let header_failed = header(&path);
                let got = ops_of(|| g.sync().unwrap());
                let mut want = vec![Op::Write];
                want.extend(
                    ops(&data_steps(change))
                        .into_iter()
                        .filter(|&o| o == Op::Msync),
                );
                want.push(Op::SyncFile);
                assert_eq!(got, want, "{what}: the retry");
                assert!(
                    header(&path) == header_failed,
                    "{what}: the retry changed the header"
                );
                assert_eq!(g.generation(), gen + 1, "{what}");
                // The next commit writes the other slot, as usual.
                g.push_row(next_row(&g)).unwrap();
                let want = Snap::of(g.columns());
                assert_eq!(
                    ops_of(|| g.sync().unwrap()),
                    ops(&steps(Change::EveryColumn)),
                    "{what}: the next commit"
                );
                assert_eq!(winner(&path).0, w, "{what}: the next commit's slot");
                drop(g);
                let (g, snap, generation) = reopen(&path);
                assert!(snap == want, "{what}: reopened after the next commit");
                assert!(snap.all_values(), "{what}");
                assert_eq!(generation, gen + 2, "{what}");
                drop(g);
                continue;
            }

            // Otherwise the previous generation stands: the same winner, and every reader
            // gets it.
            assert_eq!(g.generation(), gen, "{what}");
            let mut header_want = header_before.clone();
            if step == Step::SlotWrite && change == Change::TornTarget {
                // The torn slot's checksum word was zeroed before the slot write failed.
                let at = SLOT_OFFSETS[target] + 8 * (SLOT_WORDS - 1);
                header_want[at..at + 8].fill(0);
            }
            assert!(
                header(&path) == header_want,
                "{what}: the header page changed"
            );
            assert_eq!(winner(&path), (w, prev_seq, before.lens_u64()), "{what}");
            let (snap, generation) = reopen_copy(&path);
            assert_previous(&snap, &before, &after, &what);
            assert_eq!(generation, gen, "{what}: a reopen's generation");

            if matches!(step, Step::TornZero | Step::SlotWrite) {
                // Retried: the data is flushed again (it still counts as changed), the
                // target's checksum word zeroed first (it may hold part of the failed
                // write), and the slot written with the next sequence number: the failed
                // write spent one.
                let got = ops_of(|| g.sync().unwrap());
                let mut want = ops(&data_steps(change));
                want.extend([Op::Write, Op::Write, Op::SyncFile]);
                assert_eq!(got, want, "{what}: the retry");
                assert_eq!(g.generation(), gen + 2, "{what}");
                assert_eq!(
                    valid_slots(&path),
                    [
                        (prev_seq, before.lens_u64()),
                        (prev_seq + 2, after.lens_u64())
                    ],
                    "{what}: slots after the retry"
                );
                let (snap, _) = reopen_copy(&path);
                assert!(snap == after, "{what}: after the retry");
                drop(g);
                let (g, snap, generation) = reopen(&path);
                assert!(snap == after, "{what}: reopened after the retry");
                assert_eq!(generation, gen + 2, "{what}");
                drop(g);
                continue;
            }

            // The data may not be on disk: every later commit is refused, with the same
            // error, and writes nothing.
            for _ in 0..2 {
                let (got, r) = observed_ops(|| g.sync());
                let e = r.unwrap_err();
                assert_eq!(got, [], "{what}: a refused commit made calls");
                assert_eq!(
                    e.kind(),
                    ErrorKind::Io,
                    "{what}: retry after a data failure"
                );
                assert_eq!(e.raw_os_error(), Some(errno), "{what}");
                assert!(e.to_string().contains("earlier sync failed"), "{what}: {e}");
            }
            // More changes do not get it going again either.
            g.push_row(next_row(&g)).unwrap();
            assert!(g.sync().is_err(), "{what}: a commit after more changes");
            assert!(
                header(&path) == header_before,
                "{what}: a refused commit wrote"
            );
            // Dropped without committing (`commit_on_drop(false)`), reopened: the previous
            // generation, and it commits again.
            drop(g);
            let (mut g, snap, generation) = reopen(&path);
            assert_previous(&snap, &before, &after, &what);
            assert_eq!(generation, gen, "{what}");
            g.push_row(next_row(&g)).unwrap();
            g.sync().unwrap();
            assert_eq!(g.generation(), gen + 1, "{what}");
            let want = Snap::of(g.columns());
            drop(g);
            let (snap, generation) = reopen_copy(&path);
            assert!(snap == want, "{what}: the commit after the reopen");
            assert_eq!(generation, gen + 1, "{what}");
        }
    }
}

/// The group goes away while its commit fails: `close()` returns the error, a committing
/// `Drop` swallows it, and a real reopen sees the previous generation (or, when only the
/// slot's flush failed, the new one: the slot was written and its data is durable).
#[test]
fn close_or_drop_that_fails_to_commit_leaves_the_previous_generation() {
    for change in CHANGES {
        let plan = steps(change);
        for (i, &(step, op)) in plan.iter().enumerate() {
            let skip = plan[..i].iter().filter(|s| s.1 == op).count() as u32;
            let errno = errno_for(step);
            for use_close in [true, false] {
                let what = format!(
                    "{change:?}, {step:?} fails in {}",
                    if use_close { "close()" } else { "Drop" }
                );
                let dir = common::tmpdir();
                let path = common::path_in(&dir, "g.bin");
                let (g, before, after) = prepare(&path, change, true);
                let gen = g.generation();
                fault::inject(op, skip, errno);
                if use_close {
                    expect_injected(g.close(), errno, &what);
                } else {
                    drop(g);
                    assert!(!fault::pending(), "{what}: Drop did not try to commit");
                }
                let (g, snap, generation) = reopen(&path);
                if step == Step::SlotFlush {
                    assert!(snap == after, "{what}: the written slot's generation");
                    assert_eq!(generation, gen + 1, "{what}");
                } else {
                    assert_previous(&snap, &before, &after, &what);
                    assert_eq!(generation, gen, "{what}");
                }
                drop(g);
            }
        }
    }
}

/// A group's observable state, to show that a failed growth changed nothing.
#[derive(Debug, PartialEq)]
struct State {
    lens: [usize; 3],
    capacities: [usize; 3],
    generation: u64,
    /// Both slots' bytes.
    slots: Vec<u8>,
    contents: Snap,
}

fn state(g: &mut Group<Cols>, path: &Path) -> State {
    let generation = g.generation();
    let contents = Snap::of(g.columns());
    let (a, b, c) = g.columns_mut();
    State {
        lens: [a.len(), b.len(), c.len()],
        capacities: [a.capacity(), b.capacity(), c.capacity()],
        generation,
        slots: header(path)[SLOT_OFFSETS[0]..SLOT_OFFSETS[1] + 8 * SLOT_WORDS].to_vec(),
        contents,
    }
}

/// Grows `c` to exactly its first block (2 MiB) and fills it with `value(i)`: its next
/// growth needs new blocks.
fn fill_first_block<T: Pod>(c: &mut Column<T>, value: impl Fn(usize) -> T) {
    let cap = BLOCK0 as usize / std::mem::size_of::<T>();
    c.reserve_exact(cap - c.len()).unwrap();
    assert_eq!(c.capacity(), cap, "reserve_exact to the first block's end");
    let more: Vec<T> = (c.len()..cap).map(value).collect();
    c.extend_from_slice(&more).unwrap();
    assert_eq!((c.len(), c.capacity()), (cap, cap));
}

/// Disk bytes the file holds.
fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().blocks() * 512
}

/// How growth fails.
struct GrowthFailure {
    what: &'static str,
    op: Op,
    errno: i32,
    /// Every call fails (a disk that stays full), else only the first.
    always: bool,
    /// The push's error, or `None` when the failure is one growth works around.
    kind: Option<ErrorKind>,
}

const GROWTH_FAILURES: [GrowthFailure; 6] = [
    GrowthFailure {
        what: "fallocate ENOSPC",
        op: Op::Allocate,
        errno: ENOSPC,
        always: true,
        kind: Some(ErrorKind::OutOfSpace),
    },
    GrowthFailure {
        what: "ftruncate EIO (adding a block)",
        op: Op::Truncate,
        errno: EIO,
        always: false,
        kind: Some(ErrorKind::Io),
    },
    GrowthFailure {
        what: "ftruncate EFBIG (adding a block)",
        op: Op::Truncate,
        errno: EFBIG,
        always: true,
        kind: Some(ErrorKind::FileTooLarge),
    },
    GrowthFailure {
        what: "pwrite EIO (the block table entry)",
        op: Op::Write,
        errno: EIO,
        always: false,
        kind: Some(ErrorKind::Io),
    },
    GrowthFailure {
        what: "mmap ENOMEM (the column's blocks)",
        op: Op::Map,
        errno: ENOMEM,
        always: false,
        kind: Some(ErrorKind::Io),
    },
    GrowthFailure {
        what: "fallocate EOPNOTSUPP (zeros written instead)",
        op: Op::Allocate,
        errno: EOPNOTSUPP,
        always: true,
        kind: None,
    },
];

/// A push into column `k` (of 3) that needs new blocks, failing at each system call of the
/// growth but the `mmap` (next test): the push returns the error and names column `k`, no
/// column changed, the committed generation is intact, and the group goes on (the same push
/// works next, and commits). Run in a child process: a store past a column's mapping would
/// be a signal.
#[test]
fn a_failed_growth_in_any_column_leaves_the_group_unchanged_and_usable() {
    let dir = common::tmpdir();
    common::child::isolated(
        "a_failed_growth_in_any_column_leaves_the_group_unchanged_and_usable",
        dir.path(),
        |dir| growth_failures(dir, |f| f.op != Op::Map),
    );
}

/// As above, for the `mmap` of a column's blocks after new ones were added: the push fails,
/// and the next push (which finds the blocks already in the table) must map them before it
/// stores into them.
#[test]
fn a_failed_mmap_of_new_blocks_leaves_the_group_unchanged_and_usable() {
    let dir = common::tmpdir();
    common::child::isolated(
        "a_failed_mmap_of_new_blocks_leaves_the_group_unchanged_and_usable",
        dir.path(),
        |dir| growth_failures(dir, |f| f.op == Op::Map),
    );
}

fn growth_failures(dir: &Path, which: fn(&GrowthFailure) -> bool) {
    for k in 0..3 {
        for (n, f) in GROWTH_FAILURES.iter().enumerate().filter(|(_, f)| which(f)) {
            let what = format!("push_row growing column {k}, {}", f.what);
            eprintln!("{what}");
            let path = dir.join(format!("g-{k}-{n}.bin"));
            let mut g = opts(false).open_group::<Cols>(&path).unwrap();
            for i in 0..BASE {
                g.push_row(row(i)).unwrap();
            }
            {
                let (a, b, c) = g.columns_mut();
                match k {
                    0 => fill_first_block(a, v0),
                    1 => fill_first_block(b, v1),
                    _ => fill_first_block(c, v2),
                }
            }
            g.sync().unwrap();
            let was = state(&mut g, &path);
            for j in 0..3 {
                assert_eq!(
                    was.capacities[j] > was.lens[j],
                    j != k,
                    "{what}: only column {k} must need to grow"
                );
            }
            let file_len = std::fs::metadata(&path).unwrap().len();
            let disk = allocated(&path);

            if f.always {
                fault::inject_always(f.op, f.errno);
            } else {
                fault::inject(f.op, 0, f.errno);
            }
            let (got, pushed) = observed_ops(|| g.push_row(next_row(&g)));
            let fired = !fault::pending() && got.contains(&f.op);
            fault::clear();
            assert!(fired, "{what}: the failure did not fire: {got:?}");
            let Some(kind) = f.kind else {
                // No fallocate: growth writes zeros over the new bytes instead (pwrites
                // after the failed fallocate), and the push succeeds.
                pushed.unwrap_or_else(|e| panic!("{what}: {e}"));
                let at = got.iter().position(|&o| o == Op::Allocate).unwrap();
                assert!(
                    got[at..].contains(&Op::Write),
                    "{what}: no zeros written after fallocate failed: {got:?}"
                );
                let grown = g.columns_mut();
                let cap = [grown.0.capacity(), grown.1.capacity(), grown.2.capacity()];
                assert!(cap[k] > was.capacities[k], "{what}");
                g.sync().unwrap();
                let more = (cap[k] - was.capacities[k]) * SIZES[k];
                assert!(
                    allocated(&path) >= disk + more as u64,
                    "{what}: {more} bytes of capacity added, but the file's disk blocks went \
                     from {disk} to {}",
                    allocated(&path)
                );
                usable_after(g, &path, &what);
                std::fs::remove_file(&path).unwrap();
                continue;
            };
            let e = pushed.unwrap_err();
            assert_eq!(e.kind(), kind, "{what}: {e}");
            assert_eq!(e.raw_os_error(), Some(f.errno), "{what}: {e}");
            assert_eq!(e.column(), Some(k), "{what}: the column named");
            assert!(
                state(&mut g, &path) == was,
                "{what}: the failed push changed the group: {:?} -> {:?}",
                was,
                state(&mut g, &path)
            );
            if f.op == Op::Truncate {
                assert_eq!(
                    std::fs::metadata(&path).unwrap().len(),
                    file_len,
                    "{what}: the file's size"
                );
            }
            // The committed generation is what a reopen sees.
            let (snap, generation) = reopen_copy(&path);
            assert!(snap == was.contents, "{what}: a reopen after the failure");
            assert_eq!(generation, was.generation, "{what}");
            // A commit with nothing new is fine, and changes no generation.
            g.sync().unwrap();
            assert_eq!(g.generation(), was.generation, "{what}");
            usable_after(g, &path, &what);
            std::fs::remove_file(&path).unwrap();
        }
    }
}

/// The group goes on: rows pushed (column `k` grows now), committed, and a reopen shows
/// every column with every element right.
fn usable_after(mut g: Group<Cols>, path: &Path, what: &str) {
    let generation = g.generation();
    for _ in 0..1000 {
        g.push_row(next_row(&g)).unwrap();
    }
    g.sync().unwrap();
    assert_eq!(g.generation(), generation + 1, "{what}");
    let want = Snap::of(g.columns());
    assert!(want.all_values(), "{what}: the writer's columns");
    drop(g);
    let s = opts(false).open_group_read_only::<Cols>(path).unwrap();
    let got = Snap::of(s.columns());
    assert_eq!(got.lens(), want.lens(), "{what}: reopened");
    assert!(
        got.all_values(),
        "{what}: an element is wrong after reopening"
    );
    assert_eq!(s.generation(), generation + 1, "{what}");
}

/// A writer's open that fails at its rewrite of the winning slot, or at that slot's flush,
/// or while reserving the capacity asked for, returns the error and leaves the file as
/// committed; the next open works.
#[test]
fn a_failed_writer_open_leaves_the_file_as_committed() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "g.bin");
    let (g, _, after) = prepare(&path, Change::EveryColumn, true);
    g.close().unwrap();
    let bytes = common::read(&path);
    let slots = valid_slots(&path);
    for (what, op, errno) in [
        ("slot rewrite pwrite", Op::Write, EIO),
        ("slot rewrite pwrite", Op::Write, ENOSPC),
        ("slot flush", Op::SyncFile, EIO),
    ] {
        let what = format!("open_group, {what} fails with {errno}");
        fault::inject(op, 0, errno);
        let e = opts(false).open_group::<Cols>(&path).unwrap_err();
        assert!(!fault::pending(), "{what}: the failure did not fire");
        assert_eq!(e.raw_os_error(), Some(errno), "{what}: {e}");
        assert!(
            common::read(&path) == bytes,
            "{what}: a failed open changed the file"
        );
        // The lock was released, and the group opens as committed.
        let (g, snap, _) = reopen(&path);
        assert!(snap == after, "{what}: reopened");
        drop(g);
        assert!(
            common::read(&path) == bytes,
            "{what}: the next open changed the file"
        );
    }

    // Capacity asked for at open that the disk cannot give: OutOfSpace, naming the first
    // column; the commit is untouched (new blocks may have been added past it).
    fault::inject_always(Op::Allocate, ENOSPC);
    let e = opts(false)
        .capacity(3 << 20)
        .open_group::<Cols>(&path)
        .unwrap_err();
    fault::clear();
    assert_eq!(e.kind(), ErrorKind::OutOfSpace, "{e}");
    assert_eq!(e.column(), Some(0), "{e}");
    assert_eq!(valid_slots(&path), slots, "open with capacity: the slots");
    let (mut g, snap, _) = reopen(&path);
    assert!(snap == after, "open with capacity: reopened");
    g.push_row(next_row(&g)).unwrap();
    g.sync().unwrap();
    let want = Snap::of(g.columns());
    drop(g);
    assert!(reopen_copy(&path).0 == want);
}
