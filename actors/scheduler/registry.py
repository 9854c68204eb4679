"""The plugin registry (name -> factory) and the default profile.

`DEFAULT_PLUGINS` is upstream's default `multiPoint` set restricted to the plugins
kubemu has, in upstream order (which is the order filters run in) and with upstream's
score weights:

    NodeUnschedulable, NodeName, TaintToleration (3), NodeAffinity (2), NodePorts,
    NodeResourcesFit (1), PodTopologySpread (2), InterPodAffinity (2), DefaultPreemption,
    NodeResourcesBalancedAllocation (1), ImageLocality (1)

(PrioritySort is the queue's ordering, built into queue.py; DefaultBinder is the
actor's bind call; the volume plugins do not exist yet.)
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from .framework import Framework, Plugin
from .plugins import (balanced_allocation, node_affinity, node_name, node_ports, node_resources_fit,
                      node_unschedulable, taint_toleration)
from .plugins import inter_pod_affinity, pod_topology_spread
from .plugins import image_locality
from .plugins import default_preemption

DEFAULT_SCHEDULER_NAME = "default-scheduler"

PluginFactory = Callable[[Mapping[str, Any] | None], Plugin]

REGISTRY: dict[str, PluginFactory] = {
    node_unschedulable.NAME: node_unschedulable.new,
    node_name.NAME: node_name.new,
    taint_toleration.NAME: taint_toleration.new,
    node_affinity.NAME: node_affinity.new,
    node_ports.NAME: node_ports.new,
    node_resources_fit.NAME: node_resources_fit.new,
    balanced_allocation.NAME: balanced_allocation.new,
    pod_topology_spread.NAME: pod_topology_spread.new,
    inter_pod_affinity.NAME: inter_pod_affinity.new,
    image_locality.NAME: image_locality.new,
    default_preemption.NAME: default_preemption.new,
}

# (name, weight); weight 0 = not a score plugin (or the framework's default of 1)
DEFAULT_PLUGINS: tuple[tuple[str, int], ...] = (
    (node_unschedulable.NAME, 0),
    (node_name.NAME, 0),
    (taint_toleration.NAME, 3),
    (node_affinity.NAME, 2),
    (node_ports.NAME, 0),
    (node_resources_fit.NAME, 1),
    (pod_topology_spread.NAME, 2),
    (inter_pod_affinity.NAME, 2),
    (default_preemption.NAME, 0),
    (balanced_allocation.NAME, 1),
    (image_locality.NAME, 1),
)


def new_framework(profile_name: str = DEFAULT_SCHEDULER_NAME,
                  plugins: Sequence[tuple[str, int]] = DEFAULT_PLUGINS,
                  plugin_args: Mapping[str, Mapping[str, Any]] | None = None) -> Framework:
    """Build a profile; raises KeyError for an unknown plugin name."""
    args = plugin_args or {}
    built: list[tuple[Plugin, int]] = []
    for name, weight in plugins:
        if name not in REGISTRY:
            raise KeyError(f"plugin {name!r} is not registered")
        built.append((REGISTRY[name](args.get(name)), weight))
    return Framework(profile_name, built)


def default_profile(profile_name: str = DEFAULT_SCHEDULER_NAME) -> Framework:
    return new_framework(profile_name)
