"""Start and stop an n-member kubemu store as Ray actors.

The launcher picks the ports once (peer + client per member) and passes them in each
member's config, so a member that Ray restarts after a crash binds the same ports and
its peers and clients find it where they left it.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass, field
from typing import Any

from actors.common import grpcutil, rayutil

from .member import EtcdMemberActor, MemberConfig, PeerInfo


@dataclass
class StoreHandle:
    cluster: str
    configs: list[MemberConfig]
    actors: dict[int, Any] = field(default_factory=dict)
    namespace: str | None = None

    @property
    def endpoints(self) -> list[str]:
        return [c.me.client_addr for c in self.configs]

    def actor_name(self, member_id: int) -> str:
        return f"{self.cluster}-etcd-{member_id}"

    def status(self, member_id: int, timeout: float = 10.0) -> dict[str, Any]:
        return rayutil.call(self.actors[member_id], "status", timeout=timeout)  # type: ignore[no-any-return]

    def statuses(self, timeout: float = 5.0) -> dict[int, dict[str, Any] | None]:
        out: dict[int, dict[str, Any] | None] = {}
        for mid in self.actors:
            try:
                out[mid] = self.status(mid, timeout)
            except Exception:
                out[mid] = None
        return out

    def leader(self, timeout: float = 15.0) -> int:
        """The member id every reachable member agrees is leader (waits for one)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            sts = [s for s in self.statuses(2.0).values() if s]
            leaders = {s["id"] for s in sts if s["role"] == "leader"}
            if len(leaders) == 1:
                lid = leaders.pop()
                term = next(s["term"] for s in sts if s["id"] == lid)
                if sum(1 for s in sts if s["leader"] == lid and s["term"] == term) * 2 > len(
                        self.configs):
                    return lid
            time.sleep(0.05)
        raise TimeoutError("no leader elected")

    def kill(self, member_id: int) -> int:
        """SIGKILL the member's process (Ray restarts it); returns the killed pid."""
        pid = int(rayutil.call(self.actors[member_id], "pid"))
        os.kill(pid, signal.SIGKILL)
        return pid

    def partition(self, member_id: int) -> None:
        """Cut member_id off from all others, in both directions."""
        others = [c.id for c in self.configs if c.id != member_id]
        rayutil.call(self.actors[member_id], "partition", others)
        for o in others:
            rayutil.call(self.actors[o], "partition", [member_id])

    def heal(self) -> None:
        for a in self.actors.values():
            rayutil.call(a, "heal")

    def wait_ready(self, timeout: float = 60.0) -> None:
        refs = [rayutil.call_async(a, "pid") for a in self.actors.values()]
        rayutil.wait_all(refs, timeout=timeout)
        self.leader(timeout=timeout)

    def stop(self, *, remove_data: bool = False) -> None:
        for a in self.actors.values():
            try:
                rayutil.call(a, "stop", timeout=10)
            except Exception:
                pass
            try:
                rayutil.kill(a)
            except Exception:
                pass
        self.actors.clear()
        if remove_data:
            for c in self.configs:
                shutil.rmtree(c.data_dir, ignore_errors=True)


def plan_store(cluster: str, data_root: str, members: int = 3, *, tick_ms: int = 100,
               election_tick: int = 10, snapshot_count: int = 10_000,
               ports: list[int] | None = None) -> list[MemberConfig]:
    if members not in (1, 3, 5):
        raise ValueError(f"etcd members: Invalid value: {members}: must be 1, 3 or 5")
    ports = ports or grpcutil.free_ports(2 * members)
    peers = [PeerInfo(id=i + 1, name=f"etcd-{i + 1}", peer_port=ports[2 * i],
                      client_port=ports[2 * i + 1]) for i in range(members)]
    return [MemberConfig(id=p.id, cluster=cluster, peers=peers,
                         data_dir=os.path.join(data_root, p.name), tick_ms=tick_ms,
                         election_tick=election_tick, snapshot_count=snapshot_count)
            for p in peers]


def start_store(cluster: str, data_root: str, members: int = 3, *, wait: bool = True,
                namespace: str | None = None, detached: bool = True,
                **kw: Any) -> StoreHandle:
    configs = plan_store(cluster, data_root, members, **kw)
    h = StoreHandle(cluster=cluster, configs=configs, namespace=namespace)
    for c in configs:
        h.actors[c.id] = rayutil.start_actor(EtcdMemberActor, h.actor_name(c.id), c.to_dict(),
                                             namespace=namespace, detached=detached)
    if wait:
        h.wait_ready()
    return h
