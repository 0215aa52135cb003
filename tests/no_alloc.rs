//! The library never allocates on the heap: a counting `#[global_allocator]` sees no
//! allocation, reallocation or deallocation between explicit start and stop markers, for
//! open (new and existing), growth across many steps, the `Vec` API, sync, close, read-only
//! open, `inspect`, commit groups (writer, snapshot, live reader), every error path a test
//! can provoke, `&Path` arguments up to the stack buffer's limit, and `Display`/`Debug` of
//! an error into a fixed stack buffer.
//!
//! Counting is per thread (a thread-local flag and counter), so the test harness's own
//! allocations on other threads, and this thread's outside the markers, do not interfere.
//! Every path and file is prepared before the counter starts.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use common::Rec;
use persistence::{
    inspect, test_hooks as fault, Error, ErrorKind, FileKind, Group, MmapedSlice, MmapedVec,
    OpenOptions, MAX_PATH,
};

struct Counting;

std::thread_local! {
    /// Whether this thread is between `start` and `stop`.
    static ACTIVE: Cell<bool> = const { Cell::new(false) };
    /// Heap calls (alloc, alloc_zeroed, realloc, dealloc) this thread made while active.
    static CALLS: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: never panic inside the allocator (e.g. during thread teardown).
    let _ = ACTIVE.try_with(|a| {
        if a.get() {
            let _ = CALLS.try_with(|c| c.set(c.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to the system allocator; the bookkeeping only
// touches const-initialised thread-locals without destructors, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Runs `f` with counting on and returns its result with the number of heap calls it made.
fn counted<R>(f: impl FnOnce() -> R) -> (R, usize) {
    CALLS.with(|c| c.set(0));
    ACTIVE.with(|a| a.set(true));
    let r = f();
    ACTIVE.with(|a| a.set(false));
    (r, CALLS.with(Cell::get))
}

/// Runs `f` and fails the test, naming `what`, if it touched the heap.
#[track_caller]
fn no_alloc<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let (r, calls) = counted(f);
    assert_eq!(calls, 0, "{what}: {calls} heap calls");
    r
}

/// `no_alloc` for a call that must fail with `kind`.
#[track_caller]
fn fails_without_alloc<T>(what: &str, kind: ErrorKind, f: impl FnOnce() -> Result<T, Error>) {
    let r = no_alloc(what, || f().map(drop));
    let e = r.err().unwrap_or_else(|| panic!("{what}: succeeded"));
    assert_eq!(e.kind(), kind, "{what}: {e}");
}

/// A fixed stack buffer that `core::fmt` can write into.
struct StackBuf {
    buf: [u8; 1024],
    len: usize,
}

impl StackBuf {
    fn new() -> Self {
        StackBuf {
            buf: [0; 1024],
            len: 0,
        }
    }
    fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap()
    }
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// The counter works: an allocation inside the markers is seen, one outside is not, and one
/// on another thread is not. Without this the other tests could pass vacuously.
#[test]
fn the_counter_sees_allocations_on_this_thread_only() {
    let (v, calls) = counted(|| std::hint::black_box(Vec::<u8>::with_capacity(10)));
    assert_eq!(calls, 1);
    let ((), calls) = counted(|| drop(v));
    assert_eq!(calls, 1);
    let (_, calls) = counted(|| std::hint::black_box([0u8; 16]));
    assert_eq!(calls, 0);
    let other = std::thread::spawn(|| {
        let v = vec![1u8; 100];
        std::hint::black_box(v);
    });
    let ((), calls) = counted(|| std::thread::sleep(std::time::Duration::from_millis(20)));
    other.join().unwrap();
    assert_eq!(calls, 0, "another thread's allocations were counted");
}

/// The whole life of a vector: create, grow through many steps, every mutating method, sync,
/// close, reopen, read-only open, `inspect`, `Drop`.
#[test]
fn the_happy_path_allocates_nothing() {
    let dir = common::tmpdir();
    let p: PathBuf = common::path_in(&dir, "v.bin");
    let r: PathBuf = common::path_in(&dir, "recs.bin");
    // 12 M u64 = 96 MB: 8x steps to 64 MiB, then doubling and beyond.
    let n = 12_000_000u64;

    let capacities = no_alloc("create, push through growth, edit, sync, close", || {
        let mut v = MmapedVec::<u64>::open(&p).unwrap();
        let mut capacities = [0usize; 32];
        let mut steps = 0;
        for i in 0..n {
            let before = v.capacity();
            v.push(i).unwrap();
            if v.capacity() != before && steps < capacities.len() {
                capacities[steps] = v.capacity();
                steps += 1;
            }
        }
        v.sync().unwrap();
        v.insert(0, u64::MAX).unwrap();
        v.insert(1000, 7).unwrap();
        assert_eq!(v.remove(1000), 7);
        assert_eq!(v.remove(0), u64::MAX);
        v.extend_from_slice(&[1, 2, 3]).unwrap();
        v.truncate(n as usize);
        v.push(n).unwrap();
        assert_eq!(v.pop(), Some(n));
        v.reserve(1 << 20).unwrap();
        v.resize(n as usize + 10, u64::MAX).unwrap();
        assert_eq!(v.swap_remove(n as usize), u64::MAX);
        v.retain(|&x| x < n);
        v.sync().unwrap();
        v.shrink_to_fit().unwrap();
        v[5] = 55;
        v.close().unwrap();
        (capacities, steps)
    });
    let (capacities, steps) = capacities;
    assert!(steps >= 7, "only {steps} growth steps: {capacities:?}");

    no_alloc("reopen existing, read, truncate, shrink, drop", || {
        let mut v = MmapedVec::<u64>::open(&p).unwrap();
        assert_eq!(v.len(), n as usize);
        assert_eq!(v[5], 55);
        assert_eq!(v[1234], 1234);
        v.truncate(10);
        v.sync().unwrap();
        v.shrink_to_fit().unwrap();
        v.clear();
        v.extend_from_slice(&[4, 5, 6]).unwrap();
        drop(v); // Drop commits too.
    });

    no_alloc("read-only open, two readers, inspect", || {
        let a = MmapedSlice::<u64>::open(&p).unwrap();
        let b = OpenOptions::new().open_read_only::<u64>(&p).unwrap();
        assert_eq!(&a[..], &[4, 5, 6]);
        assert_eq!(&a[..], &b[..]);
        let info = inspect(&p).unwrap();
        assert_eq!((info.len, info.elem_size), (3, 8));
    });

    no_alloc(
        "options: magic, version, capacity, create_new, records",
        || {
            let mut v = OpenOptions::new()
                .magic(*b"RECORDS!")
                .version(2)
                .capacity(5000)
                .create_new(true)
                .mode(0o644)
                .open::<Rec>(&r)
                .unwrap();
            assert!(v.capacity() >= 5000);
            for i in 0..10_000 {
                v.push(Rec::new(i)).unwrap();
            }
            v.close().unwrap();
            let s = OpenOptions::new()
                .magic(*b"RECORDS!")
                .version(2)
                .open_read_only::<Rec>(&r)
                .unwrap();
            assert_eq!(s[9999], Rec::new(9999));
        },
    );
}

/// The rest of the `Vec` API (issue 11): every new method, the comparisons, `Hash`,
/// `Borrow`, `io::Write`, and the errors of `try_extend` and `io::Write`, with their
/// `Display`, all without the heap.
#[test]
fn the_rest_of_the_vec_api_allocates_nothing() {
    use std::borrow::{Borrow, BorrowMut};
    use std::hash::{Hash, Hasher};
    use std::io::Write;
    let dir = common::tmpdir();
    let p: PathBuf = common::path_in(&dir, "v.bin");
    let q: PathBuf = common::path_in(&dir, "w.bin");
    let log: PathBuf = common::path_in(&dir, "log.bin");

    no_alloc("new methods", || {
        let mut v = MmapedVec::<u64>::open(&p).unwrap();
        // Exact size, then unknown size (element by element, through growth steps).
        v.try_extend((0..100_000u64).map(|x| x / 2)).unwrap();
        v.try_extend((0..200_000u64).filter(|x| x % 3 == 0))
            .unwrap();
        v.sync().unwrap();
        v.set(7, 1).unwrap();
        v.set_from_slice(100, &[1; 600]).unwrap();
        v.sync().unwrap();
        // Back as they were (element `i` is `i / 2`), for the checks below.
        v.set(7, 3).unwrap();
        let orig: [u64; 600] = core::array::from_fn(|k| (100 + k as u64) / 2);
        v.set_from_slice(100, &orig).unwrap();
        assert_eq!(v.drain(10..20).sum::<u64>(), (5..10).sum::<u64>() * 2);
        let mut d = v.drain(..5);
        assert_eq!(d.next(), Some(0));
        assert_eq!(d.next_back(), Some(2));
        drop(d);
        std::mem::forget(v.drain(1..3));
        v.dedup();
        v.dedup_by_key(|x| *x / 3);
        v.dedup_by(|a, b| {
            *b += 1;
            a == b
        });
        v.retain_mut(|x| {
            *x += 1;
            *x % 7 != 0
        });
        v.retain(|x| x % 11 != 0);
        let _ = v.pop_if(|x| *x % 2 == 0);
        v.extend_from_within(..1000).unwrap();
        let n = v.len();
        v.resize_with(n + 5000, || 3).unwrap();
        v.resize_with(n, || 3).unwrap();
        v.try_reserve(100_000).unwrap();
        v.try_reserve_exact(10).unwrap();
        for s in &mut v.spare_capacity_mut()[..10] {
            s.write(1);
        }
        // SAFETY: 10 spare elements written, within the capacity.
        unsafe { v.set_len(n + 10) };
        v.sync().unwrap();
        v.shrink_to(n + 100).unwrap();
        v.shrink_to(0).unwrap();
        let s: &mut [u64] = v.borrow_mut();
        s[0] = 42;
        v.close().unwrap();
    });

    no_alloc("comparisons, Hash, Borrow", || {
        let a = MmapedVec::<u64>::open(&p).unwrap();
        let mut b = MmapedVec::<u64>::open(&q).unwrap();
        b.extend_from_slice(&a).unwrap();
        assert!(a == b);
        assert!(a == a[..] && a[..] == b);
        assert!(a != a[..5000]);
        assert_eq!(a.cmp(&b), std::cmp::Ordering::Equal);
        b.push(1).unwrap();
        assert!(a < b);
        let mut h1 = std::collections::hash_map::DefaultHasher::new();
        let mut h2 = std::collections::hash_map::DefaultHasher::new();
        a.hash(&mut h1);
        let s: &[u64] = a.borrow();
        s.hash(&mut h2);
        assert_eq!(h1.finish(), h2.finish());
    });

    no_alloc("io::Write", || {
        let mut w = MmapedVec::<u8>::open(&log).unwrap();
        writeln!(w, "{} {:?} {}", 1, "two", 3.5).unwrap();
        w.write_all(&[b'x'; 100_000]).unwrap();
        w.flush().unwrap();
        w.sync().unwrap();
        assert_eq!(&w[..13], b"1 \"two\" 3.5\nx");
    });

    // The error paths: a full disk for `try_extend` (its error displayed into a stack
    // buffer) and for `io::Write`.
    let mut v = MmapedVec::<u64>::open(&p).unwrap();
    v.reserve(10).unwrap(); // room for some before the disk is "full"
    let mut w = MmapedVec::<u8>::open(&log).unwrap();
    let mut shown = StackBuf::new();
    fails_without_alloc("try_extend on a full disk", ErrorKind::OutOfSpace, || {
        fault::inject_always(fault::Op::Allocate, 28 /* ENOSPC */);
        let r = v.try_extend((0..).filter(|x| x % 2 == 0));
        fault::clear();
        let e = r.unwrap_err();
        assert!(e.appended() >= 10 && e.element().is_some());
        write!(shown, "{e} {e:?}").unwrap();
        Err::<(), Error>(e.into())
    });
    assert!(
        shown.as_str().contains("after appending"),
        "{}",
        shown.as_str()
    );
    let big = vec![0u8; w.capacity() - w.len() + 1];
    no_alloc("io::Write on a full disk", || {
        fault::inject_always(fault::Op::Allocate, 28 /* ENOSPC */);
        let e = w.write(&big).unwrap_err();
        let e2 = w.write_all(&big).unwrap_err();
        fault::clear();
        assert_eq!(e.raw_os_error(), Some(28));
        assert_eq!(e2.kind(), std::io::ErrorKind::StorageFull);
    });
}

/// Every error a caller can provoke, each from a real file prepared beforehand.
#[test]
fn every_error_path_allocates_nothing() {
    let dir = common::tmpdir();
    let good: PathBuf = common::path_in(&dir, "good.bin");
    let missing: PathBuf = common::path_in(&dir, "missing.bin");
    let text: PathBuf = common::path_in(&dir, "text.bin");
    let short: PathBuf = common::path_in(&dir, "short.bin");
    let swapped: PathBuf = common::path_in(&dir, "swapped.bin");
    let v2: PathBuf = common::path_in(&dir, "v2.bin");
    let badsum: PathBuf = common::path_in(&dir, "badsum.bin");
    let noslot: PathBuf = common::path_in(&dir, "noslot.bin");
    let cut: PathBuf = common::path_in(&dir, "cut.bin");
    let readonly: PathBuf = common::path_in(&dir, "readonly.bin");
    let nul = OsStr::from_bytes(b"a\0b");

    {
        let mut v = OpenOptions::new()
            .magic(*b"APPMAGIC")
            .version(3)
            .open::<u64>(&good)
            .unwrap();
        v.extend_from_slice(&[1; 1000]).unwrap();
        v.close().unwrap();
    }
    let bytes = common::read(&good);
    let variant = |path: &Path, f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bytes.clone();
        f(&mut b);
        std::fs::write(path, b).unwrap();
    };
    std::fs::write(&text, b"not a vector file at all").unwrap();
    variant(&short, &|b| b.truncate(40));
    variant(&swapped, &|b| b[16..20].reverse());
    variant(&v2, &|b| b[20..24].copy_from_slice(&3u32.to_ne_bytes()));
    variant(&badsum, &|b| b[57] ^= 1);
    variant(&noslot, &|b| {
        b[512] ^= 1;
        b[1024] ^= 1;
    });
    variant(&cut, &|b| b.truncate(4096 + 8));
    variant(&readonly, &|_| {});
    let mut perms = std::fs::metadata(&readonly).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    std::fs::set_permissions(&readonly, perms).unwrap();
    let privileged = std::fs::File::open(&readonly).is_ok(); // root ignores permissions
    let opts = *OpenOptions::new().magic(*b"APPMAGIC").version(3);

    // Locked: a writer excludes a second writer and a reader (inspect reads beside it); a
    // reader excludes a writer.
    no_alloc("Locked", || {
        let w = opts.open::<u64>(&good).unwrap();
        let e = opts.open::<u64>(&good).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Locked);
        let e = opts.open_read_only::<u64>(&good).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Locked);
        assert_eq!(inspect(&good).unwrap().len, 1000);
        drop(w);
        let r = opts.open_read_only::<u64>(&good).unwrap();
        assert_eq!(
            opts.open::<u64>(&good).unwrap_err().kind(),
            ErrorKind::Locked
        );
        drop(r);
    });

    fails_without_alloc("NotFound (read-only)", ErrorKind::NotFound, || {
        opts.open_read_only::<u64>(&missing)
    });
    fails_without_alloc("NotFound (create(false))", ErrorKind::NotFound, || {
        OpenOptions::new().create(false).open::<u64>(&missing)
    });
    fails_without_alloc("NotFound (inspect)", ErrorKind::NotFound, || {
        inspect(&missing)
    });
    fails_without_alloc("AlreadyExists", ErrorKind::AlreadyExists, || {
        let mut o = opts;
        o.create_new(true).open::<u64>(&good)
    });
    fails_without_alloc("NotARegularFile", ErrorKind::NotARegularFile, || {
        opts.open::<u64>(dir.path())
    });
    fails_without_alloc(
        "NotARegularFile (read-only)",
        ErrorKind::NotARegularFile,
        || opts.open_read_only::<u64>(dir.path()),
    );
    fails_without_alloc("BadMagic", ErrorKind::BadMagic, || opts.open::<u64>(&text));
    fails_without_alloc("BadMagic (inspect)", ErrorKind::BadMagic, || inspect(&text));
    fails_without_alloc("WrongEndianness", ErrorKind::WrongEndianness, || {
        opts.open::<u64>(&swapped)
    });
    fails_without_alloc(
        "UnsupportedFormatVersion",
        ErrorKind::UnsupportedFormatVersion,
        || opts.open_read_only::<u64>(&v2),
    );
    fails_without_alloc("Corrupt (header checksum)", ErrorKind::Corrupt, || {
        opts.open::<u64>(&badsum)
    });
    fails_without_alloc("Corrupt (no valid slot)", ErrorKind::Corrupt, || {
        opts.open::<u64>(&noslot)
    });
    fails_without_alloc("Corrupt (length past the end)", ErrorKind::Corrupt, || {
        opts.open_read_only::<u64>(&cut)
    });
    fails_without_alloc(
        "Corrupt (shorter than a header)",
        ErrorKind::Corrupt,
        || opts.open::<u64>(&short),
    );
    fails_without_alloc("Corrupt (inspect)", ErrorKind::Corrupt, || inspect(&noslot));
    fails_without_alloc("MagicMismatch", ErrorKind::MagicMismatch, || {
        OpenOptions::new().version(3).open::<u64>(&good)
    });
    fails_without_alloc("VersionMismatch", ErrorKind::VersionMismatch, || {
        OpenOptions::new()
            .magic(*b"APPMAGIC")
            .open_read_only::<u64>(&good)
    });
    fails_without_alloc("LayoutMismatch (size)", ErrorKind::LayoutMismatch, || {
        opts.open::<u32>(&good)
    });
    fails_without_alloc(
        "LayoutMismatch (alignment)",
        ErrorKind::LayoutMismatch,
        || opts.open::<[u8; 8]>(&good),
    );
    fails_without_alloc("InvalidPath (NUL byte)", ErrorKind::InvalidPath, || {
        opts.open::<u64>(Path::new(nul))
    });
    if privileged {
        eprintln!(
            "skipped PermissionDenied from a mode-0 file: running with privileges that ignore \
             file modes (the injected EACCES below still covers the path)"
        );
    } else {
        fails_without_alloc("PermissionDenied", ErrorKind::PermissionDenied, || {
            opts.open::<u64>(&readonly)
        });
    }
    fails_without_alloc(
        "PermissionDenied (open EACCES)",
        ErrorKind::PermissionDenied,
        || {
            fault::inject(fault::Op::Open, 0, 13 /* EACCES */);
            opts.open::<u64>(&good)
        },
    );
    assert!(!fault::pending());

    // Errors from a live vector: each leaves it usable.
    let mut v = opts.open::<u64>(&good).unwrap();
    fails_without_alloc(
        "CapacityOverflow (reserve)",
        ErrorKind::CapacityOverflow,
        || v.reserve(usize::MAX),
    );
    fails_without_alloc(
        "CapacityOverflow (resize)",
        ErrorKind::CapacityOverflow,
        || v.resize(usize::MAX / 4, 0),
    );
    let cap = v.capacity();
    fails_without_alloc(
        "OutOfSpace (fallocate ENOSPC)",
        ErrorKind::OutOfSpace,
        || {
            // The disk stays full: growth's retry at the exact size fails too.
            fault::inject_always(fault::Op::Allocate, 28 /* ENOSPC */);
            let r = v.reserve(cap + 1);
            fault::clear();
            r
        },
    );
    // A commit whose data step is an `msync` alone: the file neither grew nor was written
    // with `pwrite` since the last one (otherwise, on Linux, one `fdatasync` covers the data).
    // (A first commit of a new length also makes the slot read at open durable.)
    v.push(0).unwrap();
    v.sync().unwrap();
    assert!(v.len() < v.capacity());
    fails_without_alloc("Io (msync EIO)", ErrorKind::Io, || {
        v.push(1)?;
        fault::inject(fault::Op::Msync, 0, 5 /* EIO */);
        v.sync()
    });
    assert!(!fault::pending());
    // A failed data write poisons the handle (see `MmapedVec::sync`); refusing is heap-free
    // too, and a reopen goes on from the last commit.
    fails_without_alloc(
        "Io (poisoned after a failed data write)",
        ErrorKind::Io,
        || v.sync(),
    );
    fails_without_alloc("Io (close of a poisoned handle)", ErrorKind::Io, || {
        v.close()
    });
    no_alloc("reopen after errors", || {
        let mut v = opts.open::<u64>(&good).unwrap();
        v.push(1).unwrap();
        v.sync().unwrap();
        v.close().unwrap();
    });
}

/// `&Path` arguments are copied into a 4096-byte stack buffer: the longest path that fits
/// (4095 bytes) opens without the heap, and a longer one is `InvalidPath`, also without it.
#[test]
fn paths_up_to_the_stack_buffer_allocate_nothing_and_longer_ones_are_invalid() {
    let dir = common::tmpdir();
    let base = dir.path().as_os_str().as_bytes().to_vec();
    let name = b"/f.bin";
    // `dir/././…/f.bin`, exactly MAX_PATH bytes: every `.` component names `dir` itself.
    let pad = MAX_PATH - base.len() - name.len();
    let mut longest = base.clone();
    for _ in 0..pad / 2 {
        longest.extend_from_slice(b"/.");
    }
    if pad % 2 == 1 {
        longest.push(b'/'); // `//` is one separator.
    }
    longest.extend_from_slice(name);
    assert_eq!(longest.len(), MAX_PATH);
    let longest = PathBuf::from(OsStr::from_bytes(&longest));
    let mut too_long = longest.as_os_str().as_bytes().to_vec();
    too_long.insert(base.len(), b'/');
    let too_long = PathBuf::from(OsStr::from_bytes(&too_long));
    assert_eq!(too_long.as_os_str().len(), MAX_PATH + 1);
    let short = dir.path().join("f.bin");

    no_alloc("longest path: create, push, close, reopen", || {
        let mut v = MmapedVec::<u32>::open(longest.as_path()).unwrap();
        v.push(42).unwrap();
        v.close().unwrap();
        let s = MmapedSlice::<u32>::open(&longest).unwrap();
        assert_eq!(&s[..], &[42]);
    });
    fails_without_alloc("path of MAX_PATH + 1 bytes", ErrorKind::InvalidPath, || {
        MmapedVec::<u32>::open(too_long.as_path())
    });
    fails_without_alloc(
        "inspect, path of MAX_PATH + 1 bytes",
        ErrorKind::InvalidPath,
        || inspect(&too_long),
    );
    // Both names are the same file.
    assert_eq!(&MmapedSlice::<u32>::open(&short).unwrap()[..], &[42]);
}

persistence::pod! {
    /// A record of the migration below: version 2 of `Rec`, 32 bytes.
    #[derive(Debug, PartialEq)]
    struct Rec2 { id: u64, value: f64, count: u64, tag: [u8; 8] }
}

/// `convert_foreign` and `migrate`: to another path and in place, a foreign and a native
/// source, elements across many stack buffers, the destination replaced, a stale temporary
/// file removed; and their error paths, including a failure in the middle of writing that
/// removes the temporary file.
#[test]
fn convert_and_migrate_allocate_nothing() {
    use common::format::{vector_file, Fixed, Order};
    let dir = common::tmpdir();
    let foreign = common::path_in(&dir, "foreign.bin");
    let native = common::path_in(&dir, "native.bin");
    let in_place = common::path_in(&dir, "in-place.bin");
    let migrated = common::path_in(&dir, "migrated.bin");
    let missing = common::path_in(&dir, "missing.bin");
    let stale = common::path_in(&dir, "native.bin.persistence-tmp");
    let n = 100_000u64; // 2.4 MB of `Rec`: 37 buffers
    let mut data = Vec::new();
    for i in 0..n {
        let r = Rec::new(i);
        data.extend_from_slice(&r.id.swap_bytes().to_ne_bytes());
        data.extend_from_slice(&r.value.to_bits().swap_bytes().to_ne_bytes());
        data.extend_from_slice(&r.tag);
        data.extend_from_slice(&r.count.swap_bytes().to_ne_bytes());
    }
    let fixed = Fixed::of::<Rec>(*b"NOALLOC!", 1);
    std::fs::write(&foreign, vector_file(&fixed, Order::Swapped, n, &data)).unwrap();
    std::fs::copy(&foreign, &in_place).unwrap();
    std::fs::write(&stale, b"left by a crash").unwrap();
    let opts = *OpenOptions::new().magic(*b"NOALLOC!").version(1);
    let v2 = *OpenOptions::new().magic(*b"NOALLOC!").version(2);

    no_alloc(
        "convert_foreign: foreign to another path, then in place",
        || {
            assert_eq!(
                opts.convert_foreign::<Rec>(&foreign, &native).unwrap(),
                n as usize
            );
            assert_eq!(
                opts.convert_foreign::<Rec>(&in_place, &in_place).unwrap(),
                n as usize
            );
            // A native source, over an existing destination.
            assert_eq!(
                opts.convert_foreign::<Rec>(&in_place, &native).unwrap(),
                n as usize
            );
        },
    );
    assert!(!stale.exists());
    assert_eq!(
        opts.open_read_only::<Rec>(&native).unwrap()[777],
        Rec::new(777)
    );

    no_alloc("migrate: to another path, then in place", || {
        let up = |r: &Rec| Rec2 {
            id: r.id,
            value: r.value,
            count: u64::from(r.count),
            tag: [r.tag[0], r.tag[1], r.tag[2], r.tag[3], 0, 0, 0, 0],
        };
        assert_eq!(v2.migrate(1, &native, &migrated, up).unwrap(), n as usize);
        assert_eq!(v2.migrate(1, &in_place, &in_place, up).unwrap(), n as usize);
    });
    assert_eq!(v2.open_read_only::<Rec2>(&migrated).unwrap()[5].count, 35);

    fails_without_alloc(
        "convert_foreign: element size",
        ErrorKind::LayoutMismatch,
        || opts.convert_foreign::<u64>(&foreign, &native),
    );
    fails_without_alloc(
        "convert_foreign: missing source",
        ErrorKind::NotFound,
        || opts.convert_foreign::<Rec>(&missing, &native),
    );
    fails_without_alloc(
        "migrate: a foreign source",
        ErrorKind::WrongEndianness,
        || v2.migrate(1, &foreign, &migrated, |r: &Rec| r.id),
    );
    fails_without_alloc("migrate: from version", ErrorKind::VersionMismatch, || {
        v2.migrate(7, &native, &migrated, |r: &Rec| r.id)
    });
    let writer = opts.open::<Rec>(&native).unwrap();
    fails_without_alloc(
        "convert_foreign: the source locked",
        ErrorKind::Locked,
        || opts.convert_foreign::<Rec>(&native, &migrated),
    );
    fails_without_alloc(
        "convert_foreign: the destination locked",
        ErrorKind::Locked,
        || opts.convert_foreign::<Rec>(&foreign, &native),
    );
    drop(writer);
    fault::inject(
        fault::Op::Write,
        10,
        rustix::io::Errno::NOSPC.raw_os_error(),
    );
    fails_without_alloc(
        "convert_foreign: disk full while writing",
        ErrorKind::OutOfSpace,
        || opts.convert_foreign::<Rec>(&foreign, &native),
    );
    fault::clear();
    assert_eq!(
        opts.open_read_only::<Rec>(&native).unwrap()[777],
        Rec::new(777)
    );
}

/// An error's `Display` and `Debug` write into a fixed stack buffer without the heap.
#[test]
fn formatting_an_error_allocates_nothing() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "v.bin");
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    let e = OpenOptions::new().open::<u32>(&p).unwrap_err();
    let os = OpenOptions::new()
        .open_read_only::<u32>(common::path_in(&dir, "missing"))
        .unwrap_err();

    let (display, debug, os_display) = no_alloc("Display and Debug of errors", || {
        let mut display = StackBuf::new();
        write!(display, "{e}").unwrap();
        let mut debug = StackBuf::new();
        write!(debug, "{e:?}").unwrap();
        let mut os_display = StackBuf::new();
        write!(os_display, "{os}").unwrap();
        (display, debug, os_display)
    });
    assert_eq!(display.as_str(), e.to_string());
    assert!(
        display.as_str().contains("element size"),
        "{}",
        display.as_str()
    );
    assert!(display.as_str().contains('4') && display.as_str().contains('8'));
    assert_eq!(debug.as_str(), format!("{e:?}"));
    assert!(debug.as_str().contains("LayoutMismatch"));
    assert_eq!(os_display.as_str(), os.to_string());
    assert!(
        os_display.as_str().contains("os error 2"),
        "{}",
        os_display.as_str()
    );
}

