"""The one bounded JSON loader: size and nesting depth are checked before the parser sees the text.

``json.loads`` recurses once per nesting level, so a file of 100,000 ``[`` raises RecursionError (or,
in a thread with a small stack, crashes the interpreter); a multi-gigabyte file is read whole before any
check. :func:`load_json_bounded` refuses both up front with one readable line, scanning the brackets
outside strings in linear time. JSON's non-standard constants (NaN, Infinity) are refused too: a number
from a file must be a number.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

# Only these characters change the scanner's state: quotes and backslashes (strings), and brackets.
_SPECIAL_RE = re.compile(r'["\\\[\]{}]')


class JSONRefused(ValueError):
    """JSON that is too big, too deep or not valid; the message says which, in one line."""


def json_depth(text: str | bytes, limit: int) -> int:
    """The deepest nesting of brackets outside strings, scanning only until it passes ``limit`` (linear in
    the text's length; unbalanced brackets are left to the parser to report)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # index of the character a backslash escapes
    for m in _SPECIAL_RE.finditer(text):
        pos, ch = m.start(), m.group()
        if in_string:
            if pos == escaped_at:
                continue
            if ch == "\\":
                escaped_at = pos + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        elif ch in "]}":
            depth -= 1
    return deepest


def json_depth_exceeds(text: str, max_depth: int) -> bool:
    """True when brackets outside strings nest deeper than ``max_depth``."""
    return json_depth(text, max_depth) > max_depth


def _refuse_constant(name: str) -> Any:
    raise JSONRefused(f"holds {name}, which is not a number JSON allows")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999 overflows to infinity
        raise JSONRefused(f"holds the number {literal[:40]}, beyond the range of a float")
    return value


def load_json_bounded(data: str | bytes, max_bytes: int, max_depth: int, what: str = "the JSON",
                      non_finite: bool = False) -> Any:
    """Parse ``data`` (text or UTF-8 bytes) after checking its size and nesting depth.

    Raises :class:`JSONRefused` (a ValueError) naming ``what`` for: more than ``max_bytes`` bytes,
    nesting deeper than ``max_depth``, bytes that are not UTF-8, invalid JSON, NaN/Infinity, floats
    beyond the float range and integers too long to convert. ``non_finite``: let NaN, Infinity and
    overflowing floats through as float values, for a caller whose field checks then name the field.
    """
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise JSONRefused(f"{what} is {_size(size)}; the limit is {_size(max_bytes)}")
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise JSONRefused(f"{what} is not UTF-8 text") from None
    else:
        text = data.removeprefix("\ufeff")
    if json_depth_exceeds(text, max_depth):
        raise JSONRefused(f"{what} is nested more than {max_depth} levels deep")
    try:
        if non_finite:
            return json.loads(text)
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except JSONRefused as e:
        raise JSONRefused(f"{what} {e}") from None
    except json.JSONDecodeError as e:
        raise JSONRefused(f"{what} is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None
    except ValueError:  # an integer longer than Python's 4300-digit limit
        raise JSONRefused(f"{what} cannot be read: a number is too long") from None
    except RecursionError:
        raise JSONRefused(f"{what} is nested too deeply") from None


def read_json_file_bounded(path: str | os.PathLike, max_bytes: int, max_depth: int,
                           what: str | None = None) -> Any:
    """:func:`load_json_bounded` of a file, refusing an oversized file before reading it."""
    path = Path(path)
    what = what or path.name
    size = path.stat().st_size
    if size > max_bytes:
        raise JSONRefused(f"{what} is {_size(size)}; the limit is {_size(max_bytes)}")
    with open(path, "rb") as f:
        data = f.read(max_bytes + 1)  # the file may have grown since stat
    return load_json_bounded(data, max_bytes, max_depth, what)


def _size(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.1f} MiB ({n:,} bytes)"
    return f"{n:,} bytes"
