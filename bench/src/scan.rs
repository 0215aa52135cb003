//! Scenario 7 (issue 13): reopen a vector of `n` u64 (800 MB; `--quick`: 8 MB) and sum every
//! element, with the page cache warm, for files written in different ways. The time a scan
//! takes is mostly its minor page faults, and their count depends on the size of the folios
//! the file's pages sit in, which depends on how the file was written: so every row prints
//! its fault count (`getrusage` `ru_minflt`, around open + sum) beside its time.
//!
//! Each file is written once (untimed, durable), then read once with `read` so that all of it
//! is in the page cache, which `mincore` confirms before the rounds and before every sample
//! (a page evicted and read back would come in as a readahead folio, changing what is
//! measured: the benchmark says if that happened). Every sample opens, sums and checks the
//! sum; dropping the mapping is not timed. Rows run round-robin, several rounds.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use memmap2::Mmap;
use persistence::{MmapedSlice, OpenOptions};

use crate::append::CHUNK;
use crate::common::{self, as_bytes, as_u64s, fmt_bytes, Ctx, Report};
use crate::os::{read_through, resident_fraction, Meter};
use crate::peer::{self, Kind, Peer};
use crate::stats::{markdown, round_robin, Row, Samples, Table};

/// Row names.
pub mod names {
    pub const PLAIN: &str = "memmap2 map of a plainly written file (write_all)";
    pub const LIB_PUSH: &str = "MmapedVec::open, file written by push";
    pub const LIB_EXTEND: &str = "MmapedVec::open, file written by extend_from_slice";
    pub const LIB_EXTEND_HUGE: &str =
        "MmapedVec::open, written by extend_from_slice with huge_pages(true)";
    pub const SLICE_PUSH: &str = "MmapedSlice::open, file written by push";
    pub const SLICE_EXTEND: &str = "MmapedSlice::open, file written by extend_from_slice";
    pub const MAP_LIB_PUSH: &str = "(diagnosis) memmap2 map of MmapedVec's push-written file";
    pub const VDB_BYTES: &str = "vecdb BytesVec: open + import + for_each_chunk_at";
    pub const VDB_ZERO: &str = "vecdb ZeroCopyVec: open + import + for_each_chunk_at";
}
use names::*;

const ROWS: [&str; 9] = [
    PLAIN,
    LIB_PUSH,
    LIB_EXTEND,
    LIB_EXTEND_HUGE,
    SLICE_PUSH,
    SLICE_EXTEND,
    MAP_LIB_PUSH,
    VDB_BYTES,
    VDB_ZERO,
];

/// Where the library's element data starts in its file.
const DATA: usize = 4096;

/// The files of the scenario.
struct Files {
    plain: PathBuf,
    push: PathBuf,
    extend: PathBuf,
    extend_huge: PathBuf,
    vdb: [PathBuf; 2],
}

impl Files {
    /// Every file whose pages a sample reads (vecdb: its `data` file).
    fn all(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("plain", self.plain.clone()),
            ("MmapedVec push", self.push.clone()),
            ("MmapedVec extend", self.extend.clone()),
            (
                "MmapedVec extend, huge_pages(true)",
                self.extend_huge.clone(),
            ),
            ("vecdb BytesVec data", self.vdb[0].join("data")),
            ("vecdb ZeroCopyVec data", self.vdb[1].join("data")),
        ]
    }

    /// The file a row reads.
    fn of(&self, row: &str) -> PathBuf {
        match row {
            PLAIN => self.plain.clone(),
            LIB_PUSH | SLICE_PUSH | MAP_LIB_PUSH => self.push.clone(),
            LIB_EXTEND | SLICE_EXTEND => self.extend.clone(),
            LIB_EXTEND_HUGE => self.extend_huge.clone(),
            VDB_BYTES => self.vdb[0].join("data"),
            _ => self.vdb[1].join("data"),
        }
    }

    fn remove(&self) {
        for p in [&self.plain, &self.push, &self.extend, &self.extend_huge] {
            let _ = std::fs::remove_file(p);
        }
        for d in &self.vdb {
            common::remove_path(d);
        }
    }
}

