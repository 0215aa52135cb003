//! `inspect`'s report: the facts of a [`FileInfo`], for a person and as JSON.
//!
//! Both come from one list, [`facts`]: each fact has its lines of text and its JSON members,
//! so a field the library adds to `FileInfo` (a format version 2's type fingerprint, say) is
//! one more entry there, and shows in both outputs.
//!
//! A file is a vector or a commit group (`FileInfo::kind`). A vector's report has one line
//! each for its element, length and capacity; a group's has one line per column instead
//! (type, size and alignment, length, capacity), and its slot lines give every column's
//! length. The JSON has the same members for both: a vector's as they always were, plus
//! `kind`, `generation`, `columns` (one object per column: a vector has one) and each slot's
//! `lens`; for a group the top-level element, length and capacity members are column 0's, as
//! in `FileInfo`.

use std::io::{self, Write};
use std::path::Path;

use persistence::{ColumnInfo, Error, FileInfo, FileKind, Fingerprint, SlotInfo};

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

/// The element type line: the fingerprint, and the primitive's name where it is one's.
pub fn type_text(fp: Fingerprint) -> String {
    if fp.is_known() {
        format!("fingerprint {fp}")
    } else {
        "no fingerprint (a version-1 file, or a type that names none): size and alignment only"
            .to_string()
    }
}

/// Whether the file is a commit group's.
pub fn is_group(info: &FileInfo) -> bool {
    info.kind == FileKind::Group
}

/// Whether the file holds no commit yet (empty, or the remains of an interrupted
/// creation): every open treats it as a file not created yet.
pub fn is_uncreated(info: &FileInfo) -> bool {
    info.kind == FileKind::Uncreated
}

/// The kind as JSON names it: `"vector"`, `"group"` or `"uncreated"`.
pub fn kind_name(info: &FileInfo) -> &'static str {
    if is_group(info) {
        "group"
    } else if is_uncreated(info) {
        "uncreated"
    } else {
        "vector"
    }
}

/// What an uncreated file is, for a person.
pub const UNCREATED_TEXT: &str = "no commit yet: empty, or the remains of a creation a crash \
                                  interrupted (a writer's open creates its file here; readers \
                                  see it empty)";

/// The kind for a person: `vector`, or `commit group of 3 columns, generation 7`.
pub fn kind_text(info: &FileInfo) -> String {
    if is_uncreated(info) {
        return UNCREATED_TEXT.to_owned();
    }
    if is_group(info) {
        let n = info.columns().len();
        format!(
            "commit group of {n} column{}, generation {}",
            if n == 1 { "" } else { "s" },
            info.generation()
        )
    } else {
        "vector".to_owned()
    }
}

/// The lengths a slot stores, one per column of the file.
pub fn slot_lens<'a>(info: &FileInfo, slot: &'a SlotInfo) -> &'a [u64] {
    &slot.lens[..info.columns().len()]
}

/// A slot's length(s) for a person: a vector's `length 1500`; a group's
/// `lengths [1500, 1500, 20]`, column by column.
pub fn lengths_text(info: &FileInfo, slot: &SlotInfo) -> String {
    if is_group(info) {
        let lens: Vec<String> = slot_lens(info, slot).iter().map(u64::to_string).collect();
        format!("lengths [{}]", lens.join(", "))
    } else {
        format!("length {}", slot.len)
    }
}

/// A fingerprint as JSON: `"0x..."` (16 hex digits), or `null` when unknown.
fn fingerprint_json(fp: Fingerprint) -> Value {
    if fp.is_known() {
        format!("{:#018x}", fp.to_u64()).into()
    } else {
        Value::Null
    }
}

/// The primitive a fingerprint is (`"u64"`), or `null`.
fn type_json(fp: Fingerprint) -> Value {
    fp.primitive_name().into()
}

/// Bytes of data a column's committed length covers.
fn column_bytes(c: &ColumnInfo) -> u64 {
    c.len.saturating_mul(c.elem_size)
}

/// One column's JSON object.
fn column_json(c: &ColumnInfo) -> Value {
    Value::Obj(vec![
        ("elem_size", c.elem_size.into()),
        ("elem_align", c.elem_align.into()),
        ("elem_fingerprint", fingerprint_json(c.elem_fingerprint)),
        ("elem_type", type_json(c.elem_fingerprint)),
        ("len", c.len.into()),
        ("data_bytes", column_bytes(c).into()),
        ("capacity", c.capacity.into()),
    ])
}

