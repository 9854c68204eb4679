"""Tests of the linearizability checker (tests/lincheck.py) on hand-made and random histories."""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from tests.lincheck import (
    UNKNOWN,
    History,
    KvInput,
    Model,
    Operation,
    Outcome,
    cas,
    check,
    get,
    kv_model,
    put,
)

KV = kv_model()


def op(client: int, inp: KvInput, call: float, ret: float | None, out: Any = None) -> Operation[KvInput, Any]:
    return Operation(client, inp, call, UNKNOWN if ret is None else out, ret)


# ------------------------------------------------------------------- linearizable histories


def test_empty_history_is_linearizable() -> None:
    assert check(KV, []).ok


def test_sequential_put_get() -> None:
    h = [
        op(1, put("x", 1), 0, 1),
        op(1, get("x"), 2, 3, 1),
        op(2, put("x", 2), 4, 5),
        op(2, get("x"), 6, 7, 2),
    ]
    assert check(KV, h).ok


def test_get_of_absent_key_is_none() -> None:
    assert check(KV, [op(1, get("x"), 0, 1, None)]).ok
    assert check(KV, [op(1, get("x"), 0, 1, None), op(1, put("x", 1), 2, 3)]).ok


@pytest.mark.parametrize("seen", [1, 2])
def test_concurrent_writes_any_order(seen: int) -> None:
    # two overlapping puts: either may take effect last
    h = [
        op(1, put("x", 1), 0, 10),
        op(2, put("x", 2), 1, 9),
        op(3, get("x"), 11, 12, seen),
    ]
    assert check(KV, h).ok


def test_read_concurrent_with_write_sees_old_or_new() -> None:
    for out in (None, 1):
        h = [op(1, put("x", 1), 0, 10), op(2, get("x"), 2, 3, out)]
        assert check(KV, h).ok, out


def test_reads_flip_once_under_concurrent_write() -> None:
    # read new then read old, both concurrent with the put but the old read starts after
    # the new read returned: not linearizable (a "new-old inversion")
    bad = [
        op(1, put("x", 1), 0, 10),
        op(2, get("x"), 1, 2, 1),
        op(3, get("x"), 3, 4, None),
    ]
    assert check(KV, bad).illegal
    # the other way round is fine
    good = [
        op(1, put("x", 1), 0, 10),
        op(2, get("x"), 1, 2, None),
        op(3, get("x"), 3, 4, 1),
    ]
    assert check(KV, good).ok


def test_touching_intervals_are_concurrent() -> None:
    # the get is called at the instant the put returns: treated as overlapping
    h = [op(1, put("x", 1), 0, 5), op(2, get("x"), 5, 6, None)]
    assert check(KV, h).ok


def test_keys_are_independent() -> None:
    h = [
        op(1, put("x", 1), 0, 1),
        op(2, put("y", 2), 0, 1),
        op(1, get("y"), 2, 3, 2),
        op(2, get("x"), 2, 3, 1),
    ]
    r = check(KV, h)
    assert r.ok
    assert sorted(p.label for p in r.parts) == ["key 'x'", "key 'y'"]


def test_cas() -> None:
    h = [
        op(1, put("x", 1), 0, 1),
        op(1, cas("x", 1, 2), 2, 3, True),
        op(2, cas("x", 1, 3), 4, 5, False),
        op(2, get("x"), 6, 7, 2),
    ]
    assert check(KV, h).ok
    # two concurrent cas from the same value: only one may win
    both_win = [
        op(1, put("x", 0), 0, 1),
        op(1, cas("x", 0, 1), 2, 5, True),
        op(2, cas("x", 0, 2), 2, 5, True),
    ]
    assert check(KV, both_win).illegal
    one_wins = [
        op(1, put("x", 0), 0, 1),
        op(1, cas("x", 0, 1), 2, 5, False),
        op(2, cas("x", 0, 2), 2, 5, True),
        op(3, get("x"), 6, 7, 2),
    ]
    assert check(KV, one_wins).ok
    # cas on an absent key (expected None)
    assert check(KV, [op(1, cas("x", None, 1), 0, 1, True), op(1, get("x"), 2, 3, 1)]).ok


# --------------------------------------------------------------- non-linearizable histories


