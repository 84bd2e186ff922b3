"""The two ways an animation run ends early; both carry a message meant for the user."""

from __future__ import annotations

from core.jobs import JobCancelled


class AnimationError(ValueError):
    """Bad input (no face, unreadable video or image, unwritable output...): the message is for the user."""


class AnimationCancelled(JobCancelled):
    """Raised when the cancel event is set during a run (a job ending with it is recorded as cancelled)."""
