//! Real file systems for tests: loop-mounted images of ext4, ext2, ext4 without extents,
//! XFS and btrfs, and a tmpfs, each on a mount point of its own, unmounted on drop.
//!
//! An image is a sparse file in a fresh directory under `CARGO_TARGET_TMPDIR` (on disk, not
//! in memory), made by the file system's own `mkfs` at about the smallest size it accepts,
//! and mounted with `mount -o loop` (which attaches a loop device that detaches itself on
//! unmount). [`Mounted`]'s `Drop` unmounts (lazily, `umount -l`, when the plain unmount
//! fails), detaches any loop device still attached to the image, and removes the directory;
//! it also runs when the test panics.
//!
//! Mounting needs root, a free loop device and the `mkfs` tools. Where it is not possible,
//! [`mount_or_skip`] prints `SKIPPED: <test>: <reason>` on stderr (past the test harness's
//! capture) and the test returns; with `PERSISTENCE_REQUIRE_FS=1` (CI sets it) not being
//! able to mount fails the test instead.
//!
//! [`fill_leaving`] and [`fill_to_brim`] fill a mounted file system with filler files.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// When set to `1`, a test that cannot mount its file system fails instead of skipping.
pub const REQUIRE_FS_ENV: &str = "PERSISTENCE_REQUIRE_FS";

/// The file systems of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsKind {
    /// ext4 with its default features (extents: `fallocate` works).
    Ext4,
    /// ext2: no extents, no `fallocate`, no journal.
    Ext2,
    /// ext4 made with `-O ^extents`: indirect blocks, no `fallocate`.
    Ext4NoExtents,
    /// XFS.
    Xfs,
    /// btrfs: copy on write.
    Btrfs,
    /// tmpfs: memory, no image, no writeback.
    Tmpfs,
}

impl FsKind {
    /// Every kind, in the order the matrix reports them.
    pub const ALL: [FsKind; 6] = [
        FsKind::Ext4,
        FsKind::Ext2,
        FsKind::Ext4NoExtents,
        FsKind::Xfs,
        FsKind::Btrfs,
        FsKind::Tmpfs,
    ];

    /// A short name, as `ci/fs-matrix.sh` spells it.
    pub fn name(self) -> &'static str {
        match self {
            FsKind::Ext4 => "ext4",
            FsKind::Ext2 => "ext2",
            FsKind::Ext4NoExtents => "ext4-noextents",
            FsKind::Xfs => "xfs",
            FsKind::Btrfs => "btrfs",
            FsKind::Tmpfs => "tmpfs",
        }
    }

    /// Size in MiB: about the smallest each `mkfs` accepts (XFS refuses less than 300 MiB,
    /// btrfs less than about 110 MiB), with room for a few MiB of test data on ext*.
    pub fn size_mib(self) -> u64 {
        match self {
            FsKind::Ext4 | FsKind::Ext2 | FsKind::Ext4NoExtents | FsKind::Tmpfs => 32,
            FsKind::Xfs => 300,
            FsKind::Btrfs => 128,
        }
    }

    /// Whether data survives an unmount (not on tmpfs).
    pub fn persistent(self) -> bool {
        self != FsKind::Tmpfs
    }

    /// The `mkfs` command for an image (none for tmpfs). ext* use 4 KiB blocks, as on any
    /// disk of a realistic size (mke2fs would pick 1 KiB for an image this small), and no
    /// reserved blocks, so that the space `statvfs` reports is all there is.
    fn mkfs(self, image: &Path) -> Option<Command> {
        let ext = |prog: &str, extra: &[&str]| {
            let mut c = Command::new(prog);
            c.args(["-q", "-F", "-b", "4096", "-m", "0"])
                .args(extra)
                .arg(image);
            c
        };
        Some(match self {
            FsKind::Ext4 => ext("mkfs.ext4", &[]),
            FsKind::Ext2 => ext("mkfs.ext2", &[]),
            // A 64-bit ext4 needs extents, so drop both.
            FsKind::Ext4NoExtents => ext("mkfs.ext4", &["-O", "^extents,^64bit"]),
            FsKind::Xfs => {
                let mut c = Command::new("mkfs.xfs");
                c.args(["-q", "-f"]).arg(image);
                c
            }
            FsKind::Btrfs => {
                let mut c = Command::new("mkfs.btrfs");
                c.args(["-q", "-f"]).arg(image);
                c
            }
            FsKind::Tmpfs => return None,
        })
    }
}