def test_stale_read_after_acknowledged_write() -> None:
    h = [
        op(1, put("x", 1), 0, 1),
        op(1, put("x", 2), 2, 3),
        op(2, get("x"), 4, 5, 1),
    ]
    r = check(KV, h)
    assert r.outcome is Outcome.ILLEGAL
    assert "key 'x'" in r.explanation
    assert "get('x') -> 1" in r.explanation
    part = r.parts[0]
    assert part.blocked is not None and part.blocked.input == get("x")
    assert [o.input for o in part.prefix] == [put("x", 1), put("x", 2)]
    assert part.state == 2


def test_read_of_value_never_written() -> None:
    h = [op(1, put("x", 1), 0, 1), op(2, get("x"), 0, 3, 7)]
    r = check(KV, h)
    assert r.illegal
    assert "cannot linearize" in r.explanation and "-> 7" in r.explanation


def test_lost_write() -> None:
    # an acknowledged put, then reads that never see it (the key stays absent)
    h = [
        op(1, put("x", 1), 0, 1),
        op(2, get("x"), 2, 3, None),
    ]
    assert check(KV, h).illegal


def test_lost_write_overwritten_concurrently_is_fine_but_not_resurrected() -> None:
    h = [
        op(1, put("x", 1), 0, 4),
        op(2, put("x", 2), 1, 3),
        op(3, get("x"), 5, 6, 1),
        op(3, get("x"), 7, 8, 2),  # 2 came back after 1 was read: impossible
    ]
    assert check(KV, h).illegal


def test_illegal_part_reported_among_legal_ones() -> None:
    h = [
        op(1, put("a", 1), 0, 1),
        op(1, get("a"), 2, 3, 1),
        op(2, put("b", 1), 0, 1),
        op(2, get("b"), 2, 3, 5),
    ]
    r = check(KV, h)
    assert r.illegal
    assert "key 'b'" in r.explanation


# -------------------------------------------------------------------------- pending operations


def test_pending_write_may_take_effect_later() -> None:
    h = [
        op(1, put("x", 1), 0, None),  # timed out
        op(2, get("x"), 1, 2, None),
        op(2, get("x"), 10, 11, 1),
        op(2, get("x"), 20, 21, 1),
    ]
    assert check(KV, h).ok


def test_pending_write_may_never_take_effect() -> None:
    h = [
        op(1, put("x", 1), 0, None),
        op(2, get("x"), 10, 11, None),
        op(2, get("x"), 20, 21, None),
    ]
    assert check(KV, h).ok


def test_pending_write_takes_effect_at_most_once() -> None:
    # 1 (pending), then 2 acknowledged and read, then 1 again: impossible
    h = [
        op(1, put("x", 1), 0, None),
        op(2, get("x"), 1, 2, 1),
        op(2, put("x", 2), 3, 4),
        op(2, get("x"), 5, 6, 2),
        op(2, get("x"), 7, 8, 1),
    ]
    assert check(KV, h).illegal


def test_pending_write_cannot_take_effect_before_its_call() -> None:
    h = [
        op(2, get("x"), 0, 1, 1),
        op(1, put("x", 1), 2, None),
    ]
    assert check(KV, h).illegal


def test_pending_read_is_ignored() -> None:
    h = [op(1, put("x", 1), 0, 1), op(2, get("x"), 2, None)]
    assert check(KV, h).ok


def test_pending_cas() -> None:
    h = [
        op(1, put("x", 0), 0, 1),
        op(1, cas("x", 0, 1), 2, None),
        op(2, get("x"), 3, 4, 1),
    ]
    assert check(KV, h).ok
    # the pending cas cannot succeed when its expected value is never there
    h2 = [
        op(1, put("x", 0), 0, 1),
        op(1, cas("x", 5, 1), 2, None),
        op(2, get("x"), 3, 4, 1),
    ]
    assert check(KV, h2).illegal


def test_history_recorder() -> None:
    h: History[KvInput, Any] = History()
    a = h.invoke(1, put("x", 1), 0)
    b = h.invoke(2, put("x", 2), 1)  # never completes
    h.complete(a, None, 2)
    c = h.invoke(1, get("x"), 3)
    h.complete(c, 2, 4)
    assert not h.is_complete(b) and len(h) == 3
    ops = h.operations()
    assert ops[1].pending and ops[1].output is UNKNOWN and ops[1].id == 1
    assert check(KV, h).ok
    with pytest.raises(ValueError):
        h.complete(a, None, 5)
    with pytest.raises(ValueError):
        h.complete(b, None, 0)


