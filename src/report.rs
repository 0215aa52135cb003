//! `OpenReport`: what an open found in a file beyond the commit it opened to.

/// What an open found in the file, beyond the commit it opened to: whether it had to fall
/// back to the older commit because the newest commit slot was damaged, and whether the
/// file held no commit yet. `open_report()` of [`MmapedVec`](crate::MmapedVec),
/// [`MmapedSlice`](crate::MmapedSlice), [`Group`](crate::Group) and
/// [`GroupSlice`](crate::GroupSlice) returns it; [`inspect`](crate::inspect) says the same
/// ([`FileInfo::opens_to_older_commit`](crate::FileInfo::opens_to_older_commit)).
///
/// ```
/// # fn main() -> Result<(), persistence::Error> {
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("report.bin");
/// use persistence::MmapedVec;
///
/// let v = MmapedVec::<u64>::open(&path)?;
/// let report = v.open_report();
/// assert!(report.created && !report.older_commit && !report.damaged_slot);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct OpenReport {
    /// The newest commit slot is damaged (its checksum fails, and the sequence number it
    /// shows, untrusted, is above the current commit's): the file opened to the older
    /// commit. The damaged commit's appends are lost (past the length); its in-place changes
    /// may be on disk, as any in-place change. A damaged slot is a sector written torn or
    /// decayed on the medium; a writer's next commit overwrites it.
    pub older_commit: bool,
    /// The slot that is not the current commit is damaged (whether or not it was the
    /// newest): a torn or decayed sector, overwritten by a writer's next commit.
    pub damaged_slot: bool,
    /// The file held no commit: a writer created it (it was missing, empty, or the remains
    /// of an interrupted creation), a reader found it so and sees it empty.
    pub created: bool,
}

impl OpenReport {
    /// The report of a file whose committed slot is `current_seq` and whose other slot is
    /// `other`: (valid, blank, sequence as found).
    pub(crate) fn of_slots(current_seq: u64, other: (bool, bool, u64)) -> OpenReport {
        let (valid, blank, seq) = other;
        let damaged = !valid && !blank;
        OpenReport {
            older_commit: damaged && seq > current_seq,
            damaged_slot: damaged,
            created: false,
        }
    }

    /// The report of a file that held no commit.
    pub(crate) const CREATED: OpenReport = OpenReport {
        older_commit: false,
        damaged_slot: false,
        created: true,
    };
}
