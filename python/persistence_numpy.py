"""Read a vector file of the Rust crate ``persistence`` as a read-only numpy array.

A file that ``MmapedVec<T>`` writes is a 4096-byte header, then the elements exactly as they
lie in memory. ``open_array`` validates the header as the crate's ``open`` does
(``docs/design.md``, "On-disk format" and "Validation order on open") and maps exactly the
committed elements, never the spare capacity behind them::

    import numpy as np
    from persistence_numpy import open_array

    prices = open_array("prices.bin", np.float64)           # or live=True beside a writer
    print(len(prices), prices.mean(), prices.info.newest_damaged)
    points = open_array("points.bin", np.dtype([("id", "u8"), ("x", "f8")]))

A ``pod!`` struct reads as a structured dtype with the same field offsets and itemsize.
``read_header(path)`` returns the header's facts (``FileInfo``) without mapping anything.
Failures raise ``PersistenceError``, whose ``kind`` is the name of the crate's ``ErrorKind``
(``"BadMagic"``, ``"Corrupt"``, ``"LayoutMismatch"``, ...); a missing file raises
``FileNotFoundError`` and other ``OSError``\\ s pass through.

Locks, as the crate takes them (``docs/design.md``, "Locks" and "Live readers"):

* ``live=False`` (default), like ``OpenOptions::open_read_only``: a shared ``flock`` on the
  file, without waiting (a writer holding the file: ``PersistenceError("Locked")``), held as
  long as the mapping exists (the mapping's own descriptor is a duplicate that carries it), so
  no writer of the crate can open the file meanwhile.
* ``live=True``, like ``OpenOptions::open_live``, beside a writer: no lock on the file; a
  shared ``flock`` on the empty ``<file>-live`` beside it (created when missing, with the data
  file's permission bits), waiting for it, taken before anything of the file is read and
  released only after the mapping is gone, so a writer never makes the file shorter under it.
  The commit slots are read A, B, A again, so a slot the writer is writing at that instant is
  never believed.

A commit group's file (``Group<C>`` in the crate: several columns committed together) reads
with ``open_group``, one dtype per column, validated as the crate's ``open_group_read_only``
validates it (``docs/design.md``, "Commit groups"); it returns one read-only array per column
with exactly the committed length, of one commit, under a shared ``flock``::

    from persistence_numpy import open_group

    time, price, qty = open_group("trades.bin", [np.uint64, np.float64, np.uint32])
    print(len(time), price.mean(), time.info.generation)   # (the tuple's ``info`` too)

A column's bytes lie in blocks of growing size (2 MiB, 4 MiB, 8 MiB, ...) anywhere in the
file: a column held by its first block is a ``numpy.memmap`` of it, a longer one is a copy
(a plain read-only ``ndarray``; its memory is the column's size). ``read_group_header(path)``
returns the group's facts (``GroupInfo``) without reading any column. A group's file given to
``open_array``, or a vector's to ``open_group``, is ``PersistenceError("WrongFileKind")``.

What the Python side does NOT do: it maps the committed length found at open and never
refreshes (open again to see later commits); it reads files in this machine's byte order
only (``persistence convert`` converts the others); it does not recognise the remains of an
interrupted creation (a file being created at that very instant may be refused as corrupt);
it follows every symbolic link of the path to find ``<file>-live`` (the crate follows those of
the last component; both reach the same directory) and does not refuse a file bind-mounted
on its own; and a writer's in-place changes to committed elements show in the array as they
are stored, as they do in the crate's live readers.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
import stat
import struct
import sys
import weakref

import numpy as np

__all__ = [
    "FileInfo", "SlotInfo", "PersistenceError", "dtype_fingerprint", "open_array", "read_header",
    "GroupInfo", "GroupColumnInfo", "GroupSlotInfo", "GroupArrays", "open_group",
    "read_group_header",
]

# --- The format (docs/design.md, "On-disk format"): every offset is here and nowhere else. ---

HEADER_SIZE = 4096
FORMAT_MAGIC = b"PERSISTV"
ENDIAN_MARKER = 0x01020304
# The fields every format version shares, before the version-specific ones.
AT_ENDIAN_MARKER = 16
AT_FORMAT_VERSION = 20

# Format version 1: field name -> (offset, struct code); the header checksum covers bytes
# 0..56; two slots of (sequence u64, length u64, checksum u64).
V1_FIELDS = {
    "app_magic": (8, "8s"),
    "app_version": (24, "I"),
    "usize_width": (28, "I"),
    "elem_size": (32, "Q"),
    "elem_align": (40, "Q"),
    "data_offset": (48, "Q"),
    "header_checksum": (56, "Q"),
}
V1_CHECKSUMMED = 56
V1_SLOT_OFFSETS = (512, 1024)
SLOT_SIZE = 24

# Format version 2 (a vector file: kind 0, one column): the same slots; the header checksum
# covers bytes 0..80; the element type fingerprint at 72 (0: unknown).
V2_FIELDS = {
    "app_magic": (8, "8s"),
    "app_version": (24, "I"),
    "usize_width": (28, "I"),
    "kind": (32, "I"),
    "columns": (36, "I"),
    "data_offset": (40, "Q"),
    "block_size": (48, "Q"),
    "elem_size": (56, "Q"),
    "elem_align": (64, "Q"),
    "elem_fingerprint": (72, "Q"),
    "header_checksum": (80, "Q"),
}
V2_CHECKSUMMED = 80
KIND_VECTOR, KIND_GROUP = 0, 1
# A valid slot's sequence is 1..=2**62; any other counts as a damaged slot.
MAX_SEQUENCE = 1 << 62

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_NATIVE = "<" if sys.byteorder == "little" else ">"
_FOREIGN = ">" if _NATIVE == "<" else "<"
_LOCK_RETRIES = 8


def fnv1a64(data: bytes, h: int = _FNV_OFFSET) -> int:
    """64-bit FNV-1a of ``data``, continued from ``h``."""
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFFFFFFFFFF
    return h


class PersistenceError(Exception):
    """A file the crate would refuse; ``kind`` names the crate's ``ErrorKind``; ``column``
    is the group column the error is about (the crate's ``Error::column``), else ``None``."""

    def __init__(self, kind: str, message: str, column: int | None = None):
        if column is not None:
            message = f"column {column}: {message}"
        super().__init__(f"{message} [{kind}]")
        self.kind = kind
        self.column = column


@dataclasses.dataclass(frozen=True)
class SlotInfo:
    """One commit slot. When not ``valid`` its numbers are as found, not to be trusted."""

    sequence: int
    length: int
    valid: bool
    blank: bool

    @property
    def damaged(self) -> bool:
        """Neither valid nor never written: a torn or damaged slot."""
        return not self.valid and not self.blank


@dataclasses.dataclass(frozen=True)
class FileInfo:
    """What a file's header records, and which commit it opens to."""

    path: str
    format_version: int
    native_byte_order: bool
    app_magic: bytes
    app_version: int
    usize_width: int
    elem_size: int
    elem_align: int
    data_offset: int
    file_size: int
    # The element type fingerprint (docs/design.md, "Element type fingerprint"); 0: unknown
    # (a version-1 file, or a type that names none).
    elem_fingerprint: int
    slots: tuple  # (SlotInfo A, SlotInfo B); both blank for an empty file
    winner: int | None  # 0 = A, 1 = B; None: an empty file, no commit yet

    @property
    def length(self) -> int:
        """The committed length, in elements."""
        return 0 if self.winner is None else self.slots[self.winner].length

    @property
    def capacity(self) -> int:
        """Elements the file has room for: (file size - 4096) // element size."""
        return max(self.file_size - HEADER_SIZE, 0) // self.elem_size if self.elem_size else 0

    @property
    def newest_damaged(self) -> bool:
        """Whether a damaged slot's (untrusted) sequence is above the winner's: the newest
        commit was damaged, and the file opens to the older one."""
        if self.winner is None:
            return False
        current = self.slots[self.winner].sequence
        return any(s.damaged and s.sequence > current for s in self.slots)


def _unpack(page: bytes, order: str, offset: int, code: str):
    return struct.unpack_from(order + code, page, offset)[0]


def _decode_v1(page: bytes, order: str) -> dict:
    """Format version 1's own fields, validated (each failure ``Corrupt``)."""
    fields = {name: _unpack(page, order, at, code) for name, (at, code) in V1_FIELDS.items()}
    fields["elem_fingerprint"] = 0  # version 1 records none
    return _check_fields(page, fields, V1_CHECKSUMMED, V1_FIELDS["header_checksum"][0])


def _decode_v2(page: bytes, order: str) -> dict:
    """Format version 2's own fields (a vector file), validated: the kind and column count
    first, then as version 1."""
    fields = {name: _unpack(page, order, at, code) for name, (at, code) in V2_FIELDS.items()}
    if fields["kind"] == KIND_GROUP:
        raise PersistenceError(
            "WrongFileKind", "a commit group's file, not a vector's (one column at a time: no)"
        )
    if fields["kind"] != KIND_VECTOR or fields["columns"] != 1 or fields["block_size"] != 0:
        raise PersistenceError("Corrupt", "the file is corrupt: file kind or column count")
    return _check_fields(page, fields, V2_CHECKSUMMED, V2_FIELDS["header_checksum"][0])


def _check_fields(page: bytes, fields: dict, checksummed: int, at_sum: int) -> dict:
    """The checks every version makes of its fields, in the crate's order."""
    if fnv1a64(page[:checksummed]) != fields["header_checksum"]:
        raise PersistenceError("Corrupt", "the file is corrupt: header checksum mismatch")
    if fields["data_offset"] != HEADER_SIZE:
        raise PersistenceError(
            "Corrupt", f"the file is corrupt: data offset {fields['data_offset']}"
        )
    if fields["elem_size"] == 0:
        raise PersistenceError("Corrupt", "the file is corrupt: element size 0")
    align = fields["elem_align"]
    if align == 0 or align & (align - 1) or align > HEADER_SIZE:
        raise PersistenceError("Corrupt", f"the file is corrupt: element alignment {align}")
    # What the version-independent code needs: where the slots are, and the stored bytes of
    # the header checksum that each slot's checksum covers.
    fields["slot_offsets"] = V1_SLOT_OFFSETS
    fields["header_sum_bytes"] = page[at_sum : at_sum + 8]
    return fields


# Format version -> decoder of its fields. A version 3 adds its decoder here.
_DECODERS = {1: _decode_v1, 2: _decode_v2}


def _decode_fixed(page: bytes, file_size: int) -> tuple[dict, str, int]:
    """The fields of a header page, checked in the crate's order; returns them, the byte
    order they were read in, and the format version."""
    if file_size >= len(FORMAT_MAGIC) and page[: len(FORMAT_MAGIC)] != FORMAT_MAGIC:
        raise PersistenceError("BadMagic", "not a persistence file (no PERSISTV magic)")
    if file_size < HEADER_SIZE:
        raise PersistenceError(
            "Corrupt", f"the file is corrupt: shorter than its header, bytes: {file_size}"
        )
    marker = _unpack(page, _NATIVE, AT_ENDIAN_MARKER, "I")
    if marker == ENDIAN_MARKER:
        order = _NATIVE
    elif marker == struct.unpack(_FOREIGN + "I", struct.pack(_NATIVE + "I", ENDIAN_MARKER))[0]:
        order = _FOREIGN
    else:
        raise PersistenceError("Corrupt", f"the file is corrupt: endianness marker {marker:#x}")
    version = _unpack(page, order, AT_FORMAT_VERSION, "I")
    decoder = _DECODERS.get(version)
    if decoder is None:
        raise PersistenceError(
            "UnsupportedFormatVersion",
            f"format version {version}: this reader knows {sorted(_DECODERS)}; "
            "a newer persistence_numpy.py may read it",
        )
    return decoder(page, order), order, version


def _read_slot(fd: int, at: int, order: str, header_sum_bytes: bytes) -> tuple[bytes, SlotInfo]:
    raw = os.pread(fd, SLOT_SIZE, at)
    if len(raw) != SLOT_SIZE:
        raise PersistenceError("Corrupt", "the file is corrupt: short header")
    seq, length, checksum = struct.unpack(order + "QQQ", raw)
    valid = fnv1a64(header_sum_bytes, fnv1a64(raw[:16])) == checksum and 1 <= seq <= MAX_SEQUENCE
    return raw, SlotInfo(seq, length, valid, raw == bytes(SLOT_SIZE))


def _snapshot(fd: int, offsets, order: str, header_sum_bytes: bytes):
    """The slots as the crate's snapshot reads them: A, B, then A again, until A read the
    same twice and a slot is valid (so neither was being written unnoticed); then the valid
    one with the higher sequence wins. Returns (slots, winner)."""
    for _ in range(64):
        raw_a, a = _read_slot(fd, offsets[0], order, header_sum_bytes)
        _, b = _read_slot(fd, offsets[1], order, header_sum_bytes)
        raw_a2, _ = _read_slot(fd, offsets[0], order, header_sum_bytes)
        if raw_a != raw_a2:
            continue
        if a.valid and b.valid:
            return (a, b), (1 if b.sequence > a.sequence else 0)
        if a.valid or b.valid:
            return (a, b), (0 if a.valid else 1)
    raise PersistenceError("Corrupt", "the file is corrupt: no valid commit slot")


def _read_info(fd: int, path: str) -> FileInfo:
    """Reads and validates the header of the open file ``fd`` (format fields, both slots, a
    committed length that fits the file), in either byte order."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise PersistenceError("NotARegularFile", f"{path}: not a regular file")
    if st.st_size == 0:  # created, nothing written yet: no commit, length 0
        blank = SlotInfo(sequence=0, length=0, valid=False, blank=True)
        return FileInfo(
            path=path, format_version=0, native_byte_order=True, app_magic=bytes(8),
            app_version=0, usize_width=struct.calcsize("P"), elem_size=0, elem_align=0,
            data_offset=HEADER_SIZE, file_size=0, elem_fingerprint=0, slots=(blank, blank),
            winner=None,
        )
    page = os.pread(fd, HEADER_SIZE, 0)
    fields, order, version = _decode_fixed(page, st.st_size)
    # A cut between the slots and the size (only outside the lock protocol) is read again.
    for _ in range(3):
        slots, winner = _snapshot(fd, fields["slot_offsets"], order, fields["header_sum_bytes"])
        file_size = os.fstat(fd).st_size  # after the slots: a size only grows before a commit
        needed = HEADER_SIZE + slots[winner].length * fields["elem_size"]
        if needed <= file_size:
            break
    else:
        raise PersistenceError(
            "Corrupt",
            f"the file is corrupt: committed length {slots[winner].length} needs {needed} bytes, "
            f"the file has {file_size}",
        )
    return FileInfo(
        path=path,
        format_version=version,
        native_byte_order=order == _NATIVE,
        app_magic=fields["app_magic"],
        app_version=fields["app_version"],
        usize_width=fields["usize_width"],
        elem_size=fields["elem_size"],
        elem_align=fields["elem_align"],
        data_offset=fields["data_offset"],
        file_size=file_size,
        elem_fingerprint=fields["elem_fingerprint"],
        slots=slots,
        winner=winner,
    )


def read_header(path) -> FileInfo:
    """The header's facts of the file at ``path``, in its own byte order (a foreign file is
    read, not refused: see ``native_byte_order``). Takes no lock: beside a writer it is a
    snapshot, as the crate's ``inspect`` is. Raises ``PersistenceError`` for a file the crate
    would refuse whatever the type (``BadMagic``, ``UnsupportedFormatVersion``, ``Corrupt``)."""
    path = os.fspath(path)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return _read_info(fd, path)
    finally:
        os.close(fd)


def _magic_bytes(magic) -> bytes:
    if isinstance(magic, str):
        magic = magic.encode("ascii")
    magic = bytes(magic)
    if len(magic) > 8:
        raise ValueError(f"magic is at most 8 bytes, {magic!r} has {len(magic)}")
    return magic.ljust(8, b"\0")


def _check_expected(info: FileInfo, dtype: np.dtype, magic, version) -> None:
    """What the caller expects, in the crate's order (its step 4)."""
    if magic is not None and _magic_bytes(magic) != info.app_magic:
        raise PersistenceError(
            "MagicMismatch",
            f"application magic {info.app_magic!r}, expected {_magic_bytes(magic)!r}",
        )
    if version is not None and version != info.app_version:
        raise PersistenceError(
            "VersionMismatch", f"application version {info.app_version}, expected {version}"
        )
    usize = struct.calcsize("P")
    if info.usize_width != usize:
        raise PersistenceError(
            "LayoutMismatch", f"usize width {info.usize_width}, this machine's is {usize}"
        )
    if dtype.itemsize != info.elem_size:
        raise PersistenceError(
            "LayoutMismatch", f"element size {info.elem_size}, the dtype's is {dtype.itemsize}"
        )
    # numpy gives packed structured dtypes alignment 1; a dtype that needs more than the
    # file's elements have (f8 for a file of [u8; 8]) is another type.
    if dtype.alignment > info.elem_align:
        raise PersistenceError(
            "LayoutMismatch",
            f"element alignment {info.elem_align}, the dtype needs {dtype.alignment}",
        )
    # The element type fingerprint, when the file records one and the dtype says enough to
    # compute one (a primitive, a subarray, a structured dtype whose field names are the
    # struct's): an f4 file read as u4, or fields swapped, is another type.
    expected = dtype_fingerprint(dtype)
    if info.elem_fingerprint and expected is not None and expected != info.elem_fingerprint:
        raise PersistenceError(
            "TypeMismatch",
            f"element type fingerprint {info.elem_fingerprint:#018x}, the dtype's is "
            f"{expected:#018x}",
        )


