//! The live readers' lock file, `<name>-live` beside the data file (`docs/design.md`, "Live
//! readers").
//!
//! A writer's exclusive `flock` on the data file stays (a second writer, `MmapedSlice` and
//! outside programs rely on it), so live readers lock another file: this one, always empty,
//! never written; only its lock matters. A live reader holds a shared lock on it from before
//! it reads anything of the data file until after it unmaps. A writer never holds it, except
//! exclusively (and without waiting) for the span of one `ftruncate` that makes the data file
//! shorter: that is the only thing that could make a reader's mapping fault, and it cannot
//! happen while any reader is alive. Writers create it when they open the file (best
//! effort), readers when it is missing; nobody deletes it.
//!
//! It is found by name: the data file's path with symbolic links in its final component
//! followed (so `current -> data-2024.bin` gives the writer and a reader that opened
//! `current` the same `data-2024.bin-live`), split into its directory, held open, and the
//! name in it. No heap: two path buffers on the stack while resolving.

use core::ffi::CStr;

use crate::error::{Error, ErrorKind, Result};
use crate::limits;
use crate::path::MAX_PATH;
use crate::sys::{self, FileId, Stat};

/// The longest name of one directory entry (`NAME_MAX`, 255 bytes on Linux, the BSDs and
/// macOS).
const NAME_MAX: usize = 255;
/// What the lock file's name adds to the data file's.
pub(crate) const SUFFIX: &[u8] = b"-live";
/// The most symbolic links followed in the final component (Linux's own limit).
const MAX_LINKS: usize = 40;

/// A data file's path resolved to its directory (held open) and its name there, with
/// symbolic links in the last component followed: where its live readers' lock file is, and
/// the directory a writer that created the file makes durable.
#[derive(Debug)]
pub(crate) struct ResolvedPath {
    dir: sys::Dir,
    /// The name, then the suffix, then NUL; `name_len` bytes of name.
    buf: [u8; NAME_MAX + SUFFIX.len() + 1],
    name_len: usize,
}

fn invalid(context: &'static str) -> Error {
    Error::new(ErrorKind::InvalidPath, context)
}

/// `buf[..len]` as a C string (`buf[len]` must be NUL).
fn c_str(buf: &[u8], len: usize) -> Result<&CStr> {
    CStr::from_bytes_with_nul(&buf[..=len]).map_err(|_| invalid("path contains a NUL byte"))
}

impl ResolvedPath {
    /// Resolves `path`: follows symbolic links in its final component (relative targets
    /// from the link's directory), then opens the directory and keeps the name. Does not
    /// check that the name is the data file: see [`names`](Self::names).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidPath`] when the result is too long (more than [`MAX_PATH`] bytes,
    /// or a name longer than 255 bytes), or more than 40 links; the OS error of `readlink`
    /// or of opening the directory. (A name that leaves no room for `-live` in 255 bytes is
    /// refused where the lock file is opened.)
    pub(crate) fn resolve(path: &CStr) -> Result<ResolvedPath> {
        let mut cur = [0u8; MAX_PATH + 1];
        let mut link = [0u8; MAX_PATH + 1];
        let bytes = path.to_bytes();
        if bytes.len() > MAX_PATH {
            return Err(invalid("path longer than 4095 bytes"));
        }
        cur[..bytes.len()].copy_from_slice(bytes);
        let mut len = bytes.len();
        let mut hops = 0;
        while let Some(n) = sys::read_link(c_str(&cur, len)?, &mut link[..MAX_PATH])? {
            hops += 1;
            if hops > MAX_LINKS {
                return Err(invalid("more than 40 symbolic links"));
            }
            if n == 0 || n >= MAX_PATH {
                return Err(invalid("symbolic link target empty or too long"));
            }
            // An absolute target replaces the path; a relative one replaces its last name.
            let start = if link[0] == b'/' {
                0
            } else {
                cur[..len]
                    .iter()
                    .rposition(|&b| b == b'/')
                    .map_or(0, |i| i + 1)
            };
            if start + n > MAX_PATH {
                return Err(invalid(
                    "path through symbolic links longer than 4095 bytes",
                ));
            }
            cur[start..start + n].copy_from_slice(&link[..n]);
            len = start + n;
            cur[len] = 0;
        }
        let (dir_end, name_start) = match cur[..len].iter().rposition(|&b| b == b'/') {
            Some(i) => (i, i + 1),
            None => (0, 0),
        };
        let name = &cur[name_start..len];
        if name.is_empty() || name == b"." || name == b".." {
            return Err(invalid("the path does not end in a file name"));
        }
        if name.len() > NAME_MAX {
            return Err(invalid("file name longer than 255 bytes"));
        }
        let mut place_buf = [0u8; NAME_MAX + SUFFIX.len() + 1];
        place_buf[..name.len()].copy_from_slice(name);
        place_buf[name.len()..name.len() + SUFFIX.len()].copy_from_slice(SUFFIX);
        let name_len = name.len();
        let dir = if name_start == 0 {
            sys::open_dir(c".")?
        } else if dir_end == 0 {
            sys::open_dir(c"/")?
        } else {
            cur[dir_end] = 0;
            sys::open_dir(c_str(&cur, dir_end)?)?
        };
        Ok(ResolvedPath {
            dir,
            buf: place_buf,
            name_len,
        })
    }

    /// The data file's name, as a C string on the stack.
    fn name(&self) -> ([u8; NAME_MAX + 1], usize) {
        let mut b = [0u8; NAME_MAX + 1];
        b[..self.name_len].copy_from_slice(&self.buf[..self.name_len]);
        (b, self.name_len)
    }

