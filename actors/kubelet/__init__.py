"""The kubelet: one node agent per simulated node.

Pure cores (no ray, grpc or asyncio): `config` (NodeConfig, time scaling),
`node_status` (the registered Node, status posting), `lease` (kube-node-lease
heartbeat), `pod_worker` (one pod's lifecycle as a state machine), `pod_status`
(phase, conditions, QoS as upstream), `events` (Event objects and aggregation),
`core` (one node's workers, admission and wake-up heap), `runtime/` (the simulated
container runtime: images, sandboxes/IPs, containers). `actor.py` is the I/O shell.
"""
