"""One convention across the CLI: -f/--file for the IX file, --json a flag printing JSON on stdout,
exit codes that do not collide with Click's usage error (2), help texts that keep their defaults
and examples, shell completion of node and scenario names."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from labctl import cli, lifecycle as lab
from labctl.daemons.records import BgpSession, NodeBgp
from labctl.cli import app
from labctl.completion import complete_node, complete_scenario
from labctl.errors import EXIT_HOST_NOT_READY, EXIT_NOT_CONVERGED, EXIT_USAGE
from labctl.scenarios.outcome import Check, ScenarioResult

REPO = Path(__file__).resolve().parents[2]
MINIMAL = REPO / "topologies" / "minimal.yml"
runner = CliRunner()


def commands(group=None, prefix=()):
    """Every leaf command as (path, click command)."""
    group = group or typer.main.get_command(app)
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            yield from commands(cmd, (*prefix, name))
        else:
            yield (*prefix, name), cmd


ALL = dict(commands())
ON_A_LAB = {("validate",), ("generate",), ("up",), ("down",), ("status",), ("lg",), ("push",), ("test",)}


def test_every_command_that_prints_has_a_json_flag():
    for path, cmd in ALL.items():
        if path == ("schema",):  # its output is JSON already
            continue
        flags = {o: p for p in cmd.params for o in p.opts}
        assert "--json" in flags, path
        assert flags["--json"].is_flag, f"{path}: --json must be a flag, not take a value"


def test_the_ix_file_is_given_with_dash_f_everywhere():
    assert ON_A_LAB <= set(ALL)
    for path in ON_A_LAB:
        opts = {o for p in ALL[path].params for o in p.opts}
        assert {"-f", "--file"} <= opts, path
        visible_positional_files = [p for p in ALL[path].params
                                    if p.param_type_name == "argument" and "file" in p.name and not p.hidden]
        assert visible_positional_files == [], path


def test_the_old_positional_file_still_works(tmp_path):
    result = runner.invoke(app, ["generate", str(MINIMAL), "-o", str(tmp_path / "a"), "--image", "i:1", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["output"] == str(tmp_path / "a")
    result = runner.invoke(app, ["validate", str(MINIMAL)])
    assert result.exit_code == 0 and "1 sites" in result.stdout
    result = runner.invoke(app, ["generate", str(MINIMAL), "-f", str(REPO / "topologies" / "regional-ix.yml")])
    assert result.exit_code == 1 and "two IX files given" in result.stderr


def test_ix_yml_in_the_current_folder_is_the_default(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate"])
    assert result.exit_code == 1 and "no ix.yml in this folder" in result.stderr and "labctl init" in result.stderr
    (tmp_path / "ix.yml").write_text(MINIMAL.read_text())
    result = runner.invoke(app, ["generate", "--json", "--image", "i:1"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["lab"] == "mini-ix" and (tmp_path / "mini-ix").is_dir()


def test_test_json_is_a_flag_and_stdout_stays_json(monkeypatch, tmp_path):
    class FakeLab:
        class plan:
            lab = "fake"

        def nornir(self):
            class Nr:
                def close_connections(self):
                    pass
            return Nr()

    def fake_run(target, sc, nr, progress):
        progress("baseline")
        r = ScenarioResult(sc.name, "d", "link-down", "rs1 eth1", started=1.0, seconds=2.0, t_detect=0.5, t_cp=0.9)
        r.checks = [Check("T_cp", "<= 3 s", "0.9 s", "pass")]
        return r

    from labctl.scenarios import engine

    monkeypatch.setattr(lab, "find_lab", lambda file, name: FakeLab())
    monkeypatch.setattr(engine, "run_scenario", fake_run)
    result = runner.invoke(app, ["test", "rs-failover", "--json", "--results", str(tmp_path / "r.json"),
                                 "--junit", str(tmp_path / "j.xml")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # nothing but JSON on stdout
    assert data["passed"] is True and [s["name"] for s in data["scenarios"]] == ["rs-failover"]
    assert "PASS rs-failover" in result.stderr and "rs-failover: baseline" in result.stderr  # progress: stderr
    assert json.loads((tmp_path / "r.json").read_text())["passed"] is True
    listed = runner.invoke(app, ["test", "--list", "--json"])
    assert listed.exit_code == 0 and "rs-failover" in [s["name"] for s in json.loads(listed.stdout)]


# ------------------------------------------------------------------------------ exit codes

def test_usage_errors_and_not_converged_do_not_share_an_exit_code(monkeypatch):
    assert runner.invoke(app, ["status", "--no-such-option"]).exit_code == EXIT_USAGE == 2
    bgp = {"rs1": NodeBgp(sessions=[BgpSession("192.0.2.1", "ipv4", "Active")])}
    st = lab.Status("x", {}, bgp, {}, {}, lab.Convergence(False, 1.0, down_sessions=[lab.DownSession("rs1", "a", "ipv4", "Active")], bgp=bgp))
    monkeypatch.setattr(lab, "status", lambda file, name: st)
    result = runner.invoke(app, ["status"])
    assert result.exit_code == EXIT_NOT_CONVERGED == 4 and "not converged" in result.stdout
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 4 and json.loads(result.stdout)["converged"] is False


def test_host_not_ready_exits_3(monkeypatch):
    from labctl.runtime import host

    monkeypatch.setattr(host.os, "geteuid", lambda: 1000)
    result = runner.invoke(app, ["host", "setup"])
    assert result.exit_code == EXIT_HOST_NOT_READY == 3 and "needs root" in result.stderr


def test_exit_codes_are_documented_in_help_and_readme():
    root = runner.invoke(app, ["--help"]).stdout
    flat = " ".join(root.split())
    for code in ("0 success", "2 wrong command line", "3 host not ready", "4 lab not converged"):
        assert code in flat, code
    assert "Example: labctl init && labctl up -f ix.yml" in flat
    readme = " ".join((REPO / "README.md").read_text().split())
    assert "4 a lab that is up but not converged" in readme and "2 a usage error" in readme


# ------------------------------------------------------------------------------ help texts

def _flat_help(path) -> str:
    text = runner.invoke(app, [*path, "--help"], terminal_width=200).stdout
    return " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize("path", sorted(ALL), ids=" ".join)
def test_help_keeps_every_text_default_and_example(path):
    flat = _flat_help(path)
    assert re.search(r"Example: (sudo )?labctl ", flat), path
    for param in ALL[path].params:
        if getattr(param, "hidden", False) or not getattr(param, "help", None):
            continue
        shown = " ".join(param.help.replace("\\[", "[").split())
        assert shown in flat, f"{path} {param.name}: help text lost: {shown!r}"
        if isinstance(param.show_default, str):
            assert f"[default: ({param.show_default})]" in flat, f"{path} {param.name}: default lost"


def test_generate_help_names_its_output_default():
    assert "Output folder. [default: (./<lab name>)]" in _flat_help(("generate",))


def test_no_help_text_carries_unescaped_markup_brackets():
    for path, cmd in ALL.items():
        for param in cmd.params:
            assert not re.search(r"(?<!\\)\[[a-z]", getattr(param, "help", None) or ""), (path, param.name)


# ------------------------------------------------------------------------------ completion

class Ctx:
    def __init__(self, **params):
        self.params = params


def test_node_completion_from_the_ix_file_option():
    assert complete_node(Ctx(file=str(MINIMAL)), "") == ["alpha", "beta", "rs1"]
    assert complete_node(Ctx(file=str(MINIMAL)), "a") == ["alpha"]


def test_node_completion_from_the_lab_folder_or_ix_yml(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert complete_node(Ctx(), "") == []  # nothing to read: nothing offered
    (tmp_path / "ix.yml").write_text(MINIMAL.read_text())
    assert complete_node(Ctx(), "r") == ["rs1"]
    state = tmp_path / ".labctl" / "minimal"
    state.mkdir(parents=True)
    (state / "state.json").write_text(json.dumps({"lab": "minimal", "ix_file": str(MINIMAL), "image": "i",
                                                  "phase": "up"}))
    (tmp_path / "ix.yml").write_text("not: [valid")
    assert complete_node(Ctx(), "") == ["alpha", "beta", "rs1"]  # the running lab's file wins


def test_completion_never_raises(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ix.yml").write_text("ix: [broken")
    assert complete_node(Ctx(), "") == []
    assert complete_node(Ctx(file=str(tmp_path / "missing.yml")), "") == []
    assert complete_node(None, "") == []


def test_scenario_completion():
    assert "rs-failover" in complete_scenario("") and complete_scenario("rs-") == ["rs-failover", "rs-restart", "rs-upgrade"]


def test_shell_completion_is_enabled_and_completes_nodes(monkeypatch):
    assert "--install-completion" in runner.invoke(app, ["--help"]).stdout
    env = {"_LABCTL_COMPLETE": "complete_bash", "COMP_WORDS": f"labctl lg -f {MINIMAL} r", "COMP_CWORD": "4"}
    result = runner.invoke(app, [], env=env, prog_name="labctl")
    assert "rs1" in result.stdout and "alpha" not in result.stdout, result.output


def test_the_old_test_json_path_form_gets_a_pointed_error():
    result = runner.invoke(app, ["test", "--json", "results.json"])
    assert result.exit_code == 1 and "--results results.json" in result.stderr
