//! `OpenOptions::convert_foreign` and `OpenOptions::migrate`: a vector file rewritten into
//! a new one (this machine's byte order, or a new record type) that replaces its
//! destination whole or not at all.
//!
//! The typed half. It reads the source's elements into a fixed stack buffer, turns them into
//! the destination's ([`SwapBytes`], or the caller's function) and hands them on; the region
//! layer's `rewrite` owns the files, the locks and the temporary file + `rename` protocol
//! (`src/region/rewrite.rs`, `docs/design.md` "Converting and migrating"). No heap.

#![allow(unsafe_code)]

use core::mem::{align_of, size_of, size_of_val};

use crate::error::Result;
use crate::format::Layout;
use crate::options::OpenOptions;
use crate::path::PathArg;
use crate::pod::{Pod, SwapBytes};
use crate::region::rewrite::{self, Plan, Sink, Source};
#[cfg(doc)]
use crate::{inspect, ErrorKind, FileInfo};

/// Bytes of stack the element buffer takes.
const CHUNK: usize = 64 << 10;

/// The element buffer: as aligned as the most aligned element the format allows, so that
/// any whole number of elements at its start (or at [`CHUNK`]` / 2`) is aligned.
#[repr(C, align(4096))]
struct Chunk([u8; CHUNK]);

const _: () = assert!(align_of::<Chunk>() == crate::format::MAX_ALIGN);
const _: () = assert!((CHUNK / 2) % crate::format::MAX_ALIGN == 0);

/// `bytes` as elements: `bytes` must start aligned for `T` and hold a whole number of them.
fn elems_mut<T: Pod>(bytes: &mut [u8]) -> &mut [T] {
    assert!(
        bytes.as_ptr() as usize % align_of::<T>() == 0 && bytes.len() % size_of::<T>() == 0,
        "element buffer misaligned or not a whole number of elements"
    );
    // SAFETY: the pointer is aligned for `T` and the length a whole number of `T` (asserted;
    // `size_of::<T>() > 0`, checked at compile time by `assert_storable`, through `region_options`); `T: Pod`
    // makes any initialised bytes a valid `T`; the exclusive borrow of `bytes` moves into the
    // result, so nothing else can reach those bytes while it lives.
    unsafe {
        core::slice::from_raw_parts_mut(
            bytes.as_mut_ptr().cast::<T>(),
            bytes.len() / size_of::<T>(),
        )
    }
}

/// The bytes of `elems`.
fn bytes_of<T: Pod>(elems: &[T]) -> &[u8] {
    // SAFETY: `T: Pod` has no padding, so every byte of the slice is initialised; `u8` has
    // alignment 1; the shared borrow of `elems` covers the result's whole life.
    unsafe { core::slice::from_raw_parts(elems.as_ptr().cast::<u8>(), size_of_val(elems)) }
}

/// The bytes of `elems`, to write into.
fn bytes_of_mut<T: Pod>(elems: &mut [T]) -> &mut [u8] {
    let n = size_of_val(elems);
    // SAFETY: as `bytes_of`; and any bytes written through the result leave a valid `T`
    // (`T: Pod`); the exclusive borrow of `elems` moves into the result.
    unsafe { core::slice::from_raw_parts_mut(elems.as_mut_ptr().cast::<u8>(), n) }
}

/// A `T` of zero bytes, to read an element into.
fn zeroed<T: Pod>() -> T {
    // SAFETY: `T: Pod`: every bit pattern, all zeros included, is a valid `T`.
    unsafe { core::mem::zeroed() }
}

