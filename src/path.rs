//! `PathArg`: what `open` accepts as a path, converted to a `&CStr` without touching the heap.

use core::ffi::CStr;

use crate::error::{Error, ErrorKind, Result};

/// The longest path, in bytes, that is converted on the stack; the kernel's own `PATH_MAX`
/// (4096 including the terminating NUL on Linux) refuses longer ones anyway.
pub const MAX_PATH: usize = 4095;

/// Something that names a file: `&CStr` (no copy at all), `&str` and `&[u8]`, and with the
/// `std` feature `&Path`, `PathBuf`, `&OsStr`, `String` and the rest.
///
/// Paths that are not already NUL-terminated are copied into a stack buffer of
/// [`MAX_PATH`]` + 1` bytes, never onto the heap. A longer path, or one with an interior
/// NUL byte, is [`ErrorKind::InvalidPath`]; to open a file under a longer path, open a
/// shorter relative one from its directory.
///
/// The trait is sealed: only this crate implements it, so that how a path reaches the kernel
/// stays this crate's to change (a `Path` of another platform, say) without breaking anyone.
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// use persistence::MmapedVec;
///
/// let path = dir.path().join("v.bin"); // a PathBuf; &str and &CStr work too
/// let v = MmapedVec::<u64>::open(&path)?;
/// # drop(v);
/// let from_str = MmapedVec::<u64>::open(path.to_str().unwrap())?;
/// # drop(from_str);
/// # Ok(()) }
/// ```
///
/// ```compile_fail
/// // Sealed: no other crate can implement it.
/// struct MyPath;
/// impl persistence::PathArg for MyPath {
///     fn with_c_path<R>(
///         &self,
///         f: impl FnOnce(&core::ffi::CStr) -> persistence::Result<R>,
///     ) -> persistence::Result<R> {
///         f(c"x")
///     }
/// }
/// ```
pub trait PathArg: sealed::Sealed {
    /// Calls `f` with this path as a NUL-terminated C string.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidPath`] for an interior NUL or a path longer than [`MAX_PATH`];
    /// otherwise whatever `f` returns.
    fn with_c_path<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R>;
}

mod sealed {
    /// Implemented for exactly the types that implement [`PathArg`](super::PathArg).
    pub trait Sealed {}
    impl Sealed for core::ffi::CStr {}
    impl Sealed for str {}
    impl Sealed for [u8] {}
    impl<T: Sealed + ?Sized> Sealed for &T {}
    impl<T: Sealed + ?Sized> Sealed for &mut T {}
    #[cfg(all(feature = "std", unix))]
    impl Sealed for std::path::Path {}
    #[cfg(all(feature = "std", unix))]
    impl Sealed for std::path::PathBuf {}
    #[cfg(all(feature = "std", unix))]
    impl Sealed for std::ffi::OsStr {}
    #[cfg(all(feature = "std", unix))]
    impl Sealed for std::ffi::OsString {}
    #[cfg(all(feature = "std", unix))]
    impl Sealed for std::string::String {}
    #[cfg(all(feature = "std", unix))]
    impl Sealed for std::ffi::CString {}
}

/// Copies `bytes` into a stack buffer, NUL-terminates it and calls `f`.
pub(crate) fn with_bytes<R>(bytes: &[u8], f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
    if bytes.len() > MAX_PATH {
        return Err(Error::value(
            ErrorKind::InvalidPath,
            "path longer than 4095 bytes:",
            bytes.len() as u64,
        ));
    }
    let mut buf = [0u8; MAX_PATH + 1];
    buf[..bytes.len()].copy_from_slice(bytes);
    let c = CStr::from_bytes_with_nul(&buf[..=bytes.len()])
        .map_err(|_| Error::new(ErrorKind::InvalidPath, "path contains a NUL byte"))?;
    f(c)
}

impl PathArg for CStr {
    fn with_c_path<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        f(self)
    }
}

impl PathArg for str {
    fn with_c_path<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        with_bytes(self.as_bytes(), f)
    }
}

impl PathArg for [u8] {
    fn with_c_path<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        with_bytes(self, f)
    }
}

impl<T: PathArg + ?Sized> PathArg for &T {
    fn with_c_path<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        (**self).with_c_path(f)
    }
}

impl<T: PathArg + ?Sized> PathArg for &mut T {
    fn with_c_path<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        (**self).with_c_path(f)
    }
}

#[cfg(all(feature = "std", unix))]
mod std_impls {
    use super::{with_bytes, PathArg};
    use crate::error::Result;
    use core::ffi::CStr;
    use std::ffi::{CString, OsStr, OsString};
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};
    use std::string::String;

    macro_rules! via_os_str {
        ($($t:ty),*) => {$(
            impl PathArg for $t {
                fn with_c_path<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
                    let os: &OsStr = self.as_ref();
                    with_bytes(os.as_bytes(), f)
                }
            }
        )*};
    }
    via_os_str!(Path, PathBuf, OsStr, OsString, String);

    impl PathArg for CString {
        fn with_c_path<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
            f(self.as_c_str())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_without_heap_and_refuses_bad_paths() {
        let got = "abc".with_c_path(|c| Ok(c.to_bytes().len())).unwrap();
        assert_eq!(got, 3);
        assert_eq!(c"xy".with_c_path(|c| Ok(c.to_bytes().len())).unwrap(), 2);
        let nul = "a\0b".with_c_path(|_| Ok(())).unwrap_err();
        assert_eq!(nul.kind(), ErrorKind::InvalidPath);
        let long = [b'a'; MAX_PATH + 1];
        assert_eq!(
            long[..].with_c_path(|_| Ok(())).unwrap_err().kind(),
            ErrorKind::InvalidPath
        );
        assert!(long[..MAX_PATH]
            .with_c_path(|c| Ok(c.to_bytes().len() == MAX_PATH))
            .unwrap());
    }
}
