//! `RawRegion`: one open file, one shared mapping of the whole file, one `flock` lock.
//!
//! The region deals in untyped bytes and in elements of a size it is told once; it never
//! looks at element values. It validates the header on open, grows and shrinks the file and
//! its mapping, writes element bytes the cheapest way, and commits (`msync` data, `pwrite`
//! the other slot, `fdatasync`; `docs/design.md`, "Commit").

#![allow(unsafe_code)]

use core::ffi::CStr;
use core::ptr::NonNull;

use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, Header, Layout, Slot, DATA_OFFSET, HEADER_SIZE, SLOT_OFFSETS};
use crate::sidecar::Place;
use crate::sys;

pub(crate) mod rewrite;

/// The most bytes of element data that one amortised growth step adds beyond what was asked
/// for: 1 GiB. Below it capacity doubles (8x while small); above it, it grows by 1 GiB at a
/// time, so a vector never reserves (real disk blocks, with `fallocate` or written zeros)
/// more than this beyond what it was asked to hold. Public because it bounds the disk space a
/// vector may take beyond its data; the rest of the growth policy is a tuning detail
/// (`docs/design.md`, "Growth").
pub const MAX_GROWTH_STEP: usize = 1 << 30;

/// Below this many bytes of element data, amortised growth multiplies the capacity by 8
/// instead of 2 (but never past this size): 64 MiB.
pub(crate) const FAST_GROWTH_LIMIT: usize = 64 << 20;

/// The size of the largest page-cache folio Linux builds for a regular file on x86-64 (and
/// of a PMD mapping there): 2 MiB. Once a file is larger, amortised growth keeps its size a
/// whole multiple of it, so that the end of the file never cuts a 2 MiB range in two (a cut
/// range can only hold small folios, which later readers map with a page fault per 64 KiB
/// instead of one per 2 MiB); the growth step that leaves the first 2 MiB stops at exactly
/// 2 MiB. It is also the unit of the region's bulk-append mode ([`RawRegion::commit`]).
pub(crate) const HUGE_UNIT: u64 = 2 << 20;

/// From this many bytes on, [`RawRegion::write_elems`] writes with `pwrite` rather than
/// through the mapping (a page fault per fresh page costs more than a system call per
/// slice), on systems where a `pwrite` shows in shared mappings at once.
const PWRITE_MIN: usize = 32 << 10;

/// How to open a region.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RegionOptions {
    pub write: bool,
    pub create: bool,
    pub create_new: bool,
    pub mode: u32,
    pub wait_for_lock: bool,
    /// Minimum capacity in elements (writers only).
    pub capacity: usize,
    /// Keep the file system's copy-on-write for a new file (else No_COW where it exists).
    pub copy_on_write: bool,
    /// Whether bulk-append mode may be on (`OpenOptions::huge_pages`).
    pub huge_pages: bool,
    pub layout: Layout,
}

/// Whether the current commit slot is known to be on disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SlotDurability {
    /// Written and flushed by this handle (or by the creation of the file).
    Durable,
    /// Found on open: an earlier writer may have been killed between writing it and
    /// flushing it, so it may be in the page cache only.
    Unknown,
    /// Written, but its flush failed: `sync` returned that error, and the next commit must
    /// make it durable.
    FlushFailed,
}

/// One open file, one shared mapping of it, one lock.
///
/// # Invariants
///
/// * `base` is the page-aligned start of a live `MAP_SHARED` mapping of `file` returned by
///   `mmap`/`mremap`, `map_len` bytes long, readable, and writable iff `writable`; or, for a
///   read-only region of an empty file, `map_len == 0` and `base` is dangling and never read.
/// * `map_len <= file_len`: every mapped byte is backed by the file, so touching it cannot
///   raise `SIGBUS` (its blocks were reserved when the file grew: `fallocate`, or zeros
///   written where the file system lacks it).
/// * `map_len <= isize::MAX`, and when mapped, `map_len >= DATA_OFFSET`.
/// * `capacity == (map_len - DATA_OFFSET) / elem_size` (0 when unmapped): element data at
///   `base + DATA_OFFSET` has room for `capacity` elements.
/// * the `flock` lock (exclusive when `writable`, else shared) is held for the region's
///   whole life; it is released in `Drop` after unmapping.
/// * `committed` is the newest valid slot in the file (in the page cache; on disk too
///   when `slot` is `Durable`); `committed.len <= capacity`; `next_slot` is the index of the
///   other (older or invalid) slot, the one the next commit overwrites; `next_seq >
///   committed.seq`.
#[derive(Debug)]
pub(crate) struct RawRegion {
    file: sys::File,
    base: NonNull<u8>,
    map_len: usize,
    /// `base + DATA_OFFSET` when mapped, else [`unmapped_data`]; cached for the push path.
    data: NonNull<u8>,
    file_len: u64,
    /// The file size as of the last durable commit (or creation).
    synced_file_len: u64,
    capacity: usize,
    elem_size: usize,
    page_size: usize,
    writable: bool,
    /// The validated header (layout, checksum, slots as found on open).
    header: Header,
    committed: Slot,
    next_slot: usize,
    /// The sequence number the next slot write uses: above every one written so far, even
    /// by a write that failed (a spent number is never written again with other bytes).
    next_seq: u64,
    /// Whether the current slot is known to be on disk.
    slot: SlotDurability,
    /// Set when writing element data to disk failed: the kernel may have dropped the dirty
    /// pages or marked them clean, so a later `msync` could succeed without writing them.
    /// Every later commit is refused; the previous commit stays the durable one.
    poisoned: Option<Error>,
    /// Bytes were written with `pwrite` since the last commit: it also `fdatasync`s, since
    /// not every system's `msync` flushes pages dirtied by `write`.
    wrote_through_fd: bool,
    /// Bulk-append mode: appends are expected in bulk, so the page cache should hold the
    /// appended data in 2 MiB folios (growth advises `MADV_HUGEPAGE`, bulk `pwrite`s pad their
    /// last piece to a 2 MiB boundary). Set when the vector is opened and after a commit that
    /// appended at least [`HUGE_UNIT`] bytes; cleared by a commit that appended less (see
    /// [`adapt`](Self::adapt)). Only where [`sys::HUGE_HINTS`] holds does it change anything.
    bulk: bool,
    /// The advice the current mapping was given (`Some(bulk)` as it was then), or `None`
    /// for a mapping given none yet.
    advised: Option<bool>,
    /// Whether bulk-append mode may be on at all (`OpenOptions::huge_pages`).
    huge_pages: bool,
    /// Whether padding bulk writes to 2 MiB builds 2 MiB folios on this file's file
    /// system (ext4, XFS); `None` until the first write that would pad asks.
    pad_helps: Option<bool>,
    /// A writer's directory and name of its file, where the live readers' lock file
    /// `<name>-live` is (`sidecar.rs`); `None` for a read-only region, and for a writer that
    /// could not resolve them: it then never makes the file shorter.
    place: Option<Place>,
    /// Elements a `shrink_to` asked to keep while a live reader was open (or the library
    /// could not tell that none was): the cut waits, and is tried again after each commit
    /// (so also at close) and at each `shrink_to`.
    pending_cut: Option<usize>,
    /// The slot the next commit overwrites may be torn: found invalid (and not blank) on
    /// open, or a `pwrite` into it failed. The next slot write then reads it first and picks
    /// its sequence number clear of it (`sequence_clear_of`).
    target_torn: bool,
    /// `close` already released the lock: `Drop` need not `flock(LOCK_UN)` again.
    unlocked: bool,
    /// The process that opened the region (`getpid`). In any other one (a child forked
    /// after the open, which shares the descriptor and its lock) the region commits,
    /// grows, writes through the descriptor, cuts and unlocks nothing.
    owner: u32,
}

