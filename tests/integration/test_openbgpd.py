"""A first OpenBGPD member config (labctl/daemons/templates/openbgpd/member.conf.j2) is accepted by
OpenBGPD 8.8 itself (`bgpd -n -f`) inside the trixie image, for every member of the bundled
examples; and the check has teeth. `daemon: openbgpd` is still refused by validate until the
template is wired into rendering. No lab is started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labctl.model.load import load
from labctl.plan import build_plan
from labctl.daemons.base import template_env

pytestmark = pytest.mark.integration


def render_members(root: Path, examples: dict[str, Path]) -> list[str]:
    names = []
    for example, path in examples.items():
        plan = build_plan(load(path))
        for node in plan.by_role("member"):
            text = template_env().get_template("openbgpd/member.conf.j2").render(node=node, timers=plan.model.ix.bgp)
            (root / f"{example}-{node.name}.conf").write_text(text)
            names.append(f"{example}-{node.name}.conf")
    for path in [root, *root.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return names


def check(image: str, root: Path) -> dict[str, tuple[int, str]]:
    script = 'for f in /gen/*.conf; do out=$(bgpd -n -f "$f" 2>&1); printf "@@@ %s %s\\n%s\\n" "$?" "$f" "$out"; done'
    proc = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{root}:/gen:ro", "--entrypoint", "sh",
                           image, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results, current = {}, None
    for line in proc.stdout.splitlines():
        if line.startswith("@@@ "):
            _, rc, path = line.split(" ", 2)
            current = Path(path).name
            results[current] = (int(rc), "")
        elif current:
            results[current] = (results[current][0], results[current][1] + line + "\n")
    return results


def test_openbgpd_accepts_member_configs(lab_host, tmp_path, examples):
    names = render_members(tmp_path, examples)
    results = check(lab_host, tmp_path)
    assert sorted(results) == sorted(names)
    failed = {n: out for n, (rc, out) in results.items() if rc != 0 or "configuration OK" not in out}
    assert not failed, failed


def test_openbgpd_check_has_teeth(lab_host, tmp_path, examples):
    names = render_members(tmp_path, examples)
    broken = tmp_path / names[0]
    broken.write_text(broken.read_text().replace("remote-as", "remote-az", 1))
    results = check(lab_host, tmp_path)
    assert results[names[0]][0] != 0 and "syntax error" in results[names[0]][1]
    assert results[names[1]][0] == 0
