"""Load ix.yml into the model, collecting every problem at once with its file, line and fix.

Stages (netlab-style, but typed): parse YAML keeping each value's position -> validate types
with pydantic -> cross-field checks (`checks.py`). Nothing here raises for bad input except
`ModelErrors`, which carries all findings.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError

from labctl.errors import LabctlError
from labctl.model.checks import check_model, format_path
from labctl.model.schema import NAME_RULE, IxModel

PathT = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    file: str
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str = ""

    def render(self) -> str:
        where = self.file + (f":{self.line}:{self.column}" if self.line else "")
        text = f"{where}: {self.path or '<top>'}: {self.message}"
        return text + (f"\n    hint: {self.hint}" if self.hint else "")


class ModelErrors(LabctlError):
    exit_code = 1

    def __init__(self, findings: list[Finding]):
        self.findings = findings
        super().__init__(f"{len(findings)} problem(s) found", None)

    def render(self) -> str:
        return "\n".join(f.render() for f in self.findings)

    def as_json(self) -> str:
        return json.dumps({"valid": False, "errors": [asdict(f) for f in self.findings]}, indent=2)


class _Positions:
    """Maps a YAML path to the (line, column) of its value, or of its key when that is more useful."""

    def __init__(self) -> None:
        self.values: dict[PathT, tuple[int, int]] = {}
        self.keys: dict[PathT, tuple[int, int]] = {}

    def at(self, path: PathT, key: bool = False) -> tuple[int | None, int | None]:
        table = self.keys if key else self.values
        for cut in range(len(path), -1, -1):
            if path[:cut] in table:
                return table[path[:cut]]
            if path[:cut] in self.values:
                return self.values[path[:cut]]
        return None, None


def _scalar(node: yaml.Node) -> tuple[Any, tuple[str, str] | None]:
    """A scalar (or a complex key) typed by PyYAML's safe constructor (int, bool, str, None, ...).

    Returns the value and, when the safe loader cannot build it (unknown or unsafe tag, '<<' merge
    key, '!!int abc'), a (message, hint) problem and the raw text instead.
    """
    try:
        return yaml.constructor.SafeConstructor().construct_object(node, deep=True), None
    except Exception as exc:  # ConstructorError, but also ValueError/KeyError from '!!int abc', '!!bool x', ...
        raw = node.value if isinstance(node, yaml.ScalarNode) else None
        if node.tag == "tag:yaml.org,2002:merge":
            return raw, ("YAML merge keys ('<<') are not supported", "write the keys out; anchors and aliases do work")
        return raw, (f"cannot read this value with YAML tag '{node.tag}' ({type(exc).__name__})",
                     "remove the tag: labctl reads plain YAML values")


# Aliases are expanded as values are built: a few lines can expand exponentially ("billion
# laughs"). An IX of thousands of members stays far below this many values.
MAX_VALUES = 1_000_000


class _TooLarge(Exception):
    pass


def _construct(node: yaml.Node, path: PathT, pos: _Positions, problems: list[tuple[PathT, str, str]]) -> Any:
    pos.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if len(pos.values) > MAX_VALUES:
        raise _TooLarge
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key, problem = _scalar(key_node)
            if not isinstance(key, str):
                key = str(key)
            child = (*path, key)
            pos.keys[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if problem:
                problems.append((child, *problem))
            if key in result:
                problems.append((child, f"duplicate key '{key}'", "remove one of them: YAML keeps only the last"))
            result[key] = _construct(value_node, child, pos, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*path, i), pos, problems) for i, item in enumerate(node.value)]
    # Scalars: let PyYAML's safe resolver decide the type (int, bool, str, ...).
    value, problem = _scalar(node)
    if problem:
        problems.append((path, *problem))
    return value


# libyaml (PyYAML's C parser) composes about 10x faster than the pure-Python one. The pure-Python
# parser stays the reference for what is rejected and how: whatever libyaml fails on is parsed again
# by it, so syntax errors keep their wording and position.
_FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_FAST_LOADER)
    except Exception:  # YAMLError, or UnicodeEncodeError for a lone surrogate
        return yaml.compose(text, Loader=yaml.SafeLoader)


def parse_yaml(text: str, filename: str) -> tuple[Any, _Positions, list[Finding]]:
    pos = _Positions()
    try:
        root = _compose(text)
        if root is not None:
            problems: list[tuple[PathT, str, str]] = []
            data = _construct(root, (), pos, problems)
    except RecursionError:  # PyYAML composes recursively; _construct follows an alias that contains itself
        return None, pos, [Finding(filename, None, None, "", "the YAML nests too deeply, or an alias refers to a value that contains it",
                                   "flatten the structure; an alias must not point into its own anchor")]
    except _TooLarge:
        return None, pos, [Finding(filename, None, None, "", f"the YAML expands to more than {MAX_VALUES:,} values "
                                   "(aliases that repeat aliases?)", "write the values out instead of nesting aliases")]
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = getattr(exc, "problem", None) or str(exc)
        return None, pos, [Finding(filename, line, col, "", f"YAML syntax error: {problem}",
                                   "check indentation and quoting near this line")]
    if root is None:
        return None, pos, [Finding(filename, None, None, "", "the file is empty", "start from `labctl init`")]
    findings = [Finding(filename, *pos.at(p, key=True), format_path(p), m, h) for p, m, h in problems]
    return data, pos, findings


def _model_at(path: PathT) -> type[BaseModel] | None:
    """The pydantic model class that validates the mapping at `path` (for 'did you mean')."""
    current: Any = IxModel
    for part in path:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return None
        current = current.model_fields[part].annotation
        while get_origin(current) is not None:  # list[X], X | None, tuple[...]
            args = [a for a in get_args(current) if a is not type(None)]
            current = args[0] if args else None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _translate(err: dict, filename: str, pos: _Positions) -> Finding:
    path: PathT = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith(("function-", "lax-"))))
    kind = err["type"]
    message = err["msg"].removeprefix("Value error, ")
    hint = ""
    if kind == "extra_forbidden":
        key = str(path[-1])
        model = _model_at(path[:-1])
        allowed = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        message = f"unknown key '{key}'"
        hint = f"did you mean '{close[0]}'?" if close else (f"allowed keys: {', '.join(allowed)}" if allowed else "")
        return Finding(filename, *pos.at(path, key=True), format_path(path), message, hint)
    if kind == "missing":
        hint = f"add '{path[-1]}'"
        return Finding(filename, *pos.at(path[:-1]), format_path(path), "required key is missing", hint)
    if kind == "string_pattern_mismatch":
        message = f"'{err.get('input')}' is not a valid name"
        hint = NAME_RULE
    elif kind == "literal_error":
        hint = f"use one of {err['ctx']['expected']}"
    elif kind in ("too_short",) and path == ("sites",):
        hint = "declare at least one site"
    return Finding(filename, *pos.at(path), format_path(path), message, hint)


def validation_context(filename: str) -> dict:
    """Files named inside the model (ix.policy's AS-SET and ROA files) are relative to the IX file."""
    return {"base_dir": str(Path(filename).parent)}


def load_text(text: str, filename: str = "ix.yml") -> IxModel:
    data, pos, findings = parse_yaml(text, filename)
    if findings and not isinstance(data, dict):
        raise ModelErrors(findings)
    if not isinstance(data, dict):
        raise ModelErrors([Finding(filename, 1, 1, "", "the top level must be a mapping with 'ix', 'sites', ...",
                                   "start from `labctl init`")])
    try:
        model = IxModel.model_validate(data, context=validation_context(filename))
    except ValidationError as exc:
        findings += [_translate(e, filename, pos) for e in exc.errors()]
        findings += _checks_on_valid_part(data, exc, filename, pos)
        raise ModelErrors(_dedupe(findings)) from None
    findings += [Finding(filename, *pos.at(p, key=key), format_path(p), m, h) for p, m, h, key in check_model(model)]
    if findings:
        raise ModelErrors(_dedupe(findings))
    return model


def _clean_loc(loc: tuple) -> PathT:
    return tuple(p for p in loc if not (isinstance(p, str) and p.startswith(("function-", "lax-"))))


class _Pruned:
    """The input without the values that failed type validation, with a map back to original indexes."""

    def __init__(self, data: Any, bad: set[PathT]):
        self.index_maps: dict[PathT, list[int]] = {}
        self.data = self._walk(data, (), bad)

    def _walk(self, node: Any, path: PathT, bad: set[PathT]) -> Any:
        if isinstance(node, dict):
            return {k: self._walk(v, (*path, k), bad) for k, v in node.items() if (*path, k) not in bad}
        if isinstance(node, list):
            keep = [i for i in range(len(node)) if (*path, i) not in bad]
            self.index_maps[path] = keep
            return [self._walk(node[i], (*path, i), bad) for i in keep]
        return node

    def original(self, path: PathT) -> PathT:
        orig: PathT = ()
        for part in path:
            if isinstance(part, int) and orig in self.index_maps and part < len(self.index_maps[orig]):
                part = self.index_maps[orig][part]
            orig = (*orig, part)
        return orig


def _checks_on_valid_part(data: dict, exc: ValidationError, filename: str, pos: _Positions) -> list[Finding]:
    """Run the cross-field checks on what did validate, so one run reports every kind of problem.

    Broken values are left out (a broken item whose required key is gone is left out whole);
    a reference to a left-out item is not reported as unknown: the item exists but is broken.
    """
    bad: set[PathT] = set()
    pruned = _Pruned(data, bad)
    errors = exc.errors()
    for _ in range(4):
        for e in errors:
            loc = pruned.original(_clean_loc(e["loc"]))
            bad.add(loc[:-1] if e["type"] == "missing" and len(loc) > 2 else loc)
        pruned = _Pruned(data, bad)
        if isinstance(pruned.data.get("ix"), dict):
            pruned.data["ix"].setdefault("name", "placeholder")
            pruned.data["ix"].setdefault("route_server_asn", 1)
        try:
            model = IxModel.model_validate(pruned.data, context=validation_context(filename))
            break
        except ValidationError as again:
            errors = again.errors()
    else:
        return []
    broken_names = set()
    for loc in bad:
        item: Any = data
        try:
            for part in loc[:2]:
                item = item[part]
            broken_names.add(str(item.get("name")))
        except (KeyError, IndexError, TypeError, AttributeError):
            pass
    out = []
    for path, message, hint, key in check_model(model, ref=pruned.original):
        path = pruned.original(path)
        if message.startswith("unknown ") and message.count("'") >= 2 and message.split("'")[1] in broken_names:
            continue
        out.append(Finding(filename, *pos.at(path, key=key), format_path(path), message, hint))
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[Finding] = set()
    unique = [f for f in findings if not (f in seen or seen.add(f))]
    return sorted(unique, key=lambda f: (f.line or 0, f.column or 0, f.path))


def load(path: str | Path) -> IxModel:
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise LabctlError(f"{path}: no such file", "create one with `labctl init`") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabctlError(f"{path}: cannot read: {exc}") from None
    return load_text(text, str(path))
