//! The syscall layer under Miri, which cannot map files: real files, heap "mappings".
//!
//! Everything but the mapping goes to the real file through `std::fs` (Miri forwards `open`,
//! `fstat`, `pread`, `pwrite`, `ftruncate`, `fdatasync` and `flock` to the host when run
//! with `-Zmiri-disable-isolation`), so the layers above and the tests that inspect the file
//! with `std::fs` run unchanged. A mapping is a page-aligned heap block of exactly the mapped
//! length, filled from the file by [`map`] and written back to it by [`msync`], [`remap`] and
//! [`unmap`]. That lets Miri check what the real `mmap` cannot be checked for:
//!
//! * a byte at or past the mapped length is outside the allocation, so touching it is
//!   reported (a real mapping would raise `SIGBUS` past the file's end); and mapping past the
//!   end of the file, or cutting the file below a live mapping, panics, because the region
//!   promises `map_len <= file_len` at all times;
//! * [`remap`] always moves the mapping (new block, old one freed), so any pointer or slice
//!   kept across a growth is a use-after-free that Miri reports;
//! * a read-only mapping is handed out through a shared reference, so a write through it is
//!   reported as undefined behaviour (a real one would fault);
//! * a mapping that is never unmapped is a leak that Miri reports at exit.
//!
//! `pwrite` through [`File::write_all_at`] updates the live mappings made from the same
//! [`File`] at once, as one page cache would: the region appends large slices that way.
//!
//! Differences from the real thing, none of which the region relies on: the file sees the
//! mapping's bytes only at `msync`, `remap` and `unmap` (another descriptor reading the file
//! in between sees older bytes, where the page cache would show the new ones; and a `pwrite`
//! through another descriptor does not reach this one's mappings); `msync` writes
//! the bytes back without `fdatasync`, since Miri checks memory safety, not durability;
//! `allocate` is `ftruncate` (no `fallocate` under Miri); the parent directory is opened but
//! not `fsync`ed (Miri cannot `fsync` a directory); a FIFO blocks `open` (no
//! `O_NONBLOCK` under Miri); a blocking lock polls. Both remap strategies behave as "always
//! move"; `REMAP_STRATEGY` keeps the name the build chose so tests that check it still pass.
//!
//! # Safety
//!
//! As in `unix.rs`: the mapping functions take and return raw pointers, and their callers
//! (the region) own the mappings and uphold the `# Safety` bullets stated on each. The table
//! of live mappings lets this module check most of those bullets and panic when one is
//! broken.

// The crate is `no_std`; this module alone needs std (files, the heap, a mutex), whether or
// not the `std` feature already brought it in at the crate root.
#[allow(unused_extern_crates)]
extern crate std;

use core::ffi::CStr;
use core::ptr::NonNull;

use std::alloc::{self, Layout};
use std::ffi::OsStr;
use std::fs;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};
use std::vec::Vec;

use rustix::fd::BorrowedFd;
use rustix::fs::FlockOperation;
use rustix::io::Errno;

pub(crate) use super::errno::{fallocate_missing, kind_of_errno, ENOSPC};
use super::{os_error, FileId, FsFacts, OpenHow, Stat};
use crate::error::{Error, Result};

/// The page size of the emulated mappings (their alignment, and what `msync` requires).
const PAGE: usize = 4096;

/// An open file, closed when the last reference goes: the handle and every mapping made
/// from it share the descriptor, as a real mapping holds a reference to the open file (and
/// so keeps its `flock` lock alive until it is unlocked explicitly or unmapped).
#[derive(Debug)]
pub struct File {
    file: Arc<fs::File>,
    write: bool,
}

fn errno(e: Errno, context: &'static str) -> Error {
    os_error(e.raw_os_error(), context)
}

fn io_err(e: &std::io::Error, context: &'static str) -> Error {
    os_error(
        e.raw_os_error().unwrap_or(Errno::IO.raw_os_error()),
        context,
    )
}

/// Opens `path` with `std::fs` (`O_CLOEXEC` is std's default).
pub fn open(path: &CStr, how: &OpenHow) -> Result<File> {
    let path = Path::new(OsStr::from_bytes(path.to_bytes()));
    let mut opts = fs::OpenOptions::new();
    opts.read(true).write(how.write).mode(how.mode);
    if how.create_new {
        opts.create_new(true);
    } else if how.create {
        opts.create(true);
    }
    let file = opts.open(path).map_err(|e| io_err(&e, "open"))?;
    Ok(File {
        file: Arc::new(file),
        write: how.write,
    })
}

