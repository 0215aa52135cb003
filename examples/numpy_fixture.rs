//! Files for the numpy reader's tests (`python/test_persistence_numpy.py`), written by the
//! library, so that the Python side is checked against what Rust really writes.
//!
//! ```text
//! cargo run --release --example numpy_fixture -- DIR          # the files below
//! cargo run --release --example numpy_fixture -- --writer FILE
//! ```
//!
//! In `DIR`, with the values the tests expect:
//!
//! * `f64.bin` (magic `NUMPYF64`, version 1): `MmapedVec<f64>` of the 5 000 000 values
//!   `0.0, 1.0, ..., 4999999.0` (mean 2499999.5), committed after a longer commit of
//!   8 000 000, so that the capacity past the committed length holds 3 000 000 stale values
//!   (mapping the whole capacity gives the wrong count and mean).
//! * `points.bin` (magic `POINTS`, version 3): 1000 `Point`s, a `pod!` struct of 24 bytes
//!   (`id: u64` at 0, `x: f64` at 8, `y: f32` at 16, `flags: u32` at 20), point `i` being
//!   `{ id: i, x: i / 2, y: -i, flags: i % 7 }`.
//! * `damaged.bin` (magic `DAMAGED`, version 0): `MmapedVec<u32>` of `0..1000` committed, then
//!   `0..2000`, then one byte of the newest commit slot's checksum flipped: it opens to the
//!   older commit, 1000 elements.
//! * `group.bin` (magic `NPGROUP`, version 5): a commit group `Group<(u64, f32, Point)>`
//!   committed twice. Generation 1: lengths 400 000, 1500, 50 000; generation 2 (the one it
//!   opens to): column 0 holds `0, 1, ..., 999 999` (8 MB: blocks 0, 1 and 2), column 1 the
//!   1000 values `i / 2` (one block; the 500 values of generation 1 past them stay in it, so
//!   reading the block's capacity gives the wrong count), column 2 the 100 000 `Point`s `i`
//!   as in `points.bin` (2.4 MB: blocks 0 and 1, point 87 381 straddling them). Columns 0
//!   and 2 grow in turns, so their blocks interleave in the file.
//! * `group-small.bin` (magic `NPSMALL`, version 0): `Group<(u32, u16, u64)>`, committed with
//!   lengths 30, 20, 0 (generation 1), then 100, 50, 0 (generation 2): column 0 holds
//!   `0..100`, column 1 `3 * i`, column 2 nothing. One block each for columns 0 and 1.
//!
//! `--writer FILE` creates `FILE` afresh (magic `LIVE`, `u64`, element `i` holds `i`),
//! commits 1000 elements, prints `ready`, then appends 1000 more and commits, again and again,
//! until a line (or the end) arrives on its standard input or 20 000 commits are done; then it
//! prints `done LEN` and exits, closing the file.

use std::io::{BufRead, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use persistence::{inspect, pod, FileKind, Group, OpenOptions};

pod! {
    /// A record numpy reads with a structured dtype of the same offsets.
    pub struct Point { pub id: u64, pub x: f64, pub y: f32, pub flags: u32 }
}

type Res = Result<(), Box<dyn std::error::Error>>;

fn main() -> Res {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["--writer", file] => writer(Path::new(file)),
        [dir] if !dir.starts_with('-') => fixtures(Path::new(dir)),
        _ => Err("usage: numpy_fixture DIR | numpy_fixture --writer FILE".into()),
    }
}

/// `path`, with the file of an earlier run removed.
fn fresh(path: PathBuf) -> Result<PathBuf, std::io::Error> {
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(path),
    }
}

