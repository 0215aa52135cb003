//! `MmapedVec<T>`: the read-write typed facade over a [`RawRegion`].

#![allow(unsafe_code)]

use core::fmt;
use core::marker::PhantomData;
use core::mem::{self, ManuallyDrop};
use core::ops::{Deref, DerefMut};
use core::ptr;

use crate::error::{Error, ErrorKind, Result};
use crate::options::OpenOptions;
use crate::path::PathArg;
use crate::pod::Pod;
use crate::region::RawRegion;

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
/// * **Layout.** The file is a 4096-byte header page followed by the elements, each
///   exactly as it lies in memory (`size_of::<T>()` bytes, native endianness). The format is
///   tied to the CPU architecture; a foreign file is refused with a clear [`ErrorKind`].
///   Capacity is derived from the file size: `(file_size - 4096) / size_of::<T>()`.
/// * **Durability.** When [`sync`](Self::sync) returns `Ok`, every element below
///   [`len`](Self::len) and the length itself are on disk. A crash or power loss at any
///   instant leaves a file that opens to the last commit or to the one in progress, never
///   to a length that covers data not on disk.
/// * **What is atomic** is the length: appends become durable all together at a commit.
///   Changes to elements that were already committed (`v[i] = x`, [`insert`](Self::insert),
///   [`remove`](Self::remove), [`retain`](Self::retain), [`swap_remove`](Self::swap_remove),
///   truncate then push) go straight into the shared mapping and can reach the disk page by
///   page before the next commit: after a crash each element holds its old or its new bytes.
/// * **A full disk is an error, never a `SIGBUS`.** Growth reserves disk blocks before it
///   maps them (`fallocate`, or zeros written where the file system lacks it), so a full
///   disk is an [`ErrorKind::OutOfSpace`] error from `push`; the commit writes its slot with
///   `pwrite`, so a full disk is an error from `sync`; and a new file gets the No_COW
///   attribute on btrfs, so in-place changes need no new block (see
///   [`OpenOptions::copy_on_write`] for what remains on copy-on-write files).
/// * **Growth** is amortised, like `Vec`'s: by at least one page, geometrically (faster while
///   the file is small), and never by more than [`MAX_GROWTH_STEP`](crate::MAX_GROWTH_STEP)
///   beyond what was asked, which bounds the disk a vector reserves beyond its data; near a
///   full disk, a step is halved until it fits, down to exactly what was asked. (The
///   factors are a tuning detail, given in `docs/design.md`, "Growth".) Growth
///   never copies element data, but **may move the mapping**: that is why no slice borrowed
///   from the vector can live across a `push`.
/// * **Locking.** The vector holds an exclusive `flock` on the file for its whole life; a
///   second writer or a reader gets [`ErrorKind::Locked`].
/// * **No heap.** No method allocates.
///
/// # Panics
///
/// Index panics (`remove(99)` on a short vector) follow `Vec`'s.
pub struct MmapedVec<T: Pod> {
    raw: RawRegion,
    /// Elements `0..len` are initialised and within `raw.capacity()`.
    len: usize,
    /// The lowest index whose bytes may differ from what is on disk; `<= len` at all times,
    /// so an append (written at `len`) is always covered by `dirty_from..len`. Kept by the
    /// write funnel ([`write_from`](Self::write_from), [`spare_ptr`](Self::spare_ptr),
    /// [`set_len_marked`](Self::set_len_marked)): no other code writes elements or the length.
    dirty_from: usize,
    _marker: PhantomData<T>,
}

impl<T: Pod> MmapedVec<T> {
    /// Refuses zero-sized types and alignments above 4096 when the vector is instantiated.
    pub(crate) const LAYOUT_OK: () = assert!(
        mem::size_of::<T>() > 0 && mem::align_of::<T>() <= crate::format::MAX_ALIGN,
        "MmapedVec<T>: T must have a non-zero size and an alignment of at most 4096"
    );

    /// Opens the vector stored at `path`, creating the file if it is missing, with an
    /// exclusive lock; as [`OpenOptions::new().open(path)`](OpenOptions::open).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Locked`] if another handle has the file open; a format error
    /// ([`ErrorKind::BadMagic`], [`ErrorKind::LayoutMismatch`], [`ErrorKind::Corrupt`], …)
    /// if it is not a valid vector of this `T`; the OS error otherwise.
    pub fn open(path: impl PathArg) -> Result<Self> {
        OpenOptions::new().open(path)
    }

    pub(crate) fn from_region(raw: RawRegion) -> Self {
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
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the vector holds no elements.
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many elements fit without growing the file.
    #[inline]
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.raw.capacity()
    }

    /// The length recorded by the last commit (or found on open): what a reopen after a
    /// crash right now would show.
    #[inline]
    #[must_use]
    pub fn committed_len(&self) -> usize {
        self.raw.committed_len()
    }

