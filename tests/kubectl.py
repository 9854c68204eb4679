"""Drive the real kubectl and the official Python client against a kubemu REST API.

`Kubectl(kubeconfig)` runs `kubectl --kubeconfig K ...` with a private discovery cache
(so one test run never reads another's), `ok()` asserts exit code 0 and returns stdout,
`fails()` asserts exit code 1 and returns stderr. `needs_kubectl` skips a test, with the
reason, on a machine without kubectl.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from typing import Any

import pytest

KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")


class Kubectl:
    def __init__(self, kubeconfig: str) -> None:
        self.kubeconfig = kubeconfig
        self.cache = tempfile.mkdtemp(prefix="kubemu-kubectl-cache-")

    def run(self, *args: str, stdin: str | None = None,
            timeout: float = 60) -> "subprocess.CompletedProcess[str]":
        assert KUBECTL is not None
        cmd = [KUBECTL, "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache, *args]
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True,
                              timeout=timeout)

    def ok(self, *args: str, stdin: str | None = None, timeout: float = 60) -> str:
        p = self.run(*args, stdin=stdin, timeout=timeout)
        assert p.returncode == 0, f"kubectl {' '.join(args)}: rc {p.returncode}\n{p.stderr}"
        return p.stdout

    def fails(self, *args: str, stdin: str | None = None) -> str:
        p = self.run(*args, stdin=stdin)
        assert p.returncode == 1, f"kubectl {' '.join(args)}: rc {p.returncode}\n{p.stdout}"
        return p.stderr

    def close(self) -> None:
        shutil.rmtree(self.cache, ignore_errors=True)


def python_client(kubeconfig: str) -> Any:
    """An ApiClient of the official `kubernetes` package for this kubeconfig."""
    from kubernetes import config

    return config.new_client_from_config(config_file=kubeconfig)


def table_lines(out: str) -> list[list[str]]:
    """kubectl's table output split into cells (columns are 3+ spaces apart or single
    spaces inside a cell are kept: split on runs of 2+ spaces)."""
    import re

    return [re.split(r"\s{2,}", line.rstrip()) for line in out.splitlines() if line.strip()]
