//! The element types `dump` and `convert` know: the integer and float primitives, by their
//! Rust names. The list is written once, in the `primitives!` call below; the names for
//! `--type`, and the dispatch from a name to a generic function, both come from it.

use std::fmt::Debug;

use persistence::{Pod, SwapBytes};

/// What a primitive element can do here: be read from a file (`Pod`), be converted from the
/// other byte order (`SwapBytes`), and be printed (`Debug`: integers as `Display` prints
/// them, floats with the shortest text that reads back to the same value, `1.0`, `1e300`,
/// `NaN`).
pub trait Elem: Pod + SwapBytes + Debug {}
impl<T: Pod + SwapBytes + Debug> Elem for T {}

/// A generic operation run for the type named on the command line, by [`with_type`].
pub trait Job {
    /// What it returns.
    type Out;
    /// Runs it for `T`.
    fn run<T: Elem>(self) -> Self::Out;
}

macro_rules! primitives {
    ($($t:ident)*) => {
        /// The names `--type` accepts, in the order `--help` lists them.
        pub const NAMES: &[&str] = &[$(stringify!($t)),*];

        /// Runs `job` for the type called `name`; `None` when no type has that name.
        pub fn with_type<J: Job>(name: &str, job: J) -> Option<J::Out> {
            match name {
                $(stringify!($t) => Some(job.run::<$t>()),)*
                _ => None,
            }
        }
    };
}

primitives!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize f32 f64);

/// The size and alignment of a type.
struct Layout;

impl Job for Layout {
    type Out = (u64, u64);
    fn run<T: Elem>(self) -> (u64, u64) {
        (
            std::mem::size_of::<T>() as u64,
            std::mem::align_of::<T>() as u64,
        )
    }
}

/// The size and alignment of the type called `name`.
pub fn layout(name: &str) -> Option<(u64, u64)> {
    with_type(name, Layout)
}

/// The names of the types whose size and alignment are these: what `--type` could be for a
/// file of such elements.
pub fn fitting(size: u64, align: u64) -> Vec<&'static str> {
    NAMES
        .iter()
        .copied()
        .filter(|name| layout(name) == Some((size, align)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_dispatches_to_its_type() {
        for name in NAMES {
            let (size, align) = layout(name).expect("a listed name dispatches");
            // The name's digits are its width in bits (usize and isize: this machine's).
            let bits: u64 = match name.trim_start_matches(['u', 'i', 'f']) {
                "size" => usize::BITS.into(),
                digits => digits.parse().expect("a width"),
            };
            assert_eq!(size * 8, bits, "{name}");
            assert!(align <= size, "{name}");
        }
        assert_eq!(layout("u24"), None);
        assert_eq!(layout("U8"), None);
    }

    #[test]
    fn fitting_names_the_types_of_a_layout() {
        assert_eq!(fitting(1, 1), ["u8", "i8"]);
        assert_eq!(fitting(4, 4), ["u32", "i32", "f32"]);
        assert!(fitting(8, 8).contains(&"f64"));
        assert!(fitting(24, 8).is_empty());
    }
}
