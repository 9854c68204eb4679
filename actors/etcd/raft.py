"""The pure raft core of the kubemu store: `RawNode`, in the style of etcd-io/raft.

Design
======

`RawNode` is a deterministic state machine. It does no I/O, has no threads or
asyncio, reads no clock and draws randomness only from the `random.Random` it is
given. The application drives it with four kinds of input:

- `tick()` advances logical time by one tick (election and heartbeat timers count
  ticks, nothing else measures time);
- `step(m)` feeds a message that arrived from a peer;
- `propose`, `read_index`, `transfer_leader`, `campaign` are local requests;
- `advance(rd)` acknowledges a `Ready` that has been handled,

and collects the node's output with `has_ready()` / `ready()`. A `Ready` carries what
must be persisted (hard state, new log entries, a received snapshot), the messages to
send once that is durable, the committed entries to apply, and ReadIndex results (see
`rafttypes.Ready` for the contract). New entries in a `Ready` may overwrite a suffix
of what an earlier `Ready` handed out (a follower's uncommitted conflicting tail):
storage must drop every stored entry with index >= `rd.entries[0].index` before
appending.

Log. The node keeps the whole log after its latest snapshot in one Python list
(`_ents[k]` has index `_offset + 1 + k`, `_offset`/`_snap_term` are the snapshot's
index/term, `0/0` for an empty log). Entries handed out by `ready()` are considered
stable; `_unstable` is the first index not yet handed out. Appends are O(1)
amortized; `compact()` drops the prefix. Terms along a log never decrease, which
lets the conflict search (`_find_conflict_by_term`) bisect.

Roles. Follower, pre-candidate, candidate, leader, as in the raft thesis:

- Elections: a follower whose randomized election timeout (drawn from
  [election_tick, 2*election_tick)) elapses without hearing from a leader starts a
  pre-vote (thesis §9.6) for term+1 without bumping its own term; only when a quorum
  would vote for it does it become a real candidate. Pre-votes and votes are granted
  only to candidates whose log is at least as up to date.
- Leader lease / check-quorum (thesis §6.2, §4.2.3): a node that heard from a leader
  within the last election timeout ignores (pre-)vote requests of higher terms, unless
  they come from a leadership transfer. A leader that has not heard from a quorum
  within an election timeout steps down. A node that receives an APP/HEARTBEAT of a
  lower term answers it so that a stale leader learns the newer term.
- Replication: per-follower `_Progress` with etcd's flow control. PROBE sends one
  APP and waits for its answer (or the next heartbeat answer); REPLICATE streams
  APPs optimistically, each carrying up to `max_msg_entries` entries or
  `max_msg_bytes` bytes, with at most `max_inflight` unacknowledged APPs; SNAPSHOT
  waits for the follower to install the leader's snapshot (a lost SNAP is retried after
  an election timeout). A follower rejects an APP whose previous entry (index i,
  term t) it does not have, with a hint: its last index <= i whose term is <= t, and
  that term. The leader then backs up to its own last index whose term is <= the
  hinted term, so a diverging tail is skipped a term at a time, not an entry at a time.
  Proposals and commit advances do not send immediately: they mark the leader
  "dirty" and `has_ready()`/`ready()` flush one batched APP per follower, so the work
  per proposal is O(1) and many proposals share one message. Heartbeat rounds do not
  pile up when ticks outpace `ready()`.
- Commit: the leader commits the highest index replicated on a quorum, and only if
  that entry has the leader's current term (thesis §3.6.2, "figure 8"); a new leader
  appends an empty entry so it can commit in its term promptly.
- ReadIndex (thesis §6.4): a read request is answered with the leader's commit index
  once a quorum acknowledged a heartbeat sent after the request (the heartbeat carries
  the request's context). Until the leader has committed an entry of its term, requests
  are deferred. Followers forward READ_INDEX to the leader and get READ_INDEX_RESP.
  Contexts must be unique among pending requests (a duplicate is ignored). Pending
  requests are dropped when the leader steps down; the client retries.
- Leadership transfer (thesis §3.10): the leader stops accepting proposals, brings the
  transferee up to date, and sends TIMEOUT_NOW; the transferee campaigns at once,
  skipping pre-vote, and its votes carry a context that overrides the leader lease. A
  transfer that does not finish within an election timeout is abandoned.
- Forwarding: a follower forwards local proposals and read requests to the leader it
  knows (with term 0, as local messages); with no leader known they are dropped and
  `propose`/`read_index` return False. Forwarded requests are not forwarded a second
  time.

- Compaction: `compact(index, data)` records the application's snapshot and drops
  the log up to `index`; it returns the `Snapshot`, which the application persists
  itself (compaction produces no Ready). A follower that needs compacted entries gets
  the snapshot (SNAP), restores it through `Ready.snapshot`, and answers APP_RESP at
  the snapshot index.

Membership is fixed (`Config.peers`); there are no configuration changes.

Early sends by a leader (thesis §10.2.1): with more than one node, the commit index a
Ready's messages carry only counts entries the leader handed out in earlier Readys
(a quorum needs follower acknowledgements, and followers only have what was sent).
So a leader may send its APP/HEARTBEAT messages before its own Ready is durable, as
long as it calls `ready()` again only after that Ready is durable.

Restart: construct with what storage recovered (hard state, snapshot, entries after the
snapshot). The node restarts as a follower with `applied` at the snapshot index; the
application restores its state machine from the snapshot and receives the committed
entries after it again through `ready()`.
"""

