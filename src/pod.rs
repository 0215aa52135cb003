//! The element contract: `unsafe trait Pod` and the `pod!` macro.

#![allow(unsafe_code)]

/// Plain old data: a type whose every bit pattern is a valid value.
///
/// A file's bytes can be anything (another program, a disk error, an attacker may have put
/// them there), and [`MmapedVec<T>`](crate::MmapedVec) hands those bytes out as `&[T]`. This
/// bound is what makes that sound.
///
/// Implemented for every integer and float primitive and for `[T; N]` where `T: Pod`; not for
/// `bool` or `char` (not every bit pattern is valid), nor for references or pointers. Declare
/// your own record types with [`pod!`](crate::pod!), which proves the contract at compile time.
///
/// # Safety
///
/// Implementing `Pod` for `T` promises that:
///
/// * every bit pattern of `size_of::<T>()` bytes is a valid `T`;
/// * `T` has no padding bytes (so writing a `T` writes every byte it covers);
/// * `T` holds no pointers or references (their targets would not survive a restart);
/// * `align_of::<T>() <= 4096` (element data starts 4096 bytes into the file).
///
/// A zero-sized `Pod` type breaks nothing, but no file can store it: `MmapedVec` and the
/// other typed views refuse it at compile time (as they refuse an alignment above 4096,
/// whatever an `impl` claims).
pub unsafe trait Pod: Copy + 'static {}

macro_rules! impl_pod {
    ($($t:ty),* $(,)?) => {
        $(
            // SAFETY: a primitive integer or float: every bit pattern is a value, no padding,
            // no pointers, alignment at most 16.
            unsafe impl Pod for $t {}
        )*
    };
}

impl_pod!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

// SAFETY: an array of `Pod` has no padding between elements (size is a multiple of alignment),
// every bit pattern of it is an array of valid `T`, and its alignment is `T`'s.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {}

/// Declares `#[repr(C)]` structs and implements [`Pod`](crate::Pod) for them, after proving at
/// compile time that every field is `Pod` and that the struct has no padding.
///
/// ```
/// persistence::pod! {
///     /// A sample, 16 bytes, no padding.
///     #[derive(Debug, PartialEq, Default)]
///     pub struct Sample {
///         pub time_ns: u64,
///         pub value: f32,
///         pub channel: u16,
///         pub flags: u16,
///     }
/// }
/// let s = Sample { time_ns: 1, value: 2.0, channel: 3, flags: 0 };
/// assert_eq!(core::mem::size_of::<Sample>(), 16);
/// # let _ = s;
/// ```
///
/// A struct with padding is refused (`u8` then `u32` leaves 3 padding bytes):
///
/// ```compile_fail
/// persistence::pod! {
///     pub struct Padded { pub a: u8, pub b: u32 }
/// }
/// ```
///
/// So is a field that is not `Pod` (not every byte is a valid `bool`):
///
/// ```compile_fail
/// persistence::pod! {
///     pub struct Flagged { pub a: [u8; 7], pub flag: bool }
/// }
/// ```
///
/// And a reference, which would not survive a restart:
///
/// ```compile_fail
/// persistence::pod! {
///     pub struct Pointing { pub a: &'static u64 }
/// }
/// ```
#[macro_export]
macro_rules! pod {
    ($(
        $(#[$attr:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$fattr:meta])* $fvis:vis $field:ident : $fty:ty ),* $(,)?
        }
    )*) => {$(
        $(#[$attr])*
        #[repr(C)]
        #[derive(Clone, Copy)]
        $vis struct $name {
            $( $(#[$fattr])* $fvis $field : $fty ),*
        }

        const _: () = {
            $( $crate::__private::static_assertions::assert_impl_all!($fty: $crate::Pod); )*
            // No padding: the struct is exactly as large as its fields together.
            $crate::__private::static_assertions::const_assert_eq!(
                ::core::mem::size_of::<$name>(),
                0 $( + ::core::mem::size_of::<$fty>() )*
            );
            $crate::__private::static_assertions::const_assert!(
                ::core::mem::align_of::<$name>() <= $crate::__private::MAX_ALIGN
            );
        };

        // SAFETY: `#[repr(C)]`, every field is `Pod` (asserted above), and the size equals
        // the sum of the field sizes (asserted above), so there is no padding and every bit
        // pattern is valid; alignment is that of a `Pod` field, asserted at most 4096.
        #[allow(unsafe_code)]
        unsafe impl $crate::Pod for $name {}
    )*};
}

#[cfg(test)]
mod tests {
    use super::Pod;

    fn is_pod<T: Pod>() {}

    crate::pod! {
        /// Used to check the macro inside the crate.
        #[derive(Debug, PartialEq)]
        struct Rec {
            a: u64,
            b: [u16; 4],
        }
        struct Two { x: f64 }
    }

    #[test]
    fn primitives_arrays_and_records_are_pod() {
        is_pod::<u8>();
        is_pod::<f64>();
        is_pod::<[[u32; 3]; 2]>();
        is_pod::<Rec>();
        is_pod::<Two>();
        let r = Rec { a: 1, b: [2; 4] };
        assert_eq!(r, Rec { a: 1, b: [2; 4] });
        assert_eq!(Two { x: 1.5 }.x, 1.5);
    }
}
