//! `verify`: whether this machine's library opens a file, and to which commit.
//!
//! `persistence::inspect` reads and validates the header exactly as `open` does (format
//! magic, byte order, format version, header checksum, data offset, element size and
//! alignment, a valid commit slot whose length fits the file); on top of what it returns,
//! this judges what a person needs to know: a foreign byte order or `usize` width (every
//! open here refuses those), an element layout no type has, a damaged commit slot, and above
//! all whether the damaged slot is the newest one, so that the file opens to the older
//! commit.
//!
//! A commit group's file gets the same checks, column by column where a vector has one
//! element: each column's element layout, every column's length in each slot and in the
//! commit it opens to, and the size check says what the file holds of each column (`inspect`
//! has checked that every block the commit needs lies in the file, aligned, and overlaps no
//! other).

use std::io::{self, Write};
use std::path::Path;

use persistence::{inspect, Error, ErrorKind, FileInfo};

use crate::json::Value;
use crate::report::{
    column_name, error_json, is_group, kind_name, kind_text, lengths_text, path_value, slot_lens,
    ENDIAN, OTHER_ENDIAN, SLOT_NAMES,
};

/// How a check, and so a file, came out; ordered from best to worst, so a file's status is
/// the worst of its checks' and a run's the worst of its files'.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Opens to its newest commit.
    Ok,
    /// Opens, but something is damaged: a commit slot (when the newest, the file opens to the
    /// older commit).
    Warning,
    /// The library here refuses the file: not a persistence file, corrupt, another byte order
    /// or `usize` width, ...
    Refused,
    /// The file could not be read: missing, no permission, not a regular file, an I/O error.
    Unreadable,
}

impl Status {
    /// The exit status (`main.rs` and the README document them).
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Refused => 3,
            Status::Unreadable => 4,
        }
    }

    /// The name JSON gives it.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Refused => "refused",
            Status::Unreadable => "unreadable",
        }
    }

    /// How the text report marks a check of this status.
    fn mark(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "WARN",
            Status::Refused | Status::Unreadable => "FAIL",
        }
    }

    /// The status of a file that `inspect` failed on with this kind.
    fn of_error(kind: ErrorKind) -> Status {
        match kind {
            ErrorKind::NotFound
            | ErrorKind::PermissionDenied
            | ErrorKind::NotARegularFile
            | ErrorKind::InvalidPath
            | ErrorKind::Locked
            | ErrorKind::Io => Status::Unreadable,
            _ => Status::Refused,
        }
    }
}

/// One check and what it found.
pub struct Check {
    /// What was checked: `header`, `slot A`, `commit`, ...
    pub name: &'static str,
    /// How it came out.
    pub status: Status,
    /// What was found, for a person.
    pub message: String,
}

/// The outcome for one file.
pub struct Verdict {
    /// Every check made, in order.
    pub checks: Vec<Check>,
    /// What `inspect` returned.
    pub result: Result<FileInfo, Error>,
    /// Whether the slot that would have won by its (untrusted) sequence number is damaged, so
    /// that the file opens to the older commit.
    pub newest_damaged: bool,
}

impl Verdict {
    /// The file's status: the worst of its checks'.
    pub fn status(&self) -> Status {
        self.checks
            .iter()
            .map(|c| c.status)
            .max()
            .unwrap_or(Status::Ok)
    }
}

/// Verifies the file at `path`.
pub fn verify(path: &Path) -> Verdict {
    let result = inspect(path);
    let mut newest_damaged = false;
    let checks = match &result {
        Err(e) => vec![Check {
            name: "open",
            status: Status::of_error(e.kind()),
            message: format!("{e} [{:?}]", e.kind()),
        }],
        Ok(info) => {
            let (checks, newest) = checks(info);
            newest_damaged = newest;
            checks
        }
    };
    Verdict {
        checks,
        result,
        newest_damaged,
    }
}