from __future__ import annotations

import enum
import random
from bisect import bisect_right
from collections import deque
from typing import Any, Iterable, Sequence

from actors.etcd.rafttypes import (
    Config,
    Entry,
    HardState,
    Message,
    MsgType,
    ReadState,
    Ready,
    Role,
    Snapshot,
    SoftState,
)

__all__ = ["RawNode", "ProgressState", "CAMPAIGN_TRANSFER"]

# Context of VOTE messages sent by a transferee: voters grant them despite the lease.
CAMPAIGN_TRANSFER = b"CampaignTransfer"

_LOCAL_TYPES = frozenset({MsgType.HUP, MsgType.BEAT, MsgType.CHECK_QUORUM})


class ProgressState(enum.IntEnum):
    PROBE = 0
    REPLICATE = 1
    SNAPSHOT = 2


class _Progress:
    """The leader's view of one peer's log (etcd's tracker.Progress)."""

    __slots__ = (
        "match",
        "next",
        "state",
        "probe_sent",
        "pending_snapshot",
        "snapshot_sent_at",
        "recent_active",
        "inflights",
        "max_inflight",
        "sent_commit",
    )

    def __init__(self, next_index: int, max_inflight: int) -> None:
        self.match = 0
        self.next = next_index
        self.state = ProgressState.PROBE
        self.probe_sent = False  # PROBE: an APP is outstanding, wait for an answer
        self.pending_snapshot = 0  # SNAPSHOT: index of the snapshot sent
        self.snapshot_sent_at = 0  # SNAPSHOT: leader tick count when it was sent
        self.recent_active = False
        self.inflights: deque[int] = deque()  # REPLICATE: last index of each APP in flight
        self.max_inflight = max_inflight
        self.sent_commit = 0  # commit index last sent in an APP

    def paused(self) -> bool:
        if self.state == ProgressState.PROBE:
            return self.probe_sent
        if self.state == ProgressState.REPLICATE:
            return len(self.inflights) >= self.max_inflight
        return True

    def become_probe(self) -> None:
        if self.state == ProgressState.SNAPSHOT:
            self.next = max(self.match + 1, self.pending_snapshot + 1)
        else:
            self.next = self.match + 1
        self.state = ProgressState.PROBE
        self.probe_sent = False
        self.pending_snapshot = 0
        self.inflights.clear()

    def become_replicate(self) -> None:
        self.next = self.match + 1
        self.state = ProgressState.REPLICATE
        self.probe_sent = False
        self.pending_snapshot = 0
        self.inflights.clear()

    def become_snapshot(self, index: int, now: int) -> None:
        self.state = ProgressState.SNAPSHOT
        self.probe_sent = False
        self.pending_snapshot = index
        self.snapshot_sent_at = now
        self.inflights.clear()

    def maybe_update(self, n: int) -> bool:
        """The peer acknowledged entries up to `n`; True if that raised `match`."""
        updated = False
        if self.match < n:
            self.match = n
            self.probe_sent = False
            updated = True
        if self.next < n + 1:
            self.next = n + 1
        return updated

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """The peer rejected an APP whose previous index was `rejected`.

        Returns False if the rejection is stale (out of order / duplicated)."""
        if self.state == ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), self.match + 1)
        self.probe_sent = False
        return True

    def free_le(self, index: int) -> None:
        q = self.inflights
        while q and q[0] <= index:
            q.popleft()


class _ReadRequest:
    __slots__ = ("index", "frm", "acks")

    def __init__(self, index: int, frm: int, me: int) -> None:
        self.index = index
        self.frm = frm
        self.acks = {me}