/// Serialises `mount`, `umount` and `losetup` within this process: tests run on parallel
/// threads, and concurrent loop setups can race for the same free device.
static MOUNT_LOCK: Mutex<()> = Mutex::new(());

fn mount_lock() -> std::sync::MutexGuard<'static, ()> {
    MOUNT_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs a command; its output on success, else why it failed (in one line).
fn run(cmd: &mut Command) -> Result<String, String> {
    let prog = cmd.get_program().to_string_lossy().into_owned();
    let out = cmd.output().map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            format!("{prog} not found")
        } else {
            format!("cannot run {prog}: {e}")
        }
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let args: Vec<_> = cmd.get_args().map(|a| a.to_string_lossy()).collect();
        // Some tools (mke2fs) say why on stdout.
        let mut said = out.stderr.clone();
        said.extend_from_slice(&out.stdout);
        let why = String::from_utf8_lossy(&said)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        Err(format!(
            "`{prog} {}` failed ({}): {why}",
            args.join(" "),
            out.status
        ))
    }
}

/// A file system mounted for one test; unmounted, detached and removed on drop.
pub struct Mounted {
    kind: FsKind,
    /// Holds the image, the mount point and scratch files; removed after unmounting.
    root: Option<tempfile::TempDir>,
    mnt: PathBuf,
    image: PathBuf,
    mounted: bool,
}

impl Mounted {
    /// Makes and mounts a fresh file system of `kind`, or says why it cannot.
    pub fn new(kind: FsKind) -> Result<Mounted, String> {
        let root = tempfile::Builder::new()
            .prefix(&format!("persistence-fs-{}-", kind.name()))
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .map_err(|e| format!("temp dir: {e}"))?;
        let mnt = root.path().join("mnt");
        let image = root.path().join("fs.img");
        std::fs::create_dir(&mnt).map_err(|e| format!("mkdir {mnt:?}: {e}"))?;
        if let Some(mut mkfs) = kind.mkfs(&image) {
            // Sparse: only what mkfs and the test write takes disk space.
            File::create(&image)
                .and_then(|f| f.set_len(kind.size_mib() << 20))
                .map_err(|e| format!("image {image:?}: {e}"))?;
            run(&mut mkfs)?;
        }
        let mut m = Mounted {
            kind,
            root: Some(root),
            mnt,
            image,
            mounted: false,
        };
        m.mount()?;
        Ok(m)
    }

