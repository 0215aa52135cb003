//! `LiveGroup<C>`: the typed facade of a live group reader (`region::LiveGroupRegion`), and
//! `LiveColumn<T>`, one column of it, whose elements are copied out with volatile loads as a
//! [`LiveReader`](crate::LiveReader)'s are.

use core::fmt;
use core::marker::PhantomData;

use super::Columns;
use crate::error::Result;
use crate::live::load;
use crate::options::OpenOptions;
use crate::path::PathArg;
use crate::pod::Pod;
use crate::region::LiveGroupRegion;

impl OpenOptions {
    /// Opens the commit group at `path` live: beside its writer ([`Group`](crate::Group)) and
    /// other readers, in any process, opened in any order. It never creates, locks or writes
    /// the file; a file without a commit yet (being created) opens empty, at generation 0.
    ///
    /// # Errors
    ///
    /// `NotFound` when the file is missing (unless
    /// [`wait_for_file(true)`](OpenOptions::wait_for_file)); the format errors of
    /// [`open_group`](Self::open_group).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("g.bin");
    /// use persistence::{Group, OpenOptions};
    ///
    /// let mut g = Group::<(u64, u64)>::open(&path)?;
    /// let mut r = OpenOptions::new().open_group_live::<(u64, u64)>(&path)?;
    /// g.push_row((1, 2))?;
    /// assert!(!r.refresh()?); // not committed: nothing new
    /// g.sync()?;
    /// assert!(r.refresh()?);
    /// assert_eq!((r.generation(), r.get_row(0)), (1, Some((1, 2))));
    /// # Ok(()) }
    /// ```
    pub fn open_group_live<C: Columns>(&self, path: impl PathArg) -> Result<LiveGroup<C>> {
        let id = self.region_options::<u8>(false).layout;
        let layout = C::layout(id.app_magic, id.app_version);
        let wait = self.waits_for_file();
        let region = path.with_c_path(|p| {
            crate::region::wait_for_file(wait, || LiveGroupRegion::open(p, layout))
        })?;
        Ok(LiveGroup {
            region,
            _marker: PhantomData,
        })
    }
}

/// A reader of a commit group beside its writer: it sees each of the writer's commits once
/// it [`refresh`](Self::refresh)es, every column at one generation, never a mix, and nothing
/// uncommitted. Open one with [`OpenOptions::open_group_live`].
///
/// A `refresh` with nothing new makes no system call. What a reader sees of in-place
/// changes, and why it never faults, is as for a [`LiveReader`](crate::LiveReader)
/// (`docs/guide.md`, "Live readers"); a group's file never gets shorter, so a live group
/// reader takes no lock.
pub struct LiveGroup<C: Columns> {
    region: LiveGroupRegion,
    _marker: PhantomData<C>,
}

impl<C: Columns> LiveGroup<C> {
    /// Moves to the newest commit; `true` when a new generation is visible (every column at
    /// once).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt) when the newest commit does not
    /// check out (its block table does not match it, or a block lies outside the file); the
    /// OS error of mapping new blocks. Either way the reader keeps the generation it had.
    pub fn refresh(&mut self) -> Result<bool> {
        self.region.refresh()
    }

    /// Waits until a newer generation is visible and adopts it (`true`), or until `timeout`
    /// passes (`false`), as [`LiveReader::wait_for_commit`](crate::LiveReader::wait_for_commit)
    /// does for a vector: asleep, without CPU, until the writer's next commit wakes it.
    ///
    /// # Errors
    ///
    /// As [`refresh`](Self::refresh).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("g.bin");
    /// use std::time::Duration;
    /// use persistence::{Group, OpenOptions};
    ///
    /// let mut g = Group::<(u64, u32)>::open(&path)?;
    /// let mut r = OpenOptions::new().open_group_live::<(u64, u32)>(&path)?;
    /// assert!(!r.wait_for_commit(Some(Duration::from_millis(10)))?); // nothing yet
    /// g.push_row((1, 2))?;
    /// g.sync()?;
    /// assert!(r.wait_for_commit(None)?); // visible already: at once
    /// assert_eq!(r.get_row(0), Some((1, 2)));
    /// # Ok(()) }
    /// ```
    pub fn wait_for_commit(&mut self, timeout: Option<core::time::Duration>) -> Result<bool> {
        self.region.wait_for_commit(timeout)
    }

