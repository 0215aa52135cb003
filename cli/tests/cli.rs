//! The `persistence` binary, run on real files made here with the library: good files, a
//! damaged newest (and older) commit slot, a truncated file, another program's file, a
//! missing file, a directory, a file of the other byte order (built from the documented
//! format by the library's own test helper), a file held by a writer, and commit groups (good,
//! with a damaged newest slot, with a damaged block table entry, truncated, held by a writer;
//! refused by dump and convert). Exit statuses, the lines a person reads, and JSON read back
//! by a strict parser.

mod json;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use json::{parse, Json};
use persistence::{inspect, pod, FileKind, Group, MmapedVec, OpenOptions, Pod};

/// `examples/inspect.rs`, whose report `inspect` prints the same way.
#[allow(dead_code)]
#[path = "../../examples/inspect.rs"]
mod example;

/// The on-disk format written from `docs/design.md`, shared with the library's tests (it
/// allows its own dead code).
#[path = "../../tests/common/format.rs"]
mod format;

pod! {
    /// 24 bytes, alignment 8: no primitive has this layout.
    #[derive(Debug)]
    pub struct Trade { pub time_ns: u64, pub price: f64, pub qty: u32, pub venue: u32 }
}

const TRADES: [u8; 8] = *b"TRADES\0\0";

/// Runs the binary with `args`.
fn run<S: AsRef<std::ffi::OsStr>>(args: &[S]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_persistence"))
        .args(args)
        .output()
        .expect("run the persistence binary")
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).expect("UTF-8 output")
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).expect("UTF-8 output")
}

/// Asserts the exit status, showing both outputs when it differs.
#[track_caller]
fn assert_status(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        stdout(o),
        stderr(o)
    );
}

/// Asserts that `text` has a line equal to `line`.
#[track_caller]
fn assert_line(text: &str, line: &str) {
    assert!(
        text.lines().any(|l| l == line),
        "no line {line:?} in:\n{text}"
    );
}

fn parse_json(o: &Output) -> Json {
    let text = stdout(o);
    parse(&text).unwrap_or_else(|e| panic!("invalid JSON ({e}):\n{text}"))
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("persistence-cli-test")
        .tempdir()
        .expect("tempdir")
}

fn trade(i: u64) -> Trade {
    Trade {
        time_ns: i,
        price: 100.0 + i as f64 / 4.0,
        qty: i as u32,
        venue: 2,
    }
}

/// A file of 1500 trades (magic `TRADES`, version 2), committed twice: 1000, then 1500.
fn trades_file(dir: &Path) -> PathBuf {
    let path = dir.join("trades.bin");
    let opts = *OpenOptions::new().magic(TRADES).version(2);
    let mut v = opts.open::<Trade>(&path).expect("create");
    v.try_extend((0..1000).map(trade)).expect("extend");
    v.sync().expect("sync");
    v.try_extend((1000..1500).map(trade)).expect("extend");
    v.close().expect("close");
    path
}

/// A file of `u64` values `0..n` (magic `NUMBERS`, version 1), committed once more with
/// length `n` after a first commit of `n / 2`.
fn u64_file(dir: &Path, name: &str, n: u64) -> PathBuf {
    let path = dir.join(name);
    let mut v = OpenOptions::new()
        .magic(*b"NUMBERS\0")
        .version(1)
        .open::<u64>(&path)
        .expect("create");
    v.try_extend(0..n / 2).expect("extend");
    v.sync().expect("sync");
    v.try_extend(n / 2..n).expect("extend");
    v.close().expect("close");
    path
}

/// Flips one byte of slot `which`'s checksum (0 = A, 1 = B).
fn damage_slot(path: &Path, which: usize) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open to damage");
    let at = format::SLOT_OFFSETS[which] as u64 + 16;
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).expect("read");
    f.write_all_at(&[b[0] ^ 0xff], at).expect("write");
}

/// A file of `u32` values `0..n` as a machine of the other byte order writes it.
fn foreign_u32_file(dir: &Path, n: u32) -> PathBuf {
    let path = dir.join("foreign.bin");
    let fixed = format::Fixed::of::<u32>(*b"FOREIGN\0", 5);
    let data: Vec<u8> = (0..n).flat_map(|x| x.swap_bytes().to_ne_bytes()).collect();
    let bytes = format::vector_file(&fixed, format::Order::Swapped, n.into(), &data);
    std::fs::write(&path, bytes).expect("write foreign file");
    path
}

