//! The on-disk header, format version 1: encode, decode, validate, checksum, commit slots.
//!
//! Safe code only: it reads and writes `[u8]` buffers and never touches the file itself.
//!
//! Page 0 (bytes `0..4096`) is the header; element data starts at [`DATA_OFFSET`]. Integers
//! are native-endian; the endianness marker tells a foreign reader apart.
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 8 | format magic `b"PERSISTV"` |
//! | 8 | 8 | application magic |
//! | 16 | 4 | endianness marker `0x0102_0304` |
//! | 20 | 4 | format version (`1`) |
//! | 24 | 4 | application data version |
//! | 28 | 4 | `size_of::<usize>()` of the writer |
//! | 32 | 8 | element size |
//! | 40 | 8 | element alignment |
//! | 48 | 8 | data offset (4096) |
//! | 56 | 8 | checksum of bytes `0..56` |
//! | 512 | 24 | commit slot A: sequence, length, checksum |
//! | 1024 | 24 | commit slot B: same layout |
//!
//! Commit invariant, in one sentence as LMDB states its own: *a commit writes the slot that
//! does not hold the newest valid commit, and only once that one is durable*, so the newest
//! durable commit is intact whatever happens to the sector being written. Each slot sits in
//! its own 512-byte sector.

use crate::error::{Error, ErrorKind, Result};

/// Size of the header page; element data starts here.
pub const HEADER_SIZE: usize = 4096;
/// Byte offset of element 0 in the file (the header occupies the bytes before it).
pub const DATA_OFFSET: usize = HEADER_SIZE;
/// The first 8 bytes of every persistence file.
pub const FORMAT_MAGIC: [u8; 8] = *b"PERSISTV";
/// The endianness marker as written by this machine.
pub const ENDIAN_MARKER: u32 = 0x0102_0304;
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The largest element alignment the format supports (element data starts at 4096).
pub const MAX_ALIGN: usize = 4096;

// Field offsets, each built from the one before it.
const OFF_FORMAT_MAGIC: usize = 0;
const OFF_APP_MAGIC: usize = OFF_FORMAT_MAGIC + 8;
const OFF_ENDIAN: usize = OFF_APP_MAGIC + 8;
const OFF_FORMAT_VERSION: usize = OFF_ENDIAN + 4;
const OFF_APP_VERSION: usize = OFF_FORMAT_VERSION + 4;
const OFF_USIZE_WIDTH: usize = OFF_APP_VERSION + 4;
const OFF_ELEM_SIZE: usize = OFF_USIZE_WIDTH + 4;
const OFF_ELEM_ALIGN: usize = OFF_ELEM_SIZE + 8;
const OFF_DATA_OFFSET: usize = OFF_ELEM_ALIGN + 8;
const OFF_HEADER_SUM: usize = OFF_DATA_OFFSET + 8;
/// Bytes `0..FIXED_LEN` are the fixed header fields including their checksum.
pub const FIXED_LEN: usize = OFF_HEADER_SUM + 8;

/// The size of a disk sector, the unit a torn write damages; each slot has its own.
pub const SECTOR: usize = 512;
/// Byte offsets of commit slots A and B.
pub const SLOT_OFFSETS: [usize; 2] = [SECTOR, 2 * SECTOR];
/// Bytes in a commit slot: sequence, length, checksum.
pub const SLOT_LEN: usize = 24;

const _: () = assert!(FIXED_LEN == 64);
const _: () = assert!(FIXED_LEN <= SLOT_OFFSETS[0]);
const _: () = assert!(SLOT_OFFSETS[1] + SLOT_LEN <= HEADER_SIZE);

/// 64-bit FNV-1a, written here so the format needs no dependency.
#[must_use]
pub fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The FNV-1a offset basis.
const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// The layout and identity that a file's fixed header records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Application magic (`OpenOptions::magic`).
    pub app_magic: [u8; 8],
    /// Application data version (`OpenOptions::version`).
    pub app_version: u32,
    /// `size_of::<usize>()` of the writer.
    pub usize_width: u32,
    /// `size_of::<T>()`.
    pub elem_size: u64,
    /// `align_of::<T>()`.
    pub elem_align: u64,
}

impl Layout {
    /// The layout of element type `T` on this machine, with the given identity.
    #[must_use]
    pub fn of<T>(app_magic: [u8; 8], app_version: u32) -> Self {
        Layout {
            app_magic,
            app_version,
            usize_width: core::mem::size_of::<usize>() as u32,
            elem_size: core::mem::size_of::<T>() as u64,
            elem_align: core::mem::align_of::<T>() as u64,
        }
    }
}

