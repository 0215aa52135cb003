//! `Mapping`: one `MAP_SHARED` mapping of a file from offset 0, owned. It is mapped by
//! [`Mapping::new`], grown, shrunk or moved by [`Mapping::remap`] (`mremap`, or map again and
//! unmap, as `build.rs` chose), and unmapped on `Drop`, as memmap2's `MmapInner` does. Every
//! reader and writer holds one; no other code keeps a base address and a length by hand.
//!
//! It hands out a raw pointer only, so creating, remapping and dropping it are safe: what
//! is unsafe is touching its bytes, which its holder does under the invariants it keeps (no
//! byte touched at or past the file's size, no reference kept across a `remap` or the drop).

use core::ptr::NonNull;

use super::File;
use crate::error::Result;

/// The alignment of [`unmapped`]: 4096, the largest element alignment the format allows.
pub(crate) const UNMAPPED_ALIGN: usize = 4096;

/// The start of no mapping: dangling, but aligned to [`UNMAPPED_ALIGN`], so that it is a
/// valid base for an empty slice of any element the format allows.
pub(crate) fn unmapped() -> NonNull<u8> {
    #[repr(align(4096))]
    struct PageAligned;
    const _: () = assert!(core::mem::align_of::<PageAligned>() == UNMAPPED_ALIGN);
    NonNull::<PageAligned>::dangling().cast::<u8>()
}

/// A shared mapping of the first [`len`](Self::len) bytes of a file, or none (`len() == 0`).
///
/// # Invariants
///
/// * `len > 0`: `ptr..ptr + len` is one whole live mapping returned by `mmap` or `mremap`
///   (page-aligned), readable, and writable iff `writable`; it is unmapped exactly once, by
///   `remap` or on drop.
/// * `len == 0`: nothing is mapped and `ptr` is [`unmapped`].
#[derive(Debug)]
pub(crate) struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
    writable: bool,
}

// SAFETY: the mapping is memory that only its owner's raw pointer leads to; moving the owner
// to another thread moves that ownership.
unsafe impl Send for Mapping {}
// SAFETY: `&Mapping` gives out the address and the length only; changing the mapping needs
// `&mut self`.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// No mapping yet (`len() == 0`), to be made readable (and writable with `writable`) by
    /// a later [`remap`](Self::remap).
    pub(crate) fn none(writable: bool) -> Mapping {
        Mapping {
            ptr: unmapped(),
            len: 0,
            writable,
        }
    }

    /// `mmap(NULL, len, PROT_READ [| PROT_WRITE], MAP_SHARED, fd, 0)`; `len == 0` maps
    /// nothing. Bytes past the file's size may be mapped (they are harmless until touched).
    pub(crate) fn new(file: &File, len: usize, writable: bool) -> Result<Mapping> {
        let mut m = Mapping::none(writable);
        m.remap(file, len)?;
        Ok(m)
    }

    /// Makes the mapping cover the first `new_len` bytes of `file` without copying page
    /// contents: maps it when there is none, unmaps it for `new_len == 0`, else grows,
    /// shrinks or moves it. Every address into the old mapping is invalid afterwards. On
    /// error nothing changed.
    pub(crate) fn remap(&mut self, file: &File, new_len: usize) -> Result<()> {
        let ptr = match (self.len, new_len) {
            (0, 0) => return Ok(()),
            (_, 0) => {
                self.unmap();
                return Ok(());
            }
            // SAFETY: `new_len > 0`; the result is owned by `self` and unmapped exactly once.
            (0, _) => unsafe { super::map(file, new_len, self.writable) }?,
            // SAFETY: `ptr`/`len` is this live mapping of `file` (invariant), replaced here,
            // so the old range is never used again.
            _ => unsafe { super::remap(file, self.ptr, self.len, new_len, self.writable) }?,
        };
        self.ptr = ptr;
        self.len = new_len;
        Ok(())
    }

    /// Unmaps, leaving no mapping.
    pub(crate) fn unmap(&mut self) {
        if self.len > 0 {
            // SAFETY: `ptr`/`len` is this live mapping (invariant); `len` becomes 0 at once, so
            // it is never unmapped twice.
            unsafe { super::unmap(self.ptr, self.len) };
            self.ptr = unmapped();
            self.len = 0;
        }
    }

    /// The first mapped byte (file offset 0); [`unmapped`] when nothing is mapped.
    #[inline]
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// Bytes mapped.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// `msync(MS_SYNC)` of bytes `start..end` (`start` rounded down to a whole page of
    /// `page` bytes): writes their dirty pages and waits (followed by a flush of the drive's
    /// cache where `msync` does not promise one: [`super::msync`]).
    ///
    /// # Panics
    ///
    /// If `start..end` is not within the mapping (a bug in the caller).
    pub(crate) fn sync(&self, file: &File, start: usize, end: usize, page: usize) -> Result<()> {
        assert!(start <= end && end <= self.len && page.is_power_of_two());
        let start = start & !(page - 1);
        // SAFETY: `start` is page-aligned (the mapping's start is), and `start..end` lies in
        // this live mapping of `file` (asserted).
        unsafe { super::msync(file, self.ptr.add(start), end - start) }
    }

    /// `madvise(MADV_HUGEPAGE)` (`huge`) or `madvise(MADV_NOHUGEPAGE)` of the whole mapping
    /// (advice on a part would split the kernel's mapping, and a later `mremap` of the whole
    /// range fails); a hint, and nothing when unmapped.
    pub(crate) fn advise_huge(&self, huge: bool) {
        if self.len > 0 {
            // SAFETY: `ptr`/`len` is exactly this whole live mapping.
            unsafe { super::advise_huge(self.ptr, self.len, huge) };
        }
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        self.unmap();
    }
}

