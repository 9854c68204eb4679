"""Defaulting, as kube-apiserver applies it when decoding an object (pure, in place).

``apply_defaults(obj)`` fills the fields upstream's ``SetDefaults_*`` functions fill for the
object's ``kind`` (``pkg/apis/core/v1/defaults.go``, ``pkg/apis/apps/v1/defaults.go`` and the
generated declarative defaults).  It never sets ``apiVersion``/``kind`` (the registry's job)
and is idempotent, so it can run on every write.

What it covers:

* Pod (and, for the pod-spec part, the pod templates of ReplicaSets and Deployments):
  ``restartPolicy: Always``, ``dnsPolicy: ClusterFirst``, ``schedulerName: default-scheduler``,
  ``terminationGracePeriodSeconds: 30``, ``securityContext: {}``; per container
  ``imagePullPolicy`` (``Always`` for ``:latest`` or no tag, else ``IfNotPresent``),
  ``terminationMessagePath: /dev/termination-log``, ``terminationMessagePolicy: File``,
  ``resources: {}``, port ``protocol: TCP``, probe timings (1/10/1/3) and ``httpGet``
  path/scheme, ``fieldRef.apiVersion: v1``; volumes without a source become ``emptyDir``,
  configMap/secret/downwardAPI/projected ``defaultMode: 420``.
  Pods only (``SetDefaults_Pod`` and admission plugins that always run upstream):
  ``enableServiceLinks: true``, requests defaulted from limits, host-network container ports
  copied to ``hostPort``, ``priority`` (0, or the built-in system-* classes) and
  ``preemptionPolicy: PreemptLowerPriority`` when still unset (the apiserver's Priority
  admission, which runs first on create, resolves ``priorityClassName`` for real).  The not-ready /
  unreachable NoExecute tolerations (DefaultTolerationSeconds admission) are added by the
  apiserver's admission (actors/apiserver/admission.py) on create only, with the value
  from cluster.yaml, as upstream does.  Not emulated: the ServiceAccount admission
  (``serviceAccountName: default`` and its token volume) -- kubemu serves no ServiceAccounts.
* Every ResourceList (container requests/limits, node capacity/allocatable, overhead) is
  rounded up to milli precision and re-printed canonically (``"1000m"`` reads back ``"1"``),
  as a Quantity round-trip does upstream.
* ReplicaSet: ``replicas: 1``.  Deployment: ``replicas: 1``, ``strategy`` RollingUpdate with
  ``maxUnavailable``/``maxSurge`` ``25%``, ``revisionHistoryLimit: 10``,
  ``progressDeadlineSeconds: 600``.
* Service: ``type: ClusterIP``, ``sessionAffinity: None`` (``ClientIP`` gets a 10800 s
  timeout), port ``protocol: TCP`` and ``targetPort`` = ``port``, ``internalTrafficPolicy:
  Cluster``, ``externalTrafficPolicy: Cluster`` for NodePort/LoadBalancer,
  ``allocateLoadBalancerNodePorts: true`` for LoadBalancer; and what the service registry
  fills before validation: ``clusterIP``/``clusterIPs`` kept in sync, ``ipFamilyPolicy``
  ``SingleStack`` (``RequireDualStack`` for headless services without selector) and
  ``ipFamilies: [IPv4]`` (``[IPv4, IPv6]`` for those).  Allocating the cluster IP itself is
  left to the registry.
* Namespace: label ``kubernetes.io/metadata.name=<name>``, ``status.phase: Active``.
  ``spec.finalizers: [kubernetes]`` is set by the registry on create
  (``strategy.prepare_for_create``), not here, because it may be removed later.
* Secret: ``type: Opaque``; ``stringData`` is merged into ``data`` (base64) and dropped, as
  the v1 -> internal conversion does.
* Node: ``status.allocatable`` = ``status.capacity`` when unset.  Endpoints: port
  ``protocol: TCP``.  PriorityClass: ``preemptionPolicy: PreemptLowerPriority``.
"""

from __future__ import annotations

import base64
import re
from typing import Any

from actors.api.quantity import normalize

DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_TERMINATION_GRACE_PERIOD = 30
TERMINATION_MESSAGE_PATH = "/dev/termination-log"
DEFAULT_MODE = 420          # 0644
CLIENT_IP_AFFINITY_SECONDS = 10800
SYSTEM_PRIORITY_CLASSES = {"system-node-critical": 2000001000,
                           "system-cluster-critical": 2000000000}


def _d(v: Any) -> dict[str, Any]:
    return v if isinstance(v, dict) else {}


def _l(v: Any) -> list[Any]:
    return v if isinstance(v, list) else []


def _sub(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """``obj[key]`` as a dict, created when missing (left alone when of another type)."""
    v = obj.get(key)
    if v is None:
        v = {}
        obj[key] = v
    return v if isinstance(v, dict) else {}


# -- images ---------------------------------------------------------------------------------------

_IMAGE_REPO_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
                            r"(?:/[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*)*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")