# numpy's (kind, itemsize) -> the Rust primitive whose fingerprint it has.
_PRIMITIVES = {
    ("u", 1): "u8", ("u", 2): "u16", ("u", 4): "u32", ("u", 8): "u64", ("u", 16): "u128",
    ("i", 1): "i8", ("i", 2): "i16", ("i", 4): "i32", ("i", 8): "i64", ("i", 16): "i128",
    ("f", 4): "f32", ("f", 8): "f64",
}


def _fingerprint(tag: bytes, *parts: bytes) -> int:
    """FNV-1a 64 over ``tag`` then ``parts``, 0 taken as 1 (docs/design.md, "Element type
    fingerprint")."""
    h = fnv1a64(tag)
    for p in parts:
        h = fnv1a64(p, h)
    return h or 1


def dtype_fingerprint(dtype) -> int | None:
    """The fingerprint of the Rust type that ``dtype`` stands for, as the crate computes it
    for its ``Pod`` types: a primitive (``u4`` is ``u32``, ``f8`` is ``f64``), a subarray (an
    array of its element, nested for several dimensions), or a structured dtype (a ``pod!``
    struct: its fields' names and fingerprints, in order). ``None`` when the dtype does not
    say (a byte string, a field without a fingerprint); such a file opens by size and
    alignment only, as it does in the crate."""
    dtype = np.dtype(dtype)
    if dtype.subdtype is not None:
        element, shape = dtype.subdtype
        fp = dtype_fingerprint(element)
        for n in reversed(shape):
            if fp is None:
                return None
            fp = _fingerprint(b"array:", struct.pack("<Q", fp), struct.pack("<Q", n))
        return fp
    if dtype.names is not None:
        fields = sorted(dtype.fields.items(), key=lambda kv: kv[1][1])
        parts = [struct.pack("<Q", len(fields))]
        for name, (field, _offset, *_) in fields:
            fp = dtype_fingerprint(field)
            if fp is None:
                return None
            raw = name.encode("utf-8")
            parts += [struct.pack("<Q", len(raw)), raw, struct.pack("<Q", fp)]
        return _fingerprint(b"struct:", *parts)
    name = _PRIMITIVES.get((dtype.kind, dtype.itemsize))
    return None if name is None else _fingerprint(b"primitive:", name.encode())


