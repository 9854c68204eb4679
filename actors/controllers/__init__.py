"""kube-controller-manager: controllers as pure reconcilers over informer caches.

- `loop` — the contract (`Action`, `Result`, `View`, `WatchEvent`), the registry, the
  client-go workqueue and rate limiters, and `Runner`, which maps informer events to
  keys, reconciles and carries actions out (pure; driven by an injected ``now``);
- `replicaset`, `deployment`, `garbagecollector`, `nodelifecycle`, `tainteviction`,
  `podgc`, `endpoints`, `namespace` — upstream's controllers, each a pure "detect" layer of functions plus a
  controller class that emits actions;
- `util` — shared helpers (ownership/claiming, pod readiness, hashes, expectations,
  `scaled` for time_scale); `nodeutil` — taints, tolerations, zones, node conditions;
- `actor` — the asyncio shell (informers, API writes, events) and the Ray actor.
"""
