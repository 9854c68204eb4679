"""Durable storage of one etcd member: write-ahead log segments and snapshot files.

Design
======

A member's data directory holds::

    <data_dir>/.lock                         flock()ed while a `Storage` owns the directory
    <data_dir>/wal/<seq:016x>-<first:016x>.wal   WAL segments, seq = 0, 1, 2, ... (no holes)
    <data_dir>/snap/<term:016x>-<index:016x>.snap  state-machine snapshots

The raft loop calls `Storage.save(hard_state, entries)` once per `Ready`: every record
of the batch is encoded into ONE bytes buffer, written with one `os.write` and made
durable with one `fdatasync` (group commit). `save_snapshot` writes a snapshot file
(temp file, fsync, rename, directory fsync) and then appends a SNAPSHOT marker record
to the WAL, so a snapshot "exists" only once its marker is durable. `release(index)`
deletes WAL segments and snapshot files the newest snapshot made unnecessary, so disk
use stays bounded. `load()` rebuilds (metadata, hard state, snapshot, entries) after a
restart or a crash. A `Storage` has one owner, but every public method holds an
internal lock, so calls from an executor thread and from the loop thread serialize.

API::

    Storage.exists(data_dir) -> bool                     (also module-level `exists`)
    Storage.create(data_dir, member_id, cluster_id, peers, *, segment_bytes) -> Storage
    Storage.open(data_dir, *, segment_bytes) -> Storage  then load() before writing
    load() -> Recovered(metadata, hard_state, snapshot, entries, warnings)
    save(hard_state | None, entries, *, sync=True)       one write + one fdatasync
    save_snapshot(snapshot); release(index); sync(); disk_usage() -> int; close()

`python -m actors.etcd.wal --bench [--dir D]` prints save() throughput (batches of 100
entries of 300 bytes by default); `--dump DATA_DIR` lists a data directory's records.

WAL segment format
------------------

A segment is a sequence of records; all integers are little-endian::

    record  = header(13 bytes) payload
    header  = length u32      payload length in bytes
              crc    u32      crc32 of (type byte + payload)
              type   u8       1 ENTRY, 2 HARDSTATE, 3 SNAPSHOT, 4 METADATA
              hcrc   u32      crc32 of the 9 header bytes above
    ENTRY     = index u64, term u64, data (the rest of the payload)
    HARDSTATE = term u64, vote u64, commit u64
    SNAPSHOT  = index u64, term u64            (marker: snap/<term>-<index>.snap is durable)
    METADATA  = member_id u64, cluster_id u64, n u32, peers n*u64

`hcrc` goes beyond a plain (length, crc, type) header: without it a flipped bit in the
length of a record in the middle of the last segment makes that record look as if it
ran past the end of the file, i.e. like a torn write, and recovery would silently cut
off every acknowledged record after it. With it, a record whose header checks out but
whose payload runs past EOF can only be a torn write.

Every segment starts with a header written into `<name>.tmp`, fsynced and renamed
into place (so a segment that exists always has a complete header)::

    METADATA, [SNAPSHOT marker of the newest snapshot], HARDSTATE (the latest one)

so a segment is self-describing once older ones are released. A segment is named by
its sequence number and `first` = last log index + 1 when it was created. Records of
one `save()` are: the ENTRY records, then the HARDSTATE (so a surviving HARDSTATE implies
that all entries of its batch survived). A new segment is started after a save leaves the
current one at >= `segment_bytes`; the old one is fsynced first, so only the LAST segment
can have a torn tail.

Snapshot file format
--------------------

::

    crc u32 (crc32 of everything after it), index u64, term u64, n u32, peers n*u64, data

Recovery (`load`)
-----------------

1. Segments are read in sequence order and replayed into a log: an ENTRY at index i
   appends when i = last + 1, truncates the tail first when i <= last (raft's conflict
   overwrite), and starts a new log at i when i > last + 1 (after a snapshot that
   was installed from the leader beyond our log). The log is known from index
   `first` of the oldest remaining segment (entries below it were released) or from
   the lowest index an ENTRY later rewrote.
2. The tail of the LAST segment may be torn: a short header, a (header-checked)
   record whose payload runs past EOF, a payload checksum mismatch on the record that
   extends exactly to EOF (or is followed only by zeros), or an all-zero tail (a crash
   after the file size but not the data reached the disk). It is truncated off the
   file and reported in `Recovered.warnings`. Everything else is `CorruptStorageError`
   naming the file and offset: any checksum mismatch elsewhere -- including a header
   checksum mismatch on the last record, since a header is never written partially
   without being short --, an unknown record type, a malformed payload, a missing
   segment, a segment without its header, a torn non-last segment or segment header.
   Nothing is modified on disk unless the whole load succeeds.
3. The snapshot is the newest snapshot file that has a SNAPSHOT marker in the WAL and
   whose crc, name and encoding check out. Snapshot files without a marker (a crash
   between writing the file and its marker) are ignored (with a warning when they are
   newer than every marker). If the WAL has markers newer than the chosen snapshot
   (their files are corrupt or missing), recovery falls back to the older snapshot
   only when (a) each such marker agreed with the log when it was written, as replayed
   (same term at its index: a local compaction, not a leader snapshot that replaced a
   divergent log or jumped past its end, and not one whose entries were released) and
   (b) the WAL still holds every entry after the older snapshot; it then reports a
   warning, and otherwise raises `CorruptStorageError`.
4. The WAL must cover the snapshot: the log must be known from snapshot.index + 1
   (from index 1 without a snapshot), otherwise `CorruptStorageError`. Entries with
   index <= snapshot.index are dropped. Like etcd, a leader snapshot that replaced a
   divergent log leaves the old tail after snapshot.index in the WAL until the leader's
   entries overwrite it; raft handles such a tail like any uncommitted conflicting one.
5. `hard_state` is the last HARDSTATE record, with `commit` raised to the snapshot
   index (a snapshot is committed state), or HardState() when there is none.

Release
-------

`release(index)` uses limit = min(index, newest snapshot index) and deletes, oldest
first, each segment that (a) is older than the segment holding the newest snapshot's
marker and (b) is followed by a segment whose `first - 1 <= limit` (so every live entry
in it is <= limit and covered by the snapshot). The first remaining segment therefore
starts at or before snapshot.index + 1. It also deletes snapshot files except the two
newest at or below the current snapshot. Falling back to the older kept snapshot needs
the WAL from that snapshot on: pass the older snapshot's index to keep it usable.

Write errors: after a failed write or fsync the storage refuses further writes (the
state of the file is unknown; see "fsyncgate"); reopen it to recover.
"""

