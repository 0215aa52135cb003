//! The file-system matrix: a full disk is an error, never a signal, on ext4, ext2, ext4
//! without extents, XFS, btrfs and tmpfs (issue 8).
//!
//! Each test mounts a fresh, small file system of its kind (`common::fs`: a loop-mounted
//! sparse image, or a tmpfs) and runs one scenario in two child processes, this test binary
//! re-executed with `PERSISTENCE_FS_MATRIX_PHASE` set:
//!
//! 1. **write**: fills the file system with filler files and does the scenario's writes,
//!    recording what it did (what was pushed, what `sync()` returned) in a state file
//!    outside the file system as it goes;
//! 2. the parent unmounts and mounts the image again (not tmpfs), so that what is read next
//!    comes from the file system and not from the page cache;
//! 3. **verify**: reopens the vector and checks it against the state file.
//!
//! A child killed by a signal (`SIGBUS` when a store into the mapping needs a disk block
//! that the full disk cannot give) fails the test with the signal's name and the last step
//! the child reported, instead of killing the test run; the verify phase still runs and its
//! outcome is reported too.
//!
//! Scenarios (one module per file system, one test per scenario):
//!
//! * `append_until_full`: fill all but 4 MiB, push `u64`s (sync every 10 000) until `push`
//!   fails: it must be `OutOfSpace`; then `sync()` and `close()` (each may fail, with no
//!   signal); after the remount every element up to the last successful sync is there.
//! * `in_place_on_full_disk`: a 4 MiB vector, synced and closed; the disk filled to the
//!   brim; `v[i] = x` in every page, `sync()` (Ok or Err, no signal); after the remount
//!   the length is the committed one and each element its old or new value (new when
//!   `sync()` returned Ok).
//! * `push_into_written_back_page`: 1000 elements synced and closed (the last page is
//!   half full and written back), the disk filled, then pushes into the rest of that page
//!   and `sync()`: no signal (a copy-on-write file system needs a new block for the page).
//! * `new_file_on_full_disk`: creating a vector on a full disk is `OutOfSpace`, and any
//!   file left behind opens (as an empty vector), never `Corrupt`, once there is space.
//! * `set_on_full_disk`: a 4 MiB vector created with `copy_on_write(true)` (on btrfs a
//!   copy-on-write file, where rewriting a page needs a new block; elsewhere the option
//!   changes nothing), synced and closed; the disk filled to the brim; `set` on two
//!   elements of every page: each `Ok` or `OutOfSpace`, never a signal; then `sync()`.
//!   After the remount each element holds its old or new value, new when its `set` and the
//!   `sync()` returned `Ok`.
//! * `group_append_until_full`: a commit group `Group<(u64, u32, u8)>`: fill all but 10 MiB,
//!   append rows (row by row with `push_row`, and in chunks with each column's
//!   `extend_from_slice`, a failure of which must be `OutOfSpace` and is undone with
//!   `truncate_rows`), `sync` every 10 000 rows (each must succeed), until `push_row`
//!   fails: it must be `OutOfSpace`, name a column (`Error::column`), and leave every column
//!   at one length. Then the group must go on: `sync`, `truncate_rows` + `sync`, rows pushed
//!   back into the capacity + `sync`, `close`, each `Ok`. After the remount every column has
//!   the last successful sync's length, at that generation, with every element right.
//! * `group_push_within_capacity_on_full_disk`: a group `Group<(u64, u32, u8)>` created with
//!   `capacity(430 592)` (each column's reserved bytes end inside a 2 MiB unit of its block,
//!   not at the end of the file), 1000 rows synced; the disk filled to the brim (the group
//!   still open); then rows pushed up to that capacity: every `push_row` must succeed
//!   (no growth: the disk blocks were reserved) and none may raise a signal; then `sync()`.
//!   After the remount every column has the synced length and every element right.
//! * `new_file_is_nocow` (btrfs only): a file the library creates has `FS_NOCOW_FL`, unless
//!   `copy_on_write(true)`; `inspect` reports which a file is.
//!
//! Each test prints one line on stderr (past the harness's capture): the file system, the
//! scenario, and what it proved or how it failed. Where the file system cannot be mounted
//! the test prints `SKIPPED: ...` and passes, unless `PERSISTENCE_REQUIRE_FS=1`.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::fs::{self, FsKind};
use persistence::{ErrorKind, Group, MmapedSlice, MmapedVec, OpenOptions};

const PHASE_ENV: &str = "PERSISTENCE_FS_MATRIX_PHASE";
const DIR_ENV: &str = "PERSISTENCE_FS_MATRIX_DIR";
const STATE_ENV: &str = "PERSISTENCE_FS_MATRIX_STATE";
/// A child that takes longer has hung (each takes well under a few seconds).
const CHILD_TIMEOUT: Duration = Duration::from_secs(120);
const PAGE_ELEMS: usize = 4096 / 8;

fn value(i: usize) -> u64 {
    let mut z = (i as u64) ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The value an in-place change writes at `i`.
fn changed(i: usize) -> u64 {
    !value(i)
}

// ---------------------------------------------------------------------------------------
// The parent: mount, run the two phases, report.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    AppendUntilFull,
    InPlaceOnFullDisk,
    PushIntoWrittenBackPage,
    NewFileOnFullDisk,
    NewFileIsNocow,
    SetOnFullDisk,
    GroupAppendUntilFull,
    GroupPushWithinCapacityOnFullDisk,
}

