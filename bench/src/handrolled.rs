//! The vector a user would write by hand on top of `memmap2`: a file holding a 4 KiB header
//! page (the length in its first 8 bytes) and then the elements; growth doubles the file
//! with `set_len` (a sparse file, no `fallocate`) and moves the mapping with `mremap`
//! (`MmapMut::remap`, or a new map elsewhere); `sync` writes the length and `flush`es
//! (`msync`) the whole mapping. No lock, no checksum, no crash ordering.
//!
//! [`Policy::FIX_SKETCH`] is the same vector grown the way `MmapedVec` grows (blocks reserved
//! with `fallocate`, `mremap`), plus `madvise(MADV_HUGEPAGE)` on the mapping: the tuning this
//! benchmark proposes for the library, measured side by side.

use std::fs::File;
use std::io;
use std::path::Path;
use std::ptr;

use memmap2::MmapMut;

const HEADER: usize = 4096;
/// A huge page (PMD) on x86-64 and arm64 with 4 KiB pages.
const HUGE: usize = 2 << 20;

/// How the vector grows its file and mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Reserve blocks with `fallocate` (else `set_len`: a sparse file).
    pub fallocate: bool,
    /// `madvise(MADV_HUGEPAGE)` the mapping after every map or remap (Linux).
    pub huge_pages: bool,
}

impl Policy {
    /// What a user writes by hand: `set_len`, plain mapping.
    pub const HAND: Policy = Policy {
        fallocate: false,
        huge_pages: false,
    };
    /// The library's growth plus the proposed `MADV_HUGEPAGE`.
    pub const FIX_SKETCH: Policy = Policy {
        fallocate: true,
        huge_pages: true,
    };
}

/// A `Vec<u64>` in a mapped file, hand-rolled.
pub struct MmapVec {
    file: File,
    map: Option<MmapMut>,
    /// Element 0 (cached from `map`; dangling while unmapped).
    data: *mut u64,
    len: usize,
    cap: usize,
    policy: Policy,
}