#[test]
fn help_lists_the_commands_and_exit_statuses() {
    let o = run(&["--help"]);
    assert_status(&o, 0);
    let text = stdout(&o);
    for cmd in ["inspect", "verify", "dump", "convert"] {
        assert!(
            text.lines().any(|l| l.trim_start().starts_with(cmd)),
            "{cmd} not listed:\n{text}"
        );
    }
    assert!(text.contains("Exit status:"), "{text}");

    for cmd in ["inspect", "verify", "dump", "convert"] {
        let o = run(&[cmd, "--help"]);
        assert_status(&o, 0);
        assert!(stdout(&o).contains("Usage: persistence "), "{}", stdout(&o));
    }
    let o = run(&["verify", "--help"]);
    assert!(stdout(&o).contains("3  verify: refused"), "{}", stdout(&o));
    let o = run(&["dump", "--help"]);
    assert!(stdout(&o).contains("u128"), "the types are listed");

    let o = run(&["--version"]);
    assert_status(&o, 0);
    assert_eq!(
        stdout(&o).trim(),
        concat!("persistence ", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn usage_errors_exit_2() {
    let o = run(&["inspect", "--bogus", "x.bin"]);
    assert_status(&o, 2);
    assert!(
        stderr(&o).contains("unexpected argument '--bogus'"),
        "{}",
        stderr(&o)
    );
    assert_status(&run::<&str>(&[]), 2);
    assert_status(&run(&["frobnicate"]), 2);
    assert_status(&run(&["inspect"]), 2); // FILE is required
    let o = run(&["dump", "x.bin", "--type", "u24"]);
    assert_status(&o, 2);
    assert!(stderr(&o).contains("possible values"), "{}", stderr(&o));
    let o = run(&["dump", "x.bin", "--type", "u8", "--magic", "TOO-LONG!"]);
    assert_status(&o, 2);
    let o = run(&["dump", "x.bin", "--type", "u8", "--count", "-1"]);
    assert_status(&o, 2);
}

#[test]
fn inspect_prints_the_header_for_a_person() {
    let dir = tmpdir();
    let path = trades_file(dir.path());
    let o = run(&[&path]);
    assert_status(&o, 2); // no command
    let o = run(&[Path::new("inspect"), &path]);
    assert_status(&o, 0);
    let text = stdout(&o);
    assert_line(&text, &format!("file              {}", path.display()));
    assert_line(&text, "format            PERSISTV version 2");
    assert!(
        text.contains("byte order        this machine's ("),
        "{text}"
    );
    assert_line(
        &text,
        r#"application       magic "TRADES\x00\x00" (54 52 41 44 45 53 00 00) version 2"#,
    );
    assert_line(&text, "element           size 24 bytes, alignment 8");
    assert_line(
        &text,
        &format!(
            "element type      fingerprint {}",
            <Trade as persistence::Pod>::FINGERPRINT
        ),
    );
    assert_line(
        &text,
        &format!("usize width       {} bytes", std::mem::size_of::<usize>()),
    );
    assert_line(
        &text,
        "length            1500 elements (36000 bytes of data, committed)",
    );
    let info = inspect(&path).expect("inspect");
    assert_line(
        &text,
        &format!("capacity          {} elements", info.capacity),
    );
    assert_line(
        &text,
        &format!("file size         {} bytes", info.file_size),
    );
    assert!(text.contains("\nfile system       "), "{text}");
    // Creation wrote A (1), the first commit B (2), the second A (3).
    assert_line(
        &text,
        "slot A            sequence 3, length 1500: valid, current",
    );
    assert_line(
        &text,
        "slot B            sequence 2, length 1000: valid, previous commit",
    );
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));

    assert_line(&text, "kind              vector");
    // Line for line what examples/inspect.rs prints, which has no kind line.
    let mut expected = Vec::new();
    example::report(&path, &info, &mut expected).expect("report");
    let without_kind: String = text
        .lines()
        .filter(|l| !l.starts_with("kind "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(without_kind, String::from_utf8(expected).expect("UTF-8"));

    // Several files: one report each, a blank line between.
    let o = run(&[Path::new("inspect"), &path, &path]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o), format!("{text}\n{text}"));
}

#[test]
fn inspect_json_has_every_field_and_the_errors() {
    let dir = tmpdir();
    let path = trades_file(dir.path());
    let o = run(&[Path::new("inspect"), Path::new("--json"), &path]);
    assert_status(&o, 0);
    let v = parse_json(&o);
    let info = inspect(&path).expect("inspect");
    assert_eq!(v.get("path").str(), path.to_str().expect("UTF-8 path"));
    assert!(v.get("ok").bool());
    assert_eq!(v.get("format_version").u64(), 2);
    assert_eq!(
        v.get("elem_fingerprint").str(),
        format!(
            "{:#018x}",
            <Trade as persistence::Pod>::FINGERPRINT.to_u64()
        )
    );
    assert!(v.has("elem_type"), "null for a struct");
    assert_eq!(v.get("elem_type"), &Json::Null);
    assert!(v.get("native_byte_order").bool());
    assert_eq!(v.get("app_magic").str(), "5452414445530000");
    assert_eq!(v.get("app_magic_text").str(), "TRADES");
    assert_eq!(v.get("app_version").u64(), 2);
    assert_eq!(v.get("elem_size").u64(), 24);
    assert_eq!(v.get("elem_align").u64(), 8);
    assert_eq!(
        v.get("usize_width").u64(),
        std::mem::size_of::<usize>() as u64
    );
    assert_eq!(v.get("len").u64(), 1500);
    assert_eq!(v.get("data_bytes").u64(), 36000);
    assert_eq!(v.get("capacity").u64(), info.capacity);
    assert_eq!(v.get("file_size").u64(), info.file_size);
    assert_eq!(v.get("winner").str(), "A");
    let slots = v.get("slots").arr();
    assert_eq!(slots.len(), 2);
    assert_eq!(slots[0].get("name").str(), "A");
    assert_eq!(slots[0].get("sequence").u64(), 3);
    assert_eq!(slots[0].get("state").str(), "current");
    assert_eq!(slots[1].get("len").u64(), 1000);
    assert!(slots[1].get("valid").bool());
    assert!(!slots[1].get("blank").bool());
    assert_eq!(slots[1].get("state").str(), "previous");
    for key in ["byte_order", "file_system", "copy_on_write"] {
        assert!(v.has(key), "{key}");
    }
    // The members that say the kind: a vector is one column, its lengths one per slot.
    assert_eq!(v.get("kind").str(), "vector");
    assert_eq!(v.get("generation").u64(), 2);
    let columns = v.get("columns").arr();
    assert_eq!(columns.len(), 1);
    for key in [
        "elem_size",
        "elem_align",
        "elem_fingerprint",
        "elem_type",
        "len",
        "data_bytes",
        "capacity",
    ] {
        assert_eq!(columns[0].get(key), v.get(key), "{key}");
    }
    let lens: Vec<u64> = slots.iter().map(|s| s.get("lens").arr()[0].u64()).collect();
    assert_eq!(lens, [1500, 1000]);
    assert!(slots.iter().all(|s| s.get("lens").arr().len() == 1));

    // Several files: an array, errors inside it, exit 1.
    let missing = dir.path().join("missing \"quoted\"\n.bin");
    let o = run(&[
        Path::new("inspect"),
        Path::new("--json"),
        &path,
        &missing,
        dir.path(),
    ]);
    assert_status(&o, 1);
    let v = parse_json(&o);
    let files = v.arr();
    assert_eq!(files.len(), 3);
    assert!(files[0].get("ok").bool());
    assert_eq!(files[1].get("path").str(), missing.to_str().expect("UTF-8"));
    assert!(!files[1].get("ok").bool());
    assert_eq!(files[1].get("error").get("kind").str(), "NotFound");
    assert!(!files[1].get("error").get("message").str().is_empty());
    assert_eq!(files[2].get("error").get("kind").str(), "NotARegularFile");
}

#[test]
fn inspect_reports_each_failure_and_goes_on() {
    let dir = tmpdir();
    let good = trades_file(dir.path());
    let other = dir.path().join("notes.txt");
    std::fs::write(&other, "not a vector file, just some text\n").expect("write");
    let truncated = dir.path().join("truncated.bin");
    std::fs::write(&truncated, &std::fs::read(&good).expect("read")[..16]).expect("write");
    let missing = dir.path().join("missing.bin");
    let o = run(&[
        Path::new("inspect"),
        &other,
        &good,
        &truncated,
        &missing,
        dir.path(),
    ]);
    assert_status(&o, 1);
    assert!(stdout(&o).contains("length            1500 elements"));
    let err = stderr(&o);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    for (line, path, kind) in [
        (lines[0], &other, "[BadMagic]"),
        (lines[1], &truncated, "[Corrupt]"),
        (lines[2], &missing, "[NotFound]"),
        (lines[3], &dir.path().to_path_buf(), "[NotARegularFile]"),
    ] {
        let prefix = format!("persistence inspect: {}: ", path.display());
        assert!(line.starts_with(&prefix) && line.ends_with(kind), "{line}");
    }
}

#[test]
fn inspect_verify_and_dump_work_beside_a_writer() {
    let dir = tmpdir();
    let path = u64_file(dir.path(), "held.bin", 100);
    let mut writer = OpenOptions::new()
        .magic(*b"NUMBERS\0")
        .version(1)
        .open::<u64>(&path)
        .expect("writer");
    writer.push(100).expect("push"); // not committed: invisible to readers
    let o = run(&[Path::new("inspect"), &path]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("length            100 elements"));

    let o = run(&[Path::new("verify"), &path]);
    assert_status(&o, 0);

    // dump falls back to a live reader.
    let o = run(&[
        Path::new("dump"),
        &path,
        Path::new("--type"),
        Path::new("u64"),
        Path::new("--offset"),
        Path::new("98"),
    ]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o), "98\n99\n");
    assert!(
        stderr(&o).contains("a writer holds the file: read beside it as a live reader"),
        "{}",
        stderr(&o)
    );
    writer.sync().expect("sync");
    let o = run(&[
        Path::new("dump"),
        &path,
        Path::new("-t"),
        Path::new("u64"),
        Path::new("--offset"),
        Path::new("99"),
    ]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o), "99\n100\n");
    // convert needs the source to itself.
    let o = run(&[
        Path::new("convert"),
        &path,
        &dir.path().join("copy.bin"),
        Path::new("--type"),
        Path::new("u64"),
    ]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[Locked]"), "{}", stderr(&o));
    drop(writer);
}

#[test]
fn verify_a_good_file() {
    let dir = tmpdir();
    let path = trades_file(dir.path());
    let o = run(&[Path::new("verify"), &path]);
    assert_status(&o, 0);
    let text = stdout(&o);
    assert_line(&text, &format!("{}: OK", path.display()));
    assert_line(
        &text,
        "  ok    commit       opens to commit 3 (slot A), length 1500",
    );
    assert_line(
        &text,
        "  ok    slot B       valid, previous commit: sequence 2, length 1000",
    );
    assert!(!text.contains("WARN") && !text.contains("FAIL"), "{text}");

    let v = parse_json(&run(&[Path::new("verify"), Path::new("--json"), &path]));
    assert_eq!(v.get("status").str(), "ok");
    assert_eq!(v.get("exit_status").u64(), 0);
    assert!(!v.get("newest_slot_damaged").bool());
    assert_eq!(v.get("opens_to").get("len").u64(), 1500);
    assert_eq!(v.get("error"), &Json::Null);
    assert!(v
        .get("checks")
        .arr()
        .iter()
        .all(|c| c.get("status").str() == "ok"));
}

#[test]
fn verify_a_damaged_newest_slot_opens_to_the_older_commit() {
    let dir = tmpdir();
    let path = u64_file(dir.path(), "damaged.bin", 1000);
    let before = inspect(&path).expect("inspect");
    let newest = before.winner;
    let older = before.slots[1 - newest];
    assert_eq!(older.len, 500);
    damage_slot(&path, newest);
    let after = inspect(&path).expect("still opens");
    assert_eq!((after.winner, after.len), (1 - newest, 500));

    let o = run(&[Path::new("verify"), &path]);
    assert_status(&o, 1);
    let text = stdout(&o);
    assert_line(&text, &format!("{}: WARNING", path.display()));
    let name = ["A", "B"][newest];
    let older_name = ["A", "B"][1 - newest];
    assert!(
        text.contains(&format!(
            "  WARN  slot {name}       DAMAGED: checksum fails (stored sequence {}",
            before.slots[newest].sequence
        )),
        "{text}"
    );
    assert!(
        text.contains("it would have been the newest commit"),
        "{text}"
    );
    assert_line(
        &text,
        &format!(
            "  WARN  commit       the newest slot is damaged: opens to the older commit {} \
             (slot {older_name}), length 500",
            older.sequence
        ),
    );

    let v = parse_json(&run(&[Path::new("verify"), Path::new("--json"), &path]));
    assert_eq!(v.get("status").str(), "warning");
    assert_eq!(v.get("exit_status").u64(), 1);
    assert!(v.get("newest_slot_damaged").bool());
    assert_eq!(v.get("opens_to").get("slot").str(), older_name);
    assert_eq!(v.get("opens_to").get("sequence").u64(), older.sequence);
    assert_eq!(v.get("opens_to").get("len").u64(), 500);

    // What dump reads is the older commit.
    let o = run(&[
        Path::new("dump"),
        &path,
        Path::new("--type"),
        Path::new("u64"),
    ]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o).lines().count(), 500);
}

