"""JSON from people and files, bounded before it is parsed.

``json.loads`` recurses once per nested ``[`` or ``{``: a file of 100,000 brackets ends in a
RecursionError (not a ValueError, so it escapes every ``except ValueError``), and a huge file is read
whole before anything checks it. :func:`load_json_bounded` measures the size, then the nesting depth by
one linear scan of the brackets outside strings, and only then parses; every refusal is a ValueError
naming ``what`` and the limit. Numbers too long to convert (Python caps int digits) are refused the same
way. It never quotes the text it was given.
"""

from __future__ import annotations

import json
import re
from typing import Any

# A JSON string: non-quote, non-backslash bytes and escapes between quotes (unrolled: no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_depth(data: bytes, limit: int) -> int:
    """The deepest nesting of ``[``/``{`` outside strings, scanning at most until it passes ``limit``.

    Linear in the length: strings are cut out (escaped quotes included), then only the brackets are
    walked. Unbalanced brackets are left to the parser to report.
    """
    depth = deepest = 0
    for byte in _STRING.sub(b"", data).translate(None, _NOT_BRACKETS):
        if byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > limit:
                    break
        else:
            depth -= 1
    return deepest


def load_json_bounded(data: str | bytes, *, max_bytes: int, max_depth: int, what: str) -> Any:
    """Parse ``data`` as JSON after checking its size and nesting depth; ValueError names ``what``."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    if len(raw) > max_bytes:
        raise ValueError(f"{what} is {len(raw):,} bytes; the limit is {max_bytes:,}")
    if json_depth(raw, max_depth) > max_depth:
        raise ValueError(f"{what} is nested more than {max_depth} levels deep; not accepted")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{what} is not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:  # position only: the message never repeats the input
        raise ValueError(f"{what} is not valid JSON ({e.msg} at line {e.lineno}, column {e.colno})") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of more than 4300 digits
        reason = "a number is too long" if "digits" in str(e) else type(e).__name__
        raise ValueError(f"{what} is not valid JSON ({reason})") from None
