//! Comparison, hashing and borrowing of [`MmapedVec`], as `Vec` has them (all through the
//! slice of elements), and `std::io::Write` for `MmapedVec<u8>`.

use core::borrow::{Borrow, BorrowMut};
use core::cmp::Ordering;
use core::hash::{Hash, Hasher};

use super::MmapedVec;
use crate::pod::Pod;
use crate::storage::Storage;

/// `PartialEq` between a vector and another sequence, both ways round, element by element
/// (`T: PartialEq<U>`), as std has them for `Vec`.
macro_rules! impl_eq {
    ($([$($gen:tt)*] $lhs:ty, $rhs:ty;)*) => {$(
        impl<$($gen)*> PartialEq<$rhs> for $lhs
        where
            T: PartialEq<U>,
        {
            #[inline]
            fn eq(&self, other: &$rhs) -> bool {
                self[..] == other[..]
            }
        }
    )*};
}

impl_eq! {
    [T: Pod, U: Pod, S: Storage, S2: Storage] MmapedVec<T, S>, MmapedVec<U, S2>;
    [T: Pod, U, S: Storage] MmapedVec<T, S>, [U];
    [T: Pod, U, S: Storage] MmapedVec<T, S>, &[U];
    [T: Pod, U, S: Storage] MmapedVec<T, S>, &mut [U];
    [T: Pod, U, S: Storage, const N: usize] MmapedVec<T, S>, [U; N];
    [T: Pod, U, S: Storage, const N: usize] MmapedVec<T, S>, &[U; N];
    [T, U: Pod, S: Storage] [T], MmapedVec<U, S>;
    [T, U: Pod, S: Storage] &[T], MmapedVec<U, S>;
    [T, U: Pod, S: Storage] &mut [T], MmapedVec<U, S>;
    [T, U: Pod, S: Storage, const N: usize] [T; N], MmapedVec<U, S>;
    [T, U: Pod, S: Storage, const N: usize] &[T; N], MmapedVec<U, S>;
}

#[cfg(feature = "std")]
impl_eq! {
    [T: Pod, U, S: Storage] MmapedVec<T, S>, std::vec::Vec<U>;
    [T, U: Pod, S: Storage] std::vec::Vec<T>, MmapedVec<U, S>;
}

impl<T: Pod + Eq, S: Storage> Eq for MmapedVec<T, S> {}

impl<T: Pod + PartialOrd, S: Storage> PartialOrd for MmapedVec<T, S> {
    /// Compares the elements lexicographically, as slices (and `Vec`s) do.
    #[inline]
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        PartialOrd::partial_cmp(&**self, &**other)
    }
}

impl<T: Pod + Ord, S: Storage> Ord for MmapedVec<T, S> {
    /// Compares the elements lexicographically, as slices (and `Vec`s) do.
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        Ord::cmp(&**self, &**other)
    }
}

impl<T: Pod + Hash, S: Storage> Hash for MmapedVec<T, S> {
    /// Hashes exactly as the slice of elements does (as `Vec` does), so that
    /// `Borrow<[T]>` keeps its promise: a `HashSet<MmapedVec<T>>` can be searched by `&[T]`.
    #[inline]
    fn hash<H: Hasher>(&self, state: &mut H) {
        Hash::hash(&**self, state);
    }
}

impl<T: Pod, S: Storage> Borrow<[T]> for MmapedVec<T, S> {
    #[inline]
    fn borrow(&self) -> &[T] {
        self
    }
}

impl<T: Pod, S: Storage> BorrowMut<[T]> for MmapedVec<T, S> {
    /// A mutable borrow of every element: like any, the next commit syncs them all.
    #[inline]
    fn borrow_mut(&mut self) -> &mut [T] {
        self
    }
}

/// `write` appends to the vector, growing the file as [`extend_from_slice`] does.
///
/// `flush` does nothing and returns `Ok`: the bytes are in the file's shared mapping
/// already (as `std::fs::File::flush` does nothing). It does **not** make them durable, nor
/// visible to a live reader: [`sync`](MmapedVec::sync) does both. It is not a commit
/// because `Write` users call `flush` freely (`BufWriter`, loggers), and a commit costs two
/// flushes to the disk.
///
/// A failed `write` appends nothing. Its error is
/// `io::Error::from_raw_os_error` where the OS gave one (`ENOSPC` for a full disk), else an
/// `io::Error` of the matching kind; either way it holds no heap data.
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("log.bin");
/// use std::io::Write;
///
/// let mut log = persistence::MmapedVec::<u8>::open(&path)?;
/// writeln!(log, "started {}", 42)?;
/// log.write_all(b"ok\n")?;
/// log.flush()?; // nothing to do
/// log.sync()?; // durable
/// assert_eq!(&log[..], b"started 42\nok\n");
/// # Ok(()) }
/// ```
///
/// [`extend_from_slice`]: MmapedVec::extend_from_slice
#[cfg(feature = "std")]
impl<S: Storage> std::io::Write for MmapedVec<u8, S> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.extend_from_slice(buf).map_err(io_error)?;
        Ok(buf.len())
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.extend_from_slice(buf).map_err(io_error)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// `e` as an `io::Error` without the heap: the OS error code where there is one, else the
/// kind alone.
#[cfg(feature = "std")]
fn io_error(e: crate::error::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => std::io::Error::from(e.kind().io_kind()),
    }
}
