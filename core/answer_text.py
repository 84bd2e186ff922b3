"""The one normalisation of an answer's text, shared by the survey reader and the live vote's ballots.

Two answers that look the same are the same answer: Unicode compatibility forms are folded (NFKC: a
no-break space becomes a space, a full-width "Ｙｅｓ" becomes "Yes", a decomposed "é" the composed one),
invisible format characters are dropped (zero-width space and joiners, byte-order marks, soft hyphens,
left-to-right and right-to-left marks and embeddings: Unicode category Cf) along with emoji variation
selectors, and any run of whitespace becomes one space, none at either end. Without this, "Yes" and
"Yes" + U+200B were counted as two answers (issue 23, #2).
"""

from __future__ import annotations

import re
import unicodedata

# Variation selectors (U+FE00-FE0F, U+E0100-E01EF) are Mn, not Cf, but equally invisible in an answer.
_VARIATION_SELECTOR_RE = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef]")


def normalize_answer(text: str) -> str:
    """``text`` folded for comparison and counting: NFKC, no format characters, whitespace collapsed."""
    if text.isascii():
        return " ".join(text.split())
    # Invisible characters go first: a zero-width space between a letter and its combining accent would
    # otherwise keep NFKC from composing them ("A" + U+200B + U+0300 must become "À" like "A" + U+0300).
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    text = _VARIATION_SELECTOR_RE.sub("", text)
    text = unicodedata.normalize("NFKC", text)
    return " ".join(text.split())
