//! Hostile files: whatever bytes a file holds, opening it as a vector gives `Ok` with a
//! length that fits the file, or an `Err` with a message; never a panic, a `SIGBUS` or
//! undefined behaviour. When an open succeeds, every element is read, and a read-write open
//! must then push, sync and reopen with exactly the old elements plus the new one.
//!
//! The input is a 13-byte control block and then the file's raw bytes. The control block
//! lets the fuzzer get past the checksums, so that it also explores what lies behind them
//! (layouts, commit slots, lengths that do or do not fit, element data):
//!
//! | bytes | meaning |
//! |---|---|
//! | 0 | flags: `FIXED` writes a valid fixed header for the element type under test (format version 2 with its type fingerprint when `V2` is set too, else version 1), `SUM` recomputes the header checksum, `SLOT_A`/`SLOT_B` write valid commit slots, `XOR` applies the raw bytes after those repairs (as corruption of a valid file) instead of before |
//! | 1..3 | the file is zero-padded to this many bytes (`u16` LE) times 4 |
//! | 3, 4..8 | slot A: sequence (`u8`, see [`sequence`]: small, near 2^62 or near `u64::MAX`), length (`u32` LE) |
//! | 8, 9..13 | slot B: sequence (`u8`, likewise), length (`u32` LE) |
//!
//! Each input is tried as four element types: `u8`, `u64`, `[u32; 3]` and a `pod!` struct,
//! and each of those files is also opened as a commit group, which must refuse it or read it
//! without a fault.
//!
//! **Group mode.** With the `GROUP` flag the input builds a commit group's file instead (kind
//! 1; `tests/common/format.rs`, `group`), for two tuples, `(u64, u16)` and
//! `(u8, [u32; 3], Rec)`, each opened with `open_group_read_only`, `inspect`,
//! `open_group_live` and `open_group`, and as a vector:
//!
//! | bytes | meaning in group mode |
//! |---|---|
//! | 0 | flags: `GROUP`; `FIXED` writes a valid group header for the tuple, `SUM` recomputes the header checksum for the column count the page holds, `TABLE` (the `V2` bit) lays out, end to end from 2 MiB, the blocks both slots' lengths need, `SLOT_A`/`SLOT_B` write valid slots (their table checksum over the table as it then is), `XOR` as above |
//! | 1 | column count: 0 the tuple's, else `byte - 1` (0 and 13 up are invalid; extra columns are `u8`) |
//! | 2 | bits 0..3: a forged table (see [`Forge`]), bit 3: unequal lengths (column `k` holds the slot's length `>> k`), bits 4..8: which laid-out block the forgery hits |
//! | 3, 4..8 | slot A: sequence (as above), length: below 2^31 its low 18 bits, else the `u32` shifted left by 24 (past any table) |
//! | 8, 9..13 | slot B: likewise |
//!
//! The raw bytes go over the header page, and what follows their first 4096 bytes at 2 MiB,
//! the start of the block area. The file (sparse) is the header page (all 4096 bytes when a
//! repair flag is set, else as many as the raw bytes give), then up to the end of the last
//! laid-out block or of the raw bytes at 2 MiB, whichever is further; `Cut` ends it a byte
//! short of the last block.

#![no_main]

use std::fmt::Debug;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use persistence::{inspect, pod, ErrorKind, Group, MmapedSlice, MmapedVec, OpenOptions, Pod};

/// The documented on-disk format, written from `docs/design.md` for the tests (the
/// library's codec is private): the same file the integration tests use.
#[path = "../../tests/common/format.rs"]
mod format;

use format::group as gf;
use format::{Fixed, Order, Slot, SLOT_OFFSETS};

pod! {
    /// A record with mixed fields and no padding (16 bytes, 8-aligned).
    #[derive(Debug, PartialEq)]
    struct Rec { a: u64, b: u32, c: u16, d: u8, e: u8 }
}

const FIXED: u8 = 1;
const SUM: u8 = 2;
const SLOT_A: u8 = 4;
const SLOT_B: u8 = 8;
const XOR: u8 = 16;
const V2: u8 = 32;
/// Group mode: the `V2` bit lays out the block table.
const TABLE: u8 = V2;
const GROUP: u8 = 64;
const CONTROL: usize = 13;

