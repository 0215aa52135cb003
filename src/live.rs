//! `LiveReader<T>`: the typed facade of a live reader (`region::LiveRegion`), which reads a
//! vector file while a writer appends to it, in this process or another
//! (`docs/design.md`, "Live readers", has the protocol and why it holds). Elements are
//! copied out with volatile loads.

#![allow(unsafe_code)]

use core::fmt;
use core::marker::PhantomData;
use core::mem::size_of;
use core::ptr;

use crate::error::Result;
use crate::format::Layout;
use crate::options::OpenOptions;
use crate::path::PathArg;
use crate::pod::Pod;
use crate::region::LiveRegion;

/// A reader of a vector file beside a writer, in this process or another: it sees each of
/// the writer's commits once it [`refresh`](Self::refresh)es, and nothing uncommitted. Open
/// one with [`OpenOptions::open_live`](crate::OpenOptions::open_live); any number of live
/// readers and one writer ([`MmapedVec`](crate::MmapedVec)) share a file, opened in any order.
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("ticks.bin");
/// use persistence::{MmapedVec, OpenOptions};
///
/// let mut writer = MmapedVec::<u64>::open(&path)?;
/// writer.extend_from_slice(&[1, 2, 3])?;
/// writer.sync()?;
/// let mut reader = OpenOptions::new().open_live::<u64>(&path)?; // beside the writer
/// writer.push(4)?; // not committed: the reader does not see it
/// assert!(!reader.refresh()?);
/// writer.sync()?;
/// assert!(reader.refresh()?);
/// assert_eq!(reader.get(3), Some(4));
/// # Ok(()) }
/// ```
///
/// # What a reader sees
///
/// * **Committed lengths only**, each durable before it became visible, never going back
///   unless a shorter one was committed; a `refresh` sees every commit done before it began.
/// * **In-place changes at once**: an element of 1, 2, 4 or 8 bytes is read old or new,
///   wider ones may be torn (still a valid `T`); so [`as_slice`](Self::as_slice) is `unsafe`.
/// * **No fault, ever**, whatever the writer does through this library.
///
/// The lock file `<file>-live`, the limits (every writer of this version or later, one
/// machine, no single-file bind mounts, ...) and each point in full: `docs/guide.md`, "Live
/// readers"; the protocol: `docs/design.md`, "Live readers". `LiveReader` is `Send` and
/// `Sync`: `&self` methods only read, and the mapping moves only in `refresh` (`&mut self`).
pub struct LiveReader<T: Pod> {
    region: LiveRegion,
    _marker: PhantomData<T>,
}

/// Loads one element with a single volatile load of its width where there is one, so that an
/// element of 1, 2, 4 or 8 bytes (8 only on 64-bit targets) is read whole, whatever its
/// type's alignment: a `[u8; 8]` or a `pod!` struct of two `u32`s is one 8-byte load.
///
/// The width goes by the element's size, not by `align_of::<T>()`: element `i` lies at
/// `DATA_OFFSET + i * size` from a page-aligned base, so with a size of 2, 4 or 8 its
/// address is a multiple of that size (`docs/design.md`, "Reader reads").
///
/// # Safety
///
/// `p` is aligned for `T`, points to `size_of::<T>()` readable bytes, and when that size is
/// 2, 4 or 8, `p` is a multiple of it.
#[inline(always)]
pub(crate) unsafe fn load<T: Pod>(p: *const T) -> T {
    let size = size_of::<T>();
    debug_assert!(!matches!(size, 2 | 4 | 8) || p as usize % size == 0);
    // SAFETY: the caller guarantees `p` readable for `size_of::<T>()` bytes, aligned for `T`,
    // and for a size of 2, 4 or 8 a multiple of that size; each branch reads exactly `size`
    // bytes through a pointer aligned for the integer it reads, and `T: Pod` makes those
    // bytes a valid `T`.
    unsafe {
        if size == 1 {
            core::mem::transmute_copy(&ptr::read_volatile(p.cast::<u8>()))
        } else if size == 2 {
            core::mem::transmute_copy(&ptr::read_volatile(p.cast::<u16>()))
        } else if size == 4 {
            core::mem::transmute_copy(&ptr::read_volatile(p.cast::<u32>()))
        } else if size == 8 && size_of::<usize>() >= 8 {
            core::mem::transmute_copy(&ptr::read_volatile(p.cast::<u64>()))
        } else {
            ptr::read_volatile(p)
        }
    }
}

