//! Where an [`MmapedVec`](crate::MmapedVec)'s elements live: in a file of its own
//! ([`VecFile`], the default) or as a column of a commit group ([`GroupColumn`], which a
//! [`Group`](crate::Group) hands out as [`Column<T>`](crate::Column)). Both give the same
//! `Vec` API; only a vector of its own commits by itself (`sync`, `close`, `file_len`).
//!
//! The trait is sealed: the library's two storages are the only ones.

use core::ptr::NonNull;

use crate::error::Result;
use crate::region::{ColumnRegion, RawRegion};

/// The storage of an [`MmapedVec`](crate::MmapedVec): [`VecFile`] or [`GroupColumn`]. Sealed.
pub trait Storage: sealed::Ops {}

/// The storage of a vector with a file of its own, committed by its own
/// [`sync`](crate::MmapedVec::sync): the default of [`MmapedVec`](crate::MmapedVec).
#[derive(Debug)]
pub struct VecFile {
    raw: RawRegion,
    /// Whether dropping the vector commits (`OpenOptions::commit_on_drop`); never while its
    /// thread panics.
    commit_on_drop: bool,
}

/// The storage of one column of a commit group ([`Column<T>`](crate::Column)): a column
/// commits only with its whole group ([`Group::sync`](crate::Group::sync)), so it has no
/// `sync` of its own.
#[derive(Debug)]
pub struct GroupColumn(pub(crate) ColumnRegion);

impl VecFile {
    pub(crate) fn new(raw: RawRegion, commit_on_drop: bool) -> VecFile {
        VecFile {
            raw,
            commit_on_drop,
        }
    }

    pub(crate) fn raw(&self) -> &RawRegion {
        &self.raw
    }

    pub(crate) fn raw_mut(&mut self) -> &mut RawRegion {
        &mut self.raw
    }

    pub(crate) fn into_raw(self) -> RawRegion {
        self.raw
    }
}

impl Storage for VecFile {}
impl Storage for GroupColumn {}

/// Whether the current thread is unwinding from a panic (never, as far as `no_std` knows:
/// there `commit_on_drop(false)` is the way to transactional drops).
pub(crate) fn panicking() -> bool {
    #[cfg(feature = "std")]
    {
        std::thread::panicking()
    }
    #[cfg(not(feature = "std"))]
    {
        false
    }
}

pub(crate) mod sealed {
    use super::*;

    /// What the `Vec` API needs of its storage.
    pub trait Ops {
        /// Element capacity.
        fn capacity(&self) -> usize;
        /// Where a push leaves its fast path (at most the capacity): see
        /// `RawRegion::push_limit`.
        fn push_limit(&self) -> usize;
        /// The length of the last commit (of the group, for a column).
        fn committed_len(&self) -> usize;
        /// Element 0.
        fn data_ptr(&self) -> NonNull<u8>;
        /// Grows to at least `min_capacity` (exactly, in whole pages, when `exact`).
        fn grow_to(&mut self, min_capacity: usize, exact: bool) -> Result<()>;
        /// Gives back capacity beyond `keep` elements, where the storage can.
        fn shrink_to(&mut self, keep: usize) -> Result<()>;
        /// Writes `bytes` as the elements from `index` on (an append).
        fn write_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()>;
        /// Overwrites elements from `index` (below the length).
        fn overwrite_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()>;
        /// Elements `0..len` are written: a place to start their writeback early.
        fn appended_up_to(&mut self, len: usize);
        /// What dropping the vector does before the storage is dropped: a vector of its own
        /// commits (unless told not to, or its thread is panicking); a column does nothing
        /// (its group commits, or not, as a whole).
        fn on_drop(&mut self, len: usize, dirty_from: usize);
    }

    impl Ops for VecFile {
        #[inline]
        fn capacity(&self) -> usize {
            self.raw.capacity()
        }
        #[inline]
        fn push_limit(&self) -> usize {
            self.raw.push_limit()
        }
        #[inline]
        fn committed_len(&self) -> usize {
            self.raw.committed_len()
        }
        #[inline]
        fn data_ptr(&self) -> NonNull<u8> {
            self.raw.data_ptr()
        }
        fn grow_to(&mut self, min_capacity: usize, exact: bool) -> Result<()> {
            self.raw.grow_to(min_capacity, exact)
        }
        fn shrink_to(&mut self, keep: usize) -> Result<()> {
            self.raw.shrink_to(keep)
        }
        fn write_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
            self.raw.write_elems(index, bytes)
        }
        fn overwrite_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
            self.raw.overwrite_elems(index, bytes)
        }
        fn appended_up_to(&mut self, len: usize) {
            self.raw.appended_up_to(len);
        }
        fn on_drop(&mut self, len: usize, dirty_from: usize) {
            if self.commit_on_drop && !panicking() {
                let _ = self.raw.commit(len, dirty_from);
            }
        }
    }

    impl Ops for GroupColumn {
        #[inline]
        fn capacity(&self) -> usize {
            self.0.capacity()
        }
        #[inline]
        fn push_limit(&self) -> usize {
            self.0.capacity()
        }
        #[inline]
        fn committed_len(&self) -> usize {
            self.0.committed_len()
        }
        #[inline]
        fn data_ptr(&self) -> NonNull<u8> {
            self.0.data_ptr()
        }
        fn grow_to(&mut self, min_capacity: usize, exact: bool) -> Result<()> {
            self.0.grow_to(min_capacity, exact)
        }
        /// A group's file never gets shorter (live readers map its blocks without a lock):
        /// the capacity stays.
        fn shrink_to(&mut self, _keep: usize) -> Result<()> {
            Ok(())
        }
        fn write_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
            self.0.write_elems(index, bytes)
        }
        fn overwrite_elems(&mut self, index: usize, bytes: &[u8]) -> Result<()> {
            self.0.overwrite_elems(index, bytes)
        }
        /// A group's columns leave writeback to the kernel and the group's commit.
        fn appended_up_to(&mut self, _len: usize) {}
        fn on_drop(&mut self, _len: usize, _dirty_from: usize) {}
    }
}