from __future__ import annotations

import argparse
import fcntl
import logging
import os
import re
import shutil
import struct
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .rafttypes import Entry, HardState, Snapshot

__all__ = [
    "DEFAULT_SEGMENT_BYTES",
    "REC_ENTRY",
    "REC_HARDSTATE",
    "REC_METADATA",
    "REC_SNAPSHOT",
    "CorruptStorageError",
    "Metadata",
    "RecordInfo",
    "Recovered",
    "Storage",
    "StorageError",
    "exists",
    "scan_segment",
]

log = logging.getLogger(__name__)

DEFAULT_SEGMENT_BYTES = 64 << 20

REC_ENTRY = 1
REC_HARDSTATE = 2
REC_SNAPSHOT = 3
REC_METADATA = 4
REC_NAMES = {REC_ENTRY: "ENTRY", REC_HARDSTATE: "HARDSTATE", REC_SNAPSHOT: "SNAPSHOT",
             REC_METADATA: "METADATA"}

_H9 = struct.Struct("<IIB")  # length, crc, type
_U32 = struct.Struct("<I")
_HDR = struct.Struct("<IIBI")  # length, crc, type, hcrc
HEADER_SIZE = _HDR.size  # 13
_ENTRY_FIXED = struct.Struct("<QQ")  # index, term
_HARDSTATE = struct.Struct("<QQQ")  # term, vote, commit
_MARKER = struct.Struct("<QQ")  # index, term
_META_FIXED = struct.Struct("<QQI")  # member id, cluster id, number of peers
_SNAP_FIXED = struct.Struct("<IQQI")  # crc, index, term, number of peers

# crc32 of the type byte: the running crc a record's payload crc continues from
_SEEDS = {t: zlib.crc32(bytes([t])) for t in REC_NAMES}
_SEED_ENTRY = _SEEDS[REC_ENTRY]

_SEG_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.wal$")
_SNAP_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.snap$")
_TMP_SUFFIX = ".tmp"

_fdatasync: Callable[[int], None] = getattr(os, "fdatasync", os.fsync)


class StorageError(Exception):
    """The data directory cannot be used (missing, locked, misused, failed write)."""


class CorruptStorageError(StorageError):
    """The data directory holds data that fails its checks; nothing was returned."""


@dataclass(frozen=True, slots=True)
class Metadata:
    member_id: int
    cluster_id: int
    peers: tuple[int, ...]


@dataclass(slots=True)
class Recovered:
    metadata: Metadata
    hard_state: HardState
    snapshot: Snapshot | None
    entries: list[Entry]  # contiguous, starting at snapshot.index + 1 (or 1)
    warnings: list[str] = field(default_factory=list)


class RecordInfo(NamedTuple):
    offset: int
    type: int
    size: int  # header + payload