impl Scenario {
    fn from_name(name: &str) -> Scenario {
        match name {
            "append_until_full" => Scenario::AppendUntilFull,
            "in_place_on_full_disk" => Scenario::InPlaceOnFullDisk,
            "push_into_written_back_page" => Scenario::PushIntoWrittenBackPage,
            "new_file_on_full_disk" => Scenario::NewFileOnFullDisk,
            "new_file_is_nocow" => Scenario::NewFileIsNocow,
            "set_on_full_disk" => Scenario::SetOnFullDisk,
            "group_append_until_full" => Scenario::GroupAppendUntilFull,
            "group_push_within_capacity_on_full_disk" => {
                Scenario::GroupPushWithinCapacityOnFullDisk
            }
            _ => panic!("no scenario {name}"),
        }
    }
}

/// How a child ended, and what it said.
struct Outcome {
    status: Option<ExitStatus>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn ok(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// Lines the child printed with `prefix`, without it.
    fn lines(&self, prefix: &str) -> Vec<&str> {
        self.stdout
            .lines()
            .filter_map(|l| l.strip_prefix(prefix))
            .collect()
    }

    /// One line: what it proved, or how it failed.
    fn describe(&self, phase: &str) -> String {
        let last_step = self.lines("step: ").last().copied().unwrap_or("(none)");
        match self.status {
            None => format!("{phase}: HUNG (killed after {CHILD_TIMEOUT:?}) at step: {last_step}"),
            Some(s) if s.success() => format!("{phase}: {}", self.lines("proved: ").join("; ")),
            Some(s) => {
                if let Some(sig) = s.signal() {
                    format!(
                        "{phase}: KILLED BY {} (signal {sig}) at step: {last_step}",
                        common::child::signal_name(sig)
                    )
                } else {
                    // The panic message: the lines after "panicked at".
                    let panic: Vec<&str> = self
                        .stderr
                        .lines()
                        .skip_while(|l| !l.contains("panicked at"))
                        .skip(1)
                        .take_while(|l| !l.starts_with("note:") && !l.starts_with("stack"))
                        .collect();
                    format!(
                        "{phase}: FAILED ({s}) at step: {last_step}: {}",
                        if panic.is_empty() {
                            self.stderr.trim().to_string()
                        } else {
                            panic.join(" ")
                        }
                    )
                }
            }
        }
    }
}

/// Runs `test` again in a child process, in `phase`.
fn run_child(test: &str, phase: &str, dir: &Path, state: &Path) -> Outcome {
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1", "-q"])
        .env(PHASE_ENV, phase)
        .env(DIR_ENV, dir)
        .env(STATE_ENV, state)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = r.read_to_end(&mut s);
            String::from_utf8_lossy(&s).into_owned()
        })
    };
    let out = pipe(Box::new(child.stdout.take().unwrap()));
    let err = pipe(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > CHILD_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// One cell of the matrix: `scenario` on a fresh `kind`, as test `test`.
fn matrix(kind: FsKind, scenario_name: &str, test: &str) {
    let scenario = Scenario::from_name(scenario_name);
    if let Ok(phase) = std::env::var(PHASE_ENV) {
        child(scenario, &phase);
        return;
    }
    let Some(mut m) = fs::mount_or_skip(kind, test) else {
        return;
    };
    let started = Instant::now();
    let state = m.scratch().join("state.txt");
    let write = run_child(test, "write", m.path(), &state);
    let mut line = write.describe("write");
    let mut ok = write.ok();
    match m.remount() {
        Ok(remounted) => {
            let verify = run_child(test, "verify", m.path(), &state);
            line += &format!(
                " | {}{}",
                if remounted {
                    "remounted, "
                } else {
                    "not remounted (tmpfs), "
                },
                verify.describe("verify")
            );
            ok &= verify.ok();
        }
        Err(e) => {
            line += &format!(" | REMOUNT FAILED: {e}");
            ok = false;
        }
    }
    drop(m);
    let line = format!(
        "fs_matrix: {}: {scenario_name}: {} ({:.1} s): {line}",
        kind.name(),
        if ok { "ok" } else { "FAIL" },
        started.elapsed().as_secs_f64()
    );
    let _ = writeln!(std::io::stderr(), "{line}");
    assert!(ok, "{line}");
}

macro_rules! matrix_tests {
    ($($fs:ident: $kind:ident => [$($scenario:ident),* $(,)?];)*) => {$(
        mod $fs {
            $(
                #[test]
                fn $scenario() {
                    super::matrix(
                        super::FsKind::$kind,
                        stringify!($scenario),
                        concat!(stringify!($fs), "::", stringify!($scenario)),
                    );
                }
            )*
        }
    )*};
}

matrix_tests! {
    ext4: Ext4 => [
        append_until_full, in_place_on_full_disk, push_into_written_back_page,
        new_file_on_full_disk, set_on_full_disk, group_append_until_full,
        group_push_within_capacity_on_full_disk,
    ];
    ext2: Ext2 => [
        append_until_full, in_place_on_full_disk, push_into_written_back_page,
        new_file_on_full_disk, set_on_full_disk, group_append_until_full,
        group_push_within_capacity_on_full_disk,
    ];
    ext4_noextents: Ext4NoExtents => [
        append_until_full, in_place_on_full_disk, push_into_written_back_page,
        new_file_on_full_disk, set_on_full_disk, group_append_until_full,
        group_push_within_capacity_on_full_disk,
    ];
    xfs: Xfs => [
        append_until_full, in_place_on_full_disk, push_into_written_back_page,
        new_file_on_full_disk, set_on_full_disk, group_append_until_full,
        group_push_within_capacity_on_full_disk,
    ];
    btrfs: Btrfs => [
        append_until_full, in_place_on_full_disk, push_into_written_back_page,
        new_file_on_full_disk, new_file_is_nocow, set_on_full_disk, group_append_until_full,
        group_push_within_capacity_on_full_disk,
    ];
    tmpfs: Tmpfs => [
        append_until_full, in_place_on_full_disk, push_into_written_back_page,
        new_file_on_full_disk, set_on_full_disk, group_append_until_full,
        group_push_within_capacity_on_full_disk,
    ];
}

// ---------------------------------------------------------------------------------------
// The children.

/// Facts a write phase records for its verify phase: `key=value` lines, rewritten at each
/// change, so that they are there even when the writer is killed by a signal.
struct State {
    path: PathBuf,
    map: BTreeMap<String, String>,
}

impl State {
    fn load(path: PathBuf) -> State {
        let map = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        State { path, map }
    }

    fn set(&mut self, key: &str, value: impl ToString) {
        self.map.insert(key.to_string(), value.to_string());
        let text: String = self.map.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        std::fs::write(&self.path, text).expect("write the state file");
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    fn num(&self, key: &str) -> Option<usize> {
        self.get(key).map(|v| v.parse().expect("a number"))
    }
}

/// Tells the parent what the child is doing (the last one is reported if it dies).
fn step(what: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "step: {what}").unwrap();
    out.flush().unwrap();
}

/// Tells the parent what the child proved.
fn proved(what: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "proved: {what}").unwrap();
    out.flush().unwrap();
}

