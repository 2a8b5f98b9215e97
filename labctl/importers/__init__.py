"""Importers: turn data published by real exchanges into ix.yml text the model accepts.

Only the importer itself lives here; it writes model input (YAML), never touches the model.
"""

from labctl.importers.ixf import ImportResult, SkippedMember, import_ixf

__all__ = ["ImportResult", "SkippedMember", "import_ixf"]
