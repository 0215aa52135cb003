//! Process crash of a commit group: a writer killed with `SIGKILL` at a random moment loses
//! no row that a `sync()` had returned for, and leaves a group that opens with every column
//! at one commit's length (all alike) and every element right.
//!
//! The test re-executes its own binary as the writer (`PERSISTENCE_GROUP_CRASH_WRITER` set:
//! the test function runs the writer instead of the test), as `crash.rs` does for a vector.
//! The writer opens a `Group<(u64, u32, u16)>` and appends rows forever, `interval` rows
//! per commit: a column at a time (`extend_from_slice`, so the columns have different
//! lengths until the batch ends), or in interleaved chunks, or row by row (`push_row`); now
//! and then it also appends junk to one column past the batch (sometimes far enough to
//! allocate a new block) and truncates it back (`truncate` or `truncate_rows`) before the
//! commit. It commits only at row boundaries (`sync` or `sync_rows`) and prints
//! `synced <rows> <generation>` each time the commit returns. Element `i` of each column is
//! a function of `i`, so every row is checkable.
//!
//! The test kills the writer at a random moment (at least 25 rounds, sync intervals from
//! every row to every 10 000 rows), and each round checks the file three ways:
//!
//! * a read-only snapshot (`GroupSlice`): every column has the same length, at least the
//!   last printed row count and the previous round's; the generation is at least the last
//!   printed one and the previous round's; every element right;
//! * a `LiveGroup` opened before the writer started: after the kill a `refresh` shows the
//!   same generation and the same rows as the snapshot (while the writer runs, the test
//!   polls it too: equal lengths, rows and generation that never go back, elements right);
//! * a writer's open (`Group`): the same rows and generation, `rows()` is `Ok`.
//!
//! The rounds run on one file, which keeps growing: the test goes on (past the minimum
//! number of rounds, up to a bound) until rounds have crossed row 262 144 and row 786 432,
//! where the `u64` column needs its second and third block (2 MiB, then 4 MiB more), so
//! that kills land around block allocations.
//!
//! A killed process loses no page-cache data, so this guards the in-process half of the
//! promise (the commit logic, block allocation, reopen), not power loss (`power_loss.rs`).
//!
//! The seed is printed; rerun with `PERSISTENCE_SEED=<seed>` to replay the kill timings.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use persistence::{Column, Group, LiveGroup, OpenOptions, Pod};

type Cols = (u64, u32, u16);

const WRITER_ENV: &str = "PERSISTENCE_GROUP_CRASH_WRITER";
const TEST_NAME: &str = "group_sigkill_at_random_moments_loses_no_synced_row";
const ROUNDS: usize = 28;
/// The most rounds, should the block boundaries take long to reach.
const MAX_ROUNDS: usize = 90;
/// Sync intervals in rows, one per round in turn.
const INTERVALS: [usize; 8] = [1, 300, 5_000, 7, 2_000, 50, 10_000, 700];
/// Rows at which the `u64` column needs a new block: 2 MiB / 8 and (2 + 4) MiB / 8.
const BOUNDARIES: [usize; 2] = [262_144, 786_432];

fn opts() -> OpenOptions {
    *OpenOptions::new().magic(*b"GRPCRASH").version(3)
}

