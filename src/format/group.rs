//! A commit group's file: kind 1 of format version 2 (`docs/design.md`, "Commit groups").
//!
//! The header page holds the fixed fields of version 2 (with `kind` 1 and one size,
//! alignment and fingerprint per column), two commit slots and a block table:
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | `56 + 24n + 8` | fixed fields as version 2 (kind 1, `n` columns, data offset and block size 2 MiB), checksum |
//! | 512 | 120 | slot A: sequence, 12 lengths (unused ones 0), block table checksum, slot checksum |
//! | 1024 | 120 | slot B: same layout |
//! | 1536 | `8 * 26 * 12` | block table: the file offset of block `j` of column `k` at `1536 + 8 * (26k + j)` |
//!
//! A column's bytes lie in blocks: block `j` holds column bytes `2 MiB * (2^j - 1)` up to
//! `2 MiB * (2^(j+1) - 1)` (its size is `2 MiB << j`), at a file offset that is a multiple of
//! 2 MiB. A commit's slot covers, besides its lengths, a checksum of exactly the table entries
//! its lengths need, so a commit is valid only with the blocks it was made with.
//!
//! Safe code only: byte buffers in, values out.

use super::{
    check_element, check_header_sum, decode_prefix, fnv1a, sequence_in_range, short, unsupported,
    v2, ByteOrder, Layout, ENDIAN_MARKER, FNV_BASIS, FORMAT_MAGIC, HEADER_SIZE, OFF_APP_MAGIC,
    OFF_ENDIAN, OFF_FORMAT_MAGIC, OFF_FORMAT_VERSION, SECTOR, SLOT_OFFSETS,
};
use crate::error::{Error, ErrorKind, Result};

/// The most columns a group has.
pub(crate) const MAX_COLUMNS: usize = 12;
/// Blocks per column in the block table: 26 blocks hold `2 MiB * (2^26 - 1)` bytes (128 TiB).
pub(crate) const MAX_BLOCKS: usize = 26;
/// The size of block 0 of every column, and the alignment of every block in the file: 2 MiB,
/// the size of a huge page, so that a block is whole huge pages wherever it lies.
pub(crate) const BLOCK0: u64 = 2 << 20;
/// Words (`u64`) of a group's commit slot: sequence, [`MAX_COLUMNS`] lengths, the block
/// table's checksum, the slot's checksum.
pub(crate) const SLOT_WORDS: usize = MAX_COLUMNS + 3;
/// Bytes of a group's commit slot.
pub(crate) const SLOT_LEN: usize = 8 * SLOT_WORDS;
/// Byte offset of the block table in the header page.
pub(crate) const TABLE_OFFSET: usize = 3 * SECTOR;
/// Where the table-checksum word and the checksum word lie in a slot's words.
const TABLE_SUM_WORD: usize = MAX_COLUMNS + 1;
const SUM_WORD: usize = MAX_COLUMNS + 2;

const _: () = assert!(v2::fixed_len(MAX_COLUMNS) <= SLOT_OFFSETS[0]);
const _: () = assert!(SLOT_LEN <= SECTOR);
const _: () = assert!(SLOT_OFFSETS[1] + SLOT_LEN <= TABLE_OFFSET);
const _: () = assert!(TABLE_OFFSET + 8 * MAX_BLOCKS * MAX_COLUMNS <= HEADER_SIZE);

/// The size of block `j`.
pub(crate) const fn block_size(j: usize) -> u64 {
    BLOCK0 << j
}

/// The first column byte that block `j` holds.
pub(crate) const fn block_start(j: usize) -> u64 {
    BLOCK0 * ((1 << j) - 1)
}

/// The number of blocks that hold a column's first `bytes` bytes; `None` past the table.
pub(crate) fn blocks_for(bytes: u64) -> Option<usize> {
    (0..=MAX_BLOCKS).find(|&m| block_start(m) >= bytes)
}

/// The byte offset, in the header page, of the table entry of block `j` of column `k`.
pub(crate) const fn table_entry_offset(k: usize, j: usize) -> usize {
    TABLE_OFFSET + 8 * (k * MAX_BLOCKS + j)
}

