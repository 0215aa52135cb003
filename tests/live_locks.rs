//! Live readers and locks (issue 9): a writer and live readers share a file in any order and
//! across processes, while a second writer, `MmapedSlice`, `inspect` and outside programs'
//! `flock` see exactly the locks they saw before; the live readers' lock file `<file>-live`
//! is held by readers only, released when they close or die, and not kept by a spawned child.
//! The outside program is `python3` (`fcntl.flock`), a separate process.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::roles::{self, outside_flock, OutsideLock};
use persistence::test_hooks as fault;
use persistence::{inspect, ErrorKind, LiveReader, MmapedSlice, MmapedVec, OpenOptions};

fn live(path: &Path) -> persistence::Result<LiveReader<u64>> {
    OpenOptions::new().open_live::<u64>(path)
}

fn lock_file(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push("-live");
    PathBuf::from(s)
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// What a reader sees of one writer, step by step in one thread; the errors of `open_live`.
#[test]
fn a_reader_sees_commits_only_and_open_live_refuses_what_open_refuses() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");

    // Missing: NotFound, and nothing is created.
    assert_eq!(live(&p).unwrap_err().kind(), ErrorKind::NotFound);
    assert!(names_in(dir.path()).is_empty());

    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    // The writer leaves the lock file beside the data file.
    assert_eq!(names_in(dir.path()), ["v.bin", "v.bin-live"]);
    assert_eq!(std::fs::metadata(lock_file(&p)).unwrap().len(), 0);

    let mut r = live(&p).unwrap();
    assert_eq!((r.len(), r.is_empty()), (0, true));
    assert!(!r.refresh().unwrap());
    w.extend_from_slice(&[1, 2, 3]).unwrap();
    assert!(
        !r.refresh().unwrap(),
        "uncommitted elements are not visible"
    );
    assert_eq!((r.len(), r.get(0)), (0, None));
    w.sync().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.len(), 3);
    assert_eq!(r.iter().collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(r.iter().rev().collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(r.iter().len(), 3);
    assert_eq!((r.get(2), r.get(3)), (Some(3), None));
    let mut out = [0u64; 5];
    assert_eq!(r.copy_to(1, &mut out), 2);
    assert_eq!(out[..2], [2, 3]);
    assert_eq!(r.copy_to(3, &mut out), 0);
    assert_eq!(r.copy_to(usize::MAX, &mut out), 0);
    // SAFETY: the writer changes nothing below the reader's length while the slice lives.
    assert_eq!(unsafe { r.as_slice() }, &[1, 2, 3]);
    // In-place changes are seen at once, without a commit.
    w[0] = 10;
    assert_eq!(r.get(0), Some(10));
    // A shorter commit is seen as shorter.
    w.truncate(1);
    w.sync().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.len(), 1);
    // Same length again (in-place change, sync): nothing new for the reader.
    w[0] = 11;
    w.sync().unwrap();
    assert!(!r.refresh().unwrap());
    assert_eq!(r.get(0), Some(11));
    // A second reader, then closing both.
    let r2 = live(&p).unwrap();
    assert_eq!(r2.len(), 1);
    r2.close().unwrap();
    assert!(format!("{r:?}").contains("len: 1"));
    r.close().unwrap();
    w.close().unwrap();

    // The same checks as `open`, in the same order.
    let e = OpenOptions::new()
        .magic(*b"OTHERAPP")
        .open_live::<u64>(&p)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MagicMismatch);
    let e = OpenOptions::new()
        .version(9)
        .open_live::<u64>(&p)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::VersionMismatch);
    let e = OpenOptions::new().open_live::<u32>(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::LayoutMismatch);
    let e = OpenOptions::new().open_live::<u64>(dir.path()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotARegularFile);
    let text = common::path_in(&dir, "text");
    std::fs::write(&text, b"not a vector file at all").unwrap();
    assert_eq!(live(&text).unwrap_err().kind(), ErrorKind::BadMagic);
    let swapped = common::path_in(&dir, "swapped");
    let mut b = common::read(&p);
    b[16..20].reverse();
    std::fs::write(&swapped, &b).unwrap();
    assert_eq!(
        live(&swapped).unwrap_err().kind(),
        ErrorKind::WrongEndianness
    );
    let noslot = common::path_in(&dir, "noslot");
    let mut b = common::read(&p);
    b[512] ^= 1;
    b[1024] ^= 1;
    std::fs::write(&noslot, &b).unwrap();
    assert_eq!(live(&noslot).unwrap_err().kind(), ErrorKind::Corrupt);
    let cut = common::path_in(&dir, "cut");
    let mut b = common::read(&p);
    b.truncate(2000);
    std::fs::write(&cut, &b).unwrap();
    assert_eq!(live(&cut).unwrap_err().kind(), ErrorKind::Corrupt);
    assert_eq!(
        live(Path::new("a\0b")).unwrap_err().kind(),
        ErrorKind::InvalidPath
    );
}

