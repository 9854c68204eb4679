"""pods/<name>/log: the apiserver side of `kubectl logs` (options pure, one gRPC stream).

    opts = LogOptions.from_query(request.query, name)     # 400 / 422 as kube-apiserver
    stream = await pod_logs(registry, namespace, name, opts)  # every error raised here
    async for chunk in stream:                             # bytes (text/plain), in order
        ...
    await stream.aclose()                                  # the client went away

It is kube-apiserver's LogREST.Get, LogLocation and LocationStreamer, with the
kubelet's answers turned into the same statuses:

- options are decoded from the query as the parameter codec does (`tailLines=x`:
  400 `strconv.ParseInt: parsing "x": invalid syntax`; booleans are false only for
  "0", "f", "false"; `sinceTime` is RFC 3339, with Go's parse errors) and validated
  (422 `PodLogOptions "web" is invalid: tailLines: Invalid value: -1: must be greater
  than or equal to 0`);
- the pod (404 `pods "web" not found`), its container (400 `a container name must be
  specified for pod web, choose one of: [init a b]`, `container x is not valid for pod
  web`); a pod not scheduled yet has an empty log, as upstream (no location);
- its Node, whose `kubemu.io/kubelet-endpoint` annotation says where its kubelet (or
  its node pool) serves the kubelet API (node IPs are simulated); the request goes
  there over gRPC (one cached channel per endpoint and event loop);
- the kubelet's refusals come back as upstream's proxy makes them: its 400s as 400
  BadRequest with the kubelet's text (`container "web" in pod "p" is waiting to start:
  ContainerCreating`, `previous terminated container "web" in pod "p" not found`),
  its 404s as `the server could not find the requested resource ( pods/log p)`, an
  unreachable kubelet as a 500 `Get "https://10.0.0.3:10250/containerLogs/...": dial
  tcp 10.0.0.3:10250: connect: connection refused`.

The kubelet sends an empty first message once it has accepted the request, so
`pod_logs` returns (and the caller can answer 200) only when the log will come; a
failure later in a stream (the kubelet dies during `-f`) ends it quietly.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote, urlencode

import grpc

from actors.api import errors
from actors.api.errors import APIError, FieldError
from actors.common import grpcutil
from protos.kubeletpb import kubelet_pb2, kubelet_pb2_grpc

log = logging.getLogger("kubemu.apiserver.podlogs")

# the annotation the kubelet publishes on its Node (actors.kubelet.node_status)
KUBELET_ENDPOINT_ANNOTATION = "kubemu.io/kubelet-endpoint"
DEFAULT_KUBELET_PORT = 10250
ACCEPT_TIMEOUT = 30.0  # the kubelet accepts or refuses a request within this
READ_TIMEOUT = 300.0  # a whole log without follow
ZERO_TIME = -62135596800.0  # Go's zero time.Time (0001-01-01T00:00:00Z), in epoch seconds

__all__ = ["KUBELET_ENDPOINT_ANNOTATION", "KubeletConnections", "LogOptions", "LogStream",
           "parse_rfc3339", "pod_logs", "read_pod_logs", "validate_container"]


# ---- options ---------------------------------------------------------------------------

def _time_quote(s: str) -> str:
    """Go time's `quote` (its parse errors): non-ASCII and control bytes as \\xNN."""
    out = ['"']
    for ch in s:
        if ch < " " or ord(ch) >= 0x80:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            if ch in '"\\':
                out.append("\\")
            out.append(ch)
    out.append('"')
    return "".join(out)


_RFC3339 = "2006-01-02T15:04:05Z07:00"
_CHUNKS = (("", "2006"), ("-", "01"), ("-", "02"), ("T", "15"), (":", "04"), (":", "05"),
           ("", "Z07:00"))


def _getnum(s: str, fixed: bool) -> tuple[int, str] | None:
    if not s[:1].isdigit() or not s[:1].isascii():
        return None
    if not (s[1:2].isdigit() and s[1:2].isascii()):
        return None if fixed else (int(s[0]), s[1:])
    return int(s[:2]), s[2:]


def _days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = (y if y >= 0 else y - 399) // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _days_in(month: int, year: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