// SAFETY: the region owns its mapping and descriptor exclusively; the raw pointer is only an
// address into memory that no other Rust value refers to, so moving the region to another
// thread is sound.
unsafe impl Send for RawRegion {}
// SAFETY: `&RawRegion` allows only reads of the mapping (and of plain fields); every write
// goes through `&mut self`, so shared references across threads cannot race.
unsafe impl Sync for RawRegion {}

/// The element pointer of an unmapped region: dangling, but aligned to
/// [`MAX_ALIGN`](format::MAX_ALIGN), so it is a valid base for an empty slice of any `Pod`.
pub(crate) fn unmapped_data() -> NonNull<u8> {
    /// A type as aligned as the most aligned element the format allows.
    #[repr(align(4096))]
    struct MaxAligned;
    const _: () = assert!(core::mem::align_of::<MaxAligned>() == format::MAX_ALIGN);
    NonNull::<MaxAligned>::dangling().cast::<u8>()
}

fn round_up(n: u64, to: u64) -> Option<u64> {
    n.checked_add(to - 1).map(|v| v / to * to)
}

/// `DATA_OFFSET + elems * elem_size`, checked against `isize::MAX` and `u64`.
fn bytes_for(elems: usize, elem_size: usize) -> Result<u64> {
    elems
        .checked_mul(elem_size)
        .and_then(|b| b.checked_add(DATA_OFFSET))
        .filter(|&b| b <= isize::MAX as usize)
        .map(|b| b as u64)
        .ok_or(Error::new(
            ErrorKind::CapacityOverflow,
            "capacity in bytes exceeds isize::MAX",
        ))
}

fn to_map_len(size: u64) -> Result<usize> {
    usize::try_from(size)
        .ok()
        .filter(|&s| s <= isize::MAX as usize)
        .ok_or(Error::value(
            ErrorKind::CapacityOverflow,
            "file too large to map, bytes:",
            size,
        ))
}

/// The file size, in bytes, that one growth step of a file of `current` bytes asks for, when
/// it must hold at least `need` bytes (header included) and the page size is `page`.
///
/// With `exact`, `need` rounded up to whole pages. Otherwise amortised, like `Vec`: at least
/// one page more; eight times the element data while it stays under [`FAST_GROWTH_LIMIT`]
/// (fewer steps: each step restarts the kernel's fault-time readahead with small page-cache
/// folios, so fewer steps mean fewer page faults on first writes); then doubling, but never
/// more than [`MAX_GROWTH_STEP`] beyond the current data; and never less than `need`. Past
/// [`HUGE_UNIT`] (2 MiB) the size is a whole multiple of it: the step out of the first
/// 2 MiB stops at exactly 2 MiB when `need` fits there, every other step rounds up (or down,
/// where rounding up would add more than [`MAX_GROWTH_STEP`] beyond `need`).
///
/// # Errors
///
/// [`ErrorKind::CapacityOverflow`] when the size exceeds `isize::MAX` bytes.
pub(crate) fn growth_target(current: u64, need: u64, page: u64, exact: bool) -> Result<u64> {
    debug_assert!(page.is_power_of_two());
    let mut target = need;
    if !exact {
        let data = current.saturating_sub(DATA_OFFSET as u64);
        let doubled = data.saturating_add(data.min(MAX_GROWTH_STEP as u64));
        let fast = data.saturating_mul(8).min(FAST_GROWTH_LIMIT as u64);
        let amortised = (DATA_OFFSET as u64).saturating_add(doubled.max(fast).max(page));
        target = target.max(amortised.min(isize::MAX as u64));
        if target > HUGE_UNIT {
            target = if current < HUGE_UNIT && need <= HUGE_UNIT {
                HUGE_UNIT
            } else {
                let down = target / HUGE_UNIT * HUGE_UNIT;
                match round_up(target, HUGE_UNIT) {
                    Some(up) if up <= isize::MAX as u64 && up - need <= MAX_GROWTH_STEP as u64 => {
                        up
                    }
                    // Only where the step is capped (or near isize::MAX), so `down` is far
                    // above `need`; else keep the size unrounded.
                    _ if down >= need => down,
                    _ => target,
                }
            };
        }
    }
    round_up(target, page)
        .filter(|&s| s <= isize::MAX as u64)
        .ok_or(Error::new(
            ErrorKind::CapacityOverflow,
            "file size exceeds isize::MAX",
        ))
}

/// The first page of a file, read under its lock, and the file's size then.
pub(crate) struct HeaderPage {
    bytes: [u8; HEADER_SIZE],
    /// How many of `bytes` the file holds (fewer for a file shorter than a page).
    got: usize,
    /// The file size, read with `fstat` after the lock was taken.
    pub(crate) file_size: u64,
    /// All that `fstat` said then.
    pub(crate) stat: sys::Stat,
}

impl HeaderPage {
    /// The bytes the file holds of its first page.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes[..self.got]
    }
}

/// How many times [`open_locked`] opens a path again after finding that the file it locked
/// had been removed or renamed over meanwhile.
const REOPEN_TRIES: u32 = 16;

/// Opens `path`, refuses anything but a regular file (never blocking on a FIFO), takes the
/// `flock` lock (exclusive or shared; waiting or not), and reads the size and the header page
/// under it: every size the library trusts is read after the lock is held, so a file
/// truncated while no one had it open is `Corrupt`, never a `SIGBUS`.
///
/// A file that no longer has a name once its lock is held (`nlink == 0`: it was renamed over
/// or removed while this waited for the lock, as a conversion replaces its destination with
/// `rename` while holding that lock) is not the file at `path` any more: writing into it
/// would lose every change. The path is then opened again (up to [`REOPEN_TRIES`] times).
pub(crate) fn open_locked(
    path: &CStr,
    how: &sys::OpenHow,
    exclusive: bool,
    wait: bool,
) -> Result<(sys::File, HeaderPage)> {
    let mut tries = 0;
    loop {
        let file = sys::open(path, how)?;
        let not_regular = Error::new(ErrorKind::NotARegularFile, "the path");
        if wait && !file.stat()?.regular {
            // Refuse FIFOs, devices and directories before waiting on their lock. (A
            // non-blocking lock attempt returns at once, so it needs no stat before it.)
            return Err(not_regular);
        }
        file.lock(exclusive, wait)?;
        let stat = file.stat()?;
        if !stat.regular {
            return Err(not_regular);
        }
        if stat.nlink == 0 {
            let _ = file.unlock();
            tries += 1;
            if tries > REOPEN_TRIES {
                return Err(Error::new(
                    ErrorKind::Locked,
                    "the file was replaced again and again while waiting for its lock",
                ));
            }
            continue;
        }
        let mut bytes = [0u8; HEADER_SIZE];
        let got = file.read_at(&mut bytes, 0)?;
        return Ok((
            file,
            HeaderPage {
                bytes,
                got,
                file_size: stat.size,
                stat,
            },
        ));
    }
}

