"""The little shell inside a simulated container: what a command does and writes (pure).

Nothing runs in a kubemu container. `interpret(argv, env)` reads the container's
command the way `sh -c` would run it and returns a `Script`: when the process exits
(and with what code) and what it writes, line by line, to stdout and stderr, each
line at the simulated second it is written. What is understood:

- simple commands `sleep N` (GNU suffixes, several arguments add up, `infinity`),
  `exit [N]`, `true`, `false`, `:`, `echo [-neE]`, `printf FMT ARGS`, `date [-u]
  [-I|-R|+FMT]`, `hostname`, `printenv NAME`, `wait`, `cat` (in a pipe), `exec CMD`;
  no-ops `trap set cd umask export readonly unset let`; assignments `i=0`;
- lists `a; b`, `a && b`, `a || b` (exit statuses are tracked: `false || echo x`
  echoes), `cmd &` (background: its sleep does not hold the script up until `wait`),
  pipes into `cat` / `tee`, redirections `>&2`, `1>&2`, `>/dev/stderr` (stderr),
  `>/dev/null` or `> file` (nothing reaches the log);
- expansions `$VAR`, `${VAR}`, `${VAR:-word}`, `$?`, `$0..$9`, `$#`, `$@`, `$((i+1))`,
  `$(date)`, `$(hostname)`, `$(expr $i + 1)`, `$(seq 1 5)`, `$(echo ...)`, backquotes,
  with the quoting rules of sh (nothing expands in '...');
- loops `for x in a b $(seq 3)`, `while [ $i -lt 5 ]` / `until ...` (run through,
  up to a bound), and the endless `while true; do ...; done` (or `while sleep 5`,
  `until false`) of a logging container:
  its body becomes a periodic `Loop` (counters `i=$((i+1))` advance per iteration),
  so a log written for a year costs nothing until it is read.

Unknown commands (`nginx`, `if`, functions, subshells) leave the script `known=False`:
the caller falls back to its default (a server runs until stopped, an init container
exits at once); the lines written before them are kept. `date` and the hostname are
left as template parts (`("date", fmt, squeeze)`, `("host",)`), filled in when the
log is read (actors.kubelet.runtime.logs), and so are a loop's counters
(`("var", name, add, arith)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable, Mapping, Union

from ..durations import parse_duration

STDOUT = 1
STDERR = 2

Part = Union[str, tuple[Any, ...]]
Template = tuple[Part, ...]
Line = tuple[float, int, Template]  # (offset in simulated seconds, stream, template)

MAX_ITERATIONS = 1000  # loops run through (for / conditional while) stop being read here
MAX_LINES = 10_000  # lines a script may write before an endless loop
MAX_SEQ = 10_000
MAX_STEPS = 100_000  # commands run while reading one script

SHELLS = {"sh", "bash", "ash", "dash", "zsh", "ksh"}
_DIRECT = {"sleep", "true", "false", "echo", "printf", "date", "hostname"}
_NOOPS = {"trap", "set", "cd", "umask", "ulimit", "shift", "export", "readonly", "local",
          "unset", "let", "wait", "true", ":", "false"}
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
_INT = re.compile(r"\s*[+-]?\d+\s*\Z")


@dataclass(frozen=True, slots=True)
class Loop:
    """An endless loop's output: `body` lines repeat every `period` from `at` on."""
    at: float
    period: float
    body: tuple[Line, ...]
    init: tuple[tuple[str, str], ...] = ()  # the variables when the loop starts
    step: tuple[tuple[str, str, str], ...] = ()  # (name, "set" | "add", value) per iteration


@dataclass(frozen=True, slots=True)
class Output:
    """What a process writes: `lines` once (sorted by offset), then `loop` forever."""
    lines: tuple[Line, ...] = ()
    loop: Loop | None = None


NO_OUTPUT = Output()


@dataclass(frozen=True, slots=True)
class Script:
    known: bool  # False: a part we cannot read; the caller's default timing applies
    run_seconds: float | None = None  # None: runs until stopped
    exit_code: int = 0
    output: Output = NO_OUTPUT


class Unsupported(Exception):
    """A construct this shell does not read."""


def seconds(v: str) -> float:
    """`sleep`'s argument in seconds ("5", "0.5", "2m", "1h", "1d"); OverflowError for
    infinity, ValueError when unreadable."""
    v = v.strip()
    if v in ("infinity", "inf"):
        raise OverflowError
    try:
        return float(v)
    except ValueError:
        pass
    if v.endswith("d") and v[:-1].replace(".", "", 1).isdigit():
        return float(v[:-1]) * 86400.0
    return parse_duration(v)


# ---- tokens ----------------------------------------------------------------------------

# a word is a tuple of segments (text, kind): 0 unquoted, 1 literal ('...' or \x),
# 2 double-quoted; "$..." expansions are still raw text in kinds 0 and 2
Word = tuple[tuple[str, int], ...]


@dataclass(slots=True)
class Stmt:
    words: list[Word]
    redirs: list[tuple[int, str, Word]]  # (fd, op, target): op ">", ">>", ">&", "<", "<&", "&>"
    conn: str = ";"  # how it follows the previous statement: ";", "&&", "||", "|"
    bg: bool = False


def _matching(s: str, i: int, open_: str, close: str) -> int:
    """Index just past the `close` matching the `open_` at s[i] (quotes respected)."""
    depth, j = 0, i
    while j < len(s):
        ch = s[j]
        if ch == "\\":
            j += 2
            continue
        if ch == "'":
            k = s.find("'", j + 1)
            if k < 0:
                raise Unsupported("unterminated quote")
            j = k + 1
            continue
        if ch == '"':
            j = _dquote_end(s, j + 1) + 1
            continue
        if ch == open_:
            depth += 1
        elif ch == close:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise Unsupported(f"unterminated {open_}")


