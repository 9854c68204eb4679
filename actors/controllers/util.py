"""Pure helpers shared by the controllers (upstream's pkg/controller/controller_utils.go,
apimachinery's meta/v1 helpers and podutil, re-done over plain dicts).

Objects are Kubernetes-shaped dicts. Timestamps inside objects are RFC 3339 strings
(`actors.common.clock.rfc3339`); here they are read as epoch floats. Nothing in this
module does I/O or reads the clock: `now` and `rng` always come in as arguments.
"""

from __future__ import annotations

import copy
import json
import math
import random
from typing import Any, Callable, Iterable, Mapping

from actors.api import meta as _meta
from actors.api.selectors import label_selector_matches
from actors.common.clock import parse_time, rfc3339

Obj = dict[str, Any]

# ---- metadata accessors -----------------------------------------------------------------


def meta(o: Mapping[str, Any]) -> dict[str, Any]:
    m = o.get("metadata")
    return m if isinstance(m, dict) else {}


def name(o: Mapping[str, Any]) -> str:
    return str(meta(o).get("name") or "")


def namespace(o: Mapping[str, Any]) -> str:
    return str(meta(o).get("namespace") or "")


def uid(o: Mapping[str, Any]) -> str:
    return str(meta(o).get("uid") or "")


def labels(o: Mapping[str, Any]) -> dict[str, str]:
    v = meta(o).get("labels")
    return dict(v) if isinstance(v, dict) else {}


def annotations_of(o: Mapping[str, Any]) -> dict[str, str]:
    v = meta(o).get("annotations")
    return dict(v) if isinstance(v, dict) else {}


def finalizers(o: Mapping[str, Any]) -> list[str]:
    v = meta(o).get("finalizers")
    return list(v) if isinstance(v, list) else []


def resource_version(o: Mapping[str, Any]) -> str:
    return str(meta(o).get("resourceVersion") or "")


def generation(o: Mapping[str, Any]) -> int:
    return int(meta(o).get("generation") or 0)


def deletion_timestamp(o: Mapping[str, Any]) -> str | None:
    v = meta(o).get("deletionTimestamp")
    return str(v) if v else None


def ts(s: Any) -> float | None:
    """An RFC 3339 timestamp field as epoch seconds (None when unset or unparsable)."""
    if not s:
        return None
    try:
        return parse_time(str(s))
    except ValueError:
        return None


def creation_time(o: Mapping[str, Any]) -> float | None:
    return ts(meta(o).get("creationTimestamp"))


def obj_key(o: Mapping[str, Any]) -> str:
    """client-go's MetaNamespaceKeyFunc: "namespace/name" (just "name" if cluster-scoped)."""
    ns = namespace(o)
    return f"{ns}/{name(o)}" if ns else name(o)


def split_key(key: str) -> tuple[str, str]:
    if "/" in key:
        ns, _, n = key.partition("/")
        return ns, n
    return "", key


def deepcopy(o: Obj) -> Obj:
    return copy.deepcopy(o)


def object_ref(o: Mapping[str, Any]) -> dict[str, str]:
    """A core/v1 ObjectReference (an Event's involvedObject)."""
    ref = {"kind": str(o.get("kind", "")), "apiVersion": str(o.get("apiVersion", "")),
           "name": name(o), "uid": uid(o)}
    if namespace(o):
        ref["namespace"] = namespace(o)
    if resource_version(o):
        ref["resourceVersion"] = resource_version(o)
    return ref


# ---- ownerReferences ----------------------------------------------------------------------


def owner_references(o: Mapping[str, Any]) -> list[dict[str, Any]]:
    v = meta(o).get("ownerReferences")
    return [r for r in v if isinstance(r, dict)] if isinstance(v, list) else []


def controller_ref(o: Mapping[str, Any]) -> dict[str, Any] | None:
    """metav1.GetControllerOf: the ownerReference with controller=true, if any."""
    for r in owner_references(o):
        if r.get("controller"):
            return r
    return None


