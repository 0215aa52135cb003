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


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def fixture_bin():
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target"))
    return os.environ.get("PERSISTENCE_NUMPY_FIXTURE_BIN",
                          os.path.join(target, "release", "examples", "numpy_fixture"))


class NumpyReaderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="persistence-numpy-")
        cls.dir = os.environ.get("PERSISTENCE_NUMPY_FIXTURES")
        if not cls.dir:
            cls.dir = os.path.join(cls.tmp.name, "fixtures")
            subprocess.run(["cargo", "run", "--release", "--example", "numpy_fixture", "--",
                            cls.dir], cwd=REPO, check=True)

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


if __name__ == "__main__":
    unittest.main()