/// What [`probe`] finds in a file.
pub(crate) struct Probe {
    /// The validated header.
    pub(crate) header: Header,
    /// The winning slot's index; its length fits in the file.
    pub(crate) winner: usize,
    /// The file size in bytes, read under the lock.
    pub(crate) file_size: u64,
    /// What the file system says about the file.
    pub(crate) fs: sys::FsFacts,
}

/// Reads and validates a file's header without knowing its element type, exactly as
/// [`RawRegion::open`] validates it before it compares the header with a type, except that
/// a file of the other byte order is decoded too (its header says so): opened read-only,
/// read with `pread`, never written or mapped.
///
/// Through [`open_locked`], as `RawRegion::open` (so the same refusals, and a file renamed over
/// while it was opened is opened again), under a shared lock (never waiting), unlocked
/// explicitly before it returns, when it can
/// get one. When it cannot (a writer holds the file), it reads without a lock, as a live
/// reader would (it never faults: it does not map): the fixed fields once (a file with a
/// commit never rewrites them), then the two slots as [`crate::live::snapshot`] reads them (slot A,
/// slot B, slot A again, each with its own `pread`, retried while A changed), and only then
/// the size, so that a growth between the two never looks like a committed length past the
/// end. A length that does not fit (the file was cut meanwhile) is read again a few times
/// before it is `Corrupt`. It never creates the live readers' lock file.
pub(crate) fn probe(path: &CStr) -> Result<Probe> {
    let how = sys::OpenHow {
        write: false,
        create: false,
        create_new: false,
        mode: 0,
    };
    let (file, page) = match open_locked(path, &how, false, false) {
        Ok(opened) => opened,
        // A writer holds the file: read it as a live reader would, without a lock.
        Err(e) if e.kind() == ErrorKind::Locked => {
            return probe_beside_writer(&sys::open(path, &how)?)
        }
        Err(e) => return Err(e),
    };
    // Foreign files too: `inspect` shows what they hold, so that they can be converted.
    let result = Header::decode(page.bytes(), true).and_then(|header| {
        let (winner, _) = header.committed(page.file_size)?;
        Ok(Probe {
            header,
            winner,
            file_size: page.file_size,
            fs: file.fs_facts(),
        })
    });
    // Unlock explicitly, as the region does: a child forked meanwhile may share the open file
    // description and would otherwise keep the lock after the descriptor is closed.
    let unlocked = file.unlock();
    let probe = result?;
    unlocked?;
    Ok(probe)
}

fn not_regular() -> Error {
    Error::new(ErrorKind::NotARegularFile, "the path")
}

/// [`probe`] without a lock, beside a writer.
fn probe_beside_writer(file: &sys::File) -> Result<Probe> {
    if !file.stat()?.regular {
        return Err(not_regular());
    }
    let mut page = [0u8; HEADER_SIZE];
    let mut attempt = 0;
    loop {
        attempt += 1;
        let got = file.read_at(&mut page, 0)?;
        let sum = Header::decode(&page[..got], false)?.checksum();
        let read = |i: usize| -> Result<[u64; 3]> {
            let mut b = [0u8; format::SLOT_LEN];
            if file.read_at(&mut b, SLOT_OFFSETS[i] as u64)? < b.len() {
                return Ok([0; 3]); // Past the end of a short file: blank.
            }
            Ok(format::slot_words(&b))
        };
        let snap = crate::live::snapshot(
            read,
            |_, w| format::slot_words_valid(sum, w),
            LOCKLESS_ROUNDS,
        )?;
        let Some(snap) = snap else {
            return Err(Error::new(
                ErrorKind::Corrupt,
                "no valid commit slot (no commit yet, or both slots damaged)",
            ));
        };
        // The page with the slots as the snapshot read them, decoded as `open` decodes it.
        for (i, words) in snap.words.iter().enumerate() {
            let at = SLOT_OFFSETS[i];
            for (k, w) in words.iter().enumerate() {
                page[at + k * 8..at + k * 8 + 8].copy_from_slice(&w.to_ne_bytes());
            }
        }
        let header = Header::decode(&page[..got], false)?;
        let size = file.stat()?.size;
        match header.committed(size) {
            Ok((winner, _)) => {
                return Ok(Probe {
                    header,
                    winner,
                    file_size: size,
                    fs: file.fs_facts(),
                })
            }
            Err(_) if attempt < 4 => continue,
            Err(e) => return Err(e),
        }
    }
}

/// How many times [`probe_beside_writer`] reads the slots (A, B, A) before it gives up.
const LOCKLESS_ROUNDS: u32 = 16;

impl RawRegion {
    /// Opens (or creates) the file at `path`, locks it, validates its header against
    /// `opts.layout`, and maps it.
    pub(crate) fn open(path: &CStr, opts: &RegionOptions) -> Result<RawRegion> {
        let elem_size = opts.layout.elem_size as usize;
        debug_assert!(elem_size > 0);
        let how = sys::OpenHow {
            write: opts.write,
            create: opts.create && opts.write,
            create_new: opts.create_new && opts.write,
            mode: opts.mode,
        };
        let (file, page) = open_locked(path, &how, opts.write, opts.wait_for_lock)?;
        let size = page.file_size;
        let header = page.bytes();

        // A complete header with a valid slot is an existing (empty) vector, even when it
        // also looks like the remains of a creation: a live reader may have mapped it, so
        // it is never cut to zero and written again.
        let is_new = size == 0
            || (format::is_interrupted_creation(header, size, &opts.layout)
                && Header::decode(header, false).map_or(true, |h| h.winner().is_none()));
        // A writer finds where live readers lock, and creates their lock file there (best
        // effort: without it the writer merely never cuts the file while it cannot tell
        // that no reader is open). Never for a read-only region.
        let place = if opts.write {
            Place::resolve(path)
                .ok()
                .filter(|place| place.names(page.stat.id))
        } else {
            None
        };
        if let Some(place) = &place {
            let _ = place.create_lock_file(&page.stat);
        }
        let page_size = sys::page_size();
        let mut region = RawRegion {
            file,
            base: NonNull::dangling(),
            map_len: 0,
            data: unmapped_data(),
            file_len: size,
            synced_file_len: size,
            capacity: 0,
            elem_size,
            page_size,
            writable: opts.write,
            header: Header::new(opts.layout),
            committed: Slot { seq: 0, len: 0 },
            next_slot: 1,
            next_seq: 1,
            slot: SlotDurability::Durable,
            poisoned: None,
            wrote_through_fd: false,
            bulk: opts.huge_pages && opts.write,
            advised: None,
            huge_pages: opts.huge_pages && opts.write,
            pad_helps: None,
            place,
            pending_cut: None,
            target_torn: false,
            unlocked: false,
            owner: sys::process_id(),
        };
        if is_new {
            if !opts.write {
                // Read-only: an empty vector, and the file is not written.
                return Ok(region);
            }
            region.initialise(path, &opts.layout, opts.copy_on_write)?;
        } else {
            // The same validation as `inspect`'s (`probe`), then the comparison with `T`.
            let decoded = Header::decode(header, false)?;
            decoded.layout.check(&opts.layout)?;
            let (winner, slot) = decoded.committed(size)?;
            region.header = decoded;
            region.committed = slot;
            region.next_slot = 1 - winner;
            // No overflow: a valid slot's sequence is at most `MAX_SEQUENCE`.
            region.next_seq = slot.seq + 1;
            // The other slot, which the next commit overwrites, may hold part of a commit a
            // writer died writing (see `sequence_clear_of`).
            let other = decoded.slots()[1 - winner];
            region.target_torn = !other.valid && !other.blank;
            // A writer killed between its slot write and its flush leaves a slot that is in
            // the page cache only; this open cannot tell, so the first new slot flushes it.
            region.slot = SlotDurability::Unknown;
        }

        let map_len = to_map_len(region.file_len)?;
        // SAFETY: `map_len >= DATA_OFFSET > 0` (a validated or new header page is present) and
        // equals the file size read under the lock, so every mapped byte is file-backed. The
        // region unmaps it exactly once, in `Drop` (or moves it with `remap`).
        let base = unsafe { sys::map(&region.file, map_len, opts.write) }?;
        region.set_mapping(base, map_len);
        if opts.write && opts.capacity > region.capacity {
            // Asked for in so many words: exactly that (in whole pages), not a growth step.
            region.grow_to(opts.capacity, true)?;
        }
        Ok(region)
    }