/// The checks of a file `inspect` read; and whether its newest slot is damaged.
fn checks(info: &FileInfo) -> (Vec<Check>, bool) {
    let check = |name, status, message| Check {
        name,
        status,
        message,
    };
    if crate::report::is_uncreated(info) {
        // The library's one rule: such a file never held a commit, so nothing is lost.
        return (
            vec![check(
                "header",
                Status::Ok,
                format!(
                    "{} ({} bytes)",
                    crate::report::UNCREATED_TEXT,
                    info.file_size
                ),
            )],
            false,
        );
    }
    let mut checks = vec![check(
        "header",
        Status::Ok,
        if is_group(info) {
            format!(
                "PERSISTV format version {}, {}, header checksum valid, data in blocks \
                 from byte 2097152 (2 MiB)",
                info.format_version,
                kind_text(info)
            )
        } else {
            format!(
                "PERSISTV format version {}, header checksum valid, data at byte 4096",
                info.format_version
            )
        },
    )];
    checks.push(if info.native_byte_order {
        check(
            "byte order",
            Status::Ok,
            format!("this machine's ({ENDIAN})"),
        )
    } else {
        check(
            "byte order",
            Status::Refused,
            format!(
                "{OTHER_ENDIAN}, this machine is {ENDIAN}: open refuses it here \
                 (WrongEndianness); `persistence convert` converts it"
            ),
        )
    });
    let usize_here = std::mem::size_of::<usize>() as u32;
    checks.push(if info.usize_width == usize_here {
        check(
            "usize width",
            Status::Ok,
            format!("{} bytes, as this machine's", info.usize_width),
        )
    } else {
        check(
            "usize width",
            Status::Refused,
            format!(
                "{} bytes, this machine's is {usize_here}: open refuses it here \
                 (LayoutMismatch)",
                info.usize_width
            ),
        )
    });
    // `inspect` checked each size (not 0) and alignment (a power of two up to 4096); a Rust
    // type's size is a multiple of its alignment, so another column fits no type.
    for (k, c) in info.columns().iter().enumerate() {
        let name = if is_group(info) {
            column_name(k)
        } else {
            "element"
        };
        checks.push(if c.elem_size.checked_rem(c.elem_align) == Some(0) {
            check(
                name,
                Status::Ok,
                format!("size {} bytes, alignment {}", c.elem_size, c.elem_align),
            )
        } else {
            check(
                name,
                Status::Refused,
                format!(
                    "size {} bytes is not a multiple of the alignment {}: no type has that \
                     layout, so every open refuses it (LayoutMismatch)",
                    c.elem_size, c.elem_align
                ),
            )
        });
    }

    let current = info.slots[info.winner];
    let mut newest_damaged = false;
    for (which, slot) in info.slots.iter().enumerate() {
        let name = ["slot A", "slot B"][which];
        checks.push(if slot.valid {
            let role = if which == info.winner {
                "current"
            } else {
                "previous commit"
            };
            check(
                name,
                Status::Ok,
                format!(
                    "valid, {role}: sequence {}, {}",
                    slot.sequence,
                    lengths_text(info, slot)
                ),
            )
        } else if slot.blank {
            check(name, Status::Ok, "never written (blank)".to_owned())
        } else {
            // Its numbers are untrusted; its sequence still says whether it was written
            // after the current commit (a torn or damaged newest commit) or before it.
            let newer = slot.sequence > current.sequence;
            newest_damaged |= newer;
            let which_commit = if newer {
                "it would have been the newest commit"
            } else {
                "an older commit's slot; the current commit is not affected"
            };
            check(
                name,
                Status::Warning,
                format!(
                    "DAMAGED: checksum fails (stored sequence {}, {}, untrusted): \
                     {which_commit}",
                    slot.sequence,
                    lengths_text(info, slot)
                ),
            )
        });
    }
    let winner = if is_group(info) {
        format!(
            "slot {}, generation {}",
            SLOT_NAMES[info.winner],
            info.generation()
        )
    } else {
        format!("slot {}", SLOT_NAMES[info.winner])
    };
    let lengths = lengths_text(info, &current);
    checks.push(if newest_damaged {
        check(
            "commit",
            Status::Warning,
            format!(
                "the newest slot is damaged: opens to the older commit {} ({winner}), \
                 {lengths}",
                current.sequence
            ),
        )
    } else {
        check(
            "commit",
            Status::Ok,
            format!("opens to commit {} ({winner}), {lengths}", current.sequence),
        )
    });

    checks.push(check("size", Status::Ok, size_text(info)));
    (checks, newest_damaged)
}