def _dquote_end(s: str, i: int) -> int:
    """Index of the '"' closing a double-quoted string that starts at s[i]."""
    j = i
    while j < len(s):
        ch = s[j]
        if ch == "\\":
            j += 2
        elif ch == '"':
            return j
        elif ch == "$" and s[j + 1:j + 2] == "(":
            j = _matching(s, j + 1, "(", ")")
        elif ch == "`":
            k = s.find("`", j + 1)
            if k < 0:
                raise Unsupported("unterminated backquote")
            j = k + 1
        else:
            j += 1
    raise Unsupported("unterminated double quote")


def tokenize(script: str) -> list[Stmt]:
    """Split a script into simple commands with their connectors and redirections."""
    out: list[Stmt] = []
    cur = Stmt([], [])
    segs: list[tuple[str, int]] = []
    text: list[str] = []  # the unquoted run being built
    pending: tuple[int, str] | None = None  # a redirection waiting for its target
    started = False  # the current word has begun (even if empty: "")

    def flush_text() -> None:
        if text:
            segs.append(("".join(text), 0))
            text.clear()

    def end_word() -> None:
        nonlocal pending, started
        flush_text()
        if segs or started:
            w = tuple(segs)
            if pending is not None:
                cur.redirs.append((pending[0], pending[1], w))
                pending = None
            else:
                cur.words.append(w)
        segs.clear()
        started = False

    def end_stmt(next_conn: str, bg: bool = False) -> None:
        nonlocal cur
        end_word()
        if pending is not None:
            raise Unsupported("redirection without a target")
        cur.bg = bg
        if cur.words or cur.redirs:
            out.append(cur)
        elif next_conn in ("&&", "||", "|"):
            raise Unsupported("empty command")
        cur = Stmt([], [], conn=next_conn)

    i, n = 0, len(script)
    while i < n:
        ch = script[i]
        if ch in " \t\r":
            end_word()
            i += 1
        elif ch == "\\":
            if script[i + 1:i + 2] == "\n":
                i += 2
                continue
            flush_text()
            segs.append((script[i + 1:i + 2], 1))
            started = True
            i += 2
        elif ch == "'":
            k = script.find("'", i + 1)
            if k < 0:
                raise Unsupported("unterminated quote")
            flush_text()
            segs.append((script[i + 1:k], 1))
            started = True
            i = k + 1
        elif ch == '"':
            k = _dquote_end(script, i + 1)
            flush_text()
            inner, j = script[i + 1:k], 0
            buf: list[str] = []
            while j < len(inner):  # backslash escapes inside "...": \$ \` \" \\ only
                c = inner[j]
                if c == "\\" and inner[j + 1:j + 2] in ("$", "`", '"', "\\"):
                    if buf:
                        segs.append(("".join(buf), 2))
                        buf = []
                    segs.append((inner[j + 1], 1))
                    j += 2
                elif c == "\\" and inner[j + 1:j + 2] == "\n":
                    j += 2
                else:
                    buf.append(c)
                    j += 1
            segs.append(("".join(buf), 2))
            started = True
            i = k + 1
        elif ch == "$" and script[i + 1:i + 2] in ("(", "{"):
            close = ")" if script[i + 1] == "(" else "}"
            k = _matching(script, i + 1, script[i + 1], close)
            text.append(script[i:k])
            i = k
        elif ch == "`":
            k = script.find("`", i + 1)
            if k < 0:
                raise Unsupported("unterminated backquote")
            text.append("$(" + script[i + 1:k] + ")")
            i = k + 1
        elif ch == "#" and not text and not segs and not started:
            k = script.find("\n", i)
            i = n if k < 0 else k
        elif ch in "\n;":
            if script[i:i + 2] == ";;":
                raise Unsupported("case")
            end_stmt(";")
            i += 1
        elif ch == "&":
            if script[i:i + 2] == "&&":
                end_stmt("&&")
                i += 2
            elif script[i + 1:i + 2] == ">":
                end_word()
                pending = (1, "&>")
                i += 2
            else:
                end_stmt(";", bg=True)
                i += 1
        elif ch == "|":
            if script[i:i + 2] == "||":
                end_stmt("||")
                i += 2
            else:
                end_stmt("|")
                i += 1
        elif ch in "<>":
            fd = 1 if ch == ">" else 0
            if text and not segs and "".join(text).isdigit():
                fd = int("".join(text))
                text.clear()
            else:
                end_word()
            op = ch
            if script[i + 1:i + 2] in (">", "&") and ch == ">":
                op += script[i + 1]
            elif ch == "<" and script[i + 1:i + 2] in ("<", "&"):
                if script[i + 1] == "<":
                    raise Unsupported("here-document")
                op += "&"
            if pending is not None:
                raise Unsupported("redirection without a target")
            pending = (fd, op)
            i += len(op)
        elif ch in "()":
            raise Unsupported("subshell")
        else:
            text.append(ch)
            i += 1
    end_stmt(";")
    return out


def _literal(w: Word) -> str | None:
    """The word's text when it needs no expansion."""
    parts = []
    for text, kind in w:
        if kind == 0 and ("$" in text or "*" in text or "?" in text):
            return None
        if kind == 2 and "$" in text:
            return None
        parts.append(text)
    return "".join(parts)


# ---- structure -------------------------------------------------------------------------

