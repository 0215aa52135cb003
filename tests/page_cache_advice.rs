//! The page-cache hints of bulk appends (issue 13): the writer's mapping is advised as one
//! whole (`MADV_HUGEPAGE` in bulk-append mode, `MADV_NOHUGEPAGE` after small commits), the
//! advice survives every growth step with the remap path this build uses (CI runs the suite
//! again with `PERSISTENCE_PORTABLE_REMAP=1`), a mapping never gets split by advice (a split
//! one makes the next `mremap` fail with `EFAULT`), a switch costs one or two system calls and
//! a commit without one costs none, a failing hint changes nothing, and the zeros that pad a
//! bulk `pwrite` to its 2 MiB boundary never overwrite an element or a committed one.
//!
//! What the hints do to page faults is a speed claim: the benchmark measures it
//! (`bench/README.md`, S1 and S7), not this test.

mod common;

use std::cell::Cell;
use std::path::Path;

use persistence::test_hooks::{self as fault, Op};
use persistence::{MmapedVec, OpenOptions};

const MIB: usize = 1 << 20;
/// `u64`s in 2 MiB.
const HUGE_ELEMS: usize = 2 * MIB / 8;

/// One kernel mapping (VMA) as `/proc/self/smaps` shows it.
#[derive(Debug)]
struct Vma {
    start: usize,
    end: usize,
    /// `KernelPageSize`, in bytes.
    page: usize,
    flags: Vec<String>,
}

/// The mapping of this process that contains `addr` (Linux).
fn vma_of(addr: usize) -> Vma {
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("read /proc/self/smaps");
    let mut found: Option<Vma> = None;
    for line in smaps.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((a, b)) = first.split_once('-') {
            if let (Ok(a), Ok(b)) = (usize::from_str_radix(a, 16), usize::from_str_radix(b, 16)) {
                if found.is_some() {
                    break;
                }
                if (a..b).contains(&addr) {
                    found = Some(Vma {
                        start: a,
                        end: b,
                        page: 0,
                        flags: Vec::new(),
                    });
                }
                continue;
            }
        }
        if let (Some(v), Some(rest)) = (found.as_mut(), line.strip_prefix("VmFlags:")) {
            v.flags = rest.split_whitespace().map(str::to_string).collect();
        }
        if let (Some(v), Some(rest)) = (found.as_mut(), line.strip_prefix("KernelPageSize:")) {
            let kb: usize = rest.trim().trim_end_matches("kB").trim().parse().unwrap();
            v.page = kb * 1024;
        }
    }
    found.unwrap_or_else(|| panic!("no mapping contains {addr:#x}"))
}

/// Whether this kernel has transparent huge pages (else `madvise(MADV_HUGEPAGE)` is `EINVAL`
/// and sets nothing).
fn kernel_has_thp() -> bool {
    Path::new("/sys/kernel/mm/transparent_hugepage/enabled").exists()
}

/// Asserts that the vector's mapping is one whole kernel mapping of the file with `advice`
/// (`"hg"`: `MADV_HUGEPAGE`, `"nh"`: `MADV_NOHUGEPAGE`) and not the other.
fn assert_whole_and_advised(v: &MmapedVec<u64>, advice: &str, when: &str) {
    let base = v.as_ptr() as usize - 4096;
    let vma = vma_of(base);
    let len = (v.file_len() as usize).div_ceil(vma.page) * vma.page;
    assert_eq!(
        (vma.start, vma.end - vma.start),
        (base, len),
        "{when}: the mapping is not one whole kernel mapping: {vma:?}"
    );
    let other = if advice == "hg" { "nh" } else { "hg" };
    let has = |flag: &str| vma.flags.iter().any(|f| f == flag);
    assert!(
        has(advice) && !has(other),
        "{when}: expected VmFlags {advice}, got {:?}",
        vma.flags
    );
}

