"""Unit tests of actors/etcd/lease.py (etcd's lessor with an injected clock)."""

from __future__ import annotations

import math

import pytest

from actors.etcd.lease import (
    DEFAULT_MIN_TTL,
    MAX_LEASE_TTL,
    LeaseError,
    LeaseExistsError,
    LeaseExpiredError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
    Lessor,
    NotPrimaryError,
    min_lease_ttl,
)


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        pytest.param(LeaseNotFoundError, "NOT_FOUND", "etcdserver: requested lease not found",
                     id="not-found"),
        pytest.param(LeaseExpiredError, "NOT_FOUND", "etcdserver: requested lease not found",
                     id="expired"),
        pytest.param(LeaseExistsError, "FAILED_PRECONDITION", "etcdserver: lease already exists",
                     id="exists"),
        pytest.param(LeaseTTLTooLargeError, "OUT_OF_RANGE", "etcdserver: too large lease TTL",
                     id="too-large"),
        pytest.param(NotPrimaryError, "FAILED_PRECONDITION", "not a primary lessor",
                     id="not-primary"),
    ],
)
def test_error_codes_and_messages(error: type[LeaseError], code: str, message: str) -> None:
    e = error()
    assert (e.code, str(e), e.message) == (code, message, message)


@pytest.mark.parametrize(
    ("election_ticks", "tick", "expected"),
    [
        pytest.param(10, 0.1, 2, id="etcd-defaults"),
        pytest.param(10, 1.0, 15, id="one-second-ticks"),
        pytest.param(5, 0.1, 1, id="short"),
    ],
)
def test_min_lease_ttl(election_ticks: int, tick: float, expected: int) -> None:
    assert min_lease_ttl(election_ticks, tick) == expected


@pytest.mark.parametrize(
    ("lease_id", "ttl", "granted_ttl", "error"),
    [
        pytest.param(7, 10, 10, None, id="explicit-id"),
        pytest.param(7, 1, DEFAULT_MIN_TTL, None, id="min-ttl"),
        pytest.param(7, 0, DEFAULT_MIN_TTL, None, id="zero-ttl-gets-min"),
        pytest.param(7, MAX_LEASE_TTL, MAX_LEASE_TTL, None, id="max-ttl"),
        pytest.param(7, MAX_LEASE_TTL + 1, 0, LeaseTTLTooLargeError, id="too-large"),
        pytest.param(1, 10, 0, LeaseExistsError, id="exists"),
    ],
)
def test_grant(lease_id: int, ttl: int, granted_ttl: int, error: type[Exception] | None) -> None:
    le = Lessor()
    le.grant(1, 100)
    if error is not None:
        with pytest.raises(error):
            le.grant(lease_id, ttl)
        assert len(le) == 1
        return
    lease = le.grant(lease_id, ttl)
    assert (lease.id, lease.ttl, lease.expiry) == (lease_id, granted_ttl, math.inf)
    assert lease_id in le and le.lookup(lease_id) is lease


def test_grant_id_zero_is_deterministic() -> None:
    a, b = Lessor(id_seed=42), Lessor(id_seed=42)
    ids_a = [a.grant(0, 10).id for _ in range(5)]
    predicted = b.next_id()
    ids_b = [b.grant(0, 10).id for _ in range(5)]
    assert ids_a == ids_b
    assert predicted == ids_a[0]
    assert len(set(ids_a)) == 5
    assert all(0 < i < 2**63 for i in ids_a)
    assert Lessor(id_seed=43).grant(0, 10).id != ids_a[0]
    # an explicit grant that takes the next chosen id is skipped over
    c = Lessor(id_seed=42)
    c.grant(ids_a[0], 5)
    assert c.grant(0, 5).id == ids_a[1]


def test_attach_detach_move_revoke() -> None:
    le = Lessor()
    le.grant(1, 10)
    le.grant(2, 10)
    le.attach(1, [b"a", b"b"])
    assert le.lease_of(b"a") == 1
    le.attach(2, [b"a"])  # moves
    assert (le.lease_of(b"a"), le.lookup(1).keys, le.lookup(2).keys) == (  # type: ignore[union-attr]
        2, {b"b"}, {b"a"})
    le.set_key_lease(b"b", 0)  # re-put without lease
    assert le.lease_of(b"b") == 0 and le.lookup(1).keys == set()  # type: ignore[union-attr]
    le.set_key_lease(b"c", 1)
    le.set_key_lease(b"c", 1)
    le.set_key_lease(b"z", 0)  # no-op
    le.detach(2, [b"a", b"not-attached"])
    assert le.lease_of(b"a") == 0
    le.attach(2, [b"y", b"x"])
    assert le.revoke(2) == [b"x", b"y"]
    assert le.lease_of(b"x") == 0 and 2 not in le
    assert le.revoke(1) == [b"c"]
    with pytest.raises(LeaseNotFoundError):
        le.revoke(1)
    with pytest.raises(LeaseNotFoundError):
        le.attach(9, [b"a"])
    with pytest.raises(LeaseNotFoundError):
        le.detach(9, [b"a"])
    with pytest.raises(LeaseNotFoundError):
        le.set_key_lease(b"a", 9)