/// One commit slot: the committed length and its sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Commit number; the valid slot with the highest one wins.
    pub seq: u64,
    /// Committed length, in elements.
    pub len: u64,
}

fn get_u32(buf: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[off..off + 4]);
    u32::from_ne_bytes(b)
}

fn get_u64(buf: &[u8], off: usize) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf[off..off + 8]);
    u64::from_ne_bytes(b)
}

fn put(buf: &mut [u8], off: usize, bytes: &[u8]) {
    buf[off..off + bytes.len()].copy_from_slice(bytes);
}

/// Writes the fixed header fields and their checksum into `buf[0..FIXED_LEN]`.
pub fn encode_fixed(buf: &mut [u8], layout: &Layout) {
    put(buf, OFF_FORMAT_MAGIC, &FORMAT_MAGIC);
    put(buf, OFF_APP_MAGIC, &layout.app_magic);
    put(buf, OFF_ENDIAN, &ENDIAN_MARKER.to_ne_bytes());
    put(buf, OFF_FORMAT_VERSION, &FORMAT_VERSION.to_ne_bytes());
    put(buf, OFF_APP_VERSION, &layout.app_version.to_ne_bytes());
    put(buf, OFF_USIZE_WIDTH, &layout.usize_width.to_ne_bytes());
    put(buf, OFF_ELEM_SIZE, &layout.elem_size.to_ne_bytes());
    put(buf, OFF_ELEM_ALIGN, &layout.elem_align.to_ne_bytes());
    put(buf, OFF_DATA_OFFSET, &(DATA_OFFSET as u64).to_ne_bytes());
    let sum = fnv1a(FNV_BASIS, &buf[..OFF_HEADER_SUM]);
    put(buf, OFF_HEADER_SUM, &sum.to_ne_bytes());
}

/// The header checksum stored in `buf` (which the slot checksums also cover).
#[must_use]
pub fn header_sum(buf: &[u8]) -> u64 {
    get_u64(buf, OFF_HEADER_SUM)
}

/// The checksum of a slot holding `slot`, bound to the header whose checksum is `header_sum`.
#[must_use]
pub fn slot_sum(header_sum: u64, slot: Slot) -> u64 {
    let h = fnv1a(FNV_BASIS, &slot.seq.to_ne_bytes());
    let h = fnv1a(h, &slot.len.to_ne_bytes());
    fnv1a(h, &header_sum.to_ne_bytes())
}

/// The 24 bytes of a slot holding `slot`, bound to the header checksum `header_sum`.
#[must_use]
pub fn encode_slot(header_sum: u64, slot: Slot) -> [u8; SLOT_LEN] {
    let mut out = [0u8; SLOT_LEN];
    out[0..8].copy_from_slice(&slot.seq.to_ne_bytes());
    out[8..16].copy_from_slice(&slot.len.to_ne_bytes());
    out[16..24].copy_from_slice(&slot_sum(header_sum, slot).to_ne_bytes());
    out
}

/// Decodes slot `which` (0 = A, 1 = B) of a header page; `None` when its checksum fails or it
/// lies past the end of `buf`.
#[must_use]
pub fn decode_slot(buf: &[u8], which: usize) -> Option<Slot> {
    let off = SLOT_OFFSETS[which];
    if buf.len() < off + SLOT_LEN || buf.len() < FIXED_LEN {
        return None;
    }
    let slot = Slot {
        seq: get_u64(buf, off),
        len: get_u64(buf, off + 8),
    };
    let sum = get_u64(buf, off + 16);
    (sum == slot_sum(header_sum(buf), slot)).then_some(slot)
}

/// What both slots of a header hold, and which one wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slots {
    /// Slot A and slot B, each `None` when invalid.
    pub slots: [Option<Slot>; 2],
}

impl Slots {
    /// Reads both slots of a header page.
    #[must_use]
    pub fn read(buf: &[u8]) -> Self {
        Slots {
            slots: [decode_slot(buf, 0), decode_slot(buf, 1)],
        }
    }

    /// The index (0 = A, 1 = B) of the valid slot with the highest sequence.
    #[must_use]
    pub fn winner(&self) -> Option<usize> {
        match self.slots {
            [Some(a), Some(b)] => Some(if b.seq > a.seq { 1 } else { 0 }),
            [Some(_), None] => Some(0),
            [None, Some(_)] => Some(1),
            [None, None] => None,
        }
    }

