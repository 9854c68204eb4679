"""List/watch filtering: namespace, label selector, field selector (pure).

Selectors are actors.api.selectors'; field selectors are evaluated over each kind's
selectable fields (upstream's `GetAttrs`), and a field the kind does not support is a
400 `field label not supported: x`, as the apiserver answers.
"""

from __future__ import annotations

from typing import Any, Callable

from actors.api import errors
from actors.api.resources import ResourceInfo

JSON = dict[str, Any]


def label_matcher(label_selector: str) -> Callable[[JSON], bool] | None:
    if not label_selector.strip():
        return None
    from actors.api.selectors import parse_label_selector

    try:
        sel = parse_label_selector(label_selector)
    except ValueError as e:
        raise errors.bad_request(str(e)) from None
    if sel.empty:
        return None

    def match(obj: JSON) -> bool:
        return bool(sel.matches(((obj.get("metadata") or {}).get("labels")) or {}))
    return match


def field_matcher(info: ResourceInfo, field_selector: str) -> Callable[[JSON], bool] | None:
    if not field_selector.strip():
        return None
    from actors.api.selectors import parse_field_selector

    try:
        sel = parse_field_selector(field_selector)
        sel.check_supported(info.kind)
    except ValueError as e:
        raise errors.bad_request(str(e)) from None
    if sel.empty:
        return None
    return sel.matches


def make_filter(info: ResourceInfo, namespace: str, label_selector: str = "",
                field_selector: str = "") -> Callable[[JSON], bool]:
    """One predicate for a list or a watch: namespace, then labels, then fields."""
    lm = label_matcher(label_selector)
    fm = field_matcher(info, field_selector)
    ns = namespace if info.namespaced else ""

    def match(obj: JSON) -> bool:
        if ns and (obj.get("metadata") or {}).get("namespace") != ns:
            return False
        if lm is not None and not lm(obj):
            return False
        if fm is not None and not fm(obj):
            return False
        return True
    return match
