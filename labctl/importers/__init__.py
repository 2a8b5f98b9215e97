"""Importers: turn data published by real exchanges into ix.yml text the model accepts.

Only the importer itself lives here; it writes model input (YAML), never touches the model.
"""

from labctl.importers.ixf import ImportNote, ImportResult, NoteKind, SkippedMember, SkippedPart, import_ixf

__all__ = ["ImportNote", "ImportResult", "NoteKind", "SkippedMember", "SkippedPart", "import_ixf"]
