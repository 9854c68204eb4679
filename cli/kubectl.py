"""kubectl's everyday commands against a kubemu cluster.

  kubemu apply -f FILE|DIR|-            create, or update what exists (client-side apply)
  kubemu get KIND [NAME...]             tables, -o wide|yaml|json|name, -l, -A, -w
  kubemu describe KIND [NAME...]        kubectl describe, with the object's events
  kubemu delete KIND NAME... | -f FILE | -l SELECTOR
  kubemu scale KIND/NAME --replicas=N
  kubemu label KIND NAME k=v k2-
  kubemu cordon NODE / uncordon NODE

Output and errors are kubectl's, word for word where it matters (`deployment.apps/web
created`, `Error from server (NotFound): pods "x" not found`, `The Deployment "web" is
invalid: ...`): results on stdout, errors on stderr with exit code 1, never a traceback.
Every command takes --name CLUSTER (see cli/context.py).

The commands speak to the apiserver through a synchronous client with the methods of
actors.apiserver.client.APIClient (get/list/create/update/patch/delete/watch/close);
tests swap in a fake through CLIENT_FACTORY.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

import yaml

from actors.api import printers
from actors.api.errors import APIError
from cli.context import ClusterNotFound, resolve_apiserver

Obj = dict[str, Any]

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# How long one request may take, retries while the apiserver is unreachable included
# (kubectl's --request-timeout); $KUBEMU_REQUEST_TIMEOUT overrides.
REQUEST_TIMEOUT = 10.0

# Swappable in tests: the client constructor (address -> client), the clock, the sleep.
CLIENT_FACTORY: Callable[[str], Any] | None = None
CLOCK: Callable[[], float] = time.time
SLEEP: Callable[[float], None] = time.sleep


class CLIError(Exception):
    """An error whose text is already what kubectl prints (on stderr, exit `code`)."""

    def __init__(self, text: str, code: int = 1) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def _fail(msg: str) -> NoReturn:
    raise CLIError(msg if msg.startswith("error: ") else f"error: {msg}")


# ============================================================================ errors


def format_api_error(err: APIError) -> str:
    """cmdutil.CheckErr for one error: the Invalid summary, else StandardErrorMessage."""
    if err.reason == "Invalid":
        details = err.status.get("details")
        if not isinstance(details, dict) or not details:
            msg = "The request is invalid"
            return f"{msg}: {err.message}" if err.message else msg
        s = "The request is invalid"
        if details.get("kind") or details.get("name"):
            s = f'The {details.get("kind", "")} "{details.get("name", "")}" is invalid'
        elif err.causes and err.causes[0].get("field"):
            s = f"The request is invalid: {err.causes[0].get('field')}"
        msgs: list[str] = []
        for c in err.causes:
            m = f"{c.get('field', '')}: {c.get('message', '')}"
            if m not in msgs:
                msgs.append(m)
        if not msgs:
            return s
        if len(msgs) == 1:
            return f"{s}: {msgs[0]}"
        return f"{s}: \n" + "\n".join(f"* {m}" for m in msgs)
    return standard_error_message(err)


def standard_error_message(err: APIError) -> str:
    """cmdutil.StandardErrorMessage of an API error."""
    if err.reason == "Unauthorized":
        return f"error: You must be logged in to the server ({err.message})"
    if err.reason:
        return f"Error from server ({err.reason}): {err.message}"
    return f"Error from server: {err.message}"


def _report(errors: list[APIError | str]) -> int:
    """Print collected errors as kubectl does (one: CheckErr; several: one line each)."""
    if not errors:
        return 0
    if len(errors) == 1:
        e = errors[0]
        print(format_api_error(e) if isinstance(e, APIError) else e, file=sys.stderr)
        return 1
    for e in errors:
        print(standard_error_message(e) if isinstance(e, APIError) else e, file=sys.stderr)
    return 1


def _unreachable(e: APIError) -> bool:
    """The client's verdict on an apiserver it could not reach (503 after its retries)."""
    return e.code == 503 and e.message.startswith("the apiserver is unavailable")


def _collect(errors: list[APIError | str], e: APIError) -> None:
    """Keep an error for the end of the command, unless nothing more can work."""
    if _unreachable(e):
        raise e
    errors.append(e)


def _is_not_found(e: Exception) -> bool:
    return isinstance(e, APIError) and (e.code == 404 or e.reason == "NotFound")


def _with_message(err: APIError, message: str) -> APIError:
    st = copy.deepcopy(err.status)
    st["message"] = message
    return APIError(st)


def _connection_error(e: Exception, address: str) -> str | None:
    try:
        import grpc
    except ImportError:  # pragma: no cover
        return None
    if isinstance(e, grpc.RpcError):
        code = e.code() if hasattr(e, "code") else None
        if code == grpc.StatusCode.UNAVAILABLE:
            return (f"The connection to the server {address} was refused - did you specify "
                    f"the right host or port?")
        details = e.details() if hasattr(e, "details") else str(e)
        return f"error: {details}"
    if isinstance(e, (ConnectionError, OSError)):
        return (f"The connection to the server {address} was refused - did you specify the "
                f"right host or port?")
    return None


# ============================================================================ the client


def _default_client(address: str) -> Any:
    from actors.apiserver.client import SyncAPIClient

    timeout = float(os.environ.get("KUBEMU_REQUEST_TIMEOUT") or REQUEST_TIMEOUT)
    return SyncAPIClient(address, timeout=timeout)


