//! Opening a region: open, refuse what is not a regular file, lock, `fstat`, read the header
//! page; validate it through `format`; or create the file. One path, [`open_locked`], shared
//! by [`RawRegion::open`], [`probe`] (which `inspect` uses) and the rewrite's source
//! (`docs/design.md`, "Validation order on open", "Creation").

use core::ffi::CStr;

use super::bulk::BulkMode;
use super::commit::CommitState;
use super::growth::{to_map_len, CutGate};
use super::{Owner, RawRegion, RegionOptions};
use crate::error::{Error, ErrorKind, Result};
use crate::format::group::GroupHeader;
use crate::format::{self, Header, Layout, HEADER_SIZE};
use crate::limits;
use crate::sidecar::ResolvedPath;
use crate::slots;
use crate::sys::{self, Mapping};

/// The first page of a file, read under its lock, and the file's size then.
pub(crate) struct HeaderPage {
    bytes: [u8; HEADER_SIZE],
    /// How many of `bytes` the file holds (fewer for a file shorter than a page).
    got: usize,
    /// The file size, read with `fstat` after the lock was taken.
    pub(crate) file_size: u64,
    /// All that `fstat` said then.
    pub(crate) stat: sys::Stat,
}

impl HeaderPage {
    /// The bytes the file holds of its first page.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.bytes[..self.got]
    }
}

fn not_regular() -> Error {
    Error::new(ErrorKind::NotARegularFile, "the path")
}

/// Opens `path`, refuses anything but a regular file (never blocking on a FIFO), takes the
/// `flock` lock (exclusive or shared; waiting or not), and reads the size and the header page
/// under it: every size the library trusts is read after the lock is held, so a file
/// truncated while no one had it open is `Corrupt`, never a `SIGBUS`.
///
/// A file that no longer has a name once its lock is held (`nlink == 0`: it was renamed over
/// or removed while this waited for the lock, as a conversion replaces its destination with
/// `rename` while holding that lock) is not the file at `path` any more: writing into it
/// would lose every change. The path is then opened again (up to
/// [`limits::REOPEN_TRIES`] times).
pub(crate) fn open_locked(
    path: &CStr,
    how: &sys::OpenHow,
    exclusive: bool,
    wait: bool,
) -> Result<(sys::File, HeaderPage)> {
    for _ in 0..=limits::REOPEN_TRIES {
        let file = sys::open(path, how)?;
        if wait && !file.stat()?.regular {
            // Refuse FIFOs, devices and directories before waiting on their lock. (A
            // non-blocking lock attempt returns at once, so it needs no stat before it.)
            return Err(not_regular());
        }
        file.lock(exclusive, wait)?;
        let stat = file.stat()?;
        if !stat.regular {
            return Err(not_regular());
        }
        if stat.nlink == 0 {
            let _ = file.unlock();
            continue;
        }
        let mut bytes = [0u8; HEADER_SIZE];
        let got = file.read_at(&mut bytes, 0)?;
        return Ok((
            file,
            HeaderPage {
                bytes,
                got,
                file_size: stat.size,
                stat,
            },
        ));
    }
    Err(Error::new(
        ErrorKind::Locked,
        "the file was replaced again and again while waiting for its lock",
    ))
}

/// `open` without creating or writing: read-only.
pub(crate) const READ_ONLY: sys::OpenHow = sys::OpenHow {
    write: false,
    create: false,
    create_new: false,
    mode: 0,
};

/// A header [`probe`] validated: a vector's or a group's. (A group's is 3 KiB, a vector's
/// 100 bytes; no heap to box it in, and one lives on the stack of one `inspect` call.)
#[derive(Clone, Copy, Debug)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Probed {
    /// A vector's header.
    Vector(Header),
    /// A commit group's header.
    Group(GroupHeader),
    /// No commit yet: an empty file, or the remains of an interrupted creation
    /// (`format::is_uncreated`).
    Uncreated,
}

