"""RPKI through a real RTR cache, on a live lab: a `labctl push` that changes only the ROAs turns an
accepted route RPKI-invalid on every route server, and back, without a session going down.

The lab: the policy fixture's IX cut down to its two legitimate members, with a route server per
daemon (trixie: BIRD 2.17, FRR 10.3, BIRD 3.1, OpenBGPD 8.8; bookworm: BIRD 2.0.12, FRR 8.4). Each
route server runs StayRTR (labctl/daemons/rtr.py). alpha announces a prefix in each family that is inside its registered
space and covered by no ROA (not-found: accepted). Each round pushes a ROA naming another origin
for both prefixes (valid -> invalid: rejected with reason 14 on every route server, gone at beta)
and then removes it again (invalid -> valid).

Measured, per push and route server: when the new state was first seen, polling each route server
through `docker exec` from the moment the push started (a thread per route server), relative to
the push's start and to its return. Printed as a table; with LABCTL_ARTIFACTS set also written as JSON.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import threading
import time
from pathlib import Path

import pytest
import yaml

from labctl import daemons
from labctl import lifecycle as labmod
import labctl.daemons.rtr as rtr
from labctl.automation.policy_tasks import inject, restore
from labctl.runtime.backend import LocalClab
from labctl.scenarios.rs_policy.cases import Announcement

from .helpers import leftovers

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "policy"
# stack -> (lab name, management subnet, route servers by daemon)
STACKS = {
    "trixie": ("p-rpki", "172.30.233.0/24", ["bird", "frr", "bird3", "openbgpd"]),  # BIRD 2.17, FRR 10.3, BIRD 3.1, OpenBGPD 8.8
    "bookworm": ("p-rpki-old", "172.30.234.0/24", ["bird", "frr"]),  # BIRD 2.0.12 (no `rpki reload`), FRR 8.4
}
PREFIXES = ("198.18.33.0/24", "2001:db8:101::/48")  # inside alpha's allowed_prefixes, no ROA covers them
OTHER_ORIGIN = 64510
ROUNDS = 2
FLIP_TIMEOUT = 60.0
RPKI_INVALID = 14


def write_ix(dest: Path, stack: str, roas_extra: bool) -> Path:
    """The cut-down policy IX; `roas_extra` adds the ROAs that make alpha's test prefixes invalid."""
    for f in FIXTURE.iterdir():
        if f.is_file():
            shutil.copy(f, dest / f.name)
    data = yaml.safe_load((FIXTURE / "ix.yml").read_text())
    lab, subnet, route_servers = STACKS[stack]
    data["ix"].update(name=lab, stack=stack, management={"ipv4_subnet": subnet})
    data["route_servers"] = [{"name": f"rs{i}", "daemon": d, "site": "lab"} for i, d in enumerate(route_servers, 1)]
    data["members"] = [m for m in data["members"] if m["name"] in ("alpha", "beta")]
    roas = data["ix"]["policy"]["rpki"]["roas"]
    if roas_extra:
        roas += [{"prefix": p, "asn": OTHER_ORIGIN} for p in PREFIXES]
    (dest / "ix.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return dest / "ix.yml"


class ExecShell:
    """A NodeShell over `docker exec`: lets the poller ask a daemon module without an SSH session."""

    def __init__(self, lab: str, node: str):
        self.lab, self.node = lab, node

    def run(self, command: str, check: bool = True, timeout: float | None = None) -> tuple[int, str]:
        proc = LocalClab(self.lab).run(self.node, ["sh", "-c", command], timeout=timeout or 30)
        return proc.returncode, proc.stdout

    def capture(self, command: str, timeout: float = 120) -> str:
        return self.run(command, timeout=timeout)[1]

    def put_file(self, path: str, content: str) -> None:
        raise NotImplementedError

    def get_file(self, path: str) -> str | None:
        raise NotImplementedError


def route_state(lab, rs: str, prefix: str) -> str:
    """alpha's path for `prefix` on a route server: 'accepted', 'invalid' (tagged 14), 'other', 'absent'."""
    node = lab.plan.nodes[rs]
    alpha = str(getattr(lab.plan.nodes["alpha"], "ipv4" if ":" not in prefix else "ipv6"))
    _, routes = daemons.get(node.daemon).looking_glass(ExecShell(lab.plan.lab, rs), prefix)
    mine = [r for r in routes if r.prefix == prefix and (r.peer_name == "alpha" or r.source == alpha)]
    if not mine:
        return "absent"
    reasons = mine[0].reasons(lab.plan.policy.rs_asn)
    if not reasons and not mine[0].filtered:
        return "accepted"
    return "invalid" if reasons == [RPKI_INVALID] else f"other {reasons}"


class Poller:
    """Polls each route server in its own thread (its prefixes in turn) until each (route server,
    prefix) shows `want`; records the first instant it did. Resolution: one `docker exec` of the
    daemon's looking-glass command per prefix, about 0.1-0.3 s on the 2-core host."""

    def __init__(self, lab, route_servers: list[str], want: str):
        self.lab, self.want = lab, want
        self.pending = {(rs, p) for rs in route_servers for p in PREFIXES}
        self.seen: dict[tuple[str, str], float] = {}
        self.last: dict[tuple[str, str], str] = {}
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._poll, args=(rs,), daemon=True) for rs in route_servers]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for t in self.threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self.stop.set()

    def _poll(self, rs: str) -> None:
        mine = {(rs, p) for p in PREFIXES}
        deadline = time.monotonic() + FLIP_TIMEOUT + 120  # the push itself takes a while
        while mine and not self.stop.is_set() and time.monotonic() < deadline:
            for key in sorted(mine):
                state = route_state(self.lab, *key)
                self.last[key] = state
                if state == self.want:
                    self.seen[key] = time.monotonic()
                    mine.discard(key)
                    self.pending.discard(key)


