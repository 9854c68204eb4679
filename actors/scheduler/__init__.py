"""kube-scheduler, as a pure core plus a thin Ray/asyncio shell.

    framework.py     Status codes, CycleState, plugin protocols, NodeInfo, Snapshot,
                     and the Framework running one profile's plugins
    plugins/         one module per plugin (NodeUnschedulable, NodeName, TaintToleration,
                     NodeAffinity, NodePorts, NodeResourcesFit + LeastAllocated,
                     NodeResourcesBalancedAllocation)
    registry.py      plugin name -> factory; the default profile and weights
    schedule.py      schedule_one(pod, snapshot, profile, rng) -> ScheduleResult | FitError
    queue.py         activeQ / backoffQ / unschedulablePods on an injected clock
    cache.py         nodes + bound and assumed pods, incremental snapshots
    eventhandlers.py which cluster events move unschedulable pods
    events.py        FailedScheduling / Scheduled events, the PodScheduled condition
    scheduler.py     informer events in, one cycle at a time, writes out (as data)
    actor.py         SchedulerServer / SchedulerActor: informers, bind, the writes

Everything but actor.py is pure: no ray, grpc, asyncio or wall-clock time.
"""
