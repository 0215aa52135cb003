//! `MmapedVec<T>`: the read-write typed facade over a [`RawRegion`].

#![allow(unsafe_code)]

use core::fmt;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop, MaybeUninit};
use core::ops::{Bound, Deref, DerefMut, RangeBounds};
use core::ptr;

use crate::error::{Error, ErrorKind, ExtendError, Result};
use crate::options::OpenOptions;
use crate::path::PathArg;
use crate::pod::Pod;
use crate::region::RawRegion;
use crate::storage::{Storage, VecFile};

mod cmp;
mod drain;

pub use drain::Drain;

/// A `Vec`-like, resizable array of `T` whose storage is a memory-mapped file.
///
/// Push, index and mutate it like a `Vec`; call [`sync`](Self::sync) and it is on disk;
/// open the same file again (in this run or the next) and it is there, without serialising
/// anything. It dereferences to `[T]`, so every slice method works on it.
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("readings.bin");
/// use persistence::MmapedVec;
///
/// let mut v = MmapedVec::<u64>::open(&path)?;
/// v.push(7)?;
/// v.extend_from_slice(&[8, 9])?;
/// v[0] += 1;
/// v.sync()?; // durable from here on
/// drop(v);
///
/// let v = MmapedVec::<u64>::open(&path)?;
/// assert_eq!(&v[..], &[8, 8, 9]);
/// # Ok(()) }
/// ```
///
/// # Guarantees
///
/// * **Layout.** A 4096-byte header page, then the elements, each exactly as it lies in
///   memory; capacity is `(file_size - 4096) / size_of::<T>()`. The format is tied to the CPU
///   architecture: a foreign file is refused with a clear [`ErrorKind`] (`docs/design.md`,
///   "On-disk format").
/// * **Durability.** When [`sync`](Self::sync) returns `Ok`, every element below
///   [`len`](Self::len) and the length are on disk; a crash or power loss at any instant
///   leaves a file that opens to the last commit or to the one in progress
///   (`docs/design.md`, "Commit").
/// * **What is atomic** is the length: appends become durable together. Elements changed in
///   place (`v[i] = x`, [`insert`](Self::insert), [`retain`](Self::retain), truncate then
///   push, …) may reach the disk before the next commit; after a crash each holds its old or
///   its new bytes.
/// * **A full disk is an error** ([`ErrorKind::OutOfSpace`] from a call that grows, or from
///   `sync`), never a `SIGBUS`, except on files kept copy-on-write
///   ([`OpenOptions::copy_on_write`]).
/// * **Growth may move the mapping**, so no slice borrowed from the vector lives across a
///   `push`. It is amortised like `Vec`'s, adds at most
///   [`MAX_GROWTH_STEP`](crate::MAX_GROWTH_STEP) beyond what was asked, and never copies
///   element data (`docs/design.md`, "Growth").
/// * **Page cache.** A store dirties its whole page-cache folio for the next `sync`;
///   [`set`](Self::set) dirties only the blocks it writes (`docs/guide.md`, "The page cache
///   and `set`").
/// * **Locking.** An exclusive `flock` for the vector's whole life: a second writer or a
///   reader gets [`ErrorKind::Locked`]. In a child forked without `exec`, dropping it commits
///   and unlocks nothing, and the calls that would commit, grow, write through the
///   descriptor or cut return [`ErrorKind::WrongProcess`] (`docs/design.md`, "Locks").
/// * **No heap.** No method allocates.
///
/// # Panics
///
/// Index panics (`remove(99)` on a short vector) follow `Vec`'s.
pub struct MmapedVec<T: Pod, S: Storage = VecFile> {
    /// Where the elements live: the vector's own file, or a column of a group.
    pub(crate) raw: S,
    /// Elements `0..len` are initialised and within `raw.capacity()`.
    pub(crate) len: usize,
    /// The lowest index whose bytes may differ from what is on disk; `<= len` at all times,
    /// so an append (written at `len`) is always covered by `dirty_from..len`. Kept by the
    /// write funnel ([`write_from`](Self::write_from), [`tail_mut`](Self::tail_mut),
    /// [`spare_ptr`](Self::spare_ptr), [`set_len_marked`](Self::set_len_marked)): no other
    /// code writes elements or lowers the length.
    pub(crate) dirty_from: usize,
    _marker: PhantomData<T>,
}

impl OpenOptions {
    /// Opens `path` as a read-write [`MmapedVec<T>`] under an exclusive lock.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Locked`](crate::ErrorKind::Locked), `NotFound`, `AlreadyExists`,
    /// `PermissionDenied`, `NotARegularFile`; for an existing file the format checks in
    /// this order: `BadMagic`, `WrongEndianness`, `UnsupportedFormatVersion`, `Corrupt`
    /// (header checksum), `MagicMismatch`, `VersionMismatch`, `LayoutMismatch`, and
    /// `Corrupt` when no commit slot is valid or the length does not fit the file. A failed
    /// open never changes the file.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-open.bin");
    /// use persistence::{ErrorKind, OpenOptions};
    ///
    /// let opts = *OpenOptions::new().magic(*b"PRICES\0\0").version(1);
    /// let mut v = opts.open::<f64>(&path)?;
    /// v.push(101.5)?;
    /// v.close()?;
    ///
    /// assert_eq!(opts.open::<f64>(&path)?, [101.5]);
    /// // The same file as another element type is refused.
    /// assert_eq!(opts.open::<u32>(&path).unwrap_err().kind(), ErrorKind::LayoutMismatch);
    /// # Ok(()) }
    /// ```
    pub fn open<T: Pod>(&self, path: impl PathArg) -> Result<MmapedVec<T>> {
        let opts = self.region_options::<T>(true);
        let commit_on_drop = self.commits_on_drop();
        path.with_c_path(|p| RawRegion::open(p, &opts))
            .map(|raw| MmapedVec::from_storage(VecFile::new(raw, commit_on_drop)))
    }
}

impl<T: Pod> MmapedVec<T> {
    /// Opens the vector stored at `path`, creating the file if it is missing, with an
    /// exclusive lock; as [`OpenOptions::new().open(path)`](OpenOptions::open).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Locked`] if another handle has the file open; a format error
    /// ([`ErrorKind::BadMagic`], [`ErrorKind::LayoutMismatch`], [`ErrorKind::Corrupt`], …)
    /// if it is not a valid vector of this `T`; the OS error otherwise.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-open.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?; // created, empty
    /// v.push(42)?;
    /// v.close()?;
    ///
    /// let v = MmapedVec::<u64>::open(&path)?; // opened again: the element is there
    /// assert_eq!(v, [42]);
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl PathArg) -> Result<Self> {
        OpenOptions::new().open(path)
    }
}

impl<T: Pod, S: Storage> MmapedVec<T, S> {
    /// A vector over `raw`, at its committed length.
    pub(crate) fn from_storage(raw: S) -> Self {
        let len = raw.committed_len();
        debug_assert!(len <= raw.capacity());
        MmapedVec {
            raw,
            len,
            dirty_from: len,
            _marker: PhantomData,
        }
    }

