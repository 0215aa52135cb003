//! Simulated power loss: whatever instant the power fails, the file opens to the last
//! commit or to the next one, never to a mix.
//!
//! A power loss keeps only what reached the disk. The test drives a `MmapedVec<u64>`
//! through many random commits (appends of 1 to 20 000 elements, log-uniform, crossing page
//! and growth boundaries; in-place writes `v[i] = x` and `set`; truncate-then-push; pops;
//! `shrink_to_fit`; now and then a step with nothing to commit), builds the disk images a
//! power loss between two commits could leave, writes each to a scratch file and opens it
//! (read-only, and every fourth read-write). Two models build the images.
//!
//! # Model 1: the format (as issue 3 states it)
//!
//! From the file bytes after commit k (`S_k`) and after commit k+1 (`S_k+1`): any subset of
//! the 512-byte sectors that differ reached the disk; sectors wholly past the committed data
//! may hold garbage; the file size is the old one or the new one; the sector of the slot
//! that commit k+1 writes is old, torn, garbage, or new, and new only when every data
//! sector is new (and the size too). Each image must open to exactly commit k unless the
//! new slot landed whole, then to exactly commit k+1, with every element right. An element
//! of commit k that was changed in place may hold its old or its new bytes (DESIGN.md
//! allows it; `u64` elements never straddle a sector, so no element is torn). The test
//! also asserts that a commit rewrites exactly one header sector, slot A's and slot B's in
//! turn, and nothing when there is nothing to commit.
//!
//! Model 1 checks recovery (slot choice, checksums, the fit check, torn and garbage slots),
//! but it *assumes* the commit order: it cannot see whether the library writes the slot
//! only after the data is durable.
//!
//! # Model 2: the protocol, observed
//!
//! Model 2 derives the possible disk states from what the library actually does. A commit
//! is: `msync` of the changed data pages, `fdatasync` when the file grew or was written with
//! `pwrite` (on Linux instead of the `msync`: it writes the mapped pages too), then the new
//! slot written with `pwrite` (never stored through the mapping), then `fdatasync`. The test
//! watches each commit at each of its durability calls (`msync` and `fdatasync`) and at the
//! slot's `pwrite`, with the test seam `fault::observe`, which calls the test just before
//! each call runs, so each observation sees the file at the instant that call was entered.
//! The test then reads
//!
//! * `P`, the file's bytes as the page cache holds them (what any reader sees: with a
//!   shared mapping, every store the library made is there), and
//! * which pages are still dirty, that is written but not yet on disk, with Linux's
//!   `cachestat(2)`. A clean page is on disk as it is in `P`.
//!
//! A power loss at that instant leaves: every clean page as in `P`; each sector of a dirty
//! page as in `S_k` or as in `P` (or garbage, wholly past the committed data); the slot
//! sector, when the header page is dirty and the slot's `pwrite` was entered before this
//! stop (the slot was written since the last commit, even if the failure path put the old
//! bytes back before returning), old, as in `P`, new (as in `S_k+1`), torn or garbage; and
//! the old file size unless a `fdatasync` was entered before the slot's `pwrite` (seen at
//! the `Op::SyncFile` stop) and so has completed by any later stop. Each image gets the
//! same open-and-check as in model 1, with `P` as one more allowed source of in-place
//! changed elements. Model 2 also checks that when `sync()` returns, no page of the header
//! or of the committed data is dirty: it is on disk, as the API promises (a page may stay
//! dirty only where every byte it holds of the commit is as the previous commit left it:
//! bytes written past a length and cut back share a page with committed ones).
//!
//! Of the three images built at each stop, the first is the worst case: the new slot
//! whenever it may have landed, and every dirty sector as in `S_k`. So a broken order
//! fails at the first stop that shows it, not by chance.
//!
//! What model 2 catches and model 1 cannot (each tried on the real code, see issue 3):
//!
//! * the data `msync` removed: at the slot's `fdatasync` stop the header and the data pages
//!   are dirty together, so the worst-case image pairs the new slot with old data sectors
//!   and opens to the new length with wrong elements; and the data pages are still dirty
//!   when `sync()` returns from a commit that did not grow the file;
//! * the commit order swapped (slot `pwrite` and its `fdatasync` before the data `msync`
//!   and the growth `fdatasync`): at the `fdatasync` stop of a growing commit the new slot is already on
//!   disk under the old file size (`Corrupt`); at the first `msync` stop the header page
//!   and the data pages are dirty together (wrong elements);
//! * the `fdatasync` after growth removed: the test reports that a grown file was
//!   committed without one (if it were moved after the slot, an image would pair the new
//!   slot with the old file size, which cannot hold the new length: `Corrupt`).
//!
//! Model 2 needs `cachestat` (Linux 6.5 or later) and a file system with writeback (the
//! file lives under `PERSISTENCE_TEST_DIR` when that is set, else under
//! `CARGO_TARGET_TMPDIR`; not in a tmpfs); without them the test prints a line saying so
//! and runs model 1 alone. The kernel may write pages back on its own
//! before the library asks: that makes pages clean early, which can only hide a broken
//! order in one step, never report a correct one as broken.
//!
//! # Commit groups
//!
//! `power_loss_of_a_group_opens_to_one_commit` runs both models on a `Group<(u64, u32)>`:
//! random commits that append to both columns (log-uniform sizes, now and then a different
//! number to each, so that the columns' lengths differ; `push_row` and
//! `extend_from_slice`), write in place (through the mapping and with `set`), truncate one
//! column or every one (`truncate_rows`), grow a column past a block boundary and cut it
//! back before the commit (a new block and table entry, no new length), and cross row
//! 262 144, where the `u64` column needs its second block (4 MiB, at the end of the sparse
//! file). Each growth reserves exactly (`reserve_exact`), so that the file stays at 10 MiB
//! (amortised growth would reserve 8 times the column past 2 MiB, and every crash image is
//! as large as the file). A commit's data is then each column's elements below its length,
//! in the blocks the table names (read from the bytes through `common::format::group`,
//! independently of the library), and each image must open to commit k or k+1 with every
//! column at that commit's length and contents, never a mix. What differs from a vector:
//!
//! * the slot is 120 bytes (a torn write stops anywhere in it);
//! * the block table shares the header page with the slots. Its entries are written when a
//!   block is allocated, before the commit's data `fdatasync`, so a commit may change
//!   header sectors past the slots (only when the file grew), and a dirty header page does
//!   not mean the slot was written: in model 2 the new slot is a possible disk state only at
//!   the stops after its `pwrite` was entered (for a vector this is the same thing);
//! * the commit is one `fdatasync` for every column's data (no `msync` on Linux), the
//!   slot's `pwrite`, then `fdatasync`: three stops per commit that changes a length.
//!
//! The seed is printed; rerun with `PERSISTENCE_SEED=<seed>` to replay.

mod common;