    /// The size of the file in bytes.
    #[must_use]
    pub fn file_len(&self) -> u64 {
        self.raw.file_len()
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
    #[inline]
    #[must_use]
    pub fn as_slice(&self) -> &[T] {
        self
    }

    /// A mutable slice of all elements (as `&mut v[..]`); the next commit syncs them all.
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [T] {
        self
    }

    /// A raw pointer to element 0. It is invalidated by anything that may grow or shrink the
    /// file (the mapping can move).
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
    #[inline]
    pub fn push(&mut self, value: T) -> Result<()> {
        if self.len == self.capacity() {
            self.grow_for(1, false)?;
        }
        // SAFETY: `len < capacity`, so the slot is inside the mapping and file-backed; `T` is
        // `Pod`, and the pointer is aligned (page-aligned base + 4096, `align_of::<T>() <=
        // 4096`).
        unsafe { self.spare_ptr().write(value) };
        self.len += 1;
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn grow_for(&mut self, additional: usize, exact: bool) -> Result<()> {
        let need = self.len.checked_add(additional).ok_or(Error::new(
            ErrorKind::CapacityOverflow,
            "length overflows usize",
        ))?;
        self.raw.grow_to(need, exact)
    }

    /// Reserves capacity for at least `additional` more elements, amortised like
    /// `Vec::reserve` (see *Growth* in the type's docs).
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push).
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
    /// **While a [`LiveReader`](crate::LiveReader) of the file is open** (in any process), the
    /// file is not cut: a reader may still hold an older, longer length and read up to its
    /// end. The cut then happens later, at a later `shrink_to_fit`, `sync` or close once no
    /// live reader is open; meanwhile the capacity stays as it was. The same holds when the
    /// library cannot be sure that no reader is open: the file has more than one hard link,
    /// its path no longer leads to it (renamed or replaced), or the live readers' lock file
    /// `<file>-live` cannot be opened or created (a read-only directory); see
    /// [`LiveReader`](crate::LiveReader).
    ///
    /// # Errors
    ///
    /// The OS error from `mremap`/`mmap` or `ftruncate`; the vector stays usable.
    pub fn shrink_to_fit(&mut self) -> Result<()> {
        self.raw.shrink_to(self.len)
    }

    /// Appends all elements of `other`, with a single capacity check and one copy: into the
    /// mapping for short slices, with `pwrite` for large ones where the system's page cache
    /// shows such writes in the mapping at once (the kernel then fills the page cache
    /// directly instead of taking a page fault per page; the mapping shows the same bytes
    /// either way).
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push); on error the vector is unchanged.
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
        Ok(())
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
    pub fn pop(&mut self) -> Option<T> {
        let last = self.len.checked_sub(1)?;
        self.set_len_marked(last);
        // SAFETY: the element at the old `len - 1` is initialised and inside the mapping.
        Some(unsafe { self.ptr().add(last).read() })
    }

    /// Shortens the vector to `len` elements; does nothing if it is not longer. The file
    /// keeps its size (see [`shrink_to_fit`](Self::shrink_to_fit)).
    pub fn truncate(&mut self, len: usize) {
        if len < self.len {
            self.set_len_marked(len);
        }
    }