    /// The number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-len.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// assert_eq!(v.len(), 0);
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// assert_eq!(v.len(), 3);
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the vector holds no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-is_empty.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// assert!(v.is_empty());
    /// v.push(1)?;
    /// assert!(!v.is_empty());
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many elements fit without growing the file.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-capacity.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.reserve(1000)?;
    /// let cap = v.capacity();
    /// assert!(cap >= 1000);
    /// v.extend_from_slice(&[7; 1000])?; // fits: the file does not grow
    /// assert_eq!(v.capacity(), cap);
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The length recorded by the last commit (or found on open): what a reopen after a
    /// crash right now would show.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-committed_len.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// assert_eq!(v.committed_len(), 0); // a crash now would lose all three
    /// v.sync()?;
    /// assert_eq!(v.committed_len(), 3);
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn committed_len(&self) -> usize {
        self.raw.committed_len()
    }

    /// A pointer to element 0, for reading.
    #[inline]
    fn ptr(&self) -> *const T {
        self.raw.data_ptr().as_ptr().cast::<T>()
    }

    // The write funnel: the only ways to a mutable pointer into the elements or to a new
    // length. Each marks what it lets change for the next commit, so no mutator can forget
    // to: a write below the committed length that the next `sync` did not flush would be a
    // silent durability bug.

    /// A pointer to element `from`, for writing elements `from..len` (and on): marks them
    /// changed since the last commit.
    #[inline]
    fn write_from(&mut self, from: usize) -> *mut T {
        self.dirty_from = self.dirty_from.min(from);
        self.raw.data_ptr().as_ptr().cast::<T>().wrapping_add(from)
    }

    /// Elements `from..len` as a mutable slice: marks them changed since the last commit.
    #[inline]
    fn tail_mut(&mut self, from: usize) -> &mut [T] {
        debug_assert!(from <= self.len);
        let p = self.write_from(from);
        // SAFETY: `from <= len <= capacity`: elements `from..len` lie inside the live, writable
        // mapping, are aligned, and are valid `T` (`T: Pod`: any bit pattern). `&mut self`
        // makes this the only reference into the mapping while the slice lives.
        unsafe { core::slice::from_raw_parts_mut(p, self.len - from) }
    }

    /// Stores `x` at `index < len` if its bytes differ from the element's there (the copy
    /// a closure may have changed), so that an unchanged element is not marked.
    #[inline]
    fn store_if_changed(&mut self, index: usize, x: T) {
        if !same_bytes(&self[index], &x) {
            self.tail_mut(index)[0] = x;
        }
    }

    /// A pointer to element `len`, for appending at `len..capacity`. Marks nothing: an append
    /// is covered by `dirty_from..len` once the length grows over it (`dirty_from <= len`).
    #[inline]
    fn spare_ptr(&mut self) -> *mut T {
        self.raw
            .data_ptr()
            .as_ptr()
            .cast::<T>()
            .wrapping_add(self.len)
    }

    /// Sets the length to `new_len <= capacity`, keeping `dirty_from <= len`: a later append
    /// at the new length is then synced even when it lands below the committed length.
    #[inline]
    fn set_len_marked(&mut self, new_len: usize) {
        debug_assert!(new_len <= self.capacity());
        self.len = new_len;
        self.dirty_from = self.dirty_from.min(new_len);
    }

    /// A slice of all elements (as `&v[..]`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-as_slice.bin");
    /// use persistence::MmapedVec;
    ///
    /// fn total(xs: &[u32]) -> u32 {
    ///     xs.iter().sum()
    /// }
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// assert_eq!(total(v.as_slice()), 6);
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn as_slice(&self) -> &[T] {
        self
    }

