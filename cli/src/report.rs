//! `inspect`'s report: the facts of a [`FileInfo`], for a person and as JSON.
//!
//! Both come from one list, [`facts`]: each fact has its lines of text and its JSON members,
//! so a field the library adds to `FileInfo` (a format version 2's type fingerprint, say) is
//! one more entry there, and shows in both outputs.

use std::io::{self, Write};
use std::path::Path;

use persistence::{Error, FileInfo};

use crate::json::{hex, Value};

/// This machine's byte order.
pub const ENDIAN: &str = if cfg!(target_endian = "little") {
    "little-endian"
} else {
    "big-endian"
};

/// The other byte order.
pub const OTHER_ENDIAN: &str = if cfg!(target_endian = "little") {
    "big-endian"
} else {
    "little-endian"
};

/// The names of slots A and B, as `FileInfo::slots` and `winner` number them.
pub const SLOT_NAMES: [&str; 2] = ["A", "B"];

/// One fact of a file: its lines for a person (a label and the text) and its JSON members.
pub struct Fact {
    /// `(label, text)`, one per line.
    pub lines: Vec<(&'static str, String)>,
    /// The members it adds to the file's JSON object.
    pub json: Vec<(&'static str, Value)>,
}

/// A fact of one line.
fn fact(label: &'static str, text: String, json: Vec<(&'static str, Value)>) -> Fact {
    Fact {
        lines: vec![(label, text)],
        json,
    }
}

/// Every fact `inspect` reports, in the order it prints them.
/// The element type line: the fingerprint, and the primitive's name where it is one's.
pub fn type_text(fp: persistence::Fingerprint) -> String {
    if fp.is_known() {
        format!("fingerprint {fp}")
    } else {
        "no fingerprint (a version-1 file, or a type that names none): size and alignment only"
            .to_string()
    }
}

pub fn facts(info: &FileInfo) -> Vec<Fact> {
    let file_order = if info.native_byte_order {
        ENDIAN
    } else {
        OTHER_ENDIAN
    };
    let order_text = if info.native_byte_order {
        format!("this machine's ({ENDIAN})")
    } else {
        format!(
            "FOREIGN: {OTHER_ENDIAN}, this machine is {ENDIAN} (numbers below read as \
             {OTHER_ENDIAN}; `persistence convert` converts it)"
        )
    };
    let cow = match info.copy_on_write {
        Some(true) => "copy-on-write (a full disk can turn a store into SIGBUS)",
        Some(false) => "blocks rewritten in place",
        None => "copy-on-write unknown",
    };
    let slots = info
        .slots
        .iter()
        .enumerate()
        .map(|(which, slot)| {
            Value::Obj(vec![
                ("name", SLOT_NAMES[which].into()),
                ("sequence", slot.sequence.into()),
                ("len", slot.len.into()),
                ("valid", slot.valid.into()),
                ("blank", slot.blank.into()),
                ("state", slot_state(info, which).0.into()),
            ])
        })
        .collect();
    vec![
        fact(
            "format",
            format!("PERSISTV version {}", info.format_version),
            vec![("format_version", info.format_version.into())],
        ),
        fact(
            "byte order",
            order_text,
            vec![
                ("native_byte_order", info.native_byte_order.into()),
                ("byte_order", file_order.into()),
            ],
        ),
        fact(
            "application",
            format!(
                "magic {} version {}",
                magic_text(&info.app_magic),
                info.app_version
            ),
            vec![
                ("app_magic", hex(&info.app_magic).into()),
                ("app_magic_text", magic_ascii(&info.app_magic).into()),
                ("app_version", info.app_version.into()),
            ],
        ),
        fact(
            "element",
            format!(
                "size {} bytes, alignment {}",
                info.elem_size, info.elem_align
            ),
            vec![
                ("elem_size", info.elem_size.into()),
                ("elem_align", info.elem_align.into()),
            ],
        ),
        fact(
            "element type",
            type_text(info.elem_fingerprint),
            vec![
                (
                    "elem_fingerprint",
                    match info.elem_fingerprint.is_known() {
                        true => format!("{:#018x}", info.elem_fingerprint.to_u64()).into(),
                        false => Value::Null,
                    },
                ),
                (
                    "elem_type",
                    match info.elem_fingerprint.primitive_name() {
                        Some(name) => name.into(),
                        None => Value::Null,
                    },
                ),
            ],
        ),
        fact(
            "usize width",
            format!("{} bytes", info.usize_width),
            vec![("usize_width", info.usize_width.into())],
        ),
        fact(
            "length",
            format!(
                "{} elements ({} bytes of data, committed)",
                info.len,
                info.data_bytes()
            ),
            vec![
                ("len", info.len.into()),
                ("data_bytes", info.data_bytes().into()),
            ],
        ),
        fact(
            "capacity",
            format!("{} elements", info.capacity),
            vec![("capacity", info.capacity.into())],
        ),
        fact(
            "file size",
            format!("{} bytes", info.file_size),
            vec![("file_size", info.file_size.into())],
        ),
        fact(
            "file system",
            format!("{}, {cow}", info.file_system.unwrap_or("unknown")),
            vec![
                ("file_system", info.file_system.into()),
                ("copy_on_write", info.copy_on_write.into()),
            ],
        ),
        Fact {
            lines: (0..2)
                .map(|which| {
                    let slot = &info.slots[which];
                    let label = ["slot A", "slot B"][which];
                    let text = format!(
                        "sequence {}, length {}: {}",
                        slot.sequence,
                        slot.len,
                        slot_state(info, which).1
                    );
                    (label, text)
                })
                .collect(),
            json: vec![
                ("slots", Value::Arr(slots)),
                ("winner", SLOT_NAMES[info.winner].into()),
            ],
        },
    ]
}

/// A slot's state: its JSON name and its text for a person.
pub fn slot_state(info: &FileInfo, which: usize) -> (&'static str, &'static str) {
    let slot = &info.slots[which];
    match (slot.valid, slot.blank) {
        (true, _) if which == info.winner => ("current", "valid, current"),
        (true, _) => ("previous", "valid, previous commit"),
        (false, true) => ("blank", "never written"),
        (false, false) => ("invalid", "INVALID (checksum fails; numbers untrusted)"),
    }
}

/// Writes `inspect`'s report on one file for a person.
pub fn write_text(path: &Path, info: &FileInfo, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{:<18}{}", "file", path.display())?;
    for fact in facts(info) {
        for (label, text) in fact.lines {
            writeln!(out, "{label:<18}{text}")?;
        }
    }
    Ok(())
}

/// `inspect`'s JSON object for one file: `"ok": true` and every fact, or `"ok": false` and
/// the error.
pub fn to_json(path: &Path, result: &Result<FileInfo, Error>) -> Value {
    let mut members = vec![("path", path_value(path))];
    match result {
        Ok(info) => {
            members.push(("ok", true.into()));
            members.extend(facts(info).into_iter().flat_map(|f| f.json));
        }
        Err(e) => {
            members.push(("ok", false.into()));
            members.push(("error", error_json(e)));
        }
    }
    Value::Obj(members)
}

/// A path for JSON (lossy where it is not UTF-8).
pub fn path_value(path: &Path) -> Value {
    path.to_string_lossy().into_owned().into()
}

/// An error as JSON: its kind's name and its message.
pub fn error_json(e: &Error) -> Value {
    Value::Obj(vec![
        ("kind", format!("{:?}", e.kind()).into()),
        ("message", e.to_string().into()),
    ])
}

/// The application magic as text where it is printable ASCII, and always in hex:
/// `"TRADES\x00\x00" (54 52 41 44 45 53 00 00)`.
pub fn magic_text(magic: &[u8; 8]) -> String {
    let mut s = String::from("\"");
    for &b in magic {
        if (b.is_ascii_graphic() || b == b' ') && b != b'"' && b != b'\\' {
            s.push(char::from(b));
        } else {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s.push_str("\" (");
    let bytes: Vec<String> = magic.iter().map(|b| format!("{b:02x}")).collect();
    s.push_str(&bytes.join(" "));
    s.push(')');
    s
}

/// The magic as a string when it is printable ASCII followed by zero or more NUL bytes
/// (which are left off), as `OpenOptions::magic(*b"TRADES\0\0")` writes it; else `None`.
pub fn magic_ascii(magic: &[u8; 8]) -> Option<String> {
    let end = magic.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let text = &magic[..end];
    text.iter()
        .all(|&b| b.is_ascii_graphic() || b == b' ')
        .then(|| text.iter().map(|&b| char::from(b)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_is_shown_as_text_and_hex() {
        assert_eq!(
            magic_text(b"TRADES\0\0"),
            r#""TRADES\x00\x00" (54 52 41 44 45 53 00 00)"#
        );
        assert_eq!(
            magic_text(b"a\"\\ \xff\x01bc"),
            r#""a\x22\x5c \xff\x01bc" (61 22 5c 20 ff 01 62 63)"#
        );
    }

    #[test]
    fn magic_ascii_drops_trailing_nuls_only() {
        assert_eq!(magic_ascii(b"TRADES\0\0").as_deref(), Some("TRADES"));
        assert_eq!(magic_ascii(b"ABCDEFGH").as_deref(), Some("ABCDEFGH"));
        assert_eq!(magic_ascii(&[0; 8]).as_deref(), Some(""));
        assert_eq!(magic_ascii(b"AB\0CD\0\0\0"), None);
        assert_eq!(magic_ascii(b"AB\xffCD\0\0\0"), None);
    }
}
