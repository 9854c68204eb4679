"""The apiserver on a real 3-member kubemu store, driven through the gRPC client.

The store members and the apiserver run in-process in one asyncio loop (no Ray): the
same `Member` and `ApiServer` classes the actors wrap, over real gRPC, real raft and
real WAL files. Story: a namespace and a pod are created; a watch sees the pod ADDED,
MODIFIED (labels, binding, graceful deletion) and DELETED; a stale update conflicts;
an invalid pod is rejected and nothing reaches etcd; a watch from a resourceVersion
that slid out of the watch window gets a 410 ERROR event, and after an etcd compaction
a continue token from before it is 410 too; bookmarks keep an idle watch's
resourceVersion current.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from typing import Any, Iterator

import pytest

from actors.api.errors import APIError
from actors.apiserver.actor import ApiServer
from actors.apiserver.client import SyncAPIClient
from actors.common.loopthread import LoopThread
from actors.etcd.client import SyncEtcdClient

pytestmark = pytest.mark.e2e

WINDOW = 20


class Stack:
    def __init__(self) -> None:
        self.root = tempfile.mkdtemp(prefix="kubemu-e2e-apiserver-")
        self.lt = LoopThread("e2e-apiserver")
        self.members: list[Any] = []
        self.server: ApiServer | None = None

    async def start(self) -> None:
        from actors.etcd.launcher import plan_store
        from actors.etcd.member import Member
        from actors.etcd.rafttypes import Role

        configs = plan_store("e2eapi", self.root, 3, tick_ms=50)
        self.endpoints = [c.me.client_addr for c in configs]
        for c in configs:
            m = Member(c)
            await m.start()
            self.members.append(m)
        deadline = time.monotonic() + 20
        while not any(m.role == Role.LEADER for m in self.members):
            if time.monotonic() > deadline:
                raise TimeoutError("no leader")
            await asyncio.sleep(0.05)
        self.server = ApiServer({"port": 0, "etcd_endpoints": self.endpoints,
                                 "watch_window": WINDOW, "bookmark_interval": 0.5})
        await self.server.start()

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()
        for m in self.members:
            await m.stop()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    s = Stack()
    s.lt.run(s.start(), timeout=60)
    yield s
    try:
        s.lt.run(s.stop(), timeout=30)
    finally:
        s.lt.stop()
        shutil.rmtree(s.root, ignore_errors=True)


@pytest.fixture(scope="module")
def api(stack: Stack) -> Iterator[SyncAPIClient]:
    assert stack.server is not None
    c = SyncAPIClient(stack.server.address, timeout=15)
    yield c
    c.close()


@pytest.fixture(scope="module")
def etcd(stack: Stack) -> Iterator[SyncEtcdClient]:
    c = SyncEtcdClient(stack.endpoints)
    yield c
    c.close()


def pod(name: str, ns: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.25"}],
                     "terminationGracePeriodSeconds": 30}}


def test_system_namespaces_bootstrapped(api: SyncAPIClient) -> None:
    names = {n["metadata"]["name"] for n in api.list("namespaces")["items"]}
    assert {"default", "kube-system", "kube-public", "kube-node-lease"} <= names


def test_pod_lifecycle_seen_by_a_watch(api: SyncAPIClient, etcd: SyncEtcdClient) -> None:
    api.create("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                              "metadata": {"name": "e2e"}})
    events = api.watch("pods", "e2e", timeout=10)
    created = api.create("pods", pod("web", "e2e", app="web"), namespace="e2e")
    t, o = next(events)
    assert (t, o["metadata"]["name"]) == ("ADDED", "web")
    assert o["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]

    # the store layout: /registry/pods/<ns>/<name>, JSON without resourceVersion
    raw = etcd.get("/registry/pods/e2e/web")
    stored = json.loads(raw.kvs[0].value)
    assert stored["metadata"]["uid"] == created["metadata"]["uid"]
    assert "resourceVersion" not in stored["metadata"]
    assert str(raw.kvs[0].mod_revision) == created["metadata"]["resourceVersion"]

    api.patch("pods", "web", {"metadata": {"labels": {"tier": "front"}}}, namespace="e2e")
    t, o = next(events)
    assert t == "MODIFIED" and o["metadata"]["labels"] == {"app": "web", "tier": "front"}

    api.bind("e2e", "web", "node-1")
    t, o = next(events)
    assert t == "MODIFIED" and o["spec"]["nodeName"] == "node-1"
    with pytest.raises(APIError) as ei:
        api.bind("e2e", "web", "node-2")
    assert ei.value.code == 409 and 'already assigned to node "node-1"' in ei.value.message

    # bound: graceful deletion; the kubelet's delete with grace 0 removes it
    api.delete("pods", "web", namespace="e2e")
    t, o = next(events)
    assert t == "MODIFIED" and o["metadata"]["deletionGracePeriodSeconds"] == 30
    api.delete("pods", "web", namespace="e2e", grace_period_seconds=0)
    t, o = next(events)
    assert (t, o["metadata"]["name"]) == ("DELETED", "web")
    assert not etcd.get("/registry/pods/e2e/web").kvs
    events.close()


def test_stale_update_conflicts(api: SyncAPIClient) -> None:
    cm = api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                   "metadata": {"name": "cfg", "namespace": "default"},
                                   "data": {"k": "1"}})
    api.update("configmaps", {**cm, "data": {"k": "2"}})
    with pytest.raises(APIError) as ei:
        api.update("configmaps", {**cm, "data": {"k": "3"}})
    assert ei.value.code == 409 and ei.value.reason == "Conflict"
    assert api.get("configmaps", "cfg", namespace="default")["data"] == {"k": "2"}


def test_invalid_pod_rejected_and_nothing_stored(api: SyncAPIClient,
                                                 etcd: SyncEtcdClient) -> None:
    rev = etcd.get("/registry/", count_only=True).header.revision
    bad = pod("Bad_Name", "default")
    bad["spec"]["containers"][0]["image"] = ""
    with pytest.raises(APIError) as ei:
        api.create("pods", bad, namespace="default")
    assert ei.value.code == 422 and ei.value.reason == "Invalid"
    fields = {c["field"] for c in ei.value.causes}
    assert {"metadata.name", "spec.containers[0].image"} <= fields
    assert etcd.get("/registry/", count_only=True).header.revision == rev
    with pytest.raises(APIError) as ei2:
        api.create("pods", pod("p", "nope"), namespace="nope")
    assert ei2.value.code == 404 and ei2.value.message == 'namespaces "nope" not found'


def test_410_after_the_window_slides_and_after_compaction(api: SyncAPIClient,
                                                          etcd: SyncEtcdClient) -> None:
    first = api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                      "metadata": {"name": "w0", "namespace": "default"}})
    for i in range(1, WINDOW + 5):
        api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": f"w{i}", "namespace": "default"}})
    evs = list(api.watch("configmaps", "default",
                         resource_version=first["metadata"]["resourceVersion"], timeout=10))
    assert len(evs) == 1 and evs[0][0] == "ERROR"
    assert evs[0][1]["code"] == 410
    assert evs[0][1]["message"].startswith(
        f"too old resource version: {first['metadata']['resourceVersion']} (")

    page = api.list("configmaps", "default", limit=5)
    assert len(page["items"]) == 5 and page["metadata"]["continue"]
    api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "later", "namespace": "default"}})
    etcd.compact(etcd.get("/registry/", count_only=True).header.revision)
    with pytest.raises(APIError) as ei:
        api.list("configmaps", "default", limit=5, continue_=page["metadata"]["continue"])
    assert ei.value.code == 410 and ei.value.reason == "Expired"
    # the watch cache does not depend on etcd's history: watching from "now" still works
    cur = api.list("configmaps", "default")["metadata"]["resourceVersion"]
    events = api.watch("configmaps", "default", resource_version=cur, timeout=10)
    api.delete("configmaps", "w3", namespace="default")
    t, o = next(events)
    assert (t, o["metadata"]["name"]) == ("DELETED", "w3")
    events.close()


def test_idle_watch_gets_bookmarks_at_the_current_revision(api: SyncAPIClient,
                                                           etcd: SyncEtcdClient) -> None:
    events = api.watch("nodes", resource_version="0", allow_bookmarks=True, timeout=10)
    api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "tick", "namespace": "default"}})
    rev = etcd.get("/registry/", count_only=True).header.revision
    t, o = next(events)
    while int(o["metadata"]["resourceVersion"]) < rev:  # an early bookmark may predate it
        t, o = next(events)
    assert t == "BOOKMARK" and o["kind"] == "Node"
    events.close()


def test_watches_survive_losing_the_member_they_stream_from(stack: Stack,
                                                            api: SyncAPIClient) -> None:
    """Runs last: stops the store member the apiserver's watches stream from (the first
    endpoint); the watch cache resumes on another member without losing an event."""
    events = api.watch("configmaps", "default", resource_version="0", timeout=20)
    before = {o["metadata"]["name"] for _, o in (next(events) for _ in range(
        len(api.list("configmaps", "default")["items"])))}
    assert "cfg" in before
    stack.lt.run(stack.members[0].stop(), timeout=30)
    api.create("configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "after-loss", "namespace": "default"}})
    api.patch("configmaps", "after-loss", {"data": {"k": "v"}}, namespace="default")
    got = [next(events) for _ in range(2)]
    assert [(t, o["metadata"]["name"]) for t, o in got] == [("ADDED", "after-loss"),
                                                            ("MODIFIED", "after-loss")]
    events.close()
