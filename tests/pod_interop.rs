//! Types users already have (features `bytemuck` and `zerocopy`): stored through the
//! wrappers (`Bytemuck<T>`, `Zerocopy<T>`, for any crate's types) and the macros
//! (`bytemuck_pod!`, `zerocopy_pod!`, for the caller's own), reopened and read; the file
//! holds exactly `T`'s bytes either way; and the features stay additive: types that also
//! implement `Pod` themselves (by hand or with `pod!`) still compile with the features on.
//! The refusals (`bool`, `char`, references, padded structs) are `compile_fail` doctests on
//! the wrappers and the macros. Run with `--features bytemuck,zerocopy` (`ci/features.sh`).

#![cfg(any(feature = "bytemuck", feature = "zerocopy"))]

mod common;

use persistence::{MmapedVec, OpenOptions, Pod};

/// The element bytes of the file at `path` as `std::fs` reads them.
fn file_elements(path: &std::path::Path, bytes: usize) -> Vec<u8> {
    let all = common::read(path);
    all[common::format::DATA_OFFSET..common::format::DATA_OFFSET + bytes].to_vec()
}

#[cfg(feature = "bytemuck")]
mod with_bytemuck {
    use super::*;
    use persistence::Bytemuck;
    use std::num::Wrapping;

    /// A type of "another crate" as far as this one's orphan rule goes: derives only.
    #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C)]
    pub struct Point {
        pub x: f32,
        pub y: f32,
        pub id: u64,
    }

    /// This crate's own type, made `Pod` with the macro.
    #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(C)]
    pub struct Local {
        pub a: u32,
        pub b: [u16; 2],
    }
    persistence::bytemuck_pod!(Local);

    // A `pod!` type that also derives `bytemuck::Pod`: two derives, one `Pod` impl (pod!'s).
    persistence::pod! {
        #[derive(Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
        pub struct Both { pub t: u64, pub v: f64 }
    }

    /// A type with a hand-written `Pod` impl that is also `bytemuck::Pod`.
    #[derive(Clone, Copy, Debug, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
    #[repr(transparent)]
    pub struct Handmade(pub u64);
    // SAFETY: a `u64`: every bit pattern valid, no padding, no pointers, alignment 8.
    unsafe impl Pod for Handmade {}

    fn point(i: u64) -> Point {
        Point {
            x: i as f32,
            y: -(i as f32),
            id: i * 3,
        }
    }

    #[test]
    fn a_bytemuck_type_is_stored_reopened_and_read() {
        let dir = common::tmpdir();
        let path = common::path_in(&dir, "points.bin");
        let points: Vec<Point> = (0..5000).map(point).collect();
        let mut v = MmapedVec::<Bytemuck<Point>>::open(&path).unwrap();
        v.push(Bytemuck(point(99))).unwrap();
        v.extend_from_slice(Bytemuck::wrap_slice(&points)).unwrap();
        v.try_extend(points.iter().copied().map(Bytemuck)).unwrap();
        v.close().unwrap();

        let mut v = MmapedVec::<Bytemuck<Point>>::open(&path).unwrap();
        assert_eq!(v.len(), 1 + 2 * points.len());
        assert_eq!(v[0].id, 99 * 3, "read through Deref");
        let all: &[Point] = Bytemuck::peel_slice(&v);
        assert_eq!(&all[1..=points.len()], &points[..]);
        assert_eq!(&all[1 + points.len()..], &points[..]);
        // bytemuck's own casts work on the wrappers.
        let bytes: &[u8] = bytemuck::cast_slice(&v[..]);
        assert_eq!(bytes.len(), v.len() * 16);
        // Changes through the peeled mutable slice are committed like any other.
        Bytemuck::peel_slice_mut(&mut v[..])[0].y = 0.5;
        v.close().unwrap();
        let v = OpenOptions::new()
            .open_read_only::<Bytemuck<Point>>(&path)
            .unwrap();
        assert_eq!(v[0].y, 0.5);
        // The file holds exactly the `Point`s' bytes.
        let on_disk = file_elements(&path, v.len() * 16);
        assert_eq!(
            on_disk,
            bytemuck::cast_slice::<_, u8>(Bytemuck::peel_slice(&v))
        );
    }

    #[test]
    fn a_local_type_with_the_macro_is_stored_directly() {
        let dir = common::tmpdir();
        let path = common::path_in(&dir, "local.bin");
        let items: Vec<Local> = (0..1000)
            .map(|i| Local {
                a: i,
                b: [i as u16, 7],
            })
            .collect();
        let mut v = MmapedVec::<Local>::open(&path).unwrap();
        v.extend_from_slice(&items).unwrap();
        v.close().unwrap();
        let v = MmapedVec::<Local>::open(&path).unwrap();
        assert_eq!(v, items);
        drop(v);
        // The wrapper and the plain type share the file layout: the same file opens as
        // either.
        let w = MmapedVec::<Bytemuck<Local>>::open(&path).unwrap();
        assert_eq!(Bytemuck::peel_slice(&w), &items[..]);
    }