/// Copies `n` elements from `src` (a live mapping another process may be writing) to `dst`:
/// in bulk, never tearing an element of 1, 2, 4 or 8 bytes (`copy::copy_shared`).
///
/// # Safety
///
/// `src` is aligned for `T` and readable for `n` elements, `dst` writable for `n` elements,
/// and they do not overlap.
pub(crate) unsafe fn copy_elements<T: Pod>(src: *const T, dst: *mut T, n: usize) {
    // SAFETY: the caller's ranges, in bytes; `T: Pod` makes any bytes copied a valid `T`.
    unsafe { crate::copy::copy_shared(src.cast::<u8>(), dst.cast::<u8>(), n * size_of::<T>()) }
}

impl OpenOptions {
    /// Opens `path` as a [`LiveReader<T>`]: a reader beside a writer (in this process or
    /// another) and any number of other live readers, opened in any order, that sees each of
    /// the writer's commits when it [`refresh`](LiveReader::refresh)es. Never creates or
    /// writes the data file. `magic` and `version` are checked as [`open`](Self::open)
    /// checks them; `create`, `create_new`, `capacity` and `mode` are ignored.
    ///
    /// It takes a shared `flock` on the lock file `<file>-live` beside the data file
    /// (creating it when it is missing), never on the data file, and always waits for it,
    /// whatever [`wait_for_lock`](Self::wait_for_lock) says: only a writer cutting the file
    /// holds it exclusively, for one `ftruncate`. A file that holds no commit yet opens as an
    /// empty reader, which looks for the first commit at each `refresh`. See [`LiveReader`]
    /// and `docs/guide.md`, "Live readers".
    ///
    /// # Errors
    ///
    /// `NotFound` (unless [`wait_for_file(true)`](Self::wait_for_file): it then waits for the
    /// file), `PermissionDenied` (also when `<file>-live` is missing and cannot be
    /// created, as in a read-only directory before any writer opened the file),
    /// `NotARegularFile` (also for a `<file>-live` that is not a regular file),
    /// [`ErrorKind::InvalidPath`](crate::ErrorKind::InvalidPath) (a name too long to append
    /// `-live` to, or a file bind-mounted on its own), and the format errors of
    /// [`open`](Self::open) in the same order; `Corrupt` also for a `<file>-live` that is not
    /// empty.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("log.bin");
    /// use persistence::{ErrorKind, MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// // A second writer is still refused.
    /// assert_eq!(MmapedVec::<u32>::open(&path).unwrap_err().kind(), ErrorKind::Locked);
    /// writer.push(7)?;
    /// writer.sync()?;
    /// reader.refresh()?;
    /// assert_eq!(reader.get(0), Some(7));
    /// # Ok(()) }
    /// ```
    pub fn open_live<T: Pod>(&self, path: impl PathArg) -> Result<LiveReader<T>> {
        let layout = self.region_options::<T>(false).layout;
        let wait = self.waits_for_file();
        path.with_c_path(|p| crate::region::wait_for_file(wait, || LiveReader::open(p, layout)))
    }
}

impl<T: Pod> LiveReader<T> {
    /// Opens `path` live: see [`OpenOptions::open_live`](crate::OpenOptions::open_live).
    pub(crate) fn open(path: &core::ffi::CStr, layout: Layout) -> Result<Self> {
        Ok(LiveReader {
            region: LiveRegion::open(path, layout)?,
            _marker: PhantomData,
        })
    }

