"""Randomized fault runs of the raft core checked for linearizability.

Each run is a pure function of its seed. A simulated 3-member cluster (`tests.raftsim`)
replicates a key-value map; simulated clients put/get a handful of keys against random
members while the run injects crashes (restart from the simulated disk), partitions
(symmetric and one-way), message loss/duplication/reordering, leadership transfers and
log compactions (so laggards get snapshots). The client-visible history is checked with
`tests.lincheck`; after healing, every acknowledged put must be applied on every member,
and the members' applied sequences must be prefixes of one another throughout.

How the pieces fit:

- Raft entries carry `put:<request id>:<key>:<value>`. The state machine applies a
  request id at most once (clients re-propose after losses, so an id can be in the log
  more than once) and records the sequence of request ids it applied.
- A put is acknowledged when the member the client sent it to applies its entry (what
  the real member does: a future per request id). A follower forwards the proposal to
  the leader as raft does. `propose` returning False (no leader known, transfer in
  flight) is retried after a few ticks with the same request id.
- A get is served with ReadIndex: the client asks a member for `read_index(ctx)` (a fresh
  ctx per attempt), and is answered once that member's applied index reaches the
  ReadState's index, with the member's value at that moment.
- An operation not answered within `OP_TIMEOUT` ticks, or whose member crashed, has an
  unknown outcome: it stays pending in the history.
- History times are a global event counter (every call/return gets the next number), so
  "returned before called" is strict.

`tests.raftsim` checks raft's own safety properties (election safety, state machine
safety, leader completeness, ReadIndex floors) all along and raises `SafetyViolation`.

Options (tests/conftest.py), e.g. `pytest tests/unit/test_linearizability.py
--lin-seeds=500`: `--lin-seeds=N` runs seeds 0..N-1 (default 20), `--lin-seed=S` runs
only seed S. A failure names the seed, the
checker's explanation and the tail of the run's event log; rerun with `--lin-seed=S -s`
and `LIN_TRACE=1` in the environment for the full event log.
"""

from __future__ import annotations

import json
import os
import random
from dataclasses import dataclass, field
from typing import Any

import pytest

from actors.etcd.rafttypes import Entry, Role
from tests.lincheck import History, KvInput, check, get, kv_model, put
from tests.raftsim import Cluster, Faults

KEYS = ("a", "b", "c")
N_NODES = 3
N_CLIENTS = 5
RUN_TICKS = 2000  # ticks of client load under faults
OP_TIMEOUT = 40  # ticks before a client gives up on an operation (outcome unknown)
PROPOSE_RETRY = 12  # ticks between re-proposals of an unacknowledged put
READ_RETRY = 8  # ticks between ReadIndex attempts of an unanswered get
SETTLE_TICKS = 400  # bound on the healing phase
CHECK_TIMEOUT = 20.0  # seconds for the linearizability check of one run


# ---------------------------------------------------------------------------- state machine


def encode_put(req: str, key: str, value: str) -> bytes:
    return f"put:{req}:{key}:{value}".encode()


def decode_put(data: bytes) -> tuple[str, str, str]:
    kind, req, key, value = data.decode().split(":")
    assert kind == "put", data
    return req, key, value


class KvStateMachine:
    """The replicated map. `applied_ids` is the sequence of request ids it applied."""

    def __init__(self, on_restore: Any = None) -> None:
        self.on_restore = on_restore
        self.data: dict[str, str] = {}
        self.applied_ids: list[str] = []
        self._seen: set[str] = set()
        self.index = 0  # last applied raft index

    def apply(self, entry: Entry) -> None:
        assert entry.index == self.index + 1, (entry.index, self.index)
        self.index = entry.index
        if not entry.data:
            return  # a leader's no-op
        req, key, value = decode_put(entry.data)
        if req in self._seen:
            return  # a re-proposal of a request already applied
        self._seen.add(req)
        self.applied_ids.append(req)
        self.data[key] = value

    def snapshot(self, index: int) -> bytes:
        assert index == self.index, f"snapshot at {index} but applied {self.index}"
        return json.dumps({"index": self.index, "data": self.data, "ids": self.applied_ids}).encode()

    def restore(self, data: bytes) -> None:
        d = json.loads(data)
        if self.on_restore is not None:
            self.on_restore(self.index, d["index"])
        self.index = d["index"]
        self.data = dict(d["data"])
        self.applied_ids = list(d["ids"])
        self._seen = set(self.applied_ids)


