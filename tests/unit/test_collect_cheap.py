"""The cheap convergence poll and FRR's boot-load check, on captured daemon output: `collect(routes=False)`
asks for sessions only, `collect()` gets sessions and routes in one round trip, a daemon that does
not run gives an empty answer; a boot load is complete only when no kind of config line is short."""

from __future__ import annotations

from pathlib import Path

import pytest

from labctl import daemons
from labctl.daemons.base import Daemon, NodeCommandFailed
from labctl.daemons.frr import _LOADED_KINDS, _complete_boot_load, _start_idle_peers, boot_load_complete

OUT = Path(__file__).resolve().parents[1] / "fixtures" / "daemon-output"


class Shell:
    """Answers each command with the output of the first rule whose key it contains; records commands."""

    node = "n1"

    def __init__(self, rules: list[tuple[str, str]]):
        self.rules, self.commands = rules, []

    def run(self, command, check=True, timeout=None):
        self.commands.append(command)
        for key, out in self.rules:
            if key in command:
                return 0, out
        return 0, ""


def frr_answer(*names: str) -> str:
    return "\n".join((OUT / n).read_text() for n in names)


def test_frr_sessions_only_is_one_vtysh_without_route_tables():
    sh = Shell([("vtysh", frr_answer("frr-member-summary.json"))])
    state = daemons.get("frr").collect(sh, routes=False)
    assert len(sh.commands) == 1 and "show bgp summary json" in sh.commands[0]
    assert "unicast json" not in sh.commands[0]
    assert state.sessions and state.routes == {"ipv4": [], "ipv6": []}


def test_frr_sessions_and_routes_in_one_round_trip():
    sh = Shell([("vtysh", frr_answer("frr-member-summary.json", "frr-member-ipv4-routes.json",
                                     "frr-member-ipv6-routes.json"))])
    state = daemons.get("frr").collect(sh)
    assert len(sh.commands) == 1
    assert state.sessions and state.routes["ipv4"] and state.routes["ipv6"]
    assert all(":" in p for p in state.routes["ipv6"]) and all(":" not in p for p in state.routes["ipv4"])


def test_frr_answer_cut_short_is_an_error_not_missing_routes():
    sh = Shell([("vtysh", frr_answer("frr-member-summary.json"))])
    with pytest.raises(NodeCommandFailed, match="JSON documents"):
        daemons.get("frr").collect(sh)


@pytest.mark.parametrize("daemon", ["frr", "bird"])
def test_daemon_not_running_gives_an_empty_answer(daemon):
    state = daemons.get(daemon).collect(Shell([("", Daemon.NOT_RUNNING + "\n")]))
    assert state.sessions == [] and state.routes == {"ipv4": [], "ipv6": []}


def test_bird_sessions_only_and_with_routes():
    protocols = (OUT / "bird-member-protocols-all.txt").read_text()
    routes = (OUT / "bird-member-route.txt").read_text()
    sh = Shell([("show route", protocols + "labctl: routes follow\n" + routes), ("protocols", protocols)])
    only = daemons.get("bird").collect(sh, routes=False)
    assert "show route" not in sh.commands[-1] and only.sessions and not only.routes["ipv4"]
    full = daemons.get("bird").collect(sh)
    assert len(sh.commands) == 2 and full.sessions == only.sessions and full.routes["ipv4"]


def test_bird_answer_without_the_route_part_is_an_error():
    protocols = (OUT / "bird-member-protocols-all.txt").read_text()
    with pytest.raises(NodeCommandFailed, match="did not finish"):
        daemons.get("bird").collect(Shell([("", protocols)]))


def counts(*pairs: tuple[int, int]) -> str:
    return "\n".join(f"{a} {b}" for a, b in pairs) + "\n"


def test_boot_load_complete_when_every_kind_is_all_there():
    n = len(_LOADED_KINDS)
    assert boot_load_complete(counts(*[(5, 5)] * n))
    assert boot_load_complete(counts(*[(5, 7)] * n))  # FRR may show more lines than the file has
    assert not boot_load_complete(counts(*[(5, 5)] * (n - 1), (40, 12)))  # the load stopped part-way
    assert not boot_load_complete(counts(*[(5, 5)] * (n - 1)))  # an answer cut short
    assert not boot_load_complete("")
    assert not boot_load_complete("% Can't open configuration file\n" * n)


def test_idle_peers_are_started_and_others_left_alone():
    summary = ('{"ipv4Unicast": {"peers": {"192.0.2.1": {"state": "Idle"}, "192.0.2.2": {"state": "Established"}}},'
               ' "ipv6Unicast": {"peers": {"fd00::1": {"state": "Idle"}, "fd00::2": {"state": "Active"}}}}')
    sh = Shell([("summary", summary)])
    _start_idle_peers(sh)
    assert sh.commands[-1] == "vtysh -c 'clear bgp 192.0.2.1' -c 'clear bgp fd00::1'"
    sh = Shell([("summary", "% bgpd is not running")])
    _start_idle_peers(sh)
    assert len(sh.commands) == 1


IDLE_SUMMARY = '{"ipv4Unicast": {"peers": {"192.0.2.1": {"state": "Idle"}, "192.0.2.2": {"state": "Established"}}}}'


def test_complete_boot_load_waits_counts_and_reads_sessions_in_one_round_trip():
    n = len(_LOADED_KINDS)
    sh = Shell([("show running-config", counts(*[(5, 5)] * n) + "labctl: sessions follow\n" + IDLE_SUMMARY)])
    _complete_boot_load(sh)
    assert len(sh.commands) == 2 and "[v]tysh -b" in sh.commands[0] and "summary json" in sh.commands[0]
    assert sh.commands[1] == "vtysh -c 'clear bgp 192.0.2.1'"  # no frr-reload: nothing was missing


def test_cut_short_boot_load_is_completed_by_frr_reload_then_sessions_asked_again():
    n = len(_LOADED_KINDS)
    sh = Shell([("show running-config", counts(*[(5, 5)] * (n - 1), (40, 12)) + "labctl: sessions follow\n{}"),
                ("frr-reload", ""), ("summary json", IDLE_SUMMARY)])
    _complete_boot_load(sh)
    assert "frr-reload.py --reload" in sh.commands[1] and sh.commands[2] == "vtysh -c 'show bgp summary json'"
    assert sh.commands[3] == "vtysh -c 'clear bgp 192.0.2.1'"


class FileShell(Shell):
    """Shell with files: get_file answers from `files`, put_file records the path."""

    def __init__(self, rules, files):
        super().__init__(rules)
        self.files, self.puts = files, []

    def put_file(self, path, content):
        self.puts.append(path)

    def get_file(self, path):
        return self.files.get(path)


def test_push_that_adds_lines_loads_and_installs_in_one_command_and_leaves_daemons_alone():
    from labctl.daemons.frr import CONF, DAEMONS, _load
    old = "router bgp 65000\n address-family ipv4 unicast\n  network 192.0.2.0/24\n exit-address-family\nexit\n"
    new = old.replace("  network 192.0.2.0/24\n", "  network 192.0.2.0/24\n  network 198.51.100.0/24\n")
    sh = FileShell([], {CONF: old})
    _load(sh, {"frr.conf": new, "daemons": "bgpd=yes\n"}, ["frr.conf"], running=True)
    assert DAEMONS not in sh.puts  # unchanged on the node
    assert "vtysh -f /tmp/labctl-frr-added.conf" in sh.commands[-1] and f"mv {CONF}.new {CONF}" in sh.commands[-1]
    assert not any("frr-reload" in c for c in sh.commands)
