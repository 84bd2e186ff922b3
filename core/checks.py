"""The one set of input checks: every number, choice or flag read from a file or a command line.

Each check returns the cleaned value or raises ``error`` (a ``ValueError`` subclass chosen by the caller,
so a family's own error type reaches its command line) with a message that names the field, and ``where``
when the field sits inside something larger (``scene 3 (morph): 'psi' = ...``). The families keep their
own bounds tables (a :class:`Bound` per field); only the way a bound is checked lives here:

- :func:`real_number`, :func:`finite_number` and :func:`whole_number` decide what counts as a number
  (never a bool, never text; numpy scalars as their Python values; NaN, ±inf and an int beyond a float's
  range are not finite), for families that word their own refusal;
- :func:`check_int`, :func:`check_float`, :func:`check_choice`, :func:`check_bool`, :func:`check_text` and
  :func:`check_bounded` check a value and word the refusal;
- :func:`flag_type` and :func:`int_flag` turn those checks into argparse ``type=`` callables, so a bad flag
  is argparse's one line naming the flag.

Values are shown shortened, so a 10**400 in a hand-edited file or a megabyte of text never floods the
message, and a number too large for a float is reported as out of range rather than raising
``OverflowError``.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

SHOWN_CHARS = 40


def shown(value: Any, limit: int = SHOWN_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters. An integer beyond 64 bits is described by its number of
    digits (Python refuses to print very long ones) and a list, tuple or dict of more than 20 items by its
    length, so a hand-edited 10**400 or a megabyte of data never floods a message."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {len(str(abs(value))) if value.bit_length() < 14000 else 'many'}-digit number"
    if isinstance(value, list | dict | tuple) and len(value) > 20:
        return f"a {type(value).__name__} of {len(value)} items"
    try:
        text = repr(value)
    except ValueError:  # an int beyond Python's digit limit inside a container
        text = f"a {type(value).__name__} too large to show"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def real_number(value: Any, *, plain: bool = False) -> bool:
    """Whether ``value`` is a real number (int, float or a numpy one), not a bool and not text.

    ``plain``: Python numbers only (what a JSON file holds), for values kept in a checkpoint that
    ``torch.load(weights_only=True)`` must open again."""
    kinds = int | float if plain else int | float | np.integer | np.floating
    return not isinstance(value, bool | np.bool_) and isinstance(value, kinds)


def finite_number(value: Any) -> float | None:
    """``value`` as a finite float, or None: not a number (bool, text, list...), NaN, ±inf, or an integer
    beyond a float's range (``10**400``: ``float()`` raises OverflowError on it)."""
    if not real_number(value):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def whole_number(value: Any, *, whole_floats: bool = False, plain: bool = False) -> int | None:
    """``value`` as a Python int if it is a whole number (``3.0`` too with ``whole_floats``), else None.
    ``plain``: not a numpy integer either (see :func:`real_number`)."""
    if isinstance(value, np.integer) and not plain:
        return int(value)
    if whole_floats and isinstance(value, float if plain else float | np.floating) and math.isfinite(value) \
            and float(value).is_integer():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


@dataclass(frozen=True)
class Bound:
    """One row of a family's bounds table: numbers from ``lo`` to ``hi``, either end open, whole numbers
    only with ``whole``."""

    lo: float
    hi: float
    whole: bool = False
    open_low: bool = False
    open_high: bool = False

    def __iter__(self):  # ``lo, hi = bound``, as the tables' (lo, hi) pairs were read
        return iter((self.lo, self.hi))

    def admits(self, value: Any) -> bool:
        """Whether ``value`` (already known to be a number) lies inside; NaN and ±inf never do."""
        try:
            number = float(value)
        except OverflowError:  # an int beyond any float: compare it exactly
            return self.lo <= value <= self.hi and not (self.open_low and value == self.lo) \
                and not (self.open_high and value == self.hi)
        if math.isnan(number):
            return False
        low_ok = number > self.lo if self.open_low else number >= self.lo
        high_ok = number < self.hi if self.open_high else number <= self.hi
        return low_ok and high_ok

    def span(self) -> str:
        """``lo..hi``, or in words where an end is open (``above 0 and at most 1``)."""
        if not (self.open_low or self.open_high):
            return f"{self.lo:g}..{self.hi:g}" if not self.whole else f"{int(self.lo)}..{int(self.hi)}"
        low = f"above {self.lo:g}" if self.open_low else f"at least {self.lo:g}"
        high = f"below {self.hi:g}" if self.open_high else f"at most {self.hi:g}"
        return f"{low} and {high}"


