//! The backend of a target that is not a Unix: nothing works, and `sys/mod.rs`'s
//! `compile_error!` says so, standing alone because this module gives every other part of
//! the crate the signatures it calls. It is also the list of what a port implements: each
//! item here, with the meaning `unix.rs` documents for it.
//!
//! # Safety
//!
//! No function here touches memory; the `unsafe fn`s keep the signatures of the real ones.

use core::ffi::CStr;
use core::ptr::NonNull;

use super::{FsFacts, OpenHow, Stat};
use crate::error::{Error, ErrorKind, Result};

/// No error number means anything here.
pub(crate) const ENOSPC: i32 = 0;

/// Every error is an I/O error.
pub(crate) fn kind_of_errno(_errno: i32) -> ErrorKind {
    ErrorKind::Io
}

/// `fallocate` is never missing: nothing is ever called.
pub(crate) fn fallocate_missing(_errno: i32) -> bool {
    false
}

fn unsupported() -> Error {
    Error::new(ErrorKind::Io, "persistence does not run on this target")
}

/// A file that can never be opened.
#[derive(Debug)]
pub struct File;

/// Fails: the target is not supported.
pub fn open(_path: &CStr, _how: &OpenHow) -> Result<File> {
    Err(unsupported())
}

impl File {
    pub fn stat(&self) -> Result<Stat> {
        Err(unsupported())
    }
    pub fn lock(&self, _exclusive: bool, _wait: bool) -> Result<()> {
        Err(unsupported())
    }
    pub fn unlock(&self) -> Result<()> {
        Err(unsupported())
    }
    pub fn read_at(&self, _buf: &mut [u8], _offset: u64) -> Result<usize> {
        Err(unsupported())
    }
    pub fn write_all_at(&self, _buf: &[u8], _offset: u64) -> Result<()> {
        Err(unsupported())
    }
    pub fn write_all_padded_at(
        &self,
        _buf: &[u8],
        _offset: u64,
        _zeros: u64,
        _zero: &[u8],
    ) -> Result<()> {
        Err(unsupported())
    }
    pub fn drop_clean_cache(&self, _offset: u64, _len: u64) {}
    pub fn start_writeback(&self, _offset: u64, _len: u64) {}
    pub fn sync_data(&self) -> Result<()> {
        Err(unsupported())
    }
    pub fn set_len(&self, _len: u64) -> Result<()> {
        Err(unsupported())
    }
    pub fn fallocate(&self, _offset: u64, _len: u64) -> Result<()> {
        Err(unsupported())
    }
    pub fn free_bytes(&self) -> Option<u64> {
        None
    }
    pub fn duplicate(&self) -> Result<File> {
        Err(unsupported())
    }
    pub fn set_no_cow(&self) {}
    pub fn fs_facts(&self) -> FsFacts {
        FsFacts::UNKNOWN
    }
    pub fn set_perm_owner(&self, _perm: u32, _uid: u32, _gid: u32) {}
    pub fn is_mount_root(&self) -> bool {
        false
    }
}

/// A directory that can never be opened.
#[derive(Debug)]
pub struct Dir;

pub fn open_dir(_path: &CStr) -> Result<Dir> {
    Err(unsupported())
}

pub fn read_link(_path: &CStr, _buf: &mut [u8]) -> Result<Option<usize>> {
    Err(unsupported())
}

impl Dir {
    pub fn sync(&self) -> Result<()> {
        Err(unsupported())
    }
    pub fn stat_at(&self, _name: &CStr) -> Result<Stat> {
        Err(unsupported())
    }
    pub fn open_at(&self, _name: &CStr, _create_new: bool) -> Result<File> {
        Err(unsupported())
    }
}

pub fn sync_parent_dir(_path: &CStr) -> Result<()> {
    Err(unsupported())
}

pub fn rename(_from: &CStr, _to: &CStr, _replace: bool) -> Result<()> {
    Err(unsupported())
}

pub fn unlink(_path: &CStr) -> Result<()> {
    Err(unsupported())
}

pub fn page_size() -> usize {
    4096
}

pub fn process_id() -> u32 {
    0
}

/// # Safety
///
/// None needed: it always fails.
pub unsafe fn map(_file: &File, _len: usize, _writable: bool) -> Result<NonNull<u8>> {
    Err(unsupported())
}

/// # Safety
///
/// None needed: it always fails.
pub unsafe fn map_blocks(
    _file: &File,
    _blocks: &[(u64, usize)],
    _writable: bool,
    _align: usize,
) -> Result<NonNull<u8>> {
    Err(unsupported())
}

/// Does nothing: there is no other thread to yield to on a target that cannot open files.
pub fn yield_now() {}

/// Does nothing: nothing to wait for on a target that cannot open files.
pub fn sleep_ns(_ns: u64) {}

/// No clock on a target that cannot open files.
pub fn monotonic_ns() -> u64 {
    0
}

/// # Safety
///
/// None needed: it does nothing.
pub unsafe fn wait_on_u32(_addr: NonNull<u32>, _expected: u32, _timeout_ns: Option<u64>) -> bool {
    false
}

/// # Safety
///
/// None needed: it does nothing.
pub unsafe fn wake_u32(_addr: NonNull<u32>) {}

/// # Safety
///
/// None needed: it does nothing.
pub unsafe fn unmap(_ptr: NonNull<u8>, _len: usize) {}

/// # Safety
///
/// None needed: it always fails.
pub unsafe fn remap(
    _file: &File,
    _ptr: NonNull<u8>,
    _old_len: usize,
    _new_len: usize,
    _writable: bool,
) -> Result<NonNull<u8>> {
    Err(unsupported())
}

/// # Safety
///
/// None needed: it does nothing.
pub unsafe fn advise_huge(_ptr: NonNull<u8>, _len: usize, _huge: bool) {}

/// # Safety
///
/// None needed: it always fails.
pub unsafe fn msync(_file: &File, _ptr: NonNull<u8>, _len: usize) -> Result<()> {
    Err(unsupported())
}
