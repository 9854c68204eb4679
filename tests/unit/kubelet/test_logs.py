"""Container logs of the simulated runtime: what a process writes, when, and how the
kubelet reads it (tail / since / limitBytes / timestamps / the size cap / follow), which
instance a request reads, and the Node that says where the kubelet API listens."""

from __future__ import annotations

import time
from typing import Any

import pytest

from actors.kubelet.node_status import (KUBELET_ENDPOINT_ANNOTATION, build_node,
                                        reconcile_registered)
from actors.kubelet.pod_worker import PodWorker
from actors.kubelet.runtime import (Behavior, Container, LogError, LogReader, LogView,
                                    RegistryImage, Runtime, behavior_for, container_log_id)
from actors.kubelet.runtime.behavior import parse_command
from actors.kubelet.runtime.logs import date_text, format_timestamp
from actors.kubelet.runtime.shell import STDERR, STDOUT, Output, interpret

from .builders import T0, Harness, container, node_cfg, pod

IMG = RegistryImage("docker.io/library/busybox:1.36", 1, 0.0)


def lines_of(out: Output, start: float = T0, end: float = T0 + 1e6, scale: float = 1.0,
             host: str = "web-1") -> list[tuple[float, int, str]]:
    v = LogView(out, start, scale, host)
    return [(v.time(i) - start, v.stream(i), v.text(i)) for i in range(v.count(end))]


def sh(script: str, *args: str) -> Output:
    return interpret(("sh", "-c", script) + args).output


def read(view: LogView, end: float, **kw: Any) -> str:
    return LogReader(view, end, **kw).read(end, 1 << 30).decode()


# ---- what a process writes ---------------------------------------------------------

@pytest.mark.parametrize("script,expect", [
    pytest.param("echo a; sleep 5; echo b >&2; exit 3",
                 [(0.0, STDOUT, "a"), (5.0, STDERR, "b")], id="echo-sleep-stderr"),
    pytest.param("echo 'a; b' \"x y\"  z", [(0.0, STDOUT, "a; b x y z")], id="quoting"),
    pytest.param("X=1; echo '$X' \"$X\" $X ${X} ${Y:-dflt}",
                 [(0.0, STDOUT, "$X 1 1 1 dflt")], id="expansions"),
    pytest.param("false || echo or; true && echo and; false && echo never",
                 [(0.0, STDOUT, "or"), (0.0, STDOUT, "and")], id="and-or-lists"),
    pytest.param("echo -e 'one\\ntwo'; printf '%s=%d\\n' a 1 b 2",
                 [(0.0, STDOUT, "one"), (0.0, STDOUT, "two"), (0.0, STDOUT, "a=1"),
                  (0.0, STDOUT, "b=2")], id="echo-e-printf"),
    pytest.param("echo gone > /dev/null; echo kept | cat; echo err 1>&2",
                 [(0.0, STDOUT, "kept"), (0.0, STDERR, "err")], id="redirections"),
    pytest.param("for i in $(seq 1 3); do echo line $i; sleep 1; done",
                 [(0.0, STDOUT, "line 1"), (1.0, STDOUT, "line 2"), (2.0, STDOUT, "line 3")],
                 id="for-seq"),
    pytest.param("i=0; while [ $i -lt 2 ]; do echo $i; i=$((i+1)); sleep 2; done; echo end",
                 [(0.0, STDOUT, "0"), (2.0, STDOUT, "1"), (4.0, STDOUT, "end")],
                 id="counted-while"),
    pytest.param("sleep 3 & echo now; wait; echo later",
                 [(0.0, STDOUT, "now"), (3.0, STDOUT, "later")], id="background"),
    pytest.param("echo $0 $1 $#", [(0.0, STDOUT, "zero one 1")], id="positional"),
    pytest.param("hostname; echo \"I am $HOSTNAME\"",
                 [(0.0, STDOUT, "web-1"), (0.0, STDOUT, "I am web-1")], id="hostname"),
    pytest.param("echo starting; exec nginx -g 'daemon off;'", [(0.0, STDOUT, "starting")],
                 id="unknown-command-keeps-what-came-before"),
])
def test_script_output(script: str, expect: list[tuple[float, int, str]]) -> None:
    args = ("zero", "one") if "$0" in script else ()
    assert lines_of(sh(script, *args)) == expect


