"""An exercise file, typed: what a trainee is asked to do on which IX, how their router starts,
how their work is checked, the hints and the reference solution (docs/EXERCISES.md).

Pure data (pydantic). Cross-field rules that need the IX (nodes exist, transforms match the
rendered config, ...) are in `labctl.exercises.load`.
"""

from __future__ import annotations

import re
from ipaddress import ip_address
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, model_validator

from labctl.model.schema import NAME_PATTERN, Name, Prefix

LANGUAGES = ("en", "ja")
# The lab is called ex-<exercise name>: lab names have at most 24 characters.
EXERCISE_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,19}[a-z0-9])?$"
EXERCISE_NAME_RULE = "1-21 characters: lower-case letters, digits and '-', not starting or ending with '-'"


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Text(_Closed):
    """A text in every language labctl speaks to trainees (both required)."""

    en: str = Field(min_length=1, description="English")
    ja: str = Field(min_length=1, description="Japanese")

    def get(self, lang: str) -> str:
        return (self.ja if lang == "ja" else self.en).strip()


class Overlay(_Closed):
    """The IX an exercise runs on: a bundled topology (or a file next to the exercise), trimmed."""

    base: str = Field(description="a bundled topology by name (regional-ix, minimal) or a path relative to the "
                      "exercise file")
    members: list[Name] | None = Field(default=None, description="keep only these members (route servers are "
                                       "always kept; sites and trunks left without a node are dropped); "
                                       "default: every member")
    set: dict[str, Any] = Field(default_factory=dict, description="mappings deep-merged into the IX file "
                                "(lists are replaced), e.g. {ix: {bgp: {hold: 6, keepalive: 2}}}")


class Edit(_Closed):
    """One edit of a rendered config file of the trainee's router. Exactly one of replace, delete, after."""

    file: str = Field(description="the config file as labctl renders it for the node's daemon: frr.conf, bird.conf, "
                      "bgpd.conf, ...")
    replace: str | None = Field(default=None, description="a regular expression (Python, multi-line mode); every "
                                "match is replaced by `with`")
    with_: str = Field(default="", alias="with", description="the replacement for `replace` (\\1 refers to a group)")
    delete: str | None = Field(default=None, description="a regular expression: every line it matches is deleted")
    after: str | None = Field(default=None, description="a regular expression: `insert` goes after each line it "
                              "matches")
    insert: str = Field(default="", description="lines to insert after the lines `after` matches")

    @model_validator(mode="after")
    def _one_operation(self) -> "Edit":
        ops = [k for k in ("replace", "delete", "after") if getattr(self, k) is not None]
        if len(ops) != 1:
            raise ValueError("an edit needs exactly one of 'replace', 'delete', 'after'"
                             + (f" (it has {', '.join(ops)})" if ops else ""))
        for key in ops:
            try:
                re.compile(getattr(self, key), re.MULTILINE)
            except re.error as exc:
                raise ValueError(f"{key}: not a valid regular expression: {exc}") from None
        if self.after is not None and not self.insert:
            raise ValueError("'after' needs 'insert': the lines to insert")
        return self


class ConfigChange(_Closed):
    """How the trainee's router config differs from what labctl renders for the IX: replacement
    files first, then the edits in order. Neither: the rendered config itself."""

    files: dict[str, str] = Field(default_factory=dict, description="config file name -> a file relative to the "
                                  "exercise file that replaces the rendered one")
    edits: list[Edit] = Field(default_factory=list, description="edits of the rendered files, in order")


class Start(ConfigChange):
    state: Literal["unconfigured", "half-configured", "broken"] = Field(
        description="what the trainee finds: no BGP at all, a config with parts missing, or a config with mistakes")
    description: Text = Field(description="what the trainee finds on their router, told at `exercise start`")


class Solution(ConfigChange):
    notes: Text | None = Field(default=None, description="for instructors: what the solution changes and why")


class Trainee(_Closed):
    node: Name = Field(description="the trainee's router: a member router of the IX")
    start: Start
    solution: Solution = Field(default_factory=Solution, description="the reference solution (default: the config "
                               "labctl renders for the IX)")


Afi = Literal["ipv4", "ipv6"]


class _Check(_Closed):
    id: str = Field(pattern=NAME_PATTERN, description="unique within the exercise (a name)")
    title: Text = Field(description="what is checked, for the trainee")
    at: Name = Field(description="the router that observes (never the trainee's own)")


class SessionCheck(_Check):
    kind: Literal["session"]
    peer: Name | None = Field(default=None, description="the session's other end (default: the trainee's router)")
    afi: list[Afi] = Field(default=["ipv4", "ipv6"], min_length=1, description="address families; each must be "
                           "Established (state: down: configured at `at` and not Established)")
    state: Literal["established", "down"] = Field(default="established", description="established, or down: the "
                                                  "session is torn down (e.g. by the trainee's max-prefix limit)")
    reason: Literal["max-prefix"] | None = Field(default=None, description="with state: down, what `at` must have been "
                                                 "told: max-prefix: a Cease NOTIFICATION 'maximum number of prefixes "
                                                 "reached' (RFC 4486), so a session shut by hand does not count")

    @model_validator(mode="after")
    def _reason_needs_down(self) -> "SessionCheck":
        if self.reason is not None and self.state != "down":
            raise ValueError("reason: only with state: down (why the session went down)")
        return self


