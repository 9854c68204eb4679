"""Data-driven transcript tests of the raft core (in the spirit of etcd-io/raft's
`testdata/*.txt` interaction tests).

A transcript file in tests/testdata/raft/ is a sequence of blocks::

    # comments (kept when rewriting)
    command arg arg key=value
    ----
    expected output lines
    <blank line>

Each command drives a `tests.raftsim.Cluster`; its output is the trace produced while it
ran (or `ok` when it printed nothing). To regenerate the expected outputs in place
(then review the diff): `pytest tests/unit/test_raft_transcripts.py --rewrite` (the
option lives in tests/unit/conftest.py, so give pytest a path under tests/unit), or set
RAFT_REWRITE=1.

Trace notation (see `tests.raftsim.format_message`):

- `~ 2 is FOLLOWER term=3 leader=1` — node 2's (role, term, leader) changed;
- `> 1 ready` followed by what the Ready held: `hard:` (hard state to persist),
  `snapshot:`, `append:` (entries to persist), `apply:` (committed entries),
  `read-state:`, and the messages sent, `1->2 APP term=1 prev=3/1 commit=3 [4/1:foo]`;
- entries are `index/term` (a leader's empty no-op) or `index/term:data`;
- `dropped: ...` — a message lost to a partition / crash / `deliver-msgs ... drop`;
- `trace no-heartbeats` hides HEARTBEAT/HEARTBEAT_RESP lines (useful with `run`).

Commands:

    add-nodes N [pre-vote=B] [check-quorum=B] [election-tick=N] [heartbeat-tick=N]
                [max-msg-entries=N] [max-msg-bytes=N] [max-inflight=N] [seed=N]
    campaign ID | propose ID DATA... | read-index ID CTX | transfer-leader ID TO
    tick ID [N] | tick-heartbeat ID | tick-election ID | tick-all [N] | run TICKS
    process-ready ID... | deliver-msgs [ID...] [drop] | stabilize [ID...]
    isolate ID | partition 1,2 3,4,5 | cut A B | heal | crash ID | restart ID
    compact ID [INDEX] | faults [drop=P] [duplicate=P] [reorder=P] [delay=N] | faults off
    trace on|off|no-heartbeats | status ID | log ID | applied ID | raft-state | read-states ID | check

`add-nodes` again starts a new cluster. `tick-election ID` ticks one node until its
election timer acts (a follower campaigns, a leader checks its quorum); `run N` is N
times "tick every live node, then stabilize". `log ID` shows the node's simulated disk.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Callable

import pytest

from actors.etcd.rafttypes import Role
from tests.raftsim import Cluster, Faults, format_data, format_entries

DATA_DIR = Path(__file__).resolve().parent.parent / "testdata" / "raft"
SEP = "----"


# ---------------------------------------------------------------------------- file format


class Block:
    def __init__(self, lineno: int, command: str, expected: list[str]) -> None:
        self.lineno = lineno
        self.command = command
        self.expected = expected


def parse(text: str) -> list[str | Block]:
    """The file as a list of verbatim lines (comments, blanks) and command blocks."""
    lines = text.splitlines()
    out: list[str | Block] = []
    i = 0
    while i < len(lines):
        ln = lines[i]
        if not ln.strip() or ln.lstrip().startswith("#"):
            out.append(ln)
            i += 1
            continue
        if i + 1 >= len(lines) or lines[i + 1] != SEP:
            raise ValueError(f"line {i + 1}: command {ln!r} must be followed by {SEP!r}")
        j = i + 2
        expected: list[str] = []
        while j < len(lines) and lines[j].strip():
            expected.append(lines[j])
            j += 1
        out.append(Block(i + 1, ln.strip(), expected))
        i = j
    return out


def render(items: list[str | Block], outputs: dict[int, list[str]]) -> str:
    res: list[str] = []
    for it in items:
        if isinstance(it, str):
            res.append(it)
        else:
            res.append(it.command)
            res.append(SEP)
            res.extend(outputs[id(it)])
    return "\n".join(res) + "\n"


# ---------------------------------------------------------------------------- interpreter


def _bool(s: str) -> bool:
    if s in ("true", "on", "1", "yes"):
        return True
    if s in ("false", "off", "0", "no"):
        return False
    raise ValueError(f"not a boolean: {s}")


_CFG_KEYS: dict[str, tuple[str, Callable[[str], object]]] = {
    "pre-vote": ("pre_vote", _bool),
    "check-quorum": ("check_quorum", _bool),
    "election-tick": ("election_tick", int),
    "heartbeat-tick": ("heartbeat_tick", int),
    "max-msg-entries": ("max_msg_entries", int),
    "max-msg-bytes": ("max_msg_bytes", int),
    "max-inflight": ("max_inflight", int),
}


class Interpreter:
    def __init__(self) -> None:
        self.out: list[str] = []
        self.tracing = True
        self.hide_heartbeats = False
        self._c: Cluster | None = None

    @property
    def c(self) -> Cluster:
        if self._c is None:
            raise ValueError("add-nodes first")
        return self._c

    def _trace(self, line: str) -> None:
        if self.tracing:
            self.out.append(line)

    def run(self, command: str) -> list[str]:
        self.out = []
        words = command.split()
        name, args = words[0], words[1:]
        fn = getattr(self, "cmd_" + name.replace("-", "_"), None)
        if fn is None:
            raise ValueError(f"unknown command {name!r}")
        fn(args)
        out = self.out
        if self.hide_heartbeats:
            out = [ln for ln in out if " HEARTBEAT" not in ln]
            # drop "> N ready" headers left with nothing under them
            out = [
                ln
                for k, ln in enumerate(out)
                if not ln.startswith("> ") or (k + 1 < len(out) and out[k + 1].startswith("  "))
            ]
        return out or ["ok"]

    # ---- setup

    def cmd_add_nodes(self, args: list[str]) -> None:
        n = int(args[0])
        kw: dict[str, object] = {}
        seed = 0
        for a in args[1:]:
            k, _, v = a.partition("=")
            if k == "seed":
                seed = int(v)
            elif k in _CFG_KEYS:
                field, conv = _CFG_KEYS[k]
                kw[field] = conv(v)
            else:
                raise ValueError(f"unknown add-nodes option {k!r}")
        self._c = Cluster(n, seed=seed, trace=self._trace, **kw)

    def cmd_trace(self, args: list[str]) -> None:
        """trace on | off | no-heartbeats (all but HEARTBEAT/HEARTBEAT_RESP traffic)"""
        self.hide_heartbeats = args[0] == "no-heartbeats"
        self.tracing = self.hide_heartbeats or _bool(args[0])

    def cmd_faults(self, args: list[str]) -> None:
        if args == ["off"]:
            self.c.faults = None
            return
        f = Faults()
        for a in args:
            k, _, v = a.partition("=")
            setattr(f, k, int(v) if k == "delay" else float(v))
        self.c.faults = f

    # ---- local requests

    def cmd_campaign(self, args: list[str]) -> None:
        self.c.campaign(int(args[0]))

    def cmd_propose(self, args: list[str]) -> None:
        nid = int(args[0])
        for d in args[1:]:
            if not self.c.propose(nid, d.encode()):
                self.out.append(f"{nid}: propose({d}) returned False")

    def cmd_read_index(self, args: list[str]) -> None:
        nid = int(args[0])
        if not self.c.read_index(nid, args[1].encode()):
            self.out.append(f"{nid}: read_index({args[1]}) returned False")

    def cmd_transfer_leader(self, args: list[str]) -> None:
        self.c.transfer_leader(int(args[0]), int(args[1]))

    def cmd_compact(self, args: list[str]) -> None:
        nid = int(args[0])
        idx = int(args[1]) if len(args) > 1 else None
        snap = self.c.compact(nid, idx)
        nd = self.c.node(nid)
        if snap is None:
            self.out.append(f"{nid}: nothing to compact")
        else:
            self.out.append(
                f"{nid}: snapshot at {snap.index}/{snap.term}, log now "
                f"[{nd.first_index}..{nd.last_index}]"
            )

    # ---- time and delivery

    def cmd_tick(self, args: list[str]) -> None:
        self.c.tick(int(args[0]), int(args[1]) if len(args) > 1 else 1)

    def cmd_tick_heartbeat(self, args: list[str]) -> None:
        nid = int(args[0])
        self.c.tick(nid, self.c.config(nid).heartbeat_tick)

    def cmd_tick_election(self, args: list[str]) -> None:
        self.c.tick_election(int(args[0]))

    def cmd_tick_all(self, args: list[str]) -> None:
        self.c.tick_all(int(args[0]) if args else 1)

    def cmd_run(self, args: list[str]) -> None:
        self.c.run(int(args[0]))

    def cmd_process_ready(self, args: list[str]) -> None:
        for a in args:
            self.c.process_ready(int(a))

    def cmd_deliver_msgs(self, args: list[str]) -> None:
        drop = "drop" in args
        ids = [int(a) for a in args if a != "drop"]
        self.c.deliver(ids or None, drop=drop)

    def cmd_stabilize(self, args: list[str]) -> None:
        self.c.stabilize([int(a) for a in args] or None)

    # ---- faults

    def cmd_isolate(self, args: list[str]) -> None:
        self.c.isolate(int(args[0]))

    def cmd_partition(self, args: list[str]) -> None:
        self.c.partition(*[[int(x) for x in g.split(",")] for g in args])

    def cmd_cut(self, args: list[str]) -> None:
        self.c.cut(int(args[0]), int(args[1]))

    def cmd_heal(self, args: list[str]) -> None:
        self.c.heal()

    def cmd_crash(self, args: list[str]) -> None:
        self.c.crash(int(args[0]))

    def cmd_restart(self, args: list[str]) -> None:
        self.c.restart(int(args[0]))

    # ---- inspection

    def _state_line(self, nid: int) -> str:
        if not self.c.is_up(nid):
            return f"{nid}: down"
        st = self.c.node(nid).status()
        return (
            f"{nid}: {st['role']} term={st['term']} vote={st['vote']} leader={st['leader']} "
            f"commit={st['commit']} applied={st['applied']} "
            f"log=[{st['first_index']}..{st['last_index']}]"
        )

    def cmd_status(self, args: list[str]) -> None:
        nid = int(args[0])
        self.out.append(self._state_line(nid))
        if not self.c.is_up(nid):
            return
        st = self.c.node(nid).status()
        if st["lead_transferee"]:
            self.out.append(f"  transferring leadership to {st['lead_transferee']}")
        for p, pr in sorted(st["progress"].items()):
            if p == nid:
                continue
            self.out.append(
                f"  {p}: {pr['state']} match={pr['match']} next={pr['next']} "
                f"inflight={pr['inflight']}"
            )

    def cmd_raft_state(self, args: list[str]) -> None:
        for nid in self.c.ids:
            self.out.append(self._state_line(nid))

    def cmd_log(self, args: list[str]) -> None:
        nid = int(args[0])
        st = self.c.storage[nid]
        hs = st.hard_state
        self.out.append(f"hard: term={hs.term} vote={hs.vote} commit={hs.commit}")
        if st.snapshot is not None:
            self.out.append(f"snapshot: {st.snapshot.index}/{st.snapshot.term}")
        self.out.append(f"entries: {format_entries(st.entries) or '(none)'}")

    def cmd_applied(self, args: list[str]) -> None:
        nid = int(args[0])
        if not self.c.is_up(nid):
            self.out.append(f"{nid}: down")
            return
        self.out.append(format_entries(self.c.applied(nid)) or "(none)")

    def cmd_read_states(self, args: list[str]) -> None:
        nid = int(args[0])
        for rs in self.c.read_states[nid]:
            self.out.append(f"index={rs.index} ctx={format_data(rs.context)}")

    def cmd_check(self, args: list[str]) -> None:
        c = self.c
        c.check_log_matching()
        c.check_applied_consistent()
        leaders = [i for i in c.live() if c.node(i).role == Role.LEADER]
        self.out.append(f"safety ok; leaders: {leaders or 'none'}")


# ---------------------------------------------------------------------------- the test


def _files() -> list[Path]:
    return sorted(DATA_DIR.glob("*.txt"))


@pytest.mark.parametrize("path", _files(), ids=lambda p: p.stem)
def test_transcript(path: Path, request: pytest.FixtureRequest) -> None:
    rewrite = bool(request.config.getoption("--rewrite", default=False)) or bool(
        os.environ.get("RAFT_REWRITE")
    )
    items = parse(path.read_text())
    interp = Interpreter()
    outputs: dict[int, list[str]] = {}
    failures: list[str] = []
    for it in items:
        if isinstance(it, str):
            continue
        got = interp.run(it.command)
        outputs[id(it)] = got
        if got != it.expected and not rewrite and not failures:
            diff = "\n".join(
                difflib.unified_diff(it.expected, got, "expected", "got", lineterm="")
            )
            failures.append(f"{path.name}:{it.lineno}: {it.command}\n{diff}")
    if rewrite:
        new = render(items, outputs)
        if new != path.read_text():
            path.write_text(new)
        return
    if failures:
        pytest.fail(failures[0], pytrace=False)