use std::fs;
use std::ops::Range;
use std::path::{Path, PathBuf};

use common::format::group as gf;
use common::format::{Order, Slots, DATA_OFFSET, HEADER_SIZE, SECTOR, SLOT_LEN, SLOT_OFFSETS};
use persistence::test_hooks::{self as fault, Op};
use persistence::{Group, MmapedVec, OpenOptions};

const ELEM: usize = core::mem::size_of::<u64>();
const STEPS: usize = 60;
const MAX_APPEND: f64 = 20_000.0;
/// The header sectors that hold the fixed fields and the slots; a group's block table
/// follows them.
const SLOT_AREA: usize = gf::TABLE_AT;

/// The columns of the group under test, and their element sizes.
type GroupCols = (u64, u32);
const GROUP_SIZES: [usize; 2] = [8, 4];
/// Elements of the `u64` column that its first block (2 MiB) holds.
const FIRST_BLOCK_U64: usize = (gf::BLOCK0 as usize) / 8;

/// A value for position `i` written in generation `gen`: distinct per position and per
/// generation, so an old sector and a new one are told apart (splitmix64).
fn value(i: usize, gen: u64) -> u64 {
    let mut z = (i as u64) ^ gen.rotate_left(40) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The `u32` column's value for position `i` in generation `gen`.
fn value32(i: usize, gen: u64) -> u32 {
    (value(i, gen) >> 16) as u32
}

/// The file under test: a vector of `u64`, or a group of `(u64, u32)`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Vector,
    Group,
}

impl Kind {
    /// Each column's element size (a vector: one column).
    fn sizes(self) -> &'static [usize] {
        match self {
            Kind::Vector => &[ELEM],
            Kind::Group => &GROUP_SIZES,
        }
    }

    /// Bytes of a commit slot.
    fn slot_len(self) -> usize {
        match self {
            Kind::Vector => SLOT_LEN,
            Kind::Group => gf::SLOT_LEN,
        }
    }

    /// Opens the file at `path` read-only or as a writer, and copies out each column's
    /// elements as bytes.
    fn open(self, path: &Path, read_write: bool) -> persistence::Result<Vec<Vec<u8>>> {
        let mut opts = OpenOptions::new();
        opts.create(false);
        match (self, read_write) {
            (Kind::Vector, true) => opts.open::<u64>(path).map(|v| vec![bytes_of(&v)]),
            (Kind::Vector, false) => opts.open_read_only::<u64>(path).map(|s| vec![bytes_of(&s)]),
            (Kind::Group, true) => opts.open_group::<GroupCols>(path).map(|g| {
                let (a, b) = g.columns();
                vec![bytes_of(a), bytes_of(b)]
            }),
            (Kind::Group, false) => opts.open_group_read_only::<GroupCols>(path).map(|s| {
                let (a, b) = s.columns();
                vec![bytes_of(a), bytes_of(b)]
            }),
        }
    }
}

/// Elements as a file of this machine holds them.
fn bytes_of<T: bytemuck::Pod>(xs: &[T]) -> Vec<u8> {
    bytemuck::cast_slice(xs).to_vec()
}

/// Writes a crash image to `path`, leaving holes where it holds 64 KiB of zeros (a group's
/// file is mostly holes: blocks at 2 MiB boundaries), which read back as zeros.
fn write_image(path: &Path, bytes: &[u8]) {
    use std::os::unix::fs::FileExt;
    const CHUNK: usize = 64 << 10;
    static ZEROS: [u8; CHUNK] = [0; CHUNK];
    let f = fs::File::create(path).unwrap();
    f.set_len(bytes.len() as u64).unwrap();
    for (c, chunk) in bytes.chunks(CHUNK).enumerate() {
        if chunk != &ZEROS[..chunk.len()] {
            f.write_all_at(chunk, (c * CHUNK) as u64).unwrap();
        }
    }
}

/// The file right after a commit returned: its bytes, each column's committed length, and
/// where the committed elements lie.
struct Commit {
    kind: Kind,
    bytes: Vec<u8>,
    lens: Vec<usize>,
    /// Each column's blocks: (first column byte, file offset, bytes). A vector's data is one
    /// block from `DATA_OFFSET` on.
    blocks: Vec<Vec<(usize, usize, usize)>>,
    /// The file byte ranges of the committed elements.
    data: Vec<Range<usize>>,
}

impl Commit {
    fn new(
        kind: Kind,
        bytes: Vec<u8>,
        lens: Vec<usize>,
        blocks: Vec<Vec<(usize, usize, usize)>>,
    ) -> Commit {
        let mut data = Vec::new();
        for (k, column) in blocks.iter().enumerate() {
            let end = lens[k] * kind.sizes()[k];
            for &(start, off, n) in column {
                let b = (start + n).min(end);
                if start < b {
                    data.push(off..off + (b - start));
                }
            }
        }
        Commit {
            kind,
            bytes,
            lens,
            blocks,
            data,
        }
    }

    /// The file offset of element `i` of column `k` (below its length).
    fn at(&self, k: usize, i: usize) -> usize {
        let b = i * self.kind.sizes()[k];
        let &(start, off, _) = self.blocks[k]
            .iter()
            .find(|&&(s, _, n)| s <= b && b - s < n)
            .expect("a committed element lies in a block");
        off + (b - start)
    }

    /// Whether file bytes `r` hold something this commit needs: the header page, or
    /// committed elements.
    fn holds(&self, r: &Range<usize>) -> bool {
        r.start < HEADER_SIZE || self.data.iter().any(|d| d.start < r.end && r.start < d.end)
    }

    /// Whether a crash image's sector `r`, which holds nothing this commit needs, gets
    /// garbage: one time in `odds`; in a group, a sector that every source holds as zeros
    /// (the file's holes, never written) one time in 128, as every sixth sector of them would
    /// make each image a dense 10 MiB file to write.
    fn garbage(
        &self,
        r: &Range<usize>,
        odds: u8,
        sources: &[&[u8]],
        rng: &mut fastrand::Rng,
    ) -> bool {
        const ZEROS: [u8; SECTOR] = [0; SECTOR];
        let hole = self.kind == Kind::Group
            && sources
                .iter()
                .all(|s| s.get(r.clone()).is_none_or(|b| b == &ZEROS[..b.len()]));
        rng.u8(..if hole { 128 } else { odds }) == 0
    }
}

/// What the observer needs, for the commit being watched on this thread.
struct Watch {
    path: std::path::PathBuf,
    probe: std::rc::Rc<probe::Probe>,
    stops: Vec<(Op, Stop)>,
}

std::thread_local! {
    static WATCH: std::cell::RefCell<Option<Watch>> = const { std::cell::RefCell::new(None) };
}

