//! The on-disk format, versions 1 and 2 (a vector file), written again from its documentation (`docs/design.md`,
//! "On-disk format"), not from the library: the library's codec is private, and a test that
//! reads or forges files through an independent reading of the document also checks that
//! the library follows the document. Shared by the integration tests and the fuzz target
//! (`fuzz/fuzz_targets/open.rs` includes this file).
//!
//! Every function takes the byte order the file is in: [`Order::Native`] for files of this
//! machine, [`Order::Swapped`] for files written on a machine of the other byte order.

#![allow(dead_code)]

/// Size of the header page; element data starts at [`DATA_OFFSET`].
pub const HEADER_SIZE: usize = 4096;
/// Byte offset of element 0.
pub const DATA_OFFSET: usize = 4096;
/// The unit a torn write damages; each commit slot has one of its own.
pub const SECTOR: usize = 512;
/// Byte offsets of commit slots A and B.
pub const SLOT_OFFSETS: [usize; 2] = [512, 1024];
/// Bytes in a slot: sequence `u64`, length `u64`, checksum `u64`.
pub const SLOT_LEN: usize = 24;
/// The fixed fields, their checksum included, are bytes `0..FIXED_LEN`.
pub const FIXED_LEN: usize = 64;
/// The first 8 bytes of every file.
pub const FORMAT_MAGIC: [u8; 8] = *b"PERSISTV";
/// The endianness marker, as the writer's CPU stores it.
pub const ENDIAN_MARKER: u32 = 0x0102_0304;
/// The highest sequence number a valid slot holds; a slot with a matching checksum and a
/// sequence of 0 or above this counts as damaged.
pub const MAX_SEQUENCE: u64 = 1 << 62;

/// Field offsets, from the byte table.
pub const AT_APP_MAGIC: usize = 8;
pub const AT_ENDIAN: usize = 16;
pub const AT_FORMAT_VERSION: usize = 20;
pub const AT_APP_VERSION: usize = 24;
pub const AT_USIZE_WIDTH: usize = 28;
pub const AT_ELEM_SIZE: usize = 32;
pub const AT_ELEM_ALIGN: usize = 40;
pub const AT_DATA_OFFSET: usize = 48;
pub const AT_HEADER_SUM: usize = 56;

/// 64-bit FNV-1a: offset basis `0xcbf29ce484222325`, prime `0x100000001b3`.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(0xcbf2_9ce4_8422_2325, bytes)
}

/// FNV-1a continued from `hash`.
pub fn fnv1a_from(mut hash: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The byte order a file's integers are stored in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// This machine's.
    Native,
    /// The other one.
    Swapped,
}

impl Order {
    pub fn u32(self, v: u32) -> [u8; 4] {
        match self {
            Order::Native => v.to_ne_bytes(),
            Order::Swapped => v.swap_bytes().to_ne_bytes(),
        }
    }

    pub fn u64(self, v: u64) -> [u8; 8] {
        match self {
            Order::Native => v.to_ne_bytes(),
            Order::Swapped => v.swap_bytes().to_ne_bytes(),
        }
    }

    pub fn get_u32(self, b: &[u8], at: usize) -> u32 {
        let v = u32::from_ne_bytes(b[at..at + 4].try_into().unwrap());
        match self {
            Order::Native => v,
            Order::Swapped => v.swap_bytes(),
        }
    }

    pub fn get_u64(self, b: &[u8], at: usize) -> u64 {
        let v = u64::from_ne_bytes(b[at..at + 8].try_into().unwrap());
        match self {
            Order::Native => v,
            Order::Swapped => v.swap_bytes(),
        }
    }
}

/// The fixed fields of a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fixed {
    pub app_magic: [u8; 8],
    pub app_version: u32,
    pub usize_width: u32,
    pub elem_size: u64,
    pub elem_align: u64,
}

impl Fixed {
    /// The fields for element type `T` on this machine.
    pub fn of<T>(app_magic: [u8; 8], app_version: u32) -> Fixed {
        Fixed {
            app_magic,
            app_version,
            usize_width: std::mem::size_of::<usize>() as u32,
            elem_size: std::mem::size_of::<T>() as u64,
            elem_align: std::mem::align_of::<T>() as u64,
        }
    }
}

