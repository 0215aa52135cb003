//! What the benchmark asks of the OS beyond std: `fallocate`, minor-fault counts, the file
//! system type and free space of the temp dir, the CPU model and the date.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// `fallocate(fd, 0, offset, len)`: reserves real blocks, as the library does on growth.
/// Falls back to `set_len` where the file system (or the OS) has no `fallocate`.
pub fn fallocate(file: &File, offset: u64, len: u64) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: a plain syscall on a descriptor that `file` keeps open; no memory is passed.
        let r = unsafe { libc::fallocate(file.as_raw_fd(), 0, offset as i64, len as i64) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if !matches!(
            e.raw_os_error(),
            Some(libc::EOPNOTSUPP) | Some(libc::ENOSYS)
        ) {
            return Err(e);
        }
    }
    let end = offset + len;
    if file.metadata()?.len() < end {
        file.set_len(end)?;
    }
    Ok(())
}

/// Reads the whole file once (8 MiB `read`s into one buffer), so that every page of it is in
/// the page cache. Pages already cached stay as they are (their folio sizes too).
pub fn read_through(path: &Path) -> io::Result<u64> {
    use std::io::Read;
    let mut f = File::open(path)?;
    let mut buf = vec![0u8; 8 << 20];
    let mut total = 0u64;
    loop {
        let k = f.read(&mut buf)?;
        if k == 0 {
            return Ok(total);
        }
        total += k as u64;
    }
}

/// The fraction of the file's pages that are in the page cache (`mincore` over a read-only
/// map of the whole file; mapping and `mincore` fault nothing in).
pub fn resident_fraction(path: &Path) -> io::Result<f64> {
    let f = File::open(path)?;
    let len = f.metadata()?.len() as usize;
    if len == 0 {
        return Ok(1.0);
    }
    // SAFETY: a new read-only shared mapping of a file we opened, at an address the kernel
    // picks; no reference into it is formed.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    let pages = len.div_ceil(page_size());
    let mut vec = vec![0u8; pages];
    // SAFETY: `p`/`len` is our mapping and `vec` has one byte per page of it.
    let r = unsafe { libc::mincore(p, len, vec.as_mut_ptr().cast()) };
    let e = io::Error::last_os_error();
    // SAFETY: `p`/`len` is our mapping; nothing refers into it.
    unsafe { libc::munmap(p, len) };
    if r != 0 {
        return Err(e);
    }
    Ok(vec.iter().filter(|&&b| b & 1 != 0).count() as f64 / pages as f64)
}

/// Bytes of blocks allocated to the file (`st_blocks * 512`).
pub fn allocated_bytes(path: &Path) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    Ok(std::fs::metadata(path)?.blocks() * 512)
}

/// How much of this process's mappings of `path` is resident, and how much of that is mapped
/// by PMD entries (2 MiB pages of the page cache: one TLB entry each), in KiB, summed over the
/// mappings `/proc/self/smaps` lists with that path. `None` where there is no smaps (or no
/// mapping of the file).
pub fn mapped_kib(path: &Path) -> Option<(u64, u64)> {
    let path = std::fs::canonicalize(path).ok()?;
    let path = path.to_str()?;
    let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
    let (mut rss, mut pmd, mut found, mut ours) = (0u64, 0u64, false, false);
    for line in smaps.lines() {
        let mut f = line.split_whitespace();
        let first = f.next().unwrap_or("");
        if !first.ends_with(':') && first.contains('-') {
            // A mapping's header: range, perms, offset, dev, inode, path.
            ours = f.nth(4) == Some(path);
            found |= ours;
        } else if ours {
            let kib = || {
                f.clone()
                    .next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .unwrap_or(0)
            };
            match first {
                "Rss:" => rss += kib(),
                "FilePmdMapped:" => pmd += kib(),
                _ => {}
            }
        }
    }
    found.then_some((rss, pmd))
}

/// Whether this process runs as root (loop mounts need it).
pub fn is_root() -> bool {
    // SAFETY: `geteuid` has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Minor page faults of this process so far (`getrusage(RUSAGE_SELF).ru_minflt`).
pub fn minor_faults() -> u64 {
    // SAFETY: `rusage` is plain old data; all-zero bytes are a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage` for the call to fill in.
    let r = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    if r != 0 {
        return 0;
    }
    ru.ru_minflt as u64
}

/// CPU seconds (user + system) this process has used so far (`getrusage(RUSAGE_SELF)`).
/// On a shared machine this moves less than wall time when other tenants take the cores.
pub fn cpu_seconds() -> f64 {
    // SAFETY: `rusage` is plain old data; all-zero bytes are a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage` for the call to fill in.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return f64::NAN;
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// Minor faults and CPU seconds from a starting point.
#[derive(Clone, Copy)]
pub struct Meter {
    faults: u64,
    cpu: f64,
}

impl Meter {
    /// Starts counting.
    pub fn start() -> Meter {
        Meter {
            faults: minor_faults(),
            cpu: cpu_seconds(),
        }
    }

    /// Minor faults and CPU seconds since [`start`](Self::start).
    pub fn stop(self) -> (u64, f64) {
        (minor_faults() - self.faults, cpu_seconds() - self.cpu)
    }
}

/// The OS page size.
pub fn page_size() -> usize {
    // SAFETY: `sysconf` only reads a configuration value.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p > 0 {
        p as usize
    } else {
        4096
    }
}

/// The file system type of `dir`, by name where it is a common one.
pub fn fs_type(dir: &Path) -> String {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
            return "unknown".into();
        };
        // SAFETY: `statfs` is plain old data; all-zero bytes are a valid value.
        let mut st: libc::statfs = unsafe { std::mem::zeroed() };
        // SAFETY: `c` is a NUL-terminated path and `st` a writable `statfs`.
        if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
            return "unknown".into();
        }
        fs_name(st.f_type as u64)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = dir;
        "unknown".into()
    }
}