fn outcome<E: std::fmt::Display>(r: &Result<(), E>) -> String {
    match r {
        Ok(()) => "Ok".into(),
        Err(e) => format!("Err({e})"),
    }
}

fn child(scenario: Scenario, phase: &str) {
    let dir = PathBuf::from(std::env::var_os(DIR_ENV).expect("dir"));
    let mut state = State::load(PathBuf::from(std::env::var_os(STATE_ENV).expect("state")));
    match (scenario, phase) {
        (Scenario::AppendUntilFull, "write") => append_until_full(&dir, &mut state),
        (Scenario::AppendUntilFull, "verify") => verify_all_values(&dir, &state),
        (Scenario::InPlaceOnFullDisk, "write") => {
            change_on_full_disk(&dir, &mut state, Change::Store)
        }
        (Scenario::SetOnFullDisk, "write") => change_on_full_disk(&dir, &mut state, Change::Set),
        (Scenario::InPlaceOnFullDisk | Scenario::SetOnFullDisk, "verify") => {
            verify_changed(&dir, &state)
        }
        (Scenario::PushIntoWrittenBackPage, "write") => push_into_page(&dir, &mut state),
        (Scenario::PushIntoWrittenBackPage, "verify") => verify_all_values(&dir, &state),
        (Scenario::NewFileOnFullDisk, "write") => new_file_on_full_disk(&dir, &mut state),
        (Scenario::NewFileOnFullDisk, "verify") => verify_new_file(&dir, &state),
        (Scenario::NewFileIsNocow, "write") => new_file_is_nocow(&dir, &mut state),
        (Scenario::NewFileIsNocow, "verify") => verify_nocow(&dir, &state),
        (Scenario::GroupAppendUntilFull, "write") => group_append_until_full(&dir, &mut state),
        (Scenario::GroupAppendUntilFull, "verify") => verify_group(&dir, &state),
        (Scenario::GroupPushWithinCapacityOnFullDisk, "write") => {
            group_push_within_capacity(&dir, &mut state)
        }
        (Scenario::GroupPushWithinCapacityOnFullDisk, "verify") => verify_group(&dir, &state),
        _ => panic!("no phase {phase}"),
    }
}

fn vec_path(dir: &Path) -> PathBuf {
    dir.join("v.bin")
}

/// A vector of `n` elements `value(i)`, synced and closed (its pages written back).
fn committed_vector(dir: &Path, state: &mut State, n: usize, opts: &OpenOptions) {
    step(format!("creating a vector of {n} u64"));
    let mut v = opts.open::<u64>(vec_path(dir)).unwrap();
    v.extend_from_slice(&(0..n).map(value).collect::<Vec<_>>())
        .unwrap();
    v.sync().unwrap();
    state.set("synced", n);
    state.set("pushed", n);
    v.close().unwrap();
}

fn fill_to_brim(dir: &Path, state: &mut State) -> u64 {
    step("filling the file system to the brim");
    let filled = fs::fill_to_brim(dir).expect("fill the file system");
    state.set("filled", filled);
    filled
}