/// The byte offset, in the header page, of word `word` of slot `slot` (0 = A, 1 = B).
pub(crate) const fn slot_word_offset(slot: usize, word: usize) -> usize {
    SLOT_OFFSETS[slot] + 8 * word
}

/// A column's element type as the header records it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ColumnType {
    /// `size_of::<T>()`.
    pub(crate) size: u64,
    /// `align_of::<T>()`.
    pub(crate) align: u64,
    /// `T::FINGERPRINT`'s bits (0: unknown).
    pub(crate) fingerprint: u64,
}

/// The layout and identity that a group's header records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupLayout {
    /// Application magic, application version, usize width (the element fields unused).
    pub(crate) identity: Layout,
    /// Columns, `1..=MAX_COLUMNS`.
    pub(crate) columns: usize,
    /// Each column's type; unused ones are zero.
    pub(crate) types: [ColumnType; MAX_COLUMNS],
}

impl GroupLayout {
    /// The layout of a group of `columns` columns of `types` with this identity, on this
    /// machine.
    pub(crate) fn new(
        app_magic: [u8; 8],
        app_version: u32,
        columns: usize,
        types: [ColumnType; MAX_COLUMNS],
    ) -> GroupLayout {
        GroupLayout {
            identity: Layout {
                elem_size: 0,
                elem_align: 0,
                elem_fingerprint: 0,
                ..Layout::of::<u8>(app_magic, app_version, 0)
            },
            columns,
            types,
        }
    }

    /// Column `k`'s layout, as a vector's.
    pub(crate) fn column(&self, k: usize) -> Layout {
        let t = self.types[k];
        Layout {
            elem_size: t.size,
            elem_align: t.align,
            elem_fingerprint: t.fingerprint,
            ..self.identity
        }
    }

    /// Compares this (a file's) layout with what the caller expects: application magic,
    /// application version and usize width as for a vector, then the column count, then
    /// each column's element size, alignment and fingerprint (the error says which column).
    pub(crate) fn check(&self, expected: &GroupLayout) -> Result<()> {
        let identity = |l: &GroupLayout| Layout {
            elem_size: 1,
            elem_align: 1,
            elem_fingerprint: 0,
            ..l.identity
        };
        identity(self).check(&identity(expected))?;
        if self.columns != expected.columns {
            return Err(Error::mismatch(
                ErrorKind::LayoutMismatch,
                "column count",
                self.columns as u64,
                expected.columns as u64,
            ));
        }
        for k in 0..self.columns {
            self.column(k)
                .check(&expected.column(k))
                .map_err(|e| e.in_column(k))?;
        }
        Ok(())
    }
}

/// One group commit: its sequence number, every column's length, and the checksum of the
/// block table entries those lengths need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupSlot {
    /// Commit number; the valid slot with the highest one wins. The generation is one less.
    pub(crate) seq: u64,
    /// Each column's committed length, in elements (unused columns 0).
    pub(crate) lens: [u64; MAX_COLUMNS],
    /// [`table_sum`] of the entries the lengths need.
    pub(crate) table_sum: u64,
}

impl GroupSlot {
    /// The slot a slot's words hold (as this machine loads them from a file in `order`).
    pub(crate) fn from_words(order: ByteOrder, words: &[u64; SLOT_WORDS]) -> GroupSlot {
        let v = |w: u64| match order {
            ByteOrder::Native => w,
            ByteOrder::Swapped => w.swap_bytes(),
        };
        let mut lens = [0; MAX_COLUMNS];
        for (l, w) in lens.iter_mut().zip(&words[1..=MAX_COLUMNS]) {
            *l = v(*w);
        }
        GroupSlot {
            seq: v(words[0]),
            lens,
            table_sum: v(words[TABLE_SUM_WORD]),
        }
    }
}

/// A group's commit slot as it lies in a header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StoredGroupSlot {
    /// What the slot's bytes hold (untrusted unless `valid`).
    pub(crate) slot: GroupSlot,
    /// Its checksum matches and its sequence is in `1..=MAX_SEQUENCE`.
    pub(crate) valid: bool,
    /// All its bytes are zero.
    pub(crate) blank: bool,
}

const BLANK: StoredGroupSlot = StoredGroupSlot {
    slot: GroupSlot {
        seq: 0,
        lens: [0; MAX_COLUMNS],
        table_sum: 0,
    },
    valid: false,
    blank: true,
};

