"""pods/<name>/log on the apiserver side: options decoded and validated as kube-apiserver
does (messages included), the container chosen, and the log fetched from a real kubelet
API server in-process (a Kubelet against an in-memory apiserver, its pods and Node
mirrored into a Registry over MemoryKV)."""

from __future__ import annotations

import asyncio
import copy
import random
import re
from typing import Any, Awaitable, Callable

import pytest

from actors.api.errors import APIError
from actors.apiserver.podlogs import (KubeletConnections, LogOptions, parse_rfc3339, pod_logs,
                                      read_pod_logs, validate_container)
from actors.apiserver.registry import Registry
from actors.apiserver.storage import MemoryKV
from actors.common.clock import FakeClock
from actors.kubelet.actor import Kubelet, KubeletServer
from actors.kubelet.pool import NodePool

from ..kubelet.builders import container, node_cfg
from ..kubelet.builders import pod as kpod
from ..kubelet.fakeapi import FakeAPI
from .helpers import T0, make_registry, pod, run

# ---- options -----------------------------------------------------------------------


class MultiDict(dict[str, list[str]]):
    """aiohttp's request.query shape: getall(key) -> every value."""

    def getall(self, key: str) -> list[str]:
        return self[key]


@pytest.mark.parametrize("query,expect", [
    pytest.param({}, LogOptions(), id="empty"),
    pytest.param({"container": "web", "follow": "true", "previous": "1", "timestamps": "",
                  "tailLines": "10", "limitBytes": "+500"},
                 LogOptions(container="web", follow=True, previous=True, timestamps=True,
                            tail_lines=10, limit_bytes=500), id="kubectl"),
    pytest.param({"follow": "F", "previous": "false", "timestamps": "0"}, LogOptions(),
                 id="false-spellings"),
    pytest.param({"follow": "no"}, LogOptions(follow=True), id="anything-else-is-true"),
    pytest.param({"sinceSeconds": "60"}, LogOptions(since_seconds=60), id="since-seconds"),
    pytest.param({"sinceTime": "2023-11-14T23:13:20+01:00"}, LogOptions(since_time=T0),
                 id="since-time"),
    pytest.param({"tailLines": "0"}, LogOptions(tail_lines=0), id="tail-0"),
    pytest.param({"pretty": "true", "stream": "Stderr"}, LogOptions(), id="unknown-ignored"),
])
def test_options_from_query(query: dict[str, str], expect: LogOptions) -> None:
    assert LogOptions.from_query(query, "web") == expect
    multi = MultiDict({k: [v, "ignored"] for k, v in query.items()})
    assert LogOptions.from_query(multi, "web") == expect


@pytest.mark.parametrize("query,code,message", [
    pytest.param({"tailLines": "x"}, 400, 'strconv.ParseInt: parsing "x": invalid syntax',
                 id="not-a-number"),
    pytest.param({"tailLines": " 1"}, 400, 'strconv.ParseInt: parsing " 1": invalid syntax',
                 id="blank"),
    pytest.param({"limitBytes": "99999999999999999999"}, 400,
                 'strconv.ParseInt: parsing "99999999999999999999": value out of range',
                 id="out-of-range"),
    pytest.param({"sinceSeconds": "1.5", "tailLines": "x"}, 400,
                 'strconv.ParseInt: parsing "1.5": invalid syntax', id="first-field-wins"),
    pytest.param({"sinceTime": "yesterday"}, 400,
                 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse '
                 '"yesterday" as "2006"', id="since-time"),
    pytest.param({"tailLines": "-1"}, 422,
                 'PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be '
                 "greater than or equal to 0", id="negative-tail"),
    pytest.param({"limitBytes": "0", "sinceSeconds": "0"}, 422,
                 'PodLogOptions "web" is invalid: [limitBytes: Invalid value: 0: must be '
                 "greater than 0, sinceSeconds: Invalid value: 0: must be greater than 0]",
                 id="two-errors"),
    pytest.param({"sinceSeconds": "5", "sinceTime": ""}, 422,
                 'PodLogOptions "web" is invalid: : Forbidden: at most one of `sinceTime` or '
                 "`sinceSeconds` may be specified", id="both-since"),
])
def test_bad_options(query: dict[str, str], code: int, message: str) -> None:
    with pytest.raises(APIError) as e:
        LogOptions.from_query(query, "web")
    assert (e.value.code, e.value.message) == (code, message)
    assert e.value.reason == ("BadRequest" if code == 400 else "Invalid")