def _fail(error: type[ValueError], where: str, message: str) -> ValueError:
    return error(f"{where}: {message}" if where else message)


def check_int(value: Any, name: str, lo: int, hi: int, *, error: type[ValueError] = ValueError,
              where: str = "", whole_floats: bool = False) -> int:
    """``value`` if it is a whole number within ``lo..hi`` (``3.0`` too with ``whole_floats``)."""
    number = whole_number(value, whole_floats=whole_floats)
    if number is None:
        raise _fail(error, where, f"'{name}' must be a whole number, not {shown(value)}")
    if not lo <= number <= hi:
        raise _fail(error, where, f"'{name}' = {shown(number)} is outside the supported range {lo}..{hi}")
    return number


def check_float(value: Any, name: str, lo: float, hi: float, *, error: type[ValueError] = ValueError,
                where: str = "", open_low: bool = False) -> float:
    """``value`` as a float if it is a finite number within ``lo..hi`` (``(lo..hi]`` with ``open_low``)."""
    return check_bounded(value, name, Bound(lo, hi, open_low=open_low), error=error, where=where)


def check_bounded(value: Any, name: str, bound: Bound, *, error: type[ValueError] = ValueError,
                  where: str = "") -> float | int:
    """``value`` checked against one row of a bounds table: an int for a ``whole`` bound, else a float."""
    if bound.whole:
        return check_int(value, name, int(bound.lo), int(bound.hi), error=error, where=where)
    if not real_number(value):
        raise _fail(error, where, f"'{name}' must be a number, not {shown(value)}")
    number = finite_number(value)
    if number is None or not bound.admits(number):
        raise _fail(error, where, f"'{name}' = {shown(value)} is outside the supported range {bound.span()}")
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


# ------------------------------------------------------------------------------- command-line flags


def flag_type(check: Callable[[str], Any], errors: type[Exception] | tuple[type[Exception], ...] = ValueError
              ) -> Callable[[str], Any]:
    """An argparse ``type=``: ``check(text)``, its refusal (one of ``errors``) as argparse's own error, so
    the message names the flag (``argument --claim: claim must be between ...``)."""
    def parse(text: str) -> Any:
        try:
            return check(text)
        except errors as e:
            raise argparse.ArgumentTypeError(str(e).rstrip(".")) from None
    parse.__name__ = getattr(check, "__name__", "value")  # argparse names the type in some messages
    return parse


def float_flag(low: float, high: float) -> Callable[[str], float]:
    """An argparse ``type=``: a finite number from ``low`` to ``high`` (NaN and infinities refused)."""
    def parse(text: str) -> float:
        try:
            value = float(text) if len(text) <= 40 else None
        except ValueError:
            value = None
        if value is None or not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be a number from {low:g} to {high:g} (got {text[:40]!r})")
        return value
    return parse


def int_flag(low: int, high: int) -> Callable[[str], int]:
    """An argparse ``type=``: a whole number from ``low`` to ``high``; longer text than any such number is
    refused before ``int()`` reads it."""
    def parse(text: str) -> int:
        try:
            value = int(text) if len(text) <= 30 else None
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"must be a whole number from {low:,} to {high:,} (got {text[:40]!r})")
        return value
    return parse
