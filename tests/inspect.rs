//! `persistence::inspect`: the header facts of a file read without knowing `T`, the same
//! error kinds as `open`, no writes; and the `inspect` example's report and exit status.

mod common;

use std::ffi::OsString;
use std::path::Path;

use common::Rec;
use persistence::{inspect, ErrorKind, MmapedVec, OpenOptions, SlotInfo};

/// The example's code, compiled into this test so that its report and exit status are
/// checked without spawning cargo.
#[allow(dead_code)]
#[path = "../examples/inspect.rs"]
mod example;

/// Byte offsets of commit slots A and B, as the format documents them.
const SLOT_OFFSETS: [usize; 2] = [512, 1024];

/// FNV-1a 64, as the format documents it (a copy: the codec itself is private).
fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    h
}

/// Where a new (version 2) vector file's header checksum lies, over bytes `0..80`.
const SUM_AT: usize = 80;

/// Recomputes the header checksum and makes slot A valid again for it.
fn reseal(b: &mut [u8]) {
    let sum = fnv(&b[..SUM_AT]);
    b[SUM_AT..SUM_AT + 8].copy_from_slice(&sum.to_ne_bytes());
    let a = SLOT_OFFSETS[0];
    let mut covered = b[a..a + 16].to_vec();
    covered.extend_from_slice(&sum.to_ne_bytes());
    let slot_sum = fnv(&covered);
    b[a + 16..a + 24].copy_from_slice(&slot_sum.to_ne_bytes());
}

/// `(sequence, len, valid, blank)` of a slot (`SlotInfo` is `#[non_exhaustive]`).
fn facts(s: &SlotInfo) -> (u64, u64, bool, bool) {
    (s.sequence, s.len, s.valid, s.blank)
}

/// A valid slot's facts.
fn slot(sequence: u64, len: u64) -> (u64, u64, bool, bool) {
    (sequence, len, true, false)
}

fn patch(path: &Path, off: usize, bytes: &[u8]) {
    let mut data = common::read(path);
    data[off..off + bytes.len()].copy_from_slice(bytes);
    std::fs::write(path, data).unwrap();
}

/// A file of three `u32` under magic `TICKS` version 3, committed twice: on creation (slot A,
/// sequence 1, length 0) and on close (slot B, sequence 2, length 3).
fn ticks_file(path: &Path) {
    let mut v = OpenOptions::new()
        .magic(*b"TICKS\0\0\0")
        .version(3)
        .open::<u32>(path)
        .unwrap();
    v.extend_from_slice(&[10, 20, 30]).unwrap();
    v.close().unwrap();
}

#[test]
fn reports_every_header_fact() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "ticks.bin");
    ticks_file(&p);
    let size = std::fs::metadata(&p).unwrap().len();

    let info = inspect(&p).unwrap();
    assert_eq!(info.format_version, 2);
    assert_eq!(
        info.elem_fingerprint,
        <u32 as persistence::Pod>::FINGERPRINT
    );
    assert_eq!(info.app_magic, *b"TICKS\0\0\0");
    assert_eq!(info.app_version, 3);
    assert_eq!((info.elem_size, info.elem_align), (4, 4));
    assert_eq!(info.usize_width as usize, std::mem::size_of::<usize>());
    assert_eq!(info.len, 3);
    assert_eq!(info.data_bytes(), 12);
    assert_eq!(info.file_size, size);
    assert_eq!(info.capacity, (size - 4096) / 4);
    assert_eq!(info.slots.each_ref().map(facts), [slot(1, 0), slot(2, 3)]);
    assert_eq!(info.winner, 1);
    assert_eq!(facts(info.current()), slot(2, 3));

    // The next commit overwrites the older slot, A, which then wins.
    let mut v = OpenOptions::new()
        .magic(*b"TICKS\0\0\0")
        .version(3)
        .open::<u32>(&p)
        .unwrap();
    v.push(40).unwrap();
    v.sync().unwrap();
    drop(v);
    let info = inspect(&p).unwrap();
    assert_eq!(info.slots.each_ref().map(facts), [slot(3, 4), slot(2, 3)]);
    assert_eq!((info.winner, info.len), (0, 4));
}

