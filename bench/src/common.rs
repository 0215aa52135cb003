//! What every scenario shares: the run context (temp dir, sizes, rounds), the contenders'
//! names, file fixtures, and small helpers.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use memvec::{MemVec, VecFile};
use persistence::{MmapedVec, OpenOptions};

use crate::peer::Kind;
use crate::stats::Table;

/// Row names, shared by the scenarios and the summary.
pub mod names {
    pub const VEC: &str = "std Vec<u64> (RAM only)";
    pub const VEC_WRITE: &str = "Vec + File::write_all + sync_data";
    pub const BUFW: &str = "BufWriter<File> + sync_data";
    pub const HAND: &str = "hand-rolled memmap2 vector";
    pub const MEMVEC: &str = "memvec VecFile";
    pub const LIB: &str = "MmapedVec<u64>";
    pub const LIB_NO_EARLY: &str = "MmapedVec<u64>, early_writeback(false)";
    pub const FLOOR: &str = "floor: fallocated map, 1 pass of stores";
    pub const FLOOR_FAULTS: &str = "(floor part) 1 store per page: faults only";
    pub const FLOOR_STORES: &str = "(floor part) 2nd pass: stores only";
    pub const LIB_PRESIZED: &str = "(info) MmapedVec<u64>, capacity(n) at open";
    pub const FIX_SKETCH: &str = "(fix sketch) MmapedVec's growth + MADV_HUGEPAGE";
    pub const MAP_RO: &str = "bare memmap2 open + map (read-only)";
    pub const MAP_RW: &str = "bare memmap2 open + map_mut (read-write)";
    pub const SLICE: &str = "MmapedSlice<u64>::open";
    pub const LIB_OPEN: &str = "MmapedVec<u64>::open";
    pub const MEMVEC_OPEN: &str = "memvec VecFile::open";
    pub const VEC_READ: &str = "std::fs read into Vec<u64>";
    pub const PWRITE_SYNC: &str = "pwrite 8 B + File::sync_data";
    pub const MSYNC_PAGE: &str = "memmap2 store + flush_range (msync 1 page)";
    pub const MSYNC_ALL: &str = "memmap2 store + flush (msync whole map)";
    pub const TWO_FLUSH: &str = "(protocol floor) store, msync page, slot, msync header";
    pub const MEMVEC_SYNC: &str = "memvec store + File::sync_data";
    pub const LIB_SYNC: &str = "MmapedVec: v[i] = x; sync()";
    pub const LIB_SYNC_HUGE: &str = "MmapedVec, huge_pages(true): v[i] = x; sync()";
    pub const LIB_SET_SYNC: &str = "MmapedVec: v.set(i, x); sync()";
    pub const LIB_SET_SYNC_HUGE: &str = "MmapedVec, huge_pages(true): v.set(i, x); sync()";
    pub const MREMAP: &str = "bare mremap";
    pub const MMAP_MUNMAP: &str = "bare mmap new + munmap old";
    pub const FALLOC: &str = "bare fallocate of the added bytes";
    pub const FALLOC_MREMAP: &str = "bare fallocate + mremap";
    pub const LIB_GROW: &str = "MmapedVec::reserve_exact";
    pub const MAP_SLICE: &str = "plain memmap2-mapped &[u64]";
    pub const VEC_RAM: &str = "std Vec<u64> in RAM";
    pub const SLICE_IDX: &str = "MmapedSlice<u64>";
    pub const LIB_IDX: &str = "MmapedVec<u64>";
    pub const MEMVEC_IDX: &str = "memvec MemVec";
    // vecdb (issue 13): the append phase is its RAM push; "+ one sync" rows are
    // push + flush + fsync of its files, and its flush alone is a separate, non-durable row.
    pub const VDB_BYTES: &str = "vecdb BytesVec<usize, u64>";
    pub const VDB_ZERO: &str = "vecdb ZeroCopyVec<usize, u64>";
    pub const VDB_BYTES_SYNC: &str = "vecdb BytesVec + flush + fsync";
    pub const VDB_ZERO_SYNC: &str = "vecdb ZeroCopyVec + flush + fsync";
    pub const VDB_BYTES_FLUSH: &str = "(not durable) vecdb BytesVec + flush";
    pub const VDB_ZERO_FLUSH: &str = "(not durable) vecdb ZeroCopyVec + flush";
    pub const VDB_OPEN_BYTES: &str = "vecdb BytesVec: Database::open + import";
    pub const VDB_OPEN_ZERO: &str = "vecdb ZeroCopyVec: Database::open + import";
    pub const VDB_SET_BYTES: &str = "vecdb MutableVec<BytesVec>: update + flush + fsync";
    pub const VDB_SET_ZERO: &str = "vecdb MutableVec<ZeroCopyVec>: update + flush + fsync";
    pub const VDB_SET_BYTES_FLUSH: &str =
        "(not durable) vecdb MutableVec<BytesVec>: update + flush";
    pub const VDB_SET_ZERO_FLUSH: &str =
        "(not durable) vecdb MutableVec<ZeroCopyVec>: update + flush";
    pub const VDB_IDX_BYTES: &str = "vecdb BytesVec reader().get_at";
    pub const VDB_IDX_ZERO: &str = "vecdb ZeroCopyVec reader().get_at";
    /// The label of "vs MmapedVec" columns.
    pub const VS_LIB: &str = "MmapedVec";
}