impl File {
    /// The descriptor, for rustix (whose `AsFd` is std's only when its `std` feature is on).
    fn fd(&self) -> BorrowedFd<'_> {
        // SAFETY: the descriptor is owned by `self.file`, which outlives the borrow.
        unsafe { BorrowedFd::borrow_raw(self.file.as_raw_fd()) }
    }

    /// `fstat(fd)`: file type, size, identity, links, permissions, owner.
    pub fn stat(&self) -> Result<Stat> {
        let meta = self.file.metadata().map_err(|e| io_err(&e, "fstat"))?;
        Ok(stat_of(&meta))
    }

    /// Miri has no `fchmod`/`fchown`: nothing happens (Miri checks memory, not modes).
    pub fn set_perm_owner(&self, _perm: u32, _uid: u32, _gid: u32) {}

    /// Miri has no `statx`: it cannot tell.
    pub fn is_mount_root(&self) -> bool {
        false
    }

    /// `flock(fd, LOCK_EX or LOCK_SH | LOCK_NB)`. A conflicting lock is `Locked`. With `wait`
    /// it polls, since a blocking `flock` would stop every thread Miri runs, including the
    /// holder.
    pub fn lock(&self, exclusive: bool, wait: bool) -> Result<()> {
        let op = if exclusive {
            FlockOperation::NonBlockingLockExclusive
        } else {
            FlockOperation::NonBlockingLockShared
        };
        loop {
            match rustix::fs::flock(self.fd(), op) {
                Ok(()) => return Ok(()),
                Err(Errno::INTR) => continue,
                Err(Errno::WOULDBLOCK) if wait => {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                Err(e) => return Err(errno(e, "flock")),
            }
        }
    }

    /// `flock(fd, LOCK_UN)`.
    pub fn unlock(&self) -> Result<()> {
        rustix::fs::flock(self.fd(), FlockOperation::Unlock).map_err(|e| errno(e, "unlock"))
    }

    /// `pread` until `buf` is full or the file ends; returns the bytes read.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], offset + done as u64) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io_err(&e, "pread")),
            }
        }
        Ok(done)
    }

    /// `pwrite` all of `buf` at `offset`. The live mappings made from this file show the new
    /// bytes at once, as with one page cache (the region appends this way and then reads the
    /// elements through its mapping).
    pub fn write_all_at(&self, buf: &[u8], offset: u64) -> Result<()> {
        self.file
            .write_all_at(buf, offset)
            .map_err(|e| io_err(&e, "pwrite"))?;
        let end = offset + buf.len() as u64;
        for m in maps().0.iter().filter(|m| Arc::ptr_eq(&m.file, &self.file)) {
            if !m.writable {
                // A read-only mapping of a descriptor that is also written (a group writer's
                // header page, mapped for waking readers): nothing reads through it.
                continue;
            }
            for &(at, off, len) in &m.segments {
                let (a, b) = (offset.max(off), end.min(off + len as u64));
                if a >= b {
                    continue;
                }
                let from = &buf[(a - offset) as usize..(b - offset) as usize];
                // SAFETY: `a..b` lies in this segment of the live block; the block belongs to
                // the caller's region, which holds no reference into it while it calls
                // `pwrite` (it holds the region mutably).
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        from.as_ptr(),
                        m.block.as_ptr().add(at + (a - off) as usize),
                        from.len(),
                    )
                };
            }
        }
        Ok(())
    }

    /// `pwrite` of `buf`, then of `zeros` zero bytes (from `zero`, repeated); the live
    /// mappings see both, as with [`write_all_at`](Self::write_all_at). Folio sizes, the
    /// reason for one `pwritev` on Linux, mean nothing here.
    pub fn write_all_padded_at(
        &self,
        buf: &[u8],
        offset: u64,
        zeros: u64,
        zero: &[u8],
    ) -> Result<()> {
        self.write_all_at(buf, offset)?;
        let (mut at, end) = (offset + buf.len() as u64, offset + buf.len() as u64 + zeros);
        while at < end && !zero.is_empty() {
            let k = (end - at).min(zero.len() as u64) as usize;
            self.write_all_at(&zero[..k], at)?;
            at += k as u64;
        }
        Ok(())
    }

    /// Stand-in for `sync_file_range(SYNC_FILE_RANGE_WRITE)`: there is no page cache.
    pub fn start_writeback(&self, offset: u64, len: u64) {
        let _ = (offset, len);
    }

    /// Stand-in for `posix_fadvise(DONTNEED)`: there is no page cache to drop.
    pub fn drop_clean_cache(&self, offset: u64, len: u64) {
        let _ = (offset, len);
    }

    /// `fdatasync`: as on Linux, it first writes back what was stored through this file's
    /// writable mappings (the kernel tracks those pages as dirty), then flushes the file.
    pub fn sync_data(&self) -> Result<()> {
        for m in maps().0.iter() {
            if m.writable && Arc::ptr_eq(&m.file, &self.file) {
                // SAFETY: the whole live block; the caller's region holds no reference into
                // it while it flushes (it holds the region mutably, or is being dropped).
                unsafe { m.write_back(0, m.len) }?;
            }
        }
        self.file.sync_data().map_err(|e| io_err(&e, "fdatasync"))
    }

    /// `ftruncate(fd, len)`.
    ///
    /// # Panics
    ///
    /// If a live mapping of this file would then reach past its end: the region promises
    /// that it never does (a real mapping would raise `SIGBUS` there).
    pub fn set_len(&self, len: u64) -> Result<()> {
        for m in maps().0.iter() {
            if Arc::ptr_eq(&m.file, &self.file) && m.file_end() > len {
                panic!(
                    "sys(miri): ftruncate to {len} bytes under a live mapping of {} bytes",
                    m.file_end()
                );
            }
        }
        if !self.write {
            return Err(errno(Errno::BADF, "ftruncate"));
        }
        self.file.set_len(len).map_err(|e| io_err(&e, "ftruncate"))
    }

    /// Miri has no `fallocate`: this is `ftruncate` to `offset + len` (never shorter), which
    /// under Miri reserves as much as anything does (the stand-in checks memory, not disks).
    pub fn fallocate(&self, offset: u64, len: u64) -> Result<()> {
        let size = self.stat()?.size;
        let end = offset.saturating_add(len);
        if end > size {
            self.set_len(end)?;
        }
        Ok(())
    }

    /// `dup`: the same open file (sharing its mappings' write-back and its lock, as a real
    /// duplicate shares the open file description).
    pub fn duplicate(&self) -> Result<File> {
        Ok(File {
            file: Arc::clone(&self.file),
            write: self.write,
        })
    }

    /// Miri cannot `fstatvfs`: the free space is unknown.
    pub fn free_bytes(&self) -> Option<u64> {
        None
    }

    /// Miri has no `ioctl`: the No_COW attribute is not set (it changes no behaviour that
    /// Miri checks).
    pub fn set_no_cow(&self) {}

    /// Miri cannot `fstatfs`: nothing is known about the file system.
    pub fn fs_facts(&self) -> FsFacts {
        FsFacts::UNKNOWN
    }
}

