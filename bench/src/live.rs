//! Scenario 9 (issue 9): live readers beside a writer.
//!
//! * S11a: `LiveReader::refresh` when nothing was committed since the last call (goal: under
//!   100 ns), against its floor: the six volatile loads of the mapped header it compares.
//! * S11b: commit-to-visible latency: a writer thread pushes one element and calls `sync`; a
//!   reader thread (its own `LiveReader`: its own descriptor and mapping, the same page cache
//!   as a reader in another process) spins on `refresh` and notes when the new length shows.
//!   Printed: visible − `sync` returned (negative when the reader saw it first: the slot is
//!   visible when its `pwrite` returns, before the final `fdatasync`), visible − `sync` called,
//!   and the floor of the mechanism: an 8-byte `pwrite` into a file and a thread spinning on a
//!   read-only mapping of it, visible − `pwrite` returned.
//! * S11c: scan throughput: sum every element through the reader (`copy_to` into a 32 KB
//!   buffer, `iter`, `get`, the `unsafe` `as_slice`) against the writer's own `Deref` scan of
//!   the same file (goal: `copy_to` within 1.2×), with the page cache warm.

use std::fs::File;
use std::hint::black_box;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use memmap2::Mmap;
use persistence::{LiveReader, MmapedVec, OpenOptions};

use crate::common::{self, fmt_bytes, fmt_count, Ctx, Report};
use crate::stats::{markdown, Row, Samples, Table};

/// Row names.
pub mod names {
    pub const REFRESH: &str = "LiveReader::refresh, nothing new";
    pub const LOADS: &str = "(floor) 6 volatile loads of a mapped header + compare";
    pub const DEREF: &str = "MmapedVec Deref sum (the writer's own scan)";
    pub const COPY_TO: &str = "LiveReader::copy_to (4 Ki chunks: 32 KB) + sum";
    pub const ITER: &str = "LiveReader::iter().sum()";
    pub const GET: &str = "LiveReader::get(i) for every i";
    pub const AS_SLICE: &str = "unsafe LiveReader::as_slice sum";
}
use names::*;

/// Refreshes per sample of S11a.
const CALLS: usize = 1_000_000;

/// Runs scenario 9.
pub fn run(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let p = ctx.path("live.bin");
    let r = refresh(ctx, report, &p)
        .and_then(|()| latency(ctx, report, &p))
        .and_then(|()| scan(ctx, report, &p));
    let _ = std::fs::remove_file(&p);
    let mut lock = p.into_os_string();
    lock.push("-live");
    let _ = std::fs::remove_file(lock);
    r
}

fn open_live(p: &std::path::Path) -> io::Result<LiveReader<u64>> {
    OpenOptions::new()
        .open_live::<u64>(p)
        .map_err(io::Error::from)
}

/// A fresh writer on `p` holding elements `0..n`, committed.
fn writer(p: &std::path::Path, n: usize) -> io::Result<MmapedVec<u64>> {
    let _ = std::fs::remove_file(p);
    let mut w = MmapedVec::<u64>::open(p)?;
    let mut buf = vec![0u64; 1 << 16];
    for (s, len) in common::chunks(n, buf.len()) {
        for (j, x) in buf[..len].iter_mut().enumerate() {
            *x = (s + j) as u64;
        }
        w.extend_from_slice(&buf[..len])?;
    }
    w.sync()?;
    Ok(w)
}

/// S11a.
fn refresh(ctx: &Ctx, report: &mut Report, p: &std::path::Path) -> io::Result<()> {
    let w = writer(p, 1000)?;
    let mut r = open_live(p)?;
    let f = File::open(p)?;
    // SAFETY: read-only; nothing in this process changes the file meanwhile.
    let map = unsafe { Mmap::map(&f) }?;
    let seen: [u64; 6] = std::array::from_fn(|k| floor_word(&map, k));
    let mut rows = vec![Row::new(REFRESH), Row::new(LOADS)];
    let samples = ctx.rounds.max(5) * 2;
    for _ in 0..samples {
        let t = Instant::now();
        let mut changed = 0;
        for _ in 0..CALLS {
            changed += r.refresh().map_err(io::Error::from)? as usize;
        }
        rows[0].time.push(t.elapsed().as_secs_f64() / CALLS as f64);
        assert_eq!(black_box(changed), 0);
        let t = Instant::now();
        let mut differ = 0;
        for _ in 0..CALLS {
            // XOR-OR, as refresh compares (an array `!=` would call `memcmp`).
            let diff = (0..6).fold(0, |d, k| d | (floor_word(&map, k) ^ seen[k]));
            differ += (diff != 0) as usize;
        }
        rows[1].time.push(t.elapsed().as_secs_f64() / CALLS as f64);
        assert_eq!(black_box(differ), 0);
    }
    report.note("live refresh ns", rows[0].time.median() * 1e9);
    report.table(
        "live refresh",
        Table {
            title: format!(
                "S11a LiveReader::refresh with nothing new (time per call, {} calls per sample)",
                fmt_count(CALLS)
            ),
            rows,
            baseline: 0,
            refs: vec![(1, "floor")],
            per: None,
        },
    );
    drop((r, w));
    Ok(())
}

