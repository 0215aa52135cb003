//! `OpenOptions`: the builder for opening a vector file.

use crate::format::Layout;
use crate::pod::{assert_storable, Pod};
use crate::region::RegionOptions;

/// Options for opening a vector file, like `std::fs::OpenOptions`.
///
/// Defaults: read-write, `create(true)`, `create_new(false)`, magic all zero, version 0,
/// capacity 0, `wait_for_lock(false)`, mode `0o600`, `copy_on_write(false)`,
/// `huge_pages(false)`.
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
    copy_on_write: bool,
    huge_pages: bool,
    commit_on_drop: bool,
    wait_for_file: bool,
    early_writeback: bool,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    /// The defaults listed on the type.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-new.bin");
    /// use persistence::OpenOptions;
    ///
    /// // The defaults: read-write, create if missing, no magic, version 0.
    /// const DEFAULTS: OpenOptions = OpenOptions::new();
    /// assert_eq!(DEFAULTS, OpenOptions::default());
    /// let mut v = DEFAULTS.open::<u32>(&path)?; // as `MmapedVec::open`
    /// v.push(1)?;
    /// assert_eq!(v, [1]);
    /// # Ok(()) }
    /// ```
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
            copy_on_write: false,
            huge_pages: false,
            commit_on_drop: true,
            wait_for_file: false,
            early_writeback: true,
        }
    }

    /// The application magic: 8 bytes that say which application's file this is. Written
    /// into new files; an existing file with another magic is
    /// [`ErrorKind::MagicMismatch`](crate::ErrorKind::MagicMismatch).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-magic.bin");
    /// use persistence::{inspect, ErrorKind, OpenOptions};
    ///
    /// OpenOptions::new().magic(*b"MYAPP\0\0\0").open::<u32>(&path)?.close()?;
    /// assert_eq!(inspect(&path)?.app_magic, *b"MYAPP\0\0\0");
    ///
    /// let err = OpenOptions::new().magic(*b"OTHER\0\0\0").open::<u32>(&path).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::MagicMismatch);
    /// # Ok(()) }
    /// ```
    pub fn magic(&mut self, magic: [u8; 8]) -> &mut Self {
        self.magic = magic;
        self
    }

    /// The application data version. Written into new files; an existing file with another
    /// version is [`ErrorKind::VersionMismatch`](crate::ErrorKind::VersionMismatch), so a
    /// program can migrate old files deliberately.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-version.bin");
    /// use persistence::{inspect, ErrorKind, OpenOptions};
    ///
    /// OpenOptions::new().version(1).open::<u32>(&path)?.close()?;
    ///
    /// // Version 2 of the program finds a version 1 file: it must migrate it deliberately.
    /// let err = OpenOptions::new().version(2).open::<u32>(&path).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::VersionMismatch);
    /// assert_eq!(inspect(&path)?.app_version, 1);
    /// # Ok(()) }
    /// ```
    pub fn version(&mut self, version: u32) -> &mut Self {
        self.version = version;
        self
    }

    /// Whether to create the file if it is missing (default `true`). With `false`, a missing
    /// file is [`ErrorKind::NotFound`](crate::ErrorKind::NotFound).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-create.bin");
    /// use persistence::{ErrorKind, MmapedVec, OpenOptions};
    ///
    /// let existing = *OpenOptions::new().create(false);
    /// assert_eq!(existing.open::<u32>(&path).unwrap_err().kind(), ErrorKind::NotFound);
    ///
    /// MmapedVec::<u32>::open(&path)?.close()?; // now it exists
    /// assert!(existing.open::<u32>(&path)?.is_empty());
    /// # Ok(()) }
    /// ```
    pub fn create(&mut self, create: bool) -> &mut Self {
        self.create = create;
        self
    }

    /// Whether to insist on creating a new file (default `false`). With `true`, an existing
    /// file is [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-create_new.bin");
    /// use persistence::{ErrorKind, OpenOptions};
    ///
    /// let fresh = *OpenOptions::new().create_new(true);
    /// fresh.open::<u32>(&path)?.close()?; // created
    /// assert_eq!(fresh.open::<u32>(&path).unwrap_err().kind(), ErrorKind::AlreadyExists);
    /// # Ok(()) }
    /// ```
    pub fn create_new(&mut self, create_new: bool) -> &mut Self {
        self.create_new = create_new;
        self
    }

    /// A minimum capacity in elements, reserved (with disk blocks) when the vector opens.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-capacity.bin");
    /// use persistence::OpenOptions;
    ///
    /// let v = OpenOptions::new().capacity(100_000).open::<u64>(&path)?;
    /// assert!(v.is_empty());
    /// assert!(v.capacity() >= 100_000); // no growth for the first 100 000 pushes
    /// # Ok(()) }
    /// ```
    pub fn capacity(&mut self, capacity: usize) -> &mut Self {
        self.capacity = capacity;
        self
    }

    /// Whether to wait for a conflicting lock to go away (default `false`: fail at once with
    /// [`ErrorKind::Locked`](crate::ErrorKind::Locked)).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-wait_for_lock.bin");
    /// use persistence::{ErrorKind, MmapedVec, OpenOptions};
    ///
    /// let mut first = MmapedVec::<u32>::open(&path)?;
    /// first.push(1)?;
    /// assert_eq!(MmapedVec::<u32>::open(&path).unwrap_err().kind(), ErrorKind::Locked);
    ///
    /// let t = std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(50));
    ///     drop(first); // commits and unlocks
    /// });
    /// let second = OpenOptions::new().wait_for_lock(true).open::<u32>(&path)?; // waits for it
    /// assert_eq!(second, [1]);
    /// t.join().expect("the first handle's thread panicked");
    /// # Ok(()) }
    /// ```
    pub fn wait_for_lock(&mut self, wait: bool) -> &mut Self {
        self.wait_for_lock = wait;
        self
    }

    /// Whether a vector starts writing appended data to disk while it is appended (default
    /// `true`; on Linux, elsewhere it does nothing). Each time at least 8 MiB more are filled
    /// (checked by `push`, at every growth step and after every `extend_from_slice`), the kernel is asked to
    /// start writing them back without waiting (`sync_file_range(SYNC_FILE_RANGE_WRITE)`),
    /// never the 2 MiB holding the write position, so that `sync()` finds most of the data
    /// on its way: appending then syncing costs about the larger of the append and the disk
    /// write, not their sum. It changes no durability promise (the commit still makes
    /// everything durable before its slot); turn it off to leave the timing of writeback to
    /// the kernel and `sync()` alone (bench S1, S2 and S14 print both).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("quiet.bin");
    /// use persistence::OpenOptions;
    ///
    /// let mut v = OpenOptions::new().early_writeback(false).open::<u64>(&path)?;
    /// v.extend_from_slice(&vec![7; 1 << 20])?; // 8 MiB, left to sync()
    /// v.sync()?;
    /// # Ok(()) }
    /// ```
    pub fn early_writeback(&mut self, early: bool) -> &mut Self {
        self.early_writeback = early;
        self
    }

    /// Whether a live open ([`open_live`](Self::open_live),
    /// [`open_group_live`](Self::open_group_live)) waits for a missing file to appear
    /// (default `false`: `NotFound` at once). With `true` it looks for the file again every
    /// 10 ms until a writer has created it (or a directory of the path), so that a tailer
    /// started before its writer needs no retry loop of its own; it then opens as usual (a
    /// file created but not committed yet opens empty, and `refresh` sees the first commit).
    /// Other opens ignore it.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("late.bin");
    /// use persistence::{MmapedVec, OpenOptions};
    ///
    /// let writer_path = path.clone();
    /// let writer = std::thread::spawn(move || {
    ///     std::thread::sleep(std::time::Duration::from_millis(50));
    ///     let mut v = MmapedVec::<u64>::open(&writer_path)?; // created now
    ///     v.push(7)?;
    ///     v.close()
    /// });
    /// let mut reader = OpenOptions::new().wait_for_file(true).open_live::<u64>(&path)?;
    /// writer.join().expect("the writer panicked")?;
    /// reader.refresh()?;
    /// assert_eq!(reader.get(0), Some(7));
    /// # Ok(()) }
    /// ```
    pub fn wait_for_file(&mut self, wait: bool) -> &mut Self {
        self.wait_for_file = wait;
        self
    }

    /// [`wait_for_file`](Self::wait_for_file)'s value.
    pub(crate) fn waits_for_file(&self) -> bool {
        self.wait_for_file
    }

    /// The permission bits of a new file, before the umask (default `0o600`: the owner
    /// alone may read and write it).
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("options-mode.bin");
    /// use persistence::OpenOptions;
    /// use std::os::unix::fs::PermissionsExt;
    ///
    /// let v = OpenOptions::new().mode(0o640).open::<u32>(&path)?;
    /// let mode = std::fs::metadata(&path)?.permissions().mode();
    /// assert_eq!(mode & 0o777 & !0o640, 0); // at most rw-r-----, less what the umask takes
    /// # Ok(()) }
    /// ```
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Whether a file this creates keeps the file system's copy-on-write (default `false`).
    ///
    /// By default a new file gets the No_COW attribute while it is still empty, where the
    /// file system has one (btrfs: `chattr +C`), so its blocks are rewritten in place and a
    /// full disk stays an error ([`ErrorKind::OutOfSpace`](crate::ErrorKind::OutOfSpace))
    /// instead of a `SIGBUS`. No_COW also turns off btrfs's data checksums and compression
    /// for that file, and a snapshot or reflink copy makes the next write of each shared
    /// block copy it once.
    ///
    /// With `true` the file keeps copy-on-write and btrfs's data checksums, and **on a full
    /// disk the first store into a page already on disk (`v[i] = x`, or a `push` into the
    /// page the last commit ended in) raises `SIGBUS`**; commits stay errors. Choose it only
    /// where the disk never fills. It has no effect on an existing file, nor on file systems
    /// without the attribute; [`inspect`](crate::inspect) reports which a file is. The README's
    /// file-system table says what holds where.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("checksummed.bin");
    /// use persistence::OpenOptions;
    ///
    /// // Keep btrfs's data checksums on this file; its disk must never fill.
    /// let mut v = OpenOptions::new().copy_on_write(true).open::<u64>(&path)?;
    /// v.push(1)?;
    /// v.close()?;
    /// # Ok(()) }
    /// ```
    pub fn copy_on_write(&mut self, keep: bool) -> &mut Self {
        self.copy_on_write = keep;
        self
    }

    /// Whether data appended in bulk goes into 2 MiB page-cache pages (default `false`).
    ///
    /// With `true`, on Linux, while the vector is appended in bulk, its mapping is advised
    /// `MADV_HUGEPAGE` and large [`extend_from_slice`](crate::MmapedVec::extend_from_slice) writes
    /// are padded to 2 MiB boundaries, so that ext4 and XFS keep the data in 2 MiB folios:
    /// reading it back, after a reopen too, costs one page fault (and one TLB entry) per
    /// 2 MiB. Choose it for data that is appended and then read: logs, time series,
    /// recordings. The price: a [`sync`](crate::MmapedVec::sync) after changing one element of such
    /// data writes 2 MiB, which [`MmapedVec::set`](crate::MmapedVec::set) avoids. It changes nothing in the file,
    /// and read-only opens never give hints. Why it is not the default, and what it costs:
    /// `docs/guide.md`, "The page cache and `set`".
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("ticks.bin");
    /// use persistence::OpenOptions;
    ///
    /// // A recording, appended in bulk and read back in full later: large pages.
    /// let mut v = OpenOptions::new().huge_pages(true).open::<u64>(&path)?;
    /// v.extend_from_slice(&vec![7; 1 << 20])?;
    /// v.sync()?;
    /// # Ok(()) }
    /// ```
    pub fn huge_pages(&mut self, huge: bool) -> &mut Self {
        self.huge_pages = huge;
        self
    }

    /// Whether dropping a writer commits (default `true`): an [`MmapedVec`](crate::MmapedVec)
    /// or a [`Group`](crate::Group) dropped without [`close`](crate::MmapedVec::close) commits
    /// as `sync` does, ignoring errors.
    ///
    /// With `false`, a drop commits nothing: only `sync` and `close` do, and whatever was
    /// changed since the last commit is not made durable (appends after it are dropped at the
    /// next open; in-place changes may or may not have reached the disk). That makes every
    /// batch between two `sync`s a transaction that a drop, early return or panic rolls back,
    /// with or without `std`. With `std`, a writer dropped while its thread is panicking never
    /// commits, whatever this says: a panic in the middle of a batch (between two columns'
    /// pushes, say) must not commit half of it; the last commit stands, as redb's and LMDB's
    /// write transactions abort when dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("ledger.bin");
    /// use persistence::OpenOptions;
    ///
    /// let opts = *OpenOptions::new().commit_on_drop(false);
    /// let mut v = opts.open::<u64>(&path)?;
    /// v.extend_from_slice(&[1, 2])?;
    /// v.sync()?;
    /// v.push(3)?; // half of a batch...
    /// drop(v); // ...rolled back: only `sync` and `close` commit
    /// assert_eq!(opts.open::<u64>(&path)?, [1, 2]);
    /// # Ok(()) }
    /// ```
    pub fn commit_on_drop(&mut self, commit: bool) -> &mut Self {
        self.commit_on_drop = commit;
        self
    }

    /// [`commit_on_drop`](Self::commit_on_drop)'s value.
    pub(crate) fn commits_on_drop(&self) -> bool {
        self.commit_on_drop
    }

    /// What the region layer is told to open a file of `T` with these options; refuses, at
    /// compile time, a `T` no file can store ([`assert_storable`]).
    pub(crate) fn region_options<T: Pod>(&self, write: bool) -> RegionOptions {
        assert_storable::<T>();
        RegionOptions {
            write,
            create: self.create,
            create_new: self.create_new,
            mode: self.mode,
            wait_for_lock: self.wait_for_lock,
            capacity: self.capacity,
            copy_on_write: self.copy_on_write,
            huge_pages: self.huge_pages,
            early_writeback: self.early_writeback,
            layout: Layout::of::<T>(self.magic, self.version, T::FINGERPRINT.to_u64()),
        }
    }
}
