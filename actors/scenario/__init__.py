"""Scenarios: a timeline of steps (apply, fault, heal, sleep, wait, expect...) run
against a kubemu cluster, with a live timeline, a "what happened when" table, a JSON
report and an exit code that says whether every expectation held.

- `spec`        the scenario file: schema, validation (errors name the path), durations
                in scenario time (pure)
- `conditions`  the conditions of wait/expect steps: pure `detect` functions over
                listed objects, each returning (ok, detail)
- `observer`    the transitions worth a timeline line (node NotReady, taint added, pod
                evicted, replacement Running...) derived from object versions (pure
                `Transitions`), fed by informers over the apiserver (`Observer`)
- `runner`      runs the steps, prints the timeline, writes the report; `run_file`
                launches (and tears down) the cluster of the file's `cluster:` section
"""
