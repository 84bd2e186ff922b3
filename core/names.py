"""The one safe-name function: text a person typed (a show title, a run name, a photo's path) made into a
file or folder name that is portable, cannot climb out of its folder, and fits every file system."""

from __future__ import annotations

import re


def safe_name(text: str, *, max_chars: int, fallback: str, keep: str = r"\w-", replacement: str = "_",
              collapse: bool = False, lower: bool = False) -> str:
    """``text`` with every character outside the class ``[keep]`` replaced by ``replacement`` (a run of
    them by one, and none at the ends, with ``collapse``), cut to ``max_chars``; ``fallback`` when nothing
    is left. Dots and slashes are never kept, so the result is one plain name (never ``..``)."""
    name = text.strip().lower() if lower else text.strip()
    name = re.sub(f"[^{keep}]{'+' if collapse else ''}", replacement, name)
    if collapse:
        name = name.strip(replacement)
    return name[:max_chars].strip(replacement if collapse else "") or fallback