class Ctx:
    """One command's connection: the client, opened on first use."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.address = ""
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            self.address = resolve_apiserver(getattr(self.args, "name", None))
            self._client = (CLIENT_FACTORY or _default_client)(self.address)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass


def _command(fn: Callable[[argparse.Namespace, Ctx], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        ctx = Ctx(args)
        try:
            return int(fn(args, ctx) or 0)
        except CLIError as e:
            if e.text:
                print(e.text, file=sys.stderr)
            return e.code
        except ClusterNotFound as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except APIError as e:
            if _unreachable(e):
                print(f"The connection to the server {ctx.address} was refused - did you "
                      f"specify the right host or port?", file=sys.stderr)
            else:
                print(format_api_error(e), file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            raise
        except BrokenPipeError:
            return 1
        except Exception as e:  # noqa: BLE001 - kubectl prints, never a traceback
            msg = _connection_error(e, ctx.address)
            print(msg or f"error: {e}", file=sys.stderr)
            return 1
        finally:
            ctx.close()

    run.__name__ = fn.__name__
    return run


# ============================================================================ resource arguments


def _resources() -> Any:
    from actors.api import resources

    return resources


def lookup(token: str) -> Any:
    try:
        return _resources().lookup(token)
    except KeyError:
        _fail(f'the server doesn\'t have a resource type "{token}"')


_ALL_CATEGORY = ("pods", "services", "daemonsets", "deployments", "replicasets",
                 "statefulsets", "jobs", "cronjobs")


def _types(token: str, allow_all: bool = False) -> list[Any]:
    out: list[Any] = []
    for t in token.split(","):
        if not t:
            continue
        if allow_all and t.lower() == "all":
            res = _resources().RESOURCES
            out.extend(res[p] for p in _ALL_CATEGORY if p in res)
        else:
            out.append(lookup(t))
    return out


def parse_targets(argv: list[str], *, allow_all: bool = False) -> list[tuple[Any, list[str]]]:
    """`TYPE[,TYPE] [NAME...]` or `TYPE/NAME...` -> [(ResourceInfo, [names])], in order."""
    if not argv:
        _fail("Required resource not specified.")
    if "/" in argv[0]:
        groups: list[tuple[Any, list[str]]] = []
        for a in argv:
            if "/" not in a:
                _fail("there is no need to specify a resource type as a separate argument "
                      "when passing arguments in resource/name form (e.g. 'kubectl get "
                      "resource/<resource_name>' instead of 'kubectl get resource "
                      "resource/<resource_name>'")
            t, _, n = a.partition("/")
            if not n:
                _fail("arguments in resource/name form must have a single resource and name")
            info = lookup(t)
            for gi, names in groups:
                if gi is info:
                    names.append(n)
                    break
            else:
                groups.append((info, [n]))
        return groups
    for a in argv[1:]:
        if "/" in a:
            _fail("there is no need to specify a resource type as a separate argument when "
                  "passing arguments in resource/name form (e.g. 'kubectl get "
                  "resource/<resource_name>' instead of 'kubectl get resource "
                  "resource/<resource_name>'")
    infos = _types(argv[0], allow_all)
    seen: list[Any] = []
    for i in infos:
        if i not in seen:
            seen.append(i)
    return [(i, list(argv[1:])) for i in seen]


def _namespace(args: argparse.Namespace) -> str:
    return getattr(args, "namespace", None) or "default"


def _ns_for(info: Any, args: argparse.Namespace) -> str | None:
    if not info.namespaced:
        return None
    if getattr(args, "all_namespaces", False):
        return None
    return _namespace(args)


def _complete(info: Any, obj: Obj) -> Obj:
    obj.setdefault("apiVersion", info.api_version)
    obj.setdefault("kind", info.kind)
    return obj


def _list(ctx: Ctx, info: Any, ns: str | None, label_selector: str = "",
          field_selector: str = "") -> tuple[list[Obj], str]:
    # in chunks of 500, as kubectl's --chunk-size default
    lst = ctx.client.list_all(info.plural, namespace=ns, label_selector=label_selector or "",
                              field_selector=field_selector or "")
    items = [_complete(info, o) for o in (lst.get("items") or [])]
    rv = str((lst.get("metadata") or {}).get("resourceVersion", ""))
    return items, rv


def _meta(obj: Obj) -> Obj:
    m = obj.get("metadata")
    if not isinstance(m, dict):
        m = obj["metadata"] = {}
    return m


def _ref(info: Any, name: str) -> str:
    return f"{printers.kind_prefix(info)}/{name}"


def _no_resources(args: argparse.Namespace, infos: list[Any]) -> str:
    """kubectl's message when nothing was printed (namespaced kinds name the namespace)."""
    if all(i.namespaced for i in infos) and not getattr(args, "all_namespaces", False):
        return f"No resources found in {_namespace(args)} namespace."
    return "No resources found"


# ============================================================================ output


class _Dumper(yaml.SafeDumper):
    """YAML as kubectl prints it (sigs.k8s.io/yaml): sorted keys, lists not indented
    under their key, double quotes where quoting is needed, literal blocks for
    multi-line strings, no line folding."""

    def choose_scalar_style(self) -> Any:  # type: ignore[override]
        style = super().choose_scalar_style()
        return '"' if style == "'" else style


def _str_representer(dumper: yaml.SafeDumper, s: str) -> Any:
    if "\n" in s:
        return dumper.represent_scalar("tag:yaml.org,2002:str", s, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", s)


_Dumper.add_representer(str, _str_representer)


def to_yaml(obj: Any) -> str:
    return yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False,
                     allow_unicode=True, width=1 << 30)


def to_json(obj: Any) -> str:
    return json.dumps(obj, indent=4, sort_keys=True, ensure_ascii=False) + "\n"


