//! `LiveRegion`: a live reader's file, beside a writer (`docs/design.md`, "Live readers").
//!
//! It holds a shared `flock` on the lock file `<name>-live` (`sidecar.rs`), never a lock on
//! the data file, so it opens beside a writer in any order. It maps the data file read-only
//! and learns of commits from the two commit slots in the mapped header page: a writer
//! `pwrite`s each slot, which shows in every shared mapping at once. A refresh with nothing
//! new compares the slot words with those it saw last (no system call); when they differ it
//! takes a snapshot (`slots.rs`) and maps more of the file once when the new length is past
//! its mapping.

use core::ptr::NonNull;
use core::sync::atomic::{fence, Ordering};

use super::growth::to_map_len;
use super::open::READ_ONLY;
use super::Owner;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, Header, Layout, DATA_OFFSET, HEADER_SIZE};
use crate::limits;
use crate::sidecar::ResolvedPath;
use crate::slots::{Snapshot, Step, View};
use crate::sys::{self, Mapping};

/// A live reader's open file: the data file mapped read-only, the lock file held shared,
/// and the commit it adopted.
///
/// # Invariants
///
/// * `lock` holds a shared `flock` on `<name>-live` from open until after `map` is unmapped
///   (in the process that opened it), so no writer of this library cuts the data file
///   meanwhile: every byte below the file size seen under the lock stays backed.
/// * `map` is empty while the file holds no commit yet; else it maps at least
///   `data_end(len)` bytes, all backed by the file.
/// * `len` is the length of the adopted commit (`view.current()`).
#[derive(Debug)]
pub(crate) struct LiveRegion {
    /// The data file, read-only, unlocked.
    file: sys::File,
    /// The lock file, held with a shared `flock`.
    lock: sys::File,
    map: Mapping,
    /// The adopted commit's length, in elements.
    len: usize,
    view: View<{ format::SLOT_WORDS }>,
    /// What the caller expects the header to say.
    layout: Layout,
    owner: Owner,
}

impl LiveRegion {
    /// Opens `path` live, for elements of `layout` (`OpenOptions::open_live` has the
    /// errors): resolves where its lock file is, locks it shared, and maps the file if it
    /// holds a commit yet.
    pub(crate) fn open(path: &core::ffi::CStr, layout: Layout) -> Result<LiveRegion> {
        if !sys::WRITE_SHOWS_IN_MAPPINGS {
            return Err(Error::new(
                ErrorKind::Io,
                "live readers need a page cache shared by writes and mappings, which this \
                 system lacks",
            ));
        }
        for _ in 0..limits::LIVE_OPEN_TRIES {
            let file = sys::open(path, &READ_ONLY)?;
            let st = file.stat()?;
            if !st.regular {
                return Err(Error::new(ErrorKind::NotARegularFile, "the path"));
            }
            let place = ResolvedPath::resolve(path)?;
            if !place.names(st.id) {
                continue; // Renamed or replaced between the open and now: start again.
            }
            if file.is_mount_root() {
                return Err(Error::new(
                    ErrorKind::InvalidPath,
                    "the file is mounted on its own (a single-file bind mount): live readers \
                     must open it in the directory the writer sees",
                ));
            }
            let lock = place.lock_shared(&st)?;
            let mut region = LiveRegion {
                file,
                lock,
                map: Mapping::none(false),
                len: 0,
                view: View::new(0, format::slot_words_valid),
                layout,
                owner: Owner::current(),
            };
            region.map_first()?;
            return Ok(region);
        }
        Err(Error::new(
            ErrorKind::NotFound,
            "the path kept being replaced while it was opened live",
        ))
    }

    /// The adopted commit's length, in elements.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The adopted commit's sequence number (0 before the first).
    pub(crate) fn sequence(&self) -> u64 {
        self.view.current()[0]
    }

    /// Bytes mapped.
    pub(crate) fn mapped_len(&self) -> usize {
        self.map.len()
    }

