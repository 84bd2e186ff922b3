"""The survey family's one user-facing error type."""

from __future__ import annotations


class SurveyError(ValueError):
    """Bad input with a one-line, user-facing message (``core.cli.run_cli`` prints it as it is)."""