@dataclass(slots=True)
class Cmd:
    stmt: Stmt
    pipeline: list[Stmt]


@dataclass(slots=True)
class LoopNode:
    kind: str  # while | until | for
    cond: Stmt | None
    var: str
    items: list[Word]
    body: list[Any]
    conn: str


Node = Union[Cmd, LoopNode]
_RESERVED = {"if", "then", "else", "elif", "fi", "case", "esac", "function", "select", "{",
             "}", "!", "[[", "]]", "in", "break", "continue", "return", "source", "."}


def parse(stmts: list[Stmt]) -> list[Node]:
    nodes, i = _block(list(stmts), 0, False)
    if i != len(stmts):
        raise Unsupported("stray done")
    return nodes


def _first(st: Stmt) -> str | None:
    return _literal(st.words[0]) if st.words else None


def _block(stmts: list[Stmt], i: int, in_loop: bool) -> tuple[list[Node], int]:
    nodes: list[Node] = []
    while i < len(stmts):
        st = stmts[i]
        first = _first(st)
        if first == "done":
            if not in_loop or len(st.words) > 1:
                raise Unsupported("done")
            return nodes, i + 1
        if first in ("while", "until", "for"):
            if st.redirs or st.bg or len(st.words) < 2:
                raise Unsupported(first)
            var, items, cond = "", [], None
            if first == "for":
                var = _literal(st.words[1]) or ""
                if not _NAME.match(var):
                    raise Unsupported("for")
                if len(st.words) > 2:
                    if _literal(st.words[2]) != "in":
                        raise Unsupported("for")
                    items = st.words[3:]
            else:
                cond = Stmt(st.words[1:], [])
            i += 1
            if i >= len(stmts) or _first(stmts[i]) != "do":
                raise Unsupported("do")
            rest = stmts[i]
            if len(rest.words) > 1 or rest.redirs:
                stmts[i] = Stmt(rest.words[1:], rest.redirs, ";", rest.bg)
            else:
                i += 1
            body, i = _block(stmts, i, True)
            nodes.append(LoopNode(first, cond, var, items, body, st.conn))
            continue
        if first in _RESERVED or first == "do":
            raise Unsupported(str(first))
        if st.conn == "|":
            if not nodes or not isinstance(nodes[-1], Cmd):
                raise Unsupported("pipe")
            nodes[-1].pipeline.append(st)
        else:
            nodes.append(Cmd(st, []))
        i += 1
    if in_loop:
        raise Unsupported("missing done")
    return nodes, i


# ---- values ----------------------------------------------------------------------------

def int0(s: str) -> int:
    """A shell variable's value in arithmetic (0 when not a number)."""
    return int(s) if _INT.match(s) else 0


Value = Union[str, tuple[Any, ...]]  # a string, or a ("var", name, add, arith) part


def _add(v: Value, k: int) -> Value:
    if isinstance(v, str):
        return str(int0(v) + k)
    if v[0] == "var":
        return ("var", v[1], v[2] + k, True)
    raise Unsupported("arithmetic on a deferred value")


_ARITH = re.compile(r"\s*(\$?[A-Za-z_]\w*|[+-]?\d+)\s*(?:([-+*/%])\s*(\$?[A-Za-z_]\w*|\d+)\s*)?\Z")


def _template_value(t: Template) -> Value:
    """A template as one value: a string, or a single deferred part."""
    if all(isinstance(p, str) for p in t):
        return "".join(p for p in t if isinstance(p, str))
    if len(t) == 1:
        return t[0]
    raise Unsupported("mixed value")


def _arith(a: Value, op: str | None, b: Value | None) -> Value:
    if op is None or b is None:
        return a if not isinstance(a, str) else str(int0(a))
    if isinstance(a, str) and isinstance(b, str):
        x, y = int0(a), int0(b)
        if op == "+":
            return str(x + y)
        if op == "-":
            return str(x - y)
        if op == "*":
            return str(x * y)
        if y == 0:
            raise Unsupported("division by zero")
        q = abs(x) // abs(y) * (1 if (x >= 0) == (y >= 0) else -1)
        return str(q if op == "/" else x - q * y)
    if op == "+" and isinstance(b, str):
        return _add(a, int0(b))
    if op == "+" and isinstance(a, str):
        return _add(b, int0(a))
    if op == "-" and isinstance(b, str):
        return _add(a, -int0(b))
    raise Unsupported("arithmetic")


# ---- the interpreter -------------------------------------------------------------------

class Stop(Exception):
    """The script ends here (exit, exec, sleep infinity, an endless loop)."""


class Env:
    """Variables: concrete strings; in a loop body being compiled, symbolic ones too."""

    def __init__(self, vars: dict[str, str], positional: list[str]) -> None:
        self.vars = vars
        self.positional = positional
        self.status = 0
        self.sym: dict[str, tuple[Any, ...]] | None = None  # loop body: name -> symbolic
        self.used: set[str] = set()

    def get(self, name: str) -> Value | None:
        if self.sym is not None:
            s = self.sym.get(name)
            if s is None:
                if name not in self.vars and name == "HOSTNAME":
                    return ("host",)
                self.used.add(name)
                return ("var", name, 0, False)
            if s[0] == "const":
                return str(s[1])
            self.used.add(name)
            return ("var", name, s[1], s[2])
        if name in self.vars:
            return self.vars[name]
        if name == "HOSTNAME":
            return ("host",)
        return None

    def set(self, name: str, v: Value) -> None:
        if self.sym is not None:
            if isinstance(v, str):
                self.sym[name] = ("const", v)
            elif v[0] == "var" and v[1] == name:
                self.sym[name] = ("self", v[2], v[3])
            else:
                raise Unsupported("a variable set from another in a loop")
            return
        if not isinstance(v, str):
            raise Unsupported("deferred value in a variable")
        self.vars[name] = v

    def unset(self, name: str) -> None:
        if self.sym is not None:
            self.sym[name] = ("const", "")
        else:
            self.vars.pop(name, None)