/// Where the target writes its file: `$PERSISTENCE_FUZZ_DIR`, else `/dev/shm` (no disk I/O
/// for the many `fsync`s), else the temp dir; one file per process.
fn file_path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::var_os("PERSISTENCE_FUZZ_DIR")
            .map(PathBuf::from)
            .or_else(|| {
                let shm = PathBuf::from("/dev/shm");
                shm.is_dir().then_some(shm)
            })
            .unwrap_or_else(std::env::temp_dir);
        dir.join(format!("persistence-fuzz-{}.bin", std::process::id()))
    })
}

/// Removes the file and the live readers' lock file beside it, which a writer's open makes.
fn remove_files() {
    let path = file_path();
    let _ = std::fs::remove_file(path);
    let mut live = path.as_os_str().to_owned();
    live.push("-live");
    let _ = std::fs::remove_file(live);
}

/// A slot's sequence from its control byte: `0..128` as it is; `128..192` around
/// `MAX_SEQUENCE` (2^62, the highest a valid slot may hold: from 2^62 - 32 to 2^62 + 31);
/// `192..=255` the top of the `u64` range (`u64::MAX - 63..=u64::MAX`). Sequences out of
/// range must count as damaged slots, and no arithmetic on them may overflow.
fn sequence(b: u8) -> u64 {
    match b {
        0..=127 => u64::from(b),
        128..=191 => format::MAX_SEQUENCE - 32 + u64::from(b - 128),
        192..=255 => u64::MAX - u64::from(255 - b),
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The file's bytes for element type `T`, built from the input as the table above says.
fn build_file<T: Pod>(control: &[u8; CONTROL], raw: &[u8]) -> Vec<u8> {
    let flags = control[0];
    let pad = usize::from(u16::from_le_bytes([control[1], control[2]])) * 4;
    let mut file = vec![0u8; pad.max(raw.len())];
    if flags & XOR == 0 {
        file[..raw.len()].copy_from_slice(raw);
    }
    if file.len() >= format::FIXED_LEN {
        if flags & FIXED != 0 {
            let fixed = Fixed::of::<T>([0; 8], 0);
            if flags & V2 != 0 && file.len() >= format::V2_AT_HEADER_SUM + 8 {
                let fp = T::FINGERPRINT.to_u64();
                format::encode_fixed_v2(&mut file, &fixed, fp, Order::Native);
            } else {
                format::encode_fixed(&mut file, &fixed, Order::Native);
            }
        }
        if flags & SUM != 0 {
            format::reseal(&mut file, Order::Native);
        }
    }
    for (which, flag, at) in [(0, SLOT_A, 3), (1, SLOT_B, 8)] {
        let off = SLOT_OFFSETS[which];
        if flags & flag != 0 && file.len() >= off + format::SLOT_LEN {
            let slot = Slot {
                seq: sequence(control[at]),
                len: u64::from(u32_at(control, at + 1)),
            };
            let sum = format::header_sum(&file, Order::Native);
            let bytes = format::encode_slot(sum, slot, Order::Native);
            file[off..off + format::SLOT_LEN].copy_from_slice(&bytes);
        }
    }
    if flags & XOR != 0 {
        for (f, r) in file.iter_mut().zip(raw) {
            *f ^= r;
        }
    }
    file
}

/// Opens the file as `T` read-only and read-write; checks what each open promises. First it
/// opens it as a group, which must fail or read without a fault.
fn check<T: Pod + PartialEq + Debug>(file: &[u8], make: impl Fn(u64) -> T) {
    let path = file_path();
    std::fs::write(path, file).expect("write the fuzz file");
    match OpenOptions::new().open_group_read_only::<(T,)>(path) {
        Ok(g) => g.columns().0.iter().for_each(|x| {
            black_box(*x);
        }),
        Err(e) => assert!(!e.to_string().is_empty(), "empty error message"),
    }
    match OpenOptions::new().open_group_live::<(T, u8)>(path) {
        Ok(g) => g.columns().0.iter().for_each(|x| {
            black_box(x);
        }),
        Err(e) => assert!(!e.to_string().is_empty(), "empty error message"),
    }
    assert_eq!(
        std::fs::read(path).expect("read the fuzz file"),
        file,
        "a group open of a vector's file changed it"
    );
    let elem = std::mem::size_of::<T>() as u64;
    let fits = |len: usize| len == 0 || 4096 + len as u64 * elem <= file.len() as u64;

    // Read-only: never writes the file.
    let read_only = match MmapedSlice::<T>::open(path) {
        Ok(s) => {
            assert!(
                fits(s.len()),
                "read-only length {} exceeds the file",
                s.len()
            );
            for x in s.iter() {
                black_box(*x);
            }
            Some(s.to_vec())
        }
        Err(e) => {
            assert!(!e.to_string().is_empty(), "empty error message");
            None
        }
    };
    assert_eq!(
        std::fs::read(path).expect("read the fuzz file"),
        file,
        "a read-only open changed the file"
    );

    // Read-write: push one, sync, reopen.
    let mut v = match MmapedVec::<T>::open(path) {
        Ok(v) => v,
        Err(e) => {
            assert!(!e.to_string().is_empty(), "empty error message");
            return;
        }
    };
    assert!(
        v.len() <= v.capacity(),
        "len {} > capacity {}",
        v.len(),
        v.capacity()
    );
    assert_eq!(v.len(), v.committed_len());
    assert!(
        fits(v.len()),
        "read-write length {} exceeds the file",
        v.len()
    );
    let before: Vec<T> = v.iter().copied().collect();
    if let Some(ro) = &read_only {
        assert_eq!(ro, &before, "read-only and read-write opens disagree");
    }
    let x = make(before.len() as u64 ^ 0x5a5a);
    v.push(x).expect("push onto an opened vector");
    if let Err(e) = v.sync() {
        // Only a commit at the top of the sequence range may be refused (no number is left
        // for the next one); the last commit then stays.
        let seq = persistence::inspect(path)
            .expect("inspect")
            .current()
            .sequence;
        assert!(
            e.kind() == persistence::ErrorKind::Corrupt && seq + 64 > format::MAX_SEQUENCE,
            "sync failed below the top of the sequence range (sequence {seq}): {e}"
        );
        drop(v);
        let again = MmapedVec::<T>::open(path).expect("reopen after a refused commit");
        assert_eq!(
            &again[..],
            &before[..],
            "a refused commit changed the elements"
        );
        return;
    }
    v.close().expect("close");

    let v = MmapedVec::<T>::open(path).expect("reopen what this process just committed");
    assert_eq!(v.len(), before.len() + 1);
    assert_eq!(
        &v[..before.len()],
        &before[..],
        "elements changed across a commit"
    );
    assert_eq!(v[before.len()], x, "the pushed element");
    drop(v);
    let s = MmapedSlice::<T>::open(path).expect("read-only reopen");
    assert_eq!(s.len(), before.len() + 1);
}

/// The table forgeries of group mode (control byte 2, bits 0..3), applied to the laid-out
/// block the byte's bits 4..8 pick.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Forge {
    None,
    /// The block put on the first laid-out block.
    Overlap,
    /// Moved by a page.
    Misaligned,
    /// At offset 0, over the header.
    OverHeader,
    /// At the end of the file.
    PastEnd,
    /// Where its end overflows a `u64`.
    Overflow,
    /// Changed after the slots were written: their table checksums no longer match.
    Stale,
    /// The file one byte shorter than its last block.
    Cut,
}

impl Forge {
    fn of(b: u8) -> Forge {
        [
            Forge::None,
            Forge::Overlap,
            Forge::Misaligned,
            Forge::OverHeader,
            Forge::PastEnd,
            Forge::Overflow,
            Forge::Stale,
            Forge::Cut,
        ][usize::from(b & 7)]
    }
}

/// A group slot's length from its control bytes: up to 2^18 - 1 elements (a few blocks of
/// the wider columns), or one past any table.
fn group_len(v: u32) -> u64 {
    if v < 1 << 31 {
        u64::from(v & 0x3_ffff)
    } else {
        u64::from(v) << 24
    }
}

/// A group's file for the columns `types`, built from the input as the group-mode table
/// says: the header page, the bytes from 2 MiB on, and the file's size.
fn build_group(
    types: &[gf::ColumnType],
    control: &[u8; CONTROL],
    raw: &[u8],
) -> (Vec<u8>, Vec<u8>, u64) {
    let flags = control[0];
    let (raw_head, raw_tail) = raw.split_at(raw.len().min(4096));
    let mut page = vec![0u8; 4096];
    if flags & XOR == 0 {
        page[..raw_head.len()].copy_from_slice(raw_head);
    }
    // The columns the header records: the tuple's, or as many as byte 1 says (extra ones
    // `u8`; at most 18, so that the fixed fields end before slot A).
    let mut recorded: Vec<gf::ColumnType> = types.to_vec();
    if control[1] != 0 {
        recorded.resize(
            usize::from(control[1] - 1).min(18),
            gf::ColumnType::of::<u8>(u8::FINGERPRINT.to_u64()),
        );
    }
    if flags & FIXED != 0 {
        gf::encode_fixed(&mut page, [0; 8], 0, &recorded, Order::Native);
    }
    if flags & SUM != 0 {
        gf::reseal(&mut page, Order::Native);
    }
    // Each slot's lengths, and the blocks the longer of them needs, column by column.
    let lens_of = |at: usize| {
        let len = group_len(u32_at(control, at + 1));
        let mut lens = [0u64; gf::MAX_COLUMNS];
        for (k, l) in lens
            .iter_mut()
            .enumerate()
            .take(recorded.len().min(gf::MAX_COLUMNS))
        {
            *l = if control[2] & 8 != 0 { len >> k } else { len };
        }
        lens
    };
    let slot_lens = [lens_of(3), lens_of(8)];
    let sizes: Vec<u64> = recorded.iter().map(|t| t.size).collect();
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut end = 0u64;
    if flags & TABLE != 0 {
        let mut next = gf::BLOCK0;
        for k in 0..recorded.len().min(gf::MAX_COLUMNS) {
            let most = slot_lens
                .iter()
                .map(|l| l[k].saturating_mul(sizes[k]))
                .max()
                .unwrap_or(0);
            // Lengths past 2^26 bytes get no blocks: their slots must be refused.
            let m = gf::blocks_for(most)
                .filter(|_| most <= 1 << 26)
                .unwrap_or(0);
            for j in 0..m {
                gf::set_entry(&mut page, k, j, next, Order::Native);
                blocks.push((k, j));
                next += gf::block_size(j);
            }
        }
        end = next;
    }
    let forge = Forge::of(control[2]);
    let target = (!blocks.is_empty()).then(|| blocks[usize::from(control[2] >> 4) % blocks.len()]);
    let forged = |page: &mut Vec<u8>, (k, j): (usize, usize)| {
        let first = gf::entry(page, blocks[0].0, blocks[0].1, Order::Native);
        let off = gf::entry(page, k, j, Order::Native);
        let new = match forge {
            Forge::Overlap => first,
            Forge::Misaligned => off + 4096,
            Forge::OverHeader => 0,
            Forge::PastEnd => end,
            Forge::Overflow => u64::MAX - gf::BLOCK0 + 1,
            Forge::Stale => off ^ (4 * gf::BLOCK0),
            Forge::None | Forge::Cut => off,
        };
        gf::set_entry(page, k, j, new, Order::Native);
    };
    if let (Some(t), false) = (target, forge == Forge::Stale) {
        forged(&mut page, t);
    }
    for (which, flag, at) in [(0, SLOT_A, 3), (1, SLOT_B, 8)] {
        if flags & flag != 0 {
            let lens = slot_lens[which];
            let table_sum = gf::needed(&sizes, &lens)
                .map(|m| gf::table_sum(&page, &m))
                .unwrap_or(0);
            let slot = gf::Slot {
                seq: sequence(control[at]),
                lens,
                table_sum,
            };
            gf::write_slot(&mut page, which, &slot, Order::Native);
        }
    }
    if let (Some(t), true) = (target, forge == Forge::Stale) {
        forged(&mut page, t);
    }
    if flags & XOR != 0 {
        for (p, r) in page.iter_mut().zip(raw_head) {
            *p ^= r;
        }
    }
    // The block area holds nothing but the raw bytes (XOR over zeros is a copy).
    let tail = raw_tail.to_vec();
    let mut size = if flags & (FIXED | SUM | SLOT_A | SLOT_B | TABLE) != 0 {
        4096
    } else {
        raw_head.len() as u64
    };
    if !tail.is_empty() {
        size = size.max(gf::BLOCK0 + tail.len() as u64);
    }
    size = size.max(end);
    if forge == Forge::Cut && end > 0 {
        size = end - 1;
    }
    (page, tail, size)
}

/// Writes a group file as [`build_group`] made it: sparse, the header page, the bytes at
/// 2 MiB, the size.
fn write_group(page: &[u8], tail: &[u8], size: u64) {
    use std::os::unix::fs::FileExt;
    let path = file_path();
    let f = std::fs::File::create(path).expect("create the fuzz file");
    f.write_all_at(&page[..page.len().min(size as usize)], 0)
        .expect("write the header");
    if !tail.is_empty() {
        f.write_all_at(tail, gf::BLOCK0).expect("write the data");
    }
    f.set_len(size).expect("size the fuzz file");
}

/// One element of every 4 KiB of a column of `len` elements (so every page is read: one past
/// the file's end would fault), and its last, as `get` returns them: what the opens of one
/// file compare. All of them would make the instrumented comparisons dominate the run.
fn sample<T: Copy>(len: usize, get: impl Fn(usize) -> T) -> Vec<T> {
    let step = (4096 / std::mem::size_of::<T>()).max(1);
    (0..len)
        .step_by(step)
        .chain(len.checked_sub(1))
        .map(get)
        .collect()
}

/// Each column's length, as an open showed it.
type Lens = Vec<usize>;

/// One tuple's checks in group mode: every open of the file gives an error with a message,
/// or a group whose every element is read; the opens that validate the same header agree;
/// the read-only ones change nothing; a writer pushes a row, commits, and reopens with it.
macro_rules! group_check {
    ($name:ident, ($($T:ident $i:tt),+)) => {
        fn $name(page: &[u8], tail: &[u8], size: u64) {
            type C = ($($T,)+);
            let path = file_path();
            write_group(page, tail, size);
            // What a read-only open could change: the size, the header page, the bytes
            // written at 2 MiB (the rest is holes; reading it all would dominate the run).
            let snapshot = || {
                use std::os::unix::fs::FileExt;
                let f = std::fs::File::open(path).expect("open the fuzz file");
                let size = f.metadata().expect("stat the fuzz file").len();
                let mut head = vec![0u8; 4096];
                let mut body = vec![0u8; tail.len()];
                let got = f.read_at(&mut head, 0).expect("read the fuzz file");
                head.truncate(got);
                let got = f.read_at(&mut body, gf::BLOCK0).expect("read the fuzz file");
                body.truncate(got);
                (size, head, body)
            };
            let before_opens = snapshot();
            let unchanged = |how: &str| {
                assert!(snapshot() == before_opens, "{how} changed the file");
            };
            let opts = OpenOptions::new();

            // Read-only.
            let ro: Option<(Lens, u64, ($(Vec<$T>,)+))> = match opts.open_group_read_only::<C>(path) {
                Ok(g) => {
                    let c = g.columns();
                    let copy = ($(sample(c.$i.len(), |i| c.$i[i]),)+);
                    Some((vec![$(c.$i.len()),+], g.generation(), copy))
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty(), "empty error message");
                    None
                }
            };
            unchanged("open_group_read_only");

            // inspect validates what the opens validate before the types.
            match inspect(path) {
                Ok(info) => {
                    for c in info.columns() {
                        assert!(c.len <= c.capacity || c.elem_size == 0, "inspect: {c:?}");
                    }
                    if let Some((lens, generation, _)) = &ro {
                        if info.column_count == lens.len() {
                            let got: Lens = info.columns().iter().map(|c| c.len as usize).collect();
                            assert_eq!(&got, lens, "inspect and read-only disagree");
                            assert_eq!(info.generation(), *generation);
                        }
                    }
                }
                Err(e) => {
                    assert!(!e.to_string().is_empty(), "empty error message");
                    if let Some((lens, generation, _)) = &ro {
                        // Only a file being created opens read-only where inspect refuses.
                        assert!(
                            lens.iter().all(|&l| l == 0) && *generation == 0,
                            "read-only opened {lens:?} at {generation}, inspect refused: {e}"
                        );
                    }
                }
            }
            unchanged("inspect");

            // Live.
            match opts.open_group_live::<C>(path) {
                Ok(mut g) => {
                    if let Err(e) = g.refresh() {
                        assert!(!e.to_string().is_empty(), "empty error message");
                    }
                    let c = g.columns();
                    let copy = ($(sample(c.$i.len(), |i| c.$i.get(i).expect("below len")),)+);
                    if let Some((lens, generation, ro_copy)) = &ro {
                        assert_eq!(&vec![$(c.$i.len()),+], lens, "live and read-only disagree");
                        assert_eq!(g.generation(), *generation);
                        assert!(&copy == ro_copy, "live and read-only read other elements");
                    }
                }
                Err(e) => assert!(!e.to_string().is_empty(), "empty error message"),
            }
            unchanged("open_group_live");

            // A vector's opens refuse a group's file, or read it.
            match MmapedSlice::<u64>::open(path) {
                Ok(s) => s.iter().for_each(|x| {
            black_box(*x);
        }),
                Err(e) => assert!(!e.to_string().is_empty(), "empty error message"),
            }

            // Read-write: push a row, commit, reopen.
            let mut g: Group<C> = match opts.open_group::<C>(path) {
                Ok(g) => g,
                Err(e) => {
                    assert!(!e.to_string().is_empty(), "empty error message");
                    return;
                }
            };
            let c = g.columns();
            let before = ($(sample(c.$i.len(), |i| c.$i[i]),)+);
            let lens: Lens = vec![$(c.$i.len()),+];
            if let Some((ro_lens, _, ro_copy)) = &ro {
                // A file being created opens empty read-only and is created anew here.
                if ro_lens.iter().any(|&l| l != 0) {
                    assert_eq!(&lens, ro_lens, "read-write and read-only disagree");
                    assert!(&before == ro_copy, "read-write and read-only read other elements");
                }
            }
            let row: C = ($(<$T as Make>::make(lens[$i] as u64 ^ 0x5a5a),)+);
            // Exact growth first: amortised growth would reserve (and the file system
            // zero) eight times a column's bytes, for every input.
            $( g.columns_mut().$i.reserve_exact(1).expect("grow an opened group's column"); )+
            g.push_row(row).expect("push a row onto an opened group");
            if let Err(e) = g.sync() {
                // Only a commit at the top of the sequence range may be refused.
                let seq = inspect(path).expect("inspect").current().sequence;
                assert!(
                    e.kind() == ErrorKind::Corrupt && seq + 64 > format::MAX_SEQUENCE,
                    "sync failed below the top of the sequence range (sequence {seq}): {e}"
                );
                return;
            }
            g.close().expect("close");
            let g = opts.open_group::<C>(path).expect("reopen what this process committed");
            let c = g.columns();
            $(
                assert_eq!(c.$i.len(), lens[$i] + 1, "column {}'s length", $i);
                assert!(sample(lens[$i], |i| c.$i[i]) == before.$i, "column {} changed", $i);
                assert!(c.$i[lens[$i]] == row.$i, "column {}'s pushed element", $i);
            )+
            drop(g);
            let s = opts.open_group_read_only::<C>(path).expect("read-only reopen");
            assert_eq!(s.columns().0.len(), lens[0] + 1);
        }
    };
}