/// Block offsets: `table[k][j]` is the file offset of block `j` of column `k` (0: none).
pub(crate) type Table = [[u64; MAX_BLOCKS]; MAX_COLUMNS];

/// A group's header page, decoded: the fixed fields (validated against their checksum),
/// both slots and the block table as found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupHeader {
    /// The recorded layout and identity.
    pub(crate) layout: GroupLayout,
    /// The byte order the file was written in.
    pub(crate) order: ByteOrder,
    /// The header checksum, which every slot checksum covers.
    sum: u64,
    slots: [StoredGroupSlot; 2],
    /// The block table, as found.
    pub(crate) table: Table,
}

impl GroupHeader {
    /// The header of a new group file: slot A holds an empty commit with sequence 1 (the
    /// generation 0), slot B is blank, the table is empty.
    pub(crate) fn new(layout: GroupLayout) -> GroupHeader {
        let mut page = [0u8; HEADER_SIZE];
        let sum = encode_fixed(&mut page, &layout);
        let table = [[0; MAX_BLOCKS]; MAX_COLUMNS];
        let first = GroupSlot {
            seq: 1,
            lens: [0; MAX_COLUMNS],
            table_sum: table_sum(ByteOrder::Native, &table, &[0; MAX_COLUMNS]),
        };
        GroupHeader {
            layout,
            order: ByteOrder::Native,
            sum,
            slots: [
                StoredGroupSlot {
                    slot: first,
                    valid: true,
                    blank: false,
                },
                BLANK,
            ],
            table,
        }
    }

    /// The whole header page (native byte order only).
    pub(crate) fn encode(&self) -> [u8; HEADER_SIZE] {
        debug_assert_eq!(self.order, ByteOrder::Native);
        let mut page = [0u8; HEADER_SIZE];
        let sum = encode_fixed(&mut page, &self.layout);
        debug_assert_eq!(sum, self.sum);
        for (which, s) in self.slots.iter().enumerate() {
            if s.valid {
                page[SLOT_OFFSETS[which]..][..SLOT_LEN].copy_from_slice(&self.encode_slot(&s.slot));
            }
        }
        for (k, column) in self.table.iter().enumerate() {
            for (j, &off) in column.iter().enumerate() {
                let at = table_entry_offset(k, j);
                page[at..at + 8].copy_from_slice(&off.to_ne_bytes());
            }
        }
        page
    }

