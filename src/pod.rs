//! The element contract: `unsafe trait Pod` and the `pod!` macro.

#![allow(unsafe_code)]

use crate::fingerprint::Fingerprint;

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
/// whatever an `impl` claims), each with a message that says so:
///
/// ```compile_fail,E0080
/// // error[E0080]: evaluation panicked: persistence: the element type is zero-sized; a file
/// // cannot store it
/// #[derive(Clone, Copy)]
/// struct Nothing;
/// // SAFETY: no bytes, so every bit pattern is valid and there is no padding.
/// unsafe impl persistence::Pod for Nothing {}
/// let _ = persistence::MmapedVec::<Nothing>::open("nothing.bin");
/// ```
///
/// ```compile_fail,E0080
/// // error[E0080]: evaluation panicked: persistence: the element type is aligned to more than
/// // 4096 bytes; a persistence file allows at most 4096 (its element data starts at byte 4096)
/// #[derive(Clone, Copy)]
/// #[repr(C, align(8192))]
/// struct Page([u8; 8192]);
/// // SAFETY: bytes only, no padding (its size is its alignment); the alignment is the lie.
/// unsafe impl persistence::Pod for Page {}
/// let _ = persistence::MmapedSlice::<Page>::open("page.bin");
/// ```
///
/// The same with 4096, the largest alignment allowed, compiles:
///
/// ```no_run
/// #[derive(Clone, Copy)]
/// #[repr(C, align(4096))]
/// struct Page([u8; 4096]);
/// // SAFETY: bytes only, no padding (its size is its alignment), alignment 4096.
/// unsafe impl persistence::Pod for Page {}
/// let _ = persistence::MmapedSlice::<Page>::open("page.bin");
/// ```
pub unsafe trait Pod: Copy + 'static {
    /// What the type is, beyond its size and alignment: new files record it, and opening a
    /// file whose element type has another one is
    /// [`ErrorKind::TypeMismatch`](crate::ErrorKind::TypeMismatch). Every primitive has its
    /// own (`u32`, `i32` and `f32` differ), arrays derive theirs from their element and
    /// length, and [`pod!`](crate::pod!) from each field's name and fingerprint, in order.
    /// The default, [`Fingerprint::UNKNOWN`], checks nothing; a hand-written impl may name
    /// one with [`Fingerprint::named`]. Not part of the safety contract: a wrong one can only
    /// refuse a file or let a file of another type open, never cause undefined behaviour.
    const FINGERPRINT: Fingerprint = Fingerprint::UNKNOWN;
}

/// Refuses, at compile time, an element type that no file can store: zero-sized, or aligned
/// to more than 4096 (element data starts at byte 4096), whatever its `Pod` impl claims.
/// Every typed open calls it (through `OpenOptions`), so that the error names the type where
/// it is used.
#[inline(always)]
pub(crate) fn assert_storable<T: Pod>() {
    struct Storable<T>(core::marker::PhantomData<T>);
    impl<T> Storable<T> {
        const OK: () = {
            assert!(
                core::mem::size_of::<T>() > 0,
                "persistence: the element type is zero-sized; a file cannot store it"
            );
            assert!(
                core::mem::align_of::<T>() <= crate::format::MAX_ALIGN,
                "persistence: the element type is aligned to more than 4096 bytes; a \
                 persistence file allows at most 4096 (its element data starts at byte 4096)"
            );
        };
    }
    #[allow(clippy::let_unit_value)]
    let () = Storable::<T>::OK;
}

macro_rules! impl_pod {
    ($($t:ident),* $(,)?) => {
        $(
            // SAFETY: a primitive integer or float: every bit pattern is a value, no padding,
            // no pointers, alignment at most 16.
            unsafe impl Pod for $t {
                const FINGERPRINT: Fingerprint = Fingerprint::primitive(stringify!($t));
            }
        )*
    };
}

impl_pod!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64);

// SAFETY: an array of `Pod` has no padding between elements (size is a multiple of alignment),
// every bit pattern of it is an array of valid `T`, and its alignment is `T`'s.
unsafe impl<T: Pod, const N: usize> Pod for [T; N] {
    const FINGERPRINT: Fingerprint = Fingerprint::array(T::FINGERPRINT, N);
}