/// What [`probe`] finds in a file.
pub(crate) struct Probe {
    /// The validated header.
    pub(crate) header: Probed,
    /// The winning slot's index; its length (lengths) fit in the file.
    pub(crate) winner: usize,
    /// The file size in bytes, read under the lock.
    pub(crate) file_size: u64,
    /// What the file system says about the file.
    pub(crate) fs: sys::FsFacts,
}

/// Decodes a header page of either kind (foreign byte order too) and checks its winning
/// commit against the file size: a vector's first, then, when the file holds a group, a
/// group's.
fn decode_any(page: &[u8], file_size: u64) -> Result<(Probed, usize)> {
    if format::is_uncreated(page, file_size) {
        return Ok((Probed::Uncreated, 0));
    }
    match Header::decode(page, true) {
        Ok(header) => {
            let (winner, _) = header.committed(file_size)?;
            Ok((Probed::Vector(header), winner))
        }
        Err(e) if e.kind() == ErrorKind::WrongFileKind => {
            let header = GroupHeader::decode(page, true)?;
            let (winner, _) = header.committed(file_size)?;
            Ok((Probed::Group(header), winner))
        }
        Err(e) => Err(e),
    }
}

/// Reads and validates a file's header without knowing its element types, exactly as
/// [`RawRegion::open`] (or a group's open) validates it before it compares the header with
/// a type, except that a file of the other byte order is decoded too (its header says so):
/// opened read-only, read with `pread`, never written or mapped.
///
/// Through [`open_locked`], as `RawRegion::open`, under a shared lock (never waiting),
/// unlocked explicitly before it returns, when it can get one. When it cannot (a writer holds
/// the file), it reads without a lock, as a live reader would ([`probe_beside_writer`]). It
/// never creates the live readers' lock file.
pub(crate) fn probe(path: &CStr) -> Result<Probe> {
    let (file, page) = match open_locked(path, &READ_ONLY, false, false) {
        Ok(opened) => opened,
        // A writer holds the file: read it as a live reader would, without a lock.
        Err(e) if e.kind() == ErrorKind::Locked => {
            return probe_beside_writer(&sys::open(path, &READ_ONLY)?)
        }
        Err(e) => return Err(e),
    };
    // Foreign files too: `inspect` shows what they hold, so that they can be converted.
    let result = decode_any(page.bytes(), page.file_size).map(|(header, winner)| Probe {
        header,
        winner,
        file_size: page.file_size,
        fs: file.fs_facts(),
    });
    // Unlock explicitly, as the region does: a child forked meanwhile may share the open file
    // description and would otherwise keep the lock after the descriptor is closed.
    let unlocked = file.unlock();
    let probe = result?;
    unlocked?;
    Ok(probe)
}

/// The two slots of `SLOT_OFFSETS`, each `W` words, read as a live reader's snapshot reads
/// them, with one `pread` per slot read; `words(page, i, w)` stores slot `i`'s words into
/// the page.
fn snapshot_by_pread<const W: usize>(
    file: &sys::File,
    valid: impl Fn(&[u64; W]) -> bool,
) -> Result<slots::Snapshot<W>> {
    let read = |i: usize| -> Result<[u64; W]> {
        let mut b = [0u8; 8 * format::group::SLOT_WORDS];
        let b = &mut b[..8 * W];
        let mut w = [0u64; W];
        if file.read_at(b, format::SLOT_OFFSETS[i] as u64)? < b.len() {
            return Ok(w); // Past the end of a short file: blank.
        }
        for (k, word) in w.iter_mut().enumerate() {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[8 * k..8 * k + 8]);
            *word = u64::from_ne_bytes(x);
        }
        Ok(w)
    };
    slots::snapshot(read, |_, w| valid(w), limits::PREAD_SNAPSHOT_ROUNDS)?.ok_or(Error::new(
        ErrorKind::Corrupt,
        "no valid commit slot (no commit yet, or both slots damaged)",
    ))
}