/// Word `k` of the two commit slots (A: 512.., B: 1024..) of a mapped header.
#[inline(always)]
fn floor_word(map: &Mmap, k: usize) -> u64 {
    let off = if k < 3 {
        512 + 8 * k
    } else {
        1024 + 8 * (k - 3)
    };
    // SAFETY: inside the mapped header page, 8-byte aligned.
    unsafe { std::ptr::read_volatile(map.as_ptr().add(off).cast::<u64>()) }
}

/// Nanoseconds since `base`, as a signed number.
fn ns(base: Instant) -> i64 {
    base.elapsed().as_nanos() as i64
}

/// S11b.
fn latency(ctx: &Ctx, report: &mut Report, p: &std::path::Path) -> io::Result<()> {
    let samples = if ctx.quick { 40 } else { 300 };
    let mut w = writer(p, 1000)?;
    let base = Instant::now();
    let target = Arc::new(AtomicU64::new(u64::MAX));
    let seen_at = Arc::new(AtomicI64::new(-1));
    let stop = Arc::new(AtomicBool::new(false));
    let mut r = open_live(p)?;
    let spinner = {
        let (target, seen_at, stop) = (target.clone(), seen_at.clone(), stop.clone());
        std::thread::spawn(move || -> io::Result<()> {
            while !stop.load(Ordering::Relaxed) {
                r.refresh().map_err(io::Error::from)?;
                if r.len() as u64 >= target.load(Ordering::Acquire) {
                    seen_at.store(ns(base), Ordering::Release);
                    target.store(u64::MAX, Ordering::Release);
                }
            }
            Ok(())
        })
    };
    let (mut after_return, mut after_call, mut sync_time) =
        (Samples::default(), Samples::default(), Samples::default());
    for i in 0..samples {
        w.push(i as u64)?;
        seen_at.store(-1, Ordering::Release);
        target.store(w.len() as u64, Ordering::Release);
        let called = ns(base);
        w.sync()?;
        let returned = ns(base);
        let seen = loop {
            let s = seen_at.load(Ordering::Acquire);
            if s >= 0 {
                break s;
            }
            std::hint::spin_loop();
        };
        after_return.push((seen - returned) as f64 * 1e-9);
        after_call.push((seen - called) as f64 * 1e-9);
        sync_time.push((returned - called) as f64 * 1e-9);
    }
    stop.store(true, Ordering::Relaxed);
    spinner.join().expect("the reader thread")?;
    drop(w);

    // The floor: an 8-byte pwrite, and a thread spinning on a read-only mapping.
    let floor = pwrite_floor(p, samples)?;
    let before = after_return.0.iter().filter(|&&d| d < 0.0).count();
    let us = |s: &Samples| {
        vec![
            format!("{:+.1} µs", s.median() * 1e6),
            format!("{:+.1} – {:+.1} µs", s.min() * 1e6, s.max() * 1e6),
        ]
    };
    let mut lines = vec![vec![
        "interval".to_string(),
        "median".into(),
        "min – max".into(),
    ]];
    for (what, s) in [
        ("sync() returned → refresh shows it", &after_return),
        ("sync() called → refresh shows it", &after_call),
        ("sync() duration (for scale)", &sync_time),
        (
            "(floor) pwrite returned → a spinning reader's mapping shows it",
            &floor,
        ),
    ] {
        let mut l = vec![what.to_string()];
        l.extend(us(s));
        lines.push(l);
    }
    println!(
        "\n### S11b commit-to-visible latency ({samples} commits of one push each; reader thread \
         spinning on refresh)\n\n{}\nseen before sync() returned: {before} of {samples} (the \
         slot shows when its pwrite returns; sync's final fdatasync comes after it)",
        markdown(&lines)
    );
    report.note("live visible after return us", after_return.median() * 1e6);
    report.note("live visible after call us", after_call.median() * 1e6);
    report.note("live pwrite floor us", floor.median() * 1e6);
    report.note("live seen before return", before as f64 / samples as f64);
    Ok(())
}