/// The fields of `meta` that the library uses.
fn stat_of(meta: &fs::Metadata) -> Stat {
    use std::os::unix::fs::MetadataExt;
    Stat {
        regular: meta.file_type().is_file(),
        size: meta.len(),
        id: FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        },
        nlink: meta.nlink(),
        perm: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
    }
}

/// A directory: its path (Miri has no `openat`/`fstatat`, so names are looked up by joining
/// them to it), checked to be a directory when opened.
#[derive(Debug)]
pub struct Dir {
    path: std::path::PathBuf,
}

/// "Opens" the directory `path`: checks that it is one and remembers its path.
pub fn open_dir(path: &CStr) -> Result<Dir> {
    let path = Path::new(OsStr::from_bytes(path.to_bytes()));
    let meta = fs::metadata(path).map_err(|e| io_err(&e, "open (directory)"))?;
    if !meta.is_dir() {
        return Err(errno(Errno::NOTDIR, "open (directory)"));
    }
    Ok(Dir {
        path: path.to_path_buf(),
    })
}

/// `readlink(path)` into `buf`; `None` when `path` is not a symbolic link.
pub fn read_link(path: &CStr, buf: &mut [u8]) -> Result<Option<usize>> {
    let path = Path::new(OsStr::from_bytes(path.to_bytes()));
    match fs::read_link(path) {
        Ok(target) => {
            let bytes = target.as_os_str().as_bytes();
            let n = bytes.len().min(buf.len());
            buf[..n].copy_from_slice(&bytes[..n]);
            Ok(Some(n))
        }
        Err(e) if e.raw_os_error() == Some(Errno::INVAL.raw_os_error()) => Ok(None),
        Err(e) => Err(io_err(&e, "readlink")),
    }
}

