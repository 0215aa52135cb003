//! Growth and shrinking: the growth policy ([`growth_target`], a pure function), reserving
//! disk blocks before they are mapped, remapping, and cuts, which make the file shorter only
//! through the live readers' gate ([`CutGate`]); `docs/design.md`, "Growth" and "Writer
//! cut".

use super::RawRegion;
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, DATA_OFFSET};
use crate::sidecar::ResolvedPath;
use crate::sys;

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
/// 2 MiB. It is also the unit of the region's bulk-append mode (`bulk.rs`).
pub(crate) const HUGE_UNIT: u64 = 2 << 20;

fn round_up(n: u64, to: u64) -> Option<u64> {
    n.checked_add(to - 1).map(|v| v / to * to)
}

/// The file size that holds `elems` elements of `elem_size` bytes (`format::data_end`),
/// checked against `isize::MAX`.
fn bytes_for(elems: usize, elem_size: usize) -> Result<u64> {
    format::data_end(elems as u64, elem_size as u64)
        .filter(|&b| b <= isize::MAX as u64)
        .ok_or(Error::new(
            ErrorKind::CapacityOverflow,
            "capacity in bytes exceeds isize::MAX",
        ))
}

/// A file size as a mapping length: `CapacityOverflow` past `isize::MAX` (or `usize`).
pub(super) fn to_map_len(size: u64) -> Result<usize> {
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

/// Where the writer's file is, for the live readers' lock file, and the cut that waits for
/// them: the file is made shorter only while no live reader is open (`docs/design.md`,
/// "Writer cut").
#[derive(Debug)]
pub(super) struct CutGate {
    /// The file's directory and name (`sidecar.rs`); `None` for a read-only region, and for
    /// a writer that could not resolve them: it then never makes the file shorter.
    place: Option<ResolvedPath>,
    /// Elements a `shrink_to` asked to keep while a live reader was open (or the library
    /// could not tell that none was): the cut waits, and is tried again after each commit
    /// (so also at close) and at each `shrink_to`.
    pending: Option<usize>,
}

impl CutGate {
    pub(super) fn new(place: Option<ResolvedPath>) -> CutGate {
        CutGate {
            place,
            pending: None,
        }
    }

    /// The file's resolved directory and name, when the writer has them.
    pub(super) fn place(&self) -> Option<&ResolvedPath> {
        self.place.as_ref()
    }

    /// Permission to make `file` shorter now: the lock file, locked exclusively; `None`
    /// when a live reader may be open (`ResolvedPath::lock_for_cut`). The caller cuts, then
    /// unlocks it.
    pub(super) fn lock(&self, file: &sys::File) -> Option<sys::File> {
        self.place.as_ref().and_then(|p| p.lock_for_cut(file))
    }
}

impl RawRegion {
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
        self.owner.check()?;
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
        // Exact: `growth_target` returns at most `isize::MAX`. The file is now that long, so
        // every byte of the new mapping is backed.
        match self.map.remap(&self.file, new_size as usize) {
            Ok(()) => {
                self.remapped();
                self.file_len = new_size;
                // The capacity is wanted again: a cut that was waiting is dropped.
                self.cut.pending = None;
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
    /// readers' lock file without waiting ([`CutGate::lock`]). When it cannot, nothing
    /// changes now and the cut is remembered (`CutGate::pending`) and tried again after each
    /// commit and at the next `shrink_to`; `Ok` either way.
    pub(crate) fn shrink_to(&mut self, keep: usize) -> Result<()> {
        debug_assert!(self.writable);
        self.owner.check()?;
        let keep = keep.max(self.committed_len());
        let new_size = bytes_for(keep, self.elem_size)?;
        if new_size >= self.file_len {
            self.cut.pending = None;
            return Ok(());
        }
        let Some(gate) = self.cut.lock(&self.file) else {
            self.cut.pending = Some(keep);
            return Ok(());
        };
        let cut = self.cut_to(new_size);
        let unlocked = gate.unlock();
        drop(gate);
        cut?;
        self.cut.pending = None;
        unlocked
    }

    /// The cut itself, with the lock file held exclusively: the mapping first, so that no
    /// mapped byte outlives the file.
    fn cut_to(&mut self, new_size: u64) -> Result<()> {
        self.map.remap(&self.file, to_map_len(new_size)?)?;
        self.remapped();
        // If this fails the file keeps its old size: still valid, merely larger than needed.
        self.file.set_len(new_size)?;
        self.file_len = new_size;
        Ok(())
    }

    /// Tries a cut that had to wait again, once a commit of `len` elements succeeded; a
    /// failure leaves it waiting (the file is still valid, merely larger than needed).
    pub(super) fn retry_cut(&mut self, len: usize) {
        if let Some(keep) = self.cut.pending {
            let _ = self.shrink_to(keep.max(len));
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
