//! `inspect`: what a vector file's header says, read without knowing its element type.
//!
//! Like `mdb_stat` for LMDB. The reading and validating is the region's `probe`, the same
//! path `open` takes before it compares the header with a type; this module only turns what
//! it found into the public [`FileInfo`]. No heap.

#[cfg(doc)]
use crate::error::ErrorKind;
use crate::error::Result;
use crate::fingerprint::Fingerprint;
use crate::format;
use crate::path::PathArg;
use crate::region;

/// One commit slot as it lies in the header.
///
/// `sequence` and `len` are the numbers stored in the slot's bytes. When the slot is not
/// [`valid`](Self::valid) (its checksum fails) they are shown as found and must not be
/// trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotInfo {
    /// Commit number stored in the slot; the valid slot with the highest one wins.
    pub sequence: u64,
    /// Committed length, in elements, stored in the slot.
    pub len: u64,
    /// Whether the slot's checksum (which also covers the header checksum) matches.
    pub valid: bool,
    /// Whether all 24 bytes of the slot are zero: a slot that was never written (slot B of
    /// a file that has been committed only once).
    pub blank: bool,
}

/// The facts a vector file's header records, as returned by [`inspect`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileInfo {
    /// The on-disk format version: 2 for files written by this version of the library, 1
    /// for older ones (which record no element type fingerprint).
    pub format_version: u32,
    /// Whether the file is in this machine's byte order. `false` for a file written on a
    /// machine of the other byte order (big-endian against little-endian): every number
    /// here was read in that order, `open` refuses the file with
    /// [`ErrorKind::WrongEndianness`], and
    /// [`OpenOptions::convert_foreign`](crate::OpenOptions::convert_foreign) converts it.
    pub native_byte_order: bool,
    /// The application magic (`OpenOptions::magic`).
    pub app_magic: [u8; 8],
    /// The application data version (`OpenOptions::version`).
    pub app_version: u32,
    /// `size_of::<T>()` of the element type that wrote the file.
    pub elem_size: u64,
    /// `align_of::<T>()` of the element type that wrote the file.
    pub elem_align: u64,
    /// The [fingerprint](crate::Fingerprint) of the element type that wrote the file
    /// ([`Fingerprint::UNKNOWN`](crate::Fingerprint::UNKNOWN) for a version-1 file, or a type
    /// that names none); its `Display` names a primitive (`0x... (f32)`).
    pub elem_fingerprint: Fingerprint,
    /// `size_of::<usize>()` of the program that wrote the file, in bytes.
    pub usize_width: u32,
    /// The committed length, in elements: the winning slot's length.
    pub len: u64,
    /// How many elements the file has room for: `(file_size - 4096) / elem_size`.
    pub capacity: u64,
    /// The file size in bytes (read with `fstat` under the lock, or beside a writer after
    /// the commit slots).
    pub file_size: u64,
    /// Commit slots A (`slots[0]`) and B (`slots[1]`).
    pub slots: [SlotInfo; 2],
    /// Which slot wins (0 = A, 1 = B): the valid one with the highest sequence.
    pub winner: usize,
    /// The file system the file lives on, where the library knows it (Linux: from
    /// `fstatfs`): `"btrfs"`, `"ext2/ext3/ext4"`, `"xfs"`, `"tmpfs"`, `"zfs"`, ...
    pub file_system: Option<&'static str>,
    /// Whether rewriting a block of this file allocates a new one: `Some(true)` for a btrfs
    /// file without the No_COW attribute and on ZFS, `Some(false)` where blocks are
    /// rewritten in place (btrfs No_COW, ext2/3/4, XFS, tmpfs), `None` when the library
    /// cannot tell. On a copy-on-write file a full disk can turn a store into `SIGBUS`; see
    /// [`OpenOptions::copy_on_write`](crate::OpenOptions::copy_on_write).
    pub copy_on_write: Option<bool>,
}

impl FileInfo {
    /// The winning slot, whose length is the committed length.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("inspect-current.bin");
    /// use persistence::{inspect, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u32>::open(&path)?;
    /// v.push(1)?;
    /// v.sync()?;
    /// v.push(2)?;
    /// v.close()?; // a second commit, into the other slot
    /// let info = inspect(&path)?;
    /// assert!(info.current().valid);
    /// assert_eq!(info.current().len, 2);
    /// let previous = &info.slots[1 - info.winner];
    /// assert_eq!((previous.len, previous.sequence + 1), (1, info.current().sequence));
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn current(&self) -> &SlotInfo {
        &self.slots[self.winner]
    }