    /// A mutable slice of all elements (as `&mut v[..]`); the next commit syncs them all.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-as_mut_slice.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[3, 1, 2])?;
    /// v.as_mut_slice().sort_unstable();
    /// v.sync()?; // the new order is durable
    /// assert_eq!(v, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self
    }

    /// A raw pointer to element 0. It is invalidated by anything that may grow or shrink the
    /// file (the mapping can move).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-as_ptr.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[10, 20])?;
    /// let p = v.as_ptr();
    /// // SAFETY: `p` points to `v.len()` elements, and nothing grows or shrinks `v` meanwhile.
    /// let second = unsafe { *p.add(1) };
    /// assert_eq!(second, 20);
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn as_ptr(&self) -> *const T {
        self.ptr()
    }

    /// Appends an element.
    ///
    /// # Errors
    ///
    /// When the file must grow: [`ErrorKind::OutOfSpace`] if the disk is full,
    /// [`ErrorKind::CapacityOverflow`] past `isize::MAX` bytes, or the OS error. On error
    /// the vector is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-push.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.push(1)?;
    /// v.push(2)?;
    /// assert_eq!(v, [1, 2]);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn push(&mut self, value: T) -> Result<()> {
        // One compare: the limit is the capacity, or earlier where early writeback is due.
        if self.len >= self.raw.push_limit() {
            self.push_slow()?;
        }
        // SAFETY: `len < capacity`, so the slot is inside the mapping and file-backed; `T` is
        // `Pod`, and the pointer is aligned (page-aligned base + 4096, `align_of::<T>() <=
        // 4096`).
        unsafe { self.spare_ptr().write(value) };
        self.len += 1;
        Ok(())
    }

    /// A push at its limit: grows when full, else hands what is filled to the kernel.
    #[cold]
    #[inline(never)]
    fn push_slow(&mut self) -> Result<()> {
        if self.len == self.capacity() {
            self.grow_for(1, false)
        } else {
            self.raw.appended_up_to(self.len);
            Ok(())
        }
    }

    #[cold]
    #[inline(never)]
    fn grow_for(&mut self, additional: usize, exact: bool) -> Result<()> {
        let need = self.len.checked_add(additional).ok_or(Error::new(
            ErrorKind::CapacityOverflow,
            "length overflows usize",
        ))?;
        self.raw.grow_to(need, exact)?;
        // A growth step is a moment to hand what is filled to the kernel (cold: pushes do
        // not look at it).
        self.raw.appended_up_to(self.len);
        Ok(())
    }

    /// Reserves capacity for at least `additional` more elements, amortised like
    /// `Vec::reserve` (see *Growth* in the type's docs).
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-reserve.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.push(1)?;
    /// v.reserve(10_000)?;
    /// assert!(v.capacity() >= 10_001);
    /// # Ok(()) }
    /// ```
    pub fn reserve(&mut self, additional: usize) -> Result<()> {
        if self.capacity() - self.len < additional {
            self.grow_for(additional, false)?;
        }
        Ok(())
    }

    /// Reserves capacity for exactly `additional` more elements (rounded up to whole
    /// pages), like `Vec::reserve_exact`.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-reserve_exact.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.reserve_exact(1000)?;
    /// let cap = v.capacity();
    /// assert!(cap >= 1000);
    /// v.extend_from_slice(&[7; 1000])?; // fits: the file does not grow
    /// assert_eq!(v.capacity(), cap);
    /// # Ok(()) }
    /// ```
    pub fn reserve_exact(&mut self, additional: usize) -> Result<()> {
        if self.capacity() - self.len < additional {
            self.grow_for(additional, true)?;
        }
        Ok(())
    }

    /// Shrinks the file to fit the elements, but never below the committed length (call
    /// [`sync`](Self::sync) first to shrink further), so that the committed length always
    /// fits the file.
    ///
    /// While a [`LiveReader`](crate::LiveReader) of the file may be open (in any process),
    /// the file is not cut: the cut waits for a later `shrink_to_fit`, `sync` or close once
    /// none is, and the capacity stays as it was meanwhile (`docs/guide.md`, "Live readers").
    ///
    /// # Errors
    ///
    /// The OS error from `mremap`/`mmap` or `ftruncate`; the vector stays usable.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-shrink_to_fit.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.extend_from_slice(&[0; 10_000])?;
    /// v.sync()?;
    /// v.truncate(10);
    /// v.shrink_to_fit()?;
    /// assert_eq!(v.capacity(), 10_000); // the commit still holds 10 000
    /// v.sync()?;
    /// v.shrink_to_fit()?;
    /// assert_eq!(v.capacity(), 10);
    /// # Ok(()) }
    /// ```
    pub fn shrink_to_fit(&mut self) -> Result<()> {
        self.raw.shrink_to(self.len)
    }

    /// Appends all elements of `other`, with a single capacity check and one copy. Large
    /// slices go in with `pwrite`, which fills the page cache without a page fault per page,
    /// and with [`huge_pages(true)`](OpenOptions::huge_pages) they are padded to 2 MiB
    /// boundaries past the length (`docs/design.md`, "Layers" and "Growth").
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push); on error the vector is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-extend_from_slice.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2])?;
    /// v.extend_from_slice(&[3])?;
    /// assert_eq!(v, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn extend_from_slice(&mut self, other: &[T]) -> Result<()> {
        self.reserve(other.len())?;
        // SAFETY: `T: Pod` has no padding bytes, so all bytes of `other` are initialised and
        // may be read as `u8`.
        let bytes = unsafe {
            core::slice::from_raw_parts(other.as_ptr().cast::<u8>(), mem::size_of_val(other))
        };
        // An append at `len`: covered by `dirty_from..len` once the length grows over it.
        self.raw.write_elems(self.len, bytes)?;
        self.len += other.len();
        self.raw.appended_up_to(self.len);
        Ok(())
    }

    /// Replaces the element at `index` with `value` by a write through the file descriptor
    /// (`pwrite`), not a store into the mapping: the cheap way to change a few committed
    /// elements and [`sync`](Self::sync) soon after.
    ///
    /// The contents are those of `v[i] = x`, but `set` dirties only the file block it writes,
    /// not the whole page-cache folio under it, so the `sync` after it costs about one
    /// `pwrite` + `fdatasync`; and where a store could raise `SIGBUS` (a full copy-on-write
    /// file system), `set` returns the error. Each call is a system call: to change many
    /// elements, store them and `sync` once (`docs/guide.md`, "The page cache and `set`"). A
    /// live reader may see the element torn while `set` writes it.
    ///
    /// # Panics
    ///
    /// If `index >= len`, as indexing does.
    ///
    /// # Errors
    ///
    /// The OS error of `pwrite` ([`ErrorKind::OutOfSpace`] on a full copy-on-write file
    /// system). The element may then hold some of the new bytes, which, as any in-place
    /// change, may reach the disk before the next `sync` makes them durable; the handle
    /// stays usable.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-set.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.extend_from_slice(&[0; 100_000])?;
    /// v.sync()?;
    /// v.set(4_321, 7)?; // dirties one block, not the whole folio under it
    /// v.sync()?;
    /// assert_eq!(v[4_321], 7);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn set(&mut self, index: usize, value: T) -> Result<()> {
        let len = self.len;
        if index >= len {
            index_failed(index, len);
        }
        self.set_from_slice(index, core::slice::from_ref(&value))
    }

    /// Replaces the elements from `index` on with `src` by one write through the file
    /// descriptor (`pwrite`), as [`set`](Self::set) does for one element: it dirties only
    /// the file blocks the elements fall in, and it reports a full copy-on-write file system
    /// as an error. `v.set_from_slice(i, src)` leaves the same contents as
    /// `v[i..i + src.len()].copy_from_slice(src)`.
    ///
    /// # Panics
    ///
    /// If `index + src.len() > len`, as `copy_from_slice` on that range does.
    ///
    /// # Errors
    ///
    /// As [`set`](Self::set): some of the elements may then hold new bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-set_from_slice.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3, 4, 5])?;
    /// v.set_from_slice(1, &[20, 30])?;
    /// assert_eq!(v, [1, 20, 30, 4, 5]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn set_from_slice(&mut self, index: usize, src: &[T]) -> Result<()> {
        let len = self.len;
        match index.checked_add(src.len()) {
            Some(end) if end <= len => {}
            _ => range_failed(index, index.saturating_add(src.len()), len),
        }
        if src.is_empty() {
            return Ok(());
        }
        // SAFETY: `T: Pod` has no padding bytes, so all bytes of `src` are initialised and
        // may be read as `u8`.
        let bytes = unsafe {
            core::slice::from_raw_parts(src.as_ptr().cast::<u8>(), mem::size_of_val(src))
        };
        // Marked before the write: even a failed one may have changed some bytes.
        let _ = self.write_from(index);
        self.raw.overwrite_elems(index, bytes)
    }

    /// Inserts `element` at `index`, shifting the elements after it up.
    ///
    /// # Panics
    ///
    /// If `index > len`, as `Vec::insert`.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push); on error the vector is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-insert.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 3])?;
    /// v.insert(1, 2)?;
    /// v.insert(3, 4)?;
    /// assert_eq!(v, [1, 2, 3, 4]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn insert(&mut self, index: usize, element: T) -> Result<()> {
        let len = self.len;
        if index > len {
            insert_failed(index, len);
        }
        self.reserve(1)?;
        let p = self.write_from(index);
        // SAFETY: `index <= len < capacity`: the shift moves `len - index` initialised
        // elements one up, inside the mapping, then writes the new one.
        unsafe {
            ptr::copy(p, p.add(1), len - index);
            p.write(element);
        }
        self.len = len + 1;
        Ok(())
    }

    /// Removes and returns the element at `index`, shifting the elements after it down.
    ///
    /// # Panics
    ///
    /// If `index >= len`, as `Vec::remove`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-remove.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// assert_eq!(v.remove(1), 2);
    /// assert_eq!(v, [1, 3]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn remove(&mut self, index: usize) -> T {
        let len = self.len;
        if index >= len {
            remove_failed(index, len);
        }
        let p = self.write_from(index);
        // SAFETY: `index < len`: read it, then move the `len - index - 1` elements after it
        // one down, all inside the initialised part of the mapping.
        let value = unsafe {
            let v = p.read();
            ptr::copy(p.add(1), p, len - index - 1);
            v
        };
        self.set_len_marked(len - 1);
        value
    }

    /// Removes the element at `index` and returns it, moving the last element into its place.
    ///
    /// # Panics
    ///
    /// If `index >= len`, as `Vec::swap_remove`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-swap_remove.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3, 4])?;
    /// assert_eq!(v.swap_remove(1), 2);
    /// assert_eq!(v, [1, 4, 3]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn swap_remove(&mut self, index: usize) -> T {
        let len = self.len;
        if index >= len {
            swap_remove_failed(index, len);
        }
        let p = self.write_from(index);
        // SAFETY: `index < len` and `len - 1 < len`: both are initialised elements, `len - 1 -
        // index` elements past `p`.
        let value = unsafe {
            let v = p.read();
            p.write(p.add(len - 1 - index).read());
            v
        };
        self.set_len_marked(len - 1);
        value
    }

    /// Removes the last element and returns it, or `None` if the vector is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-pop.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2])?;
    /// assert_eq!(v.pop(), Some(2));
    /// assert_eq!(v.pop(), Some(1));
    /// assert_eq!(v.pop(), None);
    /// # Ok(()) }
    /// ```
    pub fn pop(&mut self) -> Option<T> {
        let last = self.len.checked_sub(1)?;
        self.set_len_marked(last);
        // SAFETY: the element at the old `len - 1` is initialised and inside the mapping.
        Some(unsafe { self.ptr().add(last).read() })
    }

    /// Shortens the vector to `len` elements; does nothing if it is not longer. The file
    /// keeps its size (see [`shrink_to_fit`](Self::shrink_to_fit)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-truncate.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3, 4])?;
    /// let cap = v.capacity();
    /// v.truncate(2);
    /// assert_eq!(v, [1, 2]);
    /// assert_eq!(v.capacity(), cap); // the file keeps its size
    /// v.truncate(5); // not longer: nothing happens
    /// assert_eq!(v, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.set_len_marked(len);
        }
    }

    /// Removes all elements (the file keeps its size).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-clear.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// v.clear();
    /// assert!(v.is_empty());
    /// v.close()?;
    /// assert!(MmapedVec::<u32>::open(&path)?.is_empty()); // cleared in the file too
    /// # Ok(()) }
    /// ```
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Resizes to `new_len`, appending copies of `value` or truncating.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push); on error the vector is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-resize.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.push(1)?;
    /// v.resize(3, 0)?;
    /// assert_eq!(v, [1, 0, 0]);
    /// v.resize(1, 0)?;
    /// assert_eq!(v, [1]);
    /// # Ok(()) }
    /// ```
    pub fn resize(&mut self, new_len: usize, value: T) -> Result<()> {
        if new_len <= self.len {
            self.truncate(new_len);
            return Ok(());
        }
        let extra = new_len - self.len;
        self.reserve(extra)?;
        let p = self.spare_ptr();
        for i in 0..extra {
            // SAFETY: `len + i < new_len <= capacity`: inside the mapping.
            unsafe { p.add(i).write(value) };
        }
        self.len = new_len;
        Ok(())
    }

    /// Keeps only the elements for which `f` returns `true`, in order, calling `f` once per
    /// element from first to last, as `Vec::retain`. If `f` panics, the elements not yet
    /// visited are kept and the vector stays consistent.
    ///
    /// Marks for the next [`sync`](Self::sync) the elements from the first one removed on.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.extend_from_slice(&[1, 2, 3, 4])?;
    /// v.retain(|&x| x % 2 == 0);
    /// assert_eq!(v, [2, 4]);
    /// # Ok(()) }
    /// ```
    pub fn retain<F: FnMut(&T) -> bool>(&mut self, mut f: F) {
        self.retain_mut(|x| f(x));
    }

    /// Keeps only the elements for which `f` returns `true`, passing each as `&mut T` so that
    /// `f` can change the ones it keeps, as `Vec::retain_mut`: in order, once per element.
    /// If `f` panics, the element it was given (with what `f` changed in it) and the ones not
    /// yet visited are kept, and the vector stays consistent.
    ///
    /// Marks for the next [`sync`](Self::sync) the elements from the first one removed or
    /// changed on (`f` works on a copy, which is stored back only when its bytes differ).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.extend_from_slice(&[1, 2, 3, 4])?;
    /// v.retain_mut(|x| {
    ///     *x *= 10;
    ///     *x != 30
    /// });
    /// assert_eq!(v, [10, 20, 40]);
    /// # Ok(()) }
    /// ```
    pub fn retain_mut<F: FnMut(&mut T) -> bool>(&mut self, mut f: F) {
        let Some(&first) = self.first() else {
            return;
        };
        let mut g = Compact::new(self, 0, first);
        while g.read < g.len {
            g.cur = g.v[g.read];
            g.lent_cur = true;
            let keep = f(&mut g.cur);
            g.lent_cur = false;
            if keep {
                g.keep_cur();
            } else {
                g.read += 1;
            }
        }
    }

    /// Removes consecutive repeated elements, as `Vec::dedup`: of each run of equal elements
    /// (by `PartialEq`), the first is kept.
    ///
    /// Marks for the next [`sync`](Self::sync) the elements from the first one removed on.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.extend_from_slice(&[1, 1, 2, 3, 3, 3, 1])?;
    /// v.dedup();
    /// assert_eq!(v, [1, 2, 3, 1]);
    /// # Ok(()) }
    /// ```
    pub fn dedup(&mut self)
    where
        T: PartialEq,
    {
        self.dedup_by(|a, b| a == b);
    }

    /// Removes consecutive elements that map to the same key, as `Vec::dedup_by_key`: of
    /// each run, the first is kept. `key` gets `&mut T` and may change the elements, as
    /// [`dedup_by`](Self::dedup_by) describes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.extend_from_slice(&[10, 11, 20, 21, 22, 30])?;
    /// v.dedup_by_key(|x| *x / 10);
    /// assert_eq!(v, [10, 20, 30]);
    /// # Ok(()) }
    /// ```
    pub fn dedup_by_key<K: PartialEq, F: FnMut(&mut T) -> K>(&mut self, mut key: F) {
        self.dedup_by(|a, b| key(a) == key(b));
    }

    /// Removes consecutive elements that `same_bucket` says belong together, as
    /// `Vec::dedup_by`: it is called as `same_bucket(a, b)` with `a` the element looked at and
    /// `b` the last one kept before it, and `a` is removed when it returns `true`. Both are
    /// `&mut`, so it may change them (merge `a` into `b`, say): changes to `b`, and to `a`
    /// when it is kept, stay. If `same_bucket` panics, the changes it made stay, the element
    /// it was looking at and the ones after it are kept, and the vector stays consistent.
    ///
    /// Marks for the next [`sync`](Self::sync) the elements from the first one removed or
    /// changed on (`same_bucket` works on copies, stored back only when their bytes differ).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<[u32; 2]>::open(dir.path().join("v.bin"))?;
    /// // [key, count] pairs: merge the counts of runs with the same key.
    /// v.extend_from_slice(&[[1, 1], [1, 2], [2, 5], [1, 1], [1, 1]])?;
    /// v.dedup_by(|a, b| {
    ///     let same = a[0] == b[0];
    ///     if same {
    ///         b[1] += a[1];
    ///     }
    ///     same
    /// });
    /// assert_eq!(v, [[1, 3], [2, 5], [1, 2]]);
    /// # Ok(()) }
    /// ```
    pub fn dedup_by<F: FnMut(&mut T, &mut T) -> bool>(&mut self, mut same_bucket: F) {
        if self.len < 2 {
            return;
        }
        let first = self[0];
        let mut g = Compact::new(self, 1, first);
        while g.read < g.len {
            g.cur = g.v[g.read];
            g.prev = g.v[g.write - 1];
            g.lent_cur = true;
            g.lent_prev = true;
            let same = same_bucket(&mut g.cur, &mut g.prev);
            g.lent_cur = false;
            g.lent_prev = false;
            let prev = g.prev;
            g.v.store_if_changed(g.write - 1, prev);
            if same {
                g.read += 1;
            } else {
                g.keep_cur();
            }
        }
    }

    /// Removes and returns the last element if `predicate` returns `true` for it, as
    /// `Vec::pop_if`; `None` if the vector is empty or `predicate` returns `false`.
    /// `predicate` gets `&mut T`: a change to an element it keeps stays (and is marked for
    /// the next [`sync`](Self::sync)), also when it panics.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// assert_eq!(v.pop_if(|x| *x % 2 == 0), None);
    /// assert_eq!(v.pop_if(|x| *x == 3), Some(3));
    /// assert_eq!(v, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn pop_if(&mut self, predicate: impl FnOnce(&mut T) -> bool) -> Option<T> {
        /// Stores the lent copy back if its bytes changed, even when `predicate` panics.
        struct Lent<'a, T: Pod, S: Storage> {
            v: &'a mut MmapedVec<T, S>,
            index: usize,
            x: T,
        }
        impl<T: Pod, S: Storage> Drop for Lent<'_, T, S> {
            fn drop(&mut self) {
                if self.index < self.v.len {
                    self.v.store_if_changed(self.index, self.x);
                }
            }
        }

        let index = self.len.checked_sub(1)?;
        let x = self[index];
        let mut lent = Lent { v: self, index, x };
        if predicate(&mut lent.x) {
            // Popped: nothing to store back.
            lent.v.set_len_marked(index);
            Some(lent.x)
        } else {
            None
        }
    }

    /// Removes the elements in `range` and returns them as an iterator, as `Vec::drain`.
    ///
    /// Dropping the iterator removes the whole range, whether or not it was consumed. If it
    /// is leaked (`mem::forget`), the vector is left as it was, every element in place
    /// (`Vec` would lose the elements after `range.start`; here nothing needs dropping, so
    /// nothing is lost).
    ///
    /// Marks for the next [`sync`](Self::sync) the elements from `range.start` on, when the
    /// range is not empty.
    ///
    /// # Panics
    ///
    /// If the start of the range is past its end, or its end past the length, with the
    /// messages slicing gives, reported at the caller's line.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.extend_from_slice(&[1, 2, 3, 4, 5])?;
    /// let sum: u32 = v.drain(1..3).sum();
    /// assert_eq!(sum, 5);
    /// assert_eq!(v, [1, 4, 5]);
    /// v.drain(..);
    /// assert!(v.is_empty());
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn drain<R: RangeBounds<usize>>(&mut self, range: R) -> Drain<'_, T, S> {
        let (start, end) = check_range(&range, self.len);
        Drain::new(self, start, end)
    }

    /// Appends a copy of the elements in `src`, as `Vec::extend_from_within`.
    ///
    /// # Panics
    ///
    /// If the start of the range is past its end, or its end past the length, with the
    /// messages slicing gives, reported at the caller's line.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push); on error the vector is unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// v.extend_from_within(1..)?;
    /// assert_eq!(v, [1, 2, 3, 2, 3]);
    /// # Ok(()) }
    /// ```
    #[track_caller]
    pub fn extend_from_within<R: RangeBounds<usize>>(&mut self, src: R) -> Result<()> {
        let (start, end) = check_range(&src, self.len);
        let n = end - start;
        self.reserve(n)?;
        let to = self.spare_ptr();
        // SAFETY: `start..end` lies in `0..len` (checked above) and `len..len + n` in the
        // capacity (reserved above): both inside the mapping, and disjoint. An append at
        // `len`: covered by `dirty_from..len` once the length grows over it.
        unsafe { ptr::copy_nonoverlapping(self.ptr().add(start), to, n) };
        self.len += n;
        Ok(())
    }

    /// Resizes to `new_len`, appending values returned by `f` (called once per new element,
    /// in order) or truncating, as `Vec::resize_with`. If `f` panics, the elements it
    /// returned so far stay appended.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push); the capacity is reserved before `f` is called, so on error
    /// the vector is unchanged and `f` was not called.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// let mut next = 0;
    /// v.resize_with(4, || {
    ///     next += 10;
    ///     next
    /// })?;
    /// assert_eq!(v, [10, 20, 30, 40]);
    /// v.resize_with(1, || unreachable!())?;
    /// assert_eq!(v, [10]);
    /// # Ok(()) }
    /// ```
    pub fn resize_with<F: FnMut() -> T>(&mut self, new_len: usize, mut f: F) -> Result<()> {
        if new_len <= self.len {
            self.truncate(new_len);
            return Ok(());
        }
        self.reserve(new_len - self.len)?;
        while self.len < new_len {
            let x = f();
            // SAFETY: `len < new_len <= capacity`: the slot is inside the mapping. An append:
            // covered by `dirty_from..len` once the length grows over it.
            unsafe { self.spare_ptr().write(x) };
            self.len += 1;
        }
        Ok(())
    }

    /// Reserves capacity for at least `additional` more elements: the same as
    /// [`reserve`](Self::reserve), which returns an error rather than panicking already.
    /// Here for code written against `Vec::try_reserve`.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.try_reserve(10_000)?;
    /// assert!(v.capacity() >= 10_000);
    /// let e = v.try_reserve(usize::MAX).unwrap_err();
    /// assert_eq!(e.kind(), persistence::ErrorKind::CapacityOverflow);
    /// # Ok(()) }
    /// ```
    pub fn try_reserve(&mut self, additional: usize) -> Result<()> {
        self.reserve(additional)
    }

    /// Reserves capacity for exactly `additional` more elements (in whole pages): the same
    /// as [`reserve_exact`](Self::reserve_exact). Here for code written against
    /// `Vec::try_reserve_exact`.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u64>::open(dir.path().join("v.bin"))?;
    /// v.try_reserve_exact(1000)?;
    /// assert!(v.capacity() >= 1000);
    /// assert_eq!(v.file_len(), 4096 + 8192); // 8000 bytes of elements, in whole pages
    /// # Ok(()) }
    /// ```
    pub fn try_reserve_exact(&mut self, additional: usize) -> Result<()> {
        self.reserve_exact(additional)
    }

    /// Shrinks the file so that the capacity is `min_capacity`, but never below the length
    /// nor below the committed length (as [`shrink_to_fit`](Self::shrink_to_fit)); does
    /// nothing if the capacity is that small already, as `Vec::shrink_to`.
    ///
    /// # Errors
    ///
    /// The OS error from `mremap`/`mmap` or `ftruncate`; the vector stays usable.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u64>::open(dir.path().join("v.bin"))?;
    /// v.reserve(10_000)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// v.shrink_to(100)?;
    /// assert_eq!(v.capacity(), 100);
    /// v.shrink_to(0)?;
    /// assert_eq!(v.capacity(), 3);
    /// # Ok(()) }
    /// ```
    pub fn shrink_to(&mut self, min_capacity: usize) -> Result<()> {
        if self.capacity() <= min_capacity {
            return Ok(());
        }
        self.raw.shrink_to(min_capacity.max(self.len))
    }

    /// Appends every element of `iter`, in order: `Vec::extend`, with an error instead of a
    /// panic when the file cannot grow.
    ///
    /// The iterator's lower size bound is reserved first; then each element is appended as
    /// the iterator yields it, growing the file when needed.
    ///
    /// # Errors
    ///
    /// An [`ExtendError`] that says how far it got: the elements appended before the error
    /// stay (the vector holds them, [`ExtendError::appended`] counts them), and the element
    /// taken from the iterator that could not be stored is in
    /// [`ExtendError::element`]. If reserving the lower size bound fails, nothing is taken
    /// from the iterator and nothing is appended. Pass `iter.by_ref()` to go on with the rest
    /// of an iterator after an error. The error holds no heap data; it converts into
    /// [`Error`] (dropping the count) for `?`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.try_extend((1..=3).map(|x| x * x))?;
    /// v.try_extend([7, 8])?;
    /// assert_eq!(v, [1, 4, 9, 7, 8]);
    /// # Ok(()) }
    /// ```
    pub fn try_extend<I: IntoIterator<Item = T>>(
        &mut self,
        iter: I,
    ) -> core::result::Result<(), ExtendError<T>> {
        let iter = iter.into_iter();
        if let Err(error) = self.reserve(iter.size_hint().0) {
            return Err(ExtendError::new(0, None, error));
        }
        for (appended, x) in iter.enumerate() {
            if let Err(error) = self.push(x) {
                return Err(ExtendError::new(appended, Some(x), error));
            }
        }
        Ok(())
    }

    /// The spare capacity (elements `len..capacity`) as a slice of `MaybeUninit<T>`, to be
    /// filled and then made part of the vector with [`set_len`](Self::set_len), as
    /// `Vec::spare_capacity_mut`.
    ///
    /// Writing there changes nothing the next [`sync`](Self::sync) commits until `set_len`
    /// takes the length over it, and `set_len` marks what it takes in. (The slots are in
    /// fact initialised: they hold the file's bytes, zeros where it never held elements.)
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.reserve(3)?;
    /// let spare = v.spare_capacity_mut();
    /// for (i, slot) in spare[..3].iter_mut().enumerate() {
    ///     slot.write(i as u32 * 2);
    /// }
    /// // SAFETY: the first 3 spare elements were written, and 3 <= capacity.
    /// unsafe { v.set_len(3) };
    /// assert_eq!(v, [0, 2, 4]);
    /// # Ok(()) }
    /// ```
    pub fn spare_capacity_mut(&mut self) -> &mut [MaybeUninit<T>] {
        let spare = self.capacity() - self.len;
        let p = self.spare_ptr().cast::<MaybeUninit<T>>();
        // SAFETY: elements `len..capacity` lie inside the live, writable mapping and are
        // aligned; `MaybeUninit<T>` has `T`'s layout and accepts any bytes; `&mut self` makes
        // this the only reference into the mapping while the slice lives.
        unsafe { core::slice::from_raw_parts_mut(p, spare) }
    }

    /// Sets the length to `new_len`, as `Vec::set_len`, without writing any element.
    ///
    /// The elements it takes in (from the old length up to `new_len`) hold whatever the file
    /// holds there: what was written through [`spare_capacity_mut`](Self::spare_capacity_mut),
    /// else zeros where the file never held elements, or elements removed earlier (by
    /// `truncate`, `pop`, …, or left past the committed length by a crash), which need not
    /// match any commit. Since `T: Pod`, any bytes are a valid `T`, so this exposes no
    /// invalid value. What is marked: the elements from the lower of the old and the new
    /// length on, so the next [`sync`](Self::sync) makes everything it takes in durable
    /// exactly as the vector shows it.
    ///
    /// # Safety
    ///
    /// * `new_len <= self.capacity()`: beyond it lies no mapped, file-backed memory.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// // SAFETY: 1 <= capacity.
    /// unsafe { v.set_len(1) };
    /// assert_eq!(v, [1]);
    /// // SAFETY: 3 <= capacity; elements 1 and 2 still hold 2 and 3.
    /// unsafe { v.set_len(3) };
    /// assert_eq!(v, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub unsafe fn set_len(&mut self, new_len: usize) {
        debug_assert!(new_len <= self.capacity(), "set_len past the capacity");
        self.set_len_marked(new_len);
    }
}

