"""Tests of the member's durable storage (actors/etcd/wal.py): WAL segments + snapshot files.

Most tests run a table of operations against both a `Storage` and a tiny in-memory
model of what raft expects back, then compare `load()` with the model.
"""

from __future__ import annotations

import os
import random
import signal
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from actors.etcd import wal
from actors.etcd.rafttypes import Entry, HardState, Snapshot
from actors.etcd.wal import (
    REC_ENTRY,
    REC_HARDSTATE,
    REC_METADATA,
    REC_SNAPSHOT,
    CorruptStorageError,
    Metadata,
    RecordInfo,
    Recovered,
    Storage,
    StorageError,
)

REPO = Path(__file__).resolve().parents[2]
MEMBER, CLUSTER, PEERS = 7, 42, (1, 2, 3)
META = Metadata(MEMBER, CLUSTER, PEERS)
BIG = wal.DEFAULT_SEGMENT_BYTES


def payload(index: int, term: int, size: int) -> bytes:
    return (f"{index}/{term}|".encode() * (size // 4 + 1))[:size]


def ents(first: int, last: int, term: int = 1, size: int = 20) -> list[Entry]:
    return [Entry(i, term, payload(i, term, size)) for i in range(first, last + 1)]


def snapshot(index: int, term: int) -> Snapshot:
    return Snapshot(index, term, f"state@{index}/{term}".encode() * 3, PEERS)


# ------------------------------------------------------------------- operations + model


@dataclass(frozen=True)
class Save:
    first: int  # entries first..last (none when last < first)
    last: int
    term: int = 1
    hs: HardState | None = None
    size: int = 20
    sync: bool = True


@dataclass(frozen=True)
class Snap:
    index: int
    term: int = 1


@dataclass(frozen=True)
class Release:
    index: int


@dataclass(frozen=True)
class Reopen:
    """close, open, load and compare with the model"""


Op = Save | Snap | Release | Reopen


class Model:
    """What raft should get back: the log with overwrites, the newest snapshot, hard state."""

    def __init__(self) -> None:
        self.log: dict[int, Entry] = {}
        self.hs = HardState()
        self.snap: Snapshot | None = None

    def save(self, hs: HardState | None, entries: list[Entry]) -> None:
        if entries:
            for k in [k for k in self.log if k >= entries[0].index]:
                del self.log[k]
            self.log.update((e.index, e) for e in entries)
        if hs is not None:
            self.hs = hs

    def expected(self) -> tuple[HardState, Snapshot | None, list[Entry]]:
        base = self.snap.index if self.snap else 0
        hs = HardState(self.hs.term, self.hs.vote, max(self.hs.commit, base))
        return hs, self.snap, [self.log[k] for k in sorted(self.log) if k > base]


def check(rec: Recovered, m: Model, *, warnings: bool = False) -> None:
    hs, snap, entries = m.expected()
    assert rec.metadata == META
    assert rec.hard_state == hs
    assert rec.snapshot == snap
    assert [(e.index, e.term) for e in rec.entries] == [(e.index, e.term) for e in entries]
    assert rec.entries == entries
    if not warnings:
        assert rec.warnings == []


def apply(st: Storage, m: Model, op: Op) -> Storage:
    if isinstance(op, Save):
        es = ents(op.first, op.last, op.term, op.size)
        st.save(op.hs, es, sync=op.sync)
        m.save(op.hs, es)
    elif isinstance(op, Snap):
        s = snapshot(op.index, op.term)
        st.save_snapshot(s)
        m.snap = s
    elif isinstance(op, Release):
        st.release(op.index)
    else:
        seg = st.segment_bytes
        st.close()
        st = Storage.open(st.data_dir, segment_bytes=seg)
        check(st.load(), m)
    return st


def run(d: Path, ops: list[Op], segment_bytes: int = BIG) -> Model:
    """Apply `ops`, close, and check a fresh load against the model."""
    m = Model()
    st = Storage.create(d, MEMBER, CLUSTER, PEERS, segment_bytes=segment_bytes)
    try:
        for op in ops:
            st = apply(st, m, op)
    finally:
        st.close()
    check(reload(d), m)
    return m


def reload(d: Path, segment_bytes: int = BIG) -> Recovered:
    with Storage.open(d, segment_bytes=segment_bytes) as st:
        return st.load()


def segments(d: Path) -> list[tuple[int, int, Path]]:
    out = []
    for p in sorted((d / "wal").glob("*.wal")):
        seq, first = p.stem.split("-")
        out.append((int(seq, 16), int(first, 16), p))
    return out


def snap_files(d: Path) -> list[Path]:
    return sorted((d / "snap").glob("*.snap"))


def batches(first: int, n: int, per: int, term: int = 1, size: int = 20) -> list[Op]:
    """n batches of `per` entries from `first`, each with a hard state."""
    return [Save(first + b * per, first + (b + 1) * per - 1, term,
                 HardState(term, 1, first + b * per - 1), size) for b in range(n)]


# ------------------------------------------------------------------- round trips


@pytest.mark.parametrize("ops", [
    pytest.param([], id="fresh"),
    pytest.param([Save(1, 0, hs=HardState(1, 2, 0))], id="hardstate_only"),
    pytest.param([Save(1, 10)], id="entries_only"),
    pytest.param([Save(1, 10, 2, HardState(2, 1, 5))], id="entries_and_hardstate"),
    pytest.param(batches(1, 50, 10), id="many_batches"),
    pytest.param([Save(1, 3, size=0), Save(4, 6, size=1)], id="empty_and_tiny_data"),
    pytest.param([Save(1, 3, size=1 << 20)], id="one_mib_entries"),
    pytest.param([Save(1, 5, sync=False), Save(6, 8, hs=HardState(1, 1, 8), sync=False)],
                 id="unsynced_then_close"),
    pytest.param([Save(1, 5, hs=HardState(1, 1, 3)), Reopen(), Save(6, 9), Reopen(),
                  Save(10, 10, hs=HardState(2, 3, 9))], id="reopen_and_continue"),
    pytest.param([Save(1, 5, hs=HardState(1, 1, 3)), Save(6, 6), Save(1, 0, hs=HardState(4))],
                 id="later_hardstate_wins"),
])
def test_round_trip(tmp_path: Path, ops: list[Op]) -> None:
    run(tmp_path / "d", ops)


@pytest.mark.parametrize("ops,segment_bytes", [
    pytest.param([Save(1, 10), Save(6, 8, 2)], BIG, id="overwrite_middle"),
    pytest.param([Save(1, 10), Save(10, 12, 2)], BIG, id="overwrite_last"),
    pytest.param([Save(1, 10), Save(1, 3, 2)], BIG, id="overwrite_from_first"),
    pytest.param([Save(1, 10), Save(4, 5, 2), Save(6, 20, 2)], BIG,
                 id="overwrite_shorter_then_append"),
    pytest.param([*batches(1, 20, 10), Save(15, 17, 3), Reopen(), Save(18, 30, 3)], 1024,
                 id="overwrite_into_earlier_segment"),
    pytest.param([Save(1, 10), Save(8, 8, 2), Save(5, 6, 3), Save(7, 9, 3)], BIG,
                 id="repeated_overwrites"),
])
def test_conflicting_tail_is_overwritten(tmp_path: Path, ops: list[Op],
                                         segment_bytes: int) -> None:
    run(tmp_path / "d", ops, segment_bytes)


@pytest.mark.parametrize("ops", [
    pytest.param([Save(1, 10), Snap(5), Save(11, 15)], id="local_compaction"),
    pytest.param([Save(1, 10), Snap(10)], id="snapshot_at_last_index"),
    pytest.param([Save(1, 10), Snap(4), Save(11, 20), Snap(15), Save(21, 22)],
                 id="two_snapshots"),
    pytest.param([Save(1, 5), Snap(50, 3), Save(51, 55, 3)], id="leader_snapshot_past_log"),
    pytest.param([Save(1, 5, hs=HardState(1, 1, 2)), Snap(50, 3)],
                 id="leader_snapshot_raises_commit"),
    # like etcd: a leader snapshot leaves the divergent tail until the leader overwrites it
    pytest.param([Save(1, 10), Snap(5, 2)], id="leader_snapshot_keeps_stale_tail"),
    pytest.param([Save(1, 10), Snap(5, 2), Save(6, 7, 2)], id="stale_tail_overwritten"),
    pytest.param([Save(1, 10), Snap(5), Reopen(), Save(11, 20), Snap(15), Reopen(),
                  Save(21, 21)], id="snapshots_across_reopens"),
    pytest.param([Save(1, 10), Snap(5), Snap(5)], id="same_snapshot_twice"),
])
def test_snapshot_and_later_entries(tmp_path: Path, ops: list[Op]) -> None:
    run(tmp_path / "d", ops)


# ------------------------------------------------------------------- segments and release


def entry_indexes(path: Path) -> list[int]:
    buf = path.read_bytes()
    return [struct.unpack_from("<Q", buf, r.offset + wal.HEADER_SIZE)[0]
            for r in wal.scan_segment(path) if r.type == REC_ENTRY]


@pytest.mark.parametrize("segment_bytes,n_segments", [
    pytest.param(1, 22, id="rotate_after_every_save"),  # 20 saves + 1 snapshot
    pytest.param(4096, None, id="rotate_every_few_saves"),
    pytest.param(BIG, 1, id="no_rotation"),
])
def test_segment_rotation(tmp_path: Path, segment_bytes: int, n_segments: int | None) -> None:
    d = tmp_path / "d"
    run(d, [*batches(1, 10, 10), Snap(50), *batches(101, 10, 10)], segment_bytes)
    segs = segments(d)
    if n_segments is None:
        assert 3 <= len(segs) <= 10
    else:
        assert len(segs) == n_segments
    assert [s[0] for s in segs] == list(range(len(segs)))
    last, snapshotted = 0, False
    for seq, first, path in segs:
        # named after the log's last index when it was created
        assert first == last + 1, (seq, first, last)
        recs = wal.scan_segment(path)
        assert sum(r.size for r in recs) == path.stat().st_size
        # self-describing: METADATA [SNAPSHOT] HARDSTATE
        header = [r.type for r in recs[:3]]
        assert header[:2] == [REC_METADATA, REC_HARDSTATE] or header == [
            REC_METADATA, REC_SNAPSHOT, REC_HARDSTATE]
        assert (header[1] == REC_SNAPSHOT) == snapshotted  # once there is a snapshot
        snapshotted = any(r.type == REC_SNAPSHOT for r in recs)
        last = max([last, *entry_indexes(path)])
    assert last == 200


@pytest.mark.parametrize("ops,deleted", [
    pytest.param([*batches(1, 20, 10), Snap(150), Release(150)], True, id="release_at_snapshot"),
    pytest.param([*batches(1, 20, 10), Snap(150), Release(10**9)], True,
                 id="release_past_snapshot_is_clamped"),
    pytest.param([*batches(1, 20, 10), Release(150)], False, id="release_without_snapshot"),
    pytest.param([*batches(1, 20, 10), Snap(150), Release(5)], False,
                 id="release_below_first_segment"),
    pytest.param([*batches(1, 20, 10), Snap(150), Release(150), *batches(201, 5, 10),
                  Reopen(), *batches(251, 5, 10)], True, id="release_then_write_and_reopen"),
    pytest.param([*batches(1, 20, 10), Snap(150), Reopen(), Release(150), Reopen()], True,
                 id="release_after_reopen"),
    pytest.param([*batches(1, 5, 10), Snap(500, 4), *batches(501, 10, 10, 4), Release(500)],
                 True, id="release_after_leader_snapshot"),
    pytest.param([*batches(1, 10, 10), Snap(30), *batches(101, 10, 10), Snap(120),
                  *batches(201, 10, 10), Snap(250), Release(250), Snap(300), Release(300)],
                 True, id="several_snapshots"),
])
def test_recovery_after_release(tmp_path: Path, ops: list[Op], deleted: bool) -> None:
    d = tmp_path / "d"
    m = run(d, ops, segment_bytes=1024)
    segs = segments(d)
    assert (segs[0][0] > 0) == deleted
    base = m.snap.index if m.snap else 0
    assert segs[0][1] - 1 <= base, "the first remaining segment starts after the snapshot"
    assert len(snap_files(d)) <= 2
    if m.snap:
        assert (d / "snap" / f"{m.snap.term:016x}-{m.snap.index:016x}.snap").exists()


def test_disk_use_stays_bounded(tmp_path: Path) -> None:
    d = tmp_path / "d"
    st = Storage.create(d, MEMBER, CLUSTER, PEERS, segment_bytes=16 << 10)
    m = Model()
    usage = []
    try:
        for cycle in range(40):
            for op in [*batches(cycle * 200 + 1, 4, 50, size=100), Snap(cycle * 200 + 200)]:
                st = apply(st, m, op)
            st.release(cycle * 200 + 200)
            usage.append(st.disk_usage())
            if cycle % 10 == 9:
                st = apply(st, m, Reopen())
    finally:
        st.close()
    check(reload(d), m)
    assert max(usage[5:]) < 3 * 200 * 150 + 3 * (16 << 10), usage
    assert len(segments(d)) <= 4 and len(snap_files(d)) <= 2


# ------------------------------------------------------------------- torn tails


def _last_op_cases() -> list[object]:
    prefix: list[Op] = [*batches(1, 3, 5, size=300), Snap(10)]
    return [
        pytest.param(prefix, Save(16, 16, size=300), id="entry_record"),
        pytest.param(prefix, Save(16, 18, 2, HardState(2, 1, 15), 300),
                     id="batch_of_entries_and_hardstate"),
        pytest.param(prefix, Save(16, 15, hs=HardState(3, 2, 15)), id="hardstate_record"),
        pytest.param([*prefix, Save(16, 20)], Snap(20), id="snapshot_marker"),
        pytest.param(prefix, Save(12, 13, 2, HardState(2, 1, 12), 300), id="overwrite_batch"),
    ]


def _partial(op: Op, k: int) -> list[Op]:
    """The effect of the first k complete records of `op`'s batch."""
    if isinstance(op, Save):
        n = max(0, op.last - op.first + 1)
        if k > n:
            return [op]
        return [Save(op.first, op.first + k - 1, op.term, None, op.size)] if k else []
    return [op] if k else []


def model_of(ops: list[Op]) -> Model:
    m = Model()
    for op in ops:
        if isinstance(op, Save):
            m.save(op.hs, ents(op.first, op.last, op.term, op.size))
        elif isinstance(op, Snap):
            m.snap = snapshot(op.index, op.term)
    return m


@pytest.mark.parametrize("prefix,last", _last_op_cases())
def test_torn_last_record_is_truncated(tmp_path: Path, prefix: list[Op], last: Op) -> None:
    """Cut the last segment at every byte offset of the last batch."""
    d = tmp_path / "d"
    run(d, prefix)
    seg = segments(d)[-1][2]
    start = seg.stat().st_size
    with Storage.open(d) as st:
        st.load()
        apply(st, Model(), last)
    full = seg.read_bytes()
    recs = [r for r in wal.scan_segment(seg) if r.offset >= start]
    bounds = [start] + [r.offset + r.size for r in recs]  # clean ends
    assert bounds[-1] == len(full)
    for cut in range(start, len(full)):
        seg.write_bytes(full[:cut])
        k = max(i for i, b in enumerate(bounds) if b <= cut)  # complete records of `last`
        want = model_of([*prefix, *_partial(last, k)])
        with Storage.open(d) as st:
            rec = st.load()
            check(rec, want, warnings=True)
            torn = [w for w in rec.warnings if "torn tail" in w]
            assert bool(torn) == (cut not in bounds), rec.warnings
            if torn:
                assert str(seg) in torn[0] and f"offset {bounds[k]}" in torn[0]
            assert seg.stat().st_size == bounds[k]
            # a new save after recovery works
            nxt = max([e.index for e in rec.entries] + [rec.snapshot.index if rec.snapshot else 0])
            more = (HardState(9, 1, nxt), ents(nxt + 1, nxt + 2, 9))
            st.save(*more)
        want.save(*more)
        rec = reload(d)
        check(rec, want, warnings=True)
        assert not any("torn tail" in w for w in rec.warnings)


@pytest.mark.parametrize("damage,repaired", [
    pytest.param("flip_payload_byte", True, id="crc_mismatch_on_last_record"),
    pytest.param("zero_tail", True, id="zero_filled_tail"),
    pytest.param("zero_last_record", True, id="last_record_zeroed"),
    pytest.param("zero_last_record_payload", True, id="last_record_payload_zeroed"),
    pytest.param("garbage_short", True, id="short_garbage_tail"),
    # a header is checked by its own crc: a bad one is corruption even at the end
    pytest.param("flip_crc_byte", False, id="header_of_last_record_raises"),
    pytest.param("flip_length_byte", False, id="length_of_last_record_raises"),
])
def test_damaged_tail(tmp_path: Path, damage: str, repaired: bool) -> None:
    d = tmp_path / "d"
    m = run(d, batches(1, 3, 5, size=100))
    seg = segments(d)[-1][2]
    buf = bytearray(seg.read_bytes())
    last = wal.scan_segment(seg)[-1]
    size = len(buf)
    if damage == "flip_payload_byte":
        buf[last.offset + last.size - 3] ^= 0xFF
    elif damage == "flip_crc_byte":
        buf[last.offset + 5] ^= 0x01
    elif damage == "flip_length_byte":
        buf[last.offset] ^= 0x01
    elif damage == "zero_tail":
        buf += bytes(5000)
    elif damage == "zero_last_record":
        buf[last.offset:] = bytes(last.size)
    elif damage == "zero_last_record_payload":
        buf[last.offset + wal.HEADER_SIZE:] = bytes(last.size - wal.HEADER_SIZE)
    else:
        buf += b"\x17\x99\x03"
    seg.write_bytes(bytes(buf))
    if not repaired:
        with pytest.raises(CorruptStorageError, match=f"offset {last.offset}: record header"):
            reload(d)
        assert seg.read_bytes() == buf
        return
    rec = reload(d)
    if damage.startswith(("flip", "zero_last")):
        m.hs = HardState(1, 1, 5)  # the last batch's HARDSTATE record is gone
    check(rec, m, warnings=True)
    assert len(rec.warnings) == 1 and "torn tail" in rec.warnings[0]
    assert seg.stat().st_size == (size if damage in ("zero_tail", "garbage_short")
                                  else last.offset)


# ------------------------------------------------------------------- corruption


def _flip_targets() -> list[object]:
    hs = REC_HARDSTATE
    return [
        pytest.param(0, lambda recs: recs[0], id="metadata_record"),
        pytest.param(0, lambda recs: recs[1], id="segment_header_hardstate"),
        pytest.param(0, lambda recs: recs[5], id="entry_in_middle"),
        pytest.param(0, lambda recs: next(r for r in recs[2:] if r.type == hs),
                     id="hardstate_in_middle"),
        pytest.param(0, lambda recs: next(r for r in recs[2:] if r.type == REC_SNAPSHOT),
                     id="snapshot_marker_in_middle"),
        pytest.param(1, lambda recs: recs[1], id="header_snapshot_marker"),
        pytest.param(1, lambda recs: recs[-1], id="last_record_of_non_last_segment"),
        pytest.param(-1, lambda recs: recs[0], id="metadata_of_last_segment"),
        pytest.param(-1, lambda recs: recs[4], id="entry_in_middle_of_last_segment"),
        pytest.param(-1, lambda recs: recs[-2], id="record_before_the_last_one"),
    ]


@pytest.mark.parametrize("which_seg,pick", _flip_targets())
def test_flipped_byte_in_the_middle_raises(tmp_path: Path, which_seg: int,
                                           pick: Callable[[list[RecordInfo]], RecordInfo]) -> None:
    """Flip every byte of one record, one at a time: always CorruptStorageError."""
    d = tmp_path / "d"
    run(d, [*batches(1, 3, 4, size=30), Snap(6), *batches(13, 2, 4, size=30),
            Save(21, 23, size=2000), *batches(24, 2, 4, size=30)], segment_bytes=1000)
    assert len(segments(d)) == 3
    seg = segments(d)[which_seg][2]
    orig = seg.read_bytes()
    rec = pick(wal.scan_segment(seg))
    for i in range(rec.offset, rec.offset + rec.size):
        buf = bytearray(orig)
        buf[i] ^= 0xFF
        seg.write_bytes(bytes(buf))
        with pytest.raises(CorruptStorageError) as ei:
            reload(d)
        msg = str(ei.value)
        assert str(seg) in msg and f"offset {rec.offset}:" in msg, (i, msg)
        assert seg.read_bytes() == bytes(buf), "a failed load must not modify the files"
    seg.write_bytes(orig)
    assert not reload(d).warnings


def _record(rtype: int, payload: bytes) -> bytes:
    """A record in the documented on-disk format."""
    h = struct.pack("<IIB", len(payload), zlib.crc32(bytes([rtype]) + payload), rtype)
    return h + struct.pack("<I", zlib.crc32(h)) + payload


def _meta_payload(meta: Metadata) -> bytes:
    return struct.pack(f"<QQI{len(meta.peers)}Q", meta.member_id, meta.cluster_id,
                       len(meta.peers), *meta.peers)


def _corrupt(d: Path, how: str) -> None:
    segs = segments(d)
    last = segs[-1][2]
    if how == "unknown_type_in_middle":
        buf = last.read_bytes()
        r = wal.scan_segment(last)[4]
        last.write_bytes(buf[:r.offset] + _record(9, b"hello") + buf[r.offset:])
    elif how == "unknown_type_at_end":
        with open(last, "ab") as f:
            f.write(_record(9, b"hello"))
    elif how == "malformed_hardstate":
        with open(last, "ab") as f:
            f.write(_record(REC_HARDSTATE, b"\0" * 23))
    elif how == "missing_middle_segment":
        segs[1][2].unlink()
    elif how == "torn_non_last_segment":
        p = segs[0][2]
        p.write_bytes(p.read_bytes()[:-3])
    elif how == "empty_last_segment":
        (d / "wal" / f"{segs[-1][0] + 1:016x}-{10**6:016x}.wal").write_bytes(b"")
    elif how == "last_segment_without_metadata":
        (d / "wal" / f"{segs[-1][0] + 1:016x}-{10**6:016x}.wal").write_bytes(
            _record(REC_HARDSTATE, struct.pack("<QQQ", 1, 1, 1)))
    elif how == "metadata_in_the_middle":
        with open(last, "ab") as f:
            f.write(_record(REC_METADATA, _meta_payload(META)))
    elif how == "other_clusters_segment":
        (d / "wal" / f"{segs[-1][0] + 1:016x}-{10**6:016x}.wal").write_bytes(
            _record(REC_METADATA, _meta_payload(Metadata(MEMBER, 43, PEERS)))
            + _record(REC_HARDSTATE, struct.pack("<QQQ", 1, 1, 1)))
    elif how == "released_prefix_without_snapshot":
        segs[0][2].unlink()
    elif how == "bad_segment_name":
        (d / "wal" / "junk.wal").write_bytes(b"")
    else:
        raise AssertionError(how)


@pytest.mark.parametrize("how,message", [
    pytest.param("unknown_type_in_middle", "unknown record type 9", id="unknown_type_in_middle"),
    pytest.param("unknown_type_at_end", "unknown record type 9", id="unknown_type_at_end"),
    pytest.param("malformed_hardstate", "malformed HARDSTATE", id="malformed_payload"),
    pytest.param("missing_middle_segment", "missing", id="missing_middle_segment"),
    pytest.param("torn_non_last_segment", "not the last one", id="torn_non_last_segment"),
    pytest.param("empty_last_segment", "header", id="empty_last_segment"),
    pytest.param("last_segment_without_metadata", "not METADATA", id="segment_without_metadata"),
    pytest.param("metadata_in_the_middle", "METADATA record in the middle",
                 id="metadata_in_the_middle"),
    pytest.param("other_clusters_segment", "differs", id="metadata_mismatch"),
    pytest.param("released_prefix_without_snapshot", "are missing",
                 id="released_prefix_without_snapshot"),
    pytest.param("bad_segment_name", "not a WAL segment name", id="bad_segment_name"),
])
def test_other_corruption_raises(tmp_path: Path, how: str, message: str) -> None:
    d = tmp_path / "d"
    run(d, batches(1, 10, 10), segment_bytes=2048)
    assert len(segments(d)) >= 3
    _corrupt(d, how)
    before = {p: p.read_bytes() for p in (d / "wal").iterdir()}
    with pytest.raises(CorruptStorageError, match=message):
        reload(d)
    assert {p: p.read_bytes() for p in (d / "wal").iterdir()} == before


# ------------------------------------------------------------------- snapshot files


def _snap_path(d: Path, index: int, term: int = 1) -> Path:
    return d / "snap" / f"{term:016x}-{index:016x}.snap"


def _snap_file(s: Snapshot) -> bytes:
    """A snapshot file in the documented format."""
    body = struct.pack(f"<QQI{len(s.peers)}Q", s.index, s.term, len(s.peers), *s.peers) + s.data
    return struct.pack("<I", zlib.crc32(body)) + body


@pytest.mark.parametrize("ops,damage,want", [
    pytest.param([Save(1, 30), Snap(10), Snap(20)], ("flip", 20), 10,
                 id="newest_corrupt_falls_back"),
    pytest.param([Save(1, 30), Snap(10), Snap(20)], ("delete", 20), 10,
                 id="newest_missing_falls_back"),
    pytest.param([Save(1, 30), Snap(10), Snap(20)], ("truncate", 20), 10,
                 id="newest_truncated_falls_back"),
    pytest.param([Save(1, 30), Snap(10), Snap(20)], ("rename", 20), 10,
                 id="newest_with_wrong_name_falls_back"),
    pytest.param([Save(1, 30), Snap(10)], ("flip", 10), 0,
                 id="only_snapshot_corrupt_falls_back_to_log"),
    pytest.param([Save(1, 30), Snap(10), Snap(20)], ("orphan", 25), 20,
                 id="orphan_without_marker_ignored"),
    pytest.param([Save(1, 30), Snap(10), Snap(20)], ("flip", 10), 20,
                 id="older_corrupt_is_not_read"),
    pytest.param([*batches(1, 20, 10), Snap(100), Release(100), *batches(201, 5, 10),
                  Snap(220), Release(220)], ("flip", 220), "cannot fall back",
                 id="newest_corrupt_after_release_raises"),
    pytest.param([*batches(1, 20, 10), Snap(150), Release(150)], ("flip", 150),
                 "cannot fall back", id="only_snapshot_corrupt_after_release_raises"),
    pytest.param([Save(1, 5), Snap(50, 3), Save(51, 55, 3)], ("flip", 50),
                 "replaced the log", id="leader_snapshot_corrupt_raises"),
    pytest.param([Save(1, 10), Snap(5, 2), Save(6, 8, 2)], ("flip", 5),
                 "replaced the log", id="divergent_leader_snapshot_corrupt_raises"),
])
def test_corrupt_snapshot_file(tmp_path: Path, ops: list[Op], damage: tuple[str, int],
                               want: int | str) -> None:
    d = tmp_path / "d"
    m = run(d, ops, segment_bytes=1024)
    kind, index = damage
    term = next((o.term for o in ops if isinstance(o, Snap) and o.index == index), 1)
    p = _snap_path(d, index, term)
    if kind == "flip":
        buf = bytearray(p.read_bytes())
        buf[len(buf) // 2] ^= 0x40
        p.write_bytes(bytes(buf))
    elif kind == "delete":
        p.unlink()
    elif kind == "truncate":
        p.write_bytes(p.read_bytes()[:10])
    elif kind == "rename":  # a file whose content is another snapshot's
        p.write_bytes(_snap_path(d, 10).read_bytes())
    else:
        p.write_bytes(_snap_file(snapshot(index, 1)))
    if isinstance(want, str):
        with pytest.raises(CorruptStorageError, match=want) as ei:
            reload(d)
        assert str(p) in str(ei.value)
        return
    rec = reload(d)
    m.snap = snapshot(want, 1) if want else None
    check(rec, m, warnings=True)
    if kind == "flip" and index < want:  # an older snapshot is never read
        assert rec.warnings == []
    else:
        assert len(rec.warnings) == 1 and str(p) in rec.warnings[0], rec.warnings


def test_unfinished_temp_files_are_removed(tmp_path: Path) -> None:
    d = tmp_path / "d"
    m = run(d, [Save(1, 10), Snap(5)])
    (d / "snap" / "0000000000000001-0000000000000009.snap.tmp").write_bytes(b"partial")
    (d / "wal" / "0000000000000001-000000000000000b.wal.tmp").write_bytes(b"partial")
    rec = reload(d)
    check(rec, m, warnings=True)
    assert len(rec.warnings) == 2
    assert not list(d.glob("*/*.tmp"))


# ------------------------------------------------------------------- API contract


def test_api_misuse(tmp_path: Path) -> None:
    d = tmp_path / "d"
    assert not Storage.exists(d) and not wal.exists(d)
    with pytest.raises(StorageError):
        Storage.open(d)
    st = Storage.create(d, MEMBER, CLUSTER, PEERS)
    assert Storage.exists(d)
    with pytest.raises(StorageError, match="in use"):
        Storage.open(d)
    with pytest.raises(ValueError, match="past the log's end"):
        st.save(None, ents(2, 3))
    with pytest.raises(ValueError, match="not contiguous"):
        st.save(None, [Entry(1, 1), Entry(3, 1)])
    st.save(None, ents(1, 5))
    st.save_snapshot(snapshot(4, 1))
    with pytest.raises(ValueError, match="older"):
        st.save_snapshot(snapshot(3, 1))
    assert st.disk_usage() > 0
    st.close()
    st.close()
    with pytest.raises(StorageError, match="closed"):
        st.save(None, ents(6, 6))
    with pytest.raises(StorageError, match="already"):
        Storage.create(d, MEMBER, CLUSTER, PEERS)
    st = Storage.open(d)
    with pytest.raises(StorageError, match="load"):
        st.save(None, ents(6, 6))
    rec = st.load()
    assert [e.index for e in rec.entries] == [5] and rec.snapshot == snapshot(4, 1)
    st.close()


def test_group_commit_one_write_one_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    write_all, fdatasync, write_durably = wal._write_all, wal._fdatasync, wal._write_durably

    def rec_write(fd: int, buf: bytes) -> None:
        calls.append("write")
        write_all(fd, buf)

    def rec_sync(fd: int) -> None:
        calls.append("fdatasync")
        fdatasync(fd)

    def rec_durably(path: Path, parts: list[bytes]) -> None:
        calls.append(f"new {path.suffix}")
        write_durably(path, parts)

    monkeypatch.setattr(wal, "_write_all", rec_write)
    monkeypatch.setattr(wal, "_fdatasync", rec_sync)
    monkeypatch.setattr(wal, "_write_durably", rec_durably)
    with Storage.create(tmp_path / "d", MEMBER, CLUSTER, PEERS, segment_bytes=50_000) as st:
        calls.clear()
        st.save(HardState(1, 1, 0), ents(1, 100, size=300))  # 33 kB
        assert calls == ["write", "fdatasync"]
        calls.clear()
        st.save(HardState(1, 1, 100), ents(101, 200, size=300), sync=False)  # rotates
        # the full segment is fsynced before the next one exists
        assert calls == ["write", "fdatasync", "new .wal", "write"]
        calls.clear()
        st.save(None, ents(201, 201), sync=False)
        st.sync()
        assert calls == ["write", "fdatasync"]
        calls.clear()
        st.save_snapshot(snapshot(150, 1))
        # the snapshot file is durable before its marker; the marker is fsynced
        assert calls[0] == "new .snap" and calls[-2:] == ["write", "fdatasync"]
    assert [s[1] for s in segments(tmp_path / "d")] == [1, 201]


def test_create_in_existing_empty_dir(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "wal").mkdir()
    (d / "wal" / "0000000000000000-0000000000000001.wal.tmp").write_bytes(b"x")
    run(d, [Save(1, 3)])


# ------------------------------------------------------------------- crash simulation


def crash_payload(index: int) -> bytes:
    # the rare multi-MiB entry makes SIGKILL land inside a write (a torn tail) now and then
    size = 6 << 20 if index % 157 == 0 else 100_000 if index % 41 == 0 else 40 + index % 200
    return (f"<{index}>".encode() * (size // 3 + 1))[:size]


def crash_child(d: str, seed: int, snap_every: int) -> None:
    """Runs in a subprocess: save batches forever, printing each once save() returned."""
    rng = random.Random(seed)
    st = Storage.create(d, MEMBER, CLUSTER, PEERS, segment_bytes=256 << 10)
    index, term, last_snap = 0, 1, 0
    print("ready", flush=True)
    while True:
        if rng.random() < 0.05:
            term += 1
        n = rng.randint(1, 40)
        es = [Entry(i, term, crash_payload(i)) for i in range(index + 1, index + n + 1)]
        hs = HardState(term, 1, index)
        st.save(hs, es)
        index += n
        print(f"saved {index} {term} {hs.commit}", flush=True)
        if snap_every and index - last_snap >= snap_every:
            st.save_snapshot(Snapshot(index, term, f"state@{index}".encode(), PEERS))
            st.release(index)
            last_snap = index
            print(f"snap {index}", flush=True)


@pytest.mark.parametrize("seed,snap_every", [
    pytest.param(1, 0, id="append_only_1"),
    pytest.param(2, 0, id="append_only_2"),
    pytest.param(3, 0, id="append_only_3"),
    pytest.param(4, 300, id="snapshots_1"),
    pytest.param(5, 300, id="snapshots_2"),
    pytest.param(6, 150, id="snapshots_3"),
    pytest.param(7, 100, id="snapshots_4"),
    pytest.param(8, 0, id="append_only_4"),
])
def test_sigkill_loses_no_acknowledged_batch(tmp_path: Path, seed: int, snap_every: int) -> None:
    d = tmp_path / "d"
    code = f"from tests.unit.test_wal import crash_child; crash_child({str(d)!r}, {seed}, {snap_every})"
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(random.Random(seed).uniform(0.1, 0.8))
    os.kill(proc.pid, signal.SIGKILL)
    out = proc.stdout.read()
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    lines = [ln.split() for ln in out.decode().split("\n")[:-1]]  # complete lines only
    saved = [ln for ln in lines if ln[0] == "saved"]
    assert saved, "the child saved nothing before it was killed"
    last, term, commit = (int(x) for x in saved[-1][1:])
    snap = max([int(ln[1]) for ln in lines if ln[0] == "snap"], default=0)

    with Storage.open(d, segment_bytes=256 << 10) as st:
        rec = st.load()
        # possible: a torn tail, a snapshot file whose marker never made it, a temp file
        assert all(any(k in w for k in ("torn tail", "no marker", "unfinished"))
                   for w in rec.warnings), rec.warnings
        base = rec.snapshot.index if rec.snapshot else 0
        assert base >= snap
        if rec.snapshot:
            assert rec.snapshot.data == f"state@{base}".encode()
        got = [e.index for e in rec.entries]
        assert got == list(range(base + 1, base + 1 + len(got)))
        assert max(got, default=base) >= last, "an acknowledged batch was lost"
        assert all(e.data == crash_payload(e.index) for e in rec.entries)
        assert rec.hard_state.term >= term and rec.hard_state.commit >= commit
        nxt = max(got, default=base) + 1
        st.save(HardState(rec.hard_state.term, 1, nxt - 1), [Entry(nxt, rec.hard_state.term,
                                                                    b"after")])
    rec2 = reload(d)
    assert rec2.entries[-1] == Entry(nxt, rec.hard_state.term, b"after")
    assert not any("torn tail" in w for w in rec2.warnings)


# ------------------------------------------------------------------- bench entry point


def test_bench_entry_point_prints_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert wal.main(["--bench", "--seconds", "0.2", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "fsyncs/s" in out and "entries/s" in out
    print(out)
