//! `Error` and `ErrorKind`: small, `Copy`, heap-free.
//!
//! An [`Error`] is a kind, an optional OS error code, and an optional pair of numbers that say
//! which value was found and which was expected ("element size 4, file holds 8"). Its `Display`
//! is built from static text and those numbers, so formatting it never allocates either.

use core::fmt;

/// What went wrong. Each way a file can be refused has its own kind, so that callers can
/// match on it; `Display` on [`Error`] says the same in words with the offending values.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Another handle holds a conflicting `flock` lock (a writer excludes everyone, readers
    /// exclude writers) and `wait_for_lock(false)` was asked for.
    Locked,
    /// The file does not exist (and `create(false)`, or a read-only open), or a directory
    /// of its path is not a directory (`ENOTDIR`: `file.bin/x`).
    NotFound,
    /// `create_new(true)` and the file exists already.
    AlreadyExists,
    /// The OS refused access to the file (`EACCES`, `EPERM`, `EROFS`).
    PermissionDenied,
    /// The path names a directory, FIFO, socket or device, not a regular file.
    NotARegularFile,
    /// Not a persistence file: the first 8 bytes are not the format magic `PERSISTV`.
    BadMagic,
    /// A persistence file of another application: its application magic differs.
    MagicMismatch,
    /// A persistence file written on a machine of the other byte order.
    WrongEndianness,
    /// A persistence file of a format version this build does not read.
    UnsupportedFormatVersion,
    /// The application data version differs from `OpenOptions::version`.
    VersionMismatch,
    /// The element size or alignment, or the writer's `usize` width, differ from this `T`.
    LayoutMismatch,
    /// The element type differs from this `T` although size and alignment agree: the file
    /// records another type [fingerprint](crate::Fingerprint) (an `f32` file opened as
    /// `u32`, a `pod!` struct with other fields). `migrate` is the way from one type to
    /// another.
    TypeMismatch,
    /// A persistence file of another kind: a commit group's file opened as one vector, or
    /// a vector's file opened as a group.
    WrongFileKind,
    /// The file is damaged: a checksum does not match, no commit slot is valid, it is
    /// shorter than its header or than its committed length, or a field holds an
    /// impossible value.
    Corrupt,
    /// The file system is full, or the user's disk quota is used up (`ENOSPC`, `EDQUOT`).
    /// Nothing was changed.
    OutOfSpace,
    /// The requested size overflows `usize`, `isize::MAX` bytes or the file offset type.
    CapacityOverflow,
    /// Any other OS error; [`Error::raw_os_error`] has the code.
    Io,
    /// The path holds a NUL byte, is longer than [`MAX_PATH`](crate::MAX_PATH) bytes, has a
    /// name longer than the file system allows (`ENAMETOOLONG`), or goes round a loop of
    /// symbolic links (`ELOOP`); for [`open_live`](crate::OpenOptions::open_live) also: the
    /// file's name leaves no room for the `-live` of its lock file within 255 bytes, the path
    /// goes through more than 40 symbolic links, or (Linux) the file is bind-mounted on its
    /// own.
    InvalidPath,
    /// The file would grow past the largest size its file system allows, or past the
    /// process's `RLIMIT_FSIZE` (`EFBIG`): a limit of the file, not a full disk, so freeing
    /// space does not help. Nothing was changed. (Past `RLIMIT_FSIZE` the kernel also sends
    /// `SIGXFSZ`, which ends the process unless it ignores that signal.)
    FileTooLarge,
    /// The handle was opened by another process: this is a child forked from it (without
    /// `exec`). The child shares the parent's open files and locks, so it may only drop the
    /// handle (which unmaps and closes its copy, without committing or unlocking); every
    /// call that would commit, grow, write through the descriptor or cut fails with this.
    WrongProcess,
    /// A commit group's columns do not have the same length where rows were asked for
    /// ([`Group::sync_rows`](crate::Group::sync_rows), [`Group::rows`](crate::Group::rows)).
    /// Nothing was committed.
    UnequalLengths,
    /// A column of another commit group, or another column of this one, was swapped into a
    /// group's column (`mem::swap` of two `&mut Column<T>`): committing would record a length
    /// for blocks the group does not hold. Swap them back. Nothing was committed.
    ForeignColumn,
}