/// What only a vector with a file of its own has: its own commit, its file's size.
impl<T: Pod> MmapedVec<T> {
    /// The size of the file in bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-file_len.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.reserve(1000)?;
    /// // A 4096-byte header, then room for `capacity` elements.
    /// assert_eq!(v.file_len(), 4096 + 8 * v.capacity() as u64);
    /// assert_eq!(v.file_len(), std::fs::metadata(&path)?.len());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn file_len(&self) -> u64 {
        self.raw.raw().file_len()
    }

    /// What the open found beyond the commit it opened to: whether it fell back to the
    /// older commit because the newest commit slot was damaged, whether the other slot is
    /// damaged, whether the file was created.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-open_report.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// assert!(v.open_report().created);
    /// v.push(1)?;
    /// v.close()?;
    /// let v = MmapedVec::<u64>::open(&path)?;
    /// assert!(!v.open_report().older_commit); // opened to the newest commit
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn open_report(&self) -> crate::report::OpenReport {
        self.raw.raw().open_report()
    }

    /// Commits: when it returns `Ok`, every element below [`len`](Self::len) and the length
    /// are durable on disk, and a reopen after any crash shows at least this state.
    ///
    /// It writes the data pages changed since the last commit, then the new length into the
    /// commit slot that does not hold the current commit, flushing after each; with only
    /// in-place changes the data is the whole commit, and with nothing changed it does no
    /// I/O. The system calls per platform, and why a crash at any instant is safe:
    /// `docs/design.md`, "Commit". Afterwards it tries again a cut that
    /// [`shrink_to_fit`](Self::shrink_to_fit) put off for live readers.
    ///
    /// # Errors
    ///
    /// The OS error of the step that failed:
    ///
    /// * writing the data: the previous commit stays, and every later `sync` returns this
    ///   error too (the kernel may have dropped the pages): close and reopen to go on;
    /// * writing the commit slot ([`ErrorKind::OutOfSpace`] on a full copy-on-write file
    ///   system): the previous commit stays; `sync` can be called again;
    /// * flushing the written slot: the new length is in the page cache (a reopen on this
    ///   machine and a live reader see it, and its elements are durable), but whether it
    ///   survives a power loss is unknown until the next `sync`, which flushes it again.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-sync.bin");
    /// use persistence::{inspect, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// assert_eq!(inspect(&path)?.len, 0); // not committed: a crash would lose them
    /// v.sync()?;
    /// assert_eq!(inspect(&path)?.len, 3); // durable
    /// # Ok(()) }
    /// ```
    pub fn sync(&mut self) -> Result<()> {
        self.raw.raw_mut().commit(self.len, self.dirty_from)?;
        self.dirty_from = self.len;
        Ok(())
    }

    /// Commits like [`sync`](Self::sync), then unmaps, unlocks and closes the file,
    /// reporting any error (which `Drop` cannot).
    ///
    /// # Errors
    ///
    /// The error of the commit, or of `flock(LOCK_UN)`. The file is closed either way.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("vec-close.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.push(1)?;
    /// v.close()?; // committed and unlocked, or an error says why not
    ///
    /// let v = MmapedVec::<u32>::open(&path)?; // not `Locked`: the lock went with `close`
    /// assert_eq!(v, [1]);
    /// # Ok(()) }
    /// ```
    pub fn close(mut self) -> Result<()> {
        let synced = self.sync();
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the region is moved out of it
        // exactly once and dropped (or closed) exactly once.
        let raw = unsafe { ptr::read(&this.raw) };
        let closed = raw.into_raw().close();
        synced.and(closed)
    }
}