fn append_until_full(dir: &Path, state: &mut State) {
    step("filling all but 4 MiB");
    let filled = fs::fill_leaving(dir, 4 << 20).expect("fill the file system");
    let mut v = MmapedVec::<u64>::open(vec_path(dir)).unwrap();
    state.set("synced", 0);
    step("pushing until push fails");
    let mut sync_error = None;
    let err = loop {
        let i = v.len();
        assert!(i < 100_000_000, "no error after {i} pushes");
        if let Err(e) = v.push(value(i)) {
            break e;
        }
        if v.len() % 1000 == 0 {
            state.set("pushed", v.len());
        }
        if v.len() % 10_000 == 0 && sync_error.is_none() {
            step(format!("sync at length {}", v.len()));
            match v.sync() {
                Ok(()) => {
                    state.set("synced", v.len());
                    step(format!("synced at length {}; pushing on", v.len()));
                }
                Err(e) => {
                    // Still no signal; the claim below is about push.
                    step(format!("sync at length {} failed: {e}", v.len()));
                    state.set("sync_error", e);
                    sync_error = Some((v.len(), e));
                }
            }
        }
    };
    let pushed = v.len();
    state.set("pushed", pushed);
    assert_eq!(
        err.kind(),
        ErrorKind::OutOfSpace,
        "push at length {pushed} failed with {err} ({:?}), not OutOfSpace",
        err.kind()
    );
    step(format!(
        "push failed at length {pushed} with OutOfSpace; final sync"
    ));
    let synced = v.sync();
    if synced.is_ok() {
        state.set("synced", pushed);
    }
    step("close");
    let closed = v.close();
    proved(format!(
        "filler {} MiB, {pushed} u64 pushed, then push: Err({err}); in-loop syncs: {}; \
         final sync: {}; close: {}",
        filled >> 20,
        match &sync_error {
            None => "all Ok".to_string(),
            Some((at, e)) => format!("Err({e}) at length {at}"),
        },
        outcome(&synced),
        outcome(&closed),
    ));
}

/// The vector reopens with at least the synced length, at most the pushed one, and every
/// element `value(i)`.
fn verify_all_values(dir: &Path, state: &State) {
    let synced = state.num("synced").unwrap_or(0);
    let pushed = state.num("pushed");
    if !vec_path(dir).exists() && synced == 0 {
        proved("no vector was created; nothing to check");
        return;
    }
    let s = MmapedSlice::<u64>::open(vec_path(dir))
        .unwrap_or_else(|e| panic!("the vector does not reopen: {e} ({:?})", e.kind()));
    assert!(
        s.len() >= synced,
        "reopened length {} < {synced}, the length of the last successful sync",
        s.len()
    );
    if let Some(pushed) = pushed {
        assert!(
            s.len() <= pushed,
            "reopened length {} > {pushed} pushed",
            s.len()
        );
    }
    let wrong = (0..s.len()).filter(|&i| s[i] != value(i)).count();
    let first = (0..s.len()).find(|&i| s[i] != value(i));
    assert!(
        wrong == 0,
        "{wrong} of {} elements wrong after reopening, the first at {first:?}: {:#x}",
        s.len(),
        first.map_or(0, |i| s[i])
    );
    proved(format!(
        "reopened length {} (last successful sync {synced}), every element right",
        s.len()
    ));
}

const IN_PLACE_LEN: usize = 512 * 1024; // 4 MiB of u64
const IN_PLACE_EVERY: usize = PAGE_ELEMS / 2; // two changes in every page

/// How `change_on_full_disk` changes the elements.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    /// `v[i] = x` on a default (No_COW on btrfs) file.
    Store,
    /// `v.set(i, x)` on a file created with `copy_on_write(true)`.
    Set,
}

/// A 4 MiB vector committed and closed, the disk filled to the brim, then two elements of
/// every page changed `how`, and a `sync()`. Each `set` records whether it returned `Ok`
/// (else it must be `OutOfSpace`) in `set_ok`, a `1` or `0` per change.
fn change_on_full_disk(dir: &Path, state: &mut State, how: Change) {
    let mut opts = OpenOptions::new();
    opts.copy_on_write(how == Change::Set);
    committed_vector(dir, state, IN_PLACE_LEN, &opts);
    let filled = fill_to_brim(dir, state);
    step("reopening on the full disk");
    let mut v = opts.open::<u64>(vec_path(dir)).unwrap();
    assert_eq!(v.len(), IN_PLACE_LEN);
    step("changing two elements in every page in place");
    let mut set_ok = String::new();
    for i in (0..IN_PLACE_LEN).step_by(IN_PLACE_EVERY) {
        match how {
            Change::Store => v[i] = changed(i),
            Change::Set => match v.set(i, changed(i)) {
                Ok(()) => set_ok.push('1'),
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::OutOfSpace, "set({i}): {e}");
                    set_ok.push('0');
                }
            },
        }
    }
    let n = IN_PLACE_LEN / IN_PLACE_EVERY;
    let how_text = match how {
        Change::Store => format!("{n} elements changed in place (stores)"),
        Change::Set => {
            let ok = set_ok.bytes().filter(|&b| b == b'1').count();
            state.set("set_ok", &set_ok);
            format!(
                "copy_on_write(true); set on {n} elements: {ok} Ok, {} OutOfSpace, no signal",
                n - ok
            )
        }
    };
    step("sync after the in-place changes");
    let synced = v.sync();
    state.set("sync", outcome(&synced));
    step("close");
    let closed = v.close();
    proved(format!(
        "{IN_PLACE_LEN} u64 committed, filler {} MiB to the brim, {how_text} across {} pages; \
         sync: {}; close: {}",
        filled >> 20,
        IN_PLACE_LEN / PAGE_ELEMS,
        outcome(&synced),
        outcome(&closed)
    ));
}

