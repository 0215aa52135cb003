//! Live readers under load (issue 9): a writer process appends and commits as fast as it
//! can, through several growth steps, while a reader process refreshes in a tight loop and
//! checks every element it can see; `inspect` runs beside them. And what a refresh costs in
//! system calls: none when nothing is new (checked with seccomp strict mode, where any system
//! call but `read`, `write` and `exit` kills the process), none for a new length inside the
//! mapping, one `fstat` and one remap for a length past it.
//!
//! Both remap paths: `ci/test-portable-remap.sh` runs these again with
//! `PERSISTENCE_PORTABLE_REMAP=1`.

mod common;

use std::cell::Cell;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use common::roles;
use persistence::test_hooks::{self as fault, Op};
use persistence::{inspect, LiveReader, MmapedVec, OpenOptions};

fn value(i: usize) -> u64 {
    (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x0F0F_0000_0000_F0F0
}

fn live(path: &Path) -> LiveReader<u64> {
    OpenOptions::new().open_live::<u64>(path).unwrap()
}

const T1: &str = "t1_t2_a_reader_process_sees_every_commit_of_a_writer_process_and_nothing_else";
/// The writer stops at this many elements (or after `WRITER_SECS`): past 2 M, so that the
/// file grows through at least five steps (one page, then 8x: 4 Ki, 32 Ki, 256 Ki, 2 Mi
/// elements of capacity).
const MAX_ELEMS: usize = 2_300_000;
const WRITER_SECS: u64 = 10;

/// The writer: appends `value(i)` and commits every `interval` pushes (a random one of
/// 1 ... 20 000 each time), printing `@c <len>` after each `sync` returns and `@g <capacity>`
/// at each growth.
fn writer(path: &str) {
    let mut rng = fastrand::Rng::with_seed(std::process::id() as u64);
    let mut w = MmapedVec::<u64>::open(path).unwrap();
    roles::say("opened");
    let start = Instant::now();
    let mut cap = w.capacity();
    while w.len() < MAX_ELEMS && start.elapsed() < Duration::from_secs(WRITER_SECS) {
        let interval = [1, 3, 10, 100, 1000, 5000, 20_000][rng.usize(..7)];
        for _ in 0..interval {
            let i = w.len();
            w.push(value(i)).unwrap();
            if w.capacity() != cap {
                cap = w.capacity();
                roles::say(&format!("g {cap}"));
            }
        }
        w.sync().unwrap();
        roles::say(&format!("c {}", w.len()));
    }
    w.close().unwrap();
    roles::say("done");
}

/// The reader: refreshes in a tight loop until its stdin closes. A thread reads the lengths
/// the parent forwards (each one committed, its `sync` returned) into `LAST`; before each
/// refresh the loop reads `LAST`, and the refresh must then show at least that length (T2).
/// Every element newly visible is checked, and a random sample of older ones. Prints
/// `@a <len>` for each length adopted.
fn reader(path: &str) {
    static LAST: AtomicU64 = AtomicU64::new(0);
    static STOP: AtomicBool = AtomicBool::new(false);
    std::thread::spawn(|| {
        use std::io::BufRead;
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            LAST.store(line.trim().parse().unwrap(), Ordering::Release);
        }
        STOP.store(true, Ordering::Release);
    });
    let mut rng = fastrand::Rng::with_seed(7);
    let mut r = live(Path::new(path));
    let mut seen = 0;
    let mut buf = vec![0u64; 1 << 16];
    let (mut refreshes, mut checked) = (0u64, 0u64);
    let mut check_new = |r: &LiveReader<u64>, from: usize, checked: &mut u64| {
        let mut at = from;
        while at < r.len() {
            let n = r.copy_to(at, &mut buf);
            for (k, &x) in buf[..n].iter().enumerate() {
                assert_eq!(x, value(at + k), "element {}", at + k);
            }
            at += n;
            *checked += n as u64;
        }
    };
    check_new(&r, 0, &mut checked);
    roles::say(&format!("a {}", r.len()));
    loop {
        let stop = STOP.load(Ordering::Acquire);
        let last = LAST.load(Ordering::Acquire);
        r.refresh().unwrap();
        refreshes += 1;
        assert!(
            r.len() as u64 >= last,
            "T2: commit {last} had completed before the refresh, which shows {}",
            r.len()
        );
        if r.len() != seen {
            assert!(
                r.len() > seen,
                "length went back from {seen} to {}",
                r.len()
            );
            check_new(&r, seen, &mut checked);
            seen = r.len();
            roles::say(&format!("a {seen}"));
        }
        for _ in 0..8 {
            if seen > 0 {
                let i = rng.usize(..seen);
                assert_eq!(r.get(i), Some(value(i)), "element {i} (sample)");
                checked += 1;
            }
        }
        if stop {
            break;
        }
    }
    roles::say(&format!("refreshes {refreshes} checked {checked}"));
}

