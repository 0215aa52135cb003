//! `persistence`: [`MmapedVec<T>`], a `Vec`-like, resizable array whose storage is a file
//! mapped with `mmap()`.
//!
//! Push, index and mutate it like a `Vec`; call [`sync`](MmapedVec::sync) and it is on
//! disk, crash-safe; open it again next run and it is there, without serialising anything.
//! Elements are plain records: [`Pod`] types, declared with [`pod!`]. What it promises, each
//! promise with its limits: the README's Guarantees table and `docs/guide.md`; how the code
//! keeps them: `docs/design.md`.
//!
//! ```
//! # fn main() -> Result<(), persistence::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! # let path = dir.path().join("trades.bin");
//! use persistence::{pod, MmapedVec};
//!
//! pod! {
//!     /// One trade: 24 bytes, no padding.
//!     #[derive(Debug, PartialEq)]
//!     pub struct Trade { pub time_ns: u64, pub price: f64, pub qty: u32, pub venue: u32 }
//! }
//!
//! let mut trades = MmapedVec::<Trade>::open(&path)?;
//! trades.push(Trade { time_ns: 1, price: 101.5, qty: 10, venue: 2 })?;
//! trades.sync()?; // durable now
//! drop(trades);
//!
//! let trades = MmapedVec::<Trade>::open(&path)?;
//! assert_eq!(trades[0].qty, 10);
//! # Ok(()) }
//! ```
//!
//! # Layers
//!
//! Each layer calls only the one below it; `docs/design.md` explains each in full.
//!
//! | layer | owns |
//! |---|---|
//! | [`MmapedVec`], [`MmapedSlice`] | length, element math, the `Vec` API; every element write goes through one funnel that marks it for the next commit |
//! | [`LiveReader`] | a reader beside a writer: the commit slots read without a system call, elements copied out with volatile loads; its lock is on `<file>-live` (`sidecar`, private) |
//! | [`OpenOptions`] | magic, version, create modes, capacity, lock waiting, copy-on-write |
//! | `RawRegion` (private) | one file, one mapping, one lock: validate on open, grow, write element bytes, commit |
//! | `format` (private) | the on-disk header: one `Header` type that decodes, validates and encodes, by format version |
//! | [`Pod`] | the element contract |
//! | `sys` (private) | the only caller of rustix: syscalls, what each `errno` means, block reservation; `mremap` on Linux, unmap + map elsewhere |
//!
//! # Safety model
//!
//! [`MmapedVec::open`] is a safe function. The library holds the lock protocol and
//! validates every byte it trusts before trusting it: the header fields and their checksum,
//! two checksummed commit slots, and a committed length that must fit inside the file, whose
//! size is read with `fstat` after the lock is held. `T: Pod` makes any element bytes a
//! valid `T`, so even a corrupt file can only yield wrong numbers, never undefined behaviour.
//!
//! **The one precondition of the whole library:** no other process writes to or truncates
//! the file while it is open here, except through this library (or another program that
//! honours the same `flock` locks). Such a process could change bytes under a `&[T]`, or
//! truncate the file so that touching the mapping raises `SIGBUS`; no library that maps
//! files can prevent that. While the file is open live, a program that makes it shorter must
//! also hold `<file>-live` exclusively, and every writer must be of this version of the
//! library or later (see [`LiveReader`]).
//!
//! # Crate features
//!
//! * `std` (default): `From<Error> for std::io::Error`, `std::io::Write` for
//!   `MmapedVec<u8>`, comparisons with `Vec`, and [`PathArg`] for `Path`, `PathBuf`,
//!   `OsStr`, `String`. Without it the crate is `#![no_std]` and needs neither `std` nor
//!   `alloc`; paths are `&CStr` or `&str`.
//! * `bytemuck` (off by default; adds the `bytemuck` crate): `Bytemuck<T>` stores any
//!   `T: bytemuck::Pod`, and `bytemuck_pod!` implements [`Pod`] for your own such types.
//! * `zerocopy` (off by default; adds the `zerocopy` crate, 0.8): `Zerocopy<T>` stores any
//!   `T: zerocopy::FromBytes + IntoBytes + Immutable + Copy`, and `zerocopy_pod!` implements
//!   [`Pod`] for your own such types.
//!
//! Why a wrapper and a macro rather than a blanket impl, and why they are sound: the module
//! docs of `src/interop.rs`; how to use them: `docs/guide.md`, "Types from bytemuck and
//! zerocopy".
//!
//! The crate's own test suite also uses hidden test hooks (fault injection, a page-size
//! override), compiled in only with the `persistence_test_hooks` cfg that this repository
//! sets for its own builds; they are not part of the API.
//!
//! # Platforms
//!
//! Linux and Android grow the mapping with `mremap`; FreeBSD, macOS and the other Unixes
//! map the file again and unmap the old mapping (also selectable on Linux with
//! `PERSISTENCE_PORTABLE_REMAP=1` at build time). On macOS, durability uses
//! `fcntl(F_FULLFSYNC)`. Other targets fail to build, with one error that says why.

#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]
#![warn(rust_2018_idioms)]

#[cfg(feature = "std")]
extern crate std;

mod convert;
mod copy;
mod error;
mod fingerprint;
mod format;
mod group;
mod inspect;
#[cfg(any(feature = "bytemuck", feature = "zerocopy"))]
mod interop;
mod limits;
mod live;
mod options;
mod path;
mod pod;
mod region;
mod report;
mod sidecar;
mod slice;
mod slots;
pub mod storage;
mod sys;
mod vec;

pub use error::{Error, ErrorKind, ExtendError, Result};
pub use fingerprint::Fingerprint;
pub use group::{Column, Columns, Group, GroupSlice, LiveColumn, LiveGroup};
pub use inspect::{inspect, ColumnInfo, FileInfo, FileKind, SlotInfo, MAX_COLUMNS};
#[cfg(feature = "bytemuck")]
pub use interop::Bytemuck;
#[cfg(feature = "zerocopy")]
pub use interop::Zerocopy;
pub use live::LiveReader;
pub use options::OpenOptions;
pub use path::{PathArg, MAX_PATH};
pub use pod::{Pod, SwapBytes};
pub use region::MAX_GROWTH_STEP;
pub use report::OpenReport;
pub use slice::MmapedSlice;
pub use vec::{Drain, MmapedVec};

/// Hooks for this crate's own tests: make a chosen syscall fail, watch each one, pretend
/// another page size, and say which remap path the build uses. Not API: hidden, compiled in
/// only with the `persistence_test_hooks` cfg (`build.rs`), and free to change in any
/// release.
#[cfg(all(persistence_test_hooks, feature = "std"))]
#[doc(hidden)]
pub mod test_hooks {
    pub use crate::sys::fault::{
        clear, force_polling, inject, inject_always, inject_times, observe, pending, set_page_size,
        Op,
    };
    /// Which remap strategy this build uses: `"mremap"` or `"unmap-and-map"`.
    pub const REMAP_STRATEGY: &str = crate::sys::REMAP_STRATEGY;
}

/// The README's code blocks, run as doctests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The user guide's code blocks, run as doctests for the same reason.
#[cfg(doctest)]
#[doc = include_str!("../docs/guide.md")]
struct GuideDoctests;

#[doc(hidden)]
pub mod __private {
    #[cfg(feature = "bytemuck")]
    pub use bytemuck;
    pub use static_assertions;
    #[cfg(feature = "zerocopy")]
    pub use zerocopy;
    pub const MAX_ALIGN: usize = crate::format::MAX_ALIGN;
}