@pytest.mark.parametrize("value,message", [
    ("2024-01-02T03:04:05", 'parsing time "2024-01-02T03:04:05" as '
     '"2006-01-02T15:04:05Z07:00": cannot parse "" as "Z07:00"'),
    ("2024-1-02T03:04:05Z", 'parsing time "2024-1-02T03:04:05Z" as '
     '"2006-01-02T15:04:05Z07:00": cannot parse "1-02T03:04:05Z" as "01"'),
    ("2024-01-02 03:04:05Z", 'parsing time "2024-01-02 03:04:05Z" as '
     '"2006-01-02T15:04:05Z07:00": cannot parse " 03:04:05Z" as "T"'),
    ("2024-13-01T00:00:00Z", 'parsing time "2024-13-01T00:00:00Z": month out of range'),
    ("2023-02-29T00:00:00Z", 'parsing time "2023-02-29T00:00:00Z": day out of range'),
    ("2024-01-02T24:00:00Z", 'parsing time "2024-01-02T24:00:00Z": hour out of range'),
    ("2024-01-02T03:04:05Zx", 'parsing time "2024-01-02T03:04:05Zx": extra text: "x"'),
    ("2024-01-02T03:04:05+01:61",
     'parsing time "2024-01-02T03:04:05+01:61": time zone offset minute out of range'),
])
def test_go_rfc3339_errors(value: str, message: str) -> None:
    with pytest.raises(ValueError) as e:
        parse_rfc3339(value)
    assert str(e.value) == message


def test_rfc3339_values() -> None:
    assert parse_rfc3339("2023-11-14T22:13:20Z") == T0
    assert parse_rfc3339("2023-11-14T22:13:20.5Z") == T0 + 0.5
    assert parse_rfc3339("2024-02-29T00:00:00-00:30") == parse_rfc3339("2024-02-29T00:30:00Z")


# ---- which container ---------------------------------------------------------------

def two(init: bool = False, ephemeral: bool = False) -> dict[str, Any]:
    p = pod("web", node="node-1")
    p["spec"]["containers"] = [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}]
    if init:
        p["spec"]["initContainers"] = [{"name": "setup", "image": "x"}]
    if ephemeral:
        p["spec"]["ephemeralContainers"] = [{"name": "debug", "image": "x"}]
    return p


@pytest.mark.parametrize("p,name,expect", [
    pytest.param(pod("web"), "", "c", id="the-only-one"),
    pytest.param(two(init=True), "setup", "setup", id="an-init-container"),
    pytest.param(two(), "", "a container name must be specified for pod web, choose one of: "
                 "[a b]", id="several"),
    pytest.param(two(init=True, ephemeral=True), "",
                 "a container name must be specified for pod web, choose one of: "
                 "[setup a b debug]", id="several-with-init-and-ephemeral"),
    pytest.param(two(), "x", "container x is not valid for pod web", id="unknown"),
])
def test_validate_container(p: dict[str, Any], name: str, expect: str) -> None:
    if " " not in expect:
        assert validate_container(p, name) == expect
    else:
        with pytest.raises(APIError) as e:
            validate_container(p, name)
        assert (e.value.code, e.value.reason, e.value.message) == (400, "BadRequest", expect)


def test_before_the_kubelet_is_asked() -> None:
    reg, _, _ = make_registry()
    run(reg.create("pods", two()))
    run(reg.create("pods", pod("pending")))

    def err(name: str, opts: LogOptions) -> tuple[int, str]:
        with pytest.raises(APIError) as e:
            run(read_pod_logs(reg, "default", name, opts))
        return e.value.code, e.value.message

    assert err("nope", LogOptions()) == (404, 'pods "nope" not found')
    assert err("web", LogOptions(tail_lines=-2)) == (
        422, 'PodLogOptions "web" is invalid: tailLines: Invalid value: -2: must be greater '
        "than or equal to 0")
    assert err("web", LogOptions())[0] == 400
    assert run(read_pod_logs(reg, "default", "pending", LogOptions())) == b""  # not scheduled
    assert err("web", LogOptions(container="a")) == (404, 'nodes "node-1" not found')
    run(reg.create("nodes", {"apiVersion": "v1", "kind": "Node",
                             "metadata": {"name": "node-1"}}))
    code, msg = err("web", LogOptions(container="a", tail_lines=5, follow=True))
    assert code == 500 and msg == (
        'Get "https://node-1:10250/containerLogs/default/web/a?follow=true&tailLines=5": '
        "dial tcp node-1:10250: connect: connection refused")


# ---- through a real kubelet API server ---------------------------------------------

SCALE = 0.01  # one simulated second = 10 ms
BUSYBOX = "busybox:1.36"
COUNTER = 'i=0; while true; do echo "$i: $(date)"; i=$((i+1)); sleep 1; done'


