"""NodePorts: a pod asking for host ports fits a node only where none of them is taken.

PreFilter collects the pod's (hostIP, protocol, hostPort) triples and skips the
plugin for pods without host ports; Filter checks each against the node's used ports
(0.0.0.0 conflicts with the same protocol/port on any IP). Unschedulable: evicting
the pod holding the port would free it.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..framework import (SKIP, SUCCESS, Code, CycleState, HostPort, HostPortInfo, NodeInfo, Pod,
                         PreFilterResult, Status, new_status, pod_host_ports)
from ..framework import NODE, POD, ActionType, ClusterEvent

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"
_STATE_KEY = "PreFilter" + NAME


def fits_ports(want: Sequence[HostPort], in_use: HostPortInfo) -> bool:
    return not any(in_use.check_conflict(p.ip, p.protocol, p.port) for p in want)


def fits(pod: Pod, node_info: NodeInfo) -> bool:
    return fits_ports(pod_host_ports(pod), node_info.used_ports)


class NodePorts:
    name = NAME

    def events_to_register(self) -> list[ClusterEvent]:
        """An assigned pod going away frees its host ports; a new node has all of them."""
        return [ClusterEvent(POD, ActionType.DELETE), ClusterEvent(NODE, ActionType.ADD)]

    def pre_filter(self, state: CycleState, pod: Pod,
                   nodes: Sequence[NodeInfo]) -> tuple[PreFilterResult | None, Status]:
        ports = pod_host_ports(pod)
        if not ports:
            return None, SKIP
        state.write(_STATE_KEY, ports)
        return None, SUCCESS

    def filter(self, state: CycleState, pod: Pod, node_info: NodeInfo) -> Status:
        ports = state.get(_STATE_KEY)
        if ports is None:
            ports = pod_host_ports(pod)
        if not fits_ports(ports, node_info.used_ports):
            return new_status(Code.UNSCHEDULABLE, ERR_REASON)
        return SUCCESS


def new(args: Mapping[str, Any] | None = None) -> NodePorts:
    return NodePorts()
