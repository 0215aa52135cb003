//! Scenario 8 (issue 8, item 2): what reserving blocks costs where `fallocate` is missing.
//!
//! `reserve_exact` of `G` bytes (1 GiB; `--quick`: 64 MiB) on a new vector, on a file system
//! without `fallocate` (ext2 in a loop-mounted image that the benchmark makes and mounts when
//! it runs as root, and unmounts on exit) and on the temp dir's own file system (`fallocate`).
//! Blocks reserved by writing zeros are dirty page cache until written back, so the `sync()`
//! after the reservation is a figure of its own. References: glibc's `posix_fallocate`
//! (which emulates `fallocate` by writing one byte per block), `pwrite` of zeros in 1 MiB
//! chunks, and a bare `fallocate`; each followed by `sync_data`. Each row also says how many
//! blocks the file had after the reservation (a sparse file has none: a full disk is then a
//! `SIGBUS` at the first store, not an error).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use persistence::OpenOptions;

use crate::common::{fmt_bytes, Ctx, Report};
use crate::os::{allocated_bytes, fs_type, is_root};
use crate::stats::{markdown, round_robin, Row, Samples, Table};

const GIB: f64 = (1u64 << 30) as f64;

/// Row names.
pub mod names {
    pub const LIB_EXT2: &str = "MmapedVec::reserve_exact, ext2 (no fallocate)";
    pub const LIB_HOST: &str = "MmapedVec::reserve_exact, temp dir fs (fallocate)";
    pub const POSIX_EXT2: &str = "(reference) posix_fallocate, ext2 (glibc: 1 byte per block)";
    pub const ZEROS_EXT2: &str = "(reference) pwrite zeros in 1 MiB chunks, ext2";
    pub const FALLOC_HOST: &str = "(reference) fallocate, temp dir fs";
}
use names::*;

/// A loop-mounted ext2 image in the temp dir; unmounted and deleted on drop.
pub struct Ext2 {
    image: PathBuf,
    /// The mount point.
    pub mnt: PathBuf,
    mounted: bool,
}

impl Ext2 {
    /// Makes a sparse image of `bytes` bytes in `dir`, `mkfs.ext2`, `mount -o loop`. The error
    /// is the reason it could not, for a `skipped:` line.
    pub fn mount(dir: &Path, bytes: u64) -> Result<Ext2, String> {
        if !is_root() {
            return Err("not root (a loop mount needs root)".into());
        }
        let mut m = Ext2 {
            image: dir.join("ext2.img"),
            mnt: dir.join("ext2-mnt"),
            mounted: false,
        };
        let made = File::create(&m.image)
            .and_then(|f| f.set_len(bytes))
            .and_then(|()| std::fs::create_dir_all(&m.mnt));
        if let Err(e) = made {
            return Err(format!("cannot make the image in {}: {e}", dir.display()));
        }
        run(Command::new("mkfs.ext2")
            .args(["-q", "-F", "-b", "4096"])
            .arg(&m.image))
        .map_err(|e| format!("mkfs.ext2: {e}"))?;
        run(Command::new("mount")
            .args(["-t", "ext2", "-o", "loop"])
            .arg(&m.image)
            .arg(&m.mnt))
        .map_err(|e| format!("mount -o loop: {e}"))?;
        m.mounted = true;
        Ok(m)
    }
}

impl Drop for Ext2 {
    fn drop(&mut self) {
        if self.mounted {
            let mut ok = false;
            for _ in 0..5 {
                if run(Command::new("umount").arg(&self.mnt)).is_ok() {
                    ok = true;
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            if !ok {
                eprintln!(
                    "umount {} failed; detaching it lazily (umount -l)",
                    self.mnt.display()
                );
                let _ = run(Command::new("umount").arg("-l").arg(&self.mnt));
            }
        }
        let _ = std::fs::remove_dir(&self.mnt);
        let _ = std::fs::remove_file(&self.image);
    }
}

/// Runs a command; its stderr (or how it failed to start) is the error.
fn run(cmd: &mut Command) -> Result<(), String> {
    match cmd.output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!(
            "{} ({})",
            String::from_utf8_lossy(&o.stderr).trim(),
            o.status
        )),
        Err(e) => Err(format!("cannot run: {e}")),
    }
}

/// What one run measured: seconds of the reservation, of the sync after it, and the bytes of
/// blocks the file had after the reservation.
struct Measured {
    reserve: f64,
    sync: f64,
    allocated: u64,
}