/// Which values an [`Error`] carries, to say what was found and what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Detail {
    /// Nothing beyond the kind and the context.
    None,
    /// `found` is what the file holds, `expected` what the caller asked for, both shown as
    /// `show` says.
    Mismatch {
        found: u64,
        expected: u64,
        show: Show,
    },
    /// A single value that explains the error (a size, a length, an offset).
    Value(u64),
}

/// How a [`Detail::Mismatch`] shows its values: as a person compares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Show {
    /// Decimal: sizes, lengths, versions.
    Decimal,
    /// `0x` and 16 hex digits: checksums.
    Hex,
    /// 8 bytes (the `u64`'s big-endian bytes) as text where printable, and in hex:
    /// `"TRADES\0\0" (54 52 41 44 45 53 00 00)`.
    Magic,
    /// A type [fingerprint](crate::Fingerprint), with the primitive's name where it is one's.
    Fingerprint,
}

/// Writes `v` as [`Show`] says.
fn show(f: &mut fmt::Formatter<'_>, v: u64, how: Show) -> fmt::Result {
    match how {
        Show::Decimal => write!(f, "{v}"),
        Show::Hex => write!(f, "{v:#018x}"),
        Show::Magic => {
            let b = v.to_be_bytes();
            f.write_str("\"")?;
            for &c in &b {
                if c.is_ascii_graphic() || c == b' ' {
                    write!(f, "{}", c as char)?;
                } else {
                    write!(f, "\\x{c:02x}")?;
                }
            }
            f.write_str("\" (")?;
            for (i, c) in b.iter().enumerate() {
                write!(f, "{}{c:02x}", if i == 0 { "" } else { " " })?;
            }
            f.write_str(")")
        }
        Show::Fingerprint => write!(f, "{}", crate::fingerprint::Fingerprint::from_u64(v)),
    }
}

/// The error type of every fallible call in this crate.
///
/// It is `Copy` and holds no heap data: a kind, the OS error code where there is one, a short
/// static description of what was being done, and the values that explain a mismatch.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Error {
    kind: ErrorKind,
    errno: i32,
    context: &'static str,
    detail: Detail,
    /// The column of a commit group the error is about, plus one (0: none).
    column: u8,
}

impl Error {
    /// An error of `kind` while doing `context` (a short phrase: "element size").
    pub(crate) const fn new(kind: ErrorKind, context: &'static str) -> Self {
        Error {
            kind,
            errno: 0,
            column: 0,
            context,
            detail: Detail::None,
        }
    }

    /// An error that says what the file holds (`found`) against what was asked (`expected`).
    pub(crate) const fn mismatch(
        kind: ErrorKind,
        context: &'static str,
        found: u64,
        expected: u64,
    ) -> Self {
        Error {
            kind,
            errno: 0,
            column: 0,
            context,
            detail: Detail::Mismatch {
                found,
                expected,
                show: Show::Decimal,
            },
        }
    }

    /// A checksum that does not match (`Corrupt`), both shown in hex.
    pub(crate) const fn checksums(context: &'static str, found: u64, expected: u64) -> Self {
        Error {
            kind: ErrorKind::Corrupt,
            errno: 0,
            column: 0,
            context,
            detail: Detail::Mismatch {
                found,
                expected,
                show: Show::Hex,
            },
        }
    }

    /// Another application's magic (`MagicMismatch`), both shown as bytes and text.
    pub(crate) const fn magics(found: [u8; 8], expected: [u8; 8]) -> Self {
        Error {
            kind: ErrorKind::MagicMismatch,
            errno: 0,
            column: 0,
            context: "application magic",
            detail: Detail::Mismatch {
                found: u64::from_be_bytes(found),
                expected: u64::from_be_bytes(expected),
                show: Show::Magic,
            },
        }
    }

    /// Another element type (`TypeMismatch`): both fingerprints, by name where known.
    pub(crate) const fn fingerprints(found: u64, expected: u64) -> Self {
        Error {
            kind: ErrorKind::TypeMismatch,
            errno: 0,
            column: 0,
            context: "element type fingerprint",
            detail: Detail::Mismatch {
                found,
                expected,
                show: Show::Fingerprint,
            },
        }
    }

    /// An error that carries one explanatory value.
    pub(crate) const fn value(kind: ErrorKind, context: &'static str, value: u64) -> Self {
        Error {
            kind,
            errno: 0,
            column: 0,
            context,
            detail: Detail::Value(value),
        }
    }