    /// The adopted generation (0 before the first commit).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.region.generation()
    }

    /// Column `k` as a typed handle.
    ///
    /// # Safety
    ///
    /// `T` is column `k`'s type.
    pub(super) unsafe fn column<T: Pod>(&self, k: usize) -> LiveColumn<'_, T> {
        LiveColumn {
            data: self.region.data_ptr(k).as_ptr().cast::<T>(),
            len: self.region.len(k),
            _marker: PhantomData,
        }
    }
}

impl<C: Columns> fmt::Debug for LiveGroup<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveGroup")
            .field("generation", &self.generation())
            .finish()
    }
}

/// One column of a [`LiveGroup`] at the generation it adopted: elements are copied out
/// (`get`, `copy_to`, `iter`), each read whole where it is 1, 2, 4 or 8 bytes, as a
/// [`LiveReader`](crate::LiveReader) reads them.
#[derive(Clone, Copy)]
pub struct LiveColumn<'a, T: Pod> {
    data: *const T,
    len: usize,
    _marker: PhantomData<&'a T>,
}

// SAFETY: a `LiveColumn` only reads (volatile loads) memory that its borrow of the
// `LiveGroup` keeps mapped; `T: Pod` values are plain data.
unsafe impl<T: Pod> Send for LiveColumn<'_, T> {}
// SAFETY: as above: `&LiveColumn` only reads.
unsafe impl<T: Pod> Sync for LiveColumn<'_, T> {}

impl<T: Pod> LiveColumn<'_, T> {
    /// Elements at the adopted generation.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the column holds no element at the adopted generation.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A copy of element `index`, when it is below [`len`](Self::len).
    #[inline]
    #[must_use]
    pub fn get(&self, index: usize) -> Option<T> {
        if index < self.len {
            // SAFETY: `index < len`: the element lies in the column's mapped blocks (which
            // the borrow of the reader keeps in place), aligned for `T` and to its size
            // (blocks start at 2 MiB boundaries, element `i` at `i * size_of::<T>()`).
            Some(unsafe { load(self.data.add(index)) })
        } else {
            None
        }
    }

    /// Copies elements `start..` into `out`, as many as fit and exist; returns how many.
    pub fn copy_to(&self, start: usize, out: &mut [T]) -> usize {
        let n = out.len().min(self.len.saturating_sub(start));
        // SAFETY: elements `start..start + n` lie in the mapped blocks (below `len`),
        // aligned; `out` holds `n` elements.
        unsafe { crate::live::copy_elements(self.data.add(start), out.as_mut_ptr(), n) };
        n
    }

    /// An iterator over copies of elements `0..len`.
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = T> + ExactSizeIterator + core::iter::FusedIterator + '_
    {
        self.iter_from(0)
    }
}

impl<'a, T: Pod> LiveColumn<'a, T> {
    /// An iterator over copies of elements `start..len`: `iter().skip(start)` without reading
    /// the skipped elements. Empty when `start >= len`.
    pub fn iter_from(
        &self,
        start: usize,
    ) -> impl DoubleEndedIterator<Item = T> + ExactSizeIterator + core::iter::FusedIterator + 'a
    {
        let (data, len) = (self.data, self.len);
        (start.min(len)..len).map(move |i| {
            // SAFETY: every index below `len` lies in the mapped blocks, aligned (as in
            // `get`); the lifetime `'a` is the borrow of the reader that keeps them mapped.
            unsafe { load(data.add(i)) }
        })
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for LiveColumn<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}