def image_tag(image: str) -> str | None:
    """The tag ``ParseImageName`` reports: the explicit tag, ``latest`` when there is neither a
    tag nor a digest, ``""`` with only a digest, ``None`` when the reference does not parse."""
    if not image:
        return None
    rest, at, digest = image.partition("@")
    if at and not digest:
        return None
    slash = rest.rfind("/")
    last = rest[slash + 1:]
    name, colon, tag = last.partition(":")
    path = rest[:slash + 1] + name
    if colon and not _TAG_RE.match(tag):
        return None
    # the registry host (first component with '.' or ':' or 'localhost') may carry a port
    first, sep, remainder = path.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        repo = remainder
    else:
        repo = path
    if not repo or not _IMAGE_REPO_RE.match(repo):
        return None
    if colon:
        return tag
    return "" if at else "latest"


def default_pull_policy(image: str) -> str:
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


# -- resource lists ------------------------------------------------------------------------------

def _normalize_resource_list(rl: Any) -> None:
    if not isinstance(rl, dict):
        return
    for k, v in list(rl.items()):
        if isinstance(v, bool):
            continue
        try:
            rl[k] = normalize(v)
        except ValueError:
            pass  # left for validation to report


# -- pod specs ------------------------------------------------------------------------------------

def _default_probe(p: Any) -> None:
    if not isinstance(p, dict):
        return
    p.setdefault("timeoutSeconds", 1)
    p.setdefault("periodSeconds", 10)
    p.setdefault("successThreshold", 1)
    p.setdefault("failureThreshold", 3)
    hg = p.get("httpGet")
    if isinstance(hg, dict):
        hg.setdefault("path", "/")
        hg.setdefault("scheme", "HTTP")


def _default_container(c: Any) -> None:
    if not isinstance(c, dict):
        return
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = default_pull_policy(str(c.get("image") or ""))
    if not c.get("terminationMessagePath"):
        c["terminationMessagePath"] = TERMINATION_MESSAGE_PATH
    if not c.get("terminationMessagePolicy"):
        c["terminationMessagePolicy"] = "File"
    res = _sub(c, "resources")
    _normalize_resource_list(res.get("limits"))
    _normalize_resource_list(res.get("requests"))
    for port in _l(c.get("ports")):
        if isinstance(port, dict) and not port.get("protocol"):
            port["protocol"] = "TCP"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(probe))
    lc = c.get("lifecycle")
    if isinstance(lc, dict):
        for hook in ("postStart", "preStop"):
            hg = _d(lc.get(hook)).get("httpGet")
            if isinstance(hg, dict):
                hg.setdefault("path", "/")
                hg.setdefault("scheme", "HTTP")
    for ev in _l(c.get("env")):
        fr = _d(_d(ev).get("valueFrom")).get("fieldRef")
        if isinstance(fr, dict) and not fr.get("apiVersion"):
            fr["apiVersion"] = "v1"


_VOLUME_SOURCES = ("hostPath", "emptyDir", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo",
                   "secret", "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd",
                   "flexVolume", "cinder", "cephfs", "flocker", "downwardAPI", "fc", "azureFile",
                   "configMap", "vsphereVolume", "quobyte", "azureDisk", "photonPersistentDisk",
                   "projected", "portworxVolume", "scaleIO", "storageos", "csi", "ephemeral",
                   "image")


def _default_volume(v: Any) -> None:
    if not isinstance(v, dict):
        return
    if not any(v.get(s) is not None for s in _VOLUME_SOURCES):
        v["emptyDir"] = {}
    for src in ("secret", "configMap", "downwardAPI", "projected"):
        s = v.get(src)
        if isinstance(s, dict) and s.get("defaultMode") is None:
            s["defaultMode"] = DEFAULT_MODE
    hp = v.get("hostPath")
    if isinstance(hp, dict) and hp.get("type") is None:
        hp["type"] = ""