    /// An error from the OS (`errno`) while doing `context`, of the kind `sys` mapped it to.
    pub(crate) const fn os(kind: ErrorKind, errno: i32, context: &'static str) -> Self {
        Error {
            kind,
            errno,
            column: 0,
            context,
            detail: Detail::None,
        }
    }

    /// The same error, said of another operation.
    pub(crate) const fn with_context(self, context: &'static str) -> Self {
        Error { context, ..self }
    }

    /// The same error, said of column `column` of a commit group.
    pub(crate) const fn in_column(self, column: usize) -> Self {
        Error {
            column: if column < u8::MAX as usize {
                column as u8 + 1
            } else {
                0
            },
            ..self
        }
    }

    /// The kind of error, to match on.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("error-kind.bin");
    /// use persistence::{ErrorKind, MmapedSlice};
    ///
    /// let count = match MmapedSlice::<u32>::open(&path) {
    ///     Ok(s) => s.len(),
    ///     Err(e) if e.kind() == ErrorKind::NotFound => 0, // nothing recorded yet
    ///     Err(e) => return Err(e),
    /// };
    /// assert_eq!(count, 0);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The column of a commit group this error is about (0 for the group's first), when it
    /// is about one: a column whose element type differs from the file's, or whose data does
    /// not fit the disk.
    #[must_use]
    pub const fn column(&self) -> Option<usize> {
        match self.column {
            0 => None,
            c => Some(c as usize - 1),
        }
    }

    /// The OS error code (`errno`) behind this error, if it came from a system call.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("error-raw_os_error.bin");
    /// use persistence::{MmapedSlice, MmapedVec};
    ///
    /// let err = MmapedSlice::<u32>::open(&path).unwrap_err(); // no such file: ENOENT
    /// let code = err.raw_os_error().expect("open(2) failed");
    /// assert_eq!(std::io::Error::from_raw_os_error(code).kind(), std::io::ErrorKind::NotFound);
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// let err = v.reserve(usize::MAX).unwrap_err(); // refused before any system call
    /// assert_eq!(err.raw_os_error(), None);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub const fn raw_os_error(&self) -> Option<i32> {
        if self.errno == 0 {
            None
        } else {
            Some(self.errno)
        }
    }
}

impl ErrorKind {
    /// A short description of the kind, as `Display` starts it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("error-as_str.bin");
    /// use persistence::{ErrorKind, MmapedSlice};
    ///
    /// assert_eq!(ErrorKind::NotFound.as_str(), "the file does not exist");
    /// let err = MmapedSlice::<u32>::open(&path).unwrap_err();
    /// assert!(err.to_string().starts_with(err.kind().as_str()));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub const fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Locked => "the file is locked by another handle",
            ErrorKind::NotFound => "the file does not exist",
            ErrorKind::AlreadyExists => "the file exists already",
            ErrorKind::PermissionDenied => "permission denied",
            ErrorKind::NotARegularFile => "not a regular file",
            ErrorKind::BadMagic => "not a persistence file (bad format magic)",
            ErrorKind::MagicMismatch => "a persistence file of another application (magic differs)",
            ErrorKind::WrongEndianness => "a persistence file of the other byte order",
            ErrorKind::UnsupportedFormatVersion => "unsupported format version",
            ErrorKind::VersionMismatch => "application data version differs",
            ErrorKind::LayoutMismatch => "element layout differs",
            ErrorKind::TypeMismatch => "element type differs",
            ErrorKind::WrongFileKind => "a persistence file of another kind",
            ErrorKind::Corrupt => "the file is corrupt",
            ErrorKind::OutOfSpace => "no space left on the file system",
            ErrorKind::CapacityOverflow => "capacity overflow",
            ErrorKind::Io => "I/O error",
            ErrorKind::InvalidPath => "invalid path",
            ErrorKind::FileTooLarge => "the file would exceed its size limit",
            ErrorKind::WrongProcess => {
                "the handle belongs to the process that opened it (this is a forked child)"
            }
            ErrorKind::UnequalLengths => "the columns' lengths differ",
            ErrorKind::ForeignColumn => "a column of another group",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.as_str())?;
        if let Some(c) = self.column() {
            write!(f, ": column {c}")?;
        }
        if !self.context.is_empty() {
            write!(f, ": {}", self.context)?;
        }
        match self.detail {
            Detail::None => {}
            Detail::Mismatch {
                found,
                expected,
                show: how,
            } => {
                f.write_str(" ")?;
                show(f, expected, how)?;
                f.write_str(" expected, file has ")?;
                show(f, found, how)?;
            }
            Detail::Value(v) => write!(f, " {v}")?,
        }
        if self.errno != 0 {
            write!(f, " (os error {})", self.errno)?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if self.errno != 0 {
            d.field("errno", &self.errno);
        }
        d.field("context", &self.context);
        if let Some(c) = self.column() {
            d.field("column", &c);
        }
        match self.detail {
            Detail::None => {}
            Detail::Mismatch {
                found, expected, ..
            } => {
                d.field("found", &found).field("expected", &expected);
            }
            Detail::Value(v) => {
                d.field("value", &v);
            }
        }
        d.field("message", &format_args!("{self}")).finish()
    }
}

