//! The live readers' lock file `<file>-live` in awkward places (issue 9): its permission
//! bits and owner follow the data file's; a read-only mount of the directory still lets a
//! reader lock it (and stop a writer's cut on the read-write side), and refuses to create
//! it; something that is not an empty regular file under its name is refused at once,
//! never waited on, and stops the writer's cuts; a lock file replaced between a reader's
//! open and its lock is noticed and the new one locked; a data file bind-mounted on its own
//! is refused; a name too long to append `-live` to is refused by readers and never cut by
//! writers.
//!
//! Mounts need root; a test that cannot mount prints `SKIPPED: <reason>` (and fails with
//! `PERSISTENCE_REQUIRE_FS=1`).

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use common::roles::outside_flock;
use persistence::test_hooks::{self as fault, Op};
use persistence::{ErrorKind, LiveReader, MmapedVec, OpenOptions};

fn live(path: &Path) -> persistence::Result<LiveReader<u64>> {
    OpenOptions::new().open_live::<u64>(path)
}

fn lock_file(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push("-live");
    PathBuf::from(s)
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

/// A writer holding 10 000 committed elements.
fn filled(path: &Path) -> MmapedVec<u64> {
    let mut w = MmapedVec::<u64>::open(path).unwrap();
    w.extend_from_slice(&[9; 10_000]).unwrap();
    w.sync().unwrap();
    w
}

/// Truncates, commits, asks for a cut; returns whether the file got shorter.
fn cut(w: &mut MmapedVec<u64>, path: &Path) -> bool {
    let before = size(path);
    let keep = w.len() - 100;
    w.truncate(keep);
    w.sync().unwrap();
    w.shrink_to_fit().unwrap();
    size(path) < before
}

/// `f()` on another thread, failing if it takes more than 10 s (a hang on a foreign lock).
fn within_10s<R: Send + 'static>(what: &str, f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what}: still waiting after 10 s"))
}

const S1: &str = "s1_the_lock_file_takes_the_data_files_mode_and_owner";

/// S1: under umask 077, a data file of mode 0o640 gets a lock file of mode 0o640, whether a
/// writer or a reader creates it; created by root, it belongs to the data file's owner.
#[test]
fn s1_the_lock_file_takes_the_data_files_mode_and_owner() {
    let dir = common::tmpdir();
    common::child::isolated(S1, dir.path(), |dir| {
        // SAFETY: umask has no preconditions; this child runs this test alone.
        unsafe { libc::umask(0o077) };
        let p = dir.join("v.bin");
        let s = lock_file(&p);
        MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
        let mode = |f: &Path| std::fs::metadata(f).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&s), 0o600, "from the data file's 0o600");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        std::fs::remove_file(&s).unwrap();
        MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
        assert_eq!(mode(&s), 0o640, "created by a writer");
        std::fs::remove_file(&s).unwrap();
        live(&p).unwrap().close().unwrap();
        assert_eq!(mode(&s), 0o640, "created by a reader");
        // Execute and special bits are not copied.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o4755)).unwrap();
        std::fs::remove_file(&s).unwrap();
        live(&p).unwrap().close().unwrap();
        assert_eq!(mode(&s), 0o644);

        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            eprintln!("SKIPPED: {S1}: the owner part needs root");
            return;
        }
        std::os::unix::fs::chown(&p, Some(4242), Some(4343)).unwrap();
        std::fs::remove_file(&s).unwrap();
        live(&p).unwrap().close().unwrap();
        let m = std::fs::metadata(&s).unwrap();
        assert_eq!(
            (m.uid(), m.gid()),
            (4242, 4343),
            "created by root: the data file's owner"
        );
        std::fs::remove_file(&s).unwrap();
        MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
        let m = std::fs::metadata(&s).unwrap();
        assert_eq!((m.uid(), m.gid()), (4242, 4343), "created by a root writer");
    });
}

/// A bind mount, unmounted on drop.
struct Bind(PathBuf);

impl Bind {
    /// `mount --bind src dst` (and read-only with `ro`), or `None` after printing why not.
    fn new(src: &Path, dst: &Path, ro: bool, test: &str) -> Option<Bind> {
        let run = |args: &[&std::ffi::OsStr]| {
            let out = Command::new("mount").args(args).output();
            match out {
                Ok(o) if o.status.success() => Ok(()),
                Ok(o) => Err(String::from_utf8_lossy(&o.stderr).into_owned()),
                Err(e) => Err(e.to_string()),
            }
        };
        let why = match run(&["--bind".as_ref(), src.as_os_str(), dst.as_os_str()]) {
            Ok(()) => {
                let bind = Bind(dst.to_path_buf());
                if !ro {
                    return Some(bind);
                }
                match run(&["-o".as_ref(), "remount,bind,ro".as_ref(), dst.as_os_str()]) {
                    Ok(()) => return Some(bind),
                    Err(e) => e,
                }
            }
            Err(e) => e,
        };
        if common::fs::require_fs() {
            panic!("{test}: cannot bind-mount: {why}");
        }
        eprintln!("SKIPPED: {test}: cannot bind-mount: {}", why.trim());
        None
    }
}