/// Writes the fixed fields into `page[..64]` in `order`, with format version 1, data offset
/// 4096 and the header checksum over bytes `0..56` as stored.
pub fn encode_fixed(page: &mut [u8], f: &Fixed, order: Order) {
    page[..8].copy_from_slice(&FORMAT_MAGIC);
    page[AT_APP_MAGIC..AT_APP_MAGIC + 8].copy_from_slice(&f.app_magic);
    page[AT_ENDIAN..AT_ENDIAN + 4].copy_from_slice(&order.u32(ENDIAN_MARKER));
    page[AT_FORMAT_VERSION..AT_FORMAT_VERSION + 4].copy_from_slice(&order.u32(1));
    page[AT_APP_VERSION..AT_APP_VERSION + 4].copy_from_slice(&order.u32(f.app_version));
    page[AT_USIZE_WIDTH..AT_USIZE_WIDTH + 4].copy_from_slice(&order.u32(f.usize_width));
    page[AT_ELEM_SIZE..AT_ELEM_SIZE + 8].copy_from_slice(&order.u64(f.elem_size));
    page[AT_ELEM_ALIGN..AT_ELEM_ALIGN + 8].copy_from_slice(&order.u64(f.elem_align));
    page[AT_DATA_OFFSET..AT_DATA_OFFSET + 8].copy_from_slice(&order.u64(DATA_OFFSET as u64));
    reseal(page, order);
}

/// Where the header checksum lies in `page`: at 56 in version 1, at 80 in version 2 (a
/// vector: the fixed fields end with the element type fingerprint at 72).
pub fn sum_at(page: &[u8], order: Order) -> usize {
    if page.len() >= AT_FORMAT_VERSION + 4 && order.get_u32(page, AT_FORMAT_VERSION) == 2 {
        V2_AT_HEADER_SUM
    } else {
        AT_HEADER_SUM
    }
}

/// Recomputes the header checksum over the fixed fields as they are stored.
pub fn reseal(page: &mut [u8], order: Order) {
    let at = sum_at(page, order);
    let sum = fnv1a(&page[..at]);
    page[at..at + 8].copy_from_slice(&order.u64(sum));
}

/// The header checksum as stored (its value in `order`).
pub fn header_sum(page: &[u8], order: Order) -> u64 {
    order.get_u64(page, sum_at(page, order))
}

/// Version 2's field offsets (a vector), from the byte table.
pub const V2_AT_KIND: usize = 32;
pub const V2_AT_COLUMNS: usize = 36;
pub const V2_AT_DATA_OFFSET: usize = 40;
pub const V2_AT_BLOCK: usize = 48;
pub const V2_AT_ELEM_SIZE: usize = 56;
pub const V2_AT_ELEM_ALIGN: usize = 64;
pub const V2_AT_FINGERPRINT: usize = 72;
pub const V2_AT_HEADER_SUM: usize = 80;

/// Writes a version-2 vector's fixed fields into `page[..88]` in `order`, with the element
/// type fingerprint `fingerprint`, and the header checksum over bytes `0..80` as stored.
pub fn encode_fixed_v2(page: &mut [u8], f: &Fixed, fingerprint: u64, order: Order) {
    page[..8].copy_from_slice(&FORMAT_MAGIC);
    page[AT_APP_MAGIC..AT_APP_MAGIC + 8].copy_from_slice(&f.app_magic);
    page[AT_ENDIAN..AT_ENDIAN + 4].copy_from_slice(&order.u32(ENDIAN_MARKER));
    page[AT_FORMAT_VERSION..AT_FORMAT_VERSION + 4].copy_from_slice(&order.u32(2));
    page[AT_APP_VERSION..AT_APP_VERSION + 4].copy_from_slice(&order.u32(f.app_version));
    page[AT_USIZE_WIDTH..AT_USIZE_WIDTH + 4].copy_from_slice(&order.u32(f.usize_width));
    page[V2_AT_KIND..V2_AT_KIND + 4].copy_from_slice(&order.u32(0));
    page[V2_AT_COLUMNS..V2_AT_COLUMNS + 4].copy_from_slice(&order.u32(1));
    page[V2_AT_DATA_OFFSET..V2_AT_DATA_OFFSET + 8].copy_from_slice(&order.u64(DATA_OFFSET as u64));
    page[V2_AT_BLOCK..V2_AT_BLOCK + 8].copy_from_slice(&order.u64(0));
    page[V2_AT_ELEM_SIZE..V2_AT_ELEM_SIZE + 8].copy_from_slice(&order.u64(f.elem_size));
    page[V2_AT_ELEM_ALIGN..V2_AT_ELEM_ALIGN + 8].copy_from_slice(&order.u64(f.elem_align));
    page[V2_AT_FINGERPRINT..V2_AT_FINGERPRINT + 8].copy_from_slice(&order.u64(fingerprint));
    reseal(page, order);
}