/// After `change_on_full_disk`: the committed length, every element its old or new value,
/// and new wherever the change and `sync()` returned `Ok`.
fn verify_changed(dir: &Path, state: &State) {
    let s = MmapedSlice::<u64>::open(vec_path(dir))
        .unwrap_or_else(|e| panic!("the vector does not reopen: {e} ({:?})", e.kind()));
    assert_eq!(s.len(), IN_PLACE_LEN, "reopened length");
    let sync_ok = state.get("sync") == Some("Ok");
    // Stores have no outcome of their own; each `set` has one.
    let change_ok = |k: usize| {
        state
            .get("set_ok")
            .is_none_or(|ok| ok.as_bytes().get(k) == Some(&b'1'))
    };
    let (mut old, mut new) = (0, 0);
    for (i, &x) in s.iter().enumerate() {
        let was_changed = i % IN_PLACE_EVERY == 0;
        if was_changed && x == changed(i) {
            new += 1;
        } else if x == value(i) {
            if was_changed {
                assert!(
                    !(sync_ok && change_ok(i / IN_PLACE_EVERY)),
                    "element {i} is old although its change and sync() returned Ok"
                );
                old += 1;
            }
        } else {
            panic!("element {i} is {x:#x}: neither its old nor its new value");
        }
    }
    proved(format!(
        "length {}; of the changed elements {new} new, {old} old (sync was {}); every other \
         element right",
        s.len(),
        state.get("sync").unwrap_or("not reached")
    ));
}

const PARTIAL_LEN: usize = 1000; // 1.95 pages: the second page is half full

fn push_into_page(dir: &Path, state: &mut State) {
    committed_vector(dir, state, PARTIAL_LEN, &OpenOptions::new());
    let filled = fill_to_brim(dir, state);
    step("reopening on the full disk");
    let mut v = MmapedVec::<u64>::open(vec_path(dir)).unwrap();
    let page_end = PARTIAL_LEN.div_ceil(PAGE_ELEMS) * PAGE_ELEMS;
    assert!(v.capacity() >= page_end, "capacity {}", v.capacity());
    step(format!(
        "pushing {} elements into the written-back last page",
        page_end - PARTIAL_LEN
    ));
    // Recorded first: a failing push unwinds through `Drop`, which commits what was pushed.
    state.set("pushed", page_end);
    for i in PARTIAL_LEN..page_end {
        v.push(value(i))
            .unwrap_or_else(|e| panic!("push {i} within the capacity failed: {e}"));
    }
    step("sync after pushing into the page");
    let synced = v.sync();
    if synced.is_ok() {
        state.set("synced", page_end);
    }
    step("close");
    let closed = v.close();
    proved(format!(
        "{PARTIAL_LEN} u64 committed, filler {} MiB to the brim, pushed to {page_end} within \
         the last page; sync: {}; close: {}",
        filled >> 20,
        outcome(&synced),
        outcome(&closed)
    ));
}

const NEW_FILES: [&str; 2] = ["new.bin", "new-with-capacity.bin"];

fn new_file_on_full_disk(dir: &Path, state: &mut State) {
    let filled = fill_to_brim(dir, state);
    let mut seen = Vec::new();
    for (k, name) in NEW_FILES.iter().enumerate() {
        let path = dir.join(name);
        step(format!("creating {name} on the full disk"));
        let opened = if k == 0 {
            MmapedVec::<u64>::open(&path)
        } else {
            OpenOptions::new().capacity(100_000).open::<u64>(&path)
        };
        match opened {
            Ok(v) => panic!(
                "{name}: a new vector (capacity {}) was created on a full disk",
                v.capacity()
            ),
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::OutOfSpace, "{name}: {e}");
                let left = std::fs::metadata(&path).map(|m| m.len()).ok();
                if left.is_some() {
                    // What is left must not look like a corrupt vector.
                    step(format!("opening what was left of {name} read-only"));
                    let s = OpenOptions::new()
                        .open_read_only::<u64>(&path)
                        .unwrap_or_else(|e| {
                            panic!(
                                "{name} left a file that does not open: {e} ({:?})",
                                e.kind()
                            )
                        });
                    assert_eq!(s.len(), 0, "{name}");
                }
                seen.push(format!(
                    "{name}: Err({e}), {}",
                    match left {
                        None => "no file left".to_string(),
                        Some(n) => format!("left a {n}-byte file that opens empty"),
                    }
                ));
            }
        }
    }
    state.set("done", 1);
    proved(format!(
        "filler {} MiB to the brim; {}",
        filled >> 20,
        seen.join("; ")
    ));
}

