//! [`Drain`]: the iterator of [`MmapedVec::drain`].

use core::fmt;
use core::iter::FusedIterator;

use super::MmapedVec;
use crate::pod::Pod;
use crate::storage::{Storage, VecFile};

/// The elements of a range of an [`MmapedVec`], removed when this iterator is dropped;
/// made by [`MmapedVec::drain`].
///
/// It yields copies of the elements (`T: Pod` is `Copy`), from the front or the back. The
/// vector is not changed until the iterator is dropped; then the whole range is removed,
/// however much of it was consumed, and the elements after it move down. Leaked with
/// `mem::forget`, it leaves the vector as it was.
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut v = persistence::MmapedVec::<u32>::open(dir.path().join("v.bin"))?;
/// v.extend_from_slice(&[1, 2, 3, 4, 5, 6])?;
/// let mut d = v.drain(1..5);
/// assert_eq!(d.len(), 4);
/// assert_eq!(d.next(), Some(2));
/// assert_eq!(d.next_back(), Some(5));
/// assert_eq!(d.as_slice(), &[3, 4]);
/// drop(d); // 3 and 4 go too
/// assert_eq!(v, [1, 6]);
/// # Ok(()) }
/// ```
pub struct Drain<'a, T: Pod, S: Storage = VecFile> {
    vec: &'a mut MmapedVec<T, S>,
    /// Where the range starts: the elements after it move here when the iterator drops.
    start: usize,
    /// Where the range ends.
    end: usize,
    /// The elements `front..back` have not been yielded yet; `start <= front <= back <= end`.
    front: usize,
    back: usize,
}

impl<'a, T: Pod, S: Storage> Drain<'a, T, S> {
    pub(super) fn new(vec: &'a mut MmapedVec<T, S>, start: usize, end: usize) -> Self {
        debug_assert!(start <= end && end <= vec.len());
        Drain {
            vec,
            start,
            end,
            front: start,
            back: end,
        }
    }

    /// The elements not yet yielded.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("drain-as_slice.bin");
    /// use persistence::MmapedVec;
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3, 4])?;
    /// let mut d = v.drain(..3);
    /// assert_eq!(d.as_slice(), &[1, 2, 3]);
    /// d.next();
    /// assert_eq!(d.as_slice(), &[2, 3]);
    /// drop(d); // the whole range goes, yielded or not
    /// assert_eq!(v, [4]);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn as_slice(&self) -> &[T] {
        &self.vec[self.front..self.back]
    }
}

impl<T: Pod, S: Storage> Iterator for Drain<'_, T, S> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.front == self.back {
            return None;
        }
        let x = self.vec[self.front];
        self.front += 1;
        Some(x)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<T: Pod, S: Storage> DoubleEndedIterator for Drain<'_, T, S> {
    #[inline]
    fn next_back(&mut self) -> Option<T> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(self.vec[self.back])
    }
}

impl<T: Pod, S: Storage> ExactSizeIterator for Drain<'_, T, S> {}

impl<T: Pod, S: Storage> FusedIterator for Drain<'_, T, S> {}

impl<T: Pod, S: Storage> Drop for Drain<'_, T, S> {
    /// Removes the whole range: the elements after it move down to its start.
    fn drop(&mut self) {
        let (start, end) = (self.start, self.end);
        if start == end {
            return;
        }
        let len = self.vec.len;
        if end < len {
            self.vec.tail_mut(start).copy_within(end - start.., 0);
        }
        self.vec.set_len_marked(len - (end - start));
    }
}

impl<T: Pod + fmt::Debug, S: Storage> fmt::Debug for Drain<'_, T, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Drain").field(&self.as_slice()).finish()
    }
}
