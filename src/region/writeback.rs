//! Early writeback (`OpenOptions::early_writeback`, on by default): while a vector is
//! appended, the kernel is asked to start writing the ranges already filled, so that the
//! next `sync()` finds most of them on their way instead of starting all the disk work at
//! once (`docs/design.md`, "Early writeback"). It only moves work earlier: the commit still
//! makes everything durable before its slot, as before.

use super::growth::HUGE_UNIT;
use super::RawRegion;
use crate::format::DATA_OFFSET;

/// How many filled bytes make a writeback worth starting: 8 MiB.
pub(crate) const STEP: u64 = 8 << 20;

/// What was handed to the kernel already.
#[derive(Debug)]
pub(super) struct EarlyWriteback {
    /// Whether to do it at all (`OpenOptions::early_writeback`, writers only).
    enabled: bool,
    /// File offset up to which writeback was started (or the data is durable: a commit
    /// moves it to its end).
    started_to: u64,
}

impl EarlyWriteback {
    pub(super) fn new(enabled: bool) -> EarlyWriteback {
        EarlyWriteback {
            enabled,
            started_to: DATA_OFFSET as u64,
        }
    }
}

impl RawRegion {
    /// Elements `0..len` are written (an append just ended there): when at least [`STEP`]
    /// bytes past what was started before are whole 2 MiB units below the end of element
    /// `len`, starts their writeback (`sys::File::start_writeback`). The unit holding the
    /// write position is never included: a page under writeback would make the next store
    /// into it wait, and a 2 MiB folio holds up the whole unit.
    pub(crate) fn appended_up_to(&mut self, len: usize) {
        if !self.early.enabled {
            return;
        }
        let end =
            (DATA_OFFSET as u64).saturating_add((len as u64).saturating_mul(self.elem_size as u64));
        let limit = end / HUGE_UNIT * HUGE_UNIT;
        let from = self.early.started_to;
        if limit >= from.saturating_add(STEP) {
            self.file.start_writeback(from, limit - from);
            self.early.started_to = limit;
        }
        self.set_push_limit();
    }

    /// Where pushes next leave their fast path: the first length at which
    /// [`appended_up_to`](Self::appended_up_to) would start a writeback, or the capacity if
    /// that comes first (or early writeback is off).
    pub(super) fn set_push_limit(&mut self) {
        self.push_limit = self.capacity;
        if !self.early.enabled || self.elem_size == 0 {
            return;
        }
        // `appended_up_to` starts one when the data reaches `started_to + STEP` (both whole
        // 2 MiB units, so rounding the end down to a unit changes nothing there).
        let at = self
            .early
            .started_to
            .saturating_add(STEP)
            .saturating_sub(DATA_OFFSET as u64);
        let len = at.div_ceil(self.elem_size as u64);
        if let Ok(len) = usize::try_from(len) {
            self.push_limit = self.push_limit.min(len);
        }
    }

    /// After a commit of `len` elements: everything below is durable; writeback starts again
    /// from the last whole 2 MiB unit of it (also after the length went down).
    pub(super) fn committed_up_to(&mut self, len: usize) {
        let end =
            (DATA_OFFSET as u64).saturating_add((len as u64).saturating_mul(self.elem_size as u64));
        self.early.started_to = (end / HUGE_UNIT * HUGE_UNIT).max(DATA_OFFSET as u64);
        self.set_push_limit();
    }
}