fn verify_new_file(dir: &Path, state: &State) {
    assert!(
        state.get("done").is_some(),
        "the write phase did not finish"
    );
    let removed = fs::remove_fillers(dir).unwrap();
    let mut seen = Vec::new();
    for name in NEW_FILES {
        let path = dir.join(name);
        let existed = path.exists();
        let mut v = MmapedVec::<u64>::open(&path).unwrap_or_else(|e| {
            panic!(
                "{name} does not open once there is space: {e} ({:?})",
                e.kind()
            )
        });
        assert_eq!(v.len(), 0, "{name}");
        v.extend_from_slice(&[1, 2, 3]).unwrap();
        v.close().unwrap();
        assert_eq!(&MmapedSlice::<u64>::open(&path).unwrap()[..], &[1, 2, 3]);
        seen.push(format!(
            "{name} ({}) opens as a new vector and keeps pushes",
            if existed { "left behind" } else { "absent" }
        ));
    }
    proved(format!("{removed} fillers removed; {}", seen.join("; ")));
}

fn nocow(path: &Path) -> bool {
    let f = std::fs::File::open(path).unwrap();
    rustix::fs::ioctl_getflags(&f)
        .unwrap_or_else(|e| panic!("FS_IOC_GETFLAGS on {path:?}: {e}"))
        .contains(rustix::fs::IFlags::NOCOW)
}

fn new_file_is_nocow(dir: &Path, state: &mut State) {
    // The control: a plain new file is copy-on-write here, so the check can tell.
    let plain = dir.join("plain.bin");
    std::fs::write(&plain, [1u8; 100]).unwrap();
    assert!(!nocow(&plain), "a plain new file already has FS_NOCOW_FL");
    committed_vector(dir, state, 1000, &OpenOptions::new());
    let has = nocow(&vec_path(dir));
    state.set("nocow", has);
    assert!(
        has,
        "a file created by MmapedVec::open on btrfs lacks FS_NOCOW_FL (FS_IOC_GETFLAGS)"
    );
    let info = persistence::inspect(vec_path(dir)).unwrap();
    assert_eq!(
        (info.file_system, info.copy_on_write),
        (Some("btrfs"), Some(false)),
        "inspect of a No_COW file"
    );
    // Opting out keeps copy-on-write, and inspect says so.
    let cow = dir.join("cow.bin");
    let mut v = persistence::OpenOptions::new()
        .copy_on_write(true)
        .open::<u64>(&cow)
        .unwrap();
    v.push(1).unwrap();
    v.close().unwrap();
    assert!(!nocow(&cow), "copy_on_write(true) still set FS_NOCOW_FL");
    let info = persistence::inspect(&cow).unwrap();
    assert_eq!(
        info.copy_on_write,
        Some(true),
        "inspect of a copy-on-write file"
    );
    // The remains of an interrupted creation (a header page of zeros) hold no commit: the
    // file starts again from empty, so it gets the attribute too.
    let torn = dir.join("torn.bin");
    std::fs::write(&torn, [0u8; 4096]).unwrap();
    MmapedVec::<u64>::open(&torn).unwrap().close().unwrap();
    assert!(
        nocow(&torn),
        "an interrupted creation reopened lacks FS_NOCOW_FL"
    );
    proved(
        "a new vector's file has FS_NOCOW_FL (a plain new file has not, nor one made with \
         copy_on_write(true)); an interrupted creation gets it too; inspect tells them apart",
    );
}

fn verify_nocow(dir: &Path, state: &State) {
    if state.get("nocow") != Some("true") {
        proved("nothing to check (the write phase found no FS_NOCOW_FL)");
        return;
    }
    assert!(
        nocow(&vec_path(dir)),
        "FS_NOCOW_FL is gone after remounting"
    );
    assert_eq!(MmapedSlice::<u64>::open(vec_path(dir)).unwrap().len(), 1000);
    proved("FS_NOCOW_FL and the data are there after remounting");
}

// ---------------------------------------------------------------------------------------
// A commit group on a full disk.

type GroupRow = (u64, u32, u8);

/// Row `i` of the group: every column's element `i`.
fn group_row(i: usize) -> GroupRow {
    let x = value(i);
    (x, (x >> 16) as u32 ^ 0x5EED, (x >> 56) as u8)
}

fn group_path(dir: &Path) -> PathBuf {
    dir.join("g.bin")
}

fn group_opts() -> OpenOptions {
    *OpenOptions::new().magic(*b"FSMATRIX").version(1)
}

/// Rows appended per chunk; chunks alternate between `push_row`s and `extend_from_slice`
/// of each column.
const GROUP_CHUNK: usize = 5_000;
const GROUP_SYNC_EVERY: usize = 10_000;
/// Rows cut by the `truncate_rows` after the full disk.
const GROUP_CUT: usize = 3_000;

fn lens_text(g: &Group<GroupRow>) -> String {
    let (a, b, c) = g.columns();
    format!("{},{},{}", a.len(), b.len(), c.len())
}

/// Commits; on success records the lengths and the generation as the last successful
/// sync's (`synced`, `generation`), else records the error and fails.
fn group_sync(g: &mut Group<GroupRow>, state: &mut State, when: &str) {
    let lens = lens_text(g);
    step(format!("sync {when} (lengths {lens})"));
    state.set("attempted", &lens);
    match g.sync() {
        Ok(()) => {
            state.set("synced", &lens);
            state.set("generation", g.generation());
        }
        Err(e) => {
            state.set("sync_error", e);
            panic!("sync {when} (lengths {lens}) failed: {e} ({:?})", e.kind());
        }
    }
}

