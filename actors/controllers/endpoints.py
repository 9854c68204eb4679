"""The Endpoints controller (upstream pkg/controller/endpoint), pure.

One reconcile of ``namespace/name`` (syncService):

1. the Service is gone: delete the Endpoints of that name (404 tolerated);
2. the Service has no selector: leave its Endpoints alone (user-managed);
3. otherwise, for every pod of the namespace matched by the selector that should be in
   endpoints (`should_pod_be_in_endpoints`: it has an IP, is not terminal, and is not
   terminating unless ``publishNotReadyAddresses``), and for every service port whose
   target resolves in the pod (`find_port`: a numeric targetPort, or a named
   containerPort of the same protocol), add the pod's address to ``addresses`` when it
   is Ready (or the service publishes not-ready addresses), else to
   ``notReadyAddresses``; a headless service without ports gets the addresses with no
   ports. The subsets are then repacked: one subset per distinct port set, addresses
   deduplicated and sorted (`repack_subsets`, upstream's endpoints.RepackSubsets);
4. the Endpoints (same name/namespace, labelled with the service's labels plus
   ``service.kubernetes.io/headless`` for a headless service) is created when missing
   and updated only when its subsets or labels differ.

Events: Pod events map to the services of the pod's namespace whose selector matches
the pod's new or old labels; Service events map to the service's key; a deleted
Endpoints is requeued so it is recreated.

Not modelled: the ``endpoints.kubernetes.io/last-change-trigger-time`` annotation, the
1000-address truncation (``over-capacity``), dual-stack IP family selection (the pod's
first IP is used) and the startup sweep of leftover Endpoints (checkLeftoverEndpoints).
"""

from __future__ import annotations

import random
from typing import Any, Mapping

from . import util as u
from .loop import Action, BaseController, EventSpec, Result, View, WatchEvent, register

COMPONENT = "endpoint-controller"
HEADLESS_LABEL = "service.kubernetes.io/headless"  # v1.IsHeadlessService

Obj = dict[str, Any]

# ---- detect ---------------------------------------------------------------------------------


def service_selector(svc: Mapping[str, Any]) -> dict[str, str]:
    sel = (svc.get("spec") or {}).get("selector")
    return {str(k): str(v) for k, v in sel.items()} if isinstance(sel, dict) else {}


def selector_matches_pod(selector: Mapping[str, str], pod: Mapping[str, Any]) -> bool:
    """labels.Set(selector).AsSelectorPreValidated(); an empty selector matches nothing
    here (such services are never managed)."""
    if not selector:
        return False
    lbls = u.labels(pod)
    return all(lbls.get(k) == v for k, v in selector.items())


def is_headless(svc: Mapping[str, Any]) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def pod_ip(pod: Mapping[str, Any]) -> str:
    st = pod.get("status") or {}
    ip = st.get("podIP")
    if ip:
        return str(ip)
    for entry in st.get("podIPs") or []:
        if isinstance(entry, dict) and entry.get("ip"):
            return str(entry["ip"])
    return ""


def should_pod_be_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """endpointsutil.ShouldPodBeInEndpoints."""
    if not pod_ip(pod):
        return False
    if u.pod_phase(pod) in ("Failed", "Succeeded"):
        return False
    return include_terminating or u.deletion_timestamp(pod) is None


