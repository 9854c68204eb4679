# The two commands of the README: `make demo` and `make test`.
# Both create .venv at the repo root when it is missing and install the project into it.
PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: test demo install etcd-tools bench-store clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,plot]'
	@touch $(STAMP)

# The real etcd server and etcdctl (Debian etcd-server / etcd-client 3.4) are test oracles
# and the peer of `kubemu bench store`.
etcd-tools:
	@if ! command -v etcdctl >/dev/null 2>&1 || ! command -v etcd >/dev/null 2>&1; then \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq etcd-server etcd-client >/dev/null; \
	fi

test: $(STAMP) etcd-tools
	$(PY) -m pytest -q

demo: $(STAMP)
	$(VENV)/bin/kubemu demo

bench-store: $(STAMP) etcd-tools
	$(VENV)/bin/kubemu bench store

clean:
	rm -rf $(VENV) .pytest_cache bench-out