    /// Removes all elements (the file keeps its size).
    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Resizes to `new_len`, appending copies of `value` or truncating.
    ///
    /// # Errors
    ///
    /// As [`push`](Self::push); on error the vector is unchanged.
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
    /// element from first to last. If `f` panics, the elements not yet visited are kept and
    /// the vector stays consistent.
    pub fn retain<F: FnMut(&T) -> bool>(&mut self, mut f: F) {
        /// Closes the gap between kept and unvisited elements, even when `f` panics.
        struct Guard<'a, T: Pod> {
            v: &'a mut MmapedVec<T>,
            read: usize,
            write: usize,
            len: usize,
        }
        impl<T: Pod> Drop for Guard<'_, T> {
            fn drop(&mut self) {
                if self.read != self.write {
                    let to = self.v.write_from(self.write);
                    // SAFETY: `write < read <= len`: moves the unvisited tail down onto the
                    // gap, inside the initialised part of the mapping.
                    unsafe { ptr::copy(to.add(self.read - self.write), to, self.len - self.read) };
                }
                self.v.set_len_marked(self.write + (self.len - self.read));
            }
        }

        let len = self.len;
        let mut g = Guard {
            v: self,
            read: 0,
            write: 0,
            len,
        };
        while g.read < len {
            // SAFETY: `read < len`: an initialised element. It is copied out so that `f`
            // sees a value no later move can change.
            let item = unsafe { g.v.ptr().add(g.read).read() };
            if f(&item) {
                if g.read != g.write {
                    let to = g.v.write_from(g.write);
                    // SAFETY: `write < read < len`: inside the initialised part.
                    unsafe { to.write(item) };
                }
                g.write += 1;
            }
            g.read += 1;
        }
    }

    /// Commits: when it returns `Ok`, every element below [`len`](Self::len) and the length
    /// are durable on disk, and a reopen after any crash shows at least this state.
    ///
    /// In order: `msync(MS_SYNC)` of the data pages changed since the last commit (appends,
    /// and every page of elements reachable through a mutable borrow since then), and
    /// `fdatasync` when the file grew; then the new length with sequence + 1 written with
    /// `pwrite` into the older of the two commit slots (never stored through the mapping,
    /// which on a full copy-on-write file system would raise `SIGBUS`); then `fdatasync`.
    /// On macOS `fcntl(F_FULLFSYNC)` takes the place of `fdatasync` and follows the `msync`,
    /// since neither flushes the drive's cache there. When the length is unchanged (only
    /// in-place changes), the data `msync` is the whole commit; a sync with nothing changed
    /// does no I/O. After a successful commit, a cut of the file that
    /// [`shrink_to_fit`](Self::shrink_to_fit) had to put off while live readers were open is
    /// tried again (a failure of that leaves the file larger and is not reported).
    ///
    /// # Errors
    ///
    /// The OS error of the step that failed:
    ///
    /// * writing the element data failed: the previous commit stays the one a reopen sees,
    ///   and every later `sync` returns that error too (after a failed write-back the kernel
    ///   may have marked the pages clean without writing them, so no later `msync` could
    ///   prove them durable); close the vector and open it again to go on from the last
    ///   commit;
    /// * writing the commit slot failed ([`ErrorKind::OutOfSpace`] when a copy-on-write file
    ///   system cannot take it): the previous commit stays; `sync` can be called again;
    /// * flushing the written slot failed: the new length is already in the file's page
    ///   cache, so a reopen on this machine (and a live reader) sees it, and its elements
    ///   are durable; only whether the length itself survives a power loss is unknown.
    ///   [`committed_len`](Self::committed_len) says so, and the next `sync` flushes the
    ///   slot again: when it returns `Ok`, the length is durable.
    pub fn sync(&mut self) -> Result<()> {
        self.raw.commit(self.len, self.dirty_from)?;
        self.dirty_from = self.len;
        Ok(())
    }

    /// Commits like [`sync`](Self::sync), then unmaps, unlocks and closes the file,
    /// reporting any error (which `Drop` cannot).
    ///
    /// # Errors
    ///
    /// The error of the commit, or of `flock(LOCK_UN)`. The file is closed either way.
    pub fn close(mut self) -> Result<()> {
        let synced = self.sync();
        let this = ManuallyDrop::new(self);
        // SAFETY: `this` is never used or dropped again, so the region is moved out of it
        // exactly once and dropped (or closed) exactly once.
        let raw = unsafe { ptr::read(&this.raw) };
        let closed = raw.close();
        synced.and(closed)
    }
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

impl<T: Pod> Drop for MmapedVec<T> {
    /// Commits like [`sync`](MmapedVec::sync), ignoring errors (use
    /// [`close`](MmapedVec::close) to see them), then unmaps and unlocks.
    fn drop(&mut self) {
        let _ = self.raw.commit(self.len, self.dirty_from);
    }
}

impl<T: Pod> Deref for MmapedVec<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: elements `0..len` lie inside the live mapping (`len <= capacity`), are
        // aligned, and are valid `T` because `T: Pod` makes every bit pattern valid. The
        // borrow of `self` keeps the mapping from moving or being unmapped.
        unsafe { core::slice::from_raw_parts(self.ptr(), self.len) }
    }
}

impl<T: Pod> DerefMut for MmapedVec<T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut [T] {
        // Any element can change through this borrow: the next commit syncs them all.
        let p = self.write_from(0);
        // SAFETY: as in `deref`; the mapping is writable and `&mut self` makes this the only
        // reference into it.
        unsafe { core::slice::from_raw_parts_mut(p, self.len) }
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for MmapedVec<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Pod + PartialEq> PartialEq<[T]> for MmapedVec<T> {
    fn eq(&self, other: &[T]) -> bool {
        **self == *other
    }
}

impl<T: Pod + PartialEq, const N: usize> PartialEq<[T; N]> for MmapedVec<T> {
    fn eq(&self, other: &[T; N]) -> bool {
        **self == other[..]
    }
}

impl<T: Pod> AsRef<[T]> for MmapedVec<T> {
    fn as_ref(&self) -> &[T] {
        self
    }
}

impl<T: Pod> AsMut<[T]> for MmapedVec<T> {
    fn as_mut(&mut self) -> &mut [T] {
        self
    }
}

impl<'a, T: Pod> IntoIterator for &'a MmapedVec<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<'a, T: Pod> IntoIterator for &'a mut MmapedVec<T> {
    type Item = &'a mut T;
    type IntoIter = core::slice::IterMut<'a, T>;

    /// Iterates mutably; like any mutable borrow, the next commit syncs every element.
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}
