"""RFC 7386 (merge patch) and RFC 6902 (JSON patch) test vectors, and the apiserver's errors."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from actors.api.errors import APIError
from actors.api.patch import create_merge_patch, json_patch, merge_patch, strategic_merge_patch

# RFC 7386 Appendix A, in order
MERGE = [
    pytest.param({"a": "b"}, {"a": "c"}, {"a": "c"}, id="A1-replace"),
    pytest.param({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}, id="A2-add"),
    pytest.param({"a": "b"}, {"a": None}, {}, id="A3-delete"),
    pytest.param({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}, id="A4-delete-one"),
    pytest.param({"a": ["b"]}, {"a": "c"}, {"a": "c"}, id="A5-array-to-string"),
    pytest.param({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}, id="A6-string-to-array"),
    pytest.param({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}, id="A7-nested"),
    pytest.param({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}, id="A8-arrays-replaced"),
    pytest.param(["a", "b"], ["c", "d"], ["c", "d"], id="A9-array-doc"),
    pytest.param({"a": "b"}, ["c"], ["c"], id="A10-array-patch"),
    pytest.param({"a": "foo"}, None, None, id="A11-null-patch"),
    pytest.param({"a": "foo"}, "bar", "bar", id="A12-string-patch"),
    pytest.param({"e": None}, {"a": 1}, {"e": None, "a": 1}, id="A13-null-in-target-kept"),
    pytest.param([1, 2], {"a": "b", "c": None}, {"a": "b"}, id="A14-array-target"),
    pytest.param({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}, id="A15-deep-null"),
]


@pytest.mark.parametrize("target,patch,want", MERGE)
def test_merge_patch(target: Any, patch: Any, want: Any) -> None:
    before = copy.deepcopy(target)
    assert merge_patch(target, patch) == want
    assert target == before, "target must not be modified"


def test_create_merge_patch_roundtrip() -> None:
    a = {"metadata": {"labels": {"a": "1", "b": "2"}}, "spec": {"replicas": 1, "x": [1]}}
    b = {"metadata": {"labels": {"a": "1", "c": "3"}}, "spec": {"replicas": 2, "x": [1]}}
    p = create_merge_patch(a, b)
    assert p == {"metadata": {"labels": {"b": None, "c": "3"}}, "spec": {"replicas": 2}}
    assert merge_patch(a, p) == b


# RFC 6902 Appendix A (A.13, a duplicate key in the patch text, is a JSON parsing matter)
JSON_OK = [
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}],
                 {"baz": "qux", "foo": "bar"}, id="A1-add-member"),
    pytest.param({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}],
                 {"foo": ["bar", "qux", "baz"]}, id="A2-add-element"),
    pytest.param({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}],
                 {"foo": "bar"}, id="A3-remove-member"),
    pytest.param({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}],
                 {"foo": ["bar", "baz"]}, id="A4-remove-element"),
    pytest.param({"baz": "qux", "foo": "bar"}, [{"op": "replace", "path": "/baz", "value": "boo"}],
                 {"baz": "boo", "foo": "bar"}, id="A5-replace"),
    pytest.param({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
                 [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
                 {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}, id="A6-move"),
    pytest.param({"foo": ["all", "grass", "cows", "eat"]}, [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
                 {"foo": ["all", "cows", "eat", "grass"]}, id="A7-move-element"),
    pytest.param({"baz": "qux", "foo": ["a", 2, "c"]},
                 [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
                 {"baz": "qux", "foo": ["a", 2, "c"]}, id="A8-test"),
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
                 {"foo": "bar", "child": {"grandchild": {}}}, id="A10-add-nested"),
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux", "xyz": 123}],
                 {"foo": "bar", "baz": "qux"}, id="A11-ignore-unknown-members"),
    pytest.param({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}],
                 {"/": 9, "~1": 10}, id="A14-escape-ordering"),
    pytest.param({"foo": ["bar"]}, [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
                 {"foo": ["bar", ["abc", "def"]]}, id="A16-append-array"),
    # more
    pytest.param({"a/b": 1}, [{"op": "replace", "path": "/a~1b", "value": 2}], {"a/b": 2}, id="slash-escape"),
    pytest.param({"a": {"b": 1}}, [{"op": "copy", "from": "/a", "path": "/c"}],
                 {"a": {"b": 1}, "c": {"b": 1}}, id="copy"),
    pytest.param({"a": 1}, [{"op": "replace", "path": "", "value": {"b": 2}}], {"b": 2}, id="replace-root"),
    pytest.param({"a": 1}, [{"op": "add", "path": "/a", "value": 5}], {"a": 5}, id="add-replaces-member"),
    pytest.param({"a": [1, 2]}, [{"op": "add", "path": "/a/2", "value": 3}], {"a": [1, 2, 3]},
                 id="add-at-end-index"),
    pytest.param({"a": 1.0}, [{"op": "test", "path": "/a", "value": 1}], {"a": 1.0}, id="test-number-equality"),
    pytest.param({"metadata": {"labels": {"app": "web"}}},
                 [{"op": "test", "path": "/metadata/labels/app", "value": "web"},
                  {"op": "replace", "path": "/metadata/labels/app", "value": "api"}],
                 {"metadata": {"labels": {"app": "api"}}}, id="test-and-set"),
]


@pytest.mark.parametrize("target,ops,want", JSON_OK)
def test_json_patch(target: Any, ops: list[dict[str, Any]], want: Any) -> None:
    before = copy.deepcopy(target)
    assert json_patch(target, ops) == want
    assert target == before


JSON_FAIL = [
    pytest.param({"baz": "qux"}, [{"op": "test", "path": "/baz", "value": "bar"}],
                 "testing value /baz failed: test failed", id="A9-test-fails"),
    pytest.param({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}],
                 'add operation does not apply: doc is missing path: "/baz/bat": missing value',
                 id="A12-add-nonexistent-parent"),
    pytest.param({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": "10"}],
                 "testing value /~01 failed: test failed", id="A15-string-vs-number"),
    pytest.param({"a": 1}, [{"op": "remove", "path": "/b"}],
                 'remove operation does not apply: doc is missing path: "/b": missing value', id="remove-missing"),
    pytest.param({"a": 1}, [{"op": "replace", "path": "/b", "value": 1}],
                 "replace operation does not apply: doc is missing key: /b: missing value", id="replace-missing"),
    pytest.param({"a": [1]}, [{"op": "add", "path": "/a/5", "value": 1}],
                 "Unable to access invalid index: 5: invalid index referenced", id="index-out-of-range"),
    pytest.param({"a": [1]}, [{"op": "remove", "path": "/a/01"}],
                 "Unable to access invalid index: 01: invalid index referenced", id="index-leading-zero"),
    pytest.param({"a": 1}, [{"op": "move", "from": "/b", "path": "/c"}],
                 "move operation does not apply: doc is missing from path: /b: missing value", id="move-missing"),
    pytest.param({"a": {"b": {}}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}],
                 "move operation does not apply: cannot move /a into its child /a/b/c", id="move-into-child"),
    pytest.param({"a": 1}, [{"op": "frobnicate", "path": "/a"}], "Unexpected kind: frobnicate", id="unknown-op"),
    pytest.param({"a": 1}, [{"path": "/a"}], "Unexpected kind: unknown", id="missing-op"),
    pytest.param({"a": 1}, [{"op": "add", "value": 1}], "operation missing path field: add", id="missing-path"),
    pytest.param({"a": 1}, [{"op": "replace", "path": "/a", "value": 2}, {"op": "test", "path": "/a", "value": 1}],
                 "testing value /a failed: test failed", id="atomic"),
]


@pytest.mark.parametrize("target,ops,cause", JSON_FAIL)
def test_json_patch_failures_are_422(target: Any, ops: list[dict[str, Any]], cause: str) -> None:
    before = copy.deepcopy(target)
    with pytest.raises(APIError) as e:
        json_patch(target, ops)
    assert e.value.code == 422
    assert e.value.reason == "Invalid"
    assert e.value.message == "the server rejected our request due to an error in our request"
    assert e.value.causes[0]["message"] == cause
    assert target == before


@pytest.mark.parametrize("ops,msg", [
    pytest.param({"op": "add", "path": "/a", "value": 1},
                 "json: cannot unmarshal object into Go value of type jsonpatch.Patch", id="object"),
    pytest.param(["add"], "json: cannot unmarshal string into Go value of type jsonpatch.Operation", id="string-op"),
])
def test_json_patch_document_errors_are_400(ops: Any, msg: str) -> None:
    with pytest.raises(APIError) as e:
        json_patch({}, ops)
    assert (e.value.code, e.value.reason, e.value.message) == (400, "BadRequest", msg)


def test_json_patch_accepts_json_text() -> None:
    assert json_patch({"a": 1}, '[{"op":"replace","path":"/a","value":2}]') == {"a": 2}


def test_strategic_merge_patch_delegates_with_the_kind() -> None:
    """Strategic merge patch needs the kind: its lists merge by the kind's merge keys
    (actors/api/strategicpatch.py, tested in test_strategicpatch.py)."""
    pod = {"spec": {"containers": [{"name": "a", "image": "x"}], "tolerations": [{"key": "k"}]}}
    p = {"spec": {"containers": [{"name": "b", "image": "y"}], "tolerations": [{"key": "t"}]}}
    assert strategic_merge_patch(pod, p, "Pod") == {"spec": {
        "containers": [{"name": "b", "image": "y"}, {"name": "a", "image": "x"}],
        "tolerations": [{"key": "t"}]}}
    # a kind with no tags for the field: the list is replaced, as a merge patch would
    assert strategic_merge_patch(pod, p, "ConfigMap") == merge_patch(pod, p)
    with pytest.raises(APIError) as e:
        strategic_merge_patch(pod, {"spec": {"containers": [{"image": "z"}]}}, "Pod")
    assert (e.value.code, e.value.message) == \
        (500, "map: map[image:z] does not contain declared merge key: name")