/// One column's line of a group's report: type, size and alignment, length, capacity.
pub fn column_text(c: &ColumnInfo) -> String {
    let ty = if c.elem_fingerprint.is_known() {
        format!("fingerprint {}", c.elem_fingerprint)
    } else {
        "no fingerprint (a type that names none)".to_owned()
    };
    format!(
        "{ty}, size {} bytes, alignment {}; length {} ({} bytes of data, committed); \
         capacity {} elements",
        c.elem_size,
        c.elem_align,
        c.len,
        column_bytes(c),
        c.capacity
    )
}

/// The labels of a group's column lines.
pub const COLUMN_NAMES: [&str; persistence::MAX_COLUMNS] = [
    "column 0",
    "column 1",
    "column 2",
    "column 3",
    "column 4",
    "column 5",
    "column 6",
    "column 7",
    "column 8",
    "column 9",
    "column 10",
    "column 11",
];

/// The label of column `k`'s line.
pub fn column_name(k: usize) -> &'static str {
    COLUMN_NAMES.get(k).copied().unwrap_or("column ?")
}

/// The element facts: a vector's element and element type lines; a group's column lines.
/// JSON: the top-level element members (a group's: column 0's) and `columns`.
fn element_facts(info: &FileInfo) -> Vec<Fact> {
    let top = vec![
        ("elem_size", info.elem_size.into()),
        ("elem_align", info.elem_align.into()),
    ];
    let top_type = vec![
        ("elem_fingerprint", fingerprint_json(info.elem_fingerprint)),
        ("elem_type", type_json(info.elem_fingerprint)),
    ];
    let columns = (
        "columns",
        Value::Arr(info.columns().iter().map(column_json).collect()),
    );
    if is_group(info) {
        let mut json = top;
        json.extend(top_type);
        json.push(columns);
        return vec![Fact {
            lines: info
                .columns()
                .iter()
                .enumerate()
                .map(|(k, c)| (column_name(k), column_text(c)))
                .collect(),
            json,
        }];
    }
    let mut type_json = top_type;
    type_json.push(columns);
    vec![
        fact(
            "element",
            format!(
                "size {} bytes, alignment {}",
                info.elem_size, info.elem_align
            ),
            top,
        ),
        fact("element type", type_text(info.elem_fingerprint), type_json),
    ]
}

/// The length and capacity facts: a vector's lines (a group's column lines have them); the
/// top-level JSON members (a group's: column 0's).
fn length_facts(info: &FileInfo) -> Vec<Fact> {
    let len_json = vec![
        ("len", info.len.into()),
        ("data_bytes", info.data_bytes().into()),
    ];
    let cap_json = vec![("capacity", info.capacity.into())];
    if is_group(info) {
        let mut json = len_json;
        json.extend(cap_json);
        return vec![Fact {
            lines: Vec::new(),
            json,
        }];
    }
    vec![
        fact(
            "length",
            format!(
                "{} elements ({} bytes of data, committed)",
                info.len,
                info.data_bytes()
            ),
            len_json,
        ),
        fact("capacity", format!("{} elements", info.capacity), cap_json),
    ]
}

/// Every fact `inspect` reports, in the order it prints them.
pub fn facts(info: &FileInfo) -> Vec<Fact> {
    if is_uncreated(info) {
        return vec![
            fact(
                "kind",
                kind_text(info),
                vec![("kind", kind_name(info).into())],
            ),
            fact(
                "file size",
                format!("{} bytes", info.file_size),
                vec![("file_size", info.file_size.into())],
            ),
        ];
    }
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
                (
                    "lens",
                    Value::Arr(slot_lens(info, slot).iter().map(|&l| l.into()).collect()),
                ),
                ("valid", slot.valid.into()),
                ("blank", slot.blank.into()),
                ("state", slot_state(info, which).0.into()),
            ])
        })
        .collect();
    let mut facts = vec![
        fact(
            "format",
            format!("PERSISTV version {}", info.format_version),
            vec![("format_version", info.format_version.into())],
        ),
        fact(
            "kind",
            kind_text(info),
            vec![
                ("kind", kind_name(info).into()),
                ("generation", info.generation().into()),
            ],
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
    ];
    facts.extend(element_facts(info));
    facts.push(fact(
        "usize width",
        format!("{} bytes", info.usize_width),
        vec![("usize_width", info.usize_width.into())],
    ));
    facts.extend(length_facts(info));
    facts.extend([
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
                        "sequence {}, {}: {}",
                        slot.sequence,
                        lengths_text(info, slot),
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
    ]);
    facts
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