# ---------------------------------------------------------------------- encoding


def _record(rtype: int, payload: bytes) -> bytes:
    h = _H9.pack(len(payload), zlib.crc32(payload, _SEEDS[rtype]), rtype)
    return h + _U32.pack(zlib.crc32(h)) + payload


def _hardstate_record(hs: HardState) -> bytes:
    return _record(REC_HARDSTATE, _HARDSTATE.pack(hs.term, hs.vote, hs.commit))


def _marker_record(index: int, term: int) -> bytes:
    return _record(REC_SNAPSHOT, _MARKER.pack(index, term))


def _metadata_record(meta: Metadata) -> bytes:
    n = len(meta.peers)
    return _record(REC_METADATA, _META_FIXED.pack(meta.member_id, meta.cluster_id, n)
                   + struct.pack(f"<{n}Q", *meta.peers))


def _encode_entries(parts: list[bytes], entries: Sequence[Entry], expect: int) -> None:
    """Append the records of `entries` to `parts`; raise ValueError if not contiguous."""
    crc32 = zlib.crc32
    h9 = _H9.pack
    u32 = _U32.pack
    fixed = _ENTRY_FIXED.pack
    seed = _SEED_ENTRY
    add = parts.append
    for e in entries:
        if e.index != expect:
            raise ValueError(f"entries are not contiguous: index {e.index} where {expect} "
                             "was expected")
        expect += 1
        data = e.data
        p = fixed(e.index, e.term)
        h = h9(16 + len(data), crc32(data, crc32(p, seed)), REC_ENTRY)
        add(h)
        add(u32(crc32(h)))
        add(p)
        add(data)


def _seg_name(seq: int, first: int) -> str:
    return f"{seq:016x}-{first:016x}.wal"


def _snap_name(term: int, index: int) -> str:
    return f"{term:016x}-{index:016x}.snap"


def _encode_snapshot_parts(snap: Snapshot) -> list[bytes]:
    peers = tuple(snap.peers)
    body = _SNAP_FIXED.pack(0, snap.index, snap.term, len(peers))[4:]
    pbytes = struct.pack(f"<{len(peers)}Q", *peers)
    crc = zlib.crc32(snap.data, zlib.crc32(pbytes, zlib.crc32(body)))
    return [_U32.pack(crc), body, pbytes, snap.data]


def _decode_snapshot(buf: bytes, index: int, term: int) -> Snapshot:
    """Decode a snapshot file's bytes; ValueError says what is wrong."""
    if len(buf) < _SNAP_FIXED.size:
        raise ValueError(f"{len(buf)} bytes, shorter than the {_SNAP_FIXED.size}-byte header")
    crc, sindex, sterm, n = _SNAP_FIXED.unpack_from(buf, 0)
    if zlib.crc32(memoryview(buf)[4:]) != crc:
        raise ValueError("crc mismatch")
    pend = _SNAP_FIXED.size + 8 * n
    if pend > len(buf):
        raise ValueError(f"peer count {n} runs past the end of the file")
    if (sindex, sterm) != (index, term):
        raise ValueError(f"holds index {sindex} term {sterm}, its name says index {index} "
                         f"term {term}")
    peers = struct.unpack_from(f"<{n}Q", buf, _SNAP_FIXED.size)
    return Snapshot(index=sindex, term=sterm, data=buf[pend:], peers=tuple(peers))


# ---------------------------------------------------------------------- file helpers


def _write_all(fd: int, buf: bytes) -> None:
    mv = memoryview(buf)
    while mv:
        n = os.write(fd, mv)
        mv = mv[n:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, parts: Iterable[bytes]) -> None:
    """Write `parts` to `path` atomically: temp file, fsync, rename, directory fsync."""
    tmp = path.with_name(path.name + _TMP_SUFFIX)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        for p in parts:
            _write_all(fd, p)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _list_segments(wal_dir: Path, strict: bool = True) -> list[tuple[int, int, Path]]:
    """(seq, first index, path) of every segment, by seq; a *.wal file with another name
    is a CorruptStorageError when `strict`, else skipped."""
    out = []
    try:
        names = os.listdir(wal_dir)
    except FileNotFoundError:
        return []
    for name in names:
        if not name.endswith(".wal"):
            continue
        m = _SEG_RE.match(name)
        if m is None:
            if not strict:
                continue
            raise CorruptStorageError(f"{wal_dir / name}: not a WAL segment name "
                                      "(<seq:016x>-<first index:016x>.wal)")
        out.append((int(m.group(1), 16), int(m.group(2), 16), wal_dir / name))
    out.sort()
    return out


