//! Picks the remap strategy at build time.
//!
//! * `cfg(persistence_mremap)`: Linux and Android grow a mapping in place (or move it) with
//!   `mremap(MREMAP_MAYMOVE)`, which never copies page contents.
//! * otherwise: the portable path maps the file again and unmaps the old mapping.
//!
//! `PERSISTENCE_PORTABLE_REMAP=1` forces the portable path on Linux too, so that both paths are
//! tested on one machine.
//!
//! And whether the crate's own test hooks are compiled in: `cfg(persistence_test_hooks)` when
//! `PERSISTENCE_TEST_HOOKS=1`, which this repository's `.cargo/config.toml` sets for its own
//! builds (a dependent's build never reads that file), so that no crate in a dependent's
//! build can turn fault injection on, as a Cargo feature would let it.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(persistence_mremap)");
    println!("cargo::rustc-check-cfg=cfg(persistence_test_hooks)");
    println!("cargo::rerun-if-env-changed=PERSISTENCE_PORTABLE_REMAP");
    println!("cargo::rerun-if-env-changed=PERSISTENCE_TEST_HOOKS");
    if std::env::var("PERSISTENCE_TEST_HOOKS").is_ok_and(|v| v == "1") {
        println!("cargo::rustc-cfg=persistence_test_hooks");
    }
    println!("cargo::rerun-if-changed=build.rs");

    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let forced_portable = std::env::var("PERSISTENCE_PORTABLE_REMAP").is_ok_and(|v| v == "1");
    if (os == "linux" || os == "android") && !forced_portable {
        println!("cargo::rustc-cfg=persistence_mremap");
    }
}