impl Drop for Bind {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }
}

const S2: &str = "s2_a_read_only_mount_of_the_directory";

/// S2: through a read-only bind mount of the directory, a reader opens beside a writer on
/// the read-write side when the lock file exists, and its lock stops the writer's cut; when
/// the lock file is missing, the reader cannot create it and says so.
#[test]
fn s2_a_read_only_mount_of_the_directory() {
    let dir = common::tmpdir();
    let rw = dir.path().join("rw");
    let ro = dir.path().join("ro");
    std::fs::create_dir_all(&rw).unwrap();
    std::fs::create_dir_all(&ro).unwrap();
    let Some(bind) = Bind::new(&rw, &ro, true, S2) else {
        return;
    };
    let p = rw.join("v.bin");
    let mut w = filled(&p);
    let r = live(&ro.join("v.bin")).unwrap();
    assert_eq!(r.len(), 10_000);
    assert!(
        !cut(&mut w, &p),
        "cut under a reader on the read-only mount"
    );
    drop(r);
    w.sync().unwrap();
    assert_eq!(size(&p), 4096 + 8 * 9900, "the cut once it went");
    w.close().unwrap();
    std::fs::remove_file(lock_file(&p)).unwrap();
    let e = live(&ro.join("v.bin")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied, "{e}");
    assert!(e.to_string().contains("-live"), "{e}");
    drop(bind);
}

/// S3: a FIFO, a directory, a symbolic link (even to an empty file) or a file with data at
/// `<file>-live`: `open_live` fails at once, never waits; the writer opens and works but never
/// cuts.
#[test]
fn s3_something_else_under_the_lock_files_name_is_refused_at_once() {
    let dir = common::tmpdir();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    type Make = fn(&Path, &Path);
    let cases: [(&str, Make, ErrorKind); 4] = [
        (
            "fifo",
            |s, _| {
                let c = std::ffi::CString::new(s.as_os_str().as_encoded_bytes()).unwrap();
                // SAFETY: a valid NUL-terminated path.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            },
            ErrorKind::NotARegularFile,
        ),
        (
            "directory",
            |s, _| std::fs::create_dir(s).unwrap(),
            ErrorKind::NotARegularFile,
        ),
        (
            "symlink",
            |s, empty| std::os::unix::fs::symlink(empty, s).unwrap(),
            ErrorKind::NotARegularFile,
        ),
        (
            "data",
            |s, _| std::fs::write(s, b"data").unwrap(),
            ErrorKind::Corrupt,
        ),
    ];
    for (what, make, kind) in cases {
        let p = dir.path().join(format!("{what}.bin"));
        make(&lock_file(&p), &empty);
        let mut w = filled(&p);
        let p2 = p.clone();
        let e = within_10s(what, move || live(&p2).unwrap_err());
        assert_eq!(e.kind(), kind, "{what}: {e}");
        assert!(!cut(&mut w, &p), "{what}: the writer cut");
        w.close().unwrap();
        assert!(
            !cut(&mut MmapedVec::<u64>::open(&p).unwrap(), &p),
            "{what}: a new writer cut"
        );
    }
}

/// The lock file's path for [`replace_lock_file`].
static REPLACE: Mutex<Option<PathBuf>> = Mutex::new(None);

/// The reader's observer: at its first lock of `<file>-live`, put a new empty file in its
/// place (as `rm` then `touch` would).
fn replace_lock_file(op: Op) {
    if op == Op::LockSidecar {
        if let Some(s) = REPLACE.lock().unwrap().take() {
            let tmp = s.with_extension("new");
            std::fs::write(&tmp, b"").unwrap();
            std::fs::rename(&tmp, &s).unwrap();
        }
    }
}

/// S4: the lock file replaced between a reader's open of it and its lock: the reader notices
/// (the name no longer leads to the file it locked), and locks the new one.
#[test]
fn s4_a_lock_file_replaced_under_a_reader_is_noticed() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut w = filled(&p);
    let s = lock_file(&p);
    let old_ino = std::fs::metadata(&s).unwrap().ino();
    *REPLACE.lock().unwrap() = Some(s.clone());
    fault::observe(Some(replace_lock_file));
    let r = live(&p);
    fault::observe(None);
    let r = r.unwrap();
    assert!(
        REPLACE.lock().unwrap().is_none(),
        "the observer did not run"
    );
    assert_ne!(std::fs::metadata(&s).unwrap().ino(), old_ino);
    assert!(
        !outside_flock(&s, "LOCK_EX"),
        "the reader holds the new lock file"
    );
    assert!(!cut(&mut w, &p), "cut under the reader");
    drop(r);
    assert!(outside_flock(&s, "LOCK_EX"));
}