#[test]
#[cfg_attr(miri, ignore)]
fn advice_covers_the_whole_mapping_across_growth_and_switches() {
    if !cfg!(target_os = "linux") || !kernel_has_thp() {
        eprintln!("SKIPPED: needs Linux with transparent huge pages (madvise(MADV_HUGEPAGE))");
        return;
    }
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "advice.bin");
    let mut v = OpenOptions::new()
        .huge_pages(true)
        .open::<u64>(&path)
        .unwrap();
    // Bulk: pushes across growth steps up to 66 MiB; after each step the whole (grown or
    // moved) mapping carries MADV_HUGEPAGE.
    let mut steps = 0;
    let mut sizes = Vec::new();
    for i in 0..5_000_000u64 {
        let cap = v.capacity();
        v.push(i).unwrap();
        if v.capacity() != cap {
            steps += 1;
            sizes.push(v.file_len());
            assert_whole_and_advised(&v, "hg", &format!("bulk growth step {steps}"));
        }
    }
    assert!(steps >= 6, "only {steps} growth steps: {sizes:?}");
    // Past 2 MiB every amortised step leaves a whole number of 2 MiB.
    for s in &sizes {
        assert!(*s < 2 * MIB as u64 || s % (2 * MIB as u64) == 0, "size {s}");
    }
    assert!(
        sizes.contains(&(2 * MIB as u64)),
        "no step stopped at 2 MiB: {sizes:?}"
    );
    v.sync().unwrap();
    assert_whole_and_advised(&v, "hg", "after a bulk commit");

    // Small commits: the advice flips to MADV_NOHUGEPAGE, still on the whole mapping, and
    // growth keeps working (a split mapping would make mremap fail with EFAULT).
    let mut model: Vec<u64> = (0..5_000_000u64).collect();
    let mut small_steps = 0;
    for round in 0..200u64 {
        let cap = v.capacity();
        for j in 0..20_000 {
            let x = round * 1_000_000 + j;
            v.push(x).unwrap();
            model.push(x);
        }
        v.sync().unwrap();
        assert_whole_and_advised(&v, "nh", &format!("small commit {round}"));
        if v.capacity() != cap {
            small_steps += 1;
        }
    }
    assert!(small_steps > 0, "no growth step under small commits");
    // A bulk commit again: back to MADV_HUGEPAGE, and a growth after it keeps it.
    let chunk: Vec<u64> = (0..3 * HUGE_ELEMS as u64).collect();
    v.extend_from_slice(&chunk).unwrap();
    model.extend_from_slice(&chunk);
    v.sync().unwrap();
    assert_whole_and_advised(&v, "hg", "after a bulk commit following small ones");
    let more = v.capacity() - v.len() + 1;
    v.reserve_exact(more).unwrap();
    assert_whole_and_advised(&v, "hg", "after reserve_exact");
    // Shrinking remaps too (in place with mremap, a new mapping on the portable path).
    v.truncate(1_000_000);
    model.truncate(1_000_000);
    v.sync().unwrap();
    v.shrink_to_fit().unwrap();
    assert_whole_and_advised(&v, "hg", "after shrink_to_fit");
    assert_eq!(&v[..], &model[..]);
    drop(v);
    let v = MmapedVec::<u64>::open(&path).unwrap();
    assert_eq!(&v[..], &model[..]);
}

std::thread_local! {
    static ADVICE_CALLS: Cell<usize> = const { Cell::new(0) };
}

fn count_advice(op: Op) {
    if op == Op::Advise {
        ADVICE_CALLS.with(|c| c.set(c.get() + 1));
    }
}

/// The page-cache hint calls `f` makes.
fn advice_calls(f: impl FnOnce()) -> usize {
    ADVICE_CALLS.with(|c| c.set(0));
    fault::observe(Some(count_advice));
    f();
    fault::observe(None);
    ADVICE_CALLS.with(Cell::get)
}

#[test]
#[cfg_attr(miri, ignore)]
fn a_commit_gives_advice_only_when_the_mode_switches() {
    let hints = cfg!(any(target_os = "linux", target_os = "android"));
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "switch.bin");
    let mut v = OpenOptions::new()
        .huge_pages(true)
        .open::<u64>(&path)
        .unwrap();
    // The first growth of a new file advises its mapping once.
    let n = advice_calls(|| v.push(1).unwrap());
    assert_eq!(n, usize::from(hints), "first growth");
    // Growth within the same mode advises again only where the remap forgets the advice.
    let n = advice_calls(|| {
        for i in 0..3 * HUGE_ELEMS as u64 {
            v.push(i).unwrap();
        }
    });
    let portable = fault_remap_is_portable();
    if !hints || !portable {
        assert_eq!(n, 0, "growth in the same mode with mremap");
    } else {
        assert!(n > 0, "the portable path's new mapping is advised again");
    }
    // A bulk commit (>= 2 MiB appended): still bulk, no call.
    assert_eq!(advice_calls(|| v.sync().unwrap()), 0, "bulk commit");
    // A small commit switches: MADV_NOHUGEPAGE + POSIX_FADV_DONTNEED past the tail.
    v.push(7).unwrap();
    assert_eq!(
        advice_calls(|| v.sync().unwrap()),
        2 * usize::from(hints),
        "switch to small"
    );
    // More small commits, in-place changes and a commit of nothing: no call.
    let n = advice_calls(|| {
        for i in 0..10u64 {
            v.push(i).unwrap();
            v.sync().unwrap();
        }
        v[0] = 9;
        v.sync().unwrap();
        v.sync().unwrap();
    });
    assert_eq!(n, 0, "small commits while small");
    // A bulk commit switches back: one MADV_HUGEPAGE.
    let chunk = vec![5u64; HUGE_ELEMS];
    v.extend_from_slice(&chunk).unwrap();
    assert_eq!(
        advice_calls(|| v.sync().unwrap()),
        usize::from(hints),
        "switch to bulk"
    );
    v.close().unwrap();
}