    /// The length of the commit seen at open or at the last [`refresh`](Self::refresh), in
    /// elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-len.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// writer.extend_from_slice(&[1, 2])?;
    /// writer.sync()?;
    /// assert_eq!(reader.len(), 0); // the commit seen at open
    /// reader.refresh()?;
    /// assert_eq!(reader.len(), 2);
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.region.len()
    }

    /// Whether [`len`](Self::len) is 0.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-is_empty.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// assert!(reader.is_empty());
    /// writer.push(1)?;
    /// writer.sync()?;
    /// reader.refresh()?;
    /// assert!(!reader.is_empty());
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves to the newest commit; returns `true` when the length changed.
    ///
    /// When nothing was committed since the last call it makes no system call: it compares
    /// the commit slots in the mapped header with those it saw last (a few nanoseconds). When
    /// a commit is new, it reads and checks the slots, and when the new length is past its
    /// mapping (the writer grew the file) it maps the file again, once. A slot that the writer
    /// is writing at that instant is detected (its checksum) and passed over, never believed.
    ///
    /// While the file holds no commit yet (opened as it was being created, or an empty file),
    /// each call reads the header with `pread` and `fstat` until a commit exists.
    ///
    /// # Errors
    ///
    /// The OS error of `fstat` or of mapping the file again (`mremap`, or `mmap`), with the
    /// reader unchanged; [`ErrorKind::Corrupt`](crate::ErrorKind::Corrupt) when the file is shorter than the new commit
    /// (something cut it without the lock protocol); while no commit exists yet, the errors
    /// of [`open_live`](crate::OpenOptions::open_live) once the header is complete.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-refresh.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// writer.push(1)?;
    /// assert!(!reader.refresh()?); // not committed: nothing to see
    /// writer.sync()?;
    /// assert!(reader.refresh()?); // a new length
    /// assert!(!reader.refresh()?); // nothing new since
    /// assert_eq!(reader.len(), 1);
    /// # Ok(()) }
    /// ```
    #[inline]
    pub fn refresh(&mut self) -> Result<bool> {
        self.region.refresh()
    }

    /// Waits until a commit newer than the one this reader adopted is visible, adopts it (as
    /// [`refresh`](Self::refresh) does) and returns `true`; or returns `false` once `timeout`
    /// has passed (`None`: wait for ever; `Some(Duration::ZERO)`: check once, never sleep).
    /// It returns at once when a newer commit is visible already.
    ///
    /// While it waits it uses no CPU: on Linux and Android it sleeps in `futex(FUTEX_WAIT)`
    /// on the word of the mapped header that the writer's next commit changes, and every
    /// writer of this version wakes it (`FUTEX_WAKE`) right after writing a commit slot, in
    /// any process; on FreeBSD with `_umtx_op`, on macOS 14.4 and later with
    /// `os_sync_wait_on_address`. Elsewhere, before the file holds a commit, and right after
    /// a slot was seen torn, it polls, sleeping from 50 µs doubling to 5 ms between checks.
    /// Signals and spurious wake-ups are absorbed. A writer that dies, is replaced by a new
    /// one, or whose file is replaced (converted in place) changes nothing of what `refresh`
    /// promises: no fault, no uncommitted length (a reader of a replaced file keeps the old
    /// file and waits until its timeout). The protocol and why no commit is missed:
    /// `docs/design.md`, "Waiting for a commit".
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
    /// # let path = dir.path().join("tail.bin");
    /// use std::time::Duration;
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut w = MmapedVec::<u64>::open(&path)?;
    /// let writer = std::thread::spawn(move || -> Result<(), persistence::Error> {
    ///     for i in 0..3 {
    ///         std::thread::sleep(Duration::from_millis(20));
    ///         w.push(i)?;
    ///         w.sync()?; // wakes the reader
    ///     }
    ///     Ok(())
    /// });
    /// let mut r = OpenOptions::new().open_live::<u64>(&path)?;
    /// let mut seen = 0;
    /// while seen < 3 {
    ///     if r.wait_for_commit(Some(Duration::from_millis(500)))? { // true: a new commit
    ///         for x in r.iter_from(seen) {
    ///             assert_eq!(x, seen as u64);
    ///             seen += 1;
    ///         }
    ///     }
    /// }
    /// writer.join().expect("the writer panicked")?;
    /// assert!(!r.wait_for_commit(Some(Duration::ZERO))?); // nothing newer: at once
    /// # Ok(()) }
    /// ```
    pub fn wait_for_commit(&mut self, timeout: Option<core::time::Duration>) -> Result<bool> {
        self.region.wait_for_commit(timeout)
    }

    /// The element at `index`, copied out (one volatile read), or `None` past
    /// [`len`](Self::len).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-get.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// writer.extend_from_slice(&[10, 20])?;
    /// writer.sync()?;
    /// reader.refresh()?;
    /// assert_eq!(reader.get(1), Some(20));
    /// assert_eq!(reader.get(2), None);
    /// writer[1] = 21; // an in-place change shows at once
    /// assert_eq!(reader.get(1), Some(21));
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn get(&self, index: usize) -> Option<T> {
        if index < self.len() {
            // SAFETY: `index < len`, and elements `0..len` lie in the mapping, aligned for `T`
            // and to their size as `load` needs (the mapping is page-aligned, element data
            // starts at 4096, element `i` at `i * size_of::<T>()` from there, and
            // `align_of::<T>() <= 4096`).
            Some(unsafe { load(self.data().add(index)) })
        } else {
            None
        }
    }

    /// Copies elements `start..` into `out`, as many as fit and exist below
    /// [`len`](Self::len); returns how many. Each is read once (as [`get`](Self::get) reads
    /// it).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-copy_to.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// writer.extend_from_slice(&[1, 2, 3, 4, 5])?;
    /// writer.sync()?;
    /// reader.refresh()?;
    /// let mut buf = [0; 4];
    /// assert_eq!(reader.copy_to(3, &mut buf), 2); // only elements 3 and 4 exist
    /// assert_eq!(buf[..2], [4, 5]);
    /// # Ok(()) }
    /// ```
    pub fn copy_to(&self, start: usize, out: &mut [T]) -> usize {
        let n = out.len().min(self.len().saturating_sub(start));
        // SAFETY: elements `start..start + n` lie in the mapping (below `len`), aligned, and
        // `out` holds `n` elements; `copy_elements`' contract.
        unsafe { copy_elements(self.data().add(start), out.as_mut_ptr(), n) };
        n
    }

    /// An iterator over copies of elements `0..len` (each read once, as [`get`](Self::get)
    /// reads it).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-iter.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// writer.extend_from_slice(&[1, 2, 3])?;
    /// writer.sync()?;
    /// reader.refresh()?;
    /// assert_eq!(reader.iter().sum::<u32>(), 6);
    /// assert_eq!(reader.iter().rev().next(), Some(3));
    /// # Ok(()) }
    /// ```
    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = T> + ExactSizeIterator + core::iter::FusedIterator + '_
    {
        self.iter_from(0)
    }

    /// An iterator over copies of elements `start..len`, read as [`get`](Self::get) reads
    /// them: what `iter().skip(start)` yields, without reading the skipped elements (a tailer
    /// that reads what is new since last time). Empty when `start >= len`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-iter_from.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// writer.extend_from_slice(&[1, 2, 3])?;
    /// writer.sync()?;
    /// reader.refresh()?;
    /// let seen = reader.len();
    /// writer.extend_from_slice(&[4, 5])?;
    /// writer.sync()?;
    /// reader.refresh()?;
    /// assert_eq!(reader.iter_from(seen).collect::<Vec<_>>(), [4, 5]); // only the new ones
    /// assert_eq!(reader.iter_from(99).count(), 0);
    /// # Ok(()) }
    /// ```
    pub fn iter_from(
        &self,
        start: usize,
    ) -> impl DoubleEndedIterator<Item = T> + ExactSizeIterator + core::iter::FusedIterator + '_
    {
        // One volatile load per element, not a bulk copy into a buffer: the loop of loads and
        // whatever the caller does with each runs at the speed of a plain scan (bench S11c),
        // where copying first would read everything twice.
        (start.min(self.len())..self.len()).map(move |i| {
            // SAFETY: every index of `start..len` lies in the mapping, aligned (as in `get`),
            // and the borrow of `self` keeps the mapping in place.
            unsafe { load(self.data().add(i)) }
        })
    }

    /// The elements `0..len` as a slice, without copying.
    ///
    /// # Safety
    ///
    /// While the returned slice, or any reference derived from it, is alive, no byte of
    /// elements `0..self.len()` may change. No process, this one included, may change those
    /// elements in place: through a writer's `v[i] = x`, `insert`, `remove`, `swap_remove`,
    /// `retain`, `dedup`, `sort`, `drain`, `truncate` or `clear` followed by `push`, writes
    /// through `DerefMut`, `as_mut_ptr` or `spare_capacity_mut` below this reader's length,
    /// and no other program may write the file. Appending past `self.len()` and committing is
    /// fine: the slice never covers those bytes. A writer that only appends, and never
    /// truncates below this reader's length while the slice lives, meets this for all time.
    ///
    /// Rust assumes that memory behind a `&[T]` does not change while the reference lives; a
    /// change made by another process breaks that assumption and is undefined behaviour, not
    /// just a stale value. When the writer may change elements in place, use
    /// [`get`](Self::get), [`copy_to`](Self::copy_to) or [`iter`](Self::iter): they copy each
    /// element out with a volatile read.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-as_slice.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u32>::open(&path)?;
    /// let mut reader = OpenOptions::new().open_live::<u32>(&path)?;
    /// writer.extend_from_slice(&[1, 2, 3])?;
    /// writer.sync()?;
    /// reader.refresh()?;
    /// // SAFETY: nothing changes elements 0..3 while `s` lives: this process's only writer just
    /// // appends (below), and no other program writes the file.
    /// let s = unsafe { reader.as_slice() };
    /// writer.push(4)?; // past the reader's length: fine
    /// writer.sync()?;
    /// assert_eq!(s, [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub unsafe fn as_slice(&self) -> &[T] {
        // SAFETY: elements `0..len` lie in the mapping (or `len == 0` and the pointer is
        // dangling but aligned), aligned, valid `T` (`T: Pod`); the mapping stays while
        // `&self` is borrowed; the caller guarantees that nothing changes them meanwhile.
        unsafe { core::slice::from_raw_parts(self.data(), self.len()) }
    }

    /// Unmaps, releases the lock on `<file>-live` and closes, reporting an unlock failure
    /// (which dropping the reader ignores).
    ///
    /// # Errors
    ///
    /// The OS error of `flock(LOCK_UN)`. The reader is closed either way.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("live-close.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let mut writer = MmapedVec::<u64>::open(&path)?;
    /// writer.reserve(1000)?;
    /// writer.push(1)?;
    /// writer.sync()?;
    /// let reader = OpenOptions::new().open_live::<u64>(&path)?;
    /// writer.shrink_to_fit()?;
    /// assert!(writer.capacity() >= 1000); // a live reader is open: the file is not cut
    /// reader.close()?;
    /// writer.shrink_to_fit()?;
    /// assert_eq!(writer.capacity(), 1);
    /// # Ok(()) }
    /// ```
    pub fn close(mut self) -> Result<()> {
        self.region.close()
    }

    /// Element 0: inside the mapping, or dangling (aligned) while unmapped.
    #[inline]
    fn data(&self) -> *const T {
        self.region.data_ptr().as_ptr().cast::<T>()
    }
}

impl<T: Pod> Drop for LiveReader<T> {
    /// Unmaps, then releases the lock on `<file>-live` explicitly (a child forked elsewhere
    /// may share the open file description and would otherwise keep it), then closes both
    /// descriptors; in a forked child, unmaps and closes only. (The region's own `Drop` does
    /// it, in that order; [`close`](Self::close) does it and reports an unlock failure.)
    fn drop(&mut self) {}
}

impl<T: Pod> fmt::Debug for LiveReader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LiveReader")
            .field("len", &self.len())
            .field("sequence", &self.region.sequence())
            .field("mapped_bytes", &self.region.mapped_len())
            .finish()
    }
}