/// Compacts a vector in place, for `retain_mut` and `dedup_by`: the elements from `read` on
/// are still to be visited, the kept ones are stored from `write` on. Dropped, panic or not,
/// it stores back the copies lent to the user's closure (when their bytes changed) and
/// closes the gap, so the vector is consistent and every change is marked.
struct Compact<'a, T: Pod, S: Storage> {
    v: &'a mut MmapedVec<T, S>,
    /// The next element to visit.
    read: usize,
    /// Where the next kept element goes; `write <= read`.
    write: usize,
    /// The length before compaction.
    len: usize,
    /// A copy of element `read`, lent to the closure while `lent_cur`.
    cur: T,
    /// A copy of element `write - 1`, lent to the closure while `lent_prev`.
    prev: T,
    lent_cur: bool,
    lent_prev: bool,
}

impl<'a, T: Pod, S: Storage> Compact<'a, T, S> {
    /// Starts with elements `0..start` kept; `init` is any value of `T` (for the copies).
    fn new(v: &'a mut MmapedVec<T, S>, start: usize, init: T) -> Self {
        let len = v.len;
        Compact {
            v,
            read: start,
            write: start,
            len,
            cur: init,
            prev: init,
            lent_cur: false,
            lent_prev: false,
        }
    }

    /// Keeps `cur`, the (possibly changed) copy of element `read`, at `write`.
    fn keep_cur(&mut self) {
        if self.read == self.write {
            self.v.store_if_changed(self.write, self.cur);
        } else {
            self.v.tail_mut(self.write)[0] = self.cur;
        }
        self.write += 1;
        self.read += 1;
    }
}

