//! Which remap path was compiled in, so that the CI run with `PERSISTENCE_PORTABLE_REMAP=1`
//! cannot silently test the `mremap` path again (and the default run cannot silently test
//! the portable one).
//!
//! `build.rs` reads `PERSISTENCE_PORTABLE_REMAP` when it builds the library and declares
//! `rerun-if-env-changed` for it; this test crate reads the same variable at its own compile
//! time with `option_env!` (which cargo also tracks), so both see the same environment.

mod common;

use persistence::test_hooks::REMAP_STRATEGY;
use persistence::MmapedVec;

/// What `build.rs` must have chosen for this target and build environment.
fn expected_strategy() -> &'static str {
    let forced_portable = option_env!("PERSISTENCE_PORTABLE_REMAP") == Some("1");
    let has_mremap = cfg!(any(target_os = "linux", target_os = "android"));
    if has_mremap && !forced_portable {
        "mremap"
    } else {
        "unmap-and-map"
    }
}

#[test]
fn the_compiled_remap_path_is_the_one_the_build_asked_for() {
    eprintln!(
        "PERSISTENCE_PORTABLE_REMAP at build time: {:?}; target_os: {}; compiled path: {}",
        option_env!("PERSISTENCE_PORTABLE_REMAP"),
        std::env::consts::OS,
        REMAP_STRATEGY
    );
    assert_eq!(REMAP_STRATEGY, expected_strategy());
    // A run that sets the variable at run time but was built without it (or the other way
    // round) would test the wrong path: CI exports it for the whole run.
    if let Ok(now) = std::env::var("PERSISTENCE_PORTABLE_REMAP") {
        assert_eq!(
            Some(now.as_str()),
            option_env!("PERSISTENCE_PORTABLE_REMAP"),
            "PERSISTENCE_PORTABLE_REMAP differs between build time and run time"
        );
    }
}

/// A behavioural check that the path the constant names is the one that runs. The portable
/// path maps the file again *before* it unmaps the old mapping, so both exist at once and
/// every remap, growing or shrinking, must move the data. `mremap` shrinks a mapping in
/// place (Linux never moves a shrinking mapping), and may or may not move a growing one.
#[test]
fn the_mapping_moves_as_the_compiled_path_moves_it() {
    let dir = common::tmpdir();
    let p = common::path_in(&dir, "grow.bin");
    let mut v = MmapedVec::<u64>::open(&p).unwrap();
    let mut moves = 0;
    let mut growths = 0;
    for i in 0..12_000_000u64 {
        let (before_ptr, before_cap) = (v.as_ptr(), v.capacity());
        v.push(i).unwrap();
        if v.capacity() != before_cap {
            growths += 1;
            moves += usize::from(v.as_ptr() != before_ptr);
        }
    }
    assert!(growths >= 7, "only {growths} growth steps");
    eprintln!("{REMAP_STRATEGY}: {moves} of {growths} growth steps moved the mapping");
    if REMAP_STRATEGY == "unmap-and-map" {
        assert_eq!(moves, growths);
    }
    v.sync().unwrap();
    assert!(v.iter().copied().eq(0..12_000_000u64));

    // Shrink: commit a short length first (shrink_to_fit keeps the committed length).
    v.truncate(1000);
    v.sync().unwrap();
    let (before_ptr, before_cap) = (v.as_ptr(), v.capacity());
    v.shrink_to_fit().unwrap();
    assert!(v.capacity() < before_cap, "shrink_to_fit did not shrink");
    let moved = v.as_ptr() != before_ptr;
    eprintln!("{REMAP_STRATEGY}: shrinking moved the mapping: {moved}");
    assert_eq!(moved, REMAP_STRATEGY == "unmap-and-map");
    assert!(v.iter().copied().eq(0..1000u64));
}