def session_downs(lab, since: float) -> dict[str, list]:
    """Session-down events in each route server's daemon log after the wall-clock instant `since`.
    The log must show the sessions coming up at the start: proof that it is read and parsed."""
    out = {}
    for rs in lab.plan.by_role("route_server"):
        daemon = daemons.get(rs.daemon)
        text = LocalClab(lab.plan.lab).run(rs.name, ["cat", daemon.log_path], timeout=30).stdout
        changes = daemon.parse_log(text)
        assert any(c.up and c.t < since for c in changes), f"{rs.name}: no session-up event in {daemon.log_path}"
        out[rs.name] = [c for c in changes if not c.up and c.t >= since]
    return out


def beta_holds(lab, want: bool, timeout: float = 30) -> dict[str, bool]:
    """Which test prefixes beta (a member) holds, once it holds all (want) or none (not want) of them."""
    node = lab.plan.nodes["beta"]
    deadline = time.monotonic() + timeout
    while True:
        state = daemons.get(node.daemon).collect(ExecShell(lab.plan.lab, "beta"))
        held = {p: p in state.routes.get("ipv6" if ":" in p else "ipv4", []) for p in PREFIXES}
        if set(held.values()) == {want} or time.monotonic() > deadline:
            return held
        time.sleep(0.5)


def flip(lab, ix: Path, tmp: Path, invalid: bool) -> dict:
    """Rewrite ix.yml with or without the extra ROAs, push, and time the flip on every route server."""
    write_ix(tmp, lab.plan.model.ix.stack, roas_extra=invalid)
    route_servers = [n.name for n in lab.plan.by_role("route_server")]
    poller = Poller(lab, route_servers, "invalid" if invalid else "accepted")
    t0 = time.monotonic()
    poller.start()
    report = labmod.push(ix)
    t_push = time.monotonic() - t0
    poller.join(FLIP_TIMEOUT)
    assert not poller.pending, f"not flipped within {FLIP_TIMEOUT} s after the push: {poller.last}"
    changed = {n.node: n for n in report.nodes if n.status != "unchanged"}
    assert set(changed) == set(route_servers), report
    assert all(n.status == "applied" for n in changed.values()), report
    for n in changed.values():  # the ROA file and nothing else
        touched = {line.split()[1] for line in n.diff.splitlines() if line.startswith("--- ")}
        assert touched == {"/etc/labctl/rpki/rpki.json"}, (n.node, touched)
    return {"direction": "valid->invalid" if invalid else "invalid->valid", "push_s": round(t_push, 2),
            "flips": {f"{rs} {p}": {"after_push_start_s": round(t - t0, 3), "after_push_return_s": round(t - t0 - t_push, 3)}
                      for (rs, p), t in sorted(poller.seen.items())}}


