//! Picks the remap strategy at build time.
//!
//! * `cfg(persistence_mremap)`: Linux and Android grow a mapping in place (or move it) with
//!   `mremap(MREMAP_MAYMOVE)`, which never copies page contents.
//! * otherwise: the portable path maps the file again and unmaps the old mapping.
//!
//! `PERSISTENCE_PORTABLE_REMAP=1` forces the portable path on Linux too, so that both paths are
//! tested on one machine.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(persistence_mremap)");
    println!("cargo::rerun-if-env-changed=PERSISTENCE_PORTABLE_REMAP");
    println!("cargo::rerun-if-changed=build.rs");

    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let forced_portable = std::env::var("PERSISTENCE_PORTABLE_REMAP").is_ok_and(|v| v == "1");
    if (os == "linux" || os == "android") && !forced_portable {
        println!("cargo::rustc-cfg=persistence_mremap");
    }
}