def _as_list(items: list[Obj]) -> Obj:
    return {"apiVersion": "v1", "items": items, "kind": "List",
            "metadata": {"resourceVersion": ""}}


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


# ============================================================================ get


def cmd_get(args: argparse.Namespace, ctx: Ctx) -> int:
    targets = parse_targets(args.targets, allow_all=True)
    output = args.output = (args.output or "").lstrip("=")  # `-o=yaml` as well as `-o yaml`
    if output not in ("", "wide", "yaml", "json", "name"):
        _fail(f'unable to match a printer suitable for the output format "{output}", allowed '
              f"formats are: json,name,wide,yaml")
    if args.watch or args.watch_only:
        if len(targets) != 1:
            _fail("you may only specify a single resource type")
        return _get_watch(args, ctx, targets[0][0], targets[0][1])
    now = CLOCK()
    errors: list[APIError | str] = []
    found: list[tuple[Any, list[Obj]]] = []
    by_name = False
    for info, names in targets:
        ns = _ns_for(info, args)
        if names:
            by_name = True
            if ns is None and info.namespaced:
                ns = _namespace(args)  # names with -A: kubectl looks in the current namespace
            objs = []
            for n in names:
                try:
                    objs.append(_complete(info, ctx.client.get(info.plural, n, namespace=ns)))
                except APIError as e:
                    _collect(errors, e)
            found.append((info, objs))
        else:
            objs, _rv = _list(ctx, info, ns, args.selector, args.field_selector)
            found.append((info, objs))
    all_objs = [o for _i, objs in found for o in objs]
    if output in ("yaml", "json"):
        single = by_name and len(targets) == 1 and len(targets[0][1]) == 1 and len(all_objs) == 1
        if all_objs or not errors:
            doc = all_objs[0] if single else _as_list(all_objs)
            _out(to_yaml(doc) if output == "yaml" else to_json(doc))
    elif output == "name":
        _out("".join(f"{_ref(i, printers._name(o))}\n" for i, objs in found for o in objs))
    else:
        # kubectl prints kind/name when the objects found are of several kinds
        with_kind = args.show_kind or len([1 for _i, objs in found if objs]) > 1
        blocks = []
        for info, objs in found:
            if not objs:
                continue
            headers, rows = printers.table(
                info, objs, wide=output == "wide", show_labels=args.show_labels, now=now,
                namespace_column=bool(args.all_namespaces) and info.namespaced,
                with_kind=with_kind)
            blocks.append(printers.render(None if args.no_headers else headers, rows))
        if blocks:
            _out(("" if args.no_headers else "\n").join(blocks))
    if not all_objs and not errors and output not in ("yaml", "json"):
        print(_no_resources(args, [i for i, _n in targets]), file=sys.stderr)
    return _report(errors)


def _get_watch(args: argparse.Namespace, ctx: Ctx, info: Any, names: list[str]) -> int:
    ns = _ns_for(info, args)
    fsel = args.field_selector or ""
    if names:
        if len(names) > 1:
            _fail("watch is only supported on individual resources and resource collections, "
                  f"but {len(names)} resources were found")
        fsel = ",".join(x for x in (fsel, f"metadata.name={names[0]}") if x)
        if ns is None and info.namespaced:
            ns = _namespace(args)
    output = args.output or ""
    ns_col = bool(args.all_namespaces) and info.namespaced
    stream = printers.TableStream()
    header_done = bool(args.no_headers)

    def emit(objs: list[Obj]) -> None:
        nonlocal header_done
        if output in ("yaml", "json"):
            for o in objs:
                _out(("---\n" + to_yaml(o)) if output == "yaml" else to_json(o))
            return
        if output == "name":
            _out("".join(f"{_ref(info, printers._name(o))}\n" for o in objs))
            return
        headers, rows = printers.table(info, objs, wide=output == "wide",
                                       show_labels=args.show_labels, now=CLOCK(),
                                       namespace_column=ns_col, with_kind=args.show_kind)
        _out(stream.emit(None if header_done else headers, rows))
        header_done = True

    try:
        objs, rv = _list(ctx, info, ns, args.selector, fsel)
        if names and not objs:
            raise APIError({"message": f'{info.plural}{"." + info.group if info.group else ""} '
                                       f'"{names[0]}" not found', "reason": "NotFound",
                            "code": 404})
        if not args.watch_only and objs:
            emit(objs)
        for typ, obj in ctx.client.watch(info.plural, namespace=ns, resource_version=rv,
                                         label_selector=args.selector or "",
                                         field_selector=fsel):
            if typ == "BOOKMARK":
                continue
            if typ == "ERROR":
                raise APIError.from_status(obj)
            emit([_complete(info, obj)])
    except KeyboardInterrupt:
        return 0
    return 0


# ============================================================================ describe


def _events_about(ctx: Ctx, info: Any, obj: Obj) -> list[Obj]:
    """The Events whose involvedObject is `obj` (kubectl's searchEvents)."""
    meta = _meta(obj)
    name, ns, uid = meta.get("name", ""), meta.get("namespace") or "", meta.get("uid", "")
    if info.namespaced:
        fsel = (f"involvedObject.name={name},involvedObject.namespace={ns},"
                f"involvedObject.uid={uid}")
        list_ns: str | None = ns
    else:
        fsel = f"involvedObject.name={name}"
        list_ns = None
    try:
        items, _ = _list(ctx, _resources().RESOURCES["events"], list_ns, "", fsel)
    except APIError:
        items, _ = _list(ctx, _resources().RESOURCES["events"], list_ns)
    out = []
    for e in items:
        io = e.get("involvedObject") or {}
        if io.get("name") != name:
            continue
        if io.get("kind") and io.get("kind") != info.kind:
            continue
        if info.namespaced and (io.get("namespace") or "") != ns:
            continue
        if io.get("uid") and uid and io.get("uid") not in (uid, name):
            continue
        out.append(e)
    return out