/// An element made from a number, for the pushed rows.
trait Make: Copy {
    fn make(x: u64) -> Self;
}

impl Make for u8 {
    fn make(x: u64) -> Self {
        x as u8
    }
}

impl Make for u16 {
    fn make(x: u64) -> Self {
        x as u16 ^ 0x0f0f
    }
}

impl Make for u64 {
    fn make(x: u64) -> Self {
        x.wrapping_mul(3)
    }
}

impl Make for [u32; 3] {
    fn make(x: u64) -> Self {
        [x as u32, !(x as u32), 7]
    }
}

impl Make for Rec {
    fn make(x: u64) -> Self {
        Rec {
            a: x,
            b: x as u32 ^ 1,
            c: 2,
            d: 3,
            e: 4,
        }
    }
}

/// `[u32; 3]` as one identifier, for the macro.
type U32x3 = [u32; 3];

group_check!(check_pair, (u64 0, u16 1));
group_check!(check_triple, (u8 0, U32x3 1, Rec 2));

fuzz_target!(|data: &[u8]| {
    let Some((control, raw)) = data.split_first_chunk::<CONTROL>() else {
        return;
    };
    if control[0] & GROUP != 0 {
        let fp = |f: persistence::Fingerprint| f.to_u64();
        let pair = [
            gf::ColumnType::of::<u64>(fp(u64::FINGERPRINT)),
            gf::ColumnType::of::<u16>(fp(u16::FINGERPRINT)),
        ];
        let (page, tail, size) = build_group(&pair, control, raw);
        check_pair(&page, &tail, size);
        let triple = [
            gf::ColumnType::of::<u8>(fp(u8::FINGERPRINT)),
            gf::ColumnType::of::<[u32; 3]>(fp(<[u32; 3]>::FINGERPRINT)),
            gf::ColumnType::of::<Rec>(fp(Rec::FINGERPRINT)),
        ];
        let (page, tail, size) = build_group(&triple, control, raw);
        check_triple(&page, &tail, size);
        remove_files();
        return;
    }
    check::<u8>(&build_file::<u8>(control, raw), |i| i as u8);
    check::<u64>(&build_file::<u64>(control, raw), |i| i.wrapping_mul(3));
    check::<[u32; 3]>(&build_file::<[u32; 3]>(control, raw), |i| {
        [i as u32, !(i as u32), 7]
    });
    check::<Rec>(&build_file::<Rec>(control, raw), |i| Rec {
        a: i,
        b: i as u32 ^ 1,
        c: 2,
        d: 3,
        e: 4,
    });
    remove_files();
});
