"""Shared builders for the apiserver unit tests."""

from __future__ import annotations

import asyncio
import random
from typing import Any, Coroutine, TypeVar

from actors.apiserver.registry import Registry
from actors.apiserver.storage import MemoryKV
from actors.common.clock import FakeClock

T = TypeVar("T")

T0 = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def make_registry(*, toleration_seconds: int = 300,
                  system_namespaces: bool = True) -> tuple[Registry, MemoryKV, FakeClock]:
    kv = MemoryKV()
    clock = FakeClock(T0)
    reg = Registry(kv, clock=clock, rng=random.Random(7),
                   default_toleration_seconds=toleration_seconds)
    if system_namespaces:
        run(reg.ensure_system_namespaces())
    return reg, kv, clock


def pod(name: str, ns: str = "default", *, labels: dict[str, str] | None = None,
        node: str = "", grace: int | None = None, finalizers: list[str] | None = None,
        image: str = "nginx:1.25", **spec: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    if finalizers:
        meta["finalizers"] = finalizers
    s: dict[str, Any] = {"containers": [{"name": "c", "image": image}], **spec}
    if node:
        s["nodeName"] = node
    if grace is not None:
        s["terminationGracePeriodSeconds"] = grace
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": s}


def configmap(name: str, ns: str = "default", data: dict[str, str] | None = None,
              labels: dict[str, str] | None = None,
              finalizers: list[str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns}
    if labels:
        meta["labels"] = labels
    if finalizers:
        meta["finalizers"] = finalizers
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {}}


def deployment(name: str, replicas: int = 1, ns: str = "default") -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}}}


def namespace(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