def new_controller_ref(owner: Mapping[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """metav1.NewControllerRef: controller=true, blockOwnerDeletion=true."""
    return {"apiVersion": api_version, "kind": kind, "name": name(owner), "uid": uid(owner),
            "controller": True, "blockOwnerDeletion": True}


def is_controlled_by(o: Mapping[str, Any], owner: Mapping[str, Any]) -> bool:
    ref = controller_ref(o)
    return ref is not None and ref.get("uid") == uid(owner)


# ---- pods (podutil) -----------------------------------------------------------------------


def pod_phase(p: Mapping[str, Any]) -> str:
    return str((p.get("status") or {}).get("phase") or "")


def is_pod_active(p: Mapping[str, Any]) -> bool:
    """controller.IsPodActive: not Succeeded/Failed and not being deleted."""
    return pod_phase(p) not in ("Succeeded", "Failed") and deletion_timestamp(p) is None


def get_condition(status: Mapping[str, Any] | None, ctype: str) -> dict[str, Any] | None:
    for c in (status or {}).get("conditions") or []:
        if isinstance(c, dict) and c.get("type") == ctype:
            return c
    return None


def is_pod_ready(p: Mapping[str, Any]) -> bool:
    c = get_condition(p.get("status"), "Ready")
    return c is not None and c.get("status") == "True"


def pod_ready_time(p: Mapping[str, Any]) -> float | None:
    """lastTransitionTime of a True Ready condition (None = Go's zero time)."""
    c = get_condition(p.get("status"), "Ready")
    if c is None or c.get("status") != "True":
        return None
    return ts(c.get("lastTransitionTime"))


def is_pod_available(p: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """podutil.IsPodAvailable: ready for at least minReadySeconds (strictly before now)."""
    if not is_pod_ready(p):
        return False
    if min_ready_seconds == 0:
        return True
    t = pod_ready_time(p)
    return t is not None and t + min_ready_seconds < now


def max_container_restarts(p: Mapping[str, Any]) -> tuple[int, int]:
    """(regular, restartable-init "sidecar") max restart counts, as upstream."""
    st = p.get("status") or {}
    regular = max([int(c.get("restartCount") or 0) for c in st.get("containerStatuses") or []],
                  default=0)
    sidecars = {c.get("name") for c in (p.get("spec") or {}).get("initContainers") or []
                if c.get("restartPolicy") == "Always"}
    sidecar = max([int(c.get("restartCount") or 0) for c in st.get("initContainerStatuses") or []
                   if c.get("name") in sidecars], default=0)
    return regular, sidecar


# ---- names and hashes ---------------------------------------------------------------------

# k8s.io/apimachinery/pkg/util/rand: no vowels, no confusable digits (0, 1, 3).
ALPHANUMS = _meta.NAME_SUFFIX_ALPHABET  # "bcdfghjklmnpqrstvwxz2456789"


def generate_name(base: str, rng: random.Random) -> str:
    """The apiserver's SimpleNameGenerator: base truncated to 58 chars + 5 random chars."""
    return _meta.generate_name(base, rng)


def safe_encode_string(s: str) -> str:
    """rand.SafeEncodeString: map every character onto ALPHANUMS."""
    return "".join(ALPHANUMS[ord(ch) % len(ALPHANUMS)] for ch in s)


def fnv32a(data: bytes, h: int = 0x811C9DC5) -> int:
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def canonical_json(o: Any) -> bytes:
    return json.dumps(o, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def compute_hash(template: Mapping[str, Any], collision_count: int | None) -> str:
    """controller.ComputeHash: FNV-32a of the template (upstream hashes Go's spew dump of the
    struct; here its canonical JSON) then, if set, collisionCount as 8 little-endian bytes
    (uint32 + 4 zero bytes); the decimal Sum32 safe-encoded."""
    h = fnv32a(canonical_json(template))
    if collision_count is not None:
        h = fnv32a((collision_count & 0xFFFFFFFF).to_bytes(4, "little") + bytes(4), h)
    return safe_encode_string(str(h))


def prune_empty(o: Any) -> Any:
    """Drop None, {} and [] values recursively (Semantic.DeepEqual treats nil == empty)."""
    if isinstance(o, dict):
        out = {}
        for k, v in o.items():
            pv = prune_empty(v)
            if pv is None or pv == {} or pv == []:
                continue
            out[k] = pv
        return out
    if isinstance(o, list):
        return [prune_empty(v) for v in o]
    return o


def semantic_equal(a: Any, b: Any) -> bool:
    return bool(prune_empty(a) == prune_empty(b))


# ---- selectors ------------------------------------------------------------------------------


def selector_matches(selector: Mapping[str, Any] | None, lbls: Mapping[str, str]) -> bool:
    """metav1.LabelSelectorAsSelector(selector).Matches(labels): a nil selector matches
    nothing, an empty one everything."""
    return label_selector_matches(selector, lbls)


def selector_is_empty(selector: Mapping[str, Any] | None) -> bool:
    return selector is not None and not selector.get("matchLabels") and \
        not selector.get("matchExpressions")


# ---- conditions --------------------------------------------------------------------------------


def set_condition(status: dict[str, Any], cond: dict[str, Any]) -> None:
    """SetDeploymentCondition/SetCondition: no-op when status and reason are unchanged; keep
    lastTransitionTime when only the reason changes; the new condition goes last."""
    cur = get_condition(status, str(cond["type"]))
    if cur is not None and cur.get("status") == cond.get("status") \
            and cur.get("reason") == cond.get("reason"):
        return
    cond = dict(cond)
    if cur is not None and cur.get("status") == cond.get("status"):
        cond["lastTransitionTime"] = cur.get("lastTransitionTime")
    conds = [c for c in status.get("conditions") or [] if c.get("type") != cond["type"]]
    conds.append(cond)
    status["conditions"] = conds


def remove_condition(status: dict[str, Any], ctype: str) -> None:
    conds = [c for c in status.get("conditions") or [] if c.get("type") != ctype]
    if conds:
        status["conditions"] = conds
    else:
        status.pop("conditions", None)


# ---- ownership: ControllerRefManager.ClaimObject --------------------------------------------


def adopt_patch(o: Mapping[str, Any], ref: dict[str, Any]) -> list[dict[str, Any]]:
    """JSON patch adding `ref` to the ownerReferences, guarded by uid and the current refs."""
    ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": uid(o)}]
    refs = meta(o).get("ownerReferences")
    if isinstance(refs, list):
        ops.append({"op": "test", "path": "/metadata/ownerReferences", "value": refs})
        ops.append({"op": "add", "path": "/metadata/ownerReferences/-", "value": ref})
    else:
        ops.append({"op": "add", "path": "/metadata/ownerReferences", "value": [ref]})
    return ops


def remove_owner_patch(o: Mapping[str, Any], owner_uids: Iterable[str]) -> list[dict[str, Any]]:
    """JSON patch removing the ownerReferences with the given uids (each guarded by a test)."""
    drop = set(owner_uids)
    ops: list[dict[str, Any]] = [{"op": "test", "path": "/metadata/uid", "value": uid(o)}]
    refs = owner_references(o)
    # remove from the highest index down so earlier indexes stay valid
    for i in reversed(range(len(refs))):
        if refs[i].get("uid") in drop:
            ops.append({"op": "test", "path": f"/metadata/ownerReferences/{i}/uid",
                        "value": refs[i]["uid"]})
            ops.append({"op": "remove", "path": f"/metadata/ownerReferences/{i}"})
    return ops


ClaimDecision = str  # "claimed" | "adopt" | "release" | "ignore"


def claim_decision(controller: Mapping[str, Any], o: Mapping[str, Any],
                   match: Callable[[Mapping[str, Any]], bool]) -> ClaimDecision:
    """BaseControllerRefManager.ClaimObject as a pure decision."""
    ref = controller_ref(o)
    being_deleted = deletion_timestamp(controller) is not None
    if ref is not None:
        if ref.get("uid") != uid(controller):
            return "ignore"  # owned by someone else
        if match(o):
            return "claimed"
        return "ignore" if being_deleted else "release"
    # an orphan
    if being_deleted or not match(o):
        return "ignore"
    if deletion_timestamp(o) is not None:
        return "ignore"
    if namespace(controller) and namespace(controller) != namespace(o):
        return "ignore"
    return "adopt"


def with_owner(o: Obj, ref: dict[str, Any]) -> Obj:
    c = deepcopy(o)
    c.setdefault("metadata", {}).setdefault("ownerReferences", []).append(ref)
    return c


# ---- misc ---------------------------------------------------------------------------------------


def now_str(now: float) -> str:
    return rfc3339(now)


def scaled(seconds: float, time_scale: float) -> float:
    """An upstream duration (seconds, as configured upstream: a monitor period, a grace
    period, a pod's tolerationSeconds, 1 / an eviction rate) in real seconds of a
    cluster compressed by ``time_scale`` — the one conversion every controller uses."""
    return float(seconds) * float(time_scale)


def log2_rank(d_seconds: float) -> int:
    """int64(math.Log2(float64(d))) with d a Go Duration (nanoseconds); -1 when d <= 0."""
    ns = int(round(d_seconds * 1e9))
    if ns <= 0:
        return -1
    return int(math.log2(ns))


def int_or_percent(v: Any, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: "25%" of total, rounding up or down."""
    if v is None:
        return 0
    if isinstance(v, bool):
        raise ValueError(f"invalid value for IntOrString: {v!r}")
    if isinstance(v, int):
        return v
    s = str(v)
    if s.endswith("%"):
        pct = int(s[:-1])
        if round_up:
            return -((-pct * total) // 100)
        return (pct * total) // 100
    raise ValueError(f"invalid value for IntOrString: invalid type: string is not a percentage")


# ---- expectations (controller.UIDTrackingControllerExpectations) ------------------------------

EXPECTATIONS_TIMEOUT = 5 * 60.0  # controller.ExpectationsTimeout


class _Expectation:
    __slots__ = ("add", "dele", "timestamp")

    def __init__(self, add: int, dele: int, timestamp: float) -> None:
        self.add = add
        self.dele = dele
        self.timestamp = timestamp

    def fulfilled(self) -> bool:
        return self.add <= 0 and self.dele <= 0


class Expectations:
    """What a controller is waiting to observe after its own creates/deletes, so that
    a stale cache does not make it act twice. Deletions are tracked by pod key, so
    only deletes of the pods it chose count (upstream's UID-tracking variant)."""

    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.timeout = timeout
        self._exp: dict[str, _Expectation] = {}
        self._uids: dict[str, set[str]] = {}

    def satisfied(self, key: str, now: float) -> bool:
        e = self._exp.get(key)
        if e is None:
            return True  # a new controller, or expectations deleted
        if e.fulfilled():
            return True
        return now - e.timestamp > self.timeout  # expired: the events were lost

    def expect_creations(self, key: str, n: int, now: float) -> None:
        self._exp[key] = _Expectation(n, 0, now)

    def expect_deletions(self, key: str, pod_keys: list[str], now: float) -> None:
        self._uids[key] = set(pod_keys)
        self._exp[key] = _Expectation(0, len(pod_keys), now)

    def creation_observed(self, key: str) -> None:
        e = self._exp.get(key)
        if e is not None:
            e.add -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        uids = self._uids.get(key)
        if uids is not None and pod_key in uids:
            uids.discard(pod_key)
            e = self._exp.get(key)
            if e is not None:
                e.dele -= 1

    def delete(self, key: str) -> None:
        self._exp.pop(key, None)
        self._uids.pop(key, None)

    def get(self, key: str) -> tuple[int, int] | None:
        e = self._exp.get(key)
        return None if e is None else (e.add, e.dele)