/// The run: where files go, how big, how often.
pub struct Ctx {
    /// The temp dir, on the file system under test.
    pub dir: PathBuf,
    /// Small sizes and few rounds (CI).
    pub quick: bool,
    /// Rounds of every scenario (each contender runs once or `ops` times per round).
    pub rounds: usize,
    /// Element counts for scenarios 1 and 2.
    pub append_sizes: Vec<usize>,
    /// Element counts of the files for scenarios 3, 4 and 6 (the last one is the big one).
    pub file_sizes: Vec<usize>,
    /// Operations per round for microsecond-scale steps (reopen).
    pub ops: usize,
    /// Operations per round for millisecond-scale steps (sync of one element).
    pub sync_ops: usize,
    /// Capacity in bytes before the growth step of scenario 5 (after it: twice that).
    pub growth_bytes: usize,
    /// Random reads per sample in scenario 6.
    pub random_reads: usize,
    /// Elements of the vectors scanned in scenario 7.
    pub scan_elems: usize,
    /// Rounds of scenario 7.
    pub scan_rounds: usize,
    /// Bytes reserved in scenario 8.
    pub reserve_bytes: usize,
    /// Elements (`u64`) of the file converted in scenario 9.
    pub convert_elems: usize,
    /// Which scenarios to run (1-9).
    pub only: Vec<u32>,
    /// Where to write the chart (default: see `main::chart_path`).
    pub svg: Option<PathBuf>,
    /// The OS page size.
    pub page: usize,
}

impl Ctx {
    /// A path in the temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Whether scenario `n` is selected.
    pub fn wants(&self, n: u32) -> bool {
        self.only.is_empty() || self.only.contains(&n)
    }

    /// Fails unless the temp dir's file system has `need` bytes free plus 1 GiB of slack.
    pub fn check_space(&self, need: u64, what: &str) -> io::Result<()> {
        let slack = 1 << 30;
        match crate::os::free_bytes(&self.dir) {
            Some(free) if free < need + slack => Err(io::Error::other(format!(
                "{what}: needs {} free (plus 1 GiB slack) in {}, only {} there",
                fmt_bytes(need as f64),
                self.dir.display(),
                fmt_bytes(free as f64)
            ))),
            _ => Ok(()),
        }
    }
}