def _list_snaps(snap_dir: Path) -> list[tuple[int, int, Path]]:
    """(index, term, path) of every snapshot file, oldest first."""
    out = []
    try:
        names = os.listdir(snap_dir)
    except FileNotFoundError:
        return []
    for name in names:
        m = _SNAP_RE.match(name)
        if m is not None:
            out.append((int(m.group(2), 16), int(m.group(1), 16), snap_dir / name))
    out.sort()
    return out


def _remove_tmp_files(d: Path) -> list[str]:
    removed = []
    try:
        names = os.listdir(d)
    except FileNotFoundError:
        return []
    for name in names:
        if name.endswith(_TMP_SUFFIX):
            os.unlink(d / name)
            removed.append(str(d / name))
    return removed


# ---------------------------------------------------------------------- replay


class _Torn(NamedTuple):
    path: Path
    offset: int
    size: int
    reason: str


class _Replay:
    """Rebuilds the log from WAL records (see "Recovery" in the module docstring)."""

    def __init__(self, first_index: int) -> None:
        self.ents: list[Entry] = []
        self.known_from = first_index  # the log is known from this index on
        self.hs: HardState | None = None
        self.meta: Metadata | None = None
        # (index, term) -> (seq of the segment of its first occurrence, how it related to
        # the log when written: "agreed" (same term at index), "replaced" (another term or
        # past the log's end: a leader snapshot) or "unknown" (its entries were released))
        self.markers: dict[tuple[int, int], tuple[int, str]] = {}

    def last_index(self) -> int:
        return self.known_from - 1 + len(self.ents)

    def _entry(self, index: int, term: int, data: bytes) -> None:
        ents = self.ents
        k = index - self.known_from
        if k == len(ents):
            ents.append(Entry(index, term, data))
        elif 0 <= k < len(ents):  # conflict: overwrite the tail
            del ents[k:]
            ents.append(Entry(index, term, data))
        else:  # below the known log (rewritten) or past its end (after a snapshot)
            self.ents = [Entry(index, term, data)]
            self.known_from = index

    def _marker(self, index: int, term: int, seq: int, in_header: bool) -> None:
        key = (index, term)
        if key in self.markers:
            return
        k = index - self.known_from
        if in_header or k < 0:
            how = "unknown"
        elif k < len(self.ents) and self.ents[k].term == term:
            how = "agreed"
        else:
            how = "replaced"
        self.markers[key] = (seq, how)

    def feed(self, buf: bytes, path: Path, seq: int, last: bool) -> _Torn | None:
        """Replay one segment; return the torn tail of the last segment, if any."""
        mv = memoryview(buf)
        size = len(buf)
        crc32 = zlib.crc32
        unpack_hdr = _HDR.unpack_from
        unpack_ent = _ENTRY_FIXED.unpack_from
        off = 0
        header_done = False  # METADATA [SNAPSHOT] HARDSTATE seen

        def bad(at: int, what: str) -> CorruptStorageError:
            return CorruptStorageError(f"{path}: offset {at}: {what}")

        def torn(at: int, what: str) -> _Torn:
            if not last:
                raise bad(at, f"{what} (in a segment that is not the last one)")
            if not header_done:
                raise bad(at, f"{what} (inside the segment header, which is written "
                              "atomically)")
            return _Torn(path, at, size, what)

        while off < size:
            if size - off < HEADER_SIZE:
                return torn(off, f"short record header ({size - off} bytes at the end)")
            n, crc, rtype, hcrc = unpack_hdr(buf, off)
            end = off + HEADER_SIZE + n
            if crc32(mv[off:off + 9]) != hcrc:
                if last and buf.count(0, off) == size - off:
                    return torn(off, "zero-filled tail")
                raise bad(off, "record header checksum mismatch")
            if end > size:
                return torn(off, f"record payload cut short ({size - off - HEADER_SIZE} of "
                                 f"{n} bytes)")
            seed = _SEEDS.get(rtype)
            if seed is None:
                raise bad(off, f"unknown record type {rtype}")
            if crc32(mv[off + HEADER_SIZE:end], seed) != crc:
                if last and (end == size or buf.count(0, end) == size - end):
                    return torn(off, f"checksum mismatch in the last record "
                                     f"({REC_NAMES[rtype]})")
                raise bad(off, f"checksum mismatch in a {REC_NAMES[rtype]} record")
            if off == 0 and rtype != REC_METADATA:
                raise bad(0, f"segment starts with a {REC_NAMES[rtype]} record, not METADATA")
            p = off + HEADER_SIZE
            if rtype == REC_ENTRY:
                if not header_done:
                    raise bad(off, "ENTRY record before the segment header is complete")
                if n < 16:
                    raise bad(off, f"ENTRY payload of {n} bytes")
                index, term = unpack_ent(buf, p)
                self._entry(index, term, buf[p + 16:end])
            elif rtype == REC_HARDSTATE:
                if n != _HARDSTATE.size:
                    raise bad(off, f"malformed HARDSTATE record ({n} bytes)")
                self.hs = HardState(*_HARDSTATE.unpack_from(buf, p))
                header_done = True
            elif rtype == REC_SNAPSHOT:
                if n != _MARKER.size:
                    raise bad(off, f"malformed SNAPSHOT record ({n} bytes)")
                index, term = _MARKER.unpack_from(buf, p)
                self._marker(index, term, seq, in_header=not header_done)
            else:  # REC_METADATA
                if off != 0:
                    raise bad(off, "METADATA record in the middle of a segment")
                if n < _META_FIXED.size:
                    raise bad(off, f"METADATA payload of {n} bytes")
                mid, cid, npeers = _META_FIXED.unpack_from(buf, p)
                if n != _META_FIXED.size + 8 * npeers:
                    raise bad(off, f"METADATA of {n} bytes for {npeers} peers")
                peers = struct.unpack_from(f"<{npeers}Q", buf, p + _META_FIXED.size)
                meta = Metadata(mid, cid, tuple(peers))
                if self.meta is None:
                    self.meta = meta
                elif meta != self.meta:
                    raise bad(off, f"METADATA {meta} differs from the earlier segments' "
                                   f"{self.meta}")
            off = end
        if not header_done:
            raise bad(off, "segment ends before its header (METADATA [SNAPSHOT] HARDSTATE) "
                           "is complete")
        return None