def parse_rfc3339(value: str) -> float:
    """Go's `time.Parse(time.RFC3339, value)` in epoch seconds; ValueError carries Go's
    message (`parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as
    "2006"`, `parsing time "...": month out of range`)."""

    def bad(layout_elem: str, value_elem: str) -> ValueError:
        return ValueError(f"parsing time {_time_quote(value)} as {_time_quote(_RFC3339)}: "
                          f"cannot parse {_time_quote(value_elem)} as "
                          f"{_time_quote(layout_elem)}")

    def out_of_range(what: str) -> ValueError:
        return ValueError(f"parsing time {_time_quote(value)}: {what} out of range")

    v = value
    year = month = day = hour = minute = sec = 0
    nanos = 0.0
    offset = 0
    for prefix, std in _CHUNKS:
        if prefix:
            if not v.startswith(prefix):
                raise bad(prefix, v)
            v = v[len(prefix):]
        hold = v
        if std == "2006":
            p = v[:4]
            if len(v) < 4 or not (p.isascii() and p.isdigit()):
                raise bad(std, hold)
            year, v = int(p), v[4:]
        elif std == "Z07:00":
            if v.startswith("Z"):
                v = v[1:]
                continue
            if len(v) < 6 or v[3] != ":":
                raise bad(std, hold)
            sign, hh, mm, v = v[0], v[1:3], v[4:6], v[6:]
            h = _getnum(hh, True)
            m = _getnum(mm, True) if h is not None else None
            hr, mn = (h[0] if h else 0), (m[0] if m else 0)
            if mn > 60:
                raise out_of_range("time zone offset minute")
            if hr > 24:
                raise out_of_range("time zone offset hour")
            if h is None or m is None or sign not in ("+", "-"):
                raise bad(std, hold)
            offset = (hr * 60 + mn) * 60 * (1 if sign == "+" else -1)
        else:
            got = _getnum(v, std != "15")
            num = got[0] if got is not None else 0
            if std == "01" and got is not None and not 1 <= num <= 12:
                raise out_of_range("month")
            if std == "15" and num >= 24:
                raise out_of_range("hour")
            if std == "04" and num >= 60:
                raise out_of_range("minute")
            if std == "05" and got is not None and num >= 60:
                raise out_of_range("second")
            if got is None:
                raise bad(std, hold)
            v = got[1]
            if std == "01":
                month = num
            elif std == "02":
                day = num
            elif std == "15":
                hour = num
            elif std == "04":
                minute = num
            else:
                sec = num
                if len(v) >= 2 and v[0] in ".," and v[1].isascii() and v[1].isdigit():
                    n = 1
                    while n < len(v) and v[n].isascii() and v[n].isdigit():
                        n += 1
                    nanos = float("0." + v[1:n][:9])
                    v = v[n:]
    if v:
        raise ValueError(f"parsing time {_time_quote(value)}: extra text: {_time_quote(v)}")
    if day < 1 or day > _days_in(month, year):
        raise out_of_range("day")
    days = _days_from_civil(year, month, day)
    return days * 86400 + hour * 3600 + minute * 60 + sec + nanos - offset


def _parse_int(s: str) -> int:
    """Go's strconv.ParseInt(s, 10, 64), errors as the apiserver returns them (400)."""
    if not re.fullmatch(r"[+-]?[0-9]+", s):
        raise errors.bad_request(f"strconv.ParseInt: parsing {errors.go_quote(s)}: "
                                 "invalid syntax")
    n = int(s)
    if not -(1 << 63) <= n < (1 << 63):
        raise errors.bad_request(f"strconv.ParseInt: parsing {errors.go_quote(s)}: "
                                 "value out of range")
    return n


def _parse_bool(s: str) -> bool:
    """runtime.Convert_Slice_string_To_bool: false only for "0", "f", "false"."""
    return not (s == "0" or s.lower() in ("f", "false"))


def _first(query: Mapping[str, Any], key: str) -> str | None:
    if key not in query:
        return None
    getall = getattr(query, "getall", None)
    v = getall(key)[0] if getall is not None else query[key]
    if isinstance(v, (list, tuple)):
        v = v[0] if v else ""
    return "" if v is None else str(v)


def _bool(query: Mapping[str, Any], key: str) -> bool:
    s = _first(query, key)
    return False if s is None else _parse_bool(s)


