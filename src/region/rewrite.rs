//! Rewriting a whole vector file into a new one that then replaces its destination at once:
//! the file-level half of `OpenOptions::convert_foreign` and `OpenOptions::migrate`
//! (`src/convert.rs` is the typed half, which turns source elements into destination
//! elements). Untyped: element sizes come from the layouts it is given; no heap, no mapping.
//!
//! The protocol (`docs/design.md`, "Converting and migrating"):
//!
//! 1. Open the source read-only, take its **exclusive** `flock` lock (so no writer and no
//!    reader has it open), validate its header as `open` does (a file of the other byte
//!    order too, when asked) and read its committed length.
//! 2. If the destination exists and is another file, take its exclusive lock too, and hold
//!    it until it has been replaced: a writer that had it open would otherwise go on writing
//!    into a file that no name leads to any more, and lose it all. (A process that waited for
//!    that lock finds the file nameless once it gets it, and opens the path again:
//!    [`open_locked`].)
//! 3. Create the temporary file `<to>.persistence-tmp` with `O_EXCL` and lock it, after
//!    removing a stale one of that exact name that no one holds (a crashed call's leftover).
//!    Write the native header with the committed length in slot A, then every element;
//!    `fdatasync`.
//! 4. `rename` it over the destination (where there was none, without replacing one that
//!    appeared meanwhile), then `fsync` the directory.
//! 5. Unlock everything.
//!
//! A crash before the `rename` leaves the destination as it was (or absent) and at worst a
//! temporary file that the next call removes; a crash after it leaves the complete new file,
//! because the `rename` only comes after the `fdatasync`. The source is never written.

use core::ffi::CStr;

use super::open::{open_locked, READ_ONLY};
use crate::error::{Error, ErrorKind, Result};
use crate::format::{self, ByteOrder, Header, Layout, Slot, DATA_OFFSET};
use crate::limits::REOPEN_TRIES;
use crate::path::MAX_PATH;
use crate::sys;

/// What is appended to the destination's path to name the temporary file, in the same
/// directory (so that the `rename` stays in one file system).
pub(crate) const TEMP_SUFFIX: &[u8] = b".persistence-tmp";

/// The context of the error when another call holds the temporary file.
const BUSY: &str =
    "flock (the temporary file: another conversion to the same destination is in progress)";

/// What to rewrite, and how.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Plan {
    /// What the source must hold (checked as `open` checks it).
    pub(crate) source: Layout,
    /// Whether a source of the other byte order is accepted.
    pub(crate) foreign: bool,
    /// What the new file holds.
    pub(crate) target: Layout,
    /// Wait for the source's and the destination's locks instead of failing with `Locked`.
    pub(crate) wait_for_lock: bool,
    /// Permission bits of the new file.
    pub(crate) mode: u32,
    /// Keep the file system's copy-on-write for the new file (else No_COW where it exists).
    pub(crate) copy_on_write: bool,
}

/// A validated source file, locked exclusively until dropped.
pub(crate) struct Source {
    file: sys::File,
    stat: sys::Stat,
    order: ByteOrder,
    len: u64,
    elem_size: u64,
}

impl Source {
    fn open(path: &CStr, plan: &Plan) -> Result<Source> {
        let (file, page) =
            open_locked(path, &READ_ONLY, true, plan.wait_for_lock).map_err(|e| {
                match e.kind() {
                    ErrorKind::Locked => {
                        e.with_context("flock (the source is open: a writer or a reader holds it)")
                    }
                    _ => e,
                }
            })?;
        let header = Header::decode(page.bytes(), plan.foreign)?;
        let found = header.layout;
        if let Err(e) = found.check(&plan.source) {
            // `check` compares magic and version first: this is about the layout.
            if e.kind() == ErrorKind::LayoutMismatch
                && header.order == ByteOrder::Swapped
                && found.usize_width != plan.source.usize_width
            {
                return Err(Error::mismatch(
                    ErrorKind::LayoutMismatch,
                    "usize width, in bytes, of the machine that wrote this foreign file (an \
                     element may hold a usize, whose size differs: convert it on a machine of \
                     that word size)",
                    u64::from(found.usize_width),
                    u64::from(plan.source.usize_width),
                ));
            }
            return Err(e);
        }
        let (_, slot) = header.committed(page.file_size)?;
        let stat = file.stat()?;
        Ok(Source {
            file,
            stat,
            order: header.order,
            len: slot.len,
            elem_size: found.elem_size,
        })
    }

