//! `persistence-bench`: `MmapedVec<u64>` side by side with what users would pick instead,
//! in one run, on one machine, contenders interleaved round-robin (issue 4).
//!
//! ```text
//! cargo run --release -p persistence-bench               # full: a few minutes on 2 cores
//! cargo run --release -p persistence-bench -- --quick    # seconds, small sizes (CI)
//! options: --dir PATH (temp dir; default: std::env::temp_dir()), --only 1,3,5 (scenarios),
//!          --sizes N,N (element counts for scenarios 1 and 2, for profiling one size),
//!          --files N,N (element counts of the S3/S4/S6 files), --scan N (S7's vectors)
//! ```
//!
//! Scenarios (u64 elements): 1 push then one sync, 2 extend_from_slice in 64 Ki chunks then
//! one sync, 3 reopen (read one / sum all), 4 sync after changing one element, 5 growth of
//! the capacity from 1 GiB to 2 GiB in one step, 6 random reads, 7 scan after reopen, 8 block
//! reservation where `fallocate` is missing, 9 converting a file of the other byte order
//! (issue 10) against `cp`, 10 appends with a durable commit every batch, 11 live readers
//! (refresh, commit-to-visible latency, scan; issue 9), 12 commit groups of 8 columns
//! against one wide vector, 8 vectors and vecdb (issue 19), 13 commit-to-wake latency of a
//! reader that waits (`wait_for_commit`) against spinning, polling, a pipe and inotify
//! (issue 20), 14 sustained appends with a commit every 64 MiB, with and without early
//! writeback (issue 21). Every table prints median,
//! min – max and the ratio to the scenario's baseline; the closing summary lists every target
//! of the issue with its measured ratio, as Markdown for the README.

mod append;
mod chart;
mod commits;
mod common;
mod convert;
mod groups;
mod growth;
mod handrolled;
mod live;
mod os;
mod peer;
mod random;
mod reopen;
mod reserve;
mod scan;
mod stats;
mod summary;
mod sustained;
mod sync_one;
mod wake;

use std::io;
use std::path::PathBuf;
use std::time::Instant;

use common::{fmt_bytes, Ctx, Fixture, Report};

const USAGE: &str = "usage: persistence-bench [--quick] [--dir PATH] [--only 1,2,...,14] \
                     [--sizes N,N (elements for scenarios 1 and 2)] [--files N,N (elements \
                     of the S3/S4/S6 files)] [--scan N (elements for scenario 7)] [--svg PATH]";

/// The number of the last scenario.
const LAST: u32 = 14;

/// The remap path of the library under test (`build.rs`).
pub const REMAP_STRATEGY: &str = env!("PERSISTENCE_REMAP_STRATEGY");

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--wake-writer") {
        // Scenario 13's writer process.
        if let Err(e) = wake::writer_main(&args[1..]) {
            eprintln!("wake writer: {e}");
            std::process::exit(1);
        }
        return;
    }
    let ctx = match parse(&args) {
        Ok(ctx) => ctx,
        Err(msg) => {
            eprintln!("{msg}\n{USAGE}");
            std::process::exit(2);
        }
    };
    if let Err(e) = std::fs::create_dir_all(&ctx.dir) {
        eprintln!("cannot create {}: {e}", ctx.dir.display());
        std::process::exit(1);
    }
    let code = match run(&ctx) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("persistence-bench: FAILED: {e}");
            1
        }
    };
    let _ = std::fs::remove_dir_all(&ctx.dir);
    std::process::exit(code);
}

