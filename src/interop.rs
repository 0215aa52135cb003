//! Element types users already have: bytemuck's `Pod` and zerocopy's `FromBytes + IntoBytes +
//! Immutable` (features `bytemuck` and `zerocopy`). How to use them: `docs/guide.md`, "Types from
//! bytemuck and zerocopy".
//!
//! # Why wrappers and macros, not a blanket impl
//!
//! The obvious design, `impl<T: bytemuck::Pod> Pod for T`, cannot be written: it overlaps this
//! crate's own impls (`u8`, `[T; N]`, …) and every `pod!` type; and if it could, any crate that
//! implements [`Pod`](crate::Pod) for a type that is also `bytemuck::Pod` (a `pod!` struct with
//! `#[derive(bytemuck::Pod)]`) would stop compiling the moment any crate in the build turned the
//! feature on. Features must be additive. So each feature adds two things that overlap nothing:
//!
//! * a wrapper, `Bytemuck<T>` or `Zerocopy<T>`: a `#[repr(transparent)]` struct that is `Pod` for
//!   every `T` with the other crate's bounds. It works for types of any crate (this crate
//!   implements its own trait for its own wrapper), and it has `T`'s layout, so the file holds
//!   exactly `T`'s bytes and slices convert both ways without a copy. Its
//!   [fingerprint](crate::Fingerprint) is unknown: its files are checked by size and
//!   alignment only.
//! * a macro, `bytemuck_pod!(MyType)` or `zerocopy_pod!(MyType)`, that implements
//!   [`Pod`](crate::Pod) for a type of the calling crate after asserting at compile time that it
//!   has the other crate's bounds and an alignment of at most 4096. The orphan rule limits it to
//!   the caller's own types; the wrapper covers the rest.
//!
//! Neither needs the other crate's derive macros: the features add `bytemuck` or `zerocopy` alone,
//! without `syn`.
//!
//! # Why they are sound
//!
//! [`Pod`](crate::Pod) asks for every bit pattern valid, no padding, no references or pointers, and
//! an alignment of at most 4096. `bytemuck::Pod` promises the first two (and no interior
//! mutability) and holds for no reference type (not every bit pattern is a reference); so do
//! zerocopy's `FromBytes` (every bit pattern valid) and `IntoBytes` (no padding) with `Immutable`
//! (no interior mutability), which hold for no reference or raw pointer. `bool`, `char`, references
//! and padded structs are refused by both. One caveat: bytemuck's opt-in `unsound_ptr_pod_impl`
//! feature makes raw pointers `bytemuck::Pod`; a raw pointer of any bits is a valid value and
//! dereferencing it is `unsafe` anyway, so memory safety holds, but its target will not survive a
//! restart. The alignment and a non-zero size are checked where they matter: every typed view
//! refuses a larger alignment or a zero size at compile time, whatever an impl claims, and the
//! macros refuse a larger alignment at the declaration.

#![allow(unsafe_code)]

#[cfg(feature = "bytemuck")]
pub use self::bytemuck_impl::Bytemuck;
#[cfg(feature = "zerocopy")]
pub use self::zerocopy_impl::Zerocopy;

/// A doctest of a wrapper's method, as a string: `main` returning `Result`, a temp dir,
/// `MmapedVec` and the wrapper in scope, and `v`, a new vector of `$wrapper<u32>`, then the
/// method's own lines (`$body`: string pieces, each followed by a comma).
macro_rules! wrapper_example {
    ($wrapper:ident, $($body:tt)*) => {
        concat!(
            "```\n",
            "# fn main() -> Result<(), persistence::Error> {\n",
            "# let dir = tempfile::tempdir().unwrap();\n",
            "# let path = dir.path().join(\"data.bin\");\n",
            "use persistence::{MmapedVec, ", stringify!($wrapper), "};\n",
            "\n",
            "let mut v = MmapedVec::<", stringify!($wrapper), "<u32>>::open(&path)?;\n",
            $($body)*
            "# Ok(()) }\n",
            "```",
        )
    };
}

