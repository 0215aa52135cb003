//! `persistence`: inspect and verify the files of the `persistence` crate (vectors and commit
//! groups), dump and convert its vector files, from the command line.
//!
//! ```text
//! cargo install --path cli
//! persistence inspect trades.bin
//! persistence verify --json *.bin
//! persistence dump prices.bin --type f64 --offset 1000 --count 10
//! persistence convert from-big-endian.bin native.bin --type u64
//! ```
//!
//! This file holds the command line (clap's builder) and runs each command; `report`,
//! `verify`, `typed`, `types` and `json` do the work.

mod json;
mod report;
mod typed;
mod types;
mod verify;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
use persistence::{inspect, Error, FileInfo, OpenOptions};

use crate::json::Value;
use crate::typed::{Convert, Dump, Dumped, Failure};
use crate::verify::Status;

/// Success.
const EXIT_OK: u8 = 0;
/// `inspect`, `dump`, `convert`: a file failed. (`verify` has its own statuses:
/// [`Status::code`].)
const EXIT_FAILED: u8 = 1;

const EXIT_STATUS_HELP: &str = "\
Exit status:
  0  success (verify: every file opens to its newest commit)
  1  inspect, dump, convert: a file failed, the message says why;
     verify: a file opens, but with a warning: a commit slot is damaged (when it
     was the newest, the file opens to the older commit)
  2  usage error (an unknown option, a missing argument)
  3  verify: refused: the library here will not open the file (not a persistence
     file, corrupt, truncated, another byte order or usize width, ...)
  4  verify: could not be read (missing, permission denied, not a regular file,
     an I/O error)
With several files, verify exits with the worst of their statuses.";

/// The command line.
fn cli() -> Command {
    let files = Arg::new("FILE")
        .help("Files of the persistence crate: vectors or commit groups")
        .required(true)
        .num_args(1..)
        .value_parser(value_parser!(PathBuf));
    let json = Arg::new("json")
        .long("json")
        .action(ArgAction::SetTrue)
        .help("Print JSON: one object per file, an array of them for several files");
    let ty = Arg::new("type")
        .long("type")
        .short('t')
        .value_name("T")
        .required(true)
        .value_parser(PossibleValuesParser::new(types::NAMES))
        .help("Element type; its size and alignment must be the file's");
    let magic = Arg::new("magic")
        .long("magic")
        .value_name("MAGIC")
        .value_parser(parse_magic)
        .help(
            "Application magic the file must have: up to 8 bytes of text (padded with NUL\n\
                     bytes) or 0x and 16 hex digits [default: the file's own]",
        );
    let version = Arg::new("version")
        .long("version")
        .value_name("V")
        .value_parser(value_parser!(u32))
        .help("Application version the file must have [default: the file's own]");
    Command::new("persistence")
        .version(env!("CARGO_PKG_VERSION"))
        .about(
            "Inspect and verify the files of the persistence crate (vectors and commit groups),\n\
             dump and convert its vector files",
        )
        .subcommand_required(true)
        .arg_required_else_help(true)
        .after_help(EXIT_STATUS_HELP)
        .subcommand(
            Command::new("inspect")
                .about("Print what each file's header records (read-only; works beside a writer)")
                .long_about(
                    "Print what each file's header records: format, kind (a vector, or a commit\n\
                     group of N columns and its generation), byte order, application magic and\n\
                     version, element size and alignment, usize width, committed length, capacity\n\
                     (a group: one line per column with its type, size and alignment, length and\n\
                     capacity), file size, file system, and both commit slots (a group's with every\n\
                     column's length) with the current one. Read-only, never waits: beside a writer\n\
                     it reads without a lock.",
                )
                .arg(files.clone())
                .arg(json.clone())
                .after_help(
                    "Exit status: 0 when every file was inspected, 1 when any failed (each failure\n\
                     on standard error, or in its JSON object), 2 for a usage error.",
                ),
        )
        .subcommand(
            Command::new("verify")
                .about("Check that each file opens, and to which commit")
                .long_about(
                    "Check that each file opens, and to which commit: the header (format magic,\n\
                     byte order, format version, header checksum, data offset, element size and\n\
                     alignment, usize width), both commit slots (valid, blank or damaged), that the\n\
                     committed length fits the file, and whether the newest slot is damaged so that\n\
                     the file opens to the older commit. A commit group's file: each column's\n\
                     element layout, every column's length, and that every block the commit needs\n\
                     lies in the file.",
                )
                .arg(files)
                .arg(json)
                .after_help(EXIT_STATUS_HELP),
        )
        .subcommand(
            Command::new("dump")
                .about("Print committed elements of a vector file, one per line")
                .long_about(
                    "Print committed elements of a vector file, one per line (floats with the\n\
                     shortest text that reads back exactly). Reads under a shared lock; when a\n\
                     writer holds the file, reads beside it as a live reader (which creates the\n\
                     empty lock file <FILE>-live when it is missing) the last commit at that\n\
                     moment. A commit group's file is refused: `inspect` shows its columns.",
                )
                .arg(
                    Arg::new("FILE")
                        .help("Vector file")
                        .required(true)
                        .value_parser(value_parser!(PathBuf)),
                )
                .arg(ty.clone())
                .arg(
                    Arg::new("offset")
                        .long("offset")
                        .value_name("N")
                        .value_parser(value_parser!(usize))
                        .default_value("0")
                        .help("First element to print"),
                )
                .arg(
                    Arg::new("count")
                        .long("count")
                        .value_name("N")
                        .value_parser(value_parser!(usize))
                        .help("Print at most N elements [default: up to the committed length]"),
                )
                .arg(magic.clone())
                .arg(version.clone())
                .after_help(
                    "Exit status: 0 when the elements were printed, 1 when the file could not be\n\
                     read as T (the message says why), 2 for a usage error.",
                ),
        )
        .subcommand(
            Command::new("convert")
                .about("Convert a vector file of the other byte order to this machine's")
                .long_about(
                    "Convert a vector file written on a machine of the other byte order to this\n\
                     machine's (OpenOptions::convert_foreign), all or nothing: written beside TO,\n\
                     made durable, renamed over it. A file already in this machine's byte order is\n\
                     copied. TO may be FROM. FROM must not be open in any program. A commit\n\
                     group's file is refused (the library converts no group in this version).",
                )
                .arg(
                    Arg::new("FROM")
                        .help("Source vector file")
                        .required(true)
                        .value_parser(value_parser!(PathBuf)),
                )
                .arg(
                    Arg::new("TO")
                        .help("Destination (may be FROM)")
                        .required(true)
                        .value_parser(value_parser!(PathBuf)),
                )
                .arg(ty)
                .arg(magic)
                .arg(version)
                .after_help(
                    "Exit status: 0 when the file was converted, 1 when it was not (the message\n\
                     says why; FROM and TO are as they were), 2 for a usage error.",
                ),
        )
}

