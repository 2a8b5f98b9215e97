"""The lab as clabernetes manifests (containerlab on Kubernetes): one `Topology` and the ConfigMaps
that hold every node's files. Pure, like the rest of `render`: the same plan gives the same text.

clabernetes runs one launcher pod per node; the launcher runs containerlab with the node's part of
the topology embedded in `spec.definition.containerlab` and links the pods with tunnels. A file
named in `spec.deployment.filesFromConfigMap` under a relative `filePath` is mounted in the launcher
at `/clabernetes/<filePath>`, next to the topology file, so a relative bind in the topology
reaches it (the convention of clabernetes' own converter, clabverter). Here:

- every rendered file of a node goes to `configs/<node>/<name>` in the launcher (the layout of the
  containerlab target's lab folder) and is bound read-only into the node under `RENDERED_DIR`;
- the node's `exec` (run by containerlab once the node is up) copies each into the place the node
  uses it (`NODE_PATHS`: what labctl's push writes today) as an ordinary writable file, and runs
  `network.sh` (addresses; the bridge on a site switch). Not bound straight to those paths:
  ConfigMap volumes are read-only, and labctl's daemon modules install a new config with
  `mv X.new X`, which a bind-mounted target refuses;
- a file larger than a ConfigMap can hold is cut at line ends into parts, joined again by `exec`;
- the site switches stay the `linux` nodes they are (a bridge inside), not containerlab `bridge`
  kinds: nothing would create a host bridge inside a launcher pod.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Mapping

import yaml

from labctl.plan import Plan
from labctl.render.artefacts import AUTHORIZED_KEYS, NODE_PATHS, _dump_yaml, render_node, topology_document

API_VERSION = "clabernetes.containerlab.dev/v1alpha1"
RENDERED_DIR = "/etc/labctl/rendered"
# Kubernetes refuses a ConfigMap whose data exceeds 1 MiB (keys and values together); the whole
# object must also pass etcd's request limit. Stay well below: 512 KiB of keys and values each.
CONFIGMAP_BUDGET = 512 * 1024
MANAGED_BY = {"app.kubernetes.io/managed-by": "labctl"}
LAB_LABEL = "labctl/lab"  # on every object of a lab: `kubectl delete -l labctl/lab=<lab>` removes exactly those
# clabernetes marks a node ready when its launcher's probe succeeds; without a probe a pod is
# "ready" as soon as the launcher starts, before containerlab has even started the node. A TCP
# connect to the node's sshd is what labctl needs before it configures the node over SSH.
SSH_PROBE = {"enabled": True, "probeConfiguration": {"tcpProbeConfiguration": {"port": 22}}}
NO_KEY = ("# no SSH key given to `labctl generate --target clabernetes --ssh-key FILE`:"
          " nobody can log in over SSH\n")


@dataclass(frozen=True)
class Piece:
    """One ConfigMap entry: (part of) a node's file, mounted at `configs/<node>/<file_name>`."""

    node: str
    name: str  # the file's name in the node's config folder (a key of NODE_PATHS)
    file_name: str  # `name`, or `name.part-NN` for a part of a file too large for one ConfigMap
    text: str

    @property
    def key(self) -> str:
        return f"{self.node}.{self.file_name}"


def with_registry(image: str | Mapping[str, str], registry: str | None) -> str | dict[str, str]:
    """Image names under `registry` (host[:port][/path]); unchanged without one."""
    if not registry:
        return image if isinstance(image, str) else dict(image)
    prefix = registry.rstrip("/") + "/"
    if isinstance(image, str):
        return prefix + image
    return {key: prefix + tag for key, tag in image.items()}


def split_text(text: str, budget: int) -> list[str]:
    """`text` in parts of at most `budget` UTF-8 bytes, cut after a newline where possible."""
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > budget:  # one line longer than a part: cut it anywhere
            if current:
                parts.append("".join(current))
                current, size = [], 0
            head = line.encode()[:budget].decode(errors="ignore")
            parts.append(head)
            line = line[len(head):]
        if size + len(line.encode()) > budget and current:
            parts.append("".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line.encode())
    if current or not parts:
        parts.append("".join(current))
    return parts


def node_pieces(plan: Plan, budget: int) -> list[Piece]:
    """Every node's files as ConfigMap entries, in plan order, large files cut into parts."""
    pieces = []
    for node in plan.nodes.values():
        for name, text in render_node(plan, node).items():
            room = budget - len(f"{node.name}.{name}.part-00")
            parts = [text] if len(text.encode()) + len(f"{node.name}.{name}") <= budget else split_text(text, room)
            if len(parts) == 1:
                pieces.append(Piece(node.name, name, name, text))
                continue
            pieces += [Piece(node.name, name, f"{name}.part-{i:02d}", part) for i, part in enumerate(parts, 1)]
    return pieces


def _entry_size(key: str, text: str) -> int:
    return len(key.encode()) + len(text.encode())


def pack(entries: list[tuple[str, str]], budget: int) -> list[dict[str, str]]:
    """Entries (key, text) into as few data maps as fit `budget` each, in order (first fit)."""
    maps: list[dict[str, str]] = []
    sizes: list[int] = []
    for key, text in entries:
        size = _entry_size(key, text)
        if size > budget:
            raise ValueError(f"ConfigMap entry {key} is {size} bytes, over the budget of {budget}")
        for i, used in enumerate(sizes):
            if used + size <= budget:
                maps[i][key] = text
                sizes[i] += size
                break
        else:
            maps.append({key: text})
            sizes.append(size)
    return maps


def configmap_names(plan: Plan, count: int) -> list[str]:
    return [f"{plan.lab}-files-{i:02d}" for i in range(1, count + 1)]


