//! A test-only seam that makes a chosen syscall fail, so that tests can show what each
//! failure does to the file. Every call of `sys` passes [`check`] first, in `sys/mod.rs`
//! (one wrapper for every backend). Compiled to nothing unless the `persistence_test_hooks`
//! cfg is set (with `std`, for its thread-local plans; without `std` it does nothing, so
//! that the unit tests can run on a `no_std` build). `build.rs` sets the cfg only when
//! `PERSISTENCE_TEST_HOOKS=1`, which this repository's `.cargo/config.toml` sets for its own
//! builds: no crate that depends on this one can turn fault injection on for others, as a
//! Cargo feature (which features unify) could. Tests reach it through
//! `persistence::test_hooks`.

/// The syscalls a test can make fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(all(persistence_test_hooks, feature = "std")), allow(dead_code))]
pub enum Op {
    /// `open`.
    Open,
    /// `fstat`.
    Stat,
    /// `flock`.
    Lock,
    /// `pwrite` (and `pwritev`): the header of a new file, a commit slot, bulk appends (with
    /// the zeros that pad their last piece to 2 MiB), and the zeros that reserve blocks where
    /// `fallocate` is missing.
    Write,
    /// `fdatasync` / `F_FULLFSYNC` of the file.
    SyncFile,
    /// `fsync` of the parent directory.
    SyncDir,
    /// `ftruncate`.
    Truncate,
    /// `fallocate` (growth); `EOPNOTSUPP` here makes growth write zeros instead.
    Allocate,
    /// `mmap`.
    Map,
    /// `mremap`, or the new `mmap` of the portable path.
    Remap,
    /// `msync` of the data pages a commit makes durable.
    Msync,
    /// `ioctl(FS_IOC_SETFLAGS)`: the No_COW attribute of a new file (a failure is ignored).
    SetFlags,
    /// `rename`: a converted file replacing its destination.
    Rename,
    /// `unlink`: a conversion's temporary file removed.
    Unlink,
    /// The page-cache hints `madvise(MADV_HUGEPAGE / MADV_NOHUGEPAGE)` and
    /// `posix_fadvise(POSIX_FADV_DONTNEED)` (a failure is ignored).
    Advise,
    /// `readlink` of the path's final component (where the live readers' lock file goes).
    ReadLink,
    /// `open` of the data file's directory (`O_PATH` or `O_DIRECTORY`).
    OpenDir,
    /// `fstatat` of a name in the data file's directory (no symlinks followed).
    StatAt,
    /// `openat` of the live readers' lock file, `<name>-live` (created where missing).
    OpenSidecar,
    /// `flock` of the live readers' lock file: a live reader's shared lock, a cutting
    /// writer's exclusive one.
    LockSidecar,
    /// `sync_file_range(SYNC_FILE_RANGE_WRITE)`: early writeback of appended data (a hint:
    /// a failure is ignored).
    Writeback,
    /// A waiting reader's sleep on an address (`futex(FUTEX_WAIT)`, `_umtx_op`,
    /// `os_sync_wait_on_address`): an injected `EINTR` is a signal that cut the sleep short.
    Wait,
}

#[cfg(all(persistence_test_hooks, feature = "std"))]
mod imp {
    use super::Op;
    use crate::error::Result;
    use std::cell::Cell;

    std::thread_local! {
        /// (op, calls to let through first, errno, failures left).
        static PLAN: Cell<Option<(Op, u32, i32, u32)>> = const { Cell::new(None) };
        static ALWAYS: Cell<Option<(Op, i32)>> = const { Cell::new(None) };
        static PAGE_SIZE: Cell<Option<usize>> = const { Cell::new(None) };
        static OBSERVER: Cell<Option<fn(Op)>> = const { Cell::new(None) };
        static POLLING: Cell<bool> = const { Cell::new(false) };
    }

    /// Makes live readers on this thread wait for commits by polling, as on a system
    /// without a wait on an address (`false` restores the platform's way), so that the
    /// fallback runs in the tests on Linux too.
    pub fn force_polling(on: bool) {
        POLLING.with(|p| p.set(on));
    }

