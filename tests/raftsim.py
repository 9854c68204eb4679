"""A deterministic simulated raft cluster over `actors.etcd.raft.RawNode`, for tests.

Everything is driven explicitly and seeded, so a run is a pure function of its seed and
the sequence of calls: there are no threads, clocks or sockets.

Model
-----
- `Cluster(n)` builds nodes 1..n. Each node has a `SimStorage` (its "disk": the hard
  state, snapshot and log entries that its Readys persisted) and a state machine (by
  default `LogStateMachine`, which records the applied entries).
- `process_ready(id)` handles one `Ready` exactly as the contract says: persist, then
  put the messages on the network, then restore the snapshot / apply the committed
  entries, record read states, and `advance`. Messages therefore exist on the network
  only once what they depend on is durable.
- The network is a FIFO queue of envelopes `(sender, message)`. `deliver()` hands the
  queued messages to their recipients (messages produced meanwhile wait for the next
  call). Partitions (`isolate`, `partition`, `heal`, `cut`) drop messages between
  disconnected nodes at delivery time. `Faults(drop, duplicate, reorder, delay)` adds
  seeded message loss, duplication and reordering/delay (a held-back message is
  delivered 1..delay rounds later, after messages sent after it).
- `crash(id)` throws the node object away: everything it had not handed out in a
  Ready is lost, as are (unless `lose_inflight=False`) the messages in flight to and
  from it. `restart(id)` builds a new `RawNode` from its `SimStorage`, and a fresh
  state machine restored from the stored snapshot.
- `stabilize()` alternates "every node handles its Ready" and "deliver every queued
  message" until nothing is left to do; `tick_all()` ticks every live node;
  `run(ticks)` does tick_all + stabilize `ticks` times; `step_round()` is one round
  of a slow network. Helpers: `leader()`, `stable_leader()`, `wait_leader()`,
  `wait_applied(data)`, `propose_and_wait(data)`, `ticks_to_election(id)`.

Safety is checked continuously, and a `SafetyViolation` is raised at once:
- election safety: at most one leader per term;
- state machine safety: every node applies index i with the same (term, data), and
  applies indexes contiguously (or jumps by a snapshot);
- leader completeness: a node that becomes leader of term T holds every entry that
  was committed by a leader of a term < T (commits are observed as leaders advance
  their commit index);
- ReadIndex: a read state's index is >= the commit index the cluster had reached
  when the read was requested;
- durability: a granted vote and an acknowledged index are on the node's disk
  before the message leaves (and a stored term/vote never goes back);
`check_log_matching()` checks the log matching property over all stored logs and
`check_applied_consistent()` the applied state of the live nodes.

Tracing: pass `trace=callable` to get a readable line-by-line account (used by the
transcript tests); `format_message` / `format_entry` give the notation.

Plugging in an application: pass `state_machine=factory` (`factory(id)` returns an
object with `apply(entry)`, `snapshot(index) -> bytes`, `restore(data)`), and/or
`on_apply=callback(id, entry)`, called for every applied entry.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Protocol

from actors.etcd.raft import RawNode
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
)

__all__ = [
    "Cluster",
    "Faults",
    "LogStateMachine",
    "SafetyViolation",
    "SimStorage",
    "StateMachine",
    "format_data",
    "format_entry",
    "format_entries",
    "format_message",
]


class SafetyViolation(AssertionError):
    pass


# ---------------------------------------------------------------------------- formatting


def format_data(data: bytes) -> str:
    try:
        s = data.decode("ascii")
    except UnicodeDecodeError:
        return "0x" + data.hex()
    if s.isprintable() and " " not in s:
        return s
    return "0x" + data.hex()


def format_entry(e: Entry) -> str:
    """`index/term`, plus `:data` for a non-empty entry (empty = a leader's no-op)."""
    if e.data:
        return f"{e.index}/{e.term}:{format_data(e.data)}"
    return f"{e.index}/{e.term}"


def format_entries(ents: Iterable[Entry]) -> str:
    return " ".join(format_entry(e) for e in ents)


def format_message(m: Message, sender: int | None = None) -> str:
    frm = m.frm if sender is None else sender
    name = m.type.name
    s = f"{frm}->{m.to} {name} term={m.term}"
    t = m.type
    if t == MsgType.APP:
        s += f" prev={m.index}/{m.log_term} commit={m.commit}"
        if m.entries:
            s += f" [{format_entries(m.entries)}]"
    elif t == MsgType.APP_RESP:
        s += f" index={m.index}"
        if m.reject:
            s += f" reject hint={m.reject_hint}/{m.log_term}"
    elif t in (MsgType.VOTE, MsgType.PRE_VOTE):
        s += f" last={m.index}/{m.log_term}"
    elif t in (MsgType.VOTE_RESP, MsgType.PRE_VOTE_RESP):
        if m.reject:
            s += " reject"
    elif t == MsgType.HEARTBEAT:
        s += f" commit={m.commit}"
    elif t == MsgType.SNAP and m.snapshot is not None:
        s += f" snap={m.snapshot.index}/{m.snapshot.term}"
    elif t == MsgType.READ_INDEX_RESP:
        s += f" index={m.index}"
    elif t == MsgType.PROP:
        s += f" [{' '.join(format_data(e.data) for e in m.entries)}]"
    elif t == MsgType.TRANSFER_LEADER:
        s += f" transferee={m.frm}"
    if m.context:
        s += f" ctx={format_data(m.context)}"
    return s


# ---------------------------------------------------------------------------- storage


@dataclass
class SimStorage:
    """What a node has made durable: the simulated disk."""

    hard_state: HardState = field(default_factory=HardState)
    snapshot: Snapshot | None = None
    entries: list[Entry] = field(default_factory=list)

    @property
    def offset(self) -> int:
        return self.snapshot.index if self.snapshot else 0

    @property
    def last_index(self) -> int:
        return self.offset + len(self.entries)

    def term_at(self, index: int) -> int | None:
        off = self.offset
        if index == off:
            return self.snapshot.term if self.snapshot else 0
        if index < off or index > off + len(self.entries):
            return None
        return self.entries[index - off - 1].term

    def persist(self, rd: Ready) -> None:
        """Step 1 of the Ready contract."""
        if rd.hard_state is not None:
            self.hard_state = replace(rd.hard_state)
        if rd.snapshot is not None:
            self.snapshot = rd.snapshot
            self.entries = []
        if rd.entries:
            first = rd.entries[0].index
            keep = first - self.offset - 1
            if not 0 <= keep <= len(self.entries):
                raise AssertionError(
                    f"Ready entries start at {first}, storage has {self.offset}+{len(self.entries)}"
                )
            del self.entries[keep:]
            self.entries.extend(rd.entries)

    def compact(self, snap: Snapshot) -> None:
        """The application took a snapshot: store it and drop the entries it covers."""
        if snap.index <= self.offset:
            return
        del self.entries[: snap.index - self.offset]
        self.snapshot = snap


# ---------------------------------------------------------------------------- state machines


class StateMachine(Protocol):
    def apply(self, entry: Entry) -> None: ...

    def snapshot(self, index: int) -> bytes:
        """The state as of applied index `index` (<= the last applied index)."""
        ...

    def restore(self, data: bytes) -> None: ...


class LogStateMachine:
    """The default state machine: the list of applied entries (no-ops included)."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []

    def apply(self, entry: Entry) -> None:
        self.entries.append(entry)

    def snapshot(self, index: int) -> bytes:
        return json.dumps(
            [[e.index, e.term, e.data.hex()] for e in self.entries if e.index <= index]
        ).encode()

    def restore(self, data: bytes) -> None:
        self.entries = [Entry(i, t, bytes.fromhex(d)) for i, t, d in json.loads(data)]

    @property
    def datas(self) -> list[bytes]:
        """The payloads of the applied entries, no-ops left out."""
        return [e.data for e in self.entries if e.data]


# ---------------------------------------------------------------------------- network


@dataclass
class Faults:
    """Per-delivery probabilities (seeded by the cluster's rng)."""

    drop: float = 0.0
    duplicate: float = 0.0  # deliver now and once more in a later round
    reorder: float = 0.0  # hold the message back to a later delivery round...
    delay: int = 1  # ...for 1..delay rounds


@dataclass
class _Envelope:
    sender: int
    msg: Message
    hold: int = 0  # delivery rounds to wait


# ---------------------------------------------------------------------------- cluster


class Cluster:
    """N simulated raft nodes on a simulated network. See the module docstring."""

    def __init__(
        self,
        n: int = 3,
        *,
        seed: int = 0,
        faults: Faults | None = None,
        state_machine: Callable[[int], StateMachine] | None = None,
        on_apply: Callable[[int, Entry], None] | None = None,
        trace: Callable[[str], None] | None = None,
        **cfg: Any,
    ) -> None:
        """`cfg` overrides `rafttypes.Config` fields (election_tick, pre_vote, ...)."""
        self.ids: list[int] = list(range(1, n + 1))
        self.seed = seed
        self.rng = random.Random(seed)
        self.faults = faults
        self._cfg_overrides = cfg
        self._sm_factory: Callable[[int], StateMachine] = state_machine or (
            lambda _id: LogStateMachine()
        )
        self.on_apply = on_apply
        self.trace = trace
        self.nodes: dict[int, RawNode] = {}
        self.storage: dict[int, SimStorage] = {i: SimStorage() for i in self.ids}
        self.sm: dict[int, StateMachine] = {}
        self.read_states: dict[int, list[ReadState]] = {i: [] for i in self.ids}
        self.queue: list[_Envelope] = []
        self.blocked: set[tuple[int, int]] = set()
        self._boots: dict[int, int] = {i: 0 for i in self.ids}
        # observed facts, for the safety checks
        self._seen: dict[int, tuple[Role, int, int]] = {}
        self.leaders: dict[int, int] = {}  # term -> leader
        self.applied_at: dict[int, tuple[int, bytes]] = {}  # index -> (term, data)
        self._last_applied: dict[int, int] = {}
        self.committed: dict[int, tuple[int, int]] = {}  # index -> (entry term, commit term)
        self.max_commit = 0
        self._read_floor: dict[tuple[int, bytes], int] = {}
        for i in self.ids:
            self._boot(i)

    # ------------------------------------------------------------------ nodes

    def config(self, id: int) -> Config:
        return Config(id=id, peers=tuple(self.ids), **self._cfg_overrides)

    def node(self, id: int) -> RawNode:
        return self.nodes[id]

    def is_up(self, id: int) -> bool:
        return id in self.nodes

    def live(self) -> list[int]:
        return [i for i in self.ids if i in self.nodes]

    def applied(self, id: int) -> list[Entry]:
        """Entries applied by node `id` (needs the default LogStateMachine)."""
        sm = self.sm[id]
        assert isinstance(sm, LogStateMachine)
        return sm.entries

    def applied_data(self, id: int) -> list[bytes]:
        return [e.data for e in self.applied(id) if e.data]

    def _boot(self, id: int) -> None:
        st = self.storage[id]
        rng = random.Random(self.seed * 1_000_003 + id * 1009 + self._boots[id])
        self._boots[id] += 1
        self.nodes[id] = RawNode(
            self.config(id),
            rng,
            hard_state=replace(st.hard_state),
            snapshot=st.snapshot,
            entries=list(st.entries),
        )
        sm = self._sm_factory(id)
        if st.snapshot is not None:
            sm.restore(st.snapshot.data)
        self.sm[id] = sm
        self._last_applied[id] = st.offset
        self._observe(id)

    def crash(self, id: int, lose_inflight: bool = True) -> None:
        """Lose everything `id` had not persisted, and (by default) all messages in
        flight to and from it. With `lose_inflight=False` they stay on the network: a
        message sent before the crash may then reach the restarted node (raft must be
        safe with that too; messages to a node that is down are dropped on delivery)."""
        if id not in self.nodes:
            return
        del self.nodes[id]
        del self.sm[id]
        self._seen.pop(id, None)
        if lose_inflight:
            self.queue = [e for e in self.queue if e.sender != id and e.msg.to != id]
        self._emit(f"~ {id} crashed")

    def restart(self, id: int) -> None:
        if id in self.nodes:
            return
        self._emit(f"~ {id} restarted")
        self._boot(id)

    # ------------------------------------------------------------------ tracing / checks

    def _emit(self, line: str) -> None:
        if self.trace is not None:
            self.trace(line)

    def _observe(self, id: int) -> None:
        """Record and check what changed in node `id` after it did something."""
        nd = self.nodes.get(id)
        if nd is None:
            return
        cur = (nd.role, nd.term, nd.leader)
        prev = self._seen.get(id)
        if cur != prev:
            self._seen[id] = cur
            if prev is not None:
                self._emit(f"~ {id} is {nd.role.name} term={nd.term} leader={nd.leader}")
            if nd.role == Role.LEADER and (prev is None or prev[0] != Role.LEADER or prev[1] != nd.term):
                other = self.leaders.setdefault(nd.term, id)
                if other != id:
                    raise SafetyViolation(f"two leaders in term {nd.term}: {other} and {id}")
                self._check_leader_completeness(nd)
        if nd.role == Role.LEADER and nd.commit > self.max_commit:
            for i in range(self.max_commit + 1, nd.commit + 1):
                t = nd.term_at(i)
                if t is not None and i not in self.committed:
                    self.committed[i] = (t, nd.term)
            self.max_commit = nd.commit

    def _check_leader_completeness(self, nd: RawNode) -> None:
        for i, (et, ct) in self.committed.items():
            if ct >= nd.term or i < nd.first_index:
                continue
            if nd.term_at(i) != et:
                raise SafetyViolation(
                    f"leader {nd.id} of term {nd.term} lacks committed entry {i}/{et} "
                    f"(committed in term {ct}); it has term {nd.term_at(i)}"
                )

    def _check_durable(self, id: int, old: HardState, rd: Ready) -> None:
        """What a node says in its messages must already be on its disk."""
        st = self.storage[id]
        hs = st.hard_state
        if hs.term < old.term or (hs.term == old.term and old.vote and hs.vote != old.vote):
            raise SafetyViolation(f"node {id} hard state went from {old} to {hs}")
        for m in rd.messages:
            if m.type == MsgType.VOTE_RESP and not m.reject:
                # (a later term in the same Ready makes the old vote moot)
                if hs.term < m.term or (hs.term == m.term and hs.vote != m.to):
                    raise SafetyViolation(
                        f"node {id} granted its vote to {m.to} in term {m.term} but its "
                        f"stored hard state is {hs}"
                    )
            elif m.type == MsgType.APP_RESP and not m.reject and m.index > st.last_index:
                raise SafetyViolation(
                    f"node {id} acknowledged index {m.index}, stored only {st.last_index}"
                )

    def _record_apply(self, id: int, e: Entry) -> None:
        want = self._last_applied[id] + 1
        if e.index != want:
            raise SafetyViolation(f"node {id} applied index {e.index}, expected {want}")
        self._last_applied[id] = e.index
        got = self.applied_at.setdefault(e.index, (e.term, e.data))
        if got != (e.term, e.data):
            raise SafetyViolation(
                f"node {id} applied {format_entry(e)} at index {e.index}, "
                f"another node applied {e.index}/{got[0]}:{format_data(got[1])}"
            )

    def check_log_matching(self) -> None:
        """If two stored logs have an entry with the same index and term, they agree on
        every entry up to that index."""
        ids = self.ids
        for a_i, a in enumerate(ids):
            for b in ids[a_i + 1 :]:
                sa, sb = self.storage[a], self.storage[b]
                lo = max(sa.offset, sb.offset) + 1
                hi = min(sa.last_index, sb.last_index)
                diverged_at = 0
                for i in range(lo, hi + 1):
                    ea = sa.entries[i - sa.offset - 1]
                    eb = sb.entries[i - sb.offset - 1]
                    if ea.term == eb.term:
                        if diverged_at or ea.data != eb.data:
                            raise SafetyViolation(
                                f"log matching: nodes {a},{b} agree on term at {i} but "
                                f"differ at {diverged_at or i}"
                            )
                    elif not diverged_at:
                        diverged_at = i

    def check_applied_consistent(self) -> None:
        """All live nodes that applied up to the same index have the same state."""
        for i in self.live():
            sm = self.sm[i]
            if isinstance(sm, LogStateMachine):
                for e in sm.entries:
                    if self.applied_at.get(e.index, (e.term, e.data)) != (e.term, e.data):
                        raise SafetyViolation(f"node {i} state differs at {e.index}")

    # ------------------------------------------------------------------ driving nodes

    def tick(self, id: int, n: int = 1) -> None:
        nd = self.nodes[id]
        for _ in range(n):
            nd.tick()
            self._observe(id)

    def tick_all(self, n: int = 1) -> None:
        for _ in range(n):
            for i in self.live():
                self.nodes[i].tick()
                self._observe(i)

    def ticks_to_election(self, id: int) -> int:
        """Ticks until `id` acts on its election timer (campaigns, or checks quorum)."""
        st = self.nodes[id].status()
        if st["role"] == Role.LEADER.name:
            return int(self.config(id).election_tick) - int(st["election_elapsed"])
        return int(st["randomized_election_timeout"]) - int(st["election_elapsed"])

    def tick_election(self, id: int) -> None:
        self.tick(id, self.ticks_to_election(id))

    def campaign(self, id: int) -> None:
        self.nodes[id].campaign()
        self._observe(id)

    def propose(self, id: int, data: bytes) -> bool:
        ok = self.nodes[id].propose(data)
        self._observe(id)
        return ok

    def read_index(self, id: int, ctx: bytes) -> bool:
        ok = self.nodes[id].read_index(ctx)
        self._read_floor[(id, ctx)] = self.max_commit
        self._observe(id)
        return ok

    def transfer_leader(self, id: int, to: int) -> None:
        self.nodes[id].transfer_leader(to)
        self._observe(id)

    def compact(self, id: int, index: int | None = None) -> Snapshot | None:
        """Node `id` snapshots its state machine at `index` (default: applied)."""
        nd = self.nodes[id]
        idx = nd.applied if index is None else index
        snap = nd.compact(idx, self.sm[id].snapshot(idx))
        if snap is not None:
            self.storage[id].compact(snap)
        return snap

    def process_ready(self, id: int) -> bool:
        """Handle node `id`'s Ready per the contract. False if it had none."""
        nd = self.nodes.get(id)
        if nd is None or not nd.has_ready():
            return False
        rd = nd.ready()
        st = self.storage[id]
        old_hs = st.hard_state
        st.persist(rd)
        self._check_durable(id, old_hs, rd)
        if self.trace is not None:
            self._trace_ready(id, rd)
        for m in rd.messages:
            self.queue.append(_Envelope(id, m))
        sm = self.sm[id]
        if rd.snapshot is not None:
            sm.restore(rd.snapshot.data)
            self._last_applied[id] = rd.snapshot.index
        for e in rd.committed_entries:
            self._record_apply(id, e)
            sm.apply(e)
            if self.on_apply is not None:
                self.on_apply(id, e)
        for rs in rd.read_states:
            floor = self._read_floor.pop((id, rs.context), None)
            if floor is not None and rs.index < floor:
                raise SafetyViolation(
                    f"read {rs.context!r} on {id} got index {rs.index} < commit {floor} "
                    f"at request time"
                )
            self.read_states[id].append(rs)
        nd.advance(rd)
        self._observe(id)
        return True

    def _trace_ready(self, id: int, rd: Ready) -> None:
        lines = [f"> {id} ready"]
        if rd.hard_state is not None:
            hs = rd.hard_state
            lines.append(f"  hard: term={hs.term} vote={hs.vote} commit={hs.commit}")
        if rd.snapshot is not None:
            lines.append(f"  snapshot: {rd.snapshot.index}/{rd.snapshot.term}")
        if rd.entries:
            lines.append(f"  append: {format_entries(rd.entries)}")
        if rd.committed_entries:
            lines.append(f"  apply: {format_entries(rd.committed_entries)}")
        for rs in rd.read_states:
            lines.append(f"  read-state: index={rs.index} ctx={format_data(rs.context)}")
        for m in rd.messages:
            lines.append(f"  {format_message(m, id)}")
        if len(lines) > 1:
            for ln in lines:
                self._emit(ln)

    # ------------------------------------------------------------------ network

    def connected(self, a: int, b: int) -> bool:
        return (a, b) not in self.blocked

    def cut(self, a: int, b: int) -> None:
        """Drop traffic between a and b (both directions)."""
        self.blocked.add((a, b))
        self.blocked.add((b, a))

    def isolate(self, id: int) -> None:
        for o in self.ids:
            if o != id:
                self.cut(id, o)

    def partition(self, *groups: Iterable[int]) -> None:
        """Only nodes in the same group can talk (nodes in no group are isolated)."""
        sets = [set(g) for g in groups]
        self.blocked = set()
        for a in self.ids:
            for b in self.ids:
                if a != b and not any(a in s and b in s for s in sets):
                    self.blocked.add((a, b))

    def heal(self) -> None:
        self.blocked = set()

    def deliver(self, ids: Iterable[int] | None = None, *, drop: bool = False) -> int:
        """Deliver (or drop) the queued messages addressed to `ids` (default: all).

        Returns the number of messages handled."""
        want = None if ids is None else set(ids)
        batch: list[_Envelope] = []
        rest: list[_Envelope] = []
        for env in self.queue:
            (batch if want is None or env.msg.to in want else rest).append(env)
        self.queue = rest
        f = self.faults
        later: list[_Envelope] = []
        for env in batch:
            if env.hold > 0:
                env.hold -= 1
                later.append(env)
                continue
            m = env.msg
            if drop or not self.connected(env.sender, m.to) or m.to not in self.nodes:
                self._emit(f"  dropped: {format_message(m, env.sender)}")
                continue
            if f is not None:
                if f.drop and self.rng.random() < f.drop:
                    continue
                if f.reorder and self.rng.random() < f.reorder:
                    env.hold = self.rng.randrange(max(1, f.delay))
                    later.append(env)
                    continue
                if f.duplicate and self.rng.random() < f.duplicate:
                    later.append(_Envelope(env.sender, m, self.rng.randrange(max(1, f.delay))))
            self.nodes[m.to].step(m)
            self._observe(m.to)
        self.queue.extend(later)
        return len(batch)

    def stabilize(self, ids: Iterable[int] | None = None, max_rounds: int = 10_000) -> int:
        """Handle Readys and deliver messages (of/to `ids`, default all) until quiet.

        Returns the number of rounds it took."""
        sel = None if ids is None else list(ids)
        for rounds in range(max_rounds):
            busy = False
            for i in sel if sel is not None else self.ids:
                if self.process_ready(i):
                    busy = True
            if self.deliver(sel):
                busy = True
            if not busy:
                return rounds
        return max_rounds

    def step_round(self) -> None:
        """One round of a slower network: every node handles its Ready, then the
        messages queued so far are delivered once."""
        for i in self.ids:
            self.process_ready(i)
        self.deliver()

    def run(self, ticks: int, max_rounds: int = 10_000) -> None:
        for _ in range(ticks):
            self.tick_all()
            self.stabilize(max_rounds=max_rounds)

    # ------------------------------------------------------------------ helpers

    def leader(self) -> int:
        """The live leader with the highest term (0 if none)."""
        best, best_term = 0, -1
        for i in self.live():
            nd = self.nodes[i]
            if nd.role == Role.LEADER and nd.term > best_term:
                best, best_term = i, nd.term
        return best

    def stable_leader(self) -> int:
        """A live leader whose term no live node exceeds and that every live node it can
        reach follows (0 if none)."""
        ld = self.leader()
        if not ld:
            return 0
        term = self.nodes[ld].term
        for i in self.live():
            nd = self.nodes[i]
            if nd.term > term:
                return 0
            if i != ld and self.connected(ld, i) and self.connected(i, ld) and nd.leader != ld:
                return 0
        return ld

    def wait_leader(self, max_ticks: int = 500) -> int:
        """Tick and stabilize until there is a stable leader; returns it."""
        for _ in range(max_ticks):
            self.stabilize()
            ld = self.stable_leader()
            if ld:
                return ld
            self.tick_all()
        raise TimeoutError(f"no stable leader after {max_ticks} ticks")

    def wait_applied(
        self, data: bytes, ids: Iterable[int] | None = None, max_ticks: int = 500
    ) -> None:
        """Tick and stabilize until every node in `ids` (default: live) applied `data`."""
        targets = list(self.live() if ids is None else ids)
        for _ in range(max_ticks):
            self.stabilize()
            if all(data in self.applied_data(i) for i in targets):
                return
            self.tick_all()
        raise TimeoutError(f"{data!r} not applied on {targets} after {max_ticks} ticks")

    def propose_and_wait(
        self,
        data: bytes,
        via: int | None = None,
        ids: Iterable[int] | None = None,
        max_ticks: int = 500,
        retry_ticks: int | None = None,
    ) -> None:
        """Propose `data` (on `via`, default the leader) until every node in `ids`
        (default: live) applied it. Re-proposes every `retry_ticks` (default 2 election
        timeouts) while not committed, so the entry may be applied more than once."""
        targets = list(self.live() if ids is None else ids)
        retry = retry_ticks or 2 * int(self.config(self.ids[0]).election_tick)
        waited = retry
        for _ in range(max_ticks):
            self.stabilize()
            if all(data in self.applied_data(i) for i in targets):
                return
            if waited >= retry and not any(data in self.applied_data(i) for i in self.live()):
                src = via if via is not None else (self.stable_leader() or self.leader())
                if src and src in self.nodes:
                    self.propose(src, data)
                    waited = 0
                    continue
            waited += 1
            self.tick_all()
        raise TimeoutError(f"{data!r} not applied on {targets} after {max_ticks} ticks")