/// Reverses the byte order of every integer and float in a value: what turns an element
/// written on a machine of the other byte order (big-endian against little-endian) into this
/// machine's, and back. [`OpenOptions::convert_foreign`](crate::OpenOptions::convert_foreign)
/// uses it.
///
/// Implemented for every integer and float primitive (a float's bits are swapped as its
/// integer's would be; `u8` and `i8` stay as they are) and for `[T; N]`, element by element,
/// so a byte array stays as it is. [`pod!`](crate::pod!) implements it for each struct it
/// declares, field by field. For a type with a hand-written `Pod` impl, implement it yourself
/// the same way: every field swapped by its own `SwapBytes`.
///
/// ```
/// use persistence::{pod, SwapBytes};
///
/// assert_eq!(0x0102_0304u32.swap_bytes(), 0x0403_0201);
/// assert_eq!(SwapBytes::swap_bytes(1.5f64).swap_bytes(), 1.5);
/// assert_eq!(SwapBytes::swap_bytes([0x0102u16, 0x0304]), [0x0201, 0x0403]);
///
/// pod! {
///     #[derive(Debug, PartialEq)]
///     pub struct Reading { pub time: u64, pub value: f32, pub sensor: u16, pub tag: [u8; 2] }
/// }
/// let r = Reading { time: 1, value: 2.0, sensor: 0x0102, tag: *b"ok" };
/// let swapped = r.swap_bytes();
/// assert_eq!(swapped.time, 1u64.swap_bytes());
/// assert_eq!(swapped.sensor, 0x0201);
/// assert_eq!(swapped.tag, *b"ok"); // bytes have no byte order
/// assert_eq!(swapped.swap_bytes(), r);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` does not implement `persistence::SwapBytes`",
    label = "no `SwapBytes` for this type",
    note = "`pod!` implements `SwapBytes` field by field, so every field needs it: integers, \
            floats, arrays of them and `pod!` structs have it (`bool`, `char` and references \
            are not `Pod` at all); a type with a hand-written `Pod` impl needs a hand-written \
            `SwapBytes` impl too (swapping each of its fields)"
)]
pub trait SwapBytes: Pod {
    /// The same value with the bytes of every integer and float in it reversed.
    #[must_use]
    fn swap_bytes(self) -> Self;
}

macro_rules! impl_swap_bytes {
    ($($t:ty),* $(,)?) => {
        $(
            impl SwapBytes for $t {
                #[inline]
                fn swap_bytes(self) -> Self {
                    <$t>::swap_bytes(self) // the inherent method
                }
            }
        )*
    };
}

impl_swap_bytes!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl SwapBytes for f32 {
    #[inline]
    fn swap_bytes(self) -> Self {
        f32::from_bits(self.to_bits().swap_bytes())
    }
}

impl SwapBytes for f64 {
    #[inline]
    fn swap_bytes(self) -> Self {
        f64::from_bits(self.to_bits().swap_bytes())
    }
}

impl<T: SwapBytes, const N: usize> SwapBytes for [T; N] {
    #[inline]
    fn swap_bytes(mut self) -> Self {
        for x in &mut self {
            *x = x.swap_bytes();
        }
        self
    }
}