/// The `fault::observe` callback: freezes the file as each durability call is entered.
fn on_op(op: Op) {
    if op != Op::Msync && op != Op::SyncFile && op != Op::Write {
        return;
    }
    WATCH.with(|w| {
        if let Some(w) = w.borrow_mut().as_mut() {
            let cache = common::read(&w.path);
            let dirty = w.probe.dirty(cache.len());
            let n = w.stops.iter().filter(|(o, _)| *o == op).count();
            let what = format!("{op:?} #{n}");
            let slot_written = w.stops.iter().any(|(o, _)| *o == Op::Write);
            w.stops.push((
                op,
                Stop {
                    what,
                    cache,
                    dirty,
                    slot_written,
                    size_durable: false,
                    disk: Vec::new(),
                },
            ));
        }
    });
}

/// Commits with `sync`, freezing the file at each durability call the commit makes, in
/// order.
fn sync_watched(
    sync: impl FnOnce() -> persistence::Result<()>,
    path: &Path,
    probe: &std::rc::Rc<probe::Probe>,
) -> Vec<(Op, Stop)> {
    WATCH.with(|w| {
        *w.borrow_mut() = Some(Watch {
            path: path.to_owned(),
            probe: probe.clone(),
            stops: Vec::new(),
        })
    });
    fault::observe(Some(on_op));
    let result = sync();
    fault::observe(None);
    let stops = WATCH.with(|w| w.borrow_mut().take().map(|w| w.stops).unwrap_or_default());
    result.unwrap();
    stops
}

/// The file frozen at the instant one durability call of a commit was entered.
struct Stop {
    what: String,
    /// The file's bytes in the page cache (`P`).
    cache: Vec<u8>,
    /// Per page of `cache`: still dirty, i.e. possibly not on disk.
    dirty: Vec<bool>,
    /// The commit's slot `pwrite` was entered before this stop: the new slot may be on
    /// disk (when the header page is dirty) or in the page cache.
    slot_written: bool,
    /// A `fdatasync` completed before the slot was stored: the new size is on disk.
    size_durable: bool,
    /// What the disk holds under this stop's dirty pages if none of their writes since
    /// reached it: the older commit, except pages an earlier stop of this commit saw clean,
    /// which hold what that stop saw. (A page-cache folio can span the header page and data
    /// pages; storing the slot then marks data pages dirty again although their bytes are
    /// already on disk, and the older commit's bytes can no longer be there.)
    disk: Vec<u8>,
}

use common::cachestat as probe;

/// One run's shape: how many commits, and the range of each step's append (log-uniform).
struct Shape {
    steps: usize,
    appends: (f64, f64),
    min_images: usize,
    /// `OpenOptions::huge_pages`: 2 MiB page-cache folios for bulk appends.
    huge_pages: bool,
    /// Some commit must hold more than this many elements in column 0.
    min_rows: usize,
}

/// What a run drives: a vector or a group, beside its model.
trait Subject {
    fn kind(&self) -> Kind;
    /// Applies one step of random changes to the file and the model (generation `gen`,
    /// step `step` of `steps`); returns whether there is anything to commit.
    fn mutate(
        &mut self,
        rng: &mut fastrand::Rng,
        gen: u64,
        appends: (f64, f64),
        step: usize,
        steps: usize,
    ) -> bool;
    fn sync(&mut self) -> persistence::Result<()>;
    fn file_len(&self) -> u64;
    /// The model: each column's elements as bytes.
    fn model(&self) -> Vec<Vec<u8>>;
    /// Closes the file; returns a note for the summary line.
    fn finish(self) -> String;
}

/// The vector under test and its model.
struct VecSubject {
    v: MmapedVec<u64>,
    model: Vec<u64>,
}

impl Subject for VecSubject {
    fn kind(&self) -> Kind {
        Kind::Vector
    }

    fn mutate(
        &mut self,
        rng: &mut fastrand::Rng,
        gen: u64,
        appends: (f64, f64),
        _: usize,
        _: usize,
    ) -> bool {
        mutate(&mut self.v, &mut self.model, rng, gen, appends)
    }

    fn sync(&mut self) -> persistence::Result<()> {
        self.v.sync()
    }

    fn file_len(&self) -> u64 {
        self.v.file_len()
    }

    fn model(&self) -> Vec<Vec<u8>> {
        vec![bytes_of(&self.model)]
    }

    fn finish(self) -> String {
        let pmd = pmd_mapped_kib(self.v.as_ptr() as usize);
        self.v.close().unwrap();
        format!(
            "{pmd} KiB of the writer's mapping in 2 MiB page-cache folios (PMD-mapped) at the end"
        )
    }
}

/// Log-uniform in `lo..=hi`.
fn log_uniform(rng: &mut fastrand::Rng, (lo, hi): (f64, f64)) -> usize {
    ((lo * (hi / lo).powf(rng.f64())) as usize).clamp(lo as usize, hi as usize)
}

/// Applies one step of random changes to `v` and `model`; returns whether there is
/// anything to commit.
fn mutate(
    v: &mut MmapedVec<u64>,
    model: &mut Vec<u64>,
    rng: &mut fastrand::Rng,
    gen: u64,
    appends: (f64, f64),
) -> bool {
    if rng.u8(..20) == 0 {
        return false;
    }
    let len = model.len();
    if len > 0 && rng.u8(..3) == 0 {
        // In-place changes to committed elements.
        // Through the mapping, or with `set` (a `pwrite`, flushed by the commit's
        // `fdatasync`).
        let by_set = rng.bool();
        for _ in 0..rng.usize(1..=16) {
            let i = rng.usize(..len);
            let x = value(i, gen) ^ 0xFF;
            if by_set {
                v.set(i, x).unwrap();
            } else {
                v[i] = x;
            }
            model[i] = x;
        }
    }
    if len > 0 && rng.u8(..6) == 0 {
        // Truncate (the pushes below rewrite the positions).
        let keep = len - rng.usize(..=len.min(700));
        v.truncate(keep);
        model.truncate(keep);
    }
    if rng.u8(..10) == 0 {
        for _ in 0..rng.usize(1..20) {
            assert_eq!(v.pop(), model.pop());
        }
    }
    if rng.u8(..15) == 0 {
        v.shrink_to_fit().unwrap();
    }
    let n = log_uniform(rng, appends);
    let start = model.len();
    if rng.bool() {
        for i in start..start + n {
            v.push(value(i, gen)).unwrap();
            model.push(value(i, gen));
        }
    } else {
        let chunk: Vec<u64> = (start..start + n).map(|i| value(i, gen)).collect();
        v.extend_from_slice(&chunk).unwrap();
        model.extend_from_slice(&chunk);
    }
    true
}

/// The group under test and its model, one `Vec` per column.
struct GroupSubject {
    g: Group<GroupCols>,
    path: PathBuf,
    m0: Vec<u64>,
    m1: Vec<u32>,
}

impl Subject for GroupSubject {
    fn kind(&self) -> Kind {
        Kind::Group
    }

