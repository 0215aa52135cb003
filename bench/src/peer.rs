//! vecdb (0.13, `BytesVec<usize, u64>` and `ZeroCopyVec<usize, u64>`) as a contender
//! (issue 13), used the way its README shows: a `Database` directory, `import`, `push`,
//! `flush`, reads through `ReadableVec` and `reader()`, in-place changes through
//! `MutableVec::update_many`.
//!
//! Its durability, read from its source (rawdb 0.13 and vecdb 0.13), differs from this
//! library's, and the benchmark says so wherever it times vecdb:
//!
//! - `push` appends to a `Vec<T>` in RAM; nothing reaches the file before `write`/`flush`,
//!   which copies the whole buffer through rawdb's shared mapping (`memcpy`).
//! - `flush` never syncs to the device ("rawdb never syncs to the device"; written data lives
//!   in the page cache). A durable comparison needs an explicit `fsync` of its two files
//!   (`data` and `regions`), which [`Peer::fsync`] does (on Linux, `fsync` also writes pages
//!   dirtied through a shared mapping).
//! - Even then there is no commit protocol: lengths live in 4 KiB metadata slots written
//!   through a mapping, not atomically, with no ordering against the data; a power loss
//!   during the writeback can leave a length that covers unwritten bytes.
//! - The data file grows with `set_len` (sparse, no `fallocate`), so a full disk is a
//!   `SIGBUS` on the store that first touches an unallocated page.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use vecdb::{
    AnyStoredVec, AnyVec, BytesVec, Database, ImportableVec, MutableVec, ReadableVec, Version,
    WritableVec, ZeroCopyVec,
};

use crate::common;

/// The vector's name inside its database.
const NAME: &str = "v";

/// Which of vecdb's raw vectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `BytesVec<usize, u64>`: values through `Bytes` (native layout for `u64` on little endian).
    Bytes,
    /// `ZeroCopyVec<usize, u64>`: values through zerocopy, native layout.
    ZeroCopy,
}

impl Kind {
    /// Both, in print order.
    pub const ALL: [Kind; 2] = [Kind::Bytes, Kind::ZeroCopy];

    /// The directory name of a fixture of this kind.
    pub fn tag(self) -> &'static str {
        match self {
            Kind::Bytes => "bytes",
            Kind::ZeroCopy => "zerocopy",
        }
    }
}

fn err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("vecdb: {e}"))
}

enum Raw {
    Bytes(BytesVec<usize, u64>),
    ZeroCopy(ZeroCopyVec<usize, u64>),
}

/// Runs `$body` with `$v` bound to the concrete vector (so loops are monomorphic).
macro_rules! with_raw {
    ($raw:expr, $v:ident => $body:expr) => {
        match $raw {
            Raw::Bytes($v) => $body,
            Raw::ZeroCopy($v) => $body,
        }
    };
}

/// The two files of a vecdb database, opened once more for `fsync`.
struct Files {
    data: File,
    regions: File,
}

impl Files {
    fn open(dir: &Path) -> io::Result<Files> {
        Ok(Files {
            data: File::open(dir.join("data"))?,
            regions: File::open(dir.join("regions"))?,
        })
    }

    fn fsync(&self) -> io::Result<()> {
        self.data.sync_data()?;
        self.regions.sync_data()
    }
}

/// An open vecdb vector with its database.
pub struct Peer {
    // Field order is drop order: the vector before its database.
    raw: Raw,
    _db: Database,
    files: Files,
}

impl Peer {
    /// Opens (or creates) the vector in database directory `dir`.
    pub fn open(dir: &Path, kind: Kind) -> io::Result<Peer> {
        let db = Database::open(dir).map_err(err)?;
        let raw = match kind {
            Kind::Bytes => Raw::Bytes(BytesVec::import(&db, NAME, Version::ONE).map_err(err)?),
            Kind::ZeroCopy => {
                Raw::ZeroCopy(ZeroCopyVec::import(&db, NAME, Version::ONE).map_err(err)?)
            }
        };
        let files = Files::open(dir)?;
        Ok(Peer {
            raw,
            _db: db,
            files,
        })
    }

