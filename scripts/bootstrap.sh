#!/usr/bin/env bash
# Install labctl into .venv and make this host lab-ready (Docker engine, containerlab, images).
# Idempotent: a second run changes nothing and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
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
echo "==> host set-up"
"$VENV/bin/labctl" host setup
