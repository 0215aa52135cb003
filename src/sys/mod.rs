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
