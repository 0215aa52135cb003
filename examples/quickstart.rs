//! The README's first command: `cargo run --release --example quickstart [PATH]`.
//!
//! Opens (or reopens) a vector of `Reading` records in a file (default:
//! `quickstart-readings.bin` in the system temp directory), appends a batch, syncs, reads
//! back, corrects one reading in place and prints what it did. Run it twice: the second run continues where the first
//! stopped.

use persistence::{pod, OpenOptions};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

pod! {
    /// One sensor reading: 24 bytes, no padding, stored in the file exactly as in memory.
    #[derive(Debug)]
    pub struct Reading {
        pub time_ns: u64,
        pub value: f64,
        pub sensor: u32,
        pub run: u32,
    }
}

const BATCH: u64 = 1_000_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args_os()
        .nth(1)
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("quickstart-readings.bin"));

    // An application magic and version, so that no other program's file is mistaken for ours.
    let t = Instant::now();
    let mut readings = OpenOptions::new()
        .magic(*b"QUICKSTR")
        .version(1)
        .open::<Reading>(&path)?;
    let opened = t.elapsed();
    let before = readings.len();
    let run = readings.last().map_or(1, |r| r.run + 1);
    println!("opened {} in {opened:?}", path.display());
    println!(
        "  found {before} readings from earlier runs (capacity {})",
        readings.capacity()
    );

    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_nanos() as u64;
    let t = Instant::now();
    for i in 0..BATCH {
        readings.push(Reading {
            time_ns: now + i,
            value: (i as f64).sqrt(),
            sensor: (i % 16) as u32,
            run,
        })?;
    }
    let pushed = t.elapsed();
    let t = Instant::now();
    readings.sync()?; // Durable from here on, whatever happens to this process or the machine.
    let synced = t.elapsed();
    println!(
        "run {run}: pushed {BATCH} readings in {pushed:?} ({:.1} ns each), sync took {synced:?}",
        pushed.as_nanos() as f64 / BATCH as f64
    );

    // Read back: it is a slice, so every slice method works.
    let mine = &readings[before..];
    let mean = mine.iter().map(|r| r.value).sum::<f64>() / mine.len() as f64;
    let runs = readings.first().map_or(0, |r| r.run)..=run;
    println!(
        "  the file now holds {} readings from runs {runs:?}",
        readings.len()
    );
    println!(
        "  mean value of this run: {mean:.3}; last reading: {:?}",
        readings.last()
    );

    // Correct one committed reading in place. `set` writes it with `pwrite`, so the commit
    // after it writes one disk block; `readings[i] = r` would work too, but its store dirties
    // the whole page-cache folio around the element, which the commit then writes.
    let t = Instant::now();
    let mut first = readings[before];
    first.value = -first.value;
    readings.set(before, first)?;
    readings.sync()?;
    println!(
        "  corrected reading {before} in place: set + sync took {:?}",
        t.elapsed()
    );
    readings.close()?;
    println!(
        "closed; run again to continue, or delete {} to start over",
        path.display()
    );
    Ok(())
}