/// visible − `pwrite` returned, for an 8-byte `pwrite` at offset 512 of a scratch file and
/// a thread spinning on a read-only mapping of it.
fn pwrite_floor(p: &std::path::Path, samples: usize) -> io::Result<Samples> {
    let scratch = p.with_extension("floor");
    let f = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&scratch)?;
    f.set_len(4096)?;
    // SAFETY: read-only; the file is only written with pwrite, never truncated meanwhile.
    let map = unsafe { Mmap::map(&f) }?;
    let base = Instant::now();
    let want = Arc::new(AtomicU64::new(0));
    let seen_at = Arc::new(AtomicI64::new(-1));
    let stop = Arc::new(AtomicBool::new(false));
    let spinner = {
        let (want, seen_at, stop) = (want.clone(), seen_at.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // SAFETY: inside the mapped page, aligned.
                let v = unsafe { std::ptr::read_volatile(map.as_ptr().add(512).cast::<u64>()) };
                let w = want.load(Ordering::Acquire);
                if w != 0 && v == w {
                    seen_at.store(ns(base), Ordering::Release);
                    want.store(0, Ordering::Release);
                }
            }
        })
    };
    let mut out = Samples::default();
    for i in 1..=samples as u64 {
        seen_at.store(-1, Ordering::Release);
        want.store(i, Ordering::Release);
        f.write_all_at(&i.to_ne_bytes(), 512)?;
        let returned = ns(base);
        let seen = loop {
            let s = seen_at.load(Ordering::Acquire);
            if s >= 0 {
                break s;
            }
            std::hint::spin_loop();
        };
        out.push((seen - returned) as f64 * 1e-9);
    }
    stop.store(true, Ordering::Relaxed);
    spinner.join().expect("the floor's reader thread");
    let _ = std::fs::remove_file(&scratch);
    Ok(out)
}

/// S11c, at a size that fits in the caches and at the scan size of scenario 7.
fn scan(ctx: &Ctx, report: &mut Report, p: &std::path::Path) -> io::Result<()> {
    let sizes = [125_000, ctx.scan_elems];
    ctx.check_space(8 * ctx.scan_elems as u64, "scenario 9")?;
    for n in sizes {
        let w = writer(p, n)?;
        let r = open_live(p)?;
        let want = common::sum_to(n);
        let rows_names = [DEREF, COPY_TO, ITER, GET, AS_SLICE];
        let mut rows: Vec<Row> = rows_names.iter().map(|n| Row::new(*n)).collect();
        let mut buf = vec![0u64; 4096];
        // Warm: every page in the page cache and mapped by both.
        black_box(common::sum(&w));
        black_box(r.iter().fold(0u64, u64::wrapping_add));
        let samples = ctx.scan_rounds.max(5);
        for round in 0..samples {
            for k in 0..rows_names.len() {
                let c = (round + k) % rows_names.len();
                let t = Instant::now();
                let got = match rows_names[c] {
                    DEREF => common::sum(&w),
                    COPY_TO => {
                        let (mut at, mut s) = (0, 0u64);
                        while at < n {
                            let k = r.copy_to(at, &mut buf);
                            s = s.wrapping_add(common::sum(&buf[..k]));
                            at += k;
                        }
                        s
                    }
                    ITER => r.iter().fold(0u64, u64::wrapping_add),
                    GET => (0..n).fold(0u64, |a, i| a.wrapping_add(r.get(i).unwrap_or(0))),
                    // SAFETY: the writer changes nothing while the slice lives.
                    _ => common::sum(unsafe { r.as_slice() }),
                };
                rows[c].time.push(t.elapsed().as_secs_f64());
                if black_box(got) != want {
                    return Err(io::Error::other(format!("{}: wrong sum", rows_names[c])));
                }
            }
        }
        let bytes = fmt_bytes(8.0 * n as f64);
        report.table(
            format!("live scan {n}"),
            Table {
                title: format!(
                    "S11c scan {} u64 ({bytes}) through a live reader vs the writer's Deref, \
                     page cache warm",
                    fmt_count(n)
                ),
                rows,
                baseline: 0,
                refs: vec![],
                per: Some((n as f64, "element")),
            },
        );
        drop((r, w));
    }
    Ok(())
}
