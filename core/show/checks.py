"""Field checks for show files: each returns the cleaned value or raises ShowError naming where, which
field and what is wrong (``scene 3 (morph): seeds: need at least 2 seeds, got 1``)."""

from __future__ import annotations

import math
import re
from typing import Any

from core.show.errors import ShowError

MAX_SEED = 2 ** 32 - 1
MEDIA_PREFIX = "media/"


def fail(where: str, name: str, message: str) -> ShowError:
    return ShowError(f"{where}: {name}: {message}")


def check_int(where: str, name: str, value: Any, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or (
            isinstance(value, float) and not value.is_integer()):
        raise fail(where, name, f"must be a whole number, got {value!r}")
    if not lo <= int(value) <= hi:
        raise fail(where, name, f"must be between {lo} and {hi}, got {int(value)}")
    return int(value)


def check_float(where: str, name: str, value: Any, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise fail(where, name, f"must be a number, got {value!r}")
    if not lo <= float(value) <= hi:
        raise fail(where, name, f"must be between {lo:g} and {hi:g}, got {float(value):g}")
    return float(value)


def check_choice(where: str, name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise fail(where, name, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


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
        raise fail(where, name, f"must be true or false, got {value!r}")
    return value


def check_seeds(where: str, name: str, value: Any, lo: int, hi: int) -> list[int]:
    if not isinstance(value, list | tuple):
        raise fail(where, name, f"must be a list of seeds, got {value!r}")
    if not lo <= len(value) <= hi:
        need = f"at least {lo}" if len(value) < lo else f"at most {hi}"
        raise fail(where, name, f"need {need} seeds, got {len(value)}")
    return [check_int(where, f"{name}[{i}]", s, 0, MAX_SEED) for i, s in enumerate(value)]


def check_media_path(rel: Any, what: str = "media path") -> str:
    """A ``media/...`` path inside a show folder: relative, forward slashes, no ``..``; else ShowError."""
    if not isinstance(rel, str) or not rel:
        raise ShowError(f"{what} must be a non-empty text path, got {rel!r}")
    if "\\" in rel or "\x00" in rel:
        raise ShowError(f"{what} {rel!r}: use forward slashes only")
    if rel.startswith("/") or re.match(r"^[A-Za-z]:", rel):
        raise ShowError(f"{what} {rel!r} is absolute; media paths must stay inside the show folder")
    parts = rel.split("/")
    if ".." in parts or "." in parts or "" in parts:
        raise ShowError(f"{what} {rel!r} leaves or escapes the show folder ('..', '.' or '//' are refused)")
    if not rel.startswith(MEDIA_PREFIX):
        raise ShowError(f"{what} {rel!r} must be under media/")
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
