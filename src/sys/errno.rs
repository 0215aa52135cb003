//! What each `errno` means to a caller, on the Unix systems rustix supports (shared by the
//! `unix.rs` backend and the Miri stand-in, which sees the host's errno values).

use rustix::io::Errno;

use crate::error::ErrorKind;

/// `ENOSPC`, for errors this layer makes itself (a reservation refused before it starts).
pub(crate) const ENOSPC: i32 = Errno::NOSPC.raw_os_error();

/// Maps an `errno` to the kind a caller can act on.
pub(crate) fn kind_of_errno(errno: i32) -> ErrorKind {
    let e = Errno::from_raw_os_error(errno);
    if e == Errno::WOULDBLOCK || e == Errno::AGAIN {
        ErrorKind::Locked
    } else if e == Errno::NOENT || e == Errno::NOTDIR {
        // `ENOTDIR`: a component of the path is not a directory (`file.bin/x`), so nothing
        // by that name can exist.
        ErrorKind::NotFound
    } else if e == Errno::NAMETOOLONG || e == Errno::LOOP {
        // A name longer than `NAME_MAX`, a path longer than `PATH_MAX`, or a loop of
        // symbolic links: the path itself is unusable.
        ErrorKind::InvalidPath
    } else if e == Errno::EXIST {
        ErrorKind::AlreadyExists
    } else if e == Errno::ACCESS || e == Errno::PERM || e == Errno::ROFS {
        ErrorKind::PermissionDenied
    } else if e == Errno::ISDIR || e == Errno::NXIO || e == Errno::NODEV {
        ErrorKind::NotARegularFile
    } else if e == Errno::NOSPC || e == Errno::DQUOT {
        ErrorKind::OutOfSpace
    } else if e == Errno::FBIG {
        ErrorKind::FileTooLarge
    } else if e == Errno::OVERFLOW {
        ErrorKind::CapacityOverflow
    } else {
        ErrorKind::Io
    }
}

/// Whether `errno` from `fallocate` means the file system cannot reserve blocks that way:
/// `EOPNOTSUPP` (ext2/ext3, ext4 without extents, FUSE, NFS before 4.2), `ENOSYS`, and
/// `EINVAL`, which ZFS on FreeBSD returns.
pub(crate) fn fallocate_missing(errno: i32) -> bool {
    let e = Errno::from_raw_os_error(errno);
    e == Errno::OPNOTSUPP || e == Errno::NOSYS || e == Errno::INVAL
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_maps_to_kinds() {
        let kind = |e: Errno| kind_of_errno(e.raw_os_error());
        assert_eq!(kind(Errno::WOULDBLOCK), ErrorKind::Locked);
        assert_eq!(kind(Errno::NOENT), ErrorKind::NotFound);
        assert_eq!(kind(Errno::NOTDIR), ErrorKind::NotFound);
        assert_eq!(kind(Errno::NAMETOOLONG), ErrorKind::InvalidPath);
        assert_eq!(kind(Errno::LOOP), ErrorKind::InvalidPath);
        assert_eq!(kind(Errno::EXIST), ErrorKind::AlreadyExists);
        assert_eq!(kind(Errno::ACCESS), ErrorKind::PermissionDenied);
        assert_eq!(kind(Errno::ROFS), ErrorKind::PermissionDenied);
        assert_eq!(kind(Errno::ISDIR), ErrorKind::NotARegularFile);
        assert_eq!(kind(Errno::NOSPC), ErrorKind::OutOfSpace);
        assert_eq!(kind(Errno::DQUOT), ErrorKind::OutOfSpace);
        assert_eq!(kind(Errno::FBIG), ErrorKind::FileTooLarge);
        assert_eq!(kind(Errno::OVERFLOW), ErrorKind::CapacityOverflow);
        assert_eq!(kind(Errno::IO), ErrorKind::Io);
    }

    #[test]
    fn fallocate_fallback_errnos() {
        assert!(fallocate_missing(Errno::OPNOTSUPP.raw_os_error()));
        assert!(fallocate_missing(Errno::NOSYS.raw_os_error()));
        assert!(fallocate_missing(Errno::INVAL.raw_os_error()));
        assert!(!fallocate_missing(Errno::NOSPC.raw_os_error()));
        assert!(!fallocate_missing(Errno::FBIG.raw_os_error()));
    }
}