impl<T: Pod, S: Storage> Drop for Compact<'_, T, S> {
    fn drop(&mut self) {
        // Only after a panic in the closure: keep what it changed in its copies.
        if self.lent_prev {
            self.v.store_if_changed(self.write - 1, self.prev);
        }
        if self.lent_cur {
            self.v.store_if_changed(self.read, self.cur);
        }
        let (read, write, len) = (self.read, self.write, self.len);
        if read != write && read < len {
            // Move the unvisited tail down onto the gap.
            self.v.tail_mut(write).copy_within(read - write.., 0);
        }
        self.v.set_len_marked(write + (len - read));
    }
}

/// Whether two values have the same bytes (all initialised: `T: Pod` has no padding).
#[inline]
fn same_bytes<T: Pod>(a: &T, b: &T) -> bool {
    let n = mem::size_of::<T>();
    // SAFETY: both point to a live `T`, whose `n` bytes are all initialised (no padding)
    // and may be read as `u8`.
    let (a, b) = unsafe {
        (
            core::slice::from_raw_parts((a as *const T).cast::<u8>(), n),
            core::slice::from_raw_parts((b as *const T).cast::<u8>(), n),
        )
    };
    a == b
}

/// `range` as `(start, end)` within `0..len`; panics as slicing a slice of length `len`
/// would (std's messages), at the caller's location.
#[track_caller]
fn check_range<R: RangeBounds<usize>>(range: &R, len: usize) -> (usize, usize) {
    let end = match range.end_bound() {
        Bound::Included(&e) if e >= len => range_failed(0, e, len),
        Bound::Included(&e) => e + 1,
        Bound::Excluded(&e) if e > len => range_failed(0, e, len),
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    let start = match range.start_bound() {
        Bound::Excluded(&s) if s >= end => range_failed(s, end, len),
        Bound::Excluded(&s) => s + 1,
        Bound::Included(&s) if s > end => range_failed(s, end, len),
        Bound::Included(&s) => s,
        Bound::Unbounded => 0,
    };
    (start, end)
}

#[cold]
#[inline(never)]
#[track_caller]
fn range_failed(start: usize, end: usize, len: usize) -> ! {
    if start > len {
        panic!("range start index {start} out of range for slice of length {len}");
    }
    if end > len || start <= end {
        // `start <= end`: an inclusive end at `len`, or an exclusive start at the end.
        panic!("range end index {end} out of range for slice of length {len}");
    }
    panic!("slice index starts at {start} but ends at {end}");
}

#[cold]
#[inline(never)]
#[track_caller]
fn index_failed(index: usize, len: usize) -> ! {
    panic!("index out of bounds: the len is {len} but the index is {index}");
}

#[cold]
#[inline(never)]
#[track_caller]
fn insert_failed(index: usize, len: usize) -> ! {
    panic!("insertion index (is {index}) should be <= len (is {len})");
}

#[cold]
#[inline(never)]
#[track_caller]
fn remove_failed(index: usize, len: usize) -> ! {
    panic!("removal index (is {index}) should be < len (is {len})");
}

#[cold]
#[inline(never)]
#[track_caller]
fn swap_remove_failed(index: usize, len: usize) -> ! {
    panic!("swap_remove index (is {index}) should be < len (is {len})");
}

impl<T: Pod, S: Storage> Drop for MmapedVec<T, S> {
    /// A vector of its own file commits like [`sync`](MmapedVec::sync), ignoring errors (use
    /// [`close`](MmapedVec::close) to see them), unless
    /// [`commit_on_drop(false)`](crate::OpenOptions::commit_on_drop) was asked for or (with
    /// `std`) its thread is panicking; then it unmaps and unlocks. A group's column does
    /// nothing here: its group commits or not as a whole.
    fn drop(&mut self) {
        self.raw.on_drop(self.len, self.dirty_from);
    }
}

impl<T: Pod, S: Storage> Deref for MmapedVec<T, S> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: elements `0..len` lie inside the live mapping (`len <= capacity`), are
        // aligned, and are valid `T` because `T: Pod` makes every bit pattern valid. The
        // borrow of `self` keeps the mapping from moving or being unmapped.
        unsafe { core::slice::from_raw_parts(self.ptr(), self.len) }
    }
}