    fn mutate(
        &mut self,
        rng: &mut fastrand::Rng,
        gen: u64,
        appends: (f64, f64),
        step: usize,
        steps: usize,
    ) -> bool {
        // From the middle of the run on, a step that has not yet crossed the `u64` column's
        // first block boundary appends past it.
        let must_cross = step >= steps / 2 && self.m0.len() <= FIRST_BLOCK_U64;
        if !must_cross && rng.u8(..20) == 0 {
            return false;
        }
        let (m0, m1) = (&mut self.m0, &mut self.m1);
        let (c0, c1) = self.g.columns_mut();
        if rng.u8(..3) == 0 {
            // In-place changes to committed elements: through the mapping, or with `set`
            // (a `pwrite`, flushed by the commit's `fdatasync`).
            let by_set = rng.bool();
            for _ in 0..rng.usize(1..=16) {
                if rng.bool() && !m0.is_empty() {
                    let i = rng.usize(..m0.len());
                    let x = value(i, gen) ^ 0xFF;
                    if by_set {
                        c0.set(i, x).unwrap();
                    } else {
                        c0[i] = x;
                    }
                    m0[i] = x;
                } else if !m1.is_empty() {
                    let i = rng.usize(..m1.len());
                    let x = value32(i, gen) ^ 0xFF;
                    if by_set {
                        c1.set(i, x).unwrap();
                    } else {
                        c1[i] = x;
                    }
                    m1[i] = x;
                }
            }
        }
        if !must_cross && rng.u8(..8) == 0 {
            // No new length: a commit of the in-place changes alone. Now and then a column
            // grows (sometimes into a new block: a new table entry) and is cut back first.
            if rng.bool() {
                let len = c0.len();
                let n = log_uniform(rng, (1.0, 300_000.0));
                let junk: Vec<u64> = (len..len + n).map(|i| value(i, gen) ^ 0xA5).collect();
                c0.reserve_exact(n).unwrap();
                c0.extend_from_slice(&junk).unwrap();
                c0.truncate(len);
            }
            return true;
        }
        if rng.u8(..6) == 0 {
            // Truncate every column, or one (the appends below rewrite the positions).
            let cut = |len: usize, rng: &mut fastrand::Rng| len - rng.usize(..=len.min(3000));
            match rng.u8(..3) {
                0 => {
                    let keep = cut(m0.len().min(m1.len()), rng);
                    self.g.truncate_rows(keep);
                    m0.truncate(keep);
                    m1.truncate(keep);
                }
                1 => {
                    let keep = cut(m0.len(), rng);
                    c0.truncate(keep);
                    m0.truncate(keep);
                }
                _ => {
                    let keep = cut(m1.len(), rng);
                    c1.truncate(keep);
                    m1.truncate(keep);
                }
            }
        }
        let (c0, c1) = self.g.columns_mut();
        if rng.u8(..15) == 0 {
            // A no-op in a group (its file never gets shorter).
            c0.shrink_to_fit().unwrap();
            c1.shrink_to_fit().unwrap();
        }
        let mut n = log_uniform(rng, appends);
        if must_cross {
            n = n.max(FIRST_BLOCK_U64 + 1 + rng.usize(..5000) - m0.len());
        }
        // Mostly as many to each column; now and then fewer to one, so their lengths part.
        let (n0, n1) = match rng.u8(..6) {
            0 if !must_cross => (rng.usize(..=n), n),
            1 => (n, rng.usize(..=n)),
            _ => (n, n),
        };
        let (s0, s1) = (m0.len(), m1.len());
        if s0 == s1 && n0 == n1 && n <= 5000 && rng.bool() {
            c0.reserve_exact(n).unwrap();
            c1.reserve_exact(n).unwrap();
            for i in s0..s0 + n {
                let row = (value(i, gen), value32(i, gen));
                self.g.push_row(row).unwrap();
                m0.push(row.0);
                m1.push(row.1);
            }
        } else {
            let a: Vec<u64> = (s0..s0 + n0).map(|i| value(i, gen)).collect();
            let b: Vec<u32> = (s1..s1 + n1).map(|i| value32(i, gen)).collect();
            c0.reserve_exact(n0).unwrap();
            c1.reserve_exact(n1).unwrap();
            c0.extend_from_slice(&a).unwrap();
            c1.extend_from_slice(&b).unwrap();
            m0.extend_from_slice(&a);
            m1.extend_from_slice(&b);
        }
        true
    }

    fn sync(&mut self) -> persistence::Result<()> {
        self.g.sync()
    }

    fn file_len(&self) -> u64 {
        fs::metadata(&self.path).unwrap().len()
    }

    fn model(&self) -> Vec<Vec<u8>> {
        vec![bytes_of(&self.m0), bytes_of(&self.m1)]
    }

    fn finish(self) -> String {
        let info = persistence::inspect(&self.path).unwrap();
        let gen = self.g.generation();
        self.g.close().unwrap();
        format!(
            "generation {gen}, column lengths {:?}",
            info.columns().iter().map(|c| c.len).collect::<Vec<_>>()
        )
    }
}

/// Where a crash image's sector comes from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Src {
    /// As after the older commit (`S_k`).
    Old,
    /// As after the newer commit (`S_k+1`).
    New,
    /// As in the page cache at the stop (`P`).
    Cache,
    /// The first bytes of a write of the new sector, the rest old.
    Torn,
    /// Random bytes.
    Garbage,
}

/// Copies `src[r]` into `img[r]`, the part of `r` that `src` covers; the rest reads zero.
fn fill(img: &mut [u8], r: &Range<usize>, src: &[u8]) {
    let end = r.end.min(src.len()).max(r.start);
    if end > r.start {
        img[r.start..end].copy_from_slice(&src[r.start..end]);
    }
    img[end..r.end].fill(0);
}

/// One crash image and what opening it must give.
struct Image {
    bytes: Vec<u8>,
    /// The new slot landed whole: the image must open to the newer commit.
    expect_new: bool,
    desc: String,
}

/// A crash image between two commits of the same lengths: the slots as they were (no
/// commit writes them), each other sector that changed (data, a group's block table) old or
/// new, the file at either size, sectors that hold nothing committed sometimes garbage.
fn same_length_image(old: &Commit, new: &Commit, rng: &mut fastrand::Rng) -> Image {
    let size = if rng.bool() {
        new.bytes.len()
    } else {
        old.bytes.len()
    };
    let mut img = vec![0u8; size];
    img[..SLOT_AREA].copy_from_slice(&old.bytes[..SLOT_AREA]);
    for s in SLOT_AREA / SECTOR..size.div_ceil(SECTOR) {
        let r = s * SECTOR..((s + 1) * SECTOR).min(size);
        if !old.holds(&r) && old.garbage(&r, 6, &[&old.bytes, &new.bytes], rng) {
            rng.fill(&mut img[r]);
            continue;
        }
        let src = if rng.bool() { &old.bytes } else { &new.bytes };
        let src = if src.len() >= r.end { src } else { &new.bytes };
        if src.len() >= r.end {
            img[r.clone()].copy_from_slice(&src[r]);
        }
    }
    Image {
        bytes: img,
        expect_new: false,
        desc: "same-length commit".to_string(),
    }
}