# ---------------------------------------------------------------------------- clients


@dataclass
class ClientOp:
    hid: int  # id in the History
    client: int
    kind: str  # "put" | "get"
    key: str
    node: int  # the member the client talks to
    started: int  # tick
    value: str = ""  # put
    req: str = ""  # put: request id
    last_try: int = -(10**9)  # tick of the last propose / read_index attempt
    tries: int = 0
    accepted: bool = False  # put: propose returned True at least once
    ctxs: set[bytes] = field(default_factory=set)  # get: ReadIndex contexts issued
    read_at: int | None = None  # get: ReadState index received


@dataclass
class Stats:
    ticks: int = 0
    puts_ok: int = 0
    gets_ok: int = 0
    timed_out: int = 0
    abandoned: int = 0  # member crashed under the op
    crashes: int = 0
    partitions: int = 0
    transfers: int = 0
    compactions: int = 0
    snapshots_installed: int = 0  # a follower restored a leader's snapshot
    leaders: int = 0  # distinct (term, leader) pairs observed

    def __str__(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.__dict__.items())


class LinRun:
    """One seeded fault run. `run()` returns the history; `check()` runs all checks."""

    def __init__(self, seed: int, *, trace: bool = False) -> None:
        self.seed = seed
        self.rng = random.Random(f"lin-{seed}")
        rng = self.rng
        # vary flow control so that probing, pipelining and batching all get exercised
        self.cfg: dict[str, Any] = {
            "election_tick": 10,
            "heartbeat_tick": 1,
            "max_inflight": rng.choice([1, 2, 256]),
            "max_msg_entries": rng.choice([1, 3, 4096]),
            # mostly etcd's defaults; sometimes without the leader lease / pre-vote
            "pre_vote": rng.random() < 0.8,
            "check_quorum": rng.random() < 0.8,
        }
        # how often crashes, partitions, transfers and compactions happen, relative
        self.intensity = rng.choice([0.5, 1.0, 1.0, 2.0, 4.0])
        self._booting = False
        self.stats = Stats()
        self.cluster = Cluster(
            N_NODES,
            seed=seed,
            state_machine=lambda _id: KvStateMachine(self._on_restore),
            on_apply=self._on_apply,
            **self.cfg,
        )
        self.history: History[KvInput, Any] = History()
        self.clock = 0  # history time: a global event counter
        self.tick = 0
        self.ops: dict[int, ClientOp | None] = {c: None for c in range(N_CLIENTS)}
        self.next_start: dict[int, int] = {c: 0 for c in range(N_CLIENTS)}
        self.by_req: dict[str, ClientOp] = {}
        self.by_ctx: dict[bytes, ClientOp] = {}
        self.seq = 0
        self.acked_puts: list[str] = []
        self.events: list[str] = []
        self.trace = trace
        self._leaders_seen: set[tuple[int, int]] = set()
        # fault state
        self.restart_at: dict[int, int] = {}
        self.heal_at: int | None = None
        self.faults_until = 0

    # ------------------------------------------------------------------ bookkeeping

    def log(self, msg: str) -> None:
        line = f"t={self.tick} {msg}"
        self.events.append(line)
        if self.trace:
            print(line)

    def _now(self) -> int:
        self.clock += 1
        return self.clock

    def sm(self, node: int) -> KvStateMachine:
        sm = self.cluster.sm[node]
        assert isinstance(sm, KvStateMachine)
        return sm

    def _finish(self, op: ClientOp, output: Any) -> None:
        self.history.complete(op.hid, output, self._now())
        self.ops[op.client] = None
        self.next_start[op.client] = self.tick + self.rng.randint(0, 3)
        self.by_req.pop(op.req, None)
        for c in op.ctxs:
            self.by_ctx.pop(c, None)
        if op.kind == "put":
            self.stats.puts_ok += 1
            self.acked_puts.append(op.req)
        else:
            self.stats.gets_ok += 1
        if self.trace:
            self.log(f"client {op.client} {op.kind} {op.key} on {op.node} -> {output!r}")

    def _give_up(self, op: ClientOp, why: str) -> None:
        """The client stops waiting: the outcome stays unknown (pending in the history)."""
        self.ops[op.client] = None
        self.next_start[op.client] = self.tick + self.rng.randint(0, 3)
        self.by_req.pop(op.req, None)
        for c in op.ctxs:
            self.by_ctx.pop(c, None)
        if why == "timeout":
            self.stats.timed_out += 1
        else:
            self.stats.abandoned += 1
        self.log(f"client {op.client} gives up on {op.kind} {op.key}={op.value} via {op.node}: {why}")

    def _on_restore(self, old_index: int, new_index: int) -> None:
        if not self._booting:
            self.stats.snapshots_installed += 1
            self.log(f"snapshot installed: {old_index} -> {new_index}")

    def _on_apply(self, node: int, entry: Entry) -> None:
        if not entry.data:
            return
        req, _key, _value = decode_put(entry.data)
        op = self.by_req.get(req)
        if op is not None and op.node == node:
            self._finish(op, None)

    def _poll_reads(self) -> None:
        c = self.cluster
        for node in c.live():
            states = c.read_states[node]
            if states:
                c.read_states[node] = []
                for rs in states:
                    op = self.by_ctx.get(rs.context)
                    if op is not None and op.node == node and op.read_at is None:
                        op.read_at = rs.index
            sm = self.sm(node)
            for op in list(self.ops.values()):
                if (
                    op is not None
                    and op.kind == "get"
                    and op.node == node
                    and op.read_at is not None
                    and sm.index >= op.read_at
                ):
                    self._finish(op, sm.data.get(op.key))

    # ------------------------------------------------------------------ clients

    def _start_op(self, client: int, *, kind: str | None = None, key: str | None = None,
                  node: int | None = None) -> ClientOp | None:
        """Start an operation (random unless given); None if its member is down."""
        rng = self.rng
        kind = kind or ("put" if rng.random() < 0.5 else "get")
        key = key or rng.choice(KEYS)
        node = node or rng.choice(self.cluster.ids)
        if not self.cluster.is_up(node):
            # connection refused: the operation never started
            self.next_start[client] = self.tick + rng.randint(1, 5)
            return None
        if kind == "put":
            self.seq += 1
            value = f"{client}.{self.seq}"
            inp: KvInput = put(key, value)
        else:
            value = ""
            inp = get(key)
        hid = self.history.invoke(client, inp, self._now())
        op = ClientOp(hid, client, kind, key, node, self.tick, value=value)
        if kind == "put":
            op.req = f"r{self.seq}"
            self.by_req[op.req] = op
        self.ops[client] = op
        self._attempt(op)
        return op

    def _attempt(self, op: ClientOp) -> None:
        c = self.cluster
        op.last_try = self.tick
        op.tries += 1
        if op.kind == "put":
            if c.propose(op.node, encode_put(op.req, op.key, op.value)):
                op.accepted = True
        else:
            ctx = f"{op.client}/{op.hid}/{op.tries}".encode()
            if c.read_index(op.node, ctx):
                op.ctxs.add(ctx)
                self.by_ctx[ctx] = op

    def _clients_step(self, load: bool) -> None:
        for client, op in list(self.ops.items()):
            if op is None:
                if load and self.tick >= self.next_start[client]:
                    self._start_op(client)
                continue
            if self.tick - op.started >= OP_TIMEOUT:
                self._give_up(op, "timeout")
                continue
            if op.kind == "put":
                retry = PROPOSE_RETRY if op.accepted else 3
                if self.tick - op.last_try >= retry:
                    self._attempt(op)
            elif op.read_at is None and self.tick - op.last_try >= (READ_RETRY if op.ctxs else 3):
                self._attempt(op)

    # ------------------------------------------------------------------ faults

    def _crash(self, node: int) -> None:
        c = self.cluster
        c.crash(node)
        c.read_states[node] = []
        self.stats.crashes += 1
        self.restart_at[node] = self.tick + self.rng.randint(3, 60)
        self.log(f"crash {node} (restart at t={self.restart_at[node]})")
        for op in list(self.ops.values()):
            if op is not None and op.node == node:
                self._give_up(op, "member crashed")

    def _restart(self, node: int) -> None:
        self._booting = True
        try:
            self.cluster.restart(node)
        finally:
            self._booting = False

    def _faults_step(self) -> None:
        c, rng, t = self.cluster, self.rng, self.tick
        for node, at in sorted(self.restart_at.items()):
            if t >= at:
                del self.restart_at[node]
                self._restart(node)
                self.log(f"restart {node}")
        if self.heal_at is not None and t >= self.heal_at:
            self.heal_at = None
            c.heal()
            self.log("heal")
        if t >= self.faults_until:
            # a new period of message faults (or of a clean network)
            self.faults_until = t + rng.randint(20, 80)
            if rng.random() < 0.6:
                f = Faults(
                    drop=rng.choice([0.0, 0.02, 0.1, 0.3]),
                    duplicate=rng.choice([0.0, 0.05, 0.2]),
                    reorder=rng.choice([0.0, 0.05, 0.2]),
                )
                c.faults = f
                self.log(f"faults {f}")
            else:
                c.faults = None
                self.log("faults off")
        live = c.live()
        leader = c.leader()
        k = self.intensity
        if rng.random() < 0.02 * k and len(live) >= 2:
            # crash a member: the leader half of the time; now and then a second one
            victim = leader if leader and rng.random() < 0.5 else rng.choice(live)
            if len(live) == N_NODES or rng.random() < 0.2:
                self._crash(victim)
        if self.heal_at is None and rng.random() < 0.02 * k:
            self.stats.partitions += 1
            kind = rng.randrange(4)
            ids = list(c.ids)
            rng.shuffle(ids)
            if kind == 0 and leader:
                c.isolate(leader)
                desc = f"isolate leader {leader}"
            elif kind <= 1:
                c.isolate(ids[0])
                desc = f"isolate {ids[0]}"
            elif kind == 2:
                c.partition([ids[0]], ids[1:])
                desc = f"partition {[ids[0]]} | {sorted(ids[1:])}"
            else:
                # one-way: ids[0] does not hear from ids[1] (and maybe ids[2])
                c.blocked.add((ids[1], ids[0]))
                desc = f"one-way {ids[1]}-/->{ids[0]}"
                if rng.random() < 0.5:
                    c.blocked.add((ids[2], ids[0]))
                    desc += f", {ids[2]}-/->{ids[0]}"
            self.heal_at = t + rng.randint(5, 60)
            self.log(f"{desc} (heal at t={self.heal_at})")
        live = c.live()
        leader = c.leader()
        if leader and rng.random() < 0.015 * k:
            to = rng.choice([i for i in c.ids if i != leader])
            via = rng.choice(live)
            self.stats.transfers += 1
            self.log(f"transfer leadership {leader} -> {to} (asked on {via})")
            c.transfer_leader(via, to)
        live = c.live()
        if rng.random() < 0.04 * k and live:
            # snapshot a member's state machine and drop its log up to there
            node = rng.choice(live)
            nd = c.node(node)
            if nd.applied >= nd.first_index:
                at = nd.applied
                c.compact(node)
                self.stats.compactions += 1
                self.log(f"compact {node} at {at}")

    # ------------------------------------------------------------------ checks during the run

    def _check_prefixes(self) -> None:
        seqs = [(n, self.sm(n).applied_ids) for n in self.cluster.live()]
        longest = max(seqs, key=lambda s: len(s[1]))
        for n, s in seqs:
            if longest[1][: len(s)] != s:
                k = next(i for i, (a, b) in enumerate(zip(s, longest[1])) if a != b)
                raise AssertionError(
                    f"applied sequences diverge: node {n} applied {s[k]} at position {k}, "
                    f"node {longest[0]} applied {longest[1][k]}"
                )

    def _observe_leader(self) -> None:
        c = self.cluster
        for n in c.live():
            nd = c.node(n)
            if nd.role == Role.LEADER and (nd.term, n) not in self._leaders_seen:
                self._leaders_seen.add((nd.term, n))
                self.stats.leaders += 1
                self.log(f"leader {n} term {nd.term}")

    # ------------------------------------------------------------------ driving

    def _one_tick(self, load: bool, faults: bool) -> None:
        c = self.cluster
        if faults:
            self._faults_step()
        self._clients_step(load)
        c.tick_all()
        for _ in range(self.rng.randint(1, 4)):
            c.step_round()
            self._poll_reads()
        self._observe_leader()
        self._check_prefixes()
        self.tick += 1
        self.stats.ticks = self.tick

    def _settled(self) -> bool:
        c = self.cluster
        ld = c.stable_leader()
        if not ld or len(c.live()) != N_NODES:
            return False
        nd = c.node(ld)
        if nd.term_at(nd.commit) != nd.term:
            return False  # the leader has not committed in its term yet
        return all(c.node(n).applied == nd.last_index for n in c.ids)

    def run(self) -> None:
        c = self.cluster
        self.log(f"config {self.cfg} fault intensity {self.intensity}")
        for _ in range(RUN_TICKS):
            self._one_tick(load=True, faults=True)
        # heal everything, let in-flight operations finish, and let the members converge
        c.heal()
        c.faults = None
        for node in sorted(self.restart_at):
            self._restart(node)
        self.restart_at.clear()
        self.heal_at = None
        self.log("heal all, restart all, faults off")
        for _ in range(SETTLE_TICKS):
            self._one_tick(load=False, faults=False)
            if all(op is None for op in self.ops.values()) and self._settled():
                break
        else:
            raise AssertionError(
                f"cluster did not settle within {SETTLE_TICKS} ticks: "
                + "; ".join(str(c.node(n).status()) for n in c.live())
            )
        # final reads of every key on every member (each by its own client)
        final: list[int] = []
        for i, (node, key) in enumerate((n, k) for n in c.ids for k in KEYS):
            client = 100 + i
            self.ops[client] = None
            op = self._start_op(client, kind="get", key=key, node=node)
            assert op is not None
            final.append(op.hid)
        while any(op is not None for op in self.ops.values()):
            self._one_tick(load=False, faults=False)
        if not all(self.history.is_complete(h) for h in final):
            raise AssertionError("final reads timed out on a healthy cluster")

    def check(self) -> None:
        """Run everything and check it; raises AssertionError with the seed on failure."""
        try:
            self.run()
            self.cluster.check_log_matching()
            self.cluster.check_applied_consistent()
            # every acknowledged put is applied on every member, and they all agree
            seqs = {n: self.sm(n).applied_ids for n in self.cluster.ids}
            first = seqs[self.cluster.ids[0]]
            for n, s in seqs.items():
                assert s == first, f"members disagree after settling: {n} has {len(s)} ids, 1 has {len(first)}"
                missing = set(self.acked_puts) - set(s)
                assert not missing, f"acknowledged puts lost on member {n}: {sorted(missing)}"
            res = check(kv_model(), self.history, timeout=CHECK_TIMEOUT)
            assert res.ok, f"linearizability: {res.outcome.value}\n{res.explanation}"
        except Exception as e:
            tail = "\n".join(self.events[-40:])
            raise AssertionError(
                f"seed {self.seed}: {type(e).__name__}: {e}\n"
                f"stats: {self.stats}\n"
                f"last events:\n{tail}\n"
                f"rerun: pytest tests/unit/test_linearizability.py --lin-seed={self.seed}"
            ) from e


