//! The Unix syscall layer over rustix: the only module of the crate that calls rustix.
//!
//! # Safety
//!
//! The mapping functions (`map`, `unmap`, `remap`, `msync`) take and return raw pointers;
//! their callers (the region) own the mappings and uphold the `# Safety` bullets stated on
//! each. Everything else here is safe and works on an owned file descriptor.

use core::ffi::{c_void, CStr};
use core::ptr::{self, NonNull};

use rustix::fd::{AsFd, OwnedFd};
use rustix::fs::{self, FlockOperation, Mode, OFlags};
use rustix::io::Errno;
use rustix::mm::{self, MapFlags, MsyncFlags, ProtFlags};

pub(crate) use super::errno::{fallocate_missing, kind_of_errno, ENOSPC};
use super::{os_error, FileId, FsFacts, OpenHow, Stat};
use crate::error::{Error, ErrorKind, Result};

/// An open file descriptor, closed on drop.
#[derive(Debug)]
pub struct File {
    fd: OwnedFd,
}

fn err(e: Errno, context: &'static str) -> Error {
    os_error(e.raw_os_error(), context)
}

/// Retries a call interrupted by a signal.
fn retry<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> rustix::io::Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            other => return other,
        }
    }
}

/// `open(path, flags, mode)` with `O_CLOEXEC | O_NOCTTY | O_NONBLOCK` always.
///
/// `O_NONBLOCK` makes opening a FIFO return at once instead of waiting for a peer; on a regular
/// file it has no effect on the reads, writes and mappings this crate does.
pub fn open(path: &CStr, how: &OpenHow) -> Result<File> {
    let mut flags = OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
    flags |= if how.write {
        OFlags::RDWR
    } else {
        OFlags::RDONLY
    };
    if how.create_new {
        flags |= OFlags::CREATE | OFlags::EXCL;
    } else if how.create {
        flags |= OFlags::CREATE;
    }
    let mode = Mode::from_raw_mode(how.mode as _);
    let fd = retry(|| fs::open(path, flags, mode)).map_err(|e| err(e, "open"))?;
    Ok(File { fd })
}

/// The fields of `st` that the library uses.
// The field types differ between systems (`dev_t` is signed on macOS, `nlink_t` 16 bits
// there), so some casts are needless on some targets.
#[allow(clippy::unnecessary_cast)]
fn stat_of(st: &fs::Stat) -> Result<Stat> {
    let regular = fs::FileType::from_raw_mode(st.st_mode as _).is_file();
    let size = u64::try_from(st.st_size)
        .map_err(|_| Error::new(ErrorKind::Corrupt, "negative file size"))?;
    Ok(Stat {
        regular,
        size,
        id: FileId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        },
        nlink: st.st_nlink as u64,
        perm: st.st_mode as u32 & 0o7777,
        uid: st.st_uid as u32,
        gid: st.st_gid as u32,
    })
}

impl File {
    /// `fstat(fd)`: file type, size, identity, links, permissions, owner.
    pub fn stat(&self) -> Result<Stat> {
        let st = fs::fstat(&self.fd).map_err(|e| err(e, "fstat"))?;
        stat_of(&st)
    }

    /// `fchmod` to `perm`, then `fchown` to `uid`/`gid` or, where refused, the group alone;
    /// failures ignored.
    pub fn set_perm_owner(&self, perm: u32, uid: u32, gid: u32) {
        let _ = fs::fchmod(&self.fd, Mode::from_raw_mode(perm as _));
        let (uid, gid) = (
            rustix::fs::Uid::from_raw(uid as _),
            rustix::fs::Gid::from_raw(gid as _),
        );
        if fs::fchown(&self.fd, Some(uid), Some(gid)).is_err() {
            let _ = fs::fchown(&self.fd, None, Some(gid));
        }
    }

