"""Errors that labctl reports to users: a message and, where one exists, the fix."""

from __future__ import annotations

# Exit codes of every labctl command. 2 is Click's own (a usage error: unknown option, missing
# argument), so labctl's outcomes avoid it.
EXIT_OK = 0
EXIT_FAILED = 1  # bad input (named with file, line and fix) or a failed check or scenario
EXIT_USAGE = 2  # wrong command line (Click)
EXIT_HOST_NOT_READY = 3  # this machine cannot run labs yet: `labctl host setup`
EXIT_NOT_CONVERGED = 4  # the lab is up but not converged, or a push was rolled back

EXIT_CODES_HELP = ("Exit codes: 0 success; 1 bad input or a failed check/scenario; 2 wrong command line; "
                   "3 host not ready (run labctl host setup); 4 lab not converged or push rolled back.")


class LabctlError(Exception):
    """An expected failure: the CLI prints it without a traceback and exits non-zero."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  fix: {self.hint}"


class HostNotReady(LabctlError):
    """The host lacks something a lab needs (Docker, containerlab, images)."""

    exit_code = EXIT_HOST_NOT_READY