def _related(ctx: Ctx, info: Any, obj: Obj) -> dict[str, Any]:
    meta = _meta(obj)
    ns, name = meta.get("namespace"), meta.get("name", "")
    res = _resources().RESOURCES
    rel: dict[str, Any] = {}
    if info.plural == "deployments":
        try:
            rel["replicasets"], _ = _list(ctx, res["replicasets"], ns)
        except APIError:
            rel["replicasets"] = []
    elif info.plural == "replicasets":
        sel = printers.selector_string((obj.get("spec") or {}).get("selector"))
        try:
            rel["pods"], _ = _list(ctx, res["pods"], ns, sel)
        except APIError as e:
            rel["pods"] = e.message
    elif info.plural == "nodes":
        try:
            rel["lease"] = ctx.client.get("leases", name, namespace="kube-node-lease")
        except APIError as e:
            rel["lease"] = e.message
        try:
            pods, _ = _list(ctx, res["pods"], None, "", f"spec.nodeName={name}")
        except APIError:
            pods, _ = _list(ctx, res["pods"], None)
        rel["pods"] = [p for p in pods if (p.get("spec") or {}).get("nodeName") == name]
    elif info.plural == "services":
        try:
            rel["endpoints"] = ctx.client.get("endpoints", name, namespace=ns)
        except APIError:
            rel["endpoints"] = None
    return rel


def describe_object(ctx: Ctx, info: Any, obj: Obj, show_events: bool = True) -> str:
    events = _events_about(ctx, info, obj) if show_events and info.plural != "events" else None
    if info.plural in ("namespaces", "secrets"):
        events = None
    if info.plural == "pods":
        return _describe_pod_with_decision(info, obj, events, _related(ctx, info, obj))
    return printers.describe(info, obj, events, CLOCK(), related=_related(ctx, info, obj))


def _describe_pod_with_decision(info: Any, pod: Obj, events: list[Obj] | None, related: Any) -> str:
    """kubemu's addition to `describe pod`: the scheduler's decision record
    (annotation kubemu.io/scheduling-decision) as a "Scheduling Decision:" section
    before Events, instead of its raw JSON among the annotations."""
    from actors.scheduler import decision

    annotations = dict((pod.get("metadata") or {}).get("annotations") or {})
    rec = decision.parse(annotations.pop(decision.ANNOTATION, None))
    if rec is None:
        return printers.describe(info, pod, events, CLOCK(), related=related)
    pod = dict(pod, metadata=dict(pod.get("metadata") or {}, annotations=annotations))
    text = printers.describe(info, pod, events, CLOCK(), related=related)
    w = printers.PrefixWriter()
    for line in decision.describe_lines(rec):
        w.write(0, line + "\n")
    section = w.getvalue()
    at = text.find("\nEvents:")
    if at < 0:
        return text.rstrip("\n") + "\n" + section
    return text[:at + 1] + section + text[at + 1:]


def cmd_describe(args: argparse.Namespace, ctx: Ctx) -> int:
    targets = parse_targets(args.targets, allow_all=True)
    errors: list[APIError | str] = []
    texts: list[str] = []
    any_found = False
    for info, names in targets:
        ns = _ns_for(info, args)
        objs: list[Obj] = []
        if names:
            if ns is None and info.namespaced:
                ns = _namespace(args)
            for n in names:
                try:
                    objs.append(_complete(info, ctx.client.get(info.plural, n, namespace=ns)))
                except APIError as e:
                    if not _is_not_found(e):
                        raise
                    # kubectl describe falls back to the objects whose name starts with NAME
                    items, _ = _list(ctx, info, ns, args.selector)
                    prefixed = [o for o in items if printers._name(o).startswith(n)]
                    if prefixed:
                        objs.extend(prefixed)
                    else:
                        _collect(errors, e)
        else:
            objs, _ = _list(ctx, info, ns, args.selector)
        for o in objs:
            any_found = True
            texts.append(describe_object(ctx, info, o, args.show_events))
    if texts:
        _out(texts[0] + "".join(f"\n\n{t}" for t in texts[1:]))
    if not any_found and not errors:
        print(_no_resources(args, [i for i, _n in targets]), file=sys.stderr)
    return _report(errors)


# ============================================================================ manifests


def _manifest_files(paths: list[str], recursive: bool) -> list[str]:
    out: list[str] = []
    for p in paths:
        if p == "-":
            out.append(p)
        elif os.path.isdir(p):
            found = []
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for f in sorted(files):
                    if f.endswith((".yaml", ".yml", ".json")):
                        found.append(os.path.join(root, f))
                if not recursive:
                    break
            out.extend(found)
        elif os.path.exists(p):
            out.append(p)
        else:
            _fail(f'the path "{p}" does not exist')
    return out


