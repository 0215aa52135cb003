//! Scenario 9 (issue 10): converting a file written on a machine of the other byte order.
//!
//! A file of `n` `u64` (800 MB; `--quick`: 8 MB) as a machine of the other byte order writes
//! it (built from the documented format with `tests/common/format.rs`, elements swapped here)
//! is converted with `OpenOptions::convert_foreign` into a new file. Beside it: the same call
//! on a native file (a copy through the same path, without swapping); `std::fs::copy` and the
//! `cp` command, what "a plain cp" means (neither makes its copy durable); and
//! `std::fs::copy` + `File::sync_data`, a durable copy, which is what the conversion does
//! (it `fdatasync`s the new file before its rename, then `fsync`s the directory). The goal
//! (issue 10): within 2× of a plain `cp`.
//!
//! The source is in the page cache for every contender (it is read before the first round).
//! Each output is made durable and removed outside the timed region, so that no contender
//! pays for another's writeback.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use persistence::OpenOptions;

use crate::common::{fmt_bytes, Ctx, Report};
use crate::stats::{fmt_ratio, fmt_time, round_robin, Row, Table};

#[path = "../../tests/common/format.rs"]
mod format;

use format::{Fixed, Order, Slot};

/// Row names.
pub mod names {
    pub const LIB_FOREIGN: &str = "convert_foreign, other byte order -> native";
    pub const LIB_NATIVE: &str = "convert_foreign, native (a copy, no swapping)";
    pub const STD_COPY: &str = "std::fs::copy (not durable)";
    pub const CP: &str = "cp command (not durable)";
    pub const COPY_SYNC: &str = "std::fs::copy + File::sync_data (durable)";
}
use names::*;

const CONTENDERS: [&str; 5] = [LIB_FOREIGN, LIB_NATIVE, STD_COPY, CP, COPY_SYNC];
const MAGIC: [u8; 8] = *b"BENCHCVT";

fn value(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Writes a vector file of `n` elements `value(i)` as a machine of the other byte order
/// would, and makes it durable.
fn make_foreign(path: &Path, n: u64) -> io::Result<()> {
    let f = Fixed::of::<u64>(MAGIC, 1);
    let mut page = format::new_header_page(&f, Order::Swapped);
    format::write_slot(&mut page, 1, Slot { seq: 2, len: n }, Order::Swapped);
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    w.write_all(&page)?;
    let mut buf = Vec::with_capacity(1 << 20);
    let mut i = 0;
    while i < n {
        buf.clear();
        let end = (i + (1 << 17)).min(n);
        for k in i..end {
            buf.extend_from_slice(&Order::Swapped.u64(value(k)));
        }
        w.write_all(&buf)?;
        i = end;
    }
    w.into_inner().map_err(|e| e.into_error())?.sync_all()
}

/// Makes `path` durable (a contender that did not) and removes it.
fn settle(path: &Path, synced: bool) -> io::Result<()> {
    if !synced {
        File::options().write(true).open(path)?.sync_data()?;
    }
    std::fs::remove_file(path)
}

/// Runs scenario 9.
pub fn run(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let n = ctx.convert_elems as u64;
    let bytes = 4096 + 8 * n;
    ctx.check_space(3 * bytes, "scenario 9")?;
    let foreign = ctx.path("convert-foreign.bin");
    let native = ctx.path("convert-native.bin");
    let out = ctx.path("convert-out.bin");
    let opts = *OpenOptions::new().magic(MAGIC).version(1);
    let t = Instant::now();
    make_foreign(&foreign, n)?;
    // The native source, and a check that the conversion is right.
    opts.convert_foreign::<u64>(&foreign, &native)
        .map_err(io::Error::from)?;
    {
        let s = opts
            .open_read_only::<u64>(&native)
            .map_err(io::Error::from)?;
        let wrong = [0, n / 2, n.saturating_sub(1)]
            .into_iter()
            .filter(|&i| i < n)
            .any(|i| s[i as usize] != value(i));
        if s.len() as u64 != n || wrong {
            return Err(io::Error::other("convert_foreign: wrong elements"));
        }
    }
    // Both sources into the page cache.
    crate::os::read_through(&foreign)?;
    crate::os::read_through(&native)?;
    println!(
        "\n(S9 fixtures: a {} file of the other byte order and its native twin, in {:.1} s)",
        fmt_bytes(bytes as f64),
        t.elapsed().as_secs_f64()
    );

    let mut rows: Vec<Row> = CONTENDERS.iter().map(|c| Row::new(*c)).collect();
    let mut err: Option<io::Error> = None;
    round_robin(ctx.rounds, CONTENDERS.len(), |c, _| {
        if err.is_some() {
            return;
        }
        let t0 = Instant::now();
        let r: io::Result<bool> = match CONTENDERS[c] {
            LIB_FOREIGN => opts
                .convert_foreign::<u64>(&foreign, &out)
                .map(|_| true)
                .map_err(io::Error::from),
            LIB_NATIVE => opts
                .convert_foreign::<u64>(&native, &out)
                .map(|_| true)
                .map_err(io::Error::from),
            STD_COPY => std::fs::copy(&foreign, &out).map(|_| false),
            CP => Command::new("cp")
                .arg(&foreign)
                .arg(&out)
                .status()
                .and_then(|s| {
                    if s.success() {
                        Ok(false)
                    } else {
                        Err(io::Error::other(format!("cp: {s}")))
                    }
                }),
            COPY_SYNC => std::fs::copy(&foreign, &out)
                .and_then(|_| File::options().write(true).open(&out)?.sync_data())
                .map(|()| true),
            _ => unreachable!("every contender is listed"),
        };
        let secs = t0.elapsed().as_secs_f64();
        match r.and_then(|synced| settle(&out, synced)) {
            Ok(()) => rows[c].time.push(secs),
            Err(e) => err = Some(io::Error::other(format!("{}: {e}", CONTENDERS[c]))),
        }
    });
    let _ = std::fs::remove_file(&foreign);
    let _ = std::fs::remove_file(&native);
    if let Some(e) = err {
        return Err(e);
    }
    let mb = bytes as f64 / 1e6;
    let table = Table {
        title: format!(
            "S9 convert a {} file of the other byte order (u64) vs a plain cp of it",
            fmt_bytes(bytes as f64)
        ),
        rows,
        baseline: 3,
        refs: vec![(2, "std::fs::copy"), (4, "durable copy")],
        per: Some((mb, "MB")),
    };
    let speed = |name: &str| mb / table.median_of(name);
    let lib = table.median_of(LIB_FOREIGN);
    let lines: Vec<String> = CONTENDERS
        .iter()
        .map(|c| format!("{c}: {:.0} MB/s", speed(c)))
        .collect();
    report.table("convert", table.clone());
    println!("\nthroughput: {}", lines.join("; "));
    println!(
        "convert_foreign vs cp: {} ({} vs {}; goal: within 2×); vs a durable copy: {}",
        fmt_ratio(lib / table.median_of(CP)),
        fmt_time(lib),
        fmt_time(table.median_of(CP)),
        fmt_ratio(lib / table.median_of(COPY_SYNC)),
    );
    Ok(())
}
