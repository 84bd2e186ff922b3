"""The show family's user-facing error: a bad show file, scene, path or request, with a message for people."""

from __future__ import annotations


class ShowError(ValueError):
    """A show, scene or media path is invalid, or a show operation cannot be done. The message is for users.

    A ``ValueError``, so :func:`core.cli.run_cli` prints it as one line and exits 2.
    """
