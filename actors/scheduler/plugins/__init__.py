"""The in-tree plugins, one module per plugin as in kube-scheduler's
pkg/scheduler/framework/plugins/. Each module exports `NAME`, its reason strings, the
pure decision functions (`fits(...)`, scorers) and `new(args) -> plugin`; the registry
(`actors.scheduler.registry`) maps plugin names to those factories.
"""
