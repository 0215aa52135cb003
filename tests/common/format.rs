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

/// Commit groups: kind 1 of version 2, written from the brief of the group format (the
/// byte-level description in `src/format/group.rs`'s table): fixed fields as a version-2
/// vector's with kind 1, `n` columns, data offset and block size 2 MiB, 24 bytes per column
/// (size, alignment, fingerprint) from 56, the header checksum at `56 + 24n`; slots A (512)
/// and B (1024) of 15 words; the block table at 1536.
pub mod group {
    use super::{fnv1a, fnv1a_from, Order, ENDIAN_MARKER, FORMAT_MAGIC, HEADER_SIZE};

    /// The most columns a group has.
    pub const MAX_COLUMNS: usize = 12;
    /// Block table entries per column.
    pub const MAX_BLOCKS: usize = 26;
    /// Block 0's size, the data offset, and every block's alignment: 2 MiB.
    pub const BLOCK0: u64 = 2 << 20;
    /// Words of a slot: sequence, 12 lengths, table checksum, checksum.
    pub const SLOT_WORDS: usize = 15;
    /// Bytes of a slot.
    pub const SLOT_LEN: usize = 8 * SLOT_WORDS;
    /// Byte offsets of slots A and B.
    pub const SLOT_OFFSETS: [usize; 2] = [512, 1024];
    /// Where the block table starts.
    pub const TABLE_AT: usize = 1536;
    /// Field offsets.
    pub const AT_KIND: usize = 32;
    pub const AT_COLUMNS: usize = 36;
    pub const AT_DATA_OFFSET: usize = 40;
    pub const AT_BLOCK: usize = 48;
    pub const AT_COLUMN0: usize = 56;
    /// Bytes per column descriptor.
    pub const COLUMN_LEN: usize = 24;

    /// Where the header checksum lies for `n` columns.
    pub const fn sum_at(n: usize) -> usize {
        AT_COLUMN0 + COLUMN_LEN * n
    }

    /// A column's element type as the header records it.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
    pub struct ColumnType {
        pub size: u64,
        pub align: u64,
        pub fingerprint: u64,
    }

    impl ColumnType {
        /// `T`'s size and alignment, with `fingerprint`.
        pub fn of<T>(fingerprint: u64) -> ColumnType {
            ColumnType {
                size: std::mem::size_of::<T>() as u64,
                align: std::mem::align_of::<T>() as u64,
                fingerprint,
            }
        }
    }

    /// Writes a group's fixed fields for `columns` (any count: the caller may forge 0 or 13)
    /// into `page` in `order`, with the header checksum; returns the checksum.
    pub fn encode_fixed(
        page: &mut [u8],
        app_magic: [u8; 8],
        app_version: u32,
        columns: &[ColumnType],
        order: Order,
    ) -> u64 {
        let mut put = |at: usize, b: &[u8]| page[at..at + b.len()].copy_from_slice(b);
        put(0, &FORMAT_MAGIC);
        put(8, &app_magic);
        put(16, &order.u32(ENDIAN_MARKER));
        put(20, &order.u32(2));
        put(24, &order.u32(app_version));
        put(28, &order.u32(std::mem::size_of::<usize>() as u32));
        put(AT_KIND, &order.u32(1));
        put(AT_COLUMNS, &order.u32(columns.len() as u32));
        put(AT_DATA_OFFSET, &order.u64(BLOCK0));
        put(AT_BLOCK, &order.u64(BLOCK0));
        for (k, c) in columns.iter().enumerate() {
            let at = AT_COLUMN0 + COLUMN_LEN * k;
            put(at, &order.u64(c.size));
            put(at + 8, &order.u64(c.align));
            put(at + 16, &order.u64(c.fingerprint));
        }
        reseal(page, order)
    }

    /// The column count `page` records, clamped to what fits before slot A (so that a
    /// forged count still has a checksum place).
    pub fn columns_of(page: &[u8], order: Order) -> usize {
        (order.get_u32(page, AT_COLUMNS) as usize).min((SLOT_OFFSETS[0] - AT_COLUMN0 - 8) / 24)
    }

    /// Recomputes the header checksum for the column count the page records; returns it.
    pub fn reseal(page: &mut [u8], order: Order) -> u64 {
        let at = sum_at(columns_of(page, order));
        let sum = fnv1a(&page[..at]);
        page[at..at + 8].copy_from_slice(&order.u64(sum));
        sum
    }

    /// The header checksum as stored.
    pub fn header_sum(page: &[u8], order: Order) -> u64 {
        order.get_u64(page, sum_at(columns_of(page, order)))
    }

