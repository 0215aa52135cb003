//! Commit groups in the untyped layer (`docs/design.md`, "Commit groups"):
//!
//! * [`GroupRegion`]: a group's file under its `flock` lock: open, validate, create, and the
//!   group commit (one data flush for every column, then one slot write and its flush);
//! * [`ColumnRegion`]: one column's blocks, mapped end to end: growth (a new block at the end
//!   of the file, then disk blocks reserved inside it), and writes.
//!
//! A column holds its own descriptor of the group's file (a duplicate, sharing the lock), so
//! that it grows without reaching its group. Columns are values a user may move between
//! threads; the only state they share is the file's size, the end where new blocks go,
//! which they change only under [`AllocationLock`].

use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};

use super::growth::{FAST_GROWTH_LIMIT, HUGE_UNIT};
use super::open::open_locked;
use super::Owner;
use crate::error::{Error, ErrorKind, Result};
use crate::format::group::{
    self as gf, GroupHeader, GroupLayout, GroupSlot, BLOCK0, MAX_BLOCKS, MAX_COLUMNS,
};
use crate::format::{self, HEADER_SIZE, SLOT_OFFSETS};
use crate::region::MAX_GROWTH_STEP;
use crate::sidecar::ResolvedPath;
use crate::sys::{self, BlockMapping};

/// How to open a group.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GroupOptions {
    pub write: bool,
    pub create: bool,
    pub create_new: bool,
    pub mode: u32,
    pub wait_for_lock: bool,
    /// Minimum capacity of every column, in elements (writers only).
    pub capacity: usize,
    pub copy_on_write: bool,
    pub huge_pages: bool,
    pub layout: GroupLayout,
}

/// Numbers each open group, so that a commit can tell its own columns from another group's
/// (a user may `mem::swap` two columns of the same type between groups).
static NEXT_TOKEN: AtomicU64 = AtomicU64::new(1);

/// A process-wide lock around the allocation of new blocks: the only time a column changes
/// the size of its group's file. Held for a few system calls (`fstat`, `ftruncate`,
/// `pwrite` of a table entry); columns of one group may grow on several threads at once.
struct AllocationLock;

static ALLOCATING: AtomicBool = AtomicBool::new(false);

impl AllocationLock {
    fn take() -> AllocationLock {
        while ALLOCATING
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            sys::yield_now();
        }
        AllocationLock
    }
}

impl Drop for AllocationLock {
    fn drop(&mut self) {
        ALLOCATING.store(false, Ordering::Release);
    }
}

/// A group's file, locked (exclusively for a writer, shared for a snapshot), its validated
/// header, and its commit state.
///
/// # Invariants
///
/// * `committed` is the newest valid slot in the file, and its blocks were validated
///   (`format::group::check_commit`) or written by this handle; `next_slot` is the other
///   slot, which the next commit overwrites; `next_seq > committed.seq`.
/// * For a writer, `committed` is durable unless `flush_failed` (a writer makes the slot it
///   found durable on open, before any column may write a table entry an older slot needs).
/// * `usable[k]` blocks of column `k` (from the table) are valid for a writer: in the file,
///   aligned, disjoint from each other; the first ones are those `committed` needs.
#[derive(Debug)]
pub(crate) struct GroupRegion {
    file: sys::File,
    header: GroupHeader,
    committed: GroupSlot,
    next_slot: usize,
    next_seq: u64,
    /// The current slot's flush failed: the next commit writes and flushes it again.
    flush_failed: bool,
    /// The slot the next commit overwrites may be torn (found damaged on open, or a write
    /// into it failed): its checksum word is zeroed before it is written.
    target_torn: bool,
    /// Writing element data to disk failed: every later commit returns this.
    poisoned: Option<Error>,
    usable: [usize; MAX_COLUMNS],
    writable: bool,
    huge_pages: bool,
    token: u64,
    owner: Owner,
    /// `close` already released the lock.
    unlocked: bool,
    /// What the open found beyond the commit it opened to.
    report: crate::report::OpenReport,
    /// The header page, mapped read-only (a writer's): where live readers wait for a commit,
    /// which a commit wakes. Nothing is ever read or stored through it.
    header_map: crate::sys::Mapping,
}