/// T1 + T2 + L6: a writer process and a reader process for several seconds, through at
/// least five growth steps; `inspect` beside them many times.
#[test]
fn t1_t2_a_reader_process_sees_every_commit_of_a_writer_process_and_nothing_else() {
    if let Some(arg) = roles::role(T1) {
        match arg.split_once(';') {
            Some(("writer", path)) => writer(path),
            Some(("reader", path)) => reader(path),
            _ => panic!("role {arg}"),
        }
        return;
    }
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let path = p.to_str().unwrap();
    let started = Instant::now();
    let mut w = roles::spawn(T1, &format!("writer;{path}"));
    let (wrx, wlines) = roles::lines(w.stdout.take().unwrap());
    assert_eq!(
        wrx.recv_timeout(Duration::from_secs(20)).as_deref(),
        Ok("opened")
    );
    let mut r = roles::spawn(T1, &format!("reader;{path}"));
    let (_rrx, rlines) = roles::lines(r.stdout.take().unwrap());
    let mut to_reader = r.stdin.take().unwrap();
    let mut committed = vec![0usize];
    let (mut inspected, mut inspect_len) = (0, 0);
    loop {
        let line = wrx
            .recv_timeout(Duration::from_secs(60))
            .expect("the writer went quiet");
        if line == "done" {
            break;
        }
        if let Some(n) = line.strip_prefix("c ") {
            let n: usize = n.parse().unwrap();
            committed.push(n);
            writeln!(to_reader, "{n}").unwrap();
            to_reader.flush().unwrap();
            // L6: inspect beside the writer and the reader.
            if committed.len() % 7 == 0 {
                let info = inspect(&p).unwrap();
                assert!(info.len >= inspect_len, "inspect went back");
                assert!(info.len as usize >= n, "inspect missed commit {n}");
                assert!(4096 + info.len * 8 <= info.file_size);
                inspect_len = info.len;
                inspected += 1;
            }
        }
    }
    let ws = w.wait().unwrap();
    assert!(ws.success(), "writer: {ws}");
    drop(to_reader);
    let rs = r.wait().unwrap();
    assert!(rs.success(), "reader (a signal would show here): {rs}");
    let wlines = wlines.join().unwrap();
    let rlines = rlines.join().unwrap();
    let growths = wlines.iter().filter(|l| l.starts_with("g ")).count();
    let adopted: Vec<usize> = rlines
        .iter()
        .filter_map(|l| l.strip_prefix("a ")?.parse().ok())
        .collect();
    let summary = rlines.last().unwrap();
    let final_len = *committed.last().unwrap();
    assert!(
        adopted.windows(2).all(|w| w[0] <= w[1]),
        "lengths went back"
    );
    let set: std::collections::HashSet<usize> = committed.iter().copied().collect();
    for a in &adopted {
        assert!(
            set.contains(a),
            "the reader saw length {a}, never committed"
        );
    }
    assert_eq!(
        adopted.last(),
        Some(&final_len),
        "the last commit was not seen"
    );
    assert!(growths >= 5, "only {growths} growth steps");
    assert!(inspected > 0);
    println!(
        "t1: {} commits, {} lengths adopted, {growths} growth steps, final length {final_len}, \
         {inspected} inspects, reader: {summary}, in {:.1} s",
        committed.len() - 1,
        adopted.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        final_len >= MAX_ELEMS || adopted.len() > 20,
        "too little happened"
    );
}