    /// The winning slot and its index.
    #[must_use]
    pub fn current(&self) -> Option<(usize, Slot)> {
        let w = self.winner()?;
        Some((w, self.slots[w]?))
    }
}

/// The fixed fields of a header as read from a file, validated up to the header checksum but
/// not yet compared with what the caller expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    /// The recorded layout and identity.
    pub layout: Layout,
    /// The format version (always [`FORMAT_VERSION`] once decoded).
    pub format_version: u32,
}

/// Decodes and validates the fixed header fields of `buf`, in the order `DESIGN.md` gives:
/// format magic, endianness marker, format version, header checksum, data offset. `buf`
/// must hold at least [`FIXED_LEN`] bytes; shorter input is `Corrupt` (or `BadMagic`).
pub fn decode_fixed(buf: &[u8]) -> Result<FixedHeader> {
    if buf.len() >= 8 && buf[..8] != FORMAT_MAGIC {
        return Err(Error::new(ErrorKind::BadMagic, "first 8 bytes"));
    }
    if buf.len() < FIXED_LEN {
        return Err(Error::value(
            ErrorKind::Corrupt,
            "file shorter than its header, bytes:",
            buf.len() as u64,
        ));
    }
    let endian = get_u32(buf, OFF_ENDIAN);
    if endian != ENDIAN_MARKER {
        return Err(if endian == ENDIAN_MARKER.swap_bytes() {
            Error::new(
                ErrorKind::WrongEndianness,
                "endianness marker is byte-swapped",
            )
        } else {
            Error::mismatch(
                ErrorKind::Corrupt,
                "endianness marker",
                u64::from(endian),
                u64::from(ENDIAN_MARKER),
            )
        });
    }
    let format_version = get_u32(buf, OFF_FORMAT_VERSION);
    if format_version != FORMAT_VERSION {
        return Err(Error::mismatch(
            ErrorKind::UnsupportedFormatVersion,
            "format version",
            u64::from(format_version),
            u64::from(FORMAT_VERSION),
        ));
    }
    let stored = get_u64(buf, OFF_HEADER_SUM);
    let computed = fnv1a(FNV_BASIS, &buf[..OFF_HEADER_SUM]);
    if stored != computed {
        return Err(Error::mismatch(
            ErrorKind::Corrupt,
            "header checksum",
            stored,
            computed,
        ));
    }
    let data_offset = get_u64(buf, OFF_DATA_OFFSET);
    if data_offset != DATA_OFFSET as u64 {
        return Err(Error::mismatch(
            ErrorKind::Corrupt,
            "data offset",
            data_offset,
            DATA_OFFSET as u64,
        ));
    }
    let mut app_magic = [0u8; 8];
    app_magic.copy_from_slice(&buf[OFF_APP_MAGIC..OFF_APP_MAGIC + 8]);
    Ok(FixedHeader {
        layout: Layout {
            app_magic,
            app_version: get_u32(buf, OFF_APP_VERSION),
            usize_width: get_u32(buf, OFF_USIZE_WIDTH),
            elem_size: get_u64(buf, OFF_ELEM_SIZE),
            elem_align: get_u64(buf, OFF_ELEM_ALIGN),
        },
        format_version,
    })
}

/// Compares a decoded header with what the caller expects, in the order `DESIGN.md` gives:
/// application magic, application version, usize width, element size, element alignment.
pub fn check_layout(found: &Layout, expected: &Layout) -> Result<()> {
    if found.app_magic != expected.app_magic {
        return Err(Error::mismatch(
            ErrorKind::MagicMismatch,
            "application magic (as big-endian u64)",
            u64::from_be_bytes(found.app_magic),
            u64::from_be_bytes(expected.app_magic),
        ));
    }
    if found.app_version != expected.app_version {
        return Err(Error::mismatch(
            ErrorKind::VersionMismatch,
            "application version",
            u64::from(found.app_version),
            u64::from(expected.app_version),
        ));
    }
    if found.usize_width != expected.usize_width {
        return Err(Error::mismatch(
            ErrorKind::LayoutMismatch,
            "usize width",
            u64::from(found.usize_width),
            u64::from(expected.usize_width),
        ));
    }
    if found.elem_size != expected.elem_size {
        return Err(Error::mismatch(
            ErrorKind::LayoutMismatch,
            "element size",
            found.elem_size,
            expected.elem_size,
        ));
    }
    if found.elem_align != expected.elem_align {
        return Err(Error::mismatch(
            ErrorKind::LayoutMismatch,
            "element alignment",
            found.elem_align,
            expected.elem_align,
        ));
    }
    Ok(())
}