/// The command line, into a run context.
fn parse(args: &[String]) -> Result<Ctx, String> {
    let mut quick = false;
    let mut base: Option<PathBuf> = None;
    let mut only = Vec::new();
    let mut sizes: Option<Vec<usize>> = None;
    let mut files: Option<Vec<usize>> = None;
    let mut scan: Option<usize> = None;
    let mut svg: Option<PathBuf> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--dir" => base = Some(it.next().ok_or("--dir needs a path")?.into()),
            "--svg" => svg = Some(it.next().ok_or("--svg needs a path")?.into()),
            "--only" => {
                for s in it.next().ok_or("--only needs a list")?.split(',') {
                    let n: u32 = s
                        .trim()
                        .parse()
                        .map_err(|_| format!("bad scenario {s:?}"))?;
                    if !(1..=LAST).contains(&n) {
                        return Err(format!("no scenario {n}"));
                    }
                    only.push(n);
                }
            }
            "--sizes" => sizes = Some(counts(it.next().ok_or("--sizes needs a list")?)?),
            "--files" => files = Some(counts(it.next().ok_or("--files needs a list")?)?),
            "--scan" => {
                let v = counts(it.next().ok_or("--scan needs a count")?)?;
                if v.len() != 1 {
                    return Err("--scan takes one count".into());
                }
                scan = Some(v[0]);
            }
            "-h" | "--help" => return Err("persistence-bench: issue 4's benchmark".into()),
            // `cargo bench` style harness flags are ignored.
            "--bench" => {}
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let base = base.unwrap_or_else(std::env::temp_dir);
    let dir = base.join(format!("persistence-bench-{}", std::process::id()));
    let mut ctx = if quick {
        Ctx {
            dir,
            quick,
            rounds: 3,
            append_sizes: vec![100_000, 1_000_000],
            file_sizes: vec![125_000, 1_000_000],
            ops: 5,
            sync_ops: 2,
            growth_bytes: 32 << 20,
            random_reads: 100_000,
            scan_elems: 1_000_000,
            scan_rounds: 5,
            reserve_bytes: 64 << 20,
            convert_elems: 1_000_000,
            only: only.clone(),
            svg: svg.clone(),
            page: os::page_size(),
        }
    } else {
        Ctx {
            dir,
            quick,
            rounds: 5,
            append_sizes: vec![10_000_000, 100_000_000],
            file_sizes: vec![1_000_000, 10_000_000, 100_000_000],
            ops: 20,
            sync_ops: 6,
            growth_bytes: 1 << 30,
            random_reads: 1_000_000,
            scan_elems: 100_000_000,
            scan_rounds: 7,
            reserve_bytes: 1 << 30,
            convert_elems: 100_000_000,
            only: only.clone(),
            svg: svg.clone(),
            page: os::page_size(),
        }
    };
    if let Some(s) = sizes {
        ctx.append_sizes = s;
    }
    if let Some(f) = files {
        ctx.file_sizes = f;
    }
    if let Some(n) = scan {
        ctx.scan_elems = n;
    }
    Ok(ctx)
}

/// A comma-separated list of positive element counts.
fn counts(list: &str) -> Result<Vec<usize>, String> {
    let v: Result<Vec<usize>, _> = list.split(',').map(|s| s.trim().parse()).collect();
    let v = v.map_err(|_| format!("bad counts {list:?}"))?;
    if v.is_empty() || v.contains(&0) {
        return Err("counts must be positive".into());
    }
    Ok(v)
}

fn run(ctx: &Ctx) -> io::Result<()> {
    let start = Instant::now();
    let fs = os::fs_type(&ctx.dir);
    println!(
        "# persistence-bench {}: {} | {} | kernel {} | temp dir {} ({fs}, {} free) | remap: {} | {} rounds",
        if ctx.quick { "--quick" } else { "(full)" },
        os::utc_now(),
        os::cpu_model(),
        os::kernel(),
        ctx.dir.display(),
        os::free_bytes(&ctx.dir).map_or("?".into(), |b| fmt_bytes(b as f64)),
        crate::REMAP_STRATEGY,
        ctx.rounds,
    );
    if fs == "tmpfs" {
        println!("WARNING: the temp dir is on tmpfs: no disk, no real sync. Use --dir on a disk.");
    }
    println!(
        "Contenders run round-robin (each round starts with the next one); files are created \
         before and deleted after each timed run; ratios within this run are what count."
    );
    let mut report = Report::default();
    let mut took = Took(Instant::now());
    if ctx.wants(1) {
        append::run(ctx, &mut report, append::Mode::Push)?;
        took.say("S1");
    }
    if ctx.wants(2) {
        append::run(ctx, &mut report, append::Mode::Extend)?;
        took.say("S2");
    }
    if ctx.wants(3) || ctx.wants(4) || ctx.wants(6) {
        let need: usize = ctx.file_sizes.iter().map(|n| 4 * 8 * n).sum();
        ctx.check_space(need as u64, "scenarios 3, 4, 6")?;
        let t = Instant::now();
        let mut fixtures = Vec::new();
        let made = ctx.file_sizes.iter().try_for_each(|&n| {
            fixtures.push(Fixture::create(ctx, n)?);
            Ok::<(), io::Error>(())
        });
        println!(
            "\n(fixtures for S3, S4, S6 written and synced in {:.1} s: {} files, {} vecdb databases)",
            t.elapsed().as_secs_f64(),
            2 * fixtures.len(),
            2 * fixtures.len()
        );
        let r = made.and_then(|()| {
            if ctx.wants(3) {
                reopen::run(ctx, &mut report, &fixtures)?;
            }
            if ctx.wants(4) {
                sync_one::run(ctx, &mut report, &fixtures)?;
            }
            if ctx.wants(6) {
                if let Some(fx) = fixtures.last() {
                    random::run(ctx, &mut report, fx)?;
                }
            }
            Ok(())
        });
        for fx in &fixtures {
            fx.remove();
        }
        r?;
        took.say("S3, S4, S6");
    }
    if ctx.wants(7) {
        scan::run(ctx, &mut report)?;
        took.say("S7");
    }
    if ctx.wants(5) {
        growth::run(ctx, &mut report)?;
        took.say("S5");
    }
    if ctx.wants(8) {
        reserve::run_scenario(ctx, &mut report)?;
        took.say("S8");
    }
    if ctx.wants(9) {
        convert::run(ctx, &mut report)?;
        took.say("S9");
    }
    if ctx.wants(10) {
        commits::run(ctx, &mut report)?;
        took.say("S10");
    }
    if ctx.wants(11) {
        live::run(ctx, &mut report)?;
        took.say("S11");
    }
    if ctx.wants(12) {
        groups::run(ctx, &mut report)?;
        took.say("S12");
    }
    if ctx.wants(13) {
        wake::run(ctx, &mut report)?;
        took.say("S13");
    }
    if ctx.wants(14) {
        sustained::run(ctx, &mut report)?;
        took.say("S14");
    }
    let side = summary::vecdb_table(ctx, &report);
    if !side.is_empty() {
        println!("\n{side}");
    }
    println!("\n{}", summary::render(ctx, &report));
    let panels = chart::panels(ctx, &report);
    if !panels.is_empty() {
        let path = chart_path(ctx);
        let heading = format!(
            "persistence-bench{}: {} | {} | {}",
            if ctx.quick { " --quick" } else { "" },
            os::utc_now(),
            os::cpu_model(),
            fs
        );
        match std::fs::write(&path, chart::svg(&heading, &panels)) {
            Ok(()) => println!("chart: {}", path.display()),
            Err(e) => println!("chart: cannot write {}: {e}", path.display()),
        }
    }
    println!(
        "(finished in {:.0} s; temp dir {} removed)",
        start.elapsed().as_secs_f64(),
        ctx.dir.display()
    );
    Ok(())
}

