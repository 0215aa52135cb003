//! The untyped layer: open files, their mappings and their commit slots, in bytes and in
//! elements of a size it is told once; it never looks at element values.
//!
//! * [`RawRegion`]: a writer's or a snapshot reader's file (one file, one mapping, one
//!   `flock` lock). Split by concern: `open.rs` (open, validate, create; `probe` for
//!   `inspect`), `growth.rs` (growth policy, reserving blocks, remapping, cuts through the
//!   live readers' gate), `write.rs` (how element bytes reach the file), `commit.rs` (the
//!   commit protocol), `bulk.rs` (the page-cache hints of bulk-append mode).
//! * [`LiveRegion`] (`live.rs`): a live reader's file, beside a writer.
//! * `rewrite.rs`: a whole file rewritten into a new one that replaces its destination.
//!
//! `docs/design.md` ("Layers", "Commit", "Growth", "Live readers") has the why.

#![allow(unsafe_code)]

use core::ptr::NonNull;

use crate::error::{Error, ErrorKind, Result};
use crate::format::{Layout, DATA_OFFSET};
use crate::sys::{self, Mapping};

mod bulk;
mod commit;
mod group;
mod growth;
mod live;
mod live_group;
mod open;
pub(crate) mod rewrite;
mod wait;
mod write;
mod writeback;

pub(crate) use group::{ColumnCommit, ColumnRegion, GroupOptions, GroupRegion};
pub use growth::MAX_GROWTH_STEP;
pub(crate) use live::LiveRegion;
pub(crate) use live_group::LiveGroupRegion;
pub(crate) use open::{probe, Probed};

use bulk::BulkMode;
use commit::CommitState;
use growth::CutGate;

// Element data starts at a page boundary of the mapping, so an element aligned to at most
// the unmapped pointer's alignment is aligned in either state.
const _: () = assert!(crate::format::MAX_ALIGN <= sys::UNMAPPED_ALIGN);
const _: () = assert!(DATA_OFFSET % crate::format::MAX_ALIGN == 0);

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
    /// Whether appends start writeback early (`OpenOptions::early_writeback`).
    pub early_writeback: bool,
    pub layout: Layout,
}

/// One open file, one shared mapping of it, one lock.
///
/// # Invariants
///
/// * `map` maps the file from offset 0, readable, and writable iff `writable`; or, for a
///   read-only region of an empty file, nothing.
/// * `map.len() <= file_len`: every mapped byte is backed by the file, so touching it cannot
///   raise `SIGBUS` (its blocks were reserved when the file grew: `fallocate`, or zeros
///   written where the file system lacks it).
/// * `map.len() <= isize::MAX`, and when mapped, `map.len() >= DATA_OFFSET`.
/// * `capacity == (map.len() - DATA_OFFSET) / elem_size` (0 when unmapped), and `data` is
///   `map.ptr() + DATA_OFFSET` (when unmapped, [`sys::unmapped`]): element data has room
///   for `capacity` elements there.
/// * the `flock` lock (exclusive when `writable`, else shared) is held for the region's
///   whole life; it is released after unmapping, by `close` or `Drop`, in the process
///   that opened the region only (`owner`).
/// * `commit`'s invariants (`commit.rs`): the committed slot is the newest valid one and
///   fits within `capacity`.
#[derive(Debug)]
pub(crate) struct RawRegion {
    file: sys::File,
    map: Mapping,
    /// Element 0 (cached from `map` for the push path).
    data: NonNull<u8>,
    /// Whole elements the mapping has room for.
    capacity: usize,
    /// Where a push leaves its fast path: the capacity, or earlier the length at which
    /// early writeback has 8 MiB more to hand to the kernel (`writeback.rs`); never more
    /// than `capacity`.
    push_limit: usize,
    /// The file size (as the region last set or read it).
    file_len: u64,
    elem_size: usize,
    page_size: usize,
    writable: bool,
    /// The commit slots and what the next commit must do.
    commit: CommitState,
    /// Bulk-append mode: the page-cache hints for data appended in bulk.
    bulk: BulkMode,
    /// Early writeback of appended data.
    early: writeback::EarlyWriteback,
    /// Making the file shorter, only while no live reader is open.
    cut: CutGate,
    /// The process that opened the region ([`Owner`]).
    owner: Owner,
    /// `close` already released the lock: `Drop` need not `flock(LOCK_UN)` again.
    unlocked: bool,
    /// What the open found beyond the commit it opened to.
    report: crate::report::OpenReport,
}