/// Builds a complete header page for a new file: fixed fields, slot A holding an empty
/// commit with sequence 1, slot B and everything else zero.
#[must_use]
pub fn new_header_page(layout: &Layout) -> [u8; HEADER_SIZE] {
    let mut page = [0u8; HEADER_SIZE];
    encode_fixed(&mut page, layout);
    let slot = encode_slot(header_sum(&page), Slot { seq: 1, len: 0 });
    page[SLOT_OFFSETS[0]..SLOT_OFFSETS[0] + SLOT_LEN].copy_from_slice(&slot);
    page
}

/// Whether a file whose first bytes are `buf` is the remains of a creation of a file of
/// `layout` that a crash interrupted. Creation writes the header page in one 4096-byte
/// `pwrite` to an empty file, so a crash leaves it empty or exactly 4096 bytes long with some
/// of its 512-byte sectors still zero. So: the file is exactly one header page long (it never
/// held element data), and each sector is either all zero (not written yet) or exactly the
/// same sector of [`new_header_page`]`(layout)`. Such a file never held a commit, so treating
/// it as new loses nothing; any other file (a foreign one, another application's, one
/// truncated inside its header) is left alone and refused.
#[must_use]
pub fn is_interrupted_creation(buf: &[u8], file_size: u64, layout: &Layout) -> bool {
    if file_size != HEADER_SIZE as u64 || buf.len() != HEADER_SIZE {
        return false;
    }
    let page = new_header_page(layout);
    buf.chunks(SECTOR)
        .zip(page.chunks(SECTOR))
        .all(|(got, new)| got.iter().all(|&b| b == 0) || got == &new[..got.len()])
}