    /// Decodes a group's header page (or the first bytes of one): the shared prefix as for a
    /// vector (`BadMagic`, `WrongEndianness` unless `foreign`, `Corrupt`), the version (a
    /// version-1 file holds one vector: `WrongFileKind`), the kind (`WrongFileKind` for a
    /// vector), the column count (`1..=12`), the header checksum, the data offset and block
    /// size, and each column's element size and alignment (`Corrupt`).
    pub(crate) fn decode(buf: &[u8], foreign: bool) -> Result<GroupHeader> {
        let (order, version) = decode_prefix(buf, foreign)?;
        match version {
            1 => return Err(not_a_group()),
            2 => {}
            other => return Err(unsupported(other)),
        }
        if buf.len() < v2::fixed_len(1) {
            return Err(short(buf));
        }
        match order.u32_at(buf, v2::OFF_KIND) {
            v2::KIND_GROUP => {}
            v2::KIND_VECTOR => return Err(not_a_group()),
            other => {
                return Err(Error::value(
                    ErrorKind::Corrupt,
                    "file kind",
                    u64::from(other),
                ))
            }
        }
        let columns = order.u32_at(buf, v2::OFF_COLUMNS) as usize;
        if columns == 0 || columns > MAX_COLUMNS {
            return Err(Error::value(
                ErrorKind::Corrupt,
                "column count of a group (1 to 12):",
                columns as u64,
            ));
        }
        if buf.len() < HEADER_SIZE {
            return Err(short(buf));
        }
        let sum = order.u64_at(buf, v2::sum_at(columns));
        check_header_sum(sum, &buf[..v2::sum_at(columns)])?;
        for (off, what) in [
            (v2::OFF_DATA_OFFSET, "data offset"),
            (v2::OFF_BLOCK, "block size"),
        ] {
            let got = order.u64_at(buf, off);
            if got != BLOCK0 {
                return Err(Error::mismatch(ErrorKind::Corrupt, what, got, BLOCK0));
            }
        }
        let mut types = [ColumnType::default(); MAX_COLUMNS];
        for (k, t) in types.iter_mut().enumerate().take(columns) {
            let at = v2::OFF_COLUMN0 + v2::COLUMN_LEN * k;
            *t = ColumnType {
                size: order.u64_at(buf, at),
                align: order.u64_at(buf, at + 8),
                fingerprint: order.u64_at(buf, at + 16),
            };
            check_element(t.size, t.align).map_err(|e| e.in_column(k))?;
        }
        let mut magic = [0u8; 8];
        magic.copy_from_slice(&buf[OFF_APP_MAGIC..OFF_APP_MAGIC + 8]);
        let layout = GroupLayout {
            identity: Layout {
                app_magic: magic,
                app_version: order.u32_at(buf, v2::OFF_APP_VERSION),
                usize_width: order.u32_at(buf, v2::OFF_USIZE_WIDTH),
                elem_size: 0,
                elem_align: 0,
                elem_fingerprint: 0,
            },
            columns,
            types,
        };
        let mut table = [[0; MAX_BLOCKS]; MAX_COLUMNS];
        for (k, column) in table.iter_mut().enumerate() {
            for (j, off) in column.iter_mut().enumerate() {
                *off = order.u64_at(buf, table_entry_offset(k, j));
            }
        }
        let mut slots = [BLANK; 2];
        for (which, stored) in slots.iter_mut().enumerate() {
            let bytes = &buf[SLOT_OFFSETS[which]..][..SLOT_LEN];
            let mut words = [0u64; SLOT_WORDS];
            for (i, w) in words.iter_mut().enumerate() {
                *w = ByteOrder::Native.u64_at(bytes, 8 * i);
            }
            *stored = StoredGroupSlot {
                slot: GroupSlot::from_words(order, &words),
                valid: stored_slot_valid(order, sum, &words),
                blank: bytes.iter().all(|&b| b == 0),
            };
        }
        Ok(GroupHeader {
            layout,
            order,
            sum,
            slots,
            table,
        })
    }

    /// The header checksum, which every slot checksum covers.
    pub(crate) fn checksum(&self) -> u64 {
        self.sum
    }

    /// Slots A and B as they lie in the header.
    pub(crate) fn slots(&self) -> [StoredGroupSlot; 2] {
        self.slots
    }

    /// The index and contents of the valid slot with the highest sequence.
    pub(crate) fn winner(&self) -> Option<(usize, GroupSlot)> {
        let [a, b] = self.slots;
        match (a.valid, b.valid) {
            (true, true) if b.slot.seq > a.slot.seq => Some((1, b.slot)),
            (true, _) => Some((0, a.slot)),
            (false, true) => Some((1, b.slot)),
            (false, false) => None,
        }
    }

    /// The committed slot of a file of `file_size` bytes with this header: the winner, whose
    /// blocks must be valid ([`check_commit`]). `Corrupt` when no slot is valid or its
    /// blocks are not.
    pub(crate) fn committed(&self, file_size: u64) -> Result<(usize, GroupSlot)> {
        let (which, slot) = self.winner().ok_or(Error::new(
            ErrorKind::Corrupt,
            "no valid commit slot (no commit yet, or both slots damaged)",
        ))?;
        check_commit(self.order, &self.layout, &slot, &self.table, file_size)?;
        Ok((which, slot))
    }

    /// The bytes of a slot holding `slot` in this header.
    pub(crate) fn encode_slot(&self, slot: &GroupSlot) -> [u8; SLOT_LEN] {
        encode_slot(self.order, self.sum, slot)
    }
}

/// A vector's file (or a version-1 one) opened as a group.
fn not_a_group() -> Error {
    Error::new(
        ErrorKind::WrongFileKind,
        "the file holds one vector (open it with open), not a commit group",
    )
}