fn v0(i: usize) -> u64 {
    let mut z = (i as u64) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn v1(i: usize) -> u32 {
    (i as u32).wrapping_mul(0x9E37_79B1) ^ (i >> 32) as u32 ^ 0x5BD1_E995
}

fn v2(i: usize) -> u16 {
    (i as u16).wrapping_mul(40_503) ^ (i >> 16) as u16 ^ 0xA5A5
}

fn row(i: usize) -> Cols {
    (v0(i), v1(i), v2(i))
}

/// Appends elements `from..to` of a column whose element `i` is `f(i)`.
fn append<T: Pod>(c: &mut Column<T>, from: usize, to: usize, f: fn(usize) -> T) {
    debug_assert_eq!(c.len(), from);
    let chunk: Vec<T> = (from..to).map(f).collect();
    c.extend_from_slice(&chunk)
        .expect("writer: extend_from_slice");
}

/// Appends `n` junk elements (not `f(i)`) to a column, to be truncated away before the
/// commit.
fn junk<T: Pod>(c: &mut Column<T>, n: usize, f: fn(usize) -> T) {
    let from = c.len();
    // `f` of another index: wrong for the positions it lands at.
    let chunk: Vec<T> = (from..from + n).map(|i| f(i ^ 0x5555)).collect();
    c.extend_from_slice(&chunk).expect("writer: junk");
}

/// The writer: appends rows forever (until killed), committing every `interval` rows.
fn writer(spec: &str) {
    let mut parts = spec.split(';');
    let path = parts.next().expect("path");
    let interval: usize = parts.next().expect("interval").parse().expect("interval");
    let seed: u64 = parts.next().expect("seed").parse().expect("seed");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut g: Group<Cols> = opts().open_group(path).expect("writer: open");
    let rows = g
        .rows()
        .expect("writer: the group opened with unequal lengths");
    let out = std::io::stdout();
    let mut out = out.lock();
    writeln!(out, "opened {rows} {}", g.generation()).unwrap();
    out.flush().unwrap();
    let start = Instant::now();
    // A writer whose parent died stops by itself.
    while start.elapsed() < Duration::from_secs(20) {
        let from = g.rows().expect("writer: rows at a row boundary");
        let to = from + interval;
        match rng.u8(..3) {
            0 if interval <= 300 => {
                for i in from..to {
                    g.push_row(row(i)).expect("writer: push_row");
                }
            }
            1 => {
                // A column at a time.
                let (a, b, c) = g.columns_mut();
                append(a, from, to, v0);
                append(b, from, to, v1);
                append(c, from, to, v2);
            }
            _ => {
                // Interleaved chunks: column 0, 1, 2, then the next chunk.
                let chunks = rng.usize(1..=4);
                let (a, b, c) = g.columns_mut();
                let mut at = from;
                for k in 0..chunks {
                    let next = if k + 1 == chunks {
                        to
                    } else {
                        rng.usize(at..=to)
                    };
                    append(a, at, next, v0);
                    append(b, at, next, v1);
                    append(c, at, next, v2);
                    at = next;
                }
            }
        }
        if rng.u8(..4) == 0 {
            // Junk past the batch in one column (log-uniform, up to 400 000 elements: far
            // enough to need a new block), then cut back.
            let n = (400_000f64.powf(rng.f64()) as usize).max(1);
            let (a, b, c) = g.columns_mut();
            match rng.u8(..3) {
                0 => junk(a, n, v0),
                1 => junk(b, n, v1),
                _ => junk(c, n, v2),
            }
            if rng.bool() {
                g.truncate_rows(to);
            } else {
                let (a, b, c) = g.columns_mut();
                a.truncate(to);
                b.truncate(to);
                c.truncate(to);
            }
        }
        if rng.bool() {
            g.sync().expect("writer: sync");
        } else {
            g.sync_rows().expect("writer: sync_rows");
        }
        writeln!(out, "synced {to} {}", g.generation()).unwrap();
        out.flush().unwrap();
    }
    std::process::exit(3);
}

/// What a round's writer printed.
#[derive(Default)]
struct Printed {
    /// Rows and generation it opened.
    opened: Option<(usize, u64)>,
    /// Rows and generation of the last commit that returned.
    synced: (usize, u64),
    /// Commits that returned.
    lines: usize,
}

/// What the live reader saw while the writer ran.
#[derive(Default)]
struct Polled {
    refreshes: usize,
    new_generations: usize,
    rows: usize,
    generation: u64,
}

/// Checks the live reader's view: every column the same length, the rows and the generation
/// no lower than before, the first, the last and a few random rows right.
fn check_live(live: &LiveGroup<Cols>, polled: &mut Polled, rng: &mut fastrand::Rng, when: &str) {
    let (a, b, c) = live.columns();
    let rows = a.len();
    assert!(
        b.len() == rows && c.len() == rows,
        "{when}: a live reader at generation {} sees columns of lengths {}, {}, {}",
        live.generation(),
        rows,
        b.len(),
        c.len()
    );
    assert!(
        rows >= polled.rows && live.generation() >= polled.generation,
        "{when}: a live reader went back from {} rows at generation {} to {rows} at {}",
        polled.rows,
        polled.generation,
        live.generation()
    );
    if rows > 0 {
        let mut probe = vec![0, rows - 1];
        probe.extend((0..8).map(|_| rng.usize(..rows)));
        for i in probe {
            assert_eq!(
                live.get_row(i),
                Some(row(i)),
                "{when}: a live reader at generation {} ({rows} rows): row {i}",
                live.generation()
            );
        }
    }
    polled.rows = rows;
    polled.generation = live.generation();
}

/// One round: start a writer, kill it after `delay` (counted from its "opened" line when
/// `after_open`), polling `live` meanwhile; return what it printed and what `live` saw.
fn round(
    path: &str,
    interval: usize,
    seed: u64,
    delay: Duration,
    after_open: bool,
    live: &mut LiveGroup<Cols>,
    rng: &mut fastrand::Rng,
) -> (Printed, Polled) {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            TEST_NAME,
            "--nocapture",
            "--test-threads=1",
            "-q",
        ])
        .env(WRITER_ENV, format!("{path};{interval};{seed}"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stderr), &mut s);
        s
    });
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut p = Printed::default();
        let pair = |s: &str| -> (usize, u64) {
            let (r, g) = s.split_once(' ').expect("<rows> <generation>");
            (r.parse().unwrap(), g.parse().unwrap())
        };
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("opened ") {
                p.opened = Some(pair(rest));
                let _ = tx.send(());
            } else if let Some(rest) = line.strip_prefix("synced ") {
                let (rows, gen) = pair(rest);
                let prev = p.synced.1.max(p.opened.map_or(0, |o| o.1));
                assert!(rows > p.synced.0, "synced rows go up");
                // Every commit of the writer changes the lengths: one generation more.
                assert_eq!(
                    gen,
                    prev + 1,
                    "a commit that changed lengths: the next generation"
                );
                p.synced = (rows, gen);
                p.lines += 1;
            }
        }
        p
    });
    if after_open {
        rx.recv_timeout(Duration::from_secs(10))
            .expect("the writer did not open the group within 10 s");
    }
    // Poll the live reader until the kill.
    let mut polled = Polled {
        rows: live.columns().0.len(),
        generation: live.generation(),
        ..Polled::default()
    };
    let until = Instant::now() + delay;
    loop {
        let now = Instant::now();
        if now >= until {
            break;
        }
        std::thread::sleep((until - now).min(Duration::from_millis(3)));
        if live.refresh().expect("live refresh while the writer runs") {
            polled.new_generations += 1;
        }
        polled.refreshes += 1;
        check_live(live, &mut polled, rng, "while the writer runs");
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    let printed = reader.join().unwrap();
    let errors = errors.join().unwrap();
    // Killed by the signal, not ended by a failure of its own (which it would report).
    assert_eq!(
        status.signal(),
        Some(9),
        "the writer ended by itself: {status}; its stderr: {errors}"
    );
    (printed, polled)
}