/// Live readers: `open_live` (an existing file; a missing lock file, created; a file with no
/// commit yet), `refresh` (nothing new, a new length inside the mapping, a remap, the first
/// commit of an empty file), `get`, `copy_to`, `iter`, `as_slice`, `close` and drop; a
/// writer's cut put off while a reader is open and done after it closed; `inspect` beside a
/// writer. None touches the heap.
#[test]
fn live_readers_allocate_nothing() {
    let dir = common::tmpdir();
    let p: PathBuf = common::path_in(&dir, "live.bin");
    let empty: PathBuf = common::path_in(&dir, "empty.bin");
    let mut lock = p.as_os_str().to_os_string();
    lock.push("-live");
    let lock = PathBuf::from(lock);
    std::fs::write(&empty, b"").unwrap();
    MmapedVec::<u64>::open(&p).unwrap().close().unwrap();
    std::fs::remove_file(&lock).unwrap();
    let mut out = [0u64; 64];
    let missing: PathBuf = common::path_in(&dir, "missing");

    no_alloc(
        "open_live, refresh, get, copy_to, iter, as_slice, cuts, inspect",
        || {
            let mut w = MmapedVec::<u64>::open(&p).unwrap(); // creates the lock file again
            std::fs::remove_file(&lock).unwrap();
            w.extend_from_slice(&[1, 2, 3]).unwrap();
            w.sync().unwrap();
            let mut r = OpenOptions::new().open_live::<u64>(&p).unwrap(); // creates it
            assert!(lock.exists());
            assert!(!r.refresh().unwrap()); // nothing new
            w.push(4).unwrap();
            w.sync().unwrap();
            assert!(r.refresh().unwrap()); // inside the mapping
            for i in 0..100_000 {
                w.push(i).unwrap();
            }
            w.sync().unwrap();
            assert!(r.refresh().unwrap()); // past it: a remap
            assert_eq!(r.get(3), Some(4));
            assert_eq!(r.copy_to(1, &mut out), 64);
            assert_eq!(out[..3], [2, 3, 4]);
            assert_eq!(r.iter().take(4).sum::<u64>(), 10);
            // SAFETY: the writer changes nothing in place while the slice lives.
            assert_eq!(unsafe { &r.as_slice()[..2] }, &[1, 2]);
            assert_eq!(inspect(&p).unwrap().len, 100_004); // beside the writer
            let size = std::fs::metadata(&p).unwrap().len();
            w.truncate(10);
            w.sync().unwrap();
            w.shrink_to_fit().unwrap(); // put off
            assert_eq!(std::fs::metadata(&p).unwrap().len(), size);
            let r2 = OpenOptions::new().open_live::<u64>(&p).unwrap();
            drop(r2);
            r.close().unwrap();
            w.sync().unwrap(); // the cut, now
            assert_eq!(std::fs::metadata(&p).unwrap().len(), 4096 + 80);
            w.close().unwrap();

            let mut e = OpenOptions::new().open_live::<u64>(&empty).unwrap(); // no commit yet
            assert!(!e.refresh().unwrap());
            let mut w = MmapedVec::<u64>::open(&empty).unwrap();
            w.push(7).unwrap();
            w.sync().unwrap();
            assert!(e.refresh().unwrap()); // the first commit
            assert_eq!(e.get(0), Some(7));
            drop(e);
            drop(w);
        },
    );
    fails_without_alloc("open_live of a missing file", ErrorKind::NotFound, || {
        OpenOptions::new().open_live::<u64>(&missing)
    });
    fails_without_alloc("open_live, wrong layout", ErrorKind::LayoutMismatch, || {
        OpenOptions::new().open_live::<u32>(&p)
    });
}