def test_explanation_names_op_ids() -> None:
    h: History[KvInput, Any] = History()
    a = h.invoke(1, put("x", 1), 0)
    h.complete(a, None, 1)
    b = h.invoke(2, get("x"), 2)
    h.complete(b, 9, 3)
    r = check(KV, h)
    assert r.illegal
    assert "#1 client 2 get('x') -> 9 [2, 3]" in r.explanation


def test_return_before_call_rejected() -> None:
    with pytest.raises(ValueError):
        check(KV, [op(1, put("x", 1), 5, 4)])


def test_unpartitioned_custom_model() -> None:
    # a counter: inc -> new value; checks the generic (no partition) path
    def step(state: int, inp: str, out: Any) -> tuple[bool, int]:
        assert inp == "inc"
        return (out is UNKNOWN or out == state + 1), state + 1

    m: Model[int, str, int] = Model(init=lambda: 0, step=step)
    good = [Operation(1, "inc", 0, 2, 5), Operation(2, "inc", 1, 1, 4)]
    assert check(m, good).ok
    bad = [Operation(1, "inc", 0, 2, 1), Operation(2, "inc", 2, 1, 4)]
    r = check(m, bad)
    assert r.illegal and "history" in r.explanation


# ------------------------------------------------------------------------- random histories


def random_linearizable_history(
    rng: random.Random,
    n_clients: int,
    n_ops_per_client: int,
    keys: list[str],
    p_pending: float = 0.0,
) -> list[Operation[KvInput, Any]]:
    """A linearizable history by construction: each client has a timeline of disjoint
    intervals; each op takes effect at a random instant inside its interval (distinct
    instants), outputs come from running the ops in instant order on a dict. A pending op
    (probability `p_pending`, only as a client's last op) takes effect or not, at random,
    at a random instant after its call."""
    plan: list[tuple[float, int, KvInput, float, float | None]] = []  # (lp, client, in, call, ret)
    never: list[Operation[KvInput, Any]] = []
    for c in range(n_clients):
        t = rng.uniform(0, 5)
        for j in range(n_ops_per_client):
            key = rng.choice(keys)
            r = rng.random()
            if r < 0.45:
                inp = put(key, f"{c}.{j}")
            elif r < 0.9:
                inp = get(key)
            else:
                expected = rng.choice([None, f"{rng.randrange(n_clients)}.{rng.randrange(j + 1)}"])
                inp = cas(key, expected, f"{c}.{j}")
            call = t
            dur = rng.expovariate(1 / 4)  # long, overlapping intervals
            ret: float | None = t + dur
            lp = rng.uniform(call, call + dur)
            if j == n_ops_per_client - 1 and rng.random() < p_pending:
                ret = None
                if rng.random() < 0.5:
                    never.append(Operation(c, inp, call, UNKNOWN, None))
                    break
                lp = call + rng.expovariate(1 / 20)
            plan.append((lp, c, inp, call, ret))
            if ret is None:
                break
            t = ret + rng.expovariate(1 / 2)
    plan.sort(key=lambda p: p[0])
    store: dict[str, Any] = {}
    ops: list[Operation[KvInput, Any]] = list(never)
    for _lp, c, inp, call, ret in plan:
        out: Any
        if inp.kind == "put":
            store[inp.key] = inp.value
            out = None
        elif inp.kind == "get":
            out = store.get(inp.key)
        else:
            out = store.get(inp.key) == inp.expected
            if out:
                store[inp.key] = inp.value
        ops.append(Operation(c, inp, call, UNKNOWN if ret is None else out, ret))
    rng.shuffle(ops)
    return ops


@pytest.mark.parametrize("seed", range(10))
def test_random_linearizable_histories(seed: int) -> None:
    rng = random.Random(seed)
    h = random_linearizable_history(rng, n_clients=8, n_ops_per_client=60, keys=["a", "b", "c"], p_pending=0.5)
    assert len(h) >= 400
    t0 = time.monotonic()
    r = check(KV, h, timeout=10)
    assert r.ok, r.explanation
    assert time.monotonic() - t0 < 2.0


