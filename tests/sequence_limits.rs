//! Commit sequence numbers at the top of their range (issue 17, item 1). A slot's sequence is
//! valid in `1..=MAX_SEQUENCE` (2^62) only: a slot whose checksum matches but whose sequence
//! is 0 or larger counts as damaged, exactly like a slot whose checksum fails
//! (`docs/design.md`, "Commit slots"). A writer never writes a number past `MAX_SEQUENCE`: the
//! commit that would is refused (`Corrupt`, "commit sequence exhausted") and the last commit
//! stays. So no sequence read from a file can make any arithmetic overflow, and nothing
//! wraps.
//!
//! Each case runs through every way in: the writer (`open`, then push, sync, reopen),
//! `open_read_only`, `open_live` (opened before a writer too), `inspect`, `convert_foreign`
//! and `migrate`. `ci/test-std.sh` runs this file in the test profile (overflow checks on:
//! an overflow panics) and in release (overflow checks off: an overflow wraps silently).

mod common;

use std::os::unix::fs::FileExt;
use std::path::Path;

use common::format::{self as fmt, Order, Slot, MAX_SEQUENCE, SLOT_OFFSETS};
use persistence::{inspect, ErrorKind, MmapedVec, OpenOptions};

/// An empty `MmapedVec<u64>` file with `elems` committed (one commit, slot B, sequence 2)
/// and room for 1000.
fn vector(path: &Path, elems: &[u64]) {
    let _ = std::fs::remove_file(path);
    let mut v = OpenOptions::new().capacity(1000).open::<u64>(path).unwrap();
    v.extend_from_slice(elems).unwrap();
    v.close().unwrap();
}

/// Writes slot `which` of `path` as `words` (sequence, length, checksum), with `pwrite`.
fn put_words(path: &Path, which: usize, words: [u64; 3]) {
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    let mut b = [0u8; 24];
    for (k, w) in words.iter().enumerate() {
        b[k * 8..k * 8 + 8].copy_from_slice(&w.to_ne_bytes());
    }
    f.write_all_at(&b, SLOT_OFFSETS[which] as u64).unwrap();
}

/// Writes a slot of `path` that validates (its checksum bound to the file's header).
fn put_slot(path: &Path, which: usize, seq: u64, len: u64) {
    let page = common::read(path);
    let bytes = fmt::encode_slot(
        fmt::header_sum(&page, Order::Native),
        Slot { seq, len },
        Order::Native,
    );
    let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    f.write_all_at(&bytes, SLOT_OFFSETS[which] as u64).unwrap();
}

fn words_of(path: &Path, which: usize) -> [u64; 3] {
    let page = common::read(path);
    let w =
        |k: usize| u64::from_ne_bytes(page[SLOT_OFFSETS[which] + k * 8..][..8].try_into().unwrap());
    [w(0), w(1), w(2)]
}

/// Every way in refuses the file with `Corrupt` and leaves it as it was.
fn refused_everywhere(path: &Path, what: &str) {
    let before = common::read(path);
    let kind = |r: persistence::Result<()>| r.unwrap_err().kind();
    assert_eq!(
        kind(MmapedVec::<u64>::open(path).map(drop)),
        ErrorKind::Corrupt,
        "{what}: open"
    );
    assert_eq!(
        kind(OpenOptions::new().open_read_only::<u64>(path).map(drop)),
        ErrorKind::Corrupt,
        "{what}: open_read_only"
    );
    assert_eq!(
        kind(OpenOptions::new().open_live::<u64>(path).map(drop)),
        ErrorKind::Corrupt,
        "{what}: open_live"
    );
    assert_eq!(
        kind(inspect(path).map(drop)),
        ErrorKind::Corrupt,
        "{what}: inspect"
    );
    let to = path.with_extension("converted");
    assert_eq!(
        kind(
            OpenOptions::new()
                .convert_foreign::<u64>(path, &to)
                .map(drop)
        ),
        ErrorKind::Corrupt,
        "{what}: convert_foreign"
    );
    assert_eq!(
        kind(
            OpenOptions::new()
                .migrate(0, path, &to, |x: &u64| *x)
                .map(drop)
        ),
        ErrorKind::Corrupt,
        "{what}: migrate"
    );
    assert!(!to.exists(), "{what}: a converted file appeared");
    assert_eq!(
        common::read(path),
        before,
        "{what}: a refused open changed the file"
    );
}

/// Every way in sees exactly `want` committed.
fn opens_to(path: &Path, want: &[u64], what: &str) {
    assert_eq!(
        &MmapedVec::<u64>::open(path).unwrap()[..],
        want,
        "{what}: open"
    );
    assert_eq!(
        &OpenOptions::new().open_read_only::<u64>(path).unwrap()[..],
        want,
        "{what}: open_read_only"
    );
    let r = OpenOptions::new().open_live::<u64>(path).unwrap();
    assert_eq!(r.iter().collect::<Vec<_>>(), want, "{what}: open_live");
    drop(r);
    assert_eq!(
        inspect(path).unwrap().len,
        want.len() as u64,
        "{what}: inspect"
    );
    let to = path.with_extension("converted");
    let n = OpenOptions::new()
        .convert_foreign::<u64>(path, &to)
        .unwrap();
    assert_eq!(n, want.len(), "{what}: convert_foreign");
    assert_eq!(&MmapedVec::<u64>::open(&to).unwrap()[..], want);
    std::fs::remove_file(&to).unwrap();
    let n = OpenOptions::new()
        .migrate(0, path, &to, |x: &u64| *x)
        .unwrap();
    assert_eq!(n, want.len(), "{what}: migrate");
    std::fs::remove_file(&to).unwrap();
}

