"""The rolling-upgrade scenario's pure parts: the `upgrade:` key of scenario files (errors name the
file, the key and the fix), the default upgrade paths of the stacks, what the fault implies on the
regional IX, the release each daemon reports about itself (real captured output) and the two
release checks of the judge. The lab run is tests/integration/test_rs_upgrade.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from labctl import daemons
from labctl.daemons import stacks
from labctl.daemons.base import Daemon, NodeCommandFailed
from labctl.errors import LabctlError
from labctl.model.load import load, load_text
from labctl.plan import build_plan
from labctl.scenarios import fault_plan as fplan
from labctl.scenarios.judge import UpgradeRun, upgrade_checks
from labctl.scenarios.spec import Scenario, load_scenario, resolve

REPO = Path(__file__).resolve().parents[2]
REGIONAL = REPO / "topologies" / "regional-ix.yml"
FIXTURES = REPO / "tests" / "fixtures" / "daemon-output"


@pytest.fixture(scope="module")
def plan():
    return build_plan(load(REGIONAL))


def variant(old: str, new: str):
    text = REGIONAL.read_text()
    assert old in text
    return build_plan(load_text(text.replace(old, new), "variant.yml"))


def scenario_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "up.yml"
    path.write_text("name: up\nfault: upgrade\n" + body)
    return path


# ---------------------------------------------------------------- the `upgrade:` key

@pytest.mark.parametrize("body, words", [
    ("upgrade: {daemon: bird4}\n", ["up.yml", "upgrade.daemon", "unknown routing daemon 'bird4'", "frr, bird, bird3"]),
    ("upgrade: {stack: jessie}\n", ["up.yml", "upgrade.stack", "unknown stack 'jessie'", "trixie, bookworm"]),
    ("upgrade: {daemon: bird3, stack: bookworm}\n",
     ["up.yml", "upgrade.daemon", "bookworm has no BIRD 3", "stack: trixie", "daemon: bird"]),
    ("upgrade: {daemon: bird3, version: 3.1}\n", ["up.yml", "upgrade.version", "Extra inputs are not permitted"]),
])
def test_bad_upgrade_key_names_file_key_and_fix(tmp_path, body, words):
    with pytest.raises(LabctlError) as err:
        load_scenario(scenario_file(tmp_path, body))
    text = str(err.value)
    for word in words:
        assert word in text, (word, text)


def test_upgrade_key_only_with_fault_upgrade(tmp_path):
    path = tmp_path / "x.yml"
    path.write_text("name: x\nfault: daemon-stop\nupgrade: {daemon: bird3}\n")
    with pytest.raises(LabctlError, match=r"x.yml: invalid scenario: .*'upgrade:' belongs to fault 'upgrade'.*fix"):
        load_scenario(path)


def test_upgrade_key_accepts_the_bird2_alias(tmp_path):
    sc = load_scenario(scenario_file(tmp_path, "upgrade: {daemon: bird2, stack: trixie}\n"))
    assert (sc.upgrade.daemon, sc.upgrade.stack) == ("bird", "trixie")


def test_builtin_rs_upgrade():
    sc = resolve(["rs-upgrade"])[0]
    assert (sc.fault, sc.target, sc.detection, sc.data_plane, sc.upgrade) == (
        "upgrade", "auto", "notification", "zero-loss", None)


# ---------------------------------------------------------------- default paths

def test_default_upgrade_paths():
    assert stacks.upgrade_path("bird", "trixie") == ("bird3", "trixie")
    assert stacks.upgrade_path("frr", "bookworm") == ("frr", "trixie")
    assert stacks.upgrade_path("bird", "bookworm") == ("bird", "trixie")
    assert stacks.upgrade_path("frr", "trixie") is None  # nothing newer than today's FRR
    assert stacks.upgrade_path("bird3", "trixie") is None
    for (daemon, stack), (new_daemon, new_stack) in stacks.UPGRADES.items():
        assert stacks.missing_daemon(stack, daemon) is None and stacks.missing_daemon(new_stack, new_daemon) is None


def test_release_matches():
    assert stacks.release_matches("BIRD 3.1", "BIRD 3.1.8")
    assert stacks.release_matches("FRR 10.3", "FRR 10.3")
    assert stacks.release_matches("BIRD 2.0.12", "BIRD 2.0.12")
    assert not stacks.release_matches("BIRD 3.1", "BIRD 2.17.6")
    assert not stacks.release_matches("BIRD 2.17", "BIRD 2.1.7")
    assert not stacks.release_matches("BIRD 3.1", "FRR 3.1")
    assert not stacks.release_matches("FRR 10.3", "")


# ---------------------------------------------------------------- what the fault implies

def test_rs_upgrade_on_the_regional_ix(plan):
    sc = resolve(["rs-upgrade"])[0]
    fp = fplan.plan_fault(plan, sc, False)
    step = fp.action.upgrade
    assert (fp.action.kind, fp.action.node, fp.action.daemon) == ("upgrade", "rs1", "bird")
    assert (step.old_daemon, step.old_image, step.new_daemon, step.new_image) == ("bird", "trixie", "bird3", "trixie-bird3")
    assert (step.old_release, step.new_release) == ("BIRD 2.17", "BIRD 3.1")
    # while it is replaced every member keeps every route through rs2
    assert fp.during == fplan.expected_routes(plan, down={"rs1"})
    assert fp.target_nodes == {"rs1"} and all("rs1" not in (a, b) for a, b, _ in fp.probes)
    broken = fplan.broken_sessions(plan, sc, fp)
    assert broken and all("rs1" in (s.node, s.peer) for s in broken)
    assert fplan.detection_window(plan, "notification", broken) == (0.0, fplan.SLACK_AFTER)
    # the plan after the upgrade: rs1 on BIRD 3, everything else as it was
    after = fp.after
    assert (after.nodes["rs1"].daemon, after.nodes["rs1"].image) == ("bird3", "trixie-bird3")
    assert after.lab == plan.lab and after.mgmt_ipv4 == plan.mgmt_ipv4
    assert after.nodes["rs1"].interfaces == plan.nodes["rs1"].interfaces
    assert after.nodes["rs1"].ipv4 == plan.nodes["rs1"].ipv4
    assert {n: x.daemon for n, x in after.nodes.items() if n != "rs1"} == {
        n: x.daemon for n, x in plan.nodes.items() if n != "rs1"}


def test_named_upgrade_of_the_frr_route_server():
    legacy = variant("{name: rs2, daemon: frr, site: kurashiki}", "{name: rs2, daemon: frr, site: kurashiki, stack: bookworm}")
    fp = fplan.plan_fault(legacy, Scenario(name="x", fault="upgrade", target="rs2"), False)
    assert fp.label == "rs2 upgraded: FRR 8.4 -> FRR 10.3 (image bookworm -> trixie)"
    fp = fplan.plan_fault(legacy, Scenario(name="x", fault="upgrade", target="rs2", upgrade={"stack": "trixie"}), False)
    assert (fp.action.upgrade.new_daemon, fp.after.nodes["rs2"].image) == ("frr", "trixie")


def test_auto_target_is_the_first_route_server_with_an_upgrade_path():
    # rs1 on today's FRR has nothing newer: auto picks rs2 (BIRD 2 -> BIRD 3)
    swapped = build_plan(load_text(REGIONAL.read_text()
                                   .replace("{name: rs1, daemon: bird, site: okayama}", "{name: rs1, daemon: frr, site: okayama}")
                                   .replace("{name: rs2, daemon: frr, site: kurashiki}", "{name: rs2, daemon: bird, site: kurashiki}"),
                                   "v.yml"))
    fp = fplan.plan_fault(swapped, resolve(["rs-upgrade"])[0], False)
    assert fp.label == "rs2 upgraded: BIRD 2.17 -> BIRD 3.1 (image trixie -> trixie-bird3)"
    # with an explicit upgrade the first route server is the target
    fp = fplan.plan_fault(swapped, Scenario(name="x", fault="upgrade", upgrade={"daemon": "bird3"}), False)
    assert fp.action.node == "rs1" and fp.after.nodes["rs1"].daemon == "bird3"
    # neither route server has a default path: the first one's error says why and how to fix it
    with pytest.raises(ValueError, match="rs1 runs FRR 10.3.*no newer release"):
        fplan.plan_fault(variant("{name: rs1, daemon: bird, site: okayama}", "{name: rs1, daemon: frr, site: okayama}"),
                         resolve(["rs-upgrade"])[0], False)


def test_one_route_server_cannot_be_upgraded_in_a_rolling_way():
    single = build_plan(load(REPO / "topologies" / "minimal.yml"))
    with pytest.raises(ValueError, match="one route server.*fix: add a second route server"):
        fplan.plan_fault(single, resolve(["rs-upgrade"])[0], False)


@pytest.mark.parametrize("sc, words", [
    (Scenario(name="x", fault="upgrade", target="rs2"), ["rs2 runs FRR 10.3", "no newer release", "upgrade: {daemon"]),
    (Scenario(name="x", fault="upgrade", upgrade={"daemon": "bird"}), ["rs1", "runs BIRD 2.17", "already", "fix"]),
    (Scenario(name="x", fault="upgrade", upgrade={"stack": "bookworm", "daemon": "bird"}, target="rs2"), []),
    (Scenario(name="x", fault="upgrade", target="sw-okayama"), ["'sw-okayama' is a switch", "rs1, rs2"]),
    (Scenario(name="x", fault="upgrade", target="kibinet"), ["'kibinet' is a member", "replaces a route server",
                                                               "fix: target one of rs1, rs2"]),
    (Scenario(name="x", fault="upgrade", target="rs9"), ["no node 'rs9'", "rs1, rs2"]),
    (Scenario(name="x", fault="upgrade", target="rs2", upgrade={"daemon": "bird3", "stack": "trixie"}), []),
])
def test_upgrade_plan_errors(plan, sc, words):
    if not words:  # a daemon change is allowed (a replacement by another daemon)
        fp = fplan.plan_fault(plan, sc, False)
        assert fp.after.nodes["rs2"].daemon == sc.upgrade.daemon
        return
    with pytest.raises(ValueError) as err:
        fplan.plan_fault(plan, sc, False)
    for word in words:
        assert word in str(err.value), (word, str(err.value))


def test_upgrade_to_a_daemon_lacking_a_feature_the_ix_uses(plan):
    # two BIRD route servers and max-prefix action block, which FRR route servers cannot do: moving
    # rs1 to FRR would make the IX invalid, and the plan says so before the lab is touched
    text = REGIONAL.read_text().replace("{name: rs2, daemon: frr, site: kurashiki}", "{name: rs2, daemon: bird, site: kurashiki}")
    text = text.replace("  policy:\n", "  policy:\n    max_prefix_action: block\n")
    blocked = build_plan(load_text(text, "v.yml"))
    sc = Scenario(name="x", fault="upgrade", target="rs1", upgrade={"daemon": "frr"})
    with pytest.raises(ValueError, match=r"the IX with rs1 on frr does not validate: .*block"):
        fplan.plan_fault(blocked, sc, False)
    assert fplan.plan_fault(plan, sc, False).after.nodes["rs1"].daemon == "frr"  # without block: fine


# ---------------------------------------------------------------- releases asked on the node

class _Shell:
    node = "rs1"

    def __init__(self, answers: dict[str, str]):
        self.answers = answers

    def run(self, command, check=True, timeout=None):
        return 0, self.answers[command]


@pytest.mark.parametrize("daemon, fixture, release", [
    ("bird", "bird-2.17/bird-show-status.txt", "BIRD 2.17.6"),
    ("bird3", "bird-3.1/bird-show-status.txt", "BIRD 3.1.8"),
    ("bird", "bookworm/bird-show-status.txt", "BIRD 2.0.12"),
    ("frr", "frr-10.3/frr-show-version.txt", "FRR 10.3"),
    ("frr", "bookworm/frr-show-version.txt", "FRR 8.4.4"),
    ("openbgpd", "openbgpd/bgpd-version.txt", "OpenBGPD 8.8"),
])
def test_version_from_captured_output(daemon, fixture, release):
    d = daemons.get(daemon)
    text = (FIXTURES / fixture).read_text()
    assert d.parse_version(text) == release
    assert d.version(_Shell({d.version_command: text})) == release


@pytest.mark.parametrize("daemon, fixture", [("bird", "bird-2.17/bird-show-status-not-running.txt"),
                                             ("frr", "frr-10.3/frr-show-version-not-running.txt"),
                                             ("openbgpd", "openbgpd/bgpd-version-not-running.txt")])
def test_version_of_a_daemon_not_running(daemon, fixture):
    d = daemons.get(daemon)
    text = (FIXTURES / fixture).read_text()
    assert d.parse_version(text) is None
    with pytest.raises(NodeCommandFailed, match="named no .* release"):
        d.version(_Shell({d.version_command: text}))


def test_the_stack_labels_are_what_the_nodes_report():
    """The stack table's release labels match what the captured daemons said about themselves."""
    seen = {("trixie", "bird"): "bird-2.17/bird-show-status.txt", ("trixie", "bird3"): "bird-3.1/bird-show-status.txt",
            ("trixie", "frr"): "frr-10.3/frr-show-version.txt", ("bookworm", "bird"): "bookworm/bird-show-status.txt",
            ("bookworm", "frr"): "bookworm/frr-show-version.txt", ("trixie", "openbgpd"): "openbgpd/bgpd-version.txt"}
    for (stack, daemon), fixture in seen.items():
        running = daemons.get(daemon).parse_version((FIXTURES / fixture).read_text())
        assert stacks.release_matches(stacks.release_label(stack, daemon), running), (stack, daemon, running)


