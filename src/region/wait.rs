//! Waiting for a commit (`LiveReader::wait_for_commit`, `LiveGroup::wait_for_commit`):
//! `docs/design.md`, "Waiting for a commit", has the protocol and why no commit is missed.

use core::ptr::NonNull;
use core::time::Duration;

use crate::error::Result;
use crate::sys;

/// The first sleep of the polling fallback, in nanoseconds; it doubles up to
/// [`POLL_MAX_NS`].
const POLL_MIN_NS: u64 = 50_000;
/// The longest sleep of the polling fallback: 5 ms.
const POLL_MAX_NS: u64 = 5_000_000;

/// The address of the low 32 bits of the `u64` at `word` (a slot's sequence word in a
/// mapped header), which a wait compares and a commit's wake names.
pub(super) fn low_half(word: NonNull<u8>) -> NonNull<u32> {
    let off = if cfg!(target_endian = "big") { 4 } else { 0 };
    // SAFETY: `word` points to an 8-byte-aligned `u64`; its low half lies inside it.
    unsafe { word.add(off).cast::<u32>() }
}

/// A live reader, as a wait sees it.
pub(super) trait Waiter {
    /// Moves to the newest commit; `true` when it is a new one.
    fn refresh(&mut self) -> Result<bool>;
    /// The word to sleep on and the value seen there at the last `refresh` (`None`: poll).
    fn target(&self) -> Option<(NonNull<u32>, u32)>;
}

/// Calls `reader.refresh()` until it says a new commit is visible (`Ok(true)`), sleeping in
/// between until the writer wakes the word `reader.target()` names (with the value seen at
/// that `refresh`: a commit that lands after it changed the word, so the sleep does not
/// start, or started before the commit's wake), or, where there is no such word or no wait on an address, polling
/// with sleeps from 50 µs doubling to 5 ms; `Ok(false)` once `timeout` (from now) passes.
/// `Some(Duration::ZERO)` checks once and never sleeps.
pub(super) fn wait_for_commit(reader: &mut impl Waiter, timeout: Option<Duration>) -> Result<bool> {
    let start = sys::monotonic_ns();
    let limit = timeout.map(|t| u64::try_from(t.as_nanos()).unwrap_or(u64::MAX));
    let mut poll = POLL_MIN_NS;
    loop {
        if reader.refresh()? {
            return Ok(true);
        }
        let remaining = match limit {
            Some(l) => {
                let left = l.saturating_sub(sys::monotonic_ns().saturating_sub(start));
                if left == 0 {
                    return Ok(false);
                }
                Some(left)
            }
            None => None,
        };
        if let Some((addr, seen)) = reader.target() {
            // SAFETY: the address lies in the reader's mapped header page, which stays mapped
            // for the call (the reader is borrowed for it), and is 4-byte aligned.
            if unsafe { sys::wait_on_u32(addr, seen, remaining) } {
                continue;
            }
        }
        let nap = remaining.map_or(poll, |r| r.min(poll));
        sys::sleep_ns(nap);
        poll = (poll * 2).min(POLL_MAX_NS);
    }
}
