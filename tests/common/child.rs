//! Running a test body in a child process, so that a signal (a `SIGBUS` on a full disk, say)
//! is a reported test failure that names the signal, not a test binary that dies with every
//! other test in it.
//!
//! The child is this test binary again, started with `--exact <test>` and an environment
//! variable that tells the test it is the child: [`isolated`] runs the body there and only
//! there. Anything the body needs (a mounted directory) is prepared by the parent and passed
//! in that variable, so that the parent, which outlives the child, cleans it up.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the child to the directory the parent prepared.
const CHILD_DIR_ENV: &str = "PERSISTENCE_CHILD_DIR";
/// Set in the child to the name of the test it runs.
const CHILD_TEST_ENV: &str = "PERSISTENCE_CHILD_TEST";

/// The name of a signal the tests may see.
pub fn signal_name(sig: i32) -> &'static str {
    match sig {
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        25 => "SIGXFSZ",
        _ => "a signal",
    }
}

/// Whether this process is the child that [`isolated`] started for `test` (so that a test
/// can leave out, in the child, the preparation that the parent already made: a mount).
pub fn is_child(test: &str) -> bool {
    std::env::var(CHILD_TEST_ENV).as_deref() == Ok(test)
}

/// Runs `body(dir)` for the test `test` (its full name, as `--exact` wants it) in a child
/// process, and fails with the child's signal or exit status if it does not succeed. In the
/// child, runs `body` with the directory the parent passed and returns.
pub fn isolated(test: &str, dir: &Path, body: impl FnOnce(&Path)) {
    if is_child(test) {
        let dir = PathBuf::from(std::env::var_os(CHILD_DIR_ENV).expect("child dir"));
        body(&dir);
        return;
    }
    let status = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", test, "--nocapture", "--test-threads=1", "-q"])
        .env(CHILD_TEST_ENV, test)
        .env(CHILD_DIR_ENV, dir)
        .status()
        .expect("start the child");
    if let Some(sig) = status.signal() {
        panic!(
            "{test}: the child process was killed by {} (signal {sig})",
            signal_name(sig)
        );
    }
    assert!(
        status.success(),
        "{test}: the child process failed: {status}"
    );
}
