//! The syscall layer: the only code in the crate that calls rustix (or the platform), and
//! the only place that knows what an `errno` means.
//!
//! Two levels:
//!
//! * this module: what the region calls. Each call passes the test seam (`fault::check`,
//!   which compiles to nothing without the `persistence_test_hooks` cfg) and then goes to the
//!   backend; policy that is the same on every platform lives here too (how growth reserves
//!   blocks where `fallocate` is missing, which `errno` is which [`ErrorKind`](crate::ErrorKind));
//! * one backend, chosen by `cfg_attr(.., path = ..)` behind identical signatures: `unix.rs`
//!   (rustix, for real files), or under Miri (which cannot map files) `miri.rs`, a stand-in
//!   with heap "mappings" over real files, so that the layers above run unchanged; both
//!   share `errno.rs`, what each `errno` means.
//!
//! A new platform: a Unix that rustix supports needs at most a `cfg` arm in `unix.rs`
//! (`full_sync`, `remap`). Anything else fails to build with the one `compile_error!` below;
//! `unsupported.rs` is the backend it builds against meanwhile, the list of what a port
//! implements, so that the error stands alone.

#![allow(unsafe_code)]

#[cfg(not(unix))]
compile_error!(
    "persistence runs on Unix-like systems (Linux, Android, FreeBSD and the other BSDs, macOS \
     and Apple's other systems): it needs mmap, flock and a page cache shared by read/write \
     and mappings. This target is not one of them."
);

pub(crate) mod fault;
mod mapping;

pub(crate) use mapping::{unmapped, BlockMapping, Mapping, UNMAPPED_ALIGN};

#[cfg(unix)]
mod errno;

#[cfg_attr(all(unix, miri), path = "miri.rs")]
#[cfg_attr(all(unix, not(miri)), path = "unix.rs")]
#[cfg_attr(not(unix), path = "unsupported.rs")]
mod imp;

use core::ffi::CStr;
use core::ptr::NonNull;

use crate::error::{Error, Result};
use fault::Op;

/// Which remap strategy this build uses: `"mremap"` (Linux, Android: the mapping grows in
/// place or moves, without copying) or `"unmap-and-map"` (elsewhere, and on Linux built with
/// `PERSISTENCE_PORTABLE_REMAP=1`). `build.rs` decides. Only the test hooks show it.
#[cfg_attr(not(all(persistence_test_hooks, feature = "std")), allow(dead_code))]
pub(crate) const REMAP_STRATEGY: &str = if cfg!(persistence_mremap) {
    "mremap"
} else {
    "unmap-and-map"
};

/// Whether bytes written with `pwrite` show in the file's shared mappings at once (a unified
/// buffer cache), so that the region may write through the descriptor. True on Linux,
/// Android, the BSDs with a unified cache and Apple's systems; elsewhere (OpenBSD, say) the
/// region writes through the mapping only.
pub(crate) const WRITE_SHOWS_IN_MAPPINGS: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "dragonfly",
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
));

/// Whether `fdatasync` writes the pages dirtied through the file's shared mappings and
/// flushes the drive's cache, as `msync(MS_SYNC)` of the whole mapping would: true on Linux
/// and Android, where a store into a clean shared page takes a write fault that marks its
/// page-cache folio dirty, and where `msync(MS_SYNC)` is itself a ranged `fdatasync`.
/// Elsewhere the region `msync`s its data before flushing the file.
///
/// # References
///
/// * [`msync(2)`](https://man7.org/linux/man-pages/man2/msync.2.html), NOTES: since Linux
///   2.6.19 the kernel tracks dirty shared pages itself
/// * [`fsync(2)`](https://man7.org/linux/man-pages/man2/fsync.2.html)
pub(crate) const FSYNC_WRITES_MAPPED_PAGES: bool =
    cfg!(any(target_os = "linux", target_os = "android"));

/// Whether the kernel takes the page-cache hints the region gives for bulk appends (see
/// [`advise_huge`], [`File::drop_clean_cache`], [`File::write_all_padded_at`]): Linux and
/// Android, where page-cache folio sizes follow `MADV_HUGEPAGE` read-ahead and the length of
/// each `write`. Elsewhere the region gives none of them (they would cost work for nothing).
pub(crate) const HUGE_HINTS: bool = cfg!(any(target_os = "linux", target_os = "android"));