    /// The committed length, in elements.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Whether the file was written on a machine of the other byte order.
    pub(crate) fn foreign(&self) -> bool {
        self.order == ByteOrder::Swapped
    }

    /// Reads elements `first..` into `buf` (a whole number of elements, all below the
    /// committed length), as stored.
    ///
    /// # Errors
    ///
    /// `Corrupt` when the file ends before them (it was cut by a process that ignores the
    /// lock); the OS error of `pread`.
    pub(crate) fn read(&self, first: u64, buf: &mut [u8]) -> Result<()> {
        let n = buf.len() as u64;
        debug_assert!(n % self.elem_size == 0 && first + n / self.elem_size <= self.len);
        let got = self
            .file
            .read_at(buf, DATA_OFFSET as u64 + first * self.elem_size)?;
        if got < buf.len() {
            return Err(Error::new(
                ErrorKind::Corrupt,
                "the source ended inside its committed elements",
            ));
        }
        Ok(())
    }
}

impl Drop for Source {
    fn drop(&mut self) {
        // Explicitly, as the region does (a forked child may share the descriptor).
        let _ = self.file.unlock();
    }
}

/// The destination as it was before the rewrite.
enum Target {
    /// No file at the path.
    Absent,
    /// The source itself (the same file): converted in place; its lock is held already.
    Source,
    /// Another file, locked exclusively until it has been replaced.
    Other(sys::File),
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Target::Other(file) = self {
            let _ = file.unlock();
        }
    }
}

/// Finds what is at `to` now, and locks it exclusively if it is another file than the
/// source: `Locked` when someone has it open (unless `wait`).
fn lock_target(to: &CStr, source: &sys::Stat, wait: bool) -> Result<Target> {
    for _ in 0..=REOPEN_TRIES {
        let file = match sys::open(to, &READ_ONLY) {
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Target::Absent),
            Err(e) => return Err(e.with_context("open (the destination)")),
            Ok(file) => file,
        };
        let stat = file.stat()?;
        if stat.same_file(source) {
            return Ok(Target::Source);
        }
        if !stat.regular {
            return Err(Error::new(
                ErrorKind::NotARegularFile,
                "the destination is not a regular file",
            ));
        }
        file.lock(true, wait).map_err(|e| match e.kind() {
            ErrorKind::Locked => {
                e.with_context("flock (the destination is open: a writer or a reader holds it)")
            }
            _ => e,
        })?;
        if file.stat()?.nlink == 0 {
            // Replaced or removed while this waited: look again.
            let _ = file.unlock();
            continue;
        }
        return Ok(Target::Other(file));
    }
    Err(Error::new(
        ErrorKind::Locked,
        "the destination was replaced again and again while waiting for its lock",
    ))
}

/// `to` followed by [`TEMP_SUFFIX`], NUL-terminated in `buf`.
fn temp_path<'a>(to: &CStr, buf: &'a mut [u8; MAX_PATH + 1]) -> Result<&'a CStr> {
    let base = to.to_bytes();
    if base.is_empty() {
        return Err(Error::new(ErrorKind::InvalidPath, "empty destination path"));
    }
    let n = base.len() + TEMP_SUFFIX.len();
    if n > MAX_PATH {
        return Err(Error::value(
            ErrorKind::InvalidPath,
            "destination path too long for its temporary file's name, bytes:",
            n as u64,
        ));
    }
    buf[..base.len()].copy_from_slice(base);
    buf[base.len()..n].copy_from_slice(TEMP_SUFFIX);
    buf[n] = 0;
    CStr::from_bytes_with_nul(&buf[..=n])
        .map_err(|_| Error::new(ErrorKind::InvalidPath, "path contains a NUL byte"))
}

