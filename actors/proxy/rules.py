"""kube-proxy's view of the cluster: Services + Endpoints -> this node's rule table (pure).

Each rule is one frontend kube-proxy would program (an iptables KUBE-SVC chain): a
ClusterIP, NodePort, ExternalIP or LoadBalancer ingress address with its port and
protocol, and the ready endpoints behind it as "ip:port" backends. A frontend with no
ready backends is kept with an empty list: kube-proxy installs a REJECT for it
("has no endpoints"). As upstream:

- Endpoints ports are matched to service ports by name (and protocol); only
  `addresses` count, never `notReadyAddresses`;
- headless (clusterIP None) and ExternalName services get no rules;
- NodePort and LoadBalancer services get a NodePort frontend on every node address
  (0.0.0.0, kube-proxy's default --nodeport-addresses);
- externalTrafficPolicy Local limits NodePort / LoadBalancer / ExternalIP frontends to
  endpoints on this node, internalTrafficPolicy Local does so for the ClusterIP.

`compute` builds the whole table, `service_rules` one service's rules (the actor
recomputes only the service whose Service or Endpoints changed), `diff` compares two
tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

Obj = Mapping[str, Any]
RuleKey = tuple[str, str, int, str]  # (kind, ip, port, protocol)

ALL_ADDRESSES = "0.0.0.0"


@dataclass(frozen=True, slots=True)
class Rule:
    service: str  # namespace/name
    port_name: str
    protocol: str  # TCP | UDP | SCTP
    kind: str  # ClusterIP | NodePort | ExternalIP | LoadBalancer
    ip: str
    port: int
    backends: tuple[str, ...]  # "ip:port", sorted; empty: REJECT (no endpoints)
    session_affinity: str = "None"

    @property
    def key(self) -> RuleKey:
        return (self.kind, self.ip, self.port, self.protocol)

    def to_dict(self) -> dict[str, Any]:
        return {"service": self.service, "port_name": self.port_name,
                "protocol": self.protocol, "kind": self.kind, "ip": self.ip,
                "port": self.port, "backends": list(self.backends),
                "session_affinity": self.session_affinity}


RuleTable = dict[RuleKey, Rule]


@dataclass(slots=True)
class RuleDiff:
    added: list[Rule] = field(default_factory=list)
    removed: list[Rule] = field(default_factory=list)
    changed: list[tuple[Rule, Rule]] = field(default_factory=list)  # (old, new)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def object_key(obj: Obj) -> str:
    m = obj.get("metadata") or {}
    return f"{m.get('namespace') or 'default'}/{m.get('name', '')}"


def _backends(endpoints: Obj | None, port_name: str, protocol: str,
              local_node: str | None) -> tuple[str, ...]:
    out: set[str] = set()
    for subset in (endpoints or {}).get("subsets") or []:
        ports = [p for p in subset.get("ports") or []
                 if (p.get("name") or "") == port_name
                 and (p.get("protocol") or "TCP") == protocol]
        if not ports:
            continue
        for addr in subset.get("addresses") or []:
            if local_node is not None and addr.get("nodeName") != local_node:
                continue
            for p in ports:
                out.add(f"{addr.get('ip')}:{int(p.get('port') or 0)}")
    return tuple(sorted(out, key=_sort_key))


def _sort_key(backend: str) -> tuple[tuple[int, ...], int]:
    ip, _, port = backend.rpartition(":")
    try:
        parts = tuple(int(x) for x in ip.split("."))
    except ValueError:
        parts = ()
    return parts, int(port or 0)


def service_rules(svc: Obj, endpoints: Obj | None, node_name: str = "") -> list[Rule]:
    """The rules of one Service given its Endpoints (None: no Endpoints object yet)."""
    spec = svc.get("spec") or {}
    stype = spec.get("type") or "ClusterIP"
    if stype == "ExternalName":
        return []
    cluster_ips = [ip for ip in (spec.get("clusterIPs") or [spec.get("clusterIP")])
                   if ip and ip != "None"]
    key = object_key(svc)
    affinity = spec.get("sessionAffinity") or "None"
    ext_local = spec.get("externalTrafficPolicy") == "Local"
    int_local = spec.get("internalTrafficPolicy") == "Local"
    if not cluster_ips:
        return []  # headless: DNS only
    ingress = [i.get("ip") for i in ((svc.get("status") or {}).get("loadBalancer") or {})
               .get("ingress") or [] if i.get("ip")]
    rules: list[Rule] = []
    for sp in spec.get("ports") or []:
        name = sp.get("name") or ""
        proto = sp.get("protocol") or "TCP"
        port = int(sp.get("port") or 0)
        every = _backends(endpoints, name, proto, None)
        local = _backends(endpoints, name, proto, node_name) if (ext_local or int_local) \
            else every
        internal = local if int_local else every
        external = local if ext_local else every

        def add(kind: str, ip: str, p: int, backends: tuple[str, ...]) -> None:
            rules.append(Rule(key, name, proto, kind, ip, p, backends, affinity))

        for ip in cluster_ips:
            add("ClusterIP", ip, port, internal)
        if stype in ("NodePort", "LoadBalancer") and sp.get("nodePort"):
            add("NodePort", ALL_ADDRESSES, int(sp["nodePort"]), external)
        for ip in spec.get("externalIPs") or []:
            add("ExternalIP", ip, port, external)
        if stype == "LoadBalancer":
            for ip in ingress:
                add("LoadBalancer", ip, port, external)
    return rules


def compute(services: Iterable[Obj], endpoints: Iterable[Obj], node_name: str = "") -> RuleTable:
    """The node's whole rule table."""
    eps = {object_key(e): e for e in endpoints}
    table: RuleTable = {}
    for svc in services:
        for r in service_rules(svc, eps.get(object_key(svc)), node_name):
            table[r.key] = r
    return table


def diff(old: RuleTable, new: RuleTable) -> RuleDiff:
    d = RuleDiff()
    for k, r in new.items():
        o = old.get(k)
        if o is None:
            d.added.append(r)
        elif o != r:
            d.changed.append((o, r))
    d.removed = [r for k, r in old.items() if k not in new]
    return d


def sorted_rules(table: RuleTable) -> list[Rule]:
    return sorted(table.values(), key=lambda r: (r.service, r.port_name, r.kind, r.ip, r.port,
                                                 r.protocol))