/// Whether a remapped mapping keeps the advice given to the old one: `mremap` carries the
/// mapping's flags (`MADV_HUGEPAGE` or `MADV_NOHUGEPAGE`) over to the grown or moved
/// mapping; the portable path's fresh `mmap` starts with none.
pub(crate) const REMAP_KEEPS_ADVICE: bool = cfg!(persistence_mremap);

/// Read-only zeros to write from: 64 KiB of `.rodata`, no heap and little stack.
static ZEROS: [u8; 64 << 10] = [0; 64 << 10];

/// The error for `errno` while doing `context`, with the [`ErrorKind`](crate::ErrorKind) a caller can act on.
pub(crate) fn os_error(errno: i32, context: &'static str) -> Error {
    Error::os(imp::kind_of_errno(errno), errno, context)
}

/// How to open a file.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OpenHow {
    /// Read-write (else read-only).
    pub(crate) write: bool,
    /// `O_CREAT`.
    pub(crate) create: bool,
    /// `O_CREAT | O_EXCL`.
    pub(crate) create_new: bool,
    /// Permission bits for a new file (before the umask).
    pub(crate) mode: u32,
}

/// What `fstat` says that the region needs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Stat {
    /// A regular file (not a directory, FIFO, socket or device).
    pub(crate) regular: bool,
    /// Size in bytes.
    pub(crate) size: u64,
    /// The device and inode: which file this is, to tell whether two names (or a name and
    /// a descriptor) are the same file.
    pub(crate) id: FileId,
    /// How many directory entries name the file: 0 once it was removed or renamed over (a
    /// lock taken on it then guards a file that no path leads to any more).
    pub(crate) nlink: u64,
    /// The permission bits (`st_mode & 0o7777`).
    pub(crate) perm: u32,
    /// Owner and group.
    pub(crate) uid: u32,
    /// Group.
    pub(crate) gid: u32,
}

impl Stat {
    /// Whether both describe the same file (device and inode).
    pub(crate) fn same_file(&self, other: &Stat) -> bool {
        self.id == other.id
    }
}

/// A file's identity: `(st_dev, st_ino)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    pub(crate) dev: u64,
    pub(crate) ino: u64,
}

/// What the file system says about a file, for [`inspect`](crate::inspect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FsFacts {
    /// The file system's name, where the library knows it.
    pub(crate) name: Option<&'static str>,
    /// Whether rewriting a block of the file allocates a new one (copy on write); `None`
    /// when the library cannot tell.
    pub(crate) copy_on_write: Option<bool>,
}

impl FsFacts {
    /// Nothing known.
    pub(crate) const UNKNOWN: FsFacts = FsFacts {
        name: None,
        copy_on_write: None,
    };
}

/// An open file descriptor, closed on drop.
#[derive(Debug)]
pub(crate) struct File(imp::File);

/// `open(path, flags, mode)` with `O_CLOEXEC | O_NOCTTY | O_NONBLOCK` always (`O_NONBLOCK`
/// makes opening a FIFO return at once instead of waiting for a peer; on a regular file it
/// changes nothing this crate does).
///
/// # References
///
/// * [POSIX `open`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/open.html)
/// * [Linux `open(2)`](https://man7.org/linux/man-pages/man2/open.2.html)
pub(crate) fn open(path: &CStr, how: &OpenHow) -> Result<File> {
    fault::check(Op::Open, "open")?;
    imp::open(path, how).map(File)
}

impl File {
    /// `fstat(fd)`: file type and size.
    ///
    /// # References
    ///
    /// * [POSIX `fstat`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/fstat.html)
    pub(crate) fn stat(&self) -> Result<Stat> {
        fault::check(Op::Stat, "fstat")?;
        self.0.stat()
    }

    /// `flock(fd, LOCK_EX or LOCK_SH [| LOCK_NB])`. A conflicting lock is `Locked`.
    ///
    /// # References
    ///
    /// * [Linux `flock(2)`](https://man7.org/linux/man-pages/man2/flock.2.html)
    /// * [FreeBSD `flock(2)`](https://man.freebsd.org/cgi/man.cgi?query=flock&sektion=2)
    pub(crate) fn lock(&self, exclusive: bool, wait: bool) -> Result<()> {
        fault::check(Op::Lock, "flock")?;
        self.0.lock(exclusive, wait)
    }

