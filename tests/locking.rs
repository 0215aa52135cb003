//! The lock protocol: one writer (exclusive `flock`) or many readers (shared `flock`),
//! honoured both ways with another process, `wait_for_lock`, release on drop and close, and
//! `O_CLOEXEC`. Also the permission bits of new files.

mod common;

use persistence::{ErrorKind, MmapedSlice, MmapedVec, OpenOptions};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[test]
fn second_writer_is_locked() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.push(1).unwrap();
    let e = MmapedVec::<u64>::open(&path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Locked);
    assert!(e.to_string().contains("locked"), "{e}");
    // The failed open did not disturb the holder.
    v.push(2).unwrap();
    v.sync().unwrap();
    assert_eq!(v, [1, 2]);
}

#[test]
fn reader_under_a_writer_is_locked_and_writer_under_a_reader_too() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let v = MmapedVec::<u64>::open(&path).unwrap();
    assert_eq!(
        MmapedSlice::<u64>::open(&path).unwrap_err().kind(),
        ErrorKind::Locked
    );
    drop(v);
    let r = MmapedSlice::<u64>::open(&path).unwrap();
    assert_eq!(
        MmapedVec::<u64>::open(&path).unwrap_err().kind(),
        ErrorKind::Locked
    );
    drop(r);
    MmapedVec::<u64>::open(&path).unwrap();
}

#[test]
fn readers_share() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.extend_from_slice(&[5, 6, 7]).unwrap();
    v.close().unwrap();
    let readers: Vec<_> = (0..4)
        .map(|_| MmapedSlice::<u64>::open(&path).unwrap())
        .collect();
    for r in &readers {
        assert_eq!(&r[..], &[5, 6, 7]);
    }
}

#[test]
fn dropping_and_closing_release_the_lock() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    for _ in 0..3 {
        let v = MmapedVec::<u64>::open(&path).unwrap();
        drop(v);
        let v = MmapedVec::<u64>::open(&path).unwrap();
        v.close().unwrap();
        let r = MmapedSlice::<u64>::open(&path).unwrap();
        drop(r);
    }
}

#[test]
fn wait_for_lock_waits_for_the_holder() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&path).unwrap();
    v.push(41).unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let (r2, p2) = (released.clone(), path.clone());
    let waiter = std::thread::spawn(move || {
        let mut w = OpenOptions::new()
            .wait_for_lock(true)
            .open::<u64>(&p2)
            .unwrap();
        // The lock can only have been granted after the holder let go.
        assert!(
            r2.load(Ordering::SeqCst),
            "wait_for_lock returned while the lock was held"
        );
        w.push(42).unwrap();
        w.close().unwrap();
    });
    std::thread::sleep(Duration::from_millis(200));
    assert!(!waiter.is_finished(), "the waiter did not wait");
    released.store(true, Ordering::SeqCst);
    v.close().unwrap();
    waiter.join().unwrap();
    assert_eq!(&MmapedSlice::<u64>::open(&path).unwrap()[..], &[41, 42]);
}

/// Starts `python3` holding `flock(op)` on `path`; returns once it holds it.
fn python_holding(path: &std::path::Path, op: &str) -> Option<std::process::Child> {
    let script = format!(
        "import fcntl, sys\nf = open(sys.argv[1], 'rb')\nfcntl.flock(f, fcntl.{op})\nprint('locked', flush=True)\nsys.stdin.read()\n"
    );
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut()?)
        .read_line(&mut line)
        .ok()?;
    assert_eq!(line.trim(), "locked");
    Some(child)
}

fn release(mut child: std::process::Child) {
    drop(child.stdin.take()); // EOF on its stdin: it exits and its lock goes.
    child.wait().unwrap();
}

/// Asks `python3` to try `flock(op | LOCK_NB)` on `path`: `Some(true)` if it got the lock.
fn python_try_lock(path: &std::path::Path, op: &str) -> Option<bool> {
    let script = format!(
        "import fcntl, sys\nf = open(sys.argv[1], 'rb')\ntry:\n    fcntl.flock(f, fcntl.{op} | fcntl.LOCK_NB)\n    print('got')\nexcept BlockingIOError:\n    print('busy')\n"
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .ok()?;
    match String::from_utf8_lossy(&out.stdout).trim() {
        "got" => Some(true),
        "busy" => Some(false),
        other => panic!(
            "python said {other:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[test]
fn another_process_lock_is_honoured_both_ways() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    MmapedVec::<u64>::open(&path).unwrap().close().unwrap();

    let Some(child) = python_holding(&path, "LOCK_EX") else {
        eprintln!("another_process_lock_is_honoured_both_ways: skipped: python3 is not available");
        return;
    };
    assert_eq!(
        MmapedVec::<u64>::open(&path).unwrap_err().kind(),
        ErrorKind::Locked
    );
    assert_eq!(
        MmapedSlice::<u64>::open(&path).unwrap_err().kind(),
        ErrorKind::Locked
    );
    release(child);
    MmapedVec::<u64>::open(&path).unwrap();

    // A shared lock elsewhere: readers share it, a writer is refused.
    let child = python_holding(&path, "LOCK_SH").unwrap();
    MmapedSlice::<u64>::open(&path).unwrap();
    assert_eq!(
        MmapedVec::<u64>::open(&path).unwrap_err().kind(),
        ErrorKind::Locked
    );
    release(child);

    // And the other way: while we hold the file, the other process cannot lock it.
    let v = MmapedVec::<u64>::open(&path).unwrap();
    assert_eq!(python_try_lock(&path, "LOCK_EX"), Some(false));
    assert_eq!(python_try_lock(&path, "LOCK_SH"), Some(false));
    drop(v);
    let r = MmapedSlice::<u64>::open(&path).unwrap();
    assert_eq!(python_try_lock(&path, "LOCK_SH"), Some(true));
    assert_eq!(python_try_lock(&path, "LOCK_EX"), Some(false));
    drop(r);
    assert_eq!(python_try_lock(&path, "LOCK_EX"), Some(true));
}

#[test]
fn a_spawned_child_does_not_inherit_the_file_or_its_lock() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    let v = MmapedVec::<u64>::open(&path).unwrap();
    let mut child = Command::new("sleep").arg("30").spawn().unwrap();
    // O_CLOEXEC: the child holds no descriptor of the file.
    let fds: Vec<_> = std::fs::read_dir(format!("/proc/{}/fd", child.id()))
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .collect();
    assert!(
        !fds.iter().any(|p| p == &path),
        "child inherited {path:?}: {fds:?}"
    );
    drop(v);
    // The lock is free although the child lives on.
    let reopened = MmapedVec::<u64>::open(&path);
    child.kill().unwrap();
    child.wait().unwrap();
    reopened.unwrap();
}

fn umask() -> u32 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line.split_whitespace().nth(1).unwrap(), 8).unwrap()
}

#[test]
fn new_files_are_0o600_by_default_and_mode_sets_them() {
    use std::os::unix::fs::PermissionsExt;
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "v.bin");
    MmapedVec::<u64>::open(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600 & !umask());
    assert_eq!(
        mode & 0o077,
        0,
        "group or others may access a new file: {mode:o}"
    );
    let path = common::path_in(&dir, "w.bin");
    OpenOptions::new().mode(0o640).open::<u64>(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640 & !umask());
}
