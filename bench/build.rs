//! Tells the benchmark which remap path the library under test was built with, by the same
//! rule as the library's own `build.rs` (kept in step with it: `mremap` on Linux and Android
//! unless `PERSISTENCE_PORTABLE_REMAP=1`). The library does not export it: it is a build
//! detail, shown to its own tests through a hidden hook only.

fn main() {
    println!("cargo::rerun-if-env-changed=PERSISTENCE_PORTABLE_REMAP");
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let forced_portable = std::env::var("PERSISTENCE_PORTABLE_REMAP").is_ok_and(|v| v == "1");
    let strategy = if (os == "linux" || os == "android") && !forced_portable {
        "mremap"
    } else {
        "unmap-and-map"
    };
    println!("cargo::rustc-env=PERSISTENCE_REMAP_STRATEGY={strategy}");
}
