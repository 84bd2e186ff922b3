"""Which models a show uses and under which licences (issue 24): prepare records them per scene, the present
page shows them in one line, and an export warns (never refuses) when one forbids commercial use."""

from __future__ import annotations

from core.provenance.licences import ModelLicence, licence_for, non_commercial
from core.show.schema import Scene, Show

# Scenes whose pictures are made by a model (the stage badge and the invisible watermark apply to them).
SYNTHETIC_KINDS = frozenset({"face", "morph", "edit", "mixing", "animation", "timelapse"})


def scene_licences(scene: Scene) -> list[ModelLicence]:
    if scene.KIND == "animation":
        engine = getattr(scene, "engine", "landmarks")
        checkpoint = getattr(scene, "checkpoint", "")
        found = [licence_for(checkpoint if engine == "fomm" and checkpoint else engine)]
        if getattr(scene, "source_kind", "") == "bundled":
            found.append(licence_for("dcgan-bundled"))
        return found
    if getattr(scene, "model", ""):
        return [licence_for(scene.model)]
    if scene.KIND == "timelapse":
        return [licence_for("unknown")]  # the user's own DCGAN run: its licence is its data's
    return []


def show_licences(show: Show) -> list[ModelLicence]:
    """Each licence used by the show, once, in scene order."""
    seen: dict[str, ModelLicence] = {}
    for scene in show.scenes:
        for lic in scene_licences(scene):
            seen.setdefault(lic.key, lic)
    return list(seen.values())


def licence_warning(show: Show) -> str | None:
    """One line when a model of the show is for non-commercial use only."""
    nc = non_commercial(show_licences(show))
    if not nc:
        return None
    names = "; ".join(f"{lic.name} ({lic.licence})" for lic in nc)
    return f"this show uses models for non-commercial use only: {names}. Do not use the reel commercially."


def uses_real_photo(show: Show) -> bool:
    """An animation scene of the show animates a photo the user brought (it may show a real person)."""
    return any(scene.KIND == "animation" and getattr(scene, "source_kind", "") == "image"
               for scene in show.scenes)