/// The wrapper's inherent API, the same for both features.
macro_rules! wrapper_api {
    ($wrapper:ident, [$($bound:tt)*]) => {
        impl<T: $($bound)*> $wrapper<T> {
            /// Views a slice of `T` as a slice of wrappers (no copy), to append it with
            /// [`extend_from_slice`](crate::MmapedVec::extend_from_slice).
            ///
            /// # Examples
            ///
            #[doc = wrapper_example!(
                $wrapper,
                "v.extend_from_slice(", stringify!($wrapper), "::wrap_slice(&[1, 2, 3]))?;\n",
                "assert_eq!(v.len(), 3);\n",
                "assert_eq!(v[2].into_inner(), 3);\n",
            )]
            #[inline]
            #[must_use]
            pub fn wrap_slice(s: &[T]) -> &[Self] {
                // SAFETY: `Self` is `#[repr(transparent)]` over `T`: same size, alignment and
                // validity, so a `[T]` is a `[Self]` of the same length.
                unsafe { core::slice::from_raw_parts(s.as_ptr().cast::<Self>(), s.len()) }
            }

            /// Views a mutable slice of `T` as a mutable slice of wrappers (no copy).
            ///
            /// # Examples
            ///
            #[doc = wrapper_example!(
                $wrapper,
                "v.extend_from_slice(", stringify!($wrapper), "::wrap_slice(&[1, 2, 3]))?;\n",
                "// Copy the elements out into an array of plain `u32`s.\n",
                "let mut out = [0u32; 3];\n",
                stringify!($wrapper), "::wrap_slice_mut(&mut out).copy_from_slice(&v);\n",
                "assert_eq!(out, [1, 2, 3]);\n",
            )]
            #[inline]
            #[must_use]
            pub fn wrap_slice_mut(s: &mut [T]) -> &mut [Self] {
                // SAFETY: as in `wrap_slice`; the borrow is carried over, so it stays unique.
                unsafe { core::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<Self>(), s.len()) }
            }

            /// Views a slice of wrappers (a vector's elements: `&v` or `&v[..]`) as a slice
            /// of `T` (no copy).
            ///
            /// # Examples
            ///
            #[doc = wrapper_example!(
                $wrapper,
                "v.push(", stringify!($wrapper), "(5))?;\n",
                "v.push(", stringify!($wrapper), "(7))?;\n",
                "let xs: &[u32] = ", stringify!($wrapper), "::peel_slice(&v);\n",
                "assert_eq!(xs.iter().sum::<u32>(), 12);\n",
            )]
            #[inline]
            #[must_use]
            pub fn peel_slice(s: &[Self]) -> &[T] {
                // SAFETY: `Self` is `#[repr(transparent)]` over `T` (see `wrap_slice`).
                unsafe { core::slice::from_raw_parts(s.as_ptr().cast::<T>(), s.len()) }
            }

            /// Views a mutable slice of wrappers (`&mut v[..]`, which marks every element for
            /// the next commit, as any mutable borrow does) as a mutable slice of `T`.
            ///
            /// # Examples
            ///
            #[doc = wrapper_example!(
                $wrapper,
                "v.extend_from_slice(", stringify!($wrapper), "::wrap_slice(&[3, 1, 2]))?;\n",
                stringify!($wrapper), "::peel_slice_mut(&mut v).sort_unstable();\n",
                "v.sync()?; // the new order is durable\n",
                "assert_eq!(", stringify!($wrapper), "::peel_slice(&v), &[1, 2, 3]);\n",
            )]
            #[inline]
            #[must_use]
            pub fn peel_slice_mut(s: &mut [Self]) -> &mut [T] {
                // SAFETY: as in `peel_slice`; the borrow is carried over, so it stays unique.
                unsafe { core::slice::from_raw_parts_mut(s.as_mut_ptr().cast::<T>(), s.len()) }
            }

            /// The wrapped value.
            ///
            /// # Examples
            ///
            #[doc = wrapper_example!(
                $wrapper,
                "v.push(", stringify!($wrapper), "(42))?;\n",
                "let x: u32 = v[0].into_inner();\n",
                "assert_eq!(x, 42);\n",
            )]
            #[inline]
            #[must_use]
            pub fn into_inner(self) -> T {
                self.0
            }
        }

        impl<T> core::ops::Deref for $wrapper<T> {
            type Target = T;

            #[inline]
            fn deref(&self) -> &T {
                &self.0
            }
        }

        impl<T> core::ops::DerefMut for $wrapper<T> {
            #[inline]
            fn deref_mut(&mut self) -> &mut T {
                &mut self.0
            }
        }

        impl<T> From<T> for $wrapper<T> {
            #[inline]
            fn from(x: T) -> Self {
                $wrapper(x)
            }
        }
    };
}

