//! Which pages of a file are dirty in the page cache, via Linux's `cachestat(2)`: what a
//! power loss would lose (used by `power_loss.rs` and `vec_marks.rs`).

use std::fs::File;
use std::path::Path;

/// Asks `cachestat` about one file, one page at a time.
pub struct Probe {
    file: File,
    page: usize,
}

#[repr(C)]
struct CachestatRange {
    off: u64,
    len: u64,
}

#[repr(C)]
#[derive(Default)]
struct Cachestat {
    nr_cache: u64,
    nr_dirty: u64,
    nr_writeback: u64,
    nr_evicted: u64,
    nr_recently_evicted: u64,
}

#[cfg(target_os = "linux")]
fn cachestat(file: &File, off: u64, len: u64) -> std::io::Result<Cachestat> {
    use std::os::fd::AsRawFd;
    use std::os::raw::{c_int, c_long, c_uint};
    extern "C" {
        fn syscall(num: c_long, ...) -> c_long;
    }
    // The same number on every Linux architecture (the unified table, since 6.5).
    const SYS_CACHESTAT: c_long = 451;
    let range = CachestatRange { off, len };
    let mut out = Cachestat::default();
    let fd: c_int = file.as_raw_fd();
    // SAFETY: cachestat(fd, *const range, *mut cachestat, flags) reads `range` and writes
    // `out`, both live `repr(C)` values with the kernel's layout; `fd` is open.
    let rc = unsafe {
        syscall(
            SYS_CACHESTAT,
            fd,
            &range as *const CachestatRange,
            &mut out as *mut Cachestat,
            0 as c_uint,
        )
    };
    if rc == 0 {
        Ok(out)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn cachestat(_: &File, _: u64, _: u64) -> std::io::Result<Cachestat> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "cachestat is Linux-only",
    ))
}

impl Probe {
    /// A probe for `path`, after checking in `dir` that the kernel and the file system
    /// report what it needs: a written page is dirty, a synced one is clean.
    pub fn new(path: &Path, dir: &Path) -> Result<Probe, String> {
        use std::io::Write;
        use std::os::unix::fs::FileExt;
        let page = rustix::param::page_size();
        let cal = dir.join("calibrate.bin");
        let mut f = File::create(&cal).map_err(|e| format!("create {cal:?}: {e}"))?;
        f.write_all(&vec![7u8; page]).map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
        let clean = cachestat(&f, 0, page as u64).map_err(|e| format!("cachestat: {e}"))?;
        f.write_all_at(&[8u8], 0).map_err(|e| e.to_string())?;
        let dirty = cachestat(&f, 0, page as u64).map_err(|e| format!("cachestat: {e}"))?;
        drop(f);
        let _ = std::fs::remove_file(&cal);
        if clean.nr_cache != 1 || clean.nr_dirty + clean.nr_writeback != 0 {
            return Err("a synced page is not reported clean (no writeback here?)".into());
        }
        if dirty.nr_dirty != 1 {
            return Err("a written page is not reported dirty".into());
        }
        let file = File::open(path).map_err(|e| format!("open {path:?}: {e}"))?;
        Ok(Probe { file, page })
    }

    /// The page size the probe works in.
    pub fn page(&self) -> usize {
        self.page
    }

    /// For each page of the first `size` bytes: dirty or under writeback (not yet on
    /// disk).
    pub fn dirty(&self, size: usize) -> Vec<bool> {
        (0..size.div_ceil(self.page))
            .map(|p| {
                let st = cachestat(&self.file, (p * self.page) as u64, self.page as u64)
                    .expect("cachestat worked at calibration");
                st.nr_dirty + st.nr_writeback > 0
            })
            .collect()
    }
}
