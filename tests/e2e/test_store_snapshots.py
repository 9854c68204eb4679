"""Snapshots on real members: a member cut off while the others compact their logs
catches up through a snapshot install, and a member killed after snapshotting
recovers from its snapshot plus the WAL written after it."""

from __future__ import annotations

import shutil
import tempfile
from typing import Any, Iterator

import pytest

from actors.etcd.client import SyncEtcdClient

from tests.e2e.conftest import wait_for  # noqa: E402

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def small_store(ray_runtime: None) -> Iterator[Any]:
    from actors.etcd.launcher import start_store

    root = tempfile.mkdtemp(prefix="kubemu-e2e-snap-")
    h = start_store(f"snap{abs(hash(root)) % 100000}", root, 3, detached=False,
                    snapshot_count=50)
    yield h
    h.stop(remove_data=True)
    shutil.rmtree(root, ignore_errors=True)


def test_lagging_member_catches_up_by_snapshot_then_recovers_from_it(small_store: Any) -> None:
    h = small_store
    leader = h.leader()
    lagger = next(c.id for c in h.configs if c.id != leader)
    h.partition(lagger)
    majority = [c.me.client_addr for c in h.configs if c.id != lagger]
    c = SyncEtcdClient(majority)
    for i in range(300):
        c.put(f"/snap/{i:04d}", str(i))
    c.close()
    st = h.statuses()
    assert st[leader]["applied"] > st[lagger]["applied"] + 250
    h.heal()

    def caught_up() -> bool:
        s = h.statuses()
        return s[lagger]["applied"] >= s[leader]["applied"] and \
            s[lagger]["hash"] == s[leader]["hash"]

    wait_for(caught_up, 30, "the lagging member to install a snapshot and catch up")
    # it could not catch up from the log: the leader compacted past its position
    assert h.statuses()[lagger]["stats"]["snapshots_installed"] >= 1
    assert h.statuses()[leader]["stats"]["snapshots_taken"] >= 5

    old_pid = h.kill(lagger)
    c = SyncEtcdClient(majority)
    c.put("/snap/after-kill", "x")
    c.close()
    wait_for(lambda: (h.statuses().get(lagger) or {}).get("pid") not in (None, old_pid), 60,
          "Ray to restart the killed member")
    wait_for(caught_up, 30, "the restarted member to recover from snapshot + WAL and catch up")
    only = SyncEtcdClient([h.configs[lagger - 1].me.client_addr])
    try:
        r = only.get("/snap/", prefix=True, serializable=True)
        assert r.count == 301
    finally:
        only.close()
