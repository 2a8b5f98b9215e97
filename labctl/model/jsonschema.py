"""The JSON schema of ix.yml, for editors (yaml-language-server) and other tools (`labctl schema`)."""

from __future__ import annotations

import json

from labctl.model.schema import IxModel

SCHEMA_FILENAME = "ix.schema.json"
MODELINE_PREFIX = "# yaml-language-server: $schema="


def ix_json_schema() -> dict:
    schema = IxModel.model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "labctl IX definition (ix.yml)",
            "description": "A regional Internet exchange for labctl: sites, trunks, route servers and members. "
                           "Reference: docs/MODEL.md; `labctl validate` explains every mistake.",
            **{k: v for k, v in schema.items() if k not in ("title", "description")}}


def ix_json_schema_text() -> str:
    return json.dumps(ix_json_schema(), indent=2, sort_keys=False) + "\n"


def modeline(schema_ref: str = SCHEMA_FILENAME) -> str:
    """The first line of an ix.yml that points editors at the schema (a path relative to the file, or a URL)."""
    return f"{MODELINE_PREFIX}{schema_ref}\n"