/// Whether this build remaps by mapping again (the portable path).
fn fault_remap_is_portable() -> bool {
    fault::REMAP_STRATEGY == "unmap-and-map"
}

#[test]
#[cfg_attr(miri, ignore)]
fn failing_hints_change_nothing() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "nohint.bin");
    fault::inject_always(Op::Advise, 22); // EINVAL, as from a kernel without THP
    let mut v = OpenOptions::new()
        .huge_pages(true)
        .open::<u64>(&path)
        .unwrap();
    let mut model = Vec::new();
    for i in 0..2_000_000u64 {
        v.push(i).unwrap();
        model.push(i);
        if i % 300_000 == 0 {
            v.sync().unwrap(); // small, then bulk commits: switches both ways
        }
    }
    let chunk: Vec<u64> = (0..700_000u64).collect();
    v.extend_from_slice(&chunk).unwrap();
    model.extend_from_slice(&chunk);
    v.sync().unwrap();
    fault::clear();
    assert_eq!(&v[..], &model[..]);
    drop(v);
    assert_eq!(&MmapedVec::<u64>::open(&path).unwrap()[..], &model[..]);
}

/// The file's `u64`s at element indices `range` as the page cache holds them.
fn file_elems(path: &Path, range: std::ops::Range<usize>) -> Vec<u64> {
    let bytes = common::read(path);
    bytes[4096 + 8 * range.start..4096 + 8 * range.end]
        .chunks_exact(8)
        .map(|c| u64::from_ne_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
#[cfg_attr(miri, ignore)]
fn padding_zeros_never_touch_elements() {
    let dir = common::tmpdir();
    let path = common::path_in(&dir, "pad.bin");
    let mut rng = common::rng("padding_zeros_never_touch_elements");
    let mut v = OpenOptions::new()
        .create_new(true)
        .huge_pages(true)
        .open::<u64>(&path)
        .unwrap();
    let mut model: Vec<u64> = Vec::new();
    // Bulk appends of slices of many sizes (the pwrite path starts at 32 KiB), crossing and
    // ending near 2 MiB boundaries, in bulk mode (one commit at the end).
    let mut gen = 0u64;
    while model.len() < 12 * HUGE_ELEMS {
        gen += 1;
        let n = match rng.u32(0..4) {
            0 => rng.usize(4096..8192),
            1 => rng.usize(60_000..70_000),
            2 => {
                // End one element before, at, or one after a 2 MiB file offset (element
                // `k` is at byte 4096 + 8 k).
                let boundary = ((model.len() + 512) / HUGE_ELEMS + 2) * HUGE_ELEMS - 512;
                boundary - model.len() + rng.usize(0..3) - 1
            }
            _ => rng.usize(HUGE_ELEMS..3 * HUGE_ELEMS),
        };
        let chunk: Vec<u64> = (0..n as u64).map(|j| gen << 40 | j).collect();
        let size = v.file_len();
        v.extend_from_slice(&chunk).unwrap();
        model.extend_from_slice(&chunk);
        // The padding stays inside the file: the file only changes size by growth.
        let on_disk = std::fs::metadata(&path).unwrap().len();
        assert_eq!(on_disk, v.file_len());
        assert!(v.file_len() >= size);
        assert_eq!(&v[..], &model[..], "after an extend of {n}");
    }
    v.sync().unwrap();
    assert_eq!(file_elems(&path, 0..model.len()), model);

    // Truncate below the committed length, then extend by less than was cut: the elements
    // between the new end and the committed end belong to the last commit (a crash now
    // reopens to it) and must keep their bytes; the padding stops at the committed end.
    let committed = model.len();
    for cut in [
        3 * HUGE_ELEMS + 100,
        7 * HUGE_ELEMS - 10_000,
        9 * HUGE_ELEMS,
    ] {
        v.truncate(cut);
        // Across the next 2 MiB boundary, where bulk mode would pad.
        let boundary = ((cut + 512) / HUGE_ELEMS + 1) * HUGE_ELEMS - 512;
        let n = boundary - cut + rng.usize(1000..200_000);
        assert!(cut + n < committed);
        let chunk: Vec<u64> = (0..n as u64).map(|j| 0xDEAD << 40 | j).collect();
        v.extend_from_slice(&chunk).unwrap();
        let end = cut + n;
        assert_eq!(file_elems(&path, cut..end), chunk);
        assert_eq!(
            file_elems(&path, end..committed),
            model[end..committed],
            "committed elements past the new end changed (cut {cut}, n {n})"
        );
        // Put the committed state back for the next round.
        v.truncate(cut);
        v.extend_from_slice(&model[cut..]).unwrap();
    }
    assert_eq!(&v[..], &model[..]);
    v.sync().unwrap();
    drop(v);
    assert_eq!(&MmapedVec::<u64>::open(&path).unwrap()[..], &model[..]);
}

std::thread_local! {
    static WRITE_CALLS: Cell<usize> = const { Cell::new(0) };
}

fn count_writes(op: Op) {
    if op == Op::Write {
        WRITE_CALLS.with(|c| c.set(c.get() + 1));
    }
}

/// The `pwrite`/`pwritev` calls `f` makes.
fn write_calls(f: impl FnOnce()) -> usize {
    WRITE_CALLS.with(|c| c.set(0));
    fault::observe(Some(count_writes));
    f();
    fault::observe(None);
    WRITE_CALLS.with(Cell::get)
}

/// A bulk `extend_from_slice` that crosses a 2 MiB file offset is cut there and its last piece
/// padded (two write calls) where the file system builds large folios from writes (ext4,
/// XFS on Linux), and written in one call elsewhere, with `huge_pages(false)`, and once the
/// vector has switched to small commits.
#[test]
#[cfg_attr(miri, ignore)]
fn bulk_writes_are_padded_only_where_it_builds_large_folios() {
    let dir = common::tmpdir();
    for huge in [true, false] {
        let path = common::path_in(&dir, &format!("pad-{huge}.bin"));
        let mut v = OpenOptions::new()
            .create_new(true)
            .huge_pages(huge)
            .open::<u64>(&path)
            .unwrap();
        v.reserve_exact(8 * HUGE_ELEMS).unwrap();
        let fs = common::fs::type_name(&path);
        let pads = huge
            && cfg!(any(target_os = "linux", target_os = "android"))
            && matches!(fs.as_str(), "ext2/3/4" | "xfs");
        eprintln!("file system {fs:?}, huge_pages({huge}): padding expected: {pads}");
        // 2 MiB + 64 Ki elements: from element 0 (byte 4096) across the 2 MiB offset.
        let chunk = vec![3u64; HUGE_ELEMS + 65_536];
        let n = write_calls(|| v.extend_from_slice(&chunk).unwrap());
        assert_eq!(n, if pads { 2 } else { 1 }, "first bulk extend");
        // Inside the range the last write entered: one call.
        let n = write_calls(|| v.extend_from_slice(&chunk[..65_536]).unwrap());
        assert_eq!(n, 1, "an extend inside one 2 MiB range");
        // A small commit switches bulk mode off: no more padding.
        v.sync().unwrap();
        v.push(1).unwrap();
        v.sync().unwrap();
        let n = write_calls(|| v.extend_from_slice(&chunk).unwrap());
        assert_eq!(n, 1, "after a small commit");
        v.close().unwrap();
    }
}

#[test]
#[cfg_attr(miri, ignore)]
fn by_default_the_library_gives_no_page_cache_hints() {
    let dir = common::tmpdir();
    for (name, opts) in [
        ("default", OpenOptions::new()),
        ("huge_pages(false)", *OpenOptions::new().huge_pages(false)),
    ] {
        let path = common::path_in(&dir, &format!("{name}.bin"));
        let mut v = opts.open::<u64>(&path).unwrap();
        let mut calls = 0;
        let mut steps = 0;
        for i in 0..3_000_000u64 {
            let cap = v.capacity();
            calls += advice_calls(|| v.push(i).unwrap());
            if v.capacity() != cap {
                steps += 1;
                if cfg!(target_os = "linux") {
                    let vma = vma_of(v.as_ptr() as usize - 4096);
                    assert!(
                        !vma.flags.iter().any(|f| f == "hg" || f == "nh"),
                        "{name}, growth step {steps}: advised {:?}",
                        vma.flags
                    );
                }
            }
        }
        // Neither a bulk commit nor a small one switches anything on.
        calls += advice_calls(|| v.sync().unwrap());
        v.push(1).unwrap();
        calls += advice_calls(|| v.sync().unwrap());
        let chunk: Vec<u64> = (0..HUGE_ELEMS as u64).collect();
        let n = write_calls(|| v.extend_from_slice(&chunk).unwrap());
        assert_eq!(n, 1, "{name}: a bulk append is one write, never padded");
        assert_eq!(calls, 0, "{name}: page-cache hints were given");
        assert!(steps > 3, "{name}: too few growth steps ({steps})");
        v.close().unwrap();
    }
}
