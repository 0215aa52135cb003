//! Scenario 12 (issue 19): commit groups. Eight columns of `u64` committed by one `sync`,
//! against the same bytes stored and committed other ways:
//!
//! * (a) one `MmapedVec<[u64; 8]>`: the same bytes, one vector, one commit (the floor a
//!   group aims at: goal within 1.3×);
//! * (b) eight `MmapedVec<u64>`, each synced (eight commits, not atomic together);
//! * (c) vecdb: eight `ZeroCopyVec<usize, u64>` in one database, each flushed, then an
//!   `fsync` of the database's two files (no atomicity across vectors, nor within one).
//!
//! Two shapes: `n` rows appended then one `sync` (each sample on a new file; the group
//! appends with `extend_from_slice` per column, and with `push_row`), and one row appended
//! then `sync`, repeated on an open file, beside the floor of each layout in bare system
//! calls (1 row's bytes in one page, or in eight pages 2 MiB apart as a group's columns lie,
//! each time `fdatasync`, a slot `pwrite`, `fdatasync`). And S12c: `LiveGroup::refresh` with nothing new
//! (goal: under 20 ns).

use std::fs::File;
use std::hint::black_box;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::time::Instant;

use persistence::{Group, MmapedVec, OpenOptions};
use vecdb::{AnyStoredVec, AnyVec, Database, ImportableVec, Version, WritableVec, ZeroCopyVec};

use crate::common::{self, fmt_count, Ctx, Report};
use crate::stats::{round_robin, Row, Table};

/// Row names.
pub mod names {
    pub const WIDE: &str = "(a) MmapedVec<[u64; 8]>: extend, sync()";
    pub const GROUP: &str = "Group<(u64 x 8)>: extend each column, sync()";
    pub const GROUP_ROWS: &str = "Group<(u64 x 8)>: push_row, sync()";
    pub const EIGHT: &str = "(b) 8 x MmapedVec<u64>: extend, sync() each";
    pub const VDB8: &str = "(c) vecdb 8 x ZeroCopyVec: push, flush each, fsync files";
    pub const WIDE1: &str = "(a) MmapedVec<[u64; 8]>: push, sync()";
    pub const GROUP1: &str = "Group<(u64 x 8)>: push_row, sync()";
    pub const EIGHT1: &str = "(b) 8 x MmapedVec<u64>: push, sync() each";
    pub const VDB81: &str = "(c) vecdb 8 x ZeroCopyVec: push, flush each, fsync files";
    pub const FLOOR1: &str = "floor, 1 page: pwrite 64 B, fdatasync, pwrite slot, fdatasync";
    pub const FLOOR8: &str =
        "floor, 8 pages 2 MiB apart: pwrite 8 B each, fdatasync, pwrite slot, fdatasync";
    pub const REFRESH: &str = "LiveGroup<(u64 x 8)>::refresh, nothing new";
}
use names::*;

/// The group of the scenario.
type G8 = (u64, u64, u64, u64, u64, u64, u64, u64);

const BULK: [&str; 5] = [WIDE, GROUP, GROUP_ROWS, EIGHT, VDB8];
const ONE: [&str; 6] = [WIDE1, GROUP1, EIGHT1, VDB81, FLOOR1, FLOOR8];
/// The floor rows' file: `FLOOR_PAGES` regions 2 MiB apart after a header page, written
/// through before the timing (no hole, no unwritten extent, as in the files measured).
const FLOOR_PAGES: u64 = 8;
const FLOOR_GAP: u64 = 2 << 20;
/// Refreshes per sample of S12c.
const CALLS: usize = 1_000_000;

/// Rows appended in the bulk shape.
pub fn rows(ctx: &Ctx) -> usize {
    if ctx.quick {
        100_000
    } else {
        1_000_000
    }
}

/// The report keys.
pub const KEY_BULK: &str = "group bulk";
pub const KEY_ONE: &str = "group one";
pub const KEY_REFRESH: &str = "group refresh ns";

/// Runs scenario 12.
pub fn run(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let n = rows(ctx);
    ctx.check_space(4 * 64 * n as u64, "scenario 12")?;
    bulk(ctx, report, n)?;
    one(ctx, report)?;
    refresh(ctx, report)
}

/// Eight vecdb vectors in one database.
struct Vdb8 {
    // Field order is drop order: the vectors before their database.
    vecs: Vec<ZeroCopyVec<usize, u64>>,
    _db: Database,
    data: File,
    regions: File,
}

impl Vdb8 {
    fn open(dir: &Path) -> io::Result<Vdb8> {
        let db = Database::open(dir).map_err(vdb_err)?;
        let vecs = (0..8)
            .map(|k| ZeroCopyVec::import(&db, &format!("c{k}"), Version::ONE).map_err(vdb_err))
            .collect::<io::Result<Vec<_>>>()?;
        Ok(Vdb8 {
            vecs,
            _db: db,
            data: File::open(dir.join("data"))?,
            regions: File::open(dir.join("regions"))?,
        })
    }

