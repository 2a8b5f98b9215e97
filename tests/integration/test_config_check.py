"""Every generated daemon config is accepted by the daemon itself, inside the lab image of every
stack that has the daemon: `bird -p -c` (parse only) for BIRD 2.17, BIRD 3.1 (trixie) and BIRD 2.0
(bookworm), `vtysh --dryrun -f` for FRR 10.3 (trixie) and FRR 8.4 (bookworm), `bgpd -n -f` for
OpenBGPD 8.8 (trixie: every model again with its BIRD nodes on OpenBGPD). No lab is started."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from labctl.daemons import stacks
from labctl.model.load import load, load_text
from labctl.plan import build_plan
from labctl.render import render_lab, write_lab
from labctl.runtime.images import ensure_node_image

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]

# Template branches the examples do not reach: BFD everywhere, STP, 32-bit ASNs, members with no
# or single-family prefixes, bilateral-only members (one listed only by its peer), max-prefix 1.
EDGE = """\
ix:
  name: edge-ix
  route_server_asn: 4200000000
  bgp: {keepalive: 10, hold: 30}
  bfd: {enabled: true, interval_ms: 100, multiplier: 5}
  fabric: {loop_prevention: stp}
sites: [{name: a}, {name: b}, {name: c}]
trunks: [{between: [a, b]}, {between: [b, c]}, {between: [c, a]}]
route_servers:
  - {name: rs-bird, daemon: bird, site: a}
  - {name: rs-frr, daemon: frr, site: b}
members:
  - {name: frr-empty, asn: 64496, site: a, daemon: frr}
  - {name: bird-empty, asn: 64497, site: b, daemon: bird}
  - {name: frr-v6only, asn: 64498, site: c, daemon: frr, prefixes: ["2001:db8:100::/48"], bfd: false}
  - {name: bird-v4only, asn: 64499, site: c, daemon: bird, prefixes: [198.18.100.0/24], ipv4: 192.0.2.200}
  - {name: frr-bil, asn: 4200000001, site: a, daemon: frr, route_server: false, bilateral: [bird-bil],
     prefixes: [198.18.101.0/24]}
  - {name: bird-bil, asn: 64501, site: a, daemon: bird, route_server: false, prefixes: ["2001:db8:101::/48"]}
  - {name: 9lives, asn: 64502, site: b, daemon: bird, prefixes: [198.18.102.0/24], bilateral: [frr-bil],
     max_prefix: {ipv4: 1, ipv6: 1}}
"""

# One container checks every file and prints a marker line per file: "@@@ <rc> <path>", then the
# daemon's output. vtysh reports errors on stdout, bird on stderr: both are captured.
CHECK_SCRIPT = r"""
for f in $(find /gen -name bird.conf -o -name frr.conf -o -name bgpd.conf | sort); do
  case "$f" in
    */bird.conf) out=$(bird -p -c "$f" 2>&1); rc=$? ;;
    */bgpd.conf) out=$(bgpd -n -f "$f" 2>&1); rc=$? ;;
    *)           out=$(vtysh --dryrun -f "$f" 2>&1); rc=$? ;;
  esac
  printf '@@@ %s %s\n%s\n' "$rc" "$f" "$out"
