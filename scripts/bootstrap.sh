#!/usr/bin/env bash
# Install labctl into .venv and make this host lab-ready (Docker engine, containerlab, images).
# Also installs the test suite's tools (actionlint). Idempotent: a second run changes nothing and
# takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
ACTIONLINT_VERSION=1.7.7

# labctl needs Python >= 3.11 (Debian 12, Ubuntu 24.04; Ubuntu 22.04 ships 3.10)
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
  found=$("$PYTHON" --version 2>&1 || echo "no $PYTHON")
  echo "error: labctl needs Python >= 3.11, found: $found" >&2
  echo "  fix: install python3.11 (Ubuntu 22.04: apt-get install python3.11 python3.11-venv)" >&2
  echo "       and run again with PYTHON=python3.11 bash scripts/bootstrap.sh" >&2
  exit 1
fi

if [ ! -x "$VENV/bin/labctl" ] || [ pyproject.toml -nt "$VENV/.installed" ]; then
  echo "==> installing labctl into $VENV"
  if ! "$PYTHON" -m venv "$VENV" 2>/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    "$PYTHON" -m venv "$VENV"
  fi
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q -e '.[test]'
  touch "$VENV/.installed"
fi

# actionlint checks .github/workflows in the test suite; built from its Go module into the venv
if ! "$VENV/bin/actionlint" -version 2>/dev/null | grep -qx "v$ACTIONLINT_VERSION"; then
  if command -v go >/dev/null; then
    echo "==> installing actionlint $ACTIONLINT_VERSION into $VENV/bin"
    GOBIN="$(cd "$VENV/bin" && pwd)" go install "github.com/rhysd/actionlint/cmd/actionlint@v$ACTIONLINT_VERSION"
  else
    echo "note: go not found: actionlint not installed (the workflow test fails under CI=true, skips elsewhere)" >&2
  fi
fi

# docker-registry (Debian's package): the local registry on 127.0.0.1 that the test of
# `labctl image push` starts and pushes to; no network needed once installed
if ! command -v docker-registry >/dev/null && command -v apt-get >/dev/null; then
  echo "==> installing docker-registry (for the image push test)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends docker-registry >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends docker-registry; } \
    || echo "note: docker-registry not installed (the image push test fails under CI=true, skips elsewhere)" >&2
fi

echo "==> host set-up"
"$VENV/bin/labctl" host setup