    /// Linux: `statx(fd, "", AT_EMPTY_PATH)`'s `STATX_ATTR_MOUNT_ROOT`.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn is_mount_root(&self) -> bool {
        use rustix::fs::{statx, AtFlags, StatxAttributes, StatxFlags};
        match statx(&self.fd, c"", AtFlags::EMPTY_PATH, StatxFlags::BASIC_STATS) {
            Ok(st) => {
                st.stx_attributes_mask.contains(StatxAttributes::MOUNT_ROOT)
                    && st.stx_attributes.contains(StatxAttributes::MOUNT_ROOT)
            }
            Err(_) => false,
        }
    }

    /// Elsewhere the library cannot tell.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn is_mount_root(&self) -> bool {
        false
    }

    /// `flock(fd, LOCK_EX or LOCK_SH [| LOCK_NB])`. A conflicting lock is `Locked`.
    pub fn lock(&self, exclusive: bool, wait: bool) -> Result<()> {
        let op = match (exclusive, wait) {
            (true, true) => FlockOperation::LockExclusive,
            (true, false) => FlockOperation::NonBlockingLockExclusive,
            (false, true) => FlockOperation::LockShared,
            (false, false) => FlockOperation::NonBlockingLockShared,
        };
        retry(|| fs::flock(&self.fd, op)).map_err(|e| err(e, "flock"))
    }

    /// `flock(fd, LOCK_UN)`: releases the lock even where a forked child still shares the
    /// open file description.
    pub fn unlock(&self) -> Result<()> {
        retry(|| fs::flock(&self.fd, FlockOperation::Unlock)).map_err(|e| err(e, "unlock"))
    }

    /// `pread` until `buf` is full or the file ends; returns the bytes read.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            match retry(|| rustix::io::pread(&self.fd, &mut buf[done..], at)) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) => return Err(err(e, "pread")),
            }
        }
        Ok(done)
    }

    /// `pwrite` all of `buf` at `offset`.
    pub fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        let mut done = 0;
        while done < buf.len() {
            let at = offset + done as u64;
            match retry(|| rustix::io::pwrite(&self.fd, &buf[done..], at)) {
                Ok(0) => return Err(Error::new(ErrorKind::Io, "pwrite wrote nothing")),
                Ok(n) => done += n,
                Err(e) => return Err(err(e, "pwrite")),
            }
        }
        Ok(())
    }

    /// Writes all of `buf` at `offset`, then `zeros` zero bytes (taken from `zero`, repeated),
    /// with one `pwritev` on Linux and Android (the kernel sizes new page-cache folios from
    /// the length of each write call); a short write is finished with plain `pwrite`s, and so
    /// is everything elsewhere.
    pub fn write_all_padded_at(
        &self,
        buf: &[u8],
        offset: u64,
        zeros: u64,
        zero: &[u8],
    ) -> Result<()> {
        let mut done = 0u64;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::io::IoSlice;
            /// The data and up to 32 slices of zeros: 2 MiB of padding with 64 KiB of zeros.
            const SLICES: usize = 33;
            let mut iov = [IoSlice::new(&[]); SLICES];
            iov[0] = IoSlice::new(buf);
            let (mut n, mut left) = (1, zeros);
            while left > 0 && n < SLICES && !zero.is_empty() {
                let k = left.min(zero.len() as u64) as usize;
                iov[n] = IoSlice::new(&zero[..k]);
                left -= k as u64;
                n += 1;
            }
            if left == 0 {
                done = retry(|| rustix::io::pwritev(&self.fd, &iov[..n], offset))
                    .map_err(|e| err(e, "pwritev"))? as u64;
            }
        }
        let len = buf.len() as u64;
        if done < len {
            self.write_all_at(&buf[done as usize..], offset + done)?;
            done = len;
        }
        while done < len + zeros && !zero.is_empty() {
            let k = (len + zeros - done).min(zero.len() as u64) as usize;
            self.write_all_at(&zero[..k], offset + done)?;
            done += k as u64;
        }
        Ok(())
    }

    /// `posix_fadvise(fd, offset, len, POSIX_FADV_DONTNEED)` on Linux and Android: drops the
    /// clean, unmapped page-cache folios of the range. A hint: errors are ignored.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn drop_clean_cache(&self, offset: u64, len: u64) {
        if let Some(len) = core::num::NonZeroU64::new(len) {
            let _ = fs::fadvise(&self.fd, offset, Some(len), fs::Advice::DontNeed);
        }
    }

    /// Elsewhere the region gives no page-cache hints.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn drop_clean_cache(&self, offset: u64, len: u64) {
        let _ = (offset, len);
    }

    /// `sync_file_range(fd, offset, len, SYNC_FILE_RANGE_WRITE)`: starts writeback of the
    /// range's dirty pages without waiting. A hint: errors are ignored.
    #[cfg(target_os = "linux")]
    pub fn start_writeback(&self, offset: u64, len: u64) {
        use rustix::fd::AsRawFd;
        // SAFETY: a plain system call on a descriptor this value owns; it reads nothing of
        // this process's memory.
        let _ = unsafe {
            libc::sync_file_range(
                self.fd.as_raw_fd(),
                offset as libc::off64_t,
                len as libc::off64_t,
                libc::SYNC_FILE_RANGE_WRITE,
            )
        };
    }

    /// Elsewhere nothing starts writeback early without waiting for it (`msync(MS_ASYNC)`
    /// does little on modern kernels, and neither rustix nor the libc crate binds
    /// `sync_file_range` on Android): nothing to do.
    #[cfg(not(target_os = "linux"))]
    pub fn start_writeback(&self, offset: u64, len: u64) {
        let _ = (offset, len);
    }

    /// Makes the file's data and size durable: `fdatasync` (on Apple platforms
    /// `fcntl(F_FULLFSYNC)`, since their `fsync` does not flush the drive's cache).
    pub fn sync_data(&self) -> Result<()> {
        full_sync(&self.fd)
    }

    /// `ftruncate(fd, len)`.
    pub fn set_len(&self, len: u64) -> Result<()> {
        retry(|| fs::ftruncate(&self.fd, len)).map_err(|e| err(e, "ftruncate"))
    }

    /// `fallocate(fd, 0, offset, len)` (on Apple systems rustix emulates it with
    /// `F_PREALLOCATE`); the caller falls back to writing zeros on `EOPNOTSUPP`.
    pub fn fallocate(&self, offset: u64, len: u64) -> Result<()> {
        retry(|| fs::fallocate(&self.fd, fs::FallocateFlags::empty(), offset, len))
            .map_err(|e| err(e, "fallocate"))
    }

    /// `fcntl(F_DUPFD_CLOEXEC)`: another descriptor of the same open file description
    /// (the same offset, flags and `flock` lock).
    pub fn duplicate(&self) -> Result<File> {
        let fd = rustix::io::fcntl_dupfd_cloexec(&self.fd, 0).map_err(|e| err(e, "dup"))?;
        Ok(File { fd })
    }

    /// The bytes free on the file system (`fstatvfs`: free blocks, those reserved for root
    /// included, times the fragment size), or `None` when it does not say.
    pub fn free_bytes(&self) -> Option<u64> {
        let st = fs::fstatvfs(&self.fd).ok()?;
        Some(st.f_bfree.saturating_mul(st.f_frsize))
    }

    /// Gives a new, still empty file the No_COW attribute (`FS_IOC_SETFLAGS` with
    /// `FS_NOCOW_FL`) where the file system has it (btrfs), as systemd-journald does for its
    /// mapped journals: a copy-on-write file needs a new block for every page rewritten
    /// through the mapping, and on a full disk that page fault raises `SIGBUS`. The flag only
    /// takes effect on an empty file. Where the file system has no such attribute (or the
    /// ioctl is refused), nothing changes and nothing fails: the region works either way.
    ///
    /// # References
    ///
    /// * [`ioctl_iflags(2)`](https://man7.org/linux/man-pages/man2/ioctl_iflags.2.html)
    /// * [`chattr(1)`](https://man7.org/linux/man-pages/man1/chattr.1.html), attribute `C`
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn set_no_cow(&self) {
        use rustix::fs::{ioctl_getflags, ioctl_setflags, IFlags};
        if let Ok(flags) = ioctl_getflags(&self.fd) {
            if !flags.contains(IFlags::NOCOW) {
                let _ = ioctl_setflags(&self.fd, flags | IFlags::NOCOW);
            }
        }
    }

    /// Elsewhere there is no No_COW attribute to set (ZFS has none).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn set_no_cow(&self) {}

    /// What the file system says about this file: its name where known, and whether
    /// rewriting a block of this file allocates a new one (copy on write).
    ///
    /// # References
    ///
    /// * [`statfs(2)`](https://man7.org/linux/man-pages/man2/statfs.2.html)
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub fn fs_facts(&self) -> FsFacts {
        use rustix::fs::{fstatfs, ioctl_getflags, IFlags};
        // The `f_type` magic numbers of <linux/magic.h>.
        const BTRFS: u64 = 0x9123_683E;
        const EXT: u64 = 0xEF53; // ext2, ext3 and ext4 share it
        const XFS: u64 = 0x5846_5342;
        const TMPFS: u64 = 0x0102_1994;
        const ZFS: u64 = 0x2FC1_2FC1;
        const BCACHEFS: u64 = 0xCA45_1A4E;
        const F2FS: u64 = 0xF2F5_2010;
        let Ok(st) = fstatfs(&self.fd) else {
            return FsFacts::UNKNOWN;
        };
        // `f_type` is signed on some targets and unsigned on others (so the cast is needless
        // on some); the magic numbers are 32-bit.
        #[allow(clippy::unnecessary_cast)]
        let magic = st.f_type as u64 & 0xFFFF_FFFF;
        let nocow = || {
            ioctl_getflags(&self.fd)
                .ok()
                .map(|f| f.contains(IFlags::NOCOW))
        };
        let (name, copy_on_write) = match magic {
            BTRFS => ("btrfs", nocow().map(|n| !n)),
            EXT => ("ext2/ext3/ext4", Some(false)),
            XFS => ("xfs", Some(false)),
            TMPFS => ("tmpfs", Some(false)),
            F2FS => ("f2fs", Some(false)),
            ZFS => ("zfs", Some(true)),
            BCACHEFS => ("bcachefs", None),
            _ => return FsFacts::UNKNOWN,
        };
        FsFacts {
            name: Some(name),
            copy_on_write,
        }
    }

    /// Elsewhere the library does not tell file systems apart.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub fn fs_facts(&self) -> FsFacts {
        FsFacts::UNKNOWN
    }
}

