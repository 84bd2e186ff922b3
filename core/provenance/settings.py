"""What an export carries and where the signing material lives: one typed settings object.

Defaults are the safe ones (label on, watermark on, signed, an export fails rather than leave the studio
unsigned). The environment can change them for the command lines; pages pass their own switches.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_LABEL = "AI-generated"
# How the room is told, in words, that a face shown on its own (a stage scene, a poll on the phones) is
# synthetic.
GENERATED_FACE_CAPTION = "A generated face: this person does not exist"
APP_NAME = "Custom Cast"
APP_VERSION = "1.0"


class ProvenanceError(ValueError):
    """Signing or reading provenance failed; the message is one line for the user."""


@dataclass(frozen=True)
class ProvenanceSettings:
    label: bool = True                # draw the visible label on exported pictures and frames
    label_text: str = DEFAULT_LABEL   # the wording (the user may set their own)
    watermark: bool = True            # invisible watermark on pictures and frames of >= 256 px
    sign: bool = True                 # C2PA content credentials
    allow_unsigned: bool = False      # when signing fails: continue unsigned (True) or fail (False)

    def with_(self, **changes) -> ProvenanceSettings:
        return replace(self, **changes)


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return default
    return value not in ("0", "off", "no", "false")


def settings_from_env() -> ProvenanceSettings:
    """``CUSTOM_CAST_LABEL`` (wording, or ``off``), ``CUSTOM_CAST_WATERMARK=off``, ``CUSTOM_CAST_SIGN=off``,
    ``CUSTOM_CAST_ALLOW_UNSIGNED=1``."""
    text = os.environ.get("CUSTOM_CAST_LABEL", "").strip()
    label_off = text.lower() in ("0", "off", "no", "false")
    return ProvenanceSettings(label=not label_off,
                              label_text=(text if text and not label_off else DEFAULT_LABEL),
                              watermark=_env_flag("CUSTOM_CAST_WATERMARK", True),
                              sign=_env_flag("CUSTOM_CAST_SIGN", True),
                              allow_unsigned=_env_flag("CUSTOM_CAST_ALLOW_UNSIGNED", False))


def config_dir() -> Path:
    """The user's Custom Cast config folder: ``$CUSTOM_CAST_CONFIG_DIR``, else
    ``$XDG_CONFIG_HOME/custom-cast``, else ``~/.config/custom-cast``. Never inside the repository."""
    if explicit := os.environ.get("CUSTOM_CAST_CONFIG_DIR"):
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "custom-cast"
