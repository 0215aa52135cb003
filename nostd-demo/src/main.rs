//! A `#![no_std]`, `#![no_main]` program that uses `persistence` without `std` or `alloc`.
//!
//! It links only libc (for the C start-up that calls `main`, and for `write` and `_exit`):
//! no Rust runtime, no allocator, its own panic handler. Given a path, it creates a vector
//! there, pushes through several growth steps, syncs, closes, reopens it read-write and
//! read-only, checks every element, and exits 0; on any failure it writes a message to
//! stderr with `write(2)` and exits 1.
//!
//! ```text
//! nostd-demo /tmp/demo.bin
//! ```

#![no_std]
#![no_main]
#![deny(unsafe_op_in_unsafe_fn)]

use core::ffi::{c_char, c_int, c_void, CStr};
use core::fmt::{self, Write};

use persistence::{inspect, ErrorKind, MmapedSlice, MmapedVec, OpenOptions};

#[link(name = "c")]
extern "C" {
    fn write(fd: c_int, buf: *const c_void, count: usize) -> isize;
    fn _exit(status: c_int) -> !;
}

/// How many elements the demo writes: enough for several growth steps (4 KiB pages).
const N: u64 = 1_000_000;

/// A fixed buffer that a message is formatted into, then written to a file descriptor.
struct Out {
    buf: [u8; 512],
    len: usize,
}

impl Out {
    const fn new() -> Self {
        Out {
            buf: [0; 512],
            len: 0,
        }
    }

    /// Writes the buffer to `fd` (1 = stdout, 2 = stderr), retrying short writes.
    fn flush(&mut self, fd: c_int) {
        let mut done = 0;
        while done < self.len {
            let rest = &self.buf[done..self.len];
            // SAFETY: `rest` is a live, initialised byte slice of `rest.len()` bytes.
            let n = unsafe { write(fd, rest.as_ptr().cast(), rest.len()) };
            if n <= 0 {
                break;
            }
            done += n as usize;
        }
        self.len = 0;
    }
}

impl Write for Out {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // Truncate rather than fail: a message cut short is better than none.
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

/// Writes `args` and a newline to stderr and exits with status 1.
fn fail(args: fmt::Arguments<'_>) -> ! {
    let mut out = Out::new();
    let _ = out.write_str("nostd-demo: ");
    let _ = out.write_fmt(args);
    let _ = out.write_str("\n");
    out.flush(2);
    // SAFETY: `_exit` ends the process at once; nothing is left to clean up (every vector
    // was closed or is dropped by the kernel closing its descriptor, releasing its lock).
    unsafe { _exit(1) }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    fail(format_args!("panic: {info}"))
}

/// Unwraps a library result, or fails naming the step and the error.
macro_rules! check {
    ($step:expr, $result:expr) => {
        match $result {
            Ok(v) => v,
            Err(e) => fail(format_args!("{}: {} [{:?}]", $step, e, e.kind())),
        }
    };
}

/// Called by the C start-up code (`crt1.o`) with the program's arguments.
///
/// # Safety
///
/// `argv` holds `argc` pointers to NUL-terminated strings that live as long as the process,
/// as the C runtime guarantees for `main`.
#[no_mangle]
pub unsafe extern "C" fn main(argc: c_int, argv: *const *const c_char) -> c_int {
    if argc != 2 {
        fail(format_args!("usage: nostd-demo PATH"));
    }
    // SAFETY: by the contract above `argv[1]` exists (`argc == 2` was checked) and is a
    // NUL-terminated string that outlives this call.
    let path: &CStr = unsafe { CStr::from_ptr(*argv.add(1)) };
    run(path);
    let mut out = Out::new();
    let _ = writeln!(
        out,
        "nostd-demo: ok: {N} u64 pushed through several growth steps, synced, closed, reopened and checked at {}",
        path.to_str().unwrap_or("(non-UTF-8 path)")
    );
    out.flush(1);
    0
}

fn run(path: &CStr) {
    let opts = *OpenOptions::new().magic(*b"NOSTDEMO").version(1);

    // Create (the file must not exist: the demo proves creation too), push, sync, close.
    let mut v = check!("create", {
        let mut o = opts;
        o.create_new(true).open::<u64>(path)
    });
    let mut growths = 0;
    for i in 0..N {
        let cap = v.capacity();
        check!("push", v.push(i * 3));
        growths += usize::from(v.capacity() != cap);
    }
    if growths < 4 {
        fail(format_args!("only {growths} growth steps"));
    }
    check!("sync", v.sync());
    // A second writer is refused while the first holds the file.
    match opts.open::<u64>(path) {
        Err(e) if e.kind() == ErrorKind::Locked => {}
        Err(e) => fail(format_args!("second writer: {e}, expected Locked")),
        Ok(_) => fail(format_args!("second writer: opened, expected Locked")),
    }
    check!("close", v.close());

    // Reopen read-write: every element is there; change one and append one.
    let mut v: MmapedVec<u64> = check!("reopen", opts.open::<u64>(path));
    if v.len() as u64 != N {
        fail(format_args!("reopened length {}, expected {N}", v.len()));
    }
    if let Some(i) = (0..N).find(|&i| v[i as usize] != i * 3) {
        fail(format_args!(
            "element {i} is {}, expected {}",
            v[i as usize],
            i * 3
        ));
    }
    v[0] = 7;
    check!("push after reopen", v.push(1));
    check!("close after reopen", v.close());

    // Read-only: the edits are there.
    let s: MmapedSlice<u64> = check!("read-only open", opts.open_read_only::<u64>(path));
    if s.len() as u64 != N + 1 || s[0] != 7 || s[N as usize] != 1 || s[1] != 3 {
        fail(format_args!("read-only view differs: len {}", s.len()));
    }
    drop(s);

    // And a wrong element type is refused with a clear kind.
    match opts.open_read_only::<u32>(path) {
        Err(e) if e.kind() == ErrorKind::LayoutMismatch => {}
        other => fail(format_args!(
            "u32 view of a u64 file: {:?}",
            other.map(|s| s.len())
        )),
    }

    // The header, read without knowing the element type.
    let info = check!("inspect", inspect(path));
    if info.len != N + 1 || info.elem_size != 8 || info.app_magic != *b"NOSTDEMO" {
        fail(format_args!("inspect: {info:?}"));
    }
}
