//! `LiveGroupRegion`: a live reader of a commit group, beside its writer (`docs/design.md`,
//! "Commit groups", "Live group readers").
//!
//! It maps the header page read-only and learns of commits from the two group slots there,
//! as a vector's live reader does (`live.rs`, `slots.rs`); on a new commit it reads the
//! block table entries the commit needs, checks them against the commit's table checksum,
//! and maps any block it has not mapped yet. It takes no lock: a group's file never gets
//! shorter and its blocks never move while they are part of a commit, so every byte a commit
//! covers stays backed.

use core::ptr::NonNull;
use core::sync::atomic::{fence, Ordering};

use super::open::READ_ONLY;
use super::Owner;
use crate::error::{Error, ErrorKind, Result};
use crate::format::group::{
    self as gf, GroupHeader, GroupLayout, GroupSlot, BLOCK0, MAX_BLOCKS, MAX_COLUMNS,
};
use crate::format::{ByteOrder, HEADER_SIZE};
use crate::limits;
use crate::slots::{Snapshot, Step, View};
use crate::sys::{self, BlockMapping, Mapping};

/// One column as a live reader maps it.
#[derive(Debug)]
struct LiveColumn {
    map: BlockMapping,
    blocks: [u64; MAX_BLOCKS],
    nblocks: usize,
}

/// A live group reader's open file and the commit it adopted.
///
/// # Invariants
///
/// * `header` is empty while the file holds no commit; else it maps the header page.
/// * For each column `k`, `columns[k].map` maps `blocks[..nblocks]` end to end, each block
///   within the file (checked against its size when mapped), and the adopted commit's
///   `lens[k]` elements lie in them.
#[derive(Debug)]
pub(crate) struct LiveGroupRegion {
    file: sys::File,
    header: Mapping,
    lens: [u64; MAX_COLUMNS],
    columns: [LiveColumn; MAX_COLUMNS],
    view: View<{ gf::SLOT_WORDS }>,
    layout: GroupLayout,
    owner: Owner,
}

impl LiveGroupRegion {
    /// Opens the group at `path` live, for columns of `layout`; maps it if it holds a commit.
    pub(crate) fn open(path: &core::ffi::CStr, layout: GroupLayout) -> Result<LiveGroupRegion> {
        if !sys::WRITE_SHOWS_IN_MAPPINGS {
            return Err(Error::new(
                ErrorKind::Io,
                "live readers need a page cache shared by writes and mappings, which this \
                 system lacks",
            ));
        }
        let file = sys::open(path, &READ_ONLY)?;
        if !file.stat()?.regular {
            return Err(Error::new(ErrorKind::NotARegularFile, "the path"));
        }
        let mut region = LiveGroupRegion {
            file,
            header: Mapping::none(false),
            lens: [0; MAX_COLUMNS],
            columns: core::array::from_fn(|_| LiveColumn {
                map: BlockMapping::none(),
                blocks: [0; MAX_BLOCKS],
                nblocks: 0,
            }),
            view: View::new(0, gf::slot_words_valid),
            layout,
            owner: Owner::current(),
        };
        region.map_first()?;
        Ok(region)
    }

    /// Column `k`'s adopted length.
    #[inline]
    pub(crate) fn len(&self, k: usize) -> usize {
        // Exact: checked to lie in mapped blocks when adopted.
        self.lens[k] as usize
    }

    /// Column `k`'s element 0 ([`sys::unmapped`] while nothing is mapped).
    #[inline]
    pub(crate) fn data_ptr(&self, k: usize) -> NonNull<u8> {
        self.columns[k].map.ptr()
    }

    /// The adopted commit's generation (0 before the first commit after creation, and
    /// before any commit is seen).
    pub(crate) fn generation(&self) -> u64 {
        self.view.current()[0].saturating_sub(1)
    }

    /// Waits for a commit newer than the adopted one and adopts it (`true`), or until
    /// `timeout` passes (`false`); `docs/design.md`, "Waiting for a commit".
    pub(crate) fn wait_for_commit(
        &mut self,
        timeout: Option<core::time::Duration>,
    ) -> Result<bool> {
        super::wait::wait_for_commit(self, timeout)
    }

    /// Moves to the newest commit; `true` when it is another one. No system call when
    /// nothing was committed since the last call.
    #[inline]
    pub(crate) fn refresh(&mut self) -> Result<bool> {
        if self.header.len() != 0 && self.view.unchanged_seqs(self.read_seqs()) {
            return Ok(false);
        }
        self.refresh_slow()
    }

    /// Both slots' sequence words (the fast path compares only those:
    /// `View::unchanged_seqs`), loaded from the mapped header, then an acquire fence.
    #[inline(always)]
    fn read_seqs(&self) -> [u64; 2] {
        debug_assert!(self.header.len() >= HEADER_SIZE);
        let base = self.header.ptr().as_ptr();
        // SAFETY: the header page is mapped; both words lie 8-byte aligned inside it.
        let seqs = [0, 1].map(|i| unsafe {
            core::ptr::read_volatile(base.add(gf::slot_word_offset(i, 0)).cast::<u64>())
        });
        fence(Ordering::Acquire);
        seqs
    }