def default_pod_spec(spec: dict[str, Any]) -> None:
    """``SetDefaults_PodSpec`` and the container/volume defaults (pods and templates)."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = DEFAULT_TERMINATION_GRACE_PERIOD
    if not spec.get("schedulerName"):
        spec["schedulerName"] = DEFAULT_SCHEDULER
    # v1 ↔ internal conversion: the deprecated serviceAccount mirrors serviceAccountName
    sa = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if sa:
        spec["serviceAccountName"] = spec["serviceAccount"] = sa
    for c in _l(spec.get("initContainers")) + _l(spec.get("containers")) + _l(
            spec.get("ephemeralContainers")):
        _default_container(c)
    for v in _l(spec.get("volumes")):
        _default_volume(v)
    _normalize_resource_list(spec.get("overhead"))


def _default_template(tpl: Any) -> None:
    if isinstance(tpl, dict):
        default_pod_spec(_sub(tpl, "spec"))


def _requests_from_limits(c: Any) -> None:
    if not isinstance(c, dict):
        return
    res = _d(c.get("resources"))
    limits = res.get("limits")
    if isinstance(limits, dict) and limits:
        req = _sub(res, "requests")
        for k, v in limits.items():
            req.setdefault(k, v)


def default_pod(pod: dict[str, Any]) -> None:
    spec = _sub(pod, "spec")
    default_pod_spec(spec)
    for c in _l(spec.get("initContainers")) + _l(spec.get("containers")):
        _requests_from_limits(c)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork") is True:
        for c in _l(spec.get("initContainers")) + _l(spec.get("containers")):
            for port in _l(_d(c).get("ports")):
                if isinstance(port, dict) and not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")
    # Priority admission
    if spec.get("priority") is None:
        spec["priority"] = SYSTEM_PRIORITY_CLASSES.get(str(spec.get("priorityClassName") or ""), 0)
    if spec.get("preemptionPolicy") is None:
        spec["preemptionPolicy"] = "PreemptLowerPriority"


# -- apps ---------------------------------------------------------------------------------------------

def default_replicaset(rs: dict[str, Any]) -> None:
    spec = _sub(rs, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _default_template(spec.get("template"))


def default_deployment(d: dict[str, Any]) -> None:
    spec = _sub(d, "spec")
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = _sub(spec, "strategy")
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy.get("type") == "RollingUpdate":
        ru = _sub(strategy, "rollingUpdate")
        if ru.get("maxUnavailable") is None:
            ru["maxUnavailable"] = "25%"
        if ru.get("maxSurge") is None:
            ru["maxSurge"] = "25%"
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = 10
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = 600
    _default_template(spec.get("template"))


# -- services ---------------------------------------------------------------------------------------

def default_service(svc: dict[str, Any]) -> None:
    spec = _sub(svc, "spec")
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec.get("sessionAffinity") == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec.get("sessionAffinity") == "ClientIP":
        cfg = _d(spec.get("sessionAffinityConfig"))
        if _d(cfg.get("clientIP")).get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": CLIENT_IP_AFFINITY_SECONDS}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    typ = spec["type"]
    for p in _l(spec.get("ports")):
        if not isinstance(p, dict):
            continue
        if not p.get("protocol"):
            p["protocol"] = "TCP"
        if p.get("targetPort") in (None, 0, ""):
            p["targetPort"] = p.get("port")
    if typ in ("NodePort", "LoadBalancer") and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and typ in ("ClusterIP", "NodePort", "LoadBalancer"):
        spec["internalTrafficPolicy"] = "Cluster"
    if typ == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True
    if typ == "ExternalName":
        return
    # the service registry's normalisation (before validation)
    cip = spec.get("clusterIP")
    cips = spec.get("clusterIPs")
    if cip and not cips:
        spec["clusterIPs"] = [cip]
    elif cips and isinstance(cips, list) and not cip:
        spec["clusterIP"] = cips[0]
    headless_no_selector = spec.get("clusterIP") == "None" and not spec.get("selector")
    if spec.get("ipFamilyPolicy") is None:
        spec["ipFamilyPolicy"] = "RequireDualStack" if headless_no_selector else "SingleStack"
    if not spec.get("ipFamilies"):
        spec["ipFamilies"] = ["IPv4", "IPv6"] if headless_no_selector else ["IPv4"]


def default_endpoints(ep: dict[str, Any]) -> None:
    for ss in _l(ep.get("subsets")):
        for p in _l(_d(ss).get("ports")):
            if isinstance(p, dict) and not p.get("protocol"):
                p["protocol"] = "TCP"


# -- the rest ------------------------------------------------------------------------------------

def default_namespace(ns: dict[str, Any]) -> None:
    meta = _sub(ns, "metadata")
    name = meta.get("name")
    if name:
        labels = _sub(meta, "labels")
        labels["kubernetes.io/metadata.name"] = name
    status = _sub(ns, "status")
    if not status.get("phase"):
        status["phase"] = "Active"


def default_secret(sec: dict[str, Any]) -> None:
    if not sec.get("type"):
        sec["type"] = "Opaque"
    sd = sec.pop("stringData", None)
    if isinstance(sd, dict) and sd:
        data = _sub(sec, "data")
        for k, v in sd.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


def default_node(node: dict[str, Any]) -> None:
    status = node.get("status")
    if not isinstance(status, dict):
        return
    _normalize_resource_list(status.get("capacity"))
    _normalize_resource_list(status.get("allocatable"))
    if status.get("allocatable") is None and isinstance(status.get("capacity"), dict):
        status["allocatable"] = dict(status["capacity"])


def default_priority_class(pc: dict[str, Any]) -> None:
    """``SetDefaults_PriorityClass``."""
    if pc.get("preemptionPolicy") is None:
        pc["preemptionPolicy"] = "PreemptLowerPriority"


_DEFAULTERS = {
    "Pod": default_pod,
    "ReplicaSet": default_replicaset,
    "Deployment": default_deployment,
    "Service": default_service,
    "Endpoints": default_endpoints,
    "Namespace": default_namespace,
    "Secret": default_secret,
    "Node": default_node,
    "PriorityClass": default_priority_class,
}


def apply_defaults(obj: dict[str, Any]) -> None:
    """Fill upstream's defaults for ``obj["kind"]`` in place (unknown kinds: no-op)."""
    fn = _DEFAULTERS.get(str(obj.get("kind") or ""))
    if fn is not None:
        fn(obj)
