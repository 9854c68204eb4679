"""Valid, defaulted objects of every served kind; tests mutate copies of them."""

from __future__ import annotations

import copy
from typing import Any

from actors.api.defaults import apply_defaults

Obj = dict[str, Any]


def _pod_template(labels: dict[str, str]) -> Obj:
    return {"metadata": {"labels": dict(labels)},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                     "ports": [{"containerPort": 80}]}]}}


_BASE: dict[str, Obj] = {
    "Pod": {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                     "ports": [{"containerPort": 80}],
                                     "resources": {"requests": {"cpu": "100m"},
                                                   "limits": {"cpu": "500m"}}}]}},
    "ReplicaSet": {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                   "metadata": {"name": "web-5d4f8", "namespace": "default"},
                   "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                            "template": _pod_template({"app": "web"})}},
    "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "namespace": "default"},
                   "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                            "template": _pod_template({"app": "web"})}},
    "Service": {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "default"},
                "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    "ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "cfg", "namespace": "default"},
                  "data": {"key.conf": "a=b"}},
    "Secret": {"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": "s", "namespace": "default"},
               "data": {"password": "aHVudGVyMg=="}},
    "Namespace": {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}},
    "Node": {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"},
             "spec": {"podCIDR": "10.244.1.0/24", "podCIDRs": ["10.244.1.0/24"]},
             "status": {"capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"}}},
    "Lease": {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
              "metadata": {"name": "node-1", "namespace": "kube-node-lease"},
              "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40}},
    "Event": {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": "web.17a1", "namespace": "default"},
              "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web"},
              "reason": "Scheduled", "message": "Successfully assigned", "type": "Normal"},
    "Endpoints": {"apiVersion": "v1", "kind": "Endpoints",
                  "metadata": {"name": "web", "namespace": "default"},
                  "subsets": [{"addresses": [{"ip": "10.244.1.5"}],
                               "ports": [{"port": 80}]}]},
    "PriorityClass": {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                      "metadata": {"name": "high"}, "value": 1000, "description": "important"},
}


def base(kind: str) -> Obj:
    """A fresh, defaulted, valid object of ``kind``."""
    obj = copy.deepcopy(_BASE[kind])
    apply_defaults(obj)
    return obj


def stored(kind: str) -> Obj:
    """``base(kind)`` as read back from the store (uid, resourceVersion set)."""
    obj = base(kind)
    obj["metadata"].update({"uid": "0b6c1c7e-0000-4000-8000-000000000001",
                            "resourceVersion": "7", "creationTimestamp": "2024-01-01T00:00:00Z"})
    if kind == "Pod":  # as the apiserver's DefaultTolerationSeconds admission leaves it
        obj["spec"].setdefault("tolerations", []).extend([
            {"key": "node.kubernetes.io/not-ready", "operator": "Exists",
             "effect": "NoExecute", "tolerationSeconds": 300},
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists",
             "effect": "NoExecute", "tolerationSeconds": 300}])
    if kind == "Service":
        obj["spec"]["clusterIP"] = "10.96.0.10"
        obj["spec"]["clusterIPs"] = ["10.96.0.10"]
    return obj