#[cfg(feature = "bytemuck")]
mod bytemuck_impl {
    use crate::pod::Pod;

    /// Any `T: bytemuck::Pod` (a `#[derive(bytemuck::Pod)]` type, from this crate or
    /// another) as an element of a vector: `MmapedVec<Bytemuck<T>>`. Feature `bytemuck`.
    ///
    /// `#[repr(transparent)]`: it has `T`'s size, alignment and bytes, so the file holds
    /// exactly `T`'s bytes, and slices convert both ways without a copy. It dereferences to
    /// `T`; it is also `bytemuck::Pod` and `bytemuck::TransparentWrapper<T>` itself, so
    /// bytemuck's own casts work on it. Why a wrapper, and why it is sound: the module docs of
    /// `src/interop.rs`.
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("points.bin");
    /// use persistence::{Bytemuck, MmapedVec};
    ///
    /// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct Point { x: f32, y: f32 }
    ///
    /// let mut v = MmapedVec::<Bytemuck<Point>>::open(&path)?;
    /// v.push(Bytemuck(Point { x: 1.0, y: 2.0 }))?;
    /// v.extend_from_slice(Bytemuck::wrap_slice(&[Point { x: 3.0, y: 4.0 }]))?;
    /// v.close()?;
    ///
    /// let v = MmapedVec::<Bytemuck<Point>>::open(&path)?;
    /// assert_eq!(v[1].y, 4.0); // through Deref
    /// let points: &[Point] = Bytemuck::peel_slice(&v);
    /// assert_eq!(points, &[Point { x: 1.0, y: 2.0 }, Point { x: 3.0, y: 4.0 }]);
    /// # Ok(()) }
    /// ```
    ///
    /// Types that are not `bytemuck::Pod` are refused, as they are by [`Pod`]: `bool`,
    /// `char`, references, structs with padding.
    ///
    /// ```compile_fail,E0277
    /// let _ = persistence::MmapedVec::<persistence::Bytemuck<bool>>::open("v.bin");
    /// ```
    ///
    /// ```compile_fail,E0277
    /// let _ = persistence::MmapedVec::<persistence::Bytemuck<char>>::open("v.bin");
    /// ```
    ///
    /// ```compile_fail,E0277
    /// let _ = persistence::MmapedVec::<persistence::Bytemuck<&'static u32>>::open("v.bin");
    /// ```
    ///
    /// ```compile_fail,E0277
    /// // Zeroable, but not Pod (bytemuck's derive refuses Pod for it: 3 padding bytes).
    /// #[derive(Clone, Copy, bytemuck::Zeroable)]
    /// #[repr(C)]
    /// struct Padded { a: u8, b: u32 }
    /// let _ = persistence::MmapedVec::<persistence::Bytemuck<Padded>>::open("v.bin");
    /// ```
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct Bytemuck<T>(pub T);

    // SAFETY: `#[repr(transparent)]` over `T`, so `Bytemuck<T>` has `T`'s bytes and validity.
    // `T: bytemuck::Pod` promises that every bit pattern is a valid `T`, that `T` has no
    // padding, no interior mutability, and holds no reference (a reference is not valid for
    // every bit pattern); raw pointers only with bytemuck's opt-in `unsound_ptr_pod_impl`,
    // and a raw pointer of any bits is a valid value. `Copy + 'static` come with
    // `bytemuck::Pod`. The alignment (at most 4096) and a non-zero size are checked at
    // compile time by every typed open (`pod::assert_storable`) before a file is touched.
    unsafe impl<T: bytemuck::Pod> Pod for Bytemuck<T> {}