impl core::error::Error for Error {}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    /// Keeps the OS error code where there is one (so `raw_os_error` survives), and otherwise
    /// maps the kind to the closest `std::io::ErrorKind` with this error as the payload.
    ///
    /// **This conversion allocates** when the error carries no OS code: `io::Error::new`
    /// boxes its payload (two allocations). It is the one exception to "no call allocates",
    /// a convenience of the `std` feature for code that already works in `io::Error`; match
    /// on [`Error::kind`] to stay heap-free.
    fn from(e: Error) -> Self {
        if let Some(code) = e.raw_os_error() {
            return std::io::Error::from_raw_os_error(code);
        }
        std::io::Error::new(e.kind.io_kind(), e)
    }
}

#[cfg(feature = "std")]
impl ErrorKind {
    /// The closest `std::io::ErrorKind`.
    pub(crate) fn io_kind(self) -> std::io::ErrorKind {
        use std::io::ErrorKind as K;
        match self {
            ErrorKind::Locked => K::WouldBlock,
            ErrorKind::NotFound => K::NotFound,
            ErrorKind::AlreadyExists => K::AlreadyExists,
            ErrorKind::PermissionDenied => K::PermissionDenied,
            ErrorKind::OutOfSpace => K::StorageFull,
            ErrorKind::FileTooLarge => K::FileTooLarge,
            ErrorKind::CapacityOverflow => K::OutOfMemory,
            ErrorKind::BadMagic
            | ErrorKind::MagicMismatch
            | ErrorKind::WrongEndianness
            | ErrorKind::UnsupportedFormatVersion
            | ErrorKind::VersionMismatch
            | ErrorKind::LayoutMismatch
            | ErrorKind::TypeMismatch
            | ErrorKind::WrongFileKind
            | ErrorKind::Corrupt => K::InvalidData,
            ErrorKind::NotARegularFile | ErrorKind::InvalidPath => K::InvalidInput,
            ErrorKind::UnequalLengths | ErrorKind::ForeignColumn => K::InvalidInput,
            ErrorKind::Io | ErrorKind::WrongProcess => K::Other,
        }
    }
}

/// The error of [`MmapedVec::try_extend`](crate::MmapedVec::try_extend): how far it got
/// before the file could not grow.
///
/// The elements appended before the error stay in the vector; [`appended`](Self::appended)
/// counts them. The element taken from the iterator that could not be stored is
/// [`element`](Self::element) (`None` when the error came from reserving the iterator's
/// lower size bound, before anything was taken). Like [`Error`], it is `Copy` (for a `T:
/// Pod`) and holds no heap data. It converts into [`Error`] (dropping the count and the
/// element) so that `?` works in functions returning [`Result`].
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let mut v = persistence::MmapedVec::<u64>::open(dir.path().join("v.bin"))?;
/// // An iterator that claims more elements than any file can hold: nothing is taken.
/// let mut it = (0..u64::MAX).map(|x| x * 2);
/// let e = v.try_extend(it.by_ref()).unwrap_err();
/// assert_eq!(e.kind(), persistence::ErrorKind::CapacityOverflow);
/// assert_eq!((e.appended(), e.element()), (0, None));
/// assert_eq!(it.next(), Some(0));
/// assert!(v.is_empty());
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtendError<T> {
    appended: usize,
    element: Option<T>,
    error: Error,
}

