//! `convert [--type u64|reading] [--magic TEXT] [--version N] FROM TO`: turns a vector file
//! written on a machine of the other byte order into one of this machine's, all or nothing
//! (`OpenOptions::convert_foreign`). A file already in this machine's byte order is copied.
//! `TO` may be `FROM`: the file is then converted in place.
//!
//! ```text
//! cargo run --example convert -- --type reading --magic READINGS --version 2 in-be.bin out.bin
//! ```
//!
//! The element type is fixed at compile time, as in any program that uses the library: here
//! `u64` (the default) or the example's `Reading` record. `--magic` is up to 8 bytes of text
//! (padded with zero bytes), `--version` the application version; both must match the file.
//!
//! Exit status: 0 when the file was converted, 1 when it was not (the message says why: the
//! file is locked by a writer, holds another element type, is corrupt, the disk is full,
//! ...; `TO` and `FROM` are then as they were), 2 for a usage error.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use persistence::{inspect, OpenOptions, SwapBytes};

persistence::pod! {
    /// The example's record: one sensor reading, 24 bytes.
    #[derive(Debug, PartialEq)]
    pub struct Reading {
        /// When, in nanoseconds since the epoch.
        pub time_ns: u64,
        /// What was read.
        pub value: f64,
        /// Which sensor.
        pub sensor: u32,
        /// Bit flags.
        pub flags: u16,
        /// The unit, as two ASCII bytes (`b"mV"`): bytes have no byte order.
        pub unit: [u8; 2],
    }
}

const USAGE: &str = "usage: convert [--type u64|reading] [--magic TEXT] [--version N] FROM TO";

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let code = run(
        &args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}

/// The element types the example knows.
#[derive(Clone, Copy)]
enum Type {
    U64,
    Reading,
}

/// What the command line asks for.
struct Job<'a> {
    ty: Type,
    opts: OpenOptions,
    from: &'a Path,
    to: &'a Path,
}

/// Parses `args`; the error is the message for a usage error.
fn parse(args: &[OsString]) -> Result<Job<'_>, String> {
    let mut ty = Type::U64;
    let mut opts = OpenOptions::new();
    let mut paths = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |name: &str| {
            it.next()
                .and_then(|v| v.to_str())
                .ok_or(format!("{name} needs a value"))
        };
        match a.to_str() {
            Some("--type") => {
                ty = match value("--type")? {
                    "u64" => Type::U64,
                    "reading" => Type::Reading,
                    other => return Err(format!("unknown type {other:?} (u64 or reading)")),
                }
            }
            Some("--magic") => {
                let text = value("--magic")?.as_bytes();
                if text.len() > 8 {
                    return Err("--magic is at most 8 bytes".into());
                }
                let mut magic = [0u8; 8];
                magic[..text.len()].copy_from_slice(text);
                opts.magic(magic);
            }
            Some("--version") => {
                let v = value("--version")?;
                opts.version(v.parse().map_err(|_| format!("bad version {v:?}"))?);
            }
            Some(flag) if flag.starts_with("--") => {
                return Err(format!("unknown option {flag:?}"));
            }
            _ => paths.push(Path::new(a)),
        }
    }
    let [from, to] = paths[..] else {
        return Err("FROM and TO are needed".into());
    };
    Ok(Job { ty, opts, from, to })
}

/// Converts as `args` say, printing what was done to `out` or the error to `err`; returns
/// the exit status.
pub fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let job = match parse(args) {
        Ok(job) => job,
        Err(why) => {
            let _ = writeln!(err, "convert: {why}\n{USAGE}");
            return 2;
        }
    };
    // Whether the source is foreign, to say what the conversion did (it is read again, under
    // the conversion's own lock; an error here is reported by the conversion).
    let foreign = inspect(job.from).ok().map(|i| !i.native_byte_order);
    let converted = match job.ty {
        Type::U64 => convert::<u64>(&job),
        Type::Reading => convert::<Reading>(&job),
    };
    match converted {
        Ok((n, size)) => {
            let how = match foreign {
                Some(true) => "from the other byte order to this machine's",
                Some(false) => "copied: already in this machine's byte order",
                None => "converted",
            };
            let _ = writeln!(
                out,
                "converted {n} elements of {size} bytes ({how}): {} -> {}",
                job.from.display(),
                job.to.display()
            );
            0
        }
        Err(e) => {
            let _ = writeln!(
                err,
                "convert: {} -> {}: {e} [{:?}]",
                job.from.display(),
                job.to.display(),
                e.kind()
            );
            1
        }
    }
}

/// Converts as a file of `T`; returns the element count and size.
fn convert<T: SwapBytes>(job: &Job<'_>) -> persistence::Result<(usize, usize)> {
    let n = job.opts.convert_foreign::<T>(job.from, job.to)?;
    Ok((n, std::mem::size_of::<T>()))
}
