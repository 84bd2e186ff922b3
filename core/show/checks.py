"""Field checks for show files: each returns the cleaned value or raises ShowError naming where, which
field and what is wrong (``scene 3 (morph): seeds: need at least 2 seeds, got 1``).

What counts as a number (never a bool or text; NaN, ±inf and integers beyond a float's range are not
finite) is decided by :mod:`core.checks`; this module keeps the show file's wording and its own bounds
(the scene tables in :mod:`core.show.schema`)."""

from __future__ import annotations

import numbers
import re
from typing import Any

from core.checks import finite_number, shown, whole_number
from core.show.errors import ShowError

MAX_SEED = 2 ** 32 - 1
MEDIA_PREFIX = "media/"


def fail(where: str, name: str, message: str) -> ShowError:
    return ShowError(f"{where}: {name}: {message}")


def brief(value: Any, limit: int = 60) -> str:
    """A value for a show file's error message: :func:`core.checks.shown`, a little longer."""
    return shown(value, limit)


def check_int(where: str, name: str, value: Any, lo: int, hi: int) -> int:
    number = whole_number(value, whole_floats=True)  # JSON may write 3 as 3.0
    if number is None:
        raise fail(where, name, f"must be a whole number between {lo} and {hi}, got {brief(value)}")
    if not lo <= number <= hi:
        raise fail(where, name, f"must be between {lo} and {hi}, got {brief(number)}")
    return number


def check_float(where: str, name: str, value: Any, lo: float, hi: float) -> float:
    number = finite_number(value)
    if number is None:
        if isinstance(value, int) and not isinstance(value, bool):
            raise fail(where, name, f"must be between {lo:g} and {hi:g}, got {brief(value)}")
        raise fail(where, name, f"must be a number between {lo:g} and {hi:g}, got {brief(value)}")
    if not lo <= number <= hi:
        raise fail(where, name, f"must be between {lo:g} and {hi:g}, got {number:g}")
    return number


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, numbers.Integral):  # int, numpy integers (a page's widget may hand one over)
        return "int"
    return type(value).__name__


def check_choice(where: str, name: str, value: Any, choices: tuple) -> Any:
    # Same kind as the choices, not just equal: 64.0 or true would pass ``in`` for 64 or 1.
    if not any(_kind(value) == _kind(c) and value == c for c in choices):
        raise fail(where, name, f"must be one of {', '.join(map(str, choices))}; got {brief(value)}")
    return int(value) if _kind(value) == "int" else value  # a numpy integer becomes a plain int (JSON)


def check_text(where: str, name: str, value: Any, limit: int = 2000, required: bool = False) -> str:
    if not isinstance(value, str):
        raise fail(where, name, f"must be text, got {type(value).__name__}")
    if required and not value.strip():
        raise fail(where, name, "is required")
    if len(value) > limit:
        raise fail(where, name, f"is longer than {limit} characters")
    return value


def check_bool(where: str, name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(where, name, f"must be true or false, got {brief(value)}")
    return value


def check_seeds(where: str, name: str, value: Any, lo: int, hi: int) -> list[int]:
    if not isinstance(value, list | tuple):
        raise fail(where, name, f"must be a list of seeds, got {brief(value)}")
    if not lo <= len(value) <= hi:
        need = f"at least {lo}" if len(value) < lo else f"at most {hi}"
        raise fail(where, name, f"need {need} seeds, got {len(value)}")
    return [check_int(where, f"{name}[{i}]", s, 0, MAX_SEED) for i, s in enumerate(value)]


def check_media_path(rel: Any, what: str = "media path") -> str:
    """A ``media/...`` path inside a show folder: relative, forward slashes, no ``..``; else ShowError."""
    if not isinstance(rel, str) or not rel:
        raise ShowError(f"{what} must be a non-empty text path, got {brief(rel)}")
    if "\\" in rel or "\x00" in rel:
        raise ShowError(f"{what} {brief(rel)}: use forward slashes only")
    if rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        raise ShowError(f"{what} {brief(rel)} is absolute; media paths must stay inside the show folder")
    parts = rel.split("/")
    if ".." in parts or "." in parts or "" in parts:
        raise ShowError(f"{what} {brief(rel)} leaves or escapes the show folder "
                        "('..', '.' or '//' are refused)")
    if not rel.startswith(MEDIA_PREFIX):
        raise ShowError(f"{what} {brief(rel)} must be under media/")
    return rel


def check_input_path(where: str, name: str, value: Any, required: bool = True) -> str:
    if value in (None, "") and not required:
        return ""
    text = check_text(where, name, value, limit=1000, required=True)
    if "\x00" in text:
        raise fail(where, name, "contains a NUL byte")
    if text.startswith(MEDIA_PREFIX):
        try:
            check_media_path(text, name)
        except ShowError as e:
            raise fail(where, name, str(e)) from None
    return text