def _special(env: Env, name: str) -> Value | None:
    if name == "?":
        return str(env.status)
    if name == "$":
        return "1"
    if name == "#":
        return str(max(0, len(env.positional) - 1))
    if name in ("@", "*"):
        return " ".join(env.positional[1:])
    if name.isdigit():
        k = int(name)
        return env.positional[k] if k < len(env.positional) else ""
    return env.get(name)


_VARREF = re.compile(r"\$(?:([A-Za-z_]\w*)|([0-9?#$@*]))")


class Expander:
    """Word expansion: parameters, arithmetic and the command substitutions we know."""

    def __init__(self, env: Env) -> None:
        self.env = env

    def fields(self, w: Word) -> list[Template]:
        """The fields a word expands to (unquoted expansions split on blanks)."""
        fields: list[list[Part]] = [[]]
        nonempty = [False]
        for text, kind in w:
            if kind == 1:
                fields[-1].append(text)
                nonempty[-1] = True
                continue
            quoted = kind == 2
            if quoted:
                nonempty[-1] = True
            for piece, expanded in self._pieces(text, quoted):
                if isinstance(piece, str) and expanded and not quoted:
                    chunks = re.split(r"[ \t\n]+", piece)
                    for ci, chunk in enumerate(chunks):
                        if ci > 0:
                            fields.append([])
                            nonempty.append(False)
                        if chunk:
                            fields[-1].append(chunk)
                            nonempty[-1] = True
                else:
                    if isinstance(piece, tuple) and piece[0] == "date" and not quoted:
                        piece = ("date", piece[1], True)
                    fields[-1].append(piece)
                    if not isinstance(piece, str) or piece or not expanded:
                        nonempty[-1] = True
        return [_join(f) for f, ne in zip(fields, nonempty) if ne]

    def word(self, w: Word) -> Template:
        """A word expanded without field splitting (assignments, here: case words)."""
        out: list[Part] = []
        for text, kind in w:
            if kind == 1:
                out.append(text)
            else:
                out.extend(p for p, _ in self._pieces(text, True))
        return _join(out)

    def _pieces(self, text: str, quoted: bool) -> list[tuple[Part, bool]]:
        """(piece, came from an expansion) for one unquoted or double-quoted run."""
        out: list[tuple[Part, bool]] = []
        i, lit = 0, []
        while i < len(text):
            ch = text[i]
            if ch != "$" or i + 1 >= len(text):
                lit.append(ch)
                i += 1
                continue
            nxt = text[i + 1]
            if nxt == "(":
                end = _matching(text, i + 1, "(", ")")
                inner = text[i + 2:end - 1]
                if inner.startswith("(") and inner.endswith(")"):
                    val: Part = self._arith_expr(inner[1:-1])
                else:
                    val = self._command(inner)
                if lit:
                    out.append(("".join(lit), False))
                    lit = []
                out.append((val, True))
                i = end
                continue
            if nxt == "{":
                end = _matching(text, i + 1, "{", "}")
                if lit:
                    out.append(("".join(lit), False))
                    lit = []
                out.append((self._brace(text[i + 2:end - 1]), True))
                i = end
                continue
            m = _VARREF.match(text, i)
            if m is None:
                lit.append(ch)
                i += 1
                continue
            if lit:
                out.append(("".join(lit), False))
                lit = []
            v = _special(self.env, m.group(1) or m.group(2))
            out.append((v if v is not None else "", True))
            i = m.end()
        if lit:
            out.append(("".join(lit), False))
        return out

    def _brace(self, inner: str) -> Part:
        m = re.match(r"([A-Za-z_]\w*|[0-9?#$@*])(?:(:?[-=+?])(.*))?\Z", inner, re.S)
        if m is None:
            raise Unsupported("${...}")
        v = _special(self.env, m.group(1))
        op, word = m.group(2), m.group(3)
        if op is None:
            return v if v is not None else ""
        if not isinstance(v, (str, type(None))):
            raise Unsupported("${var:-...} of a loop variable")
        empty = v is None or (op.startswith(":") and v == "")
        if op.endswith("-"):
            return _template_value(self.word(((word, 2),))) if empty else (v or "")
        if op.endswith("+"):
            return "" if empty else _template_value(self.word(((word, 2),)))
        raise Unsupported("${var:=...}")

    def _arith_expr(self, expr: str) -> Part:
        m = _ARITH.match(expr)
        if m is None:
            raise Unsupported("arithmetic")
        a, op, b = m.group(1), m.group(2), m.group(3)
        return _arith(self._operand(a), op, self._operand(b) if b is not None else None)

    def _operand(self, tok: str) -> Value:
        tok = tok.lstrip("$")
        if _NAME.match(tok):
            v = self.env.get(tok)
            return v if v is not None else "0"
        return tok

    def _command(self, inner: str) -> Part:
        """`$(...)`: the output of the few commands we can compute, else the text itself."""
        try:
            stmts = tokenize(inner)
        except Unsupported:
            return "$(" + inner + ")"
        if len(stmts) != 1 or stmts[0].redirs:
            return "$(" + inner + ")"
        args: list[Template] = []
        for w in stmts[0].words:
            args.extend(self.fields(w))
        prog = _prog(args)
        if prog == "date":
            return _date_part(args[1:])
        if prog == "hostname" or (prog == "cat" and [_tlit(a) for a in args[1:]] == [
                "/etc/hostname"]):
            return ("host",)
        if prog == "expr" and len(args) == 4:
            op = _tlit(args[2])
            if op in ("+", "-", "*", "/", "%"):
                return _arith(_template_value(args[1]), op, _template_value(args[3]))
        if prog == "seq":
            return "\n".join(_seq(args[1:]))
        if prog in ("echo", "printf"):
            lines = _echo(args[1:]) if prog == "echo" else _printf(args[1:])
            out: list[Part] = []
            for k, ln in enumerate(lines):
                if k:
                    out.append("\n")
                out.extend(ln)
            return _template_value(_join(out))
        return "$(" + inner + ")"