#[cfg(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos"
))]
fn full_sync(fd: &OwnedFd) -> Result<()> {
    match retry(|| fs::fcntl_fullfsync(fd)) {
        Ok(()) => Ok(()),
        // Some file systems (network, FUSE) refuse F_FULLFSYNC: fall back to fsync.
        Err(Errno::NOTSUP | Errno::INVAL) => retry(|| fs::fsync(fd)).map_err(|e| err(e, "fsync")),
        Err(e) => Err(err(e, "fcntl(F_FULLFSYNC)")),
    }
}

#[cfg(not(any(
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos"
)))]
fn full_sync(fd: &OwnedFd) -> Result<()> {
    retry(|| fs::fdatasync(fd)).map_err(|e| err(e, "fdatasync"))
}

/// An open directory, closed on drop.
#[derive(Debug)]
pub struct Dir {
    fd: OwnedFd,
}

/// Opens the directory `path`: `O_PATH` where it exists (no read permission needed),
/// else `O_RDONLY`; `O_DIRECTORY | O_CLOEXEC` always.
pub fn open_dir(path: &CStr) -> Result<Dir> {
    #[cfg(any(target_os = "linux", target_os = "android", target_os = "freebsd"))]
    let access = OFlags::PATH;
    #[cfg(not(any(target_os = "linux", target_os = "android", target_os = "freebsd")))]
    let access = OFlags::RDONLY;
    let flags = access | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd =
        retry(|| fs::open(path, flags, Mode::empty())).map_err(|e| err(e, "open (directory)"))?;
    Ok(Dir { fd })
}