    /// `flock(fd, LOCK_UN)`: releases the lock even where a forked child still shares the
    /// open file description.
    ///
    /// # References
    ///
    /// * [Linux `flock(2)`](https://man7.org/linux/man-pages/man2/flock.2.html), `LOCK_UN`
    pub(crate) fn unlock(&self) -> Result<()> {
        self.0.unlock()
    }

    /// `pread` until `buf` is full or the file ends; returns the bytes read.
    ///
    /// # References
    ///
    /// * [POSIX `pread`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/pread.html)
    pub(crate) fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        self.0.read_at(buf, offset)
    }

    /// `pwrite` all of `buf` at `offset`.
    ///
    /// # References
    ///
    /// * [POSIX `pwrite`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/pwrite.html)
    pub(crate) fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        fault::check(Op::Write, "pwrite")?;
        self.0.write_all_at(buf, offset)
    }

    /// Makes the file's data and size durable: `fdatasync` (on Apple platforms
    /// `fcntl(F_FULLFSYNC)`, since their `fsync` does not flush the drive's cache).
    ///
    /// # References
    ///
    /// * [POSIX `fdatasync`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/fdatasync.html)
    /// * [Apple `fcntl(2)`, `F_FULLFSYNC`](https://developer.apple.com/library/archive/documentation/System/Conceptual/ManPages_iPhoneOS/man2/fcntl.2.html)
    pub(crate) fn sync_data(&self) -> Result<()> {
        fault::check(Op::SyncFile, "fdatasync")?;
        self.0.sync_data()
    }

    /// `ftruncate(fd, len)`.
    ///
    /// # References
    ///
    /// * [POSIX `ftruncate`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/ftruncate.html)
    pub(crate) fn set_len(&self, len: u64) -> Result<()> {
        fault::check(Op::Truncate, "ftruncate")?;
        self.0.set_len(len)
    }

    /// Grows the file from `old` to `new` bytes and reserves disk blocks for the new range,
    /// so that a full disk is an error here and never a `SIGBUS` on a later store into the
    /// mapping: `fallocate` where the file system has it; where it has not (ext2/ext3, ext4
    /// without extents, some FUSE and network file systems: `EOPNOTSUPP`; ZFS on FreeBSD:
    /// `EINVAL`), the new range is written with zeros, as `posix_fallocate`'s emulation does
    /// ([`write_zeros`](Self::write_zeros)). On failure the file is left at `old` bytes.
    ///
    /// # References
    ///
    /// * [Linux `fallocate(2)`](https://man7.org/linux/man-pages/man2/fallocate.2.html)
    /// * [POSIX `posix_fallocate`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/posix_fallocate.html)
    pub(crate) fn allocate(&self, old: u64, new: u64) -> Result<()> {
        debug_assert!(new >= old);
        if new <= old {
            return Ok(());
        }
        let reserved = match fault::check(Op::Allocate, "fallocate")
            .and_then(|()| self.0.fallocate(old, new - old))
        {
            Err(e) if e.raw_os_error().is_some_and(imp::fallocate_missing) => {
                self.write_zeros(old, new)
            }
            other => other,
        };
        if reserved.is_err() && self.0.stat().is_ok_and(|st| st.size != old) {
            // A partial reservation may have moved the end of the file: put it back.
            let _ = self.0.set_len(old);
        }
        reserved
    }

    /// Reserves `old..new` where `fallocate` is missing: sets the size first (so a file too
    /// large for its file system fails at once with `EFBIG`, before any byte is written),
    /// then writes zeros over the whole range, which makes the file system allocate (or, with
    /// delayed allocation, reserve) every block of it now. `ENOSPC` therefore comes from here
    /// and not from a page fault later. The zeros are dirty page cache until the next commit
    /// writes them back (its `fdatasync` after growth): the price of the guarantee on these
    /// file systems, which the benchmark prints per GiB.
    fn write_zeros(&self, old: u64, new: u64) -> Result<()> {
        // A range larger than the free space would be written up to the full disk before it
        // failed (and growth then retries smaller steps): ask the file system first. The
        // count includes blocks reserved for root, so this never refuses what a write would
        // get; a write can still fail later (metadata blocks, other writers).
        if self.0.free_bytes().is_some_and(|free| free < new - old) {
            return Err(os_error(imp::ENOSPC, "write (reserve blocks)"));
        }
        self.set_len(new)?;
        let mut at = old;
        while at < new {
            let n = (new - at).min(ZEROS.len() as u64) as usize;
            self.write_all_at(&ZEROS[..n], at)?;
            at += n as u64;
        }
        Ok(())
    }

    /// Reserves disk blocks for bytes `offset..offset + len`, which lie within the file (a
    /// hole that `ftruncate` left), without changing its size: `fallocate` where the file
    /// system has it, else zeros written over the range (after asking the file system for
    /// the free space, as [`allocate`](Self::allocate) does). A full disk is an error here,
    /// never a `SIGBUS` on a later store into the range. The range must hold nothing that
    /// matters: where `fallocate` is missing its bytes become zeros.
    pub(crate) fn reserve_range(&self, offset: u64, len: u64) -> Result<()> {
        if len == 0 {
            return Ok(());
        }
        match fault::check(Op::Allocate, "fallocate").and_then(|()| self.0.fallocate(offset, len)) {
            Err(e) if e.raw_os_error().is_some_and(imp::fallocate_missing) => {
                if self.0.free_bytes().is_some_and(|free| free < len) {
                    return Err(os_error(imp::ENOSPC, "write (reserve blocks)"));
                }
                let end = offset + len;
                let mut at = offset;
                while at < end {
                    let n = (end - at).min(ZEROS.len() as u64) as usize;
                    self.write_all_at(&ZEROS[..n], at)?;
                    at += n as u64;
                }
                Ok(())
            }
            other => other,
        }
    }

    /// Another descriptor of the same open file (`fcntl(F_DUPFD_CLOEXEC)`): it shares the
    /// `flock` lock, which stays held until it is unlocked or every descriptor is closed.
    pub(crate) fn duplicate(&self) -> Result<File> {
        fault::check(Op::Open, "dup")?;
        Ok(File(self.0.duplicate()?))
    }

    /// Writes all of `buf` at `offset` followed by `zeros` zero bytes, as one `pwritev` where
    /// the kernel has it (Linux, Android; elsewhere two writes). One call matters: Linux sizes
    /// each new page-cache folio from the length of the write that creates it, so a write that
    /// covers a whole 2 MiB-aligned range builds one 2 MiB folio, which a later reader maps
    /// with one page fault (and one TLB entry), where a shorter write builds smaller folios.
    /// `zeros` is less than 2 MiB. Partial writes are finished with plain `pwrite`s.
    ///
    /// # References
    ///
    /// * [POSIX `pwritev`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/pwritev.html)
    /// * [Linux `pwritev(2)`](https://man7.org/linux/man-pages/man2/pwritev.2.html)
    pub(crate) fn write_all_padded_at(&self, buf: &[u8], offset: u64, zeros: u64) -> Result<()> {
        debug_assert!(zeros < 2 << 20);
        fault::check(Op::Write, "pwritev")?;
        self.0.write_all_padded_at(buf, offset, zeros, &ZEROS)
    }

    /// `posix_fadvise(fd, offset, len, POSIX_FADV_DONTNEED)` where [`HUGE_HINTS`] holds: drops
    /// the clean, unmapped page-cache folios of the range (dirty or mapped ones stay, and the
    /// file's contents do not change). A hint: a failure is ignored.
    ///
    /// # References
    ///
    /// * [Linux `posix_fadvise(2)`](https://man7.org/linux/man-pages/man2/posix_fadvise.2.html)
    pub(crate) fn drop_clean_cache(&self, offset: u64, len: u64) {
        if len > 0 && fault::check(Op::Advise, "posix_fadvise").is_ok() {
            self.0.drop_clean_cache(offset, len);
        }
    }

    /// Starts writing the dirty pages of bytes `offset..offset + len` to disk without waiting
    /// (`sync_file_range(SYNC_FILE_RANGE_WRITE)` on Linux; nothing elsewhere), so
    /// that a later `fdatasync` finds them on their way. A hint: it changes no contents and
    /// promises no durability; a failure is ignored.
    ///
    /// # References
    ///
    /// * [Linux `sync_file_range(2)`](https://man7.org/linux/man-pages/man2/sync_file_range.2.html)
    pub(crate) fn start_writeback(&self, offset: u64, len: u64) {
        if len > 0 && fault::check(Op::Writeback, "sync_file_range").is_ok() {
            self.0.start_writeback(offset, len);
        }
    }

    /// Gives a new, still empty file the No_COW attribute where the file system has one
    /// (btrfs), as systemd-journald does for its mapped journals: a copy-on-write file needs
    /// a new block for every page rewritten through the mapping, and on a full disk that page
    /// fault raises `SIGBUS`. Where there is no such attribute (or it is refused), nothing
    /// changes and nothing fails.
    ///
    /// # References
    ///
    /// * [`ioctl_iflags(2)`](https://man7.org/linux/man-pages/man2/ioctl_iflags.2.html),
    ///   `FS_NOCOW_FL`; [`chattr(1)`](https://man7.org/linux/man-pages/man1/chattr.1.html),
    ///   attribute `C`
    pub(crate) fn set_no_cow(&self) {
        if fault::check(Op::SetFlags, "ioctl(FS_IOC_SETFLAGS)").is_ok() {
            self.0.set_no_cow();
        }
    }

    /// Whether the kernel builds large page-cache folios from large writes to this file, so
    /// that padding a write to a 2 MiB boundary makes one 2 MiB folio: ext4 and XFS on Linux
    /// (with large folios since 6.16 and 5.18). Elsewhere (btrfs and tmpfs build only 4 KiB
    /// ones here, other systems are unknown) padding would cost work for nothing.
    pub(crate) fn builds_large_folios(&self) -> bool {
        HUGE_HINTS && matches!(self.fs_facts().name, Some("ext2/ext3/ext4" | "xfs"))
    }

    /// What the file system says about this file (its name, whether it is copy-on-write).
    ///
    /// # References
    ///
    /// * [Linux `statfs(2)`](https://man7.org/linux/man-pages/man2/statfs.2.html)
    pub(crate) fn fs_facts(&self) -> FsFacts {
        self.0.fs_facts()
    }
}