/// One column's part of a commit: its storage, its length, and the lowest index whose
/// bytes may have changed since the last commit.
pub(crate) struct ColumnCommit<'a> {
    pub(crate) region: &'a mut ColumnRegion,
    pub(crate) len: usize,
    pub(crate) dirty_from: usize,
}

impl GroupRegion {
    /// Opens (or creates) the group at `path`, locks it, and validates its header against
    /// `opts.layout` (`OpenOptions::open_group` has the errors). A writer then makes the
    /// commit it found durable (one `pwrite` of the slot and an `fdatasync`).
    pub(crate) fn open(path: &core::ffi::CStr, opts: &GroupOptions) -> Result<GroupRegion> {
        let how = sys::OpenHow {
            write: opts.write,
            create: opts.create && opts.write,
            create_new: opts.create_new && opts.write,
            mode: opts.mode,
        };
        let (file, page) = open_locked(path, &how, opts.write, opts.wait_for_lock)?;
        let size = page.file_size;
        let bytes = page.bytes();
        let is_new = crate::format::is_uncreated(bytes, size);
        let header = GroupHeader::new(opts.layout);
        let mut region = GroupRegion {
            file,
            committed: GroupSlot {
                seq: 0,
                lens: [0; MAX_COLUMNS],
                table_sum: 0,
            },
            header,
            next_slot: 0,
            next_seq: 1,
            flush_failed: false,
            target_torn: false,
            poisoned: None,
            usable: [0; MAX_COLUMNS],
            writable: opts.write,
            huge_pages: opts.huge_pages,
            token: NEXT_TOKEN.fetch_add(1, Ordering::Relaxed),
            owner: Owner::current(),
            unlocked: false,
            report: crate::report::OpenReport::CREATED,
            header_map: crate::sys::Mapping::none(false),
        };
        if is_new {
            if opts.write {
                region.initialise(path, size, opts.copy_on_write)?;
                region.header_map = crate::sys::Mapping::new(&region.file, HEADER_SIZE, false)?;
            }
            // Read-only: an empty group, and the file is not written.
            return Ok(region);
        }
        let header = GroupHeader::decode(bytes, false)?;
        header.layout.check(&opts.layout)?;
        let (winner, committed) = header.committed(size)?;
        let other = header.slots()[1 - winner];
        region.report = crate::report::OpenReport::of_slots(
            committed.seq,
            (other.valid, other.blank, other.slot.seq),
        );
        region.header = header;
        region.committed = committed;
        region.next_slot = 1 - winner;
        // No overflow: a valid slot's sequence is at most `MAX_SEQUENCE`.
        region.next_seq = committed.seq + 1;
        region.target_torn = !other.valid && !other.blank;
        if opts.write {
            region.usable = usable_blocks(&header, &committed, size);
            // A writer killed between its slot write and its flush may have left this slot
            // in the page cache only. Columns write table entries for new blocks, which the
            // older slot may need: make this one durable first.
            let at = SLOT_OFFSETS[winner] as u64;
            region
                .file
                .write_all_at(&region.header.encode_slot(&committed), at)?;
            region.file.sync_data()?;
            // The file holds the header page: validated above.
            region.header_map = crate::sys::Mapping::new(&region.file, HEADER_SIZE, false)?;
        }
        Ok(region)
    }

