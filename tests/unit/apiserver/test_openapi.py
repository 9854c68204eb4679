"""The OpenAPI documents (actors/apiserver/openapi.py), read by the real kubectl.

The pure tests check the documents' shape: every served kind has a definition with its
GVK, refs resolve, the write operations take `fieldValidation`, the v2 protobuf decodes
to the same document. The kubectl tests start a stub apiserver in-process (aiohttp on
127.0.0.1, a random port: minimal discovery, the documents, a dict of objects) and run
the real kubectl against it: `explain` for every served kind, `apply` of a new and of an
existing object (which documents it fetches, what it sends), and `apply` of a
`kind: List` (client-side validation from the v2 protobuf).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

from actors.api.resources import RESOURCES
from actors.apiserver import openapi

aiohttp_web = pytest.importorskip("aiohttp.web")
pytest.importorskip("kubernetes.client.models")

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="the real kubectl is not on PATH")

CORE = "io.k8s.api.core.v1"
META = "io.k8s.apimachinery.pkg.apis.meta.v1"


# --------------------------------------------------------------------------------------
# The documents
# --------------------------------------------------------------------------------------

SERVED_GVS = sorted({(r.group, r.version) for r in RESOURCES.values()})


def _all_refs(node: Any) -> list[str]:
    return list(openapi._refs(node))


def test_every_served_kind_and_its_list_has_a_definition_with_its_gvk() -> None:
    defs = openapi.definitions()
    for r in RESOURCES.values():
        for kind in (r.kind, r.list_kind):
            name = openapi.definition_for(r.api_version, kind)
            assert name is not None, f"{r.api_version} {kind}"
            assert name.endswith("." + kind)
            assert defs[name]["type"] == "object"


@pytest.mark.parametrize("name,gvk", [
    pytest.param(f"{CORE}.Pod", {"group": "", "kind": "Pod", "version": "v1"}, id="pod"),
    pytest.param(f"{CORE}.Event", {"group": "", "kind": "Event", "version": "v1"}, id="event"),
    pytest.param("io.k8s.api.apps.v1.Deployment",
                 {"group": "apps", "kind": "Deployment", "version": "v1"}, id="deployment"),
    pytest.param("io.k8s.api.coordination.v1.Lease",
                 {"group": "coordination.k8s.io", "kind": "Lease", "version": "v1"}, id="lease"),
    pytest.param("io.k8s.api.policy.v1.Eviction",
                 {"group": "policy", "kind": "Eviction", "version": "v1"}, id="eviction"),
    pytest.param("io.k8s.api.autoscaling.v1.Scale",
                 {"group": "autoscaling", "kind": "Scale", "version": "v1"}, id="scale"),
    pytest.param(f"{CORE}.Binding", {"group": "", "kind": "Binding", "version": "v1"},
                 id="binding"),
    pytest.param(f"{META}.Status", {"group": "", "kind": "Status", "version": "v1"},
                 id="status"),
    pytest.param(f"{META}.DeleteOptions", {"group": "apps", "kind": "DeleteOptions",
                                           "version": "v1"}, id="deleteoptions"),
])
def test_upstream_names_and_gvks(name: str, gvk: dict[str, str]) -> None:
    assert gvk in openapi.definitions()[name]["x-kubernetes-group-version-kind"]


def test_fields_types_descriptions_and_required() -> None:
    defs = openapi.definitions()
    spec = defs[f"{CORE}.PodSpec"]
    containers = spec["properties"]["containers"]
    assert containers["type"] == "array"
    assert containers["items"] == {"$ref": f"#/components/schemas/{CORE}.Container"}
    assert "containers" in containers["description"].lower()
    assert "containers" in spec["required"]
    c = defs[f"{CORE}.Container"]
    assert c["required"] == ["name"]
    assert c["properties"]["image"]["type"] == "string"
    assert c["properties"]["envFrom"]["type"] == "array"          # JSON names, not Python's
    assert defs[f"{META}.ListMeta"]["properties"]["continue"]["type"] == "string"
    # a field whose type is a definition: the type's description beside the $ref
    tmpl = defs["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["template"]
    assert tmpl["$ref"].endswith(f"{CORE}.PodTemplateSpec")
    assert tmpl["description"] == defs[f"{CORE}.PodTemplateSpec"]["description"]
    assert defs[f"{CORE}.Pod"]["description"].startswith("Pod is a collection of containers")


@pytest.mark.parametrize("owner,prop,target", [
    pytest.param(f"{CORE}.ResourceRequirements", "limits", openapi.QUANTITY, id="limits"),
    pytest.param(f"{CORE}.EmptyDirVolumeSource", "sizeLimit", openapi.QUANTITY, id="sizeLimit"),
    pytest.param("io.k8s.api.apps.v1.RollingUpdateDeployment", "maxSurge",
                 openapi.INT_OR_STRING, id="maxSurge"),
    pytest.param(f"{CORE}.ServicePort", "targetPort", openapi.INT_OR_STRING, id="targetPort"),
    pytest.param(f"{META}.ObjectMeta", "creationTimestamp", openapi.TIME, id="time"),
    pytest.param("io.k8s.api.coordination.v1.LeaseSpec", "renewTime", openapi.MICRO_TIME,
                 id="microtime"),
])
def test_go_scalar_types(owner: str, prop: str, target: str) -> None:
    schema = openapi.definitions()[owner]["properties"][prop]
    assert f"#/components/schemas/{target}" in _all_refs(schema) or \
        target in _all_refs(schema)


def test_int_or_string_and_quantity_in_v3_and_v2() -> None:
    v3 = openapi.definitions()
    assert v3[openapi.INT_OR_STRING]["format"] == "int-or-string"
    assert {"type": "integer"} in v3[openapi.INT_OR_STRING]["oneOf"]
    assert "type" not in v3[openapi.QUANTITY]        # explain prints <Quantity>
    v2 = openapi.v2_document()["definitions"]
    assert v2[openapi.INT_OR_STRING] | {"description": ""} == {
        "description": "", "format": "int-or-string", "type": "string"}
    assert v2[openapi.QUANTITY]["type"] == "string"


@pytest.mark.parametrize("group,version", SERVED_GVS)
def test_v3_document_is_closed_and_has_the_gv_paths(group: str, version: str) -> None:
    doc = openapi.v3_document(group, version)
    assert doc is not None
    assert doc["openapi"].startswith("3.")
    schemas = doc["components"]["schemas"]
    for ref in _all_refs(doc):
        assert ref in schemas, ref
    prefix = f"/apis/{group}/{version}/" if group else f"/api/{version}/"
    assert doc["paths"] and all(p.startswith(prefix) for p in doc["paths"])
    for r in RESOURCES.values():
        if (r.group, r.version) != (group, version):
            continue
        ns = "namespaces/{namespace}/" if r.namespaced else ""
        item = doc["paths"][f"{prefix}{ns}{r.plural}/{{name}}"]
        for method in ("post", "put", "patch"):
            op = item.get(method) or doc["paths"][f"{prefix}{ns}{r.plural}"][method]
            names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
            assert {"fieldValidation", "dryRun", "fieldManager"} <= names, (r.plural, method)
        patch = item["patch"]
        assert patch["x-kubernetes-group-version-kind"] == {
            "group": r.group, "kind": r.kind, "version": r.version}
        assert "application/strategic-merge-patch+json" in patch["requestBody"]["content"]


def test_subresource_paths() -> None:
    core = openapi.v3_document("", "v1")
    assert core is not None
    ev = core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}/eviction"]["post"]
    assert ev["x-kubernetes-group-version-kind"] == {"group": "policy", "kind": "Eviction",
                                                     "version": "v1"}
    assert "io.k8s.api.policy.v1.Eviction" in core["components"]["schemas"]
    assert "/api/v1/namespaces/{namespace}/pods/{name}/binding" in core["paths"]
    apps = openapi.v3_document("apps", "v1")
    assert apps is not None
    scale = apps["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale"]
    assert set(scale) >= {"get", "put", "patch", "parameters"}
    assert "io.k8s.api.autoscaling.v1.Scale" in apps["components"]["schemas"]


def test_v3_index_and_hashes() -> None:
    idx = openapi.v3_index("/prefix")
    assert set(idx["paths"]) == {openapi.gv_key(g, v) for g, v in SERVED_GVS}
    for g, v in SERVED_GVS:
        url = idx["paths"][openapi.gv_key(g, v)]["serverRelativeURL"]
        assert url == f"/prefix/openapi/v3/{openapi.gv_key(g, v)}?hash={openapi.v3_hash(g, v)}"
        body = openapi.v3_document_bytes(g, v)
        assert body is not None and json.loads(body) == openapi.v3_document(g, v)
    assert openapi.v3_document("batch", "v1") is None
    assert openapi.v3_hash("batch", "v1") is None


def test_v2_document_is_swagger_2() -> None:
    v2 = openapi.v2_document()
    assert v2["swagger"] == "2.0"
    text = openapi.v2_document_bytes().decode()
    assert "#/components/" not in text and '"allOf"' not in text and '"oneOf"' not in text
    for ref in _all_refs(v2):
        assert ref in v2["definitions"], ref
    assert json.loads(text) == v2
    # every served path, one document
    for g, v in SERVED_GVS:
        doc = openapi.v3_document(g, v)
        assert doc is not None and set(doc["paths"]) <= set(v2["paths"])
    post = v2["paths"]["/api/v1/namespaces/{namespace}/pods"]["post"]
    body = [p for p in post["parameters"] if p["in"] == "body"]
    assert body == [{"in": "body", "name": "body", "required": True,
                     "schema": {"$ref": f"#/definitions/{CORE}.Pod"}}]
    assert openapi.v2_etag() == f'"{openapi._hash(openapi.v2_document_bytes())}"'


def test_v2_protobuf_decodes_to_the_json_document() -> None:
    from protos.openapipb import openapiv2_pb2

    doc = openapiv2_pb2.Document()
    doc.ParseFromString(openapi.v2_protobuf())
    v2 = openapi.v2_document()
    assert doc.swagger == "2.0"
    defs = {d.name: d.value for d in doc.definitions.additional_properties}
    assert set(defs) == set(v2["definitions"])
    pod = defs[f"{CORE}.Pod"]
    assert list(pod.type.value) == ["object"]
    ext = {e.name: json.loads(e.value.yaml) for e in pod.vendor_extension}
    assert ext["x-kubernetes-group-version-kind"] == [{"group": "", "kind": "Pod",
                                                       "version": "v1"}]
    props = {p.name: p.value for p in pod.properties.additional_properties}
    assert getattr(props["spec"], "_ref") == f"#/definitions/{CORE}.PodSpec"
    spec = {p.name: p.value for p in defs[f"{CORE}.PodSpec"].properties.additional_properties}
    assert getattr(spec["containers"].items.schema[0], "_ref") == f"#/definitions/{CORE}.Container"
    paths = {p.name: p.value for p in doc.paths.path}
    patch = paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"].patch
    qnames = {p.parameter.non_body_parameter.query_parameter_sub_schema.name
              for p in patch.parameters}
    assert "fieldValidation" in qnames
    assert len(paths) == len(v2["paths"])


def test_v2_protobuf_field_numbers_are_gnostics() -> None:
    """Tag bytes worked out by hand from gnostic's OpenAPIv2.proto: Document.swagger = 1,
    .definitions = 9; Definitions.additional_properties = 1; NamedSchema.name = 1,
    .value = 2; Schema.description = 4, .type = 22 (TypeItem.value = 1)."""
    from protos.openapipb import openapiv2_pb2 as pb

    d = pb.Document(swagger="2.0")
    s = pb.Schema(description="d")
    s.type.value.append("object")
    d.definitions.additional_properties.append(pb.NamedSchema(name="n", value=s))
    want = (b"\x0a\x032.0"                       # 1: swagger
            + b"\x4a\x15"                        # 9: definitions (21 bytes)
            + b"\x0a\x13"                        #   1: NamedSchema (19 bytes)
            + b"\x0a\x01n"                       #     1: name
            + b"\x12\x0e"                        #     2: Schema (14 bytes)
            + b"\x22\x01d"                       #       4: description
            + b"\xb2\x01\x08\x0a\x06object")     #       22 (2-byte tag): TypeItem{1: "object"}
    assert d.SerializeToString() == want


def test_patch_metadata_comes_from_list_meta() -> None:
    calls: list[tuple[str, tuple[str, ...]]] = []

    def list_meta(kind: str, path: tuple[str, ...]) -> tuple[str, str | None] | None:
        calls.append((kind, path))
        if path == ("spec", "containers"):
            return ("merge", "name")
        if path == ("metadata", "finalizers"):
            return ("merge", None)
        return None

    defs = openapi.build_definitions(list_meta)
    containers = defs[f"{CORE}.PodSpec"]["properties"]["containers"]
    assert containers["x-kubernetes-patch-merge-key"] == "name"
    assert containers["x-kubernetes-patch-strategy"] == "merge"
    fin = defs[f"{META}.ObjectMeta"]["properties"]["finalizers"]
    assert fin["x-kubernetes-patch-strategy"] == "merge"
    assert "x-kubernetes-patch-merge-key" not in fin
    assert "x-kubernetes-patch-strategy" not in defs[f"{CORE}.Container"]["properties"]["args"]
    # the PodSpec is reached first from the Pod (served kinds come first)
    assert ("Pod", ("spec", "containers")) in calls
    assert ("Pod", ("spec", "containers", "ports")) in calls


def test_patch_metadata_from_definition_meta_covers_every_field() -> None:
    def definition_meta(definition: str) -> dict[str, tuple[str, str]]:
        return {f"{CORE}.Container": {"env": ("merge", "name")},
                "io.k8s.api.apps.v1.DeploymentSpec": {"strategy": ("retainKeys", "")},
                }.get(definition, {})

    defs = openapi.build_definitions(definition_meta=definition_meta)
    env = defs[f"{CORE}.Container"]["properties"]["env"]
    assert (env["x-kubernetes-patch-strategy"], env["x-kubernetes-patch-merge-key"]) == \
        ("merge", "name")
    strategy = defs["io.k8s.api.apps.v1.DeploymentSpec"]["properties"]["strategy"]
    assert strategy["x-kubernetes-patch-strategy"] == "retainKeys"     # not a list
    assert "x-kubernetes-patch-merge-key" not in strategy


def test_served_documents_carry_the_servers_patch_metadata() -> None:
    sp = pytest.importorskip("actors.api.strategicpatch")
    defs = openapi.definitions()
    for definition in sp.DEFINITIONS:
        for prop, (strategy, key) in sp.definition_meta(definition).items():
            schema = defs[definition]["properties"][prop]
            assert schema["x-kubernetes-patch-strategy"] == strategy, (definition, prop)
            assert schema.get("x-kubernetes-patch-merge-key", "") == key, (definition, prop)
    v2 = openapi.v2_document()["definitions"][f"{CORE}.PodSpec"]["properties"]["containers"]
    assert v2["x-kubernetes-patch-merge-key"] == "name"


def test_unknown_fields() -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": "web", "labels": {"any": "thing"}, "nmae": "x"},
              "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                       "strategy": {"rollingUpdate": {"maxSurge": "25%"}},
                       "template": {"spec": {"containers": [
                           {"name": "a", "image": "nginx", "resources": {"limits": {"cpu": 1}}},
                           {"name": "b", "imagee": "nginx"}]}}}}
    assert openapi.unknown_fields(deploy) == ["metadata.nmae",
                                              "spec.template.spec.containers[1].imagee"]
    assert openapi.unknown_fields({"apiVersion": "v1", "kind": "ConfigMap",
                                   "data": {"k": "v"}}) == []
    assert openapi.unknown_fields({"apiVersion": "batch/v1", "kind": "Job", "x": 1}) == []


# ---- older (pre-pydantic) client models ----------------------------------------------

class V1Legacy:
    """NOTE: This class is auto generated by OpenAPI Generator.
    Ref: https://openapi-generator.tech

    Do not edit the class manually.
    """

    openapi_types = {"name": "str", "ports": "list[V1ContainerPort]",
                     "labels": "dict(str, str)"}
    attribute_map = {"name": "name", "ports": "ports", "labels": "labels"}

    def __init__(self) -> None:
        self._name: str | None = None

    @property
    def name(self) -> str | None:
        """Gets the name of this V1Legacy.  # noqa: E501

        Name of the thing.  # noqa: E501

        :return: The name of this V1Legacy.  # noqa: E501
        :rtype: str
        """
        return self._name

    @name.setter
    def name(self, name: str | None) -> None:
        if name is None:  # noqa: E501
            raise ValueError("Invalid value for `name`, must not be `None`")  # noqa: E501
        self._name = name

    @property
    def ports(self) -> None:
        """Gets the ports of this V1Legacy.  # noqa: E501


        :return: The ports of this V1Legacy.  # noqa: E501
        :rtype: list[V1ContainerPort]
        """
        return None


def test_legacy_client_models_are_read_too() -> None:
    fields = {f.json_name: f for f in openapi.model_fields(V1Legacy)}
    assert fields["name"] == openapi.ModelField("name", "str", "Name of the thing.", True, False)
    assert fields["ports"].description == "" and not fields["ports"].required
    b = openapi._Builder(None)
    assert b._type("list[V1ContainerPort]", None) == {
        "type": "array", "items": {"$ref": f"#/components/schemas/{CORE}.ContainerPort"}}
    assert b._type("dict(str, str)", None) == {"type": "object",
                                               "additionalProperties": {"type": "string"}}
    assert openapi.model_description(V1Legacy) == ""


# --------------------------------------------------------------------------------------
# The real kubectl against a stub apiserver
# --------------------------------------------------------------------------------------

@dataclass
class Stub:
    url: str = ""
    kubeconfig: Path = Path()
    cache: Path = Path()
    requests: list[tuple[str, str, str, bytes]] = field(default_factory=list)
    objects: dict[str, dict[str, Any]] = field(default_factory=dict)   # path → object

    def kubectl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        assert KUBECTL is not None
        p = subprocess.run([KUBECTL, "--kubeconfig", str(self.kubeconfig),
                            "--cache-dir", str(self.cache), *args],
                           capture_output=True, text=True, timeout=30)
        if check:
            assert p.returncode == 0, p.stdout + p.stderr
        return p

    def paths_of(self, method: str) -> list[str]:
        return [pq for m, pq, _, _ in self.requests if m == method]


def _resource_list(group: str, version: str) -> dict[str, Any]:
    res = []
    for r in RESOURCES.values():
        if (r.group, r.version) == (group, version):
            res.append({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                        "kind": r.kind, "shortNames": list(r.short_names),
                        "verbs": ["create", "delete", "deletecollection", "get", "list",
                                  "patch", "update", "watch"]})
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
            "resources": res}


def _not_found(path: str) -> Any:
    return aiohttp_web.json_response(
        {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
         "message": f"{path} not found", "reason": "NotFound", "code": 404}, status=404)


def _make_app(stub: Stub) -> Any:
    groups = sorted({r.group for r in RESOURCES.values() if r.group})

    async def handle(request: Any) -> Any:
        body = await request.read()
        stub.requests.append((request.method, request.path_qs,
                              request.headers.get("Content-Type", ""), body))
        path = request.path
        if path == "/version":
            return aiohttp_web.json_response({"major": "1", "minor": "32",
                                              "gitVersion": "v1.32.0"})
        if path == "/api":
            return aiohttp_web.json_response({"kind": "APIVersions", "versions": ["v1"]})
        if path == "/apis":
            gs = []
            for g in groups:
                gv = {"groupVersion": f"{g}/v1", "version": "v1"}
                gs.append({"name": g, "versions": [gv], "preferredVersion": gv})
            return aiohttp_web.json_response({"kind": "APIGroupList", "apiVersion": "v1",
                                              "groups": gs})
        if path == "/api/v1":
            return aiohttp_web.json_response(_resource_list("", "v1"))
        parts = path.strip("/").split("/")
        if len(parts) == 3 and parts[0] == "apis":
            return aiohttp_web.json_response(_resource_list(parts[1], parts[2]))
        if path == "/openapi/v3":
            return aiohttp_web.json_response(openapi.v3_index())
        if path.startswith("/openapi/v3/"):
            rest = path[len("/openapi/v3/"):].split("/")
            data = (openapi.v3_document_bytes("", rest[1]) if rest[0] == "api" and len(rest) == 2
                    else openapi.v3_document_bytes(rest[1], rest[2]) if len(rest) == 3
                    else None)
            if data is None:
                return _not_found(path)
            return aiohttp_web.Response(body=data, content_type="application/json")
        if path == "/openapi/v2":
            if "protobuf" in request.headers.get("Accept", ""):
                return aiohttp_web.Response(body=openapi.v2_protobuf(), headers={
                    "Content-Type": openapi.V2_PROTOBUF_CONTENT_TYPE})
            return aiohttp_web.Response(body=openapi.v2_document_bytes(),
                                        content_type="application/json")
        if request.method == "GET":
            obj = stub.objects.get(path)
            return aiohttp_web.json_response(obj) if obj else _not_found(path)
        if request.method == "POST":
            obj = json.loads(body)
            obj.setdefault("metadata", {}).update(resourceVersion="1", uid="u-1")
            stub.objects[f"{path}/{obj['metadata']['name']}"] = obj
            return aiohttp_web.json_response(obj, status=201)
        if request.method == "PATCH" and path in stub.objects:
            return aiohttp_web.json_response(stub.objects[path])
        return _not_found(path)

    app = aiohttp_web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stub]:
    if KUBECTL is None:
        pytest.skip("the real kubectl is not on PATH")
    tmp = tmp_path_factory.mktemp("openapi-kubectl")
    st = Stub(cache=tmp / "cache")
    loop = asyncio.new_event_loop()
    started = threading.Event()
    runner: Any = None

    async def start() -> None:
        nonlocal runner
        runner = aiohttp_web.AppRunner(_make_app(st), access_log=None)
        await runner.setup()
        site = aiohttp_web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        st.url = f"http://127.0.0.1:{port}"

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, name="openapi-stub", daemon=True)
    thread.start()
    assert started.wait(10)
    st.kubeconfig = tmp / "kubeconfig"
    st.kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\n"
        f"clusters: [{{name: stub, cluster: {{server: '{st.url}'}}}}]\n"
        "users: [{name: stub, user: {token: t0ken}}]\n"
        "contexts: [{name: stub, context: {cluster: stub, user: stub, namespace: default}}]\n"
        "current-context: stub\n")
    # build the documents before kubectl's first request (~1 s)
    openapi.v3_index()
    openapi.v2_protobuf()
    try:
        yield st
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


@needs_kubectl
def test_kubectl_explain_pod_spec_containers(stub: Stub) -> None:
    out = stub.kubectl("explain", "pod.spec.containers").stdout
    assert "KIND:       Pod\nVERSION:    v1\n" in out
    assert "FIELD: containers <[]Container>" in out
    assert "DESCRIPTION:\n    List of containers belonging to the pod." in out
    assert "A single application container that you want to run within a pod." in out
    assert "  name\t<string> -required-\n" in out
    assert "  resources\t<ResourceRequirements>\n" in out
    assert "  ports\t<[]ContainerPort>\n" in out
    assert "<no description>" not in out
    limits = stub.kubectl("explain", "pod.spec.containers.resources.limits").stdout
    assert "FIELD: limits <map[string]Quantity>" in limits


@needs_kubectl
def test_kubectl_explain_deployment_spec_strategy(stub: Stub) -> None:
    out = stub.kubectl("explain", "deployment.spec.strategy").stdout
    assert out.startswith("GROUP:      apps\nKIND:       Deployment\nVERSION:    v1\n")
    assert "FIELD: strategy <DeploymentStrategy>" in out
    assert "DeploymentStrategy describes how to replace existing pods with new ones." in out
    assert "  rollingUpdate\t<RollingUpdateDeployment>\n" in out
    assert "  type\t<string>\n" in out
    surge = stub.kubectl("explain", "deploy.spec.strategy.rollingUpdate.maxSurge").stdout
    assert "FIELD: maxSurge <IntOrString>" in surge


@needs_kubectl
def test_kubectl_explain_every_served_kind(stub: Stub) -> None:
    assert KUBECTL is not None
    procs = {r.plural: subprocess.Popen(
        [KUBECTL, "--kubeconfig", str(stub.kubeconfig), "--cache-dir", str(stub.cache),
         "explain", r.plural], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in RESOURCES.values()}
    for plural, p in procs.items():
        out, err = p.communicate(timeout=30)
        r = RESOURCES[plural]
        assert p.returncode == 0, f"{plural}: {err}"
        assert f"KIND:       {r.kind}\nVERSION:    {r.version}\n" in out, out
        assert "\nFIELDS:\n" in out and "  metadata\t<ObjectMeta>" in out, out


DEPLOY = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        resources: {limits: {cpu: 1, memory: 64Mi}}
"""