    // SAFETY: `#[repr(transparent)]` over `T` and nothing else: all zeroes is a valid
    // `Bytemuck<T>` exactly when it is a valid `T`.
    unsafe impl<T: bytemuck::Zeroable> bytemuck::Zeroable for Bytemuck<T> {}

    // SAFETY: `#[repr(transparent)]` over `T: bytemuck::Pod` and nothing else, so it has the
    // same bytes, no padding, and every bit pattern is valid; `Copy + 'static` by the derive
    // and the bound.
    unsafe impl<T: bytemuck::Pod> bytemuck::Pod for Bytemuck<T> {}

    // SAFETY: a `#[repr(transparent)]` struct whose only field is `T`; it adds no alignment
    // and no invariant, and overrides no method of the trait.
    unsafe impl<T> bytemuck::TransparentWrapper<T> for Bytemuck<T> {}

    wrapper_api!(Bytemuck, [bytemuck::Pod]);
}

#[cfg(feature = "zerocopy")]
mod zerocopy_impl {
    use crate::pod::Pod;
    use zerocopy::{FromBytes, Immutable, IntoBytes};

    /// Any `T: zerocopy::FromBytes + IntoBytes + Immutable + Copy` (zerocopy 0.8; derived,
    /// or from another crate) as an element of a vector: `MmapedVec<Zerocopy<T>>`. Feature
    /// `zerocopy`.
    ///
    /// `#[repr(transparent)]`: it has `T`'s size, alignment and bytes, so the file holds
    /// exactly `T`'s bytes, and slices convert both ways without a copy. It dereferences to
    /// `T`. Why a wrapper, and why it is sound: the module docs of `src/interop.rs`.
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("ticks.bin");
    /// use persistence::{MmapedVec, Zerocopy};
    /// use zerocopy::{FromBytes, Immutable, IntoBytes};
    ///
    /// #[derive(Clone, Copy, Debug, PartialEq, FromBytes, IntoBytes, Immutable)]
    /// #[repr(C)]
    /// struct Tick { time: u64, price: f64 }
    ///
    /// let mut v = MmapedVec::<Zerocopy<Tick>>::open(&path)?;
    /// v.push(Zerocopy(Tick { time: 1, price: 9.5 }))?;
    /// v.close()?;
    ///
    /// let v = MmapedVec::<Zerocopy<Tick>>::open(&path)?;
    /// assert_eq!(v[0].price, 9.5);
    /// assert_eq!(Zerocopy::peel_slice(&v), &[Tick { time: 1, price: 9.5 }]);
    /// # Ok(()) }
    /// ```
    ///
    /// Types without all three bounds are refused, as they are by [`Pod`]: `bool` and
    /// `char` (not `FromBytes`), references, and structs with padding (not `IntoBytes`):
    ///
    /// ```compile_fail,E0277
    /// let _ = persistence::MmapedVec::<persistence::Zerocopy<bool>>::open("v.bin");
    /// ```
    ///
    /// ```compile_fail,E0277
    /// let _ = persistence::MmapedVec::<persistence::Zerocopy<char>>::open("v.bin");
    /// ```
    ///
    /// ```compile_fail,E0277
    /// let _ = persistence::MmapedVec::<persistence::Zerocopy<&'static u32>>::open("v.bin");
    /// ```
    ///
    /// ```compile_fail,E0277
    /// // FromBytes and Immutable, but not IntoBytes (its derive refuses: 3 padding bytes).
    /// #[derive(Clone, Copy, zerocopy::FromBytes, zerocopy::Immutable)]
    /// #[repr(C)]
    /// struct Padded { a: u8, b: u32 }
    /// let _ = persistence::MmapedVec::<persistence::Zerocopy<Padded>>::open("v.bin");
    /// ```
    #[repr(transparent)]
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct Zerocopy<T>(pub T);

    // SAFETY: `#[repr(transparent)]` over `T`, so `Zerocopy<T>` has `T`'s bytes and validity.
    // `FromBytes`: every bit pattern is a valid `T`. `IntoBytes`: no padding (every byte is
    // initialised). `Immutable`: no interior mutability. No reference or raw pointer type is
    // `FromBytes`. `Copy + 'static` are required by the bound. The alignment (at most 4096)
    // and a non-zero size are checked at compile time by every typed view
    // open (`pod::assert_storable`) before a file is touched.
    unsafe impl<T: FromBytes + IntoBytes + Immutable + Copy + 'static> Pod for Zerocopy<T> {}