impl File {
    /// `flock` of the live readers' lock file (its own fault-seam [`Op`], so that a test can
    /// stop at a reader's or a cutting writer's lock and not at the data file's).
    ///
    /// # References
    ///
    /// * [Linux `flock(2)`](https://man7.org/linux/man-pages/man2/flock.2.html)
    pub(crate) fn lock_sidecar(&self, exclusive: bool, wait: bool) -> Result<()> {
        fault::check(Op::LockSidecar, "flock (live readers' lock file)")?;
        self.0.lock(exclusive, wait)
    }

    /// Gives a file this library created the permission bits `perm` (`fchmod`, so that the
    /// umask does not narrow them) and the owner and group `uid`/`gid` (`fchown`; where that
    /// is refused, as it is unless the caller is privileged, the group alone). Best effort:
    /// failures are ignored.
    ///
    /// # References
    ///
    /// * [POSIX `fchmod`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/fchmod.html)
    /// * [POSIX `fchown`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/fchown.html)
    pub(crate) fn set_perm_owner(&self, perm: u32, uid: u32, gid: u32) {
        self.0.set_perm_owner(perm, uid, gid);
    }

    /// Whether the file is the root of a mount of its own (a file bind-mounted on its own,
    /// as `docker run -v /host/file:/file` does): Linux's `statx` `STATX_ATTR_MOUNT_ROOT`
    /// (kernel 5.8 and later). `false` where the system cannot tell.
    ///
    /// # References
    ///
    /// * [Linux `statx(2)`](https://man7.org/linux/man-pages/man2/statx.2.html)
    pub(crate) fn is_mount_root(&self) -> bool {
        self.0.is_mount_root()
    }
}

