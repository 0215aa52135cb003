//! Scenario 3: reopen an existing file and read one element (at every file size, to show
//! that opening does nothing that grows with the file), and reopen and sum all elements
//! (at the largest size). The files are in the page cache (written just before), so this is
//! the warm-open cost. Each sample is one open + read; closing (drop) is not timed.
//!
//! vecdb opens its database directory (`Database::open`: two files, a 1 TiB address range
//! mapped) and imports the vector; it reads one element with `collect_one` and sums with
//! `for_each_chunk_at`, which lends slices of its mapping when the pages are resident.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, Read, Seek, SeekFrom};
use std::time::Instant;

use memmap2::{Mmap, MmapMut};
use persistence::MmapedSlice;

use crate::common::{self, as_bytes_mut, as_u64s, names::*, Ctx, Fixture, Report};
use crate::peer::{Kind, Peer};
use crate::stats::{round_robin, Row, Table};

const CONTENDERS: [&str; 8] = [
    MAP_RO,
    MAP_RW,
    SLICE,
    LIB_OPEN,
    MEMVEC_OPEN,
    VDB_OPEN_BYTES,
    VDB_OPEN_ZERO,
    VEC_READ,
];

/// The "vs MmapedVec" column.
fn refs() -> Vec<(usize, &'static str)> {
    vec![(3, VS_LIB)]
}
const DATA: usize = 4096;

/// Runs scenario 3 on the fixtures (smallest to largest).
pub fn run(ctx: &Ctx, report: &mut Report, fixtures: &[Fixture]) -> io::Result<()> {
    for fx in fixtures {
        let mut rows: Vec<Row> = CONTENDERS.iter().map(|c| Row::new(*c)).collect();
        let mut err = None;
        round_robin(ctx.rounds, CONTENDERS.len(), |c, _| {
            // Reading a whole file into a Vec takes far longer than an open: once a round.
            let reps = if CONTENDERS[c] == VEC_READ {
                1
            } else {
                ctx.ops
            };
            for _ in 0..reps {
                match open_one(c, fx, false) {
                    Ok(t) => rows[c].time.push(t),
                    Err(e) => {
                        err.get_or_insert(io::Error::other(format!("{}: {e}", CONTENDERS[c])));
                    }
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let bytes = common::fmt_bytes(8.0 * fx.n as f64);
        report.table(
            format!("reopen {}", fx.n),
            Table {
                title: format!("S3 reopen a {bytes} file + read one element"),
                rows,
                baseline: 0,
                refs: refs(),
                per: None,
            },
        );
    }
    if let Some(fx) = fixtures.last() {
        let mut rows: Vec<Row> = CONTENDERS.iter().map(|c| Row::new(*c)).collect();
        let mut err = None;
        round_robin(ctx.rounds, CONTENDERS.len(), |c, _| {
            let f0 = crate::os::minor_faults();
            match open_one(c, fx, true) {
                Ok(t) => {
                    rows[c].time.push(t);
                    // Includes the (untimed) drop, which faults nothing.
                    rows[c].push_faults(crate::os::minor_faults() - f0);
                }
                Err(e) => {
                    err.get_or_insert(io::Error::other(format!("{}: {e}", CONTENDERS[c])));
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let bytes = common::fmt_bytes(8.0 * fx.n as f64);
        report.table(
            format!("read all {}", fx.n),
            Table {
                title: format!("S3 reopen a {bytes} file + sum all elements"),
                rows,
                baseline: 0,
                refs: refs(),
                per: Some((fx.n as f64, "element")),
            },
        );
    }
    Ok(())
}

/// One open of contender `c` + a read of the middle element (or a sum of all); returns the
/// seconds it took, after checking the value read.
fn open_one(c: usize, fx: &Fixture, all: bool) -> io::Result<f64> {
    let n = fx.n;
    let mid = n / 2;
    let read = |s: &[u64]| if all { common::sum(s) } else { s[mid] };
    let expect = if all { common::sum_to(n) } else { mid as u64 };
    let t0 = Instant::now();
    // Each arm returns the value and whatever must be dropped after the clock stops.
    let (got, t, keep): (u64, f64, Box<dyn std::any::Any>) = match CONTENDERS[c] {
        MAP_RO => {
            let f = File::open(&fx.lib)?;
            // SAFETY: nobody changes the fixture while the benchmark runs.
            let m = unsafe { Mmap::map(&f) }?;
            let got = read(&as_u64s(&m[DATA..])[..n]);
            (got, t0.elapsed().as_secs_f64(), Box::new((m, f)))
        }
        MAP_RW => {
            let f = File::options().read(true).write(true).open(&fx.lib)?;
            // SAFETY: as above.
            let m = unsafe { MmapMut::map_mut(&f) }?;
            let got = read(&as_u64s(&m[DATA..])[..n]);
            (got, t0.elapsed().as_secs_f64(), Box::new((m, f)))
        }
        SLICE => {
            let s = MmapedSlice::<u64>::open(&fx.lib)?;
            let got = read(&s);
            (got, t0.elapsed().as_secs_f64(), Box::new(s))
        }
        LIB_OPEN => {
            let v = fx.open_lib()?;
            let got = read(&v);
            (got, t0.elapsed().as_secs_f64(), Box::new(v))
        }
        MEMVEC_OPEN => {
            let v = common::memvec_open(&fx.memvec)?;
            let got = read(&v);
            (got, t0.elapsed().as_secs_f64(), Box::new(v))
        }
        VDB_OPEN_BYTES | VDB_OPEN_ZERO => {
            let kind = if CONTENDERS[c] == VDB_OPEN_BYTES {
                Kind::Bytes
            } else {
                Kind::ZeroCopy
            };
            let p = Peer::open(fx.vdb(kind), kind)?;
            let got = if all {
                p.sum()
            } else {
                p.get(mid).unwrap_or(u64::MAX)
            };
            (got, t0.elapsed().as_secs_f64(), Box::new(p))
        }
        VEC_READ => {
            let mut f = File::open(&fx.lib)?;
            f.seek(SeekFrom::Start(DATA as u64))?;
            let mut v = vec![0u64; n];
            f.read_exact(as_bytes_mut(&mut v))?;
            let got = read(&v);
            (got, t0.elapsed().as_secs_f64(), Box::new(v))
        }
        _ => unreachable!("every contender is listed"),
    };
    drop(keep);
    if black_box(got) != expect {
        return Err(io::Error::other(format!("read {got}, expected {expect}")));
    }
    Ok(t)
}
