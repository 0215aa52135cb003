//! Readers that sleep until the next commit: `LiveReader::wait_for_commit` and
//! `LiveGroup::wait_for_commit`. Across processes and threads, through writers that stop,
//! die, are replaced and whose file is converted in place; with signals and spurious
//! wake-ups; with no CPU used while waiting; and through the polling fallback, which a test
//! switch turns on here (`test_hooks::force_polling`) so that both paths run on Linux.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use persistence::test_hooks::{self as fault, Op};
use persistence::{Group, MmapedVec, OpenOptions};

const WRITER_ENV: &str = "PERSISTENCE_WAIT_WRITER";

/// This thread's CPU time (user + system), from `getrusage(RUSAGE_THREAD)`.
fn thread_cpu() -> Duration {
    // SAFETY: an all-zero `rusage` is a valid value; `getrusage` fills it.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a `rusage` this frame owns.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) }, 0);
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// The writer process: commits `n` elements one at a time (element `i` is `i`) at random
/// intervals of 0 to 3 ms, printing each committed length, then sleeps `linger_ms` (or
/// forever, to be killed).
fn writer_main(path: &str) {
    let n: u64 = std::env::var("WAIT_N").unwrap().parse().unwrap();
    let linger: u64 = std::env::var("WAIT_LINGER_MS").unwrap().parse().unwrap();
    let mut rng = fastrand::Rng::with_seed(n);
    let mut v = MmapedVec::<u64>::open(path).unwrap();
    println!("open");
    for i in v.len() as u64..n {
        std::thread::sleep(Duration::from_micros(rng.u64(0..3000)));
        v.push(i).unwrap();
        v.sync().unwrap();
        println!("{}", i + 1);
    }
    std::thread::sleep(Duration::from_millis(linger));
}

fn spawn_writer(test: &str, path: &std::path::Path, n: u64, linger_ms: u64) -> std::process::Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", test, "--nocapture", "-q"])
        .env(WRITER_ENV, path)
        .env("WAIT_N", n.to_string())
        .env("WAIT_LINGER_MS", linger_ms.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for "open" (after the test harness's own lines): the writer holds the file.
    let out = child.stdout.take().unwrap();
    let mut lines = BufReader::new(out).lines();
    loop {
        let line = lines.next().expect("the writer said nothing").unwrap();
        if line.trim() == "open" {
            break;
        }
    }
    // Keep reading its output, so that it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    child
}

/// Every length the reader adopts is one the writer committed (each element is its index,
/// each commit one more), and it sees the last one; once the writer stops, a wait returns
/// `false` within its timeout.
fn follow_a_writer_in_another_process(test: &str, polling: bool) {
    if let Ok(p) = std::env::var(WRITER_ENV) {
        return writer_main(&p);
    }
    let dir = common::tmpdir();
    let p = dir.path().join("tail.bin");
    drop(MmapedVec::<u64>::open(&p).unwrap());
    let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap();
    fault::force_polling(polling);
    let n = 300;
    let mut child = spawn_writer(test, &p, n, 300);
    let (mut wakes, mut last) = (0, 0);
    while last < n as usize {
        assert!(
            r.wait_for_commit(None).unwrap(),
            "None waits until a commit"
        );
        wakes += 1;
        let len = r.len();
        assert!(len > last, "a wait returned true with nothing new");
        for (i, x) in r.iter_from(last).enumerate() {
            assert_eq!(x, (last + i) as u64, "element {}", last + i);
        }
        last = len;
    }
    let t = Instant::now();
    assert!(!r.wait_for_commit(Some(Duration::from_millis(100))).unwrap());
    let waited = t.elapsed();
    assert!(
        waited >= Duration::from_millis(95) && waited < Duration::from_secs(3),
        "a timeout of 100 ms took {waited:?}"
    );
    assert!(child.wait().unwrap().success());
    fault::force_polling(false);
    println!("{test}: {wakes} wake-ups for {n} commits");
}

#[test]
fn a_reader_in_another_process_sees_every_commit_by_waiting() {
    follow_a_writer_in_another_process(
        "a_reader_in_another_process_sees_every_commit_by_waiting",
        false,
    );
}

#[test]
fn the_polling_fallback_sees_every_commit_too() {
    follow_a_writer_in_another_process("the_polling_fallback_sees_every_commit_too", true);
}

/// A writer killed with `SIGKILL` mid-stream: the reader's wait returns `false` after its
/// timeout, with the last committed length, every element right.
#[test]
fn a_waiting_reader_outlives_a_killed_writer() {
    const T: &str = "a_waiting_reader_outlives_a_killed_writer";
    if let Ok(p) = std::env::var(WRITER_ENV) {
        return writer_main(&p);
    }
    let dir = common::tmpdir();
    let p = dir.path().join("tail.bin");
    drop(MmapedVec::<u64>::open(&p).unwrap());
    let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap();
    let mut child = spawn_writer(T, &p, 1_000_000, 0);
    while r.len() < 50 {
        r.wait_for_commit(Some(Duration::from_secs(5))).unwrap();
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Whatever was committed before the kill may still show: drain it, then time out.
    while r.wait_for_commit(Some(Duration::from_millis(200))).unwrap() {}
    let n = r.len();
    assert!(r.iter().enumerate().all(|(i, x)| x == i as u64));
    // A new writer after the dead one wakes the same reader.
    let waiter = std::thread::spawn(move || {
        let woke = r.wait_for_commit(Some(Duration::from_secs(10))).unwrap();
        (woke, r.len())
    });
    std::thread::sleep(Duration::from_millis(100));
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    assert_eq!(w.len(), n);
    w.push(n as u64).unwrap();
    w.sync().unwrap();
    assert_eq!(waiter.join().unwrap(), (true, n + 1));
}

/// Two readers of one process, each waiting on its own thread, both woken by one commit;
/// a reader of a group too.
#[test]
fn several_readers_wait_and_one_commit_wakes_them_all() {
    let dir = common::tmpdir();
    let p = dir.path().join("v.bin");
    let g = dir.path().join("g.bin");
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    let mut gw = Group::<(u64, u16)>::open(&g).unwrap();
    w.push(0).unwrap();
    w.sync().unwrap();
    gw.push_row((0, 0)).unwrap();
    gw.sync().unwrap();
    let mut threads = Vec::new();
    for _ in 0..2 {
        let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap();
        r.refresh().unwrap();
        threads.push(std::thread::spawn(move || {
            let t = Instant::now();
            let woke = r.wait_for_commit(Some(Duration::from_secs(10))).unwrap();
            (woke, r.len() as u64, t.elapsed())
        }));
    }
    let mut gr = OpenOptions::new()
        .open_group_live::<(u64, u16)>(&g)
        .unwrap();
    gr.refresh().unwrap();
    let group_thread = std::thread::spawn(move || {
        let woke = gr.wait_for_commit(Some(Duration::from_secs(10))).unwrap();
        (woke, gr.generation(), gr.get_row(1))
    });
    std::thread::sleep(Duration::from_millis(200));
    w.push(1).unwrap();
    w.sync().unwrap();
    gw.push_row((1, 1)).unwrap();
    gw.sync().unwrap();
    for t in threads {
        let (woke, len, took) = t.join().unwrap();
        assert_eq!((woke, len), (true, 2));
        assert!(
            took < Duration::from_secs(5),
            "woken by the commit, not the timeout"
        );
    }
    assert_eq!(group_thread.join().unwrap(), (true, 2, Some((1, 1))));
}

/// A timeout of zero checks once: `false` at once with nothing new, `true` with a commit.
#[test]
fn a_zero_timeout_is_a_check() {
    let dir = common::tmpdir();
    let p = dir.path().join("v.bin");
    let mut w = MmapedVec::<u32>::open(&p).unwrap();
    let mut r = OpenOptions::new().open_live::<u32>(&p).unwrap();
    let t = Instant::now();
    for _ in 0..1000 {
        assert!(!r.wait_for_commit(Some(Duration::ZERO)).unwrap());
    }
    assert!(t.elapsed() < Duration::from_secs(1), "no sleeping");
    w.push(1).unwrap();
    w.sync().unwrap();
    assert!(r.wait_for_commit(Some(Duration::ZERO)).unwrap());
    assert_eq!(r.len(), 1);
    // Before the file holds any commit: a reader of an empty file polls until one is made.
    let e = dir.path().join("empty.bin");
    std::fs::write(&e, b"").unwrap();
    let mut r = OpenOptions::new().open_live::<u32>(&e).unwrap();
    assert!(!r.wait_for_commit(Some(Duration::from_millis(20))).unwrap());
    let e2 = e.clone();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        let mut w = MmapedVec::<u32>::open(&e2).unwrap();
        w.push(5).unwrap();
        w.close().unwrap();
    });
    while r.is_empty() {
        assert!(r.wait_for_commit(Some(Duration::from_secs(5))).unwrap() || r.is_empty());
    }
    assert_eq!(r.get(0), Some(5));
    t.join().unwrap();
}

/// Signals and spurious wake-ups are absorbed: a wait cut short by `EINTR` (injected many
/// times, and real signals to the waiting thread) sleeps again until the commit.
#[test]
fn signals_and_spurious_wakeups_are_absorbed() {
    let dir = common::tmpdir();
    let p = dir.path().join("v.bin");
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.push(0).unwrap();
    w.sync().unwrap();
    // Injected: the first 50 sleeps end at once with EINTR.
    let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap();
    r.refresh().unwrap();
    let injected = std::thread::spawn(move || {
        fault::inject_times(Op::Wait, 0, 50, libc::EINTR);
        let woke = r.wait_for_commit(Some(Duration::from_secs(10))).unwrap();
        let left = fault::pending();
        fault::clear();
        (woke, r.len(), left)
    });
    // Real signals: a handler without SA_RESTART, sent to the waiting thread.
    extern "C" fn noop(_: libc::c_int) {}
    // SAFETY: installing a handler that does nothing, for SIGUSR1, without SA_RESTART.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = noop as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, std::ptr::null_mut()), 0);
    }
    static TID: AtomicU64 = AtomicU64::new(0);
    let mut r2 = OpenOptions::new().open_live::<u64>(&p).unwrap();
    r2.refresh().unwrap();
    let signalled = std::thread::spawn(move || {
        // SAFETY: `pthread_self` has no preconditions.
        TID.store(unsafe { libc::pthread_self() } as u64, Ordering::SeqCst);
        let woke = r2.wait_for_commit(Some(Duration::from_secs(10))).unwrap();
        (woke, r2.len())
    });
    while TID.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    for _ in 0..20 {
        std::thread::sleep(Duration::from_millis(10));
        // SAFETY: the thread is alive (it waits for the commit below); SIGUSR1 has a handler.
        unsafe { libc::pthread_kill(TID.load(Ordering::SeqCst) as libc::pthread_t, libc::SIGUSR1) };
    }
    w.push(1).unwrap();
    w.sync().unwrap();
    let (woke, len, left) = injected.join().unwrap();
    assert_eq!((woke, len), (true, 2));
    assert!(!left, "every injected EINTR was absorbed");
    assert_eq!(signalled.join().unwrap(), (true, 2));
}