def find_port(pod: Mapping[str, Any], svc_port: Mapping[str, Any]) -> int | None:
    """podutil.FindPort: a numeric targetPort as is (unset: the service port), a named
    one looked up among the pod's containerPorts of the same protocol."""
    target = svc_port.get("targetPort")
    if target is None or target == 0 or target == "":
        target = svc_port.get("port")
    if isinstance(target, int) and not isinstance(target, bool):
        return target
    name = str(target)
    proto = str(svc_port.get("protocol") or "TCP")
    spec = pod.get("spec") or {}
    containers = list(spec.get("containers") or []) + [
        c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for c in containers:
        for p in c.get("ports") or []:
            if p.get("name") == name and str(p.get("protocol") or "TCP") == proto:
                return int(p.get("containerPort") or 0)
    return None


def endpoint_address(svc: Mapping[str, Any], pod: Mapping[str, Any]) -> Obj:
    """podToEndpointAddressForService (+ the hostname when ShouldSetHostname)."""
    addr: Obj = {"ip": pod_ip(pod)}
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == u.name(svc) and \
            u.namespace(svc) == u.namespace(pod):
        addr["hostname"] = str(spec["hostname"])
    if spec.get("nodeName"):
        addr["nodeName"] = str(spec["nodeName"])
    addr["targetRef"] = {"kind": "Pod", "namespace": u.namespace(pod), "name": u.name(pod),
                         "uid": u.uid(pod)}
    return addr


def endpoint_port(svc_port: Mapping[str, Any], port: int) -> Obj:
    """endpointPortFromServicePort."""
    out: Obj = {}
    if svc_port.get("name"):
        out["name"] = str(svc_port["name"])
    out["port"] = port
    out["protocol"] = str(svc_port.get("protocol") or "TCP")
    if svc_port.get("appProtocol"):
        out["appProtocol"] = str(svc_port["appProtocol"])
    return out


def _port_key(p: Mapping[str, Any]) -> tuple[str, int, str, str]:
    return (str(p.get("name") or ""), int(p.get("port") or 0), str(p.get("protocol") or ""),
            str(p.get("appProtocol") or ""))


def _addr_key(a: Mapping[str, Any]) -> tuple[tuple[int, ...], str, str]:
    ip = str(a.get("ip") or "")
    try:
        parts = tuple(int(x) for x in ip.split("."))
    except ValueError:
        parts = ()
    return (parts, ip, str((a.get("targetRef") or {}).get("uid") or ""))


def repack_subsets(pairs: list[tuple[Obj, Obj | None, bool]]) -> list[Obj]:
    """endpoints.RepackSubsets over (address, port or None, ready) pairs: one subset per
    distinct set of ports, an address ready in a subset never also listed as not ready
    there; addresses, ports and subsets in a stable order."""
    by_addr: dict[tuple[Any, ...], tuple[Obj, bool, set[tuple[str, int, str, str]]]] = {}
    ports: dict[tuple[str, int, str, str], Obj] = {}
    for addr, port, ready in pairs:
        ak = (_addr_key(addr), ready, repr(sorted(addr.items())))
        entry = by_addr.setdefault(ak, (addr, ready, set()))
        if port is not None:
            pk = _port_key(port)
            ports[pk] = port
            entry[2].add(pk)
    subsets: dict[tuple[tuple[str, int, str, str], ...], tuple[list[Obj], list[Obj]]] = {}
    for addr, ready, pks in by_addr.values():
        key = tuple(sorted(pks))
        ready_l, not_ready_l = subsets.setdefault(key, ([], []))
        (ready_l if ready else not_ready_l).append(addr)
    out: list[Obj] = []
    for key in sorted(subsets):
        ready_l, not_ready_l = subsets[key]
        ready_ips = {_addr_key(a) for a in ready_l}
        not_ready_l = [a for a in not_ready_l if _addr_key(a) not in ready_ips]
        sub: Obj = {}
        if ready_l:
            sub["addresses"] = sorted(ready_l, key=_addr_key)
        if not_ready_l:
            sub["notReadyAddresses"] = sorted(not_ready_l, key=_addr_key)
        if not sub:
            continue
        if key:
            sub["ports"] = [ports[k] for k in key]
        out.append(sub)
    return out


def desired_subsets(svc: Mapping[str, Any], pods: list[Obj]) -> list[Obj]:
    """syncService's subsets for the pods of the service's namespace."""
    spec = svc.get("spec") or {}
    selector = service_selector(svc)
    publish = bool(spec.get("publishNotReadyAddresses"))
    svc_ports = list(spec.get("ports") or [])
    pairs: list[tuple[Obj, Obj | None, bool]] = []
    for pod in pods:
        if not selector_matches_pod(selector, pod):
            continue
        if not should_pod_be_in_endpoints(pod, publish):
            continue
        addr = endpoint_address(svc, pod)
        ready = publish or u.is_pod_ready(pod)
        if not svc_ports:
            if is_headless(svc):  # a headless service may have no ports
                pairs.append((addr, None, ready))
            continue
        for sp in svc_ports:
            num = find_port(pod, sp)
            if num is None:
                continue
            pairs.append((addr, endpoint_port(sp, num), ready))
    return repack_subsets(pairs)


def desired_labels(svc: Mapping[str, Any]) -> dict[str, str]:
    lbls = dict(u.labels(svc))
    if is_headless(svc):
        lbls[HEADLESS_LABEL] = ""
    else:
        lbls.pop(HEADLESS_LABEL, None)
    return lbls


def new_endpoints(svc: Mapping[str, Any], current: Mapping[str, Any] | None,
                  subsets: list[Obj]) -> Obj:
    """The Endpoints to write: the current object (if any) with new subsets and labels."""
    if current is not None:
        ep = u.deepcopy(dict(current))
    else:
        ep = {"apiVersion": "v1", "kind": "Endpoints",
              "metadata": {"name": u.name(svc), "namespace": u.namespace(svc)}}
    md = ep.setdefault("metadata", {})
    lbls = desired_labels(svc)
    if lbls:
        md["labels"] = lbls
    else:
        md.pop("labels", None)
    if subsets:
        ep["subsets"] = subsets
    else:
        ep.pop("subsets", None)
    return ep


def endpoints_up_to_date(current: Mapping[str, Any], svc: Mapping[str, Any],
                         subsets: list[Obj]) -> bool:
    cur_labels = dict(u.labels(current))
    if HEADLESS_LABEL in cur_labels:
        cur_labels.pop(HEADLESS_LABEL)
    want = dict(u.labels(svc))
    want.pop(HEADLESS_LABEL, None)
    if cur_labels != want:
        return False
    if (HEADLESS_LABEL in u.labels(current)) != is_headless(svc):
        return False
    return u.semantic_equal(list(current.get("subsets") or []), subsets)


# ---- act ------------------------------------------------------------------------------------


class EndpointsController(BaseController):
    name = "endpoints"
    watches: tuple[str, ...] = ("services", "pods", "endpoints")
    component = COMPONENT

    def _services_for(self, view: View, pod: Mapping[str, Any]) -> list[str]:
        """GetPodServices: keys of the services in the pod's namespace selecting it."""
        return [u.obj_key(s) for s in view.list("services", u.namespace(pod))
                if selector_matches_pod(service_selector(s), pod)]

    def keys_for(self, ev: WatchEvent, view: View, now: float) -> list[tuple[str, float]]:
        if ev.resource == "services":
            return [(u.obj_key(ev.obj), 0.0)]
        if ev.resource == "endpoints":
            # onEndpointsDelete: a deleted Endpoints of a managed service is recreated
            return [(u.obj_key(ev.obj), 0.0)] if ev.type == "DELETED" else []
        pod = ev.obj
        keys = self._services_for(view, pod)
        if ev.type == "MODIFIED" and ev.old is not None:
            old = ev.old
            if u.resource_version(old) and u.resource_version(old) == u.resource_version(pod):
                return []  # a resync
            if u.labels(old) != u.labels(pod):
                keys += [k for k in self._services_for(view, old) if k not in keys]
        return [(k, 0.0) for k in keys]

    def reconcile(self, key: str, view: View, now: float,
                  rng: random.Random) -> tuple[list[Action], Result]:
        ns, n = u.split_key(key)
        svc = view.get("services", ns, n)
        current = view.get("endpoints", ns, n)
        if svc is None:
            if current is None:
                return [], Result()
            return [Action("delete", "endpoints", ns, n, tolerate=(404,),
                           options={"preconditions_uid": u.uid(current)}
                           if u.uid(current) else {})], Result()
        if not service_selector(svc):
            return [], Result()  # user-managed Endpoints
        if u.deletion_timestamp(svc) is not None:
            return [], Result()  # being deleted: the delete event cleans up
        subsets = desired_subsets(svc, view.list("pods", ns))
        if current is not None and endpoints_up_to_date(current, svc, subsets):
            return [], Result()
        body = new_endpoints(svc, current, subsets)
        ref = u.object_ref(svc)
        if current is None:
            return [Action("create", "endpoints", ns, n, body, failure_event=EventSpec(
                "Warning", "FailedToCreateEndpoint",
                f"Failed to create endpoint for service {key}: {{error}}", ref))], Result()
        return [Action("update", "endpoints", ns, n, body, failure_event=EventSpec(
            "Warning", "FailedToUpdateEndpoint",
            f"Failed to update endpoint {key}: {{error}}", ref))], Result()


@register("endpoints")
def _new(config: dict[str, Any]) -> EndpointsController:
    return EndpointsController()