#[test]
fn knows_no_element_type() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "recs.bin");
    let mut v = MmapedVec::<Rec>::open(&p).unwrap();
    for i in 0..1000 {
        v.push(Rec::new(i)).unwrap();
    }
    v.close().unwrap();
    let info = inspect(&p).unwrap();
    assert_eq!((info.elem_size, info.elem_align), (24, 8));
    assert_eq!(info.app_magic, [0; 8]);
    assert_eq!(info.len, 1000);
    assert!(info.capacity >= 1000);
    assert_eq!(info.capacity, (info.file_size - 4096) / 24);
}

#[test]
fn a_file_committed_once_has_a_blank_slot_b() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "empty.bin");
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    let info = inspect(&p).unwrap();
    assert_eq!(facts(&info.slots[0]), slot(1, 0));
    assert_eq!(facts(&info.slots[1]), (0, 0, false, true));
    assert_eq!((info.winner, info.len, info.file_size), (0, 0, 4096));
}

#[test]
fn a_damaged_slot_is_shown_and_the_other_wins_as_open_agrees() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "torn.bin");
    ticks_file(&p);
    // Damage slot B's length (the current commit): A, the previous commit, wins.
    let off = SLOT_OFFSETS[1] + 8;
    patch(&p, off, &99u64.to_ne_bytes());

    let info = inspect(&p).unwrap();
    assert_eq!(facts(&info.slots[0]), slot(1, 0));
    assert_eq!(facts(&info.slots[1]), (2, 99, false, false));
    assert_eq!((info.winner, info.len), (0, 0));
    let opened = OpenOptions::new()
        .magic(*b"TICKS\0\0\0")
        .version(3)
        .open_read_only::<u32>(&p)
        .unwrap();
    assert_eq!(opened.len() as u64, info.len);

    // Both slots damaged: no commit to trust, for inspect as for open.
    patch(&p, SLOT_OFFSETS[0] + 16, &[0xAA; 8]);
    let e = inspect(&p).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt);
    assert!(e.to_string().contains("no valid commit slot"), "{e}");
    let o = OpenOptions::new()
        .magic(*b"TICKS\0\0\0")
        .version(3)
        .open_read_only::<u32>(&p)
        .unwrap_err();
    assert_eq!(o.kind(), ErrorKind::Corrupt);
}

/// A change that breaks a good file's bytes.
type Damage = fn(&mut Vec<u8>);

/// Each broken file gives the kind that `open` gives for it.
#[test]
fn broken_files_fail_with_the_kinds_open_uses() {
    let dir = common::tmpdir();
    let good = common::path_in(&dir, "good.bin");
    ticks_file(&good);
    let good_bytes = common::read(&good);

    let cases: [(&str, Damage, ErrorKind); 5] = [
        (
            "text",
            |d: &mut Vec<u8>| *d = b"hello, world, not a vector".to_vec(),
            ErrorKind::BadMagic,
        ),
        (
            "format version 3",
            |d: &mut Vec<u8>| d[20..24].copy_from_slice(&3u32.to_ne_bytes()),
            ErrorKind::UnsupportedFormatVersion,
        ),
        (
            "header checksum",
            |d: &mut Vec<u8>| d[40] ^= 1,
            ErrorKind::Corrupt,
        ),
        (
            "shorter than the header, with the magic",
            |d: &mut Vec<u8>| d.truncate(40),
            ErrorKind::Corrupt,
        ),
        (
            "committed length past the end",
            |d: &mut Vec<u8>| d.truncate(4096 + 8),
            ErrorKind::Corrupt,
        ),
    ];
    for (what, damage, kind) in cases {
        let p = common::path_in(&dir, "broken.bin");
        let mut bytes = good_bytes.clone();
        damage(&mut bytes);
        std::fs::write(&p, &bytes).unwrap();
        let e = inspect(&p).unwrap_err();
        assert_eq!(e.kind(), kind, "{what}: {e}");
        let o = OpenOptions::new()
            .magic(*b"TICKS\0\0\0")
            .version(3)
            .open_read_only::<u32>(&p)
            .unwrap_err();
        assert_eq!(o.kind(), kind, "{what}: open says {o}");
        // Inspecting never writes.
        assert_eq!(common::read(&p), bytes, "{what}");
    }
}

