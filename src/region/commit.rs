//! The commit protocol: make the changed element data durable, then write the new length
//! into the slot that does not hold the current commit, then flush it (`docs/design.md`,
//! "Commit", has each step, why a crash at any instant leaves the last commit or this one,
//! and what each failure leaves).

use super::RawRegion;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, Header, Layout, Slot, DATA_OFFSET, SLOT_OFFSETS};
use crate::slots;
use crate::sys;

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

/// The commit slots as this handle knows them, and what the next commit must do.
///
/// # Invariants
///
/// `committed` is the newest valid slot in the file (in the page cache; on disk too when
/// `durability` is `Durable`); `next_slot` is the index of the other (older or invalid)
/// slot, the one the next commit overwrites; `next_seq > committed.seq`.
#[derive(Debug)]
pub(super) struct CommitState {
    /// The validated header (layout, checksum, slots as found on open).
    header: Header,
    committed: Slot,
    next_slot: usize,
    /// The sequence number the next slot write uses: above every one written so far, even
    /// by a write that failed (a spent number is never written again with other bytes).
    next_seq: u64,
    /// Whether the current slot is known to be on disk.
    durability: SlotDurability,
    /// The slot the next commit overwrites may be torn: found invalid (and not blank) on
    /// open, or a `pwrite` into it failed. The next slot write then reads it first and picks
    /// its sequence number clear of it ([`slots::sequence_clear_of`]).
    target_torn: bool,
    /// Set when writing element data to disk failed: the kernel may have dropped the dirty
    /// pages or marked them clean, so a later `msync` could succeed without writing them.
    /// Every later commit is refused; the previous commit stays the durable one.
    poisoned: Option<Error>,
    /// The file size as of the last durable commit (or creation).
    synced_file_len: u64,
    /// Bytes were written with `pwrite` since the last commit: it also `fdatasync`s, since
    /// not every system's `msync` flushes pages dirtied by `write`.
    wrote_through_fd: bool,
}

impl CommitState {
    /// A file with no commit (an empty file a read-only region sees as empty).
    pub(super) fn new(layout: Layout, file_len: u64) -> CommitState {
        CommitState {
            header: Header::new(layout),
            committed: Slot { seq: 0, len: 0 },
            next_slot: 1,
            next_seq: 1,
            durability: SlotDurability::Durable,
            target_torn: false,
            poisoned: None,
            synced_file_len: file_len,
            wrote_through_fd: false,
        }
    }

    /// A file just created with `header` (slot A: sequence 1, length 0), durable.
    pub(super) fn created(header: Header, file_len: u64) -> CommitState {
        let (_, committed) = header.winner().unwrap_or((0, Slot { seq: 1, len: 0 }));
        CommitState {
            header,
            committed,
            next_slot: 1,
            next_seq: committed.seq + 1,
            ..CommitState::new(header.layout, file_len)
        }
    }

    /// An existing file whose validated header's slot `winner` is the committed one.
    pub(super) fn found(header: Header, winner: usize, file_len: u64) -> CommitState {
        let stored = header.slots();
        let committed = stored[winner].slot;
        let other = stored[1 - winner];
        CommitState {
            header,
            committed,
            next_slot: 1 - winner,
            // No overflow: a valid slot's sequence is at most `MAX_SEQUENCE`.
            next_seq: committed.seq + 1,
            // A writer killed between its slot write and its flush leaves a slot that is in
            // the page cache only; an open cannot tell, so the first new slot flushes it.
            durability: SlotDurability::Unknown,
            // The other slot, which the next commit overwrites, may hold part of a commit a
            // writer died writing.
            target_torn: !other.valid && !other.blank,
            poisoned: None,
            synced_file_len: file_len,
            wrote_through_fd: false,
        }
    }

    /// The committed length, in elements.
    pub(super) fn committed_len(&self) -> usize {
        // Never truncates: validated to fit inside the mapped file on open, and set from a
        // `usize` on every commit.
        self.committed.len as usize
    }

    /// Bytes were (or may have been) written with `pwrite`: the next commit `fdatasync`s.
    pub(super) fn wrote_through_fd(&mut self) {
        self.wrote_through_fd = true;
    }
}