/// `readlink(path)` into `buf`; `None` when `path` is not a symbolic link.
pub fn read_link(path: &CStr, buf: &mut [u8]) -> Result<Option<usize>> {
    match fs::readlinkat_raw(fs::CWD, path, &mut *buf) {
        Ok(n) => Ok(Some(n)),
        Err(Errno::INVAL) => Ok(None),
        Err(e) => Err(err(e, "readlink")),
    }
}

impl Dir {
    /// `fsync` of this directory, through a descriptor opened on it with
    /// `openat(dir, ".", O_RDONLY | O_DIRECTORY)` (an `O_PATH` descriptor cannot be synced).
    /// A file system that cannot fsync a directory is accepted as it is.
    pub fn sync(&self) -> Result<()> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let fd = retry(|| fs::openat(&self.fd, c".", flags, Mode::empty()))
            .map_err(|e| err(e, "open(directory, to fsync it)"))?;
        match retry(|| fs::fsync(&fd)) {
            Ok(()) | Err(Errno::INVAL | Errno::OPNOTSUPP | Errno::BADF) => Ok(()),
            Err(e) => Err(err(e, "fsync(directory)")),
        }
    }

    /// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
    pub fn stat_at(&self, name: &CStr) -> Result<Stat> {
        let st = fs::statat(&self.fd, name, fs::AtFlags::SYMLINK_NOFOLLOW)
            .map_err(|e| err(e, "fstatat"))?;
        stat_of(&st)
    }

    /// `openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK [|
    /// O_CREAT | O_EXCL], 0o600)`; a symbolic link (`ELOOP`) is `NotARegularFile`.
    pub fn open_at(&self, name: &CStr, create_new: bool) -> Result<File> {
        let mut flags =
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NOCTTY | OFlags::NONBLOCK;
        if create_new {
            flags |= OFlags::CREATE | OFlags::EXCL;
        }
        let mode = Mode::from_raw_mode(0o600);
        match retry(|| fs::openat(&self.fd, name, flags, mode)) {
            Ok(fd) => Ok(File { fd }),
            Err(Errno::LOOP) => Err(Error::os(
                ErrorKind::NotARegularFile,
                Errno::LOOP.raw_os_error(),
                "openat (live readers' lock file): a symbolic link",
            )),
            Err(e) => Err(err(e, "openat (live readers' lock file)")),
        }
    }
}

/// Makes the directory entry of `path` durable: `fsync` of its parent directory, so that a
/// newly created file survives power loss under its name.
pub fn sync_parent_dir(path: &CStr) -> Result<()> {
    let bytes = path.to_bytes();
    let mut buf = [0u8; crate::path::MAX_PATH + 1];
    let parent: &[u8] = match bytes.iter().rposition(|&b| b == b'/') {
        None => b".",
        Some(0) => b"/",
        Some(i) => &bytes[..i],
    };
    buf[..parent.len()].copy_from_slice(parent);
    let dir = CStr::from_bytes_until_nul(&buf[..=parent.len()])
        .map_err(|_| Error::new(ErrorKind::InvalidPath, "parent directory"))?;
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::DIRECTORY;
    let fd = retry(|| fs::open(dir, flags, Mode::empty()))
        .map_err(|e| err(e, "open(parent directory)"))?;
    match retry(|| fs::fsync(&fd)) {
        // Some file systems cannot fsync a directory; the entry is then as durable as they allow.
        Ok(()) | Err(Errno::INVAL | Errno::OPNOTSUPP | Errno::BADF) => Ok(()),
        Err(e) => Err(err(e, "fsync(parent directory)")),
    }
}

/// `rename(from, to)`; with `replace` false, `renameat2(RENAME_NOREPLACE)` (Apple:
/// `renameatx_np(RENAME_EXCL)`), falling back to a plain `rename` where the kernel or the file
/// system does not support it.
pub fn rename(from: &CStr, to: &CStr, replace: bool) -> Result<()> {
    #[cfg(any(
        target_os = "linux",
        target_os = "android",
        target_os = "macos",
        target_os = "ios",
        target_os = "tvos",
        target_os = "watchos"
    ))]
    if !replace {
        let flags = fs::RenameFlags::NOREPLACE;
        match retry(|| fs::renameat_with(fs::CWD, from, fs::CWD, to, flags)) {
            // No support in this kernel or file system: a plain rename below.
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            other => return other.map_err(|e| err(e, "rename (no replace)")),
        }
    }
    let _ = replace;
    retry(|| fs::rename(from, to)).map_err(|e| err(e, "rename"))
}

/// `unlink(path)`.
pub fn unlink(path: &CStr) -> Result<()> {
    retry(|| fs::unlink(path)).map_err(|e| err(e, "unlink"))
}

/// The OS page size, read at run time (4 KiB, 16 KiB and 64 KiB all occur).
pub fn page_size() -> usize {
    rustix::param::page_size()
}

/// The monotonic clock, in nanoseconds since an arbitrary start.
pub fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    (t.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(t.tv_nsec as u64)
}

