//! The on-disk header: its layout, checksums, validation and encoding. Private: the format is
//! documented in `docs/design.md` ("On-disk format"), and a file is read through the public
//! API (`open`, `inspect`), so that a format change is never a change of this crate's API.
//!
//! Safe code only: it reads and writes byte buffers and never touches a file.
//!
//! Page 0 (bytes `0..4096`) is the header; element data starts at [`DATA_OFFSET`].
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
//! **Versions.** Every version begins with the format magic, the endianness marker and the
//! format version at the offsets above, so that any build can tell a file of another version
//! (or byte order) before it reads anything else. [`Header::decode`] reads those three, then
//! hands the page to the decoder of that version ([`v1`]); a format v2 adds its module and
//! one arm to that `match`, and [`Header::encode`] writes the newest.
//!
//! **Commit invariant**, in one sentence as LMDB states its own: *a commit writes the slot
//! that does not hold the newest valid commit, and only once that one is durable*, so the
//! newest durable commit is intact whatever happens to the sector being written. Each slot
//! sits in its own 512-byte sector (`docs/design.md`, "Commit").

use crate::error::{Error, ErrorKind, Result};

pub(crate) mod group;

/// Size of the header page; element data starts here.
pub(crate) const HEADER_SIZE: usize = 4096;
/// Byte offset of element 0 in the file (the header occupies the bytes before it).
pub(crate) const DATA_OFFSET: usize = HEADER_SIZE;
/// The first 8 bytes of every persistence file.
pub(crate) const FORMAT_MAGIC: [u8; 8] = *b"PERSISTV";
/// The endianness marker as the writer stores it.
pub(crate) const ENDIAN_MARKER: u32 = 0x0102_0304;
/// The format version this build writes. It reads 1 too.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// The largest element alignment the format supports (element data starts at 4096).
pub(crate) const MAX_ALIGN: usize = 4096;
/// The size of a disk sector, the unit a torn write damages; each slot has its own.
pub(crate) const SECTOR: usize = 512;
/// Byte offsets of commit slots A and B.
pub(crate) const SLOT_OFFSETS: [usize; 2] = [SECTOR, 2 * SECTOR];
/// Bytes in a commit slot: sequence, length, checksum.
pub(crate) const SLOT_LEN: usize = 24;
/// Words (`u64`) in a commit slot: sequence, length, checksum, in that order.
pub(crate) const SLOT_WORDS: usize = SLOT_LEN / 8;
/// The highest sequence number a commit slot may hold: 2^62. A slot whose checksum matches
/// but whose sequence is 0 or above this is not one a writer wrote (a writer starts at 1 and
/// refuses to commit past this, after 4.6 * 10^18 commits) and counts as damaged, so no
/// arithmetic on a sequence read from a file can overflow (`docs/design.md`, "Commit slots").
pub(crate) const MAX_SEQUENCE: u64 = 1 << 62;

// The fields every version shares, each offset built from the one before it.
const OFF_FORMAT_MAGIC: usize = 0;
const OFF_APP_MAGIC: usize = OFF_FORMAT_MAGIC + 8;
const OFF_ENDIAN: usize = OFF_APP_MAGIC + 8;
const OFF_FORMAT_VERSION: usize = OFF_ENDIAN + 4;
/// Bytes every version begins with (format magic, application magic, endianness marker,
/// format version): a buffer shorter than this is `Corrupt` before any version is known.
const SHARED_LEN: usize = OFF_FORMAT_VERSION + 4;

/// A buffer too short for the header it begins.
fn short(buf: &[u8]) -> Error {
    Error::value(
        ErrorKind::Corrupt,
        "file shorter than its header, bytes:",
        buf.len() as u64,
    )
}

const _: () = assert!(SLOT_OFFSETS[1] + SLOT_LEN <= HEADER_SIZE);
const _: () = assert!(SLOT_OFFSETS[0] % 8 == 0 && SLOT_OFFSETS[1] % 8 == 0);

/// The byte offset, in the header page, of word `word` (0: sequence, 1: length, 2:
/// checksum) of slot `slot` (0 = A, 1 = B): 8-byte aligned, for a reader that loads slot
/// words from a mapping.
pub(crate) const fn slot_word_offset(slot: usize, word: usize) -> usize {
    SLOT_OFFSETS[slot] + 8 * word
}

/// `DATA_OFFSET + len * elem_size`: the file size that holds `len` elements, or `None` when
/// it does not fit a `u64`.
pub(crate) fn data_end(len: u64, elem_size: u64) -> Option<u64> {
    len.checked_mul(elem_size)?.checked_add(DATA_OFFSET as u64)
}

/// The FNV-1a offset basis.
const FNV_BASIS: u64 = 0xcbf2_9ce4_8422_2325;

/// 64-bit FNV-1a continued from `hash` (start from [`FNV_BASIS`]), written here so the
/// format needs no dependency.
fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// Reads the fields every version begins with, in the order `docs/design.md` gives: format
/// magic (`BadMagic`), endianness marker (`WrongEndianness` when byte-swapped and `foreign`
/// is false, `Corrupt` when neither order), and returns the byte order and format version.
fn decode_prefix(buf: &[u8], foreign: bool) -> Result<(ByteOrder, u32)> {
    if buf.len() >= 8 && buf[..8] != FORMAT_MAGIC {
        return Err(Error::new(ErrorKind::BadMagic, "first 8 bytes"));
    }
    if buf.len() < SHARED_LEN {
        return Err(short(buf));
    }
    let marker = ByteOrder::Native.u32_at(buf, OFF_ENDIAN);
    let order = if marker == ENDIAN_MARKER {
        ByteOrder::Native
    } else if marker == ENDIAN_MARKER.swap_bytes() {
        if !foreign {
            return Err(Error::new(
                ErrorKind::WrongEndianness,
                "endianness marker is byte-swapped",
            ));
        }
        ByteOrder::Swapped
    } else {
        return Err(Error::mismatch(
            ErrorKind::Corrupt,
            "endianness marker",
            u64::from(marker),
            u64::from(ENDIAN_MARKER),
        ));
    };
    Ok((order, order.u32_at(buf, OFF_FORMAT_VERSION)))
}

