"""The lessor: etcd v3 leases (pure: no I/O, no clock of its own, no asyncio/rpc).

Two kinds of state live here:

* **Replicated** (changed only by applying committed raft entries, identical on every member,
  part of ``snapshot()``): the set of leases (id, granted TTL), the keys attached to each lease,
  and the counter used to choose lease ids when a grant asks for id 0.
* **Leader-local** (the *primary* lessor's clock view, never replicated): each lease's
  ``expiry`` and the expiry queue.  Time is injected as ``now: float`` (seconds, monotonic).
  A lessor starts (and is restored) as a non-primary: every lease lives forever.
  ``promote(now, extend)`` makes it primary and gives every lease a fresh full TTL plus
  ``extend`` (etcd's ``Promote``; etcd passes the election timeout), spreading the expiries
  out when more than ``revoke_rate`` leases would pile up, as etcd does.  ``demote()`` makes
  every lease live forever again.

The primary's loop calls ``expired(now)`` and proposes a LeaseRevoke for each id it returns;
a returned lease is not reported again for ``expired_retry_interval`` seconds (etcd's retry
interval) so a slow revoke is not proposed in a tight loop.  ``renew`` (keep-alive) and
``time_to_live`` only work on the primary (``NotPrimaryError`` elsewhere: the caller forwards
to the leader).  Renewing a lease that has expired but is not yet revoked fails with
``LeaseExpiredError`` (a ``LeaseNotFoundError``: etcd waits for the revoke and then answers
"lease not found").

Keys move between leases: attaching a key to a lease detaches it from the lease it had
(``set_key_lease(key, 0)`` just detaches), so the applier can mirror every put/delete.

Ids: a grant with id 0 gets a deterministic positive 63-bit id derived (splitmix64) from
``id_seed`` and the replicated counter, so every member chooses the same one.  (etcd chooses
the id on the proposing member before raft; a member may still do that and pass it in.)
Lease checkpointing (persisting remaining TTLs) is not implemented: a new leader grants full
TTLs, as etcd does with checkpointing disabled (its default).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

import msgpack

__all__ = [
    "DEFAULT_EXPIRED_RETRY_INTERVAL",
    "DEFAULT_MIN_TTL",
    "LEASE_REVOKE_RATE",
    "MAX_LEASE_TTL",
    "NO_LEASE",
    "Lease",
    "LeaseError",
    "LeaseExistsError",
    "LeaseExpiredError",
    "LeaseNotFoundError",
    "LeaseTTLTooLargeError",
    "Lessor",
    "NotPrimaryError",
    "TimeToLive",
    "min_lease_ttl",
]

NO_LEASE: Final = 0
MAX_LEASE_TTL: Final = 9_000_000_000
# etcd: ceil(((3 * election_ticks) // 2) * heartbeat) = ceil(15 * 0.1s) = 2 with its defaults
DEFAULT_MIN_TTL: Final = 2
DEFAULT_EXPIRED_RETRY_INTERVAL: Final = 3.0
LEASE_REVOKE_RATE: Final = 1000
SNAPSHOT_VERSION: Final = 1
_MASK63: Final = (1 << 63) - 1
_MASK64: Final = (1 << 64) - 1


def min_lease_ttl(election_ticks: int, tick_seconds: float) -> int:
    """etcd's minimum lease TTL for a raft config: 1.5 election timeouts, rounded up."""
    return int(math.ceil(((3 * election_ticks) // 2) * tick_seconds))


class LeaseError(Exception):
    """A lessor error: ``code`` is the gRPC status code name, str(e) etcd's message."""

    code: str = "UNKNOWN"
    default_message: str = "lease error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)

    @property
    def message(self) -> str:
        return str(self)


class LeaseNotFoundError(LeaseError):
    code = "NOT_FOUND"
    default_message = "etcdserver: requested lease not found"


class LeaseExpiredError(LeaseNotFoundError):
    """Renew of a lease that expired and awaits its revoke (answered as not found)."""


class LeaseExistsError(LeaseError):
    code = "FAILED_PRECONDITION"
    default_message = "etcdserver: lease already exists"


class LeaseTTLTooLargeError(LeaseError):
    code = "OUT_OF_RANGE"
    default_message = "etcdserver: too large lease TTL"


class NotPrimaryError(LeaseError):
    code = "FAILED_PRECONDITION"
    default_message = "not a primary lessor"


@dataclass(slots=True)
class Lease:
    id: int
    ttl: int  # granted TTL in seconds (after the minimum is applied)
    keys: set[bytes] = field(default_factory=set)
    expiry: float = math.inf  # leader-local; inf = forever (non-primary)

    def remaining(self, now: float) -> float:
        return self.expiry - now


@dataclass(slots=True, frozen=True)
class TimeToLive:
    id: int
    ttl: int  # remaining seconds, truncated toward zero as etcd (int64(Remaining().Seconds()))
    granted_ttl: int
    keys: list[bytes]


def _splitmix64(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31)


class Lessor:
    """etcd's lessor (see the module docstring)."""

    def __init__(
        self,
        *,
        min_ttl: int = DEFAULT_MIN_TTL,
        id_seed: int = 0,
        expired_retry_interval: float = DEFAULT_EXPIRED_RETRY_INTERVAL,
        revoke_rate: int = LEASE_REVOKE_RATE,
    ) -> None:
        self.min_ttl = min_ttl
        self.id_seed = id_seed
        self.expired_retry_interval = expired_retry_interval
        self.revoke_rate = revoke_rate
        self._leases: dict[int, Lease] = {}
        self._key_lease: dict[bytes, int] = {}
        self._id_counter = 0
        self._primary = False
        self._heap: list[tuple[float, int]] = []
        self._sched: dict[int, float] = {}
        self._last_now = 0.0

    # ------------------------------------------------------------------ queries
    @property
    def primary(self) -> bool:
        return self._primary

    def lookup(self, lease_id: int) -> Lease | None:
        return self._leases.get(lease_id)

    def __contains__(self, lease_id: object) -> bool:
        return lease_id in self._leases

    def __len__(self) -> int:
        return len(self._leases)

    def ids(self) -> list[int]:
        """Every lease id, ascending."""
        return sorted(self._leases)

    def leases(self) -> list[Lease]:
        """All leases, soonest expiry first (ties by id)."""
        return sorted(self._leases.values(), key=lambda le: (le.expiry, le.id))

    def lease_of(self, key: bytes) -> int:
        """The lease the key is attached to, NO_LEASE if none."""
        return self._key_lease.get(key, NO_LEASE)

    # ------------------------------------------------------------------ replicated changes
    def _choose_id(self) -> tuple[int, int]:
        c = self._id_counter
        while True:
            c += 1
            cand = _splitmix64(self.id_seed * 0x100000001B3 + c) & _MASK63
            if cand != NO_LEASE and cand not in self._leases:
                return cand, c

    def next_id(self) -> int:
        """The id a grant with id 0 would get now (deterministic; does not consume it)."""
        return self._choose_id()[0]

    def grant(self, lease_id: int, ttl: int, now: float | None = None) -> Lease:
        """Create a lease (id 0 = choose one).  ``now`` sets the expiry on a primary."""
        if ttl > MAX_LEASE_TTL:
            raise LeaseTTLTooLargeError()
        if lease_id == NO_LEASE:
            lease_id, self._id_counter = self._choose_id()
        elif lease_id in self._leases:
            raise LeaseExistsError()
        lease = Lease(lease_id, max(ttl, self.min_ttl))
        self._leases[lease_id] = lease
        if self._primary:
            t = self._now(now)
            lease.expiry = t + lease.ttl
            self._register(lease_id, lease.expiry)
        return lease

    def revoke(self, lease_id: int) -> list[bytes]:
        """Remove a lease; returns its keys sorted (the applier deletes them in one txn)."""
        lease = self._leases.pop(lease_id, None)
        if lease is None:
            raise LeaseNotFoundError()
        self._sched.pop(lease_id, None)
        keys = sorted(lease.keys)
        for k in keys:
            if self._key_lease.get(k) == lease_id:
                del self._key_lease[k]
        return keys

    def attach(self, lease_id: int, keys: Iterable[bytes]) -> None:
        """Attach keys to a lease, moving each from the lease it had."""
        lease = self._leases.get(lease_id)
        if lease is None:
            raise LeaseNotFoundError()
        for k in keys:
            old = self._key_lease.get(k, NO_LEASE)
            if old == lease_id:
                continue
            if old != NO_LEASE:
                old_lease = self._leases.get(old)
                if old_lease is not None:
                    old_lease.keys.discard(k)
            lease.keys.add(k)
            self._key_lease[k] = lease_id

    def detach(self, lease_id: int, keys: Iterable[bytes]) -> None:
        """Detach keys from a lease (keys not attached to it are ignored)."""
        lease = self._leases.get(lease_id)
        if lease is None:
            raise LeaseNotFoundError()
        for k in keys:
            if self._key_lease.get(k) == lease_id:
                del self._key_lease[k]
                lease.keys.discard(k)

    def set_key_lease(self, key: bytes, lease_id: int) -> None:
        """Make ``key`` attached to ``lease_id`` only (NO_LEASE = attached to none)."""
        old = self._key_lease.get(key, NO_LEASE)
        if old == lease_id:
            return
        if lease_id == NO_LEASE:
            old_lease = self._leases.get(old)
            if old_lease is not None:
                old_lease.keys.discard(key)
            del self._key_lease[key]
        else:
            self.attach(lease_id, (key,))

    # ------------------------------------------------------------------ leader-local
    def _now(self, now: float | None) -> float:
        if now is not None:
            self._last_now = now
        return self._last_now

    def _register(self, lease_id: int, t: float) -> None:
        self._sched[lease_id] = t
        heapq.heappush(self._heap, (t, lease_id))

    def renew(self, lease_id: int, now: float) -> int:
        """Keep-alive: restart the lease's TTL; returns the granted TTL."""
        self._now(now)
        if not self._primary:
            raise NotPrimaryError()
        lease = self._leases.get(lease_id)
        if lease is None:
            raise LeaseNotFoundError()
        if lease.expiry <= now:
            raise LeaseExpiredError()
        lease.expiry = now + lease.ttl
        self._register(lease_id, lease.expiry)
        return lease.ttl

    def time_to_live(self, lease_id: int, now: float) -> TimeToLive:
        """Remaining TTL (primary only), granted TTL and attached keys (sorted)."""
        self._now(now)
        lease = self._leases.get(lease_id)
        if lease is None:
            raise LeaseNotFoundError()
        if not self._primary:
            raise NotPrimaryError()
        remaining = lease.ttl if math.isinf(lease.expiry) else int(lease.expiry - now)
        return TimeToLive(lease_id, remaining, lease.ttl, sorted(lease.keys))

    def expired(self, now: float, limit: int = 0) -> list[int]:
        """Ids of leases whose expiry <= now, soonest first (primary only, else []).

        A returned lease is rescheduled ``expired_retry_interval`` later, so it is reported
        again only if its revoke has not been applied by then.
        """
        self._now(now)
        if not self._primary:
            return []
        out: list[int] = []
        heap = self._heap
        while heap:
            t, lid = heap[0]
            if self._sched.get(lid) != t or lid not in self._leases:
                heapq.heappop(heap)
                continue
            if now < t:
                break
            heapq.heappop(heap)
            self._register(lid, now + self.expired_retry_interval)
            if self._leases[lid].expiry <= now:
                out.append(lid)
                if limit and len(out) >= limit:
                    break
        return out

    def promote(self, now: float, extend: float = 0.0) -> None:
        """Become primary: every lease expires ``extend + ttl`` from now (pile-ups spread)."""
        self._now(now)
        self._primary = True
        self._heap = []
        self._sched = {}
        for lease in self._leases.values():
            lease.expiry = now + extend + lease.ttl
            self._register(lease.id, lease.expiry)
        if len(self._leases) < self.revoke_rate:
            return
        leases = self.leases()
        base = leases[0].remaining(now)
        next_window = base + 1.0
        expires = 0
        target = (3 * self.revoke_rate) // 4
        for lease in leases:
            remaining = lease.remaining(now)
            if remaining > next_window:
                base = remaining
                next_window = base + 1.0
                expires = 1
                continue
            expires += 1
            if expires <= target:
                continue
            delay = expires / target - (remaining - base)
            next_window = base + delay
            lease.expiry = now + delay + extend + lease.ttl
            self._register(lease.id, lease.expiry)

    def demote(self) -> None:
        """Stop being primary: every lease lives forever, the expiry queue is dropped."""
        self._primary = False
        for lease in self._leases.values():
            lease.expiry = math.inf
        self._heap = []
        self._sched = {}

    # ------------------------------------------------------------------ snapshot
    def snapshot(self) -> bytes:
        """The replicated state: leases (id, ttl, keys) and the id counter."""
        leases = [
            [le.id, le.ttl, sorted(le.keys)]
            for le in sorted(self._leases.values(), key=lambda x: x.id)
        ]
        out = msgpack.packb([SNAPSHOT_VERSION, self._id_counter, leases], use_bin_type=True)
        assert isinstance(out, bytes)
        return out

    @classmethod
    def restore(
        cls,
        data: bytes,
        *,
        min_ttl: int = DEFAULT_MIN_TTL,
        id_seed: int = 0,
        expired_retry_interval: float = DEFAULT_EXPIRED_RETRY_INTERVAL,
        revoke_rate: int = LEASE_REVOKE_RATE,
    ) -> Lessor:
        """A non-primary lessor with the snapshot's leases."""
        version, counter, leases = msgpack.unpackb(data, raw=False, use_list=True)
        if version != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported lease snapshot version {version}")
        le = cls(
            min_ttl=min_ttl,
            id_seed=id_seed,
            expired_retry_interval=expired_retry_interval,
            revoke_rate=revoke_rate,
        )
        le._id_counter = counter
        for lid, ttl, keys in leases:
            lease = Lease(lid, ttl, set(keys))
            le._leases[lid] = lease
            for k in keys:
                le._key_lease[k] = lid
        return le