impl RawRegion {
    /// Commits: makes elements `0..len` durable, then records `len` as the committed length
    /// (`docs/design.md`, "Commit"). `dirty_from` is the lowest element index whose bytes may
    /// have changed since the last commit (the committed length when only appends happened).
    ///
    /// 1. Data: `msync` of elements `dirty_from..len`, and `fdatasync` when the file changed
    ///    size, bytes were written with `pwrite`, or the current slot is not known to be
    ///    durable (it is then written again and flushed first); on Linux the `fdatasync`
    ///    alone when it is due ([`sys::FSYNC_WRITES_MAPPED_PAGES`]). A failure poisons the
    ///    region: every later commit returns it.
    /// 2. Slot: `pwrite` of `len` with a new sequence number into the other slot (never a
    ///    store through the mapping). Skipped, with step 3, when the length is unchanged.
    /// 3. `fdatasync`. A failure leaves the slot counted as committed; the next commit
    ///    flushes it again.
    pub(crate) fn commit(&mut self, len: usize, dirty_from: usize) -> Result<()> {
        if !self.writable {
            return Ok(());
        }
        self.owner.check()?;
        debug_assert!(len <= self.capacity && dirty_from <= len);
        let c = &self.commit;
        let resized = self.file_len != c.synced_file_len;
        let sync_file = resized || c.wrote_through_fd;
        let new_length = len as u64 != c.committed.len;
        // The current slot is flushed again when its own flush failed (this commit must make
        // it durable), and before a new slot overwrites the other one when it is not known
        // to be on disk.
        let flush_slot = match c.durability {
            SlotDurability::Durable => false,
            SlotDurability::Unknown => new_length,
            SlotDurability::FlushFailed => true,
        };
        if !new_length && dirty_from >= len && !sync_file && !flush_slot {
            // Nothing changed since the last commit.
            self.retry_cut(len);
            return Ok(());
        }
        if let Some(e) = c.poisoned {
            return Err(e);
        }
        let before = self.committed_len();
        if flush_slot {
            // Dirty the current slot's page again: after a failed flush the kernel may have
            // marked it clean without writing it. The bytes are the same, so no reader sees
            // a change.
            let off = SLOT_OFFSETS[1 - c.next_slot];
            let bytes = c.header.encode_slot(c.committed);
            self.file.write_all_at(&bytes, off as u64)?;
        }
        // 1. Data.
        if let Err(e) = self.sync_data(len, dirty_from, sync_file || flush_slot) {
            self.commit.poisoned = Some(e.with_context(
                "an earlier sync failed to write element data; reopen to recover the last commit",
            ));
            return Err(e);
        }
        if flush_slot {
            self.commit.durability = SlotDurability::Durable;
        }
        if !new_length {
            // Same length: the slot would say what it says already. In-place changes are
            // not covered by the atomic length anyway (each element holds its old or new
            // bytes after a crash), so making them durable is the whole commit.
            self.commit.synced_file_len = self.file_len;
            self.committed_up_to(len);
            self.update_bulk_mode(before, len);
            self.retry_cut(len);
            return Ok(());
        }
        // 2. The other slot, with `pwrite`.
        let seq = self.next_sequence(len)?;
        let slot = Slot {
            seq,
            len: len as u64,
        };
        // Everything stored before (elements through the mapping) comes before the slot's
        // bytes, for a live reader in another process that reads the slot and then them.
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
        let c = &mut self.commit;
        let off = SLOT_OFFSETS[c.next_slot];
        if let Err(e) = self
            .file
            .write_all_at(&c.header.encode_slot(slot), off as u64)
        {
            // Some of its bytes may have landed.
            c.target_torn = true;
            return Err(e);
        }
        // Live readers waiting for a commit sleep on this slot's sequence word.
        let written = c.next_slot;
        self.wake_waiters(written);
        let c = &mut self.commit;
        // The next commit overwrites the slot that held the previous commit, whole.
        c.target_torn = false;
        c.committed = slot;
        c.next_slot = 1 - c.next_slot;
        c.synced_file_len = self.file_len;
        // 3. Make the slot durable.
        if let Err(e) = self.file.sync_data() {
            self.commit.durability = SlotDurability::FlushFailed;
            return Err(e);
        }
        self.commit.durability = SlotDurability::Durable;
        self.committed_up_to(len);
        self.update_bulk_mode(before, len);
        self.retry_cut(len);
        Ok(())
    }

    /// The sequence number of the next slot write, spent from here on whatever happens:
    /// above every number written before, and clear of a torn target slot (read with
    /// `pread` first; [`slots::sequence_clear_of`]). `Corrupt` past `MAX_SEQUENCE`, before
    /// anything is written (`docs/design.md`, "Sequence range").
    fn next_sequence(&mut self, len: usize) -> Result<u64> {
        let c = &mut self.commit;
        let mut seq = c.next_seq;
        if c.target_torn {
            let mut b = [0u8; format::SLOT_LEN];
            self.file
                .read_at(&mut b, SLOT_OFFSETS[c.next_slot] as u64)?;
            let torn = format::slot_words(&b);
            seq = slots::sequence_clear_of(seq, len as u64, torn, c.header.checksum());
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
        c.next_seq = seq + 1;
        Ok(seq)
    }

    /// Wakes every live reader waiting for a commit on slot `slot`'s sequence word (in any
    /// process: the wait is on the file's page; `docs/design.md`, "Waiting for a commit").
    /// A system call with no waiter costs about a microsecond; the writer never stores into
    /// its mapping for it.
    fn wake_waiters(&self, slot: usize) {
        if self.map.len() >= format::HEADER_SIZE {
            // SAFETY: the mapping covers the header page (checked); the word lies 8-byte
            // aligned in it and stays mapped for the call (`&self`).
            let word = unsafe { self.map.ptr().add(format::slot_word_offset(slot, 0)) };
            // SAFETY: as above: a 4-byte-aligned word in a live shared file mapping.
            unsafe { sys::wake_u32(super::wait::low_half(word)) };
        }
    }

    /// Step 1 of a commit: makes the bytes of elements `dirty_from..len` durable, and with
    /// `sync_file` the file size and whatever `pwrite` wrote too (`fdatasync`).
    fn sync_data(&mut self, len: usize, dirty_from: usize, sync_file: bool) -> Result<()> {
        // On Linux `fdatasync` writes every dirty page of the file, those dirtied through a
        // mapping included, and flushes the drive's cache, exactly as `msync(MS_SYNC)` does
        // for its range: when the file is flushed anyway, the `msync` before it would only
        // cost a second flush of the drive's cache.
        let msync_covered = sync_file && sys::FSYNC_WRITES_MAPPED_PAGES;
        if dirty_from < len && !msync_covered {
            let start = DATA_OFFSET + dirty_from * self.elem_size;
            let end = DATA_OFFSET + len * self.elem_size;
            // Within the mapping: `len <= capacity`.
            self.map.sync(&self.file, start, end, self.page_size)?;
        }
        if sync_file {
            self.file.sync_data()?;
            self.commit.wrote_through_fd = false;
        }
        Ok(())
    }
}