    /// The lock file's name (`<name>-live`).
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidPath`] when the name leaves no room for `-live` in 255 bytes.
    fn lock_name(&self) -> Result<&CStr> {
        if self.name_len + SUFFIX.len() > NAME_MAX {
            return Err(invalid(
                "file name too long for the live readers' lock file (name + \"-live\" > 255 bytes)",
            ));
        }
        c_str(&self.buf, self.name_len + SUFFIX.len())
    }

    /// `fsync` of the directory that holds the data file (after symbolic links in the last
    /// component were followed), so that a name created there survives power loss.
    pub(crate) fn sync_dir(&self) -> Result<()> {
        self.dir.sync()
    }

    /// Whether the name in the directory is (still) the file `id`.
    pub(crate) fn names(&self, id: FileId) -> bool {
        let (b, n) = self.name();
        c_str(&b, n)
            .and_then(|name| self.dir.stat_at(name))
            .is_ok_and(|st| st.id == id)
    }

    /// Whether the lock file's name in the directory is (still) the file `lock` has open.
    fn names_lock_file(&self, lock: &sys::File) -> bool {
        let Ok(held) = lock.stat() else {
            return false;
        };
        self.lock_name()
            .and_then(|name| self.dir.stat_at(name))
            .is_ok_and(|st| st.id == held.id)
    }

    /// Creates the lock file if it is missing (best effort, for a writer's open): with the
    /// data file's permission bits (read and write only) and, where allowed, its owner and
    /// group, so that whoever may read the data file may lock it. Returns whether it created
    /// it; `Ok(false)` when it existed.
    pub(crate) fn create_lock_file(&self, data: &Stat) -> Result<bool> {
        match self.dir.open_at(self.lock_name()?, true) {
            Ok(f) => {
                f.set_perm_owner(data.perm & 0o666, data.uid, data.gid);
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Opens the lock file read-only, creating it (as [`create_lock_file`] does) when it is
    /// missing, and checks that it is an empty regular file: anything else (a FIFO, a
    /// directory, a symbolic link, a file with data) is refused before anyone locks it, so
    /// that nothing waits on a lock that is not this library's.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::NotARegularFile`], or [`ErrorKind::Corrupt`] for a file that is not
    /// empty; the OS error of `openat` (`PermissionDenied` when it cannot be created).
    ///
    /// [`create_lock_file`]: Self::create_lock_file
    pub(crate) fn open_lock_file(&self, data: &Stat) -> Result<sys::File> {
        let name = self.lock_name()?;
        for _ in 0..limits::LOCK_FILE_TRIES {
            let file = match self.dir.open_at(name, false) {
                Ok(f) => f,
                Err(e) if e.kind() == ErrorKind::NotFound => match self.dir.open_at(name, true) {
                    Ok(f) => {
                        f.set_perm_owner(data.perm & 0o666, data.uid, data.gid);
                        f
                    }
                    // Created by someone else meanwhile: open theirs.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                    Err(e) => {
                        return Err(e.with_context(
                            "cannot create the live readers' lock file <file>-live beside \
                             the file: open the file once for writing with this library \
                             (which creates it), or create it empty, readable by the readers",
                        ))
                    }
                },
                Err(e) => return Err(e),
            };
            let st = file.stat()?;
            if !st.regular {
                return Err(Error::new(
                    ErrorKind::NotARegularFile,
                    "the live readers' lock file <file>-live",
                ));
            }
            if st.size != 0 {
                return Err(Error::value(
                    ErrorKind::Corrupt,
                    "<file>-live is not empty, so it is not a live readers' lock file; bytes:",
                    st.size,
                ));
            }
            return Ok(file);
        }
        Err(Error::new(
            ErrorKind::Io,
            "the live readers' lock file kept appearing and disappearing",
        ))
    }

    /// A live reader's lock: opens (or creates) the lock file and takes a shared `flock` on
    /// it, waiting while a writer cuts the file (the only exclusive holder, for the span of
    /// one `ftruncate`), then checks that the name still leads to the file locked (not
    /// deleted or replaced meanwhile; else it starts again).
    pub(crate) fn lock_shared(&self, data: &Stat) -> Result<sys::File> {
        for _ in 0..limits::LOCK_FILE_TRIES {
            let lock = self.open_lock_file(data)?;
            lock.lock_sidecar(false, true)?;
            if self.names_lock_file(&lock) {
                return Ok(lock);
            }
            let _ = lock.unlock();
        }
        Err(Error::new(
            ErrorKind::Io,
            "the live readers' lock file kept being replaced while it was locked",
        ))
    }

    /// A writer's permission to cut `data` (make it shorter): the lock file locked
    /// exclusively, without waiting, when all of these hold: the data file has one link,
    /// it is not the root of a mount of its own (a single-file bind mount: readers of the
    /// original path lock the lock file beside the original, which this writer cannot see;
    /// Linux 5.8 and later tell, `statx`'s `STATX_ATTR_MOUNT_ROOT`),
    /// its name in the directory is still this file, the lock file opens (or is created) and
    /// is an empty regular file, no live reader holds it, and after locking both names still
    /// lead to the files held. `None` otherwise: the cut must wait (nothing is wrong; a
    /// reader is alive, or the library cannot be sure none is).
    ///
    /// The caller cuts, then unlocks the returned file before dropping it.
    pub(crate) fn lock_for_cut(&self, data: &sys::File) -> Option<sys::File> {
        let st = data.stat().ok()?;
        if st.nlink != 1 || data.is_mount_root() || !self.names(st.id) {
            return None;
        }
        let lock = self.open_lock_file(&st).ok()?;
        lock.lock_sidecar(true, false).ok()?;
        let still = data.stat().is_ok_and(|now| now.nlink == 1)
            && self.names(st.id)
            && self.names_lock_file(&lock);
        if !still {
            let _ = lock.unlock();
            return None;
        }
        Some(lock)
    }
}
