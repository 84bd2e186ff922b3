"""Benchmark: show prepare of a 65-frame morph at 1024 px, end to end, against one face ×65 in the same run.

A generator of the official FFHQ config-F shape (1024 px, random weights: the cost does not depend on the
values) is written as an NVIDIA-layout network pickle (tests/official_pickle.py; the restricted
unpickler reads it as it reads NVIDIA's files). A show with one morph scene (two seeds, the product's
default of 65 frames per transition) is prepared in this process with ``core.show.prepare_show`` (model
load, W path, 65 renders, JPEG encode, watermark, resume records, atomic writes: everything the prepare
job does after its process start). The baseline, measured first in the same run: the load of the
network and single faces through ``sg.synthesize`` (the renderer the morph uses), ``--faces`` before
and as many after the prepare (load that comes and goes weighs on both sides).

Prints wall and CPU seconds (process CPU time, every thread) for both, per-frame times, and the ratio of
the morph to ``65 × one face`` (1.0: the prepare adds nothing beyond drawing the faces). CPU seconds move
far less than wall time when other processes share the cores; the load average is printed before and
after.

Usage: python bench/bench_show_morph.py [--frames 65] [--faces 3] [--threads 2] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def write_network(path: Path) -> None:
    import torch

    from core import stylegan2 as sg
    from tests.official_pickle import write_network_pickle

    G = sg.official_size_generator(1024, seed=1)
    with torch.no_grad():  # official files carry a mean w; random weights get one here
        G.mapping.w_avg.copy_(G.mapping(torch.randn(256, 512, generator=torch.Generator().manual_seed(0)),
                                        None)[:, 0].mean(0))
    write_network_pickle(G, path)


def load_network(network: Path):
    """(G, ws of one face, (load wall, CPU)): a fresh load of the network, as the prepare does."""
    from core import stylegan2 as sg

    t = _clock()
    G = sg.load_generator(network)
    load = _since(t)
    return G, sg.keyframe_ws(G, [1, 2], 1, "w", 0.7)[:1], load


def time_faces(G, ws, n: int) -> tuple[list[tuple[float, float]], object]:
    """[(wall, CPU) per face] of ``n`` single faces through ``sg.synthesize``, and the last frame."""
    from core import stylegan2 as sg

    times = []
    for _ in range(n):
        t = _clock()
        frame = sg.synthesize(G, ws, "const")[0]
        times.append(_since(t))
    return times, frame


def after_render(frame) -> None:
    """What a prepare does to each 1024 px frame after drawing it: the invisible watermark and the JPEG
    (the rest is a file write), best of 3."""
    from core.provenance import watermark
    from core.show.render.context import encode_image

    for name, work in (("watermark", lambda: watermark.embed(frame)), ("JPEG", lambda: encode_image(frame))):
        best = (float("inf"), float("inf"))
        for _ in range(3):
            t = _clock()
            work()
            best = min(best, _since(t))
        print(f"per frame after the render: {name} {best[0]:.3f} s wall / {best[1]:.3f} CPU-s")


def _faces(times: list[tuple[float, float]]) -> str:
    return ", ".join(f"{w:.2f} s / {c:.2f} CPU-s" for w, c in times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=65, help="morph frames per transition (product default)")
    ap.add_argument("--faces", type=int, default=3, help="single faces timed for the baseline")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--keep", default=None, help="folder for the network and show (kept; default: a temp)")
    args = ap.parse_args()
    import torch

    from core import show as S
    torch.set_num_threads(args.threads)
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="morph_bench_"))
    root.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    print(f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} on "
          f"{os.cpu_count()} CPUs, torch {torch.__version__}, {args.threads} threads")
    try:
        network = root / "ffhq-shape-1024.pkl"
        if not network.is_file():
            t = _clock()
            write_network(network)
            wall, _ = _since(t)
            size = network.stat().st_size / 1e6
            print(f"wrote the official-layout network ({size:.1f} MB) in {wall:.1f} s")

        from core import stylegan2 as sg

        G, ws, load = load_network(network)
        before, frame = time_faces(G, ws, max(2, args.faces))
        print(f"baseline before: network load {load[0]:.2f} s wall / {load[1]:.2f} CPU-s; one 1024 px face "
              f"(sg.synthesize, {sg.render_path(G)}): " + _faces(before)
              + "  (the first includes the renderer's set-up)")
        after_render(frame)

        show_dir = root / "morph_show"
        shutil.rmtree(show_dir, ignore_errors=True)
        scene = S.MorphScene(id="morph", model=str(network), seeds=[1, 2], psi=0.7,
                             frames_per_transition=args.frames)
        S.create_show(show_dir, "Morph at 1024 px", scenes=[scene])
        os.environ[S.store.ALLOW_INPUTS_ENV] = str(root)  # `prepare --allow-inputs ROOT`: the network is here
        t = _clock()
        summary = S.prepare_show(show_dir)
        wall, cpu = _since(t)
        show = S.load_show(show_dir)
        frames = len(S.scene_view(show_dir, show, 0).frames)
        assert summary.rendered == ["morph"] and frames == scene.frame_count(), (summary, frames)
        print(f"show prepare, {frames}-frame 1024 px morph (model load included): {wall:.1f} s wall "
              f"({wall / 60:.2f} min), {cpu:.1f} CPU-s; per frame {wall / frames:.2f} s wall, "
              f"{cpu / frames:.2f} CPU-s")
        after, _ = time_faces(G, ws, max(2, args.faces))
        print("baseline after: one 1024 px face: " + _faces(after))
        # Steady faces: every timed face but the very first (it pays the renderer's set-up), before and
        # after the prepare, so load that comes and goes during the run weighs on both sides.
        steady = before[1:] + after
        for name, pick in (("best", min), ("median", lambda v: float(np.median(v)))):
            face_wall, face_cpu = pick([w for w, _ in steady]), pick([c for _, c in steady])
            base_wall, base_cpu = load[0] + frames * face_wall, load[1] + frames * face_cpu
            print(f"ratio to the baseline, {name} face (load + {frames} × {face_wall:.2f} s / {face_cpu:.2f} "
                  f"CPU-s = {base_wall:.1f} s / {base_cpu:.1f} CPU-s): wall {wall / base_wall:.2f}x, CPU "
                  f"{cpu / base_cpu:.2f}x")
        load_after = os.getloadavg()
        print(f"load average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