def print_table(results: list[dict]) -> None:
    print("\nRPKI flips through StayRTR (seconds; negative 'after return' = seen before the push returned)")
    for r in results:
        print(f"{r['direction']}: push {r['push_s']} s")
        for key, t in r["flips"].items():
            print(f"  {key:28} after push start {t['after_push_start_s']:7.3f}   after push return {t['after_push_return_s']:7.3f}")
    for direction in ("valid->invalid", "invalid->valid"):
        starts = [t["after_push_start_s"] for r in results if r["direction"] == direction for t in r["flips"].values()]
        rets = [t["after_push_return_s"] for r in results if r["direction"] == direction for t in r["flips"].values()]
        print(f"{direction}: median {statistics.median(starts):.3f} s after push start (max {max(starts):.3f}), "
              f"median {statistics.median(rets):.3f} s after push return (max {max(rets):.3f})")


@pytest.mark.parametrize("stack", list(STACKS))
def test_roa_push_flips_routes_on_every_route_server_without_a_session_reset(lab_host, tmp_path, stack):
    ix = write_ix(tmp_path, stack, roas_extra=False)
    started = time.monotonic()
    try:
        up = labmod.up(ix)
        assert up.ok, (up.failed_nodes, up.convergence.down_sessions, up.convergence.missing_routes)
        lab = labmod.open_lab(ix)
        route_servers = [n.name for n in lab.plan.by_role("route_server")]
        want = {afi: len(lab.plan.policy.roas_for(afi)) for afi in ("ipv4", "ipv6")}
        for rs in route_servers:  # StayRTR serves the rendered file: its metrics count the VRPs
            served = rtr.metrics(ExecShell(lab.plan.lab, rs))
            assert {afi: served.get(afi) for afi in want} == want, (rs, served)
        alpha = lab.plan.nodes["alpha"]
        anns = [Announcement("rpki-flip", "alpha", p, (alpha.asn,), str(alpha.ipv6 if ":" in p else alpha.ipv4))
                for p in PREFIXES]
        text = daemons.get(alpha.daemon).injection(lab.plan, alpha, anns, {}, lab.node_files()["alpha"])
        nr = lab.nornir(only=["alpha"])
        try:
            assert not nr.run(task=inject, text=text).failed
            for rs in route_servers:
                for p in PREFIXES:
                    deadline = time.monotonic() + 60
                    while route_state(lab, rs, p) != "accepted" and time.monotonic() < deadline:
                        time.sleep(0.5)
                    assert route_state(lab, rs, p) == "accepted", (rs, p)
            assert all(beta_holds(lab, True).values())
            wall0 = time.time()
            results = []
            for _ in range(ROUNDS):
                results.append(flip(lab, ix, tmp_path, invalid=True))
                assert not any(beta_holds(lab, False).values()), "an RPKI-invalid route stayed at beta"
                results.append(flip(lab, ix, tmp_path, invalid=False))
                assert all(beta_holds(lab, True).values()), "the route did not come back to beta"
            downs = session_downs(lab, wall0)
            assert not any(downs.values()), f"sessions went down during the ROA pushes: {downs}"
            status = labmod.status(ix)
            assert status.convergence.converged, (status.convergence.down_sessions, status.convergence.missing_routes)
            print_table(results)
            out = Path(os.environ.get("LABCTL_ARTIFACTS", tmp_path)) / f"rpki-flips-{stack}.json"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps({"stack": stack, "route_servers": {rs: lab.plan.nodes[rs].daemon for rs in route_servers},
                                       "results": results}, indent=1))
            print(f"figures in {out}")
        finally:
            nr.run(task=restore)
            nr.close_connections()
    finally:
        down = labmod.down(ix)
    lab_name = STACKS[stack][0]
    assert leftovers(lab_name, tmp_path / ".labctl" / lab_name) == [], down
    print(f"test run time incl. up and down: {time.monotonic() - started:.1f} s")
