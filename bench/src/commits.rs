//! Scenario 9 (issue 13): append with a durable commit every `k` elements, the pattern of a
//! log or a time series written as it arrives. Large page-cache folios make reads cheap, but
//! a store through a mapping dirties a whole folio, so a writer that commits a few kilobytes
//! at a time into 2 MiB folios would write 2 MiB per commit; the library switches them off
//! after small commits. This scenario shows what each commit costs, and how many bytes each
//! contender sent to storage (`/proc/self/io` `write_bytes`, counted when pages are dirtied)
//! per byte appended.
//!
//! Every sample creates its file untimed, then times `n / k` rounds of "append `k`, make it
//! durable". Two shapes: many small commits (80 KB each), and fewer bulk ones (8 MB each).

use std::fs::File;
use std::io::{self, Write};
use std::time::Instant;

use persistence::OpenOptions;

use crate::common::{self, as_bytes, chunks, fmt_bytes, names::VS_LIB, Ctx, Report};
use crate::peer::{Kind, Peer};
use crate::stats::{markdown, round_robin, Row, Samples, Table};

/// Row names.
pub mod names {
    pub const WRITE_SYNC: &str = "File::write_all of each batch + sync_data";
    pub const LIB_PUSH: &str = "MmapedVec: push, sync() every batch";
    pub const LIB_EXTEND: &str = "MmapedVec: extend_from_slice(batch), sync()";
    pub const VDB_BYTES: &str = "vecdb BytesVec: push, flush + fsync every batch";
    pub const VDB_ZERO: &str = "vecdb ZeroCopyVec: push, flush + fsync every batch";
}
use names::*;

const ROWS: [&str; 5] = [WRITE_SYNC, LIB_PUSH, LIB_EXTEND, VDB_BYTES, VDB_ZERO];

/// The (elements, elements per commit) shapes of a run.
pub fn shapes(ctx: &Ctx) -> [(usize, usize); 2] {
    if ctx.quick {
        [(200_000, 10_000), (2_000_000, 1_000_000)]
    } else {
        [(2_000_000, 10_000), (20_000_000, 1_000_000)]
    }
}

/// The report key of a shape's table.
pub fn key(n: usize, k: usize) -> String {
    format!("commits {n} {k}")
}

/// Bytes this process caused to be written to storage so far (`/proc/self/io`
/// `write_bytes`; NaN where it is missing).
fn write_bytes() -> f64 {
    std::fs::read_to_string("/proc/self/io")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("write_bytes:"))
                .and_then(|v| v.trim().parse::<u64>().ok())
        })
        .map_or(f64::NAN, |b| b as f64)
}

/// Runs scenario 10.
pub fn run(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    for (n, k) in shapes(ctx) {
        ctx.check_space(2 * 8 * n as u64, "scenario 10")?;
        let batch: Vec<u64> = (0..k as u64).collect();
        let mut rows: Vec<Row> = ROWS.iter().map(|r| Row::new(*r)).collect();
        let mut written: Vec<Samples> = ROWS.iter().map(|_| Samples::default()).collect();
        let mut err = None;
        round_robin(ctx.rounds, ROWS.len(), |c, round| {
            if err.is_some() {
                return;
            }
            let path = ctx.path(&format!("commits-{c}-{round}"));
            let r = sample(ROWS[c], &path, n, &batch);
            common::remove_path(&path);
            match r {
                Ok((t, w)) => {
                    rows[c].time.push(t);
                    written[c].push(w);
                }
                Err(e) => err = Some(io::Error::other(format!("{}: {e}", ROWS[c]))),
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let mut lines = vec![vec![
            "contender".to_string(),
            "written to storage (write_bytes), median".into(),
            "per byte appended".into(),
        ]];
        for (r, w) in ROWS.iter().zip(&written) {
            let m = w.median();
            lines.push(vec![
                r.to_string(),
                if m.is_finite() {
                    fmt_bytes(m)
                } else {
                    "-".into()
                },
                format!("{:.2}", m / (8.0 * n as f64)),
            ]);
            report.note(format!("{} written {r}", key(n, k)), m / (8.0 * n as f64));
        }
        report.table(
            key(n, k),
            Table {
                title: format!(
                    "S10 append {} u64 with a durable commit every {} ({} per commit)",
                    common::fmt_count(n),
                    common::fmt_count(k),
                    fmt_bytes(8.0 * k as f64)
                ),
                rows,
                baseline: 0,
                refs: vec![(1, VS_LIB)],
                per: Some(((n / k) as f64, "commit")),
            },
        );
        println!(
            "\nBytes sent to storage per sample (`/proc/self/io` `write_bytes`: counted when a \
             page-cache folio is dirtied, so a store into a 2 MiB folio counts 2 MiB):\n\n{}",
            markdown(&lines)
        );
    }
    Ok(())
}

/// One sample: seconds and bytes written to storage.
fn sample(row: &str, path: &std::path::Path, n: usize, batch: &[u64]) -> io::Result<(f64, f64)> {
    let k = batch.len();
    match row {
        WRITE_SYNC => {
            let mut f = File::create(path)?;
            let w0 = write_bytes();
            let t0 = Instant::now();
            for (_, len) in chunks(n, k) {
                f.write_all(as_bytes(&batch[..len]))?;
                f.sync_data()?;
            }
            let t = t0.elapsed().as_secs_f64();
            let w = write_bytes() - w0;
            check(f.metadata()?.len() == 8 * n as u64)?;
            Ok((t, w))
        }
        LIB_PUSH | LIB_EXTEND => {
            let mut v = OpenOptions::new().create_new(true).open::<u64>(path)?;
            let w0 = write_bytes();
            let t0 = Instant::now();
            for (_, len) in chunks(n, k) {
                if row == LIB_PUSH {
                    for &x in &batch[..len] {
                        v.push(x)?;
                    }
                } else {
                    v.extend_from_slice(&batch[..len])?;
                }
                v.sync()?;
            }
            let t = t0.elapsed().as_secs_f64();
            let w = write_bytes() - w0;
            check(v.committed_len() == n && v[n - 1] == ((n - 1) % k) as u64)?;
            Ok((t, w))
        }
        _ => {
            let kind = if row == VDB_BYTES {
                Kind::Bytes
            } else {
                Kind::ZeroCopy
            };
            let mut v = Peer::create(path, kind)?;
            let w0 = write_bytes();
            let t0 = Instant::now();
            for (_, len) in chunks(n, k) {
                v.push_slice(&batch[..len]);
                v.flush()?;
                v.fsync()?;
            }
            let t = t0.elapsed().as_secs_f64();
            let w = write_bytes() - w0;
            check(v.len() == n && v.get(n - 1) == Some(((n - 1) % k) as u64))?;
            Ok((t, w))
        }
    }
}

fn check(ok: bool) -> io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(io::Error::other("wrong contents after the commits"))
    }
}
