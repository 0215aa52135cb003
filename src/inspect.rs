//! `inspect`: what a vector's or a commit group's header says, read without knowing its
//! element types.
//!
//! Like `mdb_stat` for LMDB. The reading and validating is the region's `probe`, the same
//! path `open` takes before it compares the header with a type; this module only turns what
//! it found into the public [`FileInfo`]. No heap.

#[cfg(doc)]
use crate::error::ErrorKind;
use crate::error::Result;
use crate::fingerprint::Fingerprint;
use crate::format::{self, group as gf};
use crate::path::PathArg;
use crate::region::{self, Probed};

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
    /// Committed length, in elements, stored in the slot (a group's: column 0's).
    pub len: u64,
    /// Each column's committed length stored in the slot: `lens[0] == len`; a vector has one
    /// column, a group [`FileInfo::column_count`].
    pub lens: [u64; MAX_COLUMNS],
    /// Whether the slot's checksum (which also covers the header checksum) matches.
    pub valid: bool,
    /// Whether all the slot's bytes are zero: a slot that was never written (slot B of a
    /// file that has been committed only once).
    pub blank: bool,
}

/// The most columns a commit group has: 12.
pub const MAX_COLUMNS: usize = gf::MAX_COLUMNS;

/// What a persistence file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// One vector ([`MmapedVec`](crate::MmapedVec)).
    Vector,
    /// A commit group ([`Group`](crate::Group)): several columns, one commit record.
    Group,
    /// A file that holds no commit yet: empty, or the remains of a creation that a crash
    /// interrupted (`docs/design.md`, "Creation", has the one rule that every open and
    /// `inspect` apply). A writer's `open` creates its vector or group in it; read-only and
    /// live opens see it empty. Every other field is zero (format version 0, no columns,
    /// both slots blank).
    Uncreated,
}

/// One column of a file as [`inspect`] reports it: a vector's one column, or each of a
/// group's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ColumnInfo {
    /// `size_of::<T>()` of the column's element type.
    pub elem_size: u64,
    /// `align_of::<T>()` of the column's element type.
    pub elem_align: u64,
    /// The [fingerprint](crate::Fingerprint) of the column's element type.
    pub elem_fingerprint: Fingerprint,
    /// The committed length, in elements.
    pub len: u64,
    /// How many elements the column has room for: a vector's file holds
    /// `(file_size - 4096) / elem_size`; a group's column, what its committed blocks hold
    /// (a writer adds blocks as it grows).
    pub capacity: u64,
}

impl ColumnInfo {
    /// No column: all zero.
    const NONE: ColumnInfo = ColumnInfo {
        elem_size: 0,
        elem_align: 0,
        elem_fingerprint: Fingerprint::UNKNOWN,
        len: 0,
        capacity: 0,
    };
}