/// Copies every element of `src` to `out`, each reversed with [`SwapBytes`] when the source
/// is of the other byte order.
fn swap_all<T: SwapBytes>(src: &Source, out: &mut Sink<'_>) -> Result<()> {
    let swap = src.foreign();
    let len = src.len();
    let size = size_of::<T>();
    let per = (CHUNK / size) as u64;
    if per == 0 {
        // Larger than the buffer: one at a time, through a stack value as `swap_bytes` needs.
        for i in 0..len {
            let mut one = [zeroed::<T>()];
            src.read(i, bytes_of_mut(&mut one))?;
            if swap {
                one[0] = one[0].swap_bytes();
            }
            out.write(bytes_of(&one))?;
        }
        return Ok(());
    }
    let mut buf = Chunk([0; CHUNK]);
    let mut i = 0;
    while i < len {
        let n = per.min(len - i) as usize;
        let bytes = &mut buf.0[..n * size];
        src.read(i, bytes)?;
        if swap {
            for x in elems_mut::<T>(bytes) {
                *x = x.swap_bytes();
            }
        }
        out.write(bytes)?;
        i += n as u64;
    }
    Ok(())
}

/// Writes `f(old)` to `out` for every element `old` of `src`, in order.
fn map_all<Old: Pod, New: Pod>(
    src: &Source,
    out: &mut Sink<'_>,
    f: &mut impl FnMut(&Old) -> New,
) -> Result<()> {
    const HALF: usize = CHUNK / 2;
    let len = src.len();
    let (old_size, new_size) = (size_of::<Old>(), size_of::<New>());
    let per = (HALF / old_size.max(new_size)) as u64;
    if per == 0 {
        // Larger than half the buffer: one at a time.
        for i in 0..len {
            let mut old = [zeroed::<Old>()];
            src.read(i, bytes_of_mut(&mut old))?;
            let new = [f(&old[0])];
            out.write(bytes_of(&new))?;
        }
        return Ok(());
    }
    let mut buf = Chunk([0; CHUNK]);
    let (old_half, new_half) = buf.0.split_at_mut(HALF);
    let mut i = 0;
    while i < len {
        let n = per.min(len - i) as usize;
        let old_bytes = &mut old_half[..n * old_size];
        src.read(i, old_bytes)?;
        let new_bytes = &mut new_half[..n * new_size];
        let news = elems_mut::<New>(new_bytes);
        for (new, old) in news.iter_mut().zip(elems_mut::<Old>(old_bytes).iter()) {
            *new = f(old);
        }
        out.write(new_bytes)?;
        i += n as u64;
    }
    Ok(())
}

