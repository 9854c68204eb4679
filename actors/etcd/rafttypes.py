"""Data types shared by the pure raft core, its storage and the member actor.

These are plain dataclasses (no protobuf): the raft core (`actors.etcd.raft`) is a
pure state machine in the style of etcd-io/raft and must stay free of I/O and wire
formats. The member actor converts `Message` to and from the `raftpb` protobuf
envelope at the network edge; the WAL (`actors.etcd.wal`) encodes `Entry`,
`HardState` and `Snapshot` in its own record format.

Conventions (as in etcd-io/raft):
- node ids are positive ints; 0 means "none" (no leader, no vote);
- log indexes start at 1; index 0 / term 0 is the empty log's sentinel;
- an `Entry` with empty `data` is the no-op a new leader appends in its term.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class MsgType(enum.IntEnum):
    """Raft message types. Local-only types never cross the network."""

    HUP = 0  # local: start an election (pre-vote first when enabled)
    BEAT = 1  # local: leader sends heartbeats
    PROP = 2  # a proposal; followers forward it to the leader
    APP = 3  # append entries
    APP_RESP = 4
    VOTE = 5
    VOTE_RESP = 6
    PRE_VOTE = 7
    PRE_VOTE_RESP = 8
    HEARTBEAT = 9
    HEARTBEAT_RESP = 10
    SNAP = 11  # install snapshot; answered with APP_RESP
    READ_INDEX = 12  # follower asks the leader for a read index
    READ_INDEX_RESP = 13
    TRANSFER_LEADER = 14  # ask the leader to hand leadership to `frm`
    TIMEOUT_NOW = 15  # leader tells the transferee to campaign at once
    CHECK_QUORUM = 16  # local: leader checks it heard from a quorum


class Role(enum.IntEnum):
    FOLLOWER = 0
    PRE_CANDIDATE = 1
    CANDIDATE = 2
    LEADER = 3


@dataclass(slots=True)
class Entry:
    index: int
    term: int
    data: bytes = b""


@dataclass(slots=True)
class HardState:
    term: int = 0
    vote: int = 0
    commit: int = 0


@dataclass(slots=True)
class Snapshot:
    """A state-machine snapshot taken at `index` (whose entry has `term`).

    `data` is opaque to raft (the MVCC store's encoding); `peers` is the voter set.
    """

    index: int
    term: int
    data: bytes = b""
    peers: tuple[int, ...] = ()


@dataclass(slots=True)
class Message:
    type: MsgType
    to: int = 0
    frm: int = 0
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: list[Entry] = field(default_factory=list)
    commit: int = 0
    reject: bool = False
    reject_hint: int = 0
    snapshot: Snapshot | None = None
    context: bytes = b""


@dataclass(slots=True)
class ReadState:
    """A linearizable read may be served once applied index >= `index`."""

    index: int
    context: bytes


@dataclass(slots=True)
class SoftState:
    leader: int
    role: Role


@dataclass(slots=True)
class Ready:
    """What the application must do, in this order, before calling `advance(rd)`:

    1. persist `hard_state` (if not None), `snapshot` (if not None) and append
       `entries` to stable storage, with one fsync;
    2. send `messages`;
    3. if `snapshot` is set, restore the state machine from it;
       then apply `committed_entries` in order;
    4. serve `read_states` once their index is applied.
    """

    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    entries: list[Entry] = field(default_factory=list)
    snapshot: Snapshot | None = None
    committed_entries: list[Entry] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    read_states: list[ReadState] = field(default_factory=list)


@dataclass(slots=True)
class Config:
    id: int
    peers: tuple[int, ...]
    election_tick: int = 10  # etcd: --election-timeout 1000ms / --heartbeat-interval 100ms
    heartbeat_tick: int = 1
    pre_vote: bool = True
    check_quorum: bool = True
    max_msg_entries: int = 4096  # entries per APP message
    max_msg_bytes: int = 1 << 20  # bytes of entry data per APP message
    max_inflight: int = 256  # APP messages in flight to one follower