    fn mount(&mut self) -> Result<(), String> {
        let mut last = String::new();
        for attempt in 0..4 {
            if attempt > 0 {
                // Another process may have taken the loop device we were about to use.
                std::thread::sleep(Duration::from_millis(250));
            }
            let _g = mount_lock();
            let mut cmd = Command::new("mount");
            if self.kind == FsKind::Tmpfs {
                cmd.args(["-t", "tmpfs", "-o"])
                    .arg(format!("size={}m", self.kind.size_mib()))
                    .arg("tmpfs");
            } else {
                cmd.args(["-o", "loop"]).arg(&self.image);
            }
            match run(cmd.arg(&self.mnt)) {
                Ok(_) => {
                    self.mounted = true;
                    return Ok(());
                }
                Err(e) => {
                    let transient = e.contains("loop") && !e.contains("not found");
                    last = e;
                    if !transient {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    /// Unmounts; with `lazy`, falls back to `umount -l` when the file system is busy.
    fn unmount(&mut self, lazy: bool) -> Result<(), String> {
        if !self.mounted {
            return Ok(());
        }
        let _g = mount_lock();
        if let Err(e) = run(Command::new("umount").arg(&self.mnt)) {
            if !lazy {
                return Err(e);
            }
            // Something still holds it (a process that did not exit): detach it lazily.
            run(Command::new("umount").arg("-l").arg(&self.mnt))
                .map_err(|lazy| format!("{e}; then {lazy}"))?;
            let _ = writeln!(io::stderr(), "fs: {e}; unmounted lazily");
        }
        self.mounted = false;
        if self.kind != FsKind::Tmpfs {
            // `mount -o loop` sets autoclear, so the device normally went with the unmount.
            // Detach whatever is still attached to this image (after a lazy unmount the
            // kernel then detaches it when the last user goes).
            if let Ok(out) = run(Command::new("losetup").arg("-j").arg(&self.image)) {
                for dev in out.lines().filter_map(|l| l.split(':').next()) {
                    let _ = run(Command::new("losetup").arg("-d").arg(dev));
                }
            }
        }
        Ok(())
    }

    /// Unmounts and mounts the same image again, so that what is read next comes from the
    /// file system, not from the page cache of the files. Not possible on tmpfs (its data
    /// would go): there it does nothing and returns `false`.
    pub fn remount(&mut self) -> Result<bool, String> {
        if !self.kind.persistent() {
            return Ok(false);
        }
        // Never lazily: mounting the image again while the old mount lives would corrupt it.
        self.unmount(false)?;
        self.mount()?;
        Ok(true)
    }

    /// The file system's kind.
    pub fn kind(&self) -> FsKind {
        self.kind
    }

    /// The mount point.
    pub fn path(&self) -> &Path {
        &self.mnt
    }

    /// A directory beside the image, outside the mounted file system (it stays writable
    /// when the file system is full), removed with it.
    pub fn scratch(&self) -> &Path {
        self.root.as_ref().expect("root").path()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if let Err(e) = self.unmount(true) {
            let _ = writeln!(io::stderr(), "fs: unmounting {:?}: {e}", self.mnt);
        }
        // The directory (image, mount point) goes when `root` drops, after this.
        if let Some(root) = self.root.take() {
            if self.mounted {
                // Still mounted (should not happen): never delete through a mount.
                std::mem::forget(root);
            }
        }
    }
}

/// Whether `PERSISTENCE_REQUIRE_FS=1`.
pub fn require_fs() -> bool {
    std::env::var(REQUIRE_FS_ENV).is_ok_and(|v| v == "1")
}

/// Mounts a fresh `kind` for `test`. If that is not possible: with
/// `PERSISTENCE_REQUIRE_FS=1`, panics with the reason; otherwise prints
/// `SKIPPED: <test>: <reason>` on stderr and returns `None`.
pub fn mount_or_skip(kind: FsKind, test: &str) -> Option<Mounted> {
    match Mounted::new(kind) {
        Ok(m) => Some(m),
        Err(why) => {
            let why = format!("cannot mount {}: {why}", kind.name());
            if require_fs() {
                panic!("{test}: {why} ({REQUIRE_FS_ENV}=1: not mounting is a failure)");
            }
            let _ = writeln!(io::stderr(), "SKIPPED: {test}: {why}");
            None
        }
    }
}

/// Bytes available in the file system holding `dir` (`statvfs`'s `f_bavail`).
pub fn available(dir: &Path) -> io::Result<u64> {
    let s = rustix::fs::statvfs(dir)?;
    Ok(s.f_bavail * s.f_frsize)
}

/// The type of the file system holding `path` (`statfs`'s `f_type`), by name where known.
pub fn type_name(path: &Path) -> String {
    match rustix::fs::statfs(path) {
        // Compared as `u32`: `f_type` is signed and 32 bits wide on some targets.
        Ok(s) => match s.f_type as u32 {
            0xEF53 => "ext2/3/4".into(),
            0x5846_5342 => "xfs".into(),
            0x9123_683E => "btrfs".into(),
            0x0102_1994 => "tmpfs".into(),
            0x2FC1_2FC1 => "zfs".into(),
            0x6573_5546 => "fuse".into(),
            0x794C_7630 => "overlayfs".into(),
            t => format!("file system type {t:#x}"),
        },
        Err(e) => format!("unknown file system ({e})"),
    }
}

/// Whether `e` says the file system is full.
pub fn is_enospc(e: &io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::NOSPC.raw_os_error())
}

/// A new file named `filler-N` in `dir`.
fn new_filler(dir: &Path) -> io::Result<(PathBuf, File)> {
    for n in 0.. {
        let path = dir.join(format!("filler-{n}"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    unreachable!()
}

/// Appends `chunk`-byte writes to `f` until one is refused with `ENOSPC` or `limit` bytes
/// are written; returns the bytes written.
fn write_until_full(f: &mut File, chunk: usize, limit: u64) -> io::Result<u64> {
    let buf = vec![0xA5u8; chunk];
    let mut written = 0u64;
    while written < limit {
        let n = (limit - written).min(chunk as u64) as usize;
        match f.write(&buf[..n]) {
            Ok(0) => break,
            Ok(k) => written += k as u64,
            Err(e) if is_enospc(&e) => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Reserves up to `len` bytes at the start of the (empty) `f` with `fallocate`; returns
/// whether it did (false where the file system has no `fallocate`, or it was refused).
fn try_fallocate(f: &File, len: u64) -> bool {
    len > 0 && rustix::fs::fallocate(f, rustix::fs::FallocateFlags::empty(), 0, len).is_ok()
}

/// Fills the file system holding `dir` until about `leave` bytes remain available, with one
/// new filler file: reserved with `fallocate` where the file system has it (quick), written
/// where not. Returns the filler's size.
pub fn fill_leaving(dir: &Path, leave: u64) -> io::Result<u64> {
    let target = available(dir)?.saturating_sub(leave);
    let (_, mut f) = new_filler(dir)?;
    let size = if try_fallocate(&f, target) {
        target
    } else {
        write_until_full(&mut f, 1 << 20, target)?
    };
    f.sync_all()?;
    Ok(size)
}

/// Fills the file system holding `dir` to the brim: filler files, reserved with
/// `fallocate` for the bulk where possible, then written in ever smaller pieces down to
/// single bytes until each write is refused with `ENOSPC`, repeated (after syncing: the
/// kernel returns over-reserved blocks once delayed allocation is done) until writing
/// 4 KiB into a new file fails with `ENOSPC`. Returns the bytes filled.
pub fn fill_to_brim(dir: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    for _round in 0..20 {
        let (_, mut f) = new_filler(dir)?;
        let bulk = available(dir)?.saturating_sub(1 << 20);
        if try_fallocate(&f, bulk) {
            total += bulk;
            use std::io::Seek;
            f.seek(io::SeekFrom::End(0))?;
        }
        for chunk in [1 << 20, 64 << 10, 4096, 512, 1] {
            total += write_until_full(&mut f, chunk, u64::MAX)?;
        }
        // May fail on a full file system; the writes above are what count.
        let _ = f.sync_all();
        drop(f); // XFS trims its speculative preallocation at close
        let _ = rustix::fs::syncfs(File::open(dir)?);
        if probe_full(dir)? {
            return Ok(total);
        }
    }
    Err(io::Error::other(format!(
        "{dir:?}: still room for a new 4 KiB file after 20 rounds of filling"
    )))
}

/// Whether writing 4 KiB into a new file (and syncing it) fails with `ENOSPC`. A probe
/// that succeeds stays, as one more filler.
fn probe_full(dir: &Path) -> io::Result<bool> {
    let (path, mut f) = match new_filler(dir) {
        Ok(pf) => pf,
        Err(e) if is_enospc(&e) => return Ok(true),
        Err(e) => return Err(e),
    };
    let r = f.write_all(&[0x5Au8; 4096]).and_then(|()| f.sync_data());
    match r {
        Ok(()) => Ok(false),
        Err(e) if is_enospc(&e) => {
            drop(f);
            std::fs::remove_file(&path)?;
            Ok(true)
        }
        Err(e) => Err(e),
    }
}

/// Removes the filler files from `dir`; returns how many.
pub fn remove_fillers(dir: &Path) -> io::Result<usize> {
    let mut n = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with("filler-") {
            std::fs::remove_file(entry.path())?;
            n += 1;
        }
    }
    Ok(n)
}