    #[test]
    fn a_foreign_type_goes_through_the_wrapper() {
        // `Wrapping<u32>` is std's and `bytemuck::Pod`: the macro could not cover it.
        let dir = common::tmpdir();
        let path = common::path_in(&dir, "wrapping.bin");
        let mut v = MmapedVec::<Bytemuck<Wrapping<u32>>>::open(&path).unwrap();
        v.push(Bytemuck(Wrapping(u32::MAX))).unwrap();
        v[0].0 += Wrapping(2);
        v.close().unwrap();
        let v = MmapedVec::<Bytemuck<Wrapping<u32>>>::open(&path).unwrap();
        assert_eq!(v[0].into_inner(), Wrapping(1));
    }

    #[test]
    fn types_with_their_own_pod_impl_still_work_with_the_feature_on() {
        let dir = common::tmpdir();
        let both_path = common::path_in(&dir, "both.bin");
        let mut v = MmapedVec::<Both>::open(&both_path).unwrap();
        v.push(Both { t: 1, v: 2.5 }).unwrap();
        v.close().unwrap();
        let v = MmapedVec::<Both>::open(&both_path).unwrap();
        assert_eq!(v, [Both { t: 1, v: 2.5 }]);
        assert_eq!(bytemuck::bytes_of(&v[0]).len(), 16);
        drop(v);
        let w = MmapedVec::<Bytemuck<Both>>::open(&both_path).unwrap();
        assert_eq!(w[0].into_inner(), Both { t: 1, v: 2.5 });

        let path = common::path_in(&dir, "handmade.bin");
        let mut v = MmapedVec::<Handmade>::open(&path).unwrap();
        v.push(Handmade(7)).unwrap();
        v.close().unwrap();
        let w = MmapedVec::<Bytemuck<Handmade>>::open(&path).unwrap();
        assert_eq!(w[0].0, Handmade(7));
    }
}

#[cfg(feature = "zerocopy")]
mod with_zerocopy {
    use super::*;
    use persistence::Zerocopy;
    use zerocopy::{FromBytes, Immutable, IntoBytes};

    #[derive(Clone, Copy, Debug, PartialEq, FromBytes, IntoBytes, Immutable)]
    #[repr(C)]
    pub struct Tick {
        pub time: u64,
        pub price: f64,
        pub qty: u32,
        pub venue: u32,
    }

    #[derive(Clone, Copy, Debug, PartialEq, FromBytes, IntoBytes, Immutable)]
    #[repr(C)]
    pub struct LocalTick {
        pub time: u64,
        pub qty: [u32; 2],
    }
    persistence::zerocopy_pod!(LocalTick);

    fn tick(i: u64) -> Tick {
        Tick {
            time: i,
            price: i as f64 / 4.0,
            qty: i as u32 * 10,
            venue: 3,
        }
    }

    #[test]
    fn a_zerocopy_type_is_stored_reopened_and_read() {
        let dir = common::tmpdir();
        let path = common::path_in(&dir, "ticks.bin");
        let ticks: Vec<Tick> = (0..3000).map(tick).collect();
        let mut v = MmapedVec::<Zerocopy<Tick>>::open(&path).unwrap();
        v.extend_from_slice(Zerocopy::wrap_slice(&ticks)).unwrap();
        v.push(tick(7).into()).unwrap();
        v.close().unwrap();

        let mut v = MmapedVec::<Zerocopy<Tick>>::open(&path).unwrap();
        assert_eq!(v.len(), ticks.len() + 1);
        assert_eq!(v[10].price, 2.5, "read through Deref");
        assert_eq!(&Zerocopy::peel_slice(&v)[..ticks.len()], &ticks[..]);
        Zerocopy::peel_slice_mut(&mut v[..])[1].venue = 9;
        v.close().unwrap();
        let v = MmapedVec::<Zerocopy<Tick>>::open(&path).unwrap();
        assert_eq!(v[1].venue, 9);
        // The file holds exactly the `Tick`s' bytes, as zerocopy sees them.
        let peeled = Zerocopy::peel_slice(&v);
        assert_eq!(file_elements(&path, v.len() * 24), peeled.as_bytes());
        let parsed = <[Tick]>::ref_from_bytes(peeled.as_bytes()).unwrap();
        assert_eq!(parsed[0], ticks[0]);
    }

    #[test]
    fn a_local_type_with_the_macro_is_stored_directly() {
        let dir = common::tmpdir();
        let path = common::path_in(&dir, "local.bin");
        let items: Vec<LocalTick> = (0..1000)
            .map(|i| LocalTick {
                time: i,
                qty: [i as u32, 1],
            })
            .collect();
        let mut v = MmapedVec::<LocalTick>::open(&path).unwrap();
        v.extend_from_slice(&items).unwrap();
        v.close().unwrap();
        let v = MmapedVec::<LocalTick>::open(&path).unwrap();
        assert_eq!(v, items);
        drop(v);
        let w = MmapedVec::<Zerocopy<LocalTick>>::open(&path).unwrap();
        assert_eq!(Zerocopy::peel_slice(&w), &items[..]);
    }
}