/// Removes the temporary file at `path` if no one holds its lock: the leftover of a call
/// that crashed. One that is locked belongs to a call in progress: `Locked`.
fn remove_stale(path: &CStr) -> Result<()> {
    let file = match sys::open(path, &READ_ONLY) {
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()), // Gone meanwhile.
        Err(e) => return Err(e.with_context("open (a stale temporary file)")),
        Ok(file) => file,
    };
    let stat = file.stat()?;
    if !stat.regular {
        return Err(Error::new(
            ErrorKind::NotARegularFile,
            "the temporary file's name is taken by something else than a file",
        ));
    }
    file.lock(true, false).map_err(|e| match e.kind() {
        ErrorKind::Locked => e.with_context(BUSY),
        _ => e,
    })?;
    // With its lock held, the name must still lead to it: a call that held it a moment ago
    // may have renamed it into place, and another call's new temporary file may stand there
    // now, which is not ours to remove.
    let result = match sys::open(path, &READ_ONLY) {
        Ok(again) if again.stat()?.same_file(&stat) => match sys::unlink(path) {
            Err(e) if e.kind() != ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
        Ok(_) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    let _ = file.unlock();
    result
}

/// The temporary file being written, locked exclusively; removed on drop unless it was
/// renamed into place.
pub(crate) struct Sink<'a> {
    file: sys::File,
    path: &'a CStr,
    /// Bytes written so far (the next write's offset).
    at: u64,
    /// The size the file will have.
    end: u64,
    /// Renamed into place: no longer ours to remove.
    published: bool,
}

impl<'a> Sink<'a> {
    /// Creates the temporary file at `path` (`O_EXCL`, after removing a stale one) and locks
    /// it; it will be `end` bytes long.
    fn create(path: &'a CStr, plan: &Plan, end: u64) -> Result<Sink<'a>> {
        let how = sys::OpenHow {
            write: true,
            create: true,
            create_new: true,
            mode: plan.mode,
        };
        for _ in 0..=REOPEN_TRIES {
            match sys::open(path, &how) {
                Ok(file) => {
                    // Between the create and the lock another call may take the file for a
                    // stale one: whoever locks it first goes on, the other gets `Locked`.
                    file.lock(true, false).map_err(|e| match e.kind() {
                        ErrorKind::Locked => e.with_context(BUSY),
                        _ => e,
                    })?;
                    if file.stat()?.nlink == 0 {
                        let _ = file.unlock();
                        continue; // Removed as stale meanwhile: create it again.
                    }
                    if !plan.copy_on_write {
                        file.set_no_cow(); // While it is empty, as a new vector file.
                    }
                    return Ok(Sink {
                        file,
                        path,
                        at: 0,
                        end,
                        published: false,
                    });
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => remove_stale(path)?,
                Err(e) => return Err(e.with_context("open (the temporary file)")),
            }
        }
        Err(Error::new(ErrorKind::Locked, BUSY))
    }

    /// Writes the header of a new file of `layout` whose committed length is `len`: slot A
    /// holds it with sequence 1, slot B is blank.
    fn write_header(&mut self, layout: &Layout, len: u64) -> Result<()> {
        let header = Header::new(*layout).with_commit(Slot { seq: 1, len });
        self.write(&header.encode())
    }

    /// Appends `bytes` (the next elements, as they are to be stored).
    ///
    /// # Panics
    ///
    /// If they go past the size the file was created for (a bug in the caller).
    pub(crate) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.at + bytes.len() as u64;
        assert!(end <= self.end, "rewrite: more bytes than the file holds");
        self.file.write_all_at(bytes, self.at)?;
        self.at = end;
        Ok(())
    }

    /// Checks that every byte was written, and makes them durable.
    fn finish(&self) -> Result<()> {
        if self.at != self.end {
            return Err(Error::mismatch(
                ErrorKind::Io,
                "bytes written into the new file (a bug in the conversion)",
                self.at,
                self.end,
            ));
        }
        self.file.sync_data()
    }
}

impl Drop for Sink<'_> {
    fn drop(&mut self) {
        if !self.published {
            // An error (or a panic in the caller's function): the name is still ours (every
            // other call locks a temporary file before it removes it, and this one holds
            // the lock), so remove it; the destination was never touched.
            let _ = sys::unlink(self.path);
        }
        let _ = self.file.unlock();
    }
}

