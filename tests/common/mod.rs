//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod cachestat;
pub mod child;
pub mod format;
pub mod fs;
pub mod roles;

use std::path::{Path, PathBuf};

/// The environment variable naming a directory for the tests' files (`ci/fs-matrix.sh`
/// points it into a mounted file system, so that whole test binaries run there).
pub const TEST_DIR_ENV: &str = "PERSISTENCE_TEST_DIR";

/// A fresh temporary directory, removed on drop: inside `$PERSISTENCE_TEST_DIR` when that is
/// set, else in the system's temporary directory.
pub fn tmpdir() -> tempfile::TempDir {
    let mut b = tempfile::Builder::new();
    b.prefix("persistence-test");
    match std::env::var_os(TEST_DIR_ENV) {
        Some(dir) if !dir.is_empty() => b
            .tempdir_in(&dir)
            .unwrap_or_else(|e| panic!("tempdir in {TEST_DIR_ENV}={dir:?}: {e}")),
        _ => b.tempdir().expect("tempdir"),
    }
}

/// `dir/name`.
pub fn path_in(dir: &tempfile::TempDir, name: &str) -> PathBuf {
    dir.path().join(name)
}

/// The whole file.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).expect("read file")
}

/// A random number generator seeded from `PERSISTENCE_SEED` or the clock; prints the seed
/// so a failure can be replayed.
pub fn rng(test: &str) -> fastrand::Rng {
    let seed = std::env::var("PERSISTENCE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    eprintln!("{test}: PERSISTENCE_SEED={seed}");
    fastrand::Rng::with_seed(seed)
}

persistence::pod! {
    /// A record with mixed fields and no padding.
    #[derive(Debug, PartialEq, Default)]
    pub struct Rec {
        pub id: u64,
        pub value: f64,
        pub tag: [u8; 4],
        pub count: u32,
    }
}

impl Rec {
    pub fn new(i: u64) -> Self {
        Rec {
            id: i,
            value: i as f64 * 0.5,
            tag: (i as u32).to_le_bytes(),
            count: (i as u32).wrapping_mul(7),
        }
    }
}

/// The suffix of a conversion's or migration's temporary file, `<to>.persistence-tmp`.
pub const TEMP_SUFFIX: &str = ".persistence-tmp";

/// The names of conversion temporary files in `dir`.
pub fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(TEMP_SUFFIX))
        .collect()
}
