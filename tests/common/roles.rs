//! Child processes that play a role (a writer, a reader) for a test: the test binary again,
//! started with `--exact <test>` and two environment variables that name the test and the
//! role's argument. The test function asks [`role`] first; in a child it plays the role and
//! returns. Children print the lines the parent reads with a leading `@`, so that the test
//! harness's own output is told apart.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;

const ROLE_TEST_ENV: &str = "PERSISTENCE_ROLE_TEST";
const ROLE_ENV: &str = "PERSISTENCE_ROLE";

/// In a child started by [`spawn`] for `test`: the role's argument.
pub fn role(test: &str) -> Option<String> {
    if std::env::var(ROLE_TEST_ENV).as_deref() == Ok(test) {
        std::env::var(ROLE_ENV).ok()
    } else {
        None
    }
}

/// Starts this test binary as a child playing `arg` for `test`, with stdin and stdout piped
/// (stderr inherited, so that a child's panic is seen).
pub fn spawn(test: &str, arg: &str) -> Child {
    spawn_under(&[], test, arg)
}

/// As [`spawn`], with the test binary started by `wrapper` (`["strace", "-f", ...]`: the
/// wrapper's command line, to which the test binary's is appended); `&[]` for none.
pub fn spawn_under(wrapper: &[&std::ffi::OsStr], test: &str, arg: &str) -> Child {
    let exe = std::env::current_exe().expect("test binary");
    let mut cmd = match wrapper.split_first() {
        Some((program, args)) => {
            let mut c = Command::new(program);
            c.args(args).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1", "-q"])
        .env(ROLE_TEST_ENV, test)
        .env(ROLE_ENV, arg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start a child")
}

/// Reads a child's `@` lines on a thread: each is sent (without the `@`) on the returned
/// channel as it comes, and all of them are returned by the thread when the child's stdout
/// closes.
pub fn lines(out: ChildStdout) -> (mpsc::Receiver<String>, JoinHandle<Vec<String>>) {
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if let Some(l) = line.strip_prefix('@') {
                let _ = tx.send(l.to_string());
                all.push(l.to_string());
            }
        }
        all
    });
    (rx, h)
}

/// Prints `@<line>` and flushes.
pub fn say(line: &str) {
    use std::io::Write;
    let out = std::io::stdout();
    let mut out = out.lock();
    writeln!(out, "@{line}").unwrap();
    out.flush().unwrap();
}

/// Runs `python3 -c <code> <args>` and returns whether it exited 0: an outside program.
pub fn python(code: &str, args: &[&std::ffi::OsStr]) -> bool {
    Command::new("python3")
        .arg("-c")
        .arg(code)
        .args(args)
        .stdin(Stdio::null())
        .status()
        .expect("python3 (the outside program of the lock tests)")
        .success()
}

/// Whether an outside program (python) gets `flock(path, op | LOCK_NB)` at once; `op` is
/// `"LOCK_SH"` or `"LOCK_EX"`.
pub fn outside_flock(path: &std::path::Path, op: &str) -> bool {
    let code = format!(
        "import fcntl, sys\nf = open(sys.argv[1], 'rb')\ntry:\n    fcntl.flock(f, fcntl.{op} | fcntl.LOCK_NB)\nexcept BlockingIOError:\n    sys.exit(1)\n"
    );
    python(&code, &[path.as_os_str()])
}

/// An outside program (python) holding `flock(path, LOCK_EX)` until it is dropped.
pub struct OutsideLock(Child);

impl OutsideLock {
    /// Takes the lock (waiting for it) and returns once it holds it.
    pub fn exclusive(path: &std::path::Path) -> OutsideLock {
        let code = "import fcntl, sys\nf = open(sys.argv[1], 'rb')\nfcntl.flock(f, fcntl.LOCK_EX)\nprint('@locked', flush=True)\nsys.stdin.read()\n";
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(code)
            .arg(path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let (rx, _h) = lines(child.stdout.take().unwrap());
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(10))
                .as_deref(),
            Ok("locked"),
            "python did not take the lock"
        );
        OutsideLock(child)
    }
}

impl Drop for OutsideLock {
    fn drop(&mut self) {
        drop(self.0.stdin.take()); // EOF: it exits, releasing the lock.
        let _ = self.0.wait();
    }
}