fn group_append_until_full(dir: &Path, state: &mut State) {
    step("filling all but 10 MiB");
    let filled = fs::fill_leaving(dir, 10 << 20).expect("fill the file system");
    let mut g = group_opts()
        .open_group::<GroupRow>(group_path(dir))
        .unwrap();
    state.set("synced", "0,0,0");
    state.set("generation", g.generation());
    step("appending rows until push_row fails");
    let mut extend_error = None;
    let mut syncs = 0;
    let err = loop {
        let rows = g.rows().unwrap();
        assert!(rows < 100_000_000, "no error after {rows} rows");
        if (rows / GROUP_CHUNK) % 2 == 1 && extend_error.is_none() {
            // A chunk, column by column: the columns differ in length until the last.
            let rows_to = rows + GROUP_CHUNK;
            let chunk: Vec<GroupRow> = (rows..rows_to).map(group_row).collect();
            let (a, b, c) = g.columns_mut();
            let extended = a
                .extend_from_slice(&chunk.iter().map(|r| r.0).collect::<Vec<_>>())
                .map_err(|e| (0, e))
                .and_then(|()| {
                    b.extend_from_slice(&chunk.iter().map(|r| r.1).collect::<Vec<_>>())
                        .map_err(|e| (1, e))
                })
                .and_then(|()| {
                    c.extend_from_slice(&chunk.iter().map(|r| r.2).collect::<Vec<_>>())
                        .map_err(|e| (2, e))
                });
            if let Err((k, e)) = extended {
                assert_eq!(
                    e.kind(),
                    ErrorKind::OutOfSpace,
                    "extend_from_slice of column {k} at row {rows} failed with {e}, not \
                     OutOfSpace"
                );
                step(format!(
                    "extend_from_slice of column {k} at row {rows}: {e}; truncate_rows({rows})"
                ));
                // The columns before `k` took the chunk: cut them back to whole rows.
                g.truncate_rows(rows);
                assert_eq!(g.rows().unwrap(), rows, "rows after truncate_rows");
                extend_error = Some(format!("Err({e}) in column {k} at row {rows}"));
                state.set("extend_error", e);
                continue;
            }
        } else if let Err(e) = g.push_row(group_row(rows)) {
            break e;
        }
        let now = g.rows().unwrap();
        if now % 1000 == 0 {
            state.set("pushed", now);
        }
        if now / GROUP_SYNC_EVERY > rows / GROUP_SYNC_EVERY {
            group_sync(&mut g, state, &format!("at row {now}"));
            syncs += 1;
        }
    };
    let full_at = lens_text(&g);
    assert_eq!(
        err.kind(),
        ErrorKind::OutOfSpace,
        "push_row at lengths {full_at} failed with {err} ({:?}), not OutOfSpace",
        err.kind()
    );
    let column = err.column();
    assert!(
        column.is_some_and(|k| k < 3),
        "push_row's OutOfSpace names no column of the three: {column:?} ({err})"
    );
    // All or none: no column took the row.
    let rows = g
        .rows()
        .unwrap_or_else(|e| panic!("after the failed push_row the lengths differ: {e}"));
    step(format!(
        "push_row failed at row {rows} with OutOfSpace in column {column:?}; sync"
    ));
    group_sync(&mut g, state, "after OutOfSpace");
    // Still usable: a truncation commits, and rows go back into the capacity it freed.
    let cut = rows.saturating_sub(GROUP_CUT);
    step(format!("truncate_rows({cut})"));
    g.truncate_rows(cut);
    group_sync(&mut g, state, "after truncate_rows");
    // Every column held `rows` elements: that much is within the capacity.
    let back = cut + (rows - cut) / 2;
    step(format!("push_row back to {back} rows, within the capacity"));
    for i in cut..back {
        g.push_row(group_row(i))
            .unwrap_or_else(|e| panic!("push_row {i} within the capacity failed: {e}"));
    }
    group_sync(&mut g, state, "after pushing back");
    let generation = g.generation();
    step("close");
    g.close()
        .unwrap_or_else(|e| panic!("close after the full disk failed: {e}"));
    state.set("closed", 1);
    proved(format!(
        "filler {} MiB, {rows} rows appended ({syncs} periodic syncs Ok; extend_from_slice: \
         {}), then push_row: Err({err}) naming column {}; sync Ok, truncate_rows({cut}) + \
         sync Ok, push_row to {back} + sync Ok (generation {generation}), close Ok",
        filled >> 20,
        extend_error.as_deref().unwrap_or("never failed"),
        column.unwrap_or(usize::MAX),
    ));
}