/// Writes a group's fixed fields and their checksum (native byte order); returns the
/// checksum.
fn encode_fixed(page: &mut [u8; HEADER_SIZE], layout: &GroupLayout) -> u64 {
    let n = layout.columns;
    debug_assert!((1..=MAX_COLUMNS).contains(&n));
    let mut put = |off: usize, bytes: &[u8]| page[off..off + bytes.len()].copy_from_slice(bytes);
    let id = &layout.identity;
    put(OFF_FORMAT_MAGIC, &FORMAT_MAGIC);
    put(OFF_APP_MAGIC, &id.app_magic);
    put(OFF_ENDIAN, &ENDIAN_MARKER.to_ne_bytes());
    put(OFF_FORMAT_VERSION, &2u32.to_ne_bytes());
    put(v2::OFF_APP_VERSION, &id.app_version.to_ne_bytes());
    put(v2::OFF_USIZE_WIDTH, &id.usize_width.to_ne_bytes());
    put(v2::OFF_KIND, &v2::KIND_GROUP.to_ne_bytes());
    put(v2::OFF_COLUMNS, &(n as u32).to_ne_bytes());
    put(v2::OFF_DATA_OFFSET, &BLOCK0.to_ne_bytes());
    put(v2::OFF_BLOCK, &BLOCK0.to_ne_bytes());
    for (k, t) in layout.types.iter().enumerate().take(n) {
        let at = v2::OFF_COLUMN0 + v2::COLUMN_LEN * k;
        put(at, &t.size.to_ne_bytes());
        put(at + 8, &t.align.to_ne_bytes());
        put(at + 16, &t.fingerprint.to_ne_bytes());
    }
    let sum = fnv1a(FNV_BASIS, &page[..v2::sum_at(n)]);
    page[v2::sum_at(n)..v2::fixed_len(n)].copy_from_slice(&sum.to_ne_bytes());
    sum
}

/// A slot's bytes in `order`, bound to the header checksum `header_sum`: the sequence, the
/// lengths, the table checksum, then the checksum over those bytes and the header
/// checksum's.
pub(crate) fn encode_slot(order: ByteOrder, header_sum: u64, slot: &GroupSlot) -> [u8; SLOT_LEN] {
    let mut out = [0u8; SLOT_LEN];
    out[0..8].copy_from_slice(&order.u64_bytes(slot.seq));
    for (k, len) in slot.lens.iter().enumerate() {
        out[8 * (k + 1)..][..8].copy_from_slice(&order.u64_bytes(*len));
    }
    out[8 * TABLE_SUM_WORD..][..8].copy_from_slice(&order.u64_bytes(slot.table_sum));
    let sum = fnv1a(FNV_BASIS, &out[..8 * SUM_WORD]);
    let sum = fnv1a(sum, &order.u64_bytes(header_sum));
    out[8 * SUM_WORD..].copy_from_slice(&order.u64_bytes(sum));
    out
}

/// The words of `slot` as a native reader loads them.
#[cfg(test)]
pub(crate) fn slot_words(slot: &GroupSlot, header_sum: u64) -> [u64; SLOT_WORDS] {
    let bytes = encode_slot(ByteOrder::Native, header_sum, slot);
    let mut words = [0u64; SLOT_WORDS];
    for (i, w) in words.iter_mut().enumerate() {
        *w = ByteOrder::Native.u64_at(&bytes, 8 * i);
    }
    words
}

/// Whether a slot's words as stored (loaded as this machine's `u64`s) are a valid slot of a
/// file in byte order `order` whose header checksum is `header_sum`.
pub(crate) fn stored_slot_valid(
    order: ByteOrder,
    header_sum: u64,
    words: &[u64; SLOT_WORDS],
) -> bool {
    let slot = GroupSlot::from_words(order, words);
    if !sequence_in_range(slot.seq) {
        return false;
    }
    let bytes = encode_slot(order, header_sum, &slot);
    words
        .iter()
        .enumerate()
        .all(|(i, w)| bytes[8 * i..8 * i + 8] == w.to_ne_bytes())
}

/// [`stored_slot_valid`] for a native file: the live reader's check.
pub(crate) fn slot_words_valid(header_sum: u64, words: &[u64; SLOT_WORDS]) -> bool {
    stored_slot_valid(ByteOrder::Native, header_sum, words)
}