    pub(crate) fn polling_forced() -> bool {
        POLLING.with(Cell::get)
    }

    /// Calls `f` with each seam's [`Op`] on this thread just before that syscall runs (and
    /// before any planned failure), so that a test can look at the file at that instant;
    /// `None` stops it.
    pub fn observe(f: Option<fn(Op)>) {
        OBSERVER.with(|o| o.set(f));
    }

    /// Makes the call of `op` after `skip` successful ones fail with `errno`, on this thread
    /// only (tests run in parallel threads). One plan at a time; it is used up when it fires.
    pub fn inject(op: Op, skip: u32, errno: i32) {
        inject_times(op, skip, 1, errno);
    }

    /// Like [`inject`], but the `times` calls of `op` after `skip` successful ones fail (a
    /// disk that stays full for a while).
    pub fn inject_times(op: Op, skip: u32, times: u32, errno: i32) {
        PLAN.with(|p| p.set((times > 0).then_some((op, skip, errno, times))));
    }

    /// Makes every call of `op` on this thread fail with `errno` until [`clear`] (a disk
    /// that stays full, say).
    pub fn inject_always(op: Op, errno: i32) {
        ALWAYS.with(|a| a.set(Some((op, errno))));
    }

    /// Makes regions opened on this thread act as if the OS page size were `size` (a power
    /// of two, a multiple of the real one: 16 or 64 KiB on a 4 KiB machine), so that tests
    /// cover the page arithmetic of larger-page systems; `None` restores the real size.
    pub fn set_page_size(size: Option<usize>) {
        PAGE_SIZE.with(|p| p.set(size));
    }

    pub(crate) fn page_size() -> Option<usize> {
        PAGE_SIZE.with(Cell::get)
    }

    /// Drops any plan that has not fired yet, and any [`inject_always`].
    pub fn clear() {
        PLAN.with(|p| p.set(None));
        ALWAYS.with(|a| a.set(None));
    }

    /// Whether the plan set by [`inject`] is still waiting to fire.
    pub fn pending() -> bool {
        PLAN.with(|p| p.get().is_some())
    }

    pub(crate) fn check(op: Op, context: &'static str) -> Result<()> {
        if let Some(f) = OBSERVER.with(Cell::get) {
            f(op);
        }
        if let Some((want, errno)) = ALWAYS.with(Cell::get) {
            if want == op {
                return Err(crate::sys::os_error(errno, context));
            }
        }
        PLAN.with(|p| match p.get() {
            Some((want, 0, errno, times)) if want == op => {
                p.set((times > 1).then_some((want, 0, errno, times - 1)));
                Err(crate::sys::os_error(errno, context))
            }
            Some((want, n, errno, times)) if want == op => {
                p.set(Some((want, n - 1, errno, times)));
                Ok(())
            }
            _ => Ok(()),
        })
    }
}

#[cfg(all(persistence_test_hooks, feature = "std"))]
pub use imp::{
    clear, force_polling, inject, inject_always, inject_times, observe, pending, set_page_size,
};

#[cfg(all(persistence_test_hooks, feature = "std"))]
pub(crate) use imp::{page_size, polling_forced};

#[cfg(all(persistence_test_hooks, feature = "std"))]
pub(crate) use imp::check;

/// Without the test hooks the real page size is always used.
#[cfg(not(all(persistence_test_hooks, feature = "std")))]
#[inline(always)]
pub(crate) fn page_size() -> Option<usize> {
    None
}

/// Without the test hooks the platform's wait is used where there is one.
#[cfg(not(all(persistence_test_hooks, feature = "std")))]
#[inline(always)]
pub(crate) fn polling_forced() -> bool {
    false
}

/// Without the test hooks every call succeeds and this compiles away.
#[cfg(not(all(persistence_test_hooks, feature = "std")))]
#[inline(always)]
pub(crate) fn check(_op: Op, _context: &'static str) -> crate::error::Result<()> {
    Ok(())
}