struct Step<'a> {
    old: &'a Commit,
    new: &'a Commit,
    /// The header sector the newer commit rewrote (its slot).
    slot_sector: usize,
    slot_off: usize,
    slot_len: usize,
}

impl Step<'_> {
    /// The commit an image that opens to the newer commit (`new`) or not must show.
    fn expected(&self, new: bool) -> &Commit {
        if new {
            self.new
        } else {
            self.old
        }
    }

    /// Writes the slot sector of `img` from `pick`; `cache` is `P` (empty in model 1).
    fn slot(&self, img: &mut [u8], pick: Src, cache: &[u8], rng: &mut fastrand::Rng) {
        let r = self.slot_sector * SECTOR..(self.slot_sector + 1) * SECTOR;
        match pick {
            Src::Old => fill(img, &r, &self.old.bytes),
            Src::New => fill(img, &r, &self.new.bytes),
            Src::Cache => fill(img, &r, cache),
            Src::Torn => {
                fill(img, &r, &self.old.bytes);
                // The write stopped inside the slot's bytes.
                let t = rng.usize(1..self.slot_len);
                let at = self.slot_off..self.slot_off + t;
                img[at.clone()].copy_from_slice(&self.new.bytes[at]);
            }
            Src::Garbage => rng.fill(&mut img[r]),
        }
    }

    fn landed(&self, img: &[u8]) -> bool {
        let at = self.slot_off..self.slot_off + self.slot_len;
        img[at.clone()] == self.new.bytes[at]
    }

    /// Model 1: from `S_k` and `S_k+1` alone; the slot is written after all data.
    fn model1(&self, rng: &mut fastrand::Rng) -> Image {
        let slot_pick = if rng.u8(..4) == 0 {
            Src::New
        } else {
            [Src::Old, Src::Torn, Src::Garbage][rng.usize(..3)]
        };
        // The slot first, into a buffer of the larger size: whether it landed whole decides
        // the rest. A torn write can still leave every byte of the new slot in place, and
        // then it has landed: all data was on disk before it, and so was the new size.
        let mut img = vec![0u8; self.new.bytes.len().max(self.old.bytes.len())];
        self.slot(&mut img, slot_pick, &[], rng);
        let landed = self.landed(&img);
        let size = if landed || rng.bool() {
            self.new.bytes.len()
        } else {
            self.old.bytes.len()
        };
        img.truncate(size);
        let expect_new = landed;
        let want = self.expected(expect_new);
        let (mut from_old, mut from_new, mut garbage) = (0, 0, 0);
        for s in 0..size.div_ceil(SECTOR) {
            if s == self.slot_sector {
                continue;
            }
            let r = s * SECTOR..((s + 1) * SECTOR).min(size);
            let past = !want.holds(&r);
            let differs = self.old.bytes.get(r.clone()) != self.new.bytes.get(r.clone());
            let pick = if past && want.garbage(&r, 6, &[&self.old.bytes, &self.new.bytes], rng) {
                Src::Garbage
            } else if !differs || (landed && !past) {
                Src::New
            } else if rng.bool() {
                Src::Old
            } else {
                Src::New
            };
            match pick {
                Src::Old => {
                    from_old += 1;
                    fill(&mut img, &r, &self.old.bytes)
                }
                Src::Garbage => {
                    garbage += 1;
                    rng.fill(&mut img[r])
                }
                _ => {
                    from_new += differs as usize;
                    fill(&mut img, &r, &self.new.bytes)
                }
            }
        }
        Image {
            bytes: img,
            expect_new,
            desc: format!(
                "model 1: slot {slot_pick:?}, size {size} (old {}, new {}), changed sectors \
                 old/new {from_old}/{from_new}, garbage sectors {garbage}",
                self.old.bytes.len(),
                self.new.bytes.len()
            ),
        }
    }

    /// Model 2: from what the library left in the page cache and on disk at `stop`. The
    /// `worst` image takes the new slot whenever it may have landed, and every other sector
    /// that may be stale as in the older commit, so that a broken order fails at the first
    /// stop that shows it.
    fn model2(&self, stop: &Stop, page: usize, worst: bool, rng: &mut fastrand::Rng) -> Image {
        let cache = &stop.cache;
        let header_dirty = stop.dirty.first().copied().unwrap_or(true);
        // The slot sector may hold something else than `P` only when the header page is
        // dirty, and the new slot only once its `pwrite` was entered (a group's header page
        // is also dirtied by new block table entries).
        let may_land = header_dirty && stop.slot_written;
        let slot_pick = if may_land && worst {
            Src::New
        } else if may_land {
            [Src::Old, Src::Cache, Src::New, Src::Torn, Src::Garbage][rng.usize(..5)]
        } else {
            Src::Cache
        };
        // Build the slot first (it decides the expected commit), into a full-size buffer.
        let max = cache.len().max(self.old.bytes.len());
        let mut img = vec![0u8; max];
        self.slot(&mut img, slot_pick, cache, rng);
        let expect_new = self.landed(&img);
        let size = if (expect_new && stop.size_durable) || (!worst && rng.bool()) {
            cache.len()
        } else {
            self.old.bytes.len()
        };
        img.truncate(size);
        let want = self.expected(expect_new);
        let (mut dirty_old, mut dirty_new, mut garbage) = (0, 0, 0);
        for s in 0..size.div_ceil(SECTOR) {
            if s == self.slot_sector {
                continue;
            }
            let r = s * SECTOR..((s + 1) * SECTOR).min(size);
            let p = r.start / page;
            let clean = p < stop.dirty.len() && !stop.dirty[p] && r.end <= cache.len();
            let past = !want.holds(&r);
            let pick = if clean {
                Src::Cache
            } else if worst {
                Src::Old
            } else if past && want.garbage(&r, 4, &[&stop.disk, cache], rng) {
                Src::Garbage
            } else if rng.bool() {
                Src::Old
            } else {
                Src::Cache
            };
            let differs = stop.disk.get(r.clone()) != cache.get(r.clone());
            match pick {
                Src::Old => {
                    dirty_old += differs as usize;
                    fill(&mut img, &r, &stop.disk)
                }
                Src::Garbage => {
                    garbage += 1;
                    rng.fill(&mut img[r])
                }
                _ => {
                    dirty_new += (differs && !clean) as usize;
                    fill(&mut img, &r, cache)
                }
            }
        }
        let dirty_pages: Vec<usize> = (0..stop.dirty.len()).filter(|&p| stop.dirty[p]).collect();
        Image {
            bytes: img,
            expect_new,
            desc: format!(
                "model 2{} at {}: header page dirty {header_dirty}, slot written {}, slot \
                 {slot_pick:?}, size {size} (old {}, at stop {}, size durable {}), changed \
                 dirty sectors old/new {dirty_old}/{dirty_new}, garbage sectors {garbage}, \
                 dirty pages {:?}",
                if worst { " (worst case)" } else { "" },
                stop.what,
                stop.slot_written,
                self.old.bytes.len(),
                cache.len(),
                stop.size_durable,
                &dirty_pages[..dirty_pages.len().min(40)],
            ),
        }
    }

    /// Writes `image` to `scratch`, opens it, and checks every column's length and every
    /// element. `sources` are the images an in-place changed element of the older commit may
    /// come from.
    fn check(&self, image: &Image, scratch: &Path, sources: &[&[u8]], read_write: bool) {
        write_image(scratch, &image.bytes);
        let only_new: [&[u8]; 1] = [&self.new.bytes];
        let want = self.expected(image.expect_new);
        let allowed: &[&[u8]] = if image.expect_new { &only_new } else { sources };
        let which = if image.expect_new { "newer" } else { "older" };
        let got = match want.kind.open(scratch, read_write) {
            Ok(got) => got,
            Err(e) => panic!(
                "a crash image did not open ({e}; kind {:?}, column {:?}); expected the {which} \
                 commit, lengths {:?}; image: {}",
                e.kind(),
                e.column(),
                want.lens,
                image.desc
            ),
        };
        let got_lens: Vec<usize> = got
            .iter()
            .zip(want.kind.sizes())
            .map(|(c, s)| c.len() / s)
            .collect();
        assert_eq!(
            got_lens, want.lens,
            "a crash image opened to the wrong lengths (older commit {:?}, newer {:?}); image: {}",
            self.old.lens, self.new.lens, image.desc
        );
        for (k, column) in got.iter().enumerate() {
            let size = want.kind.sizes()[k];
            let count = column.len() / size;
            // A sector at a time where a source holds all of it (no element straddles a
            // sector: the sizes divide 512, and data starts at sector boundaries), else
            // element by element.
            let mut i = 0;
            while i < count {
                let at = want.at(k, i);
                let n = ((SECTOR - at % SECTOR) / size).clamp(1, count - i);
                let x = &column[i * size..(i + n) * size];
                if allowed
                    .iter()
                    .any(|src| src.get(at..at + n * size) == Some(x))
                {
                    i += n;
                    continue;
                }
                for e in i..i + n {
                    let at = want.at(k, e);
                    let x = &column[e * size..(e + 1) * size];
                    if allowed.iter().any(|src| src.get(at..at + size) == Some(x)) {
                        continue;
                    }
                    let options: Vec<Option<&[u8]>> =
                        allowed.iter().map(|src| src.get(at..at + size)).collect();
                    panic!(
                        "a crash image that opened to lengths {:?} (the {which} commit) has a \
                         wrong element {e} of column {k} (file byte {at}, sector {}): {x:x?}, \
                         allowed {options:x?}; image: {}",
                        want.lens,
                        at / SECTOR,
                        image.desc
                    );
                }
                i += n;
            }
        }
    }
}

