"""Duration strings as the kubelet configuration writes them (pure).

`parse_duration("10s") == 10.0`; also "500ms", "5m", "1h30m", "1.5s" and plain
numbers of seconds, as in cluster.yaml.
"""

from __future__ import annotations

import re
from typing import Any

_UNIT = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(v: Any) -> float:
    """Seconds from a Go duration string or a number of seconds; ValueError otherwise."""
    if isinstance(v, bool):
        raise ValueError(f"invalid duration {v!r}")
    if isinstance(v, (int, float)):
        if v < 0:
            raise ValueError(f"invalid duration {v!r}: must not be negative")
        return float(v)
    s = str(v).strip()
    try:
        return parse_duration(float(s))
    except ValueError:
        pass
    pos, total = 0, 0.0
    for m in _UNIT.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _SECONDS[m.group(2)]
        pos = m.end()
    if not s or pos != len(s):
        raise ValueError(f"invalid duration {v!r}")
    return total