    /// Element 0: inside the mapping, or [`sys::unmapped`] (aligned, dangling) while
    /// unmapped. Elements `0..len` lie in the mapping, and element `i` at `i * elem_size`
    /// from here (a page boundary: 2-, 4- and 8-byte elements are aligned to their size).
    #[inline]
    pub(crate) fn data_ptr(&self) -> NonNull<u8> {
        if self.map.len() == 0 {
            sys::unmapped()
        } else {
            // SAFETY: a mapping is at least `HEADER_SIZE = DATA_OFFSET` bytes long.
            unsafe { self.map.ptr().add(DATA_OFFSET) }
        }
    }

    /// Waits for a commit newer than the adopted one and adopts it (`true`), or until
    /// `timeout` passes (`false`); `docs/design.md`, "Waiting for a commit".
    pub(crate) fn wait_for_commit(
        &mut self,
        timeout: Option<core::time::Duration>,
    ) -> Result<bool> {
        super::wait::wait_for_commit(self, timeout)
    }

    /// Moves to the newest commit; `true` when the length changed. No system call when
    /// nothing was committed since the last call (`LiveReader::refresh` has the rest).
    #[inline]
    pub(crate) fn refresh(&mut self) -> Result<bool> {
        if self.map.len() != 0 && self.view.unchanged(&self.read_words()) {
            return Ok(false);
        }
        self.refresh_slow()
    }

    /// Unmaps and releases the lock on `<name>-live`, reporting an unlock failure; in a
    /// forked child, unmaps only (the lock is the parent's). Dropping the region afterwards
    /// unmaps nothing more and unlocks again, which is harmless, and closes the descriptors.
    pub(crate) fn close(&mut self) -> Result<()> {
        self.map.unmap();
        self.len = 0;
        if !self.owner.is_current() {
            return Ok(());
        }
        self.lock.unlock()
    }

    /// Both slots' words, loaded from the mapped header (volatile, aligned).
    #[inline]
    fn read_words(&self) -> [[u64; format::SLOT_WORDS]; 2] {
        [self.read_slot(0), self.read_slot(1)]
    }

    /// Slot `i`'s words, loaded from the mapped header page, then an acquire fence (so that
    /// what follows is not read before them).
    #[inline(always)]
    fn read_slot(&self, i: usize) -> [u64; format::SLOT_WORDS] {
        debug_assert!(self.map.len() >= HEADER_SIZE);
        let base = self.map.ptr().as_ptr();
        let mut w = [0u64; format::SLOT_WORDS];
        for (k, word) in w.iter_mut().enumerate() {
            // SAFETY: the mapping holds at least the header page (a reader maps only a file
            // with a complete header, and reads slots only while mapped); each slot word lies
            // at an 8-byte-aligned offset inside it (`format::slot_word_offset`).
            *word = unsafe {
                core::ptr::read_volatile(base.add(format::slot_word_offset(i, k)).cast::<u64>())
            };
        }
        fence(Ordering::Acquire);
        w
    }

    /// Validates the header and maps the file, if it holds a commit yet; otherwise stays
    /// unmapped, holding no commit. Returns whether the length changed.
    fn map_first(&mut self) -> Result<bool> {
        debug_assert_eq!(self.map.len(), 0);
        self.owner.check()?;
        let mut page = [0u8; HEADER_SIZE];
        let got = self.file.read_at(&mut page, 0)?;
        let size = self.file.stat()?.size;
        let page = &page[..got];
        if size == 0 || got == 0 {
            return Ok(false); // Not created yet.
        }
        if crate::format::is_uncreated(page, size) {
            // A writer is creating it now, or died doing so (`format::is_uncreated`): no
            // commit yet, whatever layout its first sector shows.
            return Ok(false);
        }
        let header = Header::decode(page, false)?;
        header.layout.check(&self.layout)?;
        if size < HEADER_SIZE as u64 {
            return Err(Error::value(
                ErrorKind::Corrupt,
                "file shorter than its header, bytes:",
                size,
            ));
        }
        // The file's size read after the lock on `<name>-live` was taken; the file only gets
        // shorter through a cut, which needs that lock exclusively.
        self.map.remap(&self.file, to_map_len(size)?)?;
        let mut view = View::new(header.checksum(), format::slot_words_valid);
        let step = view.examine(
            |i| Ok::<_, Error>(self.read_slot(i)),
            limits::SLOT_SNAPSHOT_ROUNDS,
        )?;
        self.view = view;
        match step {
            Step::New(snap) => self.adopt(&snap),
            _ => Err(Error::new(
                ErrorKind::Corrupt,
                "no valid commit slot (both slots damaged)",
            )),
        }
    }