/// An open directory (Linux, Android, FreeBSD: `O_PATH`, which needs no read permission;
/// elsewhere `O_RDONLY | O_DIRECTORY`), closed on drop: the place where names are looked up
/// with [`Dir::stat_at`] and opened with [`Dir::open_at`], whatever happens to the path that
/// led to it.
#[derive(Debug)]
pub(crate) struct Dir(imp::Dir);

/// Opens the directory `path` (`O_CLOEXEC` always).
///
/// # References
///
/// * [Linux `open(2)`](https://man7.org/linux/man-pages/man2/open.2.html), `O_PATH`
pub(crate) fn open_dir(path: &CStr) -> Result<Dir> {
    fault::check(Op::OpenDir, "open (directory)")?;
    imp::open_dir(path).map(Dir)
}

/// `readlink(path)` into `buf`: `Some(bytes)` when the final component of `path` is a
/// symbolic link (its target is `buf[..bytes]`, not NUL-terminated; `bytes == buf.len()`
/// means it may have been cut short), `None` when it is not a link (`EINVAL`).
///
/// # References
///
/// * [POSIX `readlink`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/readlink.html)
pub(crate) fn read_link(path: &CStr, buf: &mut [u8]) -> Result<Option<usize>> {
    fault::check(Op::ReadLink, "readlink")?;
    imp::read_link(path, buf)
}