/// `--magic`: up to 8 bytes of text, padded with NUL bytes, or `0x` and 16 hex digits.
fn parse_magic(s: &str) -> Result<[u8; 8], String> {
    let mut magic = [0u8; 8];
    if let Some(digits) = s.strip_prefix("0x").filter(|d| d.len() > 8) {
        if digits.len() != 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("0x must be followed by exactly 16 hex digits".into());
        }
        for (i, byte) in magic.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16)
                .map_err(|e| format!("bad hex digits: {e}"))?;
        }
    } else if s.len() > 8 {
        return Err(format!("at most 8 bytes, {:?} has {}", s, s.len()));
    } else {
        magic[..s.len()].copy_from_slice(s.as_bytes());
    }
    Ok(magic)
}

fn main() -> ExitCode {
    let matches = cli().get_matches();
    let mut stdout = io::stdout().lock();
    let code = match matches.subcommand() {
        Some(("inspect", m)) => inspect_cmd(m, &mut stdout),
        Some(("verify", m)) => verify_cmd(m, &mut stdout),
        Some(("dump", m)) => dump_cmd(m, &mut stdout),
        Some(("convert", m)) => convert_cmd(m, &mut stdout),
        // `subcommand_required`: clap has refused the command line already.
        _ => 2,
    };
    ExitCode::from(code)
}

/// The paths of a `FILE...` argument.
fn files(m: &ArgMatches) -> Vec<&Path> {
    m.get_many::<PathBuf>("FILE")
        .into_iter()
        .flatten()
        .map(PathBuf::as_path)
        .collect()
}

/// Reports a failure to write the output (other than a closed pipe, as with `| head`, which
/// ends the output quietly); returns the status to exit with.
fn output_failed(command: &str, e: &io::Error, status: u8) -> u8 {
    if e.kind() == io::ErrorKind::BrokenPipe {
        return status;
    }
    eprintln!("persistence {command}: cannot write the output: {e}");
    EXIT_FAILED
}