impl<T: Pod, S: Storage> DerefMut for MmapedVec<T, S> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        // Any element can change through this borrow: the next commit syncs them all.
        self.tail_mut(0)
    }
}

impl<T: Pod + fmt::Debug, S: Storage> fmt::Debug for MmapedVec<T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Pod, S: Storage> AsRef<[T]> for MmapedVec<T, S> {
    fn as_ref(&self) -> &[T] {
        self
    }
}

impl<T: Pod, S: Storage> AsMut<[T]> for MmapedVec<T, S> {
    fn as_mut(&mut self) -> &mut [T] {
        self
    }
}

impl<'a, T: Pod, S: Storage> IntoIterator for &'a MmapedVec<T, S> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: Pod, S: Storage> IntoIterator for &'a mut MmapedVec<T, S> {
    type Item = &'a mut T;
    type IntoIter = core::slice::IterMut<'a, T>;

    /// Iterates mutably; like any mutable borrow, the next commit syncs every element.
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

/// White-box: each mutator marks from the first element it changes, and no lower, so a
/// commit flushes no more than it must (`tests/vec_marks.rs` checks from outside that what
/// is marked is enough).
#[cfg(all(test, feature = "std"))]
mod tests {
    extern crate std;

    use super::*;
    use std::vec::Vec;