#[test]
fn verify_a_damaged_older_slot_warns_but_keeps_the_newest_commit() {
    let dir = tmpdir();
    let path = u64_file(dir.path(), "older-damaged.bin", 1000);
    let before = inspect(&path).expect("inspect");
    damage_slot(&path, 1 - before.winner);
    let o = run(&[Path::new("verify"), &path]);
    assert_status(&o, 1);
    let text = stdout(&o);
    assert!(
        text.contains("an older commit's slot; the current commit is not affected"),
        "{text}"
    );
    assert!(
        text.contains("  ok    commit       opens to commit "),
        "{text}"
    );
    let v = parse_json(&run(&[Path::new("verify"), Path::new("--json"), &path]));
    assert!(!v.get("newest_slot_damaged").bool());
    assert_eq!(v.get("opens_to").get("len").u64(), 1000);
}

#[test]
fn verify_refuses_broken_and_foreign_files_and_reports_unreadable_ones() {
    let dir = tmpdir();
    let good = trades_file(dir.path());
    let truncated = dir.path().join("truncated.bin");
    let bytes = std::fs::read(&good).expect("read");
    std::fs::write(&truncated, &bytes[..4096 + 24 * 100]).expect("write"); // length 1500 no longer fits
    let other = dir.path().join("other.bin");
    std::fs::write(&other, vec![7u8; 8192]).expect("write");
    let both_bad = dir.path().join("both-slots-damaged.bin");
    std::fs::write(&both_bad, &bytes).expect("write");
    damage_slot(&both_bad, 0);
    damage_slot(&both_bad, 1);
    let foreign = foreign_u32_file(dir.path(), 10);
    let missing = dir.path().join("missing.bin");

    for (path, code, kind) in [
        (&truncated, 3, "[Corrupt]"),
        (&other, 3, "[BadMagic]"),
        (&both_bad, 3, "[Corrupt]"),
        (&missing, 4, "[NotFound]"),
        (&dir.path().to_path_buf(), 4, "[NotARegularFile]"),
    ] {
        let o = run(&[Path::new("verify"), path]);
        assert_status(&o, code);
        let text = stdout(&o);
        let status = if code == 3 { "REFUSED" } else { "UNREADABLE" };
        assert_line(&text, &format!("{}: {status}", path.display()));
        assert!(
            text.lines()
                .any(|l| l.starts_with("  FAIL  open") && l.ends_with(kind)),
            "{text}"
        );
    }

    let o = run(&[Path::new("verify"), &foreign]);
    assert_status(&o, 3);
    let text = stdout(&o);
    assert!(
        text.contains("  FAIL  byte order   ")
            && text.contains("`persistence convert` converts it"),
        "{text}"
    );
    assert!(text.contains("  ok    commit       opens to commit 2 (slot B), length 10"));

    // Several files: the worst status; JSON: an array.
    let o = run(&[Path::new("verify"), &good, &foreign]);
    assert_status(&o, 3);
    let o = run(&[
        Path::new("verify"),
        Path::new("--json"),
        &good,
        &foreign,
        &missing,
    ]);
    assert_status(&o, 4);
    let v = parse_json(&o);
    let statuses: Vec<&str> = v.arr().iter().map(|f| f.get("status").str()).collect();
    assert_eq!(statuses, ["ok", "refused", "unreadable"]);
    assert_eq!(v.arr()[2].get("error").get("kind").str(), "NotFound");
    assert_eq!(v.arr()[2].get("opens_to"), &Json::Null);
}