    /// Writes the header page of a new file and makes it and its name durable before
    /// anything else happens, so that a crash at any point leaves either an empty file, a
    /// torn header page without a valid slot (both open as new), or a valid empty vector.
    ///
    /// Unless `copy_on_write`, the still empty file first gets the No_COW attribute where
    /// the file system has one (btrfs): in-place rewrites of its pages then need no new
    /// block, so a full disk cannot turn a store into a `SIGBUS`.
    fn initialise(&mut self, path: &CStr, layout: &Layout, copy_on_write: bool) -> Result<()> {
        let header = Header::new(*layout);
        if self.file_len > HEADER_SIZE as u64 {
            return Err(Error::new(
                ErrorKind::Corrupt,
                "interrupted creation larger than a header",
            ));
        }
        if self.file_len > 0 {
            // The remains of an interrupted creation hold no commit: start again from the
            // empty file they stand for, so that the attribute below can still take effect.
            self.file.set_len(0)?;
            self.file_len = 0;
            self.synced_file_len = 0;
        }
        if !copy_on_write {
            self.file.set_no_cow();
        }
        let written = self
            .file
            .write_all_at(&header.encode(), 0)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // A full disk, say. Leave the empty file that opens as new, never a short header
            // that would open as `Corrupt`. But a header that reached the page cache whole
            // (its flush failed) is a valid, empty vector that a live reader may have mapped:
            // that one is cut only through the live readers' gate, and otherwise left as it
            // is (it opens as an empty vector).
            let mut page = [0u8; HEADER_SIZE];
            let got = self.file.read_at(&mut page, 0).unwrap_or(0);
            let complete = Header::decode(&page[..got], false).is_ok_and(|h| h.winner().is_some());
            let gate = if complete {
                self.place.as_ref().and_then(|p| p.lock_for_cut(&self.file))
            } else {
                None
            };
            if !complete || gate.is_some() {
                let _ = self.file.set_len(0);
            }
            if let Some(gate) = gate {
                let _ = gate.unlock();
            }
            return Err(e);
        }
        // The directory that holds the new name: the resolved one (the path may be a
        // symbolic link into another directory); the path's own parent only when it could
        // not be resolved (or no longer leads to this file).
        match &self.place {
            Some(place) => place.sync_dir()?,
            None => sys::sync_parent_dir(path)?,
        }
        self.file_len = HEADER_SIZE as u64;
        self.synced_file_len = self.file_len;
        self.header = header;
        self.committed = Slot { seq: 1, len: 0 };
        self.next_slot = 1;
        self.next_seq = 2;
        self.slot = SlotDurability::Durable;
        Ok(())
    }

    /// Refuses, with [`ErrorKind::WrongProcess`], to act for a process other than the one
    /// that opened the region (a forked child): it shares the parent's descriptor and lock,
    /// so a commit, a growth, a write or a cut by it would be a second writer's.
    fn check_owner(&self) -> Result<()> {
        if sys::process_id() == self.owner {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::WrongProcess,
                "a forked child may only drop the handles of its parent",
            ))
        }
    }

    /// Element capacity of the mapping.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Committed length (elements) as of the last successful commit or open.
    #[inline]
    pub(crate) fn committed_len(&self) -> usize {
        // Never truncates: validated to fit inside the mapping on open, and set from a
        // `usize` on every commit.
        self.committed.len as usize
    }

    /// Pointer to element 0; for an unmapped read-only region, [`unmapped_data`].
    #[inline]
    pub(crate) fn data_ptr(&self) -> NonNull<u8> {
        self.data
    }

    /// Writes `bytes` as the elements from `index` on, the cheapest way: with `pwrite` from
    /// [`PWRITE_MIN`] bytes on where the mapping shows such writes at once (the kernel then
    /// fills whole page-cache folios, instead of a page fault per fresh page), else by a copy
    /// into the mapping. Either way the mapping shows the bytes when this returns. In
    /// bulk-append mode (Linux), a `pwrite` that ends inside a 2 MiB range it enters at a
    /// 2 MiB boundary is cut there, and its last piece is written together with zeros up to
    /// the end of the range (past the length and the committed length, never over an
    /// element), so that the kernel builds that range as one 2 MiB folio.
    ///
    /// # Errors
    ///
    /// The OS error of `pwrite`; some of the bytes may then have been written.
    ///
    /// # Panics
    ///
    /// If the bytes do not fit in the capacity (a bug in the caller).
    pub(crate) fn write_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
        let offset = self.elems_offset(index, bytes.len());
        if sys::WRITE_SHOWS_IN_MAPPINGS && bytes.len() >= PWRITE_MIN {
            self.check_owner()?;
            // Before the write: even a failed one may have changed some bytes.
            self.wrote_through_fd = true;
            let end = offset + bytes.len();
            let huge = HUGE_UNIT as usize;
            // The last 2 MiB boundary before the end of the write.
            let cut = end / huge * huge;
            let committed_end = DATA_OFFSET + self.committed_len() * self.elem_size;
            if sys::HUGE_HINTS
                && self.bulk
                && cut >= huge
                && cut >= offset
                && end > cut
                && end >= committed_end
                && *self
                    .pad_helps
                    .get_or_insert_with(|| self.file.builds_large_folios())
            {
                // Bulk-append mode, and the write ends inside a 2 MiB range that it enters
                // at the range's start: write that last piece together with zeros up to the
                // range's end (or the file's), in one call, so that the kernel builds the
                // whole range as one 2 MiB folio, which the next writes then fill. (Linux
                // sizes a new folio from the length of the write that creates it, cut down to
                // the alignment of its offset: without this, every write boundary that is not
                // 2 MiB-aligned, that is all of them since the data start at byte 4096,
                // starts a range of small folios.) The zeros land past the length, and past
                // the committed length (checked above): no element changes. Before `cut` the
                // kernel cuts the write at 2 MiB boundaries itself.
                let (head, tail) = bytes.split_at(cut - offset);
                if !head.is_empty() {
                    self.file.write_all_at(head, offset as u64)?;
                }
                let pad_end = (cut + huge).min(self.map_len);
                return self
                    .file
                    .write_all_padded_at(tail, cut as u64, (pad_end - end) as u64);
            }
            return self.file.write_all_at(bytes, offset as u64);
        }
        // SAFETY: `offset` is from `elems_offset` for `bytes.len()` bytes.
        unsafe { self.copy_into_mapping(offset, bytes) };
        Ok(())
    }

    /// Overwrites elements from `index` (all below the length) with `bytes`, dirtying in the
    /// page cache only the file blocks the bytes fall in: with `pwrite` where the mapping
    /// shows such writes at once, else by a copy into the mapping. A store through the
    /// mapping would take a write fault, and the file system then marks the whole page-cache
    /// folio under it dirty (up to 2 MiB, all written at the next commit); a `pwrite` marks
    /// only the blocks it writes. It also fails with an error where a store would raise
    /// `SIGBUS` (a page on a full copy-on-write file system). Never pads, never cuts.
    ///
    /// # Errors
    ///
    /// The OS error of `pwrite`; some of the bytes may then have been written.
    ///
    /// # Panics
    ///
    /// If the bytes do not fit in the capacity (a bug in the caller).
    pub(crate) fn overwrite_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
        let offset = self.elems_offset(index, bytes.len());
        if sys::WRITE_SHOWS_IN_MAPPINGS {
            self.check_owner()?;
            // Before the write: even a failed one may have changed some bytes.
            self.wrote_through_fd = true;
            return self.file.write_all_at(bytes, offset as u64);
        }
        // SAFETY: `offset` is from `elems_offset` for `bytes.len()` bytes.
        unsafe { self.copy_into_mapping(offset, bytes) };
        Ok(())
    }

    /// The file offset of element `index`, checking that `len` bytes from there lie within
    /// the capacity of a writable region, hence within its writable mapping.
    ///
    /// # Panics
    ///
    /// If they do not (a bug in the caller).
    fn elems_offset(&self, index: usize, len: usize) -> usize {
        let offset = DATA_OFFSET + index * self.elem_size;
        assert!(self.writable && offset + len <= DATA_OFFSET + self.capacity * self.elem_size);
        offset
    }

    /// Copies `bytes` into the mapping at file offset `offset`.
    ///
    /// # Safety
    ///
    /// `offset..offset + bytes.len()` lies within the writable mapping (as
    /// [`elems_offset`](Self::elems_offset) checks).
    unsafe fn copy_into_mapping(&mut self, offset: usize, bytes: &[u8]) {
        // SAFETY: the destination range lies in the live writable mapping (the caller's
        // contract); `bytes` cannot overlap it, since `&mut self` excludes every borrow of
        // the mapping and `bytes` is a borrow of something else.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.base.as_ptr().add(offset),
                bytes.len(),
            )
        };
    }

    /// Records a new mapping (or none, with `map_len == 0`) and what derives from it.
    fn set_mapping(&mut self, base: NonNull<u8>, map_len: usize) {
        self.base = base;
        self.map_len = map_len;
        if map_len == 0 {
            self.data = unmapped_data();
            self.capacity = 0;
        } else {
            debug_assert!(map_len >= DATA_OFFSET);
            // SAFETY: a mapped region is at least `DATA_OFFSET` bytes long, so the offset
            // stays within (or one past the end of) the mapping.
            self.data = unsafe { base.add(DATA_OFFSET) };
            self.capacity = format::capacity_of(map_len as u64, self.elem_size as u64) as usize;
        }
    }

    /// Records the mapping a remap returned, and gives it the advice of the current mode.
    fn remapped(&mut self, base: NonNull<u8>, map_len: usize) {
        self.set_mapping(base, map_len);
        if !sys::REMAP_KEEPS_ADVICE {
            self.advised = None;
        }
        self.advise();
    }

    /// With `huge_pages`, advises the whole mapping of a writer `MADV_HUGEPAGE` in
    /// bulk-append mode, else `MADV_NOHUGEPAGE`, unless it has that advice already; without
    /// it, gives no advice at all (the kernel's read-ahead decides, as for any mapping).
    /// Always the whole mapping: advice on a part would split the kernel's mapping in two,
    /// and the next `mremap` of the whole range would fail with `EFAULT`.
    fn advise(&mut self) {
        if sys::HUGE_HINTS
            && self.huge_pages
            && self.writable
            && self.map_len > 0
            && self.advised != Some(self.bulk)
        {
            // SAFETY: `base`/`map_len` is exactly the live mapping (invariant).
            unsafe { sys::advise_huge(self.base, self.map_len, self.bulk) };
            self.advised = Some(self.bulk);
        }
    }

    /// The file size in bytes (as the region last set or read it).
    pub(crate) fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Grows capacity to at least `min_capacity` elements: exactly that (rounded up to
    /// whole pages) when `exact`, else one amortised step of [`growth_target`]. Reserves the
    /// blocks, then remaps; never copies element data. Near a full disk (or the largest file
    /// the file system allows) a step that does not fit is halved, down to exactly what was
    /// asked for, so the vector still gets what room is left, in a few steps. On error
    /// nothing has changed.
    pub(crate) fn grow_to(&mut self, min_capacity: usize, exact: bool) -> Result<()> {
        debug_assert!(self.writable);
        if min_capacity <= self.capacity {
            return Ok(());
        }
        self.check_owner()?;
        let need = bytes_for(min_capacity, self.elem_size)?;
        let page = self.page_size as u64;
        let exact_size = growth_target(self.file_len, need, page, true)?;
        let mut new_size = growth_target(self.file_len, need, page, exact)?;
        let old_size = self.file_len;
        while let Err(e) = self.file.allocate(old_size, new_size) {
            let retry = matches!(e.kind(), ErrorKind::OutOfSpace | ErrorKind::FileTooLarge);
            if !retry || new_size <= exact_size {
                return Err(e);
            }
            new_size = exact_size + (new_size - exact_size) / 2 / page * page;
        }
        // Exact: `growth_target` returns at most `isize::MAX`.
        let new_len = new_size as usize;
        // SAFETY: `base`/`map_len` is this region's live mapping (invariant), no borrow of it
        // exists while `&mut self` is held, and the file is now `new_size >= new_len` bytes.
        match unsafe { sys::remap(&self.file, self.base, self.map_len, new_len, self.writable) } {
            Ok(base) => {
                self.remapped(base, new_len);
                self.file_len = new_size;
                // The capacity is wanted again: a cut that was waiting is dropped.
                self.pending_cut = None;
                Ok(())
            }
            Err(e) => {
                // Give the blocks back; the old mapping is untouched.
                let _ = self.file.set_len(old_size);
                Err(e)
            }
        }
    }

    /// Cuts the file down to hold `keep` elements (never below the committed length: commit
    /// first to shrink further), remapping first so that no mapped byte outlives the file.
    ///
    /// Only while no live reader is open: the cut takes the exclusive lock on the live
    /// readers' lock file without waiting (`sidecar.rs`, `Place::lock_for_cut`). When it
    /// cannot, nothing changes now and the cut is remembered (`pending_cut`) and tried again
    /// after each commit and at the next `shrink_to`; `Ok` either way.
    pub(crate) fn shrink_to(&mut self, keep: usize) -> Result<()> {
        debug_assert!(self.writable);
        self.check_owner()?;
        let keep = keep.max(self.committed_len());
        let new_size = bytes_for(keep, self.elem_size)?;
        if new_size >= self.file_len {
            self.pending_cut = None;
            return Ok(());
        }
        let Some(gate) = self.place.as_ref().and_then(|p| p.lock_for_cut(&self.file)) else {
            self.pending_cut = Some(keep);
            return Ok(());
        };
        let cut = self.cut_to(new_size);
        let unlocked = gate.unlock();
        drop(gate);
        cut?;
        self.pending_cut = None;
        unlocked
    }

    /// The cut itself, with the lock file held exclusively.
    fn cut_to(&mut self, new_size: u64) -> Result<()> {
        let new_len = to_map_len(new_size)?;
        // SAFETY: `base`/`map_len` is this region's live mapping, no borrow of it exists while
        // `&mut self` is held, and the file is longer than `new_len` bytes.
        let base =
            unsafe { sys::remap(&self.file, self.base, self.map_len, new_len, self.writable) }?;
        self.remapped(base, new_len);
        // If this fails the file keeps its old size: still valid, merely larger than needed.
        self.file.set_len(new_size)?;
        self.file_len = new_size;
        Ok(())
    }

    /// Tries a cut that had to wait again, once a commit of `len` elements succeeded; a
    /// failure leaves it waiting (the file is still valid, merely larger than needed).
    fn retry_cut(&mut self, len: usize) {
        if let Some(keep) = self.pending_cut {
            let _ = self.shrink_to(keep.max(len));
        }
    }

    /// Commits: makes elements `0..len` durable, then records `len` as the committed length.
    ///
    /// `dirty_from` is the lowest element index whose bytes may have changed since the last
    /// commit (the committed length when only appends happened). In order:
    ///
    /// 1. `msync(MS_SYNC)` the data pages of elements `dirty_from..len`, and `fdatasync`
    ///    when the file changed size (so its size and blocks are durable too), when bytes
    ///    were written with `pwrite`, or when the current slot is not known to be durable
    ///    (see below); on Linux that `fdatasync` alone when it is due, since it writes the
    ///    pages stored through the mapping too ([`sys::FSYNC_WRITES_MAPPED_PAGES`]);
    /// 2. `pwrite` `len` with a new sequence number into the other slot than the current
    ///    commit's (never a store through the mapping, which on a full copy-on-write file
    ///    system would raise `SIGBUS`);
    /// 3. `fdatasync`, which makes the slot durable.
    ///
    /// Steps 2 and 3 are skipped when the length equals the committed one: the slot would
    /// record nothing new.
    ///
    /// **The current slot is durable before the other one is overwritten.** Otherwise a
    /// power loss while the new slot is written could leave the current slot's older bytes
    /// on disk next to a torn new one, and the file would open to a commit older than the
    /// last one `sync` returned for. A slot is not known to be durable after a failed step 3,
    /// and after open (a writer killed between its slot `pwrite` and its flush leaves the
    /// slot in the page cache only); then the next length-changing commit (after a failed
    /// flush: the next commit) writes the current slot's bytes again and flushes them in step
    /// 1.
    ///
    /// A crash at any point leaves a file that opens to the previous commit or to this
    /// one. Errors:
    ///
    /// * step 1 fails: the region is poisoned (every later commit returns that error),
    ///   because after a failed write-back the kernel may have marked the dirty pages clean,
    ///   and a retried `msync` would then report success without writing them;
    /// * step 2 fails (`ENOSPC` on a full copy-on-write file system, say): the previous
    ///   commit stays; the slot written holds old or torn bytes, which fail their checksum.
    ///   Its sequence number is spent (never written again with other bytes, so a slot never
    ///   returns to bytes it held before, which live readers rely on); retrying works;
    /// * step 3 fails: the new slot is in the page cache, so a reopen on this machine and
    ///   a live reader see the new length, whose elements step 1 made durable; whether the
    ///   slot survives a power loss is unknown. It is not written back (a reader may have seen
    ///   it); it counts as committed, and the next commit flushes it again (so a retried
    ///   `sync` that returns `Ok` has made it durable).
    pub(crate) fn commit(&mut self, len: usize, dirty_from: usize) -> Result<()> {
        if !self.writable {
            return Ok(());
        }
        self.check_owner()?;
        debug_assert!(len <= self.capacity && dirty_from <= len);
        let resized = self.file_len != self.synced_file_len;
        let sync_file = resized || self.wrote_through_fd;
        let new_length = len as u64 != self.committed.len;
        // The current slot is flushed again when its own flush failed (this commit must make
        // it durable), and before a new slot overwrites the other one when it is not known
        // to be on disk.
        let flush_slot = match self.slot {
            SlotDurability::Durable => false,
            SlotDurability::Unknown => new_length,
            SlotDurability::FlushFailed => true,
        };
        if !new_length && dirty_from >= len && !sync_file && !flush_slot {
            // Nothing changed since the last commit.
            self.retry_cut(len);
            return Ok(());
        }
        if let Some(e) = self.poisoned {
            return Err(e);
        }
        let before = self.committed_len();
        if flush_slot {
            // Dirty the current slot's page again: after a failed flush the kernel may have
            // marked it clean without writing it. The bytes are the same, so no reader sees
            // a change.
            let off = SLOT_OFFSETS[1 - self.next_slot];
            let bytes = self.header.encode_slot(self.committed);
            self.file.write_all_at(&bytes, off as u64)?;
        }
        // 1. Data.
        if let Err(e) = self.sync_data(len, dirty_from, sync_file || flush_slot) {
            self.poisoned = Some(e.with_context(
                "an earlier sync failed to write element data; reopen to recover the last commit",
            ));
            return Err(e);
        }
        if flush_slot {
            self.slot = SlotDurability::Durable;
        }
        if !new_length {
            // Same length: the slot would say what it says already. In-place changes are
            // not covered by the atomic length anyway (each element holds its old or new
            // bytes after a crash), so making them durable is the whole commit, and the
            // second flush (slot write + fdatasync) is saved.
            self.synced_file_len = self.file_len;
            self.adapt(before, len);
            self.retry_cut(len);
            return Ok(());
        }
        // 2. The other slot, with `pwrite`. Never a store through the mapping: on a
        // copy-on-write file system (btrfs) rewriting a mapped page needs a new block, and on
        // a full disk that page fault raises `SIGBUS`; a `pwrite` returns `ENOSPC` instead.
        let mut seq = self.next_seq;
        if self.target_torn {
            seq = self.sequence_clear_of(seq, len as u64)?;
        }
        if seq > format::MAX_SEQUENCE {
            // Never in practice (2^62 commits); a slot above it would count as damaged.
            return Err(Error::value(
                ErrorKind::Corrupt,
                "commit sequence exhausted; the last commit stays. Sequence:",
                seq,
            ));
        }
        // No overflow: `seq <= MAX_SEQUENCE < u64::MAX`.
        self.next_seq = seq + 1;
        let slot = Slot {
            seq,
            len: len as u64,
        };
        // Everything stored before (elements through the mapping) comes before the slot's
        // bytes, for a live reader in another process that reads the slot and then them.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        let off = SLOT_OFFSETS[self.next_slot];
        if let Err(e) = self
            .file
            .write_all_at(&self.header.encode_slot(slot), off as u64)
        {
            // Some of its bytes may have landed.
            self.target_torn = true;
            return Err(e);
        }
        // The next commit overwrites the slot that held the previous commit, whole.
        self.target_torn = false;
        self.committed = slot;
        self.next_slot = 1 - self.next_slot;
        self.synced_file_len = self.file_len;
        // 3. Make the slot durable.
        if let Err(e) = self.file.sync_data() {
            self.slot = SlotDurability::FlushFailed;
            return Err(e);
        }
        self.slot = SlotDurability::Durable;
        self.adapt(before, len);
        self.retry_cut(len);
        Ok(())
    }

    /// After a commit that took the length from `before` to `len`, sets the bulk-append mode
    /// from how much it appended: at least [`HUGE_UNIT`] bytes, bulk; less, not bulk; nothing
    /// (a commit of in-place changes or of a shorter length), no change.
    ///
    /// Why: a store through the mapping into a 2 MiB folio marks the whole folio dirty, so
    /// the next commit writes all 2 MiB of it. That is nothing next to a bulk commit, but a
    /// writer that commits every few kilobytes would write 2 MiB each time. So when a commit
    /// appended little, the mapping gets `MADV_NOHUGEPAGE`, and the clean folios that the
    /// 2 MiB read-ahead already built past the next 2 MiB boundary after the tail are dropped
    /// (else the read-ahead would go on building 2 MiB folios from them): the appends after
    /// it get small folios, and a commit writes about what it appended. A commit of 2 MiB or
    /// more gives the mapping `MADV_HUGEPAGE` again. Each switch costs one or two system
    /// calls; a commit that does not switch costs none.
    fn adapt(&mut self, before: usize, len: usize) {
        if !sys::HUGE_HINTS || !self.huge_pages || len <= before {
            return;
        }
        let appended = ((len - before) as u64).saturating_mul(self.elem_size as u64);
        let bulk = appended >= HUGE_UNIT;
        if bulk == self.bulk {
            return;
        }
        let was_advised_huge = self.advised == Some(true);
        self.bulk = bulk;
        self.advise();
        if !bulk && was_advised_huge {
            let tail = (DATA_OFFSET + len * self.elem_size) as u64;
            let from = round_up(tail, HUGE_UNIT).unwrap_or(u64::MAX);
            self.file
                .drop_clean_cache(from, self.file_len.saturating_sub(from));
        }
    }

    /// The sequence number, at least `seq`, for a commit of `len` written over a slot that
    /// may be torn, chosen so that no instant of the write shows a live reader a commit that
    /// nobody wrote whole. A live reader loads a slot's three words while `pwrite` copies
    /// them, so it can see any mixture of the slot's old words and the new ones. When the old
    /// words are a valid commit, no mixture validates but the new value (checksums). When they
    /// are part of a commit a writer died writing (some of its words written, some not), a
    /// word of ours could complete that commit. So, reading the slot first (`pread`):
    ///
    /// * when its sequence and checksum words make a valid slot with our length (the dead
    ///   writer was committing this very length, under a number not below ours), that slot
    ///   is finished: the same sequence number, the same bytes it was writing, so every
    ///   mixture is the old torn words or that value;
    /// * otherwise the number is above the slot's sequence word (a number once written is
    ///   never written again with other bytes), and makes no valid slot with the slot's own
    ///   length and checksum words unless that length is ours (then that mixture is our
    ///   value). No other mixture can then be valid: each needs our sequence word with the
    ///   dead writer's checksum, or its sequence word with ours.
    ///
    /// The randomized model in `live.rs`'s tests checks this (and fails without it).
    fn sequence_clear_of(&self, seq: u64, len: u64) -> Result<u64> {
        let mut b = [0u8; format::SLOT_LEN];
        self.file
            .read_at(&mut b, SLOT_OFFSETS[self.next_slot] as u64)?;
        let [old_seq, old_len, old_sum] = format::slot_words(&b);
        let sum = self.header.checksum();
        // A sequence word far above ours is damage, not a writer's (each number is spent by
        // a slot write): following it would only run the numbers out.
        let plausible = old_seq >= seq && old_seq - seq < 1 << 40;
        if plausible && format::slot_words_valid(sum, &[old_seq, len, old_sum]) {
            return Ok(old_seq);
        }
        // No overflow: `seq <= MAX_SEQUENCE + 1` (the caller's next number) and a plausible
        // `old_seq` is less than 2^40 above it. Past `MAX_SEQUENCE` no slot validates, so the
        // loop ends there at the latest; the caller refuses such a number.
        let mut seq = if plausible { old_seq + 1 } else { seq };
        while old_len != len && format::slot_words_valid(sum, &[seq, old_len, old_sum]) {
            seq += 1;
        }
        Ok(seq)
    }

    /// Step 1 of a commit: makes the bytes of elements `dirty_from..len` durable, and with
    /// `sync_file` the file size and whatever `pwrite` wrote too (`fdatasync`).
    fn sync_data(&mut self, len: usize, dirty_from: usize, sync_file: bool) -> Result<()> {
        // On Linux `fdatasync` writes every dirty page of the file, those dirtied through a
        // mapping included (a store into a clean shared page takes a write fault that marks
        // its folio dirty), and flushes the drive's cache, exactly as `msync(MS_SYNC)` does
        // for its range: when the file is flushed anyway, the `msync` before it would only
        // cost a second flush of the drive's cache.
        let msync_covered = sync_file && sys::FSYNC_WRITES_MAPPED_PAGES;
        if dirty_from < len && !msync_covered {
            let start = DATA_OFFSET + dirty_from * self.elem_size;
            let start = start - start % self.page_size;
            let end = DATA_OFFSET + len * self.elem_size;
            // SAFETY: `start` is page-aligned (the mapping base is) and `start..end` lies in
            // the mapping, since `len <= capacity`.
            unsafe { sys::msync(&self.file, self.base.add(start), end - start) }?;
        }
        if sync_file {
            self.file.sync_data()?;
            self.wrote_through_fd = false;
        }
        Ok(())
    }

    /// Unmaps, unlocks and closes, reporting an unlock failure; in a process other than
    /// the one that opened the region (a forked child), unmaps and closes only, and says so
    /// ([`ErrorKind::WrongProcess`]): the lock belongs to the parent.
    pub(crate) fn close(mut self) -> Result<()> {
        self.unmap();
        let result = self.check_owner().and_then(|()| self.file.unlock());
        // Dropping `self` then unmaps nothing more and only closes the descriptor.
        self.unlocked = true;
        result
    }

    fn unmap(&mut self) {
        if self.map_len > 0 {
            // SAFETY: `base`/`map_len` is the live mapping (invariant); `&mut self` means no
            // borrow of it exists; `map_len` is set to 0 so it is never unmapped twice.
            unsafe { sys::unmap(self.base, self.map_len) };
            self.set_mapping(NonNull::dangling(), 0);
        }
    }
}