def load_manifests(paths: list[str], recursive: bool = False) -> list[tuple[str, Obj]]:
    """(source, object) for every document of every file (`-` is stdin); Lists expanded."""
    docs: list[tuple[str, Obj]] = []
    for path in _manifest_files(paths, recursive):
        source = "STDIN" if path == "-" else path
        try:
            text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
        except OSError as e:
            _fail(f"error reading {source}: {e.strerror or e}")
        try:
            loaded = [d for d in yaml.safe_load_all(text) if d is not None]
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"line {mark.line + 1}: " if mark is not None else ""
            problem = getattr(e, "problem", None) or str(e)
            _fail(f"error parsing {source}: error converting YAML to JSON: yaml: {where}{problem}")
        for d in loaded:
            if not isinstance(d, dict):
                _fail(f'error validating "{source}": error validating data: invalid object '
                      f"(not a mapping)")
            if d.get("kind") == "List" or (str(d.get("kind", "")).endswith("List")
                                           and isinstance(d.get("items"), list)):
                docs.extend((source, i) for i in d.get("items") or [] if isinstance(i, dict))
            else:
                docs.append((source, d))
    return docs


def _validate_manifest(source: str, obj: Obj) -> None:
    missing = [k for k in ("apiVersion", "kind") if not obj.get(k)]
    if missing:
        _fail(f'error validating "{source}": error validating data: '
              + "; ".join(f"{k} not set" for k in missing)
              + "; if you choose to ignore these errors, turn validation off with "
                "--validate=false")


def _info_for(source: str, obj: Obj) -> Any:
    try:
        return _resources().for_object(obj)
    except KeyError:
        name = (obj.get("metadata") or {}).get("name", "")
        ns = (obj.get("metadata") or {}).get("namespace", "")
        raise CLIError(f'error: resource mapping not found for name: "{name}" namespace: '
                       f'"{ns}" from "{source}": no matches for kind "{obj.get("kind")}" in '
                       f'version "{obj.get("apiVersion")}"\nensure CRDs are installed first')


def _object_namespace(info: Any, obj: Obj, args: argparse.Namespace) -> str | None:
    meta = _meta(obj)
    if not info.namespaced:
        meta.pop("namespace", None)
        return None
    flag = getattr(args, "namespace", None)
    own = meta.get("namespace")
    if own and flag and own != flag:
        _fail(f'the namespace from the provided object "{own}" does not match the namespace '
              f'"{flag}". You must pass \'--namespace={own}\' to perform this operation.')
    ns = own or flag or "default"
    meta["namespace"] = ns
    return str(ns)


# ============================================================================ apply


def _merge_key(new: list[Any], live: list[Any]) -> str | None:
    for key in ("name", "containerPort", "port", "mountPath", "devicePath", "ip"):
        vals = [e.get(key) for e in new if isinstance(e, dict)]
        lvals = [e.get(key) for e in live if isinstance(e, dict)]
        if (len(vals) == len(new) and len(lvals) == len(live) and None not in vals
                and None not in lvals and len(set(map(str, vals))) == len(vals)
                and len(set(map(str, lvals))) == len(lvals)):
            return key
    return None


def desired_state(live: Any, new: Any, last: Any) -> Any:
    """Client-side three-way apply: `live` with every field of `new` set and every field
    of `last` (the previous apply) that `new` dropped removed. Lists of objects merge by
    their key (name, port, ...) or, failing one, position; other lists are replaced."""
    if isinstance(new, dict) and isinstance(live, dict):
        out = dict(live)
        lastd = last if isinstance(last, dict) else {}
        for k, v in new.items():
            out[k] = desired_state(live.get(k), v, lastd.get(k))
        for k in lastd:
            if k not in new:
                out.pop(k, None)
        return out
    if (isinstance(new, list) and isinstance(live, list) and new and live
            and all(isinstance(e, dict) for e in new) and all(isinstance(e, dict) for e in live)):
        key = _merge_key(new, live)
        lastl = last if isinstance(last, list) else []
        if key is not None:
            live_by = {str(e[key]): e for e in live}
            last_by = {str(e.get(key)): e for e in lastl if isinstance(e, dict)}
            return [desired_state(live_by.get(str(e[key])), e, last_by.get(str(e[key])))
                    for e in new]
        if len(new) == len(live):
            return [desired_state(lv, nv, lastl[i] if i < len(lastl) else None)
                    for i, (lv, nv) in enumerate(zip(live, new))]
    return copy.deepcopy(new)


def _last_applied(obj: Obj) -> str:
    o = copy.deepcopy(obj)
    ann = _meta(o).get("annotations")
    if isinstance(ann, dict):
        ann.pop(LAST_APPLIED, None)
        if not ann:
            _meta(o).pop("annotations")
    return json.dumps(o, separators=(",", ":"), sort_keys=True, ensure_ascii=False) + "\n"


def _gvr(info: Any) -> str:
    return f'"{info.group}/{info.version}, Resource={info.plural}", GroupVersionKind: ' \
           f'"{info.group}/{info.version}, Kind={info.kind}"'