/// [`probe`] without a lock, beside a writer: the fixed fields once (a file with a commit
/// never rewrites them), then the two slots as a live reader's snapshot reads them (slot A,
/// slot B, slot A again, each with its own `pread`, since one `pread` of the page may be torn
/// by a slot `pwrite` just as loads can), and only then the size, so that a growth between
/// the two never looks like a committed length past the end. A length that does not fit (the
/// file was cut meanwhile) is read again a few times before it is `Corrupt`.
fn probe_beside_writer(file: &sys::File) -> Result<Probe> {
    if !file.stat()?.regular {
        return Err(not_regular());
    }
    let mut page = [0u8; HEADER_SIZE];
    let mut attempt = 0;
    loop {
        attempt += 1;
        let got = file.read_at(&mut page, 0)?;
        if format::is_uncreated(&page[..got], file.stat()?.size) {
            return Ok(Probe {
                header: Probed::Uncreated,
                winner: 0,
                file_size: file.stat()?.size,
                fs: file.fs_facts(),
            });
        }
        // Foreign files too, as `probe` reads them: their slots in their own byte order.
        match Header::decode(&page[..got], true) {
            Ok(fixed) => {
                let (order, sum) = (fixed.order, fixed.checksum());
                let snap = snapshot_by_pread::<{ format::SLOT_WORDS }>(file, |w| {
                    format::stored_slot_valid(order, sum, w)
                })?;
                for (i, words) in snap.words.iter().enumerate() {
                    format::put_slot_words(&mut page, i, words);
                }
            }
            Err(e) if e.kind() == ErrorKind::WrongFileKind => {
                let fixed = GroupHeader::decode(&page[..got], true)?;
                let (order, sum) = (fixed.order, fixed.checksum());
                let snap = snapshot_by_pread::<{ format::group::SLOT_WORDS }>(file, |w| {
                    format::group::stored_slot_valid(order, sum, w)
                })?;
                for (i, words) in snap.words.iter().enumerate() {
                    for (k, w) in words.iter().enumerate() {
                        let at = format::group::slot_word_offset(i, k);
                        page[at..at + 8].copy_from_slice(&w.to_ne_bytes());
                    }
                }
            }
            Err(e) => return Err(e),
        }
        // The page with the slots as the snapshot read them, decoded as `open` decodes it.
        let size = file.stat()?.size;
        match decode_any(&page[..got], size) {
            Ok((header, winner)) => {
                return Ok(Probe {
                    header,
                    winner,
                    file_size: size,
                    fs: file.fs_facts(),
                })
            }
            Err(e) if e.kind() == ErrorKind::Corrupt && attempt < limits::PREAD_FIT_TRIES => {
                continue
            }
            Err(e) => return Err(e),
        }
    }
}

