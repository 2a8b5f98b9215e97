"""Policy data a lab reads from files: AS-SET expansions (the lab's IRR) and ROA sets (its RPKI).

Both are read while the IX model is validated (paths relative to the IX file), so a missing or
broken file is reported by `labctl validate` like any other mistake.

AS-SET expansion file (YAML or JSON), what `bgpq4` would compute from IRR data::

    AS-KIBINET:
      asns: [64496, 65540]                          # origins the set allows
      prefixes: [198.18.1.0/24, "2001:db8:1::/48"]  # route objects; more-specifics are allowed too

ROA file: the JSON that rpki-client (`-j`), Routinator (`--format json`) and OctoRPKI write::

    {"roas": [{"prefix": "198.18.1.0/24", "maxLength": 24, "asn": "AS64496"}, ...]}
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

import yaml

Net = IPv4Network | IPv6Network


@dataclass(frozen=True)
class AsSet:
    name: str
    asns: tuple[int, ...]
    prefixes: tuple[Net, ...]


@dataclass(frozen=True)
class RoaEntry:
    prefix: Net
    max_length: int
    asn: int


def _read(path: Path) -> object:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read ({exc})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ValueError(f"{path}{where}: not valid YAML/JSON ({getattr(exc, 'problem', exc)})") from None


def parse_asn(value: object, where: str) -> int:
    text = str(value).strip()
    if text.upper().startswith("AS"):
        text = text[2:]
    if not text.isdigit() or isinstance(value, bool):
        raise ValueError(f"{where}: '{value}' is not an ASN")
    asn = int(text)
    if not 1 <= asn <= 4294967294:
        raise ValueError(f"{where}: {asn} is outside 1..4294967294")
    return asn


def _prefix(value: object, where: str) -> Net:
    try:
        return ip_network(str(value), strict=True)
    except ValueError as exc:
        raise ValueError(f"{where}: '{value}' is not a prefix ({exc})") from None


def read_as_sets(path: Path) -> dict[str, AsSet]:
    data = _read(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of AS-SET name -> {{asns: [...], prefixes: [...]}}")
    out = {}
    for name, body in data.items():
        where = f"{path}: {name}"
        if not isinstance(body, dict) or set(body) - {"asns", "prefixes"}:
            raise ValueError(f"{where}: expected {{asns: [...], prefixes: [...]}}")
        asns = body.get("asns") or []
        prefixes = body.get("prefixes") or []
        if not isinstance(asns, list) or not isinstance(prefixes, list):
            raise ValueError(f"{where}: 'asns' and 'prefixes' must be lists")
        out[str(name)] = AsSet(str(name), tuple(sorted({parse_asn(a, where) for a in asns})),
                               tuple(sorted({_prefix(p, where) for p in prefixes}, key=lambda n: (n.version, n))))
    return out


def read_roas(path: Path) -> list[RoaEntry]:
    data = _read(path)
    roas = data.get("roas") if isinstance(data, dict) else None
    if not isinstance(roas, list):
        raise ValueError(f"{path}: expected {{\"roas\": [{{\"prefix\": ..., \"maxLength\": ..., \"asn\": ...}}, ...]}}")
    out = []
    for i, roa in enumerate(roas):
        where = f"{path}: roas[{i}]"
        if not isinstance(roa, dict) or "prefix" not in roa or "asn" not in roa:
            raise ValueError(f"{where}: a ROA needs 'prefix', 'asn' and optionally 'maxLength'")
        prefix = _prefix(roa["prefix"], where)
        max_length = roa.get("maxLength", prefix.prefixlen)
        if not isinstance(max_length, int) or not prefix.prefixlen <= max_length <= prefix.max_prefixlen:
            raise ValueError(f"{where}: maxLength {max_length} must lie in {prefix.prefixlen}..{prefix.max_prefixlen}")
        asn = roa["asn"]
        # AS0 ROAs (RFC 7607) say "never originate": valid input, they make every route invalid
        out.append(RoaEntry(prefix, max_length, 0 if str(asn).upper() in ("0", "AS0") else parse_asn(asn, where)))
    return out
