"""`kubemu kubeconfig`: the kubeconfig of a cluster's REST API (server, CA, token, a
context named after the cluster), written 0600; a missing cluster is exit 1."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest
import yaml

from actors.cluster import ClusterState
from actors.common.certs import make_credentials
from cli.main import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KUBEMU_HOME", str(tmp_path))
    monkeypatch.delenv("KUBEMU_CLUSTER", raising=False)
    return tmp_path


def test_writes_server_ca_token_and_context(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    st = ClusterState(name="shop", namespace="kubemu-shop", ray_address="", ray_started=False,
                      ray_session_pid=0, apiserver="127.0.0.1:1",
                      etcd_endpoints=[], rest_server="https://0.0.0.0:6443")
    st.save()
    creds = make_credentials(home / "shop" / "pki", ["0.0.0.0"])
    assert main(["kubeconfig", "--name", "shop"]) == 0
    out = home / "shop" / "kubeconfig"
    assert f"export KUBECONFIG={out}" in capsys.readouterr().out
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # it holds the token
    doc = yaml.safe_load(out.read_text())
    assert doc["current-context"] == "shop"
    cluster = doc["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"  # a wildcard bind is dialled locally
    assert base64.b64decode(cluster["certificate-authority-data"]) == creds.ca_cert.read_bytes()
    assert doc["users"][0]["user"]["token"] == creds.token
    assert main(["kubeconfig", "--name", "shop", "-o", "-"]) == 0
    assert yaml.safe_load(capsys.readouterr().out) == doc


def test_missing_cluster_is_exit_1(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kubeconfig", "--name", "nosuch"]) == 1
    err = capsys.readouterr().err
    assert err.startswith('error: cluster "nosuch" not found') and "Traceback" not in err
