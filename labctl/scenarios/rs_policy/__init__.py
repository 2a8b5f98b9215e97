"""The route-server policy scenario: hostile members attack a running lab, the route servers must
reject every violation with the right reason, and nothing else may change.

Proof by a live lab, not by a config grep (METHODOLOGY.md, "Route-server policy"):
- hostile members announce one violation per route, in both address families: bogon, too
  specific, another member's prefix, wrong first ASN, another member's next hop, RPKI invalid,
  leaked transit path, private ASN in the path, AS path too long, blackhole without opt-in;
- a legitimate member announces community-steered routes: do not announce to X, announce only
  to X, prepend to X, graceful shutdown, blackhole;
- for every route server and family: every hostile route arrived and is rejected with exactly the
  reasons the policy states (`RsPolicy.evaluate`, the policy written once in Python), reaches no
  member; every legitimate route is accepted and reaches every other member unchanged
  (transparency); steering does what docs/POLICY.md says;
- then a member floods the route servers far over its max-prefix limit and the configured action
  is observed on each route server, while everyone else's routes stay put;
- the lab is restored (the injected config removed, sessions re-opened) and must converge again.

`run_policy_scenario(lab)` returns a `PolicyResult`: data, one row per route server, family and
case, with expected and observed. Hostile announcements live here, never in the model.

cases.py says who announces what (a table of cases, pure), judge.py what the route servers and
members must then hold (pure), run.py carries it out on the lab; each daemon renders its own
injection (labctl.daemons: Daemon.injection).
"""

from labctl.scenarios.rs_policy.cases import (HOSTILE, HOSTILE_CASES, INTENT, STEERING_CASES, Announcement,
                                              SkippedCase, Spec, build_spec)
from labctl.scenarios.rs_policy.judge import CaseResult, PolicyResult, View, evaluate


def __getattr__(name: str):
    """run_policy_scenario on first use: the cases and the judge stay importable without Docker or Nornir."""
    if name == "run_policy_scenario":
        from labctl.scenarios.rs_policy.run import run_policy_scenario

        return run_policy_scenario
    raise AttributeError(name)


__all__ = ["HOSTILE", "HOSTILE_CASES", "INTENT", "STEERING_CASES", "Announcement", "SkippedCase", "Spec", "build_spec",
           "CaseResult", "PolicyResult", "View", "evaluate", "run_policy_scenario"]