/// Prints `values` as JSON: the one object, or an array of them.
fn write_json(mut values: Vec<Value>, out: &mut dyn Write) -> io::Result<()> {
    if values.len() == 1 {
        writeln!(out, "{}", values.remove(0))?;
    } else {
        writeln!(out, "[")?;
        let last = values.len().saturating_sub(1);
        for (i, v) in values.iter().enumerate() {
            writeln!(out, "{v}{}", if i == last { "" } else { "," })?;
        }
        writeln!(out, "]")?;
    }
    out.flush()
}

fn inspect_cmd(m: &ArgMatches, out: &mut dyn Write) -> u8 {
    let paths = files(m);
    let results: Vec<(&Path, Result<FileInfo, Error>)> =
        paths.iter().map(|&p| (p, inspect(p))).collect();
    let status = if results.iter().all(|(_, r)| r.is_ok()) {
        EXIT_OK
    } else {
        EXIT_FAILED
    };
    let written = if m.get_flag("json") {
        write_json(
            results.iter().map(|(p, r)| report::to_json(p, r)).collect(),
            out,
        )
    } else {
        let mut first = true;
        results.iter().try_for_each(|(path, result)| match result {
            Ok(info) => {
                if !first {
                    writeln!(out)?;
                }
                first = false;
                report::write_text(path, info, out)?;
                out.flush()
            }
            Err(e) => {
                eprintln!(
                    "persistence inspect: {}: {e} [{:?}]",
                    path.display(),
                    e.kind()
                );
                Ok(())
            }
        })
    };
    match written {
        Ok(()) => status,
        Err(e) => output_failed("inspect", &e, status),
    }
}

fn verify_cmd(m: &ArgMatches, out: &mut dyn Write) -> u8 {
    let verdicts: Vec<(&Path, verify::Verdict)> = files(m)
        .into_iter()
        .map(|p| (p, verify::verify(p)))
        .collect();
    let status = verdicts
        .iter()
        .map(|(_, v)| v.status())
        .max()
        .unwrap_or(Status::Ok)
        .code();
    let written = if m.get_flag("json") {
        write_json(
            verdicts
                .iter()
                .map(|(p, v)| verify::to_json(p, v))
                .collect(),
            out,
        )
    } else {
        verdicts
            .iter()
            .try_for_each(|(p, v)| verify::write_text(p, v, out))
            .and_then(|()| out.flush())
    };
    match written {
        Ok(()) => status,
        Err(e) => output_failed("verify", &e, status),
    }
}

/// The options a typed command opens `path` with: `--magic` and `--version` where given,
/// else the file's own (from `inspect`), so that nobody needs to know them.
fn typed_options(m: &ArgMatches, path: &Path) -> Result<OpenOptions, Error> {
    let magic = m.get_one::<[u8; 8]>("magic").copied();
    let version = m.get_one::<u32>("version").copied();
    let (magic, version) = match (magic, version) {
        (Some(magic), Some(version)) => (magic, version),
        _ => {
            let info = inspect(path)?;
            (
                magic.unwrap_or(info.app_magic),
                version.unwrap_or(info.app_version),
            )
        }
    };
    Ok(*OpenOptions::new().magic(magic).version(version))
}

/// Refuses a commit group's file for `dump` and `convert`, which read vector files: prints
/// why and what reads a group instead; returns whether it did. A file `inspect` cannot read
/// goes on to the command, whose open reports the error.
fn refuse_group(command: &str, what: &str, path: &Path) -> bool {
    let Ok(info) = inspect(path) else {
        return false;
    };
    if !report::is_group(&info) {
        return false;
    }
    eprintln!(
        "persistence {command}: {what}: a commit group's file ({}), not a vector's \
         [WrongFileKind]",
        report::kind_text(&info)
    );
    eprintln!("persistence {command}: {}", group_hint(command, path));
    true
}

/// What to do instead with a commit group's file.
fn group_hint(command: &str, path: &Path) -> String {
    let instead = if command == "convert" {
        "convert converts vector files; the library converts no commit group in this version"
    } else {
        "dump reads vector files; a group's columns are read with the library's \
         open_group_read_only (or open_group in python/persistence_numpy.py)"
    };
    format!(
        "{instead}; `persistence inspect {}` shows each column's type and length",
        path.display()
    )
}

/// The `--type` given (clap has checked it is one of [`types::NAMES`]).
fn type_name(m: &ArgMatches) -> &str {
    m.get_one::<String>("type").map_or("", String::as_str)
}