/// Declares `#[repr(C)]` structs and implements [`Pod`](crate::Pod) for them, after proving at
/// compile time that every field is `Pod` and that the struct has no padding, with a
/// [fingerprint](crate::Fingerprint::of_struct) of each field's name and type in order (so a
/// file of another struct is refused, even one with the same fields swapped); and implements
/// [`SwapBytes`](crate::SwapBytes) for them, field by field (so that a file written on a
/// machine of the other byte order can be converted).
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
/// Attributes pass through (`derive`s, docs, `repr(align(N))`, another crate's derives).
/// Each check fails to compile with a message that says what is wrong. A struct with
/// padding (`u8` then `u32` leaves 3 padding bytes):
///
/// ```compile_fail,E0080
/// // error[E0080]: evaluation panicked: pod!: `Padded` has padding bytes (it is larger than
/// // its fields together); reorder the fields (largest alignment first) or add explicit
/// // padding fields
/// persistence::pod! {
///     pub struct Padded { pub a: u8, pub b: u32 }
/// }
/// ```
///
/// An alignment above 4096, where element data starts in the file:
///
/// ```compile_fail,E0080
/// // error[E0080]: evaluation panicked: pod!: `Aligned` is aligned to more than 4096 bytes; a
/// // persistence file allows at most 4096 (its element data starts at byte 4096)
/// persistence::pod! {
///     #[repr(align(8192))]
///     pub struct Aligned { pub a: u64 }
/// }
/// ```
///
/// (`#[repr(align(4096))]` compiles, and then the struct is not padded only if its fields
/// fill 4096 bytes:)
///
/// ```
/// persistence::pod! {
///     #[repr(align(4096))]
///     pub struct Page { pub bytes: [u8; 4096] }
/// }
/// ```
///
/// A field that is not `Pod` (not every byte is a valid `bool`):
///
/// ```compile_fail,E0277
/// // error[E0277]: the trait bound `bool: Pod` is not satisfied
/// persistence::pod! {
///     pub struct Flagged { pub a: [u8; 7], pub flag: bool }
/// }
/// ```
///
/// And a reference, which would not survive a restart:
///
/// ```compile_fail,E0277
/// // error[E0277]: the trait bound `&'static u64: Pod` is not satisfied
/// persistence::pod! {
///     pub struct Pointing { pub a: &'static u64 }
/// }
/// ```
///
/// Every field must also implement [`SwapBytes`](crate::SwapBytes). Primitives, arrays and
/// `pod!` structs do; a type with a hand-written `Pod` impl does not until you write its
/// `SwapBytes` impl too. Without it the error says so: "`Meters` does not implement
/// `persistence::SwapBytes`", with a note on what to do:
///
/// ```compile_fail
/// #[derive(Clone, Copy)]
/// #[repr(transparent)]
/// pub struct Meters(f64);
/// // SAFETY: a `repr(transparent)` f64.
/// unsafe impl persistence::Pod for Meters {}
///
/// persistence::pod! {
///     pub struct Leg { pub id: u64, pub length: Meters }
/// }
/// ```
///
/// With the impl, it compiles:
///
/// ```
/// #[derive(Clone, Copy)]
/// #[repr(transparent)]
/// pub struct Meters(f64);
/// // SAFETY: a `repr(transparent)` f64.
/// unsafe impl persistence::Pod for Meters {}
/// impl persistence::SwapBytes for Meters {
///     fn swap_bytes(self) -> Self {
///         Meters(persistence::SwapBytes::swap_bytes(self.0))
///     }
/// }
///
/// persistence::pod! {
///     pub struct Leg { pub id: u64, pub length: Meters }
/// }
/// # let _ = Leg { id: 1, length: Meters(2.0) };
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
        };
        const _: () = ::core::assert!(
            ::core::mem::align_of::<$name>() <= $crate::__private::MAX_ALIGN,
            ::core::concat!(
                "pod!: `", ::core::stringify!($name), "` is aligned to more than 4096 bytes; ",
                "a persistence file allows at most 4096 (its element data starts at byte 4096)"
            )
        );
        // No padding: the struct is exactly as large as its fields together. (Not checked
        // when the alignment is refused above, which pads the struct too: one error, the
        // one that says why.)
        const _: () = ::core::assert!(
            ::core::mem::align_of::<$name>() > $crate::__private::MAX_ALIGN
                || ::core::mem::size_of::<$name>() == 0 $( + ::core::mem::size_of::<$fty>() )*,
            ::core::concat!(
                "pod!: `", ::core::stringify!($name), "` has padding bytes (it is larger than ",
                "its fields together); reorder the fields (largest alignment first) or add ",
                "explicit padding fields"
            )
        );

        // SAFETY: `#[repr(C)]`, every field is `Pod` (asserted above), and the size equals
        // the sum of the field sizes (asserted above), so there is no padding and every bit
        // pattern is valid; alignment is that of a `Pod` field, asserted at most 4096.
        #[allow(unsafe_code)]
        unsafe impl $crate::Pod for $name {
            const FINGERPRINT: $crate::Fingerprint = $crate::Fingerprint::of_struct(&[
                $( (::core::stringify!($field), <$fty as $crate::Pod>::FINGERPRINT) ),*
            ]);
        }

        impl $crate::SwapBytes for $name {
            #[inline]
            fn swap_bytes(self) -> Self {
                $name { $( $field: <$fty as $crate::SwapBytes>::swap_bytes(self.$field) ),* }
            }
        }
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
    fn swap_bytes_reverses_every_field_and_twice_is_the_identity() {
        use super::SwapBytes;
        assert_eq!(SwapBytes::swap_bytes(0x0102u16), 0x0201);
        assert_eq!(SwapBytes::swap_bytes(-2i32), (-2i32).swap_bytes());
        assert_eq!(SwapBytes::swap_bytes(7u8), 7);
        assert_eq!(
            SwapBytes::swap_bytes(1.0f32).to_bits(),
            1.0f32.to_bits().swap_bytes()
        );
        assert_eq!(
            SwapBytes::swap_bytes([[1u32, 2], [3, 4]]),
            [
                [1u32.swap_bytes(), 2u32.swap_bytes()],
                [3u32.swap_bytes(), 4u32.swap_bytes()]
            ]
        );
        let r = Rec {
            a: 0x0102_0304_0506_0708,
            b: [1, 2, 3, 0x0102],
        };
        let s = r.swap_bytes();
        assert_eq!(s.a, 0x0807_0605_0403_0201);
        assert_eq!(s.b, [0x0100, 0x0200, 0x0300, 0x0201]);
        assert_eq!(s.swap_bytes(), r);
        assert_eq!(
            SwapBytes::swap_bytes(Two { x: -0.0 }).x.to_bits(),
            (-0.0f64).to_bits().swap_bytes()
        );
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