/// The reproduction: slot A valid with sequence `u64::MAX - 3` and length 0, slot B
/// `(u64::MAX, 7, 0xdeadbeef)` (invalid). Before, `open` succeeded, the next commit wrapped
/// the sequence to 0 (or panicked with overflow checks, and aborted in `Drop`), `sync`
/// returned `Ok`, and a reopen showed length 0. Now no slot is valid: `Corrupt`, everywhere.
#[test]
fn a_valid_slot_near_u64_max_is_damaged_and_nothing_wraps() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    vector(&p, &[]);
    put_slot(&p, 0, u64::MAX - 3, 0);
    put_words(&p, 1, [u64::MAX, 7, 0xdead_beef]);
    refused_everywhere(&p, "slot A at u64::MAX - 3, slot B torn at u64::MAX");

    // Any sequence past MAX_SEQUENCE, or 0, counts as damage.
    for seq in [
        0,
        MAX_SEQUENCE + 1,
        MAX_SEQUENCE + (1 << 40),
        u64::MAX / 2,
        u64::MAX - 1,
        u64::MAX,
    ] {
        vector(&p, &[]);
        put_slot(&p, 0, seq, 0);
        put_words(&p, 1, [0; 3]);
        refused_everywhere(&p, &format!("the only slot at sequence {seq}"));
    }
}

/// A forged newest slot with a sequence out of range, beside a good commit: the good one
/// wins (as for a slot whose checksum fails), the writer commits above it, and a live reader
/// opened before the writer follows each commit (before, it adopted the forged number and
/// then refused every real commit as older).
#[test]
fn a_forged_slot_out_of_range_loses_to_the_real_commit() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    vector(&p, &[1, 2, 3]);
    let winner = inspect(&p).unwrap().winner;
    put_slot(&p, 1 - winner, u64::MAX, 5);
    let info = inspect(&p).unwrap();
    assert_eq!((info.winner, info.len), (winner, 3));
    assert!(
        !info.slots[1 - winner].valid,
        "the forged slot shows as invalid"
    );
    opens_to(&p, &[1, 2, 3], "forged slot at u64::MAX");

    let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap();
    let mut w = MmapedVec::<u64>::open(&p).unwrap();
    for i in 4..8 {
        w.push(i).unwrap();
        w.sync().unwrap();
        assert!(r.refresh().unwrap(), "the reader missed commit {i}");
        assert_eq!(r.len(), i as usize);
    }
    w.close().unwrap();
    opens_to(&p, &[1, 2, 3, 4, 5, 6, 7], "after four commits");
}

/// At the top of the range: a file whose commit has sequence `MAX_SEQUENCE - 1` takes one
/// more commit (at `MAX_SEQUENCE`); the one after is refused with `Corrupt`, the last commit
/// stays, and neither `sync`, `Drop` nor `close` panics.
#[test]
fn the_commit_past_max_sequence_is_refused_and_the_last_one_stays() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    vector(&p, &[1, 2, 3]);
    let w = inspect(&p).unwrap().winner;
    put_slot(&p, w, MAX_SEQUENCE - 1, 3);
    let mut v = MmapedVec::<u64>::open(&p).unwrap();
    v.push(4).unwrap();
    v.sync().unwrap();
    assert_eq!(inspect(&p).unwrap().current().sequence, MAX_SEQUENCE);
    v.push(5).unwrap();
    let e = v.sync().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
    assert!(e.to_string().contains("exhausted"), "{e}");
    assert_eq!(v.committed_len(), 4);
    assert_eq!(v.close().unwrap_err().kind(), ErrorKind::Corrupt);
    opens_to(&p, &[1, 2, 3, 4], "after the refused commit");
    // Dropped instead of closed: the commit is refused silently, no panic.
    let mut v = MmapedVec::<u64>::open(&p).unwrap();
    v.push(5).unwrap();
    drop(v);
    opens_to(&p, &[1, 2, 3, 4], "after a drop");
}

/// A torn slot whose sequence word is near `u64::MAX` beside a valid commit near the top:
/// the writer's number clear of it (`sequence_clear_of`) never overflows. Far above the next
/// number, the torn word is damage and is ignored; just above `MAX_SEQUENCE`, the number
/// clear of it would be out of range, so the commit is refused.
#[test]
fn a_torn_slot_near_the_top_never_overflows_the_next_number() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    for (torn_seq, commits) in [
        (u64::MAX, true),
        (u64::MAX - 1, true),
        (MAX_SEQUENCE + 3, false),
    ] {
        vector(&p, &[1, 2, 3]);
        let w = inspect(&p).unwrap().winner;
        put_slot(&p, w, MAX_SEQUENCE - 2, 3);
        put_words(&p, 1 - w, [torn_seq, 77, 0x1234]);
        let mut v = MmapedVec::<u64>::open(&p).unwrap();
        v.push(4).unwrap();
        match v.sync() {
            Ok(()) => {
                assert!(commits, "torn at {torn_seq}: committed");
                let s = words_of(&p, 1 - w)[0];
                assert!(
                    (1..=MAX_SEQUENCE).contains(&s),
                    "torn at {torn_seq}: wrote sequence {s}"
                );
                v.close().unwrap();
                opens_to(&p, &[1, 2, 3, 4], "after the commit over the torn slot");
            }
            Err(e) => {
                assert!(!commits, "torn at {torn_seq}: {e}");
                assert_eq!(e.kind(), ErrorKind::Corrupt, "{e}");
                drop(v);
                opens_to(
                    &p,
                    &[1, 2, 3],
                    "after the refused commit over the torn slot",
                );
            }
        }
    }
}