impl Dir {
    /// Would `fsync` the directory, which Miri does not support on a directory descriptor:
    /// this opens it (so a missing one is still an error) and stops there.
    pub fn sync(&self) -> Result<()> {
        fs::File::open(&self.path).map_err(|e| io_err(&e, "open(directory, to fsync it)"))?;
        Ok(())
    }

    fn join(&self, name: &CStr) -> std::path::PathBuf {
        self.path.join(OsStr::from_bytes(name.to_bytes()))
    }

    /// `lstat(dir/name)`.
    pub fn stat_at(&self, name: &CStr) -> Result<Stat> {
        let meta = fs::symlink_metadata(self.join(name)).map_err(|e| io_err(&e, "fstatat"))?;
        Ok(stat_of(&meta))
    }

    /// `open(dir/name, O_NOFOLLOW [| O_CREAT | O_EXCL])`; read-write when creating (std
    /// creates only for writing), which changes nothing for `flock`.
    pub fn open_at(&self, name: &CStr, create_new: bool) -> Result<File> {
        let mut opts = fs::OpenOptions::new();
        opts.read(true)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
        if create_new {
            opts.write(true).create_new(true).mode(0o600);
        }
        match opts.open(self.join(name)) {
            Ok(file) => Ok(File {
                file: Arc::new(file),
                write: false,
            }),
            Err(e) if e.raw_os_error() == Some(Errno::LOOP.raw_os_error()) => Err(Error::os(
                crate::error::ErrorKind::NotARegularFile,
                Errno::LOOP.raw_os_error(),
                "openat (live readers' lock file): a symbolic link",
            )),
            Err(e) => Err(io_err(&e, "openat (live readers' lock file)")),
        }
    }
}

/// Would make the directory entry of `path` durable with an `fsync` of its parent directory,
/// which Miri does not support on a directory descriptor: this opens the parent (so a
/// missing one is still an error) and stops there. Durability is not what Miri checks.
pub fn sync_parent_dir(path: &CStr) -> Result<()> {
    let path = Path::new(OsStr::from_bytes(path.to_bytes()));
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    fs::File::open(parent).map_err(|e| io_err(&e, "open(parent directory)"))?;
    Ok(())
}

/// `rename(from, to)` through `std::fs` (always replacing: Miri has no `renameat2`).
pub fn rename(from: &CStr, to: &CStr, _replace: bool) -> Result<()> {
    let from = Path::new(OsStr::from_bytes(from.to_bytes()));
    let to = Path::new(OsStr::from_bytes(to.to_bytes()));
    fs::rename(from, to).map_err(|e| io_err(&e, "rename"))
}

/// `unlink(path)` through `std::fs`.
pub fn unlink(path: &CStr) -> Result<()> {
    let path = Path::new(OsStr::from_bytes(path.to_bytes()));
    fs::remove_file(path).map_err(|e| io_err(&e, "unlink"))
}

/// The page size of the emulated mappings: 4096.
pub fn page_size() -> usize {
    PAGE
}

/// The monotonic clock, in nanoseconds since the first call, through `std`.
pub fn monotonic_ns() -> u64 {
    static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_nanos()
        .min(u128::from(u64::MAX)) as u64
}

/// Miri cannot wait on an address: waiting readers poll.
///
/// # Safety
///
/// None needed: it does nothing.
pub unsafe fn wait_on_u32(addr: NonNull<u32>, expected: u32, timeout_ns: Option<u64>) -> bool {
    let _ = (addr, expected, timeout_ns);
    false
}

/// Nothing to wake under Miri.
///
/// # Safety
///
/// None needed: it does nothing.
pub unsafe fn wake_u32(addr: NonNull<u32>) {
    let _ = addr;
}

/// A sleep of `ns` nanoseconds, through `std`.
pub fn sleep_ns(ns: u64) {
    std::thread::sleep(core::time::Duration::from_nanos(ns));
}

/// `sched_yield()`, through `std`.
pub fn yield_now() {
    std::thread::yield_now();
}

