#!/usr/bin/env bash
# Quick start, step 2: the whole test suite (unit, golden, property and real-lab integration tests).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -m "not integration"`.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || exit 1
.venv/bin/pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests: treating as failure" >&2
  exit 1
fi
exit "$rc"
