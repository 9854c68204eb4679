"""Conversion between the raft core's dataclasses and the `kubemu.raftpb` envelope.

Field for field; used only at the network edge of the member actor.
"""

from __future__ import annotations

from typing import Any, cast

from protos.raftpb import raft_pb2

from .rafttypes import Entry, Message, MsgType, Snapshot


def message_to_pb(m: Message) -> raft_pb2.Message:
    pb = raft_pb2.Message(
        type=cast(Any, int(m.type)), to=m.to, frm=m.frm, term=m.term, log_term=m.log_term,
        index=m.index, commit=m.commit, reject=m.reject, reject_hint=m.reject_hint,
        context=m.context,
    )
    if m.entries:
        add = pb.entries.add
        for e in m.entries:
            add(index=e.index, term=e.term, data=e.data)
    if m.snapshot is not None:
        s = m.snapshot
        pb.snapshot.CopyFrom(raft_pb2.Snapshot(index=s.index, term=s.term, data=s.data,
                                               peers=list(s.peers)))
    return pb


def message_from_pb(pb: raft_pb2.Message) -> Message:
    snap = None
    if pb.HasField("snapshot"):
        s = pb.snapshot
        snap = Snapshot(index=s.index, term=s.term, data=s.data, peers=tuple(s.peers))
    return Message(
        type=MsgType(pb.type), to=pb.to, frm=pb.frm, term=pb.term, log_term=pb.log_term,
        index=pb.index, entries=[Entry(e.index, e.term, e.data) for e in pb.entries],
        commit=pb.commit, reject=pb.reject, reject_hint=pb.reject_hint, snapshot=snap,
        context=pb.context,
    )