def cmd_apply(args: argparse.Namespace, ctx: Ctx) -> int:
    if not args.filename:
        _fail("must specify one of -f and -k")
    docs = load_manifests(args.filename, args.recursive)
    dry = args.dry_run == "client"
    suffix = " (dry run)" if dry else ""
    errors: list[APIError | str] = []
    applied = 0
    for source, obj in docs:
        _validate_manifest(source, obj)
        info = _info_for(source, obj)
        ns = _object_namespace(info, obj, args)
        name = _meta(obj).get("name")
        if not name:
            errors.append(f"error: error when retrieving current configuration of:\nResource: "
                          f'"{info.group}/{info.version}, Resource={info.plural}", '
                          f'GroupVersionKind: "{info.group}/{info.version}, Kind={info.kind}"\n'
                          f'Name: "", Namespace: "{ns or ""}"\nfrom server for: "{source}": '
                          f"resource name may not be empty")
            continue
        obj.pop("status", None)
        ann = _meta(obj).setdefault("annotations", {})
        ann[LAST_APPLIED] = _last_applied(obj)
        ref = _ref(info, name)
        try:
            live = ctx.client.get(info.plural, name, namespace=ns)
        except APIError as e:
            if not _is_not_found(e):
                _collect(errors, e)
                continue
            try:
                if not dry:
                    ctx.client.create(info.plural, obj, namespace=ns)
            except APIError as ce:
                if _unreachable(ce):
                    raise
                errors.append(_with_message(ce, f'error when creating "{source}": {ce.message}'))
                continue
            print(f"{ref} created{suffix}")
            applied += 1
            continue
        last_raw = (_meta(live).get("annotations") or {}).get(LAST_APPLIED)
        try:
            last = json.loads(last_raw) if last_raw else {}
        except ValueError:
            last = {}
        if not last_raw:
            print(f"Warning: resource {info.group_resource} is missing the {LAST_APPLIED} "
                  f"annotation which is required by kubectl apply. kubectl apply should only "
                  f"be used on resources created declaratively by either kubectl create "
                  f"--save-config or kubectl apply. The missing annotation will be patched "
                  f"automatically.", file=sys.stderr)
        desired = desired_state(live, obj, last)
        if desired == live:
            print(f"{ref} unchanged{suffix}")
            applied += 1
            continue
        try:
            if not dry:
                ctx.client.update(info.plural, desired)
        except APIError as ue:
            if _unreachable(ue):
                raise
            errors.append(_with_message(
                ue, f"error when applying patch:\nto:\nResource: {_gvr(info)}\n"
                    f'Name: "{name}", Namespace: "{ns or ""}"\nfor: "{source}": error when '
                    f'patching "{source}": {ue.message}'))
            continue
        print(f"{ref} configured{suffix}")
        applied += 1
    if not docs:
        _fail("no objects passed to apply")
    return _report(errors)


# ============================================================================ delete


def _propagation(cascade: str) -> str:
    c = cascade.lower()
    if c in ("background", "true"):
        return "Background"
    if c == "foreground":
        return "Foreground"
    if c in ("orphan", "false"):
        return "Orphan"
    _fail(f'invalid cascade value ({cascade}). Must be "background", "foreground", or "orphan".')


def cmd_delete(args: argparse.Namespace, ctx: Ctx) -> int:
    grace = args.grace_period
    if args.force:
        print("Warning: Immediate deletion does not wait for confirmation that the running "
              "resource has been terminated. The resource may continue to run on the cluster "
              "indefinitely.", file=sys.stderr)
        if grace < 0:
            grace = 0
    elif grace == 0:
        grace = 1
    policy = _propagation(args.cascade)
    items: list[tuple[Any, str | None, str]] = []  # (info, namespace, name)
    errors: list[APIError | str] = []
    if args.filename:
        if args.targets:
            _fail("Unexpected args: " + str(args.targets))
        for source, obj in load_manifests(args.filename, args.recursive):
            _validate_manifest(source, obj)
            info = _info_for(source, obj)
            items.append((info, _object_namespace(info, obj, args), _meta(obj).get("name", "")))
    else:
        targets = parse_targets(args.targets)
        for info, names in targets:
            ns = _ns_for(info, args)
            if names:
                if args.selector or args.all:
                    _fail("name cannot be provided when a selector is specified")
                if ns is None and info.namespaced:
                    ns = _namespace(args)
                items.extend((info, ns, n) for n in names)
            elif args.selector or args.all or args.field_selector:
                objs, _ = _list(ctx, info, ns, args.selector, args.field_selector)
                items.extend((info, printers._meta(o).get("namespace"), printers._name(o))
                             for o in objs)
            else:
                _fail("resource(s) were provided, but no name was specified")
        if not items:
            print("No resources found")
            return 0
    deleted: list[tuple[Any, str | None, str, str | None]] = []
    for info, ns, name in items:
        try:
            res = ctx.client.delete(info.plural, name, namespace=ns,
                                    grace_period_seconds=grace if grace >= 0 else None,
                                    propagation_policy=policy)
        except APIError as e:
            if _is_not_found(e) and args.ignore_not_found:
                continue
            _collect(errors, e)
            continue
        uid = printers._meta(res).get("uid") if isinstance(res, dict) else None
        print(f'{printers.kind_prefix(info)} "{name}" deleted')
        deleted.append((info, ns, name, uid))
    if args.wait and deleted:
        _wait_deleted(ctx, deleted, args.timeout)
    return _report(errors)


def _wait_deleted(ctx: Ctx, objs: list[tuple[Any, str | None, str, str | None]],
                  timeout: float) -> None:
    """kubectl delete --wait: until each object is gone (or replaced by another uid)."""
    deadline = time.monotonic() + timeout if timeout > 0 else None
    delay = 0.05
    pending = list(objs)
    while pending:
        left = []
        for info, ns, name, uid in pending:
            try:
                cur = ctx.client.get(info.plural, name, namespace=ns)
            except APIError as e:
                if _is_not_found(e):
                    continue
                raise
            if uid and printers._meta(cur).get("uid") not in (None, uid):
                continue
            left.append((info, ns, name, uid))
        pending = left
        if not pending:
            return
        if deadline is not None and time.monotonic() >= deadline:
            info, ns, name, _ = pending[0]
            _fail(f"timed out waiting for the condition on {info.group_resource}/{name}")
        SLEEP(delay)
        delay = min(delay * 2, 1.0)


# ============================================================================ scale, label, cordon


