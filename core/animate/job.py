"""An animation as a background job of :mod:`core.jobs`: one run folder per animation.

``start_animation_job(run_dir, ...)`` renders ``RUN_DIR/animation.mp4`` in a thread job. Its manifest
(``RUN_DIR/job.json``) carries the overall progress (per mille), a one-line message per stage
("render: 40/180 frames, 52 fps"), the ETA of the weighted stages, and at the end a JSON summary of the
:class:`~core.animate.pipeline.AnimationResult`, so a page rerun, another tab or
``python -m core.jobs status RUN_DIR`` sees the same state; :func:`animation_result` reads it back.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np

from core import jobs
from core.animate.motions import Motion
from core.animate.pipeline import AnimateOptions, AnimationResult, animate
from core.animate.progress import Progress

JOB_KIND = "animate"
OUTPUT_NAME = "animation.mp4"
PROGRESS_STEPS = 1000   # the manifest's progress is the overall fraction in these steps


def summarize(result: AnimationResult) -> dict:
    """The JSON the manifest keeps: every field of the result, the path as a string."""
    doc = asdict(result)
    doc["path"] = str(result.path)
    doc["crop"] = list(result.crop) if result.crop else None
    return doc


def animation_result(status: jobs.JobStatus) -> AnimationResult | None:
    """The finished job's result, from its manifest (works after a rerun or a server restart)."""
    doc = status.result if status is not None and status.state == jobs.DONE else None
    if not isinstance(doc, dict) or "path" not in doc:
        return None
    doc = dict(doc, path=Path(doc["path"]), crop=tuple(doc["crop"]) if doc.get("crop") else None)
    return AnimationResult(**doc)


def progress_message(p: Progress) -> str:
    eta = f", {p.eta_s:.0f} s left" if math.isfinite(p.eta_s) else ""
    return f"{p.stage}: {p.done}/{p.total} frames, {p.fps:.0f} fps{eta}"


def _reporter(ctx: jobs.JobContext) -> Callable[[Progress], None]:
    """The pipeline's progress, as the job manifest's permille, message and ETA."""
    def on_progress(p: Progress) -> None:
        eta = p.eta_s if math.isfinite(p.eta_s) else None
        ctx.progress(round(p.fraction * PROGRESS_STEPS), PROGRESS_STEPS, progress_message(p),
                     unit="permille", eta_s=eta)
    return on_progress


def start_animation_job(run_dir: str | os.PathLike, source: np.ndarray | str | os.PathLike,
                        driving: str | os.PathLike | Motion, options: AnimateOptions | None = None,
                        crop_source: bool | None = None) -> jobs.ThreadJob[AnimationResult]:
    """Animate in a background thread job of ``run_dir``; the video lands in ``RUN_DIR/animation.mp4``.

    Raises :class:`core.jobs.JobBusyError` if the folder's previous job is still running.
    """
    out_path = Path(run_dir) / OUTPUT_NAME

    def work(ctx: jobs.JobContext) -> AnimationResult:
        on_progress = _reporter(ctx)

        return animate(source, driving, out_path, options, progress=on_progress, cancel=ctx.cancel_flag,
                       crop_source=crop_source)

    return jobs.start_thread_job(run_dir, work, kind=JOB_KIND, summarize=summarize)


def start_speech_job(run_dir: str | os.PathLike, source: np.ndarray | str | os.PathLike,
                     voice: str | os.PathLike, options: AnimateOptions | None = None,
                     voice_options=None, crop_source: bool | None = None) -> jobs.ThreadJob[AnimationResult]:
    """:func:`start_animation_job` for a face that speaks ``voice`` (:func:`core.animate.voice.speak`):
    the same run folder, manifest, progress and result, the voice muxed into ``RUN_DIR/animation.mp4``."""
    from core.animate.voice import speak

    out_path = Path(run_dir) / OUTPUT_NAME

    def work(ctx: jobs.JobContext) -> AnimationResult:
        on_progress = _reporter(ctx)

        return speak(source, voice, out_path, options, voice_options, progress=on_progress,
                     cancel=ctx.cancel_flag, crop_source=crop_source)

    return jobs.start_thread_job(run_dir, work, kind=JOB_KIND, summarize=summarize)
