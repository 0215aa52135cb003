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
//! sector, when the header page is dirty (the slot was written since the last commit, even
//! if the failure path put the old bytes back before returning), old, as in
//! `P`, new (as in `S_k+1`), torn or garbage; and the old file size unless a `fdatasync`
//! was entered before the slot was stored (seen at the `Op::SyncFile` stop) and so has
//! completed by any later stop. Each image gets the same open-and-check as in model 1,
//! with `P` as one more allowed source of in-place changed elements. Model 2 also checks
//! that when `sync()` returns, no page of the header or of the committed data is dirty: it
//! is on disk, as the API promises.
//!
//! Of the three images built at each stop, the first is the worst case: the new slot
//! whenever the header page is dirty, and every dirty sector as in `S_k`. So a broken order
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
//! The seed is printed; rerun with `PERSISTENCE_SEED=<seed>` to replay.

mod common;

use std::fs;
use std::ops::Range;
use std::path::Path;

use common::format::{Slots, DATA_OFFSET, HEADER_SIZE, SECTOR, SLOT_LEN, SLOT_OFFSETS};
use persistence::test_hooks::{self as fault, Op};
use persistence::{MmapedVec, OpenOptions};

const ELEM: usize = core::mem::size_of::<u64>();
const STEPS: usize = 60;
const MAX_APPEND: f64 = 20_000.0;

/// A value for position `i` written in generation `gen`: distinct per position and per
/// generation, so an old sector and a new one are told apart (splitmix64).
fn value(i: usize, gen: u64) -> u64 {
    let mut z = (i as u64) ^ gen.rotate_left(40) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The file right after a commit returned: its bytes and the committed length.
struct Commit {
    bytes: Vec<u8>,
    len: usize,
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
            w.stops.push((
                op,
                Stop {
                    what,
                    cache,
                    dirty,
                    size_durable: false,
                    disk: Vec::new(),
                },
            ));
        }
    });
}