def _lock_live(path: str, data: os.stat_result) -> int:
    """A live reader's lock: opens (creating it when missing) the empty ``<file>-live`` beside
    the data file, takes a shared ``flock`` on it (waiting: only a writer making the file
    shorter holds it exclusively, for one ``ftruncate``), and checks that the name still
    leads to the file locked. Returns its descriptor."""
    real = os.path.realpath(path)
    named = os.stat(real)
    if (named.st_dev, named.st_ino) != (data.st_dev, data.st_ino):
        raise PersistenceError("Io", f"{path} was replaced while it was being opened")
    lock_path = real + "-live"
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY
    for _ in range(_LOCK_RETRIES):
        try:
            fd = os.open(lock_path, flags)
        except FileNotFoundError:
            try:
                fd = os.open(lock_path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                continue  # created by someone else meanwhile: open theirs
            except PermissionError as e:
                raise PersistenceError(
                    "PermissionDenied",
                    f"cannot create the live readers' lock file {lock_path}: open the file once "
                    f"for writing with the crate (which creates it), or create it empty ({e})",
                ) from e
            # As the crate: the data file's permission bits and, where allowed, its owner.
            os.fchmod(fd, data.st_mode & 0o666)
            try:
                os.fchown(fd, data.st_uid, data.st_gid)
            except PermissionError:
                pass
        except OSError as e:
            if e.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
                raise PersistenceError("NotARegularFile", f"{lock_path} is a symbolic link") from e
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            os.close(fd)
            raise PersistenceError("NotARegularFile", f"{lock_path} is not a regular file")
        if st.st_size != 0:
            os.close(fd)
            raise PersistenceError(
                "Corrupt", f"{lock_path} is not empty, so not a live readers' lock file"
            )
        fcntl.flock(fd, fcntl.LOCK_SH)
        try:
            now = os.stat(lock_path, follow_symlinks=False)
            if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino):
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # replaced or deleted between open and lock: again
    raise PersistenceError("Io", f"{lock_path} kept being replaced while it was locked")


