//! The `persistence` binary, run on real files made here with the library: good files, a
//! damaged newest (and older) commit slot, a truncated file, another program's file, a
//! missing file, a directory, a file of the other byte order (built from the documented
//! format by the library's own test helper), a file held by a writer. Exit statuses, the
//! lines a person reads, and JSON read back by a strict parser.

mod json;

use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use json::{parse, Json};
use persistence::{inspect, pod, MmapedVec, OpenOptions};

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

    // Line for line what examples/inspect.rs prints.
    let mut expected = Vec::new();
    example::report(&path, &info, &mut expected).expect("report");
    assert_eq!(text, String::from_utf8(expected).expect("UTF-8"));

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
