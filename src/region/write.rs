//! How element bytes reach the file: through the mapping, or with `pwrite` where a `pwrite`
//! shows in shared mappings at once (`sys::WRITE_SHOWS_IN_MAPPINGS`), whichever costs less
//! (`docs/design.md`, "Layers", "Page cache").

use super::RawRegion;
use crate::error::Result;
use crate::format::DATA_OFFSET;
use crate::sys;

/// From this many bytes on, [`RawRegion::write_elems`] writes with `pwrite` rather than
/// through the mapping (a page fault per fresh page costs more than a system call per
/// slice), on systems where a `pwrite` shows in shared mappings at once.
pub(super) const PWRITE_MIN: usize = 32 << 10;

impl RawRegion {
    /// Writes `bytes` as the elements from `index` on, the cheapest way: with `pwrite` from
    /// [`PWRITE_MIN`] bytes on where the mapping shows such writes at once (the kernel then
    /// fills whole page-cache folios, instead of a page fault per fresh page), else by a copy
    /// into the mapping. Either way the mapping shows the bytes when this returns. In
    /// bulk-append mode the last piece of a `pwrite` may be padded with zeros past the length
    /// ([`RawRegion::bulk_padding`]).
    ///
    /// # Errors
    ///
    /// The OS error of `pwrite`; some of the bytes may then have been written.
    ///
    /// # Panics
    ///
    /// If the bytes do not fit in the capacity (a bug in the caller).
    pub(crate) fn write_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
        let offset = self.elems_offset(index, bytes.len());
        if sys::WRITE_SHOWS_IN_MAPPINGS && bytes.len() >= PWRITE_MIN {
            self.owner.check()?;
            // Before the write: even a failed one may have changed some bytes.
            self.commit.wrote_through_fd();
            let end = offset + bytes.len();
            if let Some((cut, pad_end)) = self.bulk_padding(offset, end) {
                // Before `cut` the kernel cuts the write at 2 MiB boundaries itself.
                let (head, tail) = bytes.split_at(cut - offset);
                if !head.is_empty() {
                    self.file.write_all_at(head, offset as u64)?;
                }
                return self
                    .file
                    .write_all_padded_at(tail, cut as u64, (pad_end - end) as u64);
            }
            return self.file.write_all_at(bytes, offset as u64);
        }
        // SAFETY: `offset` is from `elems_offset` for `bytes.len()` bytes.
        unsafe { self.copy_into_mapping(offset, bytes) };
        Ok(())
    }

    /// Overwrites elements from `index` (all below the length) with `bytes`, dirtying in the
    /// page cache only the file blocks the bytes fall in: with `pwrite` where the mapping
    /// shows such writes at once, else by a copy into the mapping. A store through the
    /// mapping would take a write fault, and the file system then marks the whole page-cache
    /// folio under it dirty (up to 2 MiB, all written at the next commit); a `pwrite` marks
    /// only the blocks it writes. It also fails with an error where a store would raise
    /// `SIGBUS` (a page on a full copy-on-write file system). Never pads, never cuts.
    ///
    /// # Errors
    ///
    /// The OS error of `pwrite`; some of the bytes may then have been written.
    ///
    /// # Panics
    ///
    /// If the bytes do not fit in the capacity (a bug in the caller).
    pub(crate) fn overwrite_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
        let offset = self.elems_offset(index, bytes.len());
        if sys::WRITE_SHOWS_IN_MAPPINGS {
            self.owner.check()?;
            // Before the write: even a failed one may have changed some bytes.
            self.commit.wrote_through_fd();
            return self.file.write_all_at(bytes, offset as u64);
        }
        // SAFETY: `offset` is from `elems_offset` for `bytes.len()` bytes.
        unsafe { self.copy_into_mapping(offset, bytes) };
        Ok(())
    }

    /// The file offset of element `index`, checking that `len` bytes from there lie within
    /// the capacity of a writable region, hence within its writable mapping.
    ///
    /// # Panics
    ///
    /// If they do not (a bug in the caller).
    fn elems_offset(&self, index: usize, len: usize) -> usize {
        let offset = DATA_OFFSET + index * self.elem_size;
        assert!(self.writable && offset + len <= DATA_OFFSET + self.capacity * self.elem_size);
        offset
    }

    /// Copies `bytes` into the mapping at file offset `offset`.
    ///
    /// # Safety
    ///
    /// `offset..offset + bytes.len()` lies within the writable mapping (as
    /// [`elems_offset`](Self::elems_offset) checks).
    unsafe fn copy_into_mapping(&mut self, offset: usize, bytes: &[u8]) {
        // SAFETY: the destination range lies in the live writable mapping (the caller's
        // contract); `bytes` cannot overlap it, since `&mut self` excludes every borrow of
        // the mapping and `bytes` is a borrow of something else.
        unsafe {
            core::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                self.map.ptr().as_ptr().add(offset),
                bytes.len(),
            )
        };
    }
}
