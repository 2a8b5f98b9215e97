"""A person's tools on a running lab (exec, connect, logs, capture) and labctl's pytest plugin.

The lab is the bundled minimal IX under its own name (t-tools), brought up by the plugin's
`ix_lab` fixture, which this module points at its private copy by overriding `labctl_ix_file`.
The CLI runs as a real process (`python -m labctl.cli`): exec and capture stream through file
descriptors that an in-process runner cannot see.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import copy_example, leftovers

pytestmark = pytest.mark.integration
LAB = "t-tools"


@pytest.fixture
def labctl_ix_file(lab_host, examples, tmp_path_factory) -> Path:
    """Overrides the plugin's fixture: a private copy of the minimal IX (same path all session)."""
    folder = tmp_path_factory.getbasetemp() / LAB
    if not (folder / "ix.yml").exists():
        folder.mkdir(exist_ok=True)
        copy_example(examples["minimal"], folder, LAB, "172.30.236.0/24")
    return folder / "ix.yml"


def labctl(ix: Path, *args: str, stdin: str | None = None, binary: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "labctl.cli", *args[:1], "-f", str(ix), *args[1:]], input=stdin,
                          capture_output=True, text=not binary, timeout=120)


def pcap_tcp_ports(data: bytes) -> list[tuple[int, int]]:
    """(source port, destination port) of every TCP packet in a pcap (Ethernet, IPv4 or IPv6)."""
    magic = struct.unpack("<I", data[:4])[0]
    assert magic == 0xA1B2C3D4, f"not a pcap file (magic {magic:#x})"
    ports, offset = [], 24
    while offset + 16 <= len(data):
        caplen = struct.unpack("<I", data[offset + 8:offset + 12])[0]
        frame = data[offset + 16:offset + 16 + caplen]
        offset += 16 + caplen
        ethertype = struct.unpack("!H", frame[12:14])[0]
        if ethertype == 0x0800 and frame[23] == 6:
            tcp = frame[14 + (frame[14] & 0x0F) * 4:]
        elif ethertype == 0x86DD and frame[20] == 6:
            tcp = frame[54:]
        else:
            continue
        ports.append(struct.unpack("!HH", tcp[:4]))
    return ports


def test_exec_passes_output_and_exit_status(ix_lab, labctl_ix_file):
    done = labctl(labctl_ix_file, "exec", "alpha", "--", "sh", "-c", "ip -br addr show eth1; exit 3")
    assert done.returncode == 3, done.stderr
    assert "192.0.2.2/24" in done.stdout  # alpha's LAN address in the minimal IX
    done = labctl(labctl_ix_file, "exec", "rs1", "cat", "/etc/hostname")  # no `--` needed
    assert done.returncode == 0 and done.stdout.strip() == "rs1"
    done = labctl(labctl_ix_file, "exec", "--json", "alpha", "--", "sh", "-c", "echo out; echo err >&2; exit 4")
    assert done.returncode == 4 and json.loads(done.stdout) == {
        "node": "alpha", "argv": ["sh", "-c", "echo out; echo err >&2; exit 4"], "returncode": 4,
        "stdout": "out\n", "stderr": "err\n"}
    logs = labctl(labctl_ix_file, "logs", "--json", "rs1", "-n", "5")
    assert logs.returncode == 0 and len(json.loads(logs.stdout)["lines"]) == 5
    done = labctl(labctl_ix_file, "exec", "nosuch", "--", "true")
    assert done.returncode == 1 and "no node 'nosuch'" in done.stderr and "rs1" in done.stderr


def test_connect_opens_the_routing_cli_non_interactively(ix_lab, labctl_ix_file):
    piped = labctl(labctl_ix_file, "connect", "rs1", stdin="show protocols\n")  # BIRD: birdc
    assert piped.returncode == 0, piped.stderr
    assert "m_alpha_ipv4" in piped.stdout and "Established" in piped.stdout
    one = labctl(labctl_ix_file, "connect", "alpha", "-c", "show bgp summary json")  # FRR: vtysh -c
    assert one.returncode == 0, one.stderr
    assert json.loads(one.stdout)["ipv4Unicast"]["peers"]["192.0.2.1"]["state"] == "Established"
    shell = labctl(labctl_ix_file, "connect", "beta", "--shell", "-c", "echo $0 on $(hostname)")
    assert shell.stdout.strip() == "bash on beta"


def test_logs_show_the_daemon_log(ix_lab, labctl_ix_file):
    bird = labctl(labctl_ix_file, "logs", "rs1", "-n", "200")
    assert bird.returncode == 0 and "m_alpha_ipv4: State changed to up" in bird.stdout
    frr = labctl(labctl_ix_file, "logs", "alpha", "-n", "200")
    assert frr.returncode == 0 and "%ADJCHANGE: neighbor 192.0.2.1" in frr.stdout
    switch = labctl(labctl_ix_file, "logs", "sw-lab")
    assert switch.returncode == 1 and "runs no routing daemon" in switch.stderr