/// Rewrites the vector file at `from` into a new file that replaces `to` (which may be
/// `from` itself), following the protocol in the module docs. `fill` writes every element
/// of the new file, in order, from the source (`Sink::write`); the header is written
/// before. Returns the number of elements.
///
/// # Errors
///
/// The source's: `Locked`, `NotFound`, `NotARegularFile`, the format errors of `open`
/// (`WrongEndianness` unless `plan.foreign`), `LayoutMismatch`, `Corrupt`. The
/// destination's: `Locked`, `NotARegularFile`, `PermissionDenied`, `InvalidPath`. Writing:
/// `OutOfSpace`, `FileTooLarge`, `Io`, and whatever `fill` returns. Every error before the
/// `rename` leaves `to` as it was and removes the temporary file; after it (the directory
/// `fsync`), the new file is in place.
pub(crate) fn rewrite(
    from: &CStr,
    to: &CStr,
    plan: &Plan,
    fill: &mut dyn FnMut(&Source, &mut Sink<'_>) -> Result<()>,
) -> Result<u64> {
    let mut buf = [0u8; MAX_PATH + 1];
    let tmp = temp_path(to, &mut buf)?;
    let source = Source::open(from, plan)?;
    let len = source.len;
    if usize::try_from(len).is_err() {
        return Err(Error::value(
            ErrorKind::CapacityOverflow,
            "element count exceeds usize:",
            len,
        ));
    }
    let end = format::data_end(len, plan.target.elem_size)
        .filter(|&b| b <= i64::MAX as u64)
        .ok_or(Error::new(
            ErrorKind::CapacityOverflow,
            "the new file's size overflows the file offset type",
        ))?;
    let mut target = lock_target(to, &source.stat, plan.wait_for_lock)?;
    let mut sink = Sink::create(tmp, plan, end)?;
    sink.write_header(&plan.target, len)?;
    fill(&source, &mut sink)?;
    sink.finish()?;
    let replace = !matches!(target, Target::Absent);
    match sys::rename(tmp, to, replace) {
        Ok(()) => {}
        Err(e) if !replace && e.kind() == ErrorKind::AlreadyExists => {
            // A file appeared at `to` meanwhile: lock it as any destination, then replace it.
            target = lock_target(to, &source.stat, plan.wait_for_lock)?;
            sys::rename(tmp, to, true)?;
        }
        Err(e) => return Err(e),
    }
    sink.published = true;
    sys::sync_parent_dir(to).map_err(|e| {
        e.with_context(
            "fsync of the directory after the rename (the new file is in place; its name may \
             not yet survive a power loss)",
        )
    })?;
    // Unlocks the new file, the replaced one (whose waiters then open the path again and
    // find the new file), and the source, in that order.
    drop(sink);
    drop(target);
    drop(source);
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_path_appends_the_suffix_and_checks_the_length() {
        let mut buf = [0u8; MAX_PATH + 1];
        let t = temp_path(c"dir/v.bin", &mut buf).unwrap();
        assert_eq!(t.to_bytes(), b"dir/v.bin.persistence-tmp");
        assert_eq!(
            temp_path(c"", &mut buf).unwrap_err().kind(),
            ErrorKind::InvalidPath
        );
        let mut long = [b'a'; MAX_PATH + 1];
        let room = MAX_PATH - TEMP_SUFFIX.len();
        long[room] = 0;
        let ok = CStr::from_bytes_until_nul(&long).unwrap();
        assert_eq!(temp_path(ok, &mut buf).unwrap().to_bytes().len(), MAX_PATH);
        long[room] = b'a';
        long[room + 1] = 0;
        let too_long = CStr::from_bytes_until_nul(&long).unwrap();
        assert_eq!(
            temp_path(too_long, &mut buf).unwrap_err().kind(),
            ErrorKind::InvalidPath
        );
    }
}