_SCALABLE = ("deployments", "replicasets", "statefulsets", "replicationcontrollers")


def cmd_scale(args: argparse.Namespace, ctx: Ctx) -> int:
    if args.replicas is None or args.replicas < 0:
        _fail("The --replicas=COUNT flag is required, and COUNT must be greater than or equal "
              "to 0")
    targets = parse_targets(args.targets)
    errors: list[APIError | str] = []
    for info, names in targets:
        if info.plural not in _SCALABLE:
            _fail(f'no scaler has been implemented for {{"{info.group}" "{info.kind}"}}')
        ns = _namespace(args) if info.namespaced else None
        if not names:
            if not (args.selector or args.all):
                _fail("resource(s) were provided, but no name was specified")
            objs, _ = _list(ctx, info, ns, args.selector)
            names = [printers._name(o) for o in objs]
        for n in names:
            try:
                if args.current_replicas is not None and args.current_replicas >= 0:
                    cur = ctx.client.get(info.plural, n, namespace=ns)
                    have = (cur.get("spec") or {}).get("replicas", 1)
                    if have != args.current_replicas:
                        errors.append(f"error: Expected replicas to be {args.current_replicas}, "
                                      f"was {have}")
                        continue
                ctx.client.patch(info.plural, n, {"spec": {"replicas": args.replicas}},
                                 namespace=ns, patch_type="merge")
            except APIError as e:
                _collect(errors, e)
                continue
            print(f"{_ref(info, n)} scaled")
    return _report(errors)


def _split_label_args(argv: list[str]) -> tuple[list[str], dict[str, str], list[str]]:
    resources, add, remove = [], {}, []
    for a in argv:
        if "=" in a:
            k, _, v = a.partition("=")
            if not k:
                _fail(f"invalid label spec: {a}")
            add[k] = v
        elif a.endswith("-") and len(a) > 1:
            remove.append(a[:-1])
        else:
            resources.append(a)
    for k in remove:
        if k in add:
            _fail("can not both modify and remove a label in the same command")
    return resources, add, remove


def cmd_label(args: argparse.Namespace, ctx: Ctx) -> int:
    resources, add, remove = _split_label_args(args.args)
    if not add and not remove:
        _fail("at least one label update is required")
    targets = parse_targets(resources)
    errors: list[APIError | str] = []
    for info, names in targets:
        ns = _ns_for(info, args)
        if names:
            if ns is None and info.namespaced:
                ns = _namespace(args)
            objs = []
            for n in names:
                try:
                    objs.append(ctx.client.get(info.plural, n, namespace=ns))
                except APIError as e:
                    _collect(errors, e)
        elif args.selector or args.all:
            objs, _ = _list(ctx, info, ns, args.selector)
        else:
            _fail("resource(s) were provided, but no name was specified")
        for o in objs:
            name = printers._name(o)
            labels = dict(printers._meta(o).get("labels") or {})
            new = dict(labels)
            if not args.overwrite:
                for k, v in add.items():
                    if k in labels and labels[k] != v:
                        _report_and_raise(errors, f"error: '{k}' already has a value "
                                                  f"({labels[k]}), and --overwrite is false")
            new.update(add)
            for k in remove:
                if k not in new:
                    print(f'label "{k}" not found.', file=sys.stderr)
                new.pop(k, None)
            if new == labels:
                print(f"{_ref(info, name)} not labeled")
                continue
            patch_labels: dict[str, Any] = {k: v for k, v in add.items()}
            patch_labels.update({k: None for k in remove if k in labels})
            try:
                ctx.client.patch(info.plural, name, {"metadata": {"labels": patch_labels}},
                                 namespace=printers._meta(o).get("namespace") or ns,
                                 patch_type="merge")
            except APIError as e:
                _collect(errors, e)
                continue
            verb = "unlabeled" if remove and not add else "labeled"
            print(f"{_ref(info, name)} {verb}")
    return _report(errors)


def _report_and_raise(errors: list[APIError | str], msg: str) -> NoReturn:
    if errors:
        _report(errors)
    raise CLIError(msg)


def _cordon(args: argparse.Namespace, ctx: Ctx, on: bool) -> int:
    nodes = _resources().RESOURCES["nodes"]
    names = list(args.nodes)
    if not names and not args.selector:
        _fail("error: USAGE: cordon NODE [flags]" if on else "error: USAGE: uncordon NODE [flags]")
    if args.selector:
        objs, _ = _list(ctx, nodes, None, args.selector)
    else:
        objs = []
        for n in names:
            if "/" in n:
                t, _, n = n.partition("/")
                if lookup(t) is not nodes:
                    _fail(f"error: unable to {'cordon' if on else 'uncordon'} {t}/{n}: "
                          f"not a node")
            objs.append(ctx.client.get("nodes", n))
    errors: list[APIError | str] = []
    verb = "cordoned" if on else "uncordoned"
    for o in objs:
        name = printers._name(o)
        if bool((o.get("spec") or {}).get("unschedulable")) == on:
            print(f"node/{name} already {verb}")
            continue
        try:
            ctx.client.patch("nodes", name, {"spec": {"unschedulable": True if on else None}},
                             patch_type="merge")
        except APIError as e:
            _collect(errors, e)
            continue
        print(f"node/{name} {verb}")
    return _report(errors)


def cmd_cordon(args: argparse.Namespace, ctx: Ctx) -> int:
    return _cordon(args, ctx, True)


def cmd_uncordon(args: argparse.Namespace, ctx: Ctx) -> int:
    return _cordon(args, ctx, False)


# ============================================================================ argparse


