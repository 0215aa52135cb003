//! Scenario 4: change one element of a durable vector, then make it durable again, at
//! every file size. All contenders keep their file open for the whole scenario; each sample
//! is one change + its sync. The baseline is what a `File` user does: `pwrite` the 8 bytes,
//! `File::sync_data`. `MmapedVec` runs on its default file (no page-cache hints) and on one
//! written and opened with `huge_pages(true)` (bulk-appended into 2 MiB page-cache folios on
//! ext4 and XFS, so a store dirties 2 MiB), each with a store through the mapping
//! (`v[i] = x`, which dirties the whole folio under it) and with `set` (a `pwrite`, which
//! dirties one block).
//!
//! vecdb changes a value in place through `MutableVec::update_many` + `flush` (no device
//! sync: timed as its own, non-durable row), then an `fsync` of its two files (the durable row).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::time::Instant;

use memmap2::MmapMut;

use crate::common::{self, as_u64s_mut, names::*, Ctx, Fixture, Report};
use crate::peer::{Kind, MutPeer};
use crate::stats::{round_robin, Row, Table};

const CONTENDERS: [&str; 11] = [
    PWRITE_SYNC,
    MSYNC_PAGE,
    MSYNC_ALL,
    TWO_FLUSH,
    MEMVEC_SYNC,
    VDB_SET_BYTES,
    VDB_SET_ZERO,
    LIB_SYNC,
    LIB_SYNC_HUGE,
    LIB_SET_SYNC,
    LIB_SET_SYNC_HUGE,
];
const DATA: usize = 4096;

/// Runs scenario 4 on every fixture.
pub fn run(ctx: &Ctx, report: &mut Report, fixtures: &[Fixture]) -> io::Result<()> {
    let page = ctx.page;
    for fx in fixtures {
        let n = fx.n;
        let i = n / 2;
        let off = DATA + 8 * i;
        let file = File::options().read(true).write(true).open(&fx.lib)?;
        // SAFETY: the benchmark alone changes the fixture, and only element `i` and the
        // bytes of the 24-byte scratch slot at offset 2048 of the header page (unused by the
        // format: slots sit at 512 and 1024).
        let mut map = unsafe { MmapMut::map_mut(&file) }?;
        let mut mv = common::memvec_open(&fx.memvec)?;
        let mut lib = fx.open_lib()?;
        let mut lib_huge = fx.open_lib_huge()?;
        let mut vdb = [
            MutPeer::open(fx.vdb(Kind::Bytes), Kind::Bytes)?,
            MutPeer::open(fx.vdb(Kind::ZeroCopy), Kind::ZeroCopy)?,
        ];
        let mut rows: Vec<Row> = CONTENDERS.iter().map(|c| Row::new(*c)).collect();
        let mut flushes = [Row::new(VDB_SET_BYTES_FLUSH), Row::new(VDB_SET_ZERO_FLUSH)];
        let mut value = 1_000_000_000u64;
        let mut err: Option<io::Error> = None;
        round_robin(ctx.rounds, CONTENDERS.len(), |c, _| {
            for _ in 0..ctx.sync_ops {
                value += 1;
                let x = value;
                let t0 = Instant::now();
                let mut flushed = None;
                let r: io::Result<()> = match CONTENDERS[c] {
                    PWRITE_SYNC => file
                        .write_all_at(&x.to_ne_bytes(), off as u64)
                        .and_then(|()| file.sync_data()),
                    MSYNC_PAGE => {
                        as_u64s_mut(&mut map[DATA..])[i] = x;
                        map.flush_range(off, 8)
                    }
                    MSYNC_ALL => {
                        as_u64s_mut(&mut map[DATA..])[i] = x;
                        map.flush()
                    }
                    TWO_FLUSH => {
                        // What a commit protocol that orders data before the length needs at
                        // least: the data page durable, then a slot write, then the header
                        // page durable.
                        as_u64s_mut(&mut map[DATA..])[i] = x;
                        map.flush_range(off - off % page, page).and_then(|()| {
                            map[2048..2056].copy_from_slice(&x.to_ne_bytes());
                            map.flush_range(0, page)
                        })
                    }
                    MEMVEC_SYNC => {
                        mv[i] = x;
                        mv.as_mem().file().sync_data()
                    }
                    VDB_SET_BYTES | VDB_SET_ZERO => {
                        let k = usize::from(CONTENDERS[c] == VDB_SET_ZERO);
                        vdb[k].set_and_flush(i, x).and_then(|()| {
                            flushed = Some((k, t0.elapsed().as_secs_f64()));
                            vdb[k].fsync()
                        })
                    }
                    LIB_SYNC => {
                        lib[i] = x;
                        lib.sync().map_err(io::Error::from)
                    }
                    LIB_SYNC_HUGE => {
                        lib_huge[i] = x;
                        lib_huge.sync().map_err(io::Error::from)
                    }
                    LIB_SET_SYNC => lib
                        .set(i, x)
                        .and_then(|()| lib.sync())
                        .map_err(io::Error::from),
                    LIB_SET_SYNC_HUGE => lib_huge
                        .set(i, x)
                        .and_then(|()| lib_huge.sync())
                        .map_err(io::Error::from),
                    _ => unreachable!("every contender is listed"),
                };
                let t = t0.elapsed().as_secs_f64();
                if let Some((k, f)) = flushed {
                    flushes[k].time.push(f);
                }
                match r {
                    Ok(()) => rows[c].time.push(t),
                    Err(e) => {
                        err.get_or_insert(io::Error::other(format!("{}: {e}", CONTENDERS[c])));
                    }
                }
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
        // Every contender wrote element `i` last in some order; all views agree on it.
        let seen = [as_u64s_mut(&mut map[DATA..])[i], lib[i]];
        if seen[0] != seen[1] {
            return Err(io::Error::other("views of the same file disagree"));
        }
        // Put the fixture back as it was for the scenarios after this one.
        map[2048..2056].copy_from_slice(&[0; 8]);
        map.flush_range(0, page)?;
        lib[i] = i as u64;
        lib.sync()?;
        lib_huge[i] = i as u64;
        lib_huge.sync()?;
        for v in &mut vdb {
            v.set_and_flush(i, i as u64)?;
            v.fsync()?;
            if v.get(i) != Some(i as u64) || v.len() != n {
                return Err(io::Error::other("vecdb: the change did not read back"));
            }
        }
        drop(vdb);
        rows.extend(flushes);
        mv[i] = i as u64;
        mv.as_mem().file().sync_data()?;
        let bytes = common::fmt_bytes(8.0 * n as f64);
        report.table(
            format!("sync one {n}"),
            Table {
                title: format!("S4 change one element of a {bytes} vector, then sync"),
                rows,
                baseline: 0,
                refs: vec![(7, VS_LIB)],
                per: None,
            },
        );
    }
    Ok(())
}
