//! Scenarios 1 and 2: append `n` u64 one `push` at a time (1) or with `extend_from_slice`
//! in chunks of 64 Ki elements (2), then make it durable once.
//!
//! Two phases are timed per run: the append phase, and append + the one sync (the total).
//! Opening or creating the file before, and dropping/deleting after, are not timed.
//!
//! vecdb (issue 13) has no bulk append: both scenarios `push` one element at a time into its
//! RAM buffer (the append phase), then `flush` (copies it into its mapped file, no device
//! sync: timed as its own, non-durable row) and `fsync` its two files (the durable total).

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

use memmap2::MmapMut;
use persistence::OpenOptions;

use crate::common::{self, as_bytes, as_u64s_mut, chunks, names::*, Ctx, Report};
use crate::handrolled::{MmapVec, Policy};
use crate::os::Meter;
use crate::peer::{Kind, Peer};
use crate::stats::{round_robin, Row, Table};

/// Elements per `extend_from_slice` call in scenario 2.
pub const CHUNK: usize = 64 * 1024;

/// How the elements go in.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One `push` per element; element `i` is `i`.
    Push,
    /// `extend_from_slice` of a 64 Ki-element chunk (element `i` is `i % CHUNK`).
    Extend,
}

/// What one run measured.
struct Run {
    /// Seconds of the append phase.
    append: f64,
    /// Seconds of append + sync, where the contender syncs.
    total: Option<f64>,
    /// Minor faults during the append phase.
    faults: u64,
    /// CPU seconds of the append phase.
    cpu: f64,
    /// Seconds of append + a flush that is not durable (vecdb's own `flush`).
    flush_only: Option<f64>,
}

const CONTENDERS: [&str; 13] = [
    VEC,
    VEC_WRITE,
    BUFW,
    HAND,
    MEMVEC,
    VDB_BYTES,
    VDB_ZERO,
    LIB,
    LIB_NO_EARLY,
    FLOOR,
    FLOOR_FAULTS,
    LIB_PRESIZED,
    FIX_SKETCH,
];

/// The name of contender `c`'s row in the "+ one sync" table.
fn total_name(c: &str) -> &str {
    match c {
        VDB_BYTES => VDB_BYTES_SYNC,
        VDB_ZERO => VDB_ZERO_SYNC,
        other => other,
    }
}

/// The name of contender `c`'s non-durable flush row, if it has one.
fn flush_name(c: &str) -> Option<&'static str> {
    match c {
        VDB_BYTES => Some(VDB_BYTES_FLUSH),
        VDB_ZERO => Some(VDB_ZERO_FLUSH),
        _ => None,
    }
}