impl Dir {
    /// `fsync` of this directory (through a descriptor opened on it for the purpose), so
    /// that a name created in it survives power loss.
    ///
    /// # References
    ///
    /// * [POSIX `fsync`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/fsync.html)
    pub(crate) fn sync(&self) -> Result<()> {
        fault::check(Op::SyncDir, "fsync(directory)")?;
        self.0.sync()
    }

    /// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: what `name` in this directory is now (a
    /// symbolic link is described, not followed).
    ///
    /// # References
    ///
    /// * [POSIX `fstatat`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/fstatat.html)
    pub(crate) fn stat_at(&self, name: &CStr) -> Result<Stat> {
        fault::check(Op::StatAt, "fstatat")?;
        self.0.stat_at(name)
    }

    /// `openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)`, with
    /// `create_new` also `O_CREAT | O_EXCL` and permission bits `0o600` (the caller sets the
    /// real ones with [`File::set_perm_owner`]). A symbolic link at `name` is refused
    /// ([`ErrorKind::NotARegularFile`](crate::ErrorKind::NotARegularFile)); a FIFO opens at
    /// once without waiting for a peer.
    ///
    /// # References
    ///
    /// * [POSIX `openat`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/openat.html)
    pub(crate) fn open_at(&self, name: &CStr, create_new: bool) -> Result<File> {
        fault::check(Op::OpenSidecar, "openat (live readers' lock file)")?;
        self.0.open_at(name, create_new).map(File)
    }
}

/// Makes the directory entry of `path` durable: `fsync` of its parent directory, so that a
/// newly created file survives power loss under its name.
///
/// # References
///
/// * [POSIX `fsync`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/fsync.html)
pub(crate) fn sync_parent_dir(path: &CStr) -> Result<()> {
    fault::check(Op::SyncDir, "fsync(parent directory)")?;
    imp::sync_parent_dir(path)
}

/// `rename(from, to)`: atomically makes `to` name the file `from` names. With `replace`
/// false, fails with `AlreadyExists` instead of replacing an existing `to`
/// (`renameat2(RENAME_NOREPLACE)` on Linux and Android, `renameatx_np(RENAME_EXCL)` on Apple
/// systems); where the system or the file system lacks that, it is a plain `rename`.
///
/// # References
///
/// * [POSIX `rename`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/rename.html)
/// * [Linux `rename(2)`](https://man7.org/linux/man-pages/man2/rename.2.html), `RENAME_NOREPLACE`
pub(crate) fn rename(from: &CStr, to: &CStr, replace: bool) -> Result<()> {
    fault::check(Op::Rename, "rename")?;
    imp::rename(from, to, replace)
}

/// `unlink(path)`: removes a directory entry.
///
/// # References
///
/// * [POSIX `unlink`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/unlink.html)
pub(crate) fn unlink(path: &CStr) -> Result<()> {
    fault::check(Op::Unlink, "unlink")?;
    imp::unlink(path)
}

/// The OS page size, read at run time (4 KiB, 16 KiB and 64 KiB all occur).
///
/// # References
///
/// * [POSIX `sysconf(_SC_PAGESIZE)`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/sysconf.html)
pub(crate) fn page_size() -> usize {
    fault::page_size().unwrap_or_else(imp::page_size)
}

/// `getpid()`: the process a handle was opened in, so that a child forked from it (which
/// shares its open file descriptions, and with them its locks) neither commits nor unlocks
/// for it (`docs/design.md`, "Locks").
///
/// # References
///
/// * [POSIX `getpid`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/getpid.html)
pub(crate) fn process_id() -> u32 {
    imp::process_id()
}