#[test]
fn dump_prints_committed_elements() {
    let dir = tmpdir();
    let path = dir.path().join("floats.bin");
    let mut v = OpenOptions::new()
        .magic(*b"FLOATS\0\0")
        .open::<f64>(&path)
        .expect("create");
    let values = [1.0, -0.5, 0.1, 1e300, f64::NAN, f64::NEG_INFINITY, 2.5];
    v.extend_from_slice(&values).expect("extend");
    v.push(99.0).expect("push");
    v.sync().expect("sync");
    // A shorter commit: the 99.0 stays in the file's spare capacity, never printed.
    v.truncate(values.len());
    v.close().expect("close");

    let dump = |extra: &[&str]| {
        let mut args = vec![
            "dump".to_owned(),
            path.to_str().expect("UTF-8").to_owned(),
            "--type".to_owned(),
            "f64".to_owned(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        run(&args)
    };
    let o = dump(&[]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o), "1.0\n-0.5\n0.1\n1e300\nNaN\n-inf\n2.5\n");
    // Every printed float reads back to the same bits.
    for (line, x) in stdout(&o).lines().zip(values) {
        let back: f64 = line.parse().expect("a float");
        assert!(back == x || (back.is_nan() && x.is_nan()), "{line}");
    }
    assert_eq!(
        stdout(&dump(&["--offset", "2", "--count", "2"])),
        "0.1\n1e300\n"
    );
    assert_eq!(stdout(&dump(&["--offset", "6", "--count", "5"])), "2.5\n");
    let o = dump(&["--offset", "100"]);
    assert_status(&o, 0);
    assert_eq!(stdout(&o), "");
    // The file's own magic by default; the right one given as text or hex works too.
    assert_status(&dump(&["--magic", "FLOATS", "--version", "0"]), 0);
    assert_status(&dump(&["--magic", "0x464c4f4154530000"]), 0);
    let o = dump(&["--magic", "OTHER"]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[MagicMismatch]"), "{}", stderr(&o));
    let o = dump(&["--version", "3"]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[VersionMismatch]"), "{}", stderr(&o));
}

#[test]
fn dump_every_integer_type() {
    let dir = tmpdir();
    macro_rules! check {
        ($($t:ident)*) => {$({
            let path = dir.path().join(concat!(stringify!($t), ".bin"));
            let mut v = MmapedVec::<$t>::open(&path).expect("create");
            v.extend_from_slice(&[$t::MIN, 0, 1, $t::MAX]).expect("extend");
            v.close().expect("close");
            let o = run(&[Path::new("dump"), &path, Path::new("--type"), Path::new(stringify!($t))]);
            assert_status(&o, 0);
            assert_eq!(stdout(&o), format!("{}\n0\n1\n{}\n", $t::MIN, $t::MAX));
        })*};
    }
    check!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);
    let path = dir.path().join("f32.bin");
    let mut v = MmapedVec::<f32>::open(&path).expect("create");
    v.extend_from_slice(&[0.1, f32::MAX]).expect("extend");
    v.close().expect("close");
    let o = run(&[Path::new("dump"), &path, Path::new("-t"), Path::new("f32")]);
    assert_eq!(stdout(&o), "0.1\n3.4028235e38\n");
}

#[test]
fn dump_refuses_a_type_of_another_layout() {
    let dir = tmpdir();
    let path = u64_file(dir.path(), "u64.bin", 10);
    let o = run(&[
        Path::new("dump"),
        &path,
        Path::new("--type"),
        Path::new("u32"),
    ]);
    assert_status(&o, 1);
    let err = stderr(&o);
    assert!(
        err.starts_with(&format!("persistence dump: {}: ", path.display())),
        "{err}"
    );
    assert!(err.contains("[LayoutMismatch]"), "{err}");
    assert!(
        err.contains("the file's elements are 8 bytes (alignment 8), u32 is 4 (alignment 4)"),
        "{err}"
    );
    assert!(err.contains("--type u64 or "), "{err}");
    assert!(stdout(&o).is_empty());

    let trades = trades_file(dir.path());
    let o = run(&[
        Path::new("dump"),
        &trades,
        Path::new("-t"),
        Path::new("u64"),
    ]);
    assert_status(&o, 1);
    assert!(
        stderr(&o).contains("no primitive type has that layout"),
        "{}",
        stderr(&o)
    );

    let missing = dir.path().join("missing.bin");
    let o = run(&[
        Path::new("dump"),
        &missing,
        Path::new("-t"),
        Path::new("u64"),
    ]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[NotFound]"), "{}", stderr(&o));
}

#[test]
fn convert_turns_a_foreign_file_into_a_native_one() {
    let dir = tmpdir();
    let foreign = foreign_u32_file(dir.path(), 1000);
    let o = run(&[Path::new("inspect"), &foreign]);
    assert_status(&o, 0);
    assert!(
        stdout(&o).contains("byte order        FOREIGN: "),
        "{}",
        stdout(&o)
    );
    let o = run(&[
        Path::new("dump"),
        &foreign,
        Path::new("-t"),
        Path::new("u32"),
    ]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[WrongEndianness]"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("persistence convert FROM TO"),
        "{}",
        stderr(&o)
    );

    let native = dir.path().join("native.bin");
    let o = run(&[
        Path::new("convert"),
        &foreign,
        &native,
        Path::new("--type"),
        Path::new("u32"),
    ]);
    assert_status(&o, 0);
    assert_eq!(
        stdout(&o),
        format!(
            "converted 1000 elements of 4 bytes (from the other byte order to this machine's): \
             {} -> {}\n",
            foreign.display(),
            native.display()
        )
    );
    let info = inspect(&native).expect("inspect");
    assert!(info.native_byte_order);
    assert_eq!((info.app_magic, info.app_version), (*b"FOREIGN\0", 5));
    let o = run(&[
        Path::new("dump"),
        &native,
        Path::new("-t"),
        Path::new("u32"),
        Path::new("--offset"),
        Path::new("997"),
    ]);
    assert_eq!(stdout(&o), "997\n998\n999\n");

    // In place; a native file is copied.
    let o = run(&[
        Path::new("convert"),
        &foreign,
        &foreign,
        Path::new("-t"),
        Path::new("i32"),
    ]);
    assert_status(&o, 0);
    assert!(inspect(&foreign).expect("inspect").native_byte_order);
    let o = run(&[
        Path::new("convert"),
        &native,
        &dir.path().join("copy.bin"),
        Path::new("-t"),
        Path::new("u32"),
    ]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("(copied: already in this machine's byte order)"));

    // The wrong type or magic: nothing written.
    let out = dir.path().join("never.bin");
    let o = run(&[
        Path::new("convert"),
        &native,
        &out,
        Path::new("-t"),
        Path::new("u64"),
    ]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[LayoutMismatch]"), "{}", stderr(&o));
    let o = run(&[
        Path::new("convert"),
        &native,
        &out,
        Path::new("-t"),
        Path::new("u32"),
        Path::new("--magic"),
        Path::new("NOPE"),
    ]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[MagicMismatch]"), "{}", stderr(&o));
    assert!(!out.exists());
}

// --- Commit groups. ---

const GROUPS: [u8; 8] = *b"GROUPS\0\0";

/// The 2 MiB of a group's block 0 (docs/design.md, "Commit groups": block `j` holds
/// `2 MiB << j` bytes of a column).
const BLOCK0: u64 = 2 << 20;

type Row = (u64, f64, u32);

fn group_opts() -> OpenOptions {
    *OpenOptions::new().magic(GROUPS).version(4)
}

/// A group of `(u64, f64, u32)` (magic `GROUPS`, version 4): 1000 rows committed
/// (generation 1, slot B), then 500 more rows and 20 more `u32`s in column 2 only, committed
/// by `close` (generation 2, slot A): lengths `[1500, 1500, 1520]`.
fn group_file(dir: &Path) -> PathBuf {
    let path = dir.join("group.bin");
    let mut g: Group<Row> = group_opts().open_group(&path).expect("create group");
    for i in 0..1000u32 {
        g.push_row((i.into(), f64::from(i) / 2.0, i))
            .expect("push_row");
    }
    g.sync().expect("sync");
    for i in 1000..1500u32 {
        g.push_row((i.into(), f64::from(i) / 2.0, i))
            .expect("push_row");
    }
    let (_, _, c) = g.columns_mut();
    c.try_extend(0..20).expect("extend column 2");
    g.close().expect("close");
    path
}

/// The fingerprint line text of `T`, as `inspect` prints an element type.
fn fingerprint_of<T: Pod>() -> String {
    format!("fingerprint {}", T::FINGERPRINT)
}

#[test]
fn inspect_a_group_prints_each_column_and_every_length() {
    let dir = tmpdir();
    let path = group_file(dir.path());
    let info = inspect(&path).expect("inspect");
    assert_eq!((info.kind, info.generation()), (FileKind::Group, 2));
    let o = run(&[Path::new("inspect"), &path]);
    assert_status(&o, 0);
    let text = stdout(&o);
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    assert_line(&text, "format            PERSISTV version 2");
    assert_line(
        &text,
        "kind              commit group of 3 columns, generation 2",
    );
    assert_line(
        &text,
        r#"application       magic "GROUPS\x00\x00" (47 52 4f 55 50 53 00 00) version 4"#,
    );
    // One line per column; a column's bytes start in block 0 (2 MiB), which 1500 or 1520
    // elements fit in, so its capacity is what block 0 holds.
    let columns = [
        (fingerprint_of::<u64>(), 8, 1500),
        (fingerprint_of::<f64>(), 8, 1500),
        (fingerprint_of::<u32>(), 4, 1520),
    ];
    for (k, (ty, size, len)) in columns.iter().enumerate() {
        assert_line(
            &text,
            &format!(
                "{:<18}{ty}, size {size} bytes, alignment {size}; length {len} ({} bytes of \
                 data, committed); capacity {} elements",
                format!("column {k}"),
                len * size,
                BLOCK0 / size
            ),
        );
        assert_eq!(info.columns()[k].capacity, BLOCK0 / size);
    }
    // A group has no single element, length or capacity: its column lines say them.
    for label in ["element ", "element type ", "length ", "capacity "] {
        assert!(
            !text.lines().any(|l| l.starts_with(label)),
            "{label:?} in:\n{text}"
        );
    }
    assert_line(
        &text,
        &format!("file size         {} bytes", info.file_size),
    );
    // Creation wrote A (1), the first commit B (2), the second A (3).
    assert_line(
        &text,
        "slot A            sequence 3, lengths [1500, 1500, 1520]: valid, current",
    );
    assert_line(
        &text,
        "slot B            sequence 2, lengths [1000, 1000, 1000]: valid, previous commit",
    );
    println!("{text}");

    // JSON: kind, generation, columns, each slot's lens; the top-level element, length and
    // capacity members are column 0's, as in FileInfo.
    let o = run(&[Path::new("inspect"), Path::new("--json"), &path]);
    assert_status(&o, 0);
    let v = parse_json(&o);
    assert!(v.get("ok").bool());
    assert_eq!(v.get("kind").str(), "group");
    assert_eq!(v.get("generation").u64(), 2);
    assert_eq!(v.get("app_magic_text").str(), "GROUPS");
    assert_eq!(v.get("app_version").u64(), 4);
    let cols = v.get("columns").arr();
    assert_eq!(cols.len(), 3);
    for (k, (c, name)) in cols.iter().zip(["u64", "f64", "u32"]).enumerate() {
        let want = info.columns()[k];
        assert_eq!(c.get("elem_size").u64(), want.elem_size, "column {k}");
        assert_eq!(c.get("elem_align").u64(), want.elem_align, "column {k}");
        assert_eq!(
            c.get("elem_fingerprint").str(),
            format!("{:#018x}", want.elem_fingerprint.to_u64())
        );
        assert_eq!(c.get("elem_type").str(), name);
        assert_eq!(c.get("len").u64(), want.len);
        assert_eq!(c.get("data_bytes").u64(), want.len * want.elem_size);
        assert_eq!(c.get("capacity").u64(), want.capacity);
    }
    assert_eq!(cols[2].get("len").u64(), 1520);
    assert_eq!(v.get("elem_size").u64(), 8);
    assert_eq!(v.get("elem_type").str(), "u64");
    assert_eq!(v.get("len").u64(), 1500);
    assert_eq!(v.get("capacity").u64(), BLOCK0 / 8);
    assert_eq!(v.get("file_size").u64(), info.file_size);
    assert_eq!(v.get("winner").str(), "A");
    let slots = v.get("slots").arr();
    let lens = |s: &Json| -> Vec<u64> { s.get("lens").arr().iter().map(Json::u64).collect() };
    assert_eq!(lens(&slots[0]), [1500, 1500, 1520]);
    assert_eq!(lens(&slots[1]), [1000, 1000, 1000]);
    assert_eq!(slots[0].get("len").u64(), 1500);
    assert_eq!(slots[1].get("state").str(), "previous");
}

/// Flips a byte of the checksum word of a group's slot `which` (0 = A, 1 = B).
fn damage_group_slot(path: &Path, which: usize) {
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .expect("open to damage");
    let at = (format::group::SLOT_OFFSETS[which] + 8 * (format::group::SLOT_WORDS - 1)) as u64;
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, at).expect("read");
    f.write_all_at(&[b[0] ^ 0xff], at).expect("write");
}

#[test]
fn verify_a_group_checks_each_column_and_every_length() {
    let dir = tmpdir();
    let path = group_file(dir.path());
    let o = run(&[Path::new("verify"), &path]);
    assert_status(&o, 0);
    let text = stdout(&o);
    assert_line(&text, &format!("{}: OK", path.display()));
    assert!(
        text.contains(
            "  ok    header       PERSISTV format version 2, commit group of 3 columns, \
             generation 2, header checksum valid"
        ),
        "{text}"
    );
    assert_line(&text, "  ok    column 0     size 8 bytes, alignment 8");
    assert_line(&text, "  ok    column 1     size 8 bytes, alignment 8");
    assert_line(&text, "  ok    column 2     size 4 bytes, alignment 4");
    assert!(!text.contains(" element "), "{text}");
    assert_line(
        &text,
        "  ok    slot A       valid, current: sequence 3, lengths [1500, 1500, 1520]",
    );
    assert_line(
        &text,
        "  ok    slot B       valid, previous commit: sequence 2, lengths [1000, 1000, 1000]",
    );
    assert_line(
        &text,
        "  ok    commit       opens to commit 3 (slot A, generation 2), lengths [1500, 1500, 1520]",
    );
    let info = inspect(&path).expect("inspect");
    assert_line(
        &text,
        &format!(
            "  ok    size         {} bytes: holds every block the commit needs (aligned, \
             disjoint); capacity in the committed blocks, in elements: column 0 {}, column 1 {}, \
             column 2 {}",
            info.file_size,
            BLOCK0 / 8,
            BLOCK0 / 8,
            BLOCK0 / 4
        ),
    );
    println!("{text}");
    let v = parse_json(&run(&[Path::new("verify"), Path::new("--json"), &path]));
    assert_eq!(v.get("status").str(), "ok");
    assert_eq!(v.get("kind").str(), "group");
    let opens_to = v.get("opens_to");
    assert_eq!(opens_to.get("slot").str(), "A");
    assert_eq!(opens_to.get("generation").u64(), 2);
    assert_eq!(opens_to.get("len").u64(), 1500);
    let lens: Vec<u64> = opens_to.get("lens").arr().iter().map(Json::u64).collect();
    assert_eq!(lens, [1500, 1500, 1520]);

    // The newest slot damaged: a warning, and the file opens to the older commit, every
    // column at its length there.
    damage_group_slot(&path, 0);
    let after = inspect(&path).expect("still opens");
    assert_eq!((after.winner, after.generation()), (1, 1));
    let o = run(&[Path::new("verify"), &path]);
    assert_status(&o, 1);
    let text = stdout(&o);
    assert!(
        text.contains(
            "  WARN  slot A       DAMAGED: checksum fails (stored sequence 3, lengths [1500, \
             1500, 1520], untrusted): it would have been the newest commit"
        ),
        "{text}"
    );
    assert_line(
        &text,
        "  WARN  commit       the newest slot is damaged: opens to the older commit 2 (slot B, \
         generation 1), lengths [1000, 1000, 1000]",
    );
    let v = parse_json(&run(&[Path::new("verify"), Path::new("--json"), &path]));
    assert!(v.get("newest_slot_damaged").bool());
    let lens: Vec<u64> = v
        .get("opens_to")
        .get("lens")
        .arr()
        .iter()
        .map(Json::u64)
        .collect();
    assert_eq!(lens, [1000, 1000, 1000]);
    // And inspect shows the damaged slot's numbers as found, marked untrusted.
    let o = run(&[Path::new("inspect"), &path]);
    assert_line(
        &stdout(&o),
        "slot A            sequence 3, lengths [1500, 1500, 1520]: INVALID (checksum fails; \
         numbers untrusted)",
    );
    assert_line(
        &stdout(&o),
        "kind              commit group of 3 columns, generation 1",
    );
}

#[test]
fn verify_refuses_a_group_whose_blocks_are_damaged_or_missing() {
    let dir = tmpdir();
    let good = group_file(dir.path());
    let bytes = std::fs::read(&good).expect("read");

    // Column 1's block 0 entry pointed elsewhere (still aligned, in the file): the commit's
    // table checksum fails, and with it both slots (both need that entry).
    let moved = dir.path().join("moved-block.bin");
    let mut b = bytes.clone();
    let at = format::group::TABLE_AT + 8 * format::group::MAX_BLOCKS;
    let entry = u64::from_ne_bytes(b[at..at + 8].try_into().expect("8 bytes"));
    assert!(entry >= BLOCK0 && entry % BLOCK0 == 0, "entry {entry}");
    b[at..at + 8].copy_from_slice(&(entry + BLOCK0).to_ne_bytes());
    std::fs::write(&moved, &b).expect("write");

    // The file cut short: the last block no longer lies in it.
    let cut = dir.path().join("cut.bin");
    std::fs::write(&cut, &bytes[..bytes.len() - BLOCK0 as usize]).expect("write");

    for path in [&moved, &cut] {
        let e = inspect(path).expect_err("the library refuses it");
        assert_eq!(e.kind(), persistence::ErrorKind::Corrupt, "{e}");
        let o = run(&[Path::new("verify"), path]);
        assert_status(&o, 3);
        let text = stdout(&o);
        assert_line(&text, &format!("{}: REFUSED", path.display()));
        assert!(
            text.lines()
                .any(|l| l.starts_with("  FAIL  open") && l.ends_with("[Corrupt]")),
            "{text}"
        );
        let o = run(&[Path::new("inspect"), Path::new("--json"), path]);
        assert_status(&o, 1);
        assert_eq!(parse_json(&o).get("error").get("kind").str(), "Corrupt");
    }
}

#[test]
fn dump_and_convert_refuse_a_group_clearly() {
    let dir = tmpdir();
    let path = group_file(dir.path());
    let o = run(&[
        Path::new("dump"),
        &path,
        Path::new("--type"),
        Path::new("u64"),
    ]);
    assert_status(&o, 1);
    assert!(stdout(&o).is_empty(), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "persistence dump: {}: a commit group's file (commit group of 3 columns, \
             generation 2), not a vector's [WrongFileKind]",
            path.display()
        )),
        "{err}"
    );
    assert!(err.contains("dump reads vector files"), "{err}");
    assert!(
        err.contains(&format!("`persistence inspect {}`", path.display())),
        "{err}"
    );
    // With the magic and version given (no inspect needed for the options): the same.
    let o = run(&[
        Path::new("dump"),
        &path,
        Path::new("-t"),
        Path::new("u64"),
        Path::new("--magic"),
        Path::new("GROUPS"),
        Path::new("--version"),
        Path::new("4"),
    ]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[WrongFileKind]"), "{}", stderr(&o));

    let to = dir.path().join("converted.bin");
    let o = run(&[
        Path::new("convert"),
        &path,
        &to,
        Path::new("--type"),
        Path::new("u64"),
    ]);
    assert_status(&o, 1);
    let err = stderr(&o);
    assert!(
        err.contains("not a vector's [WrongFileKind]")
            && err.contains("the library converts no commit group"),
        "{err}"
    );
    assert!(!to.exists());
    assert_eq!(inspect(&path).expect("untouched").generation(), 2);
}

#[test]
fn inspect_verify_and_dump_of_a_group_beside_its_writer() {
    let dir = tmpdir();
    let path = group_file(dir.path());
    let mut g: Group<Row> = group_opts().open_group(&path).expect("writer");
    g.push_row((1, 1.0, 1)).expect("push_row"); // not committed: invisible to readers
    let o = run(&[Path::new("inspect"), &path]);
    assert_status(&o, 0);
    assert_line(
        &stdout(&o),
        "kind              commit group of 3 columns, generation 2",
    );
    assert!(
        stdout(&o).contains("lengths [1500, 1500, 1520]: valid, current"),
        "{}",
        stdout(&o)
    );
    assert_status(&run(&[Path::new("verify"), &path]), 0);
    g.sync().expect("sync");
    let o = run(&[Path::new("inspect"), &path]);
    assert!(
        stdout(&o).contains("lengths [1501, 1501, 1521]: valid, current"),
        "{}",
        stdout(&o)
    );
    let o = run(&[Path::new("dump"), &path, Path::new("-t"), Path::new("u64")]);
    assert_status(&o, 1);
    assert!(stderr(&o).contains("[WrongFileKind]"), "{}", stderr(&o));
    g.close().expect("close");
}

#[test]
fn verify_refuses_a_group_column_of_a_layout_no_type_has() {
    use format::group as g;
    let dir = tmpdir();
    let path = group_file(dir.path());
    // Column 1's element size 8 -> 6 (alignment 8): the header checksum and both slots sealed
    // again, so the library reads the file and only the layout is wrong. 1500 elements of 6
    // bytes need the same one block as of 8, so the table checksum still holds.
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .expect("open");
    let mut page = vec![0u8; format::HEADER_SIZE];
    f.read_exact_at(&mut page, 0).expect("read");
    let order = format::Order::Native;
    let at = g::AT_COLUMN0 + g::COLUMN_LEN;
    page[at..at + 8].copy_from_slice(&order.u64(6));
    g::reseal(&mut page, order);
    for which in 0..2 {
        let slot = g::slot_at(&page, which, order);
        g::write_slot(&mut page, which, &slot, order);
    }
    f.write_all_at(&page, 0).expect("write");
    drop(f);
    let info = inspect(&path).expect("the library reads it");
    assert_eq!((info.columns()[1].elem_size, info.generation()), (6, 2));

    let o = run(&[Path::new("verify"), &path]);
    assert_status(&o, 3);
    let text = stdout(&o);
    assert_line(&text, &format!("{}: REFUSED", path.display()));
    assert_line(&text, "  ok    column 0     size 8 bytes, alignment 8");
    assert_line(
        &text,
        "  FAIL  column 1     size 6 bytes is not a multiple of the alignment 8: no type has \
         that layout, so every open refuses it (LayoutMismatch)",
    );
    assert_line(&text, "  ok    column 2     size 4 bytes, alignment 4");
    let v = parse_json(&run(&[Path::new("verify"), Path::new("--json"), &path]));
    assert_eq!(v.get("status").str(), "refused");
    let failed: Vec<&str> = v
        .get("checks")
        .arr()
        .iter()
        .filter(|c| c.get("status").str() != "ok")
        .map(|c| c.get("name").str())
        .collect();
    assert_eq!(failed, ["column 1"]);
}

/// A file without a commit (empty, or the remains of an interrupted creation) is what the
/// library calls uncreated: `inspect` and `verify` say so and succeed, as every open accepts it.
#[test]
fn an_uncreated_file_is_reported_as_such() {
    let dir = tmpdir();
    let p = dir.path().join("empty.bin");
    std::fs::write(&p, b"").unwrap();
    assert_eq!(inspect(&p).unwrap().kind, FileKind::Uncreated);
    let p = p.to_str().unwrap();
    let o = run(&["inspect", p]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("no commit yet"), "{}", stdout(&o));
    let o = run(&["inspect", "--json", p]);
    assert_status(&o, 0);
    assert!(
        stdout(&o).contains(r#""kind": "uncreated""#)
            || stdout(&o).contains(r#""kind":"uncreated""#),
        "{}",
        stdout(&o)
    );
    let o = run(&["verify", p]);
    assert_status(&o, 0);
    assert!(stdout(&o).contains("no commit yet"), "{}", stdout(&o));
}
