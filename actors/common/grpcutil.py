"""gRPC helpers shared by every component.

Servers bind 127.0.0.1 explicitly (the node IP Ray reports is not loopback) with
`grpc.so_reuseport` off, so two servers can never silently share a port.

`aio_channel` adds the process's default client interceptors, if any: the actor
shells install the fault-injection ones (actors.common.faultinject.install) so that
every channel a component opens obeys `kubemu fault partition|delay|drop`.
"""

from __future__ import annotations

import socket
from typing import Any, Sequence

import grpc

MAX_MESSAGE_BYTES = 8 * 1024 * 1024

_default_interceptors: list[Any] = []


def set_default_interceptors(interceptors: Sequence[Any]) -> None:
    """Client interceptors every later `aio_channel` of this process gets."""
    _default_interceptors[:] = list(interceptors)


def server_options(max_receive: int = MAX_MESSAGE_BYTES) -> list[tuple[str, int]]:
    return [
        ("grpc.so_reuseport", 0),
        ("grpc.max_receive_message_length", max_receive),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ]


def channel_options() -> list[tuple[str, int]]:
    return [
        ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
        ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
        # reconnect quickly after a peer restarts (defaults back off up to 120 s)
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
        ("grpc.enable_retries", 0),
    ]


def free_ports(n: int, host: str = "127.0.0.1") -> list[int]:
    """Ports the kernel says are free now (held open together so they are distinct)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def aio_server(max_receive: int = MAX_MESSAGE_BYTES) -> grpc.aio.Server:
    return grpc.aio.server(options=server_options(max_receive))


def bind(server: grpc.aio.Server, port: int, host: str = "127.0.0.1") -> int:
    bound = server.add_insecure_port(f"{host}:{port}")
    if port and bound != port:
        raise OSError(f"could not bind {host}:{port}")
    if not bound:
        raise OSError(f"could not bind {host}:{port}")
    return bound


def aio_channel(target: str, extra: Sequence[tuple[str, int]] = (),
                interceptors: Sequence[Any] | None = None) -> grpc.aio.Channel:
    ics = list(_default_interceptors if interceptors is None else interceptors)
    return grpc.aio.insecure_channel(target, options=channel_options() + list(extra),
                                     interceptors=ics or None)
