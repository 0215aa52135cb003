//! Bulk-append mode (`OpenOptions::huge_pages`): page-cache hints that put data appended in
//! bulk into 2 MiB folios (`docs/design.md`, "Growth", "Page cache"). Hints never change
//! contents, and a failed hint is ignored.

use super::growth::HUGE_UNIT;
use super::RawRegion;
use crate::format::DATA_OFFSET;
use crate::sys;

/// Whether the writer is in bulk-append mode, and what the mapping was told.
#[derive(Debug)]
pub(super) struct BulkMode {
    /// Whether bulk-append mode may be on at all (`OpenOptions::huge_pages`, writers only).
    allowed: bool,
    /// Appends are expected in bulk, so the page cache should hold the appended data in
    /// 2 MiB folios (the mapping is advised `MADV_HUGEPAGE`, bulk `pwrite`s pad their last
    /// piece to a 2 MiB boundary). Set when the vector is opened and after a commit that
    /// appended at least [`HUGE_UNIT`] bytes; cleared by a commit that appended less
    /// ([`RawRegion::update_bulk_mode`]). Only where [`sys::HUGE_HINTS`] holds does it change
    /// anything.
    on: bool,
    /// The advice the current mapping was given (`Some(on)` as it was then), or `None` for
    /// a mapping given none yet.
    advised: Option<bool>,
    /// Whether padding bulk writes to 2 MiB builds 2 MiB folios on this file's file
    /// system (ext4, XFS); `None` until the first write that would pad asks.
    pad_helps: Option<bool>,
}

impl BulkMode {
    /// On from the open when `allowed`.
    pub(super) fn new(allowed: bool) -> BulkMode {
        BulkMode {
            allowed,
            on: allowed,
            advised: None,
            pad_helps: None,
        }
    }
}

impl RawRegion {
    /// Records a new mapping after a remap (the element pointer, the capacity), and gives it
    /// the advice of the current mode where the remap did not carry it over.
    pub(super) fn remapped(&mut self) {
        self.mapping_changed();
        if !sys::REMAP_KEEPS_ADVICE {
            self.bulk.advised = None;
        }
        self.advise();
    }

    /// With `huge_pages`, advises the whole mapping of a writer `MADV_HUGEPAGE` in
    /// bulk-append mode, else `MADV_NOHUGEPAGE`, unless it has that advice already; without
    /// it, gives no advice at all (the kernel's read-ahead decides, as for any mapping).
    fn advise(&mut self) {
        let b = &mut self.bulk;
        if sys::HUGE_HINTS && b.allowed && self.map.len() > 0 && b.advised != Some(b.on) {
            self.map.advise_huge(b.on);
            b.advised = Some(b.on);
        }
    }

    /// After a commit that took the length from `before` to `len`, sets the bulk-append mode
    /// from how much it appended: at least [`HUGE_UNIT`] bytes, bulk; less, not bulk; nothing
    /// (a commit of in-place changes or of a shorter length), no change. Each switch costs
    /// one or two system calls; a commit that does not switch costs none.
    ///
    /// Why: a store into a 2 MiB folio marks the whole folio dirty, so a writer that commits
    /// every few kilobytes would write 2 MiB each time. So when a commit appended little, the
    /// mapping gets `MADV_NOHUGEPAGE`, and the clean folios the 2 MiB read-ahead already built
    /// past the next 2 MiB boundary after the tail are dropped (else the read-ahead would go
    /// on building 2 MiB folios from them).
    pub(super) fn update_bulk_mode(&mut self, before: usize, len: usize) {
        if !sys::HUGE_HINTS || !self.bulk.allowed || len <= before {
            return;
        }
        let appended = ((len - before) as u64).saturating_mul(self.elem_size as u64);
        let on = appended >= HUGE_UNIT;
        if on == self.bulk.on {
            return;
        }
        let was_advised_huge = self.bulk.advised == Some(true);
        self.bulk.on = on;
        self.advise();
        if !on && was_advised_huge {
            let tail = (DATA_OFFSET + len * self.elem_size) as u64;
            let from = tail.div_ceil(HUGE_UNIT).saturating_mul(HUGE_UNIT);
            self.file
                .drop_clean_cache(from, self.file_len.saturating_sub(from));
        }
    }

    /// In bulk-append mode, where padding helps (ext4, XFS on Linux): the 2 MiB boundary at
    /// which a bulk `pwrite` of file bytes `offset..end` is cut, so that its last piece is
    /// written together with zeros up to the end of that 2 MiB range (the range the write
    /// enters at its start and ends inside), and the end of that padding. `None` when the
    /// write is not to be padded: not in bulk mode, it does not end inside such a range, or
    /// it ends before the committed data (the zeros must never land on an element).
    ///
    /// Why: Linux sizes a new folio from the length of the write that creates it, cut down
    /// to the alignment of its offset, so without this every write boundary that is not
    /// 2 MiB-aligned (all of them: the data start at byte 4096) starts a range of small
    /// folios.
    pub(super) fn bulk_padding(&mut self, offset: usize, end: usize) -> Option<(usize, usize)> {
        let huge = HUGE_UNIT as usize;
        // The last 2 MiB boundary before the end of the write.
        let cut = end / huge * huge;
        let committed_end = DATA_OFFSET + self.committed_len() * self.elem_size;
        let pads = sys::HUGE_HINTS
            && self.bulk.on
            && cut >= huge
            && cut >= offset
            && end > cut
            && end >= committed_end
            && *self
                .bulk
                .pad_helps
                .get_or_insert_with(|| self.file.builds_large_folios());
        pads.then(|| (cut, (cut + huge).min(self.map.len())))
    }
}