/// Runs scenario 7.
pub fn run(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let n = ctx.scan_elems;
    ctx.check_space(7 * 8 * n as u64, "scenario 7")?;
    let files = Files {
        plain: ctx.path("scan-plain"),
        push: ctx.path("scan-lib-push"),
        extend: ctx.path("scan-lib-extend"),
        extend_huge: ctx.path("scan-lib-extend-huge"),
        vdb: Kind::ALL.map(|k| ctx.path(&format!("scan-vecdb-{}", k.tag()))),
    };
    let r = create(&files, n).and_then(|()| measure(ctx, report, &files, n));
    files.remove();
    r
}

/// Writes every file (durable) with elements `0..n`.
fn create(files: &Files, n: usize) -> io::Result<()> {
    let t = Instant::now();
    let mut buf = vec![0u64; 1 << 20];
    {
        // Plain: `write_all` of 8 MiB chunks, then `sync_data`.
        let mut f = File::create(&files.plain)?;
        for (s, len) in common::chunks(n, buf.len()) {
            for (j, x) in buf[..len].iter_mut().enumerate() {
                *x = (s + j) as u64;
            }
            f.write_all(as_bytes(&buf[..len]))?;
        }
        f.sync_data()?;
    }
    {
        let mut v = OpenOptions::new()
            .create_new(true)
            .open::<u64>(&files.push)?;
        for i in 0..n as u64 {
            v.push(i)?;
        }
        v.close()?;
    }
    for (path, huge) in [(&files.extend, false), (&files.extend_huge, true)] {
        let mut v = OpenOptions::new()
            .create_new(true)
            .huge_pages(huge)
            .open::<u64>(path)?;
        for (s, len) in common::chunks(n, CHUNK) {
            for (j, x) in buf[..len].iter_mut().enumerate() {
                *x = (s + j) as u64;
            }
            v.extend_from_slice(&buf[..len])?;
        }
        v.close()?;
    }
    for (k, dir) in Kind::ALL.iter().zip(&files.vdb) {
        peer::write_fixture(dir, *k, n)?;
    }
    println!(
        "\n(S7 files written and synced in {:.1} s: plain write_all of 8 MiB chunks; MmapedVec \
         by push, sync, close; MmapedVec by extend_from_slice of 64 Ki elements, sync, close, with \
         huge_pages(true) and (false); \
         vecdb by push, flush, fsync)",
        t.elapsed().as_secs_f64()
    );
    Ok(())
}

