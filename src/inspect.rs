//! `inspect`: what a vector file's header says, read without knowing its element type.
//!
//! Like `mdb_stat` for LMDB: it opens the file read-only under a shared `flock` lock, reads
//! the header page with `pread` (no mapping), decodes it with [`crate::format`]'s own
//! decoder and never writes. No heap.

use core::ffi::CStr;

use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, Slots, DATA_OFFSET, HEADER_SIZE, MAX_ALIGN, SLOT_LEN, SLOT_OFFSETS};
use crate::path::PathArg;
use crate::sys;

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
    /// The on-disk format version (1).
    pub format_version: u32,
    /// The application magic (`OpenOptions::magic`).
    pub app_magic: [u8; 8],
    /// The application data version (`OpenOptions::version`).
    pub app_version: u32,
    /// `size_of::<T>()` of the element type that wrote the file.
    pub elem_size: u64,
    /// `align_of::<T>()` of the element type that wrote the file.
    pub elem_align: u64,
    /// `size_of::<usize>()` of the program that wrote the file, in bytes.
    pub usize_width: u32,
    /// The committed length, in elements: the winning slot's length.
    pub len: u64,
    /// How many elements the file has room for: `(file_size - 4096) / elem_size`.
    pub capacity: u64,
    /// The file size in bytes (read with `fstat` under the lock).
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
    #[must_use]
    pub fn current(&self) -> &SlotInfo {
        &self.slots[self.winner]
    }

    /// Bytes of element data the committed length covers: `len * elem_size`.
    #[must_use]
    pub fn data_bytes(&self) -> u64 {
        // Cannot overflow: `inspect` checked that the committed data fits in the file.
        self.len * self.elem_size
    }
}

/// Reads the header of the vector file at `path` without knowing its element type, and
/// returns what it records: format version, application magic and version, element size
/// and alignment, `usize` width, committed length, capacity, file size, and both commit
/// slots with the one that wins.
///
/// The file is opened read-only under a shared `flock` lock (so it waits for no one: a
/// writer holding the file is [`ErrorKind::Locked`]), read with `pread` and never written or
/// mapped. It validates exactly what [`open`](crate::OpenOptions::open) validates before
/// it compares the header with a type, and fails with the same kinds.
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
///
/// # Errors
///
/// * [`ErrorKind::NotFound`], [`ErrorKind::PermissionDenied`],
///   [`ErrorKind::InvalidPath`], [`ErrorKind::Io`]: the file cannot be opened or read.
/// * [`ErrorKind::NotARegularFile`]: a directory, FIFO, socket or device.
/// * [`ErrorKind::Locked`]: a writer holds the file.
/// * In the order that `open` checks them: [`ErrorKind::BadMagic`] (not a persistence
///   file), [`ErrorKind::WrongEndianness`], [`ErrorKind::UnsupportedFormatVersion`], and
///   [`ErrorKind::Corrupt`] for a bad header checksum or data offset, an element size of 0
///   or an alignment that is not a power of two up to 4096, no valid commit slot, or a
///   committed length that does not fit in the file. A file shorter than its header is
///   `Corrupt` too, including a zero-length file and the remains of an interrupted creation:
///   they hold no commit yet (`open` for writing treats them as a new file).
pub fn inspect(path: impl PathArg) -> Result<FileInfo> {
    path.with_c_path(inspect_c)
}

fn inspect_c(path: &CStr) -> Result<FileInfo> {
    let how = sys::OpenHow {
        write: false,
        create: false,
        create_new: false,
        mode: 0,
    };
    let file = sys::open(path, &how)?;
    // Refuse FIFOs, devices and directories before anything could wait on them.
    if !file.stat()?.regular {
        return Err(Error::new(ErrorKind::NotARegularFile, "the path"));
    }
    file.lock(false, false)?;
    let result = read_header(&file);
    // Unlock explicitly, as the region does: a child forked meanwhile may share the open
    // file description and would otherwise keep the lock after the descriptor is closed.
    let unlocked = file.unlock();
    let info = result?;
    unlocked?;
    Ok(info)
}

/// Reads and decodes the header under the lock that the caller holds.
fn read_header(file: &sys::File) -> Result<FileInfo> {
    // Every size trusted below is read after the lock is held.
    let file_size = file.stat()?.size;
    let mut page = [0u8; HEADER_SIZE];
    let got = file.read_at(&mut page, 0)?;
    let header = &page[..got];

    let fixed = format::decode_fixed(header)?;
    let layout = fixed.layout;
    if layout.elem_size == 0 {
        return Err(Error::new(ErrorKind::Corrupt, "element size 0"));
    }
    if !layout.elem_align.is_power_of_two() || layout.elem_align > MAX_ALIGN as u64 {
        return Err(Error::value(
            ErrorKind::Corrupt,
            "element alignment is not a power of two up to 4096:",
            layout.elem_align,
        ));
    }

    let decoded = Slots::read(header);
    let mut slots = [SlotInfo {
        sequence: 0,
        len: 0,
        valid: false,
        blank: true,
    }; 2];
    for (which, info) in slots.iter_mut().enumerate() {
        let off = SLOT_OFFSETS[which];
        let Some(bytes) = header.get(off..off + SLOT_LEN) else {
            continue; // Past the end of a short file: reported as blank and invalid.
        };
        *info = match decoded.slots[which] {
            Some(slot) => SlotInfo {
                sequence: slot.seq,
                len: slot.len,
                valid: true,
                blank: false,
            },
            // An invalid slot: show the numbers it holds (sequence, then length), untrusted.
            None => SlotInfo {
                sequence: stored_u64(bytes, 0),
                len: stored_u64(bytes, 8),
                valid: false,
                blank: bytes.iter().all(|&b| b == 0),
            },
        };
    }
    let winner = decoded.winner().ok_or(Error::new(
        ErrorKind::Corrupt,
        "no valid commit slot (no commit yet, or both slots damaged)",
    ))?;
    let len = slots[winner].len;

    let fits = len
        .checked_mul(layout.elem_size)
        .and_then(|b| b.checked_add(DATA_OFFSET as u64))
        .is_some_and(|need| need <= file_size);
    if !fits {
        return Err(Error::value(
            ErrorKind::Corrupt,
            "committed length does not fit in the file, length:",
            len,
        ));
    }

    let fs = file.fs_facts();
    Ok(FileInfo {
        file_system: fs.name,
        copy_on_write: fs.copy_on_write,
        format_version: fixed.format_version,
        app_magic: layout.app_magic,
        app_version: layout.app_version,
        elem_size: layout.elem_size,
        elem_align: layout.elem_align,
        usize_width: layout.usize_width,
        len,
        capacity: format::capacity_of(file_size, layout.elem_size),
        file_size,
        slots,
        winner,
    })
}

/// The native-endian `u64` at `off` in a slot's bytes, as stored (slot layout: sequence at 0,
/// length at 8, checksum at 16; see [`format::encode_slot`]).
fn stored_u64(slot: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&slot[off..off + 8]);
    u64::from_ne_bytes(b)
}
