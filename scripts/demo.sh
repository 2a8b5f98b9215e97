#!/usr/bin/env bash
# Quick start, step 1: set everything up, then run the main job on the bundled regional IX:
# deploy and configure it, show its state and where local traffic flows, run every built-in scenario (results in out/),
# and tear it down (KEEP=1 leaves it running).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
LABCTL=.venv/bin/labctl
IX=topologies/regional-ix.yml
$LABCTL validate -f "$IX"
if [ "${KEEP:-0}" != "1" ]; then
  trap '$LABCTL down -f "$IX"' EXIT   # nothing left behind, whatever happens
fi
$LABCTL up -f "$IX"
$LABCTL status -f "$IX"
$LABCTL lg rs1 198.18.1.0/24 -f "$IX"
$LABCTL locality -f "$IX"   # each pair of members: the path its traffic takes, and whether it stays in the region
status=0
$LABCTL test -f "$IX" --junit out/junit.xml --results out/results.json --report out/report || status=$?
[ "${KEEP:-0}" = "1" ] && echo "lab left running: explore with '$LABCTL status' and '$LABCTL lg', remove with '$LABCTL down -f $IX'"
echo "report: out/report/report.md"
exit "$status"
