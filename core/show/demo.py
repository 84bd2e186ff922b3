"""The demo show (``shows/demo``): the whole story from the bundled models and assets, already prepared and
small, so a fresh install presents at once. ``python -m core.show demo --out DIR`` rebuilds it.

The time-lapse is the bundled generator's own recorded run (``checkpoints/dcgan_demo_timelapse.mp4``,
77 minutes from noise to faces), said on screen to be recorded; without it the builder trains a short
run (300 steps, a few minutes on a CPU, ends in blobs) unless ``timelapse_run`` names one. Inputs that
are not in a fresh checkout (that run folder) are fine: the show plays from its media.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from core.show import store
from core.show.schema import (
    AnimationScene,
    DatasetScene,
    EditScene,
    EvidenceScene,
    FaceScene,
    MixingScene,
    MorphScene,
    Scene,
    TimelapseScene,
    TitleScene,
)

DEMO_MODEL = "checkpoints/stylegan2_demo.pt"
DEMO_TIMELAPSE_RUN = "cache/show_demo_dcgan"
RECORDED_TIMELAPSE = "checkpoints/dcgan_demo_timelapse.mp4"
DIVERSITY = "could this format of viewing media create more diversity"
# Without a current showcase list (assets/showcase.json), seeds 0..n-1 stand in: still valid, less chosen.
SHOWCASE_SEEDS_NEEDED = 7


def demo_seeds() -> tuple[int, list[int], list[int]]:
    """(face seed, morph chain, mixing columns) from the bundled model's showcase: its most face-like,
    mutually different seeds (best first, then each the farthest from those before), so the show follows
    the bundled weights when they are retrained and ``python -m core.showcase`` is rerun."""
    from core.showcase import load_showcase

    seeds = load_showcase(store.PROJECT_ROOT / DEMO_MODEL, fallback_count=SHOWCASE_SEEDS_NEEDED).seeds
    if len(seeds) < SHOWCASE_SEEDS_NEEDED:
        seeds = list(range(SHOWCASE_SEEDS_NEEDED))
    return seeds[0], seeds[:3], seeds[3:7]


def demo_scenes(timelapse_run: str | None) -> list[Scene]:
    face_seed, morph_seeds, mixing_columns = demo_seeds()
    face = FaceScene(id="face", title="A face that belongs to nobody", model=DEMO_MODEL, seed=face_seed,
                     psi=0.7,
                     notes=f"Seed {face_seed} of the bundled 64 px model; any seed gives another person.")
    scenes: list[Scene] = [
        TitleScene(id="opening", title="Custom Cast",
                   text="Faces of no real person, generated and animated live."),
        DatasetScene(id="dataset", title="Step 1: photos in, aligned faces out", folder="assets/demo_photos",
                     grid=24,
                     notes="Synthetic profile photos; the detector finds, aligns and vets each face."),
    ]
    if timelapse_run == RECORDED_TIMELAPSE:
        scenes.append(TimelapseScene(
            id="training", title="Step 2: a DCGAN learns faces (recorded run)", run=timelapse_run, fps=6.0,
            max_frames=40,
            notes="Recorded earlier: the bundled generator's own run, 77 minutes on a 2-core CPU, from noise "
                  "to faces. The DCGAN page trains live."))
    elif timelapse_run:
        scenes.append(TimelapseScene(id="training", title="Step 2: a DCGAN learns faces", run=timelapse_run,
                                     fps=4.0, notes="Fixed-noise grid every 20 steps of a short run."))
    scenes += [
        face,
        MorphScene(id="morph", title="Step 3: from one person to another", model=DEMO_MODEL,
                   seeds=morph_seeds, psi=0.7, frames_per_transition=65, space="w", fps=24.0,
                   notes="Drag the slider: every frame is pre-rendered, the face follows the hand."),
        EditScene(id="edit", title="Editing without labels (SeFa)", model=DEMO_MODEL, seed=face_seed, psi=0.7,
                  direction=0, amount_min=-3.0, amount_max=3.0, frames=33, name="strongest direction"),
        MixingScene(id="mixing", title="Mixing styles", model=DEMO_MODEL, row_seeds=morph_seeds,
                    col_seeds=mixing_columns, group="coarse", psi=0.7),
        AnimationScene(id="animation", title="Step 4: the face talks", source_kind="scene", source="face",
                       driving_kind="motion", driving="talk", engine="landmarks"),
        EvidenceScene(id="evidence", title="Step 5: do viewers want it?", survey="assets/demo_survey.csv",
                      question=DIVERSITY, positive=["Yes"], claim=0.7, alpha=0.05),
        TitleScene(id="closing", title="Thank you", text="Custom Cast: rehearse once, present instantly."),
    ]
    return scenes


def train_timelapse_run(run_dir: Path, echo: Callable[[str], None]) -> bool:
    """A short DCGAN run on the bundled faces, for the time-lapse scene. Returns False if it failed."""
    echo(f"training a short DCGAN run for the time-lapse in {run_dir} (a few minutes on a CPU)")
    cmd = [sys.executable, "-m", "core.dcgan", "train", "--data", "assets/demo_faces/faces64.npz",
           "--arch", "tutorial", "--size", "64", "--steps", "300", "--out", str(run_dir), "--g-width", "32",
           "--d-width", "32", "--batch-size", "32", "--threads", "1", "--snapshot-every", "20",
           "--checkpoint-every", "1000", "--swd-every", "0", "--diffaugment", "translation", "--seed", "0",
           "--overwrite"]
    done = subprocess.run(cmd, cwd=store.PROJECT_ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        reason = (done.stderr or done.stdout).strip()[-300:]
        echo(f"time-lapse run failed, the demo goes without it: {reason}")
        return False
    return True


def build_demo(out: str | os.PathLike, prepare: bool = True, timelapse_run: str | None = None,
               echo: Callable[[str], None] | None = None) -> str:
    """Write the demo show to ``out`` (replacing its show.json), prepare it and drop unused media."""
    from core.show.prepare import prepare_show

    echo = echo or (lambda line: None)
    out = Path(out)
    if timelapse_run is None and (store.PROJECT_ROOT / RECORDED_TIMELAPSE).is_file():
        timelapse_run = RECORDED_TIMELAPSE
    if timelapse_run is None:
        run = store.PROJECT_ROOT / DEMO_TIMELAPSE_RUN
        has_run = (run / "snapshots").is_dir() and len(list((run / "snapshots").glob("step_*.png"))) >= 2
        if has_run or (prepare and train_timelapse_run(run, echo)):
            timelapse_run = DEMO_TIMELAPSE_RUN
    show = store.create_show(out, "Custom Cast: the demo", exist_ok=True)

    def replace(s) -> None:
        s.title = "Custom Cast: the demo"
        s.scenes = demo_scenes(timelapse_run)

    store.edit_show(out, replace)
    if not prepare:
        return ""
    summary = prepare_show(out, echo=echo)
    removed, freed = store.prune_media(out)
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    del show
    return (f"{len(summary.rendered)} scene(s) rendered, {removed} unused file(s) removed, "
            f"{size / 1e6:.2f} MB in all")