impl MmapVec {
    /// Creates a new, empty vector file at `path`.
    pub fn create(path: &Path, policy: Policy) -> io::Result<MmapVec> {
        let file = File::options()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)?;
        file.set_len(HEADER as u64)?;
        Ok(MmapVec {
            file,
            map: None,
            data: ptr::NonNull::dangling().as_ptr(),
            len: 0,
            cap: 0,
            policy,
        })
    }

    /// Opens an existing vector file (the tests read back what `sync` wrote).
    #[cfg(test)]
    pub fn open(path: &Path) -> io::Result<MmapVec> {
        let file = File::options().read(true).write(true).open(path)?;
        let size = file.metadata()?.len() as usize;
        if size < HEADER {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "no header"));
        }
        // SAFETY: nobody else changes the file while this benchmark has it open.
        let mut map = unsafe { MmapMut::map_mut(&file) }?;
        let len = u64::from_ne_bytes(map[..8].try_into().unwrap_or([0; 8])) as usize;
        let cap = (size - HEADER) / 8;
        if len > cap {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "bad length"));
        }
        // SAFETY: the mapping is `size >= HEADER` bytes long.
        let data = unsafe { map.as_mut_ptr().add(HEADER) }.cast::<u64>();
        Ok(MmapVec {
            file,
            map: Some(map),
            data,
            len,
            cap,
            policy: Policy::HAND,
        })
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The elements.
    pub fn as_slice(&self) -> &[u64] {
        // SAFETY: `0..len` is inside the mapping (`len <= cap`) and was written; `data` is
        // page-aligned + 4096, so aligned for `u64`. A dangling pointer with `len == 0` is fine.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }
    }

    /// Appends one element.
    #[inline]
    pub fn push(&mut self, x: u64) -> io::Result<()> {
        if self.len == self.cap {
            self.grow(self.len + 1)?;
        }
        // SAFETY: `len < cap`: the slot is mapped and inside the file.
        unsafe { self.data.add(self.len).write(x) };
        self.len += 1;
        Ok(())
    }

    /// Appends all of `xs` with one capacity check and one copy.
    pub fn extend_from_slice(&mut self, xs: &[u64]) -> io::Result<()> {
        if self.cap - self.len < xs.len() {
            self.grow(self.len + xs.len())?;
        }
        // SAFETY: `len + xs.len() <= cap`: the destination is mapped; `xs` is not part of the
        // mapping (it is borrowed while `self` is borrowed mutably).
        unsafe { ptr::copy_nonoverlapping(xs.as_ptr(), self.data.add(self.len), xs.len()) };
        self.len += xs.len();
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, need: usize) -> io::Result<()> {
        let mut cap = need.max(self.cap * 2).max(512);
        let mut bytes = HEADER + cap * 8;
        if self.policy.huge_pages && bytes > HUGE {
            // Whole 2 MiB units, so that the mapping can be 2 MiB-aligned and map huge folios.
            bytes = bytes.div_ceil(HUGE) * HUGE;
            cap = (bytes - HEADER) / 8;
        }
        let old = HEADER + self.cap * 8;
        if self.policy.fallocate {
            crate::os::fallocate(&self.file, old as u64, (bytes - old) as u64)?;
        } else {
            self.file.set_len(bytes as u64)?;
        }
        let map = match self.map.take() {
            #[cfg(target_os = "linux")]
            Some(mut m) => {
                // SAFETY: no reference into the mapping is alive (the vector hands out none
                // across `&mut self`), and the file is `bytes` long now.
                unsafe { m.remap(bytes, memmap2::RemapOptions::new().may_move(true)) }?;
                m
            }
            // SAFETY: nobody else changes the file while this benchmark has it open.
            _ => unsafe { MmapMut::map_mut(&self.file) }?,
        };
        #[cfg(target_os = "linux")]
        if self.policy.huge_pages {
            // Best effort, as the library would do it: an error only means 4 KiB pages.
            let _ = map.advise(memmap2::Advice::HugePage);
        }
        let map = self.map.insert(map);
        // SAFETY: the mapping is `bytes >= HEADER` bytes long.
        self.data = unsafe { map.as_mut_ptr().add(HEADER) }.cast::<u64>();
        self.cap = cap;
        Ok(())
    }

    /// Writes the length into the header and flushes (`msync`) the whole mapping; with
    /// `fallocate` growth also `fdatasync`s (the file size changed), as the library does.
    pub fn sync(&mut self) -> io::Result<()> {
        if let Some(m) = &mut self.map {
            m[..8].copy_from_slice(&(self.len as u64).to_ne_bytes());
            m.flush()?;
        }
        if self.policy.fallocate {
            self.file.sync_data()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_extend_sync_reopen() {
        for (k, policy) in [Policy::HAND, Policy::FIX_SKETCH].into_iter().enumerate() {
            push_extend_sync_reopen_with(policy, k);
        }
    }

    fn push_extend_sync_reopen_with(policy: Policy, k: usize) {
        let dir = std::env::temp_dir().join(format!("pb-hand-test-{}-{k}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v");
        let mut v = MmapVec::create(&path, policy).unwrap();
        for i in 0..10_000u64 {
            v.push(i).unwrap();
        }
        let tail: Vec<u64> = (10_000..20_000).collect();
        v.extend_from_slice(&tail).unwrap();
        v.sync().unwrap();
        drop(v);
        let size = std::fs::metadata(&path).unwrap().len();
        // Doubling from 512: 20 000 elements need a capacity of 32 768.
        assert_eq!(size, (HEADER + 32_768 * 8) as u64, "{policy:?}");
        let v = MmapVec::open(&path).unwrap();
        assert_eq!(v.len(), 20_000);
        assert!(v.as_slice().iter().copied().eq(0..20_000u64));
        drop(v);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
