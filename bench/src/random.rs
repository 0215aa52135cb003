//! Scenario 6: random reads of (1 M) indices in the largest vector. Every contender opens
//! the file per sample and reads all of it once first (untimed) so that every page is
//! mapped; the sample is the gather loop alone, written the way a user writes it: `v[i]` on
//! the container itself (through its `Deref` to `[u64]`); vecdb's through a `reader()`
//! (`get_at`), its documented O(1) point reads.

use std::fs::File;
use std::hint::black_box;
use std::io;
use std::ops::Deref;
use std::time::Instant;

use memmap2::Mmap;
use persistence::MmapedSlice;

use crate::common::{self, as_u64s, names::*, Ctx, Fixture, Report, Rng};
use crate::os;
use crate::peer::{Kind, Peer};
use crate::stats::{markdown, round_robin, Row, Samples, Table};

/// Prints how each contender's mapping sat in memory after its reads: resident KiB and the
/// part of it mapped with 2 MiB PMD entries (one TLB entry per 2 MiB instead of 512), which
/// is what random reads over a large file feel most.
pub fn print_mapped(names: &[&str], mapped: &[(Samples, Samples)]) {
    let mut lines = vec![vec![
        "contender".to_string(),
        "resident in its mapping".into(),
        "of which PMD-mapped (2 MiB entries)".into(),
    ]];
    for (name, (rss, pmd)) in names.iter().zip(mapped) {
        if rss.len() == 0 {
            continue;
        }
        let (r, p) = (rss.median(), pmd.median());
        lines.push(vec![
            name.to_string(),
            common::fmt_bytes(r * 1024.0),
            format!(
                "{} ({:.0} %)",
                common::fmt_bytes(p * 1024.0),
                if r > 0.0 { 100.0 * p / r } else { 0.0 }
            ),
        ]);
    }
    if lines.len() > 1 {
        println!(
            "\nMappings after the reads (/proc/self/smaps, medians):\n\n{}",
            markdown(&lines)
        );
    }
}

const CONTENDERS: [&str; 7] = [
    MAP_SLICE,
    VEC_RAM,
    MEMVEC_IDX,
    VDB_IDX_BYTES,
    VDB_IDX_ZERO,
    SLICE_IDX,
    LIB_IDX,
];
const DATA: usize = 4096;

/// Sums `v[i]` over `idx`.
#[inline(never)]
fn gather<V: Deref<Target = [u64]>>(v: &V, idx: &[usize]) -> u64 {
    let mut s = 0u64;
    for &i in idx {
        s = s.wrapping_add(v[i]);
    }
    s
}

/// Times `gather` after a warming pass; checks the result.
fn timed<V: Deref<Target = [u64]>>(v: &V, idx: &[usize], expect: u64) -> io::Result<f64> {
    black_box(common::sum(v));
    let t0 = Instant::now();
    let s = gather(v, idx);
    let t = t0.elapsed().as_secs_f64();
    if black_box(s) != expect {
        return Err(io::Error::other(format!("gathered {s}, expected {expect}")));
    }
    Ok(t)
}

/// Runs scenario 6 on `fx`.
pub fn run(ctx: &Ctx, report: &mut Report, fx: &Fixture) -> io::Result<()> {
    let n = fx.n;
    let mut rng = Rng::new(0x5EED);
    let idx: Vec<usize> = (0..ctx.random_reads).map(|_| rng.below(n)).collect();
    // Element `i` is `i` in the fixture.
    let expect = idx.iter().fold(0u64, |a, &i| a.wrapping_add(i as u64));
    let ram: Vec<u64> = {
        let v = fx.open_lib()?;
        v.to_vec()
    };
    let mut rows: Vec<Row> = CONTENDERS.iter().map(|c| Row::new(*c)).collect();
    let mut mapped: Vec<(Samples, Samples)> =
        CONTENDERS.iter().map(|_| Default::default()).collect();
    let mut err = None;
    // A sample is tens of milliseconds, and one stretched by another tenant moves a median
    // of five: twice the rounds, plus one.
    round_robin(2 * ctx.rounds + 1, CONTENDERS.len(), |c, _| {
        let r = (|| -> io::Result<(f64, Option<(u64, u64)>)> {
            // Each arm measures, then looks at its mapping in smaps while it still exists.
            let lib = |t| Ok((t, os::mapped_kib(&fx.lib)));
            match CONTENDERS[c] {
                MAP_SLICE => {
                    let f = File::open(&fx.lib)?;
                    // SAFETY: nobody changes the fixture while the benchmark runs.
                    let m = unsafe { Mmap::map(&f) }?;
                    let s: &[u64] = &as_u64s(&m[DATA..])[..n];
                    lib(timed(&s, &idx, expect)?)
                }
                VEC_RAM => Ok((timed(&ram, &idx, expect)?, None)),
                MEMVEC_IDX => {
                    let v = common::memvec_open(&fx.memvec)?;
                    let t = timed(&v, &idx, expect)?;
                    Ok((t, os::mapped_kib(&fx.memvec)))
                }
                SLICE_IDX => {
                    let s = MmapedSlice::<u64>::open(&fx.lib)?;
                    lib(timed(&s, &idx, expect)?)
                }
                LIB_IDX => {
                    let v = fx.open_lib()?;
                    lib(timed(&v, &idx, expect)?)
                }
                VDB_IDX_BYTES | VDB_IDX_ZERO => {
                    let kind = if CONTENDERS[c] == VDB_IDX_BYTES {
                        Kind::Bytes
                    } else {
                        Kind::ZeroCopy
                    };
                    let p = Peer::open(fx.vdb(kind), kind)?;
                    black_box(p.sum());
                    let t0 = Instant::now();
                    let s = p.gather(&idx);
                    let t = t0.elapsed().as_secs_f64();
                    if black_box(s) != expect {
                        return Err(io::Error::other(format!("gathered {s}, expected {expect}")));
                    }
                    Ok((t, os::mapped_kib(&fx.vdb(kind).join("data"))))
                }
                _ => unreachable!("every contender is listed"),
            }
        })();
        match r {
            Ok((t, m)) => {
                rows[c].time.push(t);
                if let Some((rss, pmd)) = m {
                    mapped[c].0.push(rss as f64);
                    mapped[c].1.push(pmd as f64);
                }
            }
            Err(e) => {
                err.get_or_insert(io::Error::other(format!("{}: {e}", CONTENDERS[c])));
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let bytes = common::fmt_bytes(8.0 * n as f64);
    report.table(
        "random",
        Table {
            title: format!(
                "S6 {} random reads in a {bytes} vector (pages mapped beforehand)",
                common::fmt_count(ctx.random_reads)
            ),
            rows,
            baseline: 0,
            refs: vec![(6, VS_LIB)],
            per: Some((ctx.random_reads as f64, "read")),
        },
    );
    print_mapped(&CONTENDERS, &mapped);
    Ok(())
}
