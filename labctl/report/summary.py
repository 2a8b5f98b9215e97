"""A JUnit XML file as a Markdown summary (for $GITHUB_STEP_SUMMARY, merge-request notes, chat).

Reads any JUnit file (labctl's own or pytest's): <testsuites>/<testsuite>/<testcase> with
<failure>, <error> or <skipped> children.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from labctl.errors import LabctlError

ICONS = {"passed": "✅ pass", "failed": "❌ fail", "error": "💥 error", "skipped": "⏭️ skip"}


@dataclass
class Case:
    suite: str
    name: str
    outcome: str  # passed / failed / error / skipped
    seconds: float
    message: str


def read_junit(path: Path) -> list[Case]:
    try:
        root = ET.parse(path).getroot()
    except FileNotFoundError:
        raise LabctlError(f"{path}: no such file", "give the file written by `labctl test --junit FILE`") from None
    except ET.ParseError as exc:
        raise LabctlError(f"{path}: not valid XML ({exc})", "give a JUnit XML file") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise LabctlError(f"{path}: root element is <{root.tag}>, not <testsuites> or <testsuite>",
                          "give a JUnit XML file")
    suites = [root] if root.tag == "testsuite" else root.iter("testsuite")
    cases = []
    for suite in suites:
        for case in suite.iter("testcase"):
            outcome, message = "passed", ""
            for tag, name in (("error", "error"), ("failure", "failed"), ("skipped", "skipped")):
                child = case.find(tag)
                if child is not None:
                    outcome = name
                    message = child.get("message") or (child.text or "").strip()
                    break
            try:
                seconds = float(case.get("time") or 0)
            except ValueError:
                seconds = 0.0
            cases.append(Case(suite.get("name", ""), case.get("name", "?"), outcome, seconds, message))
    return cases


def _md(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text.replace("|", "\\|")


def to_markdown(cases: list[Case], title: str = "labctl results") -> str:
    counts = {k: sum(c.outcome == k for c in cases) for k in ICONS}
    verdict = "✅ all passed" if cases and counts["failed"] + counts["error"] == 0 else (
        "⚠️ no tests" if not cases else "❌ failures")
    lines = [f"### {title}: {verdict}", "",
             f"{len(cases)} tests: {counts['passed']} passed, {counts['failed']} failed, {counts['error']} errors, "
             f"{counts['skipped']} skipped; {sum(c.seconds for c in cases):.1f} s", ""]
    if cases:
        lines += ["| result | test | seconds | detail |", "|---|---|---:|---|"]
        lines += [f"| {ICONS[c.outcome]} | {_md(c.name, 120)} | {c.seconds:.1f} | {_md(c.message)} |" for c in cases]
    return "\n".join(lines) + "\n"