/// Reads the file and checks it against the model (each column's elements as bytes): the
/// winning slot holds the model's lengths (and, in a group, the checksum of the table
/// entries they need), and the committed elements are the model's.
fn committed(kind: Kind, path: &Path, model: &[Vec<u8>]) -> Commit {
    let bytes = common::read(path);
    let sizes = kind.sizes();
    let lens: Vec<usize> = model.iter().zip(sizes).map(|(m, s)| m.len() / s).collect();
    let blocks = match kind {
        Kind::Vector => {
            let slots = Slots::read(&bytes[..HEADER_SIZE]);
            let slot = slots
                .winner()
                .and_then(|w| slots.slots[w])
                .expect("a valid slot after sync()");
            assert_eq!(slot.len as usize, lens[0], "committed length");
            vec![vec![(0, DATA_OFFSET, isize::MAX as usize - DATA_OFFSET)]]
        }
        Kind::Group => {
            let (_, slot) = gf::winner(&bytes, Order::Native).expect("a valid slot after sync()");
            let mut want = [0u64; gf::MAX_COLUMNS];
            for (w, &l) in want.iter_mut().zip(&lens) {
                *w = l as u64;
            }
            assert_eq!(slot.lens, want, "committed lengths");
            let sizes64: Vec<u64> = sizes.iter().map(|&s| s as u64).collect();
            let needed = gf::needed(&sizes64, &slot.lens).expect("lengths within the table");
            assert_eq!(
                slot.table_sum,
                gf::table_sum(&bytes, &needed),
                "the committed slot's block table checksum"
            );
            (0..sizes.len())
                .map(|k| {
                    (0..needed[k])
                        .map(|j| {
                            let off = gf::entry(&bytes, k, j, Order::Native) as usize;
                            let (start, n) = (gf::block_start(j), gf::block_size(j));
                            assert!(
                                off % gf::BLOCK0 as usize == 0
                                    && off >= gf::BLOCK0 as usize
                                    && off + n as usize <= bytes.len(),
                                "column {k}'s block {j} at file offset {off} (file {} bytes)",
                                bytes.len()
                            );
                            (start as usize, off, n as usize)
                        })
                        .collect()
                })
                .collect()
        }
    };
    let c = Commit::new(kind, bytes, lens, blocks);
    for (k, m) in model.iter().enumerate() {
        for &(start, off, n) in &c.blocks[k] {
            let end = m.len().min(start.saturating_add(n));
            if start >= end {
                continue;
            }
            let file = &c.bytes[off..off + (end - start)];
            if file != &m[start..end] {
                let size = sizes[k];
                let b = (0..end - start).find(|&b| file[b] != m[start + b]).unwrap();
                panic!(
                    "column {k}, element {} in the file after sync(): {:x?}, model {:x?}",
                    (start + b) / size,
                    &file[b / size * size..][..size],
                    &m[start + b / size * size..][..size]
                );
            }
        }
    }
    c
}

/// Pages of `page` bytes that hold `c`'s committed elements.
fn data_pages(c: &Commit, page: usize) -> impl Iterator<Item = usize> + '_ {
    c.data
        .iter()
        .flat_map(move |d| d.start / page..d.end.div_ceil(page))
}