    /// Creates a new, empty vector in the new directory `dir`, and makes the new directory
    /// entries durable (as this library does when it creates a file; untimed by callers).
    pub fn create(dir: &Path, kind: Kind) -> io::Result<Peer> {
        if dir.exists() {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} exists", dir.display()),
            ));
        }
        let p = Peer::open(dir, kind)?;
        sync_dir(dir)?;
        if let Some(parent) = dir.parent() {
            sync_dir(parent)?;
        }
        Ok(p)
    }

    /// Elements (stored and pushed).
    pub fn len(&self) -> usize {
        with_raw!(&self.raw, v => v.len())
    }

    /// Pushes `0..n` (element `i` is `i`) one `push` at a time.
    pub fn push_range(&mut self, from: u64, to: u64) {
        with_raw!(&mut self.raw, v => {
            for i in from..to {
                v.push(i);
            }
        })
    }

    /// Pushes every element of `xs`, one `push` each (vecdb has no bulk append).
    pub fn push_slice(&mut self, xs: &[u64]) {
        with_raw!(&mut self.raw, v => {
            for &x in xs {
                v.push(x);
            }
        })
    }

    /// vecdb's `flush`: writes the pushed values into its mapped file. No device sync.
    pub fn flush(&mut self) -> io::Result<()> {
        with_raw!(&mut self.raw, v => v.flush()).map_err(err)
    }

    /// `fsync` of the database's two files: what makes a `flush` durable.
    pub fn fsync(&self) -> io::Result<()> {
        self.files.fsync()
    }

    /// One element, read the way its README reads one (`collect_one`).
    pub fn get(&self, i: usize) -> Option<u64> {
        with_raw!(&self.raw, v => v.collect_one_at(i))
    }

    /// Sum of every element, through `for_each_chunk_at` (which lends slices of the mapping
    /// when the range is resident: vecdb's fastest scan).
    pub fn sum(&self) -> u64 {
        let mut acc = 0u64;
        with_raw!(&self.raw, v => v.for_each_chunk_at(0, v.len(), &mut |_, s: &[u64]| {
            acc = acc.wrapping_add(common::sum(s));
        }));
        acc
    }

    /// Sum of `v[i]` over `idx`, through a `reader()` (vecdb's O(1) point reads).
    pub fn gather(&self, idx: &[usize]) -> u64 {
        with_raw!(&self.raw, v => gather_with(&v.reader(), idx))
    }
}

#[inline(never)]
fn gather_with<S: vecdb::RawStrategy<u64>>(
    r: &vecdb::VecReader<usize, u64, S>,
    idx: &[usize],
) -> u64 {
    let mut s = 0u64;
    for &i in idx {
        s = s.wrapping_add(r.get_at(i));
    }
    s
}

enum Mutable {
    Bytes(MutableVec<BytesVec<usize, u64>>),
    ZeroCopy(MutableVec<ZeroCopyVec<usize, u64>>),
}

/// An existing vecdb vector opened for in-place changes (`MutableVec`).
pub struct MutPeer {
    m: Mutable,
    _db: Database,
    files: Files,
}

impl MutPeer {
    /// Opens the vector in `dir` (written by a [`Peer`] of the same kind) as a `MutableVec`.
    pub fn open(dir: &Path, kind: Kind) -> io::Result<MutPeer> {
        let db = Database::open(dir).map_err(err)?;
        let m = match kind {
            Kind::Bytes => {
                Mutable::Bytes(MutableVec::import(&db, NAME, Version::ONE).map_err(err)?)
            }
            Kind::ZeroCopy => {
                Mutable::ZeroCopy(MutableVec::import(&db, NAME, Version::ONE).map_err(err)?)
            }
        };
        let files = Files::open(dir)?;
        Ok(MutPeer { m, _db: db, files })
    }

    /// Elements.
    pub fn len(&self) -> usize {
        match &self.m {
            Mutable::Bytes(v) => v.len(),
            Mutable::ZeroCopy(v) => v.len(),
        }
    }

    /// `update_many([(i, x)])` then vecdb's `flush` (no device sync).
    pub fn set_and_flush(&mut self, i: usize, x: u64) -> io::Result<()> {
        match &mut self.m {
            Mutable::Bytes(v) => v.update_many([(i, x)]).and_then(|()| v.flush()),
            Mutable::ZeroCopy(v) => v.update_many([(i, x)]).and_then(|()| v.flush()),
        }
        .map_err(err)
    }

    /// Element `i` as a reader sees it now.
    pub fn get(&self, i: usize) -> Option<u64> {
        match &self.m {
            Mutable::Bytes(v) => v.collect_one_at(i),
            Mutable::ZeroCopy(v) => v.collect_one_at(i),
        }
    }

    /// `fsync` of the database's two files.
    pub fn fsync(&self) -> io::Result<()> {
        self.files.fsync()
    }
}

/// `fsync` of a directory (its entries).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// A durable vecdb vector with elements `0..n`, in a new directory `dir` (fixtures).
pub fn write_fixture(dir: &Path, kind: Kind, n: usize) -> io::Result<PathBuf> {
    let mut p = Peer::create(dir, kind)?;
    p.push_range(0, n as u64);
    p.flush()?;
    p.fsync()?;
    if p.len() != n {
        return Err(io::Error::other(format!(
            "vecdb fixture has {} elements, not {n}",
            p.len()
        )));
    }
    Ok(dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_flush_reopen_sum_change() {
        let base = std::env::temp_dir().join(format!("pb-peer-test-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        for kind in Kind::ALL {
            let dir = base.join(kind.tag());
            write_fixture(&dir, kind, 100_000).unwrap();
            let p = Peer::open(&dir, kind).unwrap();
            assert_eq!(p.len(), 100_000);
            assert_eq!(p.sum(), common::sum_to(100_000));
            assert_eq!(p.get(777), Some(777));
            assert_eq!(p.gather(&[1, 2, 99_999]), 1 + 2 + 99_999);
            drop(p);
            let mut m = MutPeer::open(&dir, kind).unwrap();
            assert_eq!(m.len(), 100_000);
            m.set_and_flush(5, 12345).unwrap();
            m.fsync().unwrap();
            assert_eq!(m.get(5), Some(12345));
            drop(m);
            let p = Peer::open(&dir, kind).unwrap();
            assert_eq!(
                p.get(5),
                Some(12345),
                "{kind:?}: the change survives a reopen"
            );
        }
        std::fs::remove_dir_all(&base).unwrap();
    }
}
