"""Tests of persistence_numpy against files written by the Rust side.

    python3 python/test_persistence_numpy.py        # builds the fixtures with cargo if needed

The fixtures come from ``examples/numpy_fixture.rs`` (ci/numpy.sh writes them and sets
PERSISTENCE_NUMPY_FIXTURES and PERSISTENCE_NUMPY_FIXTURE_BIN); the bad files are made here
from them, or from scratch with this file's own encoder of the format (docs/design.md, "On-disk
format"), written apart from the module's decoder.
"""

import fcntl
import gc
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from persistence_numpy import (  # noqa: E402
    PersistenceError,
    dtype_fingerprint,
    open_array,
    open_group,
    read_group_header,
    read_header,
)

NATIVE = "<" if sys.byteorder == "little" else ">"
FOREIGN = ">" if NATIVE == "<" else "<"
USIZE = struct.calcsize("P")

# The fixture's values (examples/numpy_fixture.rs).
F64_LEN = 5_000_000
F64_MEAN = 2499999.5
POINTS = 1000
POINT_DTYPE = np.dtype(
    {"names": ["id", "x", "y", "flags"], "formats": ["u8", "f8", "f4", "u4"],
     "offsets": [0, 8, 16, 20], "itemsize": 24}
)


def fnv(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) % 2**64
    return h


def encode(order=NATIVE, version=1, magic=b"TEST\0\0\0\0", app_version=0, usize=USIZE,
           size=8, align=8, data_offset=4096, slots=((1, 0), None), data=b""):
    """A whole file as the format says: fields in ``order``, the header checksum, slots as
    (sequence, length) or None (left zero), then ``data``."""
    page = bytearray(4096)
    page[0:8] = b"PERSISTV"
    page[8:16] = magic
    struct.pack_into(order + "IIII", page, 16, 0x01020304, version, app_version, usize)
    struct.pack_into(order + "QQQ", page, 32, size, align, data_offset)
    struct.pack_into(order + "Q", page, 56, fnv(page[:56]))
    for at, slot in zip((512, 1024), slots):
        if slot is not None:
            sl = struct.pack(order + "QQ", *slot)
            page[at:at + 16] = sl
            struct.pack_into(order + "Q", page, at + 16, fnv(page[56:64], fnv(sl)))
    return bytes(page) + data


# Commit groups (docs/design.md, "Commit groups"), encoded here apart from the module.
G_BLOCK0 = 2 << 20
G_TABLE = 1536
G_SLOTS = (512, 1024)
FNV_BASIS = 0xCBF29CE484222325
# The fixtures' groups (examples/numpy_fixture.rs).
GROUP_LENS = (1_000_000, 1000, 100_000)
SMALL_LENS, SMALL_OLDER_LENS = (100, 50, 0), (30, 20, 0)
SMALL_DTYPES = [np.uint32, np.uint16, np.uint64]


def g_sum_at(n):
    return 56 + 24 * n


def g_block_start(j):
    return G_BLOCK0 * ((1 << j) - 1)


def g_blocks_for(nbytes):
    m = 0
    while g_block_start(m) < nbytes:
        m += 1
    return m


def g_columns(page, order=NATIVE):
    return struct.unpack_from(order + "I", page, 36)[0]


def g_reseal(page, order=NATIVE):
    """Recomputes the header checksum of a group's page (for its recorded column count)."""
    at = g_sum_at(g_columns(page, order))
    struct.pack_into(order + "Q", page, at, fnv(page[:at]))


def g_entry_at(k, j):
    return G_TABLE + 8 * (26 * k + j)


def g_table_sum(page, lens, sizes):
    """FNV-1a of the table entries, as stored, that the lengths need, column by column."""
    h = FNV_BASIS
    for k, (n, size) in enumerate(zip(lens, sizes)):
        h = fnv(page[g_entry_at(k, 0) : g_entry_at(k, g_blocks_for(n * size))], h)
    return h


def g_write_slot(page, which, seq, lens, table_sum, order=NATIVE):
    """A slot's 15 words: sequence, 12 lengths, table checksum, then FNV-1a over those bytes
    followed by the header checksum's bytes."""
    at_sum = g_sum_at(g_columns(page, order))
    lens = list(lens) + [0] * (12 - len(lens))
    raw = struct.pack(order + "14Q", seq, *lens, table_sum)
    sealed = fnv(page[at_sum : at_sum + 8], fnv(raw))
    page[G_SLOTS[which] : G_SLOTS[which] + 120] = raw + struct.pack(order + "Q", sealed)