/// One rule for a file without a commit, shared by `inspect` and every open: an empty file
/// and the remains of an interrupted creation are `Uncreated` to `inspect`, empty to a
/// reader, and a new file to a writer; a file with foreign bytes is refused by all.
#[test]
fn a_file_without_a_commit_is_uncreated_to_inspect_and_to_every_open() {
    use persistence::{FileKind, Group, MmapedSlice, OpenOptions};
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "zero.bin");
    // An interrupted creation: a valid fixed header, no slot yet.
    let q = common::path_in(&dir, "new.bin");
    MmapedVec::<u64>::open(&q).unwrap().close().unwrap();
    let mut torn = common::read(&q);
    assert_eq!(torn.len(), 4096);
    torn[SLOT_OFFSETS[0]..SLOT_OFFSETS[0] + 24].fill(0);
    for (what, bytes) in [("empty", &[][..]), ("torn creation", &torn[..])] {
        std::fs::write(&p, bytes).unwrap();
        let info = inspect(&p).unwrap();
        assert_eq!(
            (info.kind, info.column_count, info.len, info.format_version),
            (FileKind::Uncreated, 0, 0, 0),
            "{what}"
        );
        assert!(info.slots.iter().all(|s| s.blank && !s.valid));
        assert_eq!(common::read(&p), bytes, "inspect never writes");
        assert_eq!(MmapedSlice::<u32>::open(&p).unwrap().len(), 0, "{what}");
        let live = OpenOptions::new().open_live::<u32>(&p).unwrap();
        assert_eq!(live.len(), 0, "{what}");
        drop(live);
        let g = OpenOptions::new().open_group_live::<(u8, u16)>(&p).unwrap();
        assert_eq!(g.generation(), 0, "{what}");
        drop(g);
        // A writer of any type creates its file there: nothing was ever committed.
        let mut v = MmapedVec::<u32>::open(&p).unwrap();
        v.push(7).unwrap();
        v.close().unwrap();
        assert_eq!(inspect(&p).unwrap().kind, FileKind::Vector);
        std::fs::write(&p, bytes).unwrap();
        Group::<(u8, u16)>::open(&p).unwrap().close().unwrap();
        assert_eq!(inspect(&p).unwrap().kind, FileKind::Group);
    }
    // One foreign byte past the slots: a file nobody created, refused by all.
    let mut foreign = torn.clone();
    foreign[3000] = 1;
    std::fs::write(&p, &foreign).unwrap();
    assert_eq!(inspect(&p).unwrap_err().kind(), ErrorKind::Corrupt);
    assert_eq!(
        MmapedVec::<u64>::open(&p).unwrap_err().kind(),
        ErrorKind::Corrupt
    );
    assert_eq!(common::read(&p), foreign, "a refused file is never written");
}

/// A header whose checksum is valid but whose geometry is impossible.
#[test]
fn impossible_geometry_is_corrupt() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "odd.bin");
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    let good = common::read(&p);
    // The unchanged, resealed header is accepted: the resealing itself is right.
    let mut same = good.clone();
    reseal(&mut same);
    assert_eq!(same, good);
    for (size, align) in [(0u64, 8u64), (8, 3), (8, 8192)] {
        let mut page = good.clone();
        page[56..64].copy_from_slice(&size.to_ne_bytes());
        page[64..72].copy_from_slice(&align.to_ne_bytes());
        reseal(&mut page);
        std::fs::write(&p, &page).unwrap();
        let e = inspect(&p).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::Corrupt,
            "size {size} align {align}: {e}"
        );
    }
}

