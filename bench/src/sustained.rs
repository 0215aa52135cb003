//! Scenario 14 (issue 21): sustained appends with a durable commit every 64 MiB (4 GiB in all;
//! `--quick`: 256 MiB, every 16 MiB), the pattern of a recorder that never stops. Printed
//! for `MmapedVec` with early writeback (the default), without it, and `BufWriter<File>` +
//! `sync_data`: the total, and p50, p99, p99.9 and max of each `sync()` and of a push timed
//! every 1,000 pushes (a stall shows there: growth, or a store waiting for its page's
//! writeback); against the floor of one commit, one sequential write of the same 64 MiB +
//! `fdatasync` into a fresh file. Three rounds (one with `--quick`), contenders round-robin.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::time::Instant;

use persistence::OpenOptions;

use crate::common::{fmt_bytes, Ctx, Report};
use crate::stats::markdown;

const ROWS: [&str; 3] = [
    "MmapedVec: push, sync() every step (early writeback)",
    "MmapedVec, early_writeback(false)",
    "BufWriter<File>: write, sync_data every step",
];

/// Report keys.
pub const KEY_SYNC_P99_RATIO: &str = "sustained sync p99 / floor";
pub const KEY_PUSH_MAX_MS: &str = "sustained push max ms";

/// (total bytes, bytes per commit).
pub fn shape(ctx: &Ctx) -> (u64, u64) {
    if ctx.quick {
        (256 << 20, 16 << 20)
    } else {
        (4 << 30, 64 << 20)
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

struct Run {
    total: f64,
    syncs: Vec<f64>,
    pushes: Vec<f64>,
}

fn run_lib(path: &std::path::Path, total: u64, step: u64, early: bool) -> io::Result<Run> {
    let mut v = OpenOptions::new()
        .create_new(true)
        .early_writeback(early)
        .open::<u64>(path)?;
    let n = total / 8;
    let per = step / 8;
    let (mut syncs, mut pushes) = (Vec::new(), Vec::new());
    let t0 = Instant::now();
    for i in 0..n {
        if i % 1000 == 0 {
            let t = Instant::now();
            v.push(i)?;
            pushes.push(t.elapsed().as_secs_f64());
        } else {
            v.push(i)?;
        }
        if (i + 1) % per == 0 {
            let t = Instant::now();
            v.sync()?;
            syncs.push(t.elapsed().as_secs_f64());
        }
    }
    v.sync()?;
    let total = t0.elapsed().as_secs_f64();
    if v.committed_len() as u64 != n || v[n as usize - 1] != n - 1 {
        return Err(io::Error::other("wrong contents"));
    }
    Ok(Run {
        total,
        syncs,
        pushes,
    })
}

fn run_bufw(path: &std::path::Path, total: u64, step: u64) -> io::Result<Run> {
    let mut w = BufWriter::new(File::create(path)?);
    let n = total / 8;
    let per = step / 8;
    let (mut syncs, mut pushes) = (Vec::new(), Vec::new());
    let t0 = Instant::now();
    for i in 0..n {
        if i % 1000 == 0 {
            let t = Instant::now();
            w.write_all(&i.to_ne_bytes())?;
            pushes.push(t.elapsed().as_secs_f64());
        } else {
            w.write_all(&i.to_ne_bytes())?;
        }
        if (i + 1) % per == 0 {
            let t = Instant::now();
            w.flush()?;
            w.get_ref().sync_data()?;
            syncs.push(t.elapsed().as_secs_f64());
        }
    }
    w.flush()?;
    w.get_ref().sync_data()?;
    Ok(Run {
        total: t0.elapsed().as_secs_f64(),
        syncs,
        pushes,
    })
}

/// The floor of one commit: `step` bytes written with one `write_all` into a fresh file,
/// then `fdatasync` (median of 3).
fn floor(path: &std::path::Path, step: u64) -> io::Result<f64> {
    let buf = vec![7u8; step as usize];
    let mut t = Vec::new();
    for _ in 0..3 {
        let mut f = File::create(path)?;
        let t0 = Instant::now();
        f.write_all(&buf)?;
        f.sync_data()?;
        t.push(t0.elapsed().as_secs_f64());
        drop(f);
        let _ = std::fs::remove_file(path);
    }
    Ok(pct(&mut t, 0.5))
}

/// Runs scenario 14.
pub fn run(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let (total, step) = shape(ctx);
    ctx.check_space(total, "scenario 14")?;
    let path = ctx.path("sustained.bin");
    let floor = floor(&path, step)?;
    let ms = |s: f64| format!("{:.1} ms", s * 1e3);
    let us = |s: f64| format!("{:.1} µs", s * 1e6);
    let mut lines = vec![vec![
        "contender".to_string(),
        "total".into(),
        "sync: p50".into(),
        "p99".into(),
        "p99.9".into(),
        "max".into(),
        "push (1 in 1000): p50".into(),
        "p99".into(),
        "p99.9".into(),
        "max".into(),
    ]];
    // Round-robin over the rounds, as every scenario: a file of 4 GiB deleted just before
    // slows the next contender's syncs (its blocks are freed and discarded meanwhile), so
    // a fixed order would favour the first. Each contender's syncs and timed pushes of all
    // rounds make one distribution; its total is the median of its rounds'.
    let rounds = if ctx.quick { 1 } else { 3 };
    let mut runs: Vec<Vec<Run>> = ROWS.iter().map(|_| Vec::new()).collect();
    let mut err = None;
    crate::stats::round_robin(rounds, ROWS.len(), |k, _| {
        if err.is_some() {
            return;
        }
        let _ = std::fs::remove_file(&path);
        let r = match k {
            0 => run_lib(&path, total, step, true),
            1 => run_lib(&path, total, step, false),
            _ => run_bufw(&path, total, step),
        };
        let _ = std::fs::remove_file(&path);
        match r {
            Ok(r) => runs[k].push(r),
            Err(e) => err = Some(io::Error::other(format!("{}: {e}", ROWS[k]))),
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    for (k, name) in ROWS.iter().enumerate() {
        let mut totals: Vec<f64> = runs[k].iter().map(|r| r.total).collect();
        let mut syncs: Vec<f64> = runs[k]
            .iter()
            .flat_map(|r| r.syncs.iter().copied())
            .collect();
        let mut pushes: Vec<f64> = runs[k]
            .iter()
            .flat_map(|r| r.pushes.iter().copied())
            .collect();
        let total = pct(&mut totals, 0.5);
        let (s50, s99, s999, smax) = (
            pct(&mut syncs, 0.5),
            pct(&mut syncs, 0.99),
            pct(&mut syncs, 0.999),
            pct(&mut syncs, 1.0),
        );
        let (p50, p99, p999, pmax) = (
            pct(&mut pushes, 0.5),
            pct(&mut pushes, 0.99),
            pct(&mut pushes, 0.999),
            pct(&mut pushes, 1.0),
        );
        if k == 0 {
            report.note(KEY_SYNC_P99_RATIO, s99 / floor);
            report.note(KEY_PUSH_MAX_MS, pmax * 1e3);
            report.note("sustained total s", total);
        }
        if k == 1 {
            report.note("sustained no-early total s", total);
            report.note("sustained no-early sync p99 / floor", s99 / floor);
        }
        if k == 2 {
            report.note("sustained bufw total s", total);
        }
        lines.push(vec![
            name.to_string(),
            format!("{total:.2} s"),
            ms(s50),
            ms(s99),
            ms(s999),
            ms(smax),
            us(p50),
            us(p99),
            us(p999),
            ms(pmax),
        ]);
    }
    let mut lock = path.into_os_string();
    lock.push("-live");
    let _ = std::fs::remove_file(lock);
    println!(
        "\n### S14 sustained appends: {} of u64, a durable commit every {}, {rounds} round(s) \
         round-robin (total: median of the rounds; syncs and pushes: all rounds) (floor of one commit: \
         one write of {} + fdatasync, {}; read_ahead_kb of the device: {}, the read-around a \
         faulting push waits for)\n\n{}",
        fmt_bytes(total as f64),
        fmt_bytes(step as f64),
        fmt_bytes(step as f64),
        ms(floor),
        crate::os::read_ahead_kb(&ctx.path(""))
            .map_or_else(|| "unknown".to_string(), |kb| kb.to_string()),
        markdown(&lines)
    );
    Ok(())
}