/// The checksum of the table entries a commit needs: for each column in order, entries
/// `0..needed[k]`, as their bytes lie in a file of byte order `order`.
pub(crate) fn table_sum(order: ByteOrder, table: &Table, needed: &[usize; MAX_COLUMNS]) -> u64 {
    let mut sum = FNV_BASIS;
    for (column, &m) in table.iter().zip(needed) {
        for &off in &column[..m.min(MAX_BLOCKS)] {
            sum = fnv1a(sum, &order.u64_bytes(off));
        }
    }
    sum
}

/// How many blocks each column's committed length needs. `Corrupt` when a length's bytes
/// overflow or do not fit the table.
pub(crate) fn needed_blocks(
    layout: &GroupLayout,
    lens: &[u64; MAX_COLUMNS],
) -> Result<[usize; MAX_COLUMNS]> {
    let mut needed = [0; MAX_COLUMNS];
    for k in 0..MAX_COLUMNS {
        if k >= layout.columns {
            if lens[k] != 0 {
                return Err(Error::value(
                    ErrorKind::Corrupt,
                    "a length for a column the group does not have:",
                    lens[k],
                )
                .in_column(k));
            }
            continue;
        }
        needed[k] = lens[k]
            .checked_mul(layout.types[k].size)
            .and_then(blocks_for)
            .ok_or(
                Error::value(ErrorKind::Corrupt, "column length too large:", lens[k]).in_column(k),
            )?;
    }
    Ok(needed)
}

/// Checks a commit against the block table and the file size, before anything trusts it:
/// its table checksum matches the entries its lengths need, and each of those blocks lies at
/// a multiple of 2 MiB, at or past the data offset, wholly within the file, and overlaps no
/// other. `Corrupt` (naming the column) otherwise.
pub(crate) fn check_commit(
    order: ByteOrder,
    layout: &GroupLayout,
    slot: &GroupSlot,
    table: &Table,
    file_size: u64,
) -> Result<()> {
    let needed = needed_blocks(layout, &slot.lens)?;
    let sum = table_sum(order, table, &needed);
    if sum != slot.table_sum {
        // A damaged entry that also makes its block invalid names its column.
        check_blocks(table, &needed, file_size)?;
        return Err(Error::checksums(
            "block table checksum",
            slot.table_sum,
            sum,
        ));
    }
    check_blocks(table, &needed, file_size)
}