/// The name of a Linux `statfs.f_type` magic number.
pub fn fs_name(magic: u64) -> String {
    match magic {
        0xEF53 => "ext4".into(),
        0x0102_1994 => "tmpfs".into(),
        0x5846_5342 => "xfs".into(),
        0x9123_683E => "btrfs".into(),
        0x794C_7630 => "overlayfs".into(),
        0x2FC1_2FC1 => "zfs".into(),
        0x6969 => "nfs".into(),
        0x6573_5546 => "fuse".into(),
        0xF2F5_2010 => "f2fs".into(),
        other => format!("f_type {other:#x}"),
    }
}

/// The read-ahead window (`read_ahead_kb`) of the block device holding `dir`, in KiB: the
/// size of the kernel's read-around when a store through a mapping faults on a page that
/// is not in the page cache (for reserved, unwritten blocks it zeroes the whole window in
/// the faulting thread). `None` where the device has no queue (tmpfs) or it cannot be read.
pub fn read_ahead_kb(dir: &Path) -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    let dev = std::fs::metadata(dir).ok()?.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let base = format!("/sys/dev/block/{major}:{minor}");
    // A partition's queue is its disk's.
    [
        format!("{base}/queue/read_ahead_kb"),
        format!("{base}/../queue/read_ahead_kb"),
    ]
    .iter()
    .find_map(|p| std::fs::read_to_string(p).ok()?.trim().parse().ok())
}

/// Bytes available to an unprivileged writer on the file system of `dir`.
pub fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: `statvfs` is plain old data; all-zero bytes are a valid value.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a NUL-terminated path and `st` a writable `statvfs`.
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail as u64 * st.f_frsize as u64)
}

/// The CPU model from `/proc/cpuinfo`, and the number of online CPUs.
pub fn cpu_model() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let n = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model} ({n} CPUs)")
}

/// The kernel release, from `/proc/sys/kernel/osrelease`.
pub fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| std::env::consts::OS.into())
}

/// Now, as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_now() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day); Howard Hinnant's
/// `civil_from_days`.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(59), (1970, 3, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn read_ahead_is_the_devices_and_none_without_one() {
        // tmpfs has no block device, so no queue.
        if fs_type(Path::new("/dev/shm")) == "tmpfs" {
            assert_eq!(read_ahead_kb(Path::new("/dev/shm")), None);
        }
        // The root's device, where it is a block device, has a window of whole KiB.
        use std::os::unix::fs::MetadataExt;
        let dev = std::fs::metadata("/").unwrap().dev();
        let (major, minor) = (libc::major(dev), libc::minor(dev));
        if let Ok(s) = std::fs::read_to_string(format!(
            "/sys/dev/block/{major}:{minor}/queue/read_ahead_kb"
        )) {
            assert_eq!(
                read_ahead_kb(Path::new("/")),
                Some(s.trim().parse().unwrap())
            );
        }
    }

    #[test]
    fn fs_names() {
        assert_eq!(fs_name(0xEF53), "ext4");
        assert_eq!(fs_name(0x0102_1994), "tmpfs");
        assert_eq!(fs_name(0x1234), "f_type 0x1234");
    }

    #[test]
    fn fallocate_reserves_and_grows() {
        let dir = std::env::temp_dir().join(format!("pb-os-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        fallocate(&f, 0, 1 << 20).unwrap();
        assert_eq!(f.metadata().unwrap().len(), 1 << 20);
        drop(f);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn read_through_makes_a_file_resident() {
        let dir = std::env::temp_dir().join(format!("pb-os-res-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, vec![7u8; 3 << 20]).unwrap();
        assert_eq!(read_through(&path).unwrap(), 3 << 20);
        assert_eq!(resident_fraction(&path).unwrap(), 1.0);
        assert!(allocated_bytes(&path).unwrap() >= 3 << 20);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mapped_kib_finds_a_mapping_of_the_file() {
        let dir = std::env::temp_dir().join(format!("pb-os-smaps-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f");
        std::fs::write(&path, vec![7u8; 1 << 20]).unwrap();
        assert_eq!(mapped_kib(&path), None, "not mapped yet");
        let f = File::open(&path).unwrap();
        // SAFETY: nobody changes the test's own file.
        let m = unsafe { memmap2::Mmap::map(&f) }.unwrap();
        std::hint::black_box(m.iter().step_by(4096).map(|&b| b as u64).sum::<u64>());
        let (rss, pmd) = mapped_kib(&path).expect("listed in smaps");
        assert_eq!(rss, 1024, "every page touched is resident");
        assert!(pmd <= rss);
        drop(m);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn faults_are_counted() {
        let before = minor_faults();
        let mut v = vec![0u8; 64 << 20];
        for i in (0..v.len()).step_by(4096) {
            v[i] = 1;
        }
        std::hint::black_box(&v);
        assert!(
            minor_faults() > before,
            "touching 64 MiB of fresh memory faults"
        );
    }
}