/// Prints how long each part of the run took (the budget: about 5 minutes on 2 idle cores).
struct Took(Instant);

impl Took {
    fn say(&mut self, what: &str) {
        println!("({what} took {:.0} s)", self.0.elapsed().as_secs_f64());
        self.0 = Instant::now();
    }
}

/// Where the chart goes: `--svg PATH`; after a full run of every scenario,
/// `bench/results-<date>.svg` beside the results file; otherwise next to the executable (the
/// target dir), never into bench/.
fn chart_path(ctx: &Ctx) -> PathBuf {
    if let Some(p) = &ctx.svg {
        return p.clone();
    }
    if !ctx.quick && ctx.only.is_empty() {
        let date: String = os::utc_now().chars().take(10).collect();
        return PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("results-{date}.svg"));
    }
    let dir = std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(PathBuf::from))
        .unwrap_or_else(std::env::temp_dir);
    dir.join(if ctx.quick {
        "persistence-bench-quick.svg"
    } else {
        "persistence-bench-partial.svg"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn parses_quick_dir_and_only() {
        let c = parse(&args(&["--quick", "--dir", "/x", "--only", "1,5"])).unwrap();
        assert!(c.quick);
        assert!(c.dir.starts_with("/x"));
        assert!(c.wants(5) && !c.wants(2));
        let full = parse(&[]).unwrap();
        assert!(!full.quick && full.rounds >= 5 && full.wants(3));
        assert_eq!(full.append_sizes, [10_000_000, 100_000_000]);
        assert_eq!(full.growth_bytes, 1 << 30);
        assert_eq!(full.scan_elems, 100_000_000, "800 MB");
        assert_eq!(full.reserve_bytes, 1 << 30);
        assert_eq!(full.convert_elems, 100_000_000, "800 MB");
        assert_eq!(
            parse(&args(&["--quick"])).unwrap().convert_elems,
            1_000_000,
            "8 MB"
        );
    }

    #[test]
    fn the_chart_goes_into_bench_only_after_a_full_run() {
        let full = parse(&[]).unwrap();
        let p = chart_path(&full);
        assert!(p.starts_with(env!("CARGO_MANIFEST_DIR")), "{}", p.display());
        assert!(p
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("results-20"));
        for a in [&["--quick"][..], &["--only", "1"][..]] {
            let p = chart_path(&parse(&args(a)).unwrap());
            assert!(
                !p.starts_with(env!("CARGO_MANIFEST_DIR")),
                "{a:?}: {}",
                p.display()
            );
        }
        let p = chart_path(&parse(&args(&["--svg", "/x/c.svg"])).unwrap());
        assert_eq!(p, PathBuf::from("/x/c.svg"));
    }

    #[test]
    fn rejects_bad_arguments() {
        assert!(parse(&args(&["--only", "15"])).is_err());
        assert!(parse(&args(&["--only", "7,8,9,10,11"])).is_ok());
        assert!(parse(&args(&["--frobnicate"])).is_err());
        assert!(parse(&args(&["--dir"])).is_err());
        assert!(parse(&args(&["--sizes", "0"])).is_err());
        assert_eq!(
            parse(&args(&["--sizes", "5,7"])).unwrap().append_sizes,
            [5, 7]
        );
        let c = parse(&args(&["--files", "3,4", "--scan", "9"])).unwrap();
        assert_eq!((c.file_sizes, c.scan_elems), (vec![3, 4], 9));
        assert!(parse(&args(&["--scan", "1,2"])).is_err());
        assert!(parse(&args(&["--files", "0"])).is_err());
    }
}
