//! Scenario 5: grow the capacity of a vector whose old pages are all mapped (touched) from
//! `G` bytes to exactly `2 G` in one step, and time that step alone. Then touch the old pages
//! again and count the minor page faults that costs: moving the mapping with `mremap` keeps
//! its page tables (no faults), mapping the file anew does not.
//!
//! The vector file (`G` bytes of elements, durable) is written once; every round each
//! contender maps it, reads one word per page (so every page is mapped), grows, touches again,
//! and puts the file back to `G` bytes. Reads only: no page gets dirty, nothing is written back.

use std::fs::File;
use std::hint::black_box;
use std::io;
use std::os::unix::io::AsRawFd;
use std::ptr;
use std::time::Instant;

use persistence::{MmapedVec, OpenOptions};

use crate::common::{self, names::*, Ctx, Report};
use crate::os::{fallocate, minor_faults};
use crate::stats::{markdown, round_robin, Row, Samples, Table};

const DATA: usize = 4096;

#[cfg(target_os = "linux")]
const CONTENDERS: [&str; 5] = [MREMAP, MMAP_MUNMAP, FALLOC, FALLOC_MREMAP, LIB_GROW];
#[cfg(not(target_os = "linux"))]
const CONTENDERS: [&str; 3] = [MMAP_MUNMAP, FALLOC, LIB_GROW];

/// Page faults around one run.
#[derive(Default)]
struct Faults {
    before: Samples,
    during: Samples,
    after: Samples,
}

/// Runs scenario 5.
pub fn run(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let g = ctx.growth_bytes;
    let (c1, c2) = (g / 8, 2 * g / 8);
    let (l1, l2) = (DATA + g, DATA + 2 * g);
    ctx.check_space(l2 as u64, "scenario 5")?;
    let path = ctx.path("growth");
    let _ = std::fs::remove_file(&path);
    {
        let mut v = OpenOptions::new()
            .create_new(true)
            .capacity(c1)
            .open::<u64>(&path)?;
        v.resize(c1, 7)?;
        v.close()?;
    }
    let result = run_rounds(ctx, report, &path, (c1, c2), (l1, l2));
    let _ = std::fs::remove_file(&path);
    result
}

