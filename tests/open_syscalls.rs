//! The system calls of each way of opening an existing file, counted under `strace` and
//! pinned (issue 21), so that no change adds one unnoticed. A change that adds or removes a
//! call updates the list here, and says why in its commit.
//!
//! The child (this test binary again, under `strace -f`) opens each file once before it
//! starts counting (so that one-time work, such as rustix reading the auxiliary vector for
//! the page size, is not counted), then opens it again between two marker `write`s, drops
//! it, and writes the next marker. Without `strace` the test says `SKIPPED` (and fails with
//! `PERSISTENCE_REQUIRE_FS=1`, as CI runs; `ci/setup.sh` installs it).

mod common;

use std::ffi::OsStr;
use std::io::{Read, Write};
use std::path::Path;

use persistence::{Group, MmapedSlice, MmapedVec, OpenOptions};

const TEST: &str = "each_open_makes_the_pinned_system_calls";

/// Each way in, and the calls it makes on an existing file (in order).
const PINNED: [(&str, &[&str]); 5] = [
    (
        "MmapedVec::open",
        &[
            "open",       // the file, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
            "flock",      // LOCK_EX | LOCK_NB
            "fstat",      // size and kind, under the lock
            "pread64",    // the header page
            "readlinkat", // where the live readers' lock file is: the last component
            "open",       // its directory, O_PATH
            "newfstatat", // the name still leads to this file
            "openat",     // <name>-live, O_CREAT | O_EXCL: exists already
            "getpid",     // the owner (the fork rule)
            "mmap",       // the mapping
        ],
    ),
    (
        "MmapedSlice::open",
        &["open", "flock", "fstat", "pread64", "getpid", "mmap"],
    ),
    (
        "open_live",
        &[
            "open",       // the file, read-only
            "fstat",      // a regular file
            "readlinkat", // the lock file's place: the last component
            "open",       // its directory
            "newfstatat", // the name leads to the file
            "statx",      // not a single-file bind mount (STATX_ATTR_MOUNT_ROOT)
            "openat",     // <name>-live
            "fstat",      // an empty regular file
            "flock",      // LOCK_SH
            "fstat",      // the lock file is still the one under that name...
            "newfstatat", // ...(it was not replaced while this waited for its lock)
            "getpid",     // the owner (the fork rule)
            "getpid",     // (checked again before the first read)
            "pread64",    // the header page
            "fstat",      // the size, under the lock
            "mmap",       // the mapping
        ],
    ),
    (
        "Group::open",
        &[
            "open",      // the file
            "flock",     // LOCK_EX | LOCK_NB
            "fstat",     // under the lock
            "pread64",   // the header page
            "getpid",    // the owner
            "pwrite64",  // the winning record again: durable before any table entry is written
            "fdatasync", // its flush
            "mmap",      // the header page, read-only: where waiting readers are woken
            "fcntl",     // column 0's descriptor (F_DUPFD_CLOEXEC)
            "mmap",      // its address range, reserved
            "munmap",    // trimmed to a 2 MiB boundary
            "mmap",      // its block, MAP_FIXED over the reservation
            "fcntl",     // column 1: the same
            "mmap",
            "munmap",
            "mmap",
        ],
    ),
    (
        "open_group_live",
        &[
            "open",    // the file, read-only (no lock: a group's file never gets shorter)
            "fstat",   // a regular file
            "getpid",  // the owner
            "getpid",  // (checked again before the first read)
            "pread64", // the header page
            "fstat",   // the size
            "mmap",    // the header page, read-only
            "getpid",  // (checked again before mapping blocks)
            "fstat",   // the size the blocks must lie in
            "mmap",    // column 0: reservation, trim, block
            "munmap", "mmap", "mmap", // column 1
            "munmap", "mmap",
        ],
    ),
];

fn mark(what: &str) {
    // One `write`, so that the log shows the whole marker in one line.
    let _ = std::io::stderr()
        .lock()
        .write_all(format!("MARK {what}\n").as_bytes());
}

fn child(dir: &Path) {
    let v = dir.join("v.bin");
    let g = dir.join("g.bin");
    for warm in [true, false] {
        let say = |what: &str| {
            if !warm {
                mark(what)
            }
        };
        say("MmapedVec::open");
        drop(MmapedVec::<u64>::open(&v).unwrap());
        say("MmapedSlice::open");
        drop(MmapedSlice::<u64>::open(&v).unwrap());
        say("open_live");
        drop(OpenOptions::new().open_live::<u64>(&v).unwrap());
        say("Group::open");
        drop(Group::<(u64, u32)>::open(&g).unwrap());
        say("open_group_live");
        drop(
            OpenOptions::new()
                .open_group_live::<(u64, u32)>(&g)
                .unwrap(),
        );
        say("end");
    }
}

/// The calls between the marker of `what` and the next marker: the open's, then the drop's
/// (the caller compares the open's, a prefix of known length: an open that makes one more
/// call, or one fewer, changes that prefix).
fn calls(log: &str, what: &str) -> Vec<String> {
    let start = format!("\"MARK {what}\\n\"");
    let mut out = Vec::new();
    let mut on = false;
    for line in log.lines() {
        let l = line
            .split_once(' ')
            .map_or(line, |(_, rest)| rest)
            .trim_start();
        if l.starts_with("write(2,") {
            if on {
                break;
            }
            on = l.contains(&start);
            continue;
        }
        if on {
            if let Some((name, _)) = l.split_once('(') {
                out.push(name.to_string());
            }
        }
    }
    out
}

#[test]
fn each_open_makes_the_pinned_system_calls() {
    if let Some(dir) = common::roles::role(TEST) {
        child(Path::new(&dir));
        return;
    }
    let found = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !common::fs::require_fs(),
            "{TEST}: strace is missing (ci/setup.sh installs it)"
        );
        eprintln!("SKIPPED: {TEST}: strace is missing");
        return;
    }
    let dir = common::tmpdir();
    let mut v = MmapedVec::<u64>::open(dir.path().join("v.bin")).unwrap();
    v.extend_from_slice(&[1, 2, 3]).unwrap();
    v.close().unwrap();
    let mut g = Group::<(u64, u32)>::open(dir.path().join("g.bin")).unwrap();
    g.push_row((1, 2)).unwrap();
    g.close().unwrap();
    let log = dir.path().join("strace.log");
    let wrapper: [&OsStr; 4] = [
        "strace".as_ref(),
        "-f".as_ref(),
        "-o".as_ref(),
        log.as_os_str(),
    ];
    let mut c = common::roles::spawn_under(&wrapper, TEST, dir.path().to_str().unwrap());
    drop(c.stdin.take());
    let mut out = String::new();
    c.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    assert!(c.wait().unwrap().success(), "the child failed: {out}");
    let log = std::fs::read_to_string(&log).unwrap();
    if std::env::var_os("OPEN_SYSCALLS_DUMP").is_some() {
        eprintln!("{log}");
    }
    let mut wrong = Vec::new();
    for (what, want) in PINNED {
        let got = calls(&log, what);
        // The drop's calls come after the open's: compare the open's prefix.
        let open_part = &got[..want.len().min(got.len())];
        println!(
            "{what}: {} calls to open ({})",
            want.len(),
            open_part.join(", ")
        );
        if open_part != want {
            wrong.push(format!(
                "{what}:\n  pinned: {}\n  now:    {}",
                want.join(", "),
                got.join(", ")
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "the system calls of an open changed (update PINNED, say why):\n{}",
        wrong.join("\n")
    );
}
