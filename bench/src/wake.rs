//! Scenario 13 (issue 20): commit-to-wake latency. A writer process commits one element at a
//! time, at random intervals (0.2 to 0.7 ms, so that a reader is asleep when a commit comes),
//! storing in each element the monotonic clock just before its `sync()`; a reader in this
//! process waits for each commit and notes the clock when it sees it. Same clock, two
//! processes, each pinned to its own core where the machine allows. Printed: p50, p99,
//! p99.9 and max of "sync() returned → seen" and "sync() called → seen", the reader's CPU
//! per commit, and the writer's mean `sync()`, for
//!
//! * `wait_for_commit(None)` (the library's wait: futex on Linux);
//! * the same with the polling fallback (`test_hooks::force_polling` is not in this build:
//!   the fallback's 50 µs – 5 ms back-off is not measured here, see the tests);
//! * (a) a reader spinning on `refresh()`;
//! * (b) a reader polling every 1 ms;
//! * (c) a pipe the writer writes a byte to after each `sync()` (the hand-made way);
//! * (d) inotify on the file (`IN_MODIFY`: the commit slot's `pwrite` raises it);
//!
//! and the writer's `sync()` with no reader at all, for the cost of the wake.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use persistence::{MmapedVec, OpenOptions};

use crate::common::{fmt_count, Ctx, Report};
use crate::stats::markdown;

/// The contenders, in print order.
const MODES: [&str; 6] = ["wait", "spin", "poll1ms", "pipe", "inotify", "none"];

fn label(mode: &str) -> &'static str {
    match mode {
        "wait" => "wait_for_commit(None)",
        "spin" => "(a) spinning on refresh()",
        "poll1ms" => "(b) refresh() every 1 ms",
        "pipe" => "(c) pipe written after sync()",
        "inotify" => "(d) inotify IN_MODIFY, then refresh()",
        _ => "(no reader: the writer alone)",
    }
}

/// The report keys.
pub const KEY_P50: &str = "wake p50 us";
pub const KEY_P99: &str = "wake p99 us";
pub const KEY_CPU: &str = "wake idle cpu";
pub const KEY_SYNC_RATIO: &str = "wake sync ratio";