@pytest.mark.parametrize("argv,expect", [
    pytest.param(["sh", "-c", "echo a; sleep 5; echo b; exit 3"],
                 Behavior(run_seconds=5.0, exit_code=3), id="exit-after-the-last-line"),
    pytest.param(["sh", "-c", "false"], Behavior(run_seconds=0.0, exit_code=1), id="false"),
    pytest.param(["sh", "-c", "false; echo x"], Behavior(run_seconds=0.0), id="status-of-last"),
    pytest.param(["sh", "-c", "while true; do echo x; sleep 1; exit 2; done"],
                 Behavior(run_seconds=1.0, exit_code=2), id="exit-inside-a-loop"),
    pytest.param(["sh", "-c", "echo x; while true; do echo y; sleep 1; done"], None,
                 id="endless-loop-is-the-default"),
    pytest.param(["echo", "hello"], Behavior(run_seconds=0.0), id="direct-echo"),
    pytest.param(["sh", "-c", "exec sleep 7"], Behavior(run_seconds=7.0), id="exec"),
])
def test_timing_of_scripts_that_write(argv: list[str], expect: Behavior | None) -> None:
    assert parse_command(argv) == expect


def test_direct_exec_has_no_shell_expansion_but_kubelet_expands_env() -> None:
    spec = container("web", image="busybox:1.36", command=["echo"],
                     args=["$(GREETING) $(NAME) $HOME $$(NAME) $(UNSET)"],
                     env=[{"name": "GREETING", "value": "hello"},
                          {"name": "NAME", "value": "$(GREETING) world"}])
    b = behavior_for(pod("web-1", [spec]), spec)
    assert lines_of(b.output) == [(0.0, STDOUT, "hello hello world $HOME $(NAME) $(UNSET)")]


def test_log_annotation_lines_come_first_and_per_container_wins() -> None:
    ann = {"kubemu.io/log": "pod-wide\n", "kubemu.io/log.side": "side 1\nside 2"}
    web = container("web", command=["sh", "-c", "sleep 2; echo from script"])
    side = container("side")  # nginx: a server, writes nothing by itself
    p = pod("web-1", [web, side], annotations=ann)
    b = behavior_for(p, web)
    assert lines_of(b.output) == [(0.0, STDOUT, "pod-wide"), (2.0, STDOUT, "from script")]
    assert b == Behavior(run_seconds=2.0)  # the log changes nothing about the timing
    s = behavior_for(p, side)
    assert lines_of(s.output) == [(0.0, STDOUT, "side 1"), (0.0, STDOUT, "side 2")]
    assert s == Behavior()


# ---- endless loops -----------------------------------------------------------------

COUNTER = 'i=0; while true; do echo "$i: $(date)"; i=$((i+1)); sleep 1; done'


def test_the_counter_pod_of_the_kubernetes_docs() -> None:
    out = sh(COUNTER)
    assert out.loop is not None and out.loop.period == 1.0
    got = lines_of(out, end=T0 + 3.5)
    assert got == [(float(k), STDOUT, f"{k}: {date_text(T0 + k)}") for k in range(4)]
    assert date_text(T0) == "Tue Nov 14 22:13:20 UTC 2023"
    assert date_text(T0, "%s %H:%M") == "1700000000 22:13"


def test_a_year_of_logging_is_read_from_its_end_at_once() -> None:
    v = LogView(sh(COUNTER), T0, 1.0, "web-1")
    year = 365 * 86400
    started = time.perf_counter()
    assert v.count(T0 + year) == year + 1
    text = read(v, T0 + year, tail=2)
    assert text == f"{year - 1}: {date_text(T0 + year - 1)}\n{year}: {date_text(T0 + year)}\n"
    assert time.perf_counter() - started < 0.5