/// The facts a file's header records, as returned by [`inspect`]: a vector's, or a commit
/// group's (whose element fields and `len` are column 0's; [`columns`](Self::columns) has
/// them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileInfo {
    /// A vector's file or a group's.
    pub kind: FileKind,
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
    /// `size_of::<T>()` of the element type that wrote the file (a group's: column 0's).
    pub elem_size: u64,
    /// `align_of::<T>()` of the element type that wrote the file.
    pub elem_align: u64,
    /// The [fingerprint](crate::Fingerprint) of the element type that wrote the file
    /// ([`Fingerprint::UNKNOWN`](crate::Fingerprint::UNKNOWN) for a version-1 file, or a type
    /// that names none); its `Display` names a primitive (`0x... (f32)`).
    pub elem_fingerprint: Fingerprint,
    /// `size_of::<usize>()` of the program that wrote the file, in bytes.
    pub usize_width: u32,
    /// The committed length, in elements: the winning slot's length (a group's: column 0's).
    pub len: u64,
    /// How many elements the file has room for: `(file_size - 4096) / elem_size` (a group's:
    /// column 0's, as [`ColumnInfo::capacity`]).
    pub capacity: u64,
    /// How many columns: 1 for a vector, 1 to 12 for a group.
    pub column_count: usize,
    /// Each column (the first [`column_count`](Self::column_count) of them; the rest are
    /// zero): element size, alignment, fingerprint, committed length, capacity.
    pub columns: [ColumnInfo; MAX_COLUMNS],
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

    /// The columns: `&columns[..column_count]`.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("inspect-columns.bin");
    /// use persistence::{inspect, FileKind, Group};
    ///
    /// let mut g = Group::<(u64, u16)>::open(&path)?;
    /// g.push_row((1, 2))?;
    /// g.close()?;
    /// let info = inspect(&path)?;
    /// assert_eq!((info.kind, info.generation()), (FileKind::Group, 1));
    /// let sizes: Vec<_> = info.columns().iter().map(|c| (c.elem_size, c.len)).collect();
    /// assert_eq!(sizes, [(8, 1), (2, 1)]);
    /// # Ok(()) }
    /// ```
    #[must_use]
    pub fn columns(&self) -> &[ColumnInfo] {
        &self.columns[..self.column_count.min(MAX_COLUMNS)]
    }

    /// Whether an open falls back to the older commit: the slot that is not the winner is
    /// damaged (its checksum fails) and the sequence number it shows, untrusted, is above the
    /// winner's, so it was the newest commit (as
    /// [`OpenReport::older_commit`](crate::OpenReport::older_commit) says after an open).
    #[must_use]
    pub fn opens_to_older_commit(&self) -> bool {
        let other = &self.slots[1 - self.winner.min(1)];
        !other.valid && !other.blank && other.sequence > self.current().sequence
    }

    /// The generation of the winning commit: its sequence number less one (a group's
    /// [`generation`](crate::Group::generation); for a vector, the commits since creation).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.current().sequence.saturating_sub(1)
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
///   committed length that does not fit in the file. A file shorter than its header (and not
///   empty) is `Corrupt` too.
///
/// An empty file, and the remains of a creation that a crash interrupted, hold no commit
/// yet: they are reported as [`FileKind::Uncreated`], as every open treats them (a writer
/// creates its vector or group there; `docs/design.md`, "Creation", has the rule).
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
    let mut columns = [ColumnInfo::NONE; MAX_COLUMNS];
    let blank = SlotInfo {
        sequence: 0,
        len: 0,
        lens: [0; MAX_COLUMNS],
        valid: false,
        blank: true,
    };
    let (kind, version, order, identity, column_count, slots) = match probe.header {
        Probed::Uncreated => (
            FileKind::Uncreated,
            0,
            format::ByteOrder::Native,
            format::Layout {
                app_magic: [0; 8],
                app_version: 0,
                usize_width: 0,
                elem_size: 0,
                elem_align: 0,
                elem_fingerprint: 0,
            },
            0,
            [blank; 2],
        ),
        Probed::Vector(h) => {
            let l = h.layout;
            let slots = h.slots().map(|s| {
                let mut lens = [0; MAX_COLUMNS];
                lens[0] = s.slot.len;
                SlotInfo {
                    sequence: s.slot.seq,
                    len: s.slot.len,
                    lens,
                    valid: s.valid,
                    blank: s.blank,
                }
            });
            columns[0] = ColumnInfo {
                elem_size: l.elem_size,
                elem_align: l.elem_align,
                elem_fingerprint: Fingerprint::from_u64(l.elem_fingerprint),
                len: slots[probe.winner].len,
                capacity: format::capacity_of(probe.file_size, l.elem_size),
            };
            (FileKind::Vector, h.format_version, h.order, l, 1, slots)
        }
        Probed::Group(h) => {
            let l = h.layout;
            let slots = h.slots().map(|s| SlotInfo {
                sequence: s.slot.seq,
                len: s.slot.lens[0],
                lens: s.slot.lens,
                valid: s.valid,
                blank: s.blank,
            });
            let lens = slots[probe.winner].lens;
            // Validated by the probe: the lengths fit the table.
            let needed = gf::needed_blocks(&l, &lens).unwrap_or([0; MAX_COLUMNS]);
            for (k, c) in columns.iter_mut().enumerate().take(l.columns) {
                let t = l.types[k];
                *c = ColumnInfo {
                    elem_size: t.size,
                    elem_align: t.align,
                    elem_fingerprint: Fingerprint::from_u64(t.fingerprint),
                    len: lens[k],
                    capacity: gf::block_start(needed[k]) / t.size,
                };
            }
            (FileKind::Group, 2, h.order, l.identity, l.columns, slots)
        }
    };
    let first = columns[0];
    Ok(FileInfo {
        kind,
        format_version: version,
        native_byte_order: order == format::ByteOrder::Native,
        app_magic: identity.app_magic,
        app_version: identity.app_version,
        elem_size: first.elem_size,
        elem_align: first.elem_align,
        elem_fingerprint: first.elem_fingerprint,
        usize_width: identity.usize_width,
        len: first.len,
        capacity: first.capacity,
        column_count,
        columns,
        file_size: probe.file_size,
        slots,
        winner: probe.winner,
        file_system: probe.fs.name,
        copy_on_write: probe.fs.copy_on_write,
    })
}