def _join(parts: list[Part] | tuple[Part, ...]) -> Template:
    """Merge adjacent strings; drop empty ones."""
    out: list[Part] = []
    for p in parts:
        if isinstance(p, str):
            if not p:
                continue
            if out and isinstance(out[-1], str):
                out[-1] = out[-1] + p
                continue
        out.append(p)
    return tuple(out)


def _tlit(t: Template) -> str | None:
    if all(isinstance(p, str) for p in t):
        return "".join(p for p in t if isinstance(p, str))
    return None


def _prog(args: list[Template]) -> str | None:
    if not args:
        return None
    p = _tlit(args[0])
    return p.rsplit("/", 1)[-1] if p is not None else None


def _seq(args: list[Template]) -> list[str]:
    nums = [_tlit(a) for a in args]
    if not 1 <= len(nums) <= 3 or any(x is None or not _INT.match(x) for x in nums):
        raise Unsupported("seq")
    vals = [int(x) for x in nums if x is not None]
    first, step, last = (1, 1, vals[0]) if len(vals) == 1 else \
        (vals[0], 1, vals[1]) if len(vals) == 2 else (vals[0], vals[1], vals[2])
    if step == 0:
        raise Unsupported("seq")
    count = (last - first) // step + 1
    if count > MAX_SEQ:
        raise Unsupported("seq too long")
    return [str(first + k * step) for k in range(max(0, count))]


def _date_part(args: list[Template]) -> Part:
    fmt = ""
    for a in args:
        s = _tlit(a)
        if s is None:
            raise Unsupported("date")
        if s in ("-u", "--utc", "--universal"):
            continue
        if s.startswith("+"):
            fmt = s[1:]
        elif s in ("-I", "--iso-8601", "-Idate"):
            fmt = "%Y-%m-%d"
        elif s in ("-Iseconds", "--iso-8601=seconds"):
            fmt = "%Y-%m-%dT%H:%M:%S+00:00"
        elif s in ("-R", "--rfc-2822", "--rfc-email"):
            fmt = "%a, %d %b %Y %H:%M:%S +0000"
        else:
            raise Unsupported("date option")
    return ("date", fmt, False)


_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "r": "\r",
            "v": "\v", '"': '"', "'": "'"}


def _unescape(s: str) -> tuple[str, bool]:
    """echo -e / printf escapes; (text, stop) where \\c stops all output."""
    out: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            nx = s[i + 1]
            if nx == "c":
                return "".join(out), True
            if nx in _ESCAPES:
                out.append(_ESCAPES[nx])
                i += 2
                continue
            if nx == "0" or nx.isdigit():
                m = re.match(r"0?([0-7]{1,3})", s[i + 1:])
                if m:
                    out.append(chr(int(m.group(1), 8)))
                    i += 1 + m.end()
                    continue
        out.append(ch)
        i += 1
    return "".join(out), False


def _split_lines(parts: list[Part]) -> list[Template]:
    lines: list[list[Part]] = [[]]
    for p in parts:
        if isinstance(p, str) and "\n" in p:
            chunks = p.split("\n")
            lines[-1].append(chunks[0])
            for c in chunks[1:]:
                lines.append([c])
        else:
            lines[-1].append(p)
    return [_join(ln) for ln in lines]


def _echo(args: list[Template]) -> list[Template]:
    """The lines `echo ARGS` writes (a trailing -n line still counts as a line)."""
    escapes = False
    while args:
        flag = _tlit(args[0])
        if flag is None or not re.fullmatch(r"-[neE]+", flag):
            break
        for f in flag[1:]:
            if f == "e":
                escapes = True
            elif f == "E":
                escapes = False
        args = args[1:]
    parts: list[Part] = []
    for k, a in enumerate(args):
        if k:
            parts.append(" ")
        for p in a:
            if escapes and isinstance(p, str):
                txt, stop = _unescape(p)
                parts.append(txt)
                if stop:
                    return _split_lines(parts)
            else:
                parts.append(p)
    return _split_lines(parts)


_SPEC = re.compile(r"%([-+ #0]*)(\d*)(?:\.(\d+))?([sdiuxXoc%])")


