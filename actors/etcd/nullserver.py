"""A do-nothing etcd v3 KV server: the floor of Python gRPC on this machine.

`kubemu bench store --floor` runs the same workload against n of these (one process
each, like the members): Put and Range answer an empty response at once, with no
raft, no disk and no store. What the benchmark measures against it is the cost of
the Python client and the grpc.aio server alone, which bounds what any Python
member could reach on the same machine.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
from typing import Any

from actors.common import grpcutil


def _serve(port: int) -> None:
    from protos.etcdserverpb import rpc_pb2, rpc_pb2_grpc

    class KV(rpc_pb2_grpc.KVServicer):
        async def Put(self, request: Any, context: Any) -> Any:
            return rpc_pb2.PutResponse()

        async def Range(self, request: Any, context: Any) -> Any:
            return rpc_pb2.RangeResponse()

    async def main() -> None:
        s = grpcutil.aio_server()
        rpc_pb2_grpc.add_KVServicer_to_server(KV(), s)
        grpcutil.bind(s, port)
        await s.start()
        await s.wait_for_termination()

    asyncio.run(main())


class NullServers:
    def __init__(self, n: int = 3) -> None:
        self.ports = grpcutil.free_ports(n)
        ctx = mp.get_context("spawn")
        self.procs = [ctx.Process(target=_serve, args=(p,), daemon=True) for p in self.ports]

    @property
    def endpoints(self) -> list[str]:
        return [f"127.0.0.1:{p}" for p in self.ports]

    def __enter__(self) -> "NullServers":
        import socket
        import time

        for p in self.procs:
            p.start()
        deadline = time.monotonic() + 30
        for port in self.ports:
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        for p in self.procs:
            p.kill()
            p.join(5)