/// Results kept for the summary: every table, by key, and single numbers.
#[derive(Default)]
pub struct Report {
    /// Tables by key (`"push 100 M"`, …), in print order.
    pub tables: Vec<(String, Table)>,
    /// Single figures by key.
    pub notes: Vec<(String, f64)>,
}

impl Report {
    /// Prints a table and keeps it.
    pub fn table(&mut self, key: impl Into<String>, t: Table) {
        print!("{}", t.render());
        self.tables.push((key.into(), t));
    }

    /// The table under `key`.
    pub fn get(&self, key: &str) -> Option<&Table> {
        self.tables.iter().find(|(k, _)| k == key).map(|(_, t)| t)
    }

    /// Keeps one figure.
    pub fn note(&mut self, key: impl Into<String>, v: f64) {
        self.notes.push((key.into(), v));
    }

    /// The figure under `key` (NaN if missing).
    pub fn figure(&self, key: &str) -> f64 {
        self.notes
            .iter()
            .find(|(k, _)| k == key)
            .map_or(f64::NAN, |(_, v)| *v)
    }
}

/// `1000000` as `1 M`, `100000` as `100 k`.
pub fn fmt_count(n: usize) -> String {
    if n >= 1_000_000 && n.is_multiple_of(1_000_000) {
        format!("{} M", n / 1_000_000)
    } else if n >= 1_000_000 {
        format!("{:.1} M", n as f64 / 1e6)
    } else if n >= 1000 && n.is_multiple_of(1000) {
        format!("{} k", n / 1000)
    } else if n >= 1000 {
        format!("{:.1} k", n as f64 / 1e3)
    } else {
        n.to_string()
    }
}

/// Bytes in decimal units (`800 MB`), or binary ones where they are exact (`1 GiB`).
pub fn fmt_bytes(b: f64) -> String {
    let gib = (1u64 << 30) as f64;
    let mib = (1u64 << 20) as f64;
    if b >= gib && (b / gib).fract() == 0.0 {
        format!("{} GiB", b / gib)
    } else if b >= mib && (b / mib).fract() == 0.0 && b < 1e9 && (b / 1e6).fract() != 0.0 {
        format!("{} MiB", b / mib)
    } else if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.0} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} kB", b / 1e3)
    } else {
        format!("{b:.0} B")
    }
}

/// The bytes of a `u64` slice.
pub fn as_bytes(s: &[u64]) -> &[u8] {
    // SAFETY: `u64` has no padding and any byte is a valid `u8`; the length is in bytes of
    // the same allocation, and the borrow keeps it alive.
    unsafe { std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s)) }
}

/// The bytes of a mutable `u64` slice.
pub fn as_bytes_mut(s: &mut [u64]) -> &mut [u8] {
    // SAFETY: as `as_bytes`; every byte pattern written through the result is a valid `u64`.
    unsafe { std::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(s)) }
}

/// A mapped byte range viewed as `u64`s (the start must be 8-byte aligned).
pub fn as_u64s(b: &[u8]) -> &[u64] {
    assert_eq!(b.as_ptr() as usize % 8, 0, "unaligned u64 view");
    // SAFETY: aligned (checked), within `b`, and every bit pattern is a valid `u64`.
    unsafe { std::slice::from_raw_parts(b.as_ptr().cast::<u64>(), b.len() / 8) }
}

/// A mapped byte range viewed as mutable `u64`s (the start must be 8-byte aligned).
pub fn as_u64s_mut(b: &mut [u8]) -> &mut [u64] {
    assert_eq!(b.as_ptr() as usize % 8, 0, "unaligned u64 view");
    // SAFETY: as `as_u64s`, and `b` is borrowed mutably.
    unsafe { std::slice::from_raw_parts_mut(b.as_mut_ptr().cast::<u64>(), b.len() / 8) }
}

/// The chunks `0..n` split into, each at most `chunk` long: `(start, len)`.
pub fn chunks(n: usize, chunk: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..n).step_by(chunk).map(move |s| (s, chunk.min(n - s)))
}