    #[cold]
    #[inline(never)]
    fn refresh_slow(&mut self) -> Result<bool> {
        if self.map.len() == 0 {
            return self.map_first();
        }
        let mut view = self.view;
        let step = view.examine(
            |i| Ok::<_, Error>(self.read_slot(i)),
            limits::SLOT_SNAPSHOT_ROUNDS,
        )?;
        self.view = view;
        match step {
            Step::New(snap) => self.adopt(&snap),
            Step::Same | Step::Older | Step::Unstable => Ok(false),
        }
    }

    /// Adopts a commit: maps more of the file first when its length is past the mapping.
    /// On error nothing changes (the next refresh tries again).
    fn adopt(&mut self, snap: &Snapshot<{ format::SLOT_WORDS }>) -> Result<bool> {
        let len = snap.pick[1];
        let need = format::data_end(len, self.layout.elem_size)
            .and_then(|b| usize::try_from(b).ok())
            .filter(|&b| b <= isize::MAX as usize)
            .ok_or(Error::value(
                ErrorKind::Corrupt,
                "committed length too large for this machine, elements:",
                len,
            ))?;
        if need > self.map.len() {
            self.owner.check()?;
            // The writer grew the file before it committed this length: map what it has now.
            let size = self.file.stat()?.size;
            if size < need as u64 {
                return Err(Error::mismatch(
                    ErrorKind::Corrupt,
                    "file size in bytes for the committed length",
                    size,
                    need as u64,
                ));
            }
            // The file is at least `need` bytes long, and stays so while the lock on
            // `<name>-live` is held; a file larger than the address space maps what the
            // commit needs.
            let new_len = to_map_len(size).unwrap_or(need);
            self.map.remap(&self.file, new_len)?;
        }
        let old = self.len;
        // Exact: `need` fit in a `usize`.
        self.len = len as usize;
        self.view.adopt(snap);
        // Element loads after this come after the slot loads that licensed them.
        fence(Ordering::Acquire);
        Ok(self.len != old)
    }
}

impl super::wait::Waiter for LiveRegion {
    fn refresh(&mut self) -> Result<bool> {
        LiveRegion::refresh(self)
    }

    fn target(&self) -> Option<(NonNull<u32>, u32)> {
        if self.map.len() == 0 {
            return None; // No commit mapped yet: poll.
        }
        let (slot, seq) = self.view.wait_target()?;
        // SAFETY: the header page is mapped; the slot's sequence word lies 8-byte aligned in it.
        let word = unsafe { self.map.ptr().add(format::slot_word_offset(slot, 0)) };
        // The low 32 bits of the sequence word (a wait compares 32 bits).
        Some((super::wait::low_half(word), seq as u32))
    }
}

impl Drop for LiveRegion {
    /// Unmaps, then releases the lock on `<name>-live` explicitly (a child forked elsewhere
    /// may share the open file description and would otherwise keep it), then closes both
    /// descriptors: "mapped" implies "locked" at every instant. In a forked child, unmaps
    /// and closes only: the lock is the parent's.
    fn drop(&mut self) {
        self.map.unmap();
        if self.owner.is_current() {
            let _ = self.lock.unlock();
        }
    }
}