def open_array(path, dtype, *, magic=None, version=None, live: bool = False) -> np.memmap:
    """Maps the committed elements of the vector file at ``path`` as a read-only
    ``numpy.memmap`` of ``dtype`` (shape ``(length,)``), validated as the crate validates
    ``open``. ``magic`` (up to 8 bytes or ASCII characters, padded with NULs) and ``version``
    must match the file when given. ``live=True`` reads beside a writer (see the module's
    docs). The array's ``info`` attribute is the ``FileInfo`` it was opened with (which slot
    won, ``newest_damaged``). Raises ``PersistenceError`` (``kind`` as the crate's
    ``ErrorKind``: ``Locked``, ``BadMagic``, ``WrongEndianness``,
    ``UnsupportedFormatVersion``, ``Corrupt``, ``MagicMismatch``, ``VersionMismatch``,
    ``LayoutMismatch``, ...) or ``OSError``."""
    dtype = np.dtype(dtype)
    if dtype.hasobject or not dtype.isnative:
        raise ValueError(f"dtype {dtype} must be plain data in this machine's byte order")
    path = os.fspath(path)
    # Opened by us and handed to numpy, so the file mapped is the file validated; O_NONBLOCK
    # so that a FIFO is refused, not waited on (as the crate opens).
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    data = os.fstat(fd)
    if not stat.S_ISREG(data.st_mode):
        os.close(fd)
        raise PersistenceError("NotARegularFile", f"{path}: not a regular file")
    f = os.fdopen(fd, "rb")  # closed below; the mapping keeps a duplicate
    lock_fd = None
    try:
        if live:
            lock_fd = _lock_live(path, data)
        else:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError as e:
                raise PersistenceError(
                    "Locked",
                    f"{path}: a writer holds the file; open_array(..., live=True) reads "
                    "beside it",
                ) from e
        info = _read_info(f.fileno(), path)
        if info.winner is not None:
            if not info.native_byte_order:
                raise PersistenceError(
                    "WrongEndianness",
                    f"{path} was written on a machine of the other byte order: "
                    "`persistence convert` converts it",
                )
            _check_expected(info, dtype, magic, version)
        if info.length == 0:
            array = np.empty(0, dtype).view(np.memmap)
        else:
            array = np.memmap(f, dtype=dtype, mode="r", offset=HEADER_SIZE, shape=(info.length,))
            if lock_fd is not None:
                # The lock on <file>-live goes when the mapping does (after the unmap).
                weakref.finalize(array._mmap, os.close, lock_fd)
                lock_fd = None
        array.flags.writeable = False
        array.info = info
        return array
    finally:
        # The mapping holds a duplicate of f's descriptor, so a shared lock taken on f stays
        # until the mapping is gone.
        f.close()
        if lock_fd is not None:
            os.close(lock_fd)