async def until(pred: Callable[[], Awaitable[Any]], timeout: float = 10.0,
                what: str = "") -> Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        v = await pred()
        if v:
            return v
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def mirror(reg: Registry, api: FakeAPI, resource: str, name: str,
                 ns: str | None = None) -> dict[str, Any]:
    """Copy an object the kubelet wrote (FakeAPI) into the registry, status included."""
    obj = api.peek(resource, name, ns)
    assert obj is not None
    meta = {k: v for k, v in obj["metadata"].items()
            if k in ("name", "namespace", "labels", "annotations")}
    try:
        cur = await reg.get(resource, name, ns)
        cur["metadata"]["annotations"] = meta.get("annotations") or {}
        cur = await reg.update(resource, cur)
    except APIError:
        cur = await reg.create(resource, {**{k: copy.deepcopy(v) for k, v in obj.items()
                                             if k != "status"}, "metadata": meta}, ns)
    return await reg.update(resource, {**cur, "status": obj["status"]}, subresource="status")


class Cluster:
    def __init__(self, pool: bool = False) -> None:
        self.api = FakeAPI()
        self.reg = Registry(MemoryKV(), clock=FakeClock(T0), rng=random.Random(7))
        self.conns = KubeletConnections()
        self.pool: NodePool | None = None
        if pool:
            self.pool = NodePool([node_cfg(node_name=n, time_scale=SCALE,
                                           preloaded_images=[BUSYBOX])
                                  for n in ("node-1", "node-2")], self.api)
            assert self.pool.server is not None
            self.server = self.pool.server
        else:
            self.kubelet = Kubelet(node_cfg(time_scale=SCALE, preloaded_images=[BUSYBOX]),
                                   self.api)
            self.server = KubeletServer(lambda n: self.kubelet if n in ("", "node-1")
                                        else None)

    async def start(self) -> None:
        await self.reg.ensure_system_namespaces()
        if self.pool is not None:
            await self.pool.start()
        else:
            await self.server.start()
            self.kubelet.set_endpoint(self.server.endpoint)
            await self.kubelet.start()

    async def stop(self) -> None:
        if self.pool is not None:
            await self.pool.stop()
        else:
            await self.server.stop()
            await self.kubelet.stop()
        await self.conns.close()

    async def add(self, name: str, *containers: dict[str, Any], node: str = "node-1",
                  phase: str = "Running", **spec: Any) -> None:
        await self.api.create("pods", kpod(name, list(containers), nodeName=node, **spec))

        async def ready() -> bool:
            p = self.api.peek("pods", name)
            return bool(p and p["status"].get("phase") == phase and
                        self.api.peek("nodes", node))
        await until(ready, what=f"{name} {phase}")
        await self.sync(name, node)

    async def sync(self, name: str, node: str = "node-1") -> None:
        await mirror(self.reg, self.api, "nodes", node)
        await mirror(self.reg, self.api, "pods", name, "default")

    async def logs(self, name: str, **kw: Any) -> str:
        data = await read_pod_logs(self.reg, "default", name, LogOptions(**kw),
                                   connections=self.conns)
        return data.decode()

    async def error(self, name: str, **kw: Any) -> tuple[int, str, str]:
        with pytest.raises(APIError) as e:
            await self.logs(name, **kw)
        return e.value.code, e.value.reason, e.value.message


def in_cluster(fn: Callable[[Cluster], Awaitable[None]], pool: bool = False) -> None:
    async def main() -> None:
        c = Cluster(pool)
        await c.start()
        try:
            await fn(c)
        finally:
            await c.stop()
    asyncio.run(asyncio.wait_for(main(), 60))


def test_logs_tail_timestamps_and_errors_through_the_kubelet() -> None:
    async def body(c: Cluster) -> None:
        app = container("app", image=BUSYBOX,
                        command=["sh", "-c", "echo hello; echo oops >&2; sleep 1; echo world; "
                                             "sleep 100000"])
        await c.add("web-1", app, container("count", image=BUSYBOX, command=["sh", "-c", COUNTER]))
        node = await c.reg.get("nodes", "node-1")
        ep = node["metadata"]["annotations"]["kubemu.io/kubelet-endpoint"]
        assert ep == c.server.endpoint
        assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == c.server.port

        async def third_line() -> bool:  # "world" comes a (scaled) second after start
            return await c.logs("web-1", container="app") == "hello\noops\nworld\n"

        await until(third_line, what="the three lines")
        assert await c.logs("web-1", container="app", tail_lines=1) == "world\n"
        assert await c.logs("web-1", container="app", limit_bytes=8) == "hello\noo"
        stamped = await c.logs("web-1", container="app", timestamps=True, tail_lines=2)
        assert re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (oops|world)\n){2}",
                            stamped), stamped
        async def two_counts() -> bool:
            return len((await c.logs("web-1", container="count")).splitlines()) >= 2

        await until(two_counts, what="two lines of the counter")
        counted = (await c.logs("web-1", container="count", tail_lines=2)).splitlines()
        assert len(counted) == 2
        assert int(counted[0].split(":")[0]) + 1 == int(counted[1].split(":")[0])

        assert await c.error("web-1") == (
            400, "BadRequest",
            "a container name must be specified for pod web-1, choose one of: [app count]")
        assert await c.error("web-1", container="app", previous=True) == (
            400, "BadRequest", 'previous terminated container "app" in pod "web-1" not found')
        # the apiserver's copy says the pod exists, the kubelet does not know it (yet)
        await c.reg.create("pods", pod("ghost", node="node-1"))
        assert await c.error("ghost", container="c") == (
            404, "NotFound", "the server could not find the requested resource "
                             "( pods/log ghost)")
        assert c.server.stats["errors"] >= 2

        await c.server.stop()  # the kubelet is gone
        code, reason, msg = await c.error("web-1", container="app")
        assert (code, reason) == (500, "") and msg == (
            'Get "https://10.0.0.3:' + str(c.server.port) + '/containerLogs/default/web-1/app":'
            " dial tcp 10.0.0.3:" + str(c.server.port) + ": connect: connection refused")
        await c.server.start()  # same port, for stop()
    in_cluster(body)