def _install_command(pieces: list[Piece]) -> str:
    """One `sh -c` for a node's `exec`: each file from RENDERED_DIR (parts joined) to its place."""
    names = list(dict.fromkeys(p.name for p in pieces))
    folders = sorted({NODE_PATHS[name].rsplit("/", 1)[0] for name in names})
    steps = [f"mkdir -p {' '.join(folders)}"]
    for name in names:
        sources = " ".join(f"{RENDERED_DIR}/{p.file_name}" for p in pieces if p.name == name)
        steps.append(f"cat {sources} > {NODE_PATHS[name]}")
    if any(p.name == "network.sh" for p in pieces):
        steps.append(f"sh {NODE_PATHS['network.sh']}")
    return 'sh -c "set -e; ' + "; ".join(steps) + '"'


def containerlab_text(plan: Plan, image: str | Mapping[str, str], pieces: list[Piece]) -> str:
    """labctl's containerlab topology, each node binding its rendered files and installing them."""
    doc = copy.deepcopy(topology_document(plan, image, host_keys=False, sockets=False))
    nodes = doc["topology"]["nodes"]
    for name in nodes:
        own = [p for p in pieces if p.node == name]
        # the default binds again: containerlab merges the levels by destination today, older
        # releases let a node's binds replace the defaults
        nodes[name]["binds"] = [*doc["topology"]["defaults"]["binds"],
                                *(f"configs/{name}/{p.file_name}:{RENDERED_DIR}/{p.file_name}:ro" for p in own)]
        nodes[name]["exec"] = [_install_command(own)]
    header = (f"# containerlab topology of {plan.lab} for clabernetes. Generated by labctl from the IX model:"
              " do not edit.\n")
    return header + _dump_yaml(doc)


def _files_from_configmaps(plan: Plan, pieces: list[Piece], where: dict[str, str]) -> dict[str, list[dict]]:
    """spec.deployment.filesFromConfigMap: per node, its authorized_keys and each of its pieces."""
    out: dict[str, list[dict]] = {}
    for node in plan.nodes:
        out[node] = [{"configMapName": where["authorized_keys"], "configMapPath": "authorized_keys",
                      "filePath": AUTHORIZED_KEYS, "mode": "read"}]
        out[node] += [{"configMapName": where[p.key], "configMapPath": p.key,
                       "filePath": f"configs/{p.node}/{p.file_name}", "mode": "read"}
                      for p in pieces if p.node == node]
    return out


def _labels(lab: str) -> dict[str, str]:
    return {**MANAGED_BY, LAB_LABEL: lab}


def topology_manifest(plan: Plan, clab_text: str, files: dict[str, list[dict]]) -> dict:
    return {
        "apiVersion": API_VERSION,
        "kind": "Topology",
        "metadata": {"name": plan.lab, "labels": _labels(plan.lab)},
        "spec": {
            "naming": "prefixed",
            "definition": {"containerlab": clab_text},
            "deployment": {"filesFromConfigMap": files},
            "statusProbes": SSH_PROBE,
        },
    }


def configmap_manifest(name: str, lab: str, data: dict[str, str]) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": _labels(lab)},
            "data": data}


class _BlockDumper(yaml.SafeDumper):
    """Multi-line text as YAML literal blocks (`|`), so configs read as themselves in the manifest."""


def _str(dumper: yaml.SafeDumper, value: str):
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _str)
_FastBlockDumper = None
if hasattr(yaml, "CSafeDumper"):
    _FastBlockDumper = type("_FastBlockDumper", (yaml.CSafeDumper,), {})
    _FastBlockDumper.add_representer(str, _str)


def _ascii_lines(value: object) -> bool:
    """Only printable ASCII and newlines in every string: there libyaml's emitter writes the same
    text as PyYAML's (checked by tests/unit/test_clabernetes.py), about 20x faster."""
    if isinstance(value, dict):
        return all(_ascii_lines(k) and _ascii_lines(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_ascii_lines(v) for v in value)
    return not isinstance(value, str) or value.replace("\n", "").isascii() and value.replace("\n", "").isprintable()


def dump_manifest(doc: dict, fast: bool = True) -> str:
    dumper = _FastBlockDumper if fast and _FastBlockDumper and _ascii_lines(doc) else _BlockDumper
    return yaml.dump(doc, Dumper=dumper, sort_keys=False, default_flow_style=False, width=120)


def render_clabernetes(plan: Plan, image: str | Mapping[str, str], registry: str | None = None,
                       authorized_keys: str = NO_KEY, budget: int = CONFIGMAP_BUDGET) -> dict[str, str]:
    """{file name: manifest text}: `configmap-<lab>-files-NN.yaml` and `topology-<lab>.yaml`
    (`kubectl apply -f DIR` applies them; the names sort the ConfigMaps first)."""
    pieces = node_pieces(plan, budget)
    maps = pack([("authorized_keys", authorized_keys), *((p.key, p.text) for p in pieces)], budget)
    names = configmap_names(plan, len(maps))
    where = {key: name for name, data in zip(names, maps) for key in data}
    header = f"# {{}} of the lab {plan.lab} for clabernetes. Generated by labctl from the IX model: do not edit.\n"
    files = {f"configmap-{name}.yaml": header.format(f"ConfigMap {i}/{len(maps)}") +
             dump_manifest(configmap_manifest(name, plan.lab, data))
             for i, (name, data) in enumerate(zip(names, maps), 1)}
    clab = containerlab_text(plan, with_registry(image, registry), pieces)
    files[f"topology-{plan.lab}.yaml"] = header.format("Topology") + dump_manifest(
        topology_manifest(plan, clab, _files_from_configmaps(plan, pieces, where)))
    return files