    /// Flushes every vector, then makes the files durable.
    fn commit(&mut self) -> io::Result<()> {
        for v in &mut self.vecs {
            v.flush().map_err(vdb_err)?;
        }
        self.data.sync_data()?;
        self.regions.sync_data()
    }
}

fn vdb_err(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("vecdb: {e}"))
}

fn row(i: u64) -> G8 {
    (i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7)
}

fn wide(i: u64) -> [u64; 8] {
    std::array::from_fn(|k| i + k as u64)
}

fn check(ok: bool, what: &str) -> io::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(io::Error::other(format!("{what}: wrong contents")))
    }
}

/// S12a: `n` rows, then one commit; each sample on new files.
fn bulk(ctx: &Ctx, report: &mut Report, n: usize) -> io::Result<()> {
    let col: Vec<u64> = (0..n as u64).collect();
    let rows_wide: Vec<[u64; 8]> = (0..n as u64).map(wide).collect();
    let mut table: Vec<Row> = BULK.iter().map(|r| Row::new(*r)).collect();
    let mut err = None;
    round_robin(ctx.rounds, BULK.len(), |c, round| {
        if err.is_some() {
            return;
        }
        let base = ctx.path(&format!("group-{c}-{round}"));
        let r = std::fs::create_dir_all(&base)
            .and_then(|()| bulk_sample(BULK[c], &base, &col, &rows_wide));
        common::remove_path(&base);
        match r {
            Ok(t) => table[c].time.push(t),
            Err(e) => err = Some(io::Error::other(format!("{}: {e}", BULK[c]))),
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    report.table(
        KEY_BULK,
        Table {
            title: format!(
                "S12a {} rows of 8 u64 ({} MB) appended, then one durable commit",
                fmt_count(n),
                64 * n / 1_000_000
            ),
            rows: table,
            baseline: 0,
            refs: vec![(1, "group")],
            per: None,
        },
    );
    Ok(())
}

fn bulk_sample(name: &str, dir: &Path, col: &[u64], rows: &[[u64; 8]]) -> io::Result<f64> {
    let n = col.len();
    let p = dir.join("f.bin");
    Ok(match name {
        WIDE => {
            let mut v = OpenOptions::new().create_new(true).open::<[u64; 8]>(&p)?;
            let t = Instant::now();
            v.extend_from_slice(rows)?;
            v.sync()?;
            let s = t.elapsed().as_secs_f64();
            check(v.committed_len() == n && v[n - 1] == rows[n - 1], name)?;
            s
        }
        GROUP | GROUP_ROWS => {
            let mut g = OpenOptions::new().create_new(true).open_group::<G8>(&p)?;
            let t = Instant::now();
            if name == GROUP {
                let (a, b, c, d, e, f, h, i) = g.columns_mut();
                for column in [a, b, c, d, e, f, h, i] {
                    column.extend_from_slice(col)?;
                }
            } else {
                for i in 0..n as u64 {
                    g.push_row(row(i))?;
                }
            }
            g.sync()?;
            let s = t.elapsed().as_secs_f64();
            check(g.rows()? == n && g.generation() == 1, name)?;
            s
        }
        EIGHT => {
            let mut vs = (0..8)
                .map(|k| {
                    OpenOptions::new()
                        .create_new(true)
                        .open::<u64>(dir.join(format!("c{k}.bin")))
                })
                .collect::<persistence::Result<Vec<MmapedVec<u64>>>>()?;
            let t = Instant::now();
            for v in &mut vs {
                v.extend_from_slice(col)?;
                v.sync()?;
            }
            let s = t.elapsed().as_secs_f64();
            check(vs.iter().all(|v| v.committed_len() == n), name)?;
            s
        }
        _ => {
            let mut v = Vdb8::open(&dir.join("vdb"))?;
            let t = Instant::now();
            for vec in &mut v.vecs {
                for &x in col {
                    vec.push(x);
                }
            }
            v.commit()?;
            let s = t.elapsed().as_secs_f64();
            check(v.vecs.iter().all(|x| x.len() == n), name)?;
            s
        }
    })
}

/// S12b: one row, then a commit, repeated `sync_ops` times per sample on open files that
/// hold 1000 rows already.
fn one(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let dir = ctx.path("group-one");
    std::fs::create_dir_all(&dir)?;
    let r = one_in(ctx, report, &dir);
    common::remove_path(&dir);
    r
}

fn one_in(ctx: &Ctx, report: &mut Report, dir: &Path) -> io::Result<()> {
    let prefill: Vec<u64> = (0..1000).collect();
    let mut wide_v = OpenOptions::new().open::<[u64; 8]>(dir.join("wide.bin"))?;
    wide_v.extend_from_slice(&(0..1000).map(wide).collect::<Vec<_>>())?;
    wide_v.sync()?;
    let mut g = OpenOptions::new().open_group::<G8>(dir.join("group.bin"))?;
    for i in 0..1000 {
        g.push_row(row(i))?;
    }
    g.sync()?;
    let mut eight = (0..8)
        .map(|k| {
            let mut v = OpenOptions::new().open::<u64>(dir.join(format!("c{k}.bin")))?;
            v.extend_from_slice(&prefill)?;
            v.sync()?;
            Ok(v)
        })
        .collect::<persistence::Result<Vec<MmapedVec<u64>>>>()?;
    let mut vdb = Vdb8::open(&dir.join("vdb"))?;
    for v in &mut vdb.vecs {
        for &x in &prefill {
            v.push(x);
        }
    }
    vdb.commit()?;
    let floor = File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(dir.join("floor.bin"))?;
    let block = vec![1u8; FLOOR_GAP as usize];
    for k in 0..=FLOOR_PAGES {
        floor.write_all_at(&block, k * FLOOR_GAP)?;
    }
    floor.sync_all()?;
    // One commit in bare system calls: `pages` data pages, then the slot.
    let bare = |pages: u64, bytes: usize, i: u64| -> io::Result<()> {
        let at = (i * bytes as u64) % 4096;
        let buf = [i as u8; 64];
        for k in 1..=pages {
            floor.write_all_at(&buf[..bytes], k * FLOOR_GAP + at)?;
        }
        floor.sync_data()?;
        floor.write_all_at(&i.to_ne_bytes(), 512)?;
        floor.sync_data()
    };

    let mut table: Vec<Row> = ONE.iter().map(|r| Row::new(*r)).collect();
    let mut err: Option<io::Error> = None;
    let mut next = 1000u64;
    round_robin(ctx.rounds, ONE.len(), |c, _| {
        for _ in 0..ctx.sync_ops.max(4) {
            next += 1;
            let i = next;
            let t = Instant::now();
            let r: io::Result<()> = match ONE[c] {
                WIDE1 => wide_v
                    .push(wide(i))
                    .and_then(|()| wide_v.sync())
                    .map_err(io::Error::from),
                GROUP1 => g
                    .push_row(row(i))
                    .and_then(|()| g.sync())
                    .map_err(io::Error::from),
                EIGHT1 => eight
                    .iter_mut()
                    .try_for_each(|v| v.push(i).and_then(|()| v.sync()).map_err(io::Error::from)),
                VDB81 => {
                    for v in &mut vdb.vecs {
                        v.push(i);
                    }
                    vdb.commit()
                }
                FLOOR1 => bare(1, 64, i),
                _ => bare(FLOOR_PAGES, 8, i),
            };
            table[c].time.push(t.elapsed().as_secs_f64());
            if let Err(e) = r {
                err.get_or_insert(io::Error::other(format!("{}: {e}", ONE[c])));
            }
        }
    });
    if let Some(e) = err {
        return Err(e);
    }
    report.table(
        KEY_ONE,
        Table {
            title: "S12b one row of 8 u64 appended, then one durable commit (time per commit)"
                .into(),
            rows: table,
            baseline: 0,
            refs: vec![(1, "group")],
            per: None,
        },
    );
    Ok(())
}

/// S12c: `LiveGroup::refresh` with nothing new.
fn refresh(ctx: &Ctx, report: &mut Report) -> io::Result<()> {
    let p = ctx.path("group-live.bin");
    let r = refresh_at(ctx, report, &p);
    let _ = std::fs::remove_file(&p);
    r
}

fn refresh_at(ctx: &Ctx, report: &mut Report, p: &Path) -> io::Result<()> {
    let mut g = Group::<G8>::open(p)?;
    for i in 0..1000 {
        g.push_row(row(i))?;
    }
    g.sync()?;
    let mut r = OpenOptions::new().open_group_live::<G8>(p)?;
    r.refresh()?;
    let mut rows = vec![Row::new(REFRESH)];
    for _ in 0..ctx.rounds.max(5) * 2 {
        let t = Instant::now();
        let mut changed = 0;
        for _ in 0..CALLS {
            changed += r.refresh()? as usize;
        }
        rows[0].time.push(t.elapsed().as_secs_f64() / CALLS as f64);
        check(black_box(changed) == 0, REFRESH)?;
    }
    report.note(KEY_REFRESH, rows[0].time.median() * 1e9);
    report.table(
        "group refresh",
        Table {
            title: format!(
                "S12c LiveGroup::refresh with nothing new (time per call, {} calls per sample)",
                fmt_count(CALLS)
            ),
            rows,
            baseline: 0,
            refs: vec![],
            per: None,
        },
    );
    drop(g);
    Ok(())
}