/// A format version this build does not read.
fn unsupported(version: u32) -> Error {
    Error::mismatch(
        ErrorKind::UnsupportedFormatVersion,
        "format version",
        u64::from(version),
        u64::from(FORMAT_VERSION),
    )
}

/// The byte order a file's integers (checksums included) are stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ByteOrder {
    /// This machine's.
    Native,
    /// The other one: the file was written on a machine of the other byte order.
    Swapped,
}

impl ByteOrder {
    fn u32_at(self, buf: &[u8], off: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&buf[off..off + 4]);
        match self {
            ByteOrder::Native => u32::from_ne_bytes(b),
            ByteOrder::Swapped => u32::from_ne_bytes(b).swap_bytes(),
        }
    }

    fn u64_at(self, buf: &[u8], off: usize) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&buf[off..off + 8]);
        match self {
            ByteOrder::Native => u64::from_ne_bytes(b),
            ByteOrder::Swapped => u64::from_ne_bytes(b).swap_bytes(),
        }
    }

    fn u64_bytes(self, v: u64) -> [u8; 8] {
        match self {
            ByteOrder::Native => v.to_ne_bytes(),
            ByteOrder::Swapped => v.swap_bytes().to_ne_bytes(),
        }
    }
}

/// The layout and identity that a file's header records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Application magic (`OpenOptions::magic`).
    pub(crate) app_magic: [u8; 8],
    /// Application data version (`OpenOptions::version`).
    pub(crate) app_version: u32,
    /// `size_of::<usize>()` of the writer.
    pub(crate) usize_width: u32,
    /// `size_of::<T>()`.
    pub(crate) elem_size: u64,
    /// `align_of::<T>()`.
    pub(crate) elem_align: u64,
    /// `T::FINGERPRINT`'s bits (0: unknown, as in every version-1 file).
    pub(crate) elem_fingerprint: u64,
}

impl Layout {
    /// The layout of element type `T` on this machine, with the given identity and the
    /// fingerprint `fingerprint` (`T::FINGERPRINT`'s bits; 0 for none).
    pub(crate) fn of<T>(app_magic: [u8; 8], app_version: u32, fingerprint: u64) -> Self {
        Layout {
            app_magic,
            app_version,
            usize_width: core::mem::size_of::<usize>() as u32,
            elem_size: core::mem::size_of::<T>() as u64,
            elem_align: core::mem::align_of::<T>() as u64,
            elem_fingerprint: fingerprint,
        }
    }

    /// Compares this (a file's) layout with what the caller expects, in the order
    /// `docs/design.md` gives: application magic, application version, usize width, element
    /// size, element alignment, element type fingerprint (only when both are known).
    pub(crate) fn check(&self, expected: &Layout) -> Result<()> {
        let found = self;
        if found.app_magic != expected.app_magic {
            return Err(Error::magics(found.app_magic, expected.app_magic));
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
        let (f, e) = (found.elem_fingerprint, expected.elem_fingerprint);
        if f != 0 && e != 0 && f != e {
            return Err(Error::fingerprints(f, e));
        }
        Ok(())
    }
}

/// One commit slot: the committed length and its sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// Commit number; the valid slot with the highest one wins.
    pub(crate) seq: u64,
    /// Committed length, in elements.
    pub(crate) len: u64,
}

/// A commit slot as it lies in a header: its numbers as found (untrusted unless `valid`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredSlot {
    /// The sequence and length the slot's bytes hold.
    pub(crate) slot: Slot,
    /// Its checksum matches and its sequence is in `1..=MAX_SEQUENCE` (so `slot` is what a
    /// writer wrote).
    pub(crate) valid: bool,
    /// All 24 bytes are zero: never written (or past the end of a short file).
    pub(crate) blank: bool,
}

impl StoredSlot {
    const BLANK: StoredSlot = StoredSlot {
        slot: Slot { seq: 0, len: 0 },
        valid: false,
        blank: true,
    };
}

/// A header page, decoded and validated: the fixed fields (checked against themselves and
/// their checksum, not yet against what the caller expects) and both commit slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// The recorded layout and identity.
    pub(crate) layout: Layout,
    /// The format version the file was written in.
    pub(crate) format_version: u32,
    /// The byte order the file was written in.
    pub(crate) order: ByteOrder,
    /// The header checksum, which every slot checksum covers.
    sum: u64,
    /// Slots A and B.
    slots: [StoredSlot; 2],
}

impl Header {
    /// The header of a new file of `layout`, in this machine's byte order and the newest
    /// format version: slot A holds an empty commit with sequence 1, slot B is blank.
    pub(crate) fn new(layout: Layout) -> Header {
        let mut page = [0u8; HEADER_SIZE];
        let sum = v2::encode_fixed(&mut page, &layout);
        let mut h = Header {
            layout,
            format_version: FORMAT_VERSION,
            order: ByteOrder::Native,
            sum,
            slots: [StoredSlot::BLANK; 2],
        };
        h.slots[0] = StoredSlot {
            slot: Slot { seq: 1, len: 0 },
            valid: true,
            blank: false,
        };
        h
    }

    /// This header with `slot` in slot A (and slot B blank): the header of a file whose one
    /// commit is `slot`, as a conversion writes it.
    pub(crate) fn with_commit(mut self, slot: Slot) -> Header {
        self.slots = [
            StoredSlot {
                slot,
                valid: true,
                blank: false,
            },
            StoredSlot::BLANK,
        ];
        self
    }