/// The size check's message: what the file holds. `inspect` checked that the committed data
/// fits (a vector's after the header; each block a group's commit needs, in the file).
fn size_text(info: &FileInfo) -> String {
    if is_group(info) {
        let capacities: Vec<String> = info
            .columns()
            .iter()
            .enumerate()
            .map(|(k, c)| format!("{} {}", column_name(k), c.capacity))
            .collect();
        return format!(
            "{} bytes: holds every block the commit needs (aligned, disjoint); capacity in \
             the committed blocks, in elements: {}",
            info.file_size,
            capacities.join(", ")
        );
    }
    let data_end = 4096 + info.data_bytes();
    let spare = (info.file_size.saturating_sub(4096))
        .saturating_sub(info.capacity.saturating_mul(info.elem_size));
    format!(
        "{} bytes: the committed data ends at byte {data_end}; room for {} elements \
         (capacity){}",
        info.file_size,
        info.capacity,
        if spare == 0 {
            String::new()
        } else {
            format!(", then {spare} bytes too few for another")
        }
    )
}

/// Writes the report on one file for a person: `PATH: STATUS`, then one line per check.
pub fn write_text(path: &Path, verdict: &Verdict, out: &mut dyn Write) -> io::Result<()> {
    let status = verdict.status();
    writeln!(
        out,
        "{}: {}",
        path.display(),
        status.name().to_ascii_uppercase()
    )?;
    for c in &verdict.checks {
        writeln!(out, "  {:<5} {:<12} {}", c.status.mark(), c.name, c.message)?;
    }
    Ok(())
}

/// The JSON object for one file.
pub fn to_json(path: &Path, verdict: &Verdict) -> Value {
    let status = verdict.status();
    let checks = verdict
        .checks
        .iter()
        .map(|c| {
            Value::Obj(vec![
                ("name", c.name.into()),
                ("status", c.status.name().into()),
                ("message", c.message.clone().into()),
            ])
        })
        .collect();
    let (opens_to, error) = match &verdict.result {
        Ok(info) if crate::report::is_uncreated(info) => (Value::Null, Value::Null),
        Ok(info) => {
            let current = info.current();
            let commit = Value::Obj(vec![
                ("slot", SLOT_NAMES[info.winner].into()),
                ("sequence", current.sequence.into()),
                ("len", current.len.into()),
                (
                    "lens",
                    Value::Arr(slot_lens(info, current).iter().map(|&l| l.into()).collect()),
                ),
                ("generation", info.generation().into()),
            ]);
            (commit, Value::Null)
        }
        Err(e) => (Value::Null, error_json(e)),
    };
    let kind = match &verdict.result {
        Ok(info) => kind_name(info).into(),
        Err(_) => Value::Null,
    };
    Value::Obj(vec![
        ("path", path_value(path)),
        ("kind", kind),
        ("status", status.name().into()),
        ("exit_status", u32::from(status.code()).into()),
        ("newest_slot_damaged", verdict.newest_damaged.into()),
        ("opens_to", opens_to),
        ("checks", Value::Arr(checks)),
        ("error", error),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_order_and_codes() {
        let all = [
            Status::Ok,
            Status::Warning,
            Status::Refused,
            Status::Unreadable,
        ];
        assert!(all.windows(2).all(|w| w[0] < w[1]));
        let codes: Vec<u8> = all.iter().map(|s| s.code()).collect();
        // 2 is clap's usage error, never a verdict.
        assert_eq!(codes, [0, 1, 3, 4]);
    }

    #[test]
    fn errors_are_unreadable_or_refused() {
        assert_eq!(Status::of_error(ErrorKind::NotFound), Status::Unreadable);
        assert_eq!(
            Status::of_error(ErrorKind::NotARegularFile),
            Status::Unreadable
        );
        assert_eq!(Status::of_error(ErrorKind::BadMagic), Status::Refused);
        assert_eq!(Status::of_error(ErrorKind::Corrupt), Status::Refused);
        assert_eq!(
            Status::of_error(ErrorKind::UnsupportedFormatVersion),
            Status::Refused
        );
    }
}
