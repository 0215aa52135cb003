//! Live readers across writer crashes and failed commits (issue 9): writers killed with
//! `SIGKILL` at random moments, each followed by a new writer on the same file, while one
//! reader process keeps refreshing and checking (it never faults, its length never goes
//! back, every element it sees is right); and what a reader sees of each failed commit step
//! (through the fault seam): nothing of a failed data flush or slot write, and of a failed
//! final flush the new length, never taken back.
//!
//! The seed is printed; rerun with `PERSISTENCE_SEED=<seed>` to replay the kill timings.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::roles;
use persistence::test_hooks::{self as fault, Op};
use persistence::{inspect, ErrorKind, LiveReader, MmapedVec, OpenOptions};

const EIO: i32 = 5;
const ENOSPC: i32 = 28;

fn value(i: usize) -> u64 {
    (i as u64).wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x1234
}

fn live(path: &Path) -> LiveReader<u64> {
    OpenOptions::new().open_live::<u64>(path).unwrap()
}

const T5: &str = "t5_writers_killed_and_replaced_under_a_reader_process";
const ROUNDS: usize = 24;
const INTERVALS: [usize; 6] = [1, 100, 3000, 7, 20_000, 250];

/// A writer: opens the file (perhaps left by a killed one), appends `value(i)` and commits
/// every `interval` pushes, printing `@c <len>` after each `sync`, until killed.
fn writer(path: &str, interval: usize) {
    let mut w = MmapedVec::<u64>::open(path).unwrap();
    roles::say(&format!("opened {}", w.len()));
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        for _ in 0..interval {
            let i = w.len();
            w.push(value(i)).unwrap();
        }
        w.sync().unwrap();
        roles::say(&format!("c {}", w.len()));
    }
    std::process::exit(3);
}

/// The reader: refreshes until its stdin closes, checking each newly visible element and a
/// sample of older ones; prints `@a <len>` for each length adopted.
fn reader(path: &str) {
    static STOP: AtomicBool = AtomicBool::new(false);
    std::thread::spawn(|| {
        use std::io::Read;
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        STOP.store(true, Ordering::Release);
    });
    let mut rng = fastrand::Rng::with_seed(11);
    let mut r = live(Path::new(path));
    let mut buf = vec![0u64; 1 << 16];
    let (mut seen, mut checked, mut refreshes) = (0usize, 0u64, 0u64);
    loop {
        let stop = STOP.load(Ordering::Acquire);
        r.refresh().unwrap();
        refreshes += 1;
        let len = r.len();
        assert!(len >= seen, "the length went back from {seen} to {len}");
        let mut at = seen;
        while at < len {
            let n = r.copy_to(at, &mut buf);
            for (k, &x) in buf[..n].iter().enumerate() {
                assert_eq!(x, value(at + k), "element {}", at + k);
            }
            at += n;
            checked += n as u64;
        }
        if len != seen {
            seen = len;
            roles::say(&format!("a {len}"));
        }
        if seen > 0 {
            let i = rng.usize(..seen);
            assert_eq!(r.get(i), Some(value(i)), "element {i} (sample)");
        }
        if stop {
            break;
        }
    }
    roles::say(&format!("refreshes {refreshes} checked {checked}"));
}

