"""A 3-member kubemu store on real Ray actors under real faults.

Story: a client streams writes; the leader's process is SIGKILLed; a new leader is
elected within 2 election timeouts; every acknowledged write is readable; Ray
restarts the killed member, which recovers from its WAL and catches up. Then a
minority partition: the cut-off member cannot commit (UNAVAILABLE), the majority
goes on, and after healing all three converge on the same state.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import grpc
import pytest

from actors.etcd.client import EtcdClientError, SyncEtcdClient, UncertainWriteError

from tests.e2e.conftest import wait_for  # noqa: E402

pytestmark = pytest.mark.e2e

ELECTION_TIMEOUT_S = 1.0  # default tick 100 ms x election_tick 10
TICK_S = 0.1


def _converged(store: Any) -> bool:
    sts = list(store.statuses(2.0).values())
    if any(s is None for s in sts):
        return False
    return len({(s["applied"], s["hash"]) for s in sts}) == 1


def test_kill_leader_during_writes(store: Any) -> None:
    acked: list[tuple[str, str]] = []
    stop = threading.Event()

    def writer() -> None:
        c = SyncEtcdClient(store.endpoints, timeout=10)
        i = 0
        while not stop.is_set():
            k, v = f"/kill/{i:06d}", f"v{i}"
            try:
                c.put(k, v)
                acked.append((k, v))
            except (EtcdClientError, UncertainWriteError):
                pass
            i += 1
        c.close()

    th = threading.Thread(target=writer, daemon=True)
    th.start()
    wait_for(lambda: len(acked) > 50, 30, "writes to flow")
    old = store.leader()
    t_kill_wall = time.time()
    pid = store.kill(old)

    def new_leader() -> int | None:
        for mid, st in store.statuses(0.5).items():
            if mid != old and st and st["role"] == "leader":
                return mid
        return None

    new = wait_for(new_leader, 10, "a new leader")
    # measured by the winner's own clock at its election (not by our polling); the
    # randomized timeout runs from its last heartbeat, up to one tick before the kill
    elapsed = store.status(new)["leader_since"] - t_kill_wall
    assert 0 < elapsed <= 2 * ELECTION_TIMEOUT_S + TICK_S, f"new leader after {elapsed:.2f} s"
    n_at_kill = len(acked)
    wait_for(lambda: len(acked) > n_at_kill + 50, 20, "writes to resume under the new leader")
    stop.set()
    th.join(30)

    c = SyncEtcdClient(store.endpoints)
    try:
        got = {kv.key.decode(): kv.value.decode() for kv in c.get("/kill/", prefix=True).kvs}
    finally:
        c.close()
    lost = [k for k, v in acked if got.get(k) != v]
    assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}"

    def restarted_and_caught_up() -> bool:
        st = store.statuses(2.0)
        me, lead = st.get(old), st.get(new)
        return bool(me and lead and me["pid"] != pid and me["applied"] >= lead["applied"])

    wait_for(restarted_and_caught_up, 60, f"etcd-{old} to restart from its WAL and catch up")
    wait_for(lambda: _converged(store), 20, "all members to converge")


def test_minority_partition_cannot_commit_then_converges(store: Any) -> None:
    leader = store.leader()
    victim = next(c.id for c in store.configs if c.id != leader)
    victim_ep = store.configs[victim - 1].me.client_addr
    store.partition(victim)
    try:
        lonely = SyncEtcdClient([victim_ep], timeout=3)
        t0 = time.monotonic()
        with pytest.raises(EtcdClientError) as ei:
            lonely.put("/part/lonely", "x")
        assert ei.value.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        # it waited for a commit that cannot happen, until it lost its leader (about one
        # election timeout: answered "leader changed") or its deadline
        assert time.monotonic() - t0 >= 0.5
        majority = [c.me.client_addr for c in store.configs if c.id != victim]
        c = SyncEtcdClient(majority)
        for i in range(20):
            c.put(f"/part/{i}", str(i))
        c.close()
        lonely.close()
    finally:
        store.heal()
    wait_for(lambda: _converged(store), 30, "members to converge after healing")
    c = SyncEtcdClient([victim_ep])
    try:
        keys = [kv.key for kv in c.get("/part/", prefix=True).kvs]
    finally:
        c.close()
    assert b"/part/lonely" not in keys  # the minority's write never committed
    assert len(keys) == 20


def test_oversized_and_malformed_requests_are_rejected(store: Any) -> None:
    c = SyncEtcdClient(store.endpoints)
    try:
        with pytest.raises(EtcdClientError) as ei:
            c.put("/big", b"x" * int(1.6 * 1024 * 1024))
        assert ei.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "request is too large" in ei.value.message
        with pytest.raises(EtcdClientError) as ei:
            c.put("/huge", b"x" * (3 * 1024 * 1024))
        assert ei.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        with pytest.raises(EtcdClientError) as ei:
            c.put("", "no key")
        assert ei.value.code == grpc.StatusCode.INVALID_ARGUMENT
        assert "key is not provided" in ei.value.message
        # the store still serves
        c.put("/after-bad-input", "ok")
        assert c.get("/after-bad-input").kvs[0].value == b"ok"
    finally:
        c.close()


def test_watch_resumes_on_another_member_without_gaps(store: Any) -> None:
    """The client's watch survives the death of the member it streams from."""
    import asyncio
    import threading as th

    from actors.etcd.client import EtcdClient

    target = store.leader()
    target_ep = store.configs[target - 1].me.client_addr
    others = [c.me.client_addr for c in store.configs if c.id != target]
    seen: list[tuple[int, bytes]] = []
    done = th.Event()

    async def watcher() -> None:
        c = EtcdClient([target_ep] + others, start_endpoint=0, follow_leader=False)
        async def consume() -> None:
            async for rev, ev in c.watch("/wr/", prefix=True):
                seen.append((rev, ev.kv.key))
                if len(seen) >= 60:
                    return
        try:
            await asyncio.wait_for(consume(), 60)
        finally:
            await c.close()
            done.set()

    t = th.Thread(target=lambda: asyncio.run(watcher()), daemon=True)
    t.start()
    time.sleep(1.0)
    w = SyncEtcdClient(others)
    for i in range(30):
        w.put(f"/wr/{i:03d}", "x")
    store.kill(target)  # the member the watch streams from
    for i in range(30, 60):
        for _ in range(50):
            try:
                w.put(f"/wr/{i:03d}", "x")
                break
            except (EtcdClientError, UncertainWriteError):
                time.sleep(0.1)
    w.close()
    assert done.wait(60), f"watch stalled after {len(seen)} events"
    keys = [k for _, k in seen]
    assert keys == [f"/wr/{i:03d}".encode() for i in range(60)], "gap or duplicate in watch"
    revs = [r for r, _ in seen]
    assert revs == sorted(revs) and len(set(revs)) == 60
    wait_for(lambda: _converged(store), 60, "the killed member to come back")


def test_lease_expiry_deletes_attached_keys(store: Any) -> None:
    c = SyncEtcdClient(store.endpoints)
    try:
        lease = c.lease_grant(2).ID
        c.put("/lease-exp/a", "1", lease=lease)
        c.put("/lease-exp/b", "2", lease=lease)
        assert c.get("/lease-exp/", prefix=True).count == 2
        assert c.lease_keepalive_once(lease) == 2
        wait_for(lambda: c.get("/lease-exp/", prefix=True).count == 0, 15,
              "the leader to revoke the expired lease")
        assert c.lease_ttl(lease).TTL == -1
    finally:
        c.close()