/// `mmap(NULL, len, PROT_READ [| PROT_WRITE], MAP_SHARED, fd, 0)`.
///
/// # Safety
///
/// * `len > 0`, and the caller never touches bytes of the mapping at or past the file's
///   current size (they would raise `SIGBUS`).
/// * The caller unmaps the result with [`unmap`] (or moves it with [`remap`]) exactly once.
///
/// # References
///
/// * [POSIX `mmap`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/mmap.html)
/// * [Linux `mmap(2)`](https://man7.org/linux/man-pages/man2/mmap.2.html)
unsafe fn map(file: &File, len: usize, writable: bool) -> Result<NonNull<u8>> {
    fault::check(Op::Map, "mmap")?;
    // SAFETY: the caller's bullets are this function's, forwarded unchanged.
    unsafe { imp::map(&file.0, len, writable) }
}

/// Maps `blocks` (file offset, length) of `file` end to end, at an address that is a
/// multiple of `align`: reserves the range, then `mmap(MAP_SHARED | MAP_FIXED)` of each
/// block into it. Unmapped with [`unmap`] of the whole length.
///
/// # Safety
///
/// * Every offset and length is a multiple of the page size, the total is above 0, and
///   `align` is a power of two at least the page size.
/// * The caller never touches bytes of a block at or past the file's current size, and
///   unmaps the result with [`unmap`] exactly once.
unsafe fn map_blocks(
    file: &File,
    blocks: &[(u64, usize)],
    writable: bool,
    align: usize,
) -> Result<NonNull<u8>> {
    fault::check(Op::Map, "mmap")?;
    // SAFETY: the caller's bullets are this function's, forwarded unchanged.
    unsafe { imp::map_blocks(&file.0, blocks, writable, align) }
}

/// The monotonic clock, in nanoseconds since an arbitrary start (`clock_gettime`).
pub(crate) fn monotonic_ns() -> u64 {
    imp::monotonic_ns()
}

/// Sleeps while the `u32` at `addr` holds `expected`, until a [`wake_u32`] on it (from any
/// process that maps the same file page), a signal, a spurious wake-up, or `timeout_ns`
/// (`None`: no limit): `futex(FUTEX_WAIT)` on Linux and Android, `_umtx_op` on FreeBSD,
/// `os_sync_wait_on_address` on Apple systems that have it. Returns `true` when it waited
/// (the caller checks again either way), `false` when this system (or a test, with
/// `test_hooks::force_polling`) has no such wait, and the caller polls instead.
///
/// # Safety
///
/// `addr` is 4-byte aligned and lies in a live `MAP_SHARED` mapping of a file for the whole
/// call.
///
/// # References
///
/// * [Linux `futex(2)`](https://man7.org/linux/man-pages/man2/futex.2.html)
/// * [FreeBSD `_umtx_op(2)`](https://man.freebsd.org/cgi/man.cgi?query=_umtx_op)
/// * Apple `os_sync_wait_on_address(3)` (`<os/os_sync_wait_on_address.h>`)
pub(crate) unsafe fn wait_on_u32(
    addr: NonNull<u32>,
    expected: u32,
    timeout_ns: Option<u64>,
) -> bool {
    if fault::polling_forced() {
        return false;
    }
    if let Err(e) = fault::check(Op::Wait, "futex") {
        // An injected signal: the sleep was cut short.
        return e.raw_os_error().is_some();
    }
    // SAFETY: forwarded unchanged from the caller.
    unsafe { imp::wait_on_u32(addr, expected, timeout_ns) }
}

/// Wakes every process and thread waiting on the `u32` at `addr` ([`wait_on_u32`]); a
/// no-op where there is no such wait.
///
/// # Safety
///
/// `addr` is 4-byte aligned and lies in a live `MAP_SHARED` mapping of a file for the whole
/// call.
pub(crate) unsafe fn wake_u32(addr: NonNull<u32>) {
    // SAFETY: forwarded unchanged from the caller.
    unsafe { imp::wake_u32(addr) }
}

/// Sleeps for `ns` nanoseconds (`nanosleep`), between two polls of something that has no
/// event to wait on.
pub(crate) fn sleep_ns(ns: u64) {
    imp::sleep_ns(ns);
}