#[test]
fn not_found_not_a_regular_file_invalid_path() {
    let dir = common::tmpdir();
    assert_eq!(
        inspect(common::path_in(&dir, "missing.bin"))
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    assert_eq!(
        inspect(dir.path()).unwrap_err().kind(),
        ErrorKind::NotARegularFile
    );
    assert_eq!(inspect("a\0b").unwrap_err().kind(), ErrorKind::InvalidPath);
}

/// A file written on a machine of the other byte order (built from the documented format:
/// every header and slot integer swapped, the checksums over the swapped bytes) is reported
/// in its own byte order, where `open` refuses it.
#[test]
fn a_foreign_file_is_reported_in_its_byte_order() {
    use common::format::{vector_file, Fixed, Order};
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "foreign.bin");
    let data: Vec<u8> = (0..5u32)
        .flat_map(|i| (i * 10).swap_bytes().to_ne_bytes())
        .collect();
    let f = Fixed::of::<u32>(*b"TICKS\0\0\0", 3);
    std::fs::write(&p, vector_file(&f, Order::Swapped, 4, &data)).unwrap();

    let info = inspect(&p).unwrap();
    assert!(!info.native_byte_order);
    assert_eq!(info.format_version, 1);
    assert_eq!((info.app_magic, info.app_version), (*b"TICKS\0\0\0", 3));
    assert_eq!((info.elem_size, info.elem_align), (4, 4));
    assert_eq!(info.usize_width as usize, std::mem::size_of::<usize>());
    assert_eq!((info.len, info.capacity, info.data_bytes()), (4, 5, 16));
    assert_eq!(info.slots.each_ref().map(facts), [slot(1, 0), slot(2, 4)]);
    assert_eq!(info.winner, 1);
    // The same while another process holds the file exclusively (a conversion of it, say):
    // inspect then reads without a lock, and still in the file's own byte order.
    let held = common::roles::OutsideLock::exclusive(&p);
    assert_eq!(
        inspect(&p).unwrap(),
        info,
        "inspect beside an exclusive lock"
    );
    drop(held);
    let open = OpenOptions::new()
        .magic(*b"TICKS\0\0\0")
        .version(3)
        .open_read_only::<u32>(&p)
        .unwrap_err();
    assert_eq!(open.kind(), ErrorKind::WrongEndianness);
    // A native file says so too.
    ticks_file(&common::path_in(&dir, "native.bin"));
    assert!(
        inspect(common::path_in(&dir, "native.bin"))
            .unwrap()
            .native_byte_order
    );

    // Only the marker swapped: read as foreign, its format version is nonsense.
    let q = common::path_in(&dir, "marker.bin");
    ticks_file(&q);
    let mut b = common::read(&q);
    b[16..20].reverse();
    std::fs::write(&q, &b).unwrap();
    assert_eq!(
        inspect(&q).unwrap_err().kind(),
        ErrorKind::UnsupportedFormatVersion
    );

    // The example says which it is.
    let (code, out, _) = run_example(&[p.as_os_str()]);
    assert_eq!(code, 0);
    assert!(out.contains("byte order        FOREIGN"), "{out}");
    assert!(out.contains("length            4 elements"), "{out}");
}