def _printf(args: list[Template]) -> list[Template]:
    if not args:
        raise Unsupported("printf without a format")
    fmt = _tlit(args[0])
    if fmt is None:
        raise Unsupported("printf format")
    rest = list(args[1:])
    out: list[Part] = []
    for _ in range(MAX_SEQ):
        used = 0
        pos = 0
        for m in _SPEC.finditer(fmt):
            txt, stop = _unescape(fmt[pos:m.start()])
            out.append(txt)
            if stop:
                return _split_lines(out)
            pos = m.end()
            flags, width, prec, conv = m.groups()
            if conv == "%":
                out.append("%")
                continue
            arg: Template = rest.pop(0) if rest else ()
            used += 1
            if conv == "s" and not flags and not width and prec is None:
                out.extend(arg)
                continue
            s = _tlit(arg)
            if s is None:
                raise Unsupported("printf of a deferred value")
            spec = "%" + flags + width + (("." + prec) if prec is not None else "")
            if conv == "s":
                out.append((spec + "s") % s)
            elif conv == "c":
                out.append(s[:1])
            else:
                out.append((spec + ("d" if conv in "iu" else conv)) % int0(s))
        txt, stop = _unescape(fmt[pos:])
        out.append(txt)
        if stop or not rest or not used:
            break
    joined = _join(out)
    if not joined:
        return []
    if isinstance(joined[-1], str) and joined[-1].endswith("\n"):
        joined = joined[:-1] + ((joined[-1][:-1],) if joined[-1][:-1] else ())
    return _split_lines(list(joined))


def _test(args: list[Template]) -> int:
    """`[ ... ]` / `test ...`: the exit status (0 true, 1 false)."""
    vals = [_tlit(a) for a in args]
    if any(v is None for v in vals):
        raise Unsupported("test of a deferred value")
    v = [x for x in vals if x is not None]
    if not v:
        return 1
    if len(v) == 1:
        return 0 if v[0] else 1
    if len(v) == 2:
        if v[0] == "!":
            return 1 - _test([(v[1],)])
        if v[0] == "-n":
            return 0 if v[1] else 1
        if v[0] == "-z":
            return 0 if not v[1] else 1
        if re.fullmatch(r"-[bcdefghkLprsSuwxO]", v[0]):
            return 1  # no file exists in a simulated container
        raise Unsupported("test")
    if len(v) == 3:
        a, op, b = v
        if op in ("=", "=="):
            return 0 if a == b else 1
        if op == "!=":
            return 0 if a != b else 1
        ops: dict[str, Callable[[int, int], bool]] = {
            "-eq": lambda x, y: x == y, "-ne": lambda x, y: x != y,
            "-lt": lambda x, y: x < y, "-le": lambda x, y: x <= y,
            "-gt": lambda x, y: x > y, "-ge": lambda x, y: x >= y}
        if op in ops:
            if not (_INT.match(a) and _INT.match(b)):
                raise Unsupported("test: integer expression expected")
            return 0 if ops[op](int(a), int(b)) else 1
    if v[0] == "!":
        return 1 - _test([(x,) for x in v[1:]])
    raise Unsupported("test")