/// A file with no commit yet (empty; a header page of zeros left by a creation that died)
/// opens as an empty reader, which finds the first commit at a refresh.
#[test]
fn a_file_without_a_commit_opens_empty_and_the_first_commit_shows() {
    let dir = common::tmpdir();
    for (name, contents) in [("empty.bin", &[][..]), ("zeros.bin", &[0u8; 4096][..])] {
        let p = common::path_in(&dir, name);
        std::fs::write(&p, contents).unwrap();
        let mut r = live(&p).unwrap();
        assert_eq!(r.len(), 0, "{name}");
        assert!(!r.refresh().unwrap());
        assert_eq!(r.iter().count(), 0);
        // SAFETY: empty.
        assert!(unsafe { r.as_slice() }.is_empty());
        let mut w = MmapedVec::<u64>::open(&p).unwrap();
        assert!(!r.refresh().unwrap(), "{name}: a created, empty vector");
        w.extend_from_slice(&[5, 6]).unwrap();
        w.sync().unwrap();
        assert!(r.refresh().unwrap(), "{name}");
        assert_eq!(r.iter().collect::<Vec<_>>(), [5, 6], "{name}");
    }
    // A created, empty vector (a header page, one valid slot) that a reader has mapped is
    // never re-created under it by the next writer.
    let p = common::path_in(&dir, "created.bin");
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 4096);
    let before = common::read(&p);
    let mut r = live(&p).unwrap();
    fn no_cut(op: fault::Op) {
        assert_ne!(
            op,
            fault::Op::Truncate,
            "the writer cut a file a reader has mapped"
        );
    }
    fault::observe(Some(no_cut));
    let w = MmapedVec::<u64>::open(&p);
    fault::observe(None);
    let mut w = w.unwrap();
    assert_eq!(
        common::read(&p),
        before,
        "the next writer rewrote the header"
    );
    assert!(!r.refresh().unwrap());
    w.push(1).unwrap();
    w.sync().unwrap();
    assert!(r.refresh().unwrap());
    assert_eq!(r.get(0), Some(1));
}

const L1: &str = "writer_and_live_readers_share_the_file_and_everyone_else_sees_todays_locks";

/// L1: a writer, then live readers in this process and another; a second writer,
/// `MmapedSlice` and an outside `flock` are refused as before; `inspect` reads beside the
/// writer and creates nothing.
#[test]
fn writer_and_live_readers_share_the_file_and_everyone_else_sees_todays_locks() {
    if let Some(path) = roles::role(L1) {
        // In the child: a live reader beside the parent's writer.
        let r = live(Path::new(&path)).unwrap();
        assert_eq!(r.iter().collect::<Vec<_>>(), [7, 8]);
        r.close().unwrap();
        roles::say("ok");
        return;
    }
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut w = OpenOptions::new().open::<u64>(&p).unwrap();
    w.extend_from_slice(&[7, 8]).unwrap();
    w.sync().unwrap();
    let r = live(&p).unwrap();
    assert_eq!(r.len(), 2);
    // Another process.
    let mut child = roles::spawn(L1, p.to_str().unwrap());
    let (_rx, lines) = roles::lines(child.stdout.take().unwrap());
    let status = child.wait().unwrap();
    assert!(status.success(), "the reader in another process: {status}");
    assert_eq!(lines.join().unwrap(), ["ok"]);
    // Everyone else: as without live readers.
    assert_eq!(
        MmapedVec::<u64>::open(&p).unwrap_err().kind(),
        ErrorKind::Locked
    );
    assert_eq!(
        MmapedSlice::<u64>::open(&p).unwrap_err().kind(),
        ErrorKind::Locked
    );
    assert!(!outside_flock(&p, "LOCK_SH"), "python got a shared lock");
    assert!(
        !outside_flock(&p, "LOCK_EX"),
        "python got an exclusive lock"
    );
    let info = inspect(&p).unwrap();
    assert_eq!(info.len, 2);
    w.push(9).unwrap();
    assert_eq!(inspect(&p).unwrap().len, 2);
    drop(r);
    w.close().unwrap();

    // inspect beside an exclusive lock creates no lock file.
    std::fs::remove_file(lock_file(&p)).unwrap();
    let before = names_in(dir.path());
    let holder = OutsideLock::exclusive(&p);
    assert_eq!(inspect(&p).unwrap().len, 3);
    assert_eq!(names_in(dir.path()), before, "inspect created a file");
    drop(holder);
}

