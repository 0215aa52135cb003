//! How many times each loop that races another process tries before it gives up. Each loop
//! ends long before its limit in any run that is not under attack (another process
//! replacing a file or rewriting a slot again and again); the limit only stops it from
//! spinning for ever. One place, one type.

/// Rounds of a live reader's slot snapshot (slot A, slot B, slot A again) before a refresh
/// gives up for this call because slot A keeps changing under it (only a writer committing
/// every few hundred nanoseconds could cause that; a commit takes at least a flush).
pub(crate) const SLOT_SNAPSHOT_ROUNDS: u32 = 64;

/// Rounds of `inspect`'s slot snapshot beside a writer (each read is a `pread`).
pub(crate) const PREAD_SNAPSHOT_ROUNDS: u32 = 16;

/// Times `inspect` beside a writer reads the slots again when the committed length does not
/// fit the file size it read after them (a cut in between), before it says `Corrupt`.
pub(crate) const PREAD_FIT_TRIES: u32 = 4;

/// Times an open opens the path again after finding that the file it locked had been
/// removed or renamed over while it waited for the lock (as a conversion replaces its
/// destination).
pub(crate) const REOPEN_TRIES: u32 = 16;

/// Times `open_live` starts again when the path is replaced between its open and the check
/// that the resolved name still leads to the file.
pub(crate) const LIVE_OPEN_TRIES: u32 = 4;

/// Times the live readers' lock file is opened or locked again when its name is replaced or
/// removed in between.
pub(crate) const LOCK_FILE_TRIES: u32 = 8;

/// How often a live open with `wait_for_file(true)` looks for the file again while it is
/// missing, in milliseconds.
pub(crate) const WAIT_FOR_FILE_POLL_MS: u32 = 10;
