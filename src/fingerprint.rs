//! `Fingerprint`: what an element type is, beyond its size and alignment, in 64 bits, computed
//! at compile time (`docs/design.md`, "Element type fingerprint").

use core::fmt;

/// A 64-bit digest of an element type's structure: which primitive it is, or which element
/// and length an array has, or which fields (by name, in order, each by its own fingerprint)
/// a [`pod!`](crate::pod!) struct has. Every [`Pod`](crate::Pod) type has one
/// ([`Pod::FINGERPRINT`](crate::Pod::FINGERPRINT)); a file records its element type's, so
/// that opening an `f32` file as `u32`, or a struct whose fields were swapped, is refused
/// with [`ErrorKind::TypeMismatch`](crate::ErrorKind::TypeMismatch) instead of reading
/// nonsense.
///
/// [`UNKNOWN`](Self::UNKNOWN) checks nothing: it is the fingerprint of a type with a
/// hand-written `Pod` impl that does not name one, of the `bytemuck`/`zerocopy` wrappers,
/// and of every file written before fingerprints existed; such files and types open as
/// before, checked by size and alignment only.
///
/// ```
/// use persistence::{pod, Fingerprint, Pod};
///
/// assert_ne!(u32::FINGERPRINT, f32::FINGERPRINT);
/// assert_ne!(u32::FINGERPRINT, i32::FINGERPRINT);
/// assert_eq!(<[u8; 4]>::FINGERPRINT, Fingerprint::array(u8::FINGERPRINT, 4));
///
/// pod! {
///     pub struct A { pub id: u32, pub value: f32 }
///     pub struct B { pub value: f32, pub id: u32 } // the same fields, swapped
/// }
/// assert_ne!(A::FINGERPRINT, B::FINGERPRINT);
/// assert!(A::FINGERPRINT.is_known());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Fingerprint(u64);

/// FNV-1a 64 continued from `hash` (the same function as the format's checksums).
const fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// FNV-1a 64's offset basis.
const BASIS: u64 = 0xcbf2_9ce4_8422_2325;

const fn fnv_u64(hash: u64, v: u64) -> u64 {
    fnv(hash, &v.to_le_bytes())
}

/// The primitives, each with its fingerprint's name; `primitive_name` looks them up.
const PRIMITIVES: [&str; 14] = [
    "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32",
    "f64",
];

impl Fingerprint {
    /// No fingerprint: the type (or the file) says nothing more than its size and alignment,
    /// and no check is made.
    pub const UNKNOWN: Fingerprint = Fingerprint(0);

    /// A digest, never 0 (which means [`UNKNOWN`](Self::UNKNOWN)).
    const fn digest(h: u64) -> Fingerprint {
        Fingerprint(if h == 0 { 1 } else { h })
    }

    /// The fingerprint of a primitive, from its Rust name (`"u32"`, `"f64"`, ...).
    pub(crate) const fn primitive(name: &str) -> Fingerprint {
        Fingerprint::digest(fnv(fnv(BASIS, b"primitive:"), name.as_bytes()))
    }

    /// A fingerprint that its owner names: for a type with a hand-written
    /// [`Pod`](crate::Pod) impl, or one declared with `bytemuck_pod!`/`zerocopy_pod!`. Two
    /// types with the same name share a fingerprint, so choose a name that says what the
    /// bytes mean (`"myapp::Reading v2"`), and change it when that changes.
    ///
    /// ```
    /// use persistence::{Fingerprint, Pod};
    ///
    /// #[derive(Clone, Copy)]
    /// #[repr(transparent)]
    /// pub struct Meters(f64);
    /// // SAFETY: a `repr(transparent)` f64.
    /// unsafe impl Pod for Meters {
    ///     const FINGERPRINT: Fingerprint = Fingerprint::named("Meters (f64)");
    /// }
    /// assert_ne!(Meters::FINGERPRINT, f64::FINGERPRINT);
    /// ```
    #[must_use]
    pub const fn named(name: &str) -> Fingerprint {
        Fingerprint::digest(fnv(fnv(BASIS, b"named:"), name.as_bytes()))
    }

    /// The fingerprint of `[E; len]` for an element type whose fingerprint is `element`;
    /// unknown when `element` is.
    #[must_use]
    pub const fn array(element: Fingerprint, len: usize) -> Fingerprint {
        if !element.is_known() {
            return Fingerprint::UNKNOWN;
        }
        let h = fnv(BASIS, b"array:");
        Fingerprint::digest(fnv_u64(fnv_u64(h, element.0), len as u64))
    }