    /// The whole header page, as [`new`](Self::new) or a decode describes it (native byte
    /// order only: this build never writes a foreign file).
    pub(crate) fn encode(&self) -> [u8; HEADER_SIZE] {
        debug_assert_eq!(self.order, ByteOrder::Native);
        let mut page = [0u8; HEADER_SIZE];
        let sum = match self.format_version {
            1 => v1::encode_fixed(&mut page, &self.layout),
            _ => v2::encode_fixed(&mut page, &self.layout),
        };
        debug_assert_eq!(sum, self.sum);
        for (which, s) in self.slots.iter().enumerate() {
            if s.valid {
                page[SLOT_OFFSETS[which]..][..SLOT_LEN].copy_from_slice(&self.encode_slot(s.slot));
            }
        }
        page
    }

    /// Decodes and validates a header page (or the first bytes of a file: `buf` may be
    /// shorter than a page), in the order `DESIGN.md` gives: format magic (`BadMagic`),
    /// endianness marker (`WrongEndianness` when byte-swapped and `foreign` is false,
    /// `Corrupt` when neither order), format version (`UnsupportedFormatVersion`), then the
    /// version's own fields: header checksum, data offset, element size and alignment
    /// (`Corrupt`). A file of 8 bytes or more whose first 8 bytes are not the format magic is
    /// `BadMagic`; a shorter one, or one shorter than its fixed fields, is `Corrupt`.
    ///
    /// With `foreign`, a file written on a machine of the other byte order is decoded too
    /// (its [`order`](Self::order) says so); all its integers and checksums are in that
    /// order, as stored.
    pub(crate) fn decode(buf: &[u8], foreign: bool) -> Result<Header> {
        let (order, version) = decode_prefix(buf, foreign)?;
        match version {
            1 => v1::decode(buf, order),
            2 => v2::decode(buf, order),
            // A format v3 joins here: `3 => v3::decode(buf, order),`.
            other => Err(unsupported(other)),
        }
    }

    /// The header checksum as stored, which every slot checksum covers.
    pub(crate) fn checksum(&self) -> u64 {
        self.sum
    }

    /// Slots A and B as they lie in the header.
    pub(crate) fn slots(&self) -> [StoredSlot; 2] {
        self.slots
    }

    /// The index (0 = A, 1 = B) and contents of the valid slot with the highest sequence.
    pub(crate) fn winner(&self) -> Option<(usize, Slot)> {
        let [a, b] = self.slots;
        match (a.valid, b.valid) {
            (true, true) if b.slot.seq > a.slot.seq => Some((1, b.slot)),
            (true, _) => Some((0, a.slot)),
            (false, true) => Some((1, b.slot)),
            (false, false) => None,
        }
    }

    /// The committed slot of a file of `file_size` bytes with this header: the winner, whose
    /// length must fit in the file. `Corrupt` when no slot is valid or the length does not
    /// fit (the file was truncated, or the slot lies).
    pub(crate) fn committed(&self, file_size: u64) -> Result<(usize, Slot)> {
        let (which, slot) = self.winner().ok_or(Error::new(
            ErrorKind::Corrupt,
            "no valid commit slot (no commit yet, or both slots damaged)",
        ))?;
        // The bytes the committed length covers (u64::MAX when that overflows).
        let need = data_end(slot.len, self.layout.elem_size).unwrap_or(u64::MAX);
        if need > file_size {
            return Err(Error::mismatch(
                ErrorKind::Corrupt,
                "file size in bytes for the committed length",
                file_size,
                need,
            ));
        }
        Ok((which, slot))
    }

    /// The 24 bytes of a slot holding `slot` in this header: sequence, length, and the
    /// checksum over their stored bytes and the header checksum's.
    pub(crate) fn encode_slot(&self, slot: Slot) -> [u8; SLOT_LEN] {
        encode_slot(self.order, self.sum, slot)
    }
}

/// A slot's bytes in `order`, bound to the header checksum `header_sum`.
pub(crate) fn encode_slot(order: ByteOrder, header_sum: u64, slot: Slot) -> [u8; SLOT_LEN] {
    let mut out = [0u8; SLOT_LEN];
    out[0..8].copy_from_slice(&order.u64_bytes(slot.seq));
    out[8..16].copy_from_slice(&order.u64_bytes(slot.len));
    let sum = fnv1a(FNV_BASIS, &out[0..16]);
    let sum = fnv1a(sum, &order.u64_bytes(header_sum));
    out[16..24].copy_from_slice(&order.u64_bytes(sum));
    out
}

/// The three words of a slot's bytes (sequence, length, checksum) read as this machine's
/// `u64`s, as a live reader loads them from a mapping: not validated (see
/// [`slot_words_valid`]).
pub(crate) fn slot_words(bytes: &[u8; SLOT_LEN]) -> [u64; SLOT_WORDS] {
    let w = |k: usize| ByteOrder::Native.u64_at(bytes, k * 8);
    [w(0), w(1), w(2)]
}

/// Stores `words` (as [`slot_words`] read them) as slot `which` of `page`.
pub(crate) fn put_slot_words(page: &mut [u8; HEADER_SIZE], which: usize, words: &[u64; 3]) {
    for (k, w) in words.iter().enumerate() {
        let at = slot_word_offset(which, k);
        page[at..at + 8].copy_from_slice(&w.to_ne_bytes());
    }
}

