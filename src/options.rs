//! `OpenOptions`: the builder for opening a vector file.

use crate::error::Result;
use crate::format::Layout;
use crate::path::PathArg;
use crate::pod::Pod;
use crate::region::{RawRegion, RegionOptions};
use crate::slice::MmapedSlice;
use crate::vec::MmapedVec;

/// Options for opening a vector file, like `std::fs::OpenOptions`.
///
/// Defaults: read-write, `create(true)`, `create_new(false)`, magic all zero, version 0,
/// capacity 0, `wait_for_lock(false)`, mode `0o600`.
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("ticks.bin");
/// use persistence::{ErrorKind, OpenOptions};
///
/// let opts = *OpenOptions::new().magic(*b"TICKS\0\0\0").version(3).capacity(1 << 16);
/// let mut v = opts.open::<u64>(&path)?;
/// assert!(v.capacity() >= 1 << 16);
/// v.push(1)?;
/// v.close()?;
///
/// // The same file under another application's magic is refused.
/// let err = OpenOptions::new().magic(*b"OTHERAPP").open::<u64>(&path).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::MagicMismatch);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OpenOptions {
    magic: [u8; 8],
    version: u32,
    create: bool,
    create_new: bool,
    capacity: usize,
    wait_for_lock: bool,
    mode: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// The defaults listed on the type.
    #[must_use]
    pub const fn new() -> Self {
        OpenOptions {
            magic: [0; 8],
            version: 0,
            create: true,
            create_new: false,
            capacity: 0,
            wait_for_lock: false,
            mode: 0o600,
        }
    }

    /// The application magic: 8 bytes that say which application's file this is. Written
    /// into new files; an existing file with another magic is
    /// [`ErrorKind::MagicMismatch`](crate::ErrorKind::MagicMismatch).
    pub fn magic(&mut self, magic: [u8; 8]) -> &mut Self {
        self.magic = magic;
        self
    }

    /// The application data version. Written into new files; an existing file with another
    /// version is [`ErrorKind::VersionMismatch`](crate::ErrorKind::VersionMismatch), so a
    /// program can migrate old files deliberately.
    pub fn version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// Whether to create the file if it is missing (default `true`). With `false`, a missing
    /// file is [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Whether to insist on creating a new file (default `false`). With `true`, an existing
    /// file is [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists).
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.create_new = create_new;
        self
    }

    /// A minimum capacity in elements, reserved (with disk blocks) when the vector opens.
    pub fn capacity(&mut self, capacity: usize) -> &mut Self {
        self.capacity = capacity;
        self
    }

    /// Whether to wait for a conflicting lock to go away (default `false`: fail at once with
    /// [`ErrorKind::Locked`](crate::ErrorKind::Locked)).
    pub fn wait_for_lock(&mut self, wait: bool) -> &mut Self {
        self.wait_for_lock = wait;
        self
    }

    /// The permission bits of a new file, before the umask (default `0o600`: the owner
    /// alone may read and write it).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    fn region_options<T: Pod>(&self, write: bool) -> RegionOptions {
        RegionOptions {
            write,
            create: self.create,
            create_new: self.create_new,
            mode: self.mode,
            wait_for_lock: self.wait_for_lock,
            capacity: self.capacity,
            layout: Layout::of::<T>(self.magic, self.version),
        }
    }

    /// Opens `path` as a read-write [`MmapedVec<T>`] under an exclusive lock.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Locked`](crate::ErrorKind::Locked), `NotFound`, `AlreadyExists`,
    /// `PermissionDenied`, `NotARegularFile`; for an existing file the format checks in
    /// this order: `BadMagic`, `WrongEndianness`, `UnsupportedFormatVersion`, `Corrupt`
    /// (header checksum), `MagicMismatch`, `VersionMismatch`, `LayoutMismatch`, and
    /// `Corrupt` when no commit slot is valid or the length does not fit the file. A failed
    /// open never changes the file.
    pub fn open<T: Pod>(&self, path: impl PathArg) -> Result<MmapedVec<T>> {
        #[allow(clippy::let_unit_value)]
        let () = MmapedVec::<T>::LAYOUT_OK;
        let opts = self.region_options::<T>(true);
        path.with_c_path(|p| RawRegion::open(p, &opts))
            .map(MmapedVec::from_region)
    }

    /// Opens `path` as a read-only [`MmapedSlice<T>`] under a shared lock. Never creates or
    /// writes the file; `create`, `create_new` and `capacity` are ignored.
    ///
    /// # Errors
    ///
    /// As [`open`](Self::open); a missing file is `NotFound`.
    pub fn open_read_only<T: Pod>(&self, path: impl PathArg) -> Result<MmapedSlice<T>> {
        #[allow(clippy::let_unit_value)]
        let () = MmapedVec::<T>::LAYOUT_OK;
        let opts = self.region_options::<T>(false);
        path.with_c_path(|p| RawRegion::open(p, &opts))
            .map(MmapedSlice::from_region)
    }
}