@pytest.mark.parametrize("script,expect", [
    pytest.param("echo start; n=10; while :; do n=$((n-1)); echo tick $n >&2; sleep 2; done",
                 [(0.0, STDOUT, "start"), (0.0, STDERR, "tick 9"), (2.0, STDERR, "tick 8"),
                  (4.0, STDERR, "tick 7")], id="countdown-on-stderr"),
    pytest.param("while true; do for w in a b; do echo $w; sleep 1; done; done",
                 [(0.0, STDOUT, "a"), (1.0, STDOUT, "b"), (2.0, STDOUT, "a"),
                  (3.0, STDOUT, "b"), (4.0, STDOUT, "a")], id="nested-for"),
    pytest.param("while sleep 2; do echo slept; done",
                 [(2.0, STDOUT, "slept"), (4.0, STDOUT, "slept")], id="while-sleep"),
    pytest.param("msg=hi; while true; do echo $msg; sleep 2; done",
                 [(0.0, STDOUT, "hi"), (2.0, STDOUT, "hi"), (4.0, STDOUT, "hi")],
                 id="constant-variable"),
    pytest.param("while true; do echo x; [ -f /tmp/stop ] && exit 1; sleep 2; done",
                 [(0.0, STDOUT, "x"), (2.0, STDOUT, "x"), (4.0, STDOUT, "x")],
                 id="file-test-is-false"),
])
def test_endless_loops(script: str, expect: list[tuple[float, int, str]]) -> None:
    assert lines_of(sh(script), end=T0 + 4.5) == expect


def test_loop_lines_scale_with_time_scale() -> None:
    assert [t for t, _, _ in lines_of(sh(COUNTER), end=T0 + 0.35, scale=0.1)] == \
        pytest.approx([0.0, 0.1, 0.2, 0.3])


# ---- reading: tail, since, limitBytes, timestamps, cap -----------------------------

def view5(start: float = T0) -> LogView:
    return LogView(sh("for i in 1 2 3 4 5; do echo line$i; sleep 1; done"), start, 1.0, "")


@pytest.mark.parametrize("kw,expect", [
    pytest.param({}, "line1\nline2\nline3\nline4\nline5\n", id="all"),
    pytest.param({"tail": 2}, "line4\nline5\n", id="tail"),
    pytest.param({"tail": 0}, "", id="tail-0"),
    pytest.param({"tail": 10}, "line1\nline2\nline3\nline4\nline5\n", id="tail-more"),
    pytest.param({"since": T0 + 3}, "line4\nline5\n", id="since-is-inclusive"),
    pytest.param({"since": T0 + 1.5, "tail": 4}, "line3\nline4\nline5\n", id="tail-then-since"),
    pytest.param({"limit_bytes": 8}, "line1\nli", id="limit-cuts-the-line"),
    pytest.param({"limit_bytes": 12}, "line1\nline2\n", id="limit-on-a-line-end"),
    pytest.param({"cap": 13}, "line4\nline5\n", id="only-the-last-cap-bytes"),
    pytest.param({"timestamps": True, "tail": 1},
                 "2023-11-14T22:13:24.000000000Z line5\n", id="timestamps"),
])
def test_reader_options(kw: dict[str, Any], expect: str) -> None:
    assert read(view5(), T0 + 10, **kw) == expect


def test_timestamp_format_is_fixed_nanoseconds() -> None:
    assert format_timestamp(T0 + 0.25) == "2023-11-14T22:13:20.250000000Z"
    assert format_timestamp(T0 + 0.9999999999) == "2023-11-14T22:13:21.000000000Z"


def test_follow_reads_new_lines_and_knows_when_the_next_one_is_due() -> None:
    v = view5()
    r = LogReader(v, T0 + 1.5, tail=1)
    assert r.read(T0 + 1.5) == b"line2\n" and r.caught_up(T0 + 1.5)
    assert r.next_time() == T0 + 2
    assert r.read(T0 + 3.2) == b"line3\nline4\n"
    assert r.read(T0 + 100) == b"line5\n" and r.next_time() is None


def test_reading_in_chunks_and_a_never_started_container() -> None:
    r = LogReader(view5(), T0 + 10)
    assert r.read(T0 + 10, max_bytes=1) == b"line1\n"
    assert not r.caught_up(T0 + 10)
    empty = LogView(sh("echo x"), None, 1.0)
    assert empty.count(T0 + 10) == 0 and LogReader(empty, T0).next_time() is None