/// `getpid()`, through `std` (which Miri supports).
pub fn process_id() -> u32 {
    std::process::id()
}

/// One live emulated mapping.
struct Mapping {
    /// The heap block: `len` bytes, `PAGE`-aligned, allocated by `alloc_zeroed`. The pointer
    /// handed out is this one when `writable`, else one derived from a shared reference.
    block: NonNull<u8>,
    len: usize,
    writable: bool,
    /// The block's alignment (its layout's).
    align: usize,
    /// The file the block mirrors, kept open for the write-back in `unmap`.
    file: Arc<fs::File>,
    /// Which bytes of the file it mirrors: (offset in the block, offset in the file,
    /// length), end to end. One segment from file offset 0 for a vector's mapping; one per
    /// block for a group column's.
    segments: Vec<(usize, u64, usize)>,
}

impl Mapping {
    /// The end of the furthest file byte it mirrors.
    fn file_end(&self) -> u64 {
        self.segments
            .iter()
            .map(|&(_, off, len)| off + len as u64)
            .max()
            .unwrap_or(0)
    }

    /// Writes bytes `from..to` of the block back to the file, segment by segment.
    ///
    /// # Safety
    ///
    /// The block is live and no mutable reference into `from..to` is alive.
    unsafe fn write_back(&self, from: usize, to: usize) -> Result<()> {
        for &(at, off, len) in &self.segments {
            let (a, b) = (from.max(at), to.min(at + len));
            if a < b {
                // SAFETY: `a..b` lies in the live block (a segment of it); the caller rules
                // out mutable references into it.
                let bytes =
                    unsafe { core::slice::from_raw_parts(self.block.as_ptr().add(a), b - a) };
                self.file
                    .write_all_at(bytes, off + (a - at) as u64)
                    .map_err(|e| io_err(&e, "pwrite (msync)"))?;
            }
        }
        Ok(())
    }
}

/// The live mappings, for the write-back in `msync`/`unmap` and the checks.
struct Maps(Vec<Mapping>);

// SAFETY: the table only stores each block's address and size; the memory is read or written
// only by the thread that owns the mapping (through `msync`, `remap` and `unmap`, whose
// callers hold the region mutably), so moving the table between threads shares nothing.
unsafe impl Send for Maps {}

static MAPS: Mutex<Maps> = Mutex::new(Maps(Vec::new()));

fn maps() -> MutexGuard<'static, Maps> {
    // A panic while the table is locked (a failed check) leaves it consistent.
    MAPS.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The address of a pointer, to find it in the table.
fn addr(p: NonNull<u8>) -> usize {
    p.as_ptr() as usize
}

fn block_layout(len: usize, align: usize) -> Layout {
    match Layout::from_size_align(len, align.max(PAGE)) {
        Ok(layout) => layout,
        Err(_) => panic!("sys(miri): mapping of {len} bytes exceeds isize::MAX"),
    }
}

/// Allocates a block of `len > 0` bytes (aligned to `align`) filled from the file as
/// `segments` say.
fn new_block(
    file: &fs::File,
    len: usize,
    align: usize,
    segments: &[(usize, u64, usize)],
) -> Result<NonNull<u8>> {
    let size = file.metadata().map_err(|e| io_err(&e, "fstat"))?.len();
    for &(_, off, n) in segments {
        assert!(
            len > 0 && off + n as u64 <= size,
            "sys(miri): mapping bytes {off}..{} of a file of {size} bytes (past its end)",
            off + n as u64
        );
    }
    let layout = block_layout(len, align);
    // SAFETY: `layout` has a non-zero size.
    let raw = unsafe { alloc::alloc_zeroed(layout) };
    let Some(block) = NonNull::new(raw) else {
        alloc::handle_alloc_error(layout)
    };
    for &(at, off, n) in segments {
        // SAFETY: `block` is a fresh allocation of `len` initialised (zeroed) bytes that
        // nothing else refers to, and each segment lies within it.
        let bytes = unsafe { core::slice::from_raw_parts_mut(block.as_ptr().add(at), n) };
        if let Err(e) = file.read_exact_at(bytes, off) {
            // SAFETY: allocated above with this layout, and not handed out.
            unsafe { alloc::dealloc(block.as_ptr(), layout) };
            return Err(io_err(&e, "read (map)"));
        }
    }
    Ok(block)
}

