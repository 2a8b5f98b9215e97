"""The IX-F Member Export (schema 0.6 to 1.0) as typed pydantic models, read tolerantly.

Real exports bend the schema: numbers written as strings, nulls for absent values, keys the
schema does not know, 0.6 files without VLAN prefixes or switches. The models accept all of
that (extra keys are ignored, "24" reads as 24, null as absent) and refuse only what cannot be
understood, with the JSON location of the problem. The frame of the file (`ixp_list`,
`member_list`) must hold, or the file is refused; a member is read on its own, so one broken
member is skipped with its location instead of failing the whole import.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError
from pydantic_core import PydanticCustomError

from labctl.model.checks import format_path

Loc = tuple[str | int, ...]
MAX_PROBLEMS = 20


@dataclass(frozen=True)
class Problem:
    """Something in the file that cannot be understood, and where (a JSON path)."""

    loc: Loc
    message: str

    @property
    def location(self) -> str:
        return format_path(self.loc)


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)


def _got(expected: str, value: Any) -> str:
    """'expected an integer, got a string ("AS1")': the value shown when it is short enough to help."""
    if isinstance(value, (dict, list)) and len(json.dumps(value)) > 40:
        return f"expected {expected}, got {json_type(value)}"
    shown = json.dumps(value)
    shown = shown if len(shown) <= 40 else shown[:40] + "..."
    return f"expected {expected}, got {json_type(value)} ({shown})"


def _refuse(expected: str, value: Any) -> PydanticCustomError:
    if value is None:
        return PydanticCustomError("ixf_null", "must not be null")
    return PydanticCustomError("ixf_type", "{text}", {"text": _got(expected, value)})


def one_line(text: str) -> str:
    """Every string on one printable line: names end up in comments, descriptions and configs."""
    if text.isprintable() and "  " not in text and text == text.strip():
        return text  # the common case, without rebuilding the string
    return " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())


def to_int(value: Any) -> int:
    """An integer, also when written as a string ("24") or as 24.0; never a boolean."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        return int(value)
    raise _refuse("an integer", value)


def _to_str(value: Any) -> str:
    if isinstance(value, str):
        return one_line(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _refuse("a string", value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        return value.strip().lower() in ("true", "yes")
    raise _refuse("true or false", value)


def _list_or_empty(value: Any) -> Any:
    return [] if value is None else value


T = TypeVar("T")
Int = Annotated[int, BeforeValidator(to_int)]
Str = Annotated[str, BeforeValidator(_to_str)]
Bool = Annotated[bool, BeforeValidator(_to_bool)]
Items = Annotated[list[T], BeforeValidator(_list_or_empty)]  # a list; null reads as empty


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    def family(self, fam: str) -> Any:
        """`ipv4` or `ipv6` of a model that has both (a VLAN, a VLAN entry)."""
        return getattr(self, fam)


class Service(_Model):
    type: Str | None = None


class AddressInfo(_Model):
    """One address family of a VLAN entry (`ipv4` or `ipv6`)."""

    address: Str | None = None
    routeserver: Bool | None = None
    max_prefix: Int | None = None
    as_macro: Str | None = None
    services: Items[Service] = []


class VlanEntry(_Model):
    vlan_id: Int | None = None
    ipv4: AddressInfo | None = None
    ipv6: AddressInfo | None = None


class Interface(_Model):
    switch_id: Int | None = None


class Connection(_Model):
    ixp_id: Int
    state: Str | None = None
    if_list: Items[Interface] = []
    vlan_list: Items[VlanEntry] = []


class MemberHead(_Model):
    """A member without its connections (each connection is read on its own)."""

    asnum: Int
    name: Str | None = None
    member_type: Str | None = None
    connection_list: list[Any]


class LanPrefix(_Model):
    prefix: Str | None = None
    mask_length: Int | None = None


class Vlan(_Model):
    id: Int | None = None
    name: Str | None = None
    ipv4: LanPrefix | None = None
    ipv6: LanPrefix | None = None


class Switch(_Model):
    id: Int | None = None
    name: Str | None = None
    city: Str | None = None
    country: Str | None = None
    colo: Str | None = None


class Ixp(_Model):
    ixp_id: Int
    shortname: Str | None = None
    name: Str | None = None
    switch: Items[Switch] = []
    vlan: Items[Vlan] = []

    @property
    def label(self) -> str:
        return self.shortname or self.name or f"ixp_id {self.ixp_id}"


class Envelope(_Model):
    """The frame of the file; members stay raw until read one by one."""

    timestamp: Str | None = None
    ixp_list: list[Ixp]
    member_list: list[Any]


M = TypeVar("M", bound=BaseModel)


def _message(err: Any) -> str:
    kind, value = err["type"], err.get("input")
    if kind == "missing":
        return "required key is missing"
    if kind.startswith("ixf_"):
        return err["msg"]
    if value is None:
        return "must not be null"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _got("an object", value)
    if kind == "list_type":
        return _got("a list", value)
    return err["msg"]


def read_as(model: type[M], value: Any, loc: Loc) -> M | list[Problem]:
    """`value` as `model`, or every problem found, each located below `loc`."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        return [Problem((*loc, *err["loc"]), _message(err)) for err in exc.errors(include_url=False)]