def test_a_container_log_ends_when_it_exits() -> None:
    b = behavior_for(pod(), container(command=["sh", "-c", "echo a; sleep 5; echo b; sleep 5; "
                                                           "echo c"]))
    c = Container("cid", "web", IMG, b, T0)
    c.start(T0, 1.0)
    assert c.log_end(T0 + 3) == T0 + 3 and not c.exited_by(T0 + 3)
    assert c.log_end(T0 + 20) == T0 + 10 and c.exited_by(T0 + 20)  # not observed yet
    c.stop(T0 + 7, 30.0, 1.0)  # SIGTERM: it exits at once (stop-after 0)
    c.observe(T0 + 8)
    v = LogView(b.output, c.started_at, 1.0)
    assert read(v, c.log_end(T0 + 20)) == "a\nb\n"


# ---- which instance: the kubelet's validateContainerLogStatus ----------------------

def cs(state: dict[str, Any], last: dict[str, Any] | None = None,
       cid: str = "kubemu://cur") -> dict[str, Any]:
    return {"containerStatuses": [{"name": "web", "state": state, "lastState": last or {},
                                   "containerID": cid}]}


TERM_PREV = {"terminated": {"exitCode": 1, "containerID": "kubemu://prev"}}


@pytest.mark.parametrize("status,previous,expect", [
    pytest.param(cs({"running": {}}), False, "kubemu://cur", id="running"),
    pytest.param(cs({"running": {}}, TERM_PREV), True, "kubemu://prev", id="previous"),
    pytest.param(cs({"terminated": {"containerID": "kubemu://t"}}), False, "kubemu://t",
                 id="terminated"),
    pytest.param(cs({"waiting": {"reason": "CrashLoopBackOff"}}, TERM_PREV), False,
                 "kubemu://prev", id="crash-loop-reads-the-last-run"),
    pytest.param(cs({"terminated": {"reason": "ContainerStatusUnknown"}}, TERM_PREV), False,
                 "kubemu://prev", id="terminated-without-id"),
    pytest.param(cs({"running": {}}), True,
                 'previous terminated container "web" in pod "p" not found', id="no-previous"),
    pytest.param(cs({"waiting": {"reason": "ContainerCreating"}}), False,
                 'container "web" in pod "p" is waiting to start: ContainerCreating',
                 id="creating"),
    pytest.param(cs({"waiting": {"reason": "PodInitializing"}}), False,
                 'container "web" in pod "p" is waiting to start: PodInitializing',
                 id="initializing"),
    pytest.param(cs({"waiting": {"reason": "ErrImagePull"}}), False,
                 'container "web" in pod "p" is waiting to start: image can\'t be pulled',
                 id="err-image-pull"),
    pytest.param(cs({"waiting": {"reason": "ImagePullBackOff"}}), False,
                 'container "web" in pod "p" is waiting to start: trying and failing to pull '
                 'image', id="image-pull-backoff"),
    pytest.param(cs({"terminated": {"reason": "ContainerStatusUnknown"}}), False,
                 'container "web" in pod "p" is terminated', id="unknown"),
    pytest.param(cs({}), False, 'container "web" in pod "p" is waiting to start - no logs yet',
                 id="no-state"),
    pytest.param({}, False, 'container "web" in pod "p" is not available', id="no-status"),
])
def test_container_log_id(status: dict[str, Any], previous: bool, expect: str) -> None:
    if expect.startswith("kubemu://"):
        assert container_log_id(status, "p", "web", previous) == expect
    else:
        with pytest.raises(LogError) as e:
            container_log_id(status, "p", "web", previous)
        assert e.value.message == expect and not e.value.not_found


