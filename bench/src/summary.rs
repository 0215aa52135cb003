//! The closing summary: every target of issues 4, 8, 9, 10 and 13 with its measured ratio, met or
//! missed, as a Markdown table for bench/README.md, and the side-by-side table of vecdb and
//! MmapedVec in every scenario both ran.

use crate::common::{fmt_bytes, fmt_count, names::*, Ctx, Report};
use crate::stats::{fmt_ratio, fmt_time, markdown};

/// One target line.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// What is compared.
    pub what: String,
    /// The goal, as text (`≤ 1.00×`).
    pub goal: String,
    /// The measured figure, as text.
    pub measured: String,
    /// Met, missed, or not measured (scenario skipped).
    pub met: Option<bool>,
}

/// The goal of a line that only reports a figure.
const INFO: &str = "(figure only)";

/// A line that reports a figure and has no goal.
fn info(what: String, measured: String, finite: bool) -> Target {
    Target {
        what,
        goal: INFO.into(),
        measured: if finite { measured } else { "-".into() },
        met: None,
    }
}

/// The smaller of two medians (NaN only if both are).
fn best(a: f64, b: f64) -> f64 {
    a.min(b)
}

/// One scenario both vecdb and MmapedVec run: what, the key of its table, MmapedVec's row,
/// vecdb's durable rows (BytesVec, ZeroCopyVec), vecdb's non-durable flush rows, if any.
type Pair = (
    String,
    String,
    &'static str,
    [&'static str; 2],
    Option<[&'static str; 2]>,
);

/// Every scenario both vecdb and MmapedVec run.
fn vecdb_pairs(ctx: &Ctx) -> Vec<Pair> {
    use crate::scan::names as scan;
    let mut v = Vec::new();
    for (label, num) in [("push", 1), ("extend", 2)] {
        for &n in &ctx.append_sizes {
            v.push((
                format!(
                    "S{num} {label} {} u64 + durable sync{}",
                    fmt_count(n),
                    if num == 2 {
                        " (vecdb: push per element)"
                    } else {
                        ""
                    }
                ),
                format!("{label}+sync {n}"),
                LIB,
                [VDB_BYTES_SYNC, VDB_ZERO_SYNC],
                Some([VDB_BYTES_FLUSH, VDB_ZERO_FLUSH]),
            ));
        }
    }
    let big = ctx.file_sizes.last().copied().unwrap_or(0);
    let big_b = fmt_bytes(8.0 * big as f64);
    v.push((
        format!("S3 reopen {big_b} + read one"),
        format!("reopen {big}"),
        LIB_OPEN,
        [VDB_OPEN_BYTES, VDB_OPEN_ZERO],
        None,
    ));
    v.push((
        format!("S3 reopen {big_b} + sum all"),
        format!("read all {big}"),
        LIB_OPEN,
        [VDB_OPEN_BYTES, VDB_OPEN_ZERO],
        None,
    ));
    for &n in &ctx.file_sizes {
        for (lib, how) in [(LIB_SYNC, ""), (LIB_SET_SYNC, " (MmapedVec: set)")] {
            v.push((
                format!(
                    "S4 change one element of {} + durable sync{how}",
                    fmt_bytes(8.0 * n as f64)
                ),
                format!("sync one {n}"),
                lib,
                [VDB_SET_BYTES, VDB_SET_ZERO],
                Some([VDB_SET_BYTES_FLUSH, VDB_SET_ZERO_FLUSH]),
            ));
        }
    }
    v.push((
        format!("S6 {} random reads in {big_b}", fmt_count(ctx.random_reads)),
        "random".into(),
        LIB_IDX,
        [VDB_IDX_BYTES, VDB_IDX_ZERO],
        None,
    ));
    v.push((
        format!(
            "S7 reopen {} + sum all (MmapedVec: push-written file)",
            fmt_bytes(8.0 * ctx.scan_elems as f64)
        ),
        format!("scan {}", ctx.scan_elems),
        scan::LIB_PUSH,
        [scan::VDB_BYTES, scan::VDB_ZERO],
        None,
    ));
    for (n, k) in crate::commits::shapes(ctx) {
        use crate::commits::names as cm;
        v.push((
            format!(
                "S10 push {} u64, durable sync every {}",
                fmt_count(n),
                fmt_bytes(8.0 * k as f64)
            ),
            crate::commits::key(n, k),
            cm::LIB_PUSH,
            [cm::VDB_BYTES, cm::VDB_ZERO],
            None,
        ));
    }
    v
}

/// MmapedVec and vecdb side by side, as Markdown: every scenario both ran.
pub fn vecdb_table(ctx: &Ctx, r: &Report) -> String {
    let mut lines = vec![vec![
        "scenario".to_string(),
        "MmapedVec".into(),
        "vecdb BytesVec".into(),
        "vecdb ZeroCopyVec".into(),
        "MmapedVec / best vecdb".into(),
        "vecdb flush only (not durable), best".into(),
    ]];
    for (what, key, lib, [b, z], flush) in vecdb_pairs(ctx) {
        let (l, vb, vz) = (median(r, &key, lib), median(r, &key, b), median(r, &key, z));
        if !l.is_finite() {
            continue;
        }
        let f = flush.map_or(f64::NAN, |[fb, fz]| {
            best(median(r, &key, fb), median(r, &key, fz))
        });
        lines.push(vec![
            what,
            fmt_time(l),
            fmt_time(vb),
            fmt_time(vz),
            fmt_ratio(l / best(vb, vz)),
            fmt_time(f),
        ]);
    }
    if lines.len() == 1 {
        return String::new();
    }
    format!(
        "## MmapedVec and vecdb 0.13, side by side (medians; durable rows: vecdb's flush + an \
         fsync of its files)\n\n{}",
        markdown(&lines)
    )
}

/// A target "ratio ≤ limit".
fn at_most(what: String, ratio: f64, limit: f64, detail: String) -> Target {
    Target {
        what,
        goal: format!("≤ {limit:.2}×"),
        measured: if detail.is_empty() {
            fmt_ratio(ratio)
        } else {
            format!("{} ({detail})", fmt_ratio(ratio))
        },
        met: ratio.is_finite().then_some(ratio <= limit),
    }
}

/// A target "speed-up ≥ limit" where speed-up = other / ours.
fn at_least(what: String, speedup: f64, limit: f64, detail: String) -> Target {
    Target {
        what,
        goal: format!("≥ {limit:.2}× faster"),
        measured: format!("{} faster ({detail})", fmt_ratio(speedup)),
        met: speedup.is_finite().then_some(speedup >= limit),
    }
}

/// `a / b` of the medians of two rows of table `key`.
fn ratio(r: &Report, key: &str, a: &str, b: &str) -> f64 {
    r.get(key)
        .map_or(f64::NAN, |t| t.median_of(a) / t.median_of(b))
}

/// `a / b` of the median CPU times of two rows of table `key` (NaN where not measured).
fn cpu_ratio(r: &Report, key: &str, a: &str, b: &str) -> f64 {
    let cpu = |name: &str| {
        r.get(key)
            .and_then(|t| t.rows.iter().find(|row| row.name == name))
            .and_then(|row| row.cpu.as_ref())
            .map_or(f64::NAN, crate::stats::Samples::median)
    };
    cpu(a) / cpu(b)
}

/// The median of row `a` in table `key`.
fn median(r: &Report, key: &str, a: &str) -> f64 {
    r.get(key).map_or(f64::NAN, |t| t.median_of(a))
}

/// Every target of the issue, from what the run measured.
pub fn targets(ctx: &Ctx, r: &Report) -> Vec<Target> {
    let mut out = Vec::new();
    let large = ctx.append_sizes.last().copied().unwrap_or(0);
    for (label, num) in [("push", 1), ("extend", 2)] {
        let sizes: &[usize] = &ctx.append_sizes;
        let vec_what = if num == 1 {
            "std Vec push (RAM)"
        } else {
            "std Vec extend_from_slice (RAM)"
        };
        for &n in sizes {
            let key = format!("{label} {n}");
            out.push(at_most(
                format!("S{num} {label} phase, {} u64, vs {vec_what}", fmt_count(n)),
                ratio(r, &key, LIB, VEC),
                1.0,
                format!(
                    "{} vs {} per element; CPU {}",
                    fmt_time(median(r, &key, LIB) / n as f64),
                    fmt_time(median(r, &key, VEC) / n as f64),
                    fmt_ratio(cpu_ratio(r, &key, LIB, VEC))
                ),
            ));
        }
        for &n in sizes {
            let key = format!("{label} {n}");
            out.push(at_most(
                format!(
                    "S{num} {label} phase, {} u64, vs floor (page faults + stores)",
                    fmt_count(n)
                ),
                ratio(r, &key, LIB, FLOOR),
                1.3,
                format!(
                    "floor {} per element",
                    fmt_time(median(r, &key, FLOOR) / n as f64)
                ),
            ));
        }
        for &n in sizes {
            let key = format!("{label}+sync {n}");
            out.push(at_most(
                format!(
                    "S{num} {label} + one sync, {} u64, vs BufWriter + sync_data",
                    fmt_count(n)
                ),
                ratio(r, &key, LIB, BUFW),
                1.0,
                format!(
                    "{} vs {}",
                    fmt_time(median(r, &key, LIB)),
                    fmt_time(median(r, &key, BUFW))
                ),
            ));
        }
        let key = format!("{label}+sync {large}");
        for other in [MEMVEC, HAND] {
            out.push(at_least(
                format!(
                    "S{num} {label} + one sync, {} u64, vs {other}",
                    fmt_count(large)
                ),
                ratio(r, &key, other, LIB),
                1.3,
                format!(
                    "{} vs {}",
                    fmt_time(median(r, &key, LIB)),
                    fmt_time(median(r, &key, other))
                ),
            ));
        }
    }

    let (small_f, big_f) = (
        ctx.file_sizes.first().copied().unwrap_or(0),
        ctx.file_sizes.last().copied().unwrap_or(0),
    );
    let big_b = fmt_bytes(8.0 * big_f as f64);
    let key = format!("reopen {big_f}");
    out.push(at_most(
        format!("S3 reopen {big_b} + read one: MmapedVec::open vs bare memmap2 open + map_mut"),
        ratio(r, &key, LIB_OPEN, MAP_RW),
        1.2,
        format!(
            "{} vs {}",
            fmt_time(median(r, &key, LIB_OPEN)),
            fmt_time(median(r, &key, MAP_RW))
        ),
    ));
    out.push(at_most(
        format!("S3 reopen {big_b} + read one: MmapedSlice::open vs bare memmap2 open + map"),
        ratio(r, &key, SLICE, MAP_RO),
        1.2,
        format!(
            "{} vs {}",
            fmt_time(median(r, &key, SLICE)),
            fmt_time(median(r, &key, MAP_RO))
        ),
    ));
    let small_key = format!("reopen {small_f}");
    let grow_lib = median(r, &key, LIB_OPEN) / median(r, &small_key, LIB_OPEN);
    let grow_bare = median(r, &key, MAP_RW) / median(r, &small_key, MAP_RW);
    out.push(at_most(
        format!(
            "S3 reopen independent of size: MmapedVec::open at {big_b} / at {}",
            fmt_bytes(8.0 * small_f as f64)
        ),
        grow_lib,
        1.2,
        format!("bare memmap2: {}", fmt_ratio(grow_bare)),
    ));

    for (who, label) in [
        (LIB_SYNC, ", v[i] = x"),
        (LIB_SYNC_HUGE, ", v[i] = x, huge_pages(true)"),
        (LIB_SET_SYNC, ", set(i, x)"),
        (LIB_SET_SYNC_HUGE, ", set(i, x), huge_pages(true)"),
    ] {
        for &n in &ctx.file_sizes {
            let key = format!("sync one {n}");
            out.push(at_most(
                format!(
                    "S4 sync after one changed element, {}{label}: vs File::sync_data",
                    fmt_bytes(8.0 * n as f64)
                ),
                ratio(r, &key, who, PWRITE_SYNC),
                2.0,
                format!(
                    "{} vs {}",
                    fmt_time(median(r, &key, who)),
                    fmt_time(median(r, &key, PWRITE_SYNC))
                ),
            ));
        }
    }

    let g = fmt_bytes(ctx.growth_bytes as f64);
    let g2 = fmt_bytes(2.0 * ctx.growth_bytes as f64);
    let mremap_path = crate::REMAP_STRATEGY == "mremap";
    let base = if mremap_path { MREMAP } else { MMAP_MUNMAP };
    out.push(at_most(
        format!("S5 growth {g} -> {g2}: reserve_exact vs {base}"),
        ratio(r, "growth", LIB_GROW, base),
        1.2,
        format!(
            "{} vs {}; bare fallocate + mremap: {}",
            fmt_time(median(r, "growth", LIB_GROW)),
            fmt_time(median(r, "growth", base)),
            fmt_time(median(r, "growth", FALLOC_MREMAP))
        ),
    ));
    let pages = (ctx.growth_bytes / ctx.page) as f64;
    let during = r.figure(&format!("faults during {LIB_GROW}"));
    out.push(Target {
        what: "S5 growth copies no element data (page faults during the step)".into(),
        goal: format!("≪ {pages:.0} (a copy faults every page)"),
        measured: format!("{during:.0} faults"),
        met: during.is_finite().then_some(during < pages / 100.0),
    });
    let after = r.figure(&format!("faults after {LIB_GROW}"));
    let before = r.figure(&format!("faults before {LIB_GROW}"));
    if mremap_path {
        let bare_after = r.figure(&format!("faults after {MREMAP}"));
        let slack = (before / 100.0).max(16.0);
        out.push(Target {
            what: "S5 no extra page faults touching the old pages after growth".into(),
            goal: format!("≤ bare mremap's + {slack:.0}"),
            measured: format!(
                "{after:.0} (bare mremap {bare_after:.0}; before growth {before:.0})"
            ),
            met: (after.is_finite() && bare_after.is_finite())
                .then_some(after <= bare_after + slack),
        });
    } else {
        let bare_after = r.figure(&format!("faults after {MMAP_MUNMAP}"));
        out.push(Target {
            what: "S5 portable path: faults touching the old pages after growth".into(),
            goal: "as bare mmap + munmap (informative)".into(),
            measured: format!("{after:.0} (bare mmap + munmap {bare_after:.0})"),
            met: None,
        });
    }

    for (who, name) in [(LIB_IDX, "MmapedVec"), (SLICE_IDX, "MmapedSlice")] {
        out.push(at_most(
            format!(
                "S6 {} random reads in {big_b}: {name} vs plain mapped slice",
                fmt_count(ctx.random_reads)
            ),
            ratio(r, "random", who, MAP_SLICE),
            1.05,
            format!(
                "{} vs {} per read",
                fmt_time(median(r, "random", who) / ctx.random_reads as f64),
                fmt_time(median(r, "random", MAP_SLICE) / ctx.random_reads as f64)
            ),
        ));
    }

    // Issue 13: the scan after reopen, against memmap2 over a plainly written file.
    {
        use crate::scan::names as scan;
        let key = format!("scan {}", ctx.scan_elems);
        let b = fmt_bytes(8.0 * ctx.scan_elems as f64);
        for (who, label) in [
            (scan::LIB_PUSH, "MmapedVec, push-written"),
            (scan::LIB_EXTEND, "MmapedVec, extend-written"),
            (scan::SLICE_PUSH, "MmapedSlice, push-written"),
            (scan::SLICE_EXTEND, "MmapedSlice, extend-written"),
            (
                scan::LIB_EXTEND_HUGE,
                "MmapedVec, extend-written with huge_pages(true)",
            ),
        ] {
            out.push(at_most(
                format!("S7 reopen {b} + sum all: {label} vs memmap2 over a plainly written file"),
                ratio(r, &key, who, scan::PLAIN),
                1.2,
                format!(
                    "{} vs {}; faults {} vs {}; CPU {}",
                    fmt_time(median(r, &key, who)),
                    fmt_time(median(r, &key, scan::PLAIN)),
                    faults(r, &key, who),
                    faults(r, &key, scan::PLAIN),
                    fmt_ratio(cpu_ratio(r, &key, who, scan::PLAIN))
                ),
            ));
        }
    }
    // Issue 13: ahead of vecdb in every scenario both run.
    for (what, key, lib, [b, z], _) in vecdb_pairs(ctx) {
        let l = median(r, &key, lib);
        let v = best(median(r, &key, b), median(r, &key, z));
        out.push(at_most(
            format!("{what}: MmapedVec vs the faster vecdb vector"),
            l / v,
            1.0,
            format!("{} vs {}", fmt_time(l), fmt_time(v)),
        ));
    }
    // Issue 13: what frequent commits write (2 MiB folios must not turn a small commit into
    // a 2 MiB write).
    for (n, k) in crate::commits::shapes(ctx) {
        use crate::commits::names as cm;
        let key = crate::commits::key(n, k);
        let lib = r.figure(&format!("{key} written {}", cm::LIB_PUSH));
        let file = r.figure(&format!("{key} written {}", cm::WRITE_SYNC));
        out.push(info(
            format!(
                "S10 bytes written to storage per byte appended, push + sync every {}",
                fmt_bytes(8.0 * k as f64)
            ),
            format!(
                "MmapedVec {lib:.2}, File::write_all + sync_data {file:.2}; time {}",
                fmt_ratio(ratio(r, &key, cm::LIB_PUSH, cm::WRITE_SYNC))
            ),
            lib.is_finite(),
        ));
    }
    // Issue 9: live readers.
    {
        use crate::live::names as lv;
        let ns = r.figure("live refresh ns");
        out.push(Target {
            what: "S11a LiveReader::refresh with nothing new".into(),
            goal: "< 100 ns".into(),
            measured: if ns.is_finite() {
                format!("{ns:.1} ns")
            } else {
                "-".into()
            },
            met: ns.is_finite().then_some(ns < 100.0),
        });
        let ret = r.figure("live visible after return us");
        out.push(info(
            "S11b commit-to-visible: sync() returned → reader's refresh shows it (median)".into(),
            format!(
                "{ret:+.1} µs (seen before sync returned in {:.0} % of commits; sync called → \
                 shown: {:+.1} µs; floor, pwrite returned → shown: {:+.2} µs)",
                100.0 * r.figure("live seen before return"),
                r.figure("live visible after call us"),
                r.figure("live pwrite floor us")
            ),
            ret.is_finite(),
        ));
        for n in [125_000, ctx.scan_elems] {
            let key = format!("live scan {n}");
            out.push(at_most(
                format!(
                    "S11c scan {} u64: LiveReader::copy_to vs the writer's Deref",
                    fmt_count(n)
                ),
                ratio(r, &key, lv::COPY_TO, lv::DEREF),
                1.2,
                format!(
                    "{} vs {} per element; iter {}",
                    fmt_time(median(r, &key, lv::COPY_TO) / n as f64),
                    fmt_time(median(r, &key, lv::DEREF) / n as f64),
                    fmt_ratio(ratio(r, &key, lv::ITER, lv::DEREF))
                ),
            ));
        }
    }
    // Issue 8, item 2: the price of reserving blocks where fallocate is missing.
    {
        use crate::reserve::names as rs;
        for (who, label) in [
            (rs::LIB_EXT2, "ext2 (no fallocate)"),
            (rs::LIB_HOST, "temp dir fs (fallocate)"),
        ] {
            let res = r.figure(&format!("reserve ms/GiB {who}"));
            let syn = r.figure(&format!("reserve sync ms/GiB {who}"));
            let alloc = r.figure(&format!("reserve allocated {who}"));
            out.push(info(
                format!("S8 reserve_exact + sync, {label}, per GiB"),
                format!(
                    "{res:.1} ms + {syn:.1} ms = {:.1} ms per GiB; blocks after reserve: {:.0} %",
                    res + syn,
                    100.0 * alloc
                ),
                res.is_finite(),
            ));
        }
    }
    // Issue 10: converting a file of the other byte order, within 2x of a plain cp.
    {
        use crate::convert::names as cv;
        let size = fmt_bytes(8.0 * ctx.convert_elems as f64);
        let lib = median(r, "convert", cv::LIB_FOREIGN);
        for (base, label) in [(cv::CP, "cp"), (cv::STD_COPY, "std::fs::copy")] {
            let b = median(r, "convert", base);
            out.push(at_most(
                format!("S9 convert_foreign {size} of the other byte order vs {label}"),
                lib / b,
                2.0,
                format!("{} vs {}", fmt_time(lib), fmt_time(b)),
            ));
        }
        let durable = median(r, "convert", cv::COPY_SYNC);
        out.push(info(
            format!("S9 convert_foreign {size} vs a durable copy (copy + sync_data)"),
            format!(
                "{} ({} vs {})",
                fmt_ratio(lib / durable),
                fmt_time(lib),
                fmt_time(durable)
            ),
            lib.is_finite(),
        ));
    }
    // Issue 19: commit groups.
    {
        use crate::groups::{self as gr, names as gn};
        let n = fmt_count(gr::rows(ctx));
        for (key, shape, group, wide, eight, vdb) in [
            (
                gr::KEY_BULK,
                format!("{n} rows"),
                gn::GROUP,
                gn::WIDE,
                gn::EIGHT,
                gn::VDB8,
            ),
            (
                gr::KEY_ONE,
                "1 row".to_string(),
                gn::GROUP1,
                gn::WIDE1,
                gn::EIGHT1,
                gn::VDB81,
            ),
        ] {
            let g = median(r, key, group);
            out.push(at_most(
                format!("S12 group of 8 u64 columns, {shape} + sync, vs (a) MmapedVec<[u64; 8]>"),
                ratio(r, key, group, wide),
                1.3,
                format!("{} vs {}", fmt_time(g), fmt_time(median(r, key, wide))),
            ));
            for (other, label) in [
                (eight, "(b) 8 vectors synced"),
                (vdb, "(c) vecdb, 8 vectors"),
            ] {
                out.push(at_most(
                    format!("S12 group, {shape} + sync, vs {label}"),
                    ratio(r, key, group, other),
                    1.0,
                    format!("{} vs {}", fmt_time(g), fmt_time(median(r, key, other))),
                ));
            }
        }
        // What decides the 1-row figure: the layouts' floors in bare system calls.
        let (f1, f8) = (
            median(r, gr::KEY_ONE, gn::FLOOR1),
            median(r, gr::KEY_ONE, gn::FLOOR8),
        );
        out.push(info(
            "S12 1 row + sync: group vs its floor (8 pages 2 MiB apart); that floor vs 1 page's"
                .into(),
            format!(
                "{:.2}× ({} vs {}); {:.2}× ({} vs {})",
                ratio(r, gr::KEY_ONE, gn::GROUP1, gn::FLOOR8),
                fmt_time(median(r, gr::KEY_ONE, gn::GROUP1)),
                fmt_time(f8),
                f8 / f1,
                fmt_time(f8),
                fmt_time(f1)
            ),
            (f8 / f1).is_finite(),
        ));
    }
    // Issue 21: early writeback.
    {
        for (label, num) in [("push", 1), ("extend", 2)] {
            for &n in &ctx.append_sizes {
                let key = format!("{label}+sync {n}");
                let lib = median(r, &key, LIB);
                // The floor: the larger of the append phase alone and one sequential write
                // of the same bytes + fdatasync (Vec + write_all + sync_data less its RAM
                // push phase).
                let append = median(r, &format!("{label} {n}"), LIB);
                let write = median(r, &key, VEC_WRITE) - median(r, &format!("{label} {n}"), VEC);
                let floor = append.max(write);
                out.push(at_most(
                    format!("S{num} {label} {} u64 + sync: total to durable vs the floor max(append, write + fdatasync)", fmt_count(n)),
                    lib / floor,
                    1.2,
                    format!(
                        "{} vs {}; without early writeback {}",
                        fmt_time(lib),
                        fmt_time(floor),
                        fmt_time(median(r, &key, LIB_NO_EARLY))
                    ),
                ));
                if Some(&n) == ctx.append_sizes.last() {
                    out.push(at_most(
                        format!(
                            "S{num} {label} {} u64 + sync vs BufWriter + sync_data",
                            fmt_count(n)
                        ),
                        ratio(r, &key, LIB, BUFW),
                        0.7,
                        format!("{} vs {}", fmt_time(lib), fmt_time(median(r, &key, BUFW))),
                    ));
                }
            }
        }
        use crate::sustained as su;
        let (total, step) = su::shape(ctx);
        let what = format!(
            "S14 {} appended, sync every {}",
            fmt_bytes(total as f64),
            fmt_bytes(step as f64)
        );
        let max_ms = r.figure(su::KEY_PUSH_MAX_MS);
        out.push(Target {
            what: format!("{what}: the longest push (1 in 1000 timed)"),
            goal: "< 10 ms".into(),
            measured: if max_ms.is_finite() {
                format!("{max_ms:.1} ms")
            } else {
                "-".into()
            },
            met: max_ms.is_finite().then_some(max_ms < 10.0),
        });
        out.push(at_most(
            format!("{what}: p99 sync() vs one sequential write + fdatasync of a step"),
            r.figure(su::KEY_SYNC_P99_RATIO),
            1.5,
            format!(
                "total {:.2} s, BufWriter + sync_data {:.2} s",
                r.figure("sustained total s"),
                r.figure("sustained bufw total s")
            ),
        ));
        let no_early = r.figure("sustained no-early sync p99 / floor");
        out.push(info(
            format!("{what}: without early writeback, p99 sync() vs the floor; total"),
            format!(
                "{no_early:.2}×; total {:.2} s",
                r.figure("sustained no-early total s")
            ),
            no_early.is_finite(),
        ));
    }
    // Issue 20: waiting readers.
    {
        use crate::wake as wk;
        let p50 = r.figure(wk::KEY_P50);
        let p99 = r.figure(wk::KEY_P99);
        let fmt = |x: f64| {
            if x.is_finite() {
                format!("{x:+.1} µs")
            } else {
                "-".into()
            }
        };
        out.push(Target {
            what: "S13 commit-to-wake, sync() returned → a waiting reader sees it, p50".into(),
            goal: "< 30 µs".into(),
            measured: format!(
                "{} (sync() called → seen: {})",
                fmt(p50),
                fmt(r.figure("wake call p50 us"))
            ),
            met: p50.is_finite().then_some(p50 < 30.0),
        });
        out.push(Target {
            what: "S13 commit-to-wake, p99".into(),
            goal: "< 100 µs".into(),
            measured: fmt(p99),
            met: p99.is_finite().then_some(p99 < 100.0),
        });
        let cpu = r.figure(wk::KEY_CPU);
        out.push(info(
            "S13 a waiting reader's CPU per commit (0 while idle: it sleeps)".into(),
            format!("{cpu:.1} µs"),
            cpu.is_finite(),
        ));
        out.push(at_most(
            "S13 the writer's sync() with a waiting reader, vs with no reader".into(),
            r.figure(wk::KEY_SYNC_RATIO),
            1.05,
            String::new(),
        ));
    }
    // Issue 19: a live group's refresh.
    {
        use crate::groups as gr;
        let ns = r.figure(gr::KEY_REFRESH);
        out.push(Target {
            what: "S12c LiveGroup::refresh with nothing new".into(),
            goal: "< 20 ns".into(),
            measured: if ns.is_finite() {
                format!("{ns:.1} ns")
            } else {
                "-".into()
            },
            met: ns.is_finite().then_some(ns < 20.0),
        });
    }
    out
}

/// The median minor faults of row `a` in table `key`, as text.
fn faults(r: &Report, key: &str, a: &str) -> String {
    r.get(key)
        .and_then(|t| t.rows.iter().find(|row| row.name == a))
        .and_then(|row| row.faults.as_ref())
        .map_or("-".into(), |f| format!("{:.0}", f.median()))
}

/// The summary as Markdown.
pub fn render(ctx: &Ctx, r: &Report) -> String {
    let ts = targets(ctx, r);
    let mut lines = vec![vec![
        "target".to_string(),
        "goal".into(),
        "measured".into(),
        "verdict".into(),
    ]];
    for t in &ts {
        lines.push(vec![
            t.what.clone(),
            t.goal.clone(),
            t.measured.clone(),
            if t.goal == INFO { "-" } else { verdict(t.met) }.into(),
        ]);
    }
    let met = ts.iter().filter(|t| t.met == Some(true)).count();
    let missed = ts.iter().filter(|t| t.met == Some(false)).count();
    let figures = ts.iter().filter(|t| t.goal == INFO).count();
    format!(
        "## Summary: targets of issues 4, 8, 9, 10, 13, 19, 20 and 21 ({}; {}; {}; remap: {}{})\n\n{}\n{met} met, {missed} missed, {} not measured, {figures} figures without a goal\n",
        crate::os::utc_now(),
        crate::os::cpu_model(),
        crate::os::fs_type(&ctx.dir),
        crate::REMAP_STRATEGY,
        if ctx.quick { "; --quick sizes" } else { "" },
        markdown(&lines),
        ts.len() - met - missed - figures
    )
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "met",
        Some(false) => "**missed**",
        None => "not measured",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{Row, Samples, Table};

    fn row(name: &str, v: f64) -> Row {
        let mut r = Row::new(name);
        r.time = Samples(vec![v]);
        r
    }

    #[test]
    fn goals_and_verdicts() {
        let t = at_most("x".into(), 0.9, 1.0, String::new());
        assert_eq!(t.met, Some(true));
        assert_eq!(t.measured, "0.90×");
        assert_eq!(
            at_most("x".into(), 1.01, 1.0, String::new()).met,
            Some(false)
        );
        assert_eq!(at_most("x".into(), f64::NAN, 1.0, String::new()).met, None);
        assert_eq!(at_least("x".into(), 1.4, 1.3, "d".into()).met, Some(true));
        assert_eq!(at_least("x".into(), 1.2, 1.3, "d".into()).met, Some(false));
    }

    #[test]
    fn push_target_reads_the_right_rows() {
        let ctx = crate::parse(&["--quick".to_string()]).unwrap();
        let mut r = Report::default();
        let n = ctx.append_sizes[0];
        r.tables.push((
            format!("push {n}"),
            Table {
                title: String::new(),
                rows: vec![row(VEC, 2.0), row(LIB, 1.0), row(FLOOR, 0.5)],
                baseline: 0,
                refs: vec![(2, "floor")],
                per: None,
            },
        ));
        let ts = targets(&ctx, &r);
        let vs_vec = ts
            .iter()
            .find(|t| t.what.starts_with("S1 push phase, 100 k u64, vs std Vec"))
            .unwrap();
        assert_eq!(vs_vec.met, Some(true), "{vs_vec:?}");
        let vs_floor = ts
            .iter()
            .find(|t| t.what.starts_with("S1 push phase, 100 k u64, vs floor"))
            .unwrap();
        assert_eq!(vs_floor.met, Some(false), "2.0× the floor: {vs_floor:?}");
        // Scenarios that did not run are "not measured", never "met".
        assert!(ts
            .iter()
            .filter(|t| t.what.starts_with("S6"))
            .all(|t| t.met.is_none()));
    }
}