def scan_segment(path: str | Path) -> list[RecordInfo]:
    """Records of a segment file up to the first invalid one (a debugging/test aid)."""
    buf = Path(path).read_bytes()
    mv = memoryview(buf)
    out = []
    off = 0
    while len(buf) - off >= HEADER_SIZE:
        n, crc, rtype, hcrc = _HDR.unpack_from(buf, off)
        end = off + HEADER_SIZE + n
        if (zlib.crc32(mv[off:off + 9]) != hcrc or end > len(buf) or rtype not in _SEEDS
                or zlib.crc32(mv[off + HEADER_SIZE:end], _SEEDS[rtype]) != crc):
            break
        out.append(RecordInfo(off, rtype, end - off))
        off = end
    return out


def exists(data_dir: str | Path) -> bool:
    """True when `data_dir` holds a WAL (at least one segment)."""
    return bool(_list_segments(Path(data_dir) / "wal", strict=False))


# ---------------------------------------------------------------------- storage


class Storage:
    """A member's WAL + snapshots. Use `Storage.create` or `Storage.open` + `load()`."""

    def __init__(self, data_dir: str | Path, *,
                 segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> None:
        """Take the directory's lock (creating the directory); no other I/O."""
        if segment_bytes < 1:
            raise ValueError("segment_bytes must be positive")
        self.data_dir = Path(data_dir)
        self.wal_dir = self.data_dir / "wal"
        self.snap_dir = self.data_dir / "snap"
        self.segment_bytes = segment_bytes
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._lock_fd = os.open(self.data_dir / ".lock",
                                os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise StorageError(f"{self.data_dir} is in use by another Storage") from None
        self._mu = threading.Lock()
        self._closed = False
        self._ready = False  # writable: created, or loaded
        self._failed: BaseException | None = None
        self._fd = -1  # the last segment, O_APPEND
        self._size = 0  # its size
        self._dirty = False  # written since the last fsync
        self._segs: list[tuple[int, int]] = []  # (seq, first index) of every segment
        self._last_index = 0
        self._hs = HardState()
        self._meta: Metadata | None = None
        self._snap: tuple[int, int] | None = None  # (index, term) of the newest snapshot
        self._snap_seq = 0  # segment holding its marker

    # ---- construction ----------------------------------------------------------

    @staticmethod
    def exists(data_dir: str | Path) -> bool:
        """True when `data_dir` holds a WAL (at least one segment)."""
        return exists(data_dir)

    @classmethod
    def create(cls, data_dir: str | Path, member_id: int, cluster_id: int,
               peers: Iterable[int], *,
               segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> Storage:
        """Initialize an empty data directory (it may exist, without a WAL)."""
        st = cls(data_dir, segment_bytes=segment_bytes)
        try:
            if exists(st.data_dir):
                raise StorageError(f"{st.data_dir} already holds a WAL")
            st.wal_dir.mkdir(exist_ok=True)
            st.snap_dir.mkdir(exist_ok=True)
            _remove_tmp_files(st.wal_dir)
            st._meta = Metadata(member_id, cluster_id, tuple(peers))
            _metadata_record(st._meta)  # validates the ranges before touching the disk
            st._new_segment(0, 1)
            _fsync_dir(st.snap_dir)
            _fsync_dir(st.data_dir)
            _fsync_dir(st.data_dir.resolve().parent)
            st._ready = True
        except BaseException:
            st.close()
            raise
        return st

    @classmethod
    def open(cls, data_dir: str | Path, *,
             segment_bytes: int = DEFAULT_SEGMENT_BYTES) -> Storage:
        """Open an existing data directory; call `load()` before writing."""
        if not exists(data_dir):
            raise StorageError(f"{data_dir} holds no WAL")
        return cls(data_dir, segment_bytes=segment_bytes)

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- recovery --------------------------------------------------------------

    def load(self) -> Recovered:
        """Recover the durable state (see the module docstring); repairs a torn tail."""
        with self._mu:
            self._check_open()
            if self._failed is not None:
                raise StorageError(f"an earlier write failed ({self._failed!r}); reopen the "
                                   "storage") from self._failed
            self._close_segment()
            self._ready = False
            return self._load()

    def _load(self) -> Recovered:
        warnings: list[str] = []
        segs = _list_segments(self.wal_dir)
        if not segs:
            raise StorageError(f"{self.data_dir} holds no WAL")
        for (s0, _, p0), (s1, _, p1) in zip(segs, segs[1:]):
            if s1 == s0:
                raise CorruptStorageError(f"{p0} and {p1} have the same sequence number")
            if s1 != s0 + 1:
                raise CorruptStorageError(f"{self.wal_dir}: segments {s0 + 1:016x}.."
                                          f"{s1 - 1:016x} are missing (between {p0.name} "
                                          f"and {p1.name})")
        rp = _Replay(segs[0][1])
        torn: _Torn | None = None
        for i, (seq, _, path) in enumerate(segs):
            torn = rp.feed(path.read_bytes(), path, seq, last=i == len(segs) - 1)
        assert rp.meta is not None  # every segment starts with METADATA

        # -- the snapshot: the newest valid snapshot file that has a marker
        snap: Snapshot | None = None
        problems: list[str] = []
        newest_marker = max((k[0] for k in rp.markers), default=0)
        for index, term, path in reversed(_list_snaps(self.snap_dir)):
            if (index, term) not in rp.markers:
                if index > newest_marker:
                    warnings.append(f"ignored snapshot {path}: the WAL has no marker for it "
                                    "(crash before the marker was written?)")
                continue
            try:
                snap = _decode_snapshot(path.read_bytes(), index, term)
                break
            except (ValueError, struct.error) as e:
                problems.append(f"{path} is corrupt ({e})")
        base = snap.index if snap is not None else 0
        lost = sorted((k for k in rp.markers if k[0] > base), reverse=True)
        if lost:
            for index, term in lost:
                p = self.snap_dir / _snap_name(term, index)
                if not any(str(p) in pr for pr in problems):
                    problems.append(f"{p} is missing")
            what = "; ".join(problems)
            older = (f"the older snapshot at index {base}" if snap is not None
                     else "the start of the log (no older snapshot)")
            for k in lost:
                how = rp.markers[k][1]
                if how != "agreed":
                    why = ("replaced the log (a leader snapshot)" if how == "replaced" else
                           "was taken at entries the WAL no longer holds")
                    raise CorruptStorageError(
                        f"{what}; cannot fall back to {older}: the snapshot at index {k[0]} "
                        f"term {k[1]} {why}")
            if rp.known_from > base + 1:
                raise CorruptStorageError(
                    f"{what}; cannot fall back to {older}: the WAL starts at index "
                    f"{rp.known_from}")
            warnings.append(f"{what}; recovered from {older} and the WAL instead")
        elif rp.known_from > base + 1:
            raise CorruptStorageError(
                f"{self.wal_dir}: the log is known from index {rp.known_from} "
                f"(segment {segs[0][2].name}) but the snapshot is at index {base}: entries "
                f"{base + 1}..{rp.known_from - 1} are missing")

        ents = rp.ents[max(0, base + 1 - rp.known_from):]
        hs = rp.hs if rp.hs is not None else HardState()
        hs = HardState(hs.term, hs.vote, max(hs.commit, base))

        # -- repairs, only now that everything checked out
        if torn is not None:
            with open(torn.path, "r+b") as f:
                f.truncate(torn.offset)
                f.flush()
                os.fsync(f.fileno())
            warnings.append(f"{torn.path}: truncated a torn tail of {torn.size - torn.offset} "
                            f"bytes at offset {torn.offset} ({torn.reason})")
        for d in (self.wal_dir, self.snap_dir):
            for tmp in _remove_tmp_files(d):
                warnings.append(f"removed the unfinished file {tmp}")
        for w in warnings:
            log.warning("%s", w)

        # -- writer state
        self._segs = [(seq, first) for seq, first, _ in segs]
        self._meta = rp.meta
        self._hs = HardState(hs.term, hs.vote, hs.commit)
        self._last_index = max(base, rp.last_index())
        if snap is not None:
            self._snap = (snap.index, snap.term)
            self._snap_seq = rp.markers[self._snap][0]
        else:
            self._snap, self._snap_seq = None, 0
        self._open_segment(segs[-1][2])
        self._ready = True
        return Recovered(rp.meta, hs, snap, ents, warnings)

    # ---- writing ---------------------------------------------------------------

    def save(self, hard_state: HardState | None, entries: Sequence[Entry], *,
             sync: bool = True) -> None:
        """Append `entries` (contiguous, starting at <= last index + 1; a start <= last
        index overwrites the tail) and then `hard_state`; one write, one fdatasync."""
        with self._mu:
            self._check_writable()
            if not entries and hard_state is None:
                return
            parts: list[bytes] = []
            if entries:
                first = entries[0].index
                if not 1 <= first <= self._last_index + 1:
                    raise ValueError(f"entries start at index {first}, past the log's end "
                                     f"{self._last_index} + 1")
                _encode_entries(parts, entries, first)
            if hard_state is not None:
                parts.append(_hardstate_record(hard_state))
            self._append(b"".join(parts), sync)
            if entries:
                self._last_index = entries[-1].index
            if hard_state is not None:
                self._hs = HardState(hard_state.term, hard_state.vote, hard_state.commit)
            self._maybe_rotate()

    def save_snapshot(self, snap: Snapshot) -> None:
        """Write the snapshot file durably, then its SNAPSHOT marker to the WAL (fsynced)."""
        with self._mu:
            self._check_writable()
            if snap.index < 1:
                raise ValueError("a snapshot's index must be >= 1")
            if self._snap is not None and snap.index < self._snap[0]:
                raise ValueError(f"snapshot at index {snap.index} is older than the current "
                                 f"one at {self._snap[0]}")
            rec = _marker_record(snap.index, snap.term)  # validates the ranges
            _write_durably(self.snap_dir / _snap_name(snap.term, snap.index),
                           _encode_snapshot_parts(snap))
            self._append(rec, True)
            self._snap = (snap.index, snap.term)
            self._snap_seq = self._segs[-1][0]
            self._last_index = max(self._last_index, snap.index)
            self._maybe_rotate()

    def sync(self) -> None:
        """fdatasync what `save(..., sync=False)` wrote."""
        with self._mu:
            self._check_writable()
            self._sync()

    def release(self, index: int) -> None:
        """Delete WAL segments and snapshot files not needed to recover the newest
        snapshot (at most up to `index`); see "Release" in the module docstring."""
        with self._mu:
            self._check_writable()
            if self._snap is None:
                return
            limit = min(index, self._snap[0])
            n = 0
            while n + 1 < len(self._segs):
                seq, _ = self._segs[n]
                if seq >= self._snap_seq or self._segs[n + 1][1] - 1 > limit:
                    break
                n += 1
            for seq, first in self._segs[:n]:  # oldest first: the rest stays a suffix
                os.unlink(self.wal_dir / _seg_name(seq, first))
            if n:
                del self._segs[:n]
                _fsync_dir(self.wal_dir)
            snaps = _list_snaps(self.snap_dir)
            keep = {s[2] for s in [s for s in snaps if (s[0], s[1]) <= self._snap][-2:]}
            removed = False
            for _, _, p in snaps:
                if p not in keep:
                    os.unlink(p)
                    removed = True
            if removed:
                _fsync_dir(self.snap_dir)

    def disk_usage(self) -> int:
        """Bytes used by WAL segments and snapshot files."""
        total = 0
        for d in (self.wal_dir, self.snap_dir):
            with os.scandir(d) as it:
                for e in it:
                    try:
                        if e.is_file():
                            total += e.stat().st_size
                    except FileNotFoundError:  # released meanwhile
                        pass
        return total

    def close(self) -> None:
        """fdatasync unsynced writes, close the segment and release the lock."""
        with self._mu:
            if self._closed:
                return
            self._closed = True
            try:
                if self._failed is None:
                    self._close_segment()
                elif self._fd >= 0:
                    os.close(self._fd)
                    self._fd = -1
            finally:
                os.close(self._lock_fd)

    # ---- internals -------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError("storage is closed")

    def _check_writable(self) -> None:
        self._check_open()
        if self._failed is not None:
            raise StorageError(f"an earlier write failed ({self._failed!r}); reopen the "
                               "storage") from self._failed
        if not self._ready:
            raise StorageError("call load() before writing to an opened storage")

    def _append(self, buf: bytes, sync: bool) -> None:
        try:
            _write_all(self._fd, buf)
            self._size += len(buf)
            self._dirty = True
            if sync:
                _fdatasync(self._fd)
                self._dirty = False
        except BaseException as e:
            self._failed = e
            raise

    def _sync(self) -> None:
        if self._dirty:
            try:
                _fdatasync(self._fd)
            except BaseException as e:
                self._failed = e
                raise
            self._dirty = False

    def _maybe_rotate(self) -> None:
        if self._size < self.segment_bytes:
            return
        try:
            self._sync()  # only the last segment may have a torn tail
            os.close(self._fd)
            self._fd = -1
            self._new_segment(self._segs[-1][0] + 1, self._last_index + 1)
        except BaseException as e:
            self._failed = e
            raise

    def _segment_header(self) -> bytes:
        assert self._meta is not None
        parts = [_metadata_record(self._meta)]
        if self._snap is not None:
            parts.append(_marker_record(*self._snap))
        parts.append(_hardstate_record(self._hs))
        return b"".join(parts)

    def _new_segment(self, seq: int, first: int) -> None:
        path = self.wal_dir / _seg_name(seq, first)
        _write_durably(path, [self._segment_header()])
        self._segs.append((seq, first))
        self._open_segment(path)

    def _open_segment(self, path: Path) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
        self._size = os.fstat(self._fd).st_size
        self._dirty = False

    def _close_segment(self) -> None:
        if self._fd >= 0:
            try:
                self._sync()
            finally:
                os.close(self._fd)
                self._fd = -1


# ---------------------------------------------------------------------- command line


def _bench(directory: str | None, seconds: float, batch: int, size: int) -> None:
    tmp = tempfile.mkdtemp(prefix="walbench-", dir=directory)
    try:
        data = os.urandom(size)
        with Storage.create(tmp, 1, 1, [1, 2, 3]) as st:
            # encoding alone (no write, no fsync)
            ents = [Entry(i, 1, data) for i in range(1, batch + 1)]
            t0 = time.perf_counter()
            reps = 0
            while time.perf_counter() - t0 < min(0.5, seconds):
                parts: list[bytes] = []
                _encode_entries(parts, ents, 1)
                b"".join(parts)
                reps += 1
            enc = (time.perf_counter() - t0) / reps
            index, batches, busy = 1, 0, 0.0
            t0 = time.perf_counter()
            while time.perf_counter() - t0 < seconds:
                ents = [Entry(i, 1, data) for i in range(index, index + batch)]
                t1 = time.perf_counter()
                st.save(HardState(1, 1, index - 1), ents)
                busy += time.perf_counter() - t1
                index += batch
                batches += 1
            n = batches * batch
            usage = st.disk_usage()
        t0 = time.perf_counter()
        with Storage.open(tmp) as st:
            rec = st.load()
        load_s = time.perf_counter() - t0
        assert len(rec.entries) == n
        print(f"wal bench in {tmp}: batches of {batch} entries x {size} bytes, "
              f"{batches} batches in {busy:.2f}s of save()")
        print(f"  fsyncs/s:   {batches / busy:10.0f}   ({busy / batches * 1e3:.2f} ms per batch, "
              f"{enc * 1e6:.0f} us of it encoding)")
        print(f"  entries/s:  {n / busy:10.0f}   ({usage / busy / 1e6:.1f} MB/s)")
        print(f"  load():     {load_s:10.3f}s for {n} entries, {usage / 1e6:.1f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _dump(data_dir: str) -> None:
    d = Path(data_dir)
    for seq, first, path in _list_segments(d / "wal"):
        recs = scan_segment(path)
        size = path.stat().st_size
        counts: dict[str, int] = {}
        for r in recs:
            counts[REC_NAMES[r.type]] = counts.get(REC_NAMES[r.type], 0) + 1
        end = recs[-1].offset + recs[-1].size if recs else 0
        tail = "" if end == size else f", {size - end} invalid bytes at offset {end}"
        print(f"{path.name}: seq {seq} first {first}, {size} bytes, {counts}{tail}")
    for index, term, path in _list_snaps(d / "snap"):
        print(f"{path.name}: index {index} term {term}, {path.stat().st_size} bytes")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m actors.etcd.wal", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", action="store_true", help="measure save() throughput")
    ap.add_argument("--dir", default=None, help="where the bench writes (default: $TMPDIR)")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--size", type=int, default=300)
    ap.add_argument("--dump", metavar="DATA_DIR", help="list a data directory's records")
    args = ap.parse_args(argv)
    if args.bench:
        _bench(args.dir, args.seconds, args.batch, args.size)
    elif args.dump:
        _dump(args.dump)
    else:
        ap.print_usage()
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
