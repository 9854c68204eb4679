"""Run a real etcd cluster (Debian's `etcd-server`) on loopback: the peer of
`kubemu bench store` and an oracle for tests.

Fresh data directories every time; `stop()` kills the processes and removes them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

from actors.common import grpcutil


def etcd_binary() -> str | None:
    return shutil.which("etcd")


@dataclass
class RealEtcd:
    members: int = 3
    data_root: str = ""
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    client_ports: list[int] = field(default_factory=list)
    own_root: bool = False

    @property
    def endpoints(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.client_ports]

    def start(self, timeout: float = 30.0) -> "RealEtcd":
        binary = etcd_binary()
        if binary is None:
            raise RuntimeError("the real etcd is not installed (apt-get install etcd-server)")
        if not self.data_root:
            self.data_root = tempfile.mkdtemp(prefix="real-etcd-")
            self.own_root = True
        ports = grpcutil.free_ports(2 * self.members)
        peer_ports = ports[: self.members]
        self.client_ports = ports[self.members:]
        names = [f"real-{i + 1}" for i in range(self.members)]
        initial = ",".join(f"{n}=http://127.0.0.1:{p}" for n, p in zip(names, peer_ports))
        env = dict(os.environ)
        token = f"bench-{os.getpid()}-{time.time_ns()}"
        for i, name in enumerate(names):
            d = os.path.join(self.data_root, name)
            os.makedirs(d, exist_ok=True)
            cmd = [binary, "--name", name, "--data-dir", d,
                   "--listen-client-urls", f"http://127.0.0.1:{self.client_ports[i]}",
                   "--advertise-client-urls", f"http://127.0.0.1:{self.client_ports[i]}",
                   "--listen-peer-urls", f"http://127.0.0.1:{peer_ports[i]}",
                   "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer_ports[i]}",
                   "--initial-cluster", initial, "--initial-cluster-state", "new",
                   "--initial-cluster-token", token,
                   "--log-level", "error", "--logger", "zap"]
            log = open(os.path.join(self.data_root, f"{name}.log"), "wb")
            self.procs.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT,
                                               env=env, start_new_session=True))
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        from actors.etcd.client import SyncEtcdClient

        deadline = time.monotonic() + timeout
        c = SyncEtcdClient(self.endpoints, timeout=2.0)
        try:
            while time.monotonic() < deadline:
                for p in self.procs:
                    if p.poll() is not None:
                        raise RuntimeError(f"real etcd exited with {p.returncode}; logs in "
                                           f"{self.data_root}")
                try:
                    c.put(b"/bench/health", b"ok")
                    return
                except Exception:
                    time.sleep(0.2)
            raise TimeoutError("real etcd did not become healthy")
        finally:
            c.close()

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.procs.clear()
        if self.own_root:
            shutil.rmtree(self.data_root, ignore_errors=True)

    def __enter__(self) -> "RealEtcd":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
