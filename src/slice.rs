//! `MmapedSlice<T>`: the read-only typed view, under a shared lock.

#![allow(unsafe_code)]

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;

use crate::error::Result;
use crate::options::OpenOptions;
use crate::path::PathArg;
use crate::pod::Pod;
use crate::region::RawRegion;

/// A read-only view of a vector file, mapped `PROT_READ` under a shared `flock` lock:
/// many readers at once, no writer meanwhile. It shows the committed length found on open.
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("v.bin");
/// use persistence::{MmapedSlice, MmapedVec};
///
/// let mut v = MmapedVec::<u32>::open(&path)?;
/// v.extend_from_slice(&[1, 2, 3])?;
/// v.close()?;
///
/// let a = MmapedSlice::<u32>::open(&path)?;
/// let b = MmapedSlice::<u32>::open(&path)?; // readers share the file
/// assert_eq!(a.iter().sum::<u32>(), 6);
/// assert_eq!(&a[..], &b[..]);
/// # Ok(()) }
/// ```
pub struct MmapedSlice<T: Pod> {
    raw: RawRegion,
    len: usize,
    _marker: PhantomData<T>,
}

impl OpenOptions {
    /// Opens `path` as a read-only [`MmapedSlice<T>`] under a shared lock. Never creates or
    /// writes the file; `create`, `create_new` and `capacity` are ignored.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); a missing file is `NotFound`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-open_read_only.bin");
    /// use persistence::{ErrorKind, OpenOptions};
    ///
    /// let opts = *OpenOptions::new().magic(*b"PRICES\0\0");
    /// assert_eq!(opts.open_read_only::<f64>(&path).unwrap_err().kind(), ErrorKind::NotFound);
    ///
    /// let mut v = opts.open::<f64>(&path)?;
    /// v.extend_from_slice(&[1.5, 2.5])?;
    /// v.close()?;
    /// let prices = opts.open_read_only::<f64>(&path)?;
    /// assert_eq!(prices.iter().sum::<f64>(), 4.0);
    /// # Ok(()) }
    /// ```
    pub fn open_read_only<T: Pod>(&self, path: impl PathArg) -> Result<MmapedSlice<T>> {
        let opts = self.region_options::<T>(false);
        path.with_c_path(|p| RawRegion::open(p, &opts))
            .map(MmapedSlice::from_region)
    }
}

impl<T: Pod> MmapedSlice<T> {
    /// Opens `path` read-only with a shared lock; as
    /// [`OpenOptions::new().open_read_only(path)`](OpenOptions::open_read_only). Never
    /// creates a file: a missing one is [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Locked`](crate::ErrorKind::Locked) while a writer holds the file; the
    /// format errors of [`MmapedVec::open`](crate::MmapedVec::open).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("slice-open.bin");
    /// use persistence::{ErrorKind, MmapedSlice, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// assert_eq!(MmapedSlice::<u32>::open(&path).unwrap_err().kind(), ErrorKind::Locked);
    /// v.close()?;
    ///
    /// let s = MmapedSlice::<u32>::open(&path)?; // once the writer is gone
    /// assert_eq!(s[..], [1, 2, 3]);
    /// # Ok(()) }
    /// ```
    pub fn open(path: impl PathArg) -> Result<Self> {
        OpenOptions::new().open_read_only(path)
    }

    pub(crate) fn from_region(raw: RawRegion) -> Self {
        let len = raw.committed_len();
        MmapedSlice {
            raw,
            len,
            _marker: PhantomData,
        }
    }

    /// What the open found beyond the commit it opened to (as
    /// [`MmapedVec::open_report`](crate::MmapedVec::open_report)).
    #[must_use]
    pub fn open_report(&self) -> crate::report::OpenReport {
        self.raw.open_report()
    }

    /// The number of elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("slice-len.bin");
    /// use persistence::{MmapedSlice, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// v.close()?;
    ///
    /// let s = MmapedSlice::<u32>::open(&path)?;
    /// assert_eq!(s.len(), 3);
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the view holds no elements.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("slice-is_empty.bin");
    /// use persistence::{MmapedSlice, MmapedVec};
    ///
    /// MmapedVec::<u32>::open(&path)?.close()?; // an empty vector file
    /// let s = MmapedSlice::<u32>::open(&path)?;
    /// assert!(s.is_empty());
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A slice of all elements (as `&s[..]`).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("slice-as_slice.bin");
    /// use persistence::{MmapedSlice, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[3, 1, 2])?;
    /// v.close()?;
    ///
    /// let s = MmapedSlice::<u32>::open(&path)?;
    /// let xs: &[u32] = s.as_slice();
    /// assert_eq!(xs.iter().max(), Some(&3));
    /// # Ok(()) }
    /// ```
    #[inline]
    #[must_use]
    pub fn as_slice(&self) -> &[T] {
        self
    }
}

impl<T: Pod> Deref for MmapedSlice<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        // SAFETY: `len` was validated on open to fit inside the file, which is mapped whole
        // (or `len == 0` and the pointer is dangling but aligned); the shared lock keeps
        // cooperating writers out; `T: Pod` makes any bytes a valid `T`.
        unsafe { core::slice::from_raw_parts(self.raw.data_ptr().as_ptr().cast::<T>(), self.len) }
    }
}

impl<T: Pod + fmt::Debug> fmt::Debug for MmapedSlice<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: Pod> AsRef<[T]> for MmapedSlice<T> {
    fn as_ref(&self) -> &[T] {
        self
    }
}

impl<'a, T: Pod> IntoIterator for &'a MmapedSlice<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}