/// A mapping of several blocks of one file laid end to end in memory (a group column's
/// blocks, `docs/design.md`, "Commit groups"), or none. Built whole by [`BlockMapping::new`]
/// and unmapped whole on `Drop`; a column that gains a block builds a new one.
///
/// # Invariants
///
/// * `len > 0`: `ptr..ptr + len` is one range returned by `map_blocks` (page-aligned),
///   readable, and writable iff `writable`; it is unmapped exactly once, on drop.
/// * `len == 0`: nothing is mapped and `ptr` is [`unmapped`].
#[derive(Debug)]
pub(crate) struct BlockMapping {
    ptr: NonNull<u8>,
    len: usize,
}

// SAFETY: as for `Mapping`: memory that only its owner's raw pointer leads to.
unsafe impl Send for BlockMapping {}
// SAFETY: `&BlockMapping` gives out the address and the length only.
unsafe impl Sync for BlockMapping {}

impl BlockMapping {
    /// No mapping.
    pub(crate) fn none() -> BlockMapping {
        BlockMapping {
            ptr: unmapped(),
            len: 0,
        }
    }

    /// Maps `blocks` (file offset, length; each a multiple of the page size) of `file` end to
    /// end, at an address that is a multiple of `align` (a power of two, at least the page
    /// size); no blocks, no mapping. Blocks may reach past the file's size: their bytes there
    /// are harmless until touched.
    pub(crate) fn new(
        file: &File,
        blocks: &[(u64, usize)],
        writable: bool,
        align: usize,
    ) -> Result<BlockMapping> {
        let total = blocks.iter().map(|b| b.1).sum::<usize>();
        if total == 0 {
            return Ok(BlockMapping::none());
        }
        // SAFETY: the caller's sizes are whole pages (documented above); the result is
        // owned by the value returned, which unmaps it once, on drop; its holder touches no
        // byte past the file's size (the column's invariant).
        let ptr = unsafe { super::map_blocks(file, blocks, writable, align) }?;
        Ok(BlockMapping { ptr, len: total })
    }

    /// The first mapped byte; [`unmapped`] when nothing is mapped.
    #[inline]
    pub(crate) fn ptr(&self) -> NonNull<u8> {
        self.ptr
    }

    /// `msync(MS_SYNC)` of bytes `start..end` (`start` rounded down to a whole page of
    /// `page` bytes), as [`Mapping::sync`].
    ///
    /// # Panics
    ///
    /// If `start..end` is not within the mapping (a bug in the caller).
    pub(crate) fn sync(&self, file: &File, start: usize, end: usize, page: usize) -> Result<()> {
        assert!(start <= end && end <= self.len && page.is_power_of_two());
        let start = start & !(page - 1);
        // SAFETY: `start` is page-aligned (the mapping's start is), and `start..end` lies in
        // this live mapping of `file`'s blocks (asserted), which has no gaps.
        unsafe { super::msync(file, self.ptr.add(start), end - start) }
    }

    /// `madvise(MADV_HUGEPAGE)` (`huge`) or `MADV_NOHUGEPAGE` of the whole mapping; a hint.
    pub(crate) fn advise_huge(&self, huge: bool) {
        if self.len > 0 {
            // SAFETY: `ptr`/`len` is exactly this whole live mapping.
            unsafe { super::advise_huge(self.ptr, self.len, huge) };
        }
    }
}

impl Drop for BlockMapping {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: `ptr`/`len` is this whole live mapping (invariant), unmapped only here;
            // its holder keeps no reference into it past its own life.
            unsafe { super::unmap(self.ptr, self.len) };
        }
    }
}