done
"""


def run_checks(image: str, root: Path) -> dict[str, tuple[int, str]]:
    """{path relative to root: (exit code, daemon output)} for every bird.conf, frr.conf and bgpd.conf."""
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "-v", f"{root}:/gen:ro", "--entrypoint", "sh", image,
         "-c", CHECK_SCRIPT],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"docker run failed ({proc.returncode}): {proc.stderr.strip()}"
    results: dict[str, tuple[int, str]] = {}
    current = None
    for line in proc.stdout.splitlines():
        if line.startswith("@@@ "):
            _, rc, path = line.split(" ", 2)
            current = path.removeprefix("/gen/")
            results[current] = (int(rc), "")
        elif current is not None:
            rc, text = results[current]
            results[current] = (rc, text + line + "\n")
    return results


# (node image, stack, what `daemon: bird` becomes): each image checks the configs rendered for it
VARIANTS = {
    "trixie": ("trixie", "bird"),  # FRR 10.3, BIRD 2.17
    "trixie-bird3": ("trixie", "bird3"),  # BIRD 3.1 (its FRR is trixie's again)
    "bookworm": ("bookworm", "bird"),  # FRR 8.4, BIRD 2.0.12
}


def is_release(version: str, image: str, daemon: str) -> bool:
    """'10.3-3+deb13u1' is FRR 10.3, '2.17.6' BIRD 2.17 (and not 2.170)."""
    release = ".".join(map(str, stacks.release(image, daemon)))
    return version.startswith(release) and not version[len(release):][:1].isdigit()


def restack(model, stack: str, bird: str):
    """The same IX on another stack, with every BIRD node on `bird` (bird or bird3)."""
    def nodes(items):
        return [x.model_copy(update={"daemon": bird if x.daemon == "bird" else x.daemon}) for x in items]
    return model.model_copy(update={"ix": model.ix.model_copy(update={"stack": stack}),
                                    "route_servers": nodes(model.route_servers), "members": nodes(model.members)})


def render_sources(root: Path, examples: dict[str, Path], variant: str) -> set[str]:
    """Both examples, the policy fixture and the edge model rendered for `variant` under root;
    returns the daemon config files that must be checked."""
    models = {name: load(path) for name, path in examples.items()}
    models["policy"] = load(REPO / "tests" / "fixtures" / "policy" / "ix.yml")
    models["edge"] = load_text(EDGE, "edge.yml")
    stack, bird = VARIANTS[variant]
    daemon_for = {name: bird for name in models}
    if variant == "trixie":  # OpenBGPD 8.8 is in the trixie image: every model again, BIRD nodes on OpenBGPD
        daemon_for |= {f"{name}-openbgpd": "openbgpd" for name in models}
        models |= {f"{name}-openbgpd": model for name, model in models.items()}
    expected = set()
    for name, model in models.items():
        plan = build_plan(restack(model, stack, daemon_for[name]))
        assert {n.image for n in plan.nodes.values() if n.daemon == "bird"} <= {variant}, "restack missed a node"
        files = render_lab(plan, "unused")
        write_lab(files, root / name)
        expected |= {f"{name}/{rel}" for rel in files if rel.endswith(("/bird.conf", "/frr.conf", "/bgpd.conf"))}
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # the container may not run as our user
    return expected


@pytest.fixture
def generated(tmp_path, lab_host, examples) -> tuple[Path, set[str]]:
    """The default stack's configs (see render_sources) under tmp_path, and the files to check."""
    tmp_path.chmod(0o755)
    return tmp_path, render_sources(tmp_path, examples, "trixie")


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_daemons_accept_every_generated_config(lab_host, tmp_path, examples, variant):
    tmp_path.chmod(0o755)
    expected = render_sources(tmp_path, examples, variant)
    image = lab_host if variant == "trixie" else ensure_node_image(variant)  # builds bookworm once if missing
    versions = subprocess.run(["docker", "run", "--rm", "--network", "none", "--entrypoint", "sh", image, "-c",
                               "bird --version 2>&1; dpkg-query -W -f '${Version}' frr"],
                              capture_output=True, text=True, timeout=60).stdout
    bird_version, frr_version = versions.split()[2:4]  # "BIRD version X.Y.Z", then FRR's package version
    assert is_release(bird_version, variant, VARIANTS[variant][1]), f"{image}: {versions!r}"
    assert is_release(frr_version, variant, "frr"), f"{image}: {versions!r}"
    root = tmp_path
    results = run_checks(image, root)
    assert set(results) == expected, f"not checked: {sorted(expected - set(results))}, unexpected: {sorted(set(results) - expected)}"
    assert any(p.endswith("bird.conf") for p in results) and any(p.endswith("frr.conf") for p in results)
    assert any(p.endswith("bgpd.conf") for p in results) == (variant == "trixie")
    failed = {path: out.strip() for path, (rc, out) in results.items() if rc != 0}
    assert not failed, "daemon rejected generated config:\n" + "\n".join(f"--- {p}:\n{o}" for p, o in sorted(failed.items()))


