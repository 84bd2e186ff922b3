"""Prepare: render every scene's media ahead of the show, as a background job or from the command line.

Scenes already rendered are skipped (their render key and media files are there, and their inputs did
not change), a cancelled or crashed run resumes frame by frame, and one scene that fails does not stop
the others. Progress (frames, ETA) and cancel go through :mod:`core.jobs`; the page starts
``python -m core.show prepare SHOW_DIR`` as a process job, so the Streamlit server never imports torch.
A scene whose model file is gone keeps its media: the show still plays.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from core.show import store
from core.show.errors import ShowError
from core.show.licences import scene_licences
from core.show.render import renderer
from core.show.schema import Scene, Show

JOB_KIND = "show-prepare"


@dataclass
class PlanItem:
    index: int
    scene: Scene
    key: str
    action: str    # "render", "skip" (ready), "keep" (ready, inputs missing: plays from media), "text",
    #                "error" (cannot be planned: reason says why)
    reason: str = ""


@dataclass
class PrepareSummary:
    rendered: list[str] = field(default_factory=list)   # scene ids
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # scene id -> one-line error
    kept: list[str] = field(default_factory=list)        # ready, but an input is missing (not re-checkable)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return {"rendered": self.rendered, "skipped": self.skipped, "failed": self.failed, "kept": self.kept,
                "seconds": round(self.seconds, 2)}


def plan(show_dir: str | os.PathLike, show: Show, force: bool = False) -> list[PlanItem]:
    """What a prepare would do for each scene, and why (cheap: reads manifests and hashes inputs).
    A scene that cannot even be planned (an input refused, a media file that leads out of the show)
    gets the action "error" with the reason; the other scenes are planned as usual."""
    items = []
    for i, scene in enumerate(show.scenes):
        try:
            items.append(_plan_scene(show_dir, show, i, scene, force))
        except (ShowError, OSError) as e:
            items.append(PlanItem(i, scene, "", "error", " ".join(str(e).split()) or type(e).__name__))
    return items


def _plan_scene(show_dir: str | os.PathLike, show: Show, i: int, scene: Scene, force: bool) -> PlanItem:
    sm = store.scene_media(show_dir, show, scene)
    if sm.status == store.TEXT:
        return PlanItem(i, scene, sm.key, "text")
    if force or sm.status != store.READY:
        reason = "forced" if force else "not rendered yet" if sm.status == store.MISSING else \
            sm.problem or f"{len(sm.missing or [])} media file(s) missing"
        return PlanItem(i, scene, sm.key, "render", reason)
    recorded = sm.manifest.get("inputs", {}) if isinstance(sm.manifest.get("inputs"), dict) else {}
    try:
        now = store.input_fingerprints(show_dir, show, scene)
    except ShowError as e:  # an input refused (outside the show and the project): the media still plays
        return PlanItem(i, scene, sm.key, "keep", f"{' '.join(str(e).split())}; playing from media")
    changed = [p for p, fp in now.items() if fp is not None and recorded.get(p) not in (None, fp)]
    absent = [p for p, fp in now.items() if fp is None]
    if changed:
        return PlanItem(i, scene, sm.key, "render", f"{', '.join(changed)} changed")
    if absent:
        return PlanItem(i, scene, sm.key, "keep", f"{', '.join(absent)} missing; playing from media")
    return PlanItem(i, scene, sm.key, "skip", "already rendered")


def _label(item: PlanItem, n: int) -> str:
    return f"scene {item.index + 1}/{n} ({item.scene.KIND} '{item.scene.display_title()}')"


def prepare_show(show_dir: str | os.PathLike, force: bool = False, only: list[str] | None = None,
                 ctx=None, echo=None, device: str | None = None) -> PrepareSummary:
    """Render what the show is missing. ``ctx``: a :class:`core.jobs.JobContext` (default: the current
    job's, a no-op outside jobs); ``echo``: called with one line per scene (the CLI prints them);
    ``device``: a :func:`core.device.choose_device` request for the models (None: $CUSTOM_CAST_DEVICE,
    else automatic).
    Raises ``JobCancelled`` on cancel and ShowError naming the failed scenes after rendering the rest."""
    from core.jobs import JobCancelled, current_context

    t0 = time.perf_counter()
    ctx = ctx or current_context()
    show_dir = Path(show_dir)
    show = store.load_show(show_dir)
    items = plan(show_dir, show, force)
    if only:
        unknown = sorted(set(only) - {s.id for s in show.scenes})
        if unknown:
            raise ShowError(f"no scene with id {', '.join(unknown)} in this show")
        items = [it for it in items if it.scene.id in only]
    todo = [it for it in items if it.action == "render"]
    weights = {it.key: max(1, int(renderer(it.scene.KIND).estimate(it.scene))) for it in todo}
    total = sum(weights.values())
    summary = PrepareSummary()
    say = echo or (lambda line: None)

    def log(line: str) -> None:
        say(line)
        ctx.log(line)

    for it in items:
        if it.action == "skip":
            summary.skipped.append(it.scene.id)
        elif it.action == "keep":
            summary.kept.append(it.scene.id)
            log(f"{_label(it, len(show.scenes))}: {it.reason}")
        elif it.action == "error":  # reported, and the other scenes render
            summary.failed[it.scene.id] = it.reason
            log(f"{_label(it, len(show.scenes))}: failed: {it.reason}")
    done_before = 0
    ctx.progress(0, total, f"{len(todo)} scene(s) to render", unit="frames")
    models: dict = {}
    for it in todo:
        label = _label(it, len(show.scenes))
        log(f"{label}: rendering ({it.reason})")

        def report(done: int, message: str, _base=done_before, _w=weights[it.key], _label=label) -> None:
            ctx.progress(_base + min(done, _w), total, f"{_label}: {message}", unit="frames")

        rctx = _render_context(show_dir, show, it, report, ctx, models, log, device)
        t_scene = time.perf_counter()
        try:
            manifest = renderer(it.scene.KIND).render(it.scene, rctx)
            manifest["inputs"] = store.input_fingerprints(show_dir, show, it.scene)
            manifest["kind"] = it.scene.KIND
            manifest["licences"] = [lic.as_dict() for lic in scene_licences(it.scene)]
            manifest["seconds"] = round(time.perf_counter() - t_scene, 2)
            store.write_render(show_dir, it.key, manifest)
            store.drop_partial(show_dir, it.key)
            summary.rendered.append(it.scene.id)
            log(f"{label}: done in {manifest['seconds']:.1f} s")
        except JobCancelled:
            summary.seconds = time.perf_counter() - t0
            ctx.set_result(summary.to_json())
            log(f"{label}: cancelled; run prepare again to resume")
            raise
        except (ValueError, OSError, RuntimeError, AssertionError) as e:  # one bad scene: render the rest
            message = " ".join(str(e).split()) or type(e).__name__
            summary.failed[it.scene.id] = message
            log(f"{label}: failed: {message}")
        done_before += weights[it.key]
        ctx.progress(done_before, total, f"{label}: done", unit="frames")
    summary.seconds = time.perf_counter() - t0
    ctx.set_result(summary.to_json())
    if summary.failed:
        first = next(iter(summary.failed.items()))
        tried = len(todo) + sum(it.action == "error" for it in items)
        raise ShowError(f"{len(summary.failed)} of {tried} scene(s) could not be rendered; "
                        f"scene {first[0]}: {first[1]}")
    return summary


def _render_context(show_dir, show, item: PlanItem, report, ctx, models, log, device=None):
    from core.show.render.context import RenderContext

    return RenderContext(show_dir, show, item.scene, item.key, report=report, cancelled=ctx.cancelled,
                         models=models, log=log, device=device)


# --------------------------------------------------------------------------------- background job

def job_dir(show_dir: str | os.PathLike, what: str = "prepare") -> Path:
    """The run folder of a show's background job (outside the show, so a copied show carries no state)."""
    resolved = Path(show_dir).resolve()
    tag = hashlib.sha256(str(resolved).encode()).hexdigest()[:10]
    return store.PROJECT_ROOT / "cache" / "shows" / f"{resolved.name}-{tag}" / what


def start_prepare_job(show_dir: str | os.PathLike, force: bool = False, only: list[str] | None = None,
                      device: str | None = None) -> int:
    """Start ``python -m core.show prepare SHOW_DIR`` as a process job; returns its pid. ``device``: the
    studio's device choice, passed as ``--device`` (None: the job follows $CUSTOM_CAST_DEVICE, else
    automatic); a device the machine lacks is the job's one-line refusal.
    Raises ``JobBusyError`` while a prepare of this show is running."""
    from core.jobs import start_process_job

    args = ["-m", "core.show", "prepare", str(Path(show_dir).resolve())]
    args += ["--force"] if force else []
    args += ["--device", device] if device else []
    for scene_id in only or []:
        args += ["--scene", scene_id]
    return start_process_job(job_dir(show_dir), args, kind=JOB_KIND)


def prepare_status(show_dir: str | os.PathLike):
    """The show's prepare job (``core.jobs.JobStatus``) or None when none ever ran."""
    from core.jobs import read_job

    return read_job(job_dir(show_dir))


def cancel_prepare(show_dir: str | os.PathLike) -> None:
    from core.jobs import request_cancel

    request_cancel(job_dir(show_dir))