@needs_kubectl
def test_kubectl_apply_uses_v3_and_server_side_field_validation(stub: Stub,
                                                                tmp_path: Path) -> None:
    f = tmp_path / "deploy.yaml"
    f.write_text(DEPLOY)
    stub.requests.clear()
    p = stub.kubectl("apply", "-f", str(f))
    assert "deployment.apps/web created" in p.stdout
    gets = stub.paths_of("GET")
    assert any(g.startswith("/openapi/v3?") or g == "/openapi/v3" for g in gets), gets
    assert any(g.startswith("/openapi/v3/apis/apps/v1?hash=") for g in gets), gets
    assert not any(g.startswith("/openapi/v2") for g in gets), gets    # v3 is enough
    posts = stub.paths_of("POST")
    assert len(posts) == 1 and posts[0].startswith("/apis/apps/v1/namespaces/default/deployments?")
    assert "fieldValidation=Strict" in posts[0]

    # the object exists now: apply computes a strategic merge patch from the v3 schema
    f.write_text(DEPLOY.replace("replicas: 2", "replicas: 3"))
    stub.requests.clear()
    p = stub.kubectl("apply", "-f", str(f))
    assert "error calculating patch" not in p.stderr, p.stderr
    patches = [(pq, ct, body) for m, pq, ct, body in stub.requests if m == "PATCH"]
    assert len(patches) == 1, stub.requests
    pq, ct, body = patches[0]
    assert pq.startswith("/apis/apps/v1/namespaces/default/deployments/web?")
    assert ct == "application/strategic-merge-patch+json"
    assert json.loads(body)["spec"] == {"replicas": 3}
    assert not any(g.startswith("/openapi/v2") for g in stub.paths_of("GET"))


@needs_kubectl
def test_kubectl_validates_a_list_client_side_with_the_v2_protobuf(stub: Stub,
                                                                    tmp_path: Path) -> None:
    """A `kind: List` names no PATCH operation, so kubectl validates it itself: from the
    v2 document, fetched as gnostic protobuf."""
    f = tmp_path / "list.yaml"
    f.write_text("apiVersion: v1\nkind: List\nitems:\n"
                 "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: good}\n"
                 "  data: {k: v}\n")
    stub.requests.clear()
    p = stub.kubectl("apply", "-f", str(f))
    assert "configmap/good created" in p.stdout
    v2 = [(pq, ct) for m, pq, ct, _ in stub.requests if m == "GET" and pq.startswith("/openapi/v2")]
    assert v2, stub.requests

    f.write_text("apiVersion: v1\nkind: List\nitems:\n"
                 "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: bad}\n"
                 "  dataa: {k: v}\n")
    p = stub.kubectl("apply", "-f", str(f), check=False)
    assert p.returncode != 0
    assert 'unknown field "dataa"' in p.stderr, p.stderr