    const N: usize = 1000;

    /// A committed vector of `N` elements: 0..500 distinct, then runs of 2 (the first
    /// duplicate at 501).
    fn committed() -> (tempfile::TempDir, MmapedVec<u32>) {
        let dir = tempfile::tempdir().unwrap();
        let mut v = MmapedVec::<u32>::open(dir.path().join("v.bin")).unwrap();
        let init: Vec<u32> = (0..N as u32)
            .map(|i| if i < 500 { i } else { 500 + (i - 500) / 2 })
            .collect();
        v.extend_from_slice(&init).unwrap();
        v.sync().unwrap();
        assert_eq!(v.dirty_from, N);
        (dir, v)
    }

    #[test]
    fn each_mutator_marks_from_its_first_change() {
        type Case = (&'static str, fn(&mut MmapedVec<u32>), usize);
        let cases: &[Case] = &[
            ("drain(300..400)", |v| drop(v.drain(300..400)), 300),
            ("drain(990..)", |v| drop(v.drain(990..)), 990),
            ("empty drain", |v| drop(v.drain(300..300)), N),
            ("leaked drain", |v| mem::forget(v.drain(300..400)), N),
            ("dedup", |v| v.dedup(), 501),
            ("dedup_by keeping all", |v| v.dedup_by(|_, _| false), N),
            (
                "dedup_by changing the kept element 250",
                |v| {
                    v.dedup_by(|_, b| {
                        if *b == 250 {
                            *b = 7;
                        }
                        false
                    })
                },
                250,
            ),
            ("dedup_by_key", |v| v.dedup_by_key(|x| *x), 501),
            ("retain keeping all", |v| v.retain(|_| true), N),
            (
                "retain dropping 600",
                |v| {
                    let mut i = 0;
                    v.retain(|_| {
                        i += 1;
                        i != 601
                    })
                },
                600,
            ),
            (
                "retain_mut changing 700",
                |v| {
                    let mut i = 0;
                    v.retain_mut(|x| {
                        i += 1;
                        if i == 701 {
                            *x += 1;
                        }
                        true
                    })
                },
                700,
            ),
            ("pop_if false", |v| assert_eq!(v.pop_if(|_| false), None), N),
            (
                "pop_if changing",
                |v| {
                    assert_eq!(
                        v.pop_if(|x| {
                            *x += 1;
                            false
                        }),
                        None
                    )
                },
                N - 1,
            ),
            (
                "pop_if true",
                |v| assert!(v.pop_if(|_| true).is_some()),
                N - 1,
            ),
            (
                "extend_from_within",
                |v| v.extend_from_within(..10).unwrap(),
                N,
            ),
            (
                "resize_with up",
                |v| v.resize_with(N + 100, || 1).unwrap(),
                N,
            ),
            (
                "resize_with down",
                |v| v.resize_with(900, || 1).unwrap(),
                900,
            ),
            ("try_extend", |v| v.try_extend(0..50).unwrap(), N),
            (
                "spare_capacity_mut + set_len up",
                |v| {
                    v.reserve(10).unwrap();
                    for s in &mut v.spare_capacity_mut()[..10] {
                        s.write(3);
                    }
                    // SAFETY: within the capacity.
                    unsafe { v.set_len(N + 10) };
                },
                N,
            ),
            (
                "set_len down",
                |v| {
                    // SAFETY: 800 <= capacity.
                    unsafe { v.set_len(800) }
                },
                800,
            ),
            ("try_reserve", |v| v.try_reserve(100_000).unwrap(), N),
            ("shrink_to", |v| v.shrink_to(0).unwrap(), N),
            (
                "comparisons and hash",
                |v| {
                    use core::hash::Hash;
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    v.hash(&mut h);
                    assert!(*v == *v && v.cmp(&v) == core::cmp::Ordering::Equal);
                    let _: &[u32] = core::borrow::Borrow::borrow(&*v);
                },
                N,
            ),
            (
                "borrow_mut",
                |v| {
                    let _: &mut [u32] = core::borrow::BorrowMut::borrow_mut(v);
                },
                0,
            ),
        ];
        for &(what, op, want) in cases {
            let (_dir, mut v) = committed();
            op(&mut v);
            assert_eq!(v.dirty_from, want, "{what}");
            assert!(v.dirty_from <= v.len, "{what}: dirty_from above len");
        }
    }
}
