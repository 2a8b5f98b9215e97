"""Make a Debian/Ubuntu host lab-ready, and check that it is (`labctl host setup`, `labctl doctor`).

Every set-up step first checks whether its result already exists and skips itself, so a
second run changes nothing and takes seconds. The checks are shared with `doctor`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from labctl.daemons import stacks
from labctl.errors import HostNotReady
from labctl.runtime import images

CONTAINERLAB_VERSION = "0.79.0"
CONTAINERLAB_MODULE = "github.com/srl-labs/containerlab"
DOCKERD_LOG = Path("/var/log/labctl-dockerd.log")
# command -> Debian package; ssh (OpenSSH client) is for people reaching lab nodes (labctl itself
# speaks SSH through paramiko), ip/tc/nsenter run faults
APT_PACKAGES = {"dockerd": "docker.io", "debootstrap": "debootstrap", "iptables": "iptables", "unshare": "util-linux",
                "nsenter": "util-linux", "ssh": "openssh-client", "ip": "iproute2", "curl": "curl"}


@dataclass
class StepResult:
    name: str
    status: str  # "done", "skipped" or "failed"
    seconds: float
    detail: str = ""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True
    informational: bool = False  # absence is fine and needs no fix: the check only says how labctl runs

    @property
    def status(self) -> str:
        if self.ok:
            return "ok"
        if self.informational:
            return "absent (fine)"
        return "missing" if self.required else "unavailable"


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        return all(c.ok for c in self.checks if c.required)

    def as_dict(self) -> dict:
        return {"ready": self.ready, "checks": [{**asdict(c), "status": c.status} for c in self.checks]}


def _run(cmd: list[str], timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


# ---------------------------------------------------------------- probes (shared by doctor and setup)

def docker_reachable() -> tuple[bool, str]:
    if not shutil.which("docker"):
        return False, "docker client not found"
    try:
        proc = _run(["docker", "info", "--format", "{{.ServerVersion}}"], timeout=15)
    except subprocess.TimeoutExpired:
        return False, "docker info timed out"
    if proc.returncode != 0:
        return False, (proc.stderr.strip().splitlines() or ["daemon not reachable"])[-1]
    return True, f"Docker engine {proc.stdout.strip()}"


def containerlab_version() -> str | None:
    exe = shutil.which("containerlab")
    if not exe:
        return None
    try:
        proc = _run([exe, "version"], timeout=15)
    except (subprocess.TimeoutExpired, OSError):
        return None
    match = re.search(r"version:\s*v?([0-9][^\s]*)", proc.stdout)
    return match.group(1) if match else None


def kernel_feature(script: str) -> tuple[bool, str]:
    """Try a network feature inside a throw-away network namespace (nothing on the host changes)."""
    if not shutil.which("unshare"):
        return False, "unshare (util-linux) not found"
    proc = _run(["unshare", "--net", "sh", "-c", script], timeout=15)
    return proc.returncode == 0, (proc.stderr.strip() or "ok")


KERNEL_FEATURES = {
    # name: (script, required, what it is used for)
    "veth": ("ip link add name lv0 type veth peer name lv1", True, "links between lab nodes"),
    "bridge": ("ip link add name lbr0 type bridge", True, "site switches"),
    "netem": (
        "ip link add name lv0 type veth peer name lv1 && tc qdisc add dev lv0 root netem delay 1ms",
        False,
        "delay/jitter impairments (loss and rate work without it)",
    ),
    "tbf": (
        "ip link add name lv0 type veth peer name lv1 && tc qdisc add dev lv0 root tbf rate 1mbit burst 32kbit latency 50ms",
        True,
        "rate impairments",
    ),
}


def has_cap_sys_resource() -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapBnd:"):
            return bool(int(line.split()[1], 16) & (1 << 24))
    return True


def _image_checks(docker_ok: bool) -> list[Check]:
    """One check per node image of every stack: only the default stack's images are required,
    the others are built by `labctl up` when a lab uses them."""
    checks = []
    for key, spec in stacks.NODE_IMAGES.items():
        required = spec.stack == stacks.DEFAULT_STACK
        name = f"node-image:{key}"
        if not docker_ok:
            checks.append(Check(name, False, "cannot check without Docker", "start Docker first", required))
            continue
        tag = images.node_image_tag(key)
        present = images.image_exists(tag)
        fix = "" if present else (f"run `labctl host setup`{'' if required else f' --stack {spec.stack}'} (builds it)"
                                  + ("" if required else "; or let `labctl up` build it for a lab on this stack"))
        checks.append(Check(name, present, tag + (" present" if present else " missing"), fix, required))
    return checks


def doctor() -> DoctorReport:
    report = DoctorReport()
    ok, detail = docker_reachable()
    report.checks.append(Check("docker", ok, detail, "" if ok else "run `labctl host setup` (installs and starts dockerd)"))
    version = containerlab_version()
    report.checks.append(
        Check(
            "containerlab",
            version == CONTAINERLAB_VERSION,
            f"containerlab {version}" if version else "containerlab not on PATH",
            "" if version == CONTAINERLAB_VERSION else f"run `labctl host setup` (installs containerlab {CONTAINERLAB_VERSION})",
        )
    )
    report.checks.extend(_image_checks(ok))
    for name, (script, required, use) in KERNEL_FEATURES.items():
        feature_ok, why = kernel_feature(script)
        fix = "" if feature_ok else (f"kernel lacks {name} ({use})" + ("" if required else "; labctl runs without it and says so"))
        report.checks.append(Check(f"kernel:{name}", feature_ok, "available" if feature_ok else why, fix, required))
    ipt = shutil.which("iptables")
    report.checks.append(Check("iptables", bool(ipt), ipt or "not found", "" if ipt else "apt-get install iptables"))
    cap = has_cap_sys_resource()
    report.checks.append(
        Check("cap:sys_resource", cap,
              "present" if cap else "not in the capability bounding set; labctl runs nodes unprivileged "
              "with explicit capabilities, so labs work without it",
              required=False, informational=True)
    )
    return report


# ---------------------------------------------------------------- set-up steps

def _step_packages() -> str | None:
    missing = sorted({pkg for cmd, pkg in APT_PACKAGES.items() if not shutil.which(cmd)})
    if not missing:
        return None
    if not shutil.which("apt-get"):
        raise HostNotReady(f"missing {', '.join(missing)} and no apt-get", "install them with your package manager")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        proc = _run(cmd, timeout=900, env=env)
        if proc.returncode != 0:
            raise HostNotReady(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}", "check the apt sources")
    return "installed " + ", ".join(missing)


def systemd_docker_service() -> bool:
    """A systemd host with a docker.service unit: the engine is the service manager's to start."""
    if not shutil.which("systemctl") or not Path("/run/systemd/system").is_dir():
        return False
    try:
        proc = _run(["systemctl", "list-unit-files", "docker.service", "--no-legend"], timeout=15)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and "docker.service" in proc.stdout