/// L2: with live readers and no writer, the data file carries no lock of theirs: an
/// `MmapedSlice` opens, an outside program gets the exclusive lock, a writer opens.
#[test]
fn live_readers_hold_no_lock_on_the_data_file() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    let a = live(&p).unwrap();
    let b = live(&p).unwrap();
    drop(MmapedSlice::<u64>::open(&p).unwrap());
    assert!(outside_flock(&p, "LOCK_EX"));
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.push(1).unwrap();
    w.close().unwrap();
    drop((a, b));
}

const L3: &str = "the_lock_file_is_held_by_readers_and_released_when_they_close_or_die";

/// L3: a live reader holds `<file>-live` (an outside exclusive `flock` fails); closing it, or
/// killing its process with `SIGKILL`, releases it.
#[test]
fn the_lock_file_is_held_by_readers_and_released_when_they_close_or_die() {
    if let Some(path) = roles::role(L3) {
        let _r = live(Path::new(&path)).unwrap();
        roles::say("open");
        std::thread::sleep(Duration::from_secs(60));
        return;
    }
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    let s = lock_file(&p);
    let r = live(&p).unwrap();
    assert!(!outside_flock(&s, "LOCK_EX"));
    assert!(outside_flock(&s, "LOCK_SH"), "readers share it");
    drop(r);
    assert!(outside_flock(&s, "LOCK_EX"));

    let mut child = roles::spawn(L3, p.to_str().unwrap());
    let (rx, _lines) = roles::lines(child.stdout.take().unwrap());
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(20)).as_deref(),
        Ok("open")
    );
    assert!(!outside_flock(&s, "LOCK_EX"), "the reader process holds it");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(outside_flock(&s, "LOCK_EX"), "SIGKILL released it");
}

/// L4: an outside program holding `<file>-live` exclusively (as a cutting writer does) makes
/// `open_live` wait until it lets go, and makes a writer's cut wait.
#[test]
fn an_exclusive_lock_on_the_lock_file_makes_readers_wait_and_cuts_wait() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.extend_from_slice(&vec![1; 100_000]).unwrap();
    w.sync().unwrap();
    let holder = OutsideLock::exclusive(&lock_file(&p));
    let done = Arc::new(AtomicBool::new(false));
    let (p2, done2) = (p.clone(), done.clone());
    let opener = std::thread::spawn(move || {
        let r = live(&p2).unwrap();
        done2.store(true, Ordering::SeqCst);
        r.len()
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !done.load(Ordering::SeqCst),
        "open_live returned while <file>-live was locked exclusively"
    );
    // The writer cannot cut meanwhile either.
    let size = std::fs::metadata(&p).unwrap().len();
    w.truncate(10);
    w.sync().unwrap();
    w.shrink_to_fit().unwrap();
    assert_eq!(
        std::fs::metadata(&p).unwrap().len(),
        size,
        "cut under a lock"
    );
    drop(holder);
    assert_eq!(opener.join().unwrap(), 10);
    assert!(done.load(Ordering::SeqCst));
}

/// L5: a child spawned while a reader is open (fork + exec) does not keep `<file>-live`
/// locked once the reader drops, nor hold a descriptor of it.
#[test]
fn a_spawned_child_does_not_keep_the_readers_lock() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    let s = lock_file(&p);
    let r = live(&p).unwrap();
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    let fds: Vec<_> = std::fs::read_dir(format!("/proc/{}/fd", child.id()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .collect();
    assert!(
        !fds.iter().any(|f| f == &s || f == &p),
        "the child inherited a descriptor: {fds:?}"
    );
    drop(r);
    let free = outside_flock(&s, "LOCK_EX");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(free, "the lock outlived the reader in a spawned child");
}

/// A reader is `Send` and `Sync`: it moves to another thread, and threads share it to read.
#[test]
fn a_reader_moves_between_threads_and_is_shared_by_them() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    w.extend_from_slice(&(0..1000).collect::<Vec<u64>>())
        .unwrap();
    w.sync().unwrap();
    let r = live(&p).unwrap();
    send_sync(&r);
    let r = std::thread::spawn(move || {
        assert_eq!(r.len(), 1000);
        r
    })
    .join()
    .unwrap();
    let sums: Vec<u64> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|k| {
                let r = &r;
                s.spawn(move || r.iter().skip(k * 250).take(250).sum::<u64>())
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(sums.iter().sum::<u64>(), 999 * 1000 / 2);
}