fn run_rounds(
    ctx: &Ctx,
    report: &mut Report,
    path: &std::path::Path,
    (c1, c2): (usize, usize),
    (l1, l2): (usize, usize),
) -> io::Result<()> {
    if std::fs::metadata(path)?.len() != l1 as u64 {
        return Err(io::Error::other("growth fixture has an unexpected size"));
    }
    let page = ctx.page;
    let mut rows: Vec<Row> = CONTENDERS.iter().map(|c| Row::new(*c)).collect();
    let mut faults: Vec<Faults> = CONTENDERS.iter().map(|_| Faults::default()).collect();
    let mut err = None;
    round_robin(ctx.rounds, CONTENDERS.len(), |c, _| {
        let r = match CONTENDERS[c] {
            LIB_GROW => lib_grow(path, page, c1, c2, l1),
            other => bare(other, path, page, l1, l2),
        };
        match r {
            Ok((t, f)) => {
                rows[c].time.push(t);
                if let Some((b, d, a)) = f {
                    faults[c].before.push(b as f64);
                    faults[c].during.push(d as f64);
                    faults[c].after.push(a as f64);
                    rows[c].push_faults(a);
                }
            }
            Err(e) => {
                err.get_or_insert(io::Error::other(format!("{}: {e}", CONTENDERS[c])));
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    let from = common::fmt_bytes((l1 - DATA) as f64);
    let to = common::fmt_bytes((l2 - DATA) as f64);
    let baseline = if crate::REMAP_STRATEGY == "mremap" {
        CONTENDERS.iter().position(|c| *c == MREMAP).unwrap_or(0)
    } else {
        CONTENDERS
            .iter()
            .position(|c| *c == MMAP_MUNMAP)
            .unwrap_or(0)
    };
    report.table(
        "growth",
        Table {
            title: format!(
                "S5 growth of the capacity from {from} to {to} in one step \
                 (minor faults: touching the old pages afterwards)"
            ),
            rows,
            baseline,
            refs: vec![],
            per: None,
        },
    );
    let mut lines = vec![vec![
        "contender".to_string(),
        "faults touching old pages before".into(),
        "faults during the step".into(),
        "faults touching old pages after".into(),
    ]];
    for (c, f) in faults.iter().enumerate() {
        if f.before.len() == 0 {
            continue;
        }
        lines.push(vec![
            CONTENDERS[c].to_string(),
            format!("{:.0}", f.before.median()),
            format!("{:.0}", f.during.median()),
            format!("{:.0}", f.after.median()),
        ]);
        report.note(
            format!("faults before {}", CONTENDERS[c]),
            f.before.median(),
        );
        report.note(
            format!("faults during {}", CONTENDERS[c]),
            f.during.median(),
        );
        report.note(format!("faults after {}", CONTENDERS[c]), f.after.median());
    }
    println!(
        "\nS5 page faults (medians; {} pages of old data):\n\n{}",
        (l1 - DATA) / page,
        markdown(&lines)
    );
    Ok(())
}

/// Reads one word of every page of `len` bytes at `p`; returns the minor faults it took.
///
/// # Safety
///
/// `p..p + len` is mapped readable, and backed by the file (no `SIGBUS`).
unsafe fn touch(p: *const u8, len: usize, page: usize) -> u64 {
    let f0 = minor_faults();
    let mut s = 0u64;
    for off in (0..len).step_by(page) {
        // SAFETY: inside the mapping (the caller's contract), page-aligned, so aligned.
        s = s.wrapping_add(unsafe { ptr::read_volatile(p.add(off).cast::<u64>()) });
    }
    black_box(s);
    minor_faults() - f0
}

type Measured = (f64, Option<(u64, u64, u64)>);

/// The library: open (capacity exactly `c1`), touch, `reserve_exact` to `c2`, touch again,
/// shrink back to the fixture's size.
fn lib_grow(
    path: &std::path::Path,
    page: usize,
    c1: usize,
    c2: usize,
    l1: usize,
) -> io::Result<Measured> {
    let mut v: MmapedVec<u64> = OpenOptions::new().create(false).capacity(c1).open(path)?;
    if v.len() != c1 || v.capacity() != c1 {
        return Err(io::Error::other("fixture: wrong length or capacity"));
    }
    let per_page = page / 8;
    let touch_lib = |v: &MmapedVec<u64>| {
        let f0 = minor_faults();
        let mut s = 0u64;
        for k in (0..v.len()).step_by(per_page) {
            s = s.wrapping_add(v[k]);
        }
        black_box(s);
        minor_faults() - f0
    };
    let before = touch_lib(&v);
    let f0 = minor_faults();
    let t0 = Instant::now();
    v.reserve_exact(c2 - v.len())?;
    let t = t0.elapsed().as_secs_f64();
    let during = minor_faults() - f0;
    if v.capacity() != c2 {
        return Err(io::Error::other(format!(
            "reserve_exact gave capacity {}, not {c2}",
            v.capacity()
        )));
    }
    let after = touch_lib(&v);
    v.shrink_to_fit()?;
    if v.file_len() != l1 as u64 {
        return Err(io::Error::other(
            "shrink_to_fit did not restore the file size",
        ));
    }
    v.close()?;
    Ok((t, Some((before, during, after))))
}

/// The bare syscalls on the same file.
fn bare(
    which: &str,
    path: &std::path::Path,
    page: usize,
    l1: usize,
    l2: usize,
) -> io::Result<Measured> {
    let file = File::options().read(true).write(true).open(path)?;
    if which == FALLOC {
        let t0 = Instant::now();
        fallocate(&file, l1 as u64, (l2 - l1) as u64)?;
        let t = t0.elapsed().as_secs_f64();
        file.set_len(l1 as u64)?;
        return Ok((t, None));
    }
    let p = map(&file, l1)?;
    // SAFETY: `p` maps the whole `l1`-byte file.
    let before = unsafe { touch(p, l1, page) };
    let f0 = minor_faults();
    let t0 = Instant::now();
    let grown = match which {
        #[cfg(target_os = "linux")]
        MREMAP => mremap(p, l1, l2),
        #[cfg(target_os = "linux")]
        FALLOC_MREMAP => {
            fallocate(&file, l1 as u64, (l2 - l1) as u64).and_then(|()| mremap(p, l1, l2))
        }
        MMAP_MUNMAP => map(&file, l2).inspect(|_| {
            // SAFETY: `p`/`l1` is our mapping, no reference into it exists.
            unsafe { libc::munmap(p.cast(), l1) };
        }),
        _ => unreachable!("every contender is listed"),
    };
    let t = t0.elapsed().as_secs_f64();
    let during = minor_faults() - f0;
    let q = match grown {
        Ok(q) => q,
        Err(e) => {
            // SAFETY: the old mapping is still ours when growing it failed.
            unsafe { libc::munmap(p.cast(), l1) };
            return Err(e);
        }
    };
    // SAFETY: the first `l1` bytes of the new mapping are the same file's first `l1` bytes.
    let after = unsafe { touch(q, l1, page) };
    // SAFETY: `q`/`l2` is our mapping, no reference into it exists.
    unsafe { libc::munmap(q.cast(), l2) };
    file.set_len(l1 as u64)?;
    Ok((t, Some((before, during, after))))
}

/// `mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)`.
fn map(file: &File, len: usize) -> io::Result<*mut u8> {
    // SAFETY: a new mapping at an address the kernel picks overlaps nothing of ours.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            file.as_raw_fd(),
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(p.cast())
}

/// `mremap(p, old, new, MREMAP_MAYMOVE)`.
#[cfg(target_os = "linux")]
fn mremap(p: *mut u8, old: usize, new: usize) -> io::Result<*mut u8> {
    // SAFETY: `p`/`old` is a live mapping of ours with no reference into it; MAYMOVE lets the
    // kernel pick a new address, which overlaps nothing of ours.
    let q = unsafe { libc::mremap(p.cast(), old, new, libc::MREMAP_MAYMOVE) };
    if q == libc::MAP_FAILED {
        return Err(io::Error::last_os_error());
    }
    Ok(q.cast())
}