/// Runs scenario 8.
pub fn run_scenario(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let g = ctx.reserve_bytes;
    ctx.check_space(2 * g as u64, "scenario 8")?;
    let host_fs = fs_type(&ctx.dir);
    // Room for G, the 4 KiB header, and ext2's own metadata and indirect blocks.
    let image = g as u64 + g as u64 / 4 + (64 << 20);
    let ext2 = match Ext2::mount(&ctx.dir, image) {
        Ok(m) => {
            println!(
                "\nS8: ext2 image of {} loop-mounted at {} (unmounted at exit); fallocate \
                 there: {}",
                fmt_bytes(image as f64),
                m.mnt.display(),
                probe_fallocate(&m.mnt)
            );
            Some(m)
        }
        Err(reason) => {
            println!("\nS8 ext2 rows: skipped: {reason}");
            None
        }
    };
    let rows_here: Vec<&str> = [LIB_EXT2, LIB_HOST, POSIX_EXT2, ZEROS_EXT2, FALLOC_HOST]
        .into_iter()
        .filter(|r| ext2.is_some() || !r.contains("ext2"))
        .collect();
    let mut reserve: Vec<Row> = rows_here.iter().map(|r| Row::new(*r)).collect();
    let mut sync: Vec<Row> = rows_here.iter().map(|r| Row::new(*r)).collect();
    let mut allocated: Vec<Samples> = rows_here.iter().map(|_| Samples::default()).collect();
    let mut err = None;
    // Each run writes up to G bytes and syncs them: seconds per run on ext2, so 3 rounds.
    round_robin(ctx.rounds.min(3), rows_here.len(), |c, round| {
        if err.is_some() {
            return;
        }
        let row = rows_here[c];
        let dir = match (&ext2, row.contains("ext2")) {
            (Some(m), true) => m.mnt.clone(),
            _ => ctx.dir.clone(),
        };
        let path = dir.join(format!("reserve-{c}-{round}"));
        let r = one(row, &path, g);
        let _ = std::fs::remove_file(&path);
        match r {
            Ok(m) => {
                reserve[c].time.push(m.reserve);
                sync[c].time.push(m.sync);
                allocated[c].push(m.allocated as f64);
            }
            Err(e) => err = Some(io::Error::other(format!("{row}: {e}"))),
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let per = Some((g as f64 / GIB, "GiB"));
    let lib_host = rows_here.iter().position(|r| *r == LIB_HOST).unwrap_or(0);
    let size = fmt_bytes(g as f64);
    let mut lines = vec![vec![
        "contender".to_string(),
        "reserve, ms per GiB".into(),
        "sync() after it, ms per GiB".into(),
        "reserve + sync, ms per GiB".into(),
        "blocks after reserve".into(),
    ]];
    for (c, row) in rows_here.iter().enumerate() {
        let r = reserve[c].time.median() / (g as f64 / GIB) * 1e3;
        let s = sync[c].time.median() / (g as f64 / GIB) * 1e3;
        lines.push(vec![
            row.to_string(),
            format!("{r:.1}"),
            format!("{s:.1}"),
            format!("{:.1}", r + s),
            format!(
                "{:.0} % of {size}",
                100.0 * allocated[c].median() / g as f64
            ),
        ]);
        report.note(format!("reserve ms/GiB {row}"), r);
        report.note(format!("reserve sync ms/GiB {row}"), s);
        report.note(
            format!("reserve allocated {row}"),
            allocated[c].median() / g as f64,
        );
    }
    report.table(
        "reserve",
        Table {
            title: format!(
                "S8 reserve_exact of {size} on a new vector (ext2: no fallocate; temp dir: {host_fs})"
            ),
            rows: reserve,
            baseline: lib_host,
            refs: vec![],
            per,
        },
    );
    report.table(
        "reserve sync",
        Table {
            title: format!("S8 the sync() / sync_data after reserving {size}"),
            rows: sync,
            baseline: lib_host,
            refs: vec![],
            per,
        },
    );
    println!(
        "\nS8 reservation cost per GiB (medians):\n\n{}",
        markdown(&lines)
    );
    drop(ext2);
    Ok(())
}

/// One reservation of `g` bytes in a new file at `path`, then its sync.
fn one(row: &str, path: &Path, g: usize) -> io::Result<Measured> {
    match row {
        LIB_EXT2 | LIB_HOST => {
            let mut v = OpenOptions::new().create_new(true).open::<u64>(path)?;
            let t0 = Instant::now();
            v.reserve_exact(g / 8)?;
            let reserve = t0.elapsed().as_secs_f64();
            if v.capacity() < g / 8 {
                return Err(io::Error::other("reserve_exact reserved too little"));
            }
            let allocated = allocated_bytes(path)?;
            let t1 = Instant::now();
            v.sync()?;
            let sync = t1.elapsed().as_secs_f64();
            v.close()?;
            Ok(Measured {
                reserve,
                sync,
                allocated,
            })
        }
        _ => {
            let f = File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)?;
            let t0 = Instant::now();
            match row {
                POSIX_EXT2 => {
                    // SAFETY: a plain call on a descriptor `f` keeps open; no memory is passed.
                    let r = unsafe { libc::posix_fallocate(f.as_raw_fd(), 0, g as libc::off_t) };
                    if r != 0 {
                        return Err(io::Error::from_raw_os_error(r));
                    }
                }
                ZEROS_EXT2 => {
                    let zeros = vec![0u8; 1 << 20];
                    let mut off = 0;
                    while off < g {
                        let k = zeros.len().min(g - off);
                        f.write_all_at(&zeros[..k], off as u64)?;
                        off += k;
                    }
                }
                _ => crate::os::fallocate(&f, 0, g as u64)?,
            }
            let reserve = t0.elapsed().as_secs_f64();
            let allocated = allocated_bytes(path)?;
            let t1 = Instant::now();
            f.sync_data()?;
            let sync = t1.elapsed().as_secs_f64();
            Ok(Measured {
                reserve,
                sync,
                allocated,
            })
        }
    }
}

/// What `fallocate` does on a file system, as text (`EOPNOTSUPP` is what ext2 says).
fn probe_fallocate(dir: &Path) -> String {
    let path = dir.join("fallocate-probe");
    let r = File::create(&path).map(|f| {
        // SAFETY: a plain syscall on a descriptor `f` keeps open; no memory is passed.
        let r = unsafe { libc::fallocate(f.as_raw_fd(), 0, 0, 4096) };
        let e = io::Error::last_os_error();
        if r == 0 {
            "supported (this is not the file system the scenario is about)".to_string()
        } else if e.raw_os_error() == Some(libc::EOPNOTSUPP) {
            "EOPNOTSUPP, as on every ext2".to_string()
        } else {
            format!("{e}")
        }
    });
    let _ = std::fs::remove_file(&path);
    r.unwrap_or_else(|e| format!("cannot probe: {e}"))
}
