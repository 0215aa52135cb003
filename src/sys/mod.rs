//! The syscall layer: thin wrappers over rustix, the only code in the crate that calls it.
//!
//! One platform module is chosen by `cfg_attr(.., path = ..)` behind identical signatures:
//! `unix.rs` for real files, and under Miri (which cannot map files) `miri.rs`, an in-memory
//! stand-in with the same signatures so that the layers above run unchanged.

#![allow(unsafe_code)]

pub mod fault;

#[cfg_attr(miri, path = "miri.rs")]
#[cfg_attr(not(miri), path = "unix.rs")]
mod imp;

pub use imp::*;

/// How to open a file.
#[derive(Clone, Copy, Debug)]
pub struct OpenHow {
    /// Read-write (else read-only).
    pub write: bool,
    /// `O_CREAT`.
    pub create: bool,
    /// `O_CREAT | O_EXCL`.
    pub create_new: bool,
    /// Permission bits for a new file (before the umask).
    pub mode: u32,
}

/// What `fstat` says that the region needs.
#[derive(Clone, Copy, Debug)]
pub struct Stat {
    /// A regular file (not a directory, FIFO, socket or device).
    pub regular: bool,
    /// Size in bytes.
    pub size: u64,
}

/// What the file system says about a file, for [`inspect`](crate::inspect).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FsFacts {
    /// The file system's name, where the library knows it.
    pub name: Option<&'static str>,
    /// Whether rewriting a block of the file allocates a new one (copy on write); `None`
    /// when the library cannot tell.
    pub copy_on_write: Option<bool>,
}

impl FsFacts {
    /// Nothing known.
    pub const UNKNOWN: FsFacts = FsFacts {
        name: None,
        copy_on_write: None,
    };
}

/// Whether bytes written with `pwrite` show in the file's shared mappings at once (a unified
/// buffer cache), so that the region may append through the descriptor. True on Linux,
/// Android, the BSDs with a unified cache and Apple's systems; elsewhere (OpenBSD, say) the
/// region writes through the mapping only.
pub const WRITE_SHOWS_IN_MAPPINGS: bool = cfg!(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "dragonfly",
    target_os = "macos",
    target_os = "ios",
    target_os = "tvos",
    target_os = "watchos",
));