const S5: &str = "s5_a_file_bind_mounted_on_its_own_is_refused";

/// S5 (Linux): a data file bind-mounted on its own (as `docker run -v /host/f:/f` does) is
/// refused: the writer's lock file is beside the original, not beside the mount.
#[test]
fn s5_a_file_bind_mounted_on_its_own_is_refused() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let w = filled(&p);
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    let target = other.join("mounted.bin");
    std::fs::write(&target, b"").unwrap();
    let Some(bind) = Bind::new(&p, &target, false, S5) else {
        return;
    };
    // Kernels before 5.8 do not report STATX_ATTR_MOUNT_ROOT; the library cannot tell then.
    let f = std::fs::File::open(&target).unwrap();
    let st = rustix::fs::statx(
        &f,
        c"",
        rustix::fs::AtFlags::EMPTY_PATH,
        rustix::fs::StatxFlags::BASIC_STATS,
    )
    .unwrap();
    if !st
        .stx_attributes_mask
        .contains(rustix::fs::StatxAttributes::MOUNT_ROOT)
    {
        eprintln!("SKIPPED: {S5}: this kernel does not report STATX_ATTR_MOUNT_ROOT");
        return;
    }
    let e = live(&target).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidPath, "{e}");
    assert!(!lock_file(&target).exists());
    assert_eq!(live(&p).unwrap().len(), 10_000);
    drop(bind);
    drop(w);
}

const S6: &str = "s6_a_writer_through_a_single_file_bind_mount_never_cuts";

/// S6 (Linux): a writer that opened the file through a single-file bind mount (the container
/// side of `docker run -v /host/f:/f`) never cuts it, because a reader of the original path
/// locks the lock file beside the original, which the writer cannot see. The reader then
/// reads every element it holds without a fault. In a child process, so that a `SIGBUS` is
/// a reported failure.
#[test]
fn s6_a_writer_through_a_single_file_bind_mount_never_cuts() {
    if common::child::is_child(S6) {
        return common::child::isolated(S6, Path::new(""), body);
    }
    let dir = common::tmpdir();
    let orig = dir.path().join("orig");
    let mnt = dir.path().join("mnt");
    std::fs::create_dir(&orig).unwrap();
    std::fs::create_dir(&mnt).unwrap();
    let (p, target) = (orig.join("data.bin"), mnt.join("data.bin"));
    std::fs::write(&p, b"").unwrap();
    std::fs::write(&target, b"").unwrap();
    let Some(bind) = Bind::new(&p, &target, false, S6) else {
        return;
    };
    common::child::isolated(S6, dir.path(), body);
    drop(bind);

    fn body(dir: &Path) {
        let (p, target) = (dir.join("orig/data.bin"), dir.join("mnt/data.bin"));
        const N: usize = 1 << 20;
        let mut w = MmapedVec::<u64>::open(&target).unwrap();
        w.extend_from_slice(&vec![7u64; N]).unwrap();
        w.sync().unwrap();
        let mut r = live(&p).unwrap();
        r.refresh().unwrap();
        assert_eq!(r.len(), N);
        let capacity = w.capacity();
        w.truncate(0);
        w.sync().unwrap();
        w.shrink_to_fit().unwrap();
        assert_eq!(
            w.capacity(),
            capacity,
            "cut through the bind mount under a reader"
        );
        assert_eq!(size(&p), size(&target));
        assert_eq!(r.get(N - 1), Some(7), "the reader's last element");
        assert_eq!(r.iter().filter(|&x| x == 7).count(), N);
        drop(r);
        // Still no cut without the reader: the writer cannot see readers of the original.
        w.shrink_to_fit().unwrap();
        assert_eq!(w.capacity(), capacity);
        w.close().unwrap();
    }
}

/// A name so long that `-live` does not fit in 255 bytes: readers refuse it
/// (`InvalidPath`); a writer opens it and works, but never cuts it (it cannot tell that no
/// reader is open).
#[test]
fn a_name_too_long_for_its_lock_file() {
    let dir = common::tmpdir();
    let p = dir.path().join("n".repeat(251));
    let mut w = filled(&p);
    assert_eq!(live(&p).unwrap_err().kind(), ErrorKind::InvalidPath);
    assert!(!cut(&mut w, &p));
    w.close().unwrap();
    let ok = dir.path().join("n".repeat(250));
    let mut w = filled(&ok);
    live(&ok).unwrap().close().unwrap();
    assert!(cut(&mut w, &ok));
}