/// Commit groups: `open_group` (create and reopen), `push` and `extend_from_slice` across a
/// block boundary (by the mapping and by `pwrite`), `push_row`, `get_row`, `sync`,
/// `truncate_rows`, `close`, `Drop`; `open_group_read_only` and its columns;
/// `open_group_live` beside the writer, `refresh` and each column's `get`, `iter` and
/// `copy_to`; `inspect` of a group, locked and not; and the errors (`TypeMismatch`,
/// `LayoutMismatch`, `WrongFileKind` both ways, `Locked`, `UnequalLengths`, `Corrupt`, the
/// error's `Display` with its column). None touches the heap.
#[test]
fn groups_allocate_nothing() {
    let dir = common::tmpdir();
    let p: PathBuf = common::path_in(&dir, "g.bin");
    let vector: PathBuf = common::path_in(&dir, "v.bin");
    let broken: PathBuf = common::path_in(&dir, "broken.bin");
    let opts = *OpenOptions::new().magic(*b"GROUPS\0\0").version(1);
    MmapedVec::<u64>::open(&vector).unwrap().close().unwrap();
    // 2 MiB of u64 fill column 0's block 0; these cross into block 1.
    let block0 = (2 << 20) / 8;
    let wide: Vec<u64> = (0..block0 as u64 + 5000).collect();
    let narrow: Vec<u16> = (0..wide.len()).map(|i| i as u16).collect();
    let mut out = [0u64; 16];
    let mut shown = StackBuf::new();

    no_alloc(
        "open_group (create), push_row across a block, sync, close",
        || {
            let mut g: Group<(u64, u16)> = opts.open_group(&p).unwrap();
            assert_eq!(g.generation(), 0);
            for i in 0..block0 + 10 {
                g.push_row((i as u64, i as u16)).unwrap();
            }
            g.sync().unwrap();
            assert_eq!(g.get_row(block0), Some((block0 as u64, block0 as u16)));
            g.truncate_rows(10);
            g.sync_rows().unwrap();
            assert_eq!((g.rows().unwrap(), g.generation()), (10, 2));
            g.close().unwrap();
        },
    );

    no_alloc(
        "reopen, extend_from_slice across a block, edit, drop",
        || {
            let mut g: Group<(u64, u16)> = opts.open_group(&p).unwrap();
            assert_eq!(g.get_row(9), Some((9, 9)));
            {
                let (a, b) = g.columns_mut();
                a.extend_from_slice(&wide[10..]).unwrap(); // pwrite, into block 1
                b.extend_from_slice(&narrow[10..]).unwrap();
                a.push(1).unwrap();
                b.push(1).unwrap();
                a[3] = 33;
                assert_eq!(a.pop(), Some(1));
                assert_eq!(b.pop(), Some(1));
            }
            g.push_row((7, 7)).unwrap();
            assert_eq!(g.rows().unwrap(), wide.len() + 1);
            drop(g); // Drop commits.
        },
    );

    no_alloc("open_group_read_only, columns, get_row, generation", || {
        let s = opts.open_group_read_only::<(u64, u16)>(&p).unwrap();
        let (a, b) = s.columns();
        assert_eq!((a.len(), b.len()), (wide.len() + 1, wide.len() + 1));
        assert_eq!(
            (a[3], a[block0 + 1], b[block0 + 1]),
            (33, wide[block0 + 1], narrow[block0 + 1])
        );
        assert_eq!(s.get_row(wide.len()), Some((7, 7)));
        assert_eq!(s.generation(), 3);
        let t = opts.open_group_read_only::<(u64, u16)>(&p).unwrap();
        assert_eq!(t.columns().0.len(), a.len());
        let info = inspect(&p).unwrap();
        assert_eq!((info.kind, info.column_count), (FileKind::Group, 2));
        assert_eq!(info.columns[1].len, wide.len() as u64 + 1);
    });

    no_alloc(
        "open_group_live beside a writer, refresh, get, iter, copy_to, inspect",
        || {
            let mut g: Group<(u64, u16)> = opts.open_group(&p).unwrap();
            let mut r = opts.open_group_live::<(u64, u16)>(&p).unwrap();
            assert!(!r.refresh().unwrap());
            let n = wide.len() + 1;
            g.push_row((8, 8)).unwrap();
            g.sync().unwrap();
            assert!(r.refresh().unwrap());
            let (a, b) = r.columns();
            assert_eq!((a.len(), b.len(), r.generation()), (n + 1, n + 1, 4));
            assert_eq!((a.get(n), b.get(n), a.get(n + 1)), (Some(8), Some(8), None));
            assert_eq!(a.copy_to(block0 - 4, &mut out), 16);
            assert_eq!(out[4], block0 as u64);
            assert_eq!(b.iter().take(3).map(u64::from).sum::<u64>(), 3);
            assert_eq!(r.get_row(3), Some((33, 3)));
            // inspect beside the writer (no lock to take), then with none.
            assert_eq!(inspect(&p).unwrap().columns[0].len, n as u64 + 1);
            drop(r);
            g.close().unwrap();
            assert_eq!(inspect(&p).unwrap().generation(), 4);
        },
    );

    // Errors.
    let good = common::read(&p);
    let mut bad = good.clone();
    bad[512] ^= 1;
    bad[1024] ^= 1;
    std::fs::write(&broken, &bad).unwrap();
    fails_without_alloc("TypeMismatch", ErrorKind::TypeMismatch, || {
        opts.open_group::<(u64, i16)>(&p)
    });
    fails_without_alloc(
        "LayoutMismatch (column count)",
        ErrorKind::LayoutMismatch,
        || opts.open_group_read_only::<(u64,)>(&p),
    );
    fails_without_alloc("LayoutMismatch (live)", ErrorKind::LayoutMismatch, || {
        opts.open_group_live::<(u64, u32)>(&p)
    });
    fails_without_alloc(
        "WrongFileKind (a vector as a group)",
        ErrorKind::WrongFileKind,
        || OpenOptions::new().open_group::<(u64,)>(&vector),
    );
    fails_without_alloc(
        "WrongFileKind (a vector as a live group)",
        ErrorKind::WrongFileKind,
        || OpenOptions::new().open_group_live::<(u64,)>(&vector),
    );
    fails_without_alloc(
        "WrongFileKind (a group as a vector)",
        ErrorKind::WrongFileKind,
        || opts.open::<u64>(&p),
    );
    fails_without_alloc(
        "WrongFileKind (a group read-only as a vector)",
        ErrorKind::WrongFileKind,
        || MmapedSlice::<u64>::open(&p),
    );
    fails_without_alloc(
        "WrongFileKind (a group live as a vector)",
        ErrorKind::WrongFileKind,
        || opts.open_live::<u64>(&p),
    );
    fails_without_alloc("Corrupt (both slots damaged)", ErrorKind::Corrupt, || {
        opts.open_group::<(u64, u16)>(&broken)
    });
    fails_without_alloc("Corrupt (inspect)", ErrorKind::Corrupt, || inspect(&broken));
    let mut g: Group<(u64, u16)> = opts.open_group(&p).unwrap();
    fails_without_alloc("Locked (a second writer)", ErrorKind::Locked, || {
        opts.open_group::<(u64, u16)>(&p)
    });
    fails_without_alloc("Locked (a snapshot)", ErrorKind::Locked, || {
        opts.open_group_read_only::<(u64, u16)>(&p)
    });
    fails_without_alloc("UnequalLengths", ErrorKind::UnequalLengths, || {
        g.columns_mut().0.push(1)?;
        let e = g.sync_rows().unwrap_err();
        write!(shown, "{e} {e:?} {:?}", e.column()).unwrap();
        Err::<(), Error>(e)
    });
    assert!(shown.as_str().contains("Some(1)"), "{}", shown.as_str());
    drop(g);
}