    wrapper_api!(
        Zerocopy,
        [FromBytes + IntoBytes + Immutable + Copy + 'static]
    );
}

/// Implements [`Pod`](crate::Pod) for types of the calling crate that are
/// `bytemuck::Pod`, after asserting at compile time that they are, and that their alignment
/// is at most 4096. Feature `bytemuck`.
///
/// For a type of another crate, which the orphan rule keeps this macro from covering, use
/// the wrapper [`Bytemuck<T>`](crate::Bytemuck).
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("points.bin");
/// #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Point { x: f32, y: f32 }
///
/// persistence::bytemuck_pod!(Point);
///
/// let mut v = persistence::MmapedVec::<Point>::open(&path)?;
/// v.push(Point { x: 1.0, y: 2.0 })?;
/// assert_eq!(v, [Point { x: 1.0, y: 2.0 }]);
/// # Ok(()) }
/// ```
///
/// The type's [fingerprint](crate::Fingerprint) is unknown (its files are checked by size
/// and alignment only) unless you name one, as `bytemuck_pod!(Point = "Point (x, y: f32)")`
/// does: then its files record [`Fingerprint::named`](crate::Fingerprint::named) of that
/// name, and a file of another type is refused
/// ([`TypeMismatch`](crate::ErrorKind::TypeMismatch)).
///
/// ```
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C)]
/// struct Point { x: f32, y: f32 }
/// persistence::bytemuck_pod!(Point = "Point (x, y: f32)");
/// use persistence::{Fingerprint, Pod};
/// assert_eq!(Point::FINGERPRINT, Fingerprint::named("Point (x, y: f32)"));
/// ```
///
/// A type that is not `bytemuck::Pod` is refused:
///
/// ```compile_fail,E0277
/// // error[E0277]: the trait bound `Flag: bytemuck::Pod` is not satisfied
/// #[derive(Clone, Copy)]
/// #[repr(C)]
/// struct Flag { on: bool }
/// persistence::bytemuck_pod!(Flag);
/// ```
///
/// So is an alignment above 4096:
///
/// ```compile_fail,E0080
/// // error[E0080]: evaluation panicked: bytemuck_pod!: `Aligned` is aligned to more than 4096
/// // bytes; a persistence file allows at most 4096 (its element data starts at byte 4096)
/// #[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
/// #[repr(C, align(8192))]
/// struct Aligned { a: [u8; 4096], b: [u8; 4096] }
/// persistence::bytemuck_pod!(Aligned);
/// ```
///
/// The features stay additive: a `pod!` type that also derives `bytemuck::Pod` (one `Pod`
/// impl, from `pod!`) compiles with the feature on, and is stored directly:
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// persistence::pod! {
///     #[derive(Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
///     pub struct Both { pub a: u64, pub b: [u16; 4] }
/// }
/// let mut v = persistence::MmapedVec::<Both>::open(dir.path().join("both.bin"))?;
/// v.push(Both { a: 1, b: [2; 4] })?;
/// // ... and in the wrapper too (another file layout-wise identical):
/// let mut w = persistence::MmapedVec::<persistence::Bytemuck<Both>>::open(dir.path().join("w.bin"))?;
/// w.push(persistence::Bytemuck(v[0]))?;
/// assert_eq!(bytemuck::bytes_of(&v[0]), bytemuck::bytes_of(&w[0].0));
/// # Ok(()) }
/// ```
#[cfg(feature = "bytemuck")]
#[macro_export]
macro_rules! bytemuck_pod {
    ($($t:ty $(= $fingerprint:literal)?),+ $(,)?) => {$(
        const _: () = {
            $crate::__private::static_assertions::assert_impl_all!(
                $t: $crate::__private::bytemuck::Pod
            );
        };
        const _: () = ::core::assert!(
            ::core::mem::align_of::<$t>() <= $crate::__private::MAX_ALIGN,
            ::core::concat!(
                "bytemuck_pod!: `", ::core::stringify!($t), "` is aligned to more than 4096 ",
                "bytes; a persistence file allows at most 4096 (its element data starts at byte ",
                "4096)"
            )
        );
        // SAFETY: `bytemuck::Pod` (asserted above) promises every bit pattern valid, no
        // padding, no interior mutability and no reference; the alignment is asserted at
        // most 4096 above.
        #[allow(unsafe_code)]
        unsafe impl $crate::Pod for $t {
            $(
                const FINGERPRINT: $crate::Fingerprint = $crate::Fingerprint::named($fingerprint);
            )?
        }
    )+};
}