def test_capture_writes_a_pcap_with_bgp_and_streams_one(ix_lab, labctl_ix_file, tmp_path):
    pcap = tmp_path / "rs1.pcap"
    done = labctl(labctl_ix_file, "capture", "rs1", "-w", str(pcap), "--count", "4", "--duration", "30",
                  "tcp", "port", "179")
    assert done.returncode == 0, done.stderr
    ports = pcap_tcp_ports(pcap.read_bytes())
    assert len(ports) == 4 and all(179 in p for p in ports)
    # tcpdump itself reads it (the node's tcpdump, fed on stdin: the host need not have one)
    read = subprocess.run(["docker", "exec", "-i", f"clab-{LAB}-rs1", "tcpdump", "-n", "-r", "-"],
                          input=pcap.read_bytes(), capture_output=True, timeout=30)
    assert read.returncode == 0 and read.stdout.decode().count(": BGP") >= 1, read.stderr
    # no -w and stdout a pipe: a pcap stream; a link given as containerlab writes it picks its first end
    streamed = labctl(labctl_ix_file, "capture", "alpha:eth1--sw-lab:eth2", "-c", "2", "--duration", "30",
                      "port", "179", binary=True)
    assert streamed.returncode == 0 and b"capturing on alpha:eth1" in streamed.stderr
    assert len(pcap_tcp_ports(streamed.stdout)) == 2
    left = subprocess.run(["docker", "exec", f"clab-{LAB}-rs1", "pgrep", "-x", "tcpdump"], capture_output=True)
    assert left.returncode == 1, "a tcpdump was left running in the node"


def test_plugin_helpers_return_typed_results(ix_lab):
    assert ix_lab.name == LAB and ix_lab.up_report is not None
    assert ix_lab.status().convergence.converged
    seen = ix_lab.lg("beta", "198.18.1.0/24")
    assert seen.as_paths == [[64496]] and seen.rejected == []
    ran = ix_lab.exec("alpha", "vtysh -c 'show bgp ipv4 unicast 198.18.2.0/24 json'")
    assert ran.ok and json.loads(ran.stdout)["prefix"] == "198.18.2.0/24"
    with ix_lab.fault("link-down", "alpha") as fault:
        assert fault.target_nodes == {"alpha"} and fault.applied_at > 0
        gone = ix_lab.lg("beta", "198.18.1.0/24", until=False, wait=30)  # hold time 9 s
        assert gone.accepted == []
    assert fault.removed_at >= fault.applied_at
    back = ix_lab.lg("beta", "198.18.1.0/24", until=True, wait=60)
    assert back.as_paths == [[64496]]
    assert ix_lab.wait_converged().converged


def test_the_plugin_in_a_users_repository(lab_host, examples, tmp_path):
    """What a user does: an ix.yml, a test file and `pytest` (ini option); the session's lab is gone
    afterwards. With --labctl-ix and --labctl-keep it stays up."""
    repo = tmp_path / "ix-config"
    repo.mkdir()
    ix = copy_example(examples["minimal"], repo, "t-plugin", "172.30.237.0/24")
    (repo / "pytest.ini").write_text("[pytest]\nlabctl_ix = ix.yml\n")
    (repo / "test_ix.py").write_text(
        "def test_alpha_reaches_beta(ix_lab):\n"
        "    assert ix_lab.status().convergence.converged\n"
        "    assert ix_lab.lg('alpha', '198.18.2.0/24').as_paths == [[64497]]\n"
        "    assert ix_lab.exec('alpha', 'ping -c1 -W2 -I 198.18.1.1 198.18.2.1').ok\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    try:
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=repo, env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:]
        assert "1 passed" in run.stdout
        assert leftovers("t-plugin", repo / ".labctl" / "t-plugin") == []
        kept = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--labctl-ix",
                               str(ix), "--labctl-keep"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
        assert kept.returncode == 0, kept.stdout[-3000:]
        running = subprocess.run(["docker", "ps", "--filter", "label=containerlab=t-plugin", "-q"],
                                 capture_output=True, text=True).stdout.split()
        assert len(running) == 4
    finally:
        subprocess.run([sys.executable, "-m", "labctl.cli", "down", str(ix)], capture_output=True, timeout=300)
    assert leftovers("t-plugin", repo / ".labctl" / "t-plugin") == []


def test_zz_nothing_left_after_the_session_lab(tmp_path_factory):
    """Runs last in this module: take down t-tools the way the plugin does at session end, check nothing remains."""
    ix = tmp_path_factory.getbasetemp() / LAB / "ix.yml"
    if ix.exists():
        done = subprocess.run([sys.executable, "-m", "labctl.cli", "down", str(ix)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert leftovers(LAB, ix.parent / ".labctl" / LAB) == []
