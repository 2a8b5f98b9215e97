"""Fixtures shared by unit and integration tests.

Integration-test policy (the `lab_host` fixture)
------------------------------------------------
Tests that need a lab-ready host (Docker engine, containerlab, the default stack's `labctl/node-trixie` images) ask for
the `lab_host` fixture and are marked `@pytest.mark.integration`. The fixture runs
`labctl.runtime.host.doctor()` once per session and:

* returns the node image tag (e.g. "labctl/node-trixie:6a56cede3e00") when the host is ready;
* when it is not ready and the environment variable CI is "true" (or "1"), FAILS the test:
  a CI runner that cannot run labs is a broken runner, and skipping would hide that;
* otherwise SKIPS the test with the doctor's findings and the fix, `labctl host setup`.

Run only the unit tests with `pytest tests/unit`, or deselect with `-m "not integration"`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = {p.stem: p for p in sorted((REPO / "topologies").glob("*.yml"))}
# The image written into golden topologies: a fixed placeholder, so a change of the node image
# (whose tag is a content hash) does not churn configs/.
GOLDEN_IMAGE = "labctl/node:IMAGE"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@pytest.fixture(scope="session")
def lab_host_report():
    """The doctor's report on this host, computed once per session (None if the check itself broke)."""
    from labctl.runtime import host

    try:
        return host.doctor()
    except Exception as exc:  # a broken probe means "not ready", with the reason
        return exc


@pytest.fixture
def lab_host(lab_host_report) -> str:
    """The node image tag when this host can run labs; fail in CI, skip elsewhere (see module doc)."""
    report = lab_host_report
    if isinstance(report, Exception):
        why = f"host check failed: {type(report).__name__}: {report}"
    elif not report.ready:
        missing = [f"{c.name} ({c.detail})" for c in report.checks if c.required and not c.ok]
        why = "host not lab-ready: " + "; ".join(missing)
    else:
        from labctl.runtime.images import node_image_tag

        return node_image_tag()
    if in_ci():
        pytest.fail(f"{why}. CI=true, so integration tests must run: fix the runner with `labctl host setup`",
                    pytrace=False)
    pytest.skip(f"{why}; run `labctl host setup` to enable integration tests")


@pytest.fixture(scope="session")
def examples() -> dict[str, Path]:
    """The bundled example topologies by name: {'minimal': .../minimal.yml, 'regional-ix': ...}."""
    assert {"minimal", "regional-ix"} <= set(EXAMPLES), f"bundled examples missing: {sorted(EXAMPLES)}"
    return dict(EXAMPLES)


def render_file(path: Path, image: str = GOLDEN_IMAGE) -> dict[str, str]:
    """Load, plan and render an IX file: {relative path: text}, as `labctl generate` writes it."""
    from labctl.model.load import load
    from labctl.plan import build_plan
    from labctl.render import render_lab

    return render_lab(build_plan(load(path)), image)


@pytest.fixture(scope="session")
def golden_image() -> str:
    return GOLDEN_IMAGE


@pytest.fixture(scope="session")
def render():
    """`render(path, image=GOLDEN_IMAGE)` -> {relative path: text}."""
    return render_file


@pytest.fixture(scope="session")
def screenshot():
    """shot(page, png, size) -> png: a page as headless Chromium renders it. Needs Debian's `chromium`
    (and `fonts-ipafont-gothic` for Japanese pages); CI runs on a fresh machine, so there they are
    part of this fixture's set-up (package lists may be stale); elsewhere a missing browser skips."""
    import shutil
    import subprocess

    exe = shutil.which("chromium")
    if in_ci() and (exe is None or not Path("/usr/share/fonts/opentype/ipafont-gothic").exists()):
        env = {"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "chromium", "fonts-ipafont-gothic"]
        if subprocess.run(install, capture_output=True, env=env).returncode != 0:
            subprocess.run(["apt-get", "update", "-q"], check=True, capture_output=True, env=env)
            subprocess.run(install, check=True, capture_output=True, env=env)
        exe = shutil.which("chromium")
    if exe is None:
        pytest.skip("needs Debian's chromium: apt-get install chromium fonts-ipafont-gothic (CI=true installs them)")

    def shot(page: Path, png: Path, size: str = "1200,2200") -> Path:
        subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                        f"--window-size={size}", f"--screenshot={png}", page.as_uri()],
                       check=True, capture_output=True, timeout=120)
        return png

    return shot