/// The order of the commit, seen directly: when the new slot's `pwrite` is entered, every
/// page of the data it will commit is clean (on disk), and so is the header page (the current
/// slot, and a group's block table), and when the file grew, a `fdatasync` (which makes the
/// new size durable) came before it.
fn assert_slot_written_after_data(
    observed: &[(Op, Stop)],
    new: &Commit,
    resized: bool,
    page: usize,
    step: usize,
) {
    for (k, (op, stop)) in observed.iter().enumerate() {
        if *op != Op::Write {
            continue;
        }
        for p in data_pages(new, page) {
            assert!(
                !stop.dirty.get(p).copied().unwrap_or(false),
                "step {step}: the commit slot is written while data page {p} (bytes {}..{}) is \
                 still dirty, i.e. maybe not on disk; committed data lies in {:?}",
                p * page,
                (p + 1) * page,
                new.data
            );
        }
        if resized {
            assert!(
                observed[..k].iter().any(|(o, _)| *o == Op::SyncFile),
                "step {step}: the commit slot is written before the grown file's fdatasync"
            );
        }
        // The current slot is on disk before the other one is overwritten: else a torn write
        // of the new slot could leave an older commit than the last one as the winner.
        assert!(
            !stop.dirty.first().copied().unwrap_or(false),
            "step {step}: the new commit slot is written while the header page (the current \
             slot) is still dirty"
        );
    }
}

/// After `sync()` returned: the header page and every page of the committed data are clean,
/// or hold, where `c` commits anything, only bytes that `before` (the previous commit, on
/// disk since its own `sync()`) committed alike. (Bytes written past a column's length and
/// cut back share a page with committed elements, and a commit with nothing new to commit
/// need not flush them.)
fn assert_on_disk(probe: &probe::Probe, c: &Commit, before: &Commit, step: usize) {
    let dirty = probe.dirty(c.bytes.len());
    let page = probe.page();
    let committed = |x: &Commit| {
        std::iter::once(0..HEADER_SIZE)
            .chain(x.data.iter().cloned())
            .collect::<Vec<_>>()
    };
    let (now, then) = (committed(c), committed(before));
    for (p, &d) in dirty.iter().enumerate() {
        let r = p * page..(p + 1) * page;
        let stale = now
            .iter()
            .map(|d| d.start.max(r.start)..d.end.min(r.end))
            .filter(|sub| !sub.is_empty())
            .find(|sub| {
                let covered = then
                    .iter()
                    .any(|t| t.start <= sub.start && sub.end <= t.end);
                !(covered && before.bytes.get(sub.clone()) == c.bytes.get(sub.clone()))
            });
        if let (true, Some(sub)) = (d, stale) {
            panic!(
                "step {step}: sync() returned but page {p} (bytes {}..{}) is still dirty in \
                 the page cache, i.e. not on disk, and its bytes {sub:?} are committed anew; \
                 committed data lies in {:?}",
                r.start, r.end, c.data
            );
        }
    }
}

fn scratch_dir() -> tempfile::TempDir {
    // Crash images go to memory when there is a tmpfs; they are only written and read.
    tempfile::Builder::new()
        .prefix("persistence-power-loss")
        .tempdir_in("/dev/shm")
        .unwrap_or_else(|_| common::tmpdir())
}

#[test]
fn power_loss_at_any_instant_opens_to_one_commit() {
    run(
        "power_loss",
        &Shape {
            steps: STEPS,
            appends: (1.0, MAX_APPEND),
            min_images: 300,
            huge_pages: false,
            min_rows: 0,
        },
        open_vector,
    );
}

/// The same with `huge_pages(true)` and every commit appending 2 to 3 MiB: the vector stays
/// in bulk-append mode, so
/// on ext4 and XFS its appends sit in 2 MiB page-cache folios (pushes through a mapping
/// advised `MADV_HUGEPAGE`, `extend_from_slice` writes padded to 2 MiB boundaries), and a
/// dirty folio spans 512 pages: each of them is dirty to the model until it is written back.
#[test]
fn power_loss_with_2_mib_folios() {
    run(
        "power_loss_2mib",
        &Shape {
            steps: 8,
            appends: (270_000.0, 400_000.0),
            // Model 1 gives 6 images per step that commits something; where model 2 cannot
            // run (tmpfs) that is all, and a step of random operations may commit nothing
            // new (seed 4768804023221620424 gave 42 on tmpfs). Most steps must count.
            min_images: 36,
            huge_pages: true,
            min_rows: 0,
        },
        open_vector,
    );
}

/// A commit group (`# Commit groups` above): 14 commits of a `Group<(u64, u32)>`, appends of
/// 500 to 60 000 rows, crossing the `u64` column's first block (262 144 elements) by the
/// middle of the run at the latest. The file is sparse, 4 to 10 MiB.
#[test]
fn power_loss_of_a_group_opens_to_one_commit() {
    run(
        "power_loss_group",
        &Shape {
            steps: 14,
            appends: (500.0, 60_000.0),
            // 6 images per committing step from model 1 alone (tmpfs), most steps commit.
            min_images: 50,
            huge_pages: false,
            min_rows: FIRST_BLOCK_U64,
        },
        |path, shape| GroupSubject {
            g: OpenOptions::new()
                .huge_pages(shape.huge_pages)
                .open_group(path)
                .unwrap(),
            path: path.to_owned(),
            m0: Vec::new(),
            m1: Vec::new(),
        },
    );
}

fn open_vector(path: &Path, shape: &Shape) -> VecSubject {
    VecSubject {
        v: OpenOptions::new()
            .huge_pages(shape.huge_pages)
            .open::<u64>(path)
            .unwrap(),
        model: Vec::new(),
    }
}