/// Whether the words of a slot as stored (read as this machine's `u64`s, [`slot_words`]) are
/// a valid slot of a file in byte order `order` whose header checksum is `header_sum`.
pub(crate) fn stored_slot_valid(order: ByteOrder, header_sum: u64, words: &[u64; 3]) -> bool {
    let mut bytes = [0u8; SLOT_LEN];
    for (k, w) in words.iter().enumerate() {
        bytes[k * 8..k * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    let slot = Slot {
        seq: order.u64_at(&bytes, 0),
        len: order.u64_at(&bytes, 8),
    };
    sequence_in_range(slot.seq) && encode_slot(order, header_sum, slot) == bytes
}

/// Whether the three words of a slot of a native-order file (sequence, length, checksum, as
/// a reader loads them from the file as `u64`s) are a valid slot of a header whose checksum
/// is `header_sum`: the checksum word matches the other two, and the sequence is in range.
pub(crate) fn slot_words_valid(header_sum: u64, words: &[u64; SLOT_WORDS]) -> bool {
    stored_slot_valid(ByteOrder::Native, header_sum, words)
}

/// Whether a slot may hold `seq`: `1..=MAX_SEQUENCE` (see [`MAX_SEQUENCE`]).
pub(crate) const fn sequence_in_range(seq: u64) -> bool {
    seq >= 1 && seq <= MAX_SEQUENCE
}

/// Checks an element size and alignment read from a file before any arithmetic trusts them:
/// no element type has a size of 0, or an alignment that is not a power of two up to 4096.
fn check_element(size: u64, align: u64) -> Result<()> {
    if size == 0 {
        return Err(Error::new(ErrorKind::Corrupt, "element size 0"));
    }
    if !align.is_power_of_two() || align > MAX_ALIGN as u64 {
        return Err(Error::value(
            ErrorKind::Corrupt,
            "element alignment is not a power of two up to 4096:",
            align,
        ));
    }
    Ok(())
}

/// Compares a header checksum as stored with the one computed over the fixed fields.
fn check_header_sum(stored: u64, fixed: &[u8]) -> Result<()> {
    let computed = fnv1a(FNV_BASIS, fixed);
    if stored != computed {
        return Err(Error::checksums("header checksum", stored, computed));
    }
    Ok(())
}

/// Both slots of a vector's header page, as they lie there: each valid when its checksum
/// (bound to the header checksum `sum`) matches and its sequence is in range; blank when all
/// zero, or past the end of a short buffer.
fn decode_slots(buf: &[u8], order: ByteOrder, sum: u64) -> [StoredSlot; 2] {
    let mut slots = [StoredSlot::BLANK; 2];
    for (which, stored) in slots.iter_mut().enumerate() {
        let off = SLOT_OFFSETS[which];
        let Some(bytes) = buf.get(off..off + SLOT_LEN) else {
            continue; // Past the end of a short file: blank and invalid.
        };
        let slot = Slot {
            seq: order.u64_at(bytes, 0),
            len: order.u64_at(bytes, 8),
        };
        *stored = StoredSlot {
            slot,
            valid: sequence_in_range(slot.seq) && encode_slot(order, sum, slot) == *bytes,
            blank: bytes.iter().all(|&b| b == 0),
        };
    }
    slots
}

/// The application magic at its offset, shared by every version.
fn app_magic(buf: &[u8]) -> [u8; 8] {
    let mut m = [0u8; 8];
    m.copy_from_slice(&buf[OFF_APP_MAGIC..OFF_APP_MAGIC + 8]);
    m
}

/// Format version 1 (written until the element type fingerprint came): the fixed fields
/// after the shared prefix, and the slots.
mod v1 {
    use super::*;

    const OFF_APP_VERSION: usize = OFF_FORMAT_VERSION + 4;
    const OFF_USIZE_WIDTH: usize = OFF_APP_VERSION + 4;
    const OFF_ELEM_SIZE: usize = OFF_USIZE_WIDTH + 4;
    const OFF_ELEM_ALIGN: usize = OFF_ELEM_SIZE + 8;
    const OFF_DATA_OFFSET: usize = OFF_ELEM_ALIGN + 8;
    const OFF_HEADER_SUM: usize = OFF_DATA_OFFSET + 8;
    /// Bytes `0..FIXED_LEN` are the fixed fields including their checksum.
    pub(super) const FIXED_LEN: usize = OFF_HEADER_SUM + 8;

    const _: () = assert!(FIXED_LEN == 64);
    const _: () = assert!(FIXED_LEN <= SLOT_OFFSETS[0]);

    /// Writes the fixed fields and their checksum into `page[0..FIXED_LEN]` (native byte
    /// order); returns the checksum. Only for a header decoded from a version-1 file (and
    /// the tests): new files are version 2.
    pub(super) fn encode_fixed(page: &mut [u8; HEADER_SIZE], layout: &Layout) -> u64 {
        let mut put =
            |off: usize, bytes: &[u8]| page[off..off + bytes.len()].copy_from_slice(bytes);
        put(OFF_FORMAT_MAGIC, &FORMAT_MAGIC);
        put(OFF_APP_MAGIC, &layout.app_magic);
        put(OFF_ENDIAN, &ENDIAN_MARKER.to_ne_bytes());
        put(OFF_FORMAT_VERSION, &1u32.to_ne_bytes());
        put(OFF_APP_VERSION, &layout.app_version.to_ne_bytes());
        put(OFF_USIZE_WIDTH, &layout.usize_width.to_ne_bytes());
        put(OFF_ELEM_SIZE, &layout.elem_size.to_ne_bytes());
        put(OFF_ELEM_ALIGN, &layout.elem_align.to_ne_bytes());
        put(OFF_DATA_OFFSET, &(DATA_OFFSET as u64).to_ne_bytes());
        let sum = fnv1a(FNV_BASIS, &page[..OFF_HEADER_SUM]);
        page[OFF_HEADER_SUM..FIXED_LEN].copy_from_slice(&sum.to_ne_bytes());
        sum
    }

    /// Decodes a version-1 header whose shared prefix [`Header::decode`] has checked. Its
    /// element type fingerprint is unknown (0).
    pub(super) fn decode(buf: &[u8], order: ByteOrder) -> Result<Header> {
        if buf.len() < FIXED_LEN {
            return Err(short(buf));
        }
        let sum = order.u64_at(buf, OFF_HEADER_SUM);
        check_header_sum(sum, &buf[..OFF_HEADER_SUM])?;
        let data_offset = order.u64_at(buf, OFF_DATA_OFFSET);
        if data_offset != DATA_OFFSET as u64 {
            return Err(Error::mismatch(
                ErrorKind::Corrupt,
                "data offset",
                data_offset,
                DATA_OFFSET as u64,
            ));
        }
        let layout = Layout {
            app_magic: app_magic(buf),
            app_version: order.u32_at(buf, OFF_APP_VERSION),
            usize_width: order.u32_at(buf, OFF_USIZE_WIDTH),
            elem_size: order.u64_at(buf, OFF_ELEM_SIZE),
            elem_align: order.u64_at(buf, OFF_ELEM_ALIGN),
            elem_fingerprint: 0,
        };
        check_element(layout.elem_size, layout.elem_align)?;
        Ok(Header {
            layout,
            format_version: 1,
            order,
            sum,
            slots: decode_slots(buf, order, sum),
        })
    }
}

/// Format version 2: the element type fingerprint, and room for the columns of a commit
/// group. A vector file is the one-column case (`docs/design.md`, "On-disk format").
mod v2 {
    use super::*;

    pub(super) const OFF_APP_VERSION: usize = OFF_FORMAT_VERSION + 4;
    pub(super) const OFF_USIZE_WIDTH: usize = OFF_APP_VERSION + 4;
    pub(super) const OFF_KIND: usize = OFF_USIZE_WIDTH + 4;
    pub(super) const OFF_COLUMNS: usize = OFF_KIND + 4;
    pub(super) const OFF_DATA_OFFSET: usize = OFF_COLUMNS + 4;
    pub(super) const OFF_BLOCK: usize = OFF_DATA_OFFSET + 8;
    /// Column `c`'s element size, alignment and fingerprint (8 bytes each) start here.
    pub(super) const OFF_COLUMN0: usize = OFF_BLOCK + 8;
    /// Bytes per column: element size, alignment, fingerprint.
    pub(super) const COLUMN_LEN: usize = 24;
    /// `kind` of a vector file.
    pub(super) const KIND_VECTOR: u32 = 0;
    /// `kind` of a commit group's file.
    pub(super) const KIND_GROUP: u32 = 1;

    /// Where the header checksum lies for `columns` columns (the fixed fields end there).
    pub(super) const fn sum_at(columns: usize) -> usize {
        OFF_COLUMN0 + COLUMN_LEN * columns
    }

    /// Bytes `0..fixed_len(n)` are the fixed fields of a file of `n` columns, checksum
    /// included.
    pub(super) const fn fixed_len(columns: usize) -> usize {
        sum_at(columns) + 8
    }

    const _: () = assert!(fixed_len(1) == 88);

    /// Writes a vector's fixed fields and their checksum (native byte order); returns the
    /// checksum.
    pub(super) fn encode_fixed(page: &mut [u8; HEADER_SIZE], layout: &Layout) -> u64 {
        let mut put =
            |off: usize, bytes: &[u8]| page[off..off + bytes.len()].copy_from_slice(bytes);
        put(OFF_FORMAT_MAGIC, &FORMAT_MAGIC);
        put(OFF_APP_MAGIC, &layout.app_magic);
        put(OFF_ENDIAN, &ENDIAN_MARKER.to_ne_bytes());
        put(OFF_FORMAT_VERSION, &2u32.to_ne_bytes());
        put(OFF_APP_VERSION, &layout.app_version.to_ne_bytes());
        put(OFF_USIZE_WIDTH, &layout.usize_width.to_ne_bytes());
        put(OFF_KIND, &KIND_VECTOR.to_ne_bytes());
        put(OFF_COLUMNS, &1u32.to_ne_bytes());
        put(OFF_DATA_OFFSET, &(DATA_OFFSET as u64).to_ne_bytes());
        put(OFF_BLOCK, &0u64.to_ne_bytes());
        put(OFF_COLUMN0, &layout.elem_size.to_ne_bytes());
        put(OFF_COLUMN0 + 8, &layout.elem_align.to_ne_bytes());
        put(OFF_COLUMN0 + 16, &layout.elem_fingerprint.to_ne_bytes());
        let sum = fnv1a(FNV_BASIS, &page[..sum_at(1)]);
        page[sum_at(1)..fixed_len(1)].copy_from_slice(&sum.to_ne_bytes());
        sum
    }

    /// Decodes a version-2 vector header whose shared prefix [`Header::decode`] has checked:
    /// the kind and column count first (so that the checksum's place is known), then the
    /// checksum, then the data offset and the element's size and alignment.
    pub(super) fn decode(buf: &[u8], order: ByteOrder) -> Result<Header> {
        if buf.len() < fixed_len(1) {
            return Err(short(buf));
        }
        match order.u32_at(buf, OFF_KIND) {
            KIND_VECTOR => {}
            KIND_GROUP => {
                return Err(Error::new(
                    ErrorKind::WrongFileKind,
                    "the file holds a commit group (open it with open_group), not one vector",
                ))
            }
            other => {
                return Err(Error::value(
                    ErrorKind::Corrupt,
                    "file kind",
                    u64::from(other),
                ))
            }
        }
        let columns = order.u32_at(buf, OFF_COLUMNS);
        if columns != 1 {
            return Err(Error::value(
                ErrorKind::Corrupt,
                "column count of a vector file (1 expected):",
                u64::from(columns),
            ));
        }
        let sum = order.u64_at(buf, sum_at(1));
        check_header_sum(sum, &buf[..sum_at(1)])?;
        let data_offset = order.u64_at(buf, OFF_DATA_OFFSET);
        if data_offset != DATA_OFFSET as u64 || order.u64_at(buf, OFF_BLOCK) != 0 {
            return Err(Error::mismatch(
                ErrorKind::Corrupt,
                "data offset",
                data_offset,
                DATA_OFFSET as u64,
            ));
        }
        let layout = Layout {
            app_magic: app_magic(buf),
            app_version: order.u32_at(buf, OFF_APP_VERSION),
            usize_width: order.u32_at(buf, OFF_USIZE_WIDTH),
            elem_size: order.u64_at(buf, OFF_COLUMN0),
            elem_align: order.u64_at(buf, OFF_COLUMN0 + 8),
            elem_fingerprint: order.u64_at(buf, OFF_COLUMN0 + 16),
        };
        check_element(layout.elem_size, layout.elem_align)?;
        Ok(Header {
            layout,
            format_version: 2,
            order,
            sum,
            slots: decode_slots(buf, order, sum),
        })
    }
}

/// Whether a file holds no commit yet, so that it is a file no vector or group was created
/// in (`docs/design.md`, "Creation", states the rule; every open and `inspect` apply it
/// through this one function): it is empty, or it is exactly one header page that a
/// creation, interrupted by a crash, left. A creation writes the whole page with one
/// `pwrite` to an empty file, and of that page only sector 0 (the fixed fields) and sector 1
/// (slot A: sequence 1, every length 0) hold anything, so a crash can leave each of them
/// written or still zero, and nothing else. So: every sector past the second is zero;
/// sector 0 is zero or a header's fixed fields (a vector's or a group's, of any layout, with
/// a matching checksum); sector 1 is zero or slot A of a new file (sequence 1, lengths 0);
/// and the page holds no valid slot (with both written it is a created, empty file, which a
/// live reader may have mapped and a writer must not create again).
pub(crate) fn is_uncreated(buf: &[u8], file_size: u64) -> bool {
    if file_size == 0 {
        return true;
    }
    if file_size != HEADER_SIZE as u64 || buf.len() != HEADER_SIZE {
        return false;
    }
    let zero = |r: core::ops::Range<usize>| buf[r].iter().all(|&b| b == 0);
    if !zero(2 * SECTOR..HEADER_SIZE) {
        return false;
    }
    let fixed_ok = zero(0..SECTOR)
        || match Header::decode(buf, false) {
            Ok(h) => h.winner().is_none(),
            Err(e) if e.kind() == ErrorKind::WrongFileKind => {
                group::GroupHeader::decode(buf, false).is_ok_and(|h| h.winner().is_none())
            }
            Err(_) => false,
        };
    // Slot A of a new file: sequence 1, every length 0 (a group's table checksum is then
    // the checksum of no entry), whatever its checksum word (bound to a header that may not
    // have landed).
    let slot = &buf[SECTOR..2 * SECTOR];
    let word = |i: usize| ByteOrder::Native.u64_at(slot, 8 * i);
    let new_vector_slot = word(0) == 1 && word(1) == 0 && zero(SECTOR + SLOT_LEN..2 * SECTOR);
    let new_group_slot = word(0) == 1
        && (1..=group::MAX_COLUMNS).all(|i| word(i) == 0)
        && word(group::MAX_COLUMNS + 1) == FNV_BASIS
        && zero(SECTOR + group::SLOT_LEN..2 * SECTOR);
    fixed_ok && (zero(SECTOR..2 * SECTOR) || new_vector_slot || new_group_slot)
}

/// The number of whole elements of `elem_size` bytes that fit in a file of `file_size` bytes.
pub(crate) fn capacity_of(file_size: u64, elem_size: u64) -> u64 {
    if elem_size == 0 {
        return 0;
    }
    file_size.saturating_sub(DATA_OFFSET as u64) / elem_size
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout::of::<u64>(*b"testtest", 7, 0x1234_5678_9abc_def0)
    }

    /// The page a version-1 writer made for `layout` (slot A: sequence 1, length 0).
    fn v1_page(layout: Layout) -> [u8; HEADER_SIZE] {
        let mut page = [0u8; HEADER_SIZE];
        let sum = v1::encode_fixed(&mut page, &layout);
        let slot = encode_slot(ByteOrder::Native, sum, Slot { seq: 1, len: 0 });
        page[SLOT_OFFSETS[0]..][..SLOT_LEN].copy_from_slice(&slot);
        page
    }

    fn page() -> [u8; HEADER_SIZE] {
        Header::new(layout()).encode()
    }

    fn decode(buf: &[u8]) -> Result<Header> {
        Header::decode(buf, false)
    }

    fn put_slot(page: &mut [u8], which: usize, slot: Slot) {
        let bytes = decode(page).unwrap().encode_slot(slot);
        page[SLOT_OFFSETS[which]..][..SLOT_LEN].copy_from_slice(&bytes);
    }

    #[test]
    fn fnv_known_vectors() {
        assert_eq!(fnv1a(FNV_BASIS, b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(FNV_BASIS, b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(FNV_BASIS, b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn roundtrip_header_and_slots() {
        let page = page();
        let h = decode(&page).unwrap();
        assert_eq!(h, Header::new(layout()));
        assert_eq!(h.encode(), page);
        h.layout.check(&layout()).unwrap();
        assert_eq!(h.winner(), Some((0, Slot { seq: 1, len: 0 })));
        assert!(h.slots()[1].blank && !h.slots()[1].valid);
    }

    #[test]
    fn highest_valid_sequence_wins_and_must_fit() {
        let mut page = page();
        put_slot(&mut page, 1, Slot { seq: 2, len: 9 });
        let h = decode(&page).unwrap();
        assert_eq!(h.winner(), Some((1, Slot { seq: 2, len: 9 })));
        assert_eq!(h.committed(4096 + 72).unwrap().1.len, 9);
        assert_eq!(
            h.committed(4096 + 71).unwrap_err().kind(),
            ErrorKind::Corrupt
        );
        // Damage the newer slot: the older one wins.
        page[SLOT_OFFSETS[1] + 3] ^= 1;
        let h = decode(&page).unwrap();
        assert_eq!(h.winner(), Some((0, Slot { seq: 1, len: 0 })));
        let s = h.slots()[1];
        assert!(!s.valid && !s.blank);
        // Both damaged: no commit.
        page[SLOT_OFFSETS[0] + 3] ^= 1;
        let h = decode(&page).unwrap();
        assert_eq!(h.committed(1 << 20).unwrap_err().kind(), ErrorKind::Corrupt);
    }

    #[test]
    fn slot_is_bound_to_its_header() {
        let a = page();
        let mut b = Header::new(Layout::of::<u32>(*b"testtest", 7, 0)).encode();
        b[SLOT_OFFSETS[0]..][..SLOT_LEN].copy_from_slice(&a[SLOT_OFFSETS[0]..][..SLOT_LEN]);
        assert_eq!(decode(&b).unwrap().winner(), None);
    }

    #[test]
    fn a_foreign_header_decodes_only_when_asked_and_its_slots_validate() {
        // The same header as written on a machine of the other byte order: every integer
        // swapped, both checksums recomputed over the bytes as stored.
        let native = page();
        let mut page = native;
        for (off, len) in [
            (16, 4),
            (20, 4),
            (24, 4),
            (28, 4),
            (32, 4),
            (36, 4),
            (40, 8),
            (48, 8),
            (56, 8),
            (64, 8),
            (72, 8),
        ] {
            page[off..off + len].reverse();
        }
        let sum = fnv1a(FNV_BASIS, &page[..80]);
        page[80..88].copy_from_slice(&sum.swap_bytes().to_ne_bytes());
        let slot = encode_slot(ByteOrder::Swapped, sum, Slot { seq: 1, len: 0 });
        page[SLOT_OFFSETS[0]..][..SLOT_LEN].copy_from_slice(&slot);
        assert_eq!(
            decode(&page).unwrap_err().kind(),
            ErrorKind::WrongEndianness
        );
        let h = Header::decode(&page, true).unwrap();
        assert_eq!(h.order, ByteOrder::Swapped);
        assert_eq!(h.layout, layout());
        assert_eq!(h.winner(), Some((0, Slot { seq: 1, len: 0 })));
        // A native page decodes the same either way.
        assert_eq!(
            Header::decode(&native, true).unwrap().order,
            ByteOrder::Native
        );
    }

    #[test]
    fn validation_order_and_kinds() {
        let good = page();
        let mut p = good;
        p[0] = b'X';
        assert_eq!(decode(&p).unwrap_err().kind(), ErrorKind::BadMagic);
        let mut p = good;
        p[OFF_ENDIAN..OFF_ENDIAN + 4].copy_from_slice(&ENDIAN_MARKER.swap_bytes().to_ne_bytes());
        assert_eq!(decode(&p).unwrap_err().kind(), ErrorKind::WrongEndianness);
        let mut p = good;
        p[OFF_ENDIAN] ^= 0x40;
        assert_eq!(decode(&p).unwrap_err().kind(), ErrorKind::Corrupt);
        for version in [0u32, 3, 1 << 16] {
            let mut p = good;
            p[OFF_FORMAT_VERSION..OFF_FORMAT_VERSION + 4].copy_from_slice(&version.to_ne_bytes());
            assert_eq!(
                decode(&p).unwrap_err().kind(),
                ErrorKind::UnsupportedFormatVersion
            );
        }
        // Every other fixed byte, in either version, is covered by the checksum (or is the
        // kind or column count, checked before it): `Corrupt`.
        for (good, fixed_len) in [(good, v2::fixed_len(1)), (v1_page(layout()), v1::FIXED_LEN)] {
            for i in OFF_APP_MAGIC..fixed_len {
                if (OFF_ENDIAN..OFF_FORMAT_VERSION + 4).contains(&i) {
                    continue;
                }
                let mut p = good;
                p[i] ^= 0x10;
                assert_eq!(
                    decode(&p).unwrap_err().kind(),
                    ErrorKind::Corrupt,
                    "byte {i} of a version {} page",
                    decode(&good).unwrap().format_version
                );
            }
            assert_eq!(
                decode(&good[..fixed_len - 1]).unwrap_err().kind(),
                ErrorKind::Corrupt
            );
        }
        assert_eq!(decode(&good[..10]).unwrap_err().kind(), ErrorKind::Corrupt);
        assert_eq!(decode(&good[..5]).unwrap_err().kind(), ErrorKind::Corrupt);
        // A commit group's file (kind 1) is not a vector's.
        let mut p = good;
        p[32..36].copy_from_slice(&1u32.to_ne_bytes());
        assert_eq!(decode(&p).unwrap_err().kind(), ErrorKind::WrongFileKind);
    }

    #[test]
    fn impossible_element_layouts_are_corrupt() {
        for (size, align) in [(0, 8), (8, 0), (8, 3), (8, 8192)] {
            let mut l = layout();
            l.elem_size = size;
            l.elem_align = align;
            let page = Header::new(l).encode();
            assert_eq!(
                decode(&page).unwrap_err().kind(),
                ErrorKind::Corrupt,
                "size {size} align {align}"
            );
        }
    }

    #[test]
    fn layout_checks_in_order() {
        let want = layout();
        let mut l = want;
        l.app_magic = *b"otherapp";
        l.elem_size = 4;
        assert_eq!(l.check(&want).unwrap_err().kind(), ErrorKind::MagicMismatch);
        let mut l = want;
        l.app_version = 8;
        assert_eq!(
            l.check(&want).unwrap_err().kind(),
            ErrorKind::VersionMismatch
        );
        for f in [
            |l: &mut Layout| l.usize_width = 4,
            |l: &mut Layout| l.elem_size = 4,
            |l: &mut Layout| l.elem_align = 4,
        ] {
            let mut l = want;
            f(&mut l);
            l.elem_fingerprint ^= 1;
            assert_eq!(
                l.check(&want).unwrap_err().kind(),
                ErrorKind::LayoutMismatch
            );
        }
        // The fingerprint last, and only when both are known.
        let mut l = want;
        l.elem_fingerprint ^= 1;
        assert_eq!(l.check(&want).unwrap_err().kind(), ErrorKind::TypeMismatch);
        let mut unknown = want;
        unknown.elem_fingerprint = 0;
        unknown.check(&want).unwrap();
        want.check(&unknown).unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "safe code; 256 header images take minutes interpreted")]
    fn a_file_without_a_commit_is_uncreated() {
        let l = layout();
        let page = page();
        let zero = [0u8; HEADER_SIZE];
        assert!(is_uncreated(&[], 0), "empty");
        assert!(is_uncreated(&zero, 4096));
        assert!(!is_uncreated(&zero[..100], 100), "shorter than a header");
        assert!(!is_uncreated(&page[..100], 100), "truncated in its header");
        assert!(!is_uncreated(&zero, 8192), "a file with data pages");
        assert!(
            !is_uncreated(&page, 4096),
            "the whole new header landed: a created, empty vector"
        );
        // Any subset of sectors landed: uncreated unless the fixed fields and slot A both did.
        for mask in 0u8..=255 {
            let mut torn = [0u8; HEADER_SIZE];
            for s in 0..8 {
                if mask & (1 << s) != 0 {
                    torn[s * SECTOR..][..SECTOR].copy_from_slice(&page[s * SECTOR..][..SECTOR]);
                }
            }
            assert_eq!(
                is_uncreated(&torn, 4096),
                mask & 0b11 != 0b11,
                "mask {mask:#010b}"
            );
        }
        let mut foreign = zero;
        foreign[700] = 1;
        assert!(
            !is_uncreated(&foreign, 4096),
            "foreign bytes in slot A's sector"
        );
        let mut foreign = zero;
        foreign[3000] = 1;
        assert!(
            !is_uncreated(&foreign, 4096),
            "foreign bytes past the slots"
        );
        let mut garbage = zero;
        garbage[..8].copy_from_slice(b"NOTOURS!");
        assert!(!is_uncreated(&garbage, 4096), "not a header in sector 0");
        // Another layout's header: whole, a created vector; its fixed fields alone, not.
        let other = Header::new(Layout::of::<u32>(*b"testtest", 7, 0)).encode();
        assert!(
            !is_uncreated(&other, 4096),
            "another layout's created vector"
        );
        let mut other_torn = zero;
        other_torn[..SECTOR].copy_from_slice(&other[..SECTOR]);
        assert!(is_uncreated(&other_torn, 4096), "another layout, no commit");
        let mut committed = page;
        put_slot(&mut committed, 1, Slot { seq: 2, len: 0 });
        assert!(!is_uncreated(&committed, 4096), "a later commit");
        let mut not_new = zero;
        not_new[SECTOR..SECTOR + 8].copy_from_slice(&1u64.to_ne_bytes());
        not_new[SECTOR + 8..SECTOR + 16].copy_from_slice(&5u64.to_ne_bytes());
        assert!(
            !is_uncreated(&not_new, 4096),
            "slot A with a length: not a creation's"
        );
        // What a version-1 writer (an older library) left when a crash interrupted it.
        let old = v1_page(l);
        for (mask, want) in [(0b11u8, false), (0b01, true), (0b10, true)] {
            let mut torn = [0u8; HEADER_SIZE];
            for s in 0..2 {
                if mask & (1 << s) != 0 {
                    torn[s * SECTOR..][..SECTOR].copy_from_slice(&old[s * SECTOR..][..SECTOR]);
                }
            }
            assert_eq!(is_uncreated(&torn, 4096), want, "v1 mask {mask:#04b}");
        }
        // A group's creation, too.
        let mut types = [group::ColumnType::default(); group::MAX_COLUMNS];
        types[0] = group::ColumnType {
            size: 8,
            align: 8,
            fingerprint: 0,
        };
        let g =
            group::GroupHeader::new(group::GroupLayout::new(*b"grouptst", 1, 1, types)).encode();
        for (mask, want) in [(0b11u8, false), (0b01, true), (0b10, true)] {
            let mut torn = [0u8; HEADER_SIZE];
            for s in 0..2 {
                if mask & (1 << s) != 0 {
                    torn[s * SECTOR..][..SECTOR].copy_from_slice(&g[s * SECTOR..][..SECTOR]);
                }
            }
            assert_eq!(is_uncreated(&torn, 4096), want, "group mask {mask:#04b}");
        }
    }

    #[test]
    fn version_1_headers_decode_with_an_unknown_fingerprint() {
        let page = v1_page(layout());
        let h = decode(&page).unwrap();
        assert_eq!(h.format_version, 1);
        assert_eq!(h.layout.elem_fingerprint, 0, "version 1 records none");
        assert_eq!(h.layout.elem_size, 8);
        assert_eq!(h.winner(), Some((0, Slot { seq: 1, len: 0 })));
        assert_eq!(
            h.encode(),
            page,
            "a decoded version-1 header encodes as it was"
        );
        // It opens for any fingerprint of the right size and alignment.
        h.layout.check(&layout()).unwrap();
        // A new header is version 2 and records the fingerprint.
        let h2 = decode(&Header::new(layout()).encode()).unwrap();
        assert_eq!(h2.format_version, 2);
        assert_eq!(h2.layout, layout());
    }

    #[test]
    fn capacity_rounds_down() {
        assert_eq!(capacity_of(4096, 8), 0);
        assert_eq!(capacity_of(4096 + 17, 8), 2);
        assert_eq!(capacity_of(100, 8), 0);
        assert_eq!(capacity_of(8192, 0), 0);
    }
}