class KubectlParser(argparse.ArgumentParser):
    """A subcommand parser as kubectl's: options and arguments in any order
    (`label pods -l app=web v=1`), and usage errors as `error: ...` with exit code 1."""

    _intermixed = False

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        if self._intermixed:
            return super().parse_known_args(args, namespace)
        self._intermixed = True
        try:
            ns, extras = super().parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixed = False
        if extras:
            flags = [a for a in extras if a.startswith("-")]
            if flags:
                self.error(f"unknown flag: {flags[0]}")
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return ns, extras

    def error(self, message: str) -> NoReturn:
        print(f"error: {message}", file=sys.stderr)
        print(f"See '{self.prog} -h' for help and examples", file=sys.stderr)
        raise SystemExit(1)


def _common(p: argparse.ArgumentParser, *, namespaced: bool = True, all_ns: bool = False,
            selector: bool = False) -> None:
    p.add_argument("--name", help="the kubemu cluster (default: $KUBEMU_CLUSTER, else the "
                                  "current one)")
    if namespaced:
        p.add_argument("-n", "--namespace", help="the namespace (default: default)")
    if all_ns:
        p.add_argument("-A", "--all-namespaces", action="store_true",
                       help="across all namespaces")
    if selector:
        p.add_argument("-l", "--selector", default="",
                       help="label selector, e.g. app=web,tier!=db")


def register(sub: Any) -> None:
    """Add the kubectl commands to `kubemu`'s subparsers."""
    saved = sub._parser_class
    sub._parser_class = KubectlParser
    try:
        _register(sub)
    finally:
        sub._parser_class = saved


def _register(sub: Any) -> None:
    a = sub.add_parser("apply", help="create or update objects from manifests (kubectl apply)")
    _common(a)
    a.add_argument("-f", "--filename", action="append", default=[],
                   help="a manifest file, a directory of them, or - for stdin (repeatable)")
    a.add_argument("-R", "--recursive", action="store_true", help="descend into directories")
    a.add_argument("--dry-run", default="none", choices=("none", "client"))
    a.set_defaults(func=_command(cmd_apply))

    g = sub.add_parser("get", help="list objects (kubectl get)")
    _common(g, all_ns=True, selector=True)
    g.add_argument("targets", nargs="*", metavar="KIND [NAME...] | KIND/NAME...")
    g.add_argument("-o", "--output", default="", help="wide|yaml|json|name")
    g.add_argument("--field-selector", default="", help="e.g. status.phase=Running")
    g.add_argument("--show-labels", action="store_true", help="add a LABELS column")
    g.add_argument("--show-kind", action="store_true", help="print NAME as kind/name")
    g.add_argument("--no-headers", action="store_true", help="no header row")
    g.add_argument("-w", "--watch", action="store_true", help="then print changes as they come")
    g.add_argument("--watch-only", action="store_true", help="print changes only")
    g.set_defaults(func=_command(cmd_get))

    d = sub.add_parser("describe", help="show an object in detail, with its events")
    _common(d, all_ns=True, selector=True)
    d.add_argument("targets", nargs="*", metavar="KIND [NAME...] | KIND/NAME...")
    d.add_argument("--show-events", default=True,
                   type=lambda s: s.lower() not in ("false", "0", "no"),
                   help="true|false (default true)")
    d.set_defaults(func=_command(cmd_describe))

    x = sub.add_parser("delete", help="delete objects (kubectl delete)")
    _common(x, all_ns=True, selector=True)
    x.add_argument("targets", nargs="*", metavar="KIND [NAME...] | KIND/NAME...")
    x.add_argument("-f", "--filename", action="append", default=[])
    x.add_argument("-R", "--recursive", action="store_true")
    x.add_argument("--field-selector", default="")
    x.add_argument("--all", action="store_true", help="every object of the type(s)")
    x.add_argument("--grace-period", type=int, default=-1,
                   help="seconds to terminate gracefully (-1: the object's default)")
    x.add_argument("--force", action="store_true", help="delete immediately")
    x.add_argument("--cascade", default="background", help="background|foreground|orphan")
    x.add_argument("--wait", default=True, type=lambda s: s.lower() not in ("false", "0", "no"),
                   help="wait until the objects are gone (default true)")
    x.add_argument("--timeout", type=float, default=0.0,
                   help="seconds to wait (0: no limit)")
    x.add_argument("--ignore-not-found", action="store_true")
    x.set_defaults(func=_command(cmd_delete))

    s = sub.add_parser("scale", help="set the replicas of a deployment or replicaset")
    _common(s, selector=True)
    s.add_argument("targets", nargs="+", metavar="KIND/NAME | KIND NAME")
    s.add_argument("--replicas", type=int, default=None)
    s.add_argument("--current-replicas", type=int, default=None)
    s.add_argument("--all", action="store_true")
    s.set_defaults(func=_command(cmd_scale))

    lb = sub.add_parser("label", help="add, change or remove labels (k=v, k-)")
    _common(lb, all_ns=True, selector=True)
    lb.add_argument("args", nargs="+", metavar="KIND NAME k=v k2-")
    lb.add_argument("--overwrite", action="store_true")
    lb.add_argument("--all", action="store_true")
    lb.set_defaults(func=_command(cmd_label))

    for nm, fn, hlp in (("cordon", cmd_cordon, "mark a node unschedulable"),
                        ("uncordon", cmd_uncordon, "mark a node schedulable")):
        c = sub.add_parser(nm, help=hlp)
        _common(c, namespaced=False, selector=True)
        c.add_argument("nodes", nargs="*", metavar="NODE")
        c.set_defaults(func=_command(fn))