    /// The fingerprint of a struct whose fields, in memory order, have these names and
    /// fingerprints (what [`pod!`](crate::pod!) computes); unknown when any field's is.
    /// Field names count: a field's name is its meaning, so renaming one, like swapping two
    /// of the same type, makes old files open only through
    /// [`migrate`](crate::OpenOptions::migrate). The struct's own name does not count
    /// (moving or renaming the type changes nothing in the file).
    #[must_use]
    pub const fn of_struct(fields: &[(&str, Fingerprint)]) -> Fingerprint {
        let mut h = fnv(BASIS, b"struct:");
        h = fnv_u64(h, fields.len() as u64);
        let mut i = 0;
        while i < fields.len() {
            let (name, field) = fields[i];
            if !field.is_known() {
                return Fingerprint::UNKNOWN;
            }
            h = fnv_u64(h, name.len() as u64);
            h = fnv(h, name.as_bytes());
            h = fnv_u64(h, field.0);
            i += 1;
        }
        Fingerprint::digest(h)
    }

    /// Whether this says anything (is not [`UNKNOWN`](Self::UNKNOWN)).
    #[must_use]
    pub const fn is_known(self) -> bool {
        self.0 != 0
    }

    /// The 64 bits, as a file stores them (0 for [`UNKNOWN`](Self::UNKNOWN)).
    #[must_use]
    pub const fn to_u64(self) -> u64 {
        self.0
    }

    /// The fingerprint whose bits are `bits`, as a file stores them.
    #[must_use]
    pub const fn from_u64(bits: u64) -> Fingerprint {
        Fingerprint(bits)
    }

    /// The primitive type this is the fingerprint of (`"f32"`), if it is one's.
    #[must_use]
    pub fn primitive_name(self) -> Option<&'static str> {
        PRIMITIVES
            .iter()
            .find(|name| Fingerprint::primitive(name) == self)
            .copied()
    }
}

impl fmt::Debug for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// `0x` and 16 hex digits, then the primitive's name where it is one's (`0x... (f32)`), or
/// `unknown`.
impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_known() {
            return f.write_str("unknown");
        }
        write!(f, "{:#018x}", self.0)?;
        if let Some(name) = self.primitive_name() {
            write!(f, " ({name})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primitives_arrays_and_structs_are_told_apart() {
        let p = |n| Fingerprint::primitive(n);
        for (i, a) in PRIMITIVES.iter().enumerate() {
            assert!(p(a).is_known());
            assert_eq!(p(a).primitive_name(), Some(*a));
            for b in &PRIMITIVES[i + 1..] {
                assert_ne!(p(a), p(b), "{a} and {b}");
            }
        }
        let u8f = p("u8");
        assert_ne!(Fingerprint::array(u8f, 4), Fingerprint::array(u8f, 5));
        assert_ne!(Fingerprint::array(u8f, 4), Fingerprint::array(p("i8"), 4));
        assert_eq!(
            Fingerprint::array(Fingerprint::UNKNOWN, 4),
            Fingerprint::UNKNOWN
        );
        let s = |f: &[(&str, Fingerprint)]| Fingerprint::of_struct(f);
        let (u, f) = (p("u32"), p("f32"));
        assert_ne!(
            s(&[("a", u), ("b", f)]),
            s(&[("a", f), ("b", u)]),
            "types swapped"
        );
        assert_ne!(
            s(&[("a", u), ("b", u)]),
            s(&[("b", u), ("a", u)]),
            "names swapped"
        );
        assert_ne!(s(&[("ab", u)]), s(&[("a", u), ("b", u)]));
        assert_ne!(s(&[("a", u)]), u);
        assert_eq!(
            s(&[("a", u), ("b", Fingerprint::UNKNOWN)]),
            Fingerprint::UNKNOWN
        );
        assert_ne!(Fingerprint::named("u32"), u);
        assert_eq!(Fingerprint::from_u64(u.to_u64()), u);
    }

    #[test]
    fn display_names_primitives() {
        extern crate std;
        use std::string::ToString;
        assert_eq!(Fingerprint::UNKNOWN.to_string(), "unknown");
        let f = Fingerprint::primitive("f32").to_string();
        assert!(
            f.starts_with("0x") && f.ends_with(" (f32)") && f.len() == 24,
            "{f}"
        );
    }
}