/// Each block `needed` names lies at a multiple of 2 MiB, at or past the data offset, within
/// `file_size` bytes, and overlaps no other.
pub(crate) fn check_blocks(
    table: &Table,
    needed: &[usize; MAX_COLUMNS],
    file_size: u64,
) -> Result<()> {
    for (k, (column, &m)) in table.iter().zip(needed).enumerate() {
        for (j, &off) in column[..m].iter().enumerate() {
            let end = off.checked_add(block_size(j));
            if off % BLOCK0 != 0 || off < BLOCK0 || end.is_none_or(|e| e > file_size) {
                return Err(Error::value(
                    ErrorKind::Corrupt,
                    "block outside the file or misaligned, at offset",
                    off,
                )
                .in_column(k));
            }
        }
    }
    // Pairwise: at most 12 * 26 blocks, and only on open or when a reader maps new ones.
    for (k, (column, &m)) in table.iter().zip(needed).enumerate() {
        for (j, &off) in column[..m].iter().enumerate() {
            let end = off + block_size(j);
            for (k2, (column2, &m2)) in table.iter().zip(needed).enumerate().skip(k) {
                let from = if k2 == k { j + 1 } else { 0 };
                for (j2, &off2) in column2[..m2].iter().enumerate().skip(from) {
                    if off2 < end && off < off2 + block_size(j2) {
                        return Err(Error::value(
                            ErrorKind::Corrupt,
                            "two blocks overlap, at offset",
                            off2,
                        )
                        .in_column(k2));
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> GroupLayout {
        let mut types = [ColumnType::default(); MAX_COLUMNS];
        types[0] = ColumnType {
            size: 8,
            align: 8,
            fingerprint: 11,
        };
        types[1] = ColumnType {
            size: 4,
            align: 4,
            fingerprint: 22,
        };
        types[2] = ColumnType {
            size: 24,
            align: 8,
            fingerprint: 0,
        };
        GroupLayout::new(*b"grouptst", 3, 3, types)
    }

    fn put_slot(page: &mut [u8; HEADER_SIZE], h: &GroupHeader, which: usize, slot: &GroupSlot) {
        page[SLOT_OFFSETS[which]..][..SLOT_LEN].copy_from_slice(&h.encode_slot(slot));
    }

    fn put_entry(page: &mut [u8; HEADER_SIZE], k: usize, j: usize, off: u64) {
        page[table_entry_offset(k, j)..][..8].copy_from_slice(&off.to_ne_bytes());
    }

    #[test]
    fn geometry() {
        assert_eq!(block_start(0), 0);
        assert_eq!(block_start(1), BLOCK0);
        assert_eq!(block_start(2), 3 * BLOCK0);
        assert_eq!(block_size(3), 8 * BLOCK0);
        assert_eq!(blocks_for(0), Some(0));
        assert_eq!(blocks_for(1), Some(1));
        assert_eq!(blocks_for(BLOCK0), Some(1));
        assert_eq!(blocks_for(BLOCK0 + 1), Some(2));
        assert_eq!(blocks_for(3 * BLOCK0), Some(2));
        assert_eq!(blocks_for(block_start(MAX_BLOCKS)), Some(MAX_BLOCKS));
        assert_eq!(blocks_for(block_start(MAX_BLOCKS) + 1), None);
        assert_eq!(table_entry_offset(0, 0), 1536);
        assert_eq!(table_entry_offset(11, 25), 1536 + 8 * 311);
    }

    #[test]
    fn new_header_roundtrips_and_commits_generation_zero() {
        let h = GroupHeader::new(layout());
        let page = h.encode();
        let d = GroupHeader::decode(&page, false).unwrap();
        assert_eq!(d, h);
        d.layout.check(&layout()).unwrap();
        let (which, slot) = d.committed(HEADER_SIZE as u64).unwrap();
        assert_eq!((which, slot.seq, slot.lens), (0, 1, [0; MAX_COLUMNS]));
    }

    #[test]
    fn a_commit_needs_its_blocks_and_their_checksum() {
        let h = GroupHeader::new(layout());
        let mut page = h.encode();
        // Column 0: 300 000 u64 = 2.4 MB, two blocks; column 2: one block; column 1 empty.
        put_entry(&mut page, 0, 0, 2 * BLOCK0);
        put_entry(&mut page, 0, 1, 4 * BLOCK0);
        put_entry(&mut page, 2, 0, BLOCK0);
        let table = GroupHeader::decode(&page, false).unwrap().table;
        let lens = {
            let mut l = [0; MAX_COLUMNS];
            l[0] = 300_000;
            l[2] = 10;
            l
        };
        let needed = needed_blocks(&layout(), &lens).unwrap();
        assert_eq!(&needed[..3], &[2, 0, 1]);
        let slot = GroupSlot {
            seq: 2,
            lens,
            table_sum: table_sum(ByteOrder::Native, &table, &needed),
        };
        put_slot(&mut page, &h, 1, &slot);
        let size = 6 * BLOCK0;
        let d = GroupHeader::decode(&page, false).unwrap();
        assert_eq!(d.committed(size).unwrap(), (1, slot));
        // The file too short for block 1 of column 0.
        let e = d.committed(6 * BLOCK0 - 1).unwrap_err();
        assert_eq!((e.kind(), e.column()), (ErrorKind::Corrupt, Some(0)));
        // A table entry changed after the commit: its checksum says so.
        let mut bad = page;
        put_entry(&mut bad, 2, 0, 5 * BLOCK0);
        let e = GroupHeader::decode(&bad, false)
            .unwrap()
            .committed(size)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Corrupt);
        // An entry the commit does not need may hold anything.
        let mut spare = page;
        put_entry(&mut spare, 1, 0, 12345);
        GroupHeader::decode(&spare, false)
            .unwrap()
            .committed(size)
            .unwrap();
    }

    /// A table whose checksum matches but whose blocks overlap, are misaligned or lie before
    /// the data: `Corrupt`, naming the column.
    #[test]
    fn forged_tables_are_refused() {
        let h = GroupHeader::new(layout());
        let lens = {
            let mut l = [0; MAX_COLUMNS];
            l[0] = 1;
            l[1] = 1;
            l
        };
        let case = |a: u64, b: u64| {
            let mut page = h.encode();
            put_entry(&mut page, 0, 0, a);
            put_entry(&mut page, 1, 0, b);
            let table = GroupHeader::decode(&page, false).unwrap().table;
            let needed = needed_blocks(&layout(), &lens).unwrap();
            let slot = GroupSlot {
                seq: 2,
                lens,
                table_sum: table_sum(ByteOrder::Native, &table, &needed),
            };
            put_slot(&mut page, &h, 1, &slot);
            GroupHeader::decode(&page, false)
                .unwrap()
                .committed(8 * BLOCK0)
        };
        case(BLOCK0, 2 * BLOCK0).unwrap();
        for (a, b, col) in [
            (BLOCK0, BLOCK0, 1),                // the same block twice
            (0, 2 * BLOCK0, 0),                 // over the header
            (BLOCK0 + 4096, 2 * BLOCK0, 0),     // misaligned
            (BLOCK0, 8 * BLOCK0, 1),            // past the end
            (BLOCK0, u64::MAX - BLOCK0 + 1, 1), // end overflows
        ] {
            let e = case(a, b).unwrap_err();
            assert_eq!(
                (e.kind(), e.column()),
                (ErrorKind::Corrupt, Some(col)),
                "{a} {b}"
            );
        }
    }

    #[test]
    fn layouts_are_compared_column_by_column() {
        let file = layout();
        let mut other = file;
        other.types[1].size = 8;
        other.types[1].align = 8;
        let e = file.check(&other).unwrap_err();
        assert_eq!((e.kind(), e.column()), (ErrorKind::LayoutMismatch, Some(1)));
        let mut other = file;
        other.types[0].fingerprint = 99;
        let e = file.check(&other).unwrap_err();
        assert_eq!((e.kind(), e.column()), (ErrorKind::TypeMismatch, Some(0)));
        let mut other = file;
        other.columns = 2;
        assert_eq!(
            file.check(&other).unwrap_err().kind(),
            ErrorKind::LayoutMismatch
        );
        let mut other = file;
        other.identity.app_magic = *b"othermag";
        assert_eq!(
            file.check(&other).unwrap_err().kind(),
            ErrorKind::MagicMismatch
        );
    }

    #[test]
    fn kinds_and_counts_are_checked() {
        let vector = super::super::Header::new(Layout::of::<u64>(*b"grouptst", 3, 0)).encode();
        assert_eq!(
            GroupHeader::decode(&vector, false).unwrap_err().kind(),
            ErrorKind::WrongFileKind
        );
        let group = GroupHeader::new(layout()).encode();
        assert_eq!(
            super::super::Header::decode(&group, false)
                .unwrap_err()
                .kind(),
            ErrorKind::WrongFileKind
        );
        for n in [0u32, 13, u32::MAX] {
            let mut page = group;
            page[v2::OFF_COLUMNS..][..4].copy_from_slice(&n.to_ne_bytes());
            let e = GroupHeader::decode(&page, false).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Corrupt, "{n}");
        }
        // Every byte of the fixed fields is covered by the checksum.
        for at in 0..v2::fixed_len(3) {
            let mut page = group;
            page[at] ^= 0x40;
            assert!(GroupHeader::decode(&page, false).is_err(), "byte {at}");
        }
        // Short buffers never panic.
        for len in 0..HEADER_SIZE {
            let _ = GroupHeader::decode(&group[..len], false);
        }
    }

    #[test]
    fn slot_words_validate_only_whole() {
        let h = GroupHeader::new(layout());
        let mut lens = [0; MAX_COLUMNS];
        lens[0] = 5;
        let slot = GroupSlot {
            seq: 9,
            lens,
            table_sum: 77,
        };
        let w = slot_words(&slot, h.checksum());
        assert!(slot_words_valid(h.checksum(), &w));
        for i in 0..SLOT_WORDS {
            let mut torn = w;
            torn[i] ^= 1;
            assert!(!slot_words_valid(h.checksum(), &torn), "word {i}");
        }
        let mut zero_seq = slot;
        zero_seq.seq = 0;
        assert!(!slot_words_valid(
            h.checksum(),
            &slot_words(&zero_seq, h.checksum())
        ));
        assert_eq!(GroupSlot::from_words(ByteOrder::Native, &w), slot);
    }
}