fn measure(ctx: &Ctx, report: &mut Report, files: &Files, n: usize) -> io::Result<()> {
    // Warm the page cache: read every file once, then check with mincore.
    let t = Instant::now();
    let mut lines = vec![vec![
        "file".to_string(),
        "size".into(),
        "resident after one read".into(),
    ]];
    for (what, path) in files.all() {
        let bytes = read_through(&path)?;
        lines.push(vec![
            what.to_string(),
            fmt_bytes(bytes as f64),
            format!("{:.1} %", 100.0 * resident_fraction(&path)?),
        ]);
    }
    println!(
        "\nS7 page cache: every file read once with `read` ({:.1} s) before timing; `mincore` \
         also checks each file before every sample.\n\n{}",
        t.elapsed().as_secs_f64(),
        markdown(&lines)
    );
    let expect = common::sum_to(n);
    let mut rows: Vec<Row> = ROWS.iter().map(|r| Row::new(*r)).collect();
    let mut rewarmed = vec![0usize; ROWS.len()];
    let mut mapped: Vec<(Samples, Samples)> = ROWS.iter().map(|_| Default::default()).collect();
    let mut err = None;
    round_robin(ctx.scan_rounds, ROWS.len(), |c, _| {
        if err.is_some() {
            return;
        }
        let r = (|| -> io::Result<Sample> {
            let path = files.of(ROWS[c]);
            if resident_fraction(&path)? < 1.0 {
                rewarmed[c] += 1;
                read_through(&path)?;
            }
            sample(ROWS[c], files, n, expect)
        })();
        match r {
            Ok((t, f, cpu, m)) => {
                rows[c].time.push(t);
                rows[c].push_faults(f);
                rows[c].push_cpu(cpu);
                if let Some((rss, pmd)) = m {
                    mapped[c].0.push(rss as f64);
                    mapped[c].1.push(pmd as f64);
                }
            }
            Err(e) => err = Some(io::Error::other(format!("{}: {e}", ROWS[c]))),
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    report.table(
        format!("scan {n}"),
        Table {
            title: format!(
                "S7 reopen a {} vector of u64 and sum every element, page cache warm",
                fmt_bytes(8.0 * n as f64)
            ),
            rows,
            baseline: 0,
            refs: vec![(1, "MmapedVec (push-written)")],
            per: Some((n as f64, "element")),
        },
    );
    println!(
        "(minor faults: median per sample, open + sum. {})",
        if rewarmed.iter().all(|&k| k == 0) {
            "Every file stayed fully resident through every sample.".to_string()
        } else {
            let which: Vec<String> = rewarmed
                .iter()
                .zip(ROWS)
                .filter(|(k, _)| **k > 0)
                .map(|(k, r)| format!("{r}: {k}"))
                .collect();
            format!(
                "Samples that found their file partly evicted and read it again first (their \
                 folios may differ from the written ones): {}.",
                which.join("; ")
            )
        }
    );
    crate::random::print_mapped(&ROWS, &mapped);
    Ok(())
}

/// What one sample measured: seconds, minor faults, CPU seconds, and the mapping's resident
/// and PMD-mapped KiB (after the clock stopped).
type Sample = (f64, u64, f64, Option<(u64, u64)>);

/// One open + sum of `row`.
fn sample(row: &str, files: &Files, n: usize, expect: u64) -> io::Result<Sample> {
    let m0 = Meter::start();
    let t0 = Instant::now();
    let (got, keep): (u64, Box<dyn std::any::Any>) = match row {
        PLAIN => {
            let f = File::open(&files.plain)?;
            // SAFETY: nobody changes the file while the benchmark runs.
            let m = unsafe { Mmap::map(&f) }?;
            (common::sum(&as_u64s(&m)[..n]), Box::new((m, f)))
        }
        MAP_LIB_PUSH => {
            let f = File::open(&files.push)?;
            // SAFETY: as above.
            let m = unsafe { Mmap::map(&f) }?;
            (common::sum(&as_u64s(&m[DATA..])[..n]), Box::new((m, f)))
        }
        LIB_PUSH | LIB_EXTEND | LIB_EXTEND_HUGE => {
            let v = OpenOptions::new()
                .create(false)
                .open::<u64>(files.of(row))?;
            (common::sum(&v), Box::new(v))
        }
        SLICE_PUSH | SLICE_EXTEND => {
            let s = MmapedSlice::<u64>::open(files.of(row))?;
            (common::sum(&s), Box::new(s))
        }
        _ => {
            let (kind, dir) = if row == VDB_BYTES {
                (Kind::Bytes, &files.vdb[0])
            } else {
                (Kind::ZeroCopy, &files.vdb[1])
            };
            let p = Peer::open(dir, kind)?;
            (p.sum(), Box::new(p))
        }
    };
    let t = t0.elapsed().as_secs_f64();
    let (faults, cpu) = m0.stop();
    let mapped = crate::os::mapped_kib(&files.of(row));
    drop(keep);
    if black_box(got) != expect {
        return Err(io::Error::other(format!("summed {got}, expected {expect}")));
    }
    Ok((t, faults, cpu, mapped))
}

/// The file rows read, for tests.
#[cfg(test)]
fn file_of(files: &Files, row: &str) -> PathBuf {
    files.of(row)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_row_reads_its_own_file() {
        let f = Files {
            plain: "p".into(),
            push: "u".into(),
            extend: "e".into(),
            extend_huge: "s".into(),
            vdb: ["b".into(), "z".into()],
        };
        assert_eq!(file_of(&f, PLAIN), Path::new("p"));
        assert_eq!(file_of(&f, SLICE_PUSH), Path::new("u"));
        assert_eq!(file_of(&f, LIB_EXTEND), Path::new("e"));
        assert_eq!(file_of(&f, LIB_EXTEND_HUGE), Path::new("s"));
        assert_eq!(file_of(&f, VDB_BYTES), Path::new("b/data"));
        assert_eq!(file_of(&f, VDB_ZERO), Path::new("z/data"));
    }
}