#[test]
fn shares_the_file_with_readers_and_reads_beside_a_writer() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "locked.bin");
    ticks_file(&p);
    let r = OpenOptions::new()
        .magic(*b"TICKS\0\0\0")
        .version(3)
        .open_read_only::<u32>(&p)
        .unwrap();
    assert_eq!(inspect(&p).unwrap().len, 3);
    drop(r);
    let mut w = OpenOptions::new()
        .magic(*b"TICKS\0\0\0")
        .version(3)
        .open::<u32>(&p)
        .unwrap();
    // Beside a writer: no lock, the committed length only.
    let before = inspect(&p).unwrap();
    assert_eq!(before.len, 3);
    w.extend_from_slice(&[4, 5]).unwrap();
    assert_eq!(
        inspect(&p).unwrap().len,
        3,
        "uncommitted elements are not counted"
    );
    w.sync().unwrap();
    let after = inspect(&p).unwrap();
    assert_eq!(after.len, 5);
    assert!(after.current().sequence > before.current().sequence);
    assert_eq!(after.file_size, std::fs::metadata(&p).unwrap().len());
    drop(w);
    // The lock inspect took is gone once it returns: a writer can open the file.
    inspect(&p).unwrap();
    OpenOptions::new()
        .magic(*b"TICKS\0\0\0")
        .version(3)
        .open::<u32>(&p)
        .unwrap();
}

fn run_example(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let args: Vec<OsString> = args.iter().map(|a| a.to_os_string()).collect();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = example::run(&args, &mut out, &mut err);
    (
        code,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

/// The report's file-system line for `p`, from what `inspect` found (it depends on where the
/// tests run); on Linux the file system of the tests is always one the library knows.
fn file_system_line(p: &Path) -> String {
    let info = inspect(p).unwrap();
    if cfg!(target_os = "linux") {
        assert!(
            info.file_system.is_some() && info.copy_on_write.is_some(),
            "{info:?}"
        );
    }
    let cow = match info.copy_on_write {
        Some(true) => "copy-on-write (a full disk can turn a store into SIGBUS)",
        Some(false) => "blocks rewritten in place",
        None => "copy-on-write unknown",
    };
    format!(
        "file system       {}, {cow}",
        info.file_system.unwrap_or("unknown")
    )
}

#[test]
fn example_prints_a_report_and_exits_zero() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "ticks.bin");
    ticks_file(&p);
    let size = std::fs::metadata(&p).unwrap().len();
    let (code, out, err) = run_example(&[p.as_os_str()]);
    println!("{out}");
    assert_eq!((code, err.as_str()), (0, ""));
    let expect = [
        format!("file              {}", p.display()),
        "format            PERSISTV version 2".to_string(),
        format!("byte order        this machine's ({})", example::ENDIAN),
        r#"application       magic "TICKS\x00\x00\x00" (54 49 43 4b 53 00 00 00) version 3"#
            .to_string(),
        "element           size 4 bytes, alignment 4".to_string(),
        format!(
            "element type      fingerprint {}",
            <u32 as persistence::Pod>::FINGERPRINT
        ),
        format!("usize width       {} bytes", std::mem::size_of::<usize>()),
        "length            3 elements (12 bytes of data, committed)".to_string(),
        format!("capacity          {} elements", (size - 4096) / 4),
        format!("file size         {size} bytes"),
        file_system_line(&p),
        "slot A            sequence 1, length 0: valid, previous commit".to_string(),
        "slot B            sequence 2, length 3: valid, current".to_string(),
    ];
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines, expect);
}

#[test]
fn example_marks_damaged_and_blank_slots() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "torn.bin");
    ticks_file(&p);
    patch(&p, SLOT_OFFSETS[1] + 8, &99u64.to_ne_bytes());
    let (code, out, _) = run_example(&[p.as_os_str()]);
    assert_eq!(code, 0);
    assert!(out.contains("slot A            sequence 1, length 0: valid, current"));
    assert!(out.contains(
        "slot B            sequence 2, length 99: INVALID (checksum fails; numbers untrusted)"
    ));

    let q = common::path_in(&dir, "once.bin");
    MmapedVec::<u8>::open(&q).unwrap().close().unwrap();
    let (code, out, _) = run_example(&[q.as_os_str()]);
    assert_eq!(code, 0);
    assert!(out.contains("slot B            sequence 0, length 0: never written"));
}

