"""The real etcdctl (Debian etcd-client 3.4) against a kubemu store.

etcdctl is the oracle for wire compatibility: if it can put, get, delete, run a
txn, watch, grant leases and list members through our etcd v3 gRPC API, so can any
etcd v3 client.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from typing import Any

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("etcdctl") is None, reason="etcdctl not installed "
                       "(make test installs Debian etcd-client)"),
]


def ctl(store: Any, *args: str, stdin: str | None = None, timeout: float = 20,
        endpoints: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ETCDCTL_API="3")
    eps = ",".join(endpoints or store.endpoints)
    return subprocess.run(["etcdctl", f"--endpoints={eps}", "--command-timeout=10s", *args],
                          input=stdin, capture_output=True, text=True, timeout=timeout, env=env)


def ok(p: subprocess.CompletedProcess[str]) -> str:
    assert p.returncode == 0, f"etcdctl failed ({p.returncode}): {p.stderr}"
    return p.stdout


def test_put_get_del(store: Any) -> None:
    assert ok(ctl(store, "put", "/ctl/a", "1")).strip() == "OK"
    assert ok(ctl(store, "put", "/ctl/b", "2")).strip() == "OK"
    assert ok(ctl(store, "put", "/other", "x")).strip() == "OK"
    assert ok(ctl(store, "get", "--prefix", "/ctl/")).splitlines() == ["/ctl/a", "1", "/ctl/b", "2"]
    assert ok(ctl(store, "get", "--prefix", "/ctl/", "--keys-only")).split() == ["/ctl/a", "/ctl/b"]
    assert ok(ctl(store, "get", "--prefix", "/ctl/", "--limit", "1")).splitlines() == ["/ctl/a", "1"]
    out = json.loads(ok(ctl(store, "get", "/ctl/a", "-w", "json")))
    assert out["count"] == 1 and out["kvs"][0]["version"] == 1
    rev = out["kvs"][0]["mod_revision"]
    ok(ctl(store, "put", "/ctl/a", "changed"))
    assert ok(ctl(store, "get", "/ctl/a", f"--rev={rev}")).splitlines() == ["/ctl/a", "1"]
    assert ok(ctl(store, "get", "/ctl/a")).splitlines() == ["/ctl/a", "changed"]
    assert ok(ctl(store, "del", "--prefix", "/ctl/")).strip() == "2"
    assert ok(ctl(store, "get", "--prefix", "/ctl/")).strip() == ""


def test_txn(store: Any) -> None:
    ok(ctl(store, "put", "/txn/k", "v1"))
    script = 'value("/txn/k") = "v1"\n\nput /txn/res yes\n\nput /txn/res no\n\n'
    out = ok(ctl(store, "txn", stdin=script)).split()
    assert out[0] == "SUCCESS"
    assert ok(ctl(store, "get", "/txn/res", "--print-value-only")).strip() == "yes"
    script = 'value("/txn/k") = "nope"\n\nput /txn/res yes\n\nput /txn/res no\n\n'
    assert ok(ctl(store, "txn", stdin=script)).split()[0] == "FAILURE"
    assert ok(ctl(store, "get", "/txn/res", "--print-value-only")).strip() == "no"


def test_watch(store: Any) -> None:
    env = dict(os.environ, ETCDCTL_API="3")
    w = subprocess.Popen(["etcdctl", f"--endpoints={','.join(store.endpoints)}", "watch",
                          "--prefix", "/watch/"], stdout=subprocess.PIPE, text=True, env=env)
    try:
        time.sleep(1.5)
        ok(ctl(store, "put", "/watch/a", "1"))
        ok(ctl(store, "put", "/watch/b", "2"))
        ok(ctl(store, "del", "/watch/a"))
        ok(ctl(store, "put", "/elsewhere", "no"))
        time.sleep(1.0)
    finally:
        w.terminate()
        out, _ = w.communicate(timeout=10)
    assert out.split() == ["PUT", "/watch/a", "1", "PUT", "/watch/b", "2", "DELETE", "/watch/a"]


def test_watch_from_revision(store: Any) -> None:
    first = json.loads(ok(ctl(store, "put", "/wrev/x", "1", "-w", "json")))["header"]["revision"]
    ok(ctl(store, "put", "/wrev/x", "2"))
    env = dict(os.environ, ETCDCTL_API="3")
    w = subprocess.Popen(["etcdctl", f"--endpoints={','.join(store.endpoints)}", "watch",
                          f"--rev={first}", "/wrev/x"], stdout=subprocess.PIPE, text=True,
                         env=env)
    time.sleep(1.5)
    w.terminate()
    out, _ = w.communicate(timeout=10)
    assert out.split() == ["PUT", "/wrev/x", "1", "PUT", "/wrev/x", "2"]


def test_lease_grant_attach_revoke(store: Any) -> None:
    out = ok(ctl(store, "lease", "grant", "60"))
    assert out.startswith("lease ") and "granted with TTL(60s)" in out
    lease_id = out.split()[1]
    ok(ctl(store, "put", "/lease/k", "v", f"--lease={lease_id}"))
    ttl = ok(ctl(store, "lease", "timetolive", lease_id, "--keys"))
    assert f"lease {lease_id} granted with TTL(60s)" in ttl and "/lease/k" in ttl
    assert lease_id in ok(ctl(store, "lease", "list"))
    assert "revoked" in ok(ctl(store, "lease", "revoke", lease_id))
    assert ok(ctl(store, "get", "/lease/k")).strip() == ""


def test_member_list_and_endpoint_status(store: Any) -> None:
    lines = ok(ctl(store, "member", "list")).strip().splitlines()
    assert len(lines) == 3
    for line in lines:
        mid, state, name, peer, client, learner = [f.strip() for f in line.split(",")]
        assert state == "started" and name.startswith("etcd-") and learner == "false"
        assert client.replace("http://", "") in store.endpoints
    statuses = json.loads(ok(ctl(store, "endpoint", "status", "-w", "json")))
    assert len(statuses) == 3
    leaders = {s["Status"]["leader"] for s in statuses}
    assert len(leaders) == 1 and leaders.pop() != 0
    assert sum(1 for s in statuses if s["Status"]["header"]["member_id"] ==
               s["Status"]["leader"]) == 1
    table = ok(ctl(store, "endpoint", "status", "-w", "table"))
    assert "IS LEADER" in table and "true" in table


def test_errors_are_reported_not_crashes(store: Any) -> None:
    p = ctl(store, "get", "/x", "--rev=999999999")
    assert p.returncode != 0 and "future revision" in p.stderr
    ok(ctl(store, "put", "/still/alive", "yes"))