fn run<S: Subject>(name: &str, shape: &Shape, open: impl FnOnce(&Path, &Shape) -> S) {
    let mut rng = common::rng(name);
    // The file must live on a file system with writeback for model 2: under
    // `PERSISTENCE_TEST_DIR` when set (`ci/fs-matrix.sh` points it at each file system of
    // the matrix in turn), else under `CARGO_TARGET_TMPDIR`.
    let base = std::env::var_os(common::TEST_DIR_ENV)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| env!("CARGO_TARGET_TMPDIR").into());
    let dir = tempfile::Builder::new()
        .prefix("power-loss")
        .tempdir_in(&base)
        .unwrap_or_else(|e| panic!("temp dir in {base:?}: {e}"));
    let path = dir.path().join("v.bin");
    let scratch_dir = scratch_dir();
    let scratch = scratch_dir.path().join("image.bin");

    let mut subject = open(&path, shape);
    let kind = subject.kind();
    let probe = match probe::Probe::new(&path, dir.path()) {
        Ok(p) => Some(std::rc::Rc::new(p)),
        Err(why) => {
            // Straight to stderr, past the test harness's capture, so CI logs show it.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "{name}: model 2 skipped on {} (model 1 runs): {why}",
                common::fs::type_name(dir.path())
            );
            None
        }
    };
    let mut old = committed(kind, &path, &subject.model());
    let mut last_slot_sector = SLOT_OFFSETS[0] / SECTOR; // creation wrote slot A
    let (mut images, mut stops_seen, mut landed) = (0usize, 0usize, 0usize);
    let mut most_rows = 0;

    for step in 0..shape.steps {
        let gen = step as u64 + 1;
        let changed = subject.mutate(&mut rng, gen, shape.appends, step, shape.steps);
        let resized = subject.file_len() != old.bytes.len() as u64;
        let model = subject.model();
        let lens: Vec<usize> = model
            .iter()
            .zip(kind.sizes())
            .map(|(m, s)| m.len() / s)
            .collect();

        let mut observed = Vec::new();
        if let Some(probe) = &probe {
            observed = sync_watched(|| subject.sync(), &path, probe);
            if resized && !observed.iter().any(|(op, _)| *op == Op::SyncFile) {
                panic!(
                    "step {step}: the file changed size ({} -> {} bytes) but the commit \
                     ran no fdatasync: the new size may not be on disk under the new slot",
                    old.bytes.len(),
                    subject.file_len()
                );
            }
            assert!(
                observed.len() <= 9,
                "a commit made {} durability calls",
                observed.len()
            );
            let slot_writes = observed.iter().filter(|(op, _)| *op == Op::Write).count();
            let want = usize::from(lens != old.lens);
            assert_eq!(
                slot_writes, want,
                "step {step}: a commit from lengths {:?} to {lens:?} wrote the slot \
                 {slot_writes} times",
                old.lens
            );
        } else {
            subject.sync().unwrap();
        }
        let new = committed(kind, &path, &model);
        most_rows = most_rows.max(new.lens[0]);

        let mut stops = Vec::new();
        if let Some(probe) = &probe {
            let page = probe.page();
            assert_slot_written_after_data(&observed, &new, resized, page, step);
            let mut size_durable = false;
            let mut disk = old.bytes.clone();
            for (op, mut stop) in observed {
                stop.size_durable = size_durable;
                stop.disk = disk.clone();
                // Pages clean at this stop are on disk as this stop saw them.
                for (p, &dirty) in stop.dirty.iter().enumerate() {
                    let r = p * page..((p + 1) * page).min(stop.cache.len());
                    if !dirty && !r.is_empty() {
                        if disk.len() < r.end {
                            disk.resize(r.end, 0);
                        }
                        disk[r.clone()].copy_from_slice(&stop.cache[r]);
                    }
                }
                // A fdatasync entered before the slot was stored has completed by every
                // later stop of this commit: the new size is on disk.
                size_durable |= op == Op::SyncFile && !stop.slot_written;
                stops.push(stop);
            }
        }
        stops_seen += stops.len();

        // A commit rewrites exactly one sector of the slots, A's and B's in turn; a group's
        // block table sectors change only when the file grew (entries for new blocks).
        let differ: Vec<usize> = (0..HEADER_SIZE / SECTOR)
            .filter(|&s| old.bytes[s * SECTOR..][..SECTOR] != new.bytes[s * SECTOR..][..SECTOR])
            .collect();
        let (slots_differ, table_differ): (Vec<usize>, Vec<usize>) =
            differ.iter().partition(|&&s| s < SLOT_AREA / SECTOR);
        assert!(
            table_differ.is_empty() || (kind == Kind::Group && resized),
            "step {step}: a commit rewrote header sectors {table_differ:?} past the slots (the \
             file grew: {resized})"
        );
        if !changed && !resized {
            assert!(
                differ.is_empty(),
                "step {step}: an empty commit wrote {differ:?}"
            );
            assert!(
                old.bytes == new.bytes,
                "step {step}: an empty commit changed the file"
            );
            if let Some(probe) = &probe {
                assert_on_disk(probe, &new, &old, step);
            }
            continue;
        }
        if new.lens == old.lens {
            // No length changed: the commit is the data flush alone (the slot would record
            // nothing new), so no slot sector may change, and a crash leaves the same
            // lengths with each changed element old or new.
            assert!(
                slots_differ.is_empty(),
                "step {step}: a commit of the same lengths rewrote header sectors \
                 {slots_differ:?}"
            );
            for k in 0..6 {
                let image = same_length_image(&old, &new, &mut rng);
                let s = Step {
                    old: &old,
                    new: &new,
                    slot_sector: usize::MAX,
                    slot_off: 0,
                    slot_len: kind.slot_len(),
                };
                s.check(&image, &scratch, &[&old.bytes, &new.bytes], k % 4 == 3);
                images += 1;
            }
            if let Some(probe) = &probe {
                assert_on_disk(probe, &new, &old, step);
            }
            old = new;
            continue;
        }
        assert_eq!(
            slots_differ.len(),
            1,
            "step {step}: a commit must rewrite exactly one slot sector, rewrote {slots_differ:?}"
        );
        let slot_sector = slots_differ[0];
        let slot_sectors = [SLOT_OFFSETS[0] / SECTOR, SLOT_OFFSETS[1] / SECTOR];
        assert!(
            slot_sectors.contains(&slot_sector) && slot_sector != last_slot_sector,
            "step {step}: commit rewrote header sector {slot_sector}, expected the other slot \
             than sector {last_slot_sector}"
        );
        last_slot_sector = slot_sector;
        let s = Step {
            old: &old,
            new: &new,
            slot_sector,
            slot_off: slot_sector * SECTOR,
            slot_len: kind.slot_len(),
        };

        for k in 0..6 {
            let image = s.model1(&mut rng);
            landed += image.expect_new as usize;
            s.check(&image, &scratch, &[&old.bytes, &new.bytes], k % 4 == 3);
            images += 1;
        }
        if let Some(probe) = &probe {
            for stop in &stops {
                for k in 0..3 {
                    let image = s.model2(stop, probe.page(), k == 0, &mut rng);
                    landed += image.expect_new as usize;
                    s.check(
                        &image,
                        &scratch,
                        &[&old.bytes, &stop.cache, &new.bytes],
                        k == 2,
                    );
                    images += 1;
                }
            }
            // Checked after the images so that a broken order shows as a bad image first.
            assert_on_disk(probe, &new, &old, step);
        }
        old = new;
    }
    let note = subject.finish();
    println!(
        "{name}: {images} crash images opened and checked ({landed} to the newer commit), \
         {} steps, {stops_seen} commit stops, final lengths {:?}, file {} bytes, {note}",
        shape.steps,
        old.lens,
        old.bytes.len()
    );
    assert!(images >= shape.min_images, "too few crash images: {images}");
    if probe.is_some() {
        assert!(
            stops_seen >= shape.steps,
            "too few commit stops: {stops_seen}"
        );
    }
    assert!(
        most_rows > shape.min_rows,
        "no commit held more than {} elements in column 0 (at most {most_rows})",
        shape.min_rows
    );
}

/// `FilePmdMapped` of the mapping containing `addr` (`/proc/self/smaps`; 0 where missing).
fn pmd_mapped_kib(addr: usize) -> u64 {
    let smaps = fs::read_to_string("/proc/self/smaps").unwrap_or_default();
    let mut inside = false;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                inside = (a..b).contains(&addr);
                continue;
            }
        }
        if let (true, Some(kb)) = (inside, line.strip_prefix("FilePmdMapped:")) {
            return kb.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
        }
    }
    0
}