#[test]
fn example_exits_non_zero_with_a_clear_message() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "notes.txt");
    std::fs::write(&p, "shopping list: eggs, milk").unwrap();
    let (code, out, err) = run_example(&[p.as_os_str()]);
    assert_eq!(code, 1);
    assert_eq!(out, "");
    assert_eq!(
        err,
        format!(
            "inspect: {}: not a persistence file (bad format magic): first 8 bytes [BadMagic]\n",
            p.display()
        )
    );

    let (code, _, err) = run_example(&[common::path_in(&dir, "missing").as_os_str()]);
    assert_eq!(code, 1);
    assert!(err.contains("the file does not exist"), "{err}");
    assert!(err.contains("[NotFound]"), "{err}");

    let (code, _, err) = run_example(&[]);
    assert_eq!((code, err.as_str()), (2, "usage: inspect FILE\n"));
    let (code, _, _) = run_example(&[p.as_os_str(), p.as_os_str()]);
    assert_eq!(code, 2);
}

/// The older-commit fallback is reported, by `inspect` and by every open: when the newest
/// slot is damaged the file opens to the older commit, and the caller can tell.
#[test]
fn a_fallback_to_the_older_commit_is_reported_by_inspect_and_open() {
    use persistence::{Group, MmapedSlice, OpenOptions};
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    let mut v = MmapedVec::<u64>::open(&p).unwrap();
    v.push(1).unwrap();
    v.sync().unwrap(); // slot B, sequence 2
    v.push(2).unwrap();
    v.close().unwrap(); // slot A, sequence 3: the newest
    let pristine = common::read(&p);
    let info = inspect(&p).unwrap();
    assert!(!info.opens_to_older_commit());
    assert_eq!(
        MmapedVec::<u64>::open(&p).unwrap().open_report(),
        Default::default()
    );

    // The newest slot's length damaged: the older commit (length 1) is what opens.
    let mut bytes = pristine.clone();
    bytes[SLOT_OFFSETS[0] + 8] ^= 0xff;
    std::fs::write(&p, &bytes).unwrap();
    let info = inspect(&p).unwrap();
    assert!(info.opens_to_older_commit());
    let s = MmapedSlice::<u64>::open(&p).unwrap();
    let r = s.open_report();
    assert!(r.older_commit && r.damaged_slot && !r.created);
    assert_eq!(s[..], [1]);
    drop(s);
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    assert!(w.open_report().older_commit);
    w.push(5).unwrap();
    w.close().unwrap(); // overwrites the damaged slot
    assert!(!inspect(&p).unwrap().opens_to_older_commit());
    assert_eq!(
        MmapedVec::<u64>::open(&p).unwrap().open_report(),
        Default::default()
    );

    // The older slot damaged: reported, but the newest commit opens.
    let mut bytes = pristine.clone();
    bytes[SLOT_OFFSETS[1] + 8] ^= 0xff;
    std::fs::write(&p, &bytes).unwrap();
    assert!(!inspect(&p).unwrap().opens_to_older_commit());
    let r = MmapedSlice::<u64>::open(&p).unwrap().open_report();
    assert!(!r.older_commit && r.damaged_slot);

    // A group's newest record damaged.
    let g = common::path_in(&dir, "g.bin");
    let mut group = Group::<(u64, u8)>::open(&g).unwrap();
    group.push_row((1, 1)).unwrap();
    group.sync().unwrap();
    group.push_row((2, 2)).unwrap();
    group.close().unwrap();
    let mut bytes = common::read(&g);
    bytes[SLOT_OFFSETS[0] + 8] ^= 0xff;
    std::fs::write(&g, &bytes).unwrap();
    assert!(inspect(&g).unwrap().opens_to_older_commit());
    let s = OpenOptions::new()
        .open_group_read_only::<(u64, u8)>(&g)
        .unwrap();
    assert!(s.open_report().older_commit);
    assert_eq!(s.columns(), (&[1][..], &[1][..]));
    drop(s);
    assert!(
        Group::<(u64, u8)>::open(&g)
            .unwrap()
            .open_report()
            .older_commit
    );
}
