"""`labctl generate --target clabernetes`: the manifests validate against clabernetes' Topology CRD
schema (tests/fixtures/schemas/clabernetes/, from srl-labs/clabernetes, BSD-3-Clause), the embedded
topology against containerlab's schema, and every node gets back exactly the files labctl renders
for it (following each reference: exec -> bind -> filesFromConfigMap -> ConfigMap key).

Golden files: tests/fixtures/clabernetes-golden/<example>/ is what

    labctl generate -f topologies/<x>.yml --target clabernetes --image labctl/node:IMAGE \\
        --registry registry.example:5000 -o tests/fixtures/clabernetes-golden/<x>

writes. After an intended change rewrite them with
`LABCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/test_clabernetes.py` and review the diff.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import re
import shlex
import shutil
from functools import lru_cache
from pathlib import Path

import jsonschema
import pytest
import yaml
from typer.testing import CliRunner

from labctl.cli import app
from labctl.model.load import load, load_text
from labctl.plan import build_plan
from labctl.render import render_clabernetes, render_node, write_lab
from labctl.render.clabernetes import API_VERSION, CONFIGMAP_BUDGET, RENDERED_DIR, dump_manifest, split_text
from tests.unit.test_golden import diff_report, tree
from tests.unit.test_topology_schema import errors as clab_errors

REPO = Path(__file__).resolve().parents[2]
CRD = REPO / "tests" / "fixtures" / "schemas" / "clabernetes" / "clabernetes.containerlab.dev_topologies.yaml"
GOLDEN = REPO / "tests" / "fixtures" / "clabernetes-golden"
EXAMPLES = {p.stem: p for p in sorted((REPO / "topologies").glob("*.yml"))}
IMAGE = "labctl/node:IMAGE"
REGISTRY = "registry.example:5000"
UPDATE = os.environ.get("LABCTL_UPDATE_GOLDEN") == "1"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
CONFIGMAP_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
KUBERNETES_CONFIGMAP_LIMIT = 1024 * 1024


def _strict(node):
    """The CRD's schema as `kubectl apply` checks it (field validation Strict, kubectl's default):
    a field the schema does not declare is an error, not silently pruned. Objects declared with
    their properties get `additionalProperties: false`; free-form ones (metadata, maps) stay open."""
    if isinstance(node, list):
        return [_strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if ("properties" in out and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@lru_cache(maxsize=1)
def crd_validator() -> jsonschema.Draft7Validator:
    crd = yaml.safe_load(CRD.read_text())
    assert crd["spec"]["names"]["kind"] == "Topology" and crd["spec"]["group"] == "clabernetes.containerlab.dev"
    [version] = [v for v in crd["spec"]["versions"] if v["name"] == API_VERSION.split("/")[1]]
    schema = _strict(version["schema"]["openAPIV3Schema"])
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def crd_errors(doc) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in crd_validator().iter_errors(doc)]


def large_ix(n: int) -> str:
    spec = importlib.util.spec_from_file_location("make_large_ix", REPO / "bench" / "make_large_ix.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return yaml.safe_dump(module.build(n), sort_keys=False)


@lru_cache(maxsize=None)
def plan_of(name: str):
    if name == "large-100":
        return build_plan(load_text(large_ix(100), "large-100.yml"))
    return build_plan(load(EXAMPLES[name]))


@lru_cache(maxsize=None)
def rendered(name: str, budget: int = CONFIGMAP_BUDGET) -> dict[str, str]:
    return render_clabernetes(plan_of(name), IMAGE, registry=REGISTRY, budget=budget)


def manifests(files: dict[str, str]) -> tuple[dict, dict[str, dict]]:
    """(the Topology, ConfigMaps by name), each file one YAML document."""
    docs = [yaml.safe_load(text) for text in files.values()]
    [topology] = [d for d in docs if d["kind"] == "Topology"]
    maps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ConfigMap"}
    assert len(maps) + 1 == len(docs)
    return topology, maps


def delivered_files(topology: dict, maps: dict[str, dict]) -> dict[str, dict[str, str]]:
    """What each node ends up with at its own paths, following every reference as clabernetes and
    containerlab would: `exec` cats files from RENDERED_DIR; a bind maps that path to a file next to
    the topology in the launcher; filesFromConfigMap mounts a ConfigMap key at that file."""
    clab = yaml.safe_load(topology["spec"]["definition"]["containerlab"])
    mounted = {node: {f["filePath"]: maps[f["configMapName"]]["data"][f["configMapPath"]] for f in entries}
               for node, entries in topology["spec"]["deployment"]["filesFromConfigMap"].items()}
    out = {}
    for name, node in clab["topology"]["nodes"].items():
        binds = {dst: src for src, dst, *_ in (b.split(":") for b in node["binds"])}
        [command] = node["exec"]
        argv = shlex.split(command)  # as containerlab splits an exec command (google/shlex)
        assert argv[:2] == ["sh", "-c"] and len(argv) == 3, command
        files = {}
        for step in argv[2].split("; "):
            if step.startswith("cat "):
                sources, target = step[len("cat "):].split(" > ")
                assert all(s.startswith(RENDERED_DIR + "/") for s in sources.split())
                files[target] = "".join(mounted[name][binds[s]] for s in sources.split())
        out[name] = files
    return out


CASES = ["minimal", "regional-ix", "large-100"]


@pytest.mark.parametrize("name", CASES)
def test_topology_manifest_validates_against_the_crd_schema(name):
    topology, maps = manifests(rendered(name))
    assert crd_errors(topology) == []
    assert topology["apiVersion"] == API_VERSION and topology["kind"] == "Topology"
    assert DNS_SUBDOMAIN.match(topology["metadata"]["name"])
    assert isinstance(topology["spec"]["definition"]["containerlab"], str)  # text, as clabernetes expects
    assert set(topology["spec"]["deployment"]["filesFromConfigMap"]) == set(plan_of(name).nodes)


@pytest.mark.parametrize("name", CASES)
def test_embedded_topology_validates_against_containerlabs_schema(name):
    topology, _ = manifests(rendered(name))
    clab = yaml.safe_load(topology["spec"]["definition"]["containerlab"])
    assert clab_errors(clab) == []
    plan = plan_of(name)
    assert set(clab["topology"]["nodes"]) == set(plan.nodes)
    assert clab["name"] == plan.lab


@pytest.mark.parametrize("name", CASES)
def test_links_are_two_endpoint_short_form_and_switches_are_linux_nodes(name):
    topology, _ = manifests(rendered(name))
    clab = yaml.safe_load(topology["spec"]["definition"]["containerlab"])
    plan = plan_of(name)
    want = [[f"{l.a}:{l.a_if}", f"{l.b}:{l.b_if}"] for l in plan.links]
    assert [link for link in clab["topology"]["links"]] == [{"endpoints": e} for e in want]
    assert clab["topology"]["defaults"]["kind"] == "linux"
    assert not [n for n, d in clab["topology"]["nodes"].items() if "kind" in d]  # no `bridge` kind anywhere
    switches = [n.name for n in plan.by_role("switch")]
    assert switches and all(clab["topology"]["nodes"][s]["labels"]["labctl.role"] == "switch" for s in switches)


@pytest.mark.parametrize("name", CASES)
def test_every_node_gets_exactly_its_rendered_files_at_its_paths(name):
    from labctl.render import NODE_PATHS

    topology, maps = manifests(rendered(name))
    got = delivered_files(topology, maps)
    plan = plan_of(name)
    for node in plan.nodes.values():
        want = {NODE_PATHS[f]: text for f, text in render_node(plan, node).items()}
        assert got[node.name] == want, node.name


@pytest.mark.parametrize("name", CASES)
def test_configmaps_are_valid_and_within_the_size_limit(name):
    topology, maps = manifests(rendered(name))
    for cm_name, cm in maps.items():
        assert cm["apiVersion"] == "v1" and DNS_SUBDOMAIN.match(cm_name) and len(cm_name) <= 253
        assert all(CONFIGMAP_KEY.match(k) for k in cm["data"])
        size = sum(len(k.encode()) + len(v.encode()) for k, v in cm["data"].items())
        assert size <= CONFIGMAP_BUDGET < KUBERNETES_CONFIGMAP_LIMIT, (cm_name, size)
    referenced = {(f["configMapName"], f["configMapPath"])
                  for entries in topology["spec"]["deployment"]["filesFromConfigMap"].values() for f in entries}
    assert referenced == {(n, k) for n, cm in maps.items() for k in cm["data"]}  # all used, none missing


def test_the_100_member_ix_needs_several_configmaps():
    _, maps = manifests(rendered("large-100"))
    assert len(maps) >= 2


def test_files_over_the_budget_are_cut_into_parts_and_joined_again():
    budget = 4096
    files = rendered("regional-ix", budget)
    topology, maps = manifests(files)
    assert crd_errors(topology) == []
    keys = [k for cm in maps.values() for k in cm["data"]]
    assert any(".part-02" in k for k in keys), "no file was large enough to be cut: raise the test's IX"
    for cm in maps.values():
        assert sum(len(k.encode()) + len(v.encode()) for k, v in cm["data"].items()) <= budget
    assert delivered_files(topology, maps) == delivered_files(*manifests(rendered("regional-ix")))


@pytest.mark.parametrize("name", CASES)
def test_libyaml_and_pure_python_emitters_write_the_same_manifests(name):
    """The fast path of dump_manifest (libyaml) must not change a byte of the output."""
    for text in rendered(name).values():
        doc = yaml.safe_load(text)
        body = text.split("\n", 1)[1]  # after the header comment
        assert dump_manifest(doc, fast=False) == body
        assert dump_manifest(doc) == body


def test_non_ascii_text_takes_the_pure_python_emitter():
    doc = {"data": {"k": "Zürich\nline\n"}}
    assert dump_manifest(doc) == dump_manifest(doc, fast=False)
    assert yaml.safe_load(dump_manifest(doc)) == doc


@pytest.mark.parametrize("text", ["", "a\n", "x" * 100 + "\n" + "y" * 5 + "\n", "ü" * 40, "line\n" * 50 + "tail"])
def test_split_text_parts_join_to_the_text_and_fit(text):
    parts = split_text(text, 16)
    assert "".join(parts) == text
    assert all(len(p.encode()) <= 16 for p in parts)


def test_images_get_the_registry_prefix_or_keep_their_local_names():
    plan = plan_of("regional-ix")
    tags = {key: f"labctl/node-{key}:abc" for key in {plan.default_image, *plan.image_keys}}
    for registry, prefix in ((None, ""), ("reg.example:5000/lab/", "reg.example:5000/lab/")):
        topology, _ = manifests(render_clabernetes(plan, tags, registry=registry))
        clab = yaml.safe_load(topology["spec"]["definition"]["containerlab"])
        images = {clab["topology"]["defaults"]["image"]} | {n["image"] for n in clab["topology"]["nodes"].values()
                                                            if "image" in n}
        assert images == {prefix + t for t in tags.values()}


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda d: d["spec"]["deployment"].update({"filesFromConfigmap": {}}), "spec/deployment"),
        (lambda d: d["spec"]["deployment"]["filesFromConfigMap"]["rs1"][0].pop("filePath"),
         "spec/deployment/filesFromConfigMap/rs1/0"),
        (lambda d: d["spec"].update({"naming": "short"}), "spec/naming"),
        (lambda d: d["spec"]["definition"].update({"containerlab": {"name": "x"}}), "spec/definition/containerlab"),
        (lambda d: d["spec"].pop("naming"), "spec"),
    ],
    ids=["unknown-field", "missing-filePath", "bad-naming", "definition-not-text", "naming-required"],
)
def test_crd_schema_rejects_broken_manifests(mutate, where):
    """The check has teeth: what the API server would refuse, the test refuses."""
    topology, _ = manifests(rendered("minimal"))
    doc = copy.deepcopy(topology)
    mutate(doc)
    found = crd_errors(doc)
    assert found and any(e.startswith(where) for e in found), found


@pytest.mark.parametrize("name", ["regional-ix"])
def test_manifests_match_golden_files(name):
    folder = GOLDEN / name
    files = rendered(name)
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        write_lab(files, folder)
    assert folder.is_dir(), f"{folder} missing: run with LABCTL_UPDATE_GOLDEN=1 to create it"
    want, got = {k: v.encode() for k, v in files.items()}, tree(folder)
    assert want == got, (f"manifests of {name} differ from {folder.relative_to(REPO)}/ (intended? rerun with "
                         "LABCTL_UPDATE_GOLDEN=1 and review git diff):\n" + diff_report(want, got, str(folder)))


def test_cli_generate_target_clabernetes_writes_the_golden_files(tmp_path):
    out = tmp_path / "k8s"
    result = CliRunner().invoke(app, ["generate", "-f", str(EXAMPLES["regional-ix"]), "--target", "clabernetes",
                                      "--image", IMAGE, "--registry", REGISTRY, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert tree(out) == tree(GOLDEN / "regional-ix"), diff_report(tree(GOLDEN / "regional-ix"), tree(out), str(out))
    assert "kubectl apply --server-side -f" in result.stdout and REGISTRY in result.stdout


def test_cli_generate_puts_the_ssh_key_in_and_refuses_a_private_one(tmp_path):
    key = tmp_path / "id.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeyKeyKey labctl@test\n")
    out = tmp_path / "k8s"
    result = CliRunner().invoke(app, ["generate", "-f", str(EXAMPLES["minimal"]), "--target", "clabernetes",
                                      "--ssh-key", str(key), "-o", str(out)])
    assert result.exit_code == 0, result.output
    _, maps = manifests({p.name: p.read_text() for p in out.iterdir()})
    [keys] = [cm["data"]["authorized_keys"] for cm in maps.values() if "authorized_keys" in cm["data"]]
    assert keys == key.read_text()
    private = tmp_path / "id"
    private.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n-----END OPENSSH PRIVATE KEY-----\n")
    result = CliRunner().invoke(app, ["generate", "-f", str(EXAMPLES["minimal"]), "--target", "clabernetes",
                                      "--ssh-key", str(private), "-o", str(tmp_path / "no")])
    assert result.exit_code == 1 and "is a private key" in result.stderr and not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--target", "k8s"], "unknown --target 'k8s'"),
     (["--registry", "reg.example:5000"], "apply to --target clabernetes only"),
     (["--target", "clabernetes", "--ssh-key", "/nonexistent/key.pub"], "cannot read the SSH public key")],
    ids=["unknown-target", "registry-without-target", "missing-key-file"],
)
def test_cli_generate_refuses_bad_options_clearly(tmp_path, args, message):
    result = CliRunner().invoke(app, ["generate", "-f", str(EXAMPLES["minimal"]), *args, "-o", str(tmp_path / "o")])
    assert result.exit_code == 1, result.output
    assert message in result.stderr and "fix:" in result.stderr and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_default_target_is_still_containerlab(tmp_path):
    result = CliRunner().invoke(app, ["generate", "-f", str(EXAMPLES["minimal"]), "--image", IMAGE,
                                      "-o", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert tree(tmp_path / "o") == tree(REPO / "configs" / "minimal")