class RawNode:
    """One raft peer. See the module docstring for the design."""

    def __init__(
        self,
        cfg: Config,
        rng: random.Random,
        *,
        hard_state: HardState | None = None,
        snapshot: Snapshot | None = None,
        entries: Sequence[Entry] = (),
    ) -> None:
        if cfg.id <= 0 or cfg.id not in cfg.peers:
            raise ValueError(f"node id {cfg.id} must be a positive member of peers {cfg.peers}")
        if cfg.heartbeat_tick < 1 or cfg.election_tick <= cfg.heartbeat_tick:
            raise ValueError("need 1 <= heartbeat_tick < election_tick")
        if cfg.max_inflight < 1 or cfg.max_msg_entries < 1:
            raise ValueError("max_inflight and max_msg_entries must be >= 1")
        self._cfg = cfg
        self._id = cfg.id
        self._peers: tuple[int, ...] = tuple(sorted(set(cfg.peers)))
        self._peer_set = frozenset(self._peers)
        self._others: tuple[int, ...] = tuple(p for p in self._peers if p != cfg.id)
        self._quorum = len(self._peers) // 2 + 1
        self._rng = rng

        hs = hard_state if hard_state is not None else HardState()
        self._term = hs.term
        self._vote = hs.vote

        # ---- the log
        self._snapshot: Snapshot | None = snapshot if snapshot and snapshot.index > 0 else None
        self._offset = self._snapshot.index if self._snapshot else 0
        self._snap_term = self._snapshot.term if self._snapshot else 0
        self._ents: list[Entry] = list(entries)
        for k, e in enumerate(self._ents):
            if e.index != self._offset + 1 + k:
                raise ValueError(
                    f"recovered entries must be contiguous after index {self._offset}; "
                    f"entry {k} has index {e.index}"
                )
        last = self._offset + len(self._ents)
        self._commit = max(hs.commit, self._offset)
        if self._commit > last:
            raise ValueError(f"hard state commit {hs.commit} beyond last index {last}")
        self._unstable = last + 1  # first index not yet handed out by ready()
        self._applying = self._offset  # last committed index handed out by ready()
        self._applied = self._offset  # last index the application applied (advance)
        self._pending_snapshot: Snapshot | None = None  # received, not yet handed out

        # ---- role state
        self._role = Role.FOLLOWER
        self._leader = 0
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._randomized_timeout = cfg.election_tick
        self._ticks = 0
        self._votes: dict[int, bool] = {}
        self._prs: dict[int, _Progress] = {}
        self._transferee = 0
        self._bcast = False  # leader: send appends to followers at the next flush
        self._read_bcast = False  # leader: send a heartbeat round for pending reads
        self._beat_unsent = False  # leader: a heartbeat round is in _msgs, not yet in a Ready
        self._read_queue: list[bytes] = []
        self._read_pending: dict[bytes, _ReadRequest] = {}
        self._deferred_reads: list[Message] = []

        # ---- output
        self._msgs: list[Message] = []
        self._read_states: list[ReadState] = []
        self._prev_soft: tuple[int, Role] = (self._leader, self._role)
        self._prev_hard: tuple[int, int, int] = (hs.term, hs.vote, hs.commit)
        self._reset_randomized_timeout()

    # ------------------------------------------------------------------ properties

    @property
    def id(self) -> int:
        return self._id

    @property
    def term(self) -> int:
        return self._term

    @property
    def vote(self) -> int:
        return self._vote

    @property
    def leader(self) -> int:
        return self._leader

    @property
    def role(self) -> Role:
        return self._role

    @property
    def commit(self) -> int:
        return self._commit

    @property
    def applied(self) -> int:
        return self._applied

    @property
    def last_index(self) -> int:
        return self._offset + len(self._ents)

    @property
    def first_index(self) -> int:
        return self._offset + 1

    def term_at(self, index: int) -> int | None:
        """Term of the entry at `index` (0 for index 0); None if compacted or beyond the log."""
        return self._term_of(index)

    def status(self) -> dict[str, Any]:
        st: dict[str, Any] = {
            "id": self._id,
            "term": self._term,
            "vote": self._vote,
            "leader": self._leader,
            "role": self._role.name,
            "commit": self._commit,
            "applied": self._applied,
            "first_index": self.first_index,
            "last_index": self.last_index,
            "lead_transferee": self._transferee,
            "election_elapsed": self._election_elapsed,
            "randomized_election_timeout": self._randomized_timeout,
            "progress": {},
        }
        if self._role == Role.LEADER:
            st["progress"] = {
                p: {
                    "match": pr.match,
                    "next": pr.next,
                    "state": pr.state.name,
                    "recent_active": pr.recent_active,
                    "inflight": len(pr.inflights),
                }
                for p, pr in self._prs.items()
            }
        return st

    # ------------------------------------------------------------------ public API

    def tick(self) -> None:
        """One logical tick: election timeout for followers, heartbeats and the quorum
        check for a leader."""
        self._ticks += 1
        if self._role == Role.LEADER:
            self._tick_leader()
        else:
            self._tick_election()

    def campaign(self) -> None:
        """Start an election now (pre-vote first when enabled); no-op on a leader."""
        self._hup(transfer=False)

    def propose(self, data: bytes) -> bool:
        """Append `data` to the log (leader) or forward it to the leader (follower).

        False if it was dropped: no leader known, not a follower/leader, or a leadership
        transfer in flight. True does not mean it will commit (the forwarded message or
        the leader may be lost); the application recognizes its entries when applied."""
        if self._role == Role.LEADER:
            if self._transferee:
                return False
            self._append_local((data,))
            return True
        return self._step_prop(Message(MsgType.PROP, frm=self._id, entries=[Entry(0, 0, data)]))

    def read_index(self, ctx: bytes) -> bool:
        """Request a linearizable read point: a `ReadState(index, ctx)` shows up in a
        later Ready. False if dropped (no leader known). `ctx` must be unique among
        pending requests. No answer comes if the leader is deposed meanwhile."""
        m = Message(MsgType.READ_INDEX, frm=self._id, context=ctx)
        if self._role == Role.LEADER:
            self._handle_read_request(m)
            return True
        if self._role == Role.FOLLOWER and self._leader:
            m.to = self._leader
            self._msgs.append(m)
            return True
        return False

    def transfer_leader(self, to: int) -> None:
        """Ask the leader (directly, or through this follower) to hand over to `to`."""
        self.step(Message(MsgType.TRANSFER_LEADER, frm=to))

    def step(self, m: Message) -> None:
        """Handle a message from a peer; stale, misaddressed or unknown-sender messages
        are ignored. (Local types HUP/BEAT/CHECK_QUORUM are accepted too.)"""
        t = m.type
        if t in _LOCAL_TYPES:
            self._step_local(t)
            return
        if m.to not in (0, self._id) or (m.frm not in self._peer_set and m.frm != 0):
            return
        if m.term == 0:
            pass  # local or forwarded request (PROP, READ_INDEX, local TRANSFER_LEADER)
        elif m.term > self._term:
            if t == MsgType.VOTE or t == MsgType.PRE_VOTE:
                in_lease = (
                    self._cfg.check_quorum
                    and self._leader != 0
                    and self._election_elapsed < self._cfg.election_tick
                )
                if in_lease and m.context != CAMPAIGN_TRANSFER:
                    return  # we heard from a live leader recently: not disrupted
            if t == MsgType.PRE_VOTE or (t == MsgType.PRE_VOTE_RESP and not m.reject):
                pass  # pre-votes never change our term
            elif t == MsgType.APP or t == MsgType.HEARTBEAT or t == MsgType.SNAP:
                self._become_follower(m.term, m.frm)
            else:
                self._become_follower(m.term, 0)
        elif m.term < self._term:
            if (self._cfg.check_quorum or self._cfg.pre_vote) and (
                t == MsgType.APP or t == MsgType.HEARTBEAT
            ):
                # tell a stale leader about the newer term (it may be unable to learn it
                # otherwise, as votes of higher terms are ignored under the lease)
                self._send(Message(MsgType.APP_RESP, to=m.frm))
            elif t == MsgType.PRE_VOTE:
                self._send(
                    Message(MsgType.PRE_VOTE_RESP, to=m.frm, term=self._term, reject=True)
                )
            return

        if t == MsgType.VOTE or t == MsgType.PRE_VOTE:
            self._handle_vote(m)
        elif t == MsgType.PROP:
            self._step_prop(m)
        elif self._role == Role.LEADER:
            self._step_leader(m)
        elif self._role == Role.FOLLOWER:
            self._step_follower(m)
        else:
            self._step_candidate(m)

    def has_ready(self) -> bool:
        """Whether `ready()` has anything to hand out."""
        self._flush()
        if self._msgs or self._read_states or self._pending_snapshot is not None:
            return True
        if self._unstable <= self._offset + len(self._ents) or self._commit > self._applying:
            return True
        if (self._leader, self._role) != self._prev_soft:
            return True
        return (self._term, self._vote, self._commit) != self._prev_hard

    def ready(self) -> Ready:
        """Hand out what to persist, send, apply and serve (see `rafttypes.Ready`).

        What it hands out counts as persisted from now on, and later Readys' messages
        rely on it: persist Readys in order, send a Ready's messages only once it and
        every earlier Ready are durable, and call `advance(rd)` after applying it."""
        self._flush()
        rd = Ready()
        soft = (self._leader, self._role)
        if soft != self._prev_soft:
            rd.soft_state = SoftState(leader=self._leader, role=self._role)
            self._prev_soft = soft
        hard = (self._term, self._vote, self._commit)
        if hard != self._prev_hard:
            rd.hard_state = HardState(term=self._term, vote=self._vote, commit=self._commit)
            self._prev_hard = hard
        off = self._offset
        last = off + len(self._ents)
        if self._unstable <= last:
            rd.entries = self._ents[self._unstable - off - 1 :]
            self._unstable = last + 1
        if self._pending_snapshot is not None:
            rd.snapshot = self._pending_snapshot
            self._pending_snapshot = None
        if self._commit > self._applying:
            rd.committed_entries = self._ents[self._applying - off : self._commit - off]
            self._applying = self._commit
        if self._msgs:
            rd.messages = self._msgs
            self._msgs = []
        self._beat_unsent = False
        if self._read_states:
            rd.read_states = self._read_states
            self._read_states = []
        return rd

    def advance(self, rd: Ready) -> None:
        """`rd` was handled: its committed entries (and snapshot) are applied."""
        if rd.snapshot is not None and rd.snapshot.index > self._applied:
            self._applied = rd.snapshot.index
        if rd.committed_entries:
            idx = rd.committed_entries[-1].index
            if idx > self._applied:
                self._applied = idx

    def compact(self, index: int, data: bytes) -> Snapshot | None:
        """Keep a snapshot of the state machine at applied `index`; drop entries <= index.

        Returns the new `Snapshot` (for the caller to persist), or None if `index` is not
        beyond the current snapshot."""
        if index <= self._offset:
            return None
        if index > self._applied:
            raise ValueError(f"cannot compact at {index}: only {self._applied} applied")
        term = self._term_of(index)
        assert term is not None
        snap = Snapshot(index=index, term=term, data=data, peers=self._peers)
        del self._ents[: index - self._offset]
        self._offset = index
        self._snap_term = term
        self._snapshot = snap
        return snap

    # ------------------------------------------------------------------ log helpers

    def _term_of(self, index: int) -> int | None:
        off = self._offset
        if index == off:
            return self._snap_term
        if index < off:
            return None
        k = index - off - 1
        if k >= len(self._ents):
            return None
        return self._ents[k].term

    def _last_term(self) -> int:
        return self._ents[-1].term if self._ents else self._snap_term

    def _up_to_date(self, index: int, term: int) -> bool:
        lt = self._last_term()
        return term > lt or (term == lt and index >= self.last_index)

    def _find_conflict_by_term(self, index: int, term: int) -> tuple[int, int]:
        """The largest index <= `index` whose term is <= `term`, with its term.

        Returns (index, 0) when the answer lies below the snapshot (term unknown)."""
        off = self._offset
        if index <= off:
            if index == off and self._snap_term <= term:
                return index, self._snap_term
            return (index - 1 if index == off and index > 0 else index), 0
        k = min(index - off, len(self._ents))  # search _ents[:k]
        pos = bisect_right(self._ents, term, 0, k, key=lambda e: e.term)
        if pos == 0:
            if self._snap_term <= term:
                return off, self._snap_term
            return max(off - 1, 0), 0
        e = self._ents[pos - 1]
        return e.index, e.term

    def _truncate_append(self, ents: Sequence[Entry]) -> None:
        first = ents[0].index
        k = first - self._offset - 1
        assert 0 <= k <= len(self._ents), (first, self._offset, len(self._ents))
        if k < len(self._ents):
            del self._ents[k:]
        self._ents.extend(ents)
        if first < self._unstable:
            self._unstable = first

    def _append_local(self, datas: Iterable[bytes]) -> None:
        idx = self._offset + len(self._ents)
        term = self._term
        app = self._ents.append
        for d in datas:
            idx += 1
            app(Entry(idx, term, d))
        me = self._prs[self._id]
        me.match = idx
        me.next = idx + 1
        self._bcast = True
        if self._quorum == 1:
            self._maybe_commit()

    # ------------------------------------------------------------------ role changes

    def _reset_randomized_timeout(self) -> None:
        self._randomized_timeout = self._cfg.election_tick + self._rng.randrange(
            self._cfg.election_tick
        )

    def _reset(self, term: int) -> None:
        if self._term != term:
            self._term = term
            self._vote = 0
        self._leader = 0
        self._election_elapsed = 0
        self._heartbeat_elapsed = 0
        self._reset_randomized_timeout()
        self._transferee = 0
        self._votes = {}
        self._prs = {}
        self._bcast = False
        self._read_bcast = False
        self._beat_unsent = False
        self._read_queue = []
        self._read_pending = {}
        self._deferred_reads = []

    def _become_follower(self, term: int, leader: int) -> None:
        self._reset(term)
        self._leader = leader
        self._role = Role.FOLLOWER

    def _become_pre_candidate(self) -> None:
        # no term bump, no vote: a pre-election changes nothing durable
        self._votes = {}
        self._leader = 0
        self._election_elapsed = 0
        self._role = Role.PRE_CANDIDATE

    def _become_candidate(self) -> None:
        self._reset(self._term + 1)
        self._vote = self._id
        self._role = Role.CANDIDATE

    def _become_leader(self) -> None:
        self._reset(self._term)
        self._role = Role.LEADER
        self._leader = self._id
        last = self.last_index
        mi = self._cfg.max_inflight
        for p in self._peers:
            self._prs[p] = _Progress(last + 1, mi)
        me = self._prs[self._id]
        me.match = last
        me.state = ProgressState.REPLICATE
        me.recent_active = True
        # an empty entry of our term, so that we can commit (and serve reads) promptly
        self._append_local((b"",))

    # ------------------------------------------------------------------ ticks

    def _tick_election(self) -> None:
        self._election_elapsed += 1
        if self._election_elapsed >= self._randomized_timeout:
            self._election_elapsed = 0
            self._hup(transfer=False)

    def _tick_leader(self) -> None:
        self._heartbeat_elapsed += 1
        self._election_elapsed += 1
        if self._election_elapsed >= self._cfg.election_tick:
            self._election_elapsed = 0
            if self._cfg.check_quorum:
                self._check_quorum()
            if self._role == Role.LEADER and self._transferee:
                self._transferee = 0  # the transfer did not finish in time: abandon it
        if self._role != Role.LEADER:
            return
        if self._heartbeat_elapsed >= self._cfg.heartbeat_tick:
            self._heartbeat_elapsed = 0
            self._beat()

    def _step_local(self, t: MsgType) -> None:
        if t == MsgType.HUP:
            self._hup(transfer=False)
        elif self._role == Role.LEADER:
            if t == MsgType.BEAT:
                self._beat()
            elif t == MsgType.CHECK_QUORUM:
                self._check_quorum()

    # ------------------------------------------------------------------ elections

    def _hup(self, transfer: bool) -> None:
        if self._role == Role.LEADER:
            return
        if self._cfg.pre_vote and not transfer:
            self._campaign(pre=True, transfer=False)
        else:
            self._campaign(pre=False, transfer=transfer)

    def _campaign(self, pre: bool, transfer: bool) -> None:
        if pre:
            self._become_pre_candidate()
            term = self._term + 1
            vtype = MsgType.PRE_VOTE
        else:
            self._become_candidate()
            term = self._term
            vtype = MsgType.VOTE
        if self._poll(self._id, True):
            return  # single-node cluster: already won
        li = self.last_index
        lt = self._last_term()
        ctx = CAMPAIGN_TRANSFER if transfer else b""
        for p in self._others:
            self._msgs.append(
                Message(vtype, to=p, frm=self._id, term=term, index=li, log_term=lt, context=ctx)
            )

    def _poll(self, frm: int, granted: bool) -> bool:
        """Record a (pre-)vote; win or lose the election if decided. True if decided."""
        self._votes.setdefault(frm, granted)
        yes = sum(1 for v in self._votes.values() if v)
        no = len(self._votes) - yes
        if yes >= self._quorum:
            if self._role == Role.PRE_CANDIDATE:
                self._campaign(pre=False, transfer=False)
            else:
                self._become_leader()
            return True
        if no > len(self._peers) - self._quorum:
            self._become_follower(self._term, 0)
            return True
        return False

    def _handle_vote(self, m: Message) -> None:
        pre = m.type == MsgType.PRE_VOTE
        resp = MsgType.PRE_VOTE_RESP if pre else MsgType.VOTE_RESP
        can_vote = (
            self._vote == m.frm
            or (self._vote == 0 and self._leader == 0)
            or (pre and m.term > self._term)
        )
        if can_vote and self._up_to_date(m.index, m.log_term):
            self._send(Message(resp, to=m.frm, term=m.term))
            if not pre:
                self._election_elapsed = 0
                self._vote = m.frm
        else:
            self._send(Message(resp, to=m.frm, term=self._term, reject=True))

    # ------------------------------------------------------------------ message handling

    def _send(self, m: Message) -> None:
        m.frm = self._id
        if m.term == 0 and m.type not in (MsgType.PROP, MsgType.READ_INDEX):
            m.term = self._term
        self._msgs.append(m)

    def _step_prop(self, m: Message) -> bool:
        local = m.frm in (0, self._id)
        if self._role == Role.LEADER:
            if self._transferee or not m.entries:
                return False
            self._append_local(e.data for e in m.entries)
            return True
        if self._role == Role.FOLLOWER and self._leader and local:
            self._msgs.append(
                Message(MsgType.PROP, to=self._leader, frm=self._id, entries=m.entries)
            )
            return True
        return False  # no leader known, or a forwarded proposal that reached a non-leader

    def _step_follower(self, m: Message) -> None:
        t = m.type
        if t == MsgType.APP:
            self._election_elapsed = 0
            self._leader = m.frm
            self._handle_append(m)
        elif t == MsgType.HEARTBEAT:
            self._election_elapsed = 0
            self._leader = m.frm
            self._handle_heartbeat(m)
        elif t == MsgType.SNAP:
            self._election_elapsed = 0
            self._leader = m.frm
            self._handle_snapshot(m)
        elif t == MsgType.TIMEOUT_NOW:
            self._hup(transfer=True)
        elif t == MsgType.READ_INDEX:
            if self._leader and m.frm in (0, self._id):
                self._msgs.append(
                    Message(MsgType.READ_INDEX, to=self._leader, frm=self._id, context=m.context)
                )
        elif t == MsgType.READ_INDEX_RESP:
            self._read_states.append(ReadState(index=m.index, context=m.context))
        elif t == MsgType.TRANSFER_LEADER:
            if self._leader and m.term == 0:  # forward a local request once
                self._msgs.append(
                    Message(MsgType.TRANSFER_LEADER, to=self._leader, frm=m.frm, term=self._term)
                )

    def _step_candidate(self, m: Message) -> None:
        t = m.type
        if t == MsgType.APP:
            self._become_follower(m.term, m.frm)
            self._handle_append(m)
        elif t == MsgType.HEARTBEAT:
            self._become_follower(m.term, m.frm)
            self._handle_heartbeat(m)
        elif t == MsgType.SNAP:
            self._become_follower(m.term, m.frm)
            self._handle_snapshot(m)
        elif (t == MsgType.PRE_VOTE_RESP and self._role == Role.PRE_CANDIDATE) or (
            t == MsgType.VOTE_RESP and self._role == Role.CANDIDATE
        ):
            self._poll(m.frm, not m.reject)

    def _handle_append(self, m: Message) -> None:
        if m.index < self._commit:
            self._send(Message(MsgType.APP_RESP, to=m.frm, index=self._commit))
            return
        if self._term_of(m.index) == m.log_term:
            ents = m.entries
            last_new = m.index + len(ents)
            for k, e in enumerate(ents):
                have = self._term_of(e.index)
                if have != e.term:
                    if have is not None and e.index <= self._commit:
                        raise AssertionError(
                            f"raft {self._id}: conflict at committed index {e.index}"
                        )
                    self._truncate_append(ents[k:] if k else ents)
                    break
            c = min(m.commit, last_new)
            if c > self._commit:
                self._commit = c
            self._send(Message(MsgType.APP_RESP, to=m.frm, index=last_new))
        else:
            hint = min(m.index, self.last_index)
            hint, hint_term = self._find_conflict_by_term(hint, m.log_term)
            self._send(
                Message(
                    MsgType.APP_RESP,
                    to=m.frm,
                    index=m.index,
                    reject=True,
                    reject_hint=hint,
                    log_term=hint_term,
                )
            )

    def _handle_heartbeat(self, m: Message) -> None:
        c = min(m.commit, self.last_index)
        if c > self._commit:
            self._commit = c
        self._send(Message(MsgType.HEARTBEAT_RESP, to=m.frm, context=m.context))

    def _handle_snapshot(self, m: Message) -> None:
        s = m.snapshot
        if s is None:
            return
        if s.index <= self._commit:
            self._send(Message(MsgType.APP_RESP, to=m.frm, index=self._commit))
            return
        if self._term_of(s.index) == s.term:
            # we already have the snapshot's entries: just learn that they are committed
            self._commit = s.index
            self._send(Message(MsgType.APP_RESP, to=m.frm, index=self._commit))
            return
        self._snapshot = s
        self._pending_snapshot = s
        self._offset = s.index
        self._snap_term = s.term
        self._ents = []
        self._commit = s.index
        self._unstable = s.index + 1
        self._applying = s.index
        self._send(Message(MsgType.APP_RESP, to=m.frm, index=self.last_index))

    # ------------------------------------------------------------------ leader

    def _step_leader(self, m: Message) -> None:
        t = m.type
        if t == MsgType.READ_INDEX:
            self._handle_read_request(m)
            return
        if t == MsgType.TRANSFER_LEADER:
            self._handle_transfer(m.frm)
            return
        pr = self._prs.get(m.frm)
        if pr is None or m.frm == self._id:
            return
        if t == MsgType.APP_RESP:
            pr.recent_active = True
            self._handle_app_resp(m, pr)
        elif t == MsgType.HEARTBEAT_RESP:
            pr.recent_active = True
            pr.probe_sent = False
            if pr.state == ProgressState.REPLICATE and pr.paused():
                pr.inflights.popleft()  # maybe all in-flight APPs were lost: let one through
            if pr.match < self.last_index:
                self._send_append(m.frm, True)
            if m.context and self._read_queue:
                self._ack_read(m.context, m.frm)

    def _handle_app_resp(self, m: Message, pr: _Progress) -> None:
        if m.reject:
            next_probe = m.reject_hint
            if m.log_term > 0:
                next_probe, _ = self._find_conflict_by_term(m.reject_hint, m.log_term)
            if pr.maybe_decr_to(m.index, next_probe):
                if pr.state == ProgressState.REPLICATE:
                    pr.become_probe()
                self._send_append(m.frm, True)
            return
        if m.index > self.last_index:
            return  # acknowledges entries we never sent: not from this term's log
        old_paused = pr.paused()
        if not (
            pr.maybe_update(m.index)
            or (pr.match == m.index and pr.state == ProgressState.PROBE)
        ):
            return
        if pr.state == ProgressState.PROBE:
            pr.become_replicate()
        elif pr.state == ProgressState.SNAPSHOT:
            if pr.match >= self._offset:
                pr.become_replicate()
            elif pr.match >= pr.pending_snapshot:
                pr.become_probe()  # installed, but we compacted further meanwhile
        elif pr.state == ProgressState.REPLICATE:
            pr.free_le(m.index)
        if not self._maybe_commit() and old_paused:
            self._send_append(m.frm, pr.sent_commit < self._commit)
        while pr.state == ProgressState.REPLICATE and self._send_append(m.frm, False):
            pass
        if m.frm == self._transferee and pr.match == self.last_index:
            self._send(Message(MsgType.TIMEOUT_NOW, to=m.frm))

    def _maybe_commit(self) -> bool:
        if self._quorum == 1:
            mci = self._prs[self._id].match
        else:
            matches = sorted((pr.match for pr in self._prs.values()), reverse=True)
            mci = matches[self._quorum - 1]
        if mci <= self._commit or self._term_of(mci) != self._term:
            return False
        self._commit = mci
        self._bcast = True
        if self._deferred_reads:
            deferred, self._deferred_reads = self._deferred_reads, []
            for rm in deferred:
                self._handle_read_request(rm)
        return True

    def _send_append(self, to: int, send_if_empty: bool) -> bool:
        """Send one APP (or SNAP) to `to` if its flow control allows. True if sent."""
        pr = self._prs[to]
        if pr.paused():
            return False
        off = self._offset
        last = off + len(self._ents)
        if pr.next > last + 1:
            pr.next = last + 1
        prev = pr.next - 1
        prev_term = self._term_of(prev)
        if prev_term is None:  # the entries it needs are compacted
            return self._send_snapshot(to, pr)
        ents: list[Entry]
        if prev < last:
            lo = prev - off
            hi = min(lo + self._cfg.max_msg_entries, len(self._ents))
            max_bytes = self._cfg.max_msg_bytes
            size = 0
            k = lo
            src = self._ents
            while k < hi:
                size += len(src[k].data)
                if size > max_bytes and k > lo:
                    break
                k += 1
            ents = src[lo:k]
        else:
            ents = []
        if not ents and not send_if_empty:
            return False
        self._msgs.append(
            Message(
                MsgType.APP,
                to=to,
                frm=self._id,
                term=self._term,
                index=prev,
                log_term=prev_term,
                entries=ents,
                commit=self._commit,
            )
        )
        pr.sent_commit = self._commit
        if pr.state == ProgressState.REPLICATE:
            if ents:
                li = ents[-1].index
                pr.next = li + 1
                pr.inflights.append(li)
        else:
            pr.probe_sent = True
        return True

    def _send_snapshot(self, to: int, pr: _Progress) -> bool:
        if not pr.recent_active or self._snapshot is None:
            return False
        self._msgs.append(
            Message(MsgType.SNAP, to=to, frm=self._id, term=self._term, snapshot=self._snapshot)
        )
        pr.become_snapshot(self._snapshot.index, self._ticks)
        return True

    def _flush(self) -> None:
        """Leader: send the appends and read heartbeats accumulated since the last flush."""
        if self._role != Role.LEADER:
            return
        if self._bcast:
            self._bcast = False
            commit = self._commit
            for p in self._others:
                pr = self._prs[p]
                self._send_append(p, pr.sent_commit < commit)
                while pr.state == ProgressState.REPLICATE and self._send_append(p, False):
                    pass
        if self._read_bcast:
            self._read_bcast = False
            self._broadcast_heartbeat()

    def _beat(self) -> None:
        if not self._beat_unsent or self._read_bcast:
            # (ticks that outpace ready() do not pile up heartbeat rounds)
            self._read_bcast = False
            self._broadcast_heartbeat()
        # a SNAP (or its answer) may have been lost: retry after an election timeout
        for pr in self._prs.values():
            if (
                pr.state == ProgressState.SNAPSHOT
                and self._ticks - pr.snapshot_sent_at >= self._cfg.election_tick
            ):
                pr.state = ProgressState.PROBE
                pr.next = pr.match + 1
                pr.probe_sent = False
                pr.pending_snapshot = 0

    def _broadcast_heartbeat(self) -> None:
        self._beat_unsent = True
        ctx = self._read_queue[-1] if self._read_queue else b""
        for p in self._others:
            pr = self._prs[p]
            self._msgs.append(
                Message(
                    MsgType.HEARTBEAT,
                    to=p,
                    frm=self._id,
                    term=self._term,
                    commit=min(pr.match, self._commit),
                    context=ctx,
                )
            )

    def _check_quorum(self) -> None:
        active = 0
        for p, pr in self._prs.items():
            if p == self._id or pr.recent_active:
                active += 1
        if active < self._quorum:
            self._become_follower(self._term, 0)
            return
        for p in self._others:
            self._prs[p].recent_active = False

    def _handle_transfer(self, transferee: int) -> None:
        if transferee == self._id or transferee not in self._prs:
            return
        if self._transferee == transferee:
            return  # already in progress
        self._transferee = transferee
        self._election_elapsed = 0  # the transfer must finish within an election timeout
        if self._prs[transferee].match == self.last_index:
            self._send(Message(MsgType.TIMEOUT_NOW, to=transferee))
        else:
            self._send_append(transferee, True)

    # ------------------------------------------------------------------ ReadIndex

    def _committed_in_term(self) -> bool:
        return self._term_of(self._commit) == self._term

    def _handle_read_request(self, m: Message) -> None:
        if not self._committed_in_term():
            self._deferred_reads.append(m)
            return
        if self._quorum == 1:
            self._answer_read(m.frm, self._commit, m.context)
            return
        ctx = m.context
        if ctx in self._read_pending:
            return
        self._read_pending[ctx] = _ReadRequest(self._commit, m.frm, self._id)
        self._read_queue.append(ctx)
        self._read_bcast = True

    def _ack_read(self, ctx: bytes, frm: int) -> None:
        rr = self._read_pending.get(ctx)
        if rr is None:
            return
        rr.acks.add(frm)
        if len(rr.acks) < self._quorum:
            return
        # this and every earlier request are confirmed by the same heartbeat round
        pos = self._read_queue.index(ctx)
        done = self._read_queue[: pos + 1]
        del self._read_queue[: pos + 1]
        for c in done:
            r = self._read_pending.pop(c)
            self._answer_read(r.frm, r.index, c)

    def _answer_read(self, frm: int, index: int, ctx: bytes) -> None:
        if frm in (0, self._id):
            self._read_states.append(ReadState(index=index, context=ctx))
        else:
            self._send(Message(MsgType.READ_INDEX_RESP, to=frm, index=index, context=ctx))