# --- Commit groups (docs/design.md, "Commit groups"; src/format/group.rs): kind 1 of format
# version 2. ---

# The fixed fields: as a version-2 vector's up to the block size, then per column 24 bytes
# (size, alignment, fingerprint) from 56, then the header checksum over everything before it.
GROUP_FIELDS = {
    "app_magic": (8, "8s"),
    "app_version": (24, "I"),
    "usize_width": (28, "I"),
    "kind": (32, "I"),
    "columns": (36, "I"),
    "data_offset": (40, "Q"),
    "block_size": (48, "Q"),
}
GROUP_AT_COLUMN0 = 56
GROUP_COLUMN_LEN = 24
GROUP_MAX_COLUMNS = 12
# Block 0's size, the data offset, and every block's alignment: 2 MiB.
GROUP_BLOCK0 = 2 << 20
# Slots A and B: 15 u64 words each (sequence, 12 lengths, block table checksum, checksum).
GROUP_SLOT_OFFSETS = (512, 1024)
GROUP_SLOT_WORDS = GROUP_MAX_COLUMNS + 3
GROUP_SLOT_SIZE = 8 * GROUP_SLOT_WORDS
# The block table: the file offset of block j of column k at 1536 + 8 * (26k + j).
GROUP_TABLE_AT = 1536
GROUP_MAX_BLOCKS = 26


def _group_sum_at(columns: int) -> int:
    """Where the header checksum lies in a group of ``columns`` columns."""
    return GROUP_AT_COLUMN0 + GROUP_COLUMN_LEN * columns


def _block_size(j: int) -> int:
    """The size of block ``j``: 2 MiB << j."""
    return GROUP_BLOCK0 << j


def _block_start(j: int) -> int:
    """The first column byte block ``j`` holds: 2 MiB * (2^j - 1)."""
    return GROUP_BLOCK0 * ((1 << j) - 1)


def _blocks_for(nbytes: int) -> int | None:
    """How many blocks hold a column's first ``nbytes`` bytes; None past the table."""
    for m in range(GROUP_MAX_BLOCKS + 1):
        if _block_start(m) >= nbytes:
            return m
    return None


@dataclasses.dataclass(frozen=True)
class GroupSlotInfo:
    """One commit slot of a group. When not ``valid`` its numbers are as found, untrusted."""

    sequence: int
    lengths: tuple  # one per column of the group
    table_sum: int
    valid: bool
    blank: bool

    @property
    def damaged(self) -> bool:
        """Neither valid nor never written: a torn or damaged slot."""
        return not self.valid and not self.blank


@dataclasses.dataclass(frozen=True)
class GroupColumnInfo:
    """One column of a group at the commit the file opens to."""

    elem_size: int
    elem_align: int
    # The element type fingerprint; 0: a type that names none.
    elem_fingerprint: int
    length: int  # committed, in elements
    blocks: tuple  # file offsets of the blocks the committed length needs, block 0 first

    @property
    def capacity(self) -> int:
        """Elements the committed blocks hold (as the crate's ``inspect`` says)."""
        return _block_start(len(self.blocks)) // self.elem_size