    /// Bytes of element data the committed length covers: `len * elem_size`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("inspect-data_bytes.bin");
    /// use persistence::{inspect, MmapedVec};
    ///
    /// let mut v = MmapedVec::<u64>::open(&path)?;
    /// v.extend_from_slice(&[1, 2, 3])?;
    /// v.close()?;
    /// let info = inspect(&path)?;
    /// assert_eq!(info.data_bytes(), 3 * 8);
    /// assert!(info.data_bytes() <= info.file_size - 4096);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn data_bytes(&self) -> u64 {
        // As `inspect` returned them the product fits in the file (it checked); the fields
        // are public, so saturate rather than trust that.
        self.len.saturating_mul(self.elem_size)
    }
}

/// Reads the header of the vector file at `path` without knowing its element type, and
/// returns what it records: format version, application magic and version, element size
/// and alignment, `usize` width, committed length, capacity, file size, and both commit
/// slots with the one that wins.
///
/// The file is opened read-only, read with `pread` and never written or mapped. It
/// validates exactly what [`open`](crate::OpenOptions::open) validates before it compares
/// the header with a type, and fails with the same kinds, except that a file written on a
/// machine of the other byte order is read in that order and reported
/// ([`FileInfo::native_byte_order`] is `false`) where `open` refuses it with
/// [`ErrorKind::WrongEndianness`].
///
/// It waits for no one: without a writer it reads under a shared `flock` lock; while a
/// writer (or another program's exclusive `flock`) holds the file, it reads without a lock,
/// as a live reader does, and returns a snapshot of one instant, possibly old by the time
/// it returns (`docs/design.md`, "Live readers", "`inspect` beside a writer"). It never
/// creates the live readers' lock file.
///
/// # Errors
///
/// * [`ErrorKind::NotFound`], [`ErrorKind::PermissionDenied`],
///   [`ErrorKind::InvalidPath`], [`ErrorKind::Io`]: the file cannot be opened or read.
/// * [`ErrorKind::NotARegularFile`]: a directory, FIFO, socket or device.
/// * In the order that `open` checks them: [`ErrorKind::BadMagic`] (not a persistence
///   file), [`ErrorKind::UnsupportedFormatVersion`], and
///   [`ErrorKind::Corrupt`] for a bad header checksum or data offset, an element size of 0
///   or an alignment that is not a power of two up to 4096, no valid commit slot, or a
///   committed length that does not fit in the file. A file shorter than its header is
///   `Corrupt` too, including a zero-length file and the remains of an interrupted creation:
///   they hold no commit yet (`open` for writing treats them as a new file).
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("ticks.bin");
/// use persistence::{inspect, OpenOptions};
///
/// let mut v = OpenOptions::new().magic(*b"TICKS\0\0\0").version(3).open::<u32>(&path)?;
/// v.extend_from_slice(&[1, 2, 3])?;
/// v.close()?;
///
/// let info = inspect(&path)?;
/// assert_eq!((info.app_magic, info.app_version), (*b"TICKS\0\0\0", 3));
/// assert_eq!((info.elem_size, info.elem_align, info.len), (4, 4, 3));
/// assert!(info.capacity >= 3);
/// # Ok(()) }
/// ```
pub fn inspect(path: impl PathArg) -> Result<FileInfo> {
    let probe = path.with_c_path(region::probe)?;
    let header = probe.header;
    let layout = header.layout;
    let slots = header.slots().map(|s| SlotInfo {
        sequence: s.slot.seq,
        len: s.slot.len,
        valid: s.valid,
        blank: s.blank,
    });
    Ok(FileInfo {
        format_version: header.format_version,
        native_byte_order: header.order == format::ByteOrder::Native,
        app_magic: layout.app_magic,
        app_version: layout.app_version,
        elem_size: layout.elem_size,
        elem_align: layout.elem_align,
        elem_fingerprint: Fingerprint::from_u64(layout.elem_fingerprint),
        usize_width: layout.usize_width,
        len: slots[probe.winner].len,
        capacity: format::capacity_of(probe.file_size, layout.elem_size),
        file_size: probe.file_size,
        slots,
        winner: probe.winner,
        file_system: probe.fs.name,
        copy_on_write: probe.fs.copy_on_write,
    })
}