def _wait_for_docker(seconds: float, log_hint: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if docker_reachable()[0]:
            return
        time.sleep(0.5)
    raise HostNotReady(f"the Docker engine did not come up within {seconds:.0f} s", log_hint)


def _step_docker() -> str | None:
    if docker_reachable()[0]:
        return None
    if systemd_docker_service():
        proc = _run(["systemctl", "start", "docker"], timeout=120)
        if proc.returncode != 0:
            raise HostNotReady(f"systemctl start docker failed: {proc.stderr.strip()[-500:]}",
                               "read `journalctl -u docker`")
        _wait_for_docker(90, "read `journalctl -u docker`")
        return "started docker.service (systemctl start docker)"
    return _start_bare_dockerd()


def _start_bare_dockerd() -> str:
    """No service manager (containers, CI machines): start dockerd in the background ourselves."""
    pidfile = Path("/var/run/docker.pid")
    if pidfile.exists():
        pid = pidfile.read_text().strip()
        if not (pid.isdigit() and Path(f"/proc/{pid}").exists()):
            pidfile.unlink()  # stale pid of a killed daemon blocks the next start
    with open(DOCKERD_LOG, "ab") as log:
        subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    _wait_for_docker(90, f"read {DOCKERD_LOG}")
    return f"started dockerd (log: {DOCKERD_LOG})"


def _patch_for_monolithic_kernel(src: Path) -> str:
    """containerlab aborts deploy when /proc/modules is absent (a kernel built without module
    support, as on this CI machine). Teach it that "no module list" means "nothing loadable",
    after which it assumes ip_tables is built in. Applied only on such kernels."""
    if Path("/proc/modules").exists():
        return ""
    target = src / "utils" / "kernel_module.go"
    code = target.read_text()
    needle = 'f, err := os.Open("/proc/modules")\n\tif err != nil {\n'
    if needle not in code:
        raise HostNotReady("cannot adapt containerlab to a kernel without /proc/modules: its source changed",
                           "use a kernel with loadable module support, or update labctl")
    target.write_text(code.replace(needle, needle + "\t\tif os.IsNotExist(err) {\n\t\t\treturn false, nil\n\t\t}\n", 1))
    return "patched: kernel without /proc/modules"


def _internet_reachable() -> bool:
    try:
        return _run(["curl", "-fsI", "-m", "5", "https://get.containerlab.dev"], timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _step_containerlab() -> str | None:
    """Build containerlab from its Go module where `go` exists (works without internet access beyond
    the Go proxy); where that fails or there is no Go, use containerlab's installer if the internet
    is reachable."""
    if containerlab_version() == CONTAINERLAB_VERSION:
        return None
    build_error = None
    if shutil.which("go"):
        try:
            return _build_containerlab()
        except HostNotReady as exc:
            build_error = exc
    if _internet_reachable():
        detail = _install_containerlab()
        return detail + (f" (building from the Go module failed: {build_error.message[:200]})" if build_error else "")
    if build_error:
        raise build_error
    raise HostNotReady("containerlab is missing, Go is not installed and the internet is not reachable",
                       "install Go >= 1.26 (https://go.dev/dl) or containerlab itself, then run again")


def _install_containerlab() -> str:
    proc = _run(["bash", "-c", f'bash -c "$(curl -sL https://get.containerlab.dev)" -- -v {CONTAINERLAB_VERSION}'],
                timeout=900)
    if proc.returncode != 0:
        raise HostNotReady(f"containerlab installer failed: {proc.stderr.strip()[-500:]}")
    return f"installed containerlab {CONTAINERLAB_VERSION} with its installer"


def _build_containerlab() -> str:
    # `go install mod@v` asks the proxy for the version list, which some proxies refuse;
    # downloading the exact version and building it from its own go.mod avoids that.
    proc = _run(["go", "mod", "download", "-json", f"{CONTAINERLAB_MODULE}@v{CONTAINERLAB_VERSION}"], timeout=600)
    if proc.returncode != 0:
        raise HostNotReady(f"go mod download of containerlab failed: {proc.stderr.strip()[-500:]}")
    with tempfile.TemporaryDirectory(prefix="labctl-clab-src-") as tmp:
        src = Path(tmp) / "containerlab"
        shutil.copytree(json.loads(proc.stdout)["Dir"], src)
        for path in src.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)  # the module cache is read-only
        patched = _patch_for_monolithic_kernel(src)
        ldflags = f"-s -w -X {CONTAINERLAB_MODULE}/cmd.Version={CONTAINERLAB_VERSION}"
        proc = _run(["go", "build", "-trimpath", "-ldflags", ldflags, "-o", "/usr/local/bin/containerlab", "."],
                    timeout=3600, cwd=src)
    if proc.returncode != 0:
        raise HostNotReady(f"building containerlab failed: {proc.stderr.strip()[-800:]}")
    return f"built containerlab {CONTAINERLAB_VERSION} from its Go module" + (f" ({patched})" if patched else "")


def _image_keys(selected: list[str]) -> list[str]:
    return [key for key, spec in stacks.NODE_IMAGES.items() if spec.stack in selected]


def _step_base_image(selected: list[str]) -> str | None:
    bases = sorted({stacks.NODE_IMAGES[key].base for key in _image_keys(selected)})
    done = [detail for base in bases if (detail := images.bootstrap_base_image(base))]
    return "; ".join(done) or None


def _step_node_image(selected: list[str]) -> str | None:
    built = []
    for key in _image_keys(selected):
        tag = images.node_image_tag(key)
        if not images.image_exists(tag):
            images.build_node_image(key)
            built.append(tag)
    return ("built " + ", ".join(built)) if built else None


SETUP_STEPS: list[tuple[str, Callable[..., str | None]]] = [
    ("packages", _step_packages),
    ("docker-engine", _step_docker),
    ("containerlab", _step_containerlab),
    ("base-image", _step_base_image),
    ("node-image", _step_node_image),
]
STACK_STEPS = {"base-image", "node-image"}  # the steps that take the stacks to prepare


def setup(on_step: Callable[[str], None] | None = None,
          on_done: Callable[[StepResult], None] | None = None,
          stack_names: list[str] | None = None) -> list[StepResult]:
    """Run every set-up step in order; stop at the first failure (later steps depend on it).

    on_step(name) is called as a step starts, on_done(result) as it ends (for progress output).
    Images are built for `stack_names` (default: the default stack only; "all" for every stack)."""
    if os.geteuid() != 0:
        raise HostNotReady("host set-up needs root (it installs packages and starts dockerd)", "run it with sudo")
    selected = list(stacks.STACKS) if "all" in (stack_names or []) else (stack_names or [stacks.DEFAULT_STACK])
    unknown = sorted(set(selected) - set(stacks.STACKS))
    if unknown:
        raise HostNotReady(f"unknown stack(s): {', '.join(unknown)}", f"stacks: {', '.join(stacks.STACKS)} or all")
    results: list[StepResult] = []
    for name, step in SETUP_STEPS:
        if on_step:
            on_step(name)
        started = time.monotonic()
        try:
            detail = step(selected) if name in STACK_STEPS else step()
        except HostNotReady as exc:
            results.append(StepResult(name, "failed", time.monotonic() - started, str(exc)))
        else:
            status = "skipped" if detail is None else "done"
            results.append(StepResult(name, status, time.monotonic() - started, detail or "already in place"))
        if on_done:
            on_done(results[-1])
        if results[-1].status == "failed":
            break
    return results