@dataclasses.dataclass(frozen=True)
class GroupInfo:
    """What a group's header records, and which commit it opens to."""

    path: str
    format_version: int
    native_byte_order: bool
    app_magic: bytes
    app_version: int
    usize_width: int
    file_size: int
    columns: tuple  # GroupColumnInfo, one per column
    slots: tuple  # (GroupSlotInfo A, GroupSlotInfo B)
    winner: int  # 0 = A, 1 = B

    @property
    def generation(self) -> int:
        """The commit's generation: its sequence less one (0 for a new group)."""
        return self.slots[self.winner].sequence - 1

    @property
    def lengths(self) -> tuple:
        """Every column's committed length."""
        return tuple(c.length for c in self.columns)

    @property
    def newest_damaged(self) -> bool:
        """Whether a damaged slot's (untrusted) sequence is above the winner's: the newest
        commit was damaged, and the file opens to the older one."""
        current = self.slots[self.winner].sequence
        return any(s.damaged and s.sequence > current for s in self.slots)


class GroupArrays(tuple):
    """The columns of a group, one read-only array each, in order; ``info`` is the
    ``GroupInfo`` they were read with."""

    info: GroupInfo


def _decode_group_fixed(page: bytes, file_size: int) -> tuple[dict, str]:
    """A group's fixed fields, checked in the crate's order (``GroupHeader::decode``): format
    magic, size, endianness marker, format version (1 holds a vector: ``WrongFileKind``),
    kind (0: a vector, ``WrongFileKind``), column count 1..=12, header checksum, data offset
    and block size 2 MiB, each column's element size and alignment. Returns the fields (with
    ``column_types``: (size, align, fingerprint) per column) and the byte order."""
    if file_size >= len(FORMAT_MAGIC) and page[: len(FORMAT_MAGIC)] != FORMAT_MAGIC:
        raise PersistenceError("BadMagic", "not a persistence file (no PERSISTV magic)")
    if file_size < HEADER_SIZE or len(page) < HEADER_SIZE:
        raise PersistenceError(
            "Corrupt", f"the file is corrupt: shorter than its header, bytes: {file_size}"
        )
    marker = _unpack(page, _NATIVE, AT_ENDIAN_MARKER, "I")
    if marker == ENDIAN_MARKER:
        order = _NATIVE
    elif marker == struct.unpack(_FOREIGN + "I", struct.pack(_NATIVE + "I", ENDIAN_MARKER))[0]:
        order = _FOREIGN
    else:
        raise PersistenceError("Corrupt", f"the file is corrupt: endianness marker {marker:#x}")
    version = _unpack(page, order, AT_FORMAT_VERSION, "I")
    if version == 1:
        raise PersistenceError(
            "WrongFileKind", "the file holds one vector (read it with open_array), not a group"
        )
    if version != 2:
        raise PersistenceError(
            "UnsupportedFormatVersion",
            f"format version {version}: this reader knows commit groups of version 2; "
            "a newer persistence_numpy.py may read it",
        )
    fields = {name: _unpack(page, order, at, code) for name, (at, code) in GROUP_FIELDS.items()}
    if fields["kind"] == KIND_VECTOR:
        raise PersistenceError(
            "WrongFileKind", "the file holds one vector (read it with open_array), not a group"
        )
    if fields["kind"] != KIND_GROUP:
        raise PersistenceError("Corrupt", f"the file is corrupt: file kind {fields['kind']}")
    n = fields["columns"]
    if not 1 <= n <= GROUP_MAX_COLUMNS:
        raise PersistenceError(
            "Corrupt", f"the file is corrupt: column count of a group (1 to 12): {n}"
        )
    at_sum = _group_sum_at(n)
    fields["header_checksum"] = _unpack(page, order, at_sum, "Q")
    if fnv1a64(page[:at_sum]) != fields["header_checksum"]:
        raise PersistenceError("Corrupt", "the file is corrupt: header checksum mismatch")
    for name in ("data_offset", "block_size"):
        if fields[name] != GROUP_BLOCK0:
            raise PersistenceError(
                "Corrupt", f"the file is corrupt: {name.replace('_', ' ')} {fields[name]}, "
                f"expected {GROUP_BLOCK0}"
            )
    types = []
    for k in range(n):
        size, align, fingerprint = struct.unpack_from(
            order + "QQQ", page, GROUP_AT_COLUMN0 + GROUP_COLUMN_LEN * k
        )
        if size == 0:
            raise PersistenceError("Corrupt", "the file is corrupt: element size 0", k)
        if align == 0 or align & (align - 1) or align > HEADER_SIZE:
            raise PersistenceError(
                "Corrupt", f"the file is corrupt: element alignment {align}", k
            )
        types.append((size, align, fingerprint))
    fields["column_types"] = tuple(types)
    fields["header_sum_bytes"] = page[at_sum : at_sum + 8]
    return fields, order


def _group_slot(raw: bytes, order: str, header_sum_bytes: bytes) -> GroupSlotInfo:
    """A group slot's 120 bytes: valid when the checksum (FNV-1a over the first 14 words as
    stored, then the header checksum's bytes) matches and the sequence is 1..=2^62."""
    words = struct.unpack(order + f"{GROUP_SLOT_WORDS}Q", raw)
    seq, lens = words[0], words[1 : 1 + GROUP_MAX_COLUMNS]
    table_sum, checksum = words[GROUP_MAX_COLUMNS + 1], words[GROUP_MAX_COLUMNS + 2]
    valid = (
        fnv1a64(header_sum_bytes, fnv1a64(raw[: 8 * (GROUP_SLOT_WORDS - 1)])) == checksum
        and 1 <= seq <= MAX_SEQUENCE
    )
    return GroupSlotInfo(seq, tuple(lens), table_sum, valid, raw == bytes(GROUP_SLOT_SIZE))