/// While it waits, a reader uses no CPU: a thread waiting a whole second for a commit that
/// never comes spends (almost) none; the polling fallback spends some (printed).
#[test]
fn a_waiting_reader_uses_no_cpu() {
    let dir = common::tmpdir();
    let p = dir.path().join("v.bin");
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.push(0).unwrap();
    w.sync().unwrap();
    let measure = |polling: bool| {
        let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap();
        r.refresh().unwrap();
        std::thread::spawn(move || {
            fault::force_polling(polling);
            let cpu = thread_cpu();
            let t = Instant::now();
            assert!(!r.wait_for_commit(Some(Duration::from_secs(1))).unwrap());
            (thread_cpu() - cpu, t.elapsed())
        })
        .join()
        .unwrap()
    };
    let (futex_cpu, waited) = measure(false);
    let (poll_cpu, _) = measure(true);
    println!("CPU over a 1 s wait: {futex_cpu:?} (futex), {poll_cpu:?} (polling fallback)");
    assert!(waited >= Duration::from_millis(990), "{waited:?}");
    assert!(
        futex_cpu < Duration::from_millis(5),
        "a waiting reader used {futex_cpu:?} of CPU in a second"
    );
    drop(w);
}

/// A reader waits while its file is converted in place (a new file renamed over the name):
/// it keeps the old file, sees no fault and no foreign length, and its wait times out.
#[test]
fn a_reader_waiting_while_the_file_is_converted_in_place() {
    let dir = common::tmpdir();
    let p = dir.path().join("v.bin");
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.extend_from_slice(&[1, 2, 3]).unwrap();
    w.close().unwrap();
    let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap();
    r.refresh().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let s2 = stop.clone();
    let waiter = std::thread::spawn(move || {
        let mut results = Vec::new();
        while !s2.load(Ordering::SeqCst) {
            results.push(r.wait_for_commit(Some(Duration::from_millis(100))).unwrap());
        }
        (results, r.iter().collect::<Vec<_>>())
    });
    std::thread::sleep(Duration::from_millis(50));
    // A native file converted in place is copied to a new file renamed over the name.
    OpenOptions::new().convert_foreign::<u64>(&p, &p).unwrap();
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.push(4).unwrap();
    w.close().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, Ordering::SeqCst);
    let (results, seen) = waiter.join().unwrap();
    assert!(
        results.iter().all(|&b| !b),
        "the old file had no new commit"
    );
    assert_eq!(seen, [1, 2, 3], "the old file, intact");
    let mut fresh = OpenOptions::new().open_live::<u64>(&p).unwrap();
    fresh.refresh().unwrap();
    assert_eq!(fresh.iter().collect::<Vec<_>>(), [1, 2, 3, 4]);
}
