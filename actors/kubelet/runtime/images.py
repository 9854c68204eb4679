"""The node's image store and its serial puller (pure).

Image references are normalized as containerd does (`nginx:1.25` ->
`docker.io/library/nginx:1.25`, an untagged name gets `:latest`); the registry is
keyed by the normalized reference, so `nginx` and `docker.io/library/nginx:latest`
are the same image.

Pulls are serialized per node, as the kubelet's default `serializeImagePulls: true`:
a pull requested while another is in flight starts when the node's previous pull
ends. A second request for an image already being pulled joins that pull (the layers
are shared in the content store). Pulling an image that is already present (pull
policy Always) only resolves the manifest: `repull_seconds`, by default a registry
round trip. An image the registry does not know fails after one round trip with
containerd's NotFound error. All durations here are simulated seconds multiplied by
the node's `time_scale`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

REGISTRY_RTT_SECONDS = 0.25  # a manifest resolve (simulated seconds)
MAX_STATUS_IMAGES = 50  # upstream nodeStatusMaxImages


def normalize_image(ref: str) -> str:
    """containerd's normalized name: docker.io/library/nginx:latest for `nginx`."""
    name, digest = (ref.split("@", 1) + [""])[:2]
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = "docker.io", name
        if "/" not in path:
            path = "library/" + path
    tag = ""
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    out = f"{domain}/{path}"
    if digest:
        return f"{out}:{tag}@{digest}" if tag else f"{out}@{digest}"
    return f"{out}:{tag or 'latest'}"


def repository(ref: str) -> str:
    """The repository part of a normalized reference (no tag, no digest)."""
    name = ref.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name.rsplit(":", 1)[0]
    return name


def has_tag_or_digest(image: str) -> tuple[bool, bool]:
    """(tagged, digested) for an image string as written in a pod spec."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    return (":" in last), bool(digest)


def default_pull_policy(image: str) -> str:
    """Upstream defaulting: Always for `:latest` or untagged, IfNotPresent otherwise."""
    tagged, digested = has_tag_or_digest(image)
    if digested:
        return "IfNotPresent"
    if not tagged or image.rsplit(":", 1)[-1] == "latest":
        return "Always"
    return "IfNotPresent"


@dataclass(frozen=True, slots=True)
class RegistryImage:
    ref: str  # normalized reference
    size_bytes: int
    pull_seconds: float
    repull_seconds: float | None = None
    digest: str = ""  # hex sha256; derived from ref when empty

    image_id: str = ""  # derived: what containerd reports as imageID, repo@sha256:<digest>

    def __post_init__(self) -> None:
        if not self.digest:
            object.__setattr__(self, "digest", hashlib.sha256(self.ref.encode()).hexdigest())
        object.__setattr__(self, "image_id", f"{repository(self.ref)}@sha256:{self.digest}")

    @property
    def sha(self) -> str:
        return self.digest

    @property
    def repull(self) -> float:
        if self.repull_seconds is not None:
            return self.repull_seconds
        return min(self.pull_seconds, REGISTRY_RTT_SECONDS)


class PullTicket:
    """One requester's pull: queued at `requested_at`, transferring from `started_at`."""

    __slots__ = ("ref", "requested_at", "started_at", "done_at", "image", "error")

    def __init__(self, ref: str, requested_at: float, started_at: float, done_at: float,
                 image: RegistryImage | None, error: str) -> None:
        self.ref = ref
        self.requested_at = requested_at
        self.started_at = started_at
        self.done_at = done_at
        self.image = image
        self.error = error

    @property
    def ok(self) -> bool:
        return self.image is not None

    @property
    def pull_seconds(self) -> float:
        return self.done_at - self.started_at

    @property
    def total_seconds(self) -> float:
        return self.done_at - self.requested_at


def not_found_error(ref: str) -> str:
    return (f"rpc error: code = NotFound desc = failed to pull and unpack image \"{ref}\": "
            f"failed to resolve reference \"{ref}\": {ref}: not found")


class ImageStore:
    """Images present on one node and the node's serial pull queue."""

    __slots__ = ("registry", "time_scale", "present", "_busy_until", "_inflight")

    def __init__(self, registry: dict[str, RegistryImage], time_scale: float = 1.0,
                 preloaded: tuple[str, ...] = ()) -> None:
        self.registry = registry
        self.time_scale = time_scale
        self.present: dict[str, RegistryImage] = {}
        self._busy_until = 0.0
        self._inflight: dict[str, PullTicket] = {}
        for ref in preloaded:
            img = self.lookup(ref)
            if img is not None:
                self.present[img.ref] = img

    def lookup(self, image: str) -> RegistryImage | None:
        """The registry's entry for an image as written in a pod spec."""
        return self.registry.get(normalize_image(image))

    def settle(self, now: float) -> None:
        """Pulls that have finished by `now` make their image present."""
        if not self._inflight:
            return
        for ref in [r for r, t in self._inflight.items() if t.done_at <= now]:
            t = self._inflight.pop(ref)
            if t.image is not None:
                self.present[ref] = t.image

    def get_present(self, image: str, now: float) -> RegistryImage | None:
        self.settle(now)
        return self.present.get(normalize_image(image))

    def pull(self, image: str, now: float) -> PullTicket:
        """Queue a pull of `image` at `now`; the ticket says when and how it ends."""
        self.settle(now)
        ref = normalize_image(image)
        cur = self._inflight.get(ref)
        if cur is not None:  # join the pull in flight
            return PullTicket(ref, now, max(now, cur.started_at), cur.done_at, cur.image,
                              cur.error)
        img = self.registry.get(ref)
        start = max(now, self._busy_until)
        if img is None:
            dur, err = REGISTRY_RTT_SECONDS, not_found_error(ref)
        elif ref in self.present:
            dur, err = img.repull, ""
        else:
            dur, err = img.pull_seconds, ""
        done = start + dur * self.time_scale
        self._busy_until = done
        ticket = PullTicket(ref, now, start, done, img, err)
        self._inflight[ref] = ticket
        return ticket

    def status_images(self, now: float) -> list[dict[str, object]]:
        """node.status.images: largest first, at most 50 (upstream nodeStatusMaxImages)."""
        self.settle(now)
        imgs = sorted(self.present.values(), key=lambda i: (-i.size_bytes, i.ref))
        return [{"names": [i.image_id, i.ref], "sizeBytes": i.size_bytes}
                for i in imgs[:MAX_STATUS_IMAGES]]