fn fixtures(dir: &Path) -> Res {
    std::fs::create_dir_all(dir)?;

    let path = &fresh(dir.join("f64.bin"))?;
    let mut v = OpenOptions::new()
        .magic(*b"NUMPYF64")
        .version(1)
        .capacity(8_000_000)
        .open::<f64>(path)?;
    let chunk: Vec<f64> = (0..1_000_000).map(f64::from).collect();
    for k in 0..8 {
        let base = f64::from(k * 1_000_000);
        v.extend_from_slice(&chunk.iter().map(|x| x + base).collect::<Vec<_>>())?;
    }
    v.sync()?;
    v.truncate(5_000_000);
    v.close()?;

    let path = &fresh(dir.join("points.bin"))?;
    let mut p = OpenOptions::new()
        .magic(*b"POINTS\0\0")
        .version(3)
        .open::<Point>(path)?;
    p.try_extend((0..1000u32).map(point))?;
    p.close()?;

    let path = &fresh(dir.join("damaged.bin"))?;
    let opts = *OpenOptions::new().magic(*b"DAMAGED\0");
    let mut d = opts.open::<u32>(path)?;
    d.try_extend(0..1000)?;
    d.sync()?;
    d.try_extend(1000..2000)?;
    d.close()?;
    let newest = inspect(path)?.winner;
    // Slots are at 512 (A) and 1024 (B): sequence, length, checksum (docs/design.md).
    let at = [512u64, 1024][newest] + 16;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at)?;
    f.write_all_at(&[b[0] ^ 0x5a], at)?;
    f.sync_all()?;
    let after = inspect(path)?;
    if after.len != 1000 || after.winner == newest {
        return Err("damaging the newest slot did not make the older commit win".into());
    }

    groups(dir)?;

    println!(
        "numpy_fixture: wrote f64.bin, points.bin, damaged.bin, group.bin and group-small.bin \
         in {}",
        dir.display()
    );
    Ok(())
}

/// Point `i` of `points.bin` and of `group.bin`'s column 2.
fn point(i: u32) -> Point {
    Point {
        id: i.into(),
        x: f64::from(i) / 2.0,
        y: -(i as f32),
        flags: i % 7,
    }
}

/// `group.bin` and `group-small.bin`.
fn groups(dir: &Path) -> Res {
    let path = &fresh(dir.join("group.bin"))?;
    let mut g: Group<(u64, f32, Point)> = OpenOptions::new()
        .magic(*b"NPGROUP\0")
        .version(5)
        .open_group(path)?;
    // Columns 0 and 2 grow in turns (their blocks interleave in the file); column 1 commits
    // 1500 values in generation 1, then 1000.
    let grow = |g: &mut Group<(u64, f32, Point)>, to0: u64, to2: u32| -> Res {
        let (a, _, c) = g.columns_mut();
        while (a.len() as u64) < to0 || (c.len() as u32) < to2 {
            let n0 = a.len() as u64;
            a.try_extend(n0..(n0 + 60_000).min(to0))?;
            let n2 = c.len() as u32;
            c.try_extend((n2..(n2 + 5_000).min(to2)).map(point))?;
        }
        Ok(())
    };
    grow(&mut g, 400_000, 50_000)?;
    let (_, b, _) = g.columns_mut();
    b.try_extend((0..1500u16).map(|i| f32::from(i) / 2.0))?;
    g.sync()?;
    grow(&mut g, 1_000_000, 100_000)?;
    let (_, b, _) = g.columns_mut();
    b.truncate(1000);
    g.close()?;
    let info = inspect(path)?;
    let lens: Vec<u64> = info.columns().iter().map(|c| c.len).collect();
    if info.kind != FileKind::Group || info.generation() != 2 || lens != [1_000_000, 1000, 100_000]
    {
        return Err(format!("group.bin: generation {}, {lens:?}", info.generation()).into());
    }

    let path = &fresh(dir.join("group-small.bin"))?;
    let mut g: Group<(u32, u16, u64)> = OpenOptions::new().magic(*b"NPSMALL\0").open_group(path)?;
    let (a, b, _) = g.columns_mut();
    a.try_extend(0..30)?;
    b.try_extend((0..20).map(|i| 3 * i))?;
    g.sync()?;
    let (a, b, _) = g.columns_mut();
    a.try_extend(30..100)?;
    b.try_extend((20..50).map(|i| 3 * i))?;
    g.close()?;
    let info = inspect(path)?;
    let lens: Vec<u64> = info.columns().iter().map(|c| c.len).collect();
    if info.generation() != 2 || lens != [100, 50, 0] {
        return Err(format!(
            "group-small.bin: generation {}, {lens:?}",
            info.generation()
        )
        .into());
    }
    Ok(())
}

fn writer(path: &Path) -> Res {
    let mut v = OpenOptions::new()
        .magic(*b"LIVE\0\0\0\0")
        .open::<u64>(fresh(path.to_owned())?)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        flag.store(true, Ordering::SeqCst);
    });
    let mut next = 0u64;
    for commit in 0..20_000 {
        v.try_extend(next..next + 1000)?;
        next += 1000;
        v.sync()?;
        if commit == 0 {
            println!("ready");
            std::io::stdout().flush()?;
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    let len = v.len();
    v.close()?;
    println!("done {len}");
    Ok(())
}