/// [`vector_file`] in version 2, recording the element type fingerprint `fingerprint`.
pub fn vector_file_v2(f: &Fixed, fingerprint: u64, order: Order, len: u64, data: &[u8]) -> Vec<u8> {
    let mut file = vec![0u8; HEADER_SIZE];
    encode_fixed_v2(&mut file, f, fingerprint, order);
    write_slot(&mut file, 0, Slot { seq: 1, len: 0 }, order);
    write_slot(&mut file, 1, Slot { seq: 2, len }, order);
    file.extend_from_slice(data);
    file
}

/// One commit slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub seq: u64,
    pub len: u64,
}

/// The 24 bytes of a slot in `order`: sequence, length, and FNV-1a over the stored bytes of
/// the sequence, the length and the header checksum, in that order.
pub fn encode_slot(header_sum: u64, slot: Slot, order: Order) -> [u8; SLOT_LEN] {
    let mut out = [0u8; SLOT_LEN];
    out[0..8].copy_from_slice(&order.u64(slot.seq));
    out[8..16].copy_from_slice(&order.u64(slot.len));
    let h = fnv1a(&out[0..16]);
    let h = fnv1a_from(h, &order.u64(header_sum));
    out[16..24].copy_from_slice(&order.u64(h));
    out
}

/// Writes slot `which` (0 = A, 1 = B) of `page`, bound to its header checksum.
pub fn write_slot(page: &mut [u8], which: usize, slot: Slot, order: Order) {
    let bytes = encode_slot(header_sum(page, order), slot, order);
    page[SLOT_OFFSETS[which]..][..SLOT_LEN].copy_from_slice(&bytes);
}

/// Slot `which` of `page`, when its checksum holds and its sequence is in
/// `1..=MAX_SEQUENCE`.
pub fn read_slot(page: &[u8], which: usize, order: Order) -> Option<Slot> {
    let at = SLOT_OFFSETS[which];
    if page.len() < at + SLOT_LEN || page.len() < FIXED_LEN {
        return None;
    }
    let slot = Slot {
        seq: order.get_u64(page, at),
        len: order.get_u64(page, at + 8),
    };
    let valid = encode_slot(header_sum(page, order), slot, order) == page[at..at + SLOT_LEN]
        && (1..=MAX_SEQUENCE).contains(&slot.seq);
    valid.then_some(slot)
}

/// Both slots of a header page, and which wins: the valid one with the higher sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slots {
    pub slots: [Option<Slot>; 2],
}

impl Slots {
    /// The slots of a native-order header page.
    pub fn read(page: &[u8]) -> Slots {
        Slots::read_in(page, Order::Native)
    }

    pub fn read_in(page: &[u8], order: Order) -> Slots {
        Slots {
            slots: [read_slot(page, 0, order), read_slot(page, 1, order)],
        }
    }

    /// The index of the winning slot.
    pub fn winner(&self) -> Option<usize> {
        match self.slots {
            [Some(a), Some(b)] => Some(if b.seq > a.seq { 1 } else { 0 }),
            [Some(_), None] => Some(0),
            [None, Some(_)] => Some(1),
            [None, None] => None,
        }
    }

    /// The winning slot and its index.
    pub fn current(&self) -> Option<(usize, Slot)> {
        let w = self.winner()?;
        Some((w, self.slots[w]?))
    }
}

/// A whole header page for a new file of `f`: fixed fields, slot A = (1, 0), the rest zero.
pub fn new_header_page(f: &Fixed, order: Order) -> Vec<u8> {
    let mut page = vec![0u8; HEADER_SIZE];
    encode_fixed(&mut page, f, order);
    write_slot(&mut page, 0, Slot { seq: 1, len: 0 }, order);
    page
}

/// A whole vector file as a machine of byte order `order` writes it: the header of `f`,
/// created (slot A: sequence 1, length 0) and then committed once with length `len` (slot B:
/// sequence 2), followed by `data`, the element bytes already in that order (they may go on
/// past the committed length, as a file's spare capacity does).
pub fn vector_file(f: &Fixed, order: Order, len: u64, data: &[u8]) -> Vec<u8> {
    let mut file = new_header_page(f, order);
    write_slot(&mut file, 1, Slot { seq: 2, len }, order);
    file.extend_from_slice(data);
    file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_known_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