// SAFETY: the region owns its mapping and descriptor exclusively; `data` is only an address
// into that mapping, which no other Rust value refers to, so moving the region to another
// thread is sound.
unsafe impl Send for RawRegion {}
// SAFETY: `&RawRegion` allows only reads of the mapping (and of plain fields); every write
// goes through `&mut self`, so shared references across threads cannot race.
unsafe impl Sync for RawRegion {}

/// The process that opened a handle (`getpid`). A child forked from it (without `exec`)
/// shares its open file descriptions, and with them its locks: in any other process a
/// handle commits, grows, writes through its descriptor, cuts, remaps and unlocks nothing
/// (`docs/design.md`, "Locks").
#[derive(Clone, Copy, Debug)]
pub(crate) struct Owner(u32);

impl Owner {
    /// The calling process.
    pub(crate) fn current() -> Owner {
        Owner(sys::process_id())
    }

    /// Whether the calling process is this one.
    pub(crate) fn is_current(self) -> bool {
        sys::process_id() == self.0
    }

    /// [`ErrorKind::WrongProcess`] unless the calling process is this one.
    pub(crate) fn check(self) -> Result<()> {
        if self.is_current() {
            Ok(())
        } else {
            Err(Error::new(
                ErrorKind::WrongProcess,
                "a forked child may only drop the handles of its parent",
            ))
        }
    }
}

/// Runs `open` until it returns something other than `NotFound`, sleeping
/// [`limits::WAIT_FOR_FILE_POLL_MS`](crate::limits::WAIT_FOR_FILE_POLL_MS) between tries,
/// when `wait` (`OpenOptions::wait_for_file`); once otherwise.
pub(crate) fn wait_for_file<R>(wait: bool, mut open: impl FnMut() -> Result<R>) -> Result<R> {
    loop {
        match open() {
            Err(e) if wait && e.kind() == ErrorKind::NotFound => {
                sys::sleep_ns(u64::from(crate::limits::WAIT_FOR_FILE_POLL_MS) * 1_000_000)
            }
            other => return other,
        }
    }
}

impl RawRegion {
    /// Element capacity of the mapping.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// The length at which a push must call [`appended_up_to`](Self::appended_up_to) or
    /// grow: at most [`capacity`](Self::capacity).
    #[inline]
    pub(crate) fn push_limit(&self) -> usize {
        self.push_limit
    }

    /// Committed length (elements) as of the last successful commit or open.
    #[inline]
    pub(crate) fn committed_len(&self) -> usize {
        self.commit.committed_len()
    }

    /// Pointer to element 0; for an unmapped read-only region, [`sys::unmapped`].
    #[inline]
    pub(crate) fn data_ptr(&self) -> NonNull<u8> {
        self.data
    }

    /// The file size in bytes (as the region last set or read it).
    pub(crate) fn file_len(&self) -> u64 {
        self.file_len
    }

    /// What the open found beyond the commit it opened to.
    pub(crate) fn open_report(&self) -> crate::report::OpenReport {
        self.report
    }

    /// Records what derives from the mapping after it changed: the element pointer and the
    /// capacity.
    fn mapping_changed(&mut self) {
        let len = self.map.len();
        if len == 0 {
            self.data = sys::unmapped();
            self.capacity = 0;
        } else {
            debug_assert!(len >= DATA_OFFSET);
            // SAFETY: a mapped region is at least `DATA_OFFSET` bytes long, so the offset
            // stays within (or one past the end of) the mapping.
            self.data = unsafe { self.map.ptr().add(DATA_OFFSET) };
            self.capacity = crate::format::capacity_of(len as u64, self.elem_size as u64) as usize;
        }
        self.set_push_limit();
    }

    /// Unmaps, unlocks and closes, reporting an unlock failure; in a process other than
    /// the one that opened the region (a forked child), unmaps and closes only, and says so
    /// ([`ErrorKind::WrongProcess`]): the lock belongs to the parent.
    pub(crate) fn close(mut self) -> Result<()> {
        self.map.unmap();
        let result = self.owner.check().and_then(|()| self.file.unlock());
        // Dropping `self` then unmaps nothing more and only closes the descriptor.
        self.unlocked = true;
        result
    }
}

impl Drop for RawRegion {
    /// Unmaps, then `flock(LOCK_UN)` explicitly (a child forked elsewhere may share the open
    /// file description and would otherwise keep the lock), then closes the descriptor. In
    /// a forked child, unmaps and closes only: the lock is the parent's.
    fn drop(&mut self) {
        self.map.unmap();
        if !self.unlocked && self.owner.is_current() {
            let _ = self.file.unlock();
        }
    }
}