/// `sched_yield()`: lets another thread run, while waiting for one that holds a spin lock.
pub(crate) fn yield_now() {
    imp::yield_now();
}

/// `munmap(ptr, len)`.
///
/// # Safety
///
/// * `ptr` and `len` describe exactly one live mapping returned by [`map`] or [`remap`].
/// * No reference into the mapping outlives this call.
///
/// # References
///
/// * [POSIX `munmap`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/munmap.html)
unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: forwarded unchanged from the caller.
    unsafe { imp::unmap(ptr, len) }
}

/// Moves or resizes the mapping at `ptr` (`old_len` bytes) to cover `new_len` bytes of
/// `file`, without copying page contents: `mremap(MREMAP_MAYMOVE)` where
/// [`REMAP_STRATEGY`] is `"mremap"`, else a new `mmap` of the file and then `munmap` of the
/// old mapping. On error the old mapping is untouched and still valid.
///
/// # Safety
///
/// * `ptr`/`old_len` is a live mapping of `file` returned by [`map`] or [`remap`], and no
///   reference into it is alive (it may move).
/// * The file is at least `new_len` bytes long before any byte past `old_len` is touched.
///
/// # References
///
/// * [Linux `mremap(2)`](https://man7.org/linux/man-pages/man2/mremap.2.html)
unsafe fn remap(
    file: &File,
    ptr: NonNull<u8>,
    old_len: usize,
    new_len: usize,
    writable: bool,
) -> Result<NonNull<u8>> {
    fault::check(
        Op::Remap,
        if cfg!(persistence_mremap) {
            "mremap"
        } else {
            "mmap (remap)"
        },
    )?;
    // SAFETY: forwarded unchanged from the caller.
    unsafe { imp::remap(&file.0, ptr, old_len, new_len, writable) }
}

/// `madvise(ptr, len, MADV_HUGEPAGE)` when `huge`, else `madvise(ptr, len, MADV_NOHUGEPAGE)`,
/// where [`HUGE_HINTS`] holds; nothing elsewhere. A hint: a failure is ignored (`EINVAL`
/// from a kernel built without transparent huge pages, say), and the contents never change.
///
/// With `MADV_HUGEPAGE`, a page fault on a page not yet in the page cache reads ahead in
/// 2 MiB-aligned 2 MiB folios (ext4 and XFS with large folios), which a later reader maps
/// with one page fault per 2 MiB; without it, the read-ahead starts small after every growth
/// step. `ptr..ptr + len` must be a *whole* mapping: advice on a part splits it into two
/// kernel mappings, and a later `mremap` of the whole range then fails with `EFAULT`.
///
/// # Safety
///
/// * `ptr`/`len` is exactly one whole live mapping returned by [`map`] or [`remap`].
///
/// # References
///
/// * [Linux `madvise(2)`](https://man7.org/linux/man-pages/man2/madvise.2.html)
unsafe fn advise_huge(ptr: NonNull<u8>, len: usize, huge: bool) {
    if len > 0 && fault::check(Op::Advise, "madvise").is_ok() {
        // SAFETY: forwarded unchanged from the caller.
        unsafe { imp::advise_huge(ptr, len, huge) }
    }
}

/// `msync(ptr, len, MS_SYNC)`: writes the dirty pages of the range to the file and waits,
/// so that they are on stable storage when it returns. On Linux that is what `msync` does;
/// elsewhere it is followed by a flush of the file (`F_FULLFSYNC` on Apple systems,
/// `fdatasync` on the BSDs), since `msync` there does not promise to flush the drive's
/// cache.
///
/// # Safety
///
/// * `ptr` is page-aligned and `ptr..ptr + len` lies within one live mapping of `file`.
///
/// # References
///
/// * [POSIX `msync`](https://pubs.opengroup.org/onlinepubs/9799919799/functions/msync.html)
/// * [Linux `msync(2)`](https://man7.org/linux/man-pages/man2/msync.2.html)
unsafe fn msync(file: &File, ptr: NonNull<u8>, len: usize) -> Result<()> {
    fault::check(Op::Msync, "msync")?;
    if len == 0 {
        return Ok(());
    }
    // SAFETY: forwarded unchanged from the caller.
    unsafe { imp::msync(&file.0, ptr, len) }
}