/// Implements [`Pod`](crate::Pod) for types of the calling crate that are
/// `zerocopy::FromBytes + IntoBytes + Immutable` (zerocopy 0.8) and `Copy`, after asserting
/// at compile time that they are, and that their alignment is at most 4096. Feature
/// `zerocopy`.
///
/// For a type of another crate, which the orphan rule keeps this macro from covering, use
/// the wrapper [`Zerocopy<T>`](crate::Zerocopy).
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("ticks.bin");
/// #[derive(Clone, Copy, Debug, PartialEq, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable)]
/// #[repr(C)]
/// struct Tick { time: u64, price: f64 }
///
/// persistence::zerocopy_pod!(Tick);
///
/// let mut v = persistence::MmapedVec::<Tick>::open(&path)?;
/// v.push(Tick { time: 1, price: 9.5 })?;
/// assert_eq!(v, [Tick { time: 1, price: 9.5 }]);
/// # Ok(()) }
/// ```
///
/// As with [`bytemuck_pod!`](crate::bytemuck_pod!), `zerocopy_pod!(Tick = "name")` names the
/// type's [fingerprint](crate::Fingerprint) (else it is unknown).
///
/// A type without `IntoBytes` (here: padded) is refused:
///
/// ```compile_fail,E0277
/// // error[E0277]: the trait bound `Padded: IntoBytes` is not satisfied
/// #[derive(Clone, Copy, zerocopy::FromBytes, zerocopy::Immutable)]
/// #[repr(C)]
/// struct Padded { a: u8, b: u32 }
/// persistence::zerocopy_pod!(Padded);
/// ```
///
/// So is an alignment above 4096:
///
/// ```compile_fail,E0080
/// // error[E0080]: evaluation panicked: zerocopy_pod!: `Aligned` is aligned to more than 4096
/// // bytes; a persistence file allows at most 4096 (its element data starts at byte 4096)
/// #[derive(Clone, Copy, zerocopy::FromBytes, zerocopy::IntoBytes, zerocopy::Immutable)]
/// #[repr(C, align(8192))]
/// struct Aligned { a: [u8; 8192] }
/// persistence::zerocopy_pod!(Aligned);
/// ```
#[cfg(feature = "zerocopy")]
#[macro_export]
macro_rules! zerocopy_pod {
    ($($t:ty $(= $fingerprint:literal)?),+ $(,)?) => {$(
        const _: () = {
            $crate::__private::static_assertions::assert_impl_all!(
                $t: $crate::__private::zerocopy::FromBytes,
                    $crate::__private::zerocopy::IntoBytes,
                    $crate::__private::zerocopy::Immutable,
                    ::core::marker::Copy
            );
        };
        const _: () = ::core::assert!(
            ::core::mem::align_of::<$t>() <= $crate::__private::MAX_ALIGN,
            ::core::concat!(
                "zerocopy_pod!: `", ::core::stringify!($t), "` is aligned to more than 4096 ",
                "bytes; a persistence file allows at most 4096 (its element data starts at byte ",
                "4096)"
            )
        );
        // SAFETY: `FromBytes` (asserted above): every bit pattern valid; `IntoBytes`: no
        // padding; `Immutable`: no interior mutability; no reference or pointer type is
        // `FromBytes`; the alignment is asserted at most 4096 above.
        #[allow(unsafe_code)]
        unsafe impl $crate::Pod for $t {
            $(
                const FINGERPRINT: $crate::Fingerprint = $crate::Fingerprint::named($fingerprint);
            )?
        }
    )+};
}