std::thread_local! {
    static REMAPS: Cell<usize> = const { Cell::new(0) };
    static STATS: Cell<usize> = const { Cell::new(0) };
}

fn count(op: Op) {
    match op {
        Op::Remap => REMAPS.with(|c| c.set(c.get() + 1)),
        Op::Stat => STATS.with(|c| c.set(c.get() + 1)),
        _ => {}
    }
}

/// `(changed, remaps, fstats)` of one refresh.
fn counted_refresh(r: &mut LiveReader<u64>) -> (bool, usize, usize) {
    REMAPS.with(|c| c.set(0));
    STATS.with(|c| c.set(0));
    fault::observe(Some(count));
    let changed = r.refresh().unwrap();
    fault::observe(None);
    (changed, REMAPS.with(Cell::get), STATS.with(Cell::get))
}

/// T3: nothing new: no remap, no `fstat`; a new length inside the mapping: none either; a
/// length past it: exactly one `fstat` and one remap.
#[test]
fn t3_a_refresh_remaps_once_and_only_past_its_mapping() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.extend_from_slice(&[1; 100]).unwrap();
    w.sync().unwrap();
    let cap = w.capacity();
    let mut r = live(&p);
    assert_eq!(counted_refresh(&mut r), (false, 0, 0));
    w.extend_from_slice(&vec![2; cap - 100]).unwrap();
    assert_eq!(w.capacity(), cap, "no growth yet");
    w.sync().unwrap();
    assert_eq!(counted_refresh(&mut r), (true, 0, 0), "inside the mapping");
    assert_eq!(r.len(), cap);
    w.extend_from_slice(&vec![3; 10 * cap]).unwrap();
    w.sync().unwrap();
    assert_eq!(counted_refresh(&mut r), (true, 1, 1), "past the mapping");
    assert_eq!(r.len(), 11 * cap);
    assert_eq!(r.get(11 * cap - 1), Some(3));
    assert_eq!(counted_refresh(&mut r), (false, 0, 0));
    // Growth the reader already mapped (it maps the whole file): no remap for the next.
    w.reserve(100 * cap).unwrap();
    w.extend_from_slice(&[4; 10]).unwrap();
    w.sync().unwrap();
    assert!(counted_refresh(&mut r).0);
    w.extend_from_slice(&[5; 10]).unwrap();
    w.sync().unwrap();
    assert_eq!(counted_refresh(&mut r), (true, 0, 0));
    assert_eq!(r.get(r.len() - 1), Some(5));
}

const T4: &str = "t4_a_refresh_with_nothing_new_makes_no_system_call";

/// What the seccomp thread found: 0 not yet, 1 all right, 2 a wrong value, 3 no seccomp.
static RESULT: AtomicU8 = AtomicU8::new(0);
static CHANGES: AtomicU64 = AtomicU64::new(0);
/// The seccomp thread's id, to see whether it is still alive.
static TID: AtomicU64 = AtomicU64::new(0);