    /// Writes the header page of a new group and makes it and its name durable, as a
    /// vector's creation does (`RawRegion::initialise`): a crash leaves an empty file, a
    /// torn header page without a valid slot (both open as new), or a valid empty group.
    fn initialise(&mut self, path: &core::ffi::CStr, size: u64, copy_on_write: bool) -> Result<()> {
        if size > HEADER_SIZE as u64 {
            return Err(Error::new(
                ErrorKind::Corrupt,
                "interrupted creation larger than a header",
            ));
        }
        if size > 0 {
            self.file.set_len(0)?;
        }
        if !copy_on_write {
            self.file.set_no_cow();
        }
        let written = self
            .file
            .write_all_at(&self.header.encode(), 0)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Leave the empty file that opens as new, unless the header reached the page
            // cache whole: that is a valid empty group a live reader may have mapped, and a
            // group file is never cut under one.
            let mut page = [0u8; HEADER_SIZE];
            let got = self.file.read_at(&mut page, 0).unwrap_or(0);
            let complete =
                GroupHeader::decode(&page[..got], false).is_ok_and(|h| h.winner().is_some());
            if !complete {
                let _ = self.file.set_len(0);
            }
            return Err(e);
        }
        let st = self.file.stat()?;
        match ResolvedPath::resolve(path) {
            Ok(place) if place.names(st.id) => place.sync_dir()?,
            _ => sys::sync_parent_dir(path)?,
        }
        let (_, committed) = self.header.winner().unwrap_or((0, self.committed));
        self.committed = committed;
        self.next_slot = 1;
        self.next_seq = committed.seq + 1;
        Ok(())
    }

    /// The committed length of column `k`.
    pub(crate) fn committed_len(&self, k: usize) -> usize {
        // Exact: validated to lie in blocks within the file (so below `isize::MAX` bytes).
        self.committed.lens[k] as usize
    }

    /// What the open found beyond the commit it opened to.
    pub(crate) fn open_report(&self) -> crate::report::OpenReport {
        self.report
    }

    /// The generation of the commit: its sequence number less one (0 for a new group).
    pub(crate) fn generation(&self) -> u64 {
        self.committed.seq.saturating_sub(1)
    }

    /// Column `k` of this group: a duplicate descriptor, its usable blocks mapped end to end
    /// (writable for a writer), and capacity for its committed length.
    pub(crate) fn column(&self, k: usize) -> Result<ColumnRegion> {
        debug_assert!(k < self.header.layout.columns);
        let size = self.header.layout.types[k].size as usize;
        let len = self.committed.lens[k];
        let nblocks = if self.writable {
            self.usable[k]
        } else {
            gf::blocks_for(len * size as u64).unwrap_or(0)
        };
        let mut blocks = [0u64; MAX_BLOCKS];
        blocks[..nblocks].copy_from_slice(&self.header.table[k][..nblocks]);
        let file = self.file.duplicate()?;
        let mut column = ColumnRegion {
            file,
            map: BlockMapping::none(),
            blocks,
            nblocks,
            // Exact: the committed bytes lie in the file.
            reserved: len * size as u64,
            capacity: len as usize,
            committed: len as usize,
            elem_size: size,
            index: k,
            token: self.token,
            page_size: sys::page_size(),
            writable: self.writable,
            huge_pages: self.huge_pages && self.writable,
            changed_file: false,
            owner: self.owner,
        };
        column.remap()?;
        Ok(column)
    }

    /// Commits every column at once (`docs/design.md`, "Commit groups", has each step and
    /// why a crash leaves the last commit or this one):
    ///
    /// 1. Data: every column's changed bytes, new blocks and table entries, with one
    ///    `fdatasync` (elsewhere than Linux each column's changed range is `msync`ed first).
    ///    A failure poisons the group.
    /// 2. Slot: `pwrite` of every length and the table checksum, with a new sequence number,
    ///    into the other slot. Skipped, with step 3, when no length changed.
    /// 3. `fdatasync`.
    ///
    /// `columns[k]` must be column `k` of this group (`ForeignColumn` otherwise).
    pub(crate) fn commit(&mut self, columns: &mut [ColumnCommit<'_>]) -> Result<()> {
        if !self.writable {
            return Ok(());
        }
        self.owner.check()?;
        let n = self.header.layout.columns;
        debug_assert_eq!(columns.len(), n);
        let mut lens = [0u64; MAX_COLUMNS];
        let mut needed = [0usize; MAX_COLUMNS];
        let mut dirty = false;
        for (k, c) in columns.iter().enumerate() {
            if c.region.token != self.token || c.region.index != k {
                return Err(Error::new(
                    ErrorKind::ForeignColumn,
                    "a column of another group (or another column of this one) was swapped in",
                )
                .in_column(k));
            }
            debug_assert!(c.len <= c.region.capacity && c.dirty_from <= c.len);
            lens[k] = c.len as u64;
            // Within the table: the column's capacity is.
            needed[k] = gf::blocks_for(lens[k] * c.region.elem_size as u64).unwrap_or(MAX_BLOCKS);
            dirty |= c.dirty_from < c.len || c.region.changed_file;
        }
        let new_lengths = lens != self.committed.lens;
        if !new_lengths && !dirty && !self.flush_failed {
            return Ok(());
        }
        if let Some(e) = self.poisoned {
            return Err(e);
        }
        if self.flush_failed {
            // Dirty the current slot's page again: after a failed flush the kernel may have
            // marked it clean without writing it. Same bytes, so no reader sees a change.
            let at = SLOT_OFFSETS[1 - self.next_slot] as u64;
            self.file
                .write_all_at(&self.header.encode_slot(&self.committed), at)?;
        }
        // 1. Data.
        if dirty || self.flush_failed {
            if let Err(e) = self.sync_data(columns) {
                self.poisoned = Some(e.with_context(
                    "an earlier sync failed to write element data; reopen to recover the last commit",
                ));
                return Err(e);
            }
            self.flush_failed = false;
        }
        if !new_lengths {
            return Ok(());
        }
        // 2. The other slot.
        let seq = self.next_seq;
        if seq > format::MAX_SEQUENCE {
            return Err(Error::value(
                ErrorKind::Corrupt,
                "commit sequence exhausted; the last commit stays. Sequence:",
                seq,
            ));
        }
        self.next_seq = seq + 1;
        let mut table = [[0u64; MAX_BLOCKS]; MAX_COLUMNS];
        for (k, c) in columns.iter().enumerate() {
            let m = needed[k].min(c.region.nblocks);
            table[k][..m].copy_from_slice(&c.region.blocks[..m]);
        }
        let slot = GroupSlot {
            seq,
            lens,
            table_sum: gf::table_sum(format::ByteOrder::Native, &table, &needed),
        };
        let at = SLOT_OFFSETS[self.next_slot] as u64;
        if self.target_torn {
            // A torn slot's checksum word is zeroed first, on its own: while the new slot's
            // words are copied over the torn ones, a live reader may load any mixture of the
            // two, and only a mixture with the new checksum word can then validate (as the
            // new slot). `docs/design.md`, "Commit groups".
            let sum_word = gf::slot_word_offset(self.next_slot, gf::SLOT_WORDS - 1);
            self.file.write_all_at(&[0u8; 8], sum_word as u64)?;
        }
        // Every store through the mappings comes before the slot's bytes, for a live reader
        // in another process that reads the slot and then them.
        fence(Ordering::SeqCst);
        if let Err(e) = self.file.write_all_at(&self.header.encode_slot(&slot), at) {
            self.target_torn = true;
            return Err(e);
        }
        // Live readers waiting for a commit sleep on this slot's sequence word.
        if self.header_map.len() >= HEADER_SIZE {
            // SAFETY: the header page is mapped; the word lies 8-byte aligned in it and
            // stays mapped for the call.
            let word = unsafe {
                self.header_map
                    .ptr()
                    .add(gf::slot_word_offset(self.next_slot, 0))
            };
            // SAFETY: a 4-byte-aligned word in a live shared file mapping.
            unsafe { sys::wake_u32(super::wait::low_half(word)) };
        }
        self.target_torn = false;
        self.committed = slot;
        self.next_slot = 1 - self.next_slot;
        for c in columns.iter_mut() {
            c.region.committed = c.len;
        }
        // 3. Make the slot durable.
        if let Err(e) = self.file.sync_data() {
            self.flush_failed = true;
            return Err(e);
        }
        Ok(())
    }

    /// Step 1 of a commit: every column's changed bytes, and whatever growth and `pwrite`
    /// changed, on disk.
    fn sync_data(&mut self, columns: &mut [ColumnCommit<'_>]) -> Result<()> {
        if !sys::FSYNC_WRITES_MAPPED_PAGES {
            for c in columns.iter() {
                if c.dirty_from < c.len {
                    let size = c.region.elem_size;
                    c.region.map.sync(
                        &c.region.file,
                        c.dirty_from * size,
                        c.len * size,
                        c.region.page_size,
                    )?;
                }
            }
        }
        self.file.sync_data()?;
        for c in columns.iter_mut() {
            c.region.changed_file = false;
        }
        Ok(())
    }

    /// Unlocks and closes, reporting an unlock failure (`WrongProcess` in a forked child,
    /// which must not unlock its parent's file).
    pub(crate) fn close(mut self) -> Result<()> {
        let result = self.owner.check().and_then(|()| self.file.unlock());
        self.unlocked = true;
        result
    }
}

impl Drop for GroupRegion {
    /// Unlocks explicitly (a child forked elsewhere may share the open file description),
    /// then closes the descriptor; in a forked child, closes only.
    fn drop(&mut self) {
        if !self.unlocked && self.owner.is_current() {
            let _ = self.file.unlock();
        }
    }
}

/// How many blocks of each column a writer may use: those the commit needs (validated), then
/// each further entry of the table while it is a block in the file, aligned, and overlapping
/// no block taken before it (left by an earlier writer that grew the column past the
/// commit), so that reopening a group does not leave its spare blocks unused.
fn usable_blocks(
    header: &GroupHeader,
    committed: &GroupSlot,
    file_size: u64,
) -> [usize; MAX_COLUMNS] {
    let layout = &header.layout;
    // Validated on open: the lengths fit the table.
    let mut usable = gf::needed_blocks(layout, &committed.lens).unwrap_or([0; MAX_COLUMNS]);
    for k in 0..layout.columns {
        while usable[k] < MAX_BLOCKS {
            let mut trial = usable;
            trial[k] += 1;
            if header.table[k][usable[k]] == 0
                || gf::check_blocks(&header.table, &trial, file_size).is_err()
            {
                break;
            }
            usable = trial;
        }
    }
    usable
}

/// The column bytes one growth step of a column reserves when it holds `reserved` and must
/// hold `need`: exactly `need` in whole pages when `exact`; else amortised as a vector grows
/// (`growth_target`): eight times while under [`FAST_GROWTH_LIMIT`], then doubling by at
/// most [`MAX_GROWTH_STEP`], whole 2 MiB past the first 2 MiB; never past the table.
pub(crate) fn column_target(reserved: u64, need: u64, page: u64, exact: bool) -> u64 {
    let round_up = |n: u64, to: u64| n.div_ceil(to) * to;
    let limit = gf::block_start(MAX_BLOCKS);
    let mut target = need;
    if !exact {
        let fast = reserved.saturating_mul(8).min(FAST_GROWTH_LIMIT as u64);
        let doubled = reserved.saturating_add(reserved.min(MAX_GROWTH_STEP as u64));
        target = target.max(fast).max(doubled).max(page);
        if target > HUGE_UNIT {
            let up = round_up(target, HUGE_UNIT);
            if up - need <= MAX_GROWTH_STEP as u64 {
                target = up;
            }
        }
    }
    round_up(target.min(limit).max(need), page)
}

/// One column of a group: its blocks of the group's file, mapped end to end, and the bytes
/// of them reserved on disk.
///
/// # Invariants
///
/// * `blocks[..nblocks]` are this column's blocks (file offsets, block `j` of
///   `block_size(j)` bytes), each within the file, disjoint from every other block of the
///   group; `map` maps exactly them, in order (writable iff `writable`).
/// * `reserved <= block_start(nblocks)`: column bytes `0..reserved` have disk blocks (or
///   hold committed data), so touching them cannot raise `SIGBUS`; `capacity ==
///   reserved / elem_size`.
#[derive(Debug)]
pub(crate) struct ColumnRegion {
    /// A duplicate of the group's descriptor.
    file: sys::File,
    map: BlockMapping,
    blocks: [u64; MAX_BLOCKS],
    nblocks: usize,
    reserved: u64,
    capacity: usize,
    /// The column's length in the group's last commit.
    committed: usize,
    elem_size: usize,
    index: usize,
    token: u64,
    page_size: usize,
    writable: bool,
    huge_pages: bool,
    /// Since the last commit, blocks were added or reserved, or bytes written with `pwrite`:
    /// the commit flushes the file.
    changed_file: bool,
    owner: Owner,
}

impl ColumnRegion {
    /// Whole elements the reserved bytes hold.
    #[inline]
    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    /// Element 0 ([`sys::unmapped`] when nothing is mapped).
    #[inline]
    pub(crate) fn data_ptr(&self) -> NonNull<u8> {
        self.map.ptr()
    }

    /// The column's length in the group's last commit.
    #[inline]
    pub(crate) fn committed_len(&self) -> usize {
        self.committed
    }

    /// Maps `blocks[..nblocks]` end to end (replacing the old mapping).
    fn remap(&mut self) -> Result<()> {
        let mut list = [(0u64, 0usize); MAX_BLOCKS];
        for (j, (entry, &off)) in list
            .iter_mut()
            .zip(&self.blocks)
            .enumerate()
            .take(self.nblocks)
        {
            // Exact: a block lies within the file, whose size is mapped elsewhere too.
            *entry = (off, gf::block_size(j) as usize);
        }
        let map = BlockMapping::new(
            &self.file,
            &list[..self.nblocks],
            self.writable,
            BLOCK0 as usize,
        )?;
        if self.huge_pages {
            map.advise_huge(true);
        }
        self.map = map;
        Ok(())
    }

    /// Grows capacity to at least `min_capacity` elements (exactly, in whole pages, when
    /// `exact`): new blocks at the end of the file first (the file made longer with
    /// `ftruncate`, the block's offset written into the table), then disk blocks reserved for
    /// the new bytes (`fallocate`, or zeros). Near a full disk a step that does not fit is
    /// halved, down to what was asked for. On error the capacity is unchanged.
    pub(crate) fn grow_to(&mut self, min_capacity: usize, exact: bool) -> Result<()> {
        debug_assert!(self.writable);
        if min_capacity <= self.capacity {
            return Ok(());
        }
        self.owner.check()?;
        let limit = gf::block_start(MAX_BLOCKS).min(isize::MAX as u64);
        let need = (min_capacity as u64)
            .checked_mul(self.elem_size as u64)
            .filter(|&b| b <= limit)
            .ok_or(Error::new(
                ErrorKind::CapacityOverflow,
                "column capacity in bytes exceeds isize::MAX or the group's block table",
            ))?;
        // Disk space is reserved in whole 2 MiB units of the file (a column's bytes start at
        // a 2 MiB boundary of it), never up to a page in the middle of one: past a column's
        // reserved end its block is a hole, and on ext4 and XFS a store that faults in a
        // large page-cache folio straddling that end would make the file system reserve
        // the hole's part of the folio too, and raise `SIGBUS` on a full disk
        // (`docs/design.md`, "Commit groups": blocks).
        let unit = HUGE_UNIT.max(self.page_size as u64);
        let round = |b: u64| b.div_ceil(unit).saturating_mul(unit).min(limit.max(b));
        let exact_target = round(column_target(self.reserved, need, unit, true));
        let mut target = round(column_target(self.reserved, need, unit, exact));
        loop {
            let result = self
                .add_blocks(target)
                .and_then(|()| self.reserve(self.reserved, target));
            match result {
                Ok(()) => break,
                Err(e) => {
                    let retry = matches!(e.kind(), ErrorKind::OutOfSpace | ErrorKind::FileTooLarge);
                    if !retry || target <= exact_target {
                        return Err(e);
                    }
                    target = exact_target + (target - exact_target) / 2 / unit * unit;
                }
            }
        }
        self.reserved = target;
        self.capacity = (target / self.elem_size as u64) as usize;
        self.changed_file = true;
        Ok(())
    }

    /// Adds blocks until they hold `bytes` column bytes, each at the end of the file (a
    /// multiple of 2 MiB), then maps them all.
    fn add_blocks(&mut self, bytes: u64) -> Result<()> {
        let m = gf::blocks_for(bytes).ok_or(Error::new(
            ErrorKind::CapacityOverflow,
            "column larger than the group's block table",
        ))?;
        if m <= self.nblocks {
            return Ok(());
        }
        let before = self.nblocks;
        let added = {
            let _lock = AllocationLock::take();
            self.allocate(m)
        };
        if self.nblocks > before {
            self.changed_file = true;
            if let Err(e) = self.remap() {
                // The mapping still covers the blocks it had: so must the column. The new
                // blocks' table entries stay unused (no commit needs them), and the next
                // allocation writes over them.
                self.nblocks = before;
                return Err(e);
            }
        }
        added
    }

    /// Allocates blocks `nblocks..m`, under the allocation lock.
    fn allocate(&mut self, m: usize) -> Result<()> {
        while self.nblocks < m {
            let j = self.nblocks;
            let size = self.file.stat()?.size;
            let off = size
                .checked_add(BLOCK0 - 1)
                .map(|s| s / BLOCK0 * BLOCK0)
                .ok_or(Error::new(ErrorKind::CapacityOverflow, "file offset"))?
                .max(BLOCK0);
            let end = off
                .checked_add(gf::block_size(j))
                .ok_or(Error::new(ErrorKind::CapacityOverflow, "file offset"))?;
            self.file.set_len(end)?;
            let entry = gf::table_entry_offset(self.index, j) as u64;
            self.file.write_all_at(&off.to_ne_bytes(), entry)?;
            self.blocks[j] = off;
            self.nblocks = j + 1;
        }
        Ok(())
    }

    /// Reserves disk blocks for column bytes `from..to` (within the blocks), block by block.
    fn reserve(&self, from: u64, to: u64) -> Result<()> {
        for j in 0..self.nblocks {
            let (start, end) = (gf::block_start(j), gf::block_start(j) + gf::block_size(j));
            let (a, b) = (from.max(start), to.min(end));
            if a < b {
                self.file
                    .reserve_range(self.blocks[j] + (a - start), b - a)?;
            }
        }
        Ok(())
    }

    /// Writes `bytes` as the elements from `index` on (within the capacity): with `pwrite`,
    /// block by block, from 32 KiB on where a `pwrite` shows in the mapping at once, else by
    /// a copy into the mapping, as a vector writes them (`region/write.rs`).
    pub(crate) fn write_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
        self.write(index, bytes, super::write::PWRITE_MIN)
    }

    /// Overwrites elements from `index` (below the length) with `bytes`: with `pwrite` where
    /// it shows in the mapping at once (dirtying only the blocks written), else by a copy.
    pub(crate) fn overwrite_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
        self.write(index, bytes, 0)
    }

    fn write(&mut self, index: usize, bytes: &[u8], pwrite_from: usize) -> Result<()> {
        let start = index * self.elem_size;
        assert!(self.writable && start + bytes.len() <= self.capacity * self.elem_size);
        if sys::WRITE_SHOWS_IN_MAPPINGS && bytes.len() >= pwrite_from {
            self.owner.check()?;
            self.changed_file = true;
            let (from, to) = (start as u64, (start + bytes.len()) as u64);
            for j in 0..self.nblocks {
                let (bs, be) = (gf::block_start(j), gf::block_start(j) + gf::block_size(j));
                let (a, b) = (from.max(bs), to.min(be));
                if a < b {
                    let piece = &bytes[(a - from) as usize..(b - from) as usize];
                    self.file.write_all_at(piece, self.blocks[j] + (a - bs))?;
                }
            }
            return Ok(());
        }
        // SAFETY: `start..start + len` lies within the capacity (asserted), hence within the
        // live writable mapping; `bytes` cannot overlap it (`&mut self` excludes every
        // borrow of the mapping).
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.ptr().as_ptr().add(start),
                bytes.len(),
            )
        };
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_target_table() {
        const MIB: u64 = 1 << 20;
        let page = 4096;
        // Exact: whole pages.
        assert_eq!(column_target(0, 8, page, true), 4096);
        assert_eq!(column_target(4096, 4097, page, true), 8192);
        // Amortised: at least a page, 8x while small, 2 MiB multiples past 2 MiB.
        assert_eq!(column_target(0, 8, page, false), 4096);
        assert_eq!(column_target(4096, 4097, page, false), 8 * 4096);
        assert_eq!(column_target(MIB, MIB + 1, page, false), 8 * MIB);
        assert_eq!(
            column_target(64 * MIB, 64 * MIB + 1, page, false),
            128 * MIB
        );
        let gib = 1 << 30;
        assert_eq!(column_target(4 * gib, 4 * gib + 1, page, false), 5 * gib);
        // Never past the table.
        let limit = gf::block_start(MAX_BLOCKS);
        assert_eq!(column_target(limit - page, limit, page, false), limit);
        for (r, n, exact) in [
            (0, 1, false),
            (3 * MIB, 3 * MIB + 5, false),
            (0, 5 * MIB + 1, true),
        ] {
            let t = column_target(r, n, page, exact);
            assert!(t >= n && t % page == 0 && t - n <= MAX_GROWTH_STEP as u64 + HUGE_UNIT);
        }
    }
}