/// T5: at least 20 writers, each killed with `SIGKILL` at a random moment (some right after
/// they start, perhaps mid-open), each followed by a new one on the same file, while one
/// reader process refreshes throughout. The commit sequence `inspect` shows never goes back
/// across writers, and always covers what the killed writer reported as committed.
#[test]
fn t5_writers_killed_and_replaced_under_a_reader_process() {
    if let Some(arg) = roles::role(T5) {
        let mut parts = arg.split(';');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("writer"), Some(path), Some(interval)) => writer(path, interval.parse().unwrap()),
            (Some("reader"), Some(path), None) => reader(path),
            _ => panic!("role {arg}"),
        }
        return;
    }
    let mut rng = common::rng(T5);
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let path = p.to_str().unwrap().to_string();
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    let mut reader = roles::spawn(T5, &format!("reader;{path}"));
    let (_rrx, rlines) = roles::lines(reader.stdout.take().unwrap());
    let stop_reader = reader.stdin.take().unwrap();
    let (mut seq, mut len) = (inspect(&p).unwrap().current().sequence, 0u64);
    let mut rounds_with_commits = 0;
    let started = Instant::now();
    for round in 0..ROUNDS {
        let interval = INTERVALS[round % INTERVALS.len()];
        let mut w = roles::spawn(T5, &format!("writer;{path};{interval}"));
        let (wrx, wlines) = roles::lines(w.stdout.take().unwrap());
        let early = round % 6 == 5;
        if !early {
            let opened = wrx.recv_timeout(Duration::from_secs(20)).unwrap();
            let n: u64 = opened.strip_prefix("opened ").unwrap().parse().unwrap();
            assert!(n >= len, "round {round}: a new writer opened {n} < {len}");
        }
        let delay = if early {
            rng.u64(0..5_000)
        } else {
            rng.u64(0..150_000)
        };
        std::thread::sleep(Duration::from_micros(delay));
        w.kill().unwrap();
        let status = w.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "round {round}: the writer ended: {status}"
        );
        let printed = wlines
            .join()
            .unwrap()
            .iter()
            .filter_map(|l| l.strip_prefix("c ")?.parse::<u64>().ok())
            .max()
            .unwrap_or(0);
        let info = inspect(&p).unwrap();
        let now = info.current().sequence;
        assert!(
            now >= seq,
            "round {round}: sequence went back from {seq} to {now}"
        );
        assert!(info.len >= printed, "round {round}: lost commit {printed}");
        rounds_with_commits += (now > seq) as usize;
        (seq, len) = (now, info.len);
    }
    drop(stop_reader);
    let status = reader.wait().unwrap();
    assert!(
        status.success(),
        "the reader (a signal shows here): {status}"
    );
    let lines = rlines.join().unwrap();
    let adopted: Vec<u64> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("a ")?.parse().ok())
        .collect();
    assert!(adopted.windows(2).all(|w| w[0] <= w[1]));
    assert_eq!(
        adopted.last().copied().unwrap_or(0),
        len,
        "the reader missed the end"
    );
    assert!(
        rounds_with_commits >= ROUNDS / 2,
        "only {rounds_with_commits} rounds committed"
    );
    println!(
        "t5: {ROUNDS} writers killed, {rounds_with_commits} had committed, final length {len}, \
         sequence {seq}, {} lengths adopted, reader: {}, in {:.1} s",
        adopted.len(),
        lines.last().unwrap(),
        started.elapsed().as_secs_f64()
    );
}

/// T6: a failed data flush (`msync`): the reader never sees that length. A failed slot
/// `pwrite`: the reader never sees it, and the next commit has a higher sequence than the
/// failed one spent. A failed final `fdatasync`: the reader sees the new length at once (it is
/// in the page cache, its elements durable) and never goes below it; the next `sync` makes it
/// durable, and a reopen shows it.
#[test]
fn t6_failed_commit_steps_as_a_reader_sees_them() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.extend_from_slice(&[1; 10]).unwrap();
    w.sync().unwrap();
    let mut r = live(&p);
    assert_eq!(r.len(), 10);

    // (a) msync fails: the region is poisoned; nothing new for the reader.
    w.push(2).unwrap();
    fault::inject(Op::Msync, 0, EIO);
    assert_eq!(w.sync().unwrap_err().kind(), ErrorKind::Io);
    assert!(!r.refresh().unwrap());
    assert_eq!(r.len(), 10);
    drop(w);
    fault::clear();
    assert!(
        !r.refresh().unwrap(),
        "the poisoned writer's drop committed nothing"
    );

    // (b) the slot pwrite fails.
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    assert_eq!(w.len(), 10);
    w.push(3).unwrap();
    w.sync().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.len(), 11);
    let before = inspect(&p).unwrap().current().sequence;
    w.push(4).unwrap();
    fault::inject(Op::Write, 0, ENOSPC);
    assert_eq!(w.sync().unwrap_err().kind(), ErrorKind::OutOfSpace);
    assert!(!fault::pending());
    assert!(!r.refresh().unwrap());
    assert_eq!(r.len(), 11);
    w.sync().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.len(), 12);
    assert_eq!(
        inspect(&p).unwrap().current().sequence,
        before + 2,
        "the failed write's sequence number is spent"
    );

    // (c) the final fdatasync fails (no growth and no pwrite since the last commit, so it is
    // the only fdatasync of this commit).
    w.push(5).unwrap();
    fault::inject(Op::SyncFile, 0, EIO);
    assert_eq!(w.sync().unwrap_err().kind(), ErrorKind::Io);
    assert!(!fault::pending());
    assert!(r.refresh().unwrap(), "the written slot is visible");
    assert_eq!(r.len(), 13);
    assert_eq!(inspect(&p).unwrap().len, 13);
    w.sync().unwrap(); // Writes the slot again and flushes it: no change for the reader.
    assert!(!r.refresh().unwrap());
    assert_eq!(r.len(), 13);
    w.push(6).unwrap();
    w.sync().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.iter().collect::<Vec<_>>()[10..], [3, 4, 5, 6]);
    w.close().unwrap();
    assert_eq!(MmapedVec::<u64>::open(&p).unwrap().len(), 14);
}