/// T4: in a child, a reader thread enters seccomp strict mode (any system call but `read`,
/// `write` and `exit` kills the process with `SIGKILL`; so would a `malloc` that needs
/// `mmap` or `brk`), then refreshes a million times and more while the writer (another
/// thread) commits lengths inside the reader's mapping, and reads every element with `get`,
/// `copy_to` and `iter`. It leaves with the raw `exit` system call.
#[test]
fn t4_a_refresh_with_nothing_new_makes_no_system_call() {
    let dir = common::tmpdir();
    common::child::isolated(T4, dir.path(), |dir| {
        let p = dir.join("v.bin");
        let mut w = OpenOptions::new()
            .capacity(1 << 20)
            .open::<u64>(&p)
            .unwrap();
        let first: Vec<u64> = (0..1000).map(|i| i as u64).collect();
        w.extend_from_slice(&first).unwrap();
        w.sync().unwrap();
        let mut r = live(&p);
        r.refresh().unwrap();
        let done = std::sync::Arc::new(AtomicBool::new(false));
        let done2 = done.clone();
        std::thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            TID.store(unsafe { libc::gettid() } as u64, Ordering::SeqCst);
            // SAFETY: prctl with constant arguments.
            let rc = unsafe {
                libc::prctl(
                    libc::PR_SET_SECCOMP,
                    libc::SECCOMP_MODE_STRICT as libc::c_ulong,
                    0,
                    0,
                    0,
                )
            };
            if rc != 0 {
                RESULT.store(3, Ordering::SeqCst);
                done2.store(true, Ordering::SeqCst);
                return;
            }
            // From here on: no system call but read, write and exit.
            let mut changes = 0u64;
            let mut ok = true;
            let mut i = 0u64;
            while i < 1_000_000 || (changes < 5 && i < 2_000_000_000) {
                match r.refresh() {
                    Ok(true) => changes += 1,
                    Ok(false) => {}
                    Err(_) => ok = false,
                }
                i += 1;
            }
            let n = r.len();
            let want = (n as u64) * (n as u64 - 1) / 2;
            let by_get: u64 = (0..n).map(|i| r.get(i).unwrap_or(u64::MAX)).sum();
            let by_iter: u64 = r.iter().sum();
            let mut buf = [0u64; 512];
            let (mut at, mut by_copy) = (0, 0u64);
            while at < n {
                let k = r.copy_to(at, &mut buf);
                by_copy += buf[..k].iter().sum::<u64>();
                at += k;
            }
            ok &= by_get == want && by_iter == want && by_copy == want;
            CHANGES.store(changes, Ordering::SeqCst);
            RESULT.store(if ok { 1 } else { 2 }, Ordering::SeqCst);
            done2.store(true, Ordering::SeqCst);
            // SAFETY: raw system calls: `write` of a static buffer, then `exit` of this
            // thread alone (glibc's `exit` would use `exit_group`, which strict mode kills).
            unsafe {
                libc::write(1, b"@strict ok\n".as_ptr().cast(), 11);
                libc::syscall(libc::SYS_exit, 0);
            }
        });
        // The writer: lengths inside the reader's mapping (the capacity was reserved
        // before the reader opened, and it maps the whole file).
        let start = Instant::now();
        while !done.load(Ordering::SeqCst) {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the reader hangs"
            );
            // With other threads alive, strict mode kills only the offending thread.
            let tid = TID.load(Ordering::SeqCst);
            if tid != 0 && !Path::new(&format!("/proc/self/task/{tid}")).exists() {
                // Read `done` again: the thread sets it before its own `exit`.
                assert!(
                    done.load(Ordering::SeqCst),
                    "the reader thread was killed: it made a system call under seccomp \
                     strict mode"
                );
            }
            if w.len() + 100 < 1 << 20 {
                for _ in 0..100 {
                    let i = w.len();
                    w.push(i as u64).unwrap();
                }
                w.sync().unwrap();
            } else {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        match RESULT.load(Ordering::SeqCst) {
            1 => println!(
                "t4: refreshes under seccomp strict mode: {} commits adopted, no system call",
                CHANGES.load(Ordering::SeqCst)
            ),
            3 => eprintln!("SKIPPED: {T4}: prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) refused"),
            other => panic!("the reader found wrong values (result {other})"),
        }
        assert!(
            RESULT.load(Ordering::SeqCst) == 3 || CHANGES.load(Ordering::SeqCst) >= 5,
            "too few commits were adopted under seccomp"
        );
        // Leave before the harness joins the thread that exited by itself.
        std::io::stdout().flush().unwrap();
        std::process::exit(0);
    });
}