    /// One group commit.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Slot {
        pub seq: u64,
        pub lens: [u64; MAX_COLUMNS],
        pub table_sum: u64,
    }

    /// A slot's 120 bytes: the words, then FNV-1a over the first 14 words' bytes followed by
    /// the header checksum's bytes.
    pub fn encode_slot(header_sum: u64, slot: &Slot, order: Order) -> [u8; SLOT_LEN] {
        let mut out = [0u8; SLOT_LEN];
        out[..8].copy_from_slice(&order.u64(slot.seq));
        for (k, l) in slot.lens.iter().enumerate() {
            out[8 * (k + 1)..][..8].copy_from_slice(&order.u64(*l));
        }
        out[8 * 13..][..8].copy_from_slice(&order.u64(slot.table_sum));
        let h = fnv1a_from(fnv1a(&out[..8 * 14]), &order.u64(header_sum));
        out[8 * 14..].copy_from_slice(&order.u64(h));
        out
    }

    /// Writes slot `which` (0 = A, 1 = B) of `page`, bound to the page's header checksum.
    pub fn write_slot(page: &mut [u8], which: usize, slot: &Slot, order: Order) {
        let bytes = encode_slot(header_sum(page, order), slot, order);
        page[SLOT_OFFSETS[which]..][..SLOT_LEN].copy_from_slice(&bytes);
    }

    /// What slot `which` holds, valid or not.
    pub fn slot_at(page: &[u8], which: usize, order: Order) -> Slot {
        let at = SLOT_OFFSETS[which];
        let mut lens = [0; MAX_COLUMNS];
        for (k, l) in lens.iter_mut().enumerate() {
            *l = order.get_u64(page, at + 8 * (k + 1));
        }
        Slot {
            seq: order.get_u64(page, at),
            lens,
            table_sum: order.get_u64(page, at + 8 * 13),
        }
    }

    /// Slot `which`, when its checksum holds and its sequence is in `1..=2^62`.
    pub fn read_slot(page: &[u8], which: usize, order: Order) -> Option<Slot> {
        if page.len() < HEADER_SIZE {
            return None;
        }
        let slot = slot_at(page, which, order);
        let valid = encode_slot(header_sum(page, order), &slot, order)[..]
            == page[SLOT_OFFSETS[which]..][..SLOT_LEN]
            && (1..=super::MAX_SEQUENCE).contains(&slot.seq);
        valid.then_some(slot)
    }

    /// The winning slot: the valid one with the higher sequence (A on a tie).
    pub fn winner(page: &[u8], order: Order) -> Option<(usize, Slot)> {
        match (read_slot(page, 0, order), read_slot(page, 1, order)) {
            (Some(a), Some(b)) if b.seq > a.seq => Some((1, b)),
            (Some(a), _) => Some((0, a)),
            (None, Some(b)) => Some((1, b)),
            (None, None) => None,
        }
    }

    /// The size of block `j`.
    pub const fn block_size(j: usize) -> u64 {
        BLOCK0 << j
    }

    /// The first column byte block `j` holds.
    pub const fn block_start(j: usize) -> u64 {
        BLOCK0 * ((1 << j) - 1)
    }

    /// How many blocks hold a column's first `bytes` bytes (`None`: more than the table).
    pub fn blocks_for(bytes: u64) -> Option<usize> {
        (0..=MAX_BLOCKS).find(|&m| block_start(m) >= bytes)
    }

    /// The byte offset of table entry (column `k`, block `j`).
    pub const fn entry_at(k: usize, j: usize) -> usize {
        TABLE_AT + 8 * (MAX_BLOCKS * k + j)
    }

    /// Table entry (`k`, `j`).
    pub fn entry(page: &[u8], k: usize, j: usize, order: Order) -> u64 {
        order.get_u64(page, entry_at(k, j))
    }

    /// Sets table entry (`k`, `j`).
    pub fn set_entry(page: &mut [u8], k: usize, j: usize, off: u64, order: Order) {
        page[entry_at(k, j)..][..8].copy_from_slice(&order.u64(off));
    }

    /// Blocks each column needs for `lens` of elements of `sizes` (`None` past the table).
    pub fn needed(sizes: &[u64], lens: &[u64; MAX_COLUMNS]) -> Option<[usize; MAX_COLUMNS]> {
        let mut m = [0; MAX_COLUMNS];
        for (k, &size) in sizes.iter().enumerate().take(MAX_COLUMNS) {
            m[k] = blocks_for(lens[k].checked_mul(size)?)?;
        }
        Some(m)
    }

    /// FNV-1a over the stored bytes of the entries `needed` names, column by column.
    pub fn table_sum(page: &[u8], needed: &[usize; MAX_COLUMNS]) -> u64 {
        let mut h = 0xcbf2_9ce4_8422_2325;
        for (k, &m) in needed.iter().enumerate() {
            for j in 0..m.min(MAX_BLOCKS) {
                h = fnv1a_from(h, &page[entry_at(k, j)..][..8]);
            }
        }
        h
    }

    /// Rewrites slot `which` with its own sequence and lengths and a table checksum over the
    /// table as it now is: a forged commit that checks out, whatever the table holds.
    pub fn reseal_slot(page: &mut [u8], which: usize, sizes: &[u64], order: Order) {
        let mut slot = slot_at(page, which, order);
        let m = needed(sizes, &slot.lens).expect("lengths within the table");
        slot.table_sum = table_sum(page, &m);
        write_slot(page, which, &slot, order);
    }
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
