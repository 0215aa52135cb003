//! JSON output, written by hand (no serde): a small value tree and its compact text, as
//! RFC 8259 defines it.

use std::fmt;

/// A JSON value. Every number this tool prints is an unsigned integer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `null`: a fact the library does not know (a file system it cannot name).
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// An unsigned integer, printed exactly (a reader in a language with only `f64`
    /// numbers loses precision above 2^53, as with any JSON).
    Num(u64),
    /// A string, escaped when printed.
    Str(String),
    /// An array.
    Arr(Vec<Value>),
    /// An object, its members in the order given.
    Obj(Vec<(&'static str, Value)>),
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<u64> for Value {
    fn from(n: u64) -> Self {
        Value::Num(n)
    }
}

impl From<u32> for Value {
    fn from(n: u32) -> Self {
        Value::Num(n.into())
    }
}

impl From<usize> for Value {
    fn from(n: usize) -> Self {
        // usize is at most 64 bits on every target the library supports.
        Value::Num(n as u64)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

impl fmt::Display for Value {
    /// The compact JSON text: no whitespace between tokens.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Num(n) => write!(f, "{n}"),
            Value::Str(s) => write_str(f, s),
            Value::Arr(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
            Value::Obj(members) => {
                f.write_str("{")?;
                for (i, (key, value)) in members.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write_str(f, key)?;
                    write!(f, ":{value}")?;
                }
                f.write_str("}")
            }
        }
    }
}

/// Writes `s` as a JSON string: quoted; `"` and `\` escaped; the control characters
/// U+0000 to U+001F escaped (by their short form where JSON has one); everything else, other
/// Unicode included, as it is (JSON text is UTF-8).
fn write_str(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    let mut plain = 0; // start of the run of characters not yet written
    for (i, c) in s.char_indices() {
        let escaped = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if c < ' ' => "",
            _ => continue,
        };
        f.write_str(&s[plain..i])?;
        if escaped.is_empty() {
            write!(f, "\\u{:04x}", u32::from(c))?;
        } else {
            f.write_str(escaped)?;
        }
        plain = i + c.len_utf8();
    }
    f.write_str(&s[plain..])?;
    f.write_str("\"")
}

/// `bytes` as lower-case hex digits, two per byte, no separator: how the JSON output writes
/// byte strings (the application magic).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> String {
        Value::from(s).to_string()
    }

    #[test]
    fn strings_escape_what_json_requires() {
        assert_eq!(text("plain"), r#""plain""#);
        assert_eq!(text(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(text("l1\nl2\r\t\u{8}\u{c}"), r#""l1\nl2\r\t\b\f""#);
        assert_eq!(text("\0\u{1}\u{1f}"), r#""\u0000\u0001\u001f""#);
        // DEL, non-ASCII and '/' need no escape.
        assert_eq!(text("\u{7f}é€/"), "\"\u{7f}é€/\"");
        assert_eq!(text(""), r#""""#);
    }

    #[test]
    fn values_nest() {
        let v = Value::Obj(vec![
            ("n", Value::Num(u64::MAX)),
            ("b", false.into()),
            ("none", Value::from(None::<u32>)),
            (
                "a",
                Value::Arr(vec![1u32.into(), "x".into(), Value::Arr(vec![])]),
            ),
            ("o", Value::Obj(vec![])),
        ]);
        assert_eq!(
            v.to_string(),
            r#"{"n":18446744073709551615,"b":false,"none":null,"a":[1,"x",[]],"o":{}}"#
        );
    }

    #[test]
    fn hex_is_two_digits_a_byte() {
        assert_eq!(hex(b"TR\0\xff"), "545200ff");
        assert_eq!(hex(&[]), "");
    }
}
