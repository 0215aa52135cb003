//! Early writeback (`OpenOptions::early_writeback`, on by default on Linux): while a vector
//! is appended, the ranges already filled are handed to the kernel to write, so that they
//! are on disk, or on their way, before `sync()` is called; off, they stay dirty until then.
//! Observed with `cachestat(2)` (dirty and under-writeback pages) on a file system with
//! writeback (`PERSISTENCE_TEST_DIR`, else `CARGO_TARGET_TMPDIR`; not tmpfs). Either way the
//! commit makes everything durable: every page clean after `sync()`, every element back.

#![cfg(target_os = "linux")]

mod common;

use common::cachestat as probe;

use std::time::Duration;

use persistence::OpenOptions;

/// How the 48 MiB are appended.
#[derive(Clone, Copy, Debug)]
enum Append {
    /// 40 MiB in 1 MiB `extend_from_slice` pieces, then 8 MiB of pushes through growth steps.
    Mixed,
    /// 48 MiB of pushes, all within the capacity reserved at open: no growth step.
    PushesOnly,
}

/// Appends 48 MiB, waits a moment, and returns the share of the data's pages still dirty or
/// under writeback before `sync()`, then syncs and checks.
fn dirty_share(dir: &std::path::Path, early: bool, how: Append) -> Option<f64> {
    let path = dir.join(format!("v-{early}-{how:?}.bin"));
    let mut v = OpenOptions::new()
        .early_writeback(early)
        .capacity(7 << 20)
        .open::<u64>(&path)
        .unwrap();
    let probe = match probe::Probe::new(&path, dir) {
        Ok(p) => p,
        Err(why) => {
            eprintln!("SKIPPED: early writeback: {why}");
            return None;
        }
    };
    let chunk: Vec<u64> = (0..1u64 << 17).collect();
    let capacity = v.capacity();
    match how {
        Append::Mixed => {
            for _ in 0..40 {
                v.extend_from_slice(&chunk).unwrap();
            }
            for i in 0..(1u64 << 20) {
                v.push(i).unwrap(); // through growth steps
            }
        }
        Append::PushesOnly => {
            for i in 0..(6u64 << 20) {
                v.push(i).unwrap();
            }
            assert_eq!(v.capacity(), capacity, "a push grew the file");
        }
    }
    std::thread::sleep(Duration::from_millis(500));
    let bytes = 4096 + 8 * v.len();
    let dirty = probe.dirty(bytes);
    let share = dirty.iter().filter(|&&d| d).count() as f64 / dirty.len() as f64;
    v.sync().unwrap();
    assert!(
        probe.dirty(bytes).iter().all(|&d| !d),
        "a page is not on disk after sync()"
    );
    drop(v);
    let r = OpenOptions::new().open_read_only::<u64>(&path).unwrap();
    assert_eq!(r.len(), 6 << 20);
    let pushed = match how {
        Append::Mixed => {
            assert!(r[..40 << 17].chunks(1 << 17).all(|c| c == &chunk[..]));
            &r[40 << 17..]
        }
        Append::PushesOnly => &r[..],
    };
    assert!(pushed.iter().enumerate().all(|(i, &x)| x == i as u64));
    Some(share)
}

/// A directory on a file system with writeback, or `None` (and why, printed).
fn writeback_dir() -> Option<tempfile::TempDir> {
    let base = std::env::var_os(common::TEST_DIR_ENV)
        .filter(|d| !d.is_empty())
        .unwrap_or_else(|| env!("CARGO_TARGET_TMPDIR").into());
    let dir = tempfile::Builder::new()
        .prefix("early-writeback")
        .tempdir_in(&base)
        .unwrap();
    if common::fs::type_name(dir.path()) == "tmpfs" {
        eprintln!("SKIPPED: early writeback: tmpfs has no writeback");
        return None;
    }
    Some(dir)
}

fn check_shares(how: Append) {
    let Some(dir) = writeback_dir() else {
        return;
    };
    let (Some(on), Some(off)) = (
        dirty_share(dir.path(), true, how),
        dirty_share(dir.path(), false, how),
    ) else {
        return;
    };
    println!(
        "{how:?}: dirty or under writeback before sync(): {:.0} % with early writeback, {:.0} % \
         without",
        on * 100.0,
        off * 100.0
    );
    assert!(
        off > 0.9,
        "without early writeback the kernel wrote back {:.0} %",
        (1.0 - off) * 100.0
    );
    assert!(
        on < 0.5,
        "with early writeback {:.0} % was still dirty",
        on * 100.0
    );
}

#[test]
fn appended_data_is_on_its_way_before_sync_only_with_early_writeback() {
    check_shares(Append::Mixed);
}

/// Pushes within the capacity hand what they filled to the kernel too, not only growth
/// steps and bulk appends: a push leaves its fast path where 8 MiB more are due.
#[test]
fn pushes_within_the_capacity_are_written_back_early_too() {
    check_shares(Append::PushesOnly);
}
