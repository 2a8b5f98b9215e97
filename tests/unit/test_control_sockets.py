"""The control-socket transport (automation/control.py) against fake daemon sockets, the unit's
neighbour: FRR's vty framing (NUL-terminated commands, answers ended by `\\0\\0\\0<status>`, however
the bytes are split), BIRD's numbered reply lines rendered as birdc prints them, the cases that fall
back to SSH (None) and the ones that are errors; the daemons' `collect` through `ask`; and the
socket binds in the rendered topologies."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest
import yaml

from labctl import daemons
from labctl.automation import control
from labctl.automation.control import Control, ControlError
from labctl.automation.ssh import NodeTimeout
from labctl.model.hosts import load_hosts
from labctl.model.load import load
from labctl.plan import build_plan
from labctl.render.artefacts import topology_document
from labctl.render.clabernetes import containerlab_text
from labctl.render.multihost import render_host_topologies

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "tests" / "fixtures" / "daemon-output"
FRR = daemons.get("frr").control
BIRD = daemons.get("bird").control


class FakeDaemon:
    """A unix socket server in a thread: `handle(conn)` serves each connection; what the clients
    sent is kept in `received`."""

    def __init__(self, path: Path, handle):
        self.path, self.handle, self.received = path, handle, []
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(4)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                try:
                    self.handle(self, conn)
                except OSError:
                    pass

    def close(self):
        self.server.close()


def read_until(conn: socket.socket, end: bytes) -> bytes:
    buf = b""
    while not buf.endswith(end):
        data = conn.recv(1)
        if not data:
            raise OSError("client gone")
        buf += data
    return buf


def vty_server(answers: dict[str, tuple[bytes, int]], chunk: int = 3):
    """FRR's vty side: each NUL-terminated command is answered in `chunk`-byte pieces (the
    terminator split across reads too)."""
    def handle(fake, conn):
        while True:
            command = read_until(conn, b"\0")[:-1].decode()
            fake.received.append(command)
            text, status = answers.get(command, (b"", 0))
            data = text + b"\0\0\0" + bytes([status])
            for i in range(0, len(data), chunk):
                conn.sendall(data[i:i + chunk])
    return handle


def bird_server(replies: dict[str, list[str]]):
    def handle(fake, conn):
        conn.sendall(b"0001 BIRD 2.17.6 ready.\n")
        while True:
            command = read_until(conn, b"\n")[:-1].decode()
            fake.received.append(command)
            conn.sendall("".join(f"{line}\n" for line in replies[command]).encode())
    return handle


@pytest.fixture
def folder(tmp_path):
    yield tmp_path
    os.environ.pop(control.SWITCH, None)


def serve(folder: Path, name: str, handle) -> FakeDaemon:
    return FakeDaemon(folder / name, handle)


def test_vty_answers_are_the_text_before_the_terminator_after_vtysh_s_enable(folder):
    summary = (OUT / "frr-member-summary.json").read_bytes()
    fake = serve(folder, "bgpd.vty", vty_server({"show bgp summary json": (summary, 0),
                                                 "show bgp ipv4 unicast json": (b"{}\n", 1)}))
    got = Control(str(folder), "n1").ask(FRR, ["show bgp summary json", "show bgp ipv4 unicast json"])
    fake.close()
    assert got == [summary.decode(), "{}\n"]  # status 1 (CMD_WARNING) is success for `vtysh -c` too
    assert fake.received == ["enable", "show bgp summary json", "show bgp ipv4 unicast json"]


def test_vty_error_status_is_an_error_naming_node_and_command(folder):
    fake = serve(folder, "bgpd.vty", vty_server({"show bgp nonsense": (b"% Unknown command: show bgp nonsense\n", 2)}))
    with pytest.raises(ControlError, match=r"n1: `show bgp nonsense` failed \(vty status 2\): % Unknown command"):
        Control(str(folder), "n1").ask(FRR, ["show bgp nonsense"])
    fake.close()


def test_bird_replies_render_as_birdc_prints_them(folder):
    replies = {"show protocols all": [
        "2002-Name       Proto      Table      State  Since         Info",
        "1002-device1    Device     ---        up     06:39:04.576  ",
        " ",
        "1002-p1         BGP        ---        start  06:39:04.576  Idle          ",
        "1006-  BGP state:          Idle",
        "     Neighbor address: 10.9.9.9",
        "+async note",
        "0000 "],
        "show route": ["0014 Network not found"]}
    fake = serve(folder, "bird.ctl", bird_server(replies))
    got = Control(str(folder), "n1").ask(BIRD, ["show protocols all", "show route"])
    fake.close()
    assert got == ["BIRD 2.17.6 ready.\n"
                   "Name       Proto      Table      State  Since         Info\n"
                   "device1    Device     ---        up     06:39:04.576  \n"
                   "\n"
                   "p1         BGP        ---        start  06:39:04.576  Idle          \n"
                   "  BGP state:          Idle\n"
                   "    Neighbor address: 10.9.9.9\n"
                   ">>> async note\n",
                   "BIRD 2.17.6 ready.\nNetwork not found\n"]
    assert fake.received == ["show protocols all", "show route"]


def test_bird_error_code_is_an_error(folder):
    fake = serve(folder, "bird.ctl", bird_server({"show nonsense": ["9001 syntax error, unexpected CF_SYM_UNDEFINED"]}))
    with pytest.raises(ControlError, match=r"`birdc show nonsense` failed \(9001\): syntax error"):
        Control(str(folder), "n1").ask(BIRD, ["show nonsense"])
    fake.close()


def test_no_socket_a_stale_socket_or_the_ssh_switch_mean_use_ssh(folder):
    ctl = Control(str(folder), "n1")
    assert ctl.ask(FRR, ["show bgp summary json"]) is None  # no file
    assert Control(str(folder / "absent"), "n1").ask(FRR, ["x"]) is None  # no folder (not bound, remote engine)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(folder / "bird.ctl"))  # bound, never listening: a daemon that died
    assert ctl.ask(BIRD, ["show status"]) is None
    stale.close()
    assert ctl.ask(None, ["show status"]) is None  # a daemon without a socket client (OpenBGPD)
    fake = serve(folder, "bgpd.vty", vty_server({}))
    os.environ[control.SWITCH] = "ssh"
    assert ctl.ask(FRR, ["show bgp summary json"]) is None and fake.received == []
    os.environ.pop(control.SWITCH)
    assert ctl.ask(FRR, ["show bgp summary json"]) == [""]
    fake.close()


def test_a_lab_folder_deeper_than_a_unix_socket_path_allows(folder):
    deep = folder / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    assert len(str(deep / "bgpd.vty")) > 108  # sun_path's limit: connect() by this path would fail
    handle = os.open(deep, os.O_PATH | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError):
            socket.socket(socket.AF_UNIX).bind(str(deep / "bgpd.vty"))
        fake = serve(Path(f"/proc/self/fd/{handle}"), "bgpd.vty", vty_server({"show version": (b"FRRouting 10.3\n", 0)}))
    finally:
        os.close(handle)
    assert Control(str(deep), "n1").ask(FRR, ["show version"]) == ["FRRouting 10.3\n"]
    fake.close()


def test_an_answer_that_never_ends_times_out(folder):
    def silent(fake, conn):
        read_until(conn, b"\0")
        conn.sendall(b"half an answer")
        threading.Event().wait(5)
    fake = serve(folder, "bgpd.vty", silent)
    with pytest.raises(NodeTimeout, match="n1"):
        Control(str(folder), "n1", timeout=0.5).ask(FRR, ["show bgp summary json"])
    fake.close()


class AskingShell:
    """A node session whose daemon socket answers; any shell command is a failure of the test."""

    node = "n1"

    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def ask(self, commands):
        self.asked.append(list(commands))
        return [self.answers[c] for c in commands]

    def run(self, command, check=True, timeout=None):
        raise AssertionError(f"ran {command!r} although the socket answered")


def test_frr_collect_through_the_socket_parses_like_the_shell_output():
    names = {"show bgp summary json": "frr-member-summary.json", "show bgp ipv4 unicast json": "frr-member-ipv4-routes.json",
             "show bgp ipv6 unicast json": "frr-member-ipv6-routes.json"}
    sh = AskingShell({c: (OUT / n).read_text() for c, n in names.items()})
    state = daemons.get("frr").collect(sh)
    assert sh.asked == [list(names)]
    assert state.sessions and state.routes["ipv4"] and state.routes["ipv6"]
    only = daemons.get("frr").collect(sh, routes=False)
    assert sh.asked[-1] == ["show bgp summary json"] and only.sessions == state.sessions


def test_bird_collect_through_the_socket_parses_like_the_shell_output():
    sh = AskingShell({"show protocols all": (OUT / "bird-member-protocols-all.txt").read_text(),
                      "show route": (OUT / "bird-member-route.txt").read_text()})
    state = daemons.get("bird").collect(sh)
    assert sh.asked == [["show protocols all", "show route"]]
    assert state.sessions and state.routes["ipv4"]


def test_openbgpd_has_no_socket_client():
    assert daemons.get("openbgpd").control is None


def test_routers_bind_their_daemon_socket_folder_switches_and_openbgpd_do_not():
    plan = build_plan(load(REPO / "tests" / "fixtures" / "upstreams" / "ix.yml"))
    nodes = topology_document(plan, "img")["topology"]["nodes"]
    for name, node in plan.nodes.items():
        control_ = daemons.get(node.daemon).control if node.role != "switch" else None
        want = [f"run/{name}:{control_.directory}"] if control_ else None
        assert nodes[name].get("binds") == want, name
    assert any(n.daemon == "openbgpd" for n in plan.nodes.values())


def test_split_and_clabernetes_topologies(tmp_path):
    plan = build_plan(load(REPO / "topologies" / "regional-ix.yml"))
    hosts_file = tmp_path / "hosts.yml"
    hosts_file.write_text(yaml.safe_dump({"hosts": [
        {"name": "a", "sites": ["okayama"], "address": "10.253.77.1"},
        {"name": "b", "sites": ["kurashiki", "tsuyama"], "address": "10.253.77.2",
         "docker": "unix:///run/labctl-hb/docker.sock", "netns": "labctl-hb"}]}))
    split = render_host_topologies(plan, "img", load_hosts(hosts_file, plan.model))
    binds = [b for text in split.values() for n in yaml.safe_load(text)["topology"]["nodes"].values()
             for b in n.get("binds", [])]
    # the per-host topologies sit two folders below the lab folder
    assert binds and all(b.startswith("../../run/") for b in binds)
    doc = yaml.safe_load(containerlab_text(plan, "img", []))
    assert not [b for n in doc["topology"]["nodes"].values() for b in n["binds"] if ":/run/" in b]