class Run:
    """Runs nodes concretely (or, with `env.sym` set, compiles a loop body)."""

    def __init__(self, env: Env) -> None:
        self.env = env
        self.x = Expander(env)
        self.t = 0.0
        self.bg_until = 0.0
        self.lines: list[Line] = []
        self.exit: int | None = None
        self.forever = False
        self.known = True
        self.loop: Loop | None = None
        self.steps = 0

    @property
    def symbolic(self) -> bool:
        return self.env.sym is not None

    def emit(self, stream: int | None, lines: list[Template]) -> None:
        if stream is None:
            return
        for ln in lines:
            self.lines.append((self.t, stream, ln))
        if len(self.lines) > MAX_LINES and not self.symbolic:
            raise Unsupported("too much output")

    # -- nodes ------------------------------------------------------------------------

    def nodes(self, nodes: list[Node]) -> None:
        for node in nodes:
            conn = node.stmt.conn if isinstance(node, Cmd) else node.conn
            if conn == "&&" and self.env.status != 0:
                continue
            if conn == "||" and self.env.status == 0:
                continue
            if isinstance(node, Cmd):
                self.cmd(node)
            else:
                self.loop_node(node)

    def loop_node(self, node: LoopNode) -> None:
        if node.kind == "for":
            items: list[str] = []
            for w in node.items:
                for f in self.x.fields(w):
                    s = _tlit(f)
                    if s is None:
                        raise Unsupported("for over deferred values")
                    items.append(s)
            if len(items) > MAX_ITERATIONS:
                raise Unsupported("for loop too long")
            for item in items:
                self.env.set(node.var, item)
                self.nodes(node.body)
            return
        assert node.cond is not None
        if self._endless(node) and not self.symbolic:
            self.endless(node)
            return
        if self.symbolic:
            raise Unsupported("a while loop inside an endless loop")
        for _ in range(MAX_ITERATIONS):
            self.cmd(Cmd(node.cond, []))
            ok = self.env.status == 0
            if ok != (node.kind == "while"):
                self.env.status = 0
                return
            self.nodes(node.body)
        raise Unsupported("loop too long to run through")

    def _endless(self, node: LoopNode) -> bool:
        assert node.cond is not None
        if node.cond.redirs or node.cond.bg:
            return False
        words = [_literal(w) for w in node.cond.words]
        want = ("true", ":") if node.kind == "while" else ("false",)
        if len(words) == 1 and words[0] in want:
            return True
        if node.kind == "while" and len(words) >= 2 and words[0] == "sleep" and \
                all(w is not None for w in words):
            return True  # `while sleep 5; do ...`: the sleep is part of each iteration
        return node.kind == "while" and len(words) == 3 and words[0] == "[" and \
            words[2] == "]" and bool(words[1])

    def endless(self, node: LoopNode) -> None:
        """`while true`: compile the body into a periodic Loop; when it cannot be (an
        exit, a test, a value we cannot follow from one iteration to the next), run it
        through: an exit ends the script, and past the bound it runs until stopped."""
        assert node.cond is not None
        body: list[Node] = list(node.body)
        if _literal(node.cond.words[0]) == "sleep":
            body.insert(0, Cmd(node.cond, []))
        try:
            loop: Loop | None = compile_loop(body, self.env, self.t)
        except Unsupported:
            loop = None
        if loop is None:
            for _ in range(MAX_ITERATIONS):
                self.nodes(body)  # Stop (exit) ends the script here
        elif loop.period > 0 and loop.body:
            self.loop = loop
        # else: it writes nothing (or writes endlessly without sleeping: not modelled)
        self.forever = True
        self.known = False  # runs until stopped: the caller's default for servers
        raise Stop

    # -- commands ---------------------------------------------------------------------

    def cmd(self, node: Cmd) -> None:
        self.steps += 1
        if self.steps > MAX_STEPS:
            raise Unsupported("too many commands")
        st = node.stmt
        words = list(st.words)
        # leading assignments
        assigns: list[tuple[str, Word]] = []
        while words:
            w = words[0]
            if not w or w[0][1] != 0:
                break
            m = _ASSIGN.match(w[0][0])
            if m is None:
                break
            rest: Word = ((w[0][0][m.end():], 0),) + w[1:]
            assigns.append((m.group(1), rest))
            words = words[1:]
        args: list[Template] = []
        for w in words:
            args.extend(self.x.fields(w))
        if not args:
            for name, val in assigns:
                self.env.set(name, _template_value(self.x.word(val)))
            self.env.status = 0
            return
        stream = self._stream(st)
        for p in node.pipeline:  # only `| cat` and `| tee` pass the output on
            pargs: list[Template] = []
            for w in p.words:
                pargs.extend(self.x.fields(w))
            if _prog(pargs) not in ("cat", "tee"):
                raise Unsupported("pipe")
            stream = self._stream(p) if stream is not None else None
        self.run_args(args, stream, st.bg)

    def _stream(self, st: Stmt) -> int | None:
        out: int | None = STDOUT
        err: int | None = STDERR
        for fd, op, target in st.redirs:
            t = _literal(target)
            if t is None:
                raise Unsupported("redirection target")
            if op in ("<", "<&"):
                continue
            if op == ">&":
                dest = out if t == "1" else err if t == "2" else None
                if t not in ("1", "2"):
                    raise Unsupported("redirection")
            else:
                dest = STDOUT if t == "/dev/stdout" else STDERR if t == "/dev/stderr" else None
            if op == "&>":
                out = err = dest
            elif fd == 1:
                out = dest
            elif fd == 2:
                err = dest
        return out

    def run_args(self, args: list[Template], stream: int | None, bg: bool) -> None:
        prog = _prog(args)
        if prog is None:
            raise Unsupported("command name")
        env = self.env
        if prog == "exec":
            if len(args) == 1:
                return
            self.run_args(args[1:], stream, bg)
            if self.symbolic:
                raise Unsupported("exec in a loop")
            self.exit = env.status
            raise Stop
        if prog == "sleep":
            total = 0.0
            for a in args[1:]:
                s = _tlit(a)
                if s is None:
                    raise Unsupported("sleep of a deferred value")
                try:
                    total += seconds(s)
                except OverflowError:
                    if self.symbolic or bg:
                        raise Unsupported("sleep infinity") from None
                    self.forever = True
                    raise Stop from None
                except ValueError:
                    raise Unsupported(f"sleep {s}") from None
            if len(args) == 1:
                raise Unsupported("sleep without a duration")
            if bg:
                if self.symbolic:
                    raise Unsupported("background in a loop")
                self.bg_until = max(self.bg_until, self.t + total)
            else:
                self.t += total
            env.status = 0
            return
        if prog == "exit":
            if self.symbolic:
                raise Unsupported("exit in a loop")
            code = env.status
            if len(args) > 1:
                s = _tlit(args[1])
                code = int(s) & 0xFF if s is not None and _INT.match(s) else 2
            self.exit = code
            raise Stop
        if prog in ("true", ":"):
            env.status = 0
            return
        if prog == "false":
            env.status = 1
            return
        if prog == "echo":
            self.emit(stream, _echo(args[1:]))
            env.status = 0
            return
        if prog == "printf":
            self.emit(stream, _printf(args[1:]))
            env.status = 0
            return
        if prog == "date":
            self.emit(stream, [(_date_part(args[1:]),)])
            env.status = 0
            return
        if prog == "hostname":
            self.emit(stream, [(("host",),)])
            env.status = 0
            return
        if prog == "printenv":
            vals = [env.get(_tlit(a) or "") for a in args[1:]]
            self.emit(stream, [_join((v,)) for v in vals if v is not None])
            env.status = 0 if all(v is not None for v in vals) else 1
            return
        if prog in ("[", "test"):
            inner = args[1:]
            if prog == "[":
                if not inner or _tlit(inner[-1]) != "]":
                    raise Unsupported("[ without ]")
                inner = inner[:-1]
            env.status = _test(inner)  # in a loop body: only when all literal
            return
        if prog == "wait":
            if self.symbolic:
                raise Unsupported("wait in a loop")
            self.t = max(self.t, self.bg_until)
            env.status = 0
            return
        if prog == "let":
            for a in args[1:]:
                self._let(_tlit(a))
            return
        if prog in ("export", "readonly", "local"):
            for a in args[1:]:
                s = a[0] if a and isinstance(a[0], str) else ""
                m = _ASSIGN.match(s)
                if m is not None:
                    env.set(m.group(1), _template_value(_join((s[m.end():],) + a[1:])))
            env.status = 0
            return
        if prog == "unset":
            for a in args[1:]:
                s = _tlit(a)
                if s and not s.startswith("-"):
                    env.unset(s)
            env.status = 0
            return
        if prog == "cat" and len(args) == 1:
            env.status = 0
            return
        if prog == "cat" and [_tlit(a) for a in args[1:]] == ["/etc/hostname"]:
            self.emit(stream, [(("host",),)])
            env.status = 0
            return
        if prog in _NOOPS:
            env.status = 0
            return
        raise Unsupported(prog)

    def _let(self, expr: str | None) -> None:
        if expr is None:
            raise Unsupported("let")
        m = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*(\+\+|--|[-+]=\s*\d+|=(.*))\s*", expr)
        if m is None:
            raise Unsupported("let")
        name, op = m.group(1), m.group(2)
        cur = self.env.get(name)
        if cur is None:
            cur = "0"
        if op == "++":
            v = _add(cur, 1)
        elif op == "--":
            v = _add(cur, -1)
        elif op.startswith("+="):
            v = _add(cur, int(op[2:]))
        elif op.startswith("-="):
            v = _add(cur, -int(op[2:]))
        else:
            v = self.x._arith_expr(m.group(3))
        self.env.set(name, v)
        self.env.status = 0