impl Drop for RawRegion {
    /// Unmaps, then `flock(LOCK_UN)` explicitly (a child forked elsewhere may share the open
    /// file description and would otherwise keep the lock), then closes the descriptor. In
    /// a forked child, unmaps and closes only: the lock is the parent's.
    fn drop(&mut self) {
        self.unmap();
        if !self.unlocked && sys::process_id() == self.owner {
            let _ = self.file.unlock();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_for_checks_overflow() {
        assert_eq!(bytes_for(0, 8).unwrap(), 4096);
        assert_eq!(bytes_for(10, 8).unwrap(), 4176);
        assert_eq!(
            bytes_for(usize::MAX, 8).unwrap_err().kind(),
            ErrorKind::CapacityOverflow
        );
        assert_eq!(
            bytes_for(isize::MAX as usize / 2, 2).unwrap_err().kind(),
            ErrorKind::CapacityOverflow
        );
        assert_eq!(round_up(1, 4096), Some(4096));
        assert_eq!(round_up(8192, 4096), Some(8192));
        assert_eq!(round_up(u64::MAX, 4096), None);
    }

    /// The growth policy, case by case: (current file size, bytes needed, page, exact) ->
    /// the file size asked for.
    #[test]
    fn growth_target_table() {
        const H: u64 = DATA_OFFSET as u64;
        const MIB: u64 = 1 << 20;
        const GIB: u64 = 1 << 30;
        const HUGE: u64 = HUGE_UNIT;
        let fast = FAST_GROWTH_LIMIT as u64;
        let step = MAX_GROWTH_STEP as u64;
        let cases: &[(u64, u64, u64, bool, u64)] = &[
            // A new file (header only): at least one page of data.
            (H, H + 8, 4096, false, H + 4096),
            // With 64 KiB pages the file is whole pages: the header's page and one more.
            (H, H + 8, 65536, false, 2 * 65536),
            // Exact: the request rounded up to whole pages, nothing more (not to 2 MiB).
            (H, H + 8, 4096, true, H + 4096),
            (H + 4096, H + 4096 + 1, 4096, true, H + 8192),
            (H + MIB, H + 3 * MIB + 1, 4096, true, H + 3 * MIB + 4096),
            (HUGE, HUGE + 8, 4096, true, HUGE + 4096),
            // Small files grow 8x, in pages, while they stay within the first 2 MiB...
            (H + 4096, H + 4096 + 8, 4096, false, H + 8 * 4096),
            (
                H + 64 * 1024,
                H + 64 * 1024 + 8,
                4096,
                false,
                H + 512 * 1024,
            ),
            // ...and the step that leaves the first 2 MiB stops at exactly 2 MiB, when the
            // request fits there (the first 2 MiB hold the header page, so they never make
            // one 2 MiB folio; stopping there starts the next step on a 2 MiB boundary).
            (H + 256 * 1024, H + 256 * 1024 + 8, 4096, false, HUGE),
            (H + MIB, H + MIB + 8, 4096, false, HUGE),
            (H + MIB, HUGE, 4096, false, HUGE),
            // A request past 2 MiB from below it: the 8x step, in whole 2 MiB.
            (H + MIB, HUGE + 1, 4096, false, 8 * MIB + HUGE),
            // From 2 MiB on, 8x in whole 2 MiB (rounded up)...
            (HUGE, HUGE + 8, 4096, false, 8 * HUGE),
            (8 * HUGE, 8 * HUGE + 8, 4096, false, fast + HUGE),
            // ...but not past FAST_GROWTH_LIMIT, where doubling takes over.
            (H + 16 * MIB, H + 16 * MIB + 8, 4096, false, fast + HUGE),
            (
                fast + HUGE,
                fast + HUGE + 8,
                4096,
                false,
                2 * fast + 2 * HUGE,
            ),
            (H + fast, H + fast + 8, 4096, false, 2 * fast + HUGE),
            // Doubling adds at most MAX_GROWTH_STEP: here rounding up would add more than the
            // step beyond the request, so the size is rounded down to 2 MiB instead.
            (H + 4 * GIB, H + 4 * GIB + 8, 4096, false, 4 * GIB + step),
            (4 * GIB, 4 * GIB + 8, 4096, false, 4 * GIB + step),
            // A request larger than the step is met, rounded up to 2 MiB.
            (H + MIB, H + 100 * MIB + 1, 4096, false, 102 * MIB),
            (H + MIB, 100 * MIB, 4096, false, 100 * MIB),
            // With 64 KiB pages the same 2 MiB multiples (2 MiB is whole pages).
            (HUGE, HUGE + 8, 65536, false, 8 * HUGE),
        ];
        for &(current, need, page, exact, want) in cases {
            let got = growth_target(current, need, page, exact).unwrap();
            assert_eq!(
                got, want,
                "growth_target({current}, {need}, {page}, {exact})"
            );
            assert!(got >= need && got % page == 0);
            if !exact {
                assert!(
                    got - need <= step,
                    "a step adds at most MAX_GROWTH_STEP beyond the request"
                );
                if got > HUGE {
                    assert_eq!(got % HUGE, 0, "past 2 MiB, whole 2 MiB: {got}");
                }
            }
        }
        // Past isize::MAX: an error, not a wrap.
        assert_eq!(
            growth_target(H, isize::MAX as u64, 4096, true)
                .unwrap_err()
                .kind(),
            ErrorKind::CapacityOverflow
        );
        // Near isize::MAX the amortised step is clamped, never an overflow.
        let big = isize::MAX as u64 / 2;
        assert!(growth_target(big, big + 1, 4096, false).unwrap() <= isize::MAX as u64);
        let top = isize::MAX as u64 - 4 * HUGE;
        let got = growth_target(top, top + 8, 4096, false).unwrap();
        assert!(got <= isize::MAX as u64 && got >= top + 8 && got % 4096 == 0);
    }
}
