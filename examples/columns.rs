//! A struct of arrays that survives `kill -9`: `cargo run --release --example columns`.
//!
//! Trades (time, price, quantity) are three columns of one commit group, a
//! `Group<(u64, f64, u32)>` in one file. The example starts itself again as a writer
//! (`columns writer PATH`), which appends trades in batches, a column at a time, and commits
//! each batch with one `sync_rows()`, printing the row count and generation each commit
//! returned. A moment later the example kills the writer with `SIGKILL`, at whatever instant
//! (mid-batch, the columns of different lengths, or mid-commit), reopens the group and shows
//! what survived: every column at the same length, at least the last row count the writer
//! printed, and every row as it was written. Then it removes its temporary directory.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use persistence::{Group, OpenOptions};

/// The columns: time (ms since the epoch), price, quantity.
type Trades = (u64, f64, u32);

/// Rows a batch appends to each column before the commit.
const BATCH: u64 = 20_000;

fn opts() -> OpenOptions {
    // An application magic and version, so that no other program's file is taken for ours.
    *OpenOptions::new().magic(*b"TRADES\0\0").version(1)
}

/// Trade `i`, so that the reader can check every row it finds.
fn trade(i: u64) -> Trades {
    let time = 1_700_000_000_000 + i * 250;
    let price = 100.0 + ((i * 7_919) % 10_000) as f64 / 100.0;
    let qty = 1 + (i % 500) as u32;
    (time, price, qty)
}

/// The child: appends batches forever, one commit each, until it is killed.
fn writer(path: &Path) -> Result<(), persistence::Error> {
    let mut g: Group<Trades> = opts().open_group(path)?;
    let mut rows = g.rows()? as u64;
    let started = Instant::now();
    // A writer whose parent died stops by itself.
    while started.elapsed() < Duration::from_secs(30) {
        let batch: Vec<Trades> = (rows..rows + BATCH).map(trade).collect();
        let (time, price, qty) = g.columns_mut();
        // A column at a time: until the commit below, the columns have different lengths.
        time.extend_from_slice(&batch.iter().map(|t| t.0).collect::<Vec<_>>())?;
        price.extend_from_slice(&batch.iter().map(|t| t.1).collect::<Vec<_>>())?;
        qty.extend_from_slice(&batch.iter().map(|t| t.2).collect::<Vec<_>>())?;
        g.sync_rows()?; // every column at once, atomically; durable when it returns
        rows += BATCH;
        println!("synced {rows} {}", g.generation());
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if let [_, role, path] = &args[..] {
        if role == "writer" {
            writer(Path::new(path))?;
            return Ok(());
        }
    }

    let dir = std::env::temp_dir().join(format!("persistence-columns-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("trades.bin");
    let mut child = Command::new(std::env::current_exe()?)
        .arg("writer")
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().expect("piped");
    let (first, first_rx) = mpsc::channel();
    let lines = std::thread::spawn(move || {
        let mut last = (0u64, 0u64); // (rows, generation) of the last commit that returned
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some((rows, gen)) = line
                .strip_prefix("synced ")
                .and_then(|rest| rest.split_once(' '))
            {
                last = (rows.parse().unwrap(), gen.parse().unwrap());
                let _ = first.send(());
            }
        }
        last
    });

    // Let the writer commit for a moment, then kill it: SIGKILL, no chance to clean up.
    first_rx
        .recv_timeout(Duration::from_secs(10))
        .map_err(|_| "the writer committed nothing within 10 s")?;
    std::thread::sleep(Duration::from_millis(200));
    child.kill()?;
    let status = child.wait()?;
    let (synced_rows, synced_gen) = lines.join().expect("reader thread");
    println!(
        "writer killed ({status}); the last commit it saw return: {synced_rows} rows, \
         generation {synced_gen}"
    );

    // Reopen: a read-only snapshot of the last commit.
    let t = Instant::now();
    let s = opts().open_group_read_only::<Trades>(&path)?;
    let (time, price, qty) = s.columns();
    let rows = time.len();
    println!(
        "reopened in {:?}: {rows} rows at generation {}, last row {:?}",
        t.elapsed(),
        s.generation(),
        s.get_row(rows.wrapping_sub(1))
    );
    assert!(
        price.len() == rows && qty.len() == rows,
        "columns of different lengths: {rows}, {}, {}",
        price.len(),
        qty.len()
    );
    assert!(rows as u64 >= synced_rows, "a committed row was lost");
    assert!(s.generation() >= synced_gen, "a commit was lost");
    for i in 0..rows {
        let row = (time[i], price[i], qty[i]);
        assert_eq!(row, trade(i as u64), "row {i}");
    }
    println!(
        "every column has {rows} rows, every row checks out ({} rows committed after the last \
         line the writer printed)",
        rows as u64 - synced_rows
    );
    drop(s);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