/// Sleeps while the `u32` at `addr` holds `expected`, until a wake on it, a signal, or
/// `timeout_ns` (`None`: no limit): `futex(FUTEX_WAIT)`, shared (the address is in a
/// `MAP_SHARED` file mapping, so the kernel keys the wait by file and offset and a wake from
/// any process's mapping of that page reaches it). `true` when it waited (or the value had
/// changed, or it was cut short: the caller checks again); `false` when it cannot wait here
/// (the caller polls).
///
/// # Safety
///
/// `addr` is 4-byte aligned and lies in a live shared mapping for the whole call.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub unsafe fn wait_on_u32(addr: NonNull<u32>, expected: u32, timeout_ns: Option<u64>) -> bool {
    use core::sync::atomic::AtomicU32;
    use rustix::thread::futex;
    // SAFETY: the caller guarantees an aligned address in a live mapping for the call; the
    // reference is only read (the kernel compares it), never written.
    let word = unsafe { &*addr.as_ptr().cast::<AtomicU32>() };
    let ts = timeout_ns.map(|ns| rustix::thread::Timespec {
        tv_sec: (ns / 1_000_000_000) as _,
        tv_nsec: (ns % 1_000_000_000) as _,
    });
    match futex::wait(word, futex::Flags::empty(), expected, ts.as_ref()) {
        Ok(()) => true,
        Err(Errno::AGAIN | Errno::INTR | Errno::TIMEDOUT) => true,
        Err(_) => false,
    }
}

/// Wakes every waiter on the `u32` at `addr` (`futex(FUTEX_WAKE)`, shared).
///
/// # Safety
///
/// `addr` is 4-byte aligned and lies in a live shared mapping for the whole call.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub unsafe fn wake_u32(addr: NonNull<u32>) {
    use core::sync::atomic::AtomicU32;
    // SAFETY: as in `wait_on_u32`: only the address matters to the kernel.
    let word = unsafe { &*addr.as_ptr().cast::<AtomicU32>() };
    let _ =
        rustix::thread::futex::wake(word, rustix::thread::futex::Flags::empty(), i32::MAX as u32);
}

/// FreeBSD's `_umtx_op`, which the libc crate does not bind.
#[cfg(target_os = "freebsd")]
mod umtx {
    extern "C" {
        pub fn _umtx_op(
            obj: *mut core::ffi::c_void,
            op: core::ffi::c_int,
            val: core::ffi::c_ulong,
            uaddr: *mut core::ffi::c_void,
            uaddr2: *mut core::ffi::c_void,
        ) -> core::ffi::c_int;
    }
    /// `UMTX_OP_WAKE` (`<sys/umtx.h>`): wake waiters on an address, shared.
    pub const UMTX_OP_WAKE: core::ffi::c_int = 3;
    /// `UMTX_OP_WAIT_UINT`: sleep while a `u_int` holds a value, shared.
    pub const UMTX_OP_WAIT_UINT: core::ffi::c_int = 11;
}

/// As on Linux, with `_umtx_op(UMTX_OP_WAIT_UINT)` (shared between processes).
///
/// # Safety
///
/// `addr` is 4-byte aligned and lies in a live shared mapping for the whole call.
#[cfg(target_os = "freebsd")]
pub unsafe fn wait_on_u32(addr: NonNull<u32>, expected: u32, timeout_ns: Option<u64>) -> bool {
    let mut ts = timeout_ns.map(|ns| libc::timespec {
        tv_sec: (ns / 1_000_000_000) as _,
        tv_nsec: (ns % 1_000_000_000) as _,
    });
    let ts_ptr = ts.as_mut().map_or(ptr::null_mut(), |t| {
        (t as *mut libc::timespec).cast::<c_void>()
    });
    // SAFETY: `addr` is a live, aligned word (the caller's contract); with `uaddr` NULL the
    // kernel reads `uaddr2` as a relative `struct timespec`, which lives on this stack.
    let r = unsafe {
        umtx::_umtx_op(
            addr.as_ptr().cast(),
            umtx::UMTX_OP_WAIT_UINT,
            expected.into(),
            ptr::null_mut(),
            ts_ptr,
        )
    };
    r == 0
        || matches!(
            Errno::from_raw_os_error(errno_now()),
            Errno::INTR | Errno::TIMEDOUT | Errno::AGAIN
        )
}

/// The calling thread's `errno` (FreeBSD and Apple: both name its location `__error`).
#[cfg(any(target_os = "freebsd", target_vendor = "apple"))]
fn errno_now() -> i32 {
    // SAFETY: `__error` returns a valid pointer to this thread's errno, for the thread's life.
    unsafe { *libc::__error() }
}