/// A writer that finds the slot it will overwrite torn (a writer died inside its `pwrite`:
/// some words of its commit written, some not) numbers its commit so that no instant of its
/// own slot write shows a live reader a commit nobody wrote whole: above the torn slot's
/// sequence word; never the number whose checksum the torn slot holds with its length, unless
/// that length is ours (then it finishes that very slot: the same bytes). Checked on forged
/// files through the sequence the commit gets.
#[test]
fn t6b_a_torn_slot_is_never_completed_by_the_next_commit() {
    use common::format::{encode_slot, header_sum, Order, Slot, SLOT_OFFSETS};
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "torn.bin");
    {
        let mut w = MmapedVec::<u64>::open(&p).unwrap();
        w.extend_from_slice(&[7; 10]).unwrap();
        w.sync().unwrap(); // B = (2, 10)
        w.extend_from_slice(&[7; 5]).unwrap();
        w.sync().unwrap(); // A = (3, 15), the newest
        w.reserve(100).unwrap();
        w.close().unwrap();
    }
    let clean = common::read(&p);
    let sum = header_sum(&clean, Order::Native);
    let words = |s: Slot| {
        let b = encode_slot(sum, s, Order::Native);
        let w = |k: usize| u64::from_ne_bytes(b[k * 8..k * 8 + 8].try_into().unwrap());
        [w(0), w(1), w(2)]
    };
    let (dead, old) = (
        words(Slot { seq: 4, len: 20 }),
        words(Slot { seq: 2, len: 10 }),
    );
    // (B's words as the dead writer left them, our length, the sequence our commit gets)
    let cases: [([u64; 3], u64, u64); 5] = [
        // Length and checksum written, not the sequence word: (4, 20) with our sequence
        // word 4 and another length would complete it: 5.
        ([old[0], dead[1], dead[2]], 18, 5),
        // The same, with our length 20: writing (4, 20) finishes that slot: 4.
        ([old[0], dead[1], dead[2]], 20, 4),
        // Only the sequence word written: above it.
        ([dead[0], old[1], old[2]], 18, 5),
        // Sequence and checksum written, not the length: ours is 20, finish it.
        ([dead[0], old[1], dead[2]], 20, 4),
        // The same with another length: above its sequence word.
        ([dead[0], old[1], dead[2]], 18, 5),
    ];
    for (k, (torn, len, want)) in cases.into_iter().enumerate() {
        let mut bytes = clean.clone();
        for (i, w) in torn.iter().enumerate() {
            let at = SLOT_OFFSETS[1] + 8 * i;
            bytes[at..at + 8].copy_from_slice(&w.to_ne_bytes());
        }
        std::fs::write(&p, &bytes).unwrap();
        let info = inspect(&p).unwrap();
        assert!(
            !info.slots[1].valid && !info.slots[1].blank,
            "case {k}: B is torn"
        );
        let mut w = MmapedVec::<u64>::open(&p).unwrap();
        assert_eq!(w.len(), 15);
        w.resize(len as usize, 7).unwrap();
        w.sync().unwrap();
        let info = inspect(&p).unwrap();
        assert_eq!(
            (info.winner, info.current().sequence, info.len),
            (1, want, len),
            "case {k}"
        );
        w.close().unwrap();
    }
}