/// The group reopens with every column at the last successful sync's length (or, if a
/// `sync` failed, the one it tried to commit), at its generation, every element right.
fn verify_group(dir: &Path, state: &State) {
    let parse = |key: &str| -> Option<Vec<usize>> {
        state
            .get(key)
            .map(|v| v.split(',').map(|n| n.parse().expect("a length")).collect())
    };
    let synced = parse("synced").unwrap_or_else(|| vec![0; 3]);
    if !group_path(dir).exists() && synced.iter().all(|&n| n == 0) {
        proved("no group was created; nothing to check");
        return;
    }
    let s = group_opts()
        .open_group_read_only::<GroupRow>(group_path(dir))
        .unwrap_or_else(|e| panic!("the group does not reopen: {e} ({:?})", e.kind()));
    let (a, b, c) = s.columns();
    let lens = vec![a.len(), b.len(), c.len()];
    let failed_sync = state.get("sync_error").is_some();
    let attempted = parse("attempted");
    assert!(
        lens == synced || (failed_sync && attempted.as_ref() == Some(&lens)),
        "reopened lengths {lens:?}, the last successful sync's {synced:?}{}",
        if failed_sync {
            format!(" (a failed sync tried {attempted:?})")
        } else {
            String::new()
        }
    );
    if lens == synced {
        if let Some(g) = state.num("generation") {
            assert_eq!(
                s.generation(),
                g as u64,
                "the reopened generation, against the last successful sync's"
            );
        }
    }
    let mut wrong = Vec::new();
    for (k, len) in lens.iter().enumerate() {
        let bad = (0..*len).find(|&i| {
            let want = group_row(i);
            match k {
                0 => a[i] != want.0,
                1 => b[i] != want.1,
                _ => c[i] != want.2,
            }
        });
        if let Some(i) = bad {
            wrong.push(format!("column {k} element {i}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "wrong after reopening: {}",
        wrong.join(", ")
    );
    proved(format!(
        "reopened at generation {} with lengths {lens:?} (the last successful sync's), every \
         element of every column right",
        s.generation()
    ));
}

/// The capacity asked for in `group_push_within_capacity_on_full_disk`: in bytes, none of the
/// columns' (3 444 736, 1 722 368 and 430 592) is a whole number of 2 MiB. A column reserves
/// its disk space in whole 2 MiB units, so that no large page-cache folio straddles its
/// reserved end and a hole of its block (a store faulting in such a folio made ext4 and XFS
/// reserve the hole's part too, and raise `SIGBUS` on a full disk, when the reserved end
/// was a page inside a unit): the scenario checks both that rounding and that pushing up to
/// the capacity on a full disk raises no signal.
const GROUP_CAPACITY: usize = 430_592;
const GROUP_COMMITTED: usize = 1000;

fn group_push_within_capacity(dir: &Path, state: &mut State) {
    step(format!(
        "creating a group with capacity({GROUP_CAPACITY}) and {GROUP_COMMITTED} rows"
    ));
    let mut g = group_opts()
        .capacity(GROUP_CAPACITY)
        .open_group::<GroupRow>(group_path(dir))
        .unwrap();
    {
        let (a, b, c) = g.columns_mut();
        let caps = [a.capacity(), b.capacity(), c.capacity()];
        // Whole 2 MiB units of each column, no more than one beyond what was asked.
        for (k, (&cap, size)) in caps.iter().zip([8, 4, 1]).enumerate() {
            assert!(
                cap >= GROUP_CAPACITY && cap * size - GROUP_CAPACITY * size < 2 << 20,
                "column {k}: capacity {cap} for capacity({GROUP_CAPACITY})"
            );
            assert_eq!(
                cap * size % (2 << 20),
                0,
                "column {k} does not end at 2 MiB"
            );
        }
    }
    for i in 0..GROUP_COMMITTED {
        g.push_row(group_row(i)).unwrap();
    }
    group_sync(&mut g, state, "of the first rows");
    // The group stays open: a reopened column's capacity starts at its committed length.
    let filled = fill_to_brim(dir, state);
    step(format!(
        "push_row from {GROUP_COMMITTED} to {GROUP_CAPACITY} rows, within the capacity"
    ));
    // On a full btrfs every write fault of a stored-into page waits for the file system to
    // look for space (it flushes and commits), and with three columns' pages being stored
    // into in turn that comes to a fraction of a second per page: the rows go in, slowly
    // (docs/design.md, "File systems"). There the scenario stops after 20 s of pushing and
    // proves what it proves everywhere else: no signal, and everything committed intact.
    let btrfs = common::fs::type_name(dir) == "btrfs";
    let started = std::time::Instant::now();
    let mut pushed = GROUP_CAPACITY;
    for i in GROUP_COMMITTED..GROUP_CAPACITY {
        if let Err(e) = g.push_row(group_row(i)) {
            state.set("pushed", i);
            panic!("push_row {i} within the capacity failed: {e}");
        }
        if i % 1000 == 0 {
            state.set("pushed", i);
            if btrfs && started.elapsed() > std::time::Duration::from_secs(20) {
                pushed = i + 1;
                break;
            }
        }
    }
    state.set("pushed", pushed);
    group_sync(&mut g, state, "after pushing to the capacity");
    step("close");
    g.close()
        .unwrap_or_else(|e| panic!("close on the full disk failed: {e}"));
    proved(format!(
        "{GROUP_COMMITTED} rows committed with capacity({GROUP_CAPACITY}), filler {} MiB to \
         the brim, then push_row up to {pushed} rows Ok with no signal{}; sync Ok, close Ok",
        filled >> 20,
        if pushed < GROUP_CAPACITY {
            format!(" (btrfs: {pushed} rows in 20 s, each page fault waiting for space)")
        } else {
            String::new()
        }
    ));
}