def g_slot(page, which, order=NATIVE):
    """(sequence, lengths) stored in a slot."""
    words = struct.unpack_from(order + "15Q", page, G_SLOTS[which])
    return words[0], words[1:13]


def encode_group(order, types, lens, data, magic=b"ENCODED\0", app_version=0):
    """A whole group's file in ``order``: ``types`` (size, align, fingerprint) per column,
    created (slot A: sequence 1, no lengths) and committed once (slot B: sequence 2, ``lens``),
    each column's ``data`` (bytes in ``order``, at most 2 MiB) in block 0, column k's at
    2 MiB * (k + 1)."""
    n = len(types)
    page = bytearray(4096)
    page[0:8] = b"PERSISTV"
    page[8:16] = magic
    struct.pack_into(order + "IIIIII", page, 16, 0x01020304, 2, app_version, USIZE, 1, n)
    struct.pack_into(order + "QQ", page, 40, G_BLOCK0, G_BLOCK0)
    for k, t in enumerate(types):
        struct.pack_into(order + "QQQ", page, 56 + 24 * k, *t)
        struct.pack_into(order + "Q", page, g_entry_at(k, 0), G_BLOCK0 * (k + 1))
    g_reseal(page, order)
    g_write_slot(page, 0, 1, [0] * n, FNV_BASIS, order)
    sizes = [t[0] for t in types]
    g_write_slot(page, 1, 2, lens, g_table_sum(page, lens, sizes), order)
    out = bytearray(G_BLOCK0 * (n + 1))
    out[:4096] = page
    for k, d in enumerate(data):
        out[G_BLOCK0 * (k + 1) : G_BLOCK0 * (k + 1) + len(d)] = d
    return bytes(out)


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def fixture_bin():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    return os.environ.get("PERSISTENCE_NUMPY_FIXTURE_BIN",
                          os.path.join(target, "release", "examples", "numpy_fixture"))


_BUILT_FIXTURES = None


def fixtures_dir():
    """PERSISTENCE_NUMPY_FIXTURES, or the fixtures built once with cargo for every class."""
    global _BUILT_FIXTURES
    given = os.environ.get("PERSISTENCE_NUMPY_FIXTURES")
    if given:
        return given
    if _BUILT_FIXTURES is None:
        _BUILT_FIXTURES = tempfile.TemporaryDirectory(prefix="persistence-numpy-fixtures-")
        subprocess.run(["cargo", "run", "--release", "--example", "numpy_fixture", "--",
                        _BUILT_FIXTURES.name], cwd=REPO, check=True)
    return _BUILT_FIXTURES.name


class NumpyReaderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="persistence-numpy-")
        cls.dir = fixtures_dir()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def fixture(self, name):
        return os.path.join(self.dir, name)

    def scratch(self, name, content):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def assertRefused(self, kind, path, dtype=np.uint64, **kw):
        with self.assertRaises(PersistenceError) as cm:
            open_array(path, dtype, **kw)
        self.assertEqual(cm.exception.kind, kind, str(cm.exception))
        return cm.exception

    def test_f64_maps_the_committed_length_not_the_capacity(self):
        a = open_array(self.fixture("f64.bin"), np.float64)
        self.assertIsInstance(a, np.memmap)
        self.assertEqual(a.shape, (F64_LEN,))
        self.assertEqual(a.mean(), F64_MEAN)
        self.assertEqual((a[0], a[-1]), (0.0, F64_LEN - 1.0))
        self.assertFalse(a.flags.writeable)
        with self.assertRaises(ValueError):
            a[0] = 1.0
        info = a.info
        self.assertEqual((info.length, info.app_magic, info.app_version),
                         (F64_LEN, b"NUMPYF64", 1))
        self.assertGreaterEqual(info.capacity, 8_000_000)
        self.assertFalse(info.newest_damaged)
        self.assertTrue(info.slots[info.winner].valid)
        # What mapping the whole capacity would give: more elements, another mean.
        whole = np.memmap(self.fixture("f64.bin"), np.float64, "r", offset=4096,
                          shape=(info.capacity,))
        self.assertNotEqual((len(whole), whole.mean()), (F64_LEN, F64_MEAN))
        del whole
        # The expected magic and version, as text or bytes.
        self.assertEqual(len(open_array(self.fixture("f64.bin"), "f8", magic="NUMPYF64",
                                        version=1)), F64_LEN)
        self.assertRefused("MagicMismatch", self.fixture("f64.bin"), np.float64, magic=b"OTHER")
        self.assertRefused("VersionMismatch", self.fixture("f64.bin"), np.float64, version=2)

    def test_pod_struct_reads_as_a_structured_dtype(self):
        p = open_array(self.fixture("points.bin"), POINT_DTYPE, magic="POINTS", version=3)
        self.assertEqual(len(p), POINTS)
        i = np.arange(POINTS)
        np.testing.assert_array_equal(p["id"], i)
        np.testing.assert_array_equal(p["x"], i / 2)
        np.testing.assert_array_equal(p["y"], -i.astype(np.float32))
        np.testing.assert_array_equal(p["flags"], i % 7)
        # The same layout declared with align=True (alignment 8, as the struct's).
        aligned = np.dtype([("id", "u8"), ("x", "f8"), ("y", "f4"), ("flags", "u4")], align=True)
        self.assertEqual(open_array(self.fixture("points.bin"), aligned)["x"].sum(), i.sum() / 2)
        self.assertRefused("LayoutMismatch", self.fixture("points.bin"), np.float64)
        self.assertRefused("LayoutMismatch", self.fixture("points.bin"),
                           np.dtype([("id", "u8"), ("x", "f8")]))

    def test_the_element_type_fingerprint_is_checked(self):
        # The files the crate wrote record their types' fingerprints, which the dtypes'
        # compute to (the same algorithm on the Python side).
        f64 = read_header(self.fixture("f64.bin"))
        self.assertEqual(f64.format_version, 2)
        self.assertEqual(f64.elem_fingerprint, dtype_fingerprint(np.float64))
        points = read_header(self.fixture("points.bin"))
        self.assertEqual(points.elem_fingerprint, dtype_fingerprint(POINT_DTYPE))
        # An f8 file read as u8/i8 (same size and alignment) is another type.
        self.assertRefused("TypeMismatch", self.fixture("f64.bin"), np.uint64)
        self.assertRefused("TypeMismatch", self.fixture("f64.bin"), np.int64)
        # A struct whose fields are named otherwise, or swapped: another type.
        renamed = np.dtype([("id", "u8"), ("x", "f8"), ("y", "f4"), ("mask", "u4")])
        self.assertRefused("TypeMismatch", self.fixture("points.bin"), renamed)
        swapped = np.dtype([("id", "u8"), ("x", "f8"), ("flags", "u4"), ("y", "f4")])
        self.assertRefused("TypeMismatch", self.fixture("points.bin"), swapped)
        # A dtype that says nothing of the type (raw bytes) opens by size and alignment.
        self.assertEqual(len(open_array(self.fixture("f64.bin"), np.dtype("V8"))), F64_LEN)
        # A file without a fingerprint (format version 1) opens with any dtype of its size.
        golden = os.path.join(REPO, "tests", "golden", "v1-u64.bin")
        self.assertEqual(read_header(golden).elem_fingerprint, 0)
        self.assertEqual(len(open_array(golden, np.float64)), 300)
        # Subarrays are arrays: [u8; 4] is not u32.
        self.assertNotEqual(dtype_fingerprint(np.dtype(("u1", (4,)))), dtype_fingerprint("u4"))
        self.assertNotEqual(dtype_fingerprint(np.dtype(("u1", (2, 3)))),
                            dtype_fingerprint(np.dtype(("u1", (3, 2)))))

    def test_a_damaged_newest_slot_opens_to_the_older_commit(self):
        d = open_array(self.fixture("damaged.bin"), np.uint32)
        np.testing.assert_array_equal(d, np.arange(1000, dtype=np.uint32))
        info = d.info
        self.assertTrue(info.newest_damaged)
        winner, other = info.slots[info.winner], info.slots[1 - info.winner]
        self.assertTrue(winner.valid)
        self.assertTrue(other.damaged)
        self.assertGreater(other.sequence, winner.sequence)
        self.assertEqual(other.length, 2000)  # as found, untrusted
        self.assertEqual(read_header(self.fixture("damaged.bin")), info)
        self.assertFalse(read_header(self.fixture("points.bin")).newest_damaged)

    def test_bad_files_raise(self):
        points = read_bytes(self.fixture("points.bin"))
        self.assertRefused("BadMagic", self.scratch("text.bin", b"just some text, no vector" * 9))
        self.assertRefused("Corrupt", self.scratch("tiny.bin", b"PERS"))
        self.assertRefused("Corrupt", self.scratch("short.bin", points[:100]))
        e = self.assertRefused("Corrupt", self.scratch("truncated.bin", points[:4096 + 24 * 10]),
                               POINT_DTYPE)
        self.assertIn("committed length 1000", str(e))
        flipped = bytearray(points)
        flipped[24] ^= 1  # the application version: the header checksum fails
        e = self.assertRefused("Corrupt", self.scratch("flipped.bin", bytes(flipped)), POINT_DTYPE)
        self.assertIn("header checksum", str(e))
        both = bytearray(points)
        both[512 + 16] ^= 1
        both[1024 + 16] ^= 1
        self.assertRefused("Corrupt", self.scratch("both.bin", bytes(both)), POINT_DTYPE)
        # Format version 3 (checked before the checksum; resealed anyway) is refused clearly.
        v3 = self.scratch("v3.bin", encode(version=3))
        e = self.assertRefused("UnsupportedFormatVersion", v3)
        self.assertIn("format version 3", str(e))
        with self.assertRaises(PersistenceError):
            read_header(v3)
        self.assertRefused("Corrupt", self.scratch("offset.bin", encode(data_offset=8192)))
        self.assertRefused("Corrupt", self.scratch("size0.bin", encode(size=0)))
        self.assertRefused("Corrupt", self.scratch("align3.bin", encode(align=3)))
        self.assertRefused("Corrupt", self.scratch("marker.bin",
                                                   encode()[:16] + b"\1\1\1\1" + encode()[20:]))
        other_usize = self.scratch("usize.bin", encode(usize=12 - USIZE))
        self.assertRefused("LayoutMismatch", other_usize)
        # An f8 dtype needs alignment 8; a file of [u8; 8] elements has 1.
        self.assertRefused("LayoutMismatch", self.scratch("bytes8.bin", encode(align=1)),
                           np.float64)
        with self.assertRaises(FileNotFoundError):
            open_array(os.path.join(self.tmp.name, "missing.bin"), np.uint8)
        self.assertRefused("NotARegularFile", self.tmp.name, np.uint8)  # a directory
        fifo = os.path.join(self.tmp.name, "fifo")
        os.mkfifo(fifo)
        self.assertRefused("NotARegularFile", fifo, np.uint8)  # refused, not waited on
        with self.assertRaises(PersistenceError):
            read_header(fifo)
        with self.assertRaises(ValueError):
            open_array(self.fixture("f64.bin"), np.dtype(FOREIGN + "f8"))

    def test_a_foreign_file_is_read_by_read_header_and_refused_by_open_array(self):
        data = struct.pack(FOREIGN + "3Q", 7, 8, 9)
        foreign = encode(order=FOREIGN, app_version=4, slots=((1, 0), (2, 3)), data=data)
        path = self.scratch("foreign.bin", foreign)
        info = read_header(path)
        self.assertFalse(info.native_byte_order)
        self.assertEqual((info.app_version, info.elem_size, info.length, info.winner),
                         (4, 8, 3, 1))
        e = self.assertRefused("WrongEndianness", path)
        self.assertIn("persistence convert", str(e))
        # The same file in this machine's order opens, through this file's own encoder.
        native = self.scratch("native.bin", encode(slots=((1, 0), (2, 3)),
                                                   data=struct.pack(NATIVE + "3Q", 7, 8, 9)))
        np.testing.assert_array_equal(open_array(native, np.uint64), [7, 8, 9])

    def test_an_empty_file_is_an_empty_array(self):
        a = open_array(self.scratch("empty.bin", b""), np.float32)
        self.assertEqual(a.shape, (0,))
        self.assertIsNone(a.info.winner)
        a = open_array(self.scratch("created.bin", encode(size=4, align=4)), np.float32)
        self.assertEqual((a.shape, a.info.winner), ((0,), 0))

    def test_the_shared_lock_lasts_as_long_as_the_mapping(self):
        path = self.fixture("points.bin")

        def exclusive_free(p):
            fd = os.open(p, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
            finally:
                os.close(fd)

        a = open_array(path, POINT_DTYPE)
        view = a[10:20]
        del a
        gc.collect()
        self.assertFalse(exclusive_free(path), "a writer could open the file under the view")
        del view
        gc.collect()
        self.assertTrue(exclusive_free(path))

    def test_live_reads_beside_a_writer_and_holds_the_live_lock(self):
        path = self.scratch("held.bin", read_bytes(self.fixture("points.bin")))
        lock_file = path + "-live"
        writer = os.open(path, os.O_RDONLY)
        fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a writer of the crate holds it
        try:
            e = self.assertRefused("Locked", path, POINT_DTYPE)
            self.assertIn("live=True", str(e))
            self.assertFalse(os.path.exists(lock_file))
            a = open_array(path, POINT_DTYPE, live=True)
            self.assertEqual(len(a), POINTS)
            self.assertEqual(os.path.getsize(lock_file), 0)
            self.assertEqual(os.stat(lock_file).st_mode & 0o777, os.stat(path).st_mode & 0o666)
            probe = os.open(lock_file, os.O_RDONLY)
            try:
                with self.assertRaises(BlockingIOError):  # a writer's cut must wait
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                head = a[:5]
                del a
                gc.collect()
                with self.assertRaises(BlockingIOError):
                    fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                del head
                gc.collect()
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released with the mapping
            finally:
                os.close(probe)
        finally:
            os.close(writer)
        # Not the crate's lock file: refused at once, never waited on.
        os.remove(lock_file)
        os.mkfifo(lock_file)
        self.assertRefused("NotARegularFile", path, POINT_DTYPE, live=True)
        os.remove(lock_file)
        with open(lock_file, "wb") as f:
            f.write(b"x")
        self.assertRefused("Corrupt", path, POINT_DTYPE, live=True)
        os.remove(lock_file)

    def test_live_beside_a_real_writer_sees_whole_commits(self):
        path = os.path.join(self.tmp.name, "live.bin")
        w = subprocess.Popen([fixture_bin(), "--writer", path], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(w.stdout.readline().strip(), "ready")
            self.assertRefused("Locked", path, np.uint64)
            last = 0
            for _ in range(40):
                a = open_array(path, np.uint64, live=True)
                n = len(a)
                self.assertEqual(n % 1000, 0)
                self.assertGreaterEqual(n, max(last, 1000))
                np.testing.assert_array_equal(a, np.arange(n, dtype=np.uint64))
                self.assertFalse(a.info.newest_damaged)
                last = n
                del a
            w.stdin.write("\n")
            w.stdin.flush()
            done = w.stdout.readline().split()
        finally:
            w.stdin.close()
            w.wait(timeout=60)
            w.stdout.close()
        self.assertEqual(w.returncode, 0)
        self.assertEqual(done[0], "done")
        final = open_array(path, np.uint64)  # no writer now: the shared lock
        self.assertEqual(len(final), int(done[1]))
        self.assertGreaterEqual(len(final), last)
        np.testing.assert_array_equal(final, np.arange(len(final), dtype=np.uint64))


class GroupReaderTest(unittest.TestCase):
    """open_group and read_group_header on the groups the crate wrote, and on damaged and
    forged copies of them."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="persistence-numpy-group-")
        cls.dir = fixtures_dir()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def fixture(self, name):
        return os.path.join(self.dir, name)

    def small(self, name, patch=None, size=None):
        """A copy of group-small.bin, its header page passed through ``patch``, its size set
        to ``size`` when given."""
        path = os.path.join(self.tmp.name, name)
        shutil.copyfile(self.fixture("group-small.bin"), path)
        if patch is not None:
            with open(path, "r+b") as f:
                page = bytearray(f.read(4096))
                patch(page)
                f.seek(0)
                f.write(page)
        if size is not None:
            os.truncate(path, size)
        return path

    def assertRefused(self, kind, path, dtypes=None, column=None, **kw):
        with self.assertRaises(PersistenceError) as cm:
            open_group(path, SMALL_DTYPES if dtypes is None else dtypes, **kw)
        e = cm.exception
        self.assertEqual((e.kind, e.column), (kind, column), str(e))
        return e

    def assertCorrupt(self, path, column=None, text=None):
        """Refused as Corrupt by open_group and by read_group_header alike."""
        e = self.assertRefused("Corrupt", path, column=column)
        if text is not None:
            self.assertIn(text, str(e))
        with self.assertRaises(PersistenceError) as cm:
            read_group_header(path)
        self.assertEqual((cm.exception.kind, cm.exception.column), ("Corrupt", column))

    def test_a_group_reads_every_column_at_its_committed_length(self):
        path = self.fixture("group.bin")
        cols = open_group(path, [np.uint64, np.float32, POINT_DTYPE], magic="NPGROUP",
                          version=5)
        a, b, c = cols
        info = cols.info
        self.assertEqual((info.generation, info.lengths), (2, GROUP_LENS))
        self.assertEqual(tuple(len(x) for x in cols), GROUP_LENS)
        self.assertEqual((info.app_magic, info.app_version), (b"NPGROUP\0", 5))
        self.assertFalse(info.newest_damaged)
        self.assertEqual(read_group_header(path), info)
        np.testing.assert_array_equal(a, np.arange(GROUP_LENS[0], dtype=np.uint64))
        np.testing.assert_array_equal(b, np.arange(GROUP_LENS[1], dtype=np.float32) / 2)
        i = np.arange(GROUP_LENS[2])
        np.testing.assert_array_equal(c["id"], i)
        np.testing.assert_array_equal(c["x"], i / 2)
        np.testing.assert_array_equal(c["y"], -i.astype(np.float32))
        np.testing.assert_array_equal(c["flags"], i % 7)
        for x in cols:
            self.assertFalse(x.flags.writeable)
        # Column 0 spans blocks 0, 1 and 2, column 2 blocks 0 and 1: copies gathered from
        # them; column 1 lies in its block 0: a memmap.
        self.assertEqual([len(col.blocks) for col in info.columns], [3, 1, 2])
        self.assertNotIsInstance(a, np.memmap)
        self.assertNotIsInstance(c, np.memmap)
        self.assertIsInstance(b, np.memmap)
        # The blocks are not one run of the file: reading on from block 0 is wrong.
        blocks = info.columns[0].blocks
        self.assertNotEqual(blocks[1], blocks[0] + G_BLOCK0)
        naive = np.fromfile(path, np.uint64, count=GROUP_LENS[0], offset=blocks[0])
        self.assertFalse(np.array_equal(naive, a))
        # Point 87381 straddles column 2's blocks 0 and 1 (2 MiB is not a multiple of 24).
        straddling = G_BLOCK0 // POINT_DTYPE.itemsize
        self.assertNotEqual(G_BLOCK0 % POINT_DTYPE.itemsize, 0)
        self.assertEqual(c[straddling]["id"], straddling)
        self.assertEqual(c[straddling]["flags"], straddling % 7)
        # Column 1's block holds generation 1's 1500 values: only the committed 1000 count.
        stale = np.fromfile(path, np.float32, count=1500, offset=info.columns[1].blocks[0])
        np.testing.assert_array_equal(stale, np.arange(1500, dtype=np.float32) / 2)
        self.assertGreaterEqual(info.columns[1].capacity, 1500)
        self.assertEqual(info.slots[1 - info.winner].lengths, (400_000, 1500, 50_000))
        # The fingerprints the crate recorded are the dtypes'.
        fps = [col.elem_fingerprint for col in info.columns]
        self.assertEqual(fps, [dtype_fingerprint(d) for d in ("u8", "f4", POINT_DTYPE)])

    def test_the_dtypes_are_checked_column_by_column(self):
        path = self.fixture("group-small.bin")
        u4, u2, u8 = SMALL_DTYPES
        cols = open_group(path, SMALL_DTYPES)
        np.testing.assert_array_equal(cols[0], np.arange(100, dtype=np.uint32))
        np.testing.assert_array_equal(cols[1], 3 * np.arange(50, dtype=np.uint16))
        self.assertEqual(cols[2].shape, (0,))  # an empty column
        self.assertEqual(cols.info.columns[2].blocks, ())
        self.assertRefused("LayoutMismatch", path, [u4, u2])  # the column count
        self.assertRefused("LayoutMismatch", path, [u4, u4, u8], column=1)
        self.assertRefused("TypeMismatch", path, [u4, np.int16, u8], column=1)
        self.assertRefused("TypeMismatch", path, [np.float32, u2, u8], column=0)
        self.assertRefused("LayoutMismatch", path, [u4, u2, np.uint32], column=2)
        self.assertRefused("MagicMismatch", path, magic="OTHER")
        self.assertRefused("VersionMismatch", path, version=1)
        self.assertEqual(len(open_group(path, SMALL_DTYPES, magic=b"NPSMALL", version=0)[0]),
                         100)
        # Raw bytes say nothing of the type: size and alignment only.
        self.assertEqual([len(x) for x in open_group(path, ["V4", "V2", "V8"])], [100, 50, 0])
        # A group is no vector, and a vector no group.
        with self.assertRaises(PersistenceError) as cm:
            open_array(path, np.uint32)
        self.assertEqual(cm.exception.kind, "WrongFileKind")
        self.assertRefused("WrongFileKind", self.fixture("points.bin"), [POINT_DTYPE])
        golden = os.path.join(REPO, "tests", "golden", "v1-u64.bin")
        self.assertRefused("WrongFileKind", golden, [np.uint64])

    def test_a_damaged_newest_slot_opens_to_the_older_commit(self):
        def damage_a(page):
            page[512 + 112] ^= 0x5A  # slot A's checksum word; A holds generation 2

        path = self.small("newest.bin", damage_a)
        cols = open_group(path, SMALL_DTYPES)
        info = cols.info
        self.assertEqual((info.winner, info.generation, info.lengths), (1, 1, SMALL_OLDER_LENS))
        self.assertTrue(info.newest_damaged)
        self.assertTrue(info.slots[0].damaged)
        self.assertEqual(info.slots[0].lengths, SMALL_LENS)  # as found, untrusted
        np.testing.assert_array_equal(cols[0], np.arange(30, dtype=np.uint32))
        np.testing.assert_array_equal(cols[1], 3 * np.arange(20, dtype=np.uint16))

        def both(page):
            page[512 + 112] ^= 1
            page[1024 + 112] ^= 1

        self.assertCorrupt(self.small("both.bin", both), text="no valid commit slot")
        # A sequence of 0 or past 2^62 is no valid slot, whatever its checksum.
        for seq in (0, 2**62 + 1):
            def reseq(page, seq=seq):
                sizes = [np.dtype(d).itemsize for d in SMALL_DTYPES]
                g_write_slot(page, 0, seq, SMALL_LENS, g_table_sum(page, SMALL_LENS, sizes))

            info = open_group(self.small(f"seq{seq}.bin", reseq), SMALL_DTYPES).info
            self.assertEqual((info.winner, info.lengths), (1, SMALL_OLDER_LENS), seq)

    def test_a_damaged_header_is_refused(self):
        def put(at, code, value, reseal=True):
            def patch(page):
                struct.pack_into(NATIVE + code, page, at, value)
                if reseal:
                    g_reseal(page)
            return patch

        def flip(page):
            page[24] ^= 1  # the application version

        self.assertCorrupt(self.small("flip.bin", flip), text="header checksum")
        e = self.assertRefused("UnsupportedFormatVersion", self.small("v3.bin", put(20, "I", 3)))
        self.assertIn("format version 3", str(e))
        self.assertRefused("WrongFileKind", self.small("v1.bin", put(20, "I", 1)))
        self.assertRefused("WrongFileKind", self.small("kind0.bin", put(32, "I", 0)))
        self.assertCorrupt(self.small("kind2.bin", put(32, "I", 2)))
        for n in (0, 13):
            self.assertCorrupt(self.small(f"count{n}.bin", put(36, "I", n, reseal=False)))
        self.assertCorrupt(self.small("offset.bin", put(40, "Q", 4096)), text="data offset")
        self.assertCorrupt(self.small("block.bin", put(48, "Q", 2 * G_BLOCK0)),
                           text="block size")
        self.assertCorrupt(self.small("size0.bin", put(56 + 24, "Q", 0)), column=1)
        self.assertCorrupt(self.small("align3.bin", put(56 + 24 + 8, "Q", 3)), column=1)
        self.assertCorrupt(self.small("marker.bin", put(16, "I", 0x01010101, reseal=False)))
        with open(self.fixture("group-small.bin"), "rb") as f:
            head = f.read(100)
        self.assertCorrupt(self.scratch("short.bin", head))
        self.assertRefused("BadMagic", self.scratch("text.bin", b"no group here, just text" * 9))

    def scratch(self, name, content):
        path = os.path.join(self.tmp.name, name)
        with open(path, "wb") as f:
            f.write(content)
        return path

    def test_the_block_table_and_the_blocks_are_checked(self):
        sizes = [np.dtype(d).itemsize for d in SMALL_DTYPES]
        info = read_group_header(self.fixture("group-small.bin"))
        (b0,), (b1,), () = (c.blocks for c in info.columns)
        file_size = info.file_size

        def entry(k, j, value, seal=True, file_size=None):
            """Sets a table entry; with ``seal``, commits it anew (slot A's table checksum and
            checksum), so that only the checks of the blocks themselves stand."""
            def patch(page):
                struct.pack_into(NATIVE + "Q", page, g_entry_at(k, j), value)
                if seal:
                    g_write_slot(page, 0, 3, SMALL_LENS, g_table_sum(page, SMALL_LENS, sizes))
            return patch

        # The encoder here agrees with the module: the same commit sealed again opens, and
        # column 1 moved to a fresh block past the old end (zeros there) opens too.
        cols = open_group(self.small("resealed.bin", entry(0, 0, b0)), SMALL_DTYPES)
        np.testing.assert_array_equal(cols[0], np.arange(100, dtype=np.uint32))
        moved = self.small("moved.bin", entry(1, 0, file_size), size=file_size + G_BLOCK0)
        cols = open_group(moved, SMALL_DTYPES)
        np.testing.assert_array_equal(cols[1], np.zeros(50, dtype=np.uint16))
        # An entry no commit needs may hold anything (column 2 is empty).
        self.assertEqual(open_group(self.small("spare.bin", entry(2, 0, 12345, seal=False)),
                                    SMALL_DTYPES).info.lengths, SMALL_LENS)

        # Changed after the commit: the table checksum fails.
        self.assertCorrupt(self.small("changed.bin", entry(0, 0, b0 + G_BLOCK0, seal=False)),
                           text="block table checksum")
        # Sealed, but the blocks are wrong: the column is named.
        self.assertCorrupt(self.small("overlap.bin", entry(1, 0, b0)), column=1,
                           text="overlap")
        self.assertCorrupt(self.small("misaligned.bin", entry(0, 0, b0 + 4096)), column=0)
        self.assertCorrupt(self.small("header.bin", entry(0, 0, 0)), column=0)
        self.assertCorrupt(self.small("past.bin", entry(1, 0, file_size)), column=1)
        # The file cut short: the last block no longer lies in it.
        last = 0 if b0 > b1 else 1
        self.assertCorrupt(self.small("cut.bin", size=file_size - G_BLOCK0), column=last)

        def lens(new):
            def patch(page):
                g_write_slot(page, 0, 3, new, g_table_sum(page, new[:3], sizes))
            return patch

        # A length for a column the group does not have; a length past the 26 blocks.
        self.assertCorrupt(self.small("extra.bin", lens([100, 50, 0, 0, 0, 1])), column=5)
        self.assertCorrupt(self.small("huge.bin", lens([2**61, 50, 0])), column=0,
                           text="too large")
        # A length whose data needs a block the table does not have (entry 0: none).
        self.assertCorrupt(self.small("noblock.bin", lens([100, 50, 1])), column=2)

    def test_a_foreign_group_is_read_by_read_group_header_and_refused_by_open_group(self):
        fp = dtype_fingerprint(np.uint32)
        native = self.scratch("native-group.bin", encode_group(
            NATIVE, [(4, 4, fp)], [3], [struct.pack(NATIVE + "3I", 7, 8, 9)]))
        cols = open_group(native, [np.uint32])
        np.testing.assert_array_equal(cols[0], [7, 8, 9])
        self.assertEqual(cols.info.generation, 1)
        foreign = self.scratch("foreign-group.bin", encode_group(
            FOREIGN, [(4, 4, fp)], [3], [struct.pack(FOREIGN + "3I", 7, 8, 9)], app_version=4))
        info = read_group_header(foreign)
        self.assertFalse(info.native_byte_order)
        self.assertEqual((info.app_version, info.lengths, info.winner), (4, (3,), 1))
        self.assertEqual(info.columns[0].elem_fingerprint, fp)
        with self.assertRaises(PersistenceError) as cm:
            open_group(foreign, [np.uint32])
        self.assertEqual(cm.exception.kind, "WrongEndianness")

    def test_the_shared_lock_lasts_as_long_as_a_mapped_column(self):
        path = self.small("locked.bin")
        writer = os.open(path, os.O_RDONLY)
        fcntl.flock(writer, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as the crate's group writer
        try:
            e = self.assertRefused("Locked", path)
            self.assertIn("a writer holds the group", str(e))
        finally:
            os.close(writer)
        cols = open_group(path, SMALL_DTYPES)
        first = cols[0]
        del cols
        gc.collect()

        def exclusive_free():
            fd = os.open(path, os.O_RDONLY)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
            finally:
                os.close(fd)

        self.assertFalse(exclusive_free(), "a writer could open the group under the memmap")
        del first
        gc.collect()
        self.assertTrue(exclusive_free())


if __name__ == "__main__":
    unittest.main()
