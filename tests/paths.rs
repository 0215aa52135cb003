//! Paths (issue 17, items 4 and 5): which directory a new file's name is made durable in when
//! the path is a symbolic link, and the error kinds of paths that cannot lead to a file.
//!
//! * Creating a file through a symbolic link (`a/link -> ../b/data.bin`) creates it in `b`,
//!   so `b` is the directory to `fsync`, not `a`. Checked with `strace -y`, which names the
//!   directory behind each descriptor: the test binary runs again under `strace` as a child
//!   that creates the file. Without `strace` the test says `SKIPPED` (and fails with
//!   `PERSISTENCE_REQUIRE_FS=1`, as CI runs; `ci/setup.sh` installs it).
//! * `ENOTDIR` (a path through a regular file) is `NotFound`; `ENAMETOOLONG` (a 300-byte
//!   name) and `ELOOP` (a loop of symbolic links) are `InvalidPath`: for `open` (creating or
//!   not), `open_read_only`, `open_live` and `inspect`.

mod common;

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;

use persistence::{inspect, ErrorKind, MmapedVec, OpenOptions};

const SYMLINK_TEST: &str = "a_file_created_through_a_symlink_has_its_own_directory_synced";

/// `a/link -> ../b/data.bin`, dangling: the writer creates `b/data.bin` and makes the new
/// name durable with an `fsync` of `b`, never of `a` (the link's directory, which did not
/// change).
#[test]
fn a_file_created_through_a_symlink_has_its_own_directory_synced() {
    if let Some(dir) = common::roles::role(SYMLINK_TEST) {
        let link = Path::new(&dir).join("a/link");
        let mut v = MmapedVec::<u64>::open(&link).unwrap();
        v.push(1).unwrap();
        v.close().unwrap();
        return;
    }
    let dir = common::tmpdir();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    std::fs::create_dir(&a).unwrap();
    std::fs::create_dir(&b).unwrap();
    std::os::unix::fs::symlink("../b/data.bin", a.join("link")).unwrap();
    let log = dir.path().join("strace.log");
    let found = std::process::Command::new("strace")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            !common::fs::require_fs(),
            "{SYMLINK_TEST}: strace is missing (ci/setup.sh installs it)"
        );
        eprintln!("SKIPPED: {SYMLINK_TEST}: strace is missing");
        return;
    }
    let wrapper: [&OsStr; 7] = [
        "strace".as_ref(),
        "-f".as_ref(),
        "-y".as_ref(),
        "-e".as_ref(),
        "trace=fsync".as_ref(),
        "-o".as_ref(),
        log.as_os_str(),
    ];
    let mut child =
        common::roles::spawn_under(&wrapper, SYMLINK_TEST, dir.path().to_str().unwrap());
    drop(child.stdin.take());
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "the writer under strace failed"
    );
    assert!(
        b.join("data.bin").is_file(),
        "the file was not created in b"
    );
    let log = std::fs::read_to_string(&log).unwrap();
    let synced: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("fsync(") && l.trim_end().ends_with("= 0"))
        .collect();
    let of = |d: &Path| {
        let d = format!("<{}>", d.canonicalize().unwrap().display());
        synced.iter().filter(|l| l.contains(&d)).count()
    };
    assert_eq!(of(&a), 0, "fsync of the link's directory a:\n{log}");
    assert!(
        of(&b) >= 1,
        "no fsync of b, which holds the new file:\n{log}"
    );
}

/// Every way of opening a path, with the kind each one failed with.
fn kinds(path: &Path) -> [(&'static str, ErrorKind); 5] {
    let kind =
        |r: persistence::Result<()>| r.map_or_else(|e| e.kind(), |()| panic!("{path:?} opened"));
    [
        ("open", kind(MmapedVec::<u64>::open(path).map(drop))),
        (
            "open without create",
            kind(OpenOptions::new().create(false).open::<u64>(path).map(drop)),
        ),
        (
            "open_read_only",
            kind(OpenOptions::new().open_read_only::<u64>(path).map(drop)),
        ),
        (
            "open_live",
            kind(OpenOptions::new().open_live::<u64>(path).map(drop)),
        ),
        ("inspect", kind(inspect(path).map(drop))),
    ]
}

fn all_are(path: &Path, want: ErrorKind, what: &str) {
    for (how, got) in kinds(path) {
        assert_eq!(got, want, "{what}: {how} of {path:?}");
    }
}

/// `file.bin/x`: a path through a regular file (`ENOTDIR`): nothing can be there, so
/// `NotFound`, as for a missing file.
#[test]
fn a_path_through_a_regular_file_is_not_found() {
    let dir = common::tmpdir();
    let file = common::path_in(&dir, "file.bin");
    MmapedVec::<u64>::open(&file).unwrap().close().unwrap();
    all_are(&file.join("x"), ErrorKind::NotFound, "ENOTDIR");
}

/// A 300-byte name (`ENAMETOOLONG`) and a loop of symbolic links (`ELOOP`): the path itself
/// is unusable, `InvalidPath`.
#[test]
fn a_name_too_long_and_a_symlink_loop_are_invalid_paths() {
    let dir = common::tmpdir();
    all_are(
        &dir.path().join("n".repeat(300)),
        ErrorKind::InvalidPath,
        "ENAMETOOLONG",
    );
    let (one, two) = (dir.path().join("one"), dir.path().join("two"));
    std::os::unix::fs::symlink(&two, &one).unwrap();
    std::os::unix::fs::symlink(&one, &two).unwrap();
    all_are(&one, ErrorKind::InvalidPath, "ELOOP");
}