# ---------------------------------------------------------------------------- tests


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "lin_seed" in metafunc.fixturenames:
        one = metafunc.config.getoption("lin_seed", default=None)
        n = metafunc.config.getoption("lin_seeds", default=20)
        seeds = [int(one)] if one is not None else list(range(int(n)))
        metafunc.parametrize("lin_seed", seeds)


def test_linearizable_under_faults(lin_seed: int) -> None:
    run = LinRun(lin_seed, trace=bool(os.environ.get("LIN_TRACE")))
    run.check()
    s = run.stats
    # the run must have done something worth checking
    assert s.puts_ok >= 30 and s.gets_ok >= 30, f"seed {lin_seed}: too little progress: {s}"


def test_run_is_reproducible() -> None:
    a, b = LinRun(7), LinRun(7)
    a.run()
    b.run()
    assert a.events == b.events
    assert a.history.operations() == b.history.operations()
    assert a.stats.crashes and a.stats.partitions and a.stats.transfers and a.stats.compactions


# The harness must be able to fail: deliberately broken clients are caught.


class _StaleFollowerReads(LinRun):
    """Serves gets from the contacted member's local state, without ReadIndex."""

    def _attempt(self, op: ClientOp) -> None:
        if op.kind == "get":
            self._finish(op, self.sm(op.node).data.get(op.key))
            return
        super()._attempt(op)


class _AckBeforeCommit(LinRun):
    """Acknowledges a put as soon as the leader appended it to its log."""

    def _attempt(self, op: ClientOp) -> None:
        super()._attempt(op)
        if op.kind == "put" and op.accepted and self.cluster.node(op.node).role == Role.LEADER:
            self._finish(op, None)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_harness_catches_stale_reads(seed: int) -> None:
    with pytest.raises(AssertionError, match=rf"seed {seed}: .*linearizability: illegal"):
        _StaleFollowerReads(seed).check()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_harness_catches_acks_before_commit(seed: int) -> None:
    with pytest.raises(AssertionError, match=rf"seed {seed}: .*(acknowledged puts lost|linearizability)"):
        _AckBeforeCommit(seed).check()