/// The pointer handed out for a block: the block's own when writable; otherwise one derived
/// from a shared reference, so that Miri reports any write through it.
fn hand_out(block: NonNull<u8>, len: usize, writable: bool) -> NonNull<u8> {
    if writable {
        return block;
    }
    // SAFETY: the block is `len` initialised bytes; the shared reference lives only for this
    // expression, the pointer derived from it carries read-only permission.
    let shared: &[u8] = unsafe { core::slice::from_raw_parts(block.as_ptr(), len) };
    NonNull::from(shared).cast::<u8>()
}

/// Emulates `mmap(NULL, len, PROT_READ [| PROT_WRITE], MAP_SHARED, fd, 0)`.
///
/// # Safety
///
/// * `len > 0`, and the caller never touches bytes of the mapping at or past the file's
///   current size (here they are outside the allocation; mapping past the file's end panics).
/// * The caller unmaps the result with [`unmap`] (or moves it with [`remap`]) exactly once.
pub unsafe fn map(file: &File, len: usize, writable: bool) -> Result<NonNull<u8>> {
    debug_assert!(len > 0);
    if writable && !file.write {
        return Err(errno(Errno::ACCESS, "mmap"));
    }
    let segments = std::vec![(0, 0, len)];
    let block = new_block(&file.file, len, PAGE, &segments)?;
    maps().0.push(Mapping {
        block,
        len,
        align: PAGE,
        writable,
        file: Arc::clone(&file.file),
        segments,
    });
    Ok(hand_out(block, len, writable))
}

/// Emulates a group column's mapping: `blocks` (file offset, length) of `file` end to end
/// in one heap block aligned to `align`, each filled from its place in the file and written
/// back there.
///
/// # Safety
///
/// As the Unix version: the total is above 0, no byte of a block at or past the file's size
/// is touched (here every block must lie within the file), and the result is unmapped with
/// [`unmap`] exactly once.
pub unsafe fn map_blocks(
    file: &File,
    blocks: &[(u64, usize)],
    writable: bool,
    align: usize,
) -> Result<NonNull<u8>> {
    if writable && !file.write {
        return Err(errno(Errno::ACCESS, "mmap"));
    }
    let mut segments = Vec::new();
    let mut at = 0;
    for &(off, len) in blocks {
        segments.push((at, off, len));
        at += len;
    }
    // One page cache: what a live writable mapping of these file bytes holds (the mapping
    // this one replaces) reaches the file first, so that the new block starts from it.
    for m in maps()
        .0
        .iter()
        .filter(|m| m.writable && Arc::ptr_eq(&m.file, &file.file))
    {
        for &(m_at, m_off, m_len) in &m.segments {
            for &(off, len) in blocks {
                let (a, b) = (m_off.max(off), (m_off + m_len as u64).min(off + len as u64));
                if a < b {
                    let from = m_at + (a - m_off) as usize;
                    // SAFETY: bytes of the live block that the caller is replacing (it
                    // holds no reference into them while it maps their successor).
                    unsafe { m.write_back(from, from + (b - a) as usize) }?;
                }
            }
        }
    }
    let block = new_block(&file.file, at, align, &segments)?;
    maps().0.push(Mapping {
        block,
        len: at,
        align,
        writable,
        file: Arc::clone(&file.file),
        segments,
    });
    Ok(hand_out(block, at, writable))
}

/// Emulates `munmap(ptr, len)`: writes a writable mapping back to its file, frees it.
///
/// # Safety
///
/// * `ptr` and `len` describe exactly one live mapping returned by [`map`] or [`remap`].
/// * No reference into the mapping outlives this call.
pub unsafe fn unmap(ptr: NonNull<u8>, len: usize) {
    let mut guard = maps();
    let table = &mut guard.0;
    let Some(i) = table.iter().position(|m| addr(m.block) == addr(ptr)) else {
        panic!("sys(miri): munmap of {len} bytes at {ptr:p}, which is not a live mapping");
    };
    assert_eq!(table[i].len, len, "sys(miri): munmap with the wrong length");
    let m = table.swap_remove(i);
    drop(guard);
    if m.writable {
        // munmap cannot fail on a valid mapping, and the pages stay in the page cache: a
        // failed write-back (only a host I/O error) is ignored, as `unix.rs` ignores munmap's.
        // SAFETY: the whole mapping, live until the dealloc below; the caller holds no
        // reference into it.
        let _ = unsafe { m.write_back(0, m.len) };
    }
    // SAFETY: `block` was allocated by `new_block` with this layout and is freed only here,
    // once, after being removed from the table.
    unsafe { alloc::dealloc(m.block.as_ptr(), block_layout(m.len, m.align)) };
}