/// Prints a library error of a typed command, with a hint where one helps.
fn report_error(command: &str, what: &str, e: &Error, path: &Path, ty: &str) {
    eprintln!("persistence {command}: {what}: {e} [{:?}]", e.kind());
    let hint = match e.kind() {
        persistence::ErrorKind::LayoutMismatch => inspect(path).ok().map(|info| {
            let fits = types::fitting(info.elem_size, info.elem_align);
            let (size, align) = types::layout(ty).unwrap_or_default();
            format!(
                "the file's elements are {} bytes (alignment {}), {ty} is {size} (alignment \
                 {align}); {}",
                info.elem_size,
                info.elem_align,
                if fits.is_empty() {
                    "no primitive type has that layout (a struct's file)".to_owned()
                } else {
                    format!("--type {} would fit", fits.join(" or "))
                }
            )
        }),
        persistence::ErrorKind::WrongFileKind => Some(group_hint(command, path)),
        persistence::ErrorKind::WrongEndianness => Some(
            "the file was written on a machine of the other byte order: `persistence \
             convert FROM TO --type T` converts it"
                .to_owned(),
        ),
        _ => None,
    };
    if let Some(hint) = hint {
        eprintln!("persistence {command}: {hint}");
    }
}

fn dump_cmd(m: &ArgMatches, out: &mut dyn Write) -> u8 {
    let Some(path) = m.get_one::<PathBuf>("FILE").map(PathBuf::as_path) else {
        return 2;
    };
    let ty = type_name(m);
    let what = path.display().to_string();
    if refuse_group("dump", &what, path) {
        return EXIT_FAILED;
    }
    let opts = match typed_options(m, path) {
        Ok(opts) => opts,
        Err(e) => {
            report_error("dump", &what, &e, path, ty);
            return EXIT_FAILED;
        }
    };
    let mut buffered = io::BufWriter::with_capacity(1 << 16, out);
    let job = Dump {
        path,
        opts,
        offset: m.get_one::<usize>("offset").copied().unwrap_or(0),
        count: m.get_one::<usize>("count").copied(),
        out: &mut buffered,
    };
    match types::with_type(ty, job) {
        Some(Ok(Dumped { len, live })) => {
            if live {
                eprintln!(
                    "persistence dump: {what}: a writer holds the file: read beside it as a \
                     live reader, the commit of length {len}"
                );
            }
            EXIT_OK
        }
        Some(Err(Failure::Lib(e))) => {
            report_error("dump", &what, &e, path, ty);
            EXIT_FAILED
        }
        Some(Err(Failure::Write(e))) => output_failed("dump", &e, EXIT_OK),
        None => 2,
    }
}

fn convert_cmd(m: &ArgMatches, out: &mut dyn Write) -> u8 {
    let (Some(from), Some(to)) = (m.get_one::<PathBuf>("FROM"), m.get_one::<PathBuf>("TO")) else {
        return 2;
    };
    let ty = type_name(m);
    let what = format!("{} -> {}", from.display(), to.display());
    if refuse_group("convert", &what, from) {
        return EXIT_FAILED;
    }
    let opts = match typed_options(m, from) {
        Ok(opts) => opts,
        Err(e) => {
            report_error("convert", &what, &e, from, ty);
            return EXIT_FAILED;
        }
    };
    // Whether the source is foreign, to say what the conversion did (the conversion reads it
    // again under its own lock).
    let foreign = inspect(from).ok().map(|i| !i.native_byte_order);
    let Some(converted) = types::with_type(ty, Convert { from, to, opts }) else {
        return 2;
    };
    match converted {
        Ok((n, size)) => {
            let how = match foreign {
                Some(true) => "from the other byte order to this machine's",
                Some(false) => "copied: already in this machine's byte order",
                None => "converted",
            };
            let written = writeln!(
                out,
                "converted {n} elements of {size} bytes ({how}): {what}"
            );
            match written {
                Ok(()) => EXIT_OK,
                Err(e) => output_failed("convert", &e, EXIT_OK),
            }
        }
        Err(e) => {
            report_error("convert", &what, &e, from, ty);
            EXIT_FAILED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        cli().debug_assert();
    }

    #[test]
    fn magic_parses_text_and_hex() {
        assert_eq!(parse_magic("TRADES"), Ok(*b"TRADES\0\0"));
        assert_eq!(parse_magic("ABCDEFGH"), Ok(*b"ABCDEFGH"));
        assert_eq!(parse_magic(""), Ok([0; 8]));
        // Short text starting with 0x is text.
        assert_eq!(parse_magic("0x12"), Ok(*b"0x12\0\0\0\0"));
        assert_eq!(parse_magic("0x545241444553ff00"), Ok(*b"TRADES\xff\0"));
        assert!(parse_magic("ABCDEFGHI").is_err());
        assert!(parse_magic("0x545241444553ff").is_err());
        assert!(parse_magic("0x545241444553ffzz").is_err());
    }
}
