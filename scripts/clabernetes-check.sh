#!/usr/bin/env bash
# Run tests/unit/test_clabernetes_controller.py: clabernetes' own controller code (its Go source at
# a release) splits labctl's Topology, renders the Deployments and Services, and the test checks
# the result. Needs Go and network access to GitHub and the Go module proxy, once; no cluster.
#   scripts/clabernetes-check.sh [CHECKOUT_DIR]   (default: .cache/clabernetes-$VERSION)
set -euo pipefail
VERSION=${CLABERNETES_VERSION:-v0.6.0}
repo=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-$repo/.cache/clabernetes-$VERSION}
if [ ! -d "$src/controllers/topology" ]; then
  git clone --quiet --depth 1 --branch "$VERSION" https://github.com/srl-labs/clabernetes "$src"
fi
(cd "$src" && go mod download)
python=${PYTHON:-$repo/.venv/bin/python}
LABCTL_CLABERNETES_SRC=$src exec "$python" -m pytest -q -p no:cacheprovider "$repo/tests/unit/test_clabernetes_controller.py"
