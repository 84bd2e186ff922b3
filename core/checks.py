"""The one set of input checks: every number, choice or flag read from a file or a command line.

Each check returns the cleaned value or raises ``error`` (a ``ValueError`` subclass chosen by the caller,
so a family's own error type reaches its command line) with a message that names the field, and ``where``
when the field sits inside something larger (``scene 3 (morph): 'psi' = ...``). The families keep their
own bounds tables; only the way a bound is checked lives here.

Values are shown shortened, so a 10**400 in a hand-edited file or a megabyte of text never floods the
message, and a number too large for a float is reported as out of range rather than raising
``OverflowError``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SHOWN_CHARS = 40


def shown(value: Any) -> str:
    """``repr(value)`` cut to a readable length (for an int of 400 digits: its first digits and '...')."""
    try:
        text = repr(value)
    except ValueError:  # Python refuses repr of ints beyond its digit limit
        text = f"a {type(value).__name__} too large to show"
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS - 3] + "..."


def _fail(error: type[ValueError], where: str, message: str) -> ValueError:
    return error(f"{where}: {message}" if where else message)


def check_int(value: Any, name: str, lo: int, hi: int, *, error: type[ValueError] = ValueError,
              where: str = "", whole_floats: bool = False) -> int:
    """``value`` if it is a whole number within ``lo..hi`` (``3.0`` too with ``whole_floats``)."""
    if isinstance(value, np.integer):
        value = int(value)
    if whole_floats and isinstance(value, float | np.floating) and math.isfinite(value) \
            and float(value).is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(error, where, f"'{name}' must be a whole number, not {shown(value)}")
    if not lo <= value <= hi:
        raise _fail(error, where, f"'{name}' = {shown(value)} is outside the supported range {lo}..{hi}")
    return value


def check_float(value: Any, name: str, lo: float, hi: float, *, error: type[ValueError] = ValueError,
                where: str = "", open_low: bool = False) -> float:
    """``value`` as a float if it is a finite number within ``lo..hi`` (``(lo..hi]`` with ``open_low``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise _fail(error, where, f"'{name}' must be a number, not {shown(value)}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond any float
        number = math.inf
    if not math.isfinite(number) or number < lo or number > hi or (open_low and number == lo):
        span = f"above {lo:g} and at most {hi:g}" if open_low else f"{lo:g}..{hi:g}"
        raise _fail(error, where, f"'{name}' = {shown(value)} is outside the supported range {span}")
    return number


def check_choice(value: Any, name: str, choices: tuple | set | frozenset, *,
                 error: type[ValueError] = ValueError, where: str = "") -> Any:
    if not isinstance(value, str) or value not in choices:
        raise _fail(error, where, f"'{name}' = {shown(value)} is not one of {sorted(choices)}")
    return value


def check_bool(value: Any, name: str, *, error: type[ValueError] = ValueError, where: str = "") -> bool:
    if not isinstance(value, bool | np.bool_):
        raise _fail(error, where, f"'{name}' must be true or false, not {shown(value)}")
    return bool(value)


def check_text(value: Any, name: str, *, limit: int = 2000, required: bool = False,
               error: type[ValueError] = ValueError, where: str = "") -> str:
    if not isinstance(value, str):
        raise _fail(error, where, f"'{name}' must be text, not {type(value).__name__}")
    if required and not value.strip():
        raise _fail(error, where, f"'{name}' is required")
    if len(value) > limit:
        raise _fail(error, where, f"'{name}' is longer than {limit} characters")
    return value