/// Wakes every waiter on the `u32` at `addr` (`_umtx_op(UMTX_OP_WAKE)`).
///
/// # Safety
///
/// `addr` is 4-byte aligned and lies in a live shared mapping for the whole call.
#[cfg(target_os = "freebsd")]
pub unsafe fn wake_u32(addr: NonNull<u32>) {
    // SAFETY: only the address matters to the kernel.
    let _ = unsafe {
        umtx::_umtx_op(
            addr.as_ptr().cast(),
            umtx::UMTX_OP_WAKE,
            i32::MAX as _,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
}

/// Apple's `os_sync_wait_on_address_with_timeout` and `os_sync_wake_by_address_all` (macOS
/// 14.4 and later), looked up with `dlsym` so that the library still loads on older systems,
/// where waiting readers poll.
#[cfg(target_vendor = "apple")]
mod os_sync {
    use core::ffi::{c_int, c_void};
    use core::sync::atomic::{AtomicUsize, Ordering};

    pub type Wait = unsafe extern "C" fn(*mut c_void, u64, usize, u32, u32, u64) -> c_int;
    pub type Wake = unsafe extern "C" fn(*mut c_void, usize, u32) -> c_int;
    /// `OS_SYNC_WAIT_ON_ADDRESS_SHARED` and `OS_SYNC_WAKE_BY_ADDRESS_SHARED`.
    pub const SHARED: u32 = 1;
    /// `OS_CLOCK_MACH_ABSOLUTE_TIME`.
    pub const CLOCK: u32 = 32;

    /// 0: not looked up yet; 1: missing; else the address.
    static WAIT: AtomicUsize = AtomicUsize::new(0);
    static WAKE: AtomicUsize = AtomicUsize::new(0);

    fn lookup(cache: &AtomicUsize, name: &core::ffi::CStr) -> Option<usize> {
        let mut v = cache.load(Ordering::Relaxed);
        if v == 0 {
            // SAFETY: `dlsym` with the default handle and a NUL-terminated name only looks
            // the symbol up.
            let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
            v = if p.is_null() { 1 } else { p as usize };
            cache.store(v, Ordering::Relaxed);
        }
        (v != 1).then_some(v)
    }

    pub fn wait() -> Option<Wait> {
        // SAFETY: the symbol is Apple's function of this signature (`<os/os_sync_wait_on_address.h>`).
        lookup(&WAIT, c"os_sync_wait_on_address_with_timeout")
            .map(|p| unsafe { core::mem::transmute::<usize, Wait>(p) })
    }

    pub fn wake() -> Option<Wake> {
        // SAFETY: as in `wait`.
        lookup(&WAKE, c"os_sync_wake_by_address_all")
            .map(|p| unsafe { core::mem::transmute::<usize, Wake>(p) })
    }
}

/// As on Linux, with `os_sync_wait_on_address_with_timeout` (shared) where the system has it.
///
/// # Safety
///
/// `addr` is 4-byte aligned and lies in a live shared mapping for the whole call.
#[cfg(target_vendor = "apple")]
pub unsafe fn wait_on_u32(addr: NonNull<u32>, expected: u32, timeout_ns: Option<u64>) -> bool {
    let Some(wait) = os_sync::wait() else {
        return false;
    };
    // With no limit, a long one (the caller waits again after it).
    let timeout = timeout_ns.unwrap_or(u64::MAX / 4).max(1);
    // SAFETY: a live, aligned 4-byte word (the caller's contract) and Apple's documented
    // arguments.
    let r = unsafe {
        wait(
            addr.as_ptr().cast(),
            expected.into(),
            4,
            os_sync::SHARED,
            os_sync::CLOCK,
            timeout,
        )
    };
    r >= 0
        || matches!(
            Errno::from_raw_os_error(errno_now()),
            Errno::INTR | Errno::TIMEDOUT | Errno::FAULT
        )
}

/// Wakes every waiter on the `u32` at `addr` (`os_sync_wake_by_address_all`, shared).
///
/// # Safety
///
/// `addr` is 4-byte aligned and lies in a live shared mapping for the whole call.
#[cfg(target_vendor = "apple")]
pub unsafe fn wake_u32(addr: NonNull<u32>) {
    if let Some(wake) = os_sync::wake() {
        // SAFETY: as in `wait_on_u32`.
        let _ = unsafe { wake(addr.as_ptr().cast(), 4, os_sync::SHARED) };
    }
}

/// Elsewhere no wait on an address: waiting readers poll.
///
/// # Safety
///
/// None needed: it does nothing.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple"
)))]
pub unsafe fn wait_on_u32(addr: NonNull<u32>, expected: u32, timeout_ns: Option<u64>) -> bool {
    let _ = (addr, expected, timeout_ns);
    false
}

/// Elsewhere nothing to wake.
///
/// # Safety
///
/// None needed: it does nothing.
#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_vendor = "apple"
)))]
pub unsafe fn wake_u32(addr: NonNull<u32>) {
    let _ = addr;
}

/// `nanosleep` for `ns` nanoseconds (an interrupted sleep is cut short; callers poll).
pub fn sleep_ns(ns: u64) {
    let t = rustix::thread::Timespec {
        // Both fit any target's fields (callers sleep at most seconds).
        tv_sec: (ns / 1_000_000_000) as _,
        tv_nsec: (ns % 1_000_000_000) as _,
    };
    let _ = rustix::thread::nanosleep(&t);
}

/// `sched_yield()`.
pub fn yield_now() {
    rustix::thread::sched_yield();
}

/// `getpid()`.
pub fn process_id() -> u32 {
    rustix::process::getpid()
        .as_raw_nonzero()
        .get()
        .unsigned_abs()
}

fn prot(writable: bool) -> ProtFlags {
    if writable {
        ProtFlags::READ | ProtFlags::WRITE
    } else {
        ProtFlags::READ
    }
}