def _int(query: Mapping[str, Any], key: str) -> int | None:
    s = _first(query, key)
    return None if s is None else _parse_int(s)


def format_rfc3339(t: float) -> str:
    """`time.Format(time.RFC3339)` in UTC (whole seconds, as LogLocation sends it)."""
    sec = math.floor(t)
    days, rem = divmod(sec, 86400)
    # civil from days (Howard Hinnant's algorithm)
    z = days + 719468
    era = (z if z >= 0 else z - 146096) // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + (3 if mp < 10 else -9)
    y += m <= 2
    return (f"{y:04d}-{m:02d}-{d:02d}T{rem // 3600:02d}:{rem % 3600 // 60:02d}:"
            f"{rem % 60:02d}Z")


@dataclass(frozen=True)
class LogOptions:
    """v1.PodLogOptions (what `kubectl logs` sends as the query of pods/<name>/log)."""
    container: str = ""
    previous: bool = False
    tail_lines: int | None = None
    timestamps: bool = False
    since_seconds: int | None = None
    since_time: float | None = None  # epoch seconds; ZERO_TIME for `sinceTime=`
    limit_bytes: int | None = None
    follow: bool = False
    insecure_skip_tls_verify_backend: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, Any], name: str = "") -> "LogOptions":
        """Decode (400 on a value the parameter codec rejects, first one wins, in the
        struct's field order) and validate (422 naming the pod `name`)."""
        container = _first(query, "container") or ""
        follow = _bool(query, "follow")
        previous = _bool(query, "previous")
        since_seconds = _int(query, "sinceSeconds")
        since_time = None
        s = _first(query, "sinceTime")
        if s is not None:
            if s in ("", "null"):
                since_time = ZERO_TIME
            else:
                try:
                    since_time = parse_rfc3339(s)
                except ValueError as e:
                    raise errors.bad_request(str(e)) from None
        timestamps = _bool(query, "timestamps")
        tail = _int(query, "tailLines")
        limit = _int(query, "limitBytes")
        skip_tls = _bool(query, "insecureSkipTLSVerifyBackend")
        opts = cls(container=container, previous=previous, tail_lines=tail,
                   timestamps=timestamps, since_seconds=since_seconds, since_time=since_time,
                   limit_bytes=limit, follow=follow,
                   insecure_skip_tls_verify_backend=skip_tls)
        opts.validate(name)
        return opts

    def validate(self, name: str = "") -> None:
        """ValidatePodLogOptions: 422 `PodLogOptions "<name>" is invalid: ...`."""
        errs: list[FieldError] = []
        if self.tail_lines is not None and self.tail_lines < 0:
            errs.append(FieldError.invalid("tailLines", self.tail_lines,
                                           "must be greater than or equal to 0"))
        if self.limit_bytes is not None and self.limit_bytes < 1:
            errs.append(FieldError.invalid("limitBytes", self.limit_bytes,
                                           "must be greater than 0"))
        if self.since_seconds is not None and self.since_time is not None:
            errs.append(FieldError.forbidden(
                "", "at most one of `sinceTime` or `sinceSeconds` may be specified"))
        elif self.since_seconds is not None and self.since_seconds < 1:
            errs.append(FieldError.invalid("sinceSeconds", self.since_seconds,
                                           "must be greater than 0"))
        if errs:
            raise errors.invalid("PodLogOptions", name, errs)

    def params(self) -> list[tuple[str, str]]:
        """The kubelet URL's query, as LogLocation builds it (sorted, as url.Values)."""
        p: list[tuple[str, str]] = []
        if self.follow:
            p.append(("follow", "true"))
        if self.previous:
            p.append(("previous", "true"))
        if self.timestamps:
            p.append(("timestamps", "true"))
        if self.since_seconds is not None:
            p.append(("sinceSeconds", str(self.since_seconds)))
        if self.since_time is not None:
            p.append(("sinceTime", format_rfc3339(self.since_time)))
        if self.tail_lines is not None:
            p.append(("tailLines", str(self.tail_lines)))
        if self.limit_bytes is not None:
            p.append(("limitBytes", str(self.limit_bytes)))
        return sorted(p)


# ---- the pod's container and its kubelet -----------------------------------------------

