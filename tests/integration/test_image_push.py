"""`labctl image push REGISTRY`: the node images pushed to a real registry (Debian's docker-registry,
the CNCF distribution registry) on 127.0.0.1, read back through the registry's HTTP API and pulled
again. No network beyond this machine's loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request

import pytest
import yaml
from typer.testing import CliRunner

from labctl.cli import app

from .helpers import copy_example

pytestmark = pytest.mark.integration
runner = CliRunner()
MANIFEST_TYPES = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
                            "application/vnd.oci.image.manifest.v1+json"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def registry(lab_host, tmp_path):
    """A registry on 127.0.0.1:<free port>, storing under tmp_path; stopped afterwards."""
    exe = shutil.which("docker-registry")
    if exe is None:
        pytest.fail("docker-registry is not installed (scripts/bootstrap.sh installs Debian's docker-registry)")
    port = _free_port()
    config = tmp_path / "registry.yml"
    config.write_text(yaml.safe_dump({
        "version": 0.1, "log": {"level": "warn"},
        "storage": {"filesystem": {"rootdirectory": str(tmp_path / "store")}, "delete": {"enabled": True}},
        "http": {"addr": f"127.0.0.1:{port}"}}))
    log = (tmp_path / "registry.log").open("w")
    proc = subprocess.Popen([exe, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1) as resp:
                    assert resp.status == 200
                break
            except OSError:
                assert proc.poll() is None, (tmp_path / "registry.log").read_text()
                assert time.monotonic() < deadline, "the registry did not answer within 20 s"
                time.sleep(0.2)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _get(url: str, accept: str | None = None) -> tuple[dict, dict]:
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read()), dict(resp.headers)


def _image_id(ref: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", ref], capture_output=True,
                          text=True, check=True).stdout.strip()


def test_push_to_a_local_registry_and_pull_back(registry, examples, tmp_path):
    ix = copy_example(examples["minimal"], tmp_path, "t-push", "172.30.249.0/24")
    result = runner.invoke(app, ["image", "push", registry, "-f", str(ix), "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    pushed = json.loads(result.stdout)["images"]
    assert pushed, "nothing pushed"
    remotes = []
    try:
        # the names are the ones `generate --target clabernetes --registry` writes into the Topology
        manifests = tmp_path / "k8s"
        gen = runner.invoke(app, ["generate", "-f", str(ix), "--target", "clabernetes", "--registry", registry,
                                  "-o", str(manifests)], catch_exceptions=False)
        assert gen.exit_code == 0, gen.stdout
        topology = next(manifests.glob("topology-*.yaml")).read_text()
        for image in pushed:
            remotes.append(image["remote"])
            assert image["remote"] == f"{registry}/{image['local']}"
            assert image["remote"] in topology
            repo, tag = image["local"].rsplit(":", 1)
            tags, _ = _get(f"http://{registry}/v2/{repo}/tags/list")
            assert tag in tags["tags"]
            _, headers = _get(f"http://{registry}/v2/{repo}/manifests/{tag}", MANIFEST_TYPES)
            assert image["digest"].startswith("sha256:") and headers["Docker-Content-Digest"] == image["digest"]
            # pulled back under the registry's name: the same image as the local one
            subprocess.run(["docker", "rmi", image["remote"]], capture_output=True, check=True)
            pull = subprocess.run(["docker", "pull", image["remote"]], capture_output=True, text=True, timeout=300)
            assert pull.returncode == 0, pull.stderr
            assert _image_id(image["remote"]) == _image_id(image["local"])
    finally:
        for ref in remotes:
            subprocess.run(["docker", "rmi", ref], capture_output=True)


def test_push_to_a_registry_that_does_not_answer_fails_clearly(lab_host):
    port = _free_port()  # nothing listens there
    result = runner.invoke(app, ["image", "push", f"127.0.0.1:{port}"], catch_exceptions=False)
    assert result.exit_code != 0
    assert "error:" in result.stderr and f"127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
    from labctl.runtime.images import node_image_tag

    left = subprocess.run(["docker", "image", "inspect", f"127.0.0.1:{port}/{node_image_tag()}"], capture_output=True)
    assert left.returncode != 0, "the failed push left its registry tag behind"


def test_push_refuses_a_malformed_registry_address(lab_host):
    result = runner.invoke(app, ["image", "push", "http://127.0.0.1:5000"], catch_exceptions=False)
    assert result.exit_code != 0 and "not a registry address" in result.stderr
