"""ImageLocality: favour the nodes that already have the pod's container images.

Score (upstream imagelocality), for each container and init container whose image the
node lists in `status.images` (the hollow kubelet reports them, largest first):

    sum   += size * numNodesWithTheImage / totalNumNodes        (scaledImageScore, int)
    sum    = clamp(sum, 23 MiB, 1000 MiB * numContainers)
    score  = 100 * (sum - 23 MiB) // (1000 MiB * numContainers - 23 MiB)

The spread factor keeps a popular image from piling every pod onto the few nodes that
have it. No NormalizeScore. Default weight 1. The plugin never rejects a node.

Image names are compared normalized as containerd reports them (`nginx`,
`nginx:latest` and `docker.io/library/nginx:latest` are one image; the kubelet lists
`docker.io/library/nginx:1.25` and the digest reference). Upstream only appends
`:latest` to an untagged name, so a pod naming `nginx:1.25` does not match a node
listing `docker.io/library/nginx:1.25` there (the TODO in upstream's
normalizedImageName); kubemu normalizes both sides, so it does.

The image index (node -> its images, image -> how many nodes have it) is kept by the
plugin across cycles and brought up to date in PreScore against the cycle's snapshot
(`CycleState.snapshot`): a node is re-read only when its Node object changed, so a
cycle costs one identity check per node.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from actors.kubelet.runtime.images import normalize_image

from .. import helpers
from ..framework import MAX_NODE_SCORE, SUCCESS, CycleState, NodeInfo, Pod, Status

NAME = "ImageLocality"
MB = 1024 * 1024
MIN_THRESHOLD = 23 * MB
MAX_CONTAINER_THRESHOLD = 1000 * MB
_PRESCORE_KEY = "PreScore" + NAME


def node_images(node: Mapping[str, Any]) -> dict[str, int]:
    """Every name of every image in node.status.images, normalized -> its size in bytes."""
    out: dict[str, int] = {}
    for img in (node.get("status") or {}).get("images") or []:
        size = img.get("sizeBytes") or 0
        if not isinstance(size, int) or isinstance(size, bool):
            size = 0
        for name in img.get("names") or []:
            if isinstance(name, str) and name:
                out.setdefault(normalize_image(name), size)
    return out


def pod_images(pod: Pod) -> list[str]:
    """The normalized images of the init containers then the containers."""
    spec = helpers.spec(pod)
    containers = list(spec.get("initContainers") or []) + list(spec.get("containers") or [])
    return [normalize_image(str(c.get("image") or "")) for c in containers]


def scaled_image_score(size: int, num_nodes: int, total_num_nodes: int) -> int:
    """scaledImageScore: the image's size times its spread over the nodes."""
    return int(size * (num_nodes / total_num_nodes)) if total_num_nodes else 0


def calculate_priority(sum_scores: int, num_containers: int) -> int:
    """calculatePriority: the summed scores clamped and scaled to 0..100."""
    max_threshold = MAX_CONTAINER_THRESHOLD * num_containers
    if max_threshold <= MIN_THRESHOLD:
        return 0
    sum_scores = min(max(sum_scores, MIN_THRESHOLD), max_threshold)
    return MAX_NODE_SCORE * (sum_scores - MIN_THRESHOLD) // (max_threshold - MIN_THRESHOLD)


def image_locality_score(images: Sequence[str], on_node: Mapping[str, int], num_nodes: Mapping[str, int],
                         total_num_nodes: int) -> int:
    """The node's score for a pod with these (normalized) images."""
    total = 0
    for image in images:
        size = on_node.get(image)
        if size is not None:
            total += scaled_image_score(size, num_nodes.get(image, 0), total_num_nodes)
    return calculate_priority(total, len(images))


class ImageIndex:
    """Node object -> its images; image -> number of nodes with it.

    Keyed by the identity of the Node objects (the cache replaces a node's object when
    it changes), so keeping up costs one dict lookup per node and cycle."""

    def __init__(self) -> None:
        self.by_id: dict[int, tuple[Mapping[str, Any], str, dict[str, int]]] = {}
        self.id_by_name: dict[str, int] = {}
        self.num_nodes: dict[str, int] = {}

    def _count(self, images: Mapping[str, int], delta: int) -> None:
        for name in images:
            n = self.num_nodes.get(name, 0) + delta
            if n:
                self.num_nodes[name] = n
            else:
                self.num_nodes.pop(name, None)

    def _drop(self, key: int) -> None:
        _, name, images = self.by_id.pop(key)
        self._count(images, -1)
        if self.id_by_name.get(name) == key:
            del self.id_by_name[name]

    def sync(self, node_infos: Sequence[NodeInfo]) -> None:
        """Bring the index to exactly the nodes of these NodeInfos."""
        by_id = self.by_id
        live = 0
        for ni in node_infos:
            node = ni.node
            if node is None:
                continue
            live += 1
            cur = by_id.get(id(node))
            if cur is not None and cur[0] is node:
                continue
            name = helpers.name_of(node)
            old = self.id_by_name.get(name)
            if old is not None:
                self._drop(old)
            images = node_images(node)
            by_id[id(node)] = (node, name, images)
            self.id_by_name[name] = id(node)
            self._count(images, +1)
        if len(by_id) != live:  # every live node is indexed: the extra ones are gone
            keep = {id(ni.node) for ni in node_infos if ni.node is not None}
            for key in [k for k in by_id if k not in keep]:
                self._drop(key)

    def images_of(self, node: Mapping[str, Any] | None) -> Mapping[str, int]:
        cur = self.by_id.get(id(node))
        return cur[2] if cur is not None and cur[0] is node else {}


class ImageLocality:
    name = NAME

    def __init__(self) -> None:
        self.index = ImageIndex()
        self._synced: int | None = None  # the snapshot's nodes_version last indexed

    def pre_score(self, state: CycleState, pod: Pod, nodes: Sequence[NodeInfo]) -> Status:
        snap = state.snapshot
        all_nodes = snap.node_info_list if snap is not None else nodes
        version = snap.nodes_version if snap is not None else None
        if version is None or version != self._synced:  # a Node changed: re-index
            self.index.sync(all_nodes)
            self._synced = version
        state.write(_PRESCORE_KEY, (pod_images(pod), len(all_nodes)))
        return SUCCESS

    def score(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> tuple[int, Status]:
        pre = state.get(_PRESCORE_KEY)
        if pre is None:  # PreScore did not run: judge this node alone
            if node_info.node is None:
                return 0, SUCCESS
            on_node = node_images(node_info.node)
            return image_locality_score(pod_images(pod), on_node, dict.fromkeys(on_node, 1), 1), SUCCESS
        images, total = pre
        return image_locality_score(images, self.index.images_of(node_info.node), self.index.num_nodes,
                                    total), SUCCESS


def new(args: Mapping[str, Any] | None = None) -> ImageLocality:
    return ImageLocality()