class RouteCheck(_Check):
    kind: Literal["route"]
    prefix: Prefix
    present: bool = Field(default=True, description="true: `at` holds an accepted path for the prefix; false: none")
    as_path: list[int] | None = Field(default=None, description="the best path's AS path must be exactly this")
    next_hop: str | None = Field(default=None, description="the best path's next hop must be this address")
    communities: list[str] = Field(default_factory=list, description="standard communities the best path must "
                                   "carry, 'a:b'")
    large_communities: list[str] = Field(default_factory=list, description="large communities it must carry, 'a:b:c'")

    @model_validator(mode="after")
    def _communities(self) -> "RouteCheck":
        for key, parts in (("communities", 2), ("large_communities", 3)):
            for value in getattr(self, key):
                if not re.fullmatch(r"\d+" + r":\d+" * (parts - 1), value):
                    raise ValueError(f"{key}: '{value}' is not a community of {parts} numbers joined by ':'")
        if not self.present and (self.as_path or self.next_hop or self.communities or self.large_communities):
            raise ValueError("present: false cannot ask for attributes (as_path, next_hop, communities)")
        return self


class AcceptedCheck(_Check):
    kind: Literal["accepted"]
    peer: Name | None = Field(default=None, description="whose routes (default: the trainee's router)")
    prefixes: list[Prefix] | None = Field(default=None, description="each must be received from `peer` and "
                                          "accepted by the route server `at` (default: the member's own prefixes)")


class AnnouncedCheck(_Check):
    kind: Literal["announced"]
    peer: Name | None = Field(default=None, description="whose announcements (default: the trainee's router)")
    prefixes: list[Prefix] | None = Field(default=None, description="`at` must receive exactly these from `peer`, "
                                          "accepted or not (default: the member's own prefixes)")


class ReachabilityCheck(_Check):
    kind: Literal["reachability"]
    peer: Name | None = Field(default=None, description="whose address to ping (default: the trainee's router): the "
                              "first address of its first prefix of `afi`, held on its loopback")
    to: str | None = Field(default=None, description="ping this address instead of the peer's")
    afi: Afi = Field(default="ipv4", description="the address family of the ping")
    reachable: bool = Field(default=True, description="true: some of 3 pings answer; false: none does")

    @model_validator(mode="after")
    def _address(self) -> "ReachabilityCheck":
        if self.to is not None:
            try:
                address = ip_address(self.to)
            except ValueError:
                raise ValueError(f"to: '{self.to}' is not an IP address") from None
            if f"ipv{address.version}" != self.afi:
                raise ValueError(f"to: {self.to} is IPv{address.version} but afi is {self.afi}")
        return self


class ScenarioCheck(_Check):
    kind: Literal["scenario"]
    scenario: dict[str, Any] = Field(description="a scenario (docs/SCENARIOS.md keys; name defaults to the check id, "
                                     "target to the trainee's router), run on the lab")
    require: list[str] = Field(default_factory=list, description="the scenario checks that must pass (names as in "
                               "its report, e.g. 'detection'); default: the scenario must pass as a whole")


class RibCheck(_Check):
    """The one kind observed on the trainee's own router: what it accepted is nowhere else to be
    seen (a dropped route leaves no trace at the peer). Its title says so."""

    kind: Literal["rib"]
    at: Name = Field(description="the trainee's router (this kind reads its BGP table; no other kind may)")
    peer: Name | None = Field(default=None, description="only paths learned from this neighbour count (default: any)")
    present: list[Prefix] = Field(default_factory=list, description="each must be held (an accepted path)")
    absent: list[Prefix] = Field(default_factory=list, description="none of these may be held")

    @model_validator(mode="after")
    def _something(self) -> "RibCheck":
        if not self.present and not self.absent:
            raise ValueError("a rib check needs 'present' or 'absent' prefixes")
        both = set(self.present) & set(self.absent)
        if both:
            raise ValueError(f"{', '.join(map(str, both))} is both present and absent")
        return self


class RtrCheck(_Check):
    kind: Literal["rtr"]
    peer: Name | None = Field(default=None, description="whose router must be connected (default: the trainee's)")


Check = Annotated[Union[SessionCheck, RouteCheck, AcceptedCheck, AnnouncedCheck, ReachabilityCheck, ScenarioCheck,
                        RibCheck, RtrCheck],
                  Field(discriminator="kind")]
CHECK_KINDS = ("session", "route", "accepted", "announced", "reachability", "scenario", "rib", "rtr")


class Hint(Text):
    check: str | None = Field(default=None, description="the check this hint helps with (shown when that check "
                              "fails); none: a general hint")


class Exercise(_Closed):
    name: str = Field(pattern=EXERCISE_NAME_PATTERN, description="the exercise's name: the file name without .yml")
    level: int = Field(default=1, ge=1, le=5, description="1 (first steps) to 5 (expert)")
    title: Text
    goal: Text = Field(description="the task, as the trainee reads it at `exercise start`")
    ix: Overlay
    trainee: Trainee
    checks: list[Check] = Field(min_length=1)
    hints: list[Hint] = Field(default_factory=list, description="revealed in this order")