def test_restarted_container_keeps_its_previous_instance_for_previous() -> None:
    web = container("web", image="busybox:1.36",
                    command=["sh", "-c", "echo run $(date +%s); sleep 2; exit 1"])
    h = Harness(pod("web-1", [web], annotations={"kubemu.io/log": "boot"}),
                cfg=node_cfg(preloaded_images=["busybox:1.36"]))
    h.run_until(T0 + 1)
    with pytest.raises(LogError, match="previous terminated container \"web\" in pod "
                                       "\"web-1\" not found"):
        h.w.log_container("web", previous=True)
    first = h.w.log_container("web", previous=False)

    def text(c: Container) -> str:
        return read(h.rt.log_view(c, h.w.hostname), c.log_end(h.clock.now()))

    assert text(first) == f"boot\nrun {int(first.started_at or 0)}\n"
    h.run_until(T0 + 2.5)  # exited at 2, waiting to restart: `logs` reads the last run
    assert h.cstatus()["state"]["terminated"]["exitCode"] == 1
    assert h.w.log_container("web", previous=False) is first
    h.run_until(T0 + 4)  # restarted (restartCount 1)
    assert h.cstatus()["restartCount"] == 1 and "running" in h.cstatus()["state"]
    cur = h.w.log_container("web", previous=False)
    assert cur is not first and h.w.log_container("web", previous=True) is first
    assert text(cur) == f"boot\nrun {int(cur.started_at or 0)}\n"
    h.run_until(T0 + 8)  # exited at 5.5: CrashLoopBackOff; both read the last run (as upstream)
    st = h.cstatus()
    assert st["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert st["lastState"]["terminated"]["containerID"] == f"kubemu://{cur.id}"
    assert h.w.log_container("web", previous=False) is cur
    assert h.w.log_container("web", previous=True) is cur


def test_a_restarted_kubelet_serves_the_same_logs() -> None:
    """containerd keeps the logs over a kubelet restart; here they are recomputed from
    the pod status the new kubelet adopts (start times at second precision)."""
    web = container("web", image="busybox:1.36",
                    command=["sh", "-c", "echo run $(date +%s); sleep 2; exit 1"])
    h = Harness(pod("web-1", [web]), cfg=node_cfg(preloaded_images=["busybox:1.36"]))
    h.run_until(T0 + 4)  # restarted once, running
    cur, prev = h.w.log_container("web", False), h.w.log_container("web", True)
    rt = Runtime(h.cfg.node_name, h.cfg.pod_cidr, h.cfg.registry, h.cfg.time_scale)
    w = PodWorker.adopt(dict(h.w.pod, status=h.status), h.cfg, rt, T0 + 4.5)
    for mine, old in ((w.log_container("web", False), cur), (w.log_container("web", True), prev)):
        assert mine.id == old.id
        assert read(rt.log_view(mine), mine.log_end(T0 + 4.5)) == \
            read(h.rt.log_view(old), old.log_end(T0 + 4.5))


def test_waiting_container_gives_the_kubelets_message() -> None:
    h = Harness(pod("web-1", [container("web", image="nginx:1.25")]))
    h.run_until(T0 + 0.5)  # pulling (2 s)
    with pytest.raises(LogError, match=r'container "web" in pod "web-1" is waiting to start: '
                                       r"ContainerCreating"):
        h.w.log_container("web", previous=False)


# ---- the Node says where the kubelet API listens ------------------------------------

def test_node_publishes_the_kubelet_endpoint_and_a_restart_republishes_it() -> None:
    cfg = node_cfg()
    n = build_node(cfg, T0, endpoint="127.0.0.1:40123")
    assert n["metadata"]["annotations"][KUBELET_ENDPOINT_ANNOTATION] == "127.0.0.1:40123"
    assert n["status"]["daemonEndpoints"] == {"kubeletEndpoint": {"Port": 40123}}
    assert reconcile_registered(n, cfg, "127.0.0.1:40123") is None
    moved = reconcile_registered(n, cfg, "127.0.0.1:40999")
    assert moved is not None
    assert moved["metadata"]["annotations"][KUBELET_ENDPOINT_ANNOTATION] == "127.0.0.1:40999"
    assert KUBELET_ENDPOINT_ANNOTATION not in build_node(cfg, T0)["metadata"]["annotations"]


def test_the_apiserver_reads_the_same_annotation() -> None:
    from actors.apiserver import podlogs

    assert podlogs.KUBELET_ENDPOINT_ANNOTATION == KUBELET_ENDPOINT_ANNOTATION