/// Commits, freezing the file at each durability call the commit makes, in order.
fn sync_watched(
    v: &mut MmapedVec<u64>,
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
    let result = v.sync();
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

/// Applies one step of random changes to `v` and `model`; returns whether there is
/// anything to commit.
/// One run's shape: how many commits, and the range of each step's append (log-uniform).
struct Shape {
    steps: usize,
    appends: (f64, f64),
    min_images: usize,
    /// `OpenOptions::huge_pages`: 2 MiB page-cache folios for bulk appends.
    huge_pages: bool,
}

fn mutate(
    v: &mut MmapedVec<u64>,
    model: &mut Vec<u64>,
    rng: &mut fastrand::Rng,
    gen: u64,
    (lo, hi): (f64, f64),
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
    let n = ((lo * (hi / lo).powf(rng.f64())) as usize).clamp(lo as usize, hi as usize);
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

/// A crash image between two commits of the same length: the header page as it was (no
/// commit writes it), each data sector that changed old or new, the file at either size,
/// sectors past the data sometimes garbage.
fn same_length_image(old: &Commit, new: &Commit, rng: &mut fastrand::Rng) -> Image {
    let size = if rng.bool() {
        new.bytes.len()
    } else {
        old.bytes.len()
    };
    let data_end = DATA_OFFSET + ELEM * old.len;
    let mut img = vec![0u8; size];
    img[..HEADER_SIZE].copy_from_slice(&old.bytes[..HEADER_SIZE]);
    for s in HEADER_SIZE / SECTOR..size.div_ceil(SECTOR) {
        let r = s * SECTOR..((s + 1) * SECTOR).min(size);
        if r.start >= data_end && rng.u8(..6) == 0 {
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
}

impl Step<'_> {
    /// Writes the slot sector of `img` from `pick`; `cache` is `P` (empty in model 1).
    fn slot(&self, img: &mut [u8], pick: Src, cache: &[u8], rng: &mut fastrand::Rng) {
        let r = self.slot_sector * SECTOR..(self.slot_sector + 1) * SECTOR;
        match pick {
            Src::Old => fill(img, &r, &self.old.bytes),
            Src::New => fill(img, &r, &self.new.bytes),
            Src::Cache => fill(img, &r, cache),
            Src::Torn => {
                fill(img, &r, &self.old.bytes);
                // The write stopped inside the slot's 24 bytes.
                let t = rng.usize(1..SLOT_LEN);
                let at = self.slot_off..self.slot_off + t;
                img[at.clone()].copy_from_slice(&self.new.bytes[at]);
            }
            Src::Garbage => rng.fill(&mut img[r]),
        }
    }

    fn landed(&self, img: &[u8]) -> bool {
        let at = self.slot_off..self.slot_off + SLOT_LEN;
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
        let data_end = DATA_OFFSET
            + ELEM
                * if expect_new {
                    self.new.len
                } else {
                    self.old.len
                };
        let (mut from_old, mut from_new, mut garbage) = (0, 0, 0);
        for s in 0..size.div_ceil(SECTOR) {
            if s == self.slot_sector {
                continue;
            }
            let r = s * SECTOR..((s + 1) * SECTOR).min(size);
            let past = r.start >= data_end;
            let differs = self.old.bytes.get(r.clone()) != self.new.bytes.get(r.clone());
            let pick = if past && rng.u8(..6) == 0 {
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
        let slot_pick = if header_dirty && worst {
            Src::New
        } else if header_dirty {
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
        let data_end = DATA_OFFSET
            + ELEM
                * if expect_new {
                    self.new.len
                } else {
                    self.old.len
                };
        let (mut dirty_old, mut dirty_new, mut garbage) = (0, 0, 0);
        for s in 0..size.div_ceil(SECTOR) {
            if s == self.slot_sector {
                continue;
            }
            let r = s * SECTOR..((s + 1) * SECTOR).min(size);
            let p = r.start / page;
            let clean = p < stop.dirty.len() && !stop.dirty[p] && r.end <= cache.len();
            let past = r.start >= data_end;
            let pick = if clean {
                Src::Cache
            } else if worst {
                Src::Old
            } else if past && rng.u8(..4) == 0 {
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
                "model 2{} at {}: header page dirty {header_dirty}, slot {slot_pick:?}, size {size} \
                 (old {}, at stop {}, size durable {}), changed dirty sectors old/new \
                 {dirty_old}/{dirty_new}, garbage sectors {garbage}, dirty pages {:?}",
                if worst { " (worst case)" } else { "" },
                stop.what,
                self.old.bytes.len(),
                cache.len(),
                stop.size_durable,
                &dirty_pages[..dirty_pages.len().min(40)],
            ),
        }
    }

    /// Writes `image` to `scratch`, opens it, and checks the length and every element.
    /// `sources` are the images an in-place changed element of the older commit may come
    /// from.
    fn check(&self, image: &Image, scratch: &Path, sources: &[&[u8]], read_write: bool) {
        fs::write(scratch, &image.bytes).unwrap();
        let only_new: [&[u8]; 1] = [&self.new.bytes];
        let (want_len, allowed): (usize, &[&[u8]]) = if image.expect_new {
            (self.new.len, &only_new)
        } else {
            (self.old.len, sources)
        };
        let opened = if read_write {
            OpenOptions::new()
                .create(false)
                .open::<u64>(scratch)
                .map(|v| v.to_vec())
        } else {
            OpenOptions::new()
                .open_read_only::<u64>(scratch)
                .map(|s| s.to_vec())
        };
        let got = match opened {
            Ok(got) => got,
            Err(e) => panic!(
                "a crash image did not open ({e}; kind {:?}); expected {} commit, length \
                 {want_len}; image: {}",
                e.kind(),
                if image.expect_new {
                    "the newer"
                } else {
                    "the older"
                },
                image.desc
            ),
        };
        assert_eq!(
            got.len(),
            want_len,
            "a crash image opened to the wrong length (older commit {}, newer {}); image: {}",
            self.old.len,
            self.new.len,
            image.desc
        );
        for (i, &x) in got.iter().enumerate() {
            let at = DATA_OFFSET + i * ELEM;
            let ok = allowed
                .iter()
                .any(|src| src.get(at..at + ELEM) == Some(&x.to_ne_bytes()[..]));
            if !ok {
                let options: Vec<Option<u64>> = allowed
                    .iter()
                    .map(|src| {
                        src.get(at..at + ELEM)
                            .map(|b| u64::from_ne_bytes(b.try_into().unwrap()))
                    })
                    .collect();
                panic!(
                    "a crash image that opened to length {want_len} ({} commit) has a wrong \
                     element {i} (file byte {at}, sector {}): {x:#x}, allowed {options:x?}; \
                     image: {}",
                    if image.expect_new { "newer" } else { "older" },
                    at / SECTOR,
                    image.desc
                );
            }
        }
    }
}

/// Reads the file and checks it against the model: the winning slot holds `model.len()`
/// and the data is `model`.
fn committed(path: &Path, model: &[u64]) -> Commit {
    let bytes = common::read(path);
    let slots = Slots::read(&bytes[..HEADER_SIZE]);
    let slot = slots
        .winner()
        .and_then(|w| slots.slots[w])
        .expect("a valid slot after sync()");
    assert_eq!(slot.len as usize, model.len(), "committed length");
    let data = &bytes[DATA_OFFSET..DATA_OFFSET + model.len() * ELEM];
    for (i, (chunk, &want)) in data.chunks_exact(ELEM).zip(model).enumerate() {
        let got = u64::from_ne_bytes(chunk.try_into().unwrap());
        assert_eq!(got, want, "element {i} in the file after sync()");
    }
    Commit {
        bytes,
        len: model.len(),
    }
}

/// The order of the commit, seen directly: when the new slot's `pwrite` is entered, every
/// page of the data it will commit is clean (on disk), and so is the header page (the current
/// slot), and when the file grew, a `fdatasync` (which makes the new size durable) came
/// before it.
fn assert_slot_written_after_data(
    observed: &[(Op, Stop)],
    model: &[u64],
    resized: bool,
    page: usize,
    step: usize,
) {
    let data_end = DATA_OFFSET + model.len() * ELEM;
    for (k, (op, stop)) in observed.iter().enumerate() {
        if *op != Op::Write {
            continue;
        }
        for p in DATA_OFFSET / page..data_end.div_ceil(page) {
            assert!(
                !stop.dirty.get(p).copied().unwrap_or(false),
                "step {step}: the commit slot is written while data page {p} (bytes {}..{}) is \
                 still dirty, i.e. maybe not on disk; committed data ends at byte {data_end}",
                p * page,
                (p + 1) * page
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

/// After `sync()` returned: the header page and every page of the committed data are clean.
fn assert_on_disk(probe: &probe::Probe, c: &Commit, step: usize) {
    let dirty = probe.dirty(c.bytes.len());
    let page = probe.page();
    let end = DATA_OFFSET + c.len * ELEM;
    for (p, &d) in dirty.iter().enumerate() {
        let start = p * page;
        let holds_commit = start < HEADER_SIZE || (start < end && start + page > DATA_OFFSET);
        assert!(
            !(d && holds_commit),
            "step {step}: sync() returned but page {p} (bytes {start}..{}) is still dirty in \
             the page cache, i.e. not on disk; committed data ends at byte {end}",
            start + page
        );
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
        },
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
        },
    );
}

fn run(name: &str, shape: &Shape) {
    let mut rng = common::rng(name);
    // The vector's file must live on a file system with writeback for model 2: under
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

    let mut v = OpenOptions::new()
        .huge_pages(shape.huge_pages)
        .open::<u64>(&path)
        .unwrap();
    let probe = match probe::Probe::new(&path, dir.path()) {
        Ok(p) => Some(std::rc::Rc::new(p)),
        Err(why) => {
            // Straight to stderr, past the test harness's capture, so CI logs show it.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "power_loss: model 2 skipped on {} (model 1 runs): {why}",
                common::fs::type_name(dir.path())
            );
            None
        }
    };
    let mut model: Vec<u64> = Vec::new();
    let mut old = committed(&path, &model);
    let mut last_slot_sector = SLOT_OFFSETS[0] / SECTOR; // creation wrote slot A
    let (mut images, mut stops_seen, mut landed) = (0usize, 0usize, 0usize);

    for step in 0..shape.steps {
        let gen = step as u64 + 1;
        let changed = mutate(&mut v, &mut model, &mut rng, gen, shape.appends);
        let resized = v.file_len() != old.bytes.len() as u64;

        let mut stops = Vec::new();
        if let Some(probe) = &probe {
            let observed = sync_watched(&mut v, &path, probe);
            if resized && !observed.iter().any(|(op, _)| *op == Op::SyncFile) {
                panic!(
                    "step {step}: the file changed size ({} -> {} bytes) but the commit \
                     ran no fdatasync: the new size may not be on disk under the new slot",
                    old.bytes.len(),
                    v.file_len()
                );
            }
            assert!(
                observed.len() <= 9,
                "a commit made {} durability calls",
                observed.len()
            );
            let page = probe.page();
            let slot_writes = observed.iter().filter(|(op, _)| *op == Op::Write).count();
            let want = usize::from(model.len() != old.len);
            assert_eq!(
                slot_writes,
                want,
                "step {step}: a commit from length {} to {} wrote the slot {slot_writes} times",
                old.len,
                model.len()
            );
            assert_slot_written_after_data(&observed, &model, resized, page, step);
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
                if op == Op::SyncFile {
                    // The slot was not stored yet when fdatasync was entered: every later
                    // stop of this commit comes after fdatasync completed.
                    size_durable = stop.cache[..HEADER_SIZE] == old.bytes[..HEADER_SIZE];
                }
                stops.push(stop);
            }
        } else {
            v.sync().unwrap();
        }
        stops_seen += stops.len();

        let new = committed(&path, &model);

        // A commit rewrites exactly one header sector: the older slot's, A and B in turn.
        let differ: Vec<usize> = (0..HEADER_SIZE / SECTOR)
            .filter(|&s| old.bytes[s * SECTOR..][..SECTOR] != new.bytes[s * SECTOR..][..SECTOR])
            .collect();
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
                assert_on_disk(probe, &new, step);
            }
            continue;
        }
        if new.len == old.len {
            // The length did not change: the commit is the data msync alone (the slot would
            // record nothing new), so no header sector may change, and a crash leaves the
            // same length with each changed element old or new.
            assert!(
                differ.is_empty(),
                "step {step}: a commit of the same length rewrote header sectors {differ:?}"
            );
            for k in 0..6 {
                let image = same_length_image(&old, &new, &mut rng);
                let s = Step {
                    old: &old,
                    new: &new,
                    slot_sector: usize::MAX,
                    slot_off: 0,
                };
                s.check(&image, &scratch, &[&old.bytes, &new.bytes], k % 4 == 3);
                images += 1;
            }
            if let Some(probe) = &probe {
                assert_on_disk(probe, &new, step);
            }
            old = new;
            continue;
        }
        assert_eq!(
            differ.len(),
            1,
            "step {step}: a commit must rewrite exactly one header sector, rewrote {differ:?}"
        );
        let slot_sector = differ[0];
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
            assert_on_disk(probe, &new, step);
        }
        old = new;
    }
    let pmd = pmd_mapped_kib(v.as_ptr() as usize);
    v.close().unwrap();
    println!(
        "{name}: {images} crash images opened and checked ({landed} to the newer commit), \
         {} steps, {stops_seen} commit stops, final length {}, file {} bytes, {pmd} KiB of \
         the writer's mapping in 2 MiB page-cache folios (PMD-mapped) at the end",
        shape.steps,
        model.len(),
        old.bytes.len()
    );
    assert!(images >= shape.min_images, "too few crash images: {images}");
    if probe.is_some() {
        assert!(
            stops_seen >= shape.steps,
            "too few commit stops: {stops_seen}"
        );
    }
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