/// `mmap(NULL, len, PROT_READ [| PROT_WRITE], MAP_SHARED, fd, 0)`.
///
/// # Safety
///
/// * `len > 0`, and the caller never touches bytes of the mapping at or past the file's
///   current size (they would raise `SIGBUS`).
/// * The caller unmaps the result with [`unmap`] (or moves it with [`remap`]) exactly once.
pub unsafe fn map(file: &File, len: usize, writable: bool) -> Result<NonNull<u8>> {
    debug_assert!(len > 0);
    // SAFETY: a new mapping at an address the kernel picks (NULL hint) cannot overlap any
    // existing Rust object; the caller's bullets cover its use and its unmapping.
    let p = unsafe {
        mm::mmap(
            ptr::null_mut(),
            len,
            prot(writable),
            MapFlags::SHARED,
            file.fd.as_fd(),
            0,
        )
    }
    .map_err(|e| err(e, "mmap"))?;
    NonNull::new(p.cast::<u8>()).ok_or(Error::new(ErrorKind::Io, "mmap returned NULL"))
}

/// Maps `blocks` (file offset, length) of `file` end to end at one address that is a
/// multiple of `align`: reserves the whole range with an inaccessible anonymous mapping, then
/// maps each block over its part of it (`MAP_FIXED`). The result is unmapped as one range.
///
/// # Safety
///
/// * Every offset and length is a multiple of the page size, the total is above 0, and
///   `align` is a power of two and a multiple of the page size.
/// * The caller never touches bytes of a block at or past the file's current size, and
///   unmaps the result with [`unmap`] (the total length) exactly once.
pub unsafe fn map_blocks(
    file: &File,
    blocks: &[(u64, usize)],
    writable: bool,
    align: usize,
) -> Result<NonNull<u8>> {
    let total: usize = blocks.iter().map(|b| b.1).sum();
    debug_assert!(total > 0 && align.is_power_of_two());
    let reserve = total
        .checked_add(align)
        .ok_or(Error::new(ErrorKind::CapacityOverflow, "mapping too large"))?;
    // SAFETY: a new inaccessible mapping at an address the kernel picks overlaps no Rust
    // object; it is trimmed and filled below, and unmapped on every error path.
    let base = unsafe {
        mm::mmap_anonymous(
            ptr::null_mut(),
            reserve,
            ProtFlags::empty(),
            MapFlags::PRIVATE,
        )
    }
    .map_err(|e| err(e, "mmap (reserve)"))?
    .cast::<u8>();
    let lead = (align - (base as usize) % align) % align;
    // SAFETY: `lead + total <= reserve`: `start` lies in the reservation just made.
    let start = unsafe { base.add(lead) };
    // SAFETY: the ranges before `start` and after `start + total` are the reservation's own
    // (`lead + total <= reserve`), which nothing else uses; unmapping them trims it to the
    // aligned range the blocks fill.
    unsafe {
        if lead > 0 {
            let _ = mm::munmap(base.cast::<c_void>(), lead);
        }
        let _ = mm::munmap(start.add(total).cast::<c_void>(), reserve - lead - total);
    }
    let mut at = 0;
    for &(offset, len) in blocks {
        // SAFETY: `start + at .. + len` lies in the reservation, which only this function
        // refers to: MAP_FIXED replaces part of it with the block.
        let mapped = unsafe {
            mm::mmap(
                start.add(at).cast::<c_void>(),
                len,
                prot(writable),
                MapFlags::SHARED | MapFlags::FIXED,
                file.fd.as_fd(),
                offset,
            )
        };
        if let Err(e) = mapped {
            // SAFETY: the whole range is this function's (reservation and blocks).
            unsafe { unmap(NonNull::new_unchecked(start), total) };
            return Err(err(e, "mmap"));
        }
        at += len;
    }
    NonNull::new(start).ok_or(Error::new(ErrorKind::Io, "mmap returned NULL"))
}

/// `munmap(ptr, len)`.
///
/// # Safety
///
/// * `ptr` and `len` describe exactly one live mapping returned by [`map`] or [`remap`].
/// * No reference into the mapping outlives this call.
pub unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    // SAFETY: the caller guarantees that this is a whole live mapping with no borrows left.
    // munmap can only fail for arguments that are not a mapping, which the caller rules out.
    let _ = unsafe { mm::munmap(ptr.as_ptr().cast::<c_void>(), len) };
}

/// Moves or resizes the mapping at `ptr` (`old_len` bytes) to cover `new_len` bytes of
/// `file`, without copying page contents. With `cfg(persistence_mremap)` this is
/// `mremap(MREMAP_MAYMOVE)`; elsewhere the file is mapped again and then the old mapping
/// is unmapped. On error the old mapping is untouched and still valid.
///
/// # Safety
///
/// As [`sys::remap`](super::remap), whose contract this implements.
#[cfg(persistence_mremap)]
pub unsafe fn remap(
    file: &File,
    ptr: NonNull<u8>,
    old_len: usize,
    new_len: usize,
    writable: bool,
) -> Result<NonNull<u8>> {
    let _ = (file, writable);
    // SAFETY: the caller guarantees a live mapping with no outstanding borrows; MAYMOVE lets
    // the kernel pick a new address, which cannot overlap another Rust object.
    let p = unsafe { os_mremap(ptr.as_ptr().cast::<c_void>(), old_len, new_len) }
        .map_err(|e| err(e, "mremap"))?;
    NonNull::new(p.cast::<u8>()).ok_or(Error::new(ErrorKind::Io, "mremap returned NULL"))
}