/// Runs scenario 1 (`Mode::Push`) or 2 (`Mode::Extend`) at every size.
pub fn run(ctx: &Ctx, report: &mut Report, mode: Mode) -> io::Result<()> {
    let (num, what) = match mode {
        Mode::Push => (1, "push"),
        Mode::Extend => (2, "extend"),
    };
    let chunk: Vec<u64> = (0..CHUNK as u64).collect();
    for &n in &ctx.append_sizes {
        ctx.check_space(2 * 8 * n as u64, &format!("scenario {num}"))?;
        let mut rows: Vec<Row> = CONTENDERS.iter().map(|c| Row::new(*c)).collect();
        rows.push(Row::new(FLOOR_STORES));
        let mut totals: Vec<Row> = CONTENDERS.iter().map(|c| Row::new(total_name(c))).collect();
        let mut flushes: Vec<Row> = CONTENDERS
            .iter()
            .filter_map(|c| flush_name(c).map(Row::new))
            .collect();
        let mut err = None;
        round_robin(ctx.rounds, CONTENDERS.len(), |c, round| {
            if err.is_some() {
                return;
            }
            let path = ctx.path(&format!("append-{c}-{round}"));
            let r = run_one(c, &path, n, mode, &chunk, &mut rows);
            common::remove_path(&path);
            match r {
                Ok(r) => {
                    rows[c].time.push(r.append);
                    rows[c].push_faults(r.faults);
                    rows[c].push_cpu(r.cpu);
                    if let Some(t) = r.total {
                        totals[c].time.push(t);
                    }
                    if let (Some(t), Some(name)) = (r.flush_only, flush_name(CONTENDERS[c])) {
                        if let Some(row) = flushes.iter_mut().find(|r| r.name == name) {
                            row.time.push(t);
                        }
                    }
                }
                Err(e) => err = Some(io::Error::other(format!("{}: {e}", CONTENDERS[c]))),
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        let size = common::fmt_count(n);
        let title = match mode {
            Mode::Push => format!("S1 push phase: {size} × push(u64)"),
            Mode::Extend => format!("S2 extend phase: {size} u64 by extend_from_slice(64 Ki)"),
        };
        let at = |rows: &[Row], name: &str| rows.iter().position(|r| r.name == name);
        let refs = [(FLOOR, "floor"), (LIB, VS_LIB)]
            .iter()
            .filter_map(|&(name, label)| at(&rows, name).map(|i| (i, label)))
            .collect();
        report.table(
            format!("{what} {n}"),
            Table {
                title: format!("{title} (vecdb: push into its RAM buffer)"),
                rows,
                baseline: 0,
                refs,
                per: Some((n as f64, "element")),
            },
        );
        let mut totals: Vec<Row> = totals.into_iter().filter(|r| r.time.len() > 0).collect();
        totals.extend(flushes);
        let baseline = at(&totals, BUFW).unwrap_or(0);
        let refs = at(&totals, LIB).map(|i| (i, VS_LIB)).into_iter().collect();
        report.table(
            format!("{what}+sync {n}"),
            Table {
                title: format!("S{num} {what} + one sync: {size} u64"),
                rows: totals,
                baseline,
                refs,
                per: Some((n as f64, "element")),
            },
        );
        println!(
            "(vecdb's `flush` does not sync to the device: its durable rows add an fsync of its \
             `data` and `regions` files; the \"(not durable)\" rows stop after `flush`.)"
        );
    }
    Ok(())
}

/// One run of contender `c`: creates its file at `path` (untimed), appends, syncs.
fn run_one(
    c: usize,
    path: &std::path::Path,
    n: usize,
    mode: Mode,
    chunk: &[u64],
    rows: &mut [Row],
) -> io::Result<Run> {
    let expect_last = match mode {
        Mode::Push => (n - 1) as u64,
        Mode::Extend => ((n - 1) % CHUNK) as u64,
    };
    match CONTENDERS[c] {
        VEC => {
            let m0 = Meter::start();
            let t0 = Instant::now();
            let mut v: Vec<u64> = Vec::new();
            match mode {
                Mode::Push => {
                    for i in 0..n as u64 {
                        v.push(i);
                    }
                }
                Mode::Extend => {
                    for (_, len) in chunks(n, CHUNK) {
                        v.extend_from_slice(&chunk[..len]);
                    }
                }
            }
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            check(v.len() == n && v[n - 1] == expect_last, "wrong contents")?;
            black_box(&v);
            Ok(Run {
                append,
                total: None,
                faults,
                cpu,
                flush_only: None,
            })
        }
        VEC_WRITE => {
            let mut file = File::create(path)?;
            let m0 = Meter::start();
            let t0 = Instant::now();
            let mut v: Vec<u64> = Vec::new();
            match mode {
                Mode::Push => {
                    for i in 0..n as u64 {
                        v.push(i);
                    }
                }
                Mode::Extend => {
                    for (_, len) in chunks(n, CHUNK) {
                        v.extend_from_slice(&chunk[..len]);
                    }
                }
            }
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            file.write_all(as_bytes(&v))?;
            file.sync_data()?;
            let total = t0.elapsed().as_secs_f64();
            check(file.metadata()?.len() == 8 * n as u64, "wrong file size")?;
            Ok(Run {
                append,
                total: Some(total),
                faults,
                cpu,
                flush_only: None,
            })
        }
        BUFW => {
            let mut w = BufWriter::new(File::create(path)?);
            let m0 = Meter::start();
            let t0 = Instant::now();
            match mode {
                Mode::Push => {
                    for i in 0..n as u64 {
                        w.write_all(&i.to_ne_bytes())?;
                    }
                }
                Mode::Extend => {
                    for (_, len) in chunks(n, CHUNK) {
                        w.write_all(as_bytes(&chunk[..len]))?;
                    }
                }
            }
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            let file = w.into_inner().map_err(|e| e.into_error())?;
            file.sync_data()?;
            let total = t0.elapsed().as_secs_f64();
            check(file.metadata()?.len() == 8 * n as u64, "wrong file size")?;
            Ok(Run {
                append,
                total: Some(total),
                faults,
                cpu,
                flush_only: None,
            })
        }
        HAND | FIX_SKETCH => {
            let policy = if CONTENDERS[c] == HAND {
                Policy::HAND
            } else {
                Policy::FIX_SKETCH
            };
            let mut v = MmapVec::create(path, policy)?;
            let m0 = Meter::start();
            let t0 = Instant::now();
            match mode {
                Mode::Push => {
                    for i in 0..n as u64 {
                        v.push(i)?;
                    }
                }
                Mode::Extend => {
                    for (_, len) in chunks(n, CHUNK) {
                        v.extend_from_slice(&chunk[..len])?;
                    }
                }
            }
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            v.sync()?;
            let total = t0.elapsed().as_secs_f64();
            check(
                v.len() == n && v.as_slice()[n - 1] == expect_last,
                "wrong contents",
            )?;
            Ok(Run {
                append,
                total: Some(total),
                faults,
                cpu,
                flush_only: None,
            })
        }
        MEMVEC => {
            let mut v = common::memvec_open(path)?;
            let m0 = Meter::start();
            let t0 = Instant::now();
            match mode {
                Mode::Push => {
                    for i in 0..n as u64 {
                        v.push(i);
                    }
                }
                Mode::Extend => {
                    for (_, len) in chunks(n, CHUNK) {
                        common::memvec_extend(&mut v, &chunk[..len]);
                    }
                }
            }
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            // memvec has no flush: its documented way to durability is the file's fsync,
            // which on Linux also writes the mapping's dirty pages.
            v.as_mem().file().sync_data()?;
            let total = t0.elapsed().as_secs_f64();
            check(v.len() == n && v[n - 1] == expect_last, "wrong contents")?;
            Ok(Run {
                append,
                total: Some(total),
                faults,
                cpu,
                flush_only: None,
            })
        }
        VDB_BYTES | VDB_ZERO => {
            let kind = if CONTENDERS[c] == VDB_BYTES {
                Kind::Bytes
            } else {
                Kind::ZeroCopy
            };
            let mut v = Peer::create(path, kind)?;
            let m0 = Meter::start();
            let t0 = Instant::now();
            match mode {
                Mode::Push => v.push_range(0, n as u64),
                Mode::Extend => {
                    for (_, len) in chunks(n, CHUNK) {
                        v.push_slice(&chunk[..len]);
                    }
                }
            }
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            v.flush()?;
            let flush_only = t0.elapsed().as_secs_f64();
            v.fsync()?;
            let total = t0.elapsed().as_secs_f64();
            check(
                v.len() == n && v.get(n - 1) == Some(expect_last),
                "wrong contents",
            )?;
            Ok(Run {
                append,
                total: Some(total),
                faults,
                cpu,
                flush_only: Some(flush_only),
            })
        }
        LIB | LIB_PRESIZED | LIB_NO_EARLY => {
            let mut opts = OpenOptions::new();
            opts.create_new(true);
            opts.early_writeback(CONTENDERS[c] != LIB_NO_EARLY);
            if CONTENDERS[c] == LIB_PRESIZED {
                // The user-side workaround: the whole capacity reserved at open (untimed).
                opts.capacity(n);
            }
            let mut v = opts.open::<u64>(path)?;
            let m0 = Meter::start();
            let t0 = Instant::now();
            match mode {
                Mode::Push => {
                    for i in 0..n as u64 {
                        v.push(i)?;
                    }
                }
                Mode::Extend => {
                    for (_, len) in chunks(n, CHUNK) {
                        v.extend_from_slice(&chunk[..len])?;
                    }
                }
            }
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            v.sync()?;
            let total = t0.elapsed().as_secs_f64();
            check(
                v.len() == n && v.committed_len() == n && v[n - 1] == expect_last,
                "wrong contents",
            )?;
            Ok(Run {
                append,
                total: Some(total),
                faults,
                cpu,
                flush_only: None,
            })
        }
        FLOOR => {
            // The floor: blocks reserved and mapped beforehand (untimed), then the cheapest
            // possible fill, one pass: page faults on fresh file pages plus store bandwidth.
            let file = common::fallocated(path, 8 * n as u64)?;
            // SAFETY: the file is ours alone and `8 n` bytes long.
            let mut map = unsafe { MmapMut::map_mut(&file) }?;
            let s = as_u64s_mut(&mut map);
            let m0 = Meter::start();
            let t0 = Instant::now();
            fill(s, mode, chunk);
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            black_box(&mut *s);
            // The second pass over the same, now faulted, pages: store bandwidth alone.
            let t1 = Instant::now();
            fill(s, mode, chunk);
            let stores = t1.elapsed().as_secs_f64();
            check(s[n - 1] == expect_last, "wrong contents")?;
            if let Some(r) = rows.iter_mut().find(|r| r.name == FLOOR_STORES) {
                r.time.push(stores);
            }
            Ok(Run {
                append,
                total: None,
                faults,
                cpu,
                flush_only: None,
            })
        }
        FLOOR_FAULTS => {
            // Page-fault cost alone: one store per page of a fresh fallocated mapping.
            let file = common::fallocated(path, 8 * n as u64)?;
            // SAFETY: as above.
            let mut map = unsafe { MmapMut::map_mut(&file) }?;
            let s = as_u64s_mut(&mut map);
            let per_page = crate::os::page_size() / 8;
            let m0 = Meter::start();
            let t0 = Instant::now();
            for i in (0..n).step_by(per_page) {
                s[i] = i as u64;
            }
            let append = t0.elapsed().as_secs_f64();
            let (faults, cpu) = m0.stop();
            black_box(&mut *s);
            Ok(Run {
                append,
                total: None,
                faults,
                cpu,
                flush_only: None,
            })
        }
        _ => unreachable!("every contender is listed"),
    }
}

/// The floor's fill: plain stores (which the compiler may vectorise), or chunk copies.
#[inline(never)]
fn fill(s: &mut [u64], mode: Mode, chunk: &[u64]) {
    match mode {
        Mode::Push => {
            for (i, x) in s.iter_mut().enumerate() {
                *x = i as u64;
            }
        }
        Mode::Extend => {
            for (start, len) in chunks(s.len(), CHUNK) {
                s[start..start + len].copy_from_slice(&chunk[..len]);
            }
        }
    }
}

fn check(ok: bool, what: &str) -> io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(what.to_string()))
    }
}