def test_a_daemon_without_a_version_command_says_so():
    class Plain(Daemon):
        name, title = "plain", "Plain"

    with pytest.raises(NodeCommandFailed) as err:
        Plain().version(_Shell({}))
    assert "cannot ask Plain which release it runs" in str(err.value) and "labctl/daemons/plain.py" in err.value.hint


def test_every_registered_daemon_can_be_asked():
    for d in daemons.all_daemons():
        assert d.version_command, d.name


# ---------------------------------------------------------------- the judge's release checks

def _fp(plan):
    return fplan.plan_fault(plan, resolve(["rs-upgrade"])[0], False)


def test_release_checks_pass(plan):
    run = UpgradeRun(new_version="BIRD 3.1.8", back_version="BIRD 2.17.6", back_converged=True, back_seconds=4.2,
                     replace={"park links": 0.02, "container": 1.1, "links": 0.05, "configure": 0.6})
    new, back = upgrade_checks(_fp(plan), run)
    assert (new.name, new.status, back.name, back.status) == ("new release running", "pass",
                                                              "original release restored", "pass")
    assert new.expected == "BIRD 3.1 on rs1 (bird3, image trixie-bird3)"
    assert new.observed.startswith("BIRD 3.1.8 after replacing the node in 1.77 s (park links 0.02 s, container 1.10 s")
    assert back.observed == "BIRD 2.17.6, lab converged 4.2 s after putting it back"


@pytest.mark.parametrize("run, new_status, back_status", [
    (UpgradeRun(new_version="BIRD 2.17.6", back_version="BIRD 2.17.6", back_converged=True), "fail", "pass"),
    (UpgradeRun(new_error="rs1: replacing its container failed", back_error="x"), "fail", "fail"),
    (UpgradeRun(new_version="BIRD 3.1.8", back_version="BIRD 3.1.8", back_converged=True), "pass", "fail"),
    (UpgradeRun(new_version="BIRD 3.1.8", back_version="BIRD 2.17.6", back_converged=False,
                back_error="rs1 -> kibinet (ipv4): Active"), "pass", "fail"),
    (None, "fail", "fail"),
])
def test_release_checks_fail(plan, run, new_status, back_status):
    new, back = upgrade_checks(_fp(plan), run)
    assert (new.status, back.status) == (new_status, back_status)
    assert new.observed and back.observed
