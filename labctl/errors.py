"""Errors that labctl reports to users: a message and, where one exists, the fix."""

from __future__ import annotations


class LabctlError(Exception):
    """An expected failure: the CLI prints it without a traceback and exits non-zero."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class HostNotReady(LabctlError):
    """The host lacks something a lab needs (Docker, containerlab, images)."""

    exit_code = 3