def _check_group_commit(page: bytes, order: str, types: tuple, slot: GroupSlotInfo,
                        file_size: int) -> tuple:
    """The crate's ``check_commit``: each length fits the table (its bytes do not overflow
    and need at most 26 blocks; a column the group does not have has length 0), the table
    checksum over exactly the entries the lengths need matches the slot's, and every block
    needed lies at a multiple of 2 MiB, at or past 2 MiB, wholly within the file, and
    overlaps no other. Returns each column's block offsets."""
    n = len(types)
    needed = []
    for k, length in enumerate(slot.lengths):
        if k >= n:
            if length != 0:
                raise PersistenceError(
                    "Corrupt", f"the file is corrupt: a length for a column the group does "
                    f"not have: {length}", k,
                )
            continue
        m = _blocks_for(length * types[k][0])
        if m is None:
            raise PersistenceError(
                "Corrupt", f"the file is corrupt: column length too large: {length}", k
            )
        needed.append(m)
    h = _FNV_OFFSET
    blocks = []
    for k, m in enumerate(needed):
        at = GROUP_TABLE_AT + 8 * GROUP_MAX_BLOCKS * k
        h = fnv1a64(page[at : at + 8 * m], h)
        blocks.append(struct.unpack_from(order + f"{m}Q", page, at))
    if h != slot.table_sum:
        raise PersistenceError(
            "Corrupt", f"the file is corrupt: block table checksum mismatch (stored "
            f"{slot.table_sum:#018x}, computed {h:#018x})",
        )
    spans = []  # (column, start, end) in the crate's order: column by column, block by block
    for k, offsets in enumerate(blocks):
        for j, off in enumerate(offsets):
            end = off + _block_size(j)
            if off % GROUP_BLOCK0 or off < GROUP_BLOCK0 or end > file_size:
                raise PersistenceError(
                    "Corrupt", f"the file is corrupt: block {j} outside the file or "
                    f"misaligned, at offset {off}", k,
                )
            spans.append((k, off, end))
    # Pairwise, as the crate: the column named is the later one of the first pair found.
    for i, (_, off, end) in enumerate(spans):
        for k2, off2, end2 in spans[i + 1 :]:
            if off2 < end and off < end2:
                raise PersistenceError(
                    "Corrupt", f"the file is corrupt: two blocks overlap, at offset {off2}", k2
                )
    return tuple(blocks)


def _read_group_info(fd: int, path: str) -> GroupInfo:
    """Reads and validates a group's header (fixed fields, both slots, the winner's blocks)
    of the open file ``fd``, in either byte order."""
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        raise PersistenceError("NotARegularFile", f"{path}: not a regular file")
    # Under the shared lock nothing changes; beside a writer (read_group_header) a commit may
    # land mid-read: slot A is read again after the page, and a failed check is retried.
    for attempt in range(3):
        page = os.pread(fd, HEADER_SIZE, 0)
        fields, order = _decode_group_fixed(page, st.st_size)
        raw = [page[at : at + GROUP_SLOT_SIZE] for at in GROUP_SLOT_OFFSETS]
        if os.pread(fd, GROUP_SLOT_SIZE, GROUP_SLOT_OFFSETS[0]) != raw[0] and attempt < 2:
            continue
        slots = tuple(_group_slot(r, order, fields["header_sum_bytes"]) for r in raw)
        a, b = slots
        if a.valid and b.valid:
            winner = 1 if b.sequence > a.sequence else 0
        elif a.valid or b.valid:
            winner = 0 if a.valid else 1
        else:
            raise PersistenceError(
                "Corrupt", "the file is corrupt: no valid commit slot (no commit yet, or both "
                "slots damaged)",
            )
        file_size = os.fstat(fd).st_size
        try:
            blocks = _check_group_commit(
                page, order, fields["column_types"], slots[winner], file_size
            )
            break
        except PersistenceError:
            if attempt == 2:
                raise
    types = fields["column_types"]
    columns = tuple(
        GroupColumnInfo(size, align, fp, slots[winner].lengths[k], blocks[k])
        for k, (size, align, fp) in enumerate(types)
    )
    return GroupInfo(
        path=path,
        format_version=2,
        native_byte_order=order == _NATIVE,
        app_magic=fields["app_magic"],
        app_version=fields["app_version"],
        usize_width=fields["usize_width"],
        file_size=file_size,
        columns=columns,
        slots=tuple(
            dataclasses.replace(s, lengths=s.lengths[: len(types)]) for s in slots
        ),
        winner=winner,
    )


def read_group_header(path) -> GroupInfo:
    """The header's facts of the commit group's file at ``path`` (``GroupInfo``: every
    column's type, committed length and blocks, both slots, the generation), in its own byte
    order. Takes no lock: beside a writer it is a snapshot, as the crate's ``inspect`` is.
    Raises ``PersistenceError`` for a file the crate would refuse whatever the types
    (``BadMagic``, ``WrongFileKind``, ``UnsupportedFormatVersion``, ``Corrupt``)."""
    path = os.fspath(path)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return _read_group_info(fd, path)
    finally:
        os.close(fd)


