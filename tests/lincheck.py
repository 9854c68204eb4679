"""A linearizability checker (Wing & Gong search with Lowe's memoization, Porcupine style).

A *history* is a list of `Operation`s, each performed by one client: the time the client
called it, the time it returned (or `None`: the client never learned the outcome — a
timeout, a crash — so the operation may have taken effect at any point after its call, or
never), its input and its output. A history is linearizable with respect to a sequential
`Model` when every operation can be assigned a single instant between its call and its
return (pending operations: any instant after their call, or none at all) such that
executing the operations in that order on the model reproduces every observed output.

The search (Wing & Gong, "Testing and verifying concurrent objects", 1993, with the state
cache of Lowe, "Testing for linearizability", 2017 — the approach Porcupine takes):

* the call and return events of all operations are put in one doubly linked list ordered
  by time (a call before a return at the same instant, which treats touching intervals as
  concurrent — the permissive reading);
* walking the list from its head, a *call* event whose operation the model accepts in the
  current state is tentatively linearized: the operation's call and return events are
  lifted out of the list, the choice is pushed on a stack and the walk restarts at the
  head; an operation the model rejects is skipped (the walk goes on to the next event);
* reaching a *return* event means that operation had to be linearized by now but no
  choice works: pop the last choice, put its events back and try the event after it;
* a (set of linearized operations, model state) pair seen before is never explored again —
  the rest of the search depends only on that pair.

The history is linearizable once every operation that returned has been linearized
(pending operations left over are the ones that never took effect). If the stack empties
the history is not linearizable; the explanation names the longest linearizable prefix
found and the operation that could not be placed after it.

Linearizability is local (Herlihy & Wing): a history over independent objects (keys) is
linearizable iff each object's sub-history is, so a model may `partition` the history and
each part is checked on its own, which is exponentially cheaper.

Times may be any mutually comparable numbers. Ties between a return and a call are treated
as concurrency, so a harness that wants "returned before called" to be strict should use
distinct timestamps (e.g. a global event counter).
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

__all__ = [
    "UNKNOWN",
    "Unknown",
    "Operation",
    "History",
    "Model",
    "Outcome",
    "PartitionResult",
    "CheckResult",
    "check",
    "KvInput",
    "kv_model",
    "put",
    "get",
    "cas",
]

S = TypeVar("S")  # model state (hashable)
I = TypeVar("I")  # operation input
O = TypeVar("O")  # operation output


class Unknown:
    """Type of `UNKNOWN`: the output of an operation whose outcome the client never saw."""

    _instance: Unknown | None = None

    def __new__(cls) -> Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = Unknown()


@dataclass(frozen=True, slots=True)
class Operation(Generic[I, O]):
    """One operation of a history.

    `ret is None` means the outcome is unknown (the operation may or may not have taken
    effect, at any time after `call`); its `output` is then ignored and `UNKNOWN` is passed
    to the model. `id` is only used in explanations (e.g. an index into the caller's log).
    """

    client: int
    input: I
    call: float
    output: O | Unknown = UNKNOWN
    ret: float | None = None
    id: int = -1

    @property
    def pending(self) -> bool:
        return self.ret is None


class History(Generic[I, O]):
    """A recorder for a history built while a test runs.

    >>> h = History()
    >>> i = h.invoke(client=1, input=put("k", "v"), time=0)
    >>> h.complete(i, None, time=3)

    Operations invoked but never completed are pending (unknown outcome).
    """

    def __init__(self) -> None:
        self._calls: list[tuple[int, I, float]] = []
        self._returns: dict[int, tuple[O, float]] = {}

    def invoke(self, client: int, input: I, time: float) -> int:
        self._calls.append((client, input, time))
        return len(self._calls) - 1

    def complete(self, op_id: int, output: O, time: float) -> None:
        if op_id in self._returns:
            raise ValueError(f"operation {op_id} completed twice")
        if time < self._calls[op_id][2]:
            raise ValueError(f"operation {op_id} returns before its call")
        self._returns[op_id] = (output, time)

    def is_complete(self, op_id: int) -> bool:
        return op_id in self._returns

    def __len__(self) -> int:
        return len(self._calls)

    def operations(self) -> list[Operation[I, O]]:
        ops: list[Operation[I, O]] = []
        for i, (client, inp, call) in enumerate(self._calls):
            if i in self._returns:
                out, ret = self._returns[i]
                ops.append(Operation(client, inp, call, out, ret, id=i))
            else:
                ops.append(Operation(client, inp, call, UNKNOWN, None, id=i))
        return ops


@dataclass(frozen=True)
class Model(Generic[S, I, O]):
    """A sequential specification.

    - `init()` — the initial state;
    - `step(state, input, output)` → `(ok, new_state)`: whether the operation with this
      input may return `output` in `state`, and the state after it. `output` is `UNKNOWN`
      for pending operations (then `ok` should be True unless the input is impossible);
    - states must be hashable and compare equal when equivalent (they key the cache); or
      give `state_key` to map a state to such a key;
    - `partition(ops)` (optional) splits a history into independently checkable parts
      (e.g. by key), returned as (label, ops) pairs;
    - `read_only(input)` (optional): True for operations that never change the state;
      pending ones are dropped before the search (they may as well never have happened);
    - `describe_op` / `describe_state` format explanations.
    """

    init: Callable[[], S]
    step: Callable[[S, I, O | Unknown], tuple[bool, S]]
    partition: Callable[[Sequence[Operation[I, O]]], list[tuple[str, list[Operation[I, O]]]]] | None = None
    read_only: Callable[[I], bool] | None = None
    state_key: Callable[[S], Hashable] | None = None
    describe_op: Callable[[I, O | Unknown], str] | None = None
    describe_state: Callable[[S], str] = repr


class Outcome(enum.Enum):
    OK = "ok"
    ILLEGAL = "illegal"
    TIMEOUT = "timeout"  # the time budget ran out before a verdict


@dataclass
class PartitionResult(Generic[S, I, O]):
    """The verdict for one part of the history.

    For ILLEGAL: `prefix` is the longest linearization found (operations in linearization
    order), `state` the model state after it, and `blocked` the operation whose return was
    reached without any way to linearize it after that prefix.
    """

    label: str
    outcome: Outcome
    n_ops: int
    prefix: list[Operation[I, O]] = field(default_factory=list)
    blocked: Operation[I, O] | None = None
    state: Any = None
    explored: int = 0  # search steps, for diagnostics


@dataclass
class CheckResult:
    """The overall verdict: ILLEGAL if any part is, else TIMEOUT if any part ran out of
    time, else OK. `explanation` is a short human-readable account (empty when OK)."""

    outcome: Outcome
    parts: list[PartitionResult[Any, Any, Any]]
    explanation: str = ""
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.OK

    @property
    def illegal(self) -> bool:
        return self.outcome is Outcome.ILLEGAL

    @property
    def timed_out(self) -> bool:
        return self.outcome is Outcome.TIMEOUT


# --------------------------------------------------------------------------- the search


class _Entry:
    """A call or return event in the doubly linked event list."""

    __slots__ = ("op", "is_call", "match", "prev", "next")

    def __init__(self, op: int, is_call: bool) -> None:
        self.op = op  # index into the partition's op list
        self.is_call = is_call
        self.match: _Entry | None = None  # call -> its return (None for pending ops)
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def _build_list(ops: Sequence[Operation[Any, Any]]) -> _Entry:
    """The event list for `ops` (pending ops contribute a call event only); returns the
    head sentinel."""
    events: list[tuple[float, int, int, _Entry]] = []
    for i, op in enumerate(ops):
        c = _Entry(i, True)
        events.append((op.call, 0, i, c))
        if op.ret is not None:
            if op.ret < op.call:
                raise ValueError(f"operation {op} returns before its call")
            r = _Entry(i, False)
            c.match = r
            events.append((op.ret, 1, i, r))
    # at equal times calls sort before returns (touching intervals are concurrent)
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    head = _Entry(-1, False)
    prev = head
    for _, _, _, e in events:
        prev.next = e
        e.prev = prev
        prev = e
    return head


def _lift(e: _Entry) -> None:
    assert e.prev is not None
    e.prev.next = e.next
    if e.next is not None:
        e.next.prev = e.prev
    m = e.match
    if m is not None:
        assert m.prev is not None
        m.prev.next = m.next
        if m.next is not None:
            m.next.prev = m.prev


def _unlift(e: _Entry) -> None:
    m = e.match
    if m is not None:
        assert m.prev is not None
        m.prev.next = m
        if m.next is not None:
            m.next.prev = m
    assert e.prev is not None
    e.prev.next = e
    if e.next is not None:
        e.next.prev = e


def _check_part(
    model: Model[Any, Any, Any],
    label: str,
    ops: list[Operation[Any, Any]],
    deadline: float | None,
) -> PartitionResult[Any, Any, Any]:
    ro = model.read_only
    if ro is not None:
        ops = [op for op in ops if not (op.pending and ro(op.input))]
    n = len(ops)
    head = _build_list(ops)
    step = model.step
    skey = model.state_key
    inputs = [op.input for op in ops]
    outputs = [UNKNOWN if op.pending else op.output for op in ops]
    # read-only ops: once one is callable (its call precedes every remaining return) and
    # the model accepts it, linearizing it right there is as good as any later spot (the
    # state is unchanged and it only gets more constrained later), so it is not a choice
    # point: backtracking undoes it together with the choice before it
    readonly = [ro is not None and ro(x) for x in inputs]
    remaining = sum(1 for op in ops if not op.pending)  # completed ops not yet linearized

    state = model.init()
    linearized = 0  # bitset of linearized op indexes
    cache: set[tuple[int, Hashable]] = set()
    # (call entry linearized, model state before it)
    stack: list[tuple[_Entry, Any]] = []
    best_len = -1
    best_prefix: list[int] = []
    best_blocked = -1
    best_state: Any = None
    steps = 0
    entry = head.next
    while remaining > 0:
        steps += 1
        if deadline is not None and (steps & 0x3FF) == 0 and time.monotonic() > deadline:
            return PartitionResult(label, Outcome.TIMEOUT, n, explored=steps)
        # a list with completed ops left always has their return events, so a walk from
        # the head meets one before running off the end
        assert entry is not None
        backtrack = False
        if entry.is_call:
            i = entry.op
            ok, new_state = step(state, inputs[i], outputs[i])
            if ok:
                new_lin = linearized | (1 << i)
                key = (new_lin, skey(new_state) if skey is not None else new_state)
                if key not in cache:
                    cache.add(key)
                    stack.append((entry, state))
                    state = new_state
                    linearized = new_lin
                    if entry.match is not None:
                        remaining -= 1
                    _lift(entry)
                    entry = head.next
                    continue
                # explored before and failed; for a read-only op that means this node fails
                backtrack = readonly[i]
            if not backtrack:
                entry = entry.next
                continue
        elif len(stack) > best_len:
            # this op had to be linearized before here, and nothing works
            best_len = len(stack)
            best_prefix = [e.op for e, _ in stack]
            best_blocked = entry.op
            best_state = state
        # undo the last choice, and the forced read-only linearizations on top of it
        top: _Entry | None = None
        while stack:
            top, state = stack.pop()
            linearized &= ~(1 << top.op)
            if top.match is not None:
                remaining += 1
            _unlift(top)
            if not readonly[top.op]:
                break
        else:
            break  # the stack ran out: nothing left to try
        assert top is not None
        entry = top.next
    if remaining == 0:
        return PartitionResult(label, Outcome.OK, n, explored=steps)
    return PartitionResult(
        label,
        Outcome.ILLEGAL,
        n,
        prefix=[ops[i] for i in best_prefix],
        blocked=ops[best_blocked],
        state=best_state,
        explored=steps,
    )


def _fmt_time(t: float | None) -> str:
    if t is None:
        return "…"
    return f"{t:g}" if isinstance(t, float) else str(t)


def _describe(model: Model[Any, Any, Any], op: Operation[Any, Any]) -> str:
    if model.describe_op is not None:
        body = model.describe_op(op.input, UNKNOWN if op.pending else op.output)
    else:
        body = f"{op.input!r} -> {UNKNOWN if op.pending else op.output!r}"
    ident = f"#{op.id} " if op.id >= 0 else ""
    return f"{ident}client {op.client} {body} [{_fmt_time(op.call)}, {_fmt_time(op.ret)}]"


def _explain(model: Model[Any, Any, Any], part: PartitionResult[Any, Any, Any], max_prefix: int) -> str:
    assert part.blocked is not None
    lines = [
        f"{part.label}: not linearizable ({part.n_ops} ops); longest linearizable prefix "
        f"has {len(part.prefix)} ops"
    ]
    shown = part.prefix[-max_prefix:] if max_prefix > 0 else []
    if len(shown) < len(part.prefix):
        lines.append(f"  ... {len(part.prefix) - len(shown)} earlier ops")
    for op in shown:
        lines.append(f"  {_describe(model, op)}")
    lines.append(f"  state after prefix: {model.describe_state(part.state)}")
    lines.append(f"  cannot linearize: {_describe(model, part.blocked)}")
    return "\n".join(lines)


def check(
    model: Model[S, I, O],
    history: Iterable[Operation[I, O]] | History[I, O],
    *,
    timeout: float | None = None,
    max_prefix: int = 8,
) -> CheckResult:
    """Check `history` against `model`.

    `timeout` (seconds, wall clock) bounds the whole check; when it runs out the outcome is
    TIMEOUT (unless some part was already found ILLEGAL). Parts are checked in order and
    the check stops at the first ILLEGAL part. `max_prefix` bounds how many operations of
    the longest prefix the explanation lists (the last ones, nearest the failure).
    """
    t0 = time.monotonic()
    deadline = None if timeout is None else t0 + timeout
    ops = history.operations() if isinstance(history, History) else list(history)
    parts = model.partition(ops) if model.partition is not None else [("history", ops)]
    results: list[PartitionResult[Any, Any, Any]] = []
    outcome = Outcome.OK
    explanation = ""
    for label, part_ops in parts:
        r = _check_part(model, label, part_ops, deadline)
        results.append(r)
        if r.outcome is Outcome.ILLEGAL:
            outcome = Outcome.ILLEGAL
            explanation = _explain(model, r, max_prefix)
            break
        if r.outcome is Outcome.TIMEOUT:
            outcome = Outcome.TIMEOUT
            explanation = f"{label}: timed out after {timeout}s ({r.n_ops} ops)"
            break
    return CheckResult(outcome, results, explanation, time.monotonic() - t0)


# --------------------------------------------------------------- a key-value register model


@dataclass(frozen=True, slots=True)
class KvInput:
    """An operation on a key-value map.

    - `put`: sets `key` to `value`; output `None` (ok);
    - `get`: output the value of `key`, or `None` when absent;
    - `cas`: if `key`'s value equals `expected` (`None` = absent) set it to `value`;
      output whether it did (bool).
    """

    kind: str  # "put" | "get" | "cas"
    key: str
    value: Any = None
    expected: Any = None


def put(key: str, value: Any) -> KvInput:
    return KvInput("put", key, value)


def get(key: str) -> KvInput:
    return KvInput("get", key)


def cas(key: str, expected: Any, new: Any) -> KvInput:
    return KvInput("cas", key, new, expected)


def _kv_step(state: Any, inp: KvInput, out: Any) -> tuple[bool, Any]:
    # partitioned by key: the state is the value of one key (None = absent)
    if inp.kind == "put":
        return True, inp.value
    if inp.kind == "get":
        return (out is UNKNOWN or out == state), state
    if inp.kind == "cas":
        hit = state == inp.expected
        new = inp.value if hit else state
        return (out is UNKNOWN or out == hit), new
    raise ValueError(f"unknown kv operation {inp.kind!r}")


def _prune_unobserved_pending_puts(ops: list[Operation[KvInput, Any]]) -> list[Operation[KvInput, Any]]:
    """Drop pending puts of a value that no completed get returned (one key, no cas).

    Sound and complete: in a linearization that includes such a put, no get sits between
    it and the next put (it would have returned the value), so leaving the put out keeps
    every output. Pending puts are the expensive part of the search (each may be placed
    anywhere after its call), and most of them are never observed."""
    if any(op.input.kind == "cas" for op in ops):
        return ops
    seen = {_hashable(op.output) for op in ops if op.input.kind == "get" and not op.pending}
    return [
        op
        for op in ops
        if not (op.pending and op.input.kind == "put" and _hashable(op.input.value) not in seen)
    ]


def _hashable(v: Any) -> Any:
    try:
        hash(v)
        return v
    except TypeError:
        return repr(v)


def _kv_partition(ops: Sequence[Operation[KvInput, Any]]) -> list[tuple[str, list[Operation[KvInput, Any]]]]:
    by_key: dict[str, list[Operation[KvInput, Any]]] = {}
    for op in ops:
        by_key.setdefault(op.input.key, []).append(op)
    return [
        (f"key {k!r}", _prune_unobserved_pending_puts(v))
        for k, v in sorted(by_key.items(), key=lambda kv: str(kv[0]))
    ]


def _kv_describe(inp: KvInput, out: Any) -> str:
    o = "?" if out is UNKNOWN else repr(out)
    if inp.kind == "put":
        return f"put({inp.key!r}, {inp.value!r})" + (" -> ?" if out is UNKNOWN else "")
    if inp.kind == "get":
        return f"get({inp.key!r}) -> {o}"
    return f"cas({inp.key!r}, {inp.expected!r}, {inp.value!r}) -> {o}"


def kv_model() -> Model[Any, KvInput, Any]:
    """A map of registers with put/get/cas, partitioned by key (each key is checked
    independently; the state of a part is that key's value, `None` when absent).

    Pending gets are dropped, and so are pending puts whose value no get returned (when
    the key has no cas): neither can change whether the history is linearizable."""
    return Model(
        init=lambda: None,
        step=_kv_step,
        partition=_kv_partition,
        read_only=lambda inp: inp.kind == "get",
        describe_op=_kv_describe,
        describe_state=lambda s: "absent" if s is None else repr(s),
    )