/// `0 + 1 + … + (n - 1)`, wrapping.
pub fn sum_to(n: usize) -> u64 {
    let n = n as u64;
    if n.is_multiple_of(2) {
        (n / 2).wrapping_mul(n.wrapping_sub(1))
    } else {
        n.wrapping_mul((n - 1) / 2)
    }
}

/// Sum of a slice, wrapping (vectorises).
#[inline(never)]
pub fn sum(s: &[u64]) -> u64 {
    s.iter().fold(0u64, |a, &x| a.wrapping_add(x))
}

/// Deletes a file or a directory tree (vecdb keeps a database directory), ignoring errors.
pub fn remove_path(path: &Path) {
    if path.is_dir() {
        let _ = std::fs::remove_dir_all(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// Creates a fresh file of `bytes` bytes with blocks reserved (`fallocate`), for the floors.
pub fn fallocated(path: &Path, bytes: u64) -> io::Result<File> {
    let f = File::options()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)?;
    crate::os::fallocate(&f, 0, bytes)?;
    Ok(f)
}

/// Opens a memvec vector file (creating it if missing).
pub fn memvec_open(path: &Path) -> io::Result<MemVec<'static, u64, VecFile<'static>>> {
    let vf = VecFile::open_or_create(path, |_| Ok(()))?;
    // SAFETY: the file was written by memvec with `u64` elements (or is new).
    unsafe { MemVec::<u64, _>::try_from_memory(vf) }
        .map_err(|(_, e)| io::Error::other(format!("memvec: {e}")))
}

/// Appends `xs` to a memvec vector the way its API allows: reserve, copy into the spare
/// capacity, `set_len`.
pub fn memvec_extend(v: &mut MemVec<'static, u64, VecFile<'static>>, xs: &[u64]) {
    v.reserve(xs.len());
    let len = v.len();
    // SAFETY: `reserve` made room for `xs.len()` more elements after `len`; `xs` is not
    // part of the mapping; the new elements are initialised before `set_len` covers them.
    unsafe {
        std::ptr::copy_nonoverlapping(xs.as_ptr(), v.as_mut_ptr().add(len), xs.len());
        v.set_len(len + xs.len());
    }
}

/// Input files with elements `0..n`: one of this library, one of memvec, and one vecdb
/// database of each kind, all durable.
pub struct Fixture {
    /// Elements.
    pub n: usize,
    /// The `MmapedVec<u64>` file (data at byte 4096).
    pub lib: PathBuf,
    /// The same, written with `OpenOptions::huge_pages(true)` (2 MiB page-cache folios).
    pub lib_huge: PathBuf,
    /// The memvec file.
    pub memvec: PathBuf,
    /// The vecdb database directories, one per [`Kind`] (in `Kind::ALL` order).
    pub vdb: [PathBuf; 2],
}

impl Fixture {
    /// Writes both files (untimed), synced so that no writeback disturbs later samples.
    pub fn create(ctx: &Ctx, n: usize) -> io::Result<Fixture> {
        let lib = ctx.path(&format!("fixture-lib-{n}"));
        let lib_huge = ctx.path(&format!("fixture-lib-huge-{n}"));
        let memvec = ctx.path(&format!("fixture-memvec-{n}"));
        let mut buf = vec![0u64; 1 << 16];
        let mut v = OpenOptions::new()
            .create_new(true)
            .capacity(n)
            .open::<u64>(&lib)?;
        let mut huge = OpenOptions::new()
            .create_new(true)
            .capacity(n)
            .huge_pages(true)
            .open::<u64>(&lib_huge)?;
        let mut m = memvec_open(&memvec)?;
        m.reserve_exact(n);
        for (s, len) in chunks(n, buf.len()) {
            for (j, x) in buf[..len].iter_mut().enumerate() {
                *x = (s + j) as u64;
            }
            v.extend_from_slice(&buf[..len])?;
            huge.extend_from_slice(&buf[..len])?;
            memvec_extend(&mut m, &buf[..len]);
        }
        v.close()?;
        huge.close()?;
        m.as_mem().file().sync_data()?;
        drop(m);
        let vdb = Kind::ALL.map(|k| ctx.path(&format!("fixture-vecdb-{}-{n}", k.tag())));
        for (k, dir) in Kind::ALL.iter().zip(&vdb) {
            crate::peer::write_fixture(dir, *k, n)?;
        }
        Ok(Fixture {
            n,
            lib,
            lib_huge,
            memvec,
            vdb,
        })
    }

    /// Deletes every file of the fixture.
    pub fn remove(&self) {
        let _ = std::fs::remove_file(&self.lib);
        let _ = std::fs::remove_file(&self.lib_huge);
        let _ = std::fs::remove_file(&self.memvec);
        for d in &self.vdb {
            remove_path(d);
        }
    }

    /// The vecdb database directory of `kind`.
    pub fn vdb(&self, kind: Kind) -> &Path {
        &self.vdb[if kind == Kind::Bytes { 0 } else { 1 }]
    }

    /// Opens the library file as a vector, without creating anything.
    pub fn open_lib(&self) -> io::Result<MmapedVec<u64>> {
        Ok(OpenOptions::new().create(false).open::<u64>(&self.lib)?)
    }

    /// Opens the library file written with `huge_pages(true)` the same way.
    pub fn open_lib_huge(&self) -> io::Result<MmapedVec<u64>> {
        Ok(OpenOptions::new()
            .create(false)
            .huge_pages(true)
            .open::<u64>(&self.lib_huge)?)
    }
}

/// A small, fast PRNG (xorshift64*), for reproducible random indices.
pub struct Rng(u64);

impl Rng {
    /// Seeded; a zero seed is replaced.
    pub fn new(seed: u64) -> Rng {
        Rng(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_bytes() {
        assert_eq!(fmt_count(10_000_000), "10 M");
        assert_eq!(fmt_count(100_000), "100 k");
        assert_eq!(fmt_count(131_072), "131.1 k");
        assert_eq!(fmt_bytes(800e6), "800 MB");
        assert_eq!(fmt_bytes((1u64 << 30) as f64), "1 GiB");
        assert_eq!(fmt_bytes((32u64 << 20) as f64), "32 MiB");
        assert_eq!(fmt_bytes(8e6), "8 MB");
    }

    #[test]
    fn chunking_covers_everything_once() {
        let c: Vec<_> = chunks(10, 4).collect();
        assert_eq!(c, [(0, 4), (4, 4), (8, 2)]);
        assert_eq!(chunks(0, 4).count(), 0);
    }

    #[test]
    fn sums() {
        for n in [0usize, 1, 2, 3, 10, 1001] {
            assert_eq!(sum_to(n), (0..n as u64).sum::<u64>(), "n = {n}");
            let v: Vec<u64> = (0..n as u64).collect();
            assert_eq!(sum(&v), sum_to(n));
        }
    }

    #[test]
    fn rng_stays_in_range_and_spreads() {
        let mut r = Rng::new(1);
        let mut seen = [false; 10];
        for _ in 0..1000 {
            let i = r.below(10);
            assert!(i < 10);
            seen[i] = true;
        }
        assert!(seen.iter().all(|&s| s));
    }

    #[test]
    fn byte_views_round_trip() {
        let mut v = vec![1u64, 2, 3];
        assert_eq!(as_bytes(&v).len(), 24);
        as_bytes_mut(&mut v)[8..16].copy_from_slice(&7u64.to_ne_bytes());
        assert_eq!(v, [1, 7, 3]);
        assert_eq!(as_u64s(as_bytes(&v)), &[1, 7, 3]);
    }
}