impl<T: Copy> ExtendError<T> {
    pub(crate) const fn new(appended: usize, element: Option<T>, error: Error) -> Self {
        ExtendError {
            appended,
            element,
            error,
        }
    }

    /// How many elements this call appended before the error; they stay in the vector.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("extenderror-appended.bin");
    /// use persistence::{ErrorKind, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.extend_from_slice(&[1, 2])?;
    /// // All or nothing: on an error, take back what this call appended.
    /// let e = v.try_extend(0..u64::MAX).unwrap_err();
    /// v.truncate(v.len() - e.appended());
    /// assert_eq!(e.kind(), ErrorKind::CapacityOverflow);
    /// assert_eq!(v, [1, 2]);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub const fn appended(&self) -> usize {
        self.appended
    }

    /// The element taken from the iterator that could not be stored, if one was taken.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("extenderror-element.bin");
    /// use persistence::{ErrorKind, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.extend_from_slice(&[1, 2])?;
    /// let e = v.try_extend(0..u64::MAX).unwrap_err(); // more than any file holds
    /// // Refused while reserving its size hint, before anything was taken:
    /// assert_eq!((e.appended(), e.element()), (0, None));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub const fn element(&self) -> Option<T> {
        self.element
    }

    /// Why the vector could not grow.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("extenderror-error.bin");
    /// use persistence::{Error, ErrorKind, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// let e = v.try_extend(0..u64::MAX).unwrap_err();
    /// let err: Error = e.error();
    /// assert_eq!(err.kind(), ErrorKind::CapacityOverflow);
    /// assert_eq!(err, Error::from(e)); // what `?` turns it into
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub const fn error(&self) -> Error {
        self.error
    }

    /// The kind of [`error`](Self::error).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("extenderror-kind.bin");
    /// use persistence::{ErrorKind, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// let e = v.try_extend(0..u64::MAX).unwrap_err();
    /// assert_eq!(e.kind(), ErrorKind::CapacityOverflow);
    /// assert_eq!(e.kind(), e.error().kind());
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub const fn kind(&self) -> ErrorKind {
        self.error.kind
    }
}

impl<T> fmt::Display for ExtendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (after appending {} elements)",
            self.error, self.appended
        )
    }
}

impl<T> fmt::Debug for ExtendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExtendError")
            .field("appended", &self.appended)
            .field("element_taken", &self.element.is_some())
            .field("error", &self.error)
            .finish()
    }
}

impl<T> core::error::Error for ExtendError<T> {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        Some(&self.error)
    }
}

impl<T> From<ExtendError<T>> for Error {
    /// The error alone: the count and the element are dropped.
    fn from(e: ExtendError<T>) -> Self {
        e.error
    }
}

#[cfg(feature = "std")]
impl<T> From<ExtendError<T>> for std::io::Error {
    /// As `From<Error>`: the count and the element are dropped.
    fn from(e: ExtendError<T>) -> Self {
        e.error.into()
    }
}

/// `Result<T, persistence::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_their_values_and_format_without_heap() {
        let e = Error::mismatch(ErrorKind::LayoutMismatch, "element size", 4, 8);
        assert_eq!(e.kind(), ErrorKind::LayoutMismatch);
        assert_eq!(e.raw_os_error(), None);
        let mut buf = [0u8; 128];
        let mut w = Buf(&mut buf, 0);
        core::fmt::write(&mut w, format_args!("{e}")).unwrap();
        let n = w.1;
        assert_eq!(
            core::str::from_utf8(&buf[..n]).unwrap(),
            "element layout differs: element size 8 expected, file has 4"
        );
        let os = Error::os(ErrorKind::Io, 5, "msync");
        assert_eq!(os.raw_os_error(), Some(5));
    }

    /// A `fmt::Write` into a fixed buffer.
    struct Buf<'a>(&'a mut [u8], usize);

    impl core::fmt::Write for Buf<'_> {
        fn write_str(&mut self, s: &str) -> core::fmt::Result {
            let end = self.1 + s.len();
            self.0
                .get_mut(self.1..end)
                .ok_or(core::fmt::Error)?
                .copy_from_slice(s.as_bytes());
            self.1 = end;
            Ok(())
        }
    }
}