/// Moves the mapping at `ptr` (`old_len` bytes) to a new block of `new_len` bytes of `file`:
/// writes the old one back (if writable), fills the new one from the file, frees the old one.
/// It always moves. On error the old mapping is untouched and still valid.
///
/// # Safety
///
/// * `ptr`/`old_len` is a live mapping of `file` returned by [`map`] or [`remap`], and no
///   reference into it is alive (it moves).
/// * The file is at least `new_len` bytes long before any byte past `old_len` is touched
///   (here: before this call, or it panics).
pub unsafe fn remap(
    file: &File,
    ptr: NonNull<u8>,
    old_len: usize,
    new_len: usize,
    writable: bool,
) -> Result<NonNull<u8>> {
    let mut guard = maps();
    let table = &mut guard.0;
    let Some(i) = table.iter().position(|m| addr(m.block) == addr(ptr)) else {
        panic!("sys(miri): mremap of {ptr:p}, which is not a live mapping");
    };
    let m = &table[i];
    assert_eq!(
        m.len, old_len,
        "sys(miri): mremap with the wrong old length"
    );
    assert!(
        Arc::ptr_eq(&m.file, &file.file) && m.writable == writable && m.segments.len() == 1,
        "sys(miri): mremap of a mapping of another file, with other permissions, or of blocks"
    );
    if writable {
        // SAFETY: the whole live mapping; the caller holds no reference into it.
        unsafe { m.write_back(0, m.len) }?;
    }
    let segments = std::vec![(0, 0, new_len)];
    let block = new_block(&file.file, new_len, PAGE, &segments)?;
    let old = core::mem::replace(&mut table[i].block, block);
    table[i].len = new_len;
    table[i].segments = segments;
    drop(guard);
    // SAFETY: `old` was allocated by `new_block` with `old_len` bytes (checked against the
    // table) and is no longer in the table, so it is freed exactly once.
    unsafe { alloc::dealloc(old.as_ptr(), block_layout(old_len, PAGE)) };
    Ok(hand_out(block, new_len, writable))
}

/// Stand-in for `madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE)`: a heap block has no page-cache
/// folios to shape. Checks that the range is one whole live mapping, as the real advice
/// needs (advice on a part would split the kernel's mapping, and `mremap` would then fail).
///
/// # Safety
///
/// As the Unix version: `ptr`/`len` is exactly one whole live mapping.
///
/// # Panics
///
/// If `ptr`/`len` is not exactly one live mapping.
pub unsafe fn advise_huge(ptr: NonNull<u8>, len: usize, huge: bool) {
    let _ = huge;
    let whole = maps()
        .0
        .iter()
        .any(|m| addr(m.block) == addr(ptr) && m.len == len);
    assert!(whole, "madvise of a range that is not one whole mapping");
}

/// Emulates `msync(ptr, len, MS_SYNC)`: writes the range of a writable mapping back to the
/// file (`EINVAL` for an address that is not page-aligned, `ENOMEM` for a range outside every
/// mapping, as the kernel says).
///
/// # Safety
///
/// * `ptr` is page-aligned and `ptr..ptr + len` lies within one live mapping of `file`.
pub unsafe fn msync(file: &File, ptr: NonNull<u8>, len: usize) -> Result<()> {
    if len == 0 {
        return Ok(());
    }
    let guard = maps();
    let table = &guard.0;
    let at = addr(ptr);
    let Some(m) = table.iter().find(|m| {
        let start = addr(m.block);
        at >= start && at - start <= m.len && len <= m.len - (at - start)
    }) else {
        return Err(errno(Errno::NOMEM, "msync"));
    };
    let offset = at - addr(m.block);
    if offset % PAGE != 0 {
        return Err(errno(Errno::INVAL, "msync"));
    }
    assert!(
        Arc::ptr_eq(&m.file, &file.file),
        "sys(miri): msync of a mapping of another file"
    );
    if !m.writable {
        return Ok(());
    }
    // SAFETY: `ptr..ptr + len` is inside this live writable mapping (checked above) and the
    // caller holds no mutable reference into it during the call.
    unsafe { m.write_back(offset, offset + len) }
}