def test_checkers_reject_broken_configs(lab_host, generated):
    """The check has teeth: a typo in any daemon's config fails, naming file and line."""
    root, _ = generated
    bird = root / "minimal" / "configs" / "rs1" / "bird.conf"
    frr = root / "minimal" / "configs" / "alpha" / "frr.conf"
    bgpd = root / "policy-openbgpd" / "configs" / "rs1" / "bgpd.conf"
    bird.write_text(bird.read_text().replace("router id", "router idd", 1))
    frr.write_text(frr.read_text().replace(" remote-as ", " remote-az ", 1))
    bgpd.write_text(bgpd.read_text().replace("max-as-len", "max-as-length", 1))
    results = run_checks(lab_host, root)
    rc, out = results["policy-openbgpd/configs/rs1/bgpd.conf"]
    assert rc != 0 and "syntax error" in out, out
    assert results["policy-openbgpd/configs/rs2/frr.conf"][0] == 0
    rc, out = results["minimal/configs/rs1/bird.conf"]
    assert rc != 0 and "syntax error" in out, out
    rc, out = results["minimal/configs/alpha/frr.conf"]
    assert rc != 0 and "remote-az" in out, out
    assert results["minimal/configs/beta/bird.conf"][0] == 0


# StayRTR in each image serves the ROA file rendered for the policy fixture's route servers, and
# the rendered BIRD route-server config (all of it: sessions that never come up, the RTR client)
# fills its ROA tables from it. Markers split the output: "@@@ metrics", "@@@ roa".
RTR_SCRIPT = r"""
mkdir -p $(dirname {roa_file}) && cp /gen/rpki.json {roa_file}
(setsid {command} >/tmp/stayrtr.log 2>&1 </dev/null &)
for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/{port}) 2>/dev/null && break; sleep 0.1; done
echo "@@@ metrics"
python3 -c "import urllib.request; print(urllib.request.urlopen('http://{metrics}/metrics').read().decode())"
mkdir -p /run/bird && bird -c /gen/bird.conf
# as labctl does (rtr.wait_synced): an RTR session that synced nothing for 8 s is restarted (a BIRD 2.17
# session to a just-started StayRTR was seen to stay empty)
for i in $(seq 300); do birdc show route table rpki4 | grep -q " AS" && birdc show route table rpki6 | grep -q " AS" && break
  [ $((i % 80)) -eq 0 ] && birdc restart rtr_cache >/dev/null; sleep 0.1; done
echo "@@@ roa"
birdc show route table rpki4; birdc show route table rpki6
echo "@@@ log"
cat /tmp/stayrtr.log
"""


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_stayrtr_serves_the_rendered_roa_file_in_every_image(lab_host, tmp_path, variant):
    import labctl.daemons.rtr as rtr
    from labctl.daemons.bird import parse_roa_table

    stack, bird = VARIANTS[variant]
    plan = build_plan(restack(load(REPO / "tests" / "fixtures" / "policy" / "ix.yml"), stack, bird))
    rs = next(n for n in plan.by_role("route_server") if n.daemon == bird)
    files = render_lab(plan, "unused")
    (tmp_path / "rpki.json").write_text(files[f"configs/{rs.name}/rpki.json"])
    (tmp_path / "bird.conf").write_text(files[f"configs/{rs.name}/bird.conf"])
    for path in [tmp_path, *tmp_path.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    image = lab_host if variant == "trixie" else ensure_node_image(variant)
    script = RTR_SCRIPT.format(roa_file=rtr.ROA_FILE, command=rtr.COMMAND, port=rtr.PORT, metrics=rtr.METRICS)
    proc = subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{tmp_path}:/gen:ro",
                           "--entrypoint", "bash", image, "-c", script], capture_output=True, text=True, timeout=120)
    out = proc.stdout
    assert "@@@ roa" in out, (proc.returncode, out[-2000:], proc.stderr[-2000:])
    metrics_text, rest = out.split("@@@ metrics", 1)[1].split("@@@ roa", 1)
    roa_text, log = rest.split("@@@ log", 1)
    want = rtr.vrps(files[f"configs/{rs.name}/rpki.json"])
    assert want and {k: v for k, v in rtr.parse_metrics(metrics_text).items() if k != "serial"} == rtr.counts(want), \
        (metrics_text, log)
    assert parse_roa_table(roa_text) == want, (roa_text, log)