def test_previous_and_crash_loop_and_waiting() -> None:
    async def body(c: Cluster) -> None:
        crash = container("app", image=BUSYBOX,
                          command=["sh", "-c", "echo run $(date +%s%N); sleep 5; exit 1"])
        await c.add("crash", crash)

        async def restarted() -> bool:
            p = c.api.peek("pods", "crash")
            return bool(p and p["status"]["containerStatuses"][0]["restartCount"] >= 1 and
                        "running" in p["status"]["containerStatuses"][0]["state"])
        await until(restarted, what="a restart")
        await c.sync("crash")
        prev = await c.logs("crash", container="app", previous=True)
        cur = await c.logs("crash", container="app")
        assert prev.startswith("run ") and cur.startswith("run ") and prev != cur

        await c.api.create("pods", kpod("bad", [container("app", image="nosuch.example/x:1")]))

        async def failing() -> bool:
            p = c.api.peek("pods", "bad")
            w = (p or {}).get("status", {}).get("containerStatuses", [{}])[0].get(
                "state", {}).get("waiting", {})
            return w.get("reason") in ("ErrImagePull", "ImagePullBackOff")
        await until(failing, what="a failed pull")
        await c.sync("bad")
        code, reason, msg = await c.error("bad", container="app")
        assert (code, reason) == (400, "BadRequest")
        assert msg in ('container "app" in pod "bad" is waiting to start: image can\'t be pulled',
                       'container "app" in pod "bad" is waiting to start: trying and failing '
                       "to pull image")
    in_cluster(body)


def test_follow_streams_until_the_container_exits() -> None:
    async def body(c: Cluster) -> None:
        job = container("job", image=BUSYBOX,
                        command=["sh", "-c", "echo 1; sleep 10; echo 2; sleep 10; echo 3"])
        await c.add("job", job, restartPolicy="Never")
        stream = await pod_logs(c.reg, "default", "job", LogOptions(follow=True),
                                connections=c.conns)
        got: list[bytes] = []
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        async for chunk in stream:
            got.append(chunk)
        assert b"".join(got) == b"1\n2\n3\n" and len(got) >= 2  # as they were written
        assert loop.time() - t0 < 1.5  # ended with the container, not at a poll timeout

        # following a running container, then going away
        await c.add("tick", container("count", image=BUSYBOX, command=["sh", "-c", COUNTER]))
        stream = await pod_logs(c.reg, "default", "tick", LogOptions(follow=True, tail_lines=1),
                                connections=c.conns)
        first = await stream.__anext__()
        second = await stream.__anext__()
        assert int(second.split(b":")[0]) == int(first.split(b":")[0]) + 1
        await stream.aclose()
        with pytest.raises(StopAsyncIteration):
            await stream.__anext__()
    in_cluster(body)


def test_a_node_pool_serves_every_node_on_one_endpoint() -> None:
    async def body(c: Cluster) -> None:
        assert c.pool is not None
        await c.add("on-2", container("app", image=BUSYBOX, command=["sh", "-c", "echo two"]),
                    node="node-2", phase="Succeeded", restartPolicy="Never")
        await c.add("on-1", container("app", image=BUSYBOX, command=["sh", "-c", "echo one"]),
                    node="node-1", phase="Succeeded", restartPolicy="Never")
        for n in ("node-1", "node-2"):
            node = await c.reg.get("nodes", n)
            assert node["metadata"]["annotations"]["kubemu.io/kubelet-endpoint"] == \
                c.server.endpoint
        assert await c.logs("on-2") == "two\n"
        assert await c.logs("on-1") == "one\n"
    in_cluster(body, pool=True)