/// Runs [`rewrite::rewrite`] with the paths as C strings.
fn run(
    from: impl PathArg,
    to: impl PathArg,
    plan: &Plan,
    fill: &mut dyn FnMut(&Source, &mut Sink<'_>) -> Result<()>,
) -> Result<usize> {
    let n = from.with_c_path(|from| to.with_c_path(|to| rewrite::rewrite(from, to, plan, fill)))?;
    // `rewrite` refuses a count beyond `usize` before it writes anything.
    Ok(n as usize)
}

impl OpenOptions {
    /// The plan of a rewrite from a source of `source` to a new file of `target`, with these
    /// options' lock waiting, mode and copy-on-write.
    fn plan<New: Pod>(&self, source: Layout, foreign: bool) -> Plan {
        let opts = self.region_options::<New>(true);
        Plan {
            source,
            foreign,
            target: opts.layout,
            wait_for_lock: opts.wait_for_lock,
            mode: opts.mode,
            copy_on_write: opts.copy_on_write,
        }
    }

    /// Converts the vector file at `from`, written on a machine of the other byte order,
    /// into this machine's at `to`, and returns its length in elements.
    ///
    /// The source is checked as [`open`](Self::open) checks it (magic and version against
    /// these options, element size and alignment against `T`), read in its own byte order,
    /// and each committed element reversed with [`SwapBytes`] (for a [`pod!`](crate::pod!)
    /// struct: field by field); a file already in this machine's byte order is copied.
    /// [`inspect`] says which a file is ([`FileInfo::native_byte_order`]).
    ///
    /// `to` may be `from` (the same path, or another name of the same file): the file is
    /// then converted in place. The source is never written (it is read under its exclusive
    /// lock), and `to` appears whole or not at all: the new file is written beside it as
    /// `<to>.persistence-tmp`, made durable and renamed over it, so a crash leaves the old
    /// `to` or the complete new one (`docs/design.md`, "Converting and migrating"). An
    /// existing `to` is locked until it is replaced. The new file holds exactly the committed
    /// elements (its capacity is its length), with these options' magic, version,
    /// [`mode`](Self::mode) and [`copy_on_write`](Self::copy_on_write); with
    /// [`wait_for_lock`](Self::wait_for_lock) it waits for the locks; `create`, `create_new`
    /// and `capacity` do not apply. No heap: a 64 KiB stack buffer.
    ///
    /// # Errors
    ///
    /// Nothing is written, and `to` and the source are as they were, for:
    ///
    /// * [`ErrorKind::Locked`]: a writer or reader has the source or `to` open (or another
    ///   conversion to the same `to` is in progress);
    /// * [`ErrorKind::NotFound`], [`ErrorKind::PermissionDenied`],
    ///   [`ErrorKind::NotARegularFile`], [`ErrorKind::InvalidPath`]: of either path (`to` is
    ///   a directory, say);
    /// * the source's format, in the order `open` checks it: [`ErrorKind::BadMagic`],
    ///   [`ErrorKind::UnsupportedFormatVersion`], [`ErrorKind::Corrupt`] (a bad checksum, no
    ///   valid commit slot, a committed length past the end of the file, a file shorter than
    ///   its header or never committed), [`ErrorKind::MagicMismatch`],
    ///   [`ErrorKind::VersionMismatch`], and [`ErrorKind::LayoutMismatch`] for another element
    ///   size or alignment than `T`'s, or another `usize` width than this machine's (an
    ///   element may hold a `usize`);
    /// * [`ErrorKind::OutOfSpace`], [`ErrorKind::FileTooLarge`], [`ErrorKind::Io`] while the
    ///   new file is written (the temporary file is removed).
    ///
    /// An error from the final `fsync` of the directory comes after the rename: the new
    /// file is then in place, but its name may not survive a power loss yet.
    ///
    /// # Examples
    ///
    /// A file of three readings written on a machine of the other byte order (a golden file
    /// of the tests, `tests/golden/v1-readings-be.bin` on a little-endian machine), converted
    /// on this one:
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let from = dir.path().join("readings-foreign.bin");
    /// # let to = dir.path().join("readings.bin");
    /// # let other = if cfg!(target_endian = "little") { "be" } else { "le" };
    /// # let golden = format!("{}/tests/golden/v1-readings-{other}.bin", env!("CARGO_MANIFEST_DIR"));
    /// # std::fs::copy(golden, &from).unwrap();
    /// use persistence::{inspect, pod, OpenOptions};
    ///
    /// pod! {
    ///     #[derive(Debug, PartialEq)]
    ///     pub struct Reading { pub time: u64, pub value: f32, pub sensor: u32 }
    /// }
    /// let readings = [
    ///     Reading { time: 1, value: 0.5, sensor: 7 },
    ///     Reading { time: 2, value: 1.5, sensor: 8 },
    ///     Reading { time: 3, value: 2.5, sensor: 7 },
    /// ];
    ///
    /// let info = inspect(&from)?;
    /// assert!(!info.native_byte_order);
    /// assert_eq!(info.len, 3);
    ///
    /// let opts = *OpenOptions::new().magic(*b"READINGS").version(2);
    /// let n = opts.convert_foreign::<Reading>(&from, &to)?;
    /// assert_eq!(n, 3);
    /// assert_eq!(&opts.open_read_only::<Reading>(&to)?[..], &readings[..]);
    /// assert!(inspect(&from).map(|i| !i.native_byte_order)?, "the source is unchanged");
    ///
    /// // In place: the same path twice.
    /// opts.convert_foreign::<Reading>(&from, &from)?;
    /// assert!(inspect(&from)?.native_byte_order);
    /// # Ok(()) }
    /// ```
    pub fn convert_foreign<T: SwapBytes>(
        &self,
        from: impl PathArg,
        to: impl PathArg,
    ) -> Result<usize> {
        let plan = self.plan::<T>(self.region_options::<T>(false).layout, true);
        run(from, to, &plan, &mut |src, out| swap_all::<T>(src, out))
    }

    /// Migrates the vector file at `from`, which holds `Old` records under these options'
    /// magic and the application version `from_version`, to a file of `New` records under
    /// these options' magic and [`version`](Self::version) at `to`: element `i` of the new
    /// file is `f(&old[i])`, called once per element, in order. Returns the number of
    /// elements.
    ///
    /// Everything else is as for [`convert_foreign`](Self::convert_foreign): `to` may be
    /// `from`, the source is never written, `to` appears whole or not at all, the same
    /// options apply, no heap. The source must be in this machine's byte order (convert it
    /// first). If `f` panics, the temporary file is removed as the panic unwinds and `to` is
    /// left as it was. A [`LiveReader`](crate::LiveReader) open on the file that `to`
    /// replaces keeps that file, without a fault, and sees no later commit.
    ///
    /// # Errors
    ///
    /// As [`convert_foreign`](Self::convert_foreign), with `Old` for `T` and `from_version`
    /// for the version (a source of another version is [`ErrorKind::VersionMismatch`]); a
    /// source of the other byte order is [`ErrorKind::WrongEndianness`].
    ///
    /// # Examples
    ///
    /// Version 1 stored 16-byte points; version 2 adds a `z` and widens them to `f64`:
    ///
    /// ```
    /// # fn main() -> Result<(), persistence::Error> {
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("points.bin");
    /// use persistence::{pod, ErrorKind, OpenOptions};
    ///
    /// pod! {
    ///     pub struct PointV1 { pub id: u64, pub x: f32, pub y: f32 }
    ///     #[derive(Debug, PartialEq)]
    ///     pub struct PointV2 { pub id: u64, pub x: f64, pub y: f64, pub z: f64 }
    /// }
    /// let v1 = *OpenOptions::new().magic(*b"POINTS\0\0").version(1);
    /// let mut old = v1.open::<PointV1>(&path)?;
    /// old.push(PointV1 { id: 1, x: 0.5, y: 2.0 })?;
    /// old.push(PointV1 { id: 2, x: 1.5, y: 3.0 })?;
    /// old.close()?;
    ///
    /// let v2 = *OpenOptions::new().magic(*b"POINTS\0\0").version(2);
    /// let err = v2.open::<PointV2>(&path).unwrap_err();
    /// assert_eq!(err.kind(), ErrorKind::VersionMismatch);
    ///
    /// // In place, from version 1 to version 2.
    /// let n = v2.migrate(1, &path, &path, |p: &PointV1| PointV2 {
    ///     id: p.id,
    ///     x: f64::from(p.x),
    ///     y: f64::from(p.y),
    ///     z: 0.0,
    /// })?;
    /// assert_eq!(n, 2);
    /// let new = v2.open_read_only::<PointV2>(&path)?;
    /// assert_eq!(new[1], PointV2 { id: 2, x: 1.5, y: 3.0, z: 0.0 });
    /// # Ok(()) }
    /// ```
    pub fn migrate<Old: Pod, New: Pod>(
        &self,
        from_version: u32,
        from: impl PathArg,
        to: impl PathArg,
        mut f: impl FnMut(&Old) -> New,
    ) -> Result<usize> {
        let mut source = self.region_options::<Old>(false).layout;
        source.app_version = from_version;
        let plan = self.plan::<New>(source, false);
        run(from, to, &plan, &mut |src, out| map_all(src, out, &mut f))
    }
}