def _container_names(spec: Mapping[str, Any]) -> list[str]:
    """podutil.VisitContainers order: init containers, containers, ephemeral ones."""
    return [str(c.get("name", "")) for key in ("initContainers", "containers",
                                               "ephemeralContainers")
            for c in spec.get(key) or [] if isinstance(c, Mapping)]


def validate_container(pod: Mapping[str, Any], container: str) -> str:
    """LogLocation's validateContainer: the container to read (400 otherwise)."""
    name = str((pod.get("metadata") or {}).get("name", ""))
    spec = pod.get("spec") or {}
    if not container:
        regular = [c for c in spec.get("containers") or [] if isinstance(c, Mapping)]
        if len(regular) == 1:
            return str(regular[0].get("name", ""))
        if not regular:
            raise errors.bad_request(f"a container name must be specified for pod {name}")
        raise errors.bad_request(f"a container name must be specified for pod {name}, "
                                 f"choose one of: [{' '.join(_container_names(spec))}]")
    if container not in _container_names(spec):
        raise errors.bad_request(f"container {container} is not valid for pod {name}")
    return container


def _node_address(node: Mapping[str, Any]) -> str:
    addrs = (node.get("status") or {}).get("addresses") or []
    for kind in ("InternalIP", "ExternalIP", "Hostname"):
        for a in addrs:
            if isinstance(a, Mapping) and a.get("type") == kind and a.get("address"):
                return str(a["address"])
    return str((node.get("metadata") or {}).get("name", ""))


def _node_port(node: Mapping[str, Any]) -> int:
    ep = ((node.get("status") or {}).get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}
    try:
        port = int(ep.get("Port") or 0)
    except (TypeError, ValueError):
        port = 0
    return port or DEFAULT_KUBELET_PORT


def _internal(msg: str) -> APIError:
    """A non-Status error, as the apiserver reports one: 500, no reason."""
    return APIError({"message": msg, "code": 500})


def _call_error(e: grpc.aio.AioRpcError, url: str, hostport: str, name: str) -> APIError:
    code, details = e.code(), e.details() or ""
    if code == grpc.StatusCode.FAILED_PRECONDITION:
        return errors.bad_request(details)
    if code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
        http, reason, msg = (404, "NotFound", "the server could not find the requested "
                             "resource") if code == grpc.StatusCode.NOT_FOUND else \
            (422, "Invalid", "the server rejected our request due to an error in our request")
        return APIError({"message": f"{msg} ( pods/log {name})", "reason": reason,
                         "details": {"name": name, "kind": "pods/log"}, "code": http})
    if code == grpc.StatusCode.UNAVAILABLE:
        why = "i/o timeout" if details.startswith("kubemu fault:") else \
            "connect: connection refused"
        return _internal(f'Get "{url}": dial tcp {hostport}: {why}')
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return _internal(f'Get "{url}": context deadline exceeded')
    return errors.internal_error(details or code.name)


class KubeletConnections:
    """Channels to kubelet endpoints: one per endpoint and event loop (gRPC aio channels
    belong to the loop that made them), the least recently used closed past `max_size`."""

    def __init__(self, max_size: int = 256) -> None:
        self.max_size = max_size
        self._by_loop: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, OrderedDict[str, tuple[grpc.aio.Channel, Any]]] = \
            weakref.WeakKeyDictionary()

    def stub(self, endpoint: str) -> Any:
        loop = asyncio.get_running_loop()
        chans = self._by_loop.get(loop)
        if chans is None:
            chans = self._by_loop[loop] = OrderedDict()
        got = chans.get(endpoint)
        if got is not None:
            chans.move_to_end(endpoint)
            return got[1]
        ch = grpcutil.aio_channel(endpoint)
        stub = kubelet_pb2_grpc.KubeletStub(ch)  # type: ignore[no-untyped-call]
        chans[endpoint] = (ch, stub)
        while len(chans) > self.max_size:
            _, (old, _) = chans.popitem(last=False)
            loop.create_task(old.close())
        return stub

    async def close(self) -> None:
        """Close this loop's channels."""
        chans = self._by_loop.pop(asyncio.get_running_loop(), None)
        for ch, _ in (chans or {}).values():
            await ch.close()


DEFAULT_CONNECTIONS = KubeletConnections()


