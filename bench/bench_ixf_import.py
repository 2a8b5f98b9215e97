#!/usr/bin/env python3
"""Benchmark the IX-F importer on a synthetic 1,000-member IX-F 1.0 export.

Usage: .venv/bin/python bench/bench_ixf_import.py [--members 1000] [--runs 5]

Writes the export to a temporary folder, then times (median of --runs runs, wall clock):
  * import: read the JSON, pick IXP/VLAN, build ix.yml, validate it (the importer always validates)
  * validate: `load_text` on the produced ix.yml alone (what `labctl validate` does)
  * import --sample 50: the same file, 50 members
The synthetic file has 4 switches in 3 cities, 2 VLANs, an IXP route server entry, and a few
members without addresses, IPv4-only, or with two connections, so every code path runs.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from labctl.importers.ixf import import_ixf
from labctl.model.load import load_text


def synthetic_export(n: int) -> dict:
    """A deterministic IX-F 1.0 export with `n` members on a /21 peering LAN."""
    switches = [
        {"id": 1, "name": "fra-sw1", "colo": "DC A", "city": "Frankfurt", "country": "DE"},
        {"id": 2, "name": "fra-sw2", "colo": "DC B", "city": "Frankfurt", "country": "DE"},
        {"id": 3, "name": "ber-sw1", "colo": "DC C", "city": "Berlin", "country": "DE"},
        {"id": 4, "name": "ham-sw1", "colo": "DC D", "city": "Hamburg", "country": "DE"},
    ]
    members = [{
        "asnum": 4200000000, "name": "Synthetic IX route servers", "member_type": "ixp",
        "connection_list": [{"ixp_id": 1, "if_list": [{"switch_id": 1}], "vlan_list": [{
            "vlan_id": 10,
            "ipv4": {"address": "10.20.0.1", "services": [{"type": "ixrouteserver"}]},
            "ipv6": {"address": "2001:db8:ffff::1", "services": [{"type": "ixrouteserver"}]}}]}]}]
    for i in range(1, n + 1):
        host = i + 10
        v4 = f"10.20.{host // 256}.{host % 256}"
        v6 = f"2001:db8:ffff::{host:x}"
        entry: dict = {"vlan_id": 10, "ipv4": {"address": v4, "routeserver": True, "max_prefix": 10 + i % 90,
                                               "as_macro": f"AS-SYN{i}"}}
        if i % 20 != 0:  # every 20th member is IPv4-only
            entry["ipv6"] = {"address": v6, "routeserver": True, "max_prefix": 5 + i % 20, "as_macro": f"AS-SYN{i}"}
        vlans = [entry]
        if i % 3 == 0:  # a third of the members are also on the backup VLAN
            vlans.append({"vlan_id": 20, "ipv4": {"address": f"10.30.{host // 256}.{host % 256}"}})
        if i % 50 == 0:  # every 50th member has no address on the peering VLAN
            vlans = vlans[1:]
        conn = {"ixp_id": 1, "state": "active", "if_list": [{"switch_id": 1 + i % 4, "if_speed": 10000}],
                "vlan_list": vlans}
        conns = [conn]
        if i % 33 == 0:  # some members have a second connection
            conns.append({"ixp_id": 1, "if_list": [{"switch_id": 3}], "vlan_list": [
                {"vlan_id": 10, "ipv4": {"address": f"10.20.7.{i % 250 + 1}", "routeserver": True}}]})
        members.append({"asnum": 4200000000 + i, "name": f"Synthetic Network {i} GmbH", "member_type": "peering",
                        "connection_list": conns})
    return {
        "version": "1.0",
        "timestamp": "2026-01-01T00:00:00Z",
        "ixp_list": [{"ixp_id": 1, "ixf_id": 1, "shortname": "SYN-IX", "name": "Synthetic Exchange",
                      "switch": switches,
                      "vlan": [{"id": 10, "name": "peering", "ipv4": {"prefix": "10.20.0.0", "mask_length": 21},
                                "ipv6": {"prefix": "2001:db8:ffff::", "mask_length": 64}},
                               {"id": 20, "name": "backup", "ipv4": {"prefix": "10.30.0.0", "mask_length": 21}}]}],
        "member_list": members,
    }


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-ixf-") as tmp:
        path = Path(tmp) / "synthetic-ixf.json"
        path.write_text(json.dumps(synthetic_export(args.members), indent=1))
        result = import_ixf(path)
        text = result.text
        rows = [
            (f"import ({args.members} members, incl. validation)", timed(lambda: import_ixf(path), args.runs)),
            ("validate result (load_text)", timed(lambda: load_text(text), args.runs)),
            ("import --sample 50", timed(lambda: import_ixf(path, sample=50), args.runs)),
        ]
        size_kib = path.stat().st_size / 1024
    print(f"synthetic IX-F 1.0 export: {args.members} members, {size_kib:.0f} KiB; "
          f"imported {len(result.imported)}, skipped {len(result.skipped)}, sites {len(result.model.sites)}, "
          f"ix.yml {len(text) / 1024:.0f} KiB")
    print(f"{'operation':<44} {'median s':>9} {'min s':>8} {'max s':>8}   ({args.runs} runs)")
    for name, times in rows:
        print(f"{name:<44} {statistics.median(times):>9.3f} {min(times):>8.3f} {max(times):>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