def compile_loop(body: list[Node], env: Env, at: float) -> Loop:
    """The body of an endless loop as a periodic Loop (Unsupported when it cannot be:
    exits, tests, waits, variables computed from other variables)."""
    sym_env = Env(env.vars, env.positional)
    sym_env.status = env.status
    sym_env.sym = {}
    run = Run(sym_env)
    run.nodes(body)
    if run.loop is not None:
        raise Unsupported("nested endless loop")
    steps: list[tuple[str, str, str]] = []
    for name, s in sorted(sym_env.sym.items()):
        if s[0] == "const":
            steps.append((name, "set", str(s[1])))
        elif s[2]:
            steps.append((name, "add", str(s[1])))
    stepped = {name for name, _, _ in steps}
    # a variable no iteration changes has the same value in all of them: fill it in
    lines = tuple((t, stream, _fold(tpl, env.vars, stepped)) for t, stream, tpl in run.lines)
    names = sorted(n for n in sym_env.used | set(sym_env.sym) if n in stepped)
    init = tuple((n, env.vars.get(n, "")) for n in names)
    return Loop(at=at, period=run.t, body=lines, init=init, step=tuple(steps))


def _fold(tpl: Template, vars: dict[str, str], stepped: set[str]) -> Template:
    out: list[Part] = []
    for p in tpl:
        if isinstance(p, tuple) and p[0] == "var" and p[1] not in stepped:
            v = vars.get(p[1], "")
            out.append(str(int0(v) + p[2]) if p[3] else v)
        else:
            out.append(p)
    return _join(out)


# ---- entry point -----------------------------------------------------------------------

def script_of(argv: tuple[str, ...]) -> tuple[str, list[str]] | None:
    """(script, positional parameters) for `sh -c SCRIPT [ARG0 ARGS]`, else None."""
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in SHELLS and \
            re.fullmatch(r"-[a-z]*c[a-z]*", argv[1]):
        return argv[2], list(argv[3:]) or [argv[0]]
    return None


@lru_cache(maxsize=2048)
def interpret(argv: tuple[str, ...], env: tuple[tuple[str, str], ...] = ()) -> Script:
    """What `argv` (already expanded by the kubelet: `$(VAR)`) does and writes."""
    if not argv:
        return Script(known=False)
    sc = script_of(argv)
    env_ = Env(dict(env), [argv[0]])
    if sc is not None:
        env_.positional = sc[1]
        try:
            nodes = parse(tokenize(sc[0]))
        except Unsupported:
            return Script(known=False)
    else:
        prog = argv[0].rsplit("/", 1)[-1]
        if prog not in _DIRECT:
            return Script(known=False)
        words: list[Word] = [((a, 1),) for a in argv]
        nodes = [Cmd(Stmt(words, []), [])]
    run = Run(env_)
    try:
        run.nodes(nodes)
        run.exit = env_.status
    except Stop:
        pass
    except Unsupported:
        run.known = False
    out = Output(lines=tuple(run.lines), loop=run.loop)
    if not run.known:
        return Script(known=False, output=out)
    if run.forever:
        return Script(known=True, run_seconds=None, output=out)
    return Script(known=True, run_seconds=run.t, exit_code=(run.exit or 0) & 0xFF, output=out)


def kube_expand(s: str, env: dict[str, str]) -> str:
    """The kubelet's `$(VAR)` expansion of command, args and env values: `$$` is a `$`,
    a defined `$(VAR)` its value, anything else is left as written."""
    if "$" not in s:
        return s
    out, i = [], 0
    while i < len(s):
        ch = s[i]
        if ch == "$" and i + 1 < len(s):
            nx = s[i + 1]
            if nx == "$":
                out.append("$")
                i += 2
                continue
            if nx == "(":
                end = s.find(")", i + 2)
                if end > 0:
                    name = s[i + 2:end]
                    if name in env:
                        out.append(env[name])
                        i = end + 1
                        continue
                    out.append(s[i:end + 1])
                    i = end + 1
                    continue
        out.append(ch)
        i += 1
    return "".join(out)


def container_env(container: Mapping[str, Any]) -> dict[str, str]:
    """The container's literal environment (`env[].value`, expanded in order)."""
    env: dict[str, str] = {}
    for e in container.get("env") or []:
        if isinstance(e, dict) and e.get("name") and "valueFrom" not in e:
            env[str(e["name"])] = kube_expand(str(e.get("value") or ""), env)
    return env