impl RawRegion {
    /// Opens (or creates) the file at `path`, locks it, validates its header against
    /// `opts.layout`, and maps it.
    pub(crate) fn open(path: &CStr, opts: &RegionOptions) -> Result<RawRegion> {
        let elem_size = opts.layout.elem_size as usize;
        debug_assert!(elem_size > 0);
        let how = sys::OpenHow {
            write: opts.write,
            create: opts.create && opts.write,
            create_new: opts.create_new && opts.write,
            mode: opts.mode,
        };
        let (file, page) = open_locked(path, &how, opts.write, opts.wait_for_lock)?;
        let size = page.file_size;
        let header = page.bytes();

        // No commit yet (`format::is_uncreated`, the one rule): a new file. A complete header
        // with a valid slot is an existing (empty) vector: a live reader may have mapped it,
        // so it is never cut to zero and written again.
        let is_new = format::is_uncreated(header, size);
        // A writer finds where live readers lock (and where a new file's name is made
        // durable), and creates their lock file there (best effort: without it the writer
        // merely never cuts the file while it cannot tell that no reader is open). Never
        // for a read-only region.
        let place = if opts.write {
            ResolvedPath::resolve(path)
                .ok()
                .filter(|place| place.names(page.stat.id))
        } else {
            None
        };
        if let Some(place) = &place {
            let _ = place.create_lock_file(&page.stat);
        }
        let mut region = RawRegion {
            file,
            map: Mapping::none(opts.write),
            data: sys::unmapped(),
            capacity: 0,
            push_limit: 0,
            file_len: size,
            elem_size,
            page_size: sys::page_size(),
            writable: opts.write,
            commit: CommitState::new(opts.layout, size),
            bulk: BulkMode::new(opts.huge_pages && opts.write),
            early: super::writeback::EarlyWriteback::new(opts.early_writeback && opts.write),
            cut: CutGate::new(place),
            owner: Owner::current(),
            unlocked: false,
            report: crate::report::OpenReport::CREATED,
        };
        if is_new {
            if !opts.write {
                // Read-only: an empty vector, and the file is not written.
                return Ok(region);
            }
            region.initialise(path, &opts.layout, opts.copy_on_write)?;
        } else {
            // The same validation as `inspect`'s (`probe`), then the comparison with `T`.
            let decoded = Header::decode(header, false)?;
            decoded.layout.check(&opts.layout)?;
            let (winner, slot) = decoded.committed(size)?;
            let other = decoded.slots()[1 - winner];
            region.report = crate::report::OpenReport::of_slots(
                slot.seq,
                (other.valid, other.blank, other.slot.seq),
            );
            region.commit = CommitState::found(decoded, winner, size);
        }
        let map_len = to_map_len(region.file_len)?;
        // The file is `map_len >= DATA_OFFSET` bytes (a validated or new header page is
        // present), read under the lock: every mapped byte is backed.
        region.map = Mapping::new(&region.file, map_len, opts.write)?;
        region.mapping_changed();
        if opts.write && opts.capacity > region.capacity {
            // Asked for in so many words: exactly that (in whole pages), not a growth step.
            region.grow_to(opts.capacity, true)?;
        }
        Ok(region)
    }

    /// Writes the header page of a new file and makes it and its name durable before
    /// anything else happens, so that a crash at any point leaves either an empty file, a
    /// torn header page without a valid slot (both open as new), or a valid empty vector.
    ///
    /// Unless `copy_on_write`, the still empty file first gets the No_COW attribute where
    /// the file system has one (btrfs): in-place rewrites of its pages then need no new
    /// block, so a full disk cannot turn a store into a `SIGBUS`.
    fn initialise(&mut self, path: &CStr, layout: &Layout, copy_on_write: bool) -> Result<()> {
        let header = Header::new(*layout);
        if self.file_len > HEADER_SIZE as u64 {
            return Err(Error::new(
                ErrorKind::Corrupt,
                "interrupted creation larger than a header",
            ));
        }
        if self.file_len > 0 {
            // The remains of an interrupted creation hold no commit: start again from the
            // empty file they stand for, so that the attribute below can still take effect.
            self.file.set_len(0)?;
            self.file_len = 0;
        }
        if !copy_on_write {
            self.file.set_no_cow();
        }
        let written = self
            .file
            .write_all_at(&header.encode(), 0)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // A full disk, say. Leave the empty file that opens as new, never a short header
            // that would open as `Corrupt`. But a header that reached the page cache whole
            // (its flush failed) is a valid, empty vector that a live reader may have mapped:
            // that one is cut only through the live readers' gate, and otherwise left as it
            // is (it opens as an empty vector).
            let mut page = [0u8; HEADER_SIZE];
            let got = self.file.read_at(&mut page, 0).unwrap_or(0);
            let complete = Header::decode(&page[..got], false).is_ok_and(|h| h.winner().is_some());
            let gate = if complete {
                self.cut.lock(&self.file)
            } else {
                None
            };
            if !complete || gate.is_some() {
                let _ = self.file.set_len(0);
            }
            if let Some(gate) = gate {
                let _ = gate.unlock();
            }
            return Err(e);
        }
        // The directory that holds the new name: the resolved one (the path may be a
        // symbolic link into another directory); the path's own parent only when it could
        // not be resolved (or no longer leads to this file).
        match self.cut.place() {
            Some(place) => place.sync_dir()?,
            None => sys::sync_parent_dir(path)?,
        }
        self.file_len = HEADER_SIZE as u64;
        self.commit = CommitState::created(header, self.file_len);
        Ok(())
    }
}