#[cfg(all(persistence_mremap, target_os = "linux"))]
unsafe fn os_mremap(
    old: *mut c_void,
    old_len: usize,
    new_len: usize,
) -> rustix::io::Result<*mut c_void> {
    // SAFETY: forwarded from `remap`'s contract.
    unsafe { mm::mremap(old, old_len, new_len, mm::MremapFlags::MAYMOVE) }
}

/// # Safety
///
/// As [`remap`].
#[cfg(all(persistence_mremap, target_os = "android"))]
unsafe fn os_mremap(
    old: *mut c_void,
    old_len: usize,
    new_len: usize,
) -> rustix::io::Result<*mut c_void> {
    // Bionic's `mremap(2)` wrapper; neither rustix nor the libc crate binds it on Android.
    extern "C" {
        fn mremap(
            old: *mut libc::c_void,
            old_len: usize,
            new_len: usize,
            flags: libc::c_int,
            ...
        ) -> *mut libc::c_void;
    }
    /// `MREMAP_MAYMOVE` from `<linux/mman.h>`, the same on every Linux architecture.
    const MREMAP_MAYMOVE: libc::c_int = 1;
    // SAFETY: forwarded from `remap`'s contract; the declaration matches bionic's
    // `void* mremap(void*, size_t, size_t, int, ...)`.
    let p = unsafe { mremap(old.cast(), old_len, new_len, MREMAP_MAYMOVE) };
    if p == libc::MAP_FAILED {
        // SAFETY: reading errno right after the failing call.
        Err(Errno::from_raw_os_error(unsafe { *libc::__errno() }))
    } else {
        Ok(p.cast())
    }
}

/// Moves or resizes the mapping at `ptr` (`old_len` bytes) to cover `new_len` bytes of
/// `file`: the portable path maps the file again, then unmaps the old mapping. Page contents
/// are not copied (both mappings show the same page cache). On error the old mapping is
/// untouched and still valid.
///
/// # Safety
///
/// * `ptr`/`old_len` is a live mapping of `file` returned by [`map`] or [`remap`], and no
///   reference into it is alive (it is unmapped).
/// * The file is at least `new_len` bytes long before any byte past `old_len` is touched.
#[cfg(not(persistence_mremap))]
pub unsafe fn remap(
    file: &File,
    ptr: NonNull<u8>,
    old_len: usize,
    new_len: usize,
    writable: bool,
) -> Result<NonNull<u8>> {
    // SAFETY: `new_len > 0` because a region always covers its header; the caller owns the
    // new mapping from here on, and never touches bytes past the file's size.
    let new = unsafe { map(file, new_len, writable) }?;
    // SAFETY: the caller guarantees `ptr`/`old_len` is a whole live mapping with no borrows.
    unsafe { unmap(ptr, old_len) };
    Ok(new)
}

/// `madvise(ptr, len, MADV_HUGEPAGE or MADV_NOHUGEPAGE)` on Linux and Android. A hint:
/// errors are ignored (`EINVAL` when the kernel has no transparent huge pages).
///
/// # Safety
///
/// * `ptr`/`len` is exactly one whole live mapping returned by [`map`] or [`remap`].
#[cfg(any(target_os = "linux", target_os = "android"))]
pub unsafe fn advise_huge(ptr: NonNull<u8>, len: usize, huge: bool) {
    let advice = if huge {
        mm::Advice::LinuxHugepage
    } else {
        mm::Advice::LinuxNoHugepage
    };
    // SAFETY: the caller guarantees a whole live mapping (page-aligned); these two advices
    // change only how later faults fill the page cache and map it, never the contents, so
    // no Rust reference into the mapping is affected.
    let _ = unsafe { mm::madvise(ptr.as_ptr().cast::<c_void>(), len, advice) };
}

/// Elsewhere there is no such advice: nothing to do.
///
/// # Safety
///
/// None needed: it does nothing.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub unsafe fn advise_huge(ptr: NonNull<u8>, len: usize, huge: bool) {
    let _ = (ptr, len, huge);
}

/// `msync(ptr, len, MS_SYNC)`: writes the dirty pages of the range to the file and waits.
/// On Apple platforms it is followed by `fcntl(F_FULLFSYNC)`, since `msync` there stops at
/// the drive's volatile cache.
///
/// # Safety
///
/// * `ptr` is page-aligned and `ptr..ptr + len` lies within one live mapping of `file`.
pub unsafe fn msync(file: &File, ptr: NonNull<u8>, len: usize) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    // SAFETY: the caller guarantees a page-aligned range inside a live mapping; msync does
    // not change the memory, so no Rust reference is invalidated.
    retry(|| unsafe { mm::msync(ptr.as_ptr().cast::<c_void>(), len, MsyncFlags::SYNC) })
        .map_err(|e| err(e, "msync"))?;
    // On Linux `msync(MS_SYNC)` is a ranged `fdatasync` of the file: it writes the pages and
    // flushes the drive's cache. Elsewhere it only promises the pages were written: on Apple
    // systems they may sit in the drive's volatile cache, and on the BSDs nothing says the
    // cache is flushed. The commit writes its slot after this returns and must not let the
    // drive put the slot on stable storage before the data, so flush the file here too.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    full_sync(&file.fd)?;
    let _ = file;
    Ok(())
}
