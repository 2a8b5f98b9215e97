"""Stacks and daemons in the model: `daemon:` and `stack:` keys, what validate refuses (naming the
alternatives), the image each node gets in the plan and in the containerlab topology."""

from __future__ import annotations

import yaml

from labctl.daemons import stacks
from labctl.model.load import load_text
from labctl.plan import build_plan
from labctl.render import render_lab, render_node
from tests.unit.test_validation_errors import BASE, FILE, at, findings, only, variant, where

TAGS = {"trixie": "labctl/node-trixie:T", "trixie-bird3": "labctl/node-trixie-bird3:B3",
        "bookworm": "labctl/node-bookworm:OLD"}


def topology(text: str) -> dict:
    plan = build_plan(load_text(text, FILE))
    return yaml.safe_load(render_lab(plan, TAGS)["test-ix.clab.yml"])


def test_default_stack_is_trixie_and_every_node_uses_its_image():
    plan = build_plan(load_text(BASE, FILE))
    assert plan.model.ix.stack == "trixie" and plan.image_keys == ["trixie"]
    topo = topology(BASE)
    assert topo["topology"]["defaults"]["image"] == TAGS["trixie"]
    assert not any("image" in n for n in topo["topology"]["nodes"].values())


def test_bird2_is_an_alias_of_bird():
    model = load_text(variant("{name: m1, asn: 64496,", "{name: m1, daemon: bird2, asn: 64496,"), FILE)
    assert model.members[0].daemon == "bird"


def test_bird3_node_gets_its_own_image_and_renders_bird():
    text = variant("{name: rs1, site: fra}", "{name: rs1, site: fra, daemon: bird3}")
    plan = build_plan(load_text(text, FILE))
    rs = plan.nodes["rs1"]
    assert (rs.daemon, rs.image) == ("bird3", "trixie-bird3")
    # BIRD 3 reads BIRD 2's configuration language: a BIRD 2 route server's config, less the
    # `secondary` exports (BIRD 3.1.8 withdrew accepted routes with them; labctl/daemons/bird.py)
    bird2 = build_plan(load_text(BASE, FILE))
    two = render_node(bird2, bird2.nodes["rs1"])["bird.conf"]
    three = render_node(plan, rs)["bird.conf"]
    assert "secondary on;" in two and "secondary" not in three.replace("`secondary` exports", "")
    assert three == "".join(line for line in two.splitlines(True) if line.strip() != "secondary on;")
    nodes = topology(text)["topology"]["nodes"]
    assert nodes["rs1"]["image"] == TAGS["trixie-bird3"] and nodes["rs1"]["labels"]["labctl.daemon"] == "bird3"
    assert "image" not in nodes["m1"] and "image" not in nodes["sw-fra"]


def test_bookworm_ix_with_a_trixie_member():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  stack: bookworm\n")
    text = variant("{name: m2, asn: 64497,", "{name: m2, stack: trixie, asn: 64497,", text)
    plan = build_plan(load_text(text, FILE))
    assert {n: plan.nodes[n].image for n in ("sw-fra", "rs1", "m1", "m2")} == {
        "sw-fra": "bookworm", "rs1": "bookworm", "m1": "bookworm", "m2": "trixie"}
    topo = topology(text)["topology"]
    assert topo["defaults"]["image"] == TAGS["bookworm"] and topo["nodes"]["m2"]["image"] == TAGS["trixie"]


def test_frr_rpki_cache_syntax_follows_the_frr_release():
    """FRR 9 added the transport to `rpki cache`; FRR 8.4 refuses it (both checked by the daemons
    in tests/integration/test_config_check.py)."""
    from pathlib import Path

    from labctl.model.load import load

    model = load(Path(__file__).parents[1] / "fixtures" / "policy" / "ix.yml")
    old = model.model_copy(update={"ix": model.ix.model_copy(update={"stack": "bookworm"})})
    for m, line in ((model, " rpki cache tcp 127.0.0.1 8282"), (old, " rpki cache 127.0.0.1 8282")):
        plan = build_plan(m)
        rs = next(n for n in plan.by_role("route_server") if n.daemon == "frr")
        assert line in render_node(plan, rs)["frr.conf"]


def test_bird3_on_bookworm_is_refused_naming_the_alternatives():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  stack: bookworm\n")
    text = variant("{name: rs1, site: fra}", "{name: rs1, site: fra, daemon: bird3}", text)
    f = only(text)
    assert f.path == "route_servers[0].daemon"
    assert f.message == "daemon 'bird3' is not in the bookworm image (ix.stack)"
    assert f.hint == "bookworm has no BIRD 3; use stack: trixie or daemon: bird"
    assert where(f)[0] == at(text, "daemon: bird3")[0]


def test_member_stack_override_is_checked_too():
    text = variant("{name: m2, asn: 64497,", "{name: m2, stack: bookworm, daemon: openbgpd, asn: 64497,")
    f = only(text)
    assert "daemon 'openbgpd' is not in the bookworm image (its stack)" in f.message
    assert f.hint == "bookworm has no OpenBGPD; use stack: trixie or daemon: frr or daemon: bird"
    assert "labctl does not render" not in f.message  # the image is the first thing to fix


def test_openbgpd_node_gets_the_trixie_image():
    text = variant("{name: rs1, site: fra}", "{name: rs1, site: fra, daemon: openbgpd}")
    rs = build_plan(load_text(text, FILE)).nodes["rs1"]
    assert (rs.daemon, rs.image) == ("openbgpd", "trixie") and stacks.release("trixie", "openbgpd") == (8, 8)


def test_unknown_stack_and_daemon_name_the_choices():
    text = variant("  route_server_asn: 64511\n", "  route_server_asn: 64511\n  stack: sid\n")
    text = variant("{name: m1, asn: 64496,", "{name: m1, daemon: bird4, asn: 64496,", text)
    messages = " | ".join(f.render() for f in findings(text))
    assert "'trixie' or 'bookworm'" in messages and "'frr', 'bird', 'bird3' or 'openbgpd'" in messages


def test_every_stack_daemon_has_an_image_and_a_release():
    for name, st in stacks.STACKS.items():
        for daemon, (title, image) in st.daemons.items():
            assert stacks.NODE_IMAGES[image].stack == name
            assert len(stacks.release(image, daemon)) >= 2
    assert stacks.release("trixie", "frr") == (10, 3) and stacks.release("bookworm", "frr") == (8, 4)


def test_a_stuck_rtr_session_is_nudged_until_the_roas_arrive(monkeypatch):
    """rtr.wait_synced restarts the daemon's RTR session (the daemon module's nudge) when nothing
    has synced for NUDGE_AFTER seconds, and returns once the table matches."""
    import labctl.daemons.rtr as rtr

    monkeypatch.setattr(rtr, "NUDGE_AFTER", 0.05)
    want = {("198.18.1.0/24", 24, 64496)}
    nudged: list[float] = []
    table = lambda: want if nudged else set()  # noqa: E731 - stuck until restarted once

    class Shell:
        node = "rs1"

    rtr.wait_synced(Shell(), want, table, "BIRD's ROA tables", "birdc show protocols all rtr_cache",
                    nudge=lambda: nudged.append(1))
    assert nudged == [1]