/// Opens the group read-only and checks every column: equal lengths, every element right.
/// Returns (rows, generation).
fn check_snapshot(path: &Path, when: &str) -> (usize, u64) {
    let s = opts()
        .open_group_read_only::<Cols>(path)
        .unwrap_or_else(|e| panic!("{when}: the group does not open after SIGKILL: {e}"));
    let (a, b, c) = s.columns();
    assert!(
        a.len() == b.len() && b.len() == c.len(),
        "{when}: columns of lengths {}, {}, {} at generation {}",
        a.len(),
        b.len(),
        c.len(),
        s.generation()
    );
    for i in 0..a.len() {
        if (a[i], b[i], c[i]) != row(i) {
            panic!(
                "{when}: row {i} of {} is {:?}, want {:?}",
                a.len(),
                (a[i], b[i], c[i]),
                row(i)
            );
        }
    }
    (a.len(), s.generation())
}

#[test]
fn group_sigkill_at_random_moments_loses_no_synced_row() {
    if let Ok(spec) = std::env::var(WRITER_ENV) {
        writer(&spec);
        return;
    }
    let mut rng = common::rng("group_crash");
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "group.bin");
    let path_str = path.to_str().unwrap().to_string();
    // Create the group, so that a live reader can open it before the first writer.
    opts().open_group::<Cols>(&path).unwrap().close().unwrap();
    // One live reader for the whole run, and one opened afresh before each writer.
    let mut long_live = opts().open_group_live::<Cols>(&path).unwrap();
    let mut long_polled = Polled::default();

    let (mut rows, mut generation) = (0usize, 0u64); // checked after the previous round
    let (mut rounds_with_syncs, mut polls, mut live_generations) = (0, 0, 0);
    let mut crossed = [0usize; 2]; // rounds that moved the rows past each boundary
    let mut round_rows = Vec::new();
    let started = Instant::now();
    let mut r = 0;
    while r < ROUNDS || ((crossed.contains(&0) || rounds_with_syncs < ROUNDS / 2) && r < MAX_ROUNDS)
    {
        let interval = INTERVALS[r % INTERVALS.len()];
        // Mostly while writing; one round in seven right after the spawn (perhaps mid-open).
        let after_open = r % 7 != 6;
        let longest = if r < ROUNDS { 100_000 } else { 400_000 };
        let delay = Duration::from_micros(if after_open {
            rng.u64(0..longest)
        } else {
            rng.u64(0..5_000)
        });
        let when = format!("round {r} (interval {interval}, killed after {delay:?})");
        let mut live = opts().open_group_live::<Cols>(&path).unwrap();
        let (printed, polled) = round(
            &path_str,
            interval,
            rng.u64(..),
            delay,
            after_open,
            &mut live,
            &mut rng,
        );
        polls += polled.refreshes;
        live_generations += polled.new_generations;
        if let Some((opened_rows, opened_gen)) = printed.opened {
            assert_eq!(
                (opened_rows, opened_gen),
                (rows, generation),
                "{when}: the writer opened (rows, generation) other than the last check saw"
            );
        }
        rounds_with_syncs += (printed.lines > 0) as usize;

        // 1. A snapshot.
        let (now_rows, now_gen) = check_snapshot(&path, &when);
        let (synced_rows, synced_gen) = printed.synced;
        assert!(
            now_rows >= synced_rows && now_rows >= rows,
            "{when}: {now_rows} rows after SIGKILL, but sync() had returned for \
             {synced_rows} (previous check {rows})"
        );
        assert!(
            now_gen >= synced_gen && now_gen >= generation,
            "{when}: generation {now_gen} after SIGKILL, but sync() had returned for \
             generation {synced_gen} (previous check {generation})"
        );
        assert_eq!(
            now_rows == rows,
            now_gen == generation,
            "{when}: the rows changed ({rows} -> {now_rows}) but not the generation \
             ({generation} -> {now_gen}), or the other way round"
        );

        // 2. The live readers, opened before the kill.
        for (l, p, which) in [
            (
                &mut live,
                &mut Polled::default(),
                "this round's live reader",
            ),
            (&mut long_live, &mut long_polled, "the first live reader"),
        ] {
            l.refresh()
                .unwrap_or_else(|e| panic!("{when}: {which}'s refresh after SIGKILL: {e}"));
            assert_eq!(
                (l.generation(), l.columns().0.len()),
                (now_gen, now_rows),
                "{when}: {which} after SIGKILL (generation, rows), against the snapshot"
            );
            check_live(l, p, &mut rng, &format!("{when}, {which}"));
        }
        let (a, b, c) = long_live.columns();
        assert!(
            a.iter().enumerate().all(|(i, x)| x == v0(i)),
            "{when}: column 0 live"
        );
        assert!(
            b.iter().enumerate().all(|(i, x)| x == v1(i)),
            "{when}: column 1 live"
        );
        assert!(
            c.iter().enumerate().all(|(i, x)| x == v2(i)),
            "{when}: column 2 live"
        );

        // 3. A writer's open (every fourth round; each one rewrites the slot and flushes).
        if r % 4 == 0 {
            let g = opts()
                .open_group::<Cols>(&path)
                .unwrap_or_else(|e| panic!("{when}: a writer's open after SIGKILL: {e}"));
            assert_eq!(
                (g.rows().ok(), g.generation()),
                (Some(now_rows), now_gen),
                "{when}: a writer's open (rows, generation)"
            );
            assert_eq!(
                g.get_row(now_rows.wrapping_sub(1)),
                now_rows.checked_sub(1).map(row)
            );
            g.close().unwrap();
        }

        for (k, &b) in BOUNDARIES.iter().enumerate() {
            crossed[k] += (rows < b && now_rows >= b) as usize;
        }
        round_rows.push(now_rows);
        rows = now_rows;
        generation = now_gen;
        r += 1;
    }
    let info = persistence::inspect(&path).unwrap();
    println!(
        "group_crash: {r} SIGKILL rounds in {:?}, {rounds_with_syncs} with syncs, {polls} live \
         polls ({live_generations} new generations), final {rows} rows at generation \
         {generation}, file {} bytes; rounds crossing rows {BOUNDARIES:?}: {crossed:?}; rows \
         after each round: {round_rows:?}",
        started.elapsed(),
        info.file_size
    );
    assert_eq!(info.generation(), generation);
    assert!(
        rounds_with_syncs >= ROUNDS / 2,
        "too few rounds got to sync: {rounds_with_syncs}"
    );
    assert!(
        !crossed.contains(&0),
        "no round crossed rows {BOUNDARIES:?} ({crossed:?}) in {r} rounds: final {rows} rows"
    );
}