def test_non_primary_leases_live_forever() -> None:
    le = Lessor()
    le.grant(1, 5)
    assert le.expired(1e9) == []
    with pytest.raises(NotPrimaryError):
        le.renew(1, 0.0)
    with pytest.raises(NotPrimaryError):
        le.time_to_live(1, 0.0)
    with pytest.raises(LeaseNotFoundError):
        le.time_to_live(2, 0.0)


def test_primary_expiry_renew_and_ttl() -> None:
    le = Lessor()
    le.grant(1, 10)
    le.grant(2, 20)
    le.promote(100.0, extend=1.0)
    assert le.primary
    assert le.lookup(1).expiry == 111.0  # type: ignore[union-attr]
    le.grant(3, 5, now=102.0)
    assert le.lookup(3).expiry == 107.0  # type: ignore[union-attr]
    le.attach(2, [b"k2", b"k1"])
    ttl = le.time_to_live(2, 105.5)
    assert (ttl.id, ttl.ttl, ttl.granted_ttl, ttl.keys) == (2, 15, 20, [b"k1", b"k2"])
    assert le.expired(106.9) == []
    assert le.expired(107.0) == [3]
    # reported once, then again only after the retry interval if still not revoked
    assert le.expired(108.0) == []
    assert le.expired(110.0) == [3]
    with pytest.raises(LeaseExpiredError):
        le.renew(3, 110.5)
    assert le.renew(1, 110.5) == 10
    assert le.lookup(1).expiry == 120.5  # type: ignore[union-attr]
    assert le.revoke(3) == []
    assert le.expired(120.0) == []
    assert le.expired(121.0, limit=1) == [1]  # soonest first: 1 at 120.5, 2 at 121.0
    assert le.expired(121.0) == [2]
    assert le.expired(123.0) == []
    assert le.expired(124.0) == [1, 2]  # both still unrevoked after the retry interval
    # an expired lease reports negative/zero remaining ttl the way etcd truncates it
    assert le.time_to_live(1, 120.9).ttl == 0
    assert le.time_to_live(1, 123.0).ttl == -2
    with pytest.raises(LeaseNotFoundError):
        le.renew(99, 0.0)


def test_demote_and_repromote() -> None:
    le = Lessor()
    le.grant(1, 10)
    le.promote(0.0)
    assert le.expired(10.0) == [1]
    le.demote()
    assert not le.primary
    assert le.lookup(1).expiry == math.inf  # type: ignore[union-attr]
    assert le.expired(1000.0) == []
    le.grant(2, 10)  # a follower's grant has no expiry
    assert le.lookup(2).expiry == math.inf  # type: ignore[union-attr]
    le.promote(1000.0, extend=2.0)  # a new leader gives every lease a full TTL again
    assert le.expired(1011.9) == []
    assert le.expired(1012.0) == [1, 2]


def test_promote_spreads_pile_up() -> None:
    le = Lessor(revoke_rate=8)  # target 6 expiries per second
    for i in range(1, 21):
        le.grant(i, 10)
    le.promote(0.0)
    expiries = sorted(le.lookup(i).expiry for i in range(1, 21))  # type: ignore[union-attr]
    assert expiries[0] == 10.0
    assert expiries[-1] > 10.0
    # no one-second window holds more than the target plus the window's first lease
    for e in expiries:
        in_window = [x for x in expiries if e <= x < e + 1.0]
        assert len(in_window) <= 7
    # below the revoke rate nothing is spread
    small = Lessor(revoke_rate=100)
    for i in range(1, 21):
        small.grant(i, 10)
    small.promote(0.0)
    assert {small.lookup(i).expiry for i in range(1, 21)} == {10.0}  # type: ignore[union-attr]


def test_snapshot_round_trip() -> None:
    le = Lessor(id_seed=7)
    a = le.grant(0, 30).id
    le.grant(5, 60)
    le.attach(a, [b"x", b"y"])
    le.attach(5, [b"z"])
    le.promote(10.0)
    r = Lessor.restore(le.snapshot(), id_seed=7)
    assert not r.primary
    assert r.snapshot() == le.snapshot()
    assert {(x.id, x.ttl, frozenset(x.keys)) for x in r.leases()} == {
        (a, 30, frozenset({b"x", b"y"})), (5, 60, frozenset({b"z"}))}
    assert r.lease_of(b"z") == 5
    assert r.ids() == sorted([a, 5])
    assert all(x.expiry == math.inf for x in r.leases())
    # the id counter continues identically
    assert r.grant(0, 5).id == le.grant(0, 5).id
