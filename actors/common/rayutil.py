"""The one thin wrapper around every `ray.*` call kubemu makes.

Component logic never imports ray: it is written against plain classes and
tested without Ray; this module turns them into named, detached actors and
calls them. Keeping the calls here also keeps the pitfalls in one place
(see shared/RAY-NOTES.md): explicit `address`, token auth and usage stats off,
a capped object store.
"""

from __future__ import annotations

import os
from typing import Any

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_DEDUP_LOGS", "0")

import ray  # noqa: E402

DEFAULT_OBJECT_STORE = 100 * 1024 * 1024


def _quiet_expected_worker_deaths() -> None:
    """Ray's driver prints "A worker died or was killed ..." for every actor process that
    dies. kubemu kills actor processes on purpose (fault injection, the demos, the
    tests), so those lines go to the log at debug level instead of the user's terminal.
    Any other raylet message is still printed. (Ray has no setting for this: the
    driver's error listener calls worker.print_to_stdstream directly.)"""
    import logging

    try:
        from ray._private import worker as _w
    except ImportError:
        return
    orig = getattr(_w, "print_to_stdstream", None)
    if orig is None or getattr(orig, "_kubemu_quiet", False):
        return
    log = logging.getLogger("kubemu.ray")

    def quiet(data: Any, *args: Any, **kwargs: Any) -> Any:
        lines = data.get("lines") or [] if isinstance(data, dict) else []
        if isinstance(data, dict) and data.get("pid") == "raylet" and lines and all(
                "A worker died or was killed" in str(line) for line in lines):
            log.debug("raylet: %s", lines[0][:200])
            return None
        return orig(data, *args, **kwargs)

    quiet._kubemu_quiet = True  # type: ignore[attr-defined]
    _w.print_to_stdstream = quiet


def is_initialized() -> bool:
    return bool(ray.is_initialized())


def init(address: str | None = None, *, num_cpus: int | None = None,
         namespace: str = "kubemu", object_store_memory: int = DEFAULT_OBJECT_STORE) -> None:
    """Join `address` ("auto" or host:port), or start a local Ray runtime when None."""
    if ray.is_initialized():
        return
    _quiet_expected_worker_deaths()
    if address is None:
        ray.init(address="local", num_cpus=num_cpus or os.cpu_count() or 2,
                 namespace=namespace, include_dashboard=False,
                 object_store_memory=object_store_memory, log_to_driver=False,
                 configure_logging=False)
    else:
        ray.init(address=address, namespace=namespace, log_to_driver=False,
                 configure_logging=False)


def shutdown() -> None:
    if ray.is_initialized():
        ray.shutdown()


def start_actor(cls: type, name: str, *args: Any, namespace: str | None = None,
                detached: bool = True, max_restarts: int = -1, num_cpus: float = 0,
                **kwargs: Any) -> Any:
    """Start `cls` as a named Ray actor (restarted by Ray after a crash)."""
    remote_cls: Any = ray.remote(cls)
    opts: dict[str, Any] = dict(name=name, max_restarts=max_restarts, num_cpus=num_cpus,
                                max_concurrency=16)
    if namespace is not None:
        opts["namespace"] = namespace
    if detached:
        opts["lifetime"] = "detached"
    return remote_cls.options(**opts).remote(*args, **kwargs)


def get_actor(name: str, namespace: str | None = None) -> Any:
    return ray.get_actor(name, namespace=namespace)


def call(handle: Any, method: str, *args: Any, timeout: float | None = 30.0) -> Any:
    """Call `handle.method(*args)` and wait for the result."""
    return ray.get(getattr(handle, method).remote(*args), timeout=timeout)


def call_async(handle: Any, method: str, *args: Any) -> Any:
    return getattr(handle, method).remote(*args)


def get(ref: Any, timeout: float | None = 30.0) -> Any:
    return ray.get(ref, timeout=timeout)


def wait_all(refs: list[Any], timeout: float | None = 60.0) -> list[Any]:
    return list(ray.get(refs, timeout=timeout))


def kill(handle: Any, *, no_restart: bool = True) -> None:
    ray.kill(handle, no_restart=no_restart)


ActorError = (ray.exceptions.RayActorError, ray.exceptions.ActorUnavailableError,
              ray.exceptions.GetTimeoutError)


def try_get_actor(name: str, namespace: str | None = None) -> Any | None:
    """The named actor's handle, or None when no live (or restarting) actor has the name."""
    try:
        return ray.get_actor(name, namespace=namespace)
    except ValueError:
        return None
