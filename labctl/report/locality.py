"""`labctl locality` as a table (terminal) and as Markdown (reports)."""

from __future__ import annotations

from rich.table import Table


def _hops(pair: dict) -> str:
    return " > ".join(f"{h['node'] or h['address']} ({h['where']})" if h["where"] else (h["node"] or h["address"])
                      for h in pair["hops"]) or "-"


def _rtt(pair: dict, netem: bool) -> str:
    measured = f"{pair['rtt_ms']:.2f}" if pair["rtt_ms"] is not None else "-"
    if pair["modelled_rtt_ms"] and not netem:
        return f"{measured} (model {pair['modelled_rtt_ms']:g})"
    return measured


def _region(pair: dict) -> str:
    return {True: "yes", False: "no", None: "unreachable"}[pair["in_region"]]


def rows(result: dict) -> list[list[str]]:
    return [[f"{p['source']} > {p['target']}", " ".join(map(str, p["as_path"])) or "-", _hops(p), _region(p),
             str(p["long_haul"]), _rtt(p, result["netem"])] for p in result["pairs"]]


HEADER = ["pair", "AS path", "hops (node, site or city)", "stays in region", "long-haul lines", "RTT ms"]


def note(result: dict) -> str:
    s = result["summary"]
    text = f"{s['in_region']} of {s['pairs']} member pairs stay in the region ({s['reached']} reached)"
    if not result["netem"]:
        text += "; no netem in this kernel: long-haul delays not applied, (model N) is the RTT they would add"
    return text


def locality_table(result: dict) -> Table:
    table = Table(title=f"locality of {result['lab']}", caption=note(result))
    for h in HEADER:
        table.add_column(h)
    for r in rows(result):
        table.add_row(*r)
    return table


def locality_markdown(result: dict) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(result)]
    return "\n".join(lines) + f"\n\n{note(result)}.\n"
