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
use crate::peer::{Kind, Peer};
use crate::stats::{round_robin, Row, Table};

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
    let mut err = None;
    round_robin(ctx.rounds, CONTENDERS.len(), |c, _| {
        let r = (|| -> io::Result<f64> {
            match CONTENDERS[c] {
                MAP_SLICE => {
                    let f = File::open(&fx.lib)?;
                    // SAFETY: nobody changes the fixture while the benchmark runs.
                    let m = unsafe { Mmap::map(&f) }?;
                    let s: &[u64] = &as_u64s(&m[DATA..])[..n];
                    timed(&s, &idx, expect)
                }
                VEC_RAM => timed(&ram, &idx, expect),
                MEMVEC_IDX => timed(&common::memvec_open(&fx.memvec)?, &idx, expect),
                SLICE_IDX => timed(&MmapedSlice::<u64>::open(&fx.lib)?, &idx, expect),
                LIB_IDX => timed(&fx.open_lib()?, &idx, expect),
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
                    Ok(t)
                }
                _ => unreachable!("every contender is listed"),
            }
        })();
        match r {
            Ok(t) => rows[c].time.push(t),
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
    Ok(())
}
