"""Pod IP allocation from the node's podCIDR, as the CNI host-local plugin does (pure).

The first address (.0, network) and the gateway (.1) are never handed out, nor the
broadcast address; allocation is round-robin from the last address given out, so a
freed IP is not reused at once (host-local keeps `last_reserved_ip`).
"""

from __future__ import annotations

import ipaddress


class IPExhausted(Exception):
    pass


class IPAllocator:
    __slots__ = ("_first", "_last", "_next", "_used")

    def __init__(self, cidr: str) -> None:
        net = ipaddress.ip_network(cidr, strict=False)
        base = int(net.network_address)
        self._first = base + 2  # skip network and gateway
        self._last = int(net.broadcast_address) - 1 if net.num_addresses > 2 else base
        if self._last < self._first:
            raise ValueError(f"podCIDR {cidr} has no room for pods")
        self._next = self._first
        self._used: dict[int, str] = {}  # ip -> owner (pod uid)

    def allocate(self, owner: str) -> str:
        size = self._last - self._first + 1
        if len(self._used) >= size:
            raise IPExhausted("no IP addresses available in range set")
        ip = self._next
        while ip in self._used:
            ip = self._first if ip >= self._last else ip + 1
        self._used[ip] = owner
        self._next = self._first if ip >= self._last else ip + 1
        return str(ipaddress.ip_address(ip))

    def reserve(self, ip: str, owner: str) -> bool:
        """Mark an address in use (a pod adopted after a kubelet restart)."""
        n = int(ipaddress.ip_address(ip))
        if not self._first <= n <= self._last or n in self._used:
            return False
        self._used[n] = owner
        return True

    def release(self, ip: str) -> None:
        self._used.pop(int(ipaddress.ip_address(ip)), None)

    def in_use(self) -> int:
        return len(self._used)
