"""clabernetes (containerlab on Kubernetes) as a backend: `labctl up --target clabernetes`.

The lab folder holds the manifests `render/clabernetes.py` writes (`k8s/`: ConfigMaps and one
`Topology`) and `clabernetes.json` (kubectl context, namespace, registry). Everything here goes
through the `kubectl` on PATH, with the user's kubeconfig: no Kubernetes client library.

What clabernetes makes of a Topology (read in srl-labs/clabernetes at 1cc0cbe, apis/v1alpha1 and
controllers/topology): per node a Deployment `<topology>-<node>` (`spec.naming: prefixed`) whose
launcher pod runs Docker and containerlab with that node alone (sub-topology `clabernetes-<node>`,
prefix "": the node's container is named like the node), pods labelled
`clabernetes/topologyOwner=<topology>` and `clabernetes/topologyNode=<node>`, links between pods as
VXLAN tunnels, and a LoadBalancer Service `<topology>-<node>` whose port 22 reaches the node's sshd.
The Topology's status says per node `nodeReadiness` ("ready" once the launcher's probe - labctl asks
for a TCP connect to port 22 - passes), `exposedPorts.<node>.loadBalancerAddress`, and
`topologyReady`. labctl configures each node over SSH at that address, port 22.

Faults run inside the node (`kubectl exec` into its launcher, `docker exec` into the node) and
take their instant from the node's clock, as on one machine. What needs the Docker host itself
(the rolling upgrade's container replacement) fails with a message saying so.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

from labctl.errors import HostNotReady, LabctlError
from labctl.render.clabernetes import LAB_LABEL
from labctl.runtime import faults, images
from labctl.runtime.backend import Backend
from labctl.runtime.clab import NodeState
from labctl.runtime.engine import Engine

SETTINGS = "clabernetes.json"
APPLIED = "clabernetes.applied"  # in the lab folder once `up` has started applying its manifests
MANIFESTS = "k8s"  # the lab folder's subfolder that `kubectl apply -f` applies
API_GROUP = "clabernetes.containerlab.dev"
TOPOLOGIES = f"topologies.{API_GROUP}"
OWNER = "clabernetes/topologyOwner"
NODE = "clabernetes/topologyNode"
INSTALL = ("install clabernetes into the cluster: helm upgrade --install clabernetes "
           "oci://ghcr.io/srl-labs/clabernetes/clabernetes --namespace c9s --create-namespace --wait")
PULL_FAILURES = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull")
# what a launcher's log says when Docker in it could not get the node image (containerlab pulls it)
PULL_LOG_HINTS = ("pull access denied", "manifest unknown", "not found: manifest", "failed to resolve reference",
                  "server gave HTTP response to HTTPS client", "Error response from daemon: Get", "repository does not exist")
READY_TIMEOUT = 900.0  # s: clabernetes' startup probe waits 60 s, then image pulls and boots on a busy cluster


@dataclass(frozen=True)
class Cluster:
    """Where a clabernetes lab runs: kubectl's context and namespace (None: the kubeconfig's), and
    the registry the cluster pulls node images from (None: images already on the cluster's nodes)."""

    context: str | None = None
    namespace: str | None = None
    registry: str | None = None


def read_settings(workdir: Path) -> Cluster | None:
    try:
        return Cluster(**json.loads((workdir / SETTINGS).read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, TypeError) as exc:
        raise LabctlError(f"{workdir / SETTINGS} is damaged: {exc}",
                          "run `labctl down -f FILE` then `labctl up -f FILE --target clabernetes`") from None


def write_settings(workdir: Path, cluster: Cluster) -> None:
    (workdir / SETTINGS).write_text(json.dumps(asdict(cluster), indent=2) + "\n")


class Kubectl:
    """kubectl against one context and namespace; its failures as LabctlErrors that say where and what to do."""

    def __init__(self, context: str | None, namespace: str | None, exe: str = "kubectl"):
        self.context, self.namespace, self.exe = context, namespace, exe

    @property
    def where(self) -> str:
        return f"context {self.context or '(kubeconfig current)'}, namespace {self.namespace or '(context default)'}"

    def argv(self, args: list[str], namespaced: bool = True) -> list[str]:
        return [self.exe, *(["--context", self.context] if self.context else []),
                *(["--namespace", self.namespace] if self.namespace and namespaced else []), *args]

    def run(self, args: list[str], input: str | None = None, timeout: float = 120, check: bool = True,
            namespaced: bool = True) -> subprocess.CompletedProcess:
        try:
            proc = subprocess.run(self.argv(args, namespaced), input=input, capture_output=True, text=True,
                                  timeout=timeout)
        except FileNotFoundError:
            raise HostNotReady(f"`{self.exe}` is not installed (labctl drives clabernetes with kubectl)",
                               "install kubectl (https://kubernetes.io/docs/tasks/tools/) and point it at the "
                               "cluster, or run the lab on this machine (without --target clabernetes)") from None
        except subprocess.TimeoutExpired:
            raise LabctlError(f"`kubectl {' '.join(args[:3])}` ({self.where}) gave no answer in {timeout:g} s",
                              "check that the cluster's API server answers: kubectl cluster-info") from None
        if check and proc.returncode != 0:
            raise self.error(args, proc.stderr or proc.stdout)
        return proc

    def json(self, args: list[str], namespaced: bool = True) -> dict:
        out = self.run([*args, "-o", "json"], namespaced=namespaced).stdout
        return json.loads(out) if out.strip() else {}

    def error(self, args: list[str], stderr: str) -> LabctlError:
        """What went wrong, from kubectl's message."""
        text = stderr.strip()
        last = text.splitlines()[-1] if text else "(no message)"
        if ("current-context is not set" in text or "no configuration has been provided" in text
                or "localhost:8080 was refused" in text):
            return LabctlError("kubectl has no cluster to talk to: no current context in its kubeconfig",
                               "point KUBECONFIG at the cluster's kubeconfig, or pick one with --context NAME "
                               "(`kubectl config get-contexts` lists them; kind: `kind create cluster`)")
        if "context was not found" in text or ("context" in text and "does not exist" in text):
            return LabctlError(f"kubectl has no context {self.context!r}: {last}",
                               "give one `kubectl config get-contexts` lists, with --context NAME")
        if any(s in text for s in ("Unable to connect to the server", "connection refused", "no such host",
                                   "i/o timeout", "dial tcp")):
            return LabctlError(f"the Kubernetes API server ({self.where}) does not answer: {last}",
                               "start the cluster or fix the kubeconfig; `kubectl cluster-info` must work")
        if (f"no matches for kind \"Topology\" in version \"{API_GROUP}" in text
                or "doesn't have a resource type \"topolog" in text or "ensure CRDs are installed first" in text):
            return LabctlError(f"clabernetes is not installed in the cluster ({self.where}): "
                               f"no {TOPOLOGIES} resource", INSTALL)
        if "forbidden" in text.lower():
            return LabctlError(f"the cluster refuses `kubectl {' '.join(args[:2])}` ({self.where}): {last}",
                               "use a context whose user may manage Topologies, ConfigMaps and pods there")
        return LabctlError(f"`kubectl {' '.join(args[:4])}` failed ({self.where}): {last}",
                           f"run it by hand to see more: {' '.join(self.argv(args))}")


class ClabernetesBackend(Backend):
    """The lab as a clabernetes Topology in a Kubernetes cluster."""

    kind = "clabernetes"
    replace_unsupported = (
        "replacing a node's container (the rolling upgrade, rs-upgrade) cannot run on clabernetes: it "
        "recreates the container on its Docker host and moves its links there, and the links of a "
        "clabernetes node belong to its launcher pod")
    poll_interval = 3.0  # s between looks at the Topology's status while waiting

    def __init__(self, lab: str, workdir: Path, cluster: Cluster, ready_timeout: float = READY_TIMEOUT):
        super().__init__(lab)
        self.workdir = workdir
        self.cluster = cluster
        self.kubectl = Kubectl(cluster.context, cluster.namespace)
        self.ready_timeout = ready_timeout

    # ---------------------------------------------------------------- the cluster
    def preflight(self) -> None:
        """A context, an API server that answers, clabernetes' CRD; the namespace fixed in the lab
        folder (later commands must find the lab where `up` put it)."""
        if self.cluster.context is None:
            self.kubectl.run(["config", "current-context"], namespaced=False)
        groups = self.kubectl.run(["api-resources", f"--api-group={API_GROUP}", "-o", "name"], namespaced=False)
        if TOPOLOGIES not in groups.stdout.split():
            raise LabctlError(f"clabernetes is not installed in the cluster ({self.kubectl.where}): "
                              f"no {TOPOLOGIES} resource", INSTALL)
        if self.cluster.namespace is None:
            ns = self.kubectl.run(["config", "view", "--minify", "-o", "jsonpath={..namespace}"],
                                  namespaced=False).stdout.strip() or "default"
            self.cluster = Cluster(self.cluster.context, ns, self.cluster.registry)
            self.kubectl.namespace = ns
            write_settings(self.workdir, self.cluster)

    def ensure_images(self, tags: list[str]) -> None:
        """With a registry: push the node images there, named as the Topology names them. Without
        one the cluster's nodes must have them already (kind: `kind load docker-image`); a node
        whose image cannot be pulled is reported while `deploy` waits."""
        if self.cluster.registry:
            images.push_tags(self.cluster.registry, tags)

    def deploy(self, topology: Path, reconfigure: bool = False) -> None:
        self.preflight()
        manifests = self.workdir / MANIFESTS
        if not any(manifests.glob("*.yaml")):
            raise LabctlError(f"no manifests in {manifests}", "run `labctl up -f FILE --target clabernetes`")
        # server-side: client-side apply keeps a copy of each object in an annotation of at most 256 KiB
        if reconfigure:
            # as `containerlab deploy --reconfigure` recreates every node: the Topology's status
            # says nothing about which version of it is ready, so an updated Topology could look
            # ready before clabernetes has even started replacing its nodes
            self.destroy()
        (self.workdir / APPLIED).touch()  # before: a half-done apply leaves objects `down` must remove
        self.kubectl.run(["apply", "--server-side", "--force-conflicts", "--field-manager=labctl",
                          "-f", str(manifests)], timeout=300)
        self.wait_ready(self.ready_timeout)

    def _topology(self) -> dict:
        return self.kubectl.json(["get", f"{TOPOLOGIES}/{self.lab}", "--ignore-not-found"])

    def _pods(self) -> list[dict]:
        return self.kubectl.json(["get", "pods", "-l", f"{OWNER}={self.lab}"]).get("items", [])

    def wait_ready(self, timeout: float) -> None:
        """Until every node is ready with an SSH address; an image the cluster cannot pull, a
        launcher that keeps failing or the timeout end it with the nodes and the reason."""
        deadline = time.monotonic() + timeout
        while True:
            topo, pods = self._topology(), self._pods()
            self._raise_on_pull_failure(topo, pods)
            waiting = _not_ready(topo)
            if not waiting:
                return
            if time.monotonic() >= deadline:
                raise LabctlError(f"Topology {self.lab} ({self.kubectl.where}) not ready after {timeout:.0f} s: "
                                  + "; ".join(f"{n}: {why}" for n, why in sorted(waiting.items())[:8]),
                                  _timeout_hint(waiting, self.kubectl.argv(["get", "pods", "-l",
                                                                             f"{OWNER}={self.lab}"])))
            time.sleep(self.poll_interval)

    def _raise_on_pull_failure(self, topo: dict, pods: list[dict]) -> None:
        ours = set(_node_images(topo).values())
        candidates = pods + [p for p in self.kubectl.json(["get", "pods"]).get("items", [])
                             if ours & {c.get("image") for c in p.get("spec", {}).get("containers", [])}]
        for pod in candidates:
            for status in pod.get("status", {}).get("containerStatuses", []) or []:
                waiting = (status.get("state") or {}).get("waiting") or {}
                name = pod["metadata"]["name"]
                if waiting.get("reason") in PULL_FAILURES:
                    raise _pull_error(name, status.get("image", ""), waiting.get("message", waiting["reason"]),
                                      self.cluster.registry)
                if status.get("restartCount", 0) and OWNER in pod["metadata"].get("labels", {}):
                    log = self.kubectl.run(["logs", name, "--tail=60"], check=False).stdout
                    hit = next((line for line in log.splitlines() if any(h in line for h in PULL_LOG_HINTS)), None)
                    if hit:
                        node = pod["metadata"]["labels"].get(NODE, name)
                        raise _pull_error(name, _node_images(topo).get(node, "the node image"), hit.strip()[-300:],
                                          self.cluster.registry)

    # ---------------------------------------------------------------- inspect, destroy
    def inspect(self) -> dict[str, NodeState]:
        topo = self._topology()
        if not topo:
            return {}
        status = topo.get("status") or {}
        pods = {p["metadata"].get("labels", {}).get(NODE): p for p in self._pods()}
        definition = _definition(topo)
        found = {}
        for name, node in (definition.get("nodes") or {}).items():
            labels = node.get("labels") or {}
            pod = pods.get(name) or {}
            readiness = (status.get("nodeReadiness") or {}).get(name, "deploying")
            phase = (pod.get("status") or {}).get("phase", "")
            state = "running" if readiness == "ready" and phase == "Running" else readiness
            exposed = (status.get("exposedPorts") or {}).get(name) or {}
            found[name] = NodeState(
                name, f"{self.lab}-{name}", state, node.get("image") or (definition.get("defaults") or {}).get("image", ""),
                "", labels.get("labctl.role", ""), labels.get("labctl.daemon", ""), labels.get("labctl.site", ""),
                host=(pod.get("spec") or {}).get("nodeName", ""),
                ssh_host=exposed.get("loadBalancerAddress", ""), ssh_port=22)
        return found

    def destroy(self, topology: Path | None = None) -> None:
        """Delete the Topology (clabernetes' owner references take its Deployments, Services and
        pods) and the lab's ConfigMaps, then wait until its pods are gone. A lab whose manifests
        were never applied (`up` stopped before: no cluster, no clabernetes) has nothing there."""
        if not (self.workdir / APPLIED).exists():
            return
        kinds = "configmaps"
        try:
            self.kubectl.run(["get", TOPOLOGIES, "-l", f"{LAB_LABEL}={self.lab}", "-o", "name"])
            kinds = f"{TOPOLOGIES},configmaps"
        except LabctlError as exc:
            if "not installed" not in exc.message:
                raise
        self.kubectl.run(["delete", kinds, "-l", f"{LAB_LABEL}={self.lab}", "--ignore-not-found",
                          "--wait=true", "--timeout=300s"], timeout=330)
        deadline = time.monotonic() + 300
        while self._pods():
            if time.monotonic() >= deadline:
                raise LabctlError(f"pods of Topology {self.lab} still there 300 s after its deletion "
                                  f"({self.kubectl.where})", f"look at them: kubectl get pods -l {OWNER}={self.lab}")
            time.sleep(self.poll_interval)

    def containers(self) -> int:
        """The lab's launcher pods (one per node)."""
        return len(self._pods()) if (self.workdir / APPLIED).exists() else 0

    def engine_of(self, node: str) -> Engine:
        raise LabctlError(f"node {node} runs in a Kubernetes cluster, not on a Docker engine of this machine",
                          "this command works on containerlab labs only")

    # ---------------------------------------------------------------- one node
    def _launcher(self, node: str) -> str:
        return f"deploy/{self.lab}-{node}"

    def exec_argv(self, node: str, argv: list[str], stdin: bool = False, tty: bool = False) -> list[str]:
        flags = (["-i"] if stdin or tty else []) + (["-t"] if tty else [])
        return self.kubectl.argv(["exec", *flags, self._launcher(node), "--", "docker", "exec", *flags, node, *argv])

    def require_running(self, node: str) -> None:
        state = self.inspect().get(node)
        if state is None or state.state != "running":
            raise LabctlError(f"node '{node}' of lab '{self.lab}' is {state.state if state else 'not deployed'} "
                              f"in the cluster ({self.kubectl.where})",
                              "bring the lab up with `labctl up -f FILE --target clabernetes` (see `labctl status`)")

    def _timed(self, node: str, script: str, timeout: float = 120) -> float:
        proc = subprocess.run(self.exec_argv(node, faults.timed_argv(script)), capture_output=True, text=True,
                              timeout=timeout)
        return faults.timed_result(node, script, proc)

    # ---------------------------------------------------------------- faults, inside the node
    def set_link(self, node: str, interface: str, up: bool) -> float:
        return self._timed(node, faults.links_script([interface], up))

    def set_links(self, node: str, interfaces: list[str], up: bool) -> float:
        return self._timed(node, faults.links_script(interfaces, up))

    def _docker_in_launcher(self, node: str, verb: str) -> float:
        # the launcher's clock is the node's: both run on the same Kubernetes node's kernel
        script = f"date +%s.%N; docker {verb} {node}"
        proc = subprocess.run(self.kubectl.argv(["exec", self._launcher(node), "--", "sh", "-c", script]),
                              capture_output=True, text=True, timeout=60)
        return faults.timed_result(node, f"docker {verb}", proc)

    def pause_node(self, node: str) -> float:
        return self._docker_in_launcher(node, "pause")

    def unpause_node(self, node: str) -> float:
        return self._docker_in_launcher(node, "unpause")

    def daemon_action(self, node: str, daemon: str, action: str) -> float:
        return self._timed(node, faults.daemon_script(daemon, action))

    def impair(self, node: str, interface: str, loss_percent: float = 0, rate_mbit: float | None = None,
               delay_ms: float = 0, netem: bool = False) -> float:
        script = faults.impair_script(interface, loss_percent, rate_mbit, delay_ms, netem)
        return self._timed(node, faults.clear_script(interface) + ("; " + script if script else ""))

    def replace_node(self, node: str, image: str, interfaces: list[str], labels: dict[str, str] | None = None
                     ) -> tuple[float, dict[str, float], str]:
        raise LabctlError(
            f"{node}: {self.replace_unsupported}",
            "run the upgrade scenario on a containerlab lab (labctl up without --target clabernetes); on "
            "the cluster, change the node's image in the IX file and `labctl up` again (clabernetes restarts the node)")


def _definition(topo: dict) -> dict:
    """The containerlab topology embedded in the Topology (labctl's own text): its `topology` part."""
    text = ((topo.get("spec") or {}).get("definition") or {}).get("containerlab") or ""
    try:
        return (yaml.safe_load(text) or {}).get("topology") or {}
    except yaml.YAMLError:
        return {}


def _node_images(topo: dict) -> dict[str, str]:
    definition = _definition(topo)
    default = (definition.get("defaults") or {}).get("image", "")
    return {name: (node or {}).get("image") or default for name, node in (definition.get("nodes") or {}).items()}


def _not_ready(topo: dict) -> dict[str, str]:
    """Node -> why it is not ready yet (not ready, or no SSH address); all nodes before any status."""
    if not topo:
        return {"(all)": "the Topology does not exist"}
    status = topo.get("status") or {}
    readiness = status.get("nodeReadiness") or {}
    exposed = status.get("exposedPorts") or {}
    waiting = {}
    for name in _definition(topo).get("nodes") or {}:
        if readiness.get(name) != "ready":
            waiting[name] = readiness.get(name, "no readiness reported yet")
        elif not (exposed.get(name) or {}).get("loadBalancerAddress"):
            waiting[name] = "no LoadBalancer address for its SSH service yet"
    return waiting


def _timeout_hint(waiting: dict[str, str], pods_argv: list[str]) -> str:
    if waiting and all("LoadBalancer" in why for why in waiting.values()):
        return ("the cluster gives LoadBalancer services no address: it needs a load-balancer implementation "
                "(kind: run cloud-provider-kind; bare metal: MetalLB)")
    return f"look at the launcher pods: {' '.join(pods_argv)} (and kubectl logs deploy/<lab>-<node>)"


def _pull_error(pod: str, image: str, why: str, registry: str | None) -> LabctlError:
    fix = (f"check that {registry} holds the image and the cluster's nodes can reach it "
           f"(`labctl image push {registry} -f FILE`; a plain-http registry must be trusted by the nodes' container runtime)"
           if registry else
           "give the cluster the node images: `labctl up ... --registry REGISTRY` (pushes them there), or load "
           "them into its nodes (kind: kind load docker-image IMAGE)")
    return LabctlError(f"the cluster cannot pull node image {image} (pod {pod}): {why}", fix)