    /// Slot `i`'s words, loaded from the mapped header page, then an acquire fence.
    #[inline(always)]
    fn read_slot(&self, i: usize) -> [u64; gf::SLOT_WORDS] {
        debug_assert!(self.header.len() >= HEADER_SIZE);
        let base = self.header.ptr().as_ptr();
        let mut w = [0u64; gf::SLOT_WORDS];
        for (k, word) in w.iter_mut().enumerate() {
            // SAFETY: the header page is mapped (slots are read only then); each slot word
            // lies at an 8-byte-aligned offset inside it.
            *word = unsafe {
                core::ptr::read_volatile(base.add(gf::slot_word_offset(i, k)).cast::<u64>())
            };
        }
        fence(Ordering::Acquire);
        w
    }

    /// Table entry `(k, j)`, loaded from the mapped header page.
    fn read_entry(&self, k: usize, j: usize) -> u64 {
        // SAFETY: as in `read_slot`: an 8-byte-aligned word inside the mapped header page.
        unsafe {
            core::ptr::read_volatile(
                self.header
                    .ptr()
                    .as_ptr()
                    .add(gf::table_entry_offset(k, j))
                    .cast::<u64>(),
            )
        }
    }

    /// Validates the header and maps its page, if the file holds a commit yet.
    fn map_first(&mut self) -> Result<bool> {
        self.owner.check()?;
        let mut page = [0u8; HEADER_SIZE];
        let got = self.file.read_at(&mut page, 0)?;
        let size = self.file.stat()?.size;
        let page = &page[..got];
        if size == 0 || got == 0 {
            return Ok(false); // Not created yet.
        }
        // A writer is creating it now, or died doing so (`format::is_uncreated`).
        if crate::format::is_uncreated(page, size) {
            // A writer is creating it now, or died doing so (`format::is_uncreated`): no
            // commit yet, whatever layout its first sector shows.
            return Ok(false);
        }
        let header = GroupHeader::decode(page, false)?;
        header.layout.check(&self.layout)?;
        self.header.remap(&self.file, HEADER_SIZE)?;
        let mut view = View::new(header.checksum(), gf::slot_words_valid);
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
        if self.header.len() == 0 {
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

    /// Adopts a commit: reads the table entries it needs, checks them against its table
    /// checksum, and maps the blocks not mapped yet (after checking them against the file's
    /// size). On error nothing changes (the next refresh tries again).
    fn adopt(&mut self, snap: &Snapshot<{ gf::SLOT_WORDS }>) -> Result<bool> {
        let slot = GroupSlot::from_words(ByteOrder::Native, &snap.pick);
        let needed = gf::needed_blocks(&self.layout, &slot.lens)?;
        let mut table = [[0u64; MAX_BLOCKS]; MAX_COLUMNS];
        for (k, (column, &m)) in table.iter_mut().zip(&needed).enumerate() {
            for (j, entry) in column.iter_mut().enumerate().take(m) {
                *entry = self.read_entry(k, j);
            }
        }
        let sum = gf::table_sum(ByteOrder::Native, &table, &needed);
        if sum != slot.table_sum {
            // A damaged entry that also makes its block invalid names its column.
            gf::check_blocks(&table, &needed, self.file.stat()?.size)?;
            return Err(Error::checksums(
                "block table checksum",
                slot.table_sum,
                sum,
            ));
        }
        let stale = |k: usize| {
            let c = &self.columns[k];
            needed[k] > c.nblocks || c.blocks[..needed[k]] != table[k][..needed[k]]
        };
        if (0..MAX_COLUMNS).any(stale) {
            self.owner.check()?;
            let size = self.file.stat()?.size;
            gf::check_blocks(&table, &needed, size)?;
            // Every new mapping first, then all at once with the lengths: a failure leaves
            // the adopted commit and its mappings as they were.
            let mut fresh: [Option<BlockMapping>; MAX_COLUMNS] = core::array::from_fn(|_| None);
            for (k, new) in fresh.iter_mut().enumerate().take(self.layout.columns) {
                if !stale(k) {
                    continue;
                }
                let m = needed[k];
                let mut list = [(0u64, 0usize); MAX_BLOCKS];
                for (j, entry) in list.iter_mut().enumerate().take(m) {
                    // Exact: each block lies within the file, checked above.
                    *entry = (table[k][j], gf::block_size(j) as usize);
                }
                *new = Some(BlockMapping::new(
                    &self.file,
                    &list[..m],
                    false,
                    BLOCK0 as usize,
                )?);
            }
            for (k, new) in fresh.iter_mut().enumerate() {
                if let Some(map) = new.take() {
                    let c = &mut self.columns[k];
                    c.map = map;
                    c.blocks = table[k];
                    c.nblocks = needed[k];
                }
            }
        }
        self.lens = slot.lens;
        self.view.adopt(snap);
        // Element loads after this come after the slot loads that licensed them.
        fence(Ordering::Acquire);
        Ok(true)
    }
}

impl super::wait::Waiter for LiveGroupRegion {
    fn refresh(&mut self) -> Result<bool> {
        LiveGroupRegion::refresh(self)
    }

    fn target(&self) -> Option<(NonNull<u32>, u32)> {
        if self.header.len() == 0 {
            return None; // No commit mapped yet: poll.
        }
        let (slot, seq) = self.view.wait_target()?;
        // SAFETY: the header page is mapped; the slot's sequence word lies 8-byte aligned in it.
        let word = unsafe { self.header.ptr().add(gf::slot_word_offset(slot, 0)) };
        // The low 32 bits of the sequence word (a wait compares 32 bits).
        Some((super::wait::low_half(word), seq as u32))
    }
}