/// The number of whole elements of `elem_size` bytes that fit in a file of `file_size` bytes.
#[must_use]
pub fn capacity_of(file_size: u64, elem_size: u64) -> u64 {
    if elem_size == 0 {
        return 0;
    }
    file_size.saturating_sub(DATA_OFFSET as u64) / elem_size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::of::<u64>(*b"testtest", 7)
    }

    #[test]
    fn fnv_known_vectors() {
        assert_eq!(fnv1a(FNV_BASIS, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_BASIS, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_BASIS, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn roundtrip_header_and_slots() {
        let page = new_header_page(&layout());
        let fixed = decode_fixed(&page).unwrap();
        assert_eq!(fixed.layout, layout());
        check_layout(&fixed.layout, &layout()).unwrap();
        let slots = Slots::read(&page);
        assert_eq!(slots.slots[0], Some(Slot { seq: 1, len: 0 }));
        assert_eq!(slots.slots[1], None);
        assert_eq!(slots.winner(), Some(0));
    }

    #[test]
    fn highest_valid_sequence_wins() {
        let mut page = new_header_page(&layout());
        let hs = header_sum(&page);
        page[SLOT_OFFSETS[1]..][..SLOT_LEN]
            .copy_from_slice(&encode_slot(hs, Slot { seq: 2, len: 9 }));
        assert_eq!(
            Slots::read(&page).current(),
            Some((1, Slot { seq: 2, len: 9 }))
        );
        // Damage the newer slot: the older one wins.
        page[SLOT_OFFSETS[1] + 3] ^= 1;
        assert_eq!(
            Slots::read(&page).current(),
            Some((0, Slot { seq: 1, len: 0 }))
        );
    }

    #[test]
    fn slot_is_bound_to_its_header() {
        let a = new_header_page(&layout());
        let mut b = new_header_page(&Layout::of::<u32>(*b"testtest", 7));
        b[SLOT_OFFSETS[0]..][..SLOT_LEN].copy_from_slice(&a[SLOT_OFFSETS[0]..][..SLOT_LEN]);
        assert_eq!(Slots::read(&b).winner(), None);
    }

    #[test]
    fn validation_order_and_kinds() {
        let good = new_header_page(&layout());
        let mut p = good;
        p[0] = b'X';
        assert_eq!(decode_fixed(&p).unwrap_err().kind(), ErrorKind::BadMagic);
        let mut p = good;
        p[OFF_ENDIAN..OFF_ENDIAN + 4].copy_from_slice(&ENDIAN_MARKER.swap_bytes().to_ne_bytes());
        assert_eq!(
            decode_fixed(&p).unwrap_err().kind(),
            ErrorKind::WrongEndianness
        );
        let mut p = good;
        p[OFF_ENDIAN] ^= 0x40;
        assert_eq!(decode_fixed(&p).unwrap_err().kind(), ErrorKind::Corrupt);
        let mut p = good;
        p[OFF_FORMAT_VERSION..OFF_FORMAT_VERSION + 4].copy_from_slice(&2u32.to_ne_bytes());
        assert_eq!(
            decode_fixed(&p).unwrap_err().kind(),
            ErrorKind::UnsupportedFormatVersion
        );
        for i in OFF_APP_MAGIC..FIXED_LEN {
            if (OFF_ENDIAN..OFF_FORMAT_VERSION + 4).contains(&i) {
                continue;
            }
            let mut p = good;
            p[i] ^= 0x10;
            assert_eq!(
                decode_fixed(&p).unwrap_err().kind(),
                ErrorKind::Corrupt,
                "byte {i}"
            );
        }
        assert_eq!(
            decode_fixed(&good[..10]).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        assert_eq!(
            decode_fixed(&good[..5]).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
    }

    #[test]
    fn layout_checks_in_order() {
        let want = layout();
        let mut l = want;
        l.app_magic = *b"otherapp";
        l.elem_size = 4;
        assert_eq!(
            check_layout(&l, &want).unwrap_err().kind(),
            ErrorKind::MagicMismatch
        );
        let mut l = want;
        l.app_version = 8;
        assert_eq!(
            check_layout(&l, &want).unwrap_err().kind(),
            ErrorKind::VersionMismatch
        );
        for f in [
            |l: &mut Layout| l.usize_width = 4,
            |l: &mut Layout| l.elem_size = 4,
            |l: &mut Layout| l.elem_align = 4,
        ] {
            let mut l = want;
            f(&mut l);
            assert_eq!(
                check_layout(&l, &want).unwrap_err().kind(),
                ErrorKind::LayoutMismatch
            );
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "safe code; 256 header images take minutes interpreted")]
    fn interrupted_creation_is_recognised() {
        let l = layout();
        let page = new_header_page(&l);
        let zero = [0u8; HEADER_SIZE];
        assert!(is_interrupted_creation(&zero, 4096, &l));
        assert!(
            !is_interrupted_creation(&zero[..100], 100, &l),
            "shorter than a header"
        );
        assert!(
            !is_interrupted_creation(&page[..100], 100, &l),
            "truncated in its header"
        );
        assert!(
            !is_interrupted_creation(&zero, 8192, &l),
            "a file with data pages"
        );
        assert!(
            is_interrupted_creation(&page, 4096, &l),
            "the whole new header landed"
        );
        // Any subset of sectors landed.
        for mask in 0u8..=255 {
            let mut torn = [0u8; HEADER_SIZE];
            for s in 0..8 {
                if mask & (1 << s) != 0 {
                    torn[s * SECTOR..][..SECTOR].copy_from_slice(&page[s * SECTOR..][..SECTOR]);
                }
            }
            assert!(
                is_interrupted_creation(&torn, 4096, &l),
                "mask {mask:#010b}"
            );
        }
        let mut foreign = zero;
        foreign[700] = 1;
        assert!(
            !is_interrupted_creation(&foreign, 4096, &l),
            "foreign bytes"
        );
        let other = new_header_page(&Layout::of::<u32>(*b"testtest", 7));
        assert!(
            !is_interrupted_creation(&other, 4096, &l),
            "another layout's header"
        );
        let mut committed = page;
        let s = encode_slot(header_sum(&page), Slot { seq: 2, len: 0 });
        committed[SLOT_OFFSETS[1]..][..SLOT_LEN].copy_from_slice(&s);
        assert!(
            !is_interrupted_creation(&committed, 4096, &l),
            "a later commit"
        );
    }

    #[test]
    fn capacity_rounds_down() {
        assert_eq!(capacity_of(4096, 8), 0);
        assert_eq!(capacity_of(4096 + 17, 8), 2);
        assert_eq!(capacity_of(100, 8), 0);
        assert_eq!(capacity_of(8192, 0), 0);
    }
}