/// CLOCK_MONOTONIC in nanoseconds.
fn now_ns() -> u64 {
    // SAFETY: an all-zero timespec is valid; clock_gettime fills it.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a timespec this frame owns.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// This thread's CPU time in nanoseconds.
fn thread_cpu_ns() -> u64 {
    // SAFETY: as in `now_ns`.
    let mut t: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: as in `now_ns`.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

/// The calling thread's CPU affinity, to put back with [`set_affinity`] (the scenarios run
/// after this one must not stay pinned to one core).
fn affinity() -> libc::cpu_set_t {
    // SAFETY: a zeroed cpu_set_t is an empty set; sched_getaffinity fills it through a
    // valid pointer of the size given.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set);
        set
    }
}

/// Sets the calling thread's CPU affinity (a hint: ignored on failure).
fn set_affinity(set: &libc::cpu_set_t) {
    // SAFETY: a valid pointer to a cpu_set_t of the size given.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), set) };
}

/// Pins the calling thread to `cpu` where the machine has it (a hint: ignored on failure).
fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is an empty set; CPU_SET and sched_setaffinity get valid
    // pointers to it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// The writer process (`persistence-bench --wake-writer PATH N NOTIFY`): commits `N`
/// elements, one per `sync()`, each holding the clock before its `sync()`; with NOTIFY
/// writes a byte to stdout after each `sync()` returns. Then prints, on stderr, each
/// commit's `sync()`-returned clock and the mean `sync()` time.
pub fn writer_main(args: &[String]) -> io::Result<()> {
    let (path, n, notify) = match args {
        [p, n, notify] => (
            p,
            n.parse::<usize>().map_err(io::Error::other)?,
            notify == "1",
        ),
        _ => return Err(io::Error::other("--wake-writer PATH N NOTIFY")),
    };
    pin(1);
    let mut v = OpenOptions::new().open::<u64>(path)?;
    let mut out = io::stdout().lock();
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    let mut returned = Vec::with_capacity(n);
    let mut sync_ns = 0u64;
    // Tell the reader we are ready, then give it a moment to settle into its wait.
    out.write_all(b"R")?;
    out.flush()?;
    std::thread::sleep(Duration::from_millis(50));
    for _ in 0..n {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let gap = 200_000 + rng % 500_000;
        let until = now_ns() + gap;
        while now_ns() < until {
            std::thread::sleep(Duration::from_nanos(
                until.saturating_sub(now_ns()).min(100_000),
            ));
        }
        let called = now_ns();
        v.push(called)?;
        v.sync()?;
        let t = now_ns();
        sync_ns += t - called;
        returned.push(t);
        if notify {
            out.write_all(b"c")?;
            out.flush()?;
        }
    }
    let mut err = io::stderr().lock();
    for t in &returned {
        writeln!(err, "{t}")?;
    }
    writeln!(err, "sync {}", sync_ns / n as u64)?;
    Ok(())
}

/// One contender's figures.
struct Run {
    after_return: Vec<i64>,
    after_call: Vec<i64>,
    reader_cpu_per_commit_ns: f64,
    writer_sync_ns: f64,
    merged: usize,
}

fn pct(v: &mut [i64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i] as f64
}

fn run_mode(path: &Path, mode: &str, n: usize) -> io::Result<Run> {
    let _ = std::fs::remove_file(path);
    let mut v = MmapedVec::<u64>::open(path)?;
    v.push(0)?;
    v.close()?;
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args([
            "--wake-writer",
            path.to_str().ok_or(io::Error::other("path"))?,
        ])
        .arg(n.to_string())
        .arg(if mode == "pipe" { "1" } else { "0" })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdout = child.stdout.take().ok_or(io::Error::other("stdout"))?;
    let stderr = child.stderr.take().ok_or(io::Error::other("stderr"))?;
    let results = std::thread::spawn(move || -> Vec<String> {
        BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
            .collect()
    });
    pin(0);
    let mut r = OpenOptions::new().open_live::<u64>(path)?;
    r.refresh()?;
    let inotify = if mode == "inotify" {
        // SAFETY: plain system calls with valid arguments.
        let fd = unsafe { libc::inotify_init1(libc::IN_CLOEXEC) };
        let c = std::ffi::CString::new(path.to_str().unwrap_or_default())?;
        // SAFETY: a valid descriptor and NUL-terminated path.
        unsafe { libc::inotify_add_watch(fd, c.as_ptr(), libc::IN_MODIFY) };
        Some(fd)
    } else {
        None
    };
    let mut ready = [0u8; 1];
    stdout.read_exact(&mut ready)?;
    let mut seen_at: Vec<(usize, u64, u64)> = Vec::new(); // (index, clock seen, value)
    let cpu0 = thread_cpu_ns();
    let total = n + 1;
    let mut merged = 0;
    if mode != "none" {
        while r.len() < total {
            let before = r.len();
            let fresh = match mode {
                "wait" => r.wait_for_commit(Some(Duration::from_secs(10)))?,
                "spin" => r.refresh()?,
                "poll1ms" => {
                    let f = r.refresh()?;
                    if !f {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    f
                }
                "pipe" => {
                    let mut b = [0u8; 1];
                    stdout.read_exact(&mut b)?;
                    r.refresh()?
                }
                _ => {
                    let fd = inotify.unwrap_or(-1);
                    let mut buf = [0u8; 4096];
                    // SAFETY: reading into a buffer this frame owns.
                    unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
                    r.refresh()?
                }
            };
            if fresh && r.len() > before {
                let t = now_ns();
                let last = r.len() - 1;
                merged += r.len() - before - 1;
                seen_at.push((last, t, r.get(last).unwrap_or(0)));
            }
        }
    }
    let cpu = thread_cpu_ns() - cpu0;
    if let Some(fd) = inotify {
        // SAFETY: our descriptor, closed once.
        unsafe { libc::close(fd) };
    }
    // Drain the pipe so the writer never blocks, then collect its figures.
    let mut rest = Vec::new();
    let _ = stdout.read_to_end(&mut rest);
    let status = child.wait()?;
    if !status.success() {
        return Err(io::Error::other(format!("the writer failed: {status}")));
    }
    let lines = results
        .join()
        .map_err(|_| io::Error::other("writer output"))?;
    let returned: Vec<u64> = lines.iter().filter_map(|l| l.parse().ok()).collect();
    let writer_sync_ns = lines
        .iter()
        .find_map(|l| l.strip_prefix("sync ").and_then(|s| s.parse::<f64>().ok()))
        .unwrap_or(f64::NAN);
    if mode != "none" && returned.len() != n {
        return Err(io::Error::other("the writer's figures are missing"));
    }
    let mut run = Run {
        after_return: Vec::new(),
        after_call: Vec::new(),
        reader_cpu_per_commit_ns: cpu as f64 / n as f64,
        writer_sync_ns,
        merged,
    };
    for (index, t, value) in seen_at {
        // Element `index` (1..=n) was committed by the writer's commit `index - 1`.
        let ret = returned[index - 1];
        run.after_return.push(t as i64 - ret as i64);
        run.after_call.push(t as i64 - value as i64);
    }
    Ok(run)
}

/// Runs scenario 13.
pub fn run(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let n = if ctx.quick { 300 } else { 10_000 };
    let path = ctx.path("wake.bin");
    let mut lines = vec![vec![
        "reader".to_string(),
        "sync() returned → seen: p50".into(),
        "p99".into(),
        "p99.9".into(),
        "max".into(),
        "sync() called → seen: p50".into(),
        "reader CPU per commit".into(),
        "writer's mean sync()".into(),
        "commits seen together".into(),
    ]];
    let mut alone = f64::NAN;
    let mut with_wait = f64::NAN;
    let all_cpus = affinity();
    for mode in MODES {
        let r = run_mode(&path, mode, n);
        set_affinity(&all_cpus);
        let mut r = r?;
        let us = |x: f64| format!("{:+.1} µs", x / 1000.0);
        if mode == "none" {
            alone = r.writer_sync_ns;
            lines.push(vec![
                label(mode).into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
                format!("{:.1} µs", r.writer_sync_ns / 1000.0),
                "-".into(),
            ]);
            continue;
        }
        let (p50, p99, p999, max) = (
            pct(&mut r.after_return, 0.5),
            pct(&mut r.after_return, 0.99),
            pct(&mut r.after_return, 0.999),
            pct(&mut r.after_return, 1.0),
        );
        let call50 = pct(&mut r.after_call, 0.5);
        if mode == "wait" {
            with_wait = r.writer_sync_ns;
            report.note(KEY_P50, p50 / 1000.0);
            report.note(KEY_P99, p99 / 1000.0);
            report.note("wake call p50 us", call50 / 1000.0);
            report.note(KEY_CPU, r.reader_cpu_per_commit_ns / 1000.0);
        }
        lines.push(vec![
            label(mode).into(),
            us(p50),
            us(p99),
            us(p999),
            us(max),
            us(call50),
            format!("{:.1} µs", r.reader_cpu_per_commit_ns / 1000.0),
            format!("{:.1} µs", r.writer_sync_ns / 1000.0),
            r.merged.to_string(),
        ]);
    }
    report.note(KEY_SYNC_RATIO, with_wait / alone);
    let _ = std::fs::remove_file(&path);
    let mut lock = path.into_os_string();
    lock.push("-live");
    let _ = std::fs::remove_file(lock);
    println!(
        "\n### S13 commit-to-wake latency: {} commits of one u64, the writer in another process \
         (reader pinned to CPU 0, writer to CPU 1; negative: seen before sync() returned, \
         since the slot is visible and the wake sent before sync's final fdatasync)\n\n{}",
        fmt_count(n),
        markdown(&lines)
    );
    Ok(())
}