class LogStream:
    """The log's bytes as they come (an async iterator); `aclose()` cancels the call."""

    def __init__(self, call: Any = None, first: bytes = b"") -> None:
        self._call = call
        self._pending = first

    @classmethod
    def empty(cls) -> "LogStream":
        return cls()

    def __aiter__(self) -> "LogStream":
        return self

    async def __anext__(self) -> bytes:
        if self._pending:
            data, self._pending = self._pending, b""
            return data
        while self._call is not None:
            try:
                msg = await self._call.read()
            except grpc.aio.AioRpcError as e:
                if e.code() != grpc.StatusCode.CANCELLED:
                    log.info("pod log stream ended: %s: %s", e.code().name, e.details())
                self._call = None
                break
            except asyncio.CancelledError:
                self._call.cancel()
                self._call = None
                raise
            if msg is grpc.aio.EOF:
                self._call = None
                break
            if msg.data:
                return bytes(msg.data)
        raise StopAsyncIteration

    async def aclose(self) -> None:
        if self._call is not None:
            self._call.cancel()
            self._call = None

    async def read_all(self) -> bytes:
        out = bytearray()
        async for chunk in self:
            out += chunk
        return bytes(out)


async def pod_logs(registry: Any, namespace: str, name: str, opts: LogOptions, *,
                   connections: KubeletConnections | None = None,
                   accept_timeout: float = ACCEPT_TIMEOUT,
                   read_timeout: float = READ_TIMEOUT) -> LogStream:
    """The log of a pod's container, as GET pods/<name>/log serves it.

    Raises APIError before any byte: 422 (options), 404 (pod, node), 400 (container
    choice; the kubelet's refusals), 404 `the server could not find the requested
    resource ( pods/log <name>)` (the kubelet does not know the pod), 500 (kubelet
    unreachable). `registry` needs `async get(resource, name, namespace=None)`."""
    opts.validate(name)
    pod = await registry.get("pods", name, namespace)
    container = validate_container(pod, opts.container)
    node_name = str((pod.get("spec") or {}).get("nodeName") or "")
    if not node_name:
        return LogStream.empty()  # not scheduled: no location, an empty log
    node = await registry.get("nodes", node_name)
    ns = str((pod.get("metadata") or {}).get("namespace") or namespace or "default")
    hostport = f"{_node_address(node)}:{_node_port(node)}"
    query = urlencode(opts.params(), quote_via=quote, safe="")
    url = (f"https://{hostport}/containerLogs/{ns}/{name}/{container}"
           + (f"?{query}" if query else ""))
    endpoint = str(((node.get("metadata") or {}).get("annotations") or {}).get(
        KUBELET_ENDPOINT_ANNOTATION) or "")
    if not endpoint:
        raise _internal(f'Get "{url}": dial tcp {hostport}: connect: connection refused')
    req = kubelet_pb2.LogsRequest(node=node_name, namespace=ns, pod=name, container=container,
                                  previous=opts.previous, timestamps=opts.timestamps,
                                  follow=opts.follow)
    if opts.tail_lines is not None:
        req.tail_lines = opts.tail_lines
    if opts.since_seconds is not None:
        req.since_seconds = opts.since_seconds
    if opts.since_time is not None:
        req.since_time = format_rfc3339(opts.since_time)
    if opts.limit_bytes is not None:
        req.limit_bytes = opts.limit_bytes
    stub = (connections or DEFAULT_CONNECTIONS).stub(endpoint)
    call = stub.Logs(req, timeout=None if opts.follow else read_timeout)
    try:
        first = await asyncio.wait_for(call.read(), accept_timeout)
    except grpc.aio.AioRpcError as e:
        raise _call_error(e, url, hostport, name) from None
    except asyncio.TimeoutError:
        call.cancel()
        raise _internal(f'Get "{url}": net/http: timeout awaiting response headers') from None
    except BaseException:
        call.cancel()
        raise
    if first is grpc.aio.EOF:
        return LogStream.empty()
    return LogStream(call, bytes(first.data))


async def read_pod_logs(registry: Any, namespace: str, name: str, opts: LogOptions,
                        **kw: Any) -> bytes:
    """The whole log (without follow): `pod_logs` read to the end."""
    stream = await pod_logs(registry, namespace, name, opts, **kw)
    return await stream.read_all()
