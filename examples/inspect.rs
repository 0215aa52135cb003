//! `inspect FILE`: prints what a vector file's header records, for a person, like `mdb_stat`.
//!
//! ```text
//! cargo run --example inspect -- trades.bin
//! ```
//!
//! Exit status: 0 when the file is a readable vector file, 1 when it is not (the message
//! says why: not a persistence file, corrupt, locked by a writer, ...), 2 for a usage error.

use std::ffi::OsString;
use std::io::Write;
use std::path::Path;

use persistence::{inspect, FileInfo};

fn main() {
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let code = run(
        &args,
        &mut std::io::stdout().lock(),
        &mut std::io::stderr().lock(),
    );
    std::process::exit(code);
}

/// Inspects the file named by `args` (one path), printing the report to `out` or the error
/// to `err`; returns the exit status.
pub fn run(args: &[OsString], out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let [path] = args else {
        let _ = writeln!(err, "usage: inspect FILE");
        return 2;
    };
    let path = Path::new(path);
    match inspect(path) {
        Ok(info) => match report(path, &info, out) {
            Ok(()) => 0,
            Err(e) => {
                let _ = writeln!(
                    err,
                    "inspect: {}: cannot write the report: {e}",
                    path.display()
                );
                1
            }
        },
        Err(e) => {
            let _ = writeln!(err, "inspect: {}: {e} [{:?}]", path.display(), e.kind());
            1
        }
    }
}

/// This machine's byte order.
pub const ENDIAN: &str = if cfg!(target_endian = "little") {
    "little-endian"
} else {
    "big-endian"
};

/// The other byte order.
const OTHER_ENDIAN: &str = if cfg!(target_endian = "little") {
    "big-endian"
} else {
    "little-endian"
};

/// Writes the report for one file.
pub fn report(path: &Path, info: &FileInfo, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "file              {}", path.display())?;
    writeln!(
        out,
        "format            PERSISTV version {}",
        info.format_version
    )?;
    if info.native_byte_order {
        writeln!(out, "byte order        this machine's ({ENDIAN})")?;
    } else {
        writeln!(
            out,
            "byte order        FOREIGN: {OTHER_ENDIAN}, this machine is {ENDIAN} (numbers below \
             read as {OTHER_ENDIAN}; OpenOptions::convert_foreign converts it)"
        )?;
    }
    writeln!(
        out,
        "application       magic {} version {}",
        Magic(&info.app_magic),
        info.app_version
    )?;
    writeln!(
        out,
        "element           size {} bytes, alignment {}",
        info.elem_size, info.elem_align
    )?;
    if info.elem_fingerprint.is_known() {
        writeln!(
            out,
            "element type      fingerprint {}",
            info.elem_fingerprint
        )?;
    } else {
        writeln!(
            out,
            "element type      no fingerprint (a version-1 file, or a type that names none): \
             size and alignment only"
        )?;
    }
    writeln!(out, "usize width       {} bytes", info.usize_width)?;
    writeln!(
        out,
        "length            {} elements ({} bytes of data, committed)",
        info.len,
        info.data_bytes()
    )?;
    writeln!(out, "capacity          {} elements", info.capacity)?;
    writeln!(out, "file size         {} bytes", info.file_size)?;
    let cow = match info.copy_on_write {
        Some(true) => "copy-on-write (a full disk can turn a store into SIGBUS)",
        Some(false) => "blocks rewritten in place",
        None => "copy-on-write unknown",
    };
    writeln!(
        out,
        "file system       {}, {cow}",
        info.file_system.unwrap_or("unknown")
    )?;
    for (which, slot) in info.slots.iter().enumerate() {
        let name = ["A", "B"][which];
        let state = match (slot.valid, slot.blank) {
            (true, _) if which == info.winner => "valid, current",
            (true, _) => "valid, previous commit",
            (false, true) => "never written",
            (false, false) => "INVALID (checksum fails; numbers untrusted)",
        };
        writeln!(
            out,
            "slot {name}            sequence {}, length {}: {state}",
            slot.sequence, slot.len
        )?;
    }
    Ok(())
}

/// The application magic as text where it is printable ASCII, and always in hex.
struct Magic<'a>(&'a [u8; 8]);

impl std::fmt::Display for Magic<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"")?;
        for &b in self.0 {
            if (b.is_ascii_graphic() || b == b' ') && b != b'"' && b != b'\\' {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "\\x{b:02x}")?;
            }
        }
        f.write_str("\" (")?;
        for (i, b) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            write!(f, "{sep}{b:02x}")?;
        }
        f.write_str(")")
    }
}