def _check_group_expected(info: GroupInfo, dtypes: list, magic, version) -> None:
    """What the caller expects, in the crate's order: magic, version, usize width, column
    count, then each column as ``open_array`` checks a vector's element."""
    if magic is not None and _magic_bytes(magic) != info.app_magic:
        raise PersistenceError(
            "MagicMismatch",
            f"application magic {info.app_magic!r}, expected {_magic_bytes(magic)!r}",
        )
    if version is not None and version != info.app_version:
        raise PersistenceError(
            "VersionMismatch", f"application version {info.app_version}, expected {version}"
        )
    usize = struct.calcsize("P")
    if info.usize_width != usize:
        raise PersistenceError(
            "LayoutMismatch", f"usize width {info.usize_width}, this machine's is {usize}"
        )
    if len(dtypes) != len(info.columns):
        raise PersistenceError(
            "LayoutMismatch",
            f"column count {len(info.columns)}, {len(dtypes)} dtypes given",
        )
    for k, (dtype, c) in enumerate(zip(dtypes, info.columns)):
        if dtype.itemsize != c.elem_size:
            raise PersistenceError(
                "LayoutMismatch", f"element size {c.elem_size}, the dtype's is {dtype.itemsize}",
                k,
            )
        if dtype.alignment > c.elem_align:
            raise PersistenceError(
                "LayoutMismatch",
                f"element alignment {c.elem_align}, the dtype needs {dtype.alignment}", k,
            )
        expected = dtype_fingerprint(dtype)
        if c.elem_fingerprint and expected is not None and expected != c.elem_fingerprint:
            raise PersistenceError(
                "TypeMismatch",
                f"element type fingerprint {c.elem_fingerprint:#018x}, the dtype's is "
                f"{expected:#018x}", k,
            )


def _read_column(fd: int, c: GroupColumnInfo, dtype: np.dtype) -> np.ndarray:
    """A copy of a column's committed bytes, gathered from its blocks: block ``j`` holds
    column bytes ``_block_start(j)`` up to ``_block_start(j + 1)``, at ``c.blocks[j]``."""
    out = np.empty(c.length, dtype)
    buf = memoryview(out.view(np.uint8).reshape(-1))
    total = c.length * c.elem_size
    for j, off in enumerate(c.blocks):
        start, end = _block_start(j), min(_block_start(j + 1), total)
        done = start
        while done < end:
            n = os.preadv(fd, [buf[done:end]], off + (done - start))
            if n <= 0:
                raise PersistenceError("Io", f"short read of block {j} at offset {off}")
            done += n
    return out


def open_group(path, dtypes, *, magic=None, version=None) -> GroupArrays:
    """Reads the committed columns of the commit group's file at ``path``, one dtype per
    column (``dtypes``, in order), validated as the crate validates ``open_group_read_only``:
    the header (format magic, byte order, version 2, kind 1, column count, header checksum,
    data offset and block size 2 MiB, each column's element size and alignment), the winning
    slot (checksum and sequence range), the block table checksum over the entries the
    committed lengths need, every needed block aligned, within the file and overlapping no
    other; then ``magic`` and ``version`` when given, the column count, and each column's
    size, alignment and fingerprint against its dtype, as ``open_array`` checks a vector's.

    Returns a ``GroupArrays`` tuple of read-only arrays, each exactly its column's committed
    length, all of the same commit; its ``info`` attribute is the ``GroupInfo``. A column held
    by its first block (up to 2 MiB of data) is a ``numpy.memmap`` of it, which keeps a
    shared ``flock`` on the file while it exists (no writer of the crate opens the file
    meanwhile); a longer column's bytes lie in several blocks, so it is a **copy** (a plain
    ``ndarray`` gathered from them: memory of the column's size, read at open, no lock kept).

    Takes a shared ``flock`` without waiting: a writer holding the group raises
    ``PersistenceError("Locked")`` (the crate's ``open_group_live`` reads beside a writer;
    this module does not). Raises ``PersistenceError`` (``kind`` as the crate's
    ``ErrorKind``, ``column`` naming the column where one is at fault: ``Locked``,
    ``BadMagic``, ``WrongEndianness``, ``WrongFileKind``, ``UnsupportedFormatVersion``,
    ``Corrupt``, ``MagicMismatch``, ``VersionMismatch``, ``LayoutMismatch``,
    ``TypeMismatch``) or ``OSError``."""
    dtypes = [np.dtype(d) for d in dtypes]
    for d in dtypes:
        if d.hasobject or not d.isnative:
            raise ValueError(f"dtype {d} must be plain data in this machine's byte order")
    path = os.fspath(path)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    data = os.fstat(fd)
    if not stat.S_ISREG(data.st_mode):
        os.close(fd)
        raise PersistenceError("NotARegularFile", f"{path}: not a regular file")
    f = os.fdopen(fd, "rb")  # closed below; each memmap keeps a duplicate
    try:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise PersistenceError(
                "Locked", f"{path}: a writer holds the group; open_group reads it once the "
                "writer has closed it",
            ) from e
        info = _read_group_info(f.fileno(), path)
        if not info.native_byte_order:
            raise PersistenceError(
                "WrongEndianness",
                f"{path} was written on a machine of the other byte order",
            )
        _check_group_expected(info, dtypes, magic, version)
        arrays = []
        for dtype, c in zip(dtypes, info.columns):
            if c.length == 0:
                a = np.empty(0, dtype).view(np.memmap)
            elif len(c.blocks) == 1:
                a = np.memmap(f, dtype=dtype, mode="r", offset=c.blocks[0], shape=(c.length,))
            else:
                a = _read_column(f.fileno(), c, dtype)
            a.flags.writeable = False
            arrays.append(a)
        result = GroupArrays(arrays)
        result.info = info
        return result
    finally:
        f.close()