def test_random_single_key_high_concurrency() -> None:
    rng = random.Random(1234)
    h = random_linearizable_history(rng, n_clients=12, n_ops_per_client=40, keys=["k"], p_pending=0.3)
    r = check(KV, h, timeout=10)
    assert r.ok, r.explanation
    assert r.elapsed < 3.0


@pytest.mark.parametrize("seed", range(10))
def test_random_history_with_corrupted_read_is_illegal(seed: int) -> None:
    rng = random.Random(1000 + seed)
    h = random_linearizable_history(rng, n_clients=6, n_ops_per_client=40, keys=["a", "b"])
    reads = [i for i, o in enumerate(h) if o.input.kind == "get" and not o.pending]
    i = rng.choice(reads)
    o = h[i]
    h[i] = Operation(o.client, o.input, o.call, "never-written", o.ret)
    r = check(KV, h, timeout=10)
    assert r.illegal
    assert "never-written" in r.explanation


def test_timeout() -> None:
    # many fully concurrent puts of distinct values and a read of a value never written:
    # illegal, but proving it means exploring every subset of puts
    n = 40
    h = [op(c, put("x", c), 0, 100) for c in range(n)]
    h += [op(n + c, get("x"), 1, 99, -(c + 1)) for c in range(3)]
    h.append(op(99, get("x"), 101, 102, "nope"))
    r = check(KV, h, timeout=0.2)
    assert r.outcome in (Outcome.TIMEOUT, Outcome.ILLEGAL)
    assert r.elapsed < 2.0
    if r.timed_out:
        assert "timed out" in r.explanation


def brute_force_linearizable(ops: list[Operation[KvInput, Any]]) -> bool:
    """Reference: try every subset of pending ops and every order respecting real time."""
    import itertools

    pending = [o for o in ops if o.pending]
    done = [o for o in ops if not o.pending]
    for k in range(len(pending) + 1):
        for chosen in itertools.combinations(pending, k):
            sel = done + list(chosen)
            for perm in itertools.permutations(sel):
                # real-time order: if a returned strictly before b was called, a precedes b
                pos = {id(o): i for i, o in enumerate(perm)}
                if any(
                    a.ret is not None and a.ret < b.call and pos[id(a)] > pos[id(b)]
                    for a in sel
                    for b in sel
                ):
                    continue
                state: Any = None
                for o in perm:
                    ok, state = KV.step(state, o.input, o.output)
                    if not ok:
                        break
                else:
                    return True
    return False


@pytest.mark.parametrize("seed", range(300))
def test_agrees_with_brute_force(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 6)
    vals = [None, 1, 2]
    ops: list[Operation[KvInput, Any]] = []
    for c in range(n):
        r = rng.random()
        inp = put("x", rng.choice([1, 2])) if r < 0.4 else get("x") if r < 0.8 else cas("x", rng.choice(vals), rng.choice([1, 2]))
        call = rng.randint(0, 8)
        ret = None if rng.random() < 0.2 else call + rng.randint(0, 4)
        out: Any = None if inp.kind == "put" else rng.choice(vals) if inp.kind == "get" else rng.random() < 0.5
        ops.append(Operation(c, inp, call, UNKNOWN if ret is None else out, ret))
    expected = brute_force_linearizable(ops)
    assert check(KV, ops).ok == expected, ops


def test_many_unobserved_pending_puts_are_cheap() -> None:
    # 200 timed-out puts, all concurrent with everything after them, none observed
    h = [op(c, put("x", f"lost{c}"), c, None) for c in range(200)]
    h += [op(1000, put("x", "v"), 300, 301), op(1000, get("x"), 302, 303, "v")]
    h += [op(1001, get("x"), 304, 305, "lost7"), op(1001, get("x"), 306, 307, "lost7")]
    r = check(KV, h, timeout=5)
    assert r.ok, r.explanation
    h.append(op(1001, get("x"), 308, 309, "v"))  # "v" came back after lost7 was read
    r = check(KV, h, timeout=5)
    assert r.illegal, r.outcome
